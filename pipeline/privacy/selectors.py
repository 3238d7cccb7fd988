"""Reads for a privacy request: who matches, what is held about them, past requests.

Only a broker answers a privacy request (``is_privacy_officer``); the searches start from
``Lead.objects.visible_to`` like every read, which for a broker is every lead.
"""

from __future__ import annotations

import csv
import datetime
import hashlib
import hmac
import io
import json
import re
import zipfile
from dataclasses import dataclass, field

from django.apps import apps
from django.conf import settings
from django.core.files.storage import default_storage
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Q, TextField
from django.db.models.functions import Cast
from django.utils import formats, timezone

from leadcrm.accounts.roles import Perm
from leadcrm.shared.csv_export import safe_cell
from leads.addresses import normalize_street, split_inline_unit
from leads.models import Contact, Email, ImportRowIssue, Lead, Phone, Property
from leads.models.leads import ERASED_NOT_WORKABLE
from leads.phones import format_national, parse_phone
from pipeline.models import PrivacyRequest

from .coverage import FILE, Held, held_models, redactions_for

CHUNK = 2000
# An erased lead stays for the records the law keeps and is not worked again
# (docs/privacy.md#an-erased-lead): its page says this, and the edit and merge pages too.
ERASED_BANNER = ("This lead's homeowner details were erased on {date} at their request (privacy request "
                 "#{number}). It stays for the records the law keeps; it cannot be contacted.")
ERASED_NOT_EDITABLE = ERASED_NOT_WORKABLE  # the pages say what the services refuse
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


NAME_ONLY = ("Name only — a different house and no shared phone or email: check it is the same person "
             "before including it.")
NAME_ONLY_ALONE = ("Name only — nothing but the name was searched for: check it is the same person (ask for "
                   "the house's address) before including it.")


@dataclass
class MatchedLead:
    lead: Lead
    reasons: list[str] = field(default_factory=list)
    # Matched by the name alone: a namesake at another house is as likely as the person, so
    # the lead starts unticked and says so (docs/privacy.md#how-to-answer-a-request).
    name_only: str = ""

    @property
    def ticked(self) -> bool:
        return not self.name_only


@dataclass
class Matches:
    leads: list[MatchedLead]
    contacts: list[Contact]
    phones: list[Phone]
    emails: list[Email]

    @property
    def lead_ids(self) -> list[int]:
        return [match.lead.pk for match in self.leads]

    @property
    def ticked_ids(self) -> list[int]:
        return [match.lead.pk for match in self.leads if match.ticked]


def _name_query(name: str) -> Q:
    words = name.split(" ")
    query = Q(last_name__iexact=name) | Q(company_name__iexact=name)
    if len(words) >= 2:
        query |= Q(first_name__iexact=" ".join(words[:-1]), last_name__iexact=words[-1])
    return query


def _shared_with(name_ids: set[int], strong_ids: set[int]) -> dict[int, str]:
    """Of the leads found by name, those sharing a phone, an email or the house with a lead
    found by a phone, email or street: the same person, said why. Three queries."""
    if not name_ids or not strong_ids:
        return {}
    shared: dict[int, str] = {}
    points = {}
    for kind, model, column in (("phone", Phone, "number"), ("email", Email, "address")):
        for lead_id, value in model.objects.filter(contact__lead__in=name_ids | strong_ids).values_list(
                "contact__lead_id", column):
            points.setdefault((kind, value.lower()), set()).add(lead_id)
    for (kind, value), lead_ids in sorted(points.items()):
        for lead_id in sorted(lead_ids & name_ids):
            others = lead_ids & strong_ids - {lead_id}
            if others and lead_id not in shared:
                shown = format_national(value) if kind == "phone" else value
                shared[lead_id] = f"shares the {kind} {shown} with lead {min(others)}"
    houses = {}
    for lead_id, key in Property.objects.filter(lead__in=name_ids | strong_ids).values_list("lead", "address_key"):
        houses.setdefault(key, set()).add(lead_id)
    for lead_ids in houses.values():
        for lead_id in sorted(lead_ids & name_ids):
            others = lead_ids & strong_ids - {lead_id}
            if others and lead_id not in shared:
                shared[lead_id] = f"the same house as lead {min(others)}"
    return shared


def privacy_matches(*, fetched_by, search: PrivacySearch) -> Matches:
    """Every lead, owner, phone and email that matches the homeowner's terms, with why.

    A lead matched only by the name, sharing no phone, email or house with a lead matched
    by one, is marked ``name_only`` and starts unticked: a namesake is somebody else."""
    leads = Lead.objects.visible_to(fetched_by)
    reasons: dict[int, list[str]] = {}
    strong: set[int] = set()
    contact_query = Q(pk__in=[])
    if search.name:
        contact_query |= _name_query(search.name)
    phone_query = Q(number=search.e164) if search.e164 else Q(pk__in=[])
    email_query = Q(address__iexact=search.email) if search.email else Q(pk__in=[])
    contacts = list(Contact.objects.filter(contact_query, lead__in=leads).select_related("lead").order_by(
        "lead_id", "pk"))
    phones = list(Phone.objects.filter(phone_query, contact__lead__in=leads).select_related("contact"))
    emails = list(Email.objects.filter(email_query, contact__lead__in=leads).select_related("contact"))
    for contact in contacts:
        reasons.setdefault(contact.lead_id, []).append(f"owner {contact} has the name")
    for phone in phones:
        strong.add(phone.contact.lead_id)
        reasons.setdefault(phone.contact.lead_id, []).append(f"owner {phone.contact} has the phone {phone.display}")
    for email in emails:
        strong.add(email.contact.lead_id)
        reasons.setdefault(email.contact.lead_id, []).append(f"owner {email.contact} has the email {email.address}")
    if search.street_key:
        houses = Property.objects.filter(address_key__startswith=f"{search.street_key}|", lead__in=leads)
        for house in houses.select_related("lead"):
            strong.add(house.lead.pk)
            reasons.setdefault(house.lead.pk, []).append(f"the house is at {house.street}")
    name_ids = set(reasons) - strong
    shared = _shared_with(name_ids, strong)
    for lead_id, why in shared.items():
        reasons[lead_id].append(why)
    found = leads.filter(Q(pk__in=reasons) | Q(merged_into__in=reasons)).select_related(
        "property", "assigned_agent").order_by("pk")
    matched = []
    for lead in found:
        # The same reason twice (two owner rows of one name on the lead) is said once.
        why = list(dict.fromkeys(reasons.get(lead.pk) or [f"merged into lead {lead.merged_into_id}"]))
        alone = lead.pk in name_ids and lead.pk not in shared
        matched.append(MatchedLead(lead, why, (NAME_ONLY if strong else NAME_ONLY_ALONE) if alone else ""))
    return Matches(leads=matched, contacts=_distinct_owners(contacts), phones=phones, emails=emails)


def _distinct_owners(contacts: list[Contact]) -> list[Contact]:
    """One line per name per lead: a lead holding the owner twice lists them once."""
    seen, distinct = set(), []
    for contact in contacts:
        key = (contact.lead_id, str(contact).lower())
        if key not in seen:
            seen.add(key)
            distinct.append(contact)
    return distinct


def privacy_lead_ids(*, fetched_by, lead_ids) -> list[int]:
    """The chosen leads the broker may see, and every lead merged into them (the same
    person's duplicate, whose rows stayed on it: docs/architecture.md#merging-leads)."""
    chosen = Lead.objects.visible_to(fetched_by, merged=True).filter(pk__in=lead_ids)
    return list(Lead.objects.filter(Q(pk__in=chosen) | Q(merged_into__in=chosen)).order_by("pk")
                .values_list("pk", flat=True))


# A phone written any of the ways lists and messages write one: +1 918 555 0187,
# (918) 555-0187, 918.555.0187, 9185550187. Compared by its ten digits, never in part.
PHONE_IN_TEXT = re.compile(r"(?<!\d)(?:\+?1[\s.-]?)?\(?\d{3}\)?[\s.-]?\d{3}[\s.-]?\d{4}(?!\d)")
EMAIL_IN_TEXT = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# A surname or a company alone names the person in free text only when it is this long:
# "Lee" or "Ray" would otherwise blank every finding mentioning Raleigh or Bradley. A full
# name, a phone and an email name them at any length.
SHORTEST_NAME_ALONE = 5


def _ten_digits(text: str) -> str:
    digits = "".join(ch for ch in text if ch.isdigit())
    return digits[1:] if len(digits) == 11 and digits.startswith("1") else digits


def _words(term: str) -> re.Pattern:
    """The term as whole words, any case, any spacing between its words."""
    return re.compile(r"(?<!\w)" + r"\s+".join(re.escape(word) for word in term.split()) + r"(?!\w)", re.IGNORECASE)


@dataclass
class PersonTerms:
    """What names the person on the chosen leads, for finding them where no key joins:
    a check's findings, an owner's rejected phones, the rows an import rejected."""

    full_names: list[str] = field(default_factory=list)  # "Zenobia Quillfeather", the company
    surnames: list[str] = field(default_factory=list)
    first_names: list[str] = field(default_factory=list)
    phones: set[str] = field(default_factory=set)  # ten digits
    emails: set[str] = field(default_factory=set)  # lower case
    streets: list[str] = field(default_factory=list)  # as stored
    street_keys: set[str] = field(default_factory=set)  # normalize_street's

    def __post_init__(self):
        texts = [*self.full_names, *[name for name in self.surnames if len(name) >= SHORTEST_NAME_ALONE],
                 *self.streets, *self.street_keys]
        self._text_patterns = [_words(term) for term in dict.fromkeys(texts) if term]
        self._surname_patterns = [_words(name) for name in dict.fromkeys([*self.full_names, *self.surnames]) if name]
        self._own_row_patterns = [_words(name) for name in dict.fromkeys(
            [*self.full_names, *self.surnames, *self.first_names, *self.streets, *self.street_keys]) if name]

    def phones_in(self, text: str) -> list[str]:
        found = [_ten_digits(match) for match in PHONE_IN_TEXT.findall(text)]
        return [digits for digits in found + [_ten_digits(text)] if digits in self.phones]

    def emails_in(self, text: str) -> list[str]:
        return [email for email in (match.lower() for match in EMAIL_IN_TEXT.findall(text)) if email in self.emails]

    def names_in(self, text: str) -> bool:
        return any(pattern.search(text) for pattern in self._text_patterns)

    def in_their_own_row(self, text: str) -> bool:
        """In a row already known to be theirs, any of their names, short ones too."""
        return bool(self.phones_in(text) or self.emails_in(text) or self.street_in_row([text])
                    or any(pattern.search(text) for pattern in self._own_row_patterns))

    def street_in_row(self, values: list[str]) -> str:
        for value in values:
            street, _unit = split_inline_unit(value)
            if street and normalize_street(street) in self.street_keys:
                return value
        joined = " | ".join(values)
        return next((street for street in self.streets if _words(street).search(joined)), "")

    def name_in_row(self, values: list[str]) -> str:
        joined = " | ".join(values)
        return next((match.group(0) for pattern in self._surname_patterns if (match := pattern.search(joined))), "")


def person_terms(lead_ids) -> PersonTerms:
    """What names the person on these leads: their owners' names, phones, emails, the street."""
    full_names, surnames, first_names = [], [], []
    for first, last, company in Contact.objects.filter(lead__in=lead_ids).values_list(
            "first_name", "last_name", "company_name"):
        full = f"{first} {last}".strip()
        full_names.extend(value for value in (full if first and last else "", company) if value)
        surnames.extend(value for value in (last,) if value)
        first_names.extend(value for value in (first,) if value)
    phones = {_ten_digits(number) for number in Phone.objects.filter(contact__lead__in=lead_ids).values_list(
        "number", flat=True) if number}
    emails = {address.strip().lower() for address in Email.objects.filter(contact__lead__in=lead_ids).values_list(
        "address", flat=True) if address}
    streets = [street for street in Property.objects.filter(lead__in=lead_ids).values_list("street", flat=True)
               if street]
    keys = {normalize_street(split_inline_unit(street)[0]) for street in streets} - {""}
    return PersonTerms(full_names=full_names, surnames=surnames, first_names=first_names, phones=phones - {""},
                       emails=emails, streets=streets, street_keys=keys)


def names_person(value: str, terms: PersonTerms) -> bool:
    """Whether a string in free JSON names the person: their phone or email exactly, their
    full name, or a surname, company or street of five letters or more, as whole words."""
    return bool(terms.phones_in(value) or terms.emails_in(value) or terms.names_in(value))


def _strings(value) -> list[str]:
    if isinstance(value, dict):
        return [text for item in value.values() for text in _strings(item)]
    if isinstance(value, list):
        return [text for item in value for text in _strings(item)]
    return [str(value)] if value not in (None, "") else []


def import_row_match(row, terms: PersonTerms) -> str:
    """Why a rejected import row is the person's, or "": their phone or their email exactly,
    or their name and their street in the same row. A surname alone, or a street alone (the
    same number and street in another city), is somebody else's."""
    values = _strings(row)
    for value in values:
        if phones := terms.phones_in(value):
            return f"the phone {format_national('+1' + phones[0]) if len(phones[0]) == 10 else phones[0]}"
        if emails := terms.emails_in(value):
            return f"the email {emails[0]}"
    name, street = terms.name_in_row(values), terms.street_in_row(values)
    if name and street:
        return f"the name {name} and the street {street}"
    return ""


def _row_candidates(terms: PersonTerms) -> Q:
    """A cheap first cut in the database, which the row's own check then confirms: no
    matching by a part of a name happens here that is not checked whole afterwards."""
    query = Q(pk__in=[])
    for digits in terms.phones:
        if len(digits) == 10:  # the exchange and the line are never split, however it is written
            query |= Q(row_text__contains=digits[3:6]) & Q(row_text__contains=digits[6:])
    for email in terms.emails:
        query |= Q(row_text__icontains=email)
    numbers = {street.split()[0] for street in terms.streets if street.split()}
    for surname in set(terms.surnames) | set(terms.full_names):
        for number in numbers:
            query |= Q(row_text__icontains=max(surname.split(), key=len)) & Q(row_text__icontains=number)
    return query


def import_rows_naming(terms: PersonTerms) -> dict[int, str]:
    """Rows an import rejected that are the person's, with why: no key joins them to a
    lead (docs/privacy.md#what-is-removed)."""
    candidates = ImportRowIssue.objects.annotate(row_text=Cast("row", TextField())).filter(
        _row_candidates(terms)).order_by("pk").values_list("pk", "job_id", "row_number", "row")
    found = {}
    for pk, job_id, row_number, row in candidates.iterator(chunk_size=CHUNK):
        if why := import_row_match(row, terms):
            found[pk] = f"line {row_number} of import {job_id}: {why}"
    return found


@dataclass(frozen=True)
class HeldRows:
    label: str
    title: str
    held: Held | None
    queryset: object
    # Rows found by matching, not by a key: why each matched, for the broker to check.
    why: tuple[str, ...] = ()


def privacy_held(*, fetched_by, lead_ids) -> list[HeldRows]:
    """Every model's rows held about the person, unevaluated: one query each when read."""
    ids = privacy_lead_ids(fetched_by=fetched_by, lead_ids=lead_ids)
    found = [HeldRows(held.label, _kind_title(held.label), held, held.rows(ids)) for held in held_models()]
    rows = import_rows_naming(person_terms(ids))
    found.append(HeldRows("leads.importrowissue", _kind_title("leads.importrowissue"), None,
                          ImportRowIssue.objects.filter(pk__in=list(rows)).order_by("pk"), tuple(rows.values())))
    return found


def privacy_preview(*, fetched_by, lead_ids) -> list[tuple[str, str, int, list[str], tuple[str, ...]]]:
    """What an erasure would change: (label, title, rows, fields, why) for every model with
    rows; ``why`` says, for rows found by matching rather than by a key, what matched."""
    preview = []
    for held in privacy_held(fetched_by=fetched_by, lead_ids=lead_ids):
        count = held.queryset.count()
        if count:
            # The fields by the names the app shows them under ("mailing street"), not the columns'.
            meta = held.queryset.model._meta
            fields = sorted(dict.fromkeys(str(meta.get_field(name).verbose_name)
                                          for name in redactions_for(held.queryset.model)))
            preview.append((held.label, held.title, count, fields, held.why))
    return preview


@dataclass(frozen=True)
class RequestDone:
    """What a past request did, in words: rows in all, files, and rows per kind of record."""

    rows: int
    files: int
    kinds: list[tuple[str, int]]


def _kind_title(label: str) -> str:
    """``leads.historicalcontact`` -> "Owners' change history": the model's own plural name."""
    if label == "leads.importrowissue":
        return "Import rows that named them"
    try:
        return str(apps.get_model(label)._meta.verbose_name_plural).capitalize()
    except (LookupError, ValueError):
        return label


def privacy_requests(*, fetched_by, limit: int = 50) -> list[PrivacyRequest]:
    """The latest requests, each with ``done``: what it did in words, not model labels."""
    found = list(PrivacyRequest.objects.select_related("handled_by").prefetch_related("actions").order_by(
        "-created_at", "-pk")[:limit])
    for request in found:
        actions = list(request.actions.all())
        kinds = sorted(((_kind_title(action.model), action.rows) for action in actions), key=lambda kind: kind[0])
        request.done = RequestDone(rows=sum(action.rows for action in actions),
                                   files=sum(action.files_removed for action in actions), kinds=kinds)
    return found


def _files_of(held_rows: HeldRows, rows: list[dict]) -> list[str]:
    names = [name for name, value in redactions_for(held_rows.queryset.model).items() if value == FILE]
    return [row[name] for row in rows for name in names if row.get(name)]


# Columns a homeowner cannot read: keys into other tables, the normalised forms the app
# matches on, and the app's own bookkeeping. records.json keeps them all.
UNREADABLE = ("_key", "_hash", "_digest")
# A row's edit counter, and a check's machine record of what it read (its findings say why).
BOOKKEEPING = frozenset({"version", "evidence"})
PHONE_FIELDS = frozenset({"number", "phone_number", "contact_point"})


def _readable(value, field) -> str:
    """One value as a homeowner reads it: choices in words, times in the brokerage's zone,
    phones as dialled, lists and JSON as plain text."""
    if value in (None, "", [], {}):
        return ""
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, datetime.datetime):
        return formats.date_format(timezone.localtime(value) if timezone.is_aware(value) else value,
                                   "DATETIME_FORMAT")
    if isinstance(value, datetime.date):
        return formats.date_format(value, "DATE_FORMAT")
    if isinstance(value, dict):
        return "; ".join(f"{key}: {_readable(item, field)}" for key, item in value.items()
                         if item not in (None, "", [], {}))
    if isinstance(value, list):
        return "; ".join(text for text in (_readable(item, field) for item in value) if text)
    if field.name in PHONE_FIELDS and isinstance(value, str) and value.startswith("+"):
        return format_national(value)
    return str(value)


def _readable_fields(model) -> list:
    return [field for field in model._meta.concrete_fields
            if not (field.primary_key or field.is_relation or field.name == "id"
                    or field.name.endswith(UNREADABLE) or (field.name in BOOKKEEPING and not field.choices
                                                           and field.get_internal_type() != "TextField"))]


def _write_summary(writer, held: HeldRows, rows: list[dict]) -> None:
    """One block per kind of record: its title, a header of the fields' names, then one
    line per record with a reference ("Owner 12") and its readable fields. Columns empty in
    every record are left out."""
    model = held.queryset.model
    fields = [field for field in _readable_fields(model)
              if any(row.get(field.attname) not in (None, "", [], {}) for row in rows)]
    one = str(model._meta.verbose_name).capitalize()
    writer.writerow([f"{held.title} ({len(rows)})"])
    writer.writerow(["Record"] + [str(field.verbose_name).capitalize() for field in fields])
    for row in rows:
        reference = row.get(model._meta.pk.attname)
        writer.writerow([f"{one} {reference}"] + [safe_cell(_readable(row.get(field.attname), field))
                                                   for field in fields])
    writer.writerow([])


def privacy_package(*, fetched_by, lead_ids) -> tuple[bytes, dict[str, int]]:
    """One ZIP of everything held about the person: ``records.json`` (every row, every
    field), ``summary.csv`` (one line per record with its readable fields, for the homeowner) and ``files/``
    (their documents and evidence files). Returns the bytes and the rows per model."""
    buffer = io.BytesIO()
    counts: dict[str, int] = {}
    records: dict[str, list[dict]] = {}
    summary = io.StringIO()
    writer = csv.writer(summary)
    writer.writerow(["Everything we hold about you, one block per kind of record. "
                     "records.json in this download holds the same records with every field."])
    writer.writerow([])
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for held in privacy_held(fetched_by=fetched_by, lead_ids=lead_ids):
            concrete = [field.attname for field in held.queryset.model._meta.concrete_fields]
            rows = list(held.queryset.values(*concrete))
            if not rows:
                continue
            counts[held.label] = len(rows)
            records[held.label] = rows
            _write_summary(writer, held, rows)
            for name in _files_of(held, rows):
                if default_storage.exists(name):
                    with default_storage.open(name, "rb") as stored:
                        archive.writestr(f"files/{name}", stored.read())
        archive.writestr("records.json", json.dumps(
            {"made_at": timezone.now(), "records": records}, cls=DjangoJSONEncoder, indent=1))
        archive.writestr("summary.csv", summary.getvalue())
    return buffer.getvalue(), counts
