"""A list file as a header and rows: CSV (UTF-8 with or without BOM, else Windows-1252;
any line ends; quoted commas; comma, tab, semicolon or pipe) or XLSX, read as a stream so
a million-row file needs no more memory than a thousand-row one.

A CSV's encoding is told from its first ``ENCODING_SAMPLE_BYTES``, not the whole file: the
web request opens the file too, and decoding 400 MB there to pick an encoding cost seconds.
A line further on that is not UTF-8 after all is read as Windows-1252 and noted on the
import's report (``RECODED``), so one stray byte neither fails the import nor loses the row."""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

from leadcrm.shared.uploads import open_binary
from leadcrm.shared.zips import UnzippedTooLarge, zip_check

NOT_A_TABLE = (
    "{name} is not a table: upload the list as CSV (comma-separated text) or an Excel .xlsx file."
)
NO_HEADER = "{name} has no header row: the first line must name the columns."
DUPLICATE_HEADERS = "{name} names a column twice ({headers}): rename one and upload it again."
EMPTY = "{name} has a header but no rows."
UNZIPS_TOO_LARGE = ("This spreadsheet unpacks to {size}, more than the {limit} a list may hold. "
                    "Save it as CSV, or split it.")
UNZIPS_TOO_TIGHT = ("This spreadsheet unpacks to {size} from {packed}: no real list packs that tightly. "
                    "Save it as CSV, or split it.")
SNIFF_BYTES = 64 * 1024
ENCODING_SAMPLE_BYTES = 1 << 20
RECODED = "__recoded__"  # a row's key: some of its cells were not UTF-8, and were read as Windows-1252
DELIMITERS = ",\t;|"

csv.field_size_limit(1_000_000)
_UNDECODED = re.compile("[\udc80-\udcff]")  # a byte surrogateescape kept aside


class NotATable(ValueError):
    pass


def _shared_strings_limit(member: str) -> int | None:
    """The one part the reader holds in memory whole: its own, lower limit."""
    return settings.LEADCRM_IMPORT_MAX_SHARED_STRINGS_BYTES if member.lower().endswith("sharedstrings.xml") else None


def xlsx_check(source, name: str) -> None:
    """Refuse an XLSX whose parts unpack past the limits, from its zip directory alone.

    Python's ``zipfile`` then never unpacks more of a part than the directory claims (a
    part that holds more fails its checksum), so the check also bounds what is read."""
    try:
        with open_binary(source) as handle:
            zip_check(handle, total_limit=settings.LEADCRM_IMPORT_MAX_UNZIPPED_BYTES, member_limit=_shared_strings_limit,
                      too_large=UNZIPS_TOO_LARGE, too_tight=UNZIPS_TOO_TIGHT)
    except UnzippedTooLarge as refused:
        raise NotATable(str(refused)) from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError) as exc:
        raise NotATable(NOT_A_TABLE.format(name=name)) from exc


@dataclass
class Table:
    name: str
    headers: list[str]
    encoding: str = "utf-8"
    kind: str = "csv"
    _rows: Iterator[tuple[int, dict[str, str]]] | None = field(default=None, repr=False)

    def rows(self) -> Iterator[tuple[int, dict[str, str]]]:
        """(line number in the file, header -> cell) for every data row."""
        return self._rows


def _decodes(sample: bytes, encoding: str, *, whole: bool) -> bool:
    """``sample`` decodes; unless it is the ``whole`` file, a character cut at its end is no fault."""
    try:
        codecs.getincrementaldecoder(encoding)().decode(sample, final=whole)
    except UnicodeDecodeError:
        return False
    return True


def _encoding(source) -> str:
    """UTF-8 if the file's first ``ENCODING_SAMPLE_BYTES`` decode as UTF-8 (BOM or not),
    else Windows-1252, else Latin-1 (which reads any byte: the five Windows-1252 leaves
    undefined included). Bounded: the rest is not read here (see ``_recode``)."""
    with open_binary(source) as handle:
        sample = handle.read(ENCODING_SAMPLE_BYTES + 1)
    whole = len(sample) <= ENCODING_SAMPLE_BYTES
    sample = sample[:ENCODING_SAMPLE_BYTES]
    if _decodes(sample, "utf-8", whole=whole):
        return "utf-8-sig"
    return "cp1252" if _decodes(sample, "cp1252", whole=whole) else "latin-1"


def _byte_as_cp1252(escaped: re.Match) -> str:
    byte = bytes([ord(escaped[0]) - 0xDC00])
    try:
        return byte.decode("cp1252")
    except UnicodeDecodeError:  # one of the five bytes Windows-1252 leaves undefined
        return byte.decode("latin-1")


def _recode(cell: str) -> str:
    """A cell read as UTF-8 with its undecodable bytes kept aside (``surrogateescape``):
    each such byte read as Windows-1252 (a byte it leaves undefined, as Latin-1), while
    what was valid UTF-8 stays as read ("Renée Müller" with a stray é byte keeps its ü)."""
    return _UNDECODED.sub(_byte_as_cp1252, cell)


def _headers(raw: list[str], name: str) -> list[str]:
    headers = [" ".join((h or "").replace("\ufeff", "").split()) for h in raw]
    while headers and not headers[-1]:
        headers.pop()
    if not any(headers):
        raise NotATable(NO_HEADER.format(name=name))
    seen, twice = set(), []
    for header in headers:
        if header and header.lower() in seen:
            twice.append(header)
        seen.add(header.lower())
    if twice:
        raise NotATable(DUPLICATE_HEADERS.format(name=name, headers=", ".join(sorted(set(twice)))))
    return headers


def _text(source, encoding: str, errors: str) -> io.TextIOWrapper:
    return io.TextIOWrapper(open_binary(source), encoding=encoding, errors=errors, newline="")


def open_table(source: Path | object, name: str) -> Table:
    """Open ``source`` (uploaded as ``name``) as a table, or raise ``NotATable`` saying why.

    ``source``: a path, an upload not yet stored or a stored one (leadcrm/shared/uploads.py),
    so the worker reads the file from the storage wherever it runs."""
    with open_binary(source) as handle:
        head = handle.read(SNIFF_BYTES)
    if head.startswith(b"PK\x03\x04"):
        return _open_xlsx(source, name)
    if not head.strip() or b"\x00" in head or head.lstrip()[:5] in (b"%PDF-", b"<!DOC", b"<html", b"<HTML", b"<?xml"):
        raise NotATable(NOT_A_TABLE.format(name=name))
    encoding = _encoding(source)
    lines = [line for line in head.decode(encoding, errors="replace").lstrip("\ufeff").splitlines() if line.strip()]
    if not lines:
        raise NotATable(NOT_A_TABLE.format(name=name))
    first_line = lines[0]
    delimiter = max(DELIMITERS, key=first_line.count)
    if first_line.count(delimiter) == 0:
        raise NotATable(NOT_A_TABLE.format(name=name))

    try:
        with _text(source, encoding, "replace") as text:
            headers = _headers(next(csv.reader(text, delimiter=delimiter)), name)
    except (csv.Error, StopIteration) as exc:
        raise NotATable(NOT_A_TABLE.format(name=name)) from exc

    # UTF-8 by its sample: a stray byte further on is kept aside, and that line read again.
    # Windows-1252: one of the five bytes it leaves undefined, further on, becomes "?".
    errors = {"utf-8-sig": "surrogateescape", "cp1252": "replace"}.get(encoding, "strict")

    def rows() -> Iterator[tuple[int, dict[str, str]]]:
        with _text(source, encoding, errors) as text:
            records = csv.reader(text, delimiter=delimiter)
            next(records)
            width = len(headers)
            for values in records:
                line = records.line_num
                if not any(v.strip() for v in values):
                    continue
                recoded = False
                if errors == "surrogateescape" and any(_UNDECODED.search(v) for v in values):
                    values, recoded = [_recode(v) for v in values], True
                if len(values) < width:
                    values = values + [""] * (width - len(values))
                row = dict(zip(headers, values, strict=False))
                if len(values) > width and any(v.strip() for v in values[width:]):
                    row["__extra__"] = delimiter.join(values[width:])
                if recoded:
                    row[RECODED] = "1"
                yield line, row

    return Table(name=name, headers=headers, encoding=encoding.replace("-sig", ""), kind="csv", _rows=rows())


class _SharedStrings:
    """A workbook's shared strings (every distinct text cell), read from the zip only as far
    as the cells read so far point: the header row and a row after it, in the web request,
    need the first few, not the whole table (openpyxl reads it all before the first cell)."""

    def __init__(self, archive: zipfile.ZipFile, part: str):
        self._strings: list[str] = []
        self._unread = self._read(archive, part)

    @staticmethod
    def _read(archive: zipfile.ZipFile, part: str) -> Iterator[str]:
        from openpyxl.cell.text import Text
        from openpyxl.xml.constants import SHEET_MAIN_NS
        from openpyxl.xml.functions import iterparse

        item = f"{{{SHEET_MAIN_NS}}}si"
        with archive.open(part) as source:
            for _, node in iterparse(source):
                if node.tag == item:
                    text = Text.from_tree(node).content.replace("x005F_", "")
                    node.clear()
                    yield text

    def __getitem__(self, index: int) -> str:
        while len(self._strings) <= index:
            try:
                self._strings.append(next(self._unread))
            except StopIteration:
                raise IndexError(index) from None
        return self._strings[index]

    def __len__(self) -> int:
        return len(self._strings)


def _load_workbook(handle):
    """openpyxl's ``load_workbook(read_only=True, data_only=True)``, with the shared strings
    read as the cells need them (``_SharedStrings``) rather than all up front."""
    from openpyxl.reader.excel import ExcelReader
    from openpyxl.xml.constants import SHARED_STRINGS

    class Reader(ExcelReader):
        def read_strings(self):
            part = self.package.find(SHARED_STRINGS)
            if part is not None:
                self.shared_strings = _SharedStrings(self.archive, part.PartName[1:])

    reader = Reader(handle, read_only=True, data_only=True)
    reader.read()
    return reader.wb


def _open_xlsx(source, name: str) -> Table:
    from openpyxl.utils.exceptions import InvalidFileException

    xlsx_check(source, name)
    handle = open_binary(source)  # a handle, not a path: the stored file has no .xlsx extension
    try:
        book = _load_workbook(handle)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, InvalidFileException) as exc:
        handle.close()
        raise NotATable(NOT_A_TABLE.format(name=name)) from exc
    sheet = book.worksheets[0]
    values = sheet.iter_rows(values_only=True)
    try:
        first = next(values)
    except StopIteration:
        raise NotATable(NO_HEADER.format(name=name)) from None
    except (zipfile.BadZipFile, KeyError, ValueError, IndexError) as exc:  # a part damaged, or lying about its size
        book.close()
        handle.close()
        raise NotATable(NOT_A_TABLE.format(name=name)) from exc
    headers = _headers([("" if v is None else str(v)) for v in first], name)

    def rows() -> Iterator[tuple[int, dict[str, str]]]:
        try:
            for line, cells in enumerate(values, start=2):
                if not any(c not in (None, "") for c in cells):
                    continue
                yield line, {h: ("" if c is None else c) for h, c in zip(headers, cells, strict=False)}
        except (zipfile.BadZipFile, IndexError) as exc:  # found damaged past the rows read so far
            raise NotATable(NOT_A_TABLE.format(name=name)) from exc
        finally:
            book.close()
            handle.close()

    return Table(name=name, headers=headers, encoding="xlsx", kind="xlsx", _rows=rows())


def preview(source, name: str, limit: int = 5) -> tuple[list[str], list[dict]]:
    table = open_table(source, name)
    out = []
    for _, row in table.rows():
        out.append(row)
        if len(out) >= limit:
            break
    return table.headers, out


__all__ = ["NotATable", "Table", "open_table", "preview"]
