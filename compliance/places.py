"""Where a homeowner is: time zones of a number and of ZIP codes, and the state of an area code.

Phone zones come from phonenumbers (exchange-level where it has data, G1); ZIP zones
from the zipcodes package's bundled USPS data. Both are loaded once per process.
"""

from __future__ import annotations

import zoneinfo
from functools import cache, lru_cache

import phonenumbers
from phonenumbers import geocoder
from phonenumbers import timezone as phone_timezone

from leadcrm.accounts.models import US_STATES

STATE_BY_NAME = {name: code for code, name in US_STATES}
UNKNOWN_ZONE = "Etc/Unknown"


@cache
def _zip_zones() -> dict[str, str]:
    return _zip_tables()[0]


@cache
def zip3_places() -> dict[str, tuple[frozenset[str], frozenset[str]]]:
    """Each three-digit ZIP prefix's time zones and states: ``'741'`` -> ({Chicago}, {OK})."""
    return _zip_tables()[1]


@cache
def _zip_tables():
    import zipcodes  # 40,000 ZIPs, read once

    zones: dict[str, str] = {}
    prefixes: dict[str, tuple[set, set]] = {}
    for record in zipcodes.list_all():
        zone = record.get("timezone") or ""
        if "/" in zone:
            try:
                zoneinfo.ZoneInfo(zone)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                continue
            zones[record["zip_code"]] = zone
            prefix = prefixes.setdefault(record["zip_code"][:3], (set(), set()))
            prefix[0].add(zone)
            if record.get("state"):
                prefix[1].add(record["state"])
    return zones, {key: (frozenset(z), frozenset(s)) for key, (z, s) in prefixes.items()}


def zip_time_zone(zip_code: str | None) -> str | None:
    """``'32507'`` -> ``'America/Chicago'``; None when the ZIP is unknown."""
    if not zip_code:
        return None
    return _zip_zones().get(zip_code[:5])


@lru_cache(maxsize=4096)
def phone_time_zones(e164: str) -> tuple[str, ...]:
    """The IANA zones phonenumbers gives for a number (all NANP zones for toll-free)."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return ()
    return tuple(zone for zone in phone_timezone.time_zones_for_number(number) if zone != UNKNOWN_ZONE)


# Names phonenumbers' geocoder uses that are not a state's own name.
STATE_ALIASES = {"Washington State": "WA", "Washington D.C.": "DC"}


def _state_of(description: str) -> str | None:
    """``'Florida'``, ``'San Antonio, TX'``, ``'Washington State'`` -> the two-letter state."""
    if description in STATE_BY_NAME:
        return STATE_BY_NAME[description]
    if description in STATE_ALIASES:
        return STATE_ALIASES[description]
    _, _, tail = description.rpartition(", ")
    return tail if tail in dict(US_STATES) else None


@lru_cache(maxsize=1024)
def area_code_state(area_code: str) -> str | None:
    """The state an area code serves, from phonenumbers' geocoding data (``'850'`` -> ``'FL'``).

    The geocoder names some area codes by city (``'San Antonio, TX'``); the state is read
    from that. Toll-free and other non-geographic codes have none.
    """
    try:
        number = phonenumbers.parse(f"+1{area_code}5550100", None)
    except phonenumbers.NumberParseException:
        return None
    return _state_of(geocoder.description_for_number(number, "en"))


def warm_up() -> None:
    """Load the ZIP tables now rather than on the first call of the day."""
    _zip_zones()
    zip3_places()
