"""When a lead should close: the stage durations, the brokerage's own once it has closings.

Until the brokerage has closed enough deals, typical and slow durations come from the
reference (DOMAIN 4b: 60-180 days from the lender package to closing). After that, its
own median and 80th percentile of days spent in each stage by the leads that closed. A
forecast is a range, never a promise; a lead in a stage longer than the slow figure is
running late.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from statistics import median

from django.core.cache import cache
from django.utils import timezone

from leads.models import FUNNEL_STAGES, Lead, Stage

from .models import StageChange

# stage -> (typical days, slow days). Negotiate plus close is 90-165 days, inside the
# reference's 60-180 for a short sale from package to closing.
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


def _percentile(values: list[float], share: float) -> float:
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
            days[stage] = (round(median(values)), max(round(_percentile(values, 0.8)), 1))
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


@dataclass(frozen=True)
class Forecast:
    earliest: date
    latest: date
    days_in_stage: int
    running_late: bool
    slow_days: int
    source: str


def forecast_for(lead: Lead, *, durations: StageDurations | None = None, today: date | None = None) -> Forecast | None:
    """The closing date range for an open lead, from where it is and how long it has been there."""
    if lead.stage not in FUNNEL_STAGES:
        return None
    durations = durations or stage_durations()
    today = today or timezone.localdate()
    stage = Stage(lead.stage)
    days_in = max((today - timezone.localdate(lead.stage_entered_at)).days, 0)
    later = FUNNEL_STAGES[FUNNEL_STAGES.index(stage) + 1:]
    # A lead past the typical time in its stage is given a week more, not zero days.
    low = max(durations.typical(stage) - days_in, 7) + sum(durations.typical(s) for s in later)
    high = max(durations.slow(stage) - days_in, 7) + sum(durations.slow(s) for s in later)
    source = (
        f"the brokerage's last {durations.closings} closings" if durations.closings
        else "typical short-sale timelines (60-180 days from the lender package)"
    )
    return Forecast(
        earliest=today + timedelta(days=low),
        latest=today + timedelta(days=max(high, low)),
        days_in_stage=days_in,
        running_late=is_running_late(stage, days_in, durations),
        slow_days=durations.slow(stage),
        source=source,
    )
