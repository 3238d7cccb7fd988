"""Cells as lists write them: ``$245,000``, ``63.1%``, ``05/02/2026``, ``n/a``, ``Yes``."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache

EMPTY_WORDS = {"", "n/a", "na", "none", "null", "-", "--", "unknown", "#n/a", "nan"}
TRUE_WORDS = {"y", "yes", "true", "1", "x", "t"}
FALSE_WORDS = {"n", "no", "false", "0", "f"}
DATE_FORMATS = ("%m/%d/%Y", "%Y-%m-%d", "%m/%d/%y", "%m-%d-%Y", "%Y/%m/%d", "%m/%d/%Y %H:%M", "%Y-%m-%d %H:%M:%S")
_MONEY_JUNK = re.compile(r"[$,\s]")

NOT_MONEY = "{value!r} is not an amount"
NOT_A_DATE = "{value!r} is not a date"
NOT_A_NUMBER = "{value!r} is not a number"


class CellError(ValueError):
    pass


def blank(value) -> bool:
    return value is None or (isinstance(value, str) and value.strip().lower() in EMPTY_WORDS)


def text(value, limit: int | None = None) -> str:
    if value is None or value == "":  # most empty cells, answered first
        return ""
    out = " ".join(str(value).split())
    # Same as blank(), on the spaced-out text: no empty word has a space inside.
    if isinstance(value, str) and out.lower() in EMPTY_WORDS:
        return ""
    return out[:limit] if limit else out


def _finite(number: Decimal, raw) -> Decimal:
    """No infinities, NaNs or 1e9999999 (which ``int()`` would take minutes to expand)."""
    if not number.is_finite() or number.adjusted() > 12:
        raise CellError(NOT_A_NUMBER.format(value=raw))
    return number


def digits(value) -> str:
    """A ZIP or phone a spreadsheet saved as a float (``'2134.0'``) back to its digits."""
    out = text(value)
    return out[:-2] if out.endswith(".0") and out[:-2].isdigit() else out


def money(value) -> Decimal | None:
    """``'$245,000'``, ``'245000.50'``, ``'(1,200)'`` (negative) -> Decimal; blank -> None."""
    if blank(value):
        return None
    if isinstance(value, (int, float, Decimal)):
        return Decimal(str(value)).quantize(Decimal("0.01"))
    raw = str(value).strip()
    negative = raw.startswith("(") and raw.endswith(")")
    cleaned = _MONEY_JUNK.sub("", raw.strip("()"))
    try:
        amount = Decimal(cleaned)
    except InvalidOperation:
        raise CellError(NOT_MONEY.format(value=raw)) from None
    # The exponent first: abs() of 1e9999999 overflows the decimal context (found by the
    # property tests); adjusted() reads the exponent without arithmetic.
    if not amount.is_finite() or amount.adjusted() >= 10:
        raise CellError(NOT_MONEY.format(value=raw))
    return (-amount if negative else amount).quantize(Decimal("0.01"))


def number(value) -> Decimal | None:
    """``'2.5'``, ``'63.1%'`` (a percent sign is allowed and dropped) -> Decimal; blank -> None."""
    if blank(value):
        return None
    try:
        return _finite(Decimal(str(value).strip().rstrip("%").strip()), value)
    except InvalidOperation:
        raise CellError(NOT_A_NUMBER.format(value=value)) from None


def integer(value) -> int | None:
    if blank(value):
        return None
    try:
        return int(_finite(Decimal(str(value).replace(",", "").strip()), value))
    except (InvalidOperation, ValueError):
        raise CellError(NOT_A_NUMBER.format(value=value)) from None


def day(value) -> date | None:
    """``'05/02/2026'``, ``'2026-05-02'``, an Excel date cell -> date; blank -> None."""
    if blank(value):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return _day(str(value).strip())


@lru_cache(maxsize=4096)
def _day(raw: str) -> date:
    """Cached: a list repeats its dates (a lender's recording days, one auction date), and
    ``strptime`` is the slowest step of reading a row."""
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(raw, fmt).date()
        except ValueError:
            continue
    raise CellError(NOT_A_DATE.format(value=raw))


def flag(value) -> bool | None:
    if blank(value):
        return None
    word = str(value).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    return None
