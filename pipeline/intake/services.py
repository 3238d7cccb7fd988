"""The seller forms a broker makes, and what a homeowner's post to one does (docs/intake.md).

A post that passes the spam checks (``spam.py``) is added as a lead typed in by hand with
no agent chosen (``leads.intake.lead_create_by_hand``, ``route=True``, adding to the lead
already holding the house), by the form's owner. In the same transaction: the homeowner's
words as a hardship record, the consent they ticked as one consent record and one inquiry
per number (D5, C1), the shared plan the form starts, and the agent told (of a new lead, or
that the homeowner of a lead already held wrote in again). Nothing of it is
written when any part is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from compliance.evidence import relationship_record
from compliance.language import language_hits
from compliance.models import ConsentRecord, RelationshipKind
from leadcrm.accounts.models import Brokerage, User
from leadcrm.accounts.roles import Perm
from leadcrm.accounts.services import automation_user
from leads.intake import Intake, OwnerIn, lead_create_by_hand
from leads.models import Email, HardshipCategory, Lead, LeadType, Phone, PhoneType
from leads.phones import parse_phone
from leads.services import hardship_record_create
from pipeline.models import (
    ActionPlan,
    EnrollmentSource,
    FormSubmission,
    SellerForm,
    SubmissionOutcome,
    seller_form_key_new,
)
from pipeline.plans.services import lead_enroll
from pipeline.reminders.notifications import lead_wrote_in_notify, new_lead_notify

CAME_FROM = "the seller form"
# The homeowner ticked it themselves; the record is written by the system, not by a person.
METHOD = "Web form, a separate box the homeowner ticked: seller form “{name}” (#{pk})"

# The default words: the brokerage named, calls and texts asked for, not a condition of
# anything, how to stop (D5, B4). No autodialer: the words do not ask for it.
DEFAULT_CONSENT = (
    "By ticking this box, I agree that {brokerage} and its agents may call and text me about my home "
    "at the phone numbers I gave above, including my mobile number. Agreeing is not a condition of "
    "any purchase or service. Message and data rates may apply. I can stop at any time by replying "
    "STOP to a text or by telling the agent who calls me."
)
DEFAULT_THANK_YOU = (
    "We have your details. An agent of {brokerage} will contact you soon."
)

BAD_ORIGIN = "{value!r} is not a site's address: write it as https://example.com (no path)."
PROHIBITED = "The {what} cannot say “{text}”: {why} ({rule})."
NO_CONSENT_WORDS = "Write the consent words the homeowner agrees to."
CONSENT_NAMES_NO_STOP = "The consent words must say how to stop (e.g. “reply STOP”) (B4)."
CONSENT_NOT_A_CONDITION = "The consent words must say agreeing is not a condition of any purchase (D5)."
AUTODIALER_NOT_ASKED = ("The words do not ask consent to calls made by an automated system: untick autodialed "
                        "calls, or say so in the words (D5).")
PLAN_NOT_SHARED = "Pick one of the brokerage's shared plans: a plan of an agent's own cannot start on the form's leads."
OWNER_NOT_BROKER = "The form's owner must be a broker (one who manages seller forms)."

NO_PHONE = "Enter your mobile phone number, so an agent can call you back."
NOT_A_NUMBER = "{value!r} is not a US phone number: write it with its area code, e.g. (918) 555-0142."

ORIGIN = re.compile(r"^https?://[a-z0-9.-]+(:\d{1,5})?$", re.IGNORECASE)


def default_consent_text() -> str:
    return DEFAULT_CONSENT.format(brokerage=Brokerage.objects.current().name)


def default_thank_you_text() -> str:
    return DEFAULT_THANK_YOU.format(brokerage=Brokerage.objects.current().name)


def origins_clean(raw: str) -> str:
    """One origin a line, lower-cased, no duplicates; ValidationError naming the bad ones."""
    seen: list[str] = []
    bad = []
    for line in raw.splitlines():
        value = line.strip().rstrip("/")
        if not value:
            continue
        if not ORIGIN.match(value) or urlsplit(value).path:
            bad.append(BAD_ORIGIN.format(value=line.strip()))
        elif value.lower() not in seen:
            seen.append(value.lower())
    if bad:
        raise ValidationError({"allowed_origins": bad})
    return "\n".join(seen)


def _words_errors(*, consent_text: str, thank_you_text: str, covers_autodialer: bool) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for name, what, text in (("consent_text", "consent words", consent_text),
                             ("thank_you_text", "thank-you words", thank_you_text)):
        for hit in language_hits(text):
            errors.setdefault(name, []).append(PROHIBITED.format(what=what, text=hit.text, why=hit.why, rule=hit.rule))
    words = consent_text.lower()
    if not consent_text.strip():
        errors.setdefault("consent_text", []).append(NO_CONSENT_WORDS)
    else:
        if "stop" not in words:
            errors.setdefault("consent_text", []).append(CONSENT_NAMES_NO_STOP)
        if "not a condition" not in words:
            errors.setdefault("consent_text", []).append(CONSENT_NOT_A_CONDITION)
        if covers_autodialer and "automat" not in words:
            errors.setdefault("consent_covers_autodialer", []).append(AUTODIALER_NOT_ASKED)
    return errors


@transaction.atomic
def seller_form_save(*, actor: User, form: SellerForm | None = None, name: str, consent_text: str,
                     thank_you_text: str, allowed_origins: str = "", plan: ActionPlan | None = None,
                     source: str = "", consent_covers_autodialer: bool = False, is_active: bool = True) -> SellerForm:
    """Make a form (``form`` None; its owner the actor) or change one; every refusal at once."""
    errors = _words_errors(consent_text=consent_text, thank_you_text=thank_you_text,
                           covers_autodialer=consent_covers_autodialer)
    try:
        allowed_origins = origins_clean(allowed_origins)
    except ValidationError as error:
        errors.update(error.message_dict)
    if plan is not None and not plan.is_shared:
        errors["plan"] = [PLAN_NOT_SHARED]
    owner = form.owner if form is not None else actor
    if not owner.has_perm(Perm.MANAGE_SELLER_FORMS):
        errors["owner"] = [OWNER_NOT_BROKER]
    if errors:
        raise ValidationError(errors)
    form = form or SellerForm(owner=actor)
    form.name = " ".join(name.split())
    form.consent_text = consent_text.strip()
    form.thank_you_text = thank_you_text.strip()
    form.allowed_origins = allowed_origins
    form.plan = plan
    form.source = source or form.source
    form.consent_covers_autodialer = consent_covers_autodialer
    form.is_active = is_active
    form.full_clean()
    form.save()
    return form


def seller_form_rotate_key(*, form: SellerForm, now: datetime | None = None) -> SellerForm:
    """A new key: the old address and embed code are a 404 from now on."""
    form.key = seller_form_key_new()
    form.key_rotated_at = now or timezone.now()
    form.full_clean()
    form.save(update_fields=["key", "key_rotated_at", "updated_at"])
    return form


# A homeowner's post --------------------------------------------------------------------------


@dataclass
class Sent:
    """What the homeowner typed, as the public form read it (trimmed, not yet checked)."""

    first_name: str
    last_name: str
    street: str
    unit: str = ""
    city: str = ""
    state: str = ""
    zip_code: str = ""
    phones: list[str] = field(default_factory=list)
    email: str = ""
    hardship: str = ""
    behind: str = ""  # the label of the choice picked
    best_time: str = ""
    consented: bool = False


@dataclass
class Where:
    """Where the post came from: the consent's proof (docs/intake.md#consent)."""

    address: str
    address_hash: str
    user_agent: str
    page_url: str


def submission_log(*, form: SellerForm, outcome: str, where: Where, invalid_fields: list[str] | None = None,
                   at: datetime | None = None) -> FormSubmission:
    """A post that added nothing: its outcome, and no personal data."""
    return FormSubmission.objects.create(
        form=form, outcome=outcome, address_hash=where.address_hash, received_at=at or timezone.now(),
        invalid_fields=",".join(invalid_fields or [])[:200])


def _phones_check(raw_phones: list[str]) -> list[str]:
    """The numbers in E.164, or ValidationError by field (the first bad one named)."""
    numbers, errors = [], []
    for raw in raw_phones:
        if not raw.strip():
            continue
        parsed = parse_phone(raw)
        if not parsed.ok:
            errors.append(NOT_A_NUMBER.format(value=raw.strip()))
        elif parsed.e164 not in numbers:
            numbers.append(parsed.e164)
    if errors:
        raise ValidationError({"phones": errors})
    if not numbers:
        raise ValidationError({"phones": [NO_PHONE]})
    return numbers


def _also_on(numbers: list[str], email: str) -> set[int]:
    """Leads holding one of these numbers or the email address: the same homeowner elsewhere."""
    leads = set(Phone.objects.filter(number__in=numbers).values_list("contact__lead_id", flat=True))
    if email:
        leads |= set(Email.objects.filter(address__iexact=email).values_list("contact__lead_id", flat=True))
    return leads


def _narrative(sent: Sent) -> str:
    lines = [sent.hardship.strip()] if sent.hardship.strip() else []
    if sent.behind:
        lines.append(f"Payments: {sent.behind}.")
    if sent.best_time:
        lines.append(f"Best time to call: {sent.best_time}.")
    lines.append(f"Sent through {CAME_FROM}.")
    return "\n".join(lines)


def _mobile_mark(lead: Lead, sent: Sent) -> None:
    """The number typed as the mobile one is a mobile (texts and the rules on them need to know);
    a type already known on the lead is left as it is."""
    mobile = parse_phone(sent.phones[0]) if sent.phones and sent.phones[0].strip() else None
    if mobile is None or not mobile.ok:
        return
    for phone in Phone.objects.filter(contact__lead=lead, number=mobile.e164, phone_type=PhoneType.UNKNOWN):
        phone.phone_type = PhoneType.MOBILE
        phone.save(update_fields=["phone_type"])


def _consent_write(*, form: SellerForm, lead: Lead, numbers: list[str], where: Where, at: datetime,
                   submission: FormSubmission) -> None:
    """One consent record (D5) and one inquiry (C1) per number given, with the form's exact words."""
    proof = (f"Seller form submission #{submission.pk}, box ticked by the homeowner.\n"
             f"Page: {where.page_url[:500]}\nAddress: {where.address}\nBrowser: {where.user_agent[:300]}")
    for number in numbers:
        record = ConsentRecord(
            lead=lead, phone_number=number, obtained_at=at, covers_sms=True,
            covers_autodialer=form.consent_covers_autodialer, covers_prerecorded=False,
            method=METHOD.format(name=form.name, pk=form.pk)[:120], consent_text=form.consent_text,
            proof_note=proof, recorded_by=automation_user())
        record.full_clean()
        record.save()
        relationship_record(
            lead=lead, phone_number=number, kind=RelationshipKind.INQUIRY, started_on=timezone.localdate(at),
            evidence=f"The homeowner asked to be contacted through seller form “{form.name}” "
                     f"(submission #{submission.pk}) and ticked its consent box.",
            recorded_by=automation_user())


@transaction.atomic
def form_submission_accept(*, form: SellerForm, sent: Sent, where: Where, at: datetime | None = None
                           ) -> FormSubmission:
    """Add the homeowner's lead (or add them to the lead holding the house), all or nothing.

    Raises ``ValidationError`` by field (the address, the phones ...), nothing written.
    """
    at = at or timezone.now()
    numbers = _phones_check(sent.phones)
    email = sent.email.strip()
    # The numbers as typed: each phone keeps the homeowner's own writing beside its E.164 form.
    typed = [raw.strip() for raw in sent.phones if raw.strip()]
    intake = Intake(street=sent.street, unit=sent.unit, city=sent.city, state=sent.state, zip_code=sent.zip_code,
                    owners=[OwnerIn(first_name=sent.first_name.strip(), last_name=sent.last_name.strip())],
                    phones=typed, emails=[email] if email else [], source=form.source, add_to_existing=True,
                    lead_type=LeadType.INBOUND)  # the homeowner reached out
    before = _also_on(numbers, email)
    added = lead_create_by_hand(actor=form.owner, intake=intake, route=True)
    lead = added.lead
    submission = FormSubmission.objects.create(
        form=form, received_at=at, address_hash=where.address_hash, lead=lead, consented=sent.consented,
        outcome=SubmissionOutcome.CREATED if added.created else SubmissionOutcome.MATCHED,
        also_on_leads=sorted(before - {lead.pk}))
    hardship_record_create(lead=lead, category=HardshipCategory.OTHER, narrative=_narrative(sent))
    _mobile_mark(lead, sent)
    if sent.consented:
        _consent_write(form=form, lead=lead, numbers=numbers, where=where, at=at, submission=submission)
    if added.created and form.plan_id and form.plan.deleted_at is None:
        try:
            lead_enroll(lead=lead, plan=form.plan, actor=form.owner, source=EnrollmentSource.SELLER_FORM, at=at)
        except ValidationError as error:  # the lead stands; the form's page says why the plan did not start
            submission.plan_refusal = " ".join(error.messages)[:300]
            submission.save(update_fields=["plan_refusal"])
    lead.refresh_from_db()
    if added.created:
        new_lead_notify(lead, came_from=CAME_FROM, at=at)
    else:  # a house already held: its homeowner wrote in again, the warmest of leads
        lead_wrote_in_notify(lead, came_from=CAME_FROM, key=f"lead_wrote_in:form:{submission.pk}", at=at)
    return submission
