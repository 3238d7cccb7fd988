"""The closing model's starting assumption, where the brokerage's own history is thin:
``PRIOR_LEADS`` assumed leads per stage, a share ``PRIOR_MOVE_ON`` of them moving on
around the stage's typical and slow days (``REFERENCE_STAGE_DAYS``), the rest dropping
out later (``assumed_departures``)."""

from __future__ import annotations

from leads.models import Stage

from .durations import REFERENCE_STAGE_DAYS

# The closing model's starting assumption: the chance a lead in each stage moves on to the
# next (from Close: closes). About 3 in 100 listed leads close, 1 in 2 of those listing
# with their lenders. Worth PRIOR_LEADS leads per stage, spread over the days
# (assumed_departures).
PRIOR_MOVE_ON: dict[Stage, float] = {
    Stage.LIST: 0.30,
    Stage.CONTACT: 0.40,
    Stage.QUALIFY: 0.50,
    Stage.NEGOTIATE: 0.60,
    Stage.CLOSE: 0.85,
}
PRIOR_LEADS = 10
# Of the assumed leads that move on: half by the stage's typical days, four in five by its
# slow days (the median and 80th percentile, as StageDurations reads them), the last
# fifth after, fewer each day. Those that drop out take twice as long, so a lead still
# there long after the slow days is ever more likely one that drops out. The last of them
# leave on ASSUMED_SPAN times the slow days.
ASSUMED_BY_TYPICAL = 0.5
ASSUMED_BY_SLOW = 0.8
ASSUMED_DROP_OUT_STRETCH = 2
ASSUMED_SPAN = 5


def add_to_day(into: dict[int, float], day: int, weight: float) -> None:
    into[day] = into.get(day, 0.0) + weight


def _spread(leads: float, typical: int, slow: int, last: int) -> dict[int, float]:
    """``leads`` leaving a stage, by day: ASSUMED_BY_TYPICAL of them evenly over the days
    from half the typical days to the day before them, up to ASSUMED_BY_SLOW evenly from
    the typical days to the day before the slow ones, and the rest from the slow days on,
    each day a 1/(slow - typical) share of those still there; those left on day ``last``
    leave on it."""
    typical = max(typical, 2)
    slow = max(slow, typical + 1)
    days: dict[int, float] = {}
    first = typical // 2
    for day in range(first, typical):
        add_to_day(days, day, leads * ASSUMED_BY_TYPICAL / (typical - first))
    for day in range(typical, slow):
        add_to_day(days, day, leads * (ASSUMED_BY_SLOW - ASSUMED_BY_TYPICAL) / (slow - typical))
    left, rate = leads * (1 - ASSUMED_BY_SLOW), 1 / (slow - typical)
    for day in range(slow, last):
        add_to_day(days, day, left * rate)
        left -= left * rate
    add_to_day(days, last, left)
    return days


def assumed_departures(stage: Stage, leads: float = PRIOR_LEADS) -> tuple[dict[int, float], dict[int, float]]:
    """The starting assumption's ``leads`` for ``stage``, as (moved on, dropped out) by the
    whole days they spent in it: a share PRIOR_MOVE_ON moving on around the stage's
    typical and slow days, the rest dropping out, each of their days doubled."""
    typical, slow = REFERENCE_STAGE_DAYS[stage]
    last = ASSUMED_SPAN * slow
    share = PRIOR_MOVE_ON[stage]
    stretch = ASSUMED_DROP_OUT_STRETCH
    return (_spread(leads * share, typical, slow, last),
            _spread(leads * (1 - share), stretch * typical, stretch * slow, last))
