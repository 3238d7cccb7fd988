"""Editing a lead's record by hand: the house's facts, its owners, their phones and emails,
the hardship, liens and pre-foreclosure filings, from the lead page or the API.

Every edit here:

- carries the row's ``version`` as the editor saw it, and is refused (``StaleEdit``) when
  someone saved the row since, so nobody overwrites a change they never saw;
- is kept in the row's history (django-simple-history) with who made it; the first edit
  of a row an import wrote (imports keep no history) first records the row as it was, so
  its old values are never lost (docs/architecture.md#history);
- refuses money out of range (``MONEY_MAX``) with the limit in the message;
- tells compliance when a number is new or changed (``leads.signals.phones_changed``), so
  its Do-Not-Call flag is right before the page shows it.

Who may edit is who may see the lead: the views and the API look rows up through
``visible_to``; these functions trust the rows they are given.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Max, ProtectedError, Q
from django.utils import timezone

from leadcrm.accounts.models import User

from .models import (
    Contact,
    ContactSource,
    Email,
    EmailStatus,
    ForeclosureRecord,
    HardshipRecord,
    Lead,
    Lien,
    Phone,
    PhoneStatus,
    PhoneType,
    Property,
)
from .phones import format_national, parse_phone
from .services import (
    HISTORY_BASELINE,
    hardship_record_create,
    history_baseline,
    lead_rescore,
    lien_create,
    lien_delete,
    lien_update,
)
from .signals import phones_changed

MONEY_MAX = Decimal("100000000")
MONEY_TOO_LARGE = "At most $100,000,000: enter the amount in dollars."
MONEY_NEGATIVE = "Cannot be negative."
STALE_EDIT = ("Someone else saved this since you opened it, so nothing was saved. "
              "Reload to see their change, then make yours again.")
LAST_OWNER = "A lead keeps at least one owner: add the right one before removing this one."
OWNER_CALLED = ("This owner's numbers are in the outreach log, which keeps them: mark the numbers "
                "wrong party instead of removing the owner.")
REASON_NEEDED = "Say why; the reason is kept in the lead's history."
PHONE_ON_FILE = "This number is already on file for this owner."
EMAIL_ON_FILE = "This email address is already on file for this owner."
EMAIL_INVALID = "Enter an email address such as name@example.com."
BASELINE = HISTORY_BASELINE

PROPERTY_EDITABLE = ("property_type", "bedrooms", "bathrooms", "building_sqft", "year_built",
                     "estimated_value", "estimated_value_date", "owner_occupied", "vacant")
CONTACT_EDITABLE = ("first_name", "last_name", "company_name", "mailing_care_of", "mailing_street",
                    "mailing_unit", "mailing_city", "mailing_state", "mailing_zip", "deceased", "do_not_mail")
PHONE_EDITABLE = ("phone_type", "status", "source")
EMAIL_EDITABLE = ("status", "source")
HARDSHIP_EDITABLE = ("category", "narrative", "started_on", "letter_received_on")
FORECLOSURE_EDITABLE = ("record_type", "recording_date", "lender", "document_number", "unpaid_balance",
                        "default_amount", "auction_date", "auction_location", "opening_bid", "trustee")
MONEY_FIELDS = ("estimated_value", "balance", "monthly_payment", "arrears", "unpaid_balance",
                "default_amount", "opening_bid")


class StaleEdit(ValidationError):
    """The row changed since the editor opened it (a 409 in the API)."""

    def __init__(self):
        super().__init__(STALE_EDIT, code="stale")


# The machinery every edit shares ---------------------------------------------------------


def check_money(values: dict) -> None:
    """Refuse a negative amount or one over ``MONEY_MAX``, naming each field."""
    errors = {}
    for name in MONEY_FIELDS:
        value = values.get(name)
        if value is None:
            continue
        if value < 0:
            errors[name] = MONEY_NEGATIVE
        elif value > MONEY_MAX:
            errors[name] = MONEY_TOO_LARGE
    if errors:
        raise ValidationError(errors)


# Only a privacy erasure marks a number or an address erased (pipeline/privacy): by hand it
# would tell the page "on our do-not-contact list" of a number that is not.
ERASED_BY_HAND = "Only a privacy erasure marks a number or an address erased: mark it bad or wrong party instead."


def _leads_of(row: models.Model):
    if isinstance(row, Lead):
        return Lead.objects.filter(pk=row.pk)
    if isinstance(row, Property):
        return Lead.objects.filter(property_id=row.pk)
    if isinstance(row, Phone | Email):
        return Lead.objects.filter(contacts=row.contact_id)
    return Lead.objects.filter(pk=row.lead_id)


def _refuse_erased(row: models.Model) -> None:
    """No edit reaches a row of an erased lead, whichever row it starts from (the pages
    hide the buttons; the API and any later caller meet this)."""
    erased = _leads_of(row).filter(erased_at__isnull=False).first()
    if erased is not None:
        erased.refuse_if_erased()


def _touch_lead(row: models.Model) -> None:
    """A change to any row of a lead's record moves the lead's ``updated_at``, so a client
    syncing leads by change (``?updated_since=``) reads the lead again and sees a corrected
    phone without walking every owner's numbers (docs/architecture.md#api-sync). One
    UPDATE of the lead per edit, in the edit's transaction."""
    _leads_of(row).update(updated_at=timezone.now())


def _locked(row: models.Model, version: int | None):
    """The row as stored, locked until the end of the transaction; refused if its version
    is no longer the one the editor saw (``None``: the caller holds no version), or if it
    belongs to an erased lead."""
    _refuse_erased(row)
    current = type(row)._default_manager.select_for_update().get(pk=row.pk)
    if version is not None and current.version != int(version):
        raise StaleEdit()
    return current


def _save_changes(row: models.Model, *, actor: User | None, changes: dict, editable) -> list[str]:
    """Apply ``changes`` to a locked row, validate and save the fields that differ (and the
    version); returns their names. Nothing changed: nothing saved."""
    unknown = set(changes) - set(editable)
    if unknown:
        raise TypeError(f"Not editable on {type(row).__name__}: {', '.join(sorted(unknown))}")
    check_money(changes)
    changed = [name for name, value in changes.items() if getattr(row, name) != value]
    if not changed:
        return []
    history_baseline(row)
    for name in changed:
        setattr(row, name, changes[name])
    row.version += 1
    row.full_clean()
    row._history_user = actor
    auto_now = [f.name for f in row._meta.concrete_fields if getattr(f, "auto_now", False)]
    row.save(update_fields=[*changed, "version", *auto_now])
    _touch_lead(row)
    return changed


def _delete(row: models.Model, *, actor: User | None, reason: str) -> None:
    _refuse_erased(row)
    history_baseline(row)
    row._history_user = actor
    row._change_reason = reason
    _touch_lead(row)
    row.delete()


def _create(row: models.Model, *, actor: User | None) -> models.Model:
    _refuse_erased(row)
    row.full_clean()
    row._history_user = actor
    row.save()
    _touch_lead(row)
    return row


def _phones_changed(phones) -> None:
    phones_changed.send(sender=Phone, phones=Phone.objects.filter(pk__in=[phone.pk for phone in phones]))


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": REASON_NEEDED})
    return reason[:100]


# The house ------------------------------------------------------------------------------------


@transaction.atomic
def property_facts_update(*, property: Property, actor: User | None, version: int | None, **changes) -> Property:
    """Beds, baths, size, year, type, occupancy and the estimated value with its date."""
    row = _locked(property, version)
    changed = _save_changes(row, actor=actor, changes=changes, editable=PROPERTY_EDITABLE)
    if "estimated_value" in changed:
        lead = Lead.objects.filter(property=row).first()
        if lead is not None:  # the value moves equity and the score
            lead_rescore(lead=lead)
    return row


# Owners ---------------------------------------------------------------------------------------


@transaction.atomic
def owner_add(*, lead: Lead, actor: User | None, **fields) -> Contact:
    """A co-owner, heir or company the homeowner named; listed after the others."""
    unknown = set(fields) - set(CONTACT_EDITABLE)
    if unknown:
        raise TypeError(f"Not editable on an owner: {', '.join(sorted(unknown))}")
    last = Contact.objects.filter(lead=lead).aggregate(last=Max("position"))["last"] or 0
    return _create(Contact(lead=lead, position=last + 1, **fields), actor=actor)


@transaction.atomic
def owner_update(*, contact: Contact, actor: User | None, version: int | None, **changes) -> Contact:
    row = _locked(contact, version)
    _save_changes(row, actor=actor, changes=changes, editable=CONTACT_EDITABLE)
    return row


@transaction.atomic
def owner_remove(*, contact: Contact, actor: User | None, version: int | None, reason: str) -> None:
    """Remove an owner (and their phones and emails), keeping why in the history. The last
    owner stays: a lead nobody owns cannot be worked."""
    reason = _reason(reason)
    row = _locked(contact, version)
    if not Contact.objects.filter(lead_id=row.lead_id).exclude(pk=row.pk).exists():
        raise ValidationError(LAST_OWNER)
    # One by one rather than by the cascade, so each row's history names who and why.
    try:
        for child in [*row.phones.all(), *row.emails.all()]:
            _delete(child, actor=actor, reason=reason)
        _delete(row, actor=actor, reason=reason)
    except ProtectedError:
        raise ValidationError(OWNER_CALLED) from None


# Phones and emails ----------------------------------------------------------------------------


def _parsed_number(raw: str) -> str:
    parsed = parse_phone(raw or "")
    if not parsed.ok:
        raise ValidationError({"number": parsed.error})
    return parsed.e164


@transaction.atomic
def phone_add_by_hand(*, contact: Contact, actor: User | None, number: str, phone_type: str = PhoneType.UNKNOWN,
                      source: str = ContactSource.HOMEOWNER) -> Phone:
    """A number written any way; refused with the reason when it cannot be read or is on
    file already. Checked against the registries at once."""
    e164 = _parsed_number(number)
    if contact.phones.filter(number=e164).exists():
        raise ValidationError({"number": PHONE_ON_FILE})
    last = contact.phones.aggregate(last=Max("position"))["last"] or 0
    phone = _create(Phone(contact=contact, number=e164, raw=number.strip()[:40], phone_type=phone_type,
                          source=source, position=last + 1), actor=actor)
    _phones_changed([phone])
    phone.refresh_from_db(fields=["on_dnc_list", "dnc_flagged_at"])
    return phone


@transaction.atomic
def phone_update(*, phone: Phone, actor: User | None, version: int | None, number: str | None = None,
                 **changes) -> Phone:
    """Correct the number, its type, where it came from, or mark it wrong party or bad."""
    if changes.get("status") == PhoneStatus.ERASED:
        raise ValidationError({"status": ERASED_BY_HAND})
    row = _locked(phone, version)
    if number is not None:
        e164 = _parsed_number(number)
        if e164 != row.number:
            if Phone.objects.filter(contact_id=row.contact_id, number=e164).exists():
                raise ValidationError({"number": PHONE_ON_FILE})
            changes.update(number=e164, raw=number.strip()[:40])
    changed = _save_changes(row, actor=actor, changes=changes, editable=(*PHONE_EDITABLE, "number", "raw"))
    if "number" in changed:
        _phones_changed([row])
        row.refresh_from_db(fields=["on_dnc_list", "dnc_flagged_at"])
    return row


def _make_first(row, *, actor: User | None, siblings: models.QuerySet) -> None:
    """Position 1 for ``row``; the rows before it move down one (their versions too, so an
    edit opened on one of them is told). Each move is saved with its history, under the
    actor: otherwise the next person to edit a moved row would be shown as having moved it."""
    if row.position == 1:
        return
    moved = siblings.filter(position__lt=row.position).exclude(pk=row.pk).order_by("-position")
    for sibling in moved.select_for_update():
        _save_changes(sibling, actor=actor, changes={"position": sibling.position + 1}, editable=("position",))
    _save_changes(row, actor=actor, changes={"position": 1}, editable=("position",))


@transaction.atomic
def phone_make_primary(*, phone: Phone, actor: User | None, version: int | None) -> Phone:
    row = _locked(phone, version)
    _make_first(row, actor=actor, siblings=Phone.objects.filter(contact_id=row.contact_id))
    return row


def _clean_address(address: str) -> str:
    address = (address or "").strip().lower()
    try:
        Email._meta.get_field("address").run_validators(address)
    except ValidationError:
        raise ValidationError({"address": EMAIL_INVALID}) from None
    if not address:
        raise ValidationError({"address": EMAIL_INVALID})
    return address


@transaction.atomic
def email_add_by_hand(*, contact: Contact, actor: User | None, address: str,
                      source: str = ContactSource.HOMEOWNER) -> Email:
    address = _clean_address(address)
    if contact.emails.filter(address=address).exists():
        raise ValidationError({"address": EMAIL_ON_FILE})
    last = contact.emails.aggregate(last=Max("position"))["last"] or 0
    return _create(Email(contact=contact, address=address, source=source, position=last + 1), actor=actor)


@transaction.atomic
def email_update(*, email: Email, actor: User | None, version: int | None, address: str | None = None,
                 **changes) -> Email:
    """Correct the address, or mark it bounced."""
    if changes.get("status") == EmailStatus.ERASED:
        raise ValidationError({"status": ERASED_BY_HAND})
    row = _locked(email, version)
    if address is not None:
        address = _clean_address(address)
        if address != row.address:
            if Email.objects.filter(contact_id=row.contact_id, address=address).exists():
                raise ValidationError({"address": EMAIL_ON_FILE})
            changes["address"] = address
    _save_changes(row, actor=actor, changes=changes, editable=(*EMAIL_EDITABLE, "address"))
    return row


@transaction.atomic
def email_make_primary(*, email: Email, actor: User | None, version: int | None) -> Email:
    row = _locked(email, version)
    _make_first(row, actor=actor, siblings=Email.objects.filter(contact_id=row.contact_id))
    return row


# Hardship -------------------------------------------------------------------------------------


def hardship_add(*, lead: Lead, actor: User | None, category: str, narrative: str = "",
                 started_on: date | None = None, letter_received_on: date | None = None) -> HardshipRecord:
    """Why the homeowner cannot pay, as they told it: what Qualify needs first."""
    _refuse_erased(lead)
    record = hardship_record_create(lead=lead, category=category, narrative=narrative, started_on=started_on,
                                    letter_received_on=letter_received_on, recorded_by=actor)
    _touch_lead(lead)
    return record


@transaction.atomic
def hardship_update(*, hardship: HardshipRecord, actor: User | None, version: int | None,
                    **changes) -> HardshipRecord:
    row = _locked(hardship, version)
    _save_changes(row, actor=actor, changes=changes, editable=HARDSHIP_EDITABLE)
    return row


# Liens and filings ----------------------------------------------------------------------------


def lien_add(*, lead: Lead, actor: User | None, **fields) -> Lien:
    """A lien from the title report or the homeowner; the lead's lien total follows."""
    check_money(fields)
    _refuse_erased(lead)
    lien = lien_create(lead=lead, actor=actor, **fields)
    _touch_lead(lead)
    return lien


@transaction.atomic
def lien_edit(*, lien: Lien, actor: User | None, version: int | None, loan_number: str | None = None,
              **changes) -> Lien:
    row = _locked(lien, version)
    check_money(changes)
    changes = {name: value for name, value in changes.items() if getattr(row, name) != value}
    if not changes and loan_number is None:
        return row
    history_baseline(row)
    _touch_lead(row)
    return lien_update(lien=row, actor=actor, loan_number=loan_number, **changes)


@transaction.atomic
def lien_remove(*, lien: Lien, actor: User | None, version: int | None, reason: str) -> None:
    reason = _reason(reason)
    row = _locked(lien, version)
    history_baseline(row)
    _touch_lead(row)
    lien_delete(lien=row, actor=actor, reason=reason)


@transaction.atomic
def foreclosure_add(*, lead: Lead, actor: User | None, **fields) -> ForeclosureRecord:
    """A notice of default, lis pendens or trustee's sale; an auction date moves the score."""
    unknown = set(fields) - set(FORECLOSURE_EDITABLE)
    if unknown:
        raise TypeError(f"Not editable on a filing: {', '.join(sorted(unknown))}")
    check_money(fields)
    record = _create(ForeclosureRecord(lead=lead, **fields), actor=actor)
    lead_rescore(lead=lead)
    return record


@transaction.atomic
def foreclosure_update(*, record: ForeclosureRecord, actor: User | None, version: int | None,
                       **changes) -> ForeclosureRecord:
    row = _locked(record, version)
    changed = _save_changes(row, actor=actor, changes=changes, editable=FORECLOSURE_EDITABLE)
    if "auction_date" in changed:
        lead_rescore(lead=row.lead)
    return row


@transaction.atomic
def foreclosure_remove(*, record: ForeclosureRecord, actor: User | None, version: int | None,
                       reason: str) -> None:
    reason = _reason(reason)
    row = _locked(record, version)
    lead = row.lead
    _delete(row, actor=actor, reason=reason)
    lead_rescore(lead=lead)


# Reading the history back: what the lead's timeline shows --------------------------------------


@dataclass(frozen=True)
class FieldChange:
    label: str
    old: str
    new: str


@dataclass(frozen=True)
class RecordChange:
    """One save of a row of the lead's record, as a sentence for the timeline."""

    at: datetime
    actor: object  # the User, or None when the system saved it
    sentence: str
    changes: tuple[FieldChange, ...] = ()
    reason: str = ""


# Kept with every save but not what a person changed.
NOT_SHOWN = {"id", "version", "created_at", "updated_at", "raw", "lead", "contact", "recorded_by",
             "loan_number_masked_before"}
HISTORY_WINDOW = 400  # rows per kind read for one timeline: a lead is edited by hand, not by machines


def _shown(value, field) -> str:
    if value is None or value == "":
        return "blank"
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal) and field.name in MONEY_FIELDS:
        return f"${value:,.2f}".replace(".00", "")
    if isinstance(value, date):
        return f"{value:%b} {value.day}, {value.year}"
    if field.name == "number":
        return format_national(value)
    return str(value)


def _subject(record) -> str:
    model = record.instance_type
    if model is Property:
        return "the property"
    if model is Contact:
        return f"Owner {record.position}"
    if model is Phone:
        return f"the number {format_national(record.number)}"
    if model is Email:
        return f"the email {record.address}"
    if model is HardshipRecord:
        return f"the hardship ({record.get_category_display()})"
    if model is Lien:
        return f"the {({1: '1st', 2: '2nd', 3: '3rd'}).get(record.position, f'{record.position}th')} lien"
    return f"the {record.get_record_type_display().lower()} filing"


def _named(record) -> str:
    """The subject with what identifies it, for an addition or a removal."""
    if record.instance_type is Contact:
        return f"{_subject(record)}, {Contact.name_from(record.first_name, record.last_name, record.company_name)}"
    if record.instance_type is Lien and record.lender:
        return f"{_subject(record)} ({record.lender})"
    return _subject(record)


def _possessive(subject: str) -> str:
    return f"{subject}'" if subject.endswith("s") else f"{subject}'s"


def _diff(record, previous) -> tuple[FieldChange, ...]:
    changes = []
    for field in record.instance_type._meta.concrete_fields:
        if field.name in NOT_SHOWN or not hasattr(record, field.attname):
            continue
        old, new = getattr(previous, field.attname), getattr(record, field.attname)
        if old != new:
            label = "loan number" if field.name == "loan_number_masked" else str(field.verbose_name)
            changes.append(FieldChange(label, _shown(old, field), _shown(new, field)))
    return tuple(changes)


def _entry(record, previous) -> RecordChange | None:
    actor, reason = record.history_user, record.history_change_reason or ""
    who = str(actor) if actor else "The system"
    if record.history_type == "+":
        # Rows an import or the system wrote, and baselines, are where the history starts.
        if actor is None or reason == BASELINE:
            return None
        return RecordChange(record.history_date, actor, f"{who} added {_named(record)}")
    if record.history_type == "-":
        return RecordChange(record.history_date, actor, f"{who} removed {_named(record)}", reason=reason)
    if previous is None:
        return None
    changes = _diff(record, previous)
    if not changes:
        return None
    parts = [f"{change.label} from {change.old} to {change.new}" for change in changes]
    listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    subject = _subject(previous if record.instance_type is not Contact else record)
    return RecordChange(record.history_date, actor, f"{who} changed {_possessive(subject)} {listed}",
                        changes=changes, reason=reason)


def _histories(lead: Lead) -> list[models.QuerySet]:
    """The history rows of the lead's record, found by the ``lead_id`` (or the owner's) the
    historical rows carry, so rows moved to this lead by a merge come with their history."""
    owners = (Q(contact_id__in=Contact.history.filter(lead_id=lead.pk).values("id"))
              | Q(contact_id__in=Contact.objects.filter(lead_id=lead.pk).values("id")))
    return [
        Property.history.filter(id=lead.property_id),
        Contact.history.filter(lead_id=lead.pk),
        Phone.history.filter(owners),
        Email.history.filter(owners),
        HardshipRecord.history.filter(lead_id=lead.pk),
        Lien.history.filter(lead_id=lead.pk),
        ForeclosureRecord.history.filter(lead_id=lead.pk),
    ]


def lead_record_changes(*, lead: Lead, limit: int = 100) -> list[RecordChange]:
    """Every save by hand of the lead's record, newest first: one query per kind of row."""
    entries = []
    for history in _histories(lead):
        records = list(history.select_related("history_user").order_by("-history_date", "-history_id")
                       [:HISTORY_WINDOW])
        latest_of: dict[int, object] = {}
        for record in reversed(records):  # oldest first, each against the one before it
            entry = _entry(record, latest_of.get(record.id))
            latest_of[record.id] = record
            if entry is not None:
                entries.append(entry)
    entries.sort(key=lambda entry: entry.at, reverse=True)
    return entries[:limit]
