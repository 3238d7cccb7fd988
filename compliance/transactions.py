"""Rules for money and contracts, called by the pipeline's offers, fees and stage moves.

Fees before the lender's written offer is accepted (F2, F4), a principal's written
interest disclosure before any offer (F8), and California's equity-purchase
cancellation deadline (F7). Each raises ``ComplianceRefusal`` with its rule ID.
"""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime, time, timedelta

from django.core.exceptions import ValidationError

from leadcrm.accounts.models import Capacity, LicenseStatus, User
from leads.models import Lead

from . import rules
from .calendars import ca_cancellation_holidays
from .models import InterestDisclosure
from .rulebook import rulebook


class ComplianceRefusal(ValidationError):
    def __init__(self, rule: rules.Rule, reason: str):
        self.rule = rule
        super().__init__(f"{rule.id}: {reason}", code=rule.id)


class Service:
    SHORT_SALE_LISTING = "short_sale_listing"
    LOAN_MODIFICATION = "loan_modification"


FEE_TOO_EARLY = (
    "No fee may be asked for or taken before the homeowner accepts the lender's written offer "
    "(Regulation O advance-fee ban)."
)
OFFER_NEEDS_DISCLOSURE = (
    "{name} is a licensee buying for themselves: a written disclosure of the licence and the interest "
    "must be on file before any offer or contract."
)


def licensee_stay_applies(*, actor: User, service: str) -> bool:
    """F2: Regulation O's fee and disclosure rules stay for a licensee in good standing
    who assists a short sale in the course of selling the home; not for loan modifications."""
    return (
        actor.license_status == LicenseStatus.ACTIVE
        and actor.capacity == Capacity.SELLER_AGENT
        and service == Service.SHORT_SALE_LISTING
    )


def fee_allowed(*, actor: User, service: str, lender_offer_accepted_at: datetime | None, at: datetime) -> None:
    """F4: refuse a fee before the lender's written offer is accepted, unless F2 applies."""
    if licensee_stay_applies(actor=actor, service=service):
        return
    if lender_offer_accepted_at is None or lender_offer_accepted_at > at:
        raise ComplianceRefusal(rules.ADVANCE_FEE, FEE_TOO_EARLY)


def principal_offer_allowed(*, actor: User, lead: Lead, on: date) -> None:
    """F8: a licensee acting as principal needs a written interest disclosure before an offer."""
    if actor.capacity != Capacity.PRINCIPAL or not actor.is_licensee:
        return
    # A disclosure a broker revoked (entered by mistake, not signed) is not on file.
    if not InterestDisclosure.objects.not_revoked().filter(
            lead=lead, principal=actor, disclosed_on__lte=on).exists():
        raise ComplianceRefusal(
            rules.PRINCIPAL_DISCLOSURE, OFFER_NEEDS_DISCLOSURE.format(name=actor.get_full_name() or actor)
        )


CALIFORNIA = zoneinfo.ZoneInfo("America/Los_Angeles")


def _ca_calendar(state: str, year: int) -> dict[date, str]:
    return ca_cancellation_holidays(year)


def ca_equity_purchase_cancel_until(*, signed_at: datetime, foreclosure_sale_on: date | None = None) -> datetime:
    """When a California equity seller's right to cancel ends (Civ. Code 1695.4, F7).

    Midnight at the end of the fifth business day after signing, or 08:00 on the day of
    the foreclosure sale, whichever comes first. Business days exclude Sundays and the
    holidays Civ. Code 1695.1 names (``compliance.calendars``); Saturdays count.
    """
    book = rulebook()
    day, counted = signed_at.astimezone(CALIFORNIA).date(), 0
    # The statute's numbers as rule parameters in force on the signing day, so counsel can
    # tighten them without a release.
    business_days = int(book.parameter("F7", "business_days", day))
    cutoff = time(int(book.parameter("F7", "sale_day_cutoff_hour", day)))
    while counted < business_days:
        day += timedelta(days=1)
        # The statute's own holidays, with the brokerage's changes for CA (NoCalendar: refused).
        if day.weekday() != 6 and book.holiday("CA", day, calendar=_ca_calendar) is None:
            counted += 1
    deadline = datetime.combine(day + timedelta(days=1), time(0), tzinfo=CALIFORNIA)
    if foreclosure_sale_on is not None:
        deadline = min(deadline, datetime.combine(foreclosure_sale_on, cutoff, tzinfo=CALIFORNIA))
    return deadline
