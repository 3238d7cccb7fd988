"""Reads for a privacy request: who matches, what is held about them, past requests.

Only a broker answers a privacy request (``is_privacy_officer``); the searches start from
``Lead.objects.visible_to`` like every read, which for a broker is every lead.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import zipfile
from dataclasses import dataclass, field

from django.conf import settings
from django.core.files.storage import default_storage
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Q, TextField
from django.db.models.functions import Cast
from django.utils import timezone

from leadcrm.accounts.roles import Perm
from leadcrm.shared.csv_export import safe_cell
from leads.addresses import normalize_street, split_inline_unit
from leads.models import Contact, Email, ImportRowIssue, Lead, Phone, Property
from leads.phones import format_national, parse_phone
from pipeline.models import PrivacyRequest

from .coverage import FILE, Held, held_models, redactions_for

NEEDS_A_TERM = "Give at least one of name, phone, email or address to search for."
PHONE_NOT_READ = "That phone number could not be read: {error}"


def is_privacy_officer(user) -> bool:
    """A broker: staff who see every lead (the same test as the broker's reports)."""
    return bool(user.is_authenticated and user.is_active and user.is_staff and user.has_perm(Perm.VIEW_ALL_LEADS))


@dataclass
class PrivacySearch:
    """The terms a homeowner gave, normalised as the app stores them."""

    name: str = ""
    phone: str = ""
    email: str = ""
    address: str = ""
    problems: list[str] = field(default_factory=list)

    def __post_init__(self):
        self.name = " ".join(self.name.split())
        self.email = self.email.strip().lower()
        self.address = " ".join(self.address.split())
        self.phone = self.phone.strip()
        self.e164 = ""
        if self.phone:
            parsed = parse_phone(self.phone)
            if parsed.ok:
                self.e164 = parsed.e164
            else:
                self.problems.append(PHONE_NOT_READ.format(error=parsed.error))
        if not (self.name or self.phone or self.email or self.address):
            self.problems.append(NEEDS_A_TERM)

    @property
    def street_key(self) -> str:
        street, _unit = split_inline_unit(self.address)
        return normalize_street(street) if street else ""

    def term_hashes(self) -> dict[str, list[str]]:
        """Keyed hashes of the normalised terms: the request's record never holds them in
        clear (docs/privacy.md#the-record-of-requests)."""
        terms = {"name": self.name.lower(), "phone": self.e164, "email": self.email, "address": self.street_key}
        key = settings.SECRET_KEY.encode()
        return {kind: [hmac.new(key, value.encode(), hashlib.sha256).hexdigest()] for kind, value in terms.items()
                if value}

    def as_query(self) -> dict[str, str]:
        return {"name": self.name, "phone": self.phone, "email": self.email, "address": self.address}


@dataclass
class MatchedLead:
    lead: Lead
    reasons: list[str] = field(default_factory=list)


@dataclass
class Matches:
    leads: list[MatchedLead]
    contacts: list[Contact]
    phones: list[Phone]
    emails: list[Email]

    @property
    def lead_ids(self) -> list[int]:
        return [match.lead.pk for match in self.leads]


def _name_query(name: str) -> Q:
    words = name.split(" ")
    query = Q(last_name__iexact=name) | Q(company_name__iexact=name)
    if len(words) >= 2:
        query |= Q(first_name__iexact=" ".join(words[:-1]), last_name__iexact=words[-1])
    return query


def privacy_matches(*, fetched_by, search: PrivacySearch) -> Matches:
    """Every lead, owner, phone and email that matches the homeowner's terms, with why."""
    leads = Lead.objects.visible_to(fetched_by)
    reasons: dict[int, list[str]] = {}
    contact_query = Q(pk__in=[])
    if search.name:
        contact_query |= _name_query(search.name)
    phone_query = Q(number=search.e164) if search.e164 else Q(pk__in=[])
    email_query = Q(address__iexact=search.email) if search.email else Q(pk__in=[])
    contacts = list(Contact.objects.filter(contact_query, lead__in=leads).select_related("lead"))
    phones = list(Phone.objects.filter(phone_query, contact__lead__in=leads).select_related("contact"))
    emails = list(Email.objects.filter(email_query, contact__lead__in=leads).select_related("contact"))
    for contact in contacts:
        reasons.setdefault(contact.lead_id, []).append(f"owner {contact} has the name")
    for phone in phones:
        reasons.setdefault(phone.contact.lead_id, []).append(f"owner {phone.contact} has the phone {phone.display}")
    for email in emails:
        reasons.setdefault(email.contact.lead_id, []).append(f"owner {email.contact} has the email {email.address}")
    if search.street_key:
        houses = Property.objects.filter(address_key__startswith=f"{search.street_key}|", lead__in=leads)
        for house in houses.select_related("lead"):
            reasons.setdefault(house.lead.pk, []).append(f"the house is at {house.street}")
    found = leads.filter(Q(pk__in=reasons) | Q(merged_into__in=reasons)).select_related(
        "property", "assigned_agent").order_by("pk")
    matched = [MatchedLead(lead, reasons.get(lead.pk) or [f"merged into lead {lead.merged_into_id}"])
               for lead in found]
    return Matches(leads=matched, contacts=contacts, phones=phones, emails=emails)


def privacy_lead_ids(*, fetched_by, lead_ids) -> list[int]:
    """The chosen leads the broker may see, and every lead merged into them (the same
    person's duplicate, whose rows stayed on it: docs/architecture.md#merging-leads)."""
    chosen = Lead.objects.visible_to(fetched_by, merged=True).filter(pk__in=lead_ids)
    return list(Lead.objects.filter(Q(pk__in=chosen) | Q(merged_into__in=chosen)).order_by("pk")
                .values_list("pk", flat=True))


def person_terms(lead_ids) -> list[str]:
    """The strings that name the person on these leads (lowercased), for finding them in
    free JSON (a check's findings, an import's rejected row): names, phones as stored and
    as written on the list, emails, the street."""
    terms: set[str] = set()
    for first, last, company in Contact.objects.filter(lead__in=lead_ids).values_list(
            "first_name", "last_name", "company_name"):
        terms.update(value for value in (f"{first} {last}".strip(), last, company) if len(value) >= 3)
    for number, raw in Phone.objects.filter(contact__lead__in=lead_ids).values_list("number", "raw"):
        terms.update(value for value in (number, format_national(number), number[2:] if number.startswith("+1")
                                         else number, raw) if value)
    terms.update(Email.objects.filter(contact__lead__in=lead_ids).values_list("address", flat=True))
    terms.update(Property.objects.filter(lead__in=lead_ids).values_list("street", flat=True))
    return sorted(term.lower() for term in terms if term)


def names_person(value: str, terms: list[str]) -> bool:
    text = value.lower()
    digits = "".join(ch for ch in text if ch.isdigit())
    return any(term in text or (term.isdigit() and len(term) >= 10 and term in digits) for term in terms)


def import_rows_naming(terms: list[str]):
    """Rows an import rejected that name the person: no key joins them to a lead, so they
    are found by the street, the email or the phone as the list wrote it."""
    query = Q(pk__in=[])
    for term in terms:
        if len(term) >= 6:
            query |= Q(row_text__icontains=term)
    return ImportRowIssue.objects.annotate(row_text=Cast("row", TextField())).filter(query).order_by("pk")


@dataclass(frozen=True)
class HeldRows:
    label: str
    title: str
    held: Held | None
    queryset: object


def privacy_held(*, fetched_by, lead_ids) -> list[HeldRows]:
    """Every model's rows held about the person, unevaluated: one query each when read."""
    ids = privacy_lead_ids(fetched_by=fetched_by, lead_ids=lead_ids)
    found = []
    for held in held_models():
        meta = held.model._meta
        found.append(HeldRows(held.label, str(meta.verbose_name_plural).capitalize(), held, held.rows(ids)))
    rows = import_rows_naming(person_terms(ids))
    found.append(HeldRows("leads.importrowissue", "Import rows that named them", None, rows))
    return found


def privacy_preview(*, fetched_by, lead_ids) -> list[tuple[str, str, int, list[str]]]:
    """What an erasure would change: (label, title, rows, fields) for every model with rows."""
    preview = []
    for held in privacy_held(fetched_by=fetched_by, lead_ids=lead_ids):
        count = held.queryset.count()
        if count:
            fields = sorted(redactions_for(held.queryset.model))
            preview.append((held.label, held.title, count, fields))
    return preview


def privacy_requests(*, fetched_by):
    return PrivacyRequest.objects.select_related("handled_by").prefetch_related("actions").order_by(
        "-created_at", "-pk")


def _files_of(held_rows: HeldRows, rows: list[dict]) -> list[str]:
    names = [name for name, value in redactions_for(held_rows.queryset.model).items() if value == FILE]
    return [row[name] for row in rows for name in names if row.get(name)]


def privacy_package(*, fetched_by, lead_ids) -> tuple[bytes, dict[str, int]]:
    """One ZIP of everything held about the person: ``records.json`` (every row, every
    field), ``summary.csv`` (one line per field, readable in a spreadsheet) and ``files/``
    (their documents and evidence files). Returns the bytes and the rows per model."""
    buffer = io.BytesIO()
    counts: dict[str, int] = {}
    records: dict[str, list[dict]] = {}
    summary = io.StringIO()
    writer = csv.writer(summary)
    writer.writerow(["What", "Record", "Field", "Value"])
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for held in privacy_held(fetched_by=fetched_by, lead_ids=lead_ids):
            concrete = [field.attname for field in held.queryset.model._meta.concrete_fields]
            rows = list(held.queryset.values(*concrete))
            if not rows:
                continue
            counts[held.label] = len(rows)
            records[held.label] = rows
            for row in rows:
                for name, value in row.items():
                    if value not in (None, "", [], {}):
                        writer.writerow([safe_cell(held.title), row.get("pk", row.get("id", row.get("history_id"))),
                                         safe_cell(name), safe_cell(str(value))])
            for name in _files_of(held, rows):
                if default_storage.exists(name):
                    with default_storage.open(name, "rb") as stored:
                        archive.writestr(f"files/{name}", stored.read())
        archive.writestr("records.json", json.dumps(
            {"made_at": timezone.now(), "records": records}, cls=DjangoJSONEncoder, indent=1))
        archive.writestr("summary.csv", summary.getvalue())
    return buffer.getvalue(), counts
