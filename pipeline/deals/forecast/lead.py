"""One lead's forecast: its chance of closing, the range of days most of that chance falls
in, and what it comes from (the lead and deal pages, the seller's status page)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.utils import timezone

from leads.models import FUNNEL_STAGES, Lead, Stage

from .durations import StageDurations, is_running_late, stage_durations
from .model import ClosingModel, kept_closing_model

# The share of a lead's chance its forecast range holds (from the 10th to the 90th
# percentile of its closing day).
RANGE_SHARE = 0.8
# No range shown is narrower than this many days: a closing date is never that certain.
MIN_RANGE_DAYS = 7


@dataclass(frozen=True)
class Forecast:
    earliest: date
    latest: date
    days_in_stage: int
    running_late: bool
    slow_days: int
    source: str
    # The chance this lead closes at all; earliest to latest holds about RANGE_SHARE of it.
    chance: float = 0.0
    # The starting assumption, not the brokerage's own leads, decides it (``source`` says why).
    assumed: bool = False

    @property
    def percent(self) -> int:
        return round(100 * self.chance)


# Below this a lead's chance shows as 0 %: no forecast is shown.
MIN_CHANCE = 0.005


def forecast_for(lead: Lead, *, durations: StageDurations | None = None, model: ClosingModel | None = None,
                 today: date | None = None) -> Forecast | None:
    """The chance an open lead closes, and the range of days most of that chance falls in.

    None for a lead not in the funnel, or one so long in its stage that its chance rounds
    to nothing. The range is never narrower than MIN_RANGE_DAYS: where the 10th and the
    90th percentile of its closing day are closer, it is widened around them."""
    if lead.stage not in FUNNEL_STAGES:
        return None
    durations = durations or stage_durations()
    model = model or kept_closing_model()
    if model is None:  # a large brokerage's model is being learned by the worker
        return None
    today = today or timezone.localdate()
    stage = Stage(lead.stage)
    days_in = max((today - timezone.localdate(lead.stage_entered_at)).days, 0)
    chance = model.chance(stage, days_in)
    if chance < MIN_CHANCE:
        return None
    tail = (1 - RANGE_SHARE) / 2
    earliest = model.day_by_which(stage, days_in, tail)
    latest = model.day_by_which(stage, days_in, 1 - tail)
    if latest - earliest < MIN_RANGE_DAYS:
        earliest = max(earliest - (MIN_RANGE_DAYS - (latest - earliest)) // 2, 0)
        latest = earliest + MIN_RANGE_DAYS
    source, assumed = _source(model, stage, days_in)
    return Forecast(
        earliest=today + timedelta(days=earliest),
        latest=today + timedelta(days=latest),
        days_in_stage=days_in,
        running_late=is_running_late(stage, days_in, durations),
        slow_days=durations.slow(stage),
        source=source,
        chance=chance,
        assumed=assumed,
    )


TYPICAL_TIMELINES = "typical short-sale timelines (60-180 days from the lender package)"


def _source(model: ClosingModel, stage: Stage, days_in: int) -> tuple[str, bool]:
    """What one lead's forecast comes from, in words a seller reads too, and whether it is
    the starting assumption rather than the brokerage's own leads."""
    learned = model.moves_learned_from
    thin = model.thin_stage(stage, days_in)
    if thin is None:
        return f"the brokerage's own track record ({learned:,} moves from one stage to the next or out)", False
    if not learned:
        return TYPICAL_TIMELINES, True
    if thin == stage and days_in:
        why = f"few of the brokerage's leads have stayed in {thin.label.lower()} this long"
    else:
        why = f"few of the brokerage's leads have been through {thin.label.lower()} yet"
    return f"typical short-sale timelines, an assumption: {why}", True
