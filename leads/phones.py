"""Phone numbers as typed by people and vendors, parsed to E.164 with phonenumbers."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import phonenumbers

DEFAULT_REGION = "US"

EMPTY = "No phone number given."
NO_DIGITS = "No digits in {raw!r}."
NOT_A_NUMBER = "{raw!r} is not a phone number."
WRONG_LENGTH = "{raw!r} has the wrong number of digits for a phone number."
NOT_VALID = "{raw!r} is not a valid number in any area code."
NO_AREA_CODE = "{raw!r} has no area code."


@dataclass(frozen=True)
class ParsedPhone:
    raw: str
    e164: str = ""
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error


# Characters a plainly written North American number may contain besides its digits.
_PLAIN = frozenset("0123456789 ()-.+/")


@cache
def _valid_area_codes() -> frozenset[str]:
    """US area codes phonenumbers accepts. Its US patterns turn on the area code and an
    exchange starting 2-9 only (other NANP countries' patterns go down to the exchange, so
    they keep the full parse); a number passing both is valid there too."""
    codes = set()
    for npa in range(200, 1000):
        number = phonenumbers.parse(f"+1{npa}2345678", None)
        if phonenumbers.region_code_for_number(number) == "US" and phonenumbers.is_valid_number(number):
            codes.add(str(npa))
    return frozenset(codes)


def _plain_nanp(raw: str) -> str:
    """E.164 for a plainly written ten-digit NANP number, without phonenumbers' full parse
    (ten times faster, for imports); "" when it is anything else, for the full parse."""
    if not _PLAIN.issuperset(raw):
        return ""
    digits = "".join(ch for ch in raw if ch.isdigit())
    if len(digits) == 11 and digits[0] == "1":
        digits = digits[1:]
    if len(digits) != 10 or digits[3] in "01" or digits[:3] not in _valid_area_codes():
        return ""
    if raw.lstrip().startswith("+") and not raw.lstrip().startswith("+1"):
        return ""
    return "+1" + digits


def parse_phone(raw: str | None, region: str = DEFAULT_REGION) -> ParsedPhone:
    """Parse ``'(918) 555-0104'``, ``'918.555.0104 x12'``, ``'+1 918 555 0104'`` ... to E.164.

    Returns the reason in plain words when it cannot, so an import can report it.
    """
    raw = (raw or "").strip()
    if not raw:
        return ParsedPhone(raw=raw, error=EMPTY)
    if region == DEFAULT_REGION:
        plain = _plain_nanp(raw)
        if plain:
            return ParsedPhone(raw=raw, e164=plain)
    if not any(ch.isdigit() for ch in raw):
        return ParsedPhone(raw=raw, error=NO_DIGITS.format(raw=raw))
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return ParsedPhone(raw=raw, error=NOT_A_NUMBER.format(raw=raw))
    if number.country_code == 1 and len(str(number.national_number)) == 7:
        return ParsedPhone(raw=raw, error=NO_AREA_CODE.format(raw=raw))
    if not phonenumbers.is_possible_number(number):
        return ParsedPhone(raw=raw, error=WRONG_LENGTH.format(raw=raw))
    if not phonenumbers.is_valid_number(number):
        return ParsedPhone(raw=raw, error=NOT_VALID.format(raw=raw))
    return ParsedPhone(
        raw=raw, e164=phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    )


def format_national(e164: str) -> str:
    """``'+19185550104'`` -> ``'(918) 555-0104'`` for display."""
    if len(e164) == 12 and e164.startswith("+1") and e164[2:].isdigit():
        return f"({e164[2:5]}) {e164[5:8]}-{e164[8:]}"  # the NANP layout, without a parse
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)


def search_digits(text: str) -> str:
    """The digits of a phone written any way, without the US country code, for search."""
    digits = "".join(ch for ch in text if ch.isdigit())
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    return digits
