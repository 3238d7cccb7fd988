"""Writes of the compliance app, and the one outreach gate.

``outreach_check`` is called by ``pipeline.services.outreach_log`` (the only code that
creates an ``OutreachAttempt``) in the same transaction, and by the live verdict on the
outreach form. Every call leaves a ``ComplianceCheck`` row, allowed or not.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from leadcrm.accounts.models import Brokerage, User
from leads.models import Lead
from leads.phones import parse_phone

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

NEEDS_PHONE_OR_EMAIL = "An internal do-not-contact entry needs a phone number or an email address."
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
    lead: Lead | None = None,
    requested_at: datetime | None = None,
) -> InternalDncEntry:
    """Put a number or address on the internal list; it applies at once to everyone (B1).

    Never expires and is never deleted (B2): a second request adds a second entry.
    """
    if phone_number:
        parsed = parse_phone(phone_number)
        if not parsed.ok:
            raise ValidationError({"phone_number": parsed.error})
        phone_number = parsed.e164
    if not phone_number and not email:
        raise ValidationError(NEEDS_PHONE_OR_EMAIL)
    entry = InternalDncEntry(
        phone_number=phone_number,
        email=email.strip().lower(),
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
