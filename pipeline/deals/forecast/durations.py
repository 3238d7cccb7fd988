"""How long the brokerage's leads stay in each stage: the median and 80th percentile of
the days its recent closings spent there, or the typical short-sale timelines until it has
closings; and whether a lead is running late (the board, the deal pages)."""

from __future__ import annotations

from dataclasses import dataclass
from statistics import median

from django.core.cache import cache

from leads.models import FUNNEL_STAGES, Lead, Stage
from pipeline.models import StageChange

# stage -> (typical days, slow days). Negotiate plus close is 90-165 days, inside the
# 60 to 180 days a short sale usually takes from the lender package to closing.
REFERENCE_STAGE_DAYS: dict[Stage, tuple[int, int]] = {
    Stage.LIST: (14, 30),
    Stage.CONTACT: (14, 30),
    Stage.QUALIFY: (14, 30),
    Stage.NEGOTIATE: (60, 120),
    Stage.CLOSE: (30, 45),
}
# The brokerage's figures replace the reference for a stage once this many closed leads
# passed through it.
MIN_CLOSINGS = 5
CACHE_KEY = "pipeline:stage-durations:v1"
CACHE_SECONDS = 3600
# The closings learned from: the most recent, so a year-old slump fades out.
RECENT_CLOSINGS = 2000


@dataclass(frozen=True)
class StageDurations:
    days: dict[Stage, tuple[int, int]]
    closings: int  # how many closed leads the figures come from (0: the reference)

    def typical(self, stage: Stage) -> int:
        return self.days[stage][0]

    def slow(self, stage: Stage) -> int:
        return self.days[stage][1]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    position = (len(ordered) - 1) * share
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def learn_stage_durations() -> StageDurations:
    """Median and 80th percentile of days per stage among the most recent closings."""
    closed = (
        Lead.objects.filter(stage=Stage.CLOSED, closing_date__isnull=False)
        .order_by("-closing_date").values_list("pk", flat=True)[:RECENT_CLOSINGS]
    )
    changes = (
        StageChange.objects.filter(lead__in=list(closed))
        .order_by("lead_id", "changed_at", "pk").values_list("lead_id", "from_stage", "to_stage", "changed_at")
    )
    # stage -> lead -> days spent there in all (a lead sent back and forth counts once).
    spent: dict[Stage, dict[int, float]] = {stage: {} for stage in FUNNEL_STAGES}
    previous = None
    closings = set()
    for lead_id, _from_stage, to_stage, changed_at in changes:
        if previous and previous[0] == lead_id and previous[1] in spent:
            per_lead = spent[previous[1]]
            per_lead[lead_id] = per_lead.get(lead_id, 0) + (changed_at - previous[2]).total_seconds() / 86400
        previous = (lead_id, to_stage, changed_at)
        if to_stage == Stage.CLOSED:
            closings.add(lead_id)
    days = dict(REFERENCE_STAGE_DAYS)
    for stage, per_lead in spent.items():
        values = list(per_lead.values())
        if len(values) >= MIN_CLOSINGS:
            days[stage] = (round(median(values)), max(round(percentile(values, 0.8)), 1))
    learned = any(len(per_lead) >= MIN_CLOSINGS for per_lead in spent.values())
    return StageDurations(days=days, closings=len(closings) if learned else 0)


def stage_durations() -> StageDurations:
    durations = cache.get(CACHE_KEY)
    if durations is None:
        durations = learn_stage_durations()
        cache.set(CACHE_KEY, durations, CACHE_SECONDS)
    return durations


def is_running_late(stage: Stage, days_in_stage: int, durations: StageDurations) -> bool:
    """Longer in the stage than the slow figure. A lead still on the list is waiting on
    outreach, not on a deal's clock, so it is never late."""
    return stage in FUNNEL_STAGES and stage != Stage.LIST and days_in_stage > durations.slow(stage)
