"""One list row, read into what we keep: the house, its owners, their phones and emails,
the loans and the pre-foreclosure filing, with the reason for every value left out."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, fields
from datetime import date
from decimal import Decimal
from functools import lru_cache

from leadcrm.accounts.models import US_STATES

from ..addresses import address_key, zip5
from ..models import ForeclosureRecordType, LeadType, LienType, PhoneType, PropertyType, normalize_apn
from ..phones import parse_phone
from . import cells
from .reading import RECODED

STATES = {code for code, _ in US_STATES}
STATE_NAMES = {name.upper(): code for code, name in US_STATES}
NO_STREET = "No street address."
NO_PLACE = "No ZIP, and no city and state: the house cannot be placed."
BAD_STATE = "{value!r} is not a US state."
BAD_CELL = "{column}: {error}; left empty."
BAD_PHONE = "{column}: {error}"
UNKNOWN_OWNER = "Current Owner"
RECODED_LINE = ("Some characters on this line are not UTF-8 like the rest of the file; they were read as "
                "Windows-1252. Check its names and address.")
EXTRA_CELLS = "The row has more cells than the header has columns; the extra ones are in the report, not imported."
KEY_LENGTH = 200
# The model columns' ranges: a value outside them is left out with a note, never a crash.
LIMITS = {"bedrooms": 32767, "building_sqft": 2_000_000_000, "year_built": 2100}
ZIP_STATE = "The state was read from ZIP {zip}."
MLS_FIELDS = ("mls_status", "mls_date", "mls_amount", "mls_agent_name", "mls_agent_phone", "mls_agent_email",
              "mls_brokerage_name", "mls_brokerage_phone")

PROPERTY_TYPES = {
    "single family": PropertyType.SINGLE_FAMILY, "sfr": PropertyType.SINGLE_FAMILY,
    "single family residential": PropertyType.SINGLE_FAMILY, "condominium": PropertyType.CONDO,
    "condo": PropertyType.CONDO, "townhouse": PropertyType.TOWNHOUSE, "townhome": PropertyType.TOWNHOUSE,
    "multi-family": PropertyType.MULTI_FAMILY, "multi family": PropertyType.MULTI_FAMILY,
    "duplex": PropertyType.MULTI_FAMILY, "triplex": PropertyType.MULTI_FAMILY, "fourplex": PropertyType.MULTI_FAMILY,
    "manufactured": PropertyType.MANUFACTURED, "mobile home": PropertyType.MANUFACTURED,
    "vacant land": PropertyType.LAND, "land": PropertyType.LAND,
}
PHONE_TYPES = {"mobile": PhoneType.MOBILE, "wireless": PhoneType.MOBILE, "cell": PhoneType.MOBILE,
               "landline": PhoneType.LANDLINE, "land line": PhoneType.LANDLINE, "voip": PhoneType.VOIP}
LOAN_TYPES = {"heloc": LienType.HELOC, "home equity": LienType.HELOC, "credit line": LienType.HELOC}
RECORD_TYPES = {"NOD": ForeclosureRecordType.NOD, "LIS": ForeclosureRecordType.LIS,
                "LIS PENDENS": ForeclosureRecordType.LIS, "NTS": ForeclosureRecordType.NTS,
                "NFS": ForeclosureRecordType.NFS, "NOTICE OF DEFAULT": ForeclosureRecordType.NOD}


class _Compact:
    """Pickled as its constructor's arguments: records cross to the writing process by the
    thousand (see ``ahead``), and the default pickling of a dataclass costs twice as much."""

    def __reduce__(self):
        return self.__class__, tuple(getattr(self, f.name) for f in fields(self))


@dataclass
class Owner(_Compact):
    position: int
    first_name: str = ""
    last_name: str = ""
    company_name: str = ""


@dataclass
class PhoneIn(_Compact):
    e164: str
    raw: str
    phone_type: str
    position: int


@dataclass
class LoanIn(_Compact):
    position: int
    lien_type: str
    loan_program: str
    lender: str
    balance: Decimal | None
    recording_date: date | None


@dataclass
class Record(_Compact):
    line: int
    row: dict
    key: str = ""
    apn: str = ""
    county: str = ""
    property: dict = field(default_factory=dict)
    owners: list[Owner] = field(default_factory=list)
    mailing: dict = field(default_factory=dict)
    phones: list[PhoneIn] = field(default_factory=list)
    rejected_phones: list[dict] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)
    loans: list[LoanIn] = field(default_factory=list)
    foreclosure: dict | None = None
    lead_type: str = LeadType.LIST
    rejected: str = ""  # why the whole row is refused
    notes: list[str] = field(default_factory=list)  # values left out, the row imported


def _state(value) -> str:
    text = cells.text(value).upper()
    if text in STATES:
        return text
    return STATE_NAMES.get(text, "")


@lru_cache(maxsize=50_000)
def _zip_place(zip_code: str) -> tuple[str, str]:
    """City and state of a ZIP, from the bundled USPS data."""
    import zipcodes

    try:
        found = zipcodes.matching(zip_code)
    except (TypeError, ValueError):
        return "", ""
    return (found[0]["city"].title(), found[0]["state"]) if found else ("", "")


def _listing_phone(record: Record, columns: dict[str, str], name: str, value) -> str:
    """A listing agent's or brokerage's number, in E.164; never one of the owner's phones
    (it is not the homeowner's, and no outreach goes to it from here)."""
    value = cells.digits(value)
    if not value:
        return ""
    parsed = parse_phone(value)
    if not parsed.ok:
        record.notes.append(BAD_CELL.format(column=columns[name], error=parsed.error))
        return ""
    return parsed.e164


def _listing_email(record: Record, columns: dict[str, str], value) -> str:
    email = cells.text(value, 254).lower()
    if email and ("@" not in email or " " in email):
        record.notes.append(BAD_CELL.format(column=columns["mls_agent_email"], error=f"{email!r} is not an email"))
        return ""
    return email


def mls_changes(held: dict, incoming: dict) -> dict:
    """The listing fields a later row changes on a house held: its non-empty cells that
    differ. An empty cell never blanks a value, and a listing dated before the one held
    changes nothing (an older export read late must not undo a newer status)."""
    if held.get("mls_date") and incoming.get("mls_date") and incoming["mls_date"] < held["mls_date"]:
        return {}
    return {name: incoming[name] for name in MLS_FIELDS
            if incoming.get(name) not in (None, "") and incoming[name] != held.get(name)}


def read_record(line: int, row: dict, columns: dict[str, str]) -> Record:
    """Read one row through a mapping (field -> header). Never raises for bad cells."""
    record = Record(line=line, row=row)
    if row.get("__extra__"):
        record.notes.append(EXTRA_CELLS)
    if row.pop(RECODED, None):
        record.notes.append(RECODED_LINE)

    def raw(name):
        header = columns.get(name)
        return row.get(header, "") if header else ""

    def typed(name, parse):
        try:
            return parse(raw(name))
        except cells.CellError as error:
            record.notes.append(BAD_CELL.format(column=columns[name], error=error))
            return None

    street = cells.text(raw("street"), 120)
    if not street:
        record.rejected = NO_STREET
        return record
    zip_code = zip5(cells.digits(raw("zip")))
    city = cells.text(raw("city"), 60)
    state = _state(raw("state"))
    if raw("state") and not state:
        record.notes.append(BAD_STATE.format(value=cells.text(raw("state"))))
    if zip_code and (not state or not city):
        zip_city, zip_state = _zip_place(zip_code)
        if not state and zip_state:
            state = zip_state
            record.notes.append(ZIP_STATE.format(zip=zip_code))
        city = city or zip_city
    if not state or not (zip_code or city):
        record.rejected = NO_PLACE
        return record
    unit = cells.text(raw("unit"), 20)
    record.key = address_key(street=street, unit=unit, city=city, state=state, zip_code=zip_code)
    if len(record.key) > KEY_LENGTH:  # the column's limit: keep it unique, and the same for the same house
        record.key = record.key[:KEY_LENGTH - 41] + "#" + hashlib.sha1(record.key.encode()).hexdigest()
    record.apn = normalize_apn(cells.text(raw("apn")))[:40]
    record.county = cells.text(raw("county"), 60)
    property_type = PROPERTY_TYPES.get(cells.text(raw("property_type")).lower(), "")
    record.property = {
        "street": street, "unit": unit, "city": city, "state": state, "zip_code": zip_code,
        "county": record.county, "apn": record.apn,
        "property_type": property_type or (PropertyType.OTHER if cells.text(raw("property_type")) else ""),
        "bedrooms": typed("bedrooms", cells.integer), "bathrooms": typed("bathrooms", cells.number),
        "building_sqft": typed("building_sqft", cells.integer), "year_built": typed("year_built", cells.integer),
        "estimated_value": typed("estimated_value", cells.money),
        "owner_occupied": cells.flag(raw("owner_occupied")), "vacant": cells.flag(raw("vacant")),
        # The MLS listing, in the same literal: the property dict's keys are the COPY's columns.
        "mls_status": cells.text(raw("mls_status"), 40), "mls_date": typed("mls_date", cells.day),
        "mls_amount": typed("mls_amount", cells.money),
        "mls_agent_name": cells.text(raw("mls_agent_name"), 120),
        "mls_agent_phone": _listing_phone(record, columns, "mls_agent_phone", raw("mls_agent_phone")),
        "mls_agent_email": _listing_email(record, columns, raw("mls_agent_email")),
        "mls_brokerage_name": cells.text(raw("mls_brokerage_name"), 120),
        "mls_brokerage_phone": _listing_phone(record, columns, "mls_brokerage_phone", raw("mls_brokerage_phone")),
    }
    for key, top in LIMITS.items():
        value = record.property[key]
        if value is not None and not (0 <= value <= top):
            record.notes.append(BAD_CELL.format(column=columns[key], error=f"{value} is out of range"))
            record.property[key] = None
    baths = record.property["bathrooms"]
    if baths is not None and not (0 <= baths < 100):
        record.property["bathrooms"] = None
    for key in ("estimated_value", "mls_amount"):
        value = record.property[key]
        if value is not None and not (0 <= value < Decimal("1e10")):
            record.property[key] = None

    # Owners: Owner 1 (first/last or a full name), Owner 2, or a company.
    first, last = cells.text(raw("owner1_first"), 60), cells.text(raw("owner1_last"), 60)
    if not (first or last) and raw("owner1_full"):
        parts = cells.text(raw("owner1_full")).split(" ")
        first, last = " ".join(parts[:-1])[:60], parts[-1][:60]
    company = cells.text(raw("company_name"), 120)
    if first or last or company:
        record.owners.append(Owner(1, first, last, company))
    second = (cells.text(raw("owner2_first"), 60), cells.text(raw("owner2_last"), 60))
    if any(second):
        record.owners.append(Owner(2, *second))
    if not record.owners:
        # The list names nobody: mail goes to "Current Owner", as direct mail does.
        record.owners.append(Owner(1, company_name=UNKNOWN_OWNER))
    record.mailing = {
        "mailing_care_of": cells.text(raw("mailing_care_of"), 120),
        "mailing_street": cells.text(raw("mailing_street"), 120),
        "mailing_unit": cells.text(raw("mailing_unit"), 20),
        "mailing_city": cells.text(raw("mailing_city"), 60),
        "mailing_state": _state(raw("mailing_state")),
        "mailing_zip": zip5(cells.digits(raw("mailing_zip"))),
        "do_not_mail": bool(cells.flag(raw("do_not_mail"))),
        "deceased": bool(cells.flag(raw("deceased"))),
    }

    seen = set()
    for n in range(1, 8):
        value = cells.digits(raw(f"phone{n}"))
        if not value:
            continue
        parsed = parse_phone(value)
        if not parsed.ok:
            record.rejected_phones.append({"raw": value[:40], "reason": parsed.error})
            record.notes.append(BAD_PHONE.format(column=columns[f"phone{n}"], error=parsed.error))
            continue
        if parsed.e164 in seen:
            continue
        seen.add(parsed.e164)
        kind = PHONE_TYPES.get(cells.text(raw(f"phone{n}_type")).lower(), PhoneType.UNKNOWN)
        record.phones.append(PhoneIn(parsed.e164, value[:40], kind, len(record.phones) + 1))
    for n in (1, 2):
        email = cells.text(raw(f"email{n}"), 254).lower()
        if email and "@" in email and " " not in email and email not in record.emails:
            record.emails.append(email)
        elif email:
            record.notes.append(BAD_CELL.format(column=columns[f"email{n}"], error=f"{email!r} is not an email"))

    for n in range(1, 5):
        balance = typed(f"loan{n}_balance", cells.money)
        lender = cells.text(raw(f"loan{n}_lender"), 120)
        recorded = typed(f"loan{n}_date", cells.day)
        program = cells.text(raw(f"loan{n}_type"), 40)
        if balance is None and not lender:
            continue
        if balance is not None and not (0 <= balance < Decimal("1e10")):
            record.notes.append(BAD_CELL.format(column=columns[f"loan{n}_balance"], error="not a balance"))
            balance = None
        lien_type = LOAN_TYPES.get(program.lower(), LienType.MORTGAGE)
        record.loans.append(LoanIn(n, lien_type, program, lender, balance, recorded))

    auction = typed("prefc_auction_date", cells.day)
    recorded = typed("prefc_recording_date", cells.day)
    record_type = RECORD_TYPES.get(cells.text(raw("prefc_record_type")).upper(), "")
    if recorded or auction or record_type:
        record.foreclosure = {
            "recording_date": recorded, "record_type": record_type or ForeclosureRecordType.OTHER,
            "lender": cells.text(raw("prefc_lender"), 120), "document_number": cells.text(raw("prefc_doc_number"), 40),
            "unpaid_balance": typed("prefc_unpaid_balance", cells.money),
            "default_amount": typed("prefc_default_amount", cells.money), "auction_date": auction,
            "auction_location": cells.text(raw("prefc_auction_location"), 200),
            "opening_bid": typed("prefc_opening_bid", cells.money), "trustee": cells.text(raw("prefc_trustee"), 120),
        }
    if auction:
        record.lead_type = LeadType.AUCTION
    elif record_type == ForeclosureRecordType.LIS:
        record.lead_type = LeadType.LIS_PENDENS
    elif record.foreclosure:
        record.lead_type = LeadType.NOD
    elif record.property["owner_occupied"] is False:
        record.lead_type = LeadType.ABSENTEE
    return record
