"""The motivation score: how likely a homeowner is to need a short sale now, 0 to 100.

A pure function of the lead's facts, so it can be computed in bulk and explained:
every point comes with a reason the agent reads next to the score.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.utils import timezone

from .financials import Financials
from .models import LeadType

LEAD_TYPE_POINTS = {
    LeadType.AUCTION: (30, "Auction scheduled"),
    LeadType.INBOUND: (25, "Homeowner reached out"),
    LeadType.LIS_PENDENS: (22, "Lis pendens filed"),
    LeadType.NOD: (20, "Notice of default recorded"),
    LeadType.REFERRAL: (15, "Referred"),
    LeadType.PROBATE: (12, "Probate"),
    LeadType.TAX_DELINQUENT: (12, "Taxes delinquent"),
    LeadType.ABSENTEE: (6, "Absentee owner"),
}
UNDERWATER_POINTS = 25
HIGH_LTV_POINTS = 12
HIGH_LTV_PERCENT = 85
HARDSHIP_POINTS = 15
STACKED_LIST_POINTS = 5
STACKED_LIST_MAX = 15
NEVER_CONTACTED_POINTS = 5
GONE_QUIET_POINTS = 8
GONE_QUIET_DAYS = 30
JUST_CONTACTED_PENALTY = 10
JUST_CONTACTED_DAYS = 2
# An auction on the calendar: the nearer, the more the homeowner needs a plan now.
AUCTION_SOON_DAYS, AUCTION_SOON_POINTS = 30, 20
AUCTION_AHEAD_DAYS, AUCTION_AHEAD_POINTS = 90, 10


@dataclass(frozen=True)
class LeadFacts:
    lead_type: str
    estimated_value: Decimal | None
    lien_total: Decimal
    selling_cost_rate: Decimal
    has_hardship: bool
    list_count: int
    last_contacted_at: datetime | None
    next_auction: date | None = None  # the nearest auction date not yet past


@dataclass(frozen=True)
class Score:
    value: int
    reasons: list[str]


def _money(amount: Decimal) -> str:
    return f"${amount:,.0f}"


def motivation_score(facts: LeadFacts, *, now: datetime) -> Score:
    points = 0
    reasons: list[str] = []

    def add(amount: int, reason: str) -> None:
        nonlocal points
        points += amount
        reasons.append(f"{'+' if amount >= 0 else '−'}{abs(amount)} {reason}")

    type_points = LEAD_TYPE_POINTS.get(facts.lead_type)
    if type_points:
        add(*type_points)

    money = Financials(facts.estimated_value, facts.lien_total, facts.selling_cost_rate)
    if money.is_short_sale_candidate:
        add(UNDERWATER_POINTS, f"underwater: a sale would fall {_money(money.shortfall)} short")
    elif money.ltv_percent is not None and money.ltv_percent >= HIGH_LTV_PERCENT:
        add(HIGH_LTV_POINTS, f"little equity: {money.ltv_percent:.0f}% loan-to-value")

    if facts.next_auction is not None:
        days = (facts.next_auction - timezone.localdate(now)).days
        if 0 <= days <= AUCTION_SOON_DAYS:
            add(AUCTION_SOON_POINTS, f"auction in {days} day{'s' if days != 1 else ''}")
        elif 0 <= days <= AUCTION_AHEAD_DAYS:
            add(AUCTION_AHEAD_POINTS, f"auction in {days} days")

    if facts.has_hardship:
        add(HARDSHIP_POINTS, "hardship on record")

    if facts.list_count > 1:
        extra = min((facts.list_count - 1) * STACKED_LIST_POINTS, STACKED_LIST_MAX)
        add(extra, f"on {facts.list_count} lists")

    if facts.last_contacted_at is None:
        add(NEVER_CONTACTED_POINTS, "never contacted")
    else:
        days = (now - facts.last_contacted_at).days
        if days >= GONE_QUIET_DAYS:
            add(GONE_QUIET_POINTS, f"no contact for {days} days")
        elif days < JUST_CONTACTED_DAYS:
            add(-JUST_CONTACTED_PENALTY, "contacted in the last 2 days")

    return Score(value=max(0, min(100, points)), reasons=reasons)
