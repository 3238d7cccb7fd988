"""Writes of the compliance app, and the one outreach gate.

``outreach_check`` is called by ``pipeline.services.outreach_log`` (the only code that
creates an ``OutreachAttempt``) in the same transaction. Every call leaves a
``ComplianceCheck`` row, allowed or not; ``mode=PREVIEW`` is for verdicts shown before
anything is logged.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from leadcrm.accounts.models import Brokerage, User
from leads.models import Contact, Email, Lead, Phone
from leads.phones import parse_phone
from leads.services import contact_set_do_not_mail

from .gate import Attempt, Finding, evaluate
from .models import (
    Channel,
    CheckMode,
    ComplianceCheck,
    DncNumber,
    DncSource,
    InternalDncEntry,
    Purpose,
    Verdict,
)

NEEDS_CONTACT_POINT = "A do-not-contact entry needs a phone number, an email or a postal address."
NOT_THIS_LEAD = "That number or address does not belong to this lead's owners."
UNPARSEABLE_NUMBER = "Registry line {line}: {error}"


@dataclass(frozen=True)
class Decision:
    """The gate's answer: a verdict, why, and what it looked at."""

    verdict: Verdict
    findings: tuple[Finding, ...]
    evidence: dict
    check: ComplianceCheck

    @property
    def allowed(self) -> bool:
        return self.verdict != Verdict.BLOCK

    @property
    def rule_ids(self) -> list[str]:
        return sorted({finding.rule for finding in self.findings})

    @property
    def reasons(self) -> list[str]:
        return [finding.reason for finding in self.findings]

    def findings_with(self, severity: Verdict) -> list[Finding]:
        return [finding for finding in self.findings if finding.severity == severity]


def outreach_check(
    *,
    lead: Lead,
    contact_point,
    channel: Channel | str,
    purpose: Purpose | str,
    actor: User,
    at: datetime | None = None,
    role_disclosed: bool = False,
    message: str = "",
    mode: CheckMode = CheckMode.LOG,
) -> Decision:
    """Decide whether ``actor`` may contact ``contact_point`` of ``lead`` now, and record it.

    ``contact_point`` is a ``Phone`` (or a number as typed) for calls and texts, an
    ``Email`` for email, a ``Contact`` for mail and the ``Property`` for a door knock.
    """
    at = at or timezone.now()
    attempt = Attempt(
        lead=lead,
        channel=Channel(channel),
        purpose=Purpose(purpose),
        actor=actor,
        at=at,
        role_disclosed=role_disclosed,
        brokerage=Brokerage.objects.current(),
        contact_point=contact_point,
        message=message,
    )
    verdict, findings = evaluate(attempt)
    evidence = {**attempt.evidence, "checked_at": at.isoformat(), "mode": str(mode)}
    check = ComplianceCheck(
        checked_at=at,
        actor=actor,
        lead=lead,
        channel=attempt.channel,
        purpose=attempt.purpose,
        contact_point=attempt.contact_point_text[:200],
        mode=mode,
        verdict=verdict,
        rule_ids=sorted({finding.rule for finding in findings}),
        findings=[finding.as_dict() for finding in findings],
        evidence=evidence,
    )
    check.full_clean()
    check.save()
    return Decision(verdict=verdict, findings=tuple(findings), evidence=evidence, check=check)


@transaction.atomic
def internal_dnc_add(
    *,
    channel: Channel | str,
    homeowner_words: str,
    recorded_by: User,
    phone_number: str = "",
    email: str = "",
    postal_address: str = "",
    lead: Lead | None = None,
    requested_at: datetime | None = None,
) -> InternalDncEntry:
    """Put one number, email or postal address on the internal list; it applies at once (B1).

    Never expires and is never deleted (B2): a second request adds a second entry.
    """
    if phone_number:
        parsed = parse_phone(phone_number)
        if not parsed.ok:
            raise ValidationError({"phone_number": parsed.error})
        phone_number = parsed.e164
    if not (phone_number or email or postal_address):
        raise ValidationError(NEEDS_CONTACT_POINT)
    entry = InternalDncEntry(
        phone_number=phone_number,
        email=email.strip().lower(),
        postal_address=postal_address,
        channel=channel,
        homeowner_words=homeowner_words,
        recorded_by=recorded_by,
        lead=lead,
        requested_at=requested_at or timezone.now(),
    )
    entry.full_clean()
    entry.save()
    return entry


@transaction.atomic
def stop_request_record(
    *,
    lead: Lead,
    channel: Channel | str,
    contact_point,
    homeowner_words: str,
    recorded_by: User,
    at: datetime | None = None,
) -> list[InternalDncEntry]:
    """A homeowner asked us to stop: suppress what they asked about, for everyone, at once.

    Never gated: a request to stop is honoured even when the attempt it came in on was
    refused (B1, B4). On the phone it covers that number; by email that address; by mail
    that mailing address (and the owner is marked Do Not Mail); said at the door it covers
    the door, and every number, email and mailing address of the lead's owners.
    """
    channel = Channel(channel)
    phones: list[str] = []
    emails: list[str] = []
    addresses: list[str] = []
    owner = contact_point.contact if isinstance(contact_point, Phone | Email) else contact_point
    if isinstance(owner, Contact) and owner.lead_id != lead.pk:
        raise ValidationError(NOT_THIS_LEAD)
    if isinstance(contact_point, Phone):
        phones.append(contact_point.number)
    elif isinstance(contact_point, Email):
        emails.append(contact_point.address)
    elif isinstance(contact_point, Contact):
        addresses.append(contact_point.mailing_address_key())
        contact_set_do_not_mail(contact=contact_point)
    elif channel == Channel.DOOR:
        contacts = list(lead.contacts.prefetch_related("phones", "emails"))
        phones = [phone.number for contact in contacts for phone in contact.phones.all()]
        emails = [email.address for contact in contacts for email in contact.emails.all()]
        addresses = [lead.property.address_key] + [c.mailing_address_key() for c in contacts]
        for contact in contacts:
            contact_set_do_not_mail(contact=contact)
    elif isinstance(contact_point, str) and channel == Channel.EMAIL:
        emails.append(contact_point)
    elif isinstance(contact_point, str):
        phones.append(contact_point)  # internal_dnc_add parses it, or says why it cannot
    if not (phones or emails or any(addresses)):
        raise ValidationError(NEEDS_CONTACT_POINT)

    common = {"channel": channel, "homeowner_words": homeowner_words, "recorded_by": recorded_by,
              "lead": lead, "requested_at": at}
    entries = [internal_dnc_add(phone_number=number, **common) for number in dict.fromkeys(phones)]
    entries += [internal_dnc_add(email=address, **common) for address in dict.fromkeys(emails)]
    entries += [internal_dnc_add(postal_address=key, **common) for key in dict.fromkeys(addresses) if key]
    return entries


@transaction.atomic
def dnc_numbers_add(
    *, source: DncSource, numbers: Iterable[str], as_of: date, added_on: date | None = None
) -> int:
    """Add numbers to a registry; all or nothing. Returns how many were new.

    A small, exact loader for hand-kept lists and demo data; FTC file loads at scale
    come with the registry issue.
    """
    rows, errors = [], []
    for line, raw in enumerate(numbers, start=1):
        # FTC flat files write "NPA,NXXXXXX" or ten digits (A2).
        parsed = parse_phone(raw.replace(",", ""))
        if not parsed.ok:
            errors.append(UNPARSEABLE_NUMBER.format(line=line, error=parsed.error))
            continue
        rows.append(
            DncNumber(source=source, number=parsed.e164, area_code=parsed.e164[2:5], added_on=added_on)
        )
    if errors:
        raise ValidationError(errors)
    before = source.numbers.count()
    DncNumber.objects.bulk_create(rows, ignore_conflicts=True, batch_size=5000)
    if source.data_as_of is None or as_of > source.data_as_of:
        source.data_as_of = as_of
        source.save(update_fields=["data_as_of"])
    return source.numbers.count() - before
