"""Reads of deals, scoped by who is looking: the board, a lead's deal at a glance."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Prefetch, Sum
from django.utils import timezone

from leadcrm.accounts.models import User
from leads.models import FUNNEL_STAGES, OUTCOME_STAGES, Contact, Lead, Stage

# Kanban board --------------------------------------------------------------------------

BOARD_CARDS_PER_STAGE = 30


BOARD_FILTERS = ("assigned_agent", "team", "lead_type", "list")


@dataclass
class BoardColumn:
    stage: Stage
    count: int
    value: int
    cards: list[Lead]

    @property
    def more(self) -> int:
        return max(self.count - len(self.cards), 0)


def pipeline_board(*, fetched_by: User, filters: dict | None = None) -> tuple[list[BoardColumn], dict, object]:
    """The funnel as columns: counts and value per stage, the top cards of each by score.

    Nine queries whatever the number of leads: the totals per stage; per stage the ids
    of its top cards (``ORDER BY score LIMIT``, which the stage-and-score index answers
    without sorting a million rows); the cards; their homeowners; their approvals' expiry.
    Returns the columns, the closed and dead totals, and the filter (for its form).
    """
    from compliance.lead_filters import LeadFilter

    data = {key: value for key, value in (filters or {}).items() if key in BOARD_FILTERS}
    lead_filter = LeadFilter({**data, "status": "all"}, queryset=Lead.objects.visible_to(fetched_by),
                             user=fetched_by)
    leads = lead_filter.qs.order_by()
    totals = {
        row["stage"]: row
        for row in leads.values("stage").annotate(count=Count("pk"), value=Sum("property__estimated_value"))
    }
    top_ids = [
        pk
        for stage in FUNNEL_STAGES
        for pk in leads.filter(stage=stage).order_by("-score", "-pk").values_list("pk", flat=True)[:BOARD_CARDS_PER_STAGE]
    ]
    ranked = (
        Lead.objects.filter(pk__in=top_ids)
        .select_related("property", "assigned_agent")
        .prefetch_related(Prefetch("contacts", queryset=Contact.objects.order_by("position", "pk")))
        .order_by("-score", "-pk")
    )
    cards: dict[str, list[Lead]] = {stage: [] for stage in FUNNEL_STAGES}
    ranked = list(ranked)
    expiries = _approval_expiries([lead.pk for lead in ranked if lead.stage in (Stage.NEGOTIATE, Stage.CLOSE)])
    for lead in ranked:
        lead.approval_expires_on = expiries.get(lead.pk)
        cards[lead.stage].append(lead)
    columns = [
        BoardColumn(
            stage=stage,
            count=totals.get(stage, {}).get("count", 0),
            value=int(totals.get(stage, {}).get("value") or 0),
            cards=cards[stage],
        )
        for stage in FUNNEL_STAGES
    ]
    outcomes = {stage: totals.get(stage, {}).get("count", 0) for stage in OUTCOME_STAGES}
    return columns, outcomes, lead_filter


def _approval_expiries(lead_ids: list[int]) -> dict[int, object]:
    """Per lead, the soonest expiry among its liens' newest approval letters (one query)."""
    from pipeline.models import ApprovalLetter

    if not lead_ids:
        return {}
    newest: dict[int, tuple] = {}
    letters = (
        ApprovalLetter.objects.filter(lender_file__lead__in=lead_ids)
        .order_by("-issued_on", "-pk")
        .values_list("lender_file__lead_id", "lender_file__lien_id", "expires_on")
    )
    for lead_id, lien_id, expires_on in letters:
        newest.setdefault(lien_id, (lead_id, expires_on))
    soonest: dict[int, object] = {}
    for lead_id, expires_on in newest.values():
        if lead_id not in soonest or expires_on < soonest[lead_id]:
            soonest[lead_id] = expires_on
    return soonest


# The deal at a glance (the lead page) --------------------------------------------------


@dataclass(frozen=True)
class DealSummary:
    liens: int
    approved: int  # liens whose newest approval letter has not expired
    documents_to_get: int
    offers: int
    accepted_offer: object | None
    forecast: object | None


def deal_summary(*, lead: Lead) -> DealSummary:
    from pipeline.models import Offer, OfferStatus

    from .documents import package_checklist
    from .forecast.lead import forecast_for
    from .lenders import latest_letters

    today = timezone.localdate()
    letters = latest_letters(lead=lead)
    offers = list(Offer.objects.filter(lead=lead).only("pk", "status", "price", "buyer_name", "lead_id"))
    return DealSummary(
        liens=lead.liens.count(),
        approved=sum(1 for letter in letters.values() if letter.is_valid_on(today)),
        documents_to_get=sum(1 for row in package_checklist(lead=lead, today=today) if row.needs_action),
        offers=len(offers),
        accepted_offer=next((o for o in offers if o.status == OfferStatus.ACCEPTED), None),
        forecast=forecast_for(lead, today=today),
    )
