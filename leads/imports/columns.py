"""Our fields, the headers that mean them, and a mapping detected from a file's header.

A header matches when its letters and digits, lower-cased, equal an alias's: so
``Owner 1 First Name``, ``owner_1_first_name`` and ``OWNER1FIRSTNAME`` are one column.
PropStream's exact headers (docs/short-sales.md#list-export-headers, its MLS group
included), BatchLeads' and DealMachine's snake_case ones and the usual hand-made spellings
are all aliases.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MISSING_REQUIRED = "The file has no column for {fields}; map one before importing."


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    aliases: tuple[str, ...]
    group: str


def _f(name, label, group, *aliases):
    return Field(name, label, (label, *aliases), group)


FIELDS: list[Field] = [
    _f("street", "Address", "Property", "property address", "address_line_1", "site address", "situs address",
       "street address", "property street", "street", "address1"),
    _f("unit", "Unit #", "Property", "unit", "address_line_2", "apt", "unit number"),
    _f("city", "City", "Property", "property city", "site city"),
    _f("state", "State", "Property", "property state", "st"),
    _f("zip", "Zip", "Property", "zip code", "zipcode", "zip_code", "postal code", "property zip"),
    _f("county", "County", "Property", "property county"),
    _f("apn", "APN", "Property", "parcel number", "parcel", "apn number", "parcel id"),
    _f("property_type", "Property Type", "Property", "property_type"),
    _f("bedrooms", "Bedrooms", "Property", "beds"),
    _f("bathrooms", "Total Bathrooms", "Property", "bathrooms", "baths"),
    _f("building_sqft", "Building Sqft", "Property", "sqft", "square feet", "living area"),
    _f("year_built", "Year Built", "Property"),
    _f("owner_occupied", "Owner Occupied", "Property"),
    _f("vacant", "Vacant", "Property"),
    _f("estimated_value", "Est. Value", "Equity", "estimated value", "estimated_value", "market value", "avm"),
    _f("owner1_first", "Owner 1 First Name", "Owners", "first name", "owner first name", "owner_first_name"),
    _f("owner1_last", "Owner 1 Last Name", "Owners", "last name", "owner last name", "owner_last_name"),
    _f("owner1_full", "Owner Name", "Owners", "owner_full_name", "owner 1 full name", "owner full name", "full name"),
    _f("owner2_first", "Owner 2 First Name", "Owners"),
    _f("owner2_last", "Owner 2 Last Name", "Owners"),
    _f("company_name", "Company Name", "Owners", "owner company"),
    _f("mailing_care_of", "Mailing Care of Name", "Mailing", "care of"),
    _f("mailing_street", "Mailing Address", "Mailing", "mail address", "mailing street", "mailing_address_line_1",
       "owner mailing address"),
    _f("mailing_unit", "Mailing Unit #", "Mailing", "mailing unit"),
    _f("mailing_city", "Mailing City", "Mailing", "mail city"),
    _f("mailing_state", "Mailing State", "Mailing", "mail state"),
    _f("mailing_zip", "Mailing Zip", "Mailing", "mail zip", "mailing zip code", "mailing_zipcode"),
    _f("do_not_mail", "Do Not Mail", "Mailing"),
    _f("deceased", "Deceased Owner", "Mailing", "deceased"),
]
for n in range(1, 5):
    FIELDS += [
        _f(f"loan{n}_date", f"Loan {n} Date", f"Loan {n}", f"loan {n} recording date"),
        _f(f"loan{n}_balance", f"Loan {n} Balance", f"Loan {n}", f"loan {n} amount", f"mortgage {n} balance"),
        _f(f"loan{n}_type", f"Loan {n} Type", f"Loan {n}", f"mortgage {n} type"),
        _f(f"loan{n}_lender", f"Loan {n} Lender", f"Loan {n}", f"mortgage {n} lender"),
    ]
FIELDS += [
    _f("prefc_recording_date", "Pre-FC Recording Date", "Pre-foreclosure", "recording date", "default date"),
    _f("prefc_record_type", "Pre-FC Record Type", "Pre-foreclosure", "record type", "document type"),
    _f("prefc_lender", "Pre-FC Lender", "Pre-foreclosure", "foreclosing lender"),
    _f("prefc_doc_number", "Pre-FC Doc Number", "Pre-foreclosure"),
    _f("prefc_unpaid_balance", "Pre-FC Unpaid Balance", "Pre-foreclosure", "unpaid balance"),
    _f("prefc_default_amount", "Pre-FC Default Amount", "Pre-foreclosure", "default amount"),
    _f("prefc_auction_date", "Pre-FC Auction Date", "Pre-foreclosure", "auction date", "sale date"),
    _f("prefc_auction_location", "Pre-FC Auction Location", "Pre-foreclosure", "auction location"),
    _f("prefc_opening_bid", "Pre-FC Auction Opening Bid", "Pre-foreclosure", "opening bid"),
    _f("prefc_trustee", "Pre-FC Trustee-Attorney Name", "Pre-foreclosure", "trustee"),
]
FIELDS += [
    _f("mls_status", "MLS Status", "MLS", "listing status", "mls_listing_status"),
    _f("mls_date", "MLS Date", "MLS", "listing date", "mls listing date"),
    _f("mls_amount", "MLS Amount", "MLS", "list price", "listing price", "mls list price", "mls price"),
    _f("mls_agent_name", "MLS Agent Name", "MLS", "listing agent", "listing agent name"),
    _f("mls_agent_phone", "MLS Agent Phone", "MLS", "listing agent phone"),
    _f("mls_agent_email", "MLS Agent E-Mail", "MLS", "mls agent email", "listing agent email"),
    _f("mls_brokerage_name", "MLS Brokerage Name", "MLS", "listing brokerage", "listing office", "mls brokerage"),
    _f("mls_brokerage_phone", "MLS Brokerage Phone", "MLS", "listing brokerage phone", "listing office phone"),
]
for n in range(1, 8):
    extra = ("phone", "phone number", "mobile", "cell", "cell phone", "owner phone") if n == 1 else ()
    FIELDS += [
        _f(f"phone{n}", f"Phone{n}", "Phones", f"phone {n}", f"phone_{n}", f"phone {n} number", *extra),
        _f(f"phone{n}_type", f"Phone{n} Type", "Phones", f"phone {n} type", f"phone_{n}_type"),
    ]
for n in range(1, 3):
    extra = ("email", "email address", "owner email") if n == 1 else ()
    FIELDS.append(_f(f"email{n}", f"Email{n}", "Emails", f"email {n}", f"email_{n}", *extra))

BY_NAME = {f.name: f for f in FIELDS}
_KEY = re.compile(r"[^a-z0-9]")


def header_key(header: str) -> str:
    return _KEY.sub("", header.lower())


ALIASES: dict[str, str] = {}
for _field in FIELDS:
    for _alias in _field.aliases:
        ALIASES.setdefault(header_key(_alias), _field.name)


def detect(headers: list[str]) -> dict[str, str]:
    """Field -> header for every header we recognise (the first header wins a field)."""
    mapping: dict[str, str] = {}
    for header in headers:
        name = ALIASES.get(header_key(header))
        if name and name not in mapping:
            mapping[name] = header
    return mapping


def missing_required(mapping: dict[str, str]) -> list[str]:
    """What a mapping lacks to place a house: a street, and a ZIP or a city and state."""
    missing = []
    if "street" not in mapping:
        missing.append("the street address (Address)")
    if "zip" not in mapping and not {"city", "state"} <= set(mapping):
        missing.append("the ZIP, or the city and state")
    return missing


def unmapped(headers: list[str], mapping: dict[str, str]) -> list[str]:
    used = set(mapping.values())
    return [h for h in headers if h and h not in used]
