"""CSV downloads: streamed a row at a time, with formula-looking cells neutralised.

A cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is run as a
formula by Excel and Sheets (CSV injection); a leading apostrophe keeps it text.
"""

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class Echo:
    """A file-like object for ``csv.writer`` that hands each row back instead of storing it."""

    def write(self, value):
        return value


def safe_cell(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text
