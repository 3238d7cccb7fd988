"""Fees the brokerage charges a homeowner, and the homeowner's acceptance of a lender's offer.

A fee is recorded first (what will be charged, for what); it is asked for (due) and then
paid only once the advance-fee rule allows it (docs/compliance-rules.md#f4): after the
homeowner accepted a lender's written offer, unless the licensee stay (F2) covers the
service. Recording, marking due, paying and waiving are the only writes.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Min
from django.utils import timezone

from compliance.transactions import fee_allowed
from leadcrm.accounts.models import User
from leads.models import Lead
from pipeline.models import ApprovalLetter, Fee, FeeService, FeeStatus

FEE_TOO_EARLY_WHAT_TO_DO = (
    "Record the day the homeowner accepted the lender's written offer (the approval letters below) first."
)
FEE_NOT_RECORDED = "Only a fee that is recorded, not yet asked for, can be marked due; this one is {status}."
FEE_NOT_DUE = "Only a fee that is due can be marked paid; this one is {status}."
FEE_CLOSED = "This fee is already {status}: nothing more can be done with it."
FEE_DUE_BEFORE_RECORDED = "A fee is due on or after the day it was recorded ({day:%b %-d, %Y})."
FEE_PAID_IN_FUTURE = "A fee is paid on or before today; record the payment once it arrives."
FEE_NO_AGENT = "Assign the lead to an agent first: whether a fee may be asked depends on who provides the service."
ACCEPTANCE_IN_FUTURE = "The homeowner accepted the lender's offer on or before now; record it once they have."
ACCEPTANCE_BEFORE_LETTER = "The homeowner cannot accept a letter before the lender issued it ({day:%b %-d, %Y})."
ACCEPTANCE_ALREADY = "The homeowner's acceptance of this letter is already on file ({at:%b %-d, %Y})."


def lender_offer_accepted_at(*, lead: Lead) -> datetime | None:
    """When the homeowner first accepted one of the lenders' written offers on this lead."""
    return (ApprovalLetter.objects.filter(lender_file__lead=lead, homeowner_accepted_at__isnull=False)
            .aggregate(first=Min("homeowner_accepted_at"))["first"])


def fee_check(*, fee: Fee, at: datetime) -> None:
    """F4 for this fee: raises ``ComplianceRefusal`` when it may not be asked for at ``at``.

    The licensee stay (F2) turns on who provides the service, the lead's agent, not on
    who clicks (a team lead may mark an agent's fee due).
    """
    provider = fee.lead.assigned_agent
    if provider is None:
        raise ValidationError(FEE_NO_AGENT)
    fee_allowed(actor=provider, service=fee.service, lender_offer_accepted_at=lender_offer_accepted_at(lead=fee.lead),
                at=at)


@transaction.atomic
def fee_record(*, lead: Lead, actor: User | None, service: FeeService | str, amount: Decimal,
               description: str = "") -> Fee:
    """Write down a fee to be charged; asking for it (marking it due) comes later, under F4."""
    fee = Fee(lead=lead, service=service, amount=amount, description=description, recorded_by=actor)
    fee.full_clean()
    fee.save()
    return fee


def _locked(fee: Fee) -> Fee:
    return Fee.objects.select_for_update(of=("self",)).select_related("lead__assigned_agent").get(pk=fee.pk)


@transaction.atomic
def fee_mark_due(*, fee: Fee, actor: User | None, due_on: date, at: datetime | None = None) -> Fee:
    """Ask the homeowner for the fee: refused (F4) before they accepted a lender's written offer."""
    at = at or timezone.now()
    fee = _locked(fee)
    if fee.status != FeeStatus.RECORDED:
        raise ValidationError(FEE_NOT_RECORDED.format(status=fee.get_status_display().lower()))
    recorded_on = timezone.localdate(fee.created_at)
    if due_on < recorded_on:
        raise ValidationError({"due_on": FEE_DUE_BEFORE_RECORDED.format(day=recorded_on)})
    fee_check(fee=fee, at=at)
    fee.status, fee.due_on = FeeStatus.DUE, due_on
    fee.full_clean()
    fee.save(update_fields=["status", "due_on", "updated_at"])
    return fee


@transaction.atomic
def fee_mark_paid(*, fee: Fee, actor: User | None, paid_on: date, at: datetime | None = None) -> Fee:
    """Record the homeowner's payment; the rule is checked again (an acceptance may have been
    struck out since the fee was marked due)."""
    at = at or timezone.now()
    fee = _locked(fee)
    if fee.status != FeeStatus.DUE:
        raise ValidationError(FEE_NOT_DUE.format(status=fee.get_status_display().lower()))
    if paid_on > timezone.localdate(at):
        raise ValidationError({"paid_on": FEE_PAID_IN_FUTURE})
    # Money taken on a day before the acceptance was taken too early, whenever it is typed in.
    end_of_paid_day = timezone.make_aware(datetime.combine(paid_on + timedelta(days=1), time(0)))
    fee_check(fee=fee, at=min(at, end_of_paid_day))
    fee.status, fee.paid_on = FeeStatus.PAID, paid_on
    fee.full_clean()
    fee.save(update_fields=["status", "paid_on", "updated_at"])
    return fee


@transaction.atomic
def fee_waive(*, fee: Fee, actor: User | None) -> Fee:
    """Charge nothing after all; a paid fee stays paid (a refund is not a waiver)."""
    fee = _locked(fee)
    if fee.status in (FeeStatus.PAID, FeeStatus.WAIVED):
        raise ValidationError(FEE_CLOSED.format(status=fee.get_status_display().lower()))
    fee.status = FeeStatus.WAIVED
    fee.full_clean()
    fee.save(update_fields=["status", "updated_at"])
    return fee


@transaction.atomic
def approval_letter_homeowner_accept(*, letter: ApprovalLetter, accepted_at: datetime,
                                     actor: User | None, now: datetime | None = None) -> ApprovalLetter:
    """Record when the homeowner accepted a lender's written offer (the date F4 waits for)."""
    now = now or timezone.now()
    letter = ApprovalLetter.objects.select_for_update().get(pk=letter.pk)
    if letter.homeowner_accepted_at is not None:
        raise ValidationError(ACCEPTANCE_ALREADY.format(at=timezone.localtime(letter.homeowner_accepted_at)))
    if accepted_at > now:
        raise ValidationError({"accepted_at": ACCEPTANCE_IN_FUTURE})
    if timezone.localdate(accepted_at) < letter.issued_on:
        raise ValidationError({"accepted_at": ACCEPTANCE_BEFORE_LETTER.format(day=letter.issued_on)})
    letter.homeowner_accepted_at = accepted_at
    letter.full_clean()
    letter.save(update_fields=["homeowner_accepted_at"])
    return letter
