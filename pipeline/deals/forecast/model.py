"""When, and how likely, an open lead closes: learned from the brokerage's own stage moves.

Two things are learned, both from the stage history (``StageChange``):

* **Stage durations** (``stage_durations``): the median and 80th percentile of days the
  brokerage's recent closings spent in each stage, or the typical short-sale timelines
  until it has closings. They say when a lead is running late (the board, the deal pages).

* **The closing model** (``closing_model``): for each stage, how the leads that were in it
  left it: moved on (to the next stage; from Close, to a closing), dropped out (Dead), or
  are still there, each after how many days. For a lead that has been in its stage for
  ``d`` days, that gives the chance it moves on and on which day, counting only the leads
  that were still there after ``d`` days: a lead that has sat in Negotiate longer than any
  lead that ever moved on is not counted as a closing. The leads still in a stage are
  counted for as long as they have been there and no further, so a young brokerage's open
  deals neither inflate nor deflate the chances (the Aalen-Johansen estimator, the
  Kaplan-Meier estimator's form for two ways out). The stages after the lead's own are
  taken whole, in turn, so a lead's forecast is its chance of closing spread over the
  days ahead; its sum over every day is the chance it closes at all.

Where the history is thin, each stage's figures lean on a starting assumption worth
``PRIOR_LEADS`` leads (``PRIOR_MOVE_ON``, spread over the days around the typical and slow
days of ``REFERENCE_STAGE_DAYS``: ``assumed_departures``); with hundreds of leads through
a stage it hardly counts. Past the brokerage's last real move out of a stage only the
assumption is left, and it says so: the lead's chance fades over weeks (the assumed leads
still there that late are ever more the ones that drop out), its range stays weeks wide,
and its source reads "typical short-sale timelines", not the brokerage's track record.

``forecast_for(lead)`` is one lead's: its chance of closing and the range of days in
which 80 % of that chance falls. The reports' closings per month add the same
distributions up over every open lead, and back-test them: the model learned from what
was known 30, 60 and 90 days ago, asked about the leads open then, against how many of
those leads closed. Days are calendar days in the current zone throughout.
"""

from __future__ import annotations

import bisect
import logging
import zoneinfo
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from itertools import repeat
from operator import add, mul
from statistics import median

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Count, OuterRef, Subquery
from django.utils import timezone

from leads.models import FUNNEL_STAGES, Lead, Stage
from pipeline.models import StageChange

logger = logging.getLogger(__name__)

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
# Leads that left a stage longer ago than this are not learned from.
LEARN_DAYS = 730
# Days ahead a closing is forecast; beyond, the chance is dropped.
FORECAST_HORIZON_DAYS = 3 * 366
# Learning the model walks every stage move of the last LEARN_DAYS and every open lead
# (seconds with a million leads: bench/README.md). So it is learned by the periodic task
# (``forecast_refresh``, every quarter hour) or by the report, and kept; a page about one
# lead reads the kept model and learns one itself only while the brokerage is small
# (LEARN_ON_PAGE_ROWS stage moves and open leads), else asks the worker for a new one.
MODEL_CACHE_KEY = "pipeline:closing-model:v2"
MODEL_FRESH = timedelta(hours=1)  # older than this, the next page or report asks for a new one
MODEL_KEEP_SECONDS = 2 * 24 * 3600  # an older model is not shown at all
LEARN_ON_PAGE_ROWS = 50_000
REFRESH_ASKED_KEY = "pipeline:closing-model:refresh-asked"
REFRESH_ASK_SECONDS = 300  # a page asks the worker at most this often
# The back-tests: the forecast as made this many days ago, for the BACK_TEST_DAYS after.
BACK_TEST_WINDOWS = (30, 60, 90)
BACK_TEST_DAYS = 30
# The share of a lead's chance its forecast range holds (from the 10th to the 90th
# percentile of its closing day).
RANGE_SHARE = 0.8
# No range shown is narrower than this many days: a closing date is never that certain.
MIN_RANGE_DAYS = 7
_NEGLIGIBLE = 1e-9


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


# The closing model ---------------------------------------------------------------------


def _next_stage(stage: Stage) -> Stage:
    index = FUNNEL_STAGES.index(stage)
    return FUNNEL_STAGES[index + 1] if index + 1 < len(FUNNEL_STAGES) else Stage.CLOSED


def _add(into: dict[int, float], day: int, weight: float) -> None:
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
        _add(days, day, leads * ASSUMED_BY_TYPICAL / (typical - first))
    for day in range(typical, slow):
        _add(days, day, leads * (ASSUMED_BY_SLOW - ASSUMED_BY_TYPICAL) / (slow - typical))
    left, rate = leads * (1 - ASSUMED_BY_SLOW), 1 / (slow - typical)
    for day in range(slow, last):
        _add(days, day, left * rate)
        left -= left * rate
    _add(days, last, left)
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


@dataclass(frozen=True)
class StageHistory:
    """How leads left one stage, by the whole days they spent in it: moved on (to the next
    stage; from Close, to a closing), dropped out (to Dead), or still there after that
    many days (still in the stage when learned, or sent back a stage: no outcome yet)."""

    moved_on: dict[int, float] = field(default_factory=dict)
    dropped: dict[int, float] = field(default_factory=dict)
    still_in: dict[int, float] = field(default_factory=dict)

    @property
    def left(self) -> float:
        """How many leads left the stage, either way."""
        return sum(self.moved_on.values()) + sum(self.dropped.values())

    def left_after(self, days_in: int) -> float:
        """How many leads left the stage, either way, after at least ``days_in`` days in it."""
        return (sum(n for day, n in self.moved_on.items() if day >= days_in)
                + sum(n for day, n in self.dropped.items() if day >= days_in))

    def with_prior(self, stage: Stage, leads: float = PRIOR_LEADS) -> StageHistory:
        """The history with the starting assumption's ``leads`` added (``assumed_departures``)."""
        moved_on, dropped = dict(self.moved_on), dict(self.dropped)
        assumed_on, assumed_out = assumed_departures(stage, leads)
        for into, assumed in ((moved_on, assumed_on), (dropped, assumed_out)):
            for day, weight in assumed.items():
                _add(into, day, weight)
        return StageHistory(moved_on=moved_on, dropped=dropped, still_in=dict(self.still_in))

    def curve(self) -> tuple[list[float], list[float]]:
        """``moving_on(0)`` day by day (0 .. the last day known), and the chance of being
        still in the stage at the start of each day: ``moving_on(d)[k]`` is the first at
        ``d + k`` over the second at ``d`` (the estimator's product over the days before
        ``d`` cancels)."""
        moves = {**self.moved_on}
        last = max((*self.moved_on, *self.dropped, *self.still_in), default=-1)
        moves_on, stays = [0.0] * (last + 1), [0.0] * (last + 1)
        at_risk = sum(self.moved_on.values()) + sum(self.dropped.values()) + sum(self.still_in.values())
        staying = 1.0
        for day in range(last + 1):
            stays[day] = staying if at_risk > _NEGLIGIBLE else 0.0
            on, out = moves.get(day, 0), self.dropped.get(day, 0)
            if at_risk > _NEGLIGIBLE and (on or out):
                moves_on[day] = staying * on / at_risk
                staying *= 1 - (on + out) / at_risk
            at_risk -= on + out + self.still_in.get(day, 0)
        return moves_on, stays

    def moving_on(self, days_in: int = 0) -> dict[int, float]:
        """For a lead that has been in the stage ``days_in`` whole days: the chance it moves
        on ``k`` days from now, for each ``k`` (their sum is the chance it moves on at all).

        Day by day from ``days_in``, among the leads that were still in the stage on that
        day (those that left on it, either way, and those still there after as long): the
        share that moved on, times the chance of having stayed until then."""
        days = sorted(day for day in {*self.moved_on, *self.dropped, *self.still_in} if day >= days_in)
        at_risk = sum(self.moved_on.get(day, 0) + self.dropped.get(day, 0) + self.still_in.get(day, 0)
                      for day in days)
        staying, chances = 1.0, {}
        for day in days:
            if at_risk <= _NEGLIGIBLE:
                break
            on, out = self.moved_on.get(day, 0), self.dropped.get(day, 0)
            if on:
                chances[day - days_in] = staying * on / at_risk
            staying *= 1 - (on + out) / at_risk
            at_risk -= on + out + self.still_in.get(day, 0)
        return chances


def _convolve(first: dict[int, float], second: dict[int, float]) -> dict[int, float]:
    """The days of two waits one after the other, and their chances."""
    total: dict[int, float] = {}
    for a, chance_a in first.items():
        for b, chance_b in second.items():
            if a + b <= FORECAST_HORIZON_DAYS:
                _add(total, a + b, chance_a * chance_b)
    return {day: chance for day, chance in total.items() if chance > _NEGLIGIBLE}


@dataclass
class ClosingModel:
    """Each funnel stage's history (the starting assumption included) as of one moment."""

    as_of: datetime
    histories: dict[Stage, StageHistory]
    # The brokerage's own, without the assumption: what the pages say the chances come from.
    own: dict[Stage, StageHistory]
    # Worked out once (``_prepare``), so that a lead's chance within some days costs one
    # product of two lists, summed: per stage, by day in it, the chance a lead entering
    # it moves on that day (``_moves_on``) and has not left it before (``_stays``); and
    # the chance of closing within each number of days (0 .. FORECAST_HORIZON_DAYS) from entering
    # the next stage, backwards (``_within_back``, day FORECAST_HORIZON_DAYS first).
    _moves_on: dict = field(default_factory=dict, repr=False)
    _stays: dict = field(default_factory=dict, repr=False)
    _within_back: dict = field(default_factory=dict, repr=False)

    def _prepare(self) -> ClosingModel:
        within = [1.0] * (FORECAST_HORIZON_DAYS + 1)  # from a closing, closed within any days
        for stage in reversed(FUNNEL_STAGES):
            self._within_back[_next_stage(stage)] = within[::-1]
            moves_on, stays = self._moves_on[stage], self._stays[stage] = self.histories[stage].curve()
            # From entering this stage: moving on on day j, then closing within t - j days.
            entering = [0.0] * (FORECAST_HORIZON_DAYS + 1)
            for day, chance in enumerate(moves_on[:FORECAST_HORIZON_DAYS + 1]):
                if chance > _NEGLIGIBLE:
                    entering[day:] = map(add, entering[day:], map(mul, within, repeat(chance, FORECAST_HORIZON_DAYS + 1 - day)))
            within = entering
        return self

    def closes_within(self, stage: Stage, days_in: int, days: int) -> float:
        """The chance a lead ``days_in`` days into ``stage`` closes within ``days`` days from
        now (today being day 0, ``days`` itself included): for each day ``j`` from now on
        that it may move on, that chance (of those still in the stage on day ``days_in``)
        times the chance of closing within the ``days - j`` days left."""
        stage, days_in, days = Stage(stage), max(days_in, 0), min(days, FORECAST_HORIZON_DAYS)
        moves_on, stays = self._moves_on[stage], self._stays[stage]
        if days_in >= len(moves_on) or stays[days_in] <= _NEGLIGIBLE:
            return 0.0
        ahead = moves_on[days_in:days_in + days + 1]
        back = self._within_back[_next_stage(stage)]
        return sum(map(mul, ahead, back[FORECAST_HORIZON_DAYS - days:FORECAST_HORIZON_DAYS - days + len(ahead)])) / stays[days_in]

    def chance(self, stage: Stage, days_in: int = 0) -> float:
        """The chance a lead ``days_in`` days into ``stage`` closes at all."""
        return self.closes_within(stage, days_in, FORECAST_HORIZON_DAYS)

    def closing_days(self, stage: Stage, days_in: int) -> dict[int, float]:
        """For a lead ``days_in`` days into ``stage``: the chance it closes ``k`` days from
        now, for each ``k``."""
        after = {0: 1.0}
        for later in reversed(FUNNEL_STAGES[FUNNEL_STAGES.index(Stage(stage)) + 1:]):
            after = _convolve(self.histories[later].moving_on(0), after)
        return _convolve(self.histories[Stage(stage)].moving_on(max(days_in, 0)), after)

    def day_by_which(self, stage: Stage, days_in: int, share: float) -> int:
        """The first day from now by which ``share`` of the lead's chance of closing has come."""
        total = self.chance(stage, days_in)
        low, high = 0, FORECAST_HORIZON_DAYS
        while low < high:
            middle = (low + high) // 2
            if self.closes_within(stage, days_in, middle) >= share * total - _NEGLIGIBLE:
                high = middle
            else:
                low = middle + 1
        return low

    @property
    def observed(self) -> dict[Stage, tuple[float, float]]:
        """Per stage, the brokerage's leads that left it, and those of them that moved on."""
        return {stage: (history.left, sum(history.moved_on.values())) for stage, history in self.own.items()}

    @property
    def moves_learned_from(self) -> int:
        """How many times the brokerage's leads left a stage (moved on or dropped out)."""
        return round(sum(left for left, _ in self.observed.values()))

    def thin_stage(self, stage: Stage, days_in: int) -> Stage | None:
        """The first stage a lead ``days_in`` days into ``stage`` has ahead (its own, from
        ``days_in`` on, then each later one whole) where the assumed leads outweigh the
        brokerage's own that left it after as long: there the assumption decides."""
        stage = Stage(stage)
        for here in FUNNEL_STAGES[FUNNEL_STAGES.index(stage):]:
            after = max(days_in, 0) if here == stage else 0
            own = self.own[here].left_after(after)
            if self.histories[here].left_after(after) - own > own:
                return here
        return None


def learn_closing_model(*, as_of: datetime | None = None, prior_leads: float | None = None) -> ClosingModel:
    """The closing model from the stage moves known at ``as_of`` (now by default): only the
    moves made before it, the leads then in a stage counted as still there."""
    as_of = as_of or timezone.now()
    prior_leads = PRIOR_LEADS if prior_leads is None else prior_leads
    history, _open = stage_episodes(as_of)
    return _model_from(history, as_of=as_of, prior_leads=prior_leads)


def _model_from(history: dict[Stage, StageHistory], *, as_of: datetime, prior_leads: float) -> ClosingModel:
    own = {stage: history.get(stage, StageHistory()) for stage in FUNNEL_STAGES}
    histories = {stage: own[stage].with_prior(stage, prior_leads) if prior_leads else own[stage]
                 for stage in FUNNEL_STAGES}
    return ClosingModel(as_of=as_of, histories=histories, own=own)._prepare()


def closing_model() -> ClosingModel:
    """The closing model as of now: the kept one if learned within MODEL_FRESH, else
    learned now (and kept). For the report and the periodic task."""
    model = cache.get(MODEL_CACHE_KEY)
    if model is None or timezone.now() - model.as_of > MODEL_FRESH:
        model = _keep(learn_closing_model())
    return model


def kept_closing_model() -> ClosingModel | None:
    """The closing model for a page about one lead, which must not walk a large
    brokerage's history: the kept one while fresh; learned here while the brokerage is
    small; else the worker is asked for a new one and the kept one serves meanwhile
    (None when none is kept)."""
    model = cache.get(MODEL_CACHE_KEY)
    if model is not None and timezone.now() - model.as_of <= MODEL_FRESH:
        return model
    if _small_enough_to_learn_on_a_page():
        return _keep(learn_closing_model())
    if cache.add(REFRESH_ASKED_KEY, True, REFRESH_ASK_SECONDS):
        from kombu.exceptions import OperationalError

        from pipeline.tasks import forecast_refresh

        try:
            forecast_refresh.delay()
        except OperationalError:  # the broker is down: the page goes on; beat asks again
            logger.warning("Could not ask the worker for a new closing forecast model", exc_info=True)
    return model


def _keep(model: ClosingModel) -> ClosingModel:
    cache.set(MODEL_CACHE_KEY, model, MODEL_KEEP_SECONDS)
    return model


def _small_enough_to_learn_on_a_page() -> bool:
    """Fewer than LEARN_ON_PAGE_ROWS stage moves and open leads, counted no further."""
    moves = StageChange.objects.order_by().values("pk")[:LEARN_ON_PAGE_ROWS].count()
    if moves >= LEARN_ON_PAGE_ROWS:
        return False
    open_leads = Lead.objects.filter(stage__in=FUNNEL_STAGES).order_by().values("pk")[:LEARN_ON_PAGE_ROWS].count()
    return moves + open_leads < LEARN_ON_PAGE_ROWS


def _outcome(stage: str, to_stage: str) -> str:
    """How a move out of ``stage`` counts: "on", "out", or "" (sent back: no outcome).
    (``_walk_in_database`` says the same in SQL.)"""
    if to_stage == Stage.DEAD:
        return "out"
    if to_stage in _ORDER and _ORDER.index(to_stage) > _ORDER.index(stage):
        return "on"
    return ""


Episodes = tuple[dict[Stage, StageHistory], dict[tuple[Stage, date], int]]


def stage_episodes(as_of: datetime) -> Episodes:
    """What the stage moves made before ``as_of`` say: each funnel stage's history (the
    leads that left it in the ``LEARN_DAYS`` before, and those in it at ``as_of``), and
    the leads open at ``as_of`` by stage and the day they entered it.

    Days are calendar days in the current zone, as a lead's page counts its days in the
    stage: a lead that entered on Monday evening and left on Tuesday morning spent a day."""
    return stage_episodes_at([as_of])[0]


def stage_episodes_at(moments: list[datetime]) -> list[Episodes]:
    """``stage_episodes`` at each of ``moments``, from one walk over the stage moves.

    The walk groups what it reads by what no moment changes: a stay that ended, by its
    stage, where it led, its days and where its end falls among the moments and their
    ``LEARN_DAYS`` before (``edges``); a stay still going, or one that ended later, by its
    stage, the day it began and where its start and end fall. Each moment then takes the
    groups that were over, or going, at it."""
    zone = timezone.get_current_timezone()
    edges = sorted({*moments, *(moment - timedelta(days=LEARN_DAYS) for moment in moments)})
    if connection.vendor == "postgresql":
        left, going = _walk_in_database(edges, zone)
    else:
        left, going = _walk_in_python(edges, zone)
    episodes = []
    for moment in moments:
        # A time's place among the edges: how many of them are at or before it.
        until, since = edges.index(moment) + 1, edges.index(moment - timedelta(days=LEARN_DAYS)) + 1
        today = timezone.localdate(moment, zone)
        tables: dict[Stage, dict[str, dict[int, float]]] = defaultdict(lambda: {"on": {}, "out": {}, "": {}})
        open_at: dict[tuple[Stage, date], int] = defaultdict(int)
        for stage, outcome, days, ended_in, count in left:
            if since <= ended_in < until:
                _add(tables[Stage(stage)][outcome], max(days, 0), count)
        for stage, entered, started_in, ended_in, count in going:
            if started_in < until and (ended_in is None or ended_in >= until):
                _add(tables[Stage(stage)][""], (today - entered).days, count)
                open_at[(Stage(stage), entered)] += count
        episodes.append(({stage: StageHistory(moved_on=table["on"], dropped=table["out"], still_in=table[""])
                          for stage, table in tables.items()}, dict(open_at)))
    return episodes


_FUNNEL_SQL = ", ".join(f"'{stage}'" for stage in FUNNEL_STAGES)


def _walk_in_database(edges: list[datetime], zone) -> tuple[list[tuple], list[tuple]]:
    """The stays, grouped by PostgreSQL (``stage_episodes_at``): those that ended, as
    (stage, how: "on", "out" or "" as ``_outcome`` says, days, place of its end among
    ``edges``, how many); those going at some edge, as (stage, the day it began, place
    of its start, place of its end or None while going, how many). A place is how many
    edges are at or before the time.

    Each move ends a stay that began at the lead's previous move (at its creation, for
    the first); the leads' current stays come from the leads. Each time is turned into
    its local day once (the walk's dearest part), and stages are grouped as numbers."""
    changes, leads = StageChange._meta.db_table, Lead._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        # As the reports read: no JIT compiling (it costs more than it saves here), room to hash.
        cursor.execute("SET LOCAL jit = off; SET LOCAL work_mem = '64MB'")
        cursor.execute(
            f"""
            WITH changes AS (
                SELECT lead_id, id, changed_at, (changed_at AT TIME ZONE %(zone)s)::date AS day,
                       array_position(%(order)s::text[], from_stage::text) AS stage,
                       CASE WHEN to_stage = %(dead)s THEN 2
                            WHEN array_position(%(order)s::text[], to_stage::text)
                                 > array_position(%(order)s::text[], from_stage::text) THEN 1
                            ELSE 0 END AS outcome
                  FROM {changes}
            ), moves AS (
                SELECT c.stage, c.outcome, c.changed_at AS ended, c.day AS ended_on,
                       COALESCE(LAG(c.changed_at) OVER walk, l.created_at) AS started,
                       COALESCE(LAG(c.day) OVER walk, (l.created_at AT TIME ZONE %(zone)s)::date) AS started_on
                  FROM changes c JOIN {leads} l ON l.id = c.lead_id
                WINDOW walk AS (PARTITION BY c.lead_id ORDER BY c.changed_at, c.id)
            ), placed AS (
                SELECT stage, outcome, width_bucket(ended, %(edges)s::timestamptz[]) AS ended_in,
                       CASE WHEN ended >= %(first)s AND ended < %(last)s THEN ended_on - started_on END AS days,
                       width_bucket(started, %(edges)s::timestamptz[]) AS started_in, started_on
                  FROM moves
                 WHERE stage <= %(funnel)s
            ), grouped AS (
                -- One pass, two groupings: the stays that ended, by their days; and those
                -- going at an edge (one lies between their start and end), by their first day.
                SELECT GROUPING(days) = 0 AS ended, stage, outcome, days,
                       CASE WHEN started_in < ended_in THEN started_on - %(day_zero)s END AS began,
                       CASE WHEN started_in < ended_in THEN started_in END AS began_in, ended_in, COUNT(*) AS n
                  FROM placed
                 GROUP BY GROUPING SETS ((stage, outcome, days, ended_in),
                                         (stage, 5, 6, ended_in))
            )
            SELECT true, stage, outcome, days, NULL::int, ended_in, n FROM grouped WHERE ended AND days IS NOT NULL
            UNION ALL
            SELECT false, stage, NULL, began, began_in, ended_in, n FROM grouped WHERE NOT ended AND began IS NOT NULL
            UNION ALL
            SELECT false, array_position(%(order)s::text[], stage::text),
                   NULL, (stage_entered_at AT TIME ZONE %(zone)s)::date - %(day_zero)s,
                   width_bucket(stage_entered_at, %(edges)s::timestamptz[]), NULL, COUNT(*)
              FROM {leads}
             WHERE stage IN ({_FUNNEL_SQL}) AND stage_entered_at < %(last)s
             GROUP BY 2, 4, 5
            """, {"edges": edges, "first": edges[0], "last": edges[-1], "zone": str(zone), "day_zero": _DAY_ZERO,
                  "order": [str(stage) for stage in _ORDER], "dead": str(Stage.DEAD), "funnel": len(FUNNEL_STAGES)})
        left, going = [], []
        for ended, stage, outcome, days, started_in, ended_in, count in cursor.fetchall():
            if ended:
                left.append((_ORDER[stage - 1], _OUTCOMES[outcome], days, ended_in, count))
            else:
                going.append((_ORDER[stage - 1], _DAY_ZERO + timedelta(days=days), started_in, ended_in, count))
        return left, going


_ORDER = [*FUNNEL_STAGES, Stage.CLOSED]  # how far a move went: to a later stage is moving on
_OUTCOMES = ["", "on", "out"]
_DAY_ZERO = date(2000, 1, 1)


def _walk_in_python(edges: list[datetime], zone) -> tuple[list[tuple], list[tuple]]:
    """The same groups as ``_walk_in_database``, worked out here (SQLite): every move
    comes to Python."""
    left: dict[tuple, int] = defaultdict(int)
    going: dict[tuple, int] = defaultdict(int)

    def place(moment: datetime) -> int:
        return bisect.bisect_right(edges, moment)

    def stay(stage, to_stage, started, ended):
        if stage not in FUNNEL_STAGES:
            return
        if ended is not None and edges[0] <= ended < edges[-1]:
            days = (timezone.localdate(ended, zone) - timezone.localdate(started, zone)).days
            left[(stage, _outcome(stage, to_stage), days, place(ended))] += 1
        # Going at some edge: one lies after its start and at or before its end.
        if (started < edges[-1]) if ended is None else (place(started) < place(ended)):
            going[(stage, timezone.localdate(started, zone), place(started),
                   None if ended is None else place(ended))] += 1

    previous = None
    for lead_id, created_at, stage, to_stage, changed_at in (
            StageChange.objects.order_by("lead_id", "changed_at", "pk")
            .values_list("lead_id", "lead__created_at", "from_stage", "to_stage", "changed_at")
            .iterator(chunk_size=5000)):
        started = previous[1] if previous and previous[0] == lead_id else created_at
        stay(stage, to_stage, started, changed_at)
        previous = (lead_id, changed_at)
    for stage, entered in Lead.objects.filter(stage__in=FUNNEL_STAGES).values_list(
            "stage", "stage_entered_at").iterator(chunk_size=5000):
        stay(stage, "", entered, None)
    return [(*key, count) for key, count in left.items()], [(*key, count) for key, count in going.items()]


# One lead's forecast -----------------------------------------------------------------


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


# Many leads: closings per month, and how the forecast did ----------------------------


@dataclass(frozen=True)
class MonthForecast:
    month: date  # its first day
    expected: float
    variance: float

    @property
    def likely(self) -> tuple[int, int]:
        """About 80 % of outcomes: the expected count give or take 1.28 standard deviations
        (each lead closes or not, on its own), in whole closings."""
        spread = 1.2816 * self.variance ** 0.5
        return max(int(self.expected - spread + 0.5), 0), int(self.expected + spread + 0.5)


def month_of(day: date) -> date:
    """The first day of ``day``'s month: how the forecast and the reports name a month."""
    return day.replace(day=1)


def closings_by_month(*, model: ClosingModel, open_leads: dict[tuple[Stage, date], int], today: date,
                      months: int = 12) -> tuple[dict[date, MonthForecast], float]:
    """The closings ``open_leads`` (by stage and day entered) are expected to bring in each
    of ``months`` months from ``today`` (the first from today on), the sum of their
    chances and its variance; and the closings expected later than that."""
    edges = [today]
    month = month_of(today)
    for _ in range(months):
        month = month_of(month + timedelta(days=32))
        edges.append(month)
    expected: dict[date, float] = defaultdict(float)
    variance: dict[date, float] = defaultdict(float)
    later = 0.0
    for (stage, entered), count in open_leads.items():
        days_in = (today - entered).days
        by = [model.closes_within(stage, days_in, (edge - today).days - 1) for edge in edges[1:]]
        previous = 0.0
        for start, within in zip(edges[:-1], by, strict=True):
            chance = within - previous
            expected[month_of(start)] += count * chance
            variance[month_of(start)] += count * chance * (1 - chance)
            previous = within
        later += count * (model.chance(stage, days_in) - previous)
    return {month: MonthForecast(month, expected[month], variance[month]) for month in sorted(expected)}, later


@dataclass(frozen=True)
class BackTest:
    """What the forecast would have said on ``made_on`` of the ``days`` after, from what
    was known then, against the closings since among the leads it was about (those open
    at midnight ``made_on``: a lead created later was no part of the forecast)."""

    made_on: date
    days: int
    expected: float
    variance: float
    open_leads: int
    closed_leads: tuple[int, ...]  # the leads open then that closed in the window, by id

    @property
    def closed(self) -> int:
        return len(self.closed_leads)

    @property
    def until(self) -> date:
        """The window's last day."""
        return self.made_on + timedelta(days=self.days - 1)

    @property
    def error(self) -> float:
        return self.expected - self.closed

    @property
    def likely(self) -> tuple[int, int]:
        return MonthForecast(self.made_on, self.expected, self.variance).likely


def back_test(*, made_on: date, days: int = BACK_TEST_DAYS, prior_leads: float | None = None) -> BackTest:
    """The forecast the model learned from the moves made before ``made_on`` (midnight, the
    current zone) gives the leads open then for the ``days`` from it, and which of those
    leads closed (closing dates) in those days."""
    return back_tests_learned([made_on], days=days, prior_leads=prior_leads)[0]


def back_tests_learned(made_on: list[date], *, days: int = BACK_TEST_DAYS, prior_leads: float | None = None,
                       episodes: list[Episodes] | None = None) -> list[BackTest]:
    """``back_test`` for each day of ``made_on``, walking the stage moves once (or reading
    ``episodes``, ``stage_episodes_at`` their midnights)."""
    zone = timezone.get_current_timezone()
    moments = [datetime.combine(day, time.min, tzinfo=zone) for day in made_on]
    episodes = episodes or stage_episodes_at(moments)
    tests = []
    for day, as_of, (history, open_leads) in zip(made_on, moments, episodes, strict=True):
        model = _model_from(history, as_of=as_of, prior_leads=PRIOR_LEADS if prior_leads is None else prior_leads)
        expected = variance = 0.0
        for (stage, entered), count in open_leads.items():
            chance = model.closes_within(stage, (day - entered).days, days - 1)
            expected += count * chance
            variance += count * chance * (1 - chance)
        tests.append(BackTest(made_on=day, days=days, expected=expected, variance=variance,
                              open_leads=sum(open_leads.values()),
                              closed_leads=tuple(closed_among_open(as_of, day, day + timedelta(days=days)))))
    return tests


def back_tests(today: date) -> list[BackTest]:
    """The forecasts made BACK_TEST_WINDOWS days before ``today`` (the current zone), kept
    for the day."""
    tests = cache.get(_back_tests_key(today))
    if tests is None:
        tests = _learn(model_wanted=False, back_tests_for={timezone.get_current_timezone_name(): today})[1][0]
    return tests


def forecast_and_back_tests(today: date) -> tuple[ClosingModel, list[BackTest]]:
    """For the report: ``closing_model()`` and ``back_tests(today)``, what is not kept
    learned in one walk over the stage moves."""
    model = cache.get(MODEL_CACHE_KEY)
    if model is not None and timezone.now() - model.as_of > MODEL_FRESH:
        model = None
    tests = cache.get(_back_tests_key(today))
    if model is None or tests is None:
        learned, learned_tests = _learn(model_wanted=model is None, back_tests_for={} if tests is not None else {
            timezone.get_current_timezone_name(): today})
        model, tests = model or learned, tests or learned_tests[0]
    return model, tests


def forecast_refresh() -> int:
    """The periodic task's work: the closing model learned now, and the back-tests of
    today in each zone the staff (who read the reports) work in, the most common zone's
    from the same walk over the stage moves as the model; kept for the pages and the
    report. How many moves it learned from."""
    from leadcrm.accounts.models import User

    now = timezone.now()
    staff = User.objects.filter(is_active=True, is_staff=True).order_by()
    zones = [zone for zone, _n in staff.values_list("time_zone").annotate(n=Count("pk")).order_by("-n", "time_zone")]
    model, _tests = _learn(model_wanted=True, back_tests_for={
        zone: timezone.localdate(now, zoneinfo.ZoneInfo(zone)) for zone in zones}, now=now)
    return model.moves_learned_from


def _learn(*, model_wanted: bool, back_tests_for: dict[str, date], now: datetime | None = None,
           ) -> tuple[ClosingModel | None, list[list[BackTest]]]:
    """The closing model as of now (if wanted; in the first zone) and the back-tests of
    each zone's today in ``back_tests_for``, in that order, one walk over the stage moves
    a zone; each kept."""
    now = now or timezone.now()
    model, tests = None, []
    for n, zone in enumerate(back_tests_for or [timezone.get_current_timezone_name()]):
        with timezone.override(zoneinfo.ZoneInfo(zone)):
            today = back_tests_for.get(zone)
            made_on = [today - timedelta(days=back) for back in BACK_TEST_WINDOWS] if today else []
            learns_model = model_wanted and n == 0
            zone_now = timezone.get_current_timezone()
            episodes = stage_episodes_at(([now] if learns_model else [])
                                         + [datetime.combine(day, time.min, tzinfo=zone_now) for day in made_on])
            if learns_model:
                model = _keep(_model_from(episodes.pop(0)[0], as_of=now, prior_leads=PRIOR_LEADS))
            if made_on:
                tests.append(back_tests_learned(made_on, episodes=episodes))
                cache.set(_back_tests_key(today), tests[-1], 24 * 3600)
    return model, tests


def _back_tests_key(today: date) -> str:
    return f"pipeline:forecast-back-tests:v2:{today.isoformat()}:{timezone.get_current_timezone_name()}"


def closed_among_open(as_of: datetime, start: date, end: date) -> list[int]:
    """The leads open at ``as_of`` (in a funnel stage, as ``stage_episodes`` counts them)
    that are closed with a closing date from ``start`` up to (not including) ``end``, by id.

    A lead closed since was in the stage its first move at or after ``as_of`` left."""
    stage_then = (StageChange.objects.filter(lead=OuterRef("pk"), changed_at__gte=as_of)
                  .order_by("changed_at", "pk").values("from_stage")[:1])
    return list(Lead.objects.filter(stage=Stage.CLOSED, closing_date__gte=start, closing_date__lt=end,
                                    created_at__lt=as_of)
                .annotate(stage_then=Subquery(stage_then)).filter(stage_then__in=FUNNEL_STAGES)
                .order_by("pk").values_list("pk", flat=True))
