"""Postal address normalisation into the key that finds the same house written twice.

USPS Publication 28 abbreviations (street suffixes, directionals, secondary unit
designators), upper case, no punctuation, single spaces. The key is
``STREET|UNIT|ZIP5`` or ``STREET|UNIT|CITY ST`` when there is no ZIP.
"""

from __future__ import annotations

import re

STREET_SUFFIXES = {
    "ALLEY": "ALY", "ANNEX": "ANX", "ARCADE": "ARC", "AVENUE": "AVE", "AV": "AVE",
    "AVEN": "AVE", "AVENU": "AVE", "AVN": "AVE", "AVNUE": "AVE", "BAYOU": "BYU",
    "BEACH": "BCH", "BEND": "BND", "BLUFF": "BLF", "BOTTOM": "BTM", "BOULEVARD": "BLVD",
    "BOUL": "BLVD", "BOULV": "BLVD", "BRANCH": "BR", "BRIDGE": "BRG", "BROOK": "BRK",
    "BYPASS": "BYP", "CAMP": "CP", "CANYON": "CYN", "CAPE": "CPE", "CAUSEWAY": "CSWY",
    "CENTER": "CTR", "CENTRE": "CTR", "CIRCLE": "CIR", "CIRC": "CIR", "CIRCL": "CIR",
    "CLIFF": "CLF", "CLUB": "CLB", "COMMON": "CMN", "CORNER": "COR", "CORNERS": "CORS",
    "COURSE": "CRSE", "COURT": "CT", "COURTS": "CTS", "COVE": "CV", "CREEK": "CRK",
    "CRESCENT": "CRES", "CREST": "CRST", "CROSSING": "XING", "CURVE": "CURV", "DALE": "DL",
    "DAM": "DM", "DIVIDE": "DV", "DRIVE": "DR", "DRIV": "DR", "DRV": "DR", "ESTATE": "EST",
    "ESTATES": "ESTS", "EXPRESSWAY": "EXPY", "EXTENSION": "EXT", "FALLS": "FLS",
    "FERRY": "FRY", "FIELD": "FLD", "FIELDS": "FLDS", "FLAT": "FLT", "FOREST": "FRST",
    "FORGE": "FRG", "FORK": "FRK", "FORT": "FT", "FREEWAY": "FWY", "GARDEN": "GDN",
    "GARDENS": "GDNS", "GATEWAY": "GTWY", "GLEN": "GLN", "GREEN": "GRN", "GROVE": "GRV",
    "HARBOR": "HBR", "HAVEN": "HVN", "HEIGHTS": "HTS", "HIGHWAY": "HWY", "HILL": "HL",
    "HILLS": "HLS", "HOLLOW": "HOLW", "ISLAND": "IS", "JUNCTION": "JCT", "KEY": "KY",
    "KNOLL": "KNL", "LAKE": "LK", "LAKES": "LKS", "LANDING": "LNDG", "LANE": "LN",
    "LIGHT": "LGT", "LOOP": "LOOP", "MANOR": "MNR", "MEADOW": "MDW", "MEADOWS": "MDWS",
    "MILL": "ML", "MISSION": "MSN", "MOUNT": "MT", "MOUNTAIN": "MTN", "ORCHARD": "ORCH",
    "OVAL": "OVAL", "PARK": "PARK", "PARKWAY": "PKWY", "PKY": "PKWY", "PASS": "PASS",
    "PATH": "PATH", "PIKE": "PIKE", "PINE": "PNE", "PINES": "PNES", "PLACE": "PL",
    "PLAIN": "PLN", "PLAINS": "PLNS", "PLAZA": "PLZ", "POINT": "PT", "POINTE": "PT",
    "PORT": "PRT", "PRAIRIE": "PR", "RANCH": "RNCH", "RIDGE": "RDG", "RIVER": "RIV",
    "ROAD": "RD", "ROUTE": "RTE", "ROW": "ROW", "RUN": "RUN", "SHORE": "SHR",
    "SHORES": "SHRS", "SPRING": "SPG", "SPRINGS": "SPGS", "SQUARE": "SQ", "STATION": "STA",
    "STREAM": "STRM", "STREET": "ST", "STR": "ST", "STRT": "ST", "SUMMIT": "SMT",
    "TERRACE": "TER", "TERR": "TER", "TRACE": "TRCE", "TRACK": "TRAK", "TRAIL": "TRL",
    "TRAILS": "TRL", "TURNPIKE": "TPKE", "UNION": "UN", "VALLEY": "VLY", "VIEW": "VW",
    "VILLAGE": "VLG", "VILLE": "VL", "VISTA": "VIS", "WALK": "WALK", "WAY": "WAY",
    "WELLS": "WLS",
}

DIRECTIONALS = {
    "NORTH": "N", "SOUTH": "S", "EAST": "E", "WEST": "W", "NORTHEAST": "NE",
    "NORTHWEST": "NW", "SOUTHEAST": "SE", "SOUTHWEST": "SW",
}

# Every secondary designator collapses to "#": "Apt 4", "Unit 4" and "# 4" are one door.
UNIT_DESIGNATORS = {
    "APARTMENT", "APT", "UNIT", "SUITE", "STE", "NO", "NUMBER", "BUILDING", "BLDG",
    "FLOOR", "FL", "LOT", "SPACE", "SPC", "ROOM", "RM", "DEPT", "TRLR", "TRAILER", "#",
}

_PUNCTUATION = re.compile(r"[^\w#\s]")
_SPACES = re.compile(r"\s+")
_INLINE_UNIT = re.compile(
    r"\s(?:#|(?:" + "|".join(sorted(UNIT_DESIGNATORS - {"#"})) + r")\b)\s*#?\s*([\w-]+)$"
)


def _clean(text: str | None) -> str:
    text = (text or "").upper().replace(".", " ").replace(",", " ")
    text = _PUNCTUATION.sub(" ", text)
    return _SPACES.sub(" ", text).strip()


def normalize_street(street: str | None) -> str:
    """``'1633 elm street.'`` -> ``'1633 ELM ST'`` (suffixes and directionals abbreviated)."""
    words = _clean(street).split(" ")
    out = []
    for position, word in enumerate(words):
        if word in DIRECTIONALS:
            out.append(DIRECTIONALS[word])
        # A suffix word is only abbreviated after the street name, not in it ("Park Ave").
        elif word in STREET_SUFFIXES and position > 1:
            out.append(STREET_SUFFIXES[word])
        else:
            out.append(word)
    return " ".join(word for word in out if word)


def normalize_unit(unit: str | None) -> str:
    """``'Apt. 4B'``, ``'#4b'``, ``'Unit 4B'`` -> ``'4B'``."""
    words = [word for word in _clean(unit).replace("#", " # ").split(" ") if word]
    return "".join(word for word in words if word not in UNIT_DESIGNATORS)


def split_inline_unit(street: str | None) -> tuple[str, str]:
    """Pull a unit written into the street line (``'12 Oak St Apt 4'``) out of it."""
    cleaned = _clean(street)
    match = _INLINE_UNIT.search(cleaned)
    if not match:
        return cleaned, ""
    return cleaned[: match.start()].strip(), match.group(1)


def zip5(value: str | None) -> str:
    digits = re.sub(r"\D", "", value or "")
    if len(digits) in (4, 8):  # a spreadsheet dropped the leading zero of 02134
        digits = "0" + digits
    return digits[:5] if len(digits) >= 5 else ""


def address_key(
    *, street: str, unit: str = "", city: str = "", state: str = "", zip_code: str = ""
) -> str:
    """The dedupe key for a property address; equal keys mean the same door."""
    street_part, inline_unit = split_inline_unit(street)
    unit_part = normalize_unit(unit) or normalize_unit(inline_unit)
    where = zip5(zip_code) or f"{_clean(city)} {_clean(state)}".strip()
    return f"{normalize_street(street_part)}|{unit_part}|{where}"
