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
``PRIOR_LEADS`` leads (``PRIOR_MOVE_ON``, and the typical and slow days of
``REFERENCE_STAGE_DAYS``); with hundreds of leads through a stage it hardly counts.

``forecast_for(lead)`` is one lead's: its chance of closing and the range of days in
which 80 % of that chance falls. The reports' closings per month add the same
distributions up over every open lead, and back-test them: the model learned from what
was known 30, 60 and 90 days ago, asked about the leads open then, against what closed.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from statistics import median

from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from leads.models import FUNNEL_STAGES, Lead, Stage

from .models import StageChange

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
# with their lenders. Worth PRIOR_LEADS leads per stage, half leaving after the stage's
# typical days and half after its slow days.
PRIOR_MOVE_ON: dict[Stage, float] = {
    Stage.LIST: 0.30,
    Stage.CONTACT: 0.40,
    Stage.QUALIFY: 0.50,
    Stage.NEGOTIATE: 0.60,
    Stage.CLOSE: 0.85,
}
PRIOR_LEADS = 10
# Leads that left a stage longer ago than this are not learned from.
LEARN_DAYS = 730
# Days ahead a closing is forecast; beyond, the chance is dropped.
HORIZON_DAYS = 3 * 366
MODEL_CACHE_KEY = "pipeline:closing-model:v1"
# The share of a lead's chance its forecast range holds (from the 10th to the 90th
# percentile of its closing day).
RANGE_SHARE = 0.8
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

    def with_prior(self, stage: Stage, leads: float = PRIOR_LEADS) -> StageHistory:
        """The history with the starting assumption's leads added: ``leads`` of them, a share
        ``PRIOR_MOVE_ON`` moving on and the rest dropping out, half after the stage's
        typical days and half after its slow days."""
        moved_on, dropped = dict(self.moved_on), dict(self.dropped)
        share = PRIOR_MOVE_ON[stage]
        for days in REFERENCE_STAGE_DAYS[stage]:
            _add(moved_on, days, leads * share / 2)
            _add(dropped, days, leads * (1 - share) / 2)
        return StageHistory(moved_on=moved_on, dropped=dropped, still_in=dict(self.still_in))

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
            if a + b <= HORIZON_DAYS:
                _add(total, a + b, chance_a * chance_b)
    return {day: chance for day, chance in total.items() if chance > _NEGLIGIBLE}


@dataclass
class ClosingModel:
    """Each funnel stage's history (the starting assumption included) as of one moment."""

    as_of: datetime
    histories: dict[Stage, StageHistory]
    # The brokerage's own leads that left each stage, and those of them that moved on:
    # what the page says the chances come from.
    observed: dict[Stage, tuple[float, float]]
    # Per stage, from entering it to closing: the chance of closing within each number of
    # days (0 .. HORIZON_DAYS). Worked out once (``_prepare``): a lead's forecast then costs
    # one pass over its own stage's days.
    _within: dict = field(default_factory=dict, repr=False)
    _moving: dict = field(default_factory=dict, repr=False)  # (stage, days in) -> moving_on, as asked

    def _prepare(self) -> ClosingModel:
        after = {0: 1.0}  # from a closing to itself
        for stage in reversed(FUNNEL_STAGES):
            within, running = [], 0.0
            for day in range(HORIZON_DAYS + 1):
                running += after.get(day, 0.0)
                within.append(running)
            self._within[_next_stage(stage)] = within
            after = _convolve(self.histories[stage].moving_on(0), after)
        return self

    def closes_within(self, stage: Stage, days_in: int, days: int) -> float:
        """The chance a lead ``days_in`` days into ``stage`` closes within ``days`` days from
        now (today being day 0, ``days`` itself included)."""
        if not self._within:
            self._prepare()
        stage, days_in = Stage(stage), max(days_in, 0)
        within = self._within[_next_stage(stage)]
        days = min(days, HORIZON_DAYS)
        if (stage, days_in) not in self._moving:
            self._moving[(stage, days_in)] = self.histories[stage].moving_on(days_in)
        return sum(chance * within[days - day] for day, chance in self._moving[(stage, days_in)].items()
                   if day <= days)

    def chance(self, stage: Stage, days_in: int = 0) -> float:
        """The chance a lead ``days_in`` days into ``stage`` closes at all."""
        return self.closes_within(stage, days_in, HORIZON_DAYS)

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
        low, high = 0, HORIZON_DAYS
        while low < high:
            middle = (low + high) // 2
            if self.closes_within(stage, days_in, middle) >= share * total - _NEGLIGIBLE:
                high = middle
            else:
                low = middle + 1
        return low

    @property
    def moves_learned_from(self) -> int:
        """How many times the brokerage's leads left a stage (moved on or dropped out)."""
        return round(sum(left for left, _ in self.observed.values()))


def learn_closing_model(*, as_of: datetime | None = None, prior_leads: float | None = None) -> ClosingModel:
    """The closing model from the stage moves known at ``as_of`` (now by default): only the
    moves made before it, the leads then in a stage counted as still there."""
    as_of = as_of or timezone.now()
    prior_leads = PRIOR_LEADS if prior_leads is None else prior_leads
    history, _open = stage_episodes(as_of)
    histories, observed = {}, {}
    for stage in FUNNEL_STAGES:
        own = history.get(stage, StageHistory())
        observed[stage] = (own.left, sum(own.moved_on.values()))
        histories[stage] = own.with_prior(stage, prior_leads) if prior_leads else own
    return ClosingModel(as_of=as_of, histories=histories, observed=observed)._prepare()


def closing_model() -> ClosingModel:
    """The closing model as of now, learned at most an hour ago."""
    model = cache.get(MODEL_CACHE_KEY)
    if model is None:
        model = learn_closing_model()
        cache.set(MODEL_CACHE_KEY, model, CACHE_SECONDS)
    return model


def _outcome(stage: str, to_stage: str) -> str:
    """How a move out of ``stage`` counts: "on", "out", or "" (sent back: no outcome)."""
    if to_stage == Stage.DEAD:
        return "out"
    order = [*FUNNEL_STAGES, Stage.CLOSED]
    if to_stage in order and order.index(to_stage) > order.index(stage):
        return "on"
    return ""


def stage_episodes(as_of: datetime) -> tuple[dict[Stage, StageHistory], dict[tuple[Stage, date], int]]:
    """What the stage moves made before ``as_of`` say: each funnel stage's history (the
    leads that left it in the ``LEARN_DAYS`` before, and those in it at ``as_of``), and
    the leads open at ``as_of`` by stage and the day (current zone) they entered it."""
    rows = _episodes_in_database(as_of) if connection.vendor == "postgresql" else _episodes_in_python(as_of)
    tables: dict[Stage, dict[str, dict[int, float]]] = defaultdict(lambda: {"on": {}, "out": {}, "": {}})
    open_at: dict[tuple[Stage, date], int] = defaultdict(int)
    for stage, to_stage, days, entered, count in rows:
        stage = Stage(stage)
        _add(tables[stage][_outcome(stage, to_stage) if to_stage else ""], max(int(days), 0), count)
        if not to_stage:
            open_at[(stage, entered)] += count
    history = {stage: StageHistory(moved_on=table["on"], dropped=table["out"], still_in=table[""])
               for stage, table in tables.items()}
    return history, dict(open_at)


_FUNNEL_SQL = ", ".join(f"'{stage}'" for stage in FUNNEL_STAGES)


def _episodes_in_database(as_of: datetime) -> list[tuple]:
    """(stage, the stage it left for or "" if still in it at ``as_of``, whole days spent,
    the local day it was entered for those still in it, how many), grouped by
    PostgreSQL. Each move ends a stay that began at the lead's previous move (at its
    creation, for the first); the leads' current stays come from the leads."""
    changes, leads = StageChange._meta.db_table, Lead._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH moves AS (
                SELECT c.from_stage AS stage, c.to_stage, c.changed_at AS ended,
                       COALESCE(LAG(c.changed_at) OVER (PARTITION BY c.lead_id ORDER BY c.changed_at, c.id),
                                l.created_at) AS started
                  FROM {changes} c JOIN {leads} l ON l.id = c.lead_id
            ), stays AS (
                SELECT stage, CASE WHEN ended < %(as_of)s THEN to_stage ELSE '' END AS to_stage, started,
                       LEAST(ended, %(as_of)s) AS ended
                  FROM moves
                 WHERE stage IN ({_FUNNEL_SQL}) AND started < %(as_of)s
                   AND (ended >= %(as_of)s OR ended >= %(since)s)
                UNION ALL
                SELECT stage, '', stage_entered_at, %(as_of)s FROM {leads}
                 WHERE stage IN ({_FUNNEL_SQL}) AND stage_entered_at < %(as_of)s
            )
            SELECT stage, to_stage, GREATEST(FLOOR(EXTRACT(EPOCH FROM ended - started) / 86400), 0)::int,
                   CASE WHEN to_stage = '' THEN (started AT TIME ZONE %(zone)s)::date END, COUNT(*)
              FROM stays GROUP BY 1, 2, 3, 4
            """,
            {"as_of": as_of, "since": as_of - timedelta(days=LEARN_DAYS),
             "zone": timezone.get_current_timezone_name()},
        )
        return cursor.fetchall()


def _episodes_in_python(as_of: datetime) -> list[tuple]:
    """The same rows as ``_episodes_in_database``, worked out here (SQLite)."""
    since = as_of - timedelta(days=LEARN_DAYS)
    grouped: dict[tuple, int] = defaultdict(int)

    def stay(stage, to_stage, started, ended):
        if stage not in FUNNEL_STAGES or started >= as_of or (ended < as_of and ended < since):
            return
        if ended >= as_of:
            to_stage, ended = "", as_of
        days = max(int((ended - started).total_seconds() // 86400), 0)
        grouped[(stage, to_stage, days, None if to_stage else timezone.localdate(started))] += 1

    previous = None
    for lead_id, created_at, stage, to_stage, changed_at in (
            StageChange.objects.order_by("lead_id", "changed_at", "pk")
            .values_list("lead_id", "lead__created_at", "from_stage", "to_stage", "changed_at")
            .iterator(chunk_size=5000)):
        started = previous[1] if previous and previous[0] == lead_id else created_at
        stay(stage, to_stage, started, changed_at)
        previous = (lead_id, changed_at)
    for stage, entered in Lead.objects.filter(stage__in=FUNNEL_STAGES, stage_entered_at__lt=as_of).values_list(
            "stage", "stage_entered_at").iterator(chunk_size=5000):
        stay(stage, "", entered, as_of)
    return [(*key, count) for key, count in grouped.items()]


# One lead's forecast -----------------------------------------------------------------


@dataclass(frozen=True)
class Forecast:
    earliest: date
    latest: date
    days_in_stage: int
    running_late: bool
    slow_days: int
    source: str
    # The chance this lead closes at all; earliest to latest holds RANGE_SHARE of it.
    chance: float = 0.0

    @property
    def percent(self) -> int:
        return round(100 * self.chance)


def forecast_for(lead: Lead, *, durations: StageDurations | None = None, model: ClosingModel | None = None,
                 today: date | None = None) -> Forecast | None:
    """The chance an open lead closes, and the range of days most of that chance falls in.

    None for a lead not in the funnel, or one that has been in its stage longer than any
    lead that ever moved on from it (and than the starting assumption allows): there is
    nothing to forecast it from."""
    if lead.stage not in FUNNEL_STAGES:
        return None
    durations = durations or stage_durations()
    model = model or closing_model()
    today = today or timezone.localdate()
    stage = Stage(lead.stage)
    days_in = max((today - timezone.localdate(lead.stage_entered_at)).days, 0)
    chance = model.chance(stage, days_in)
    if chance <= _NEGLIGIBLE:
        return None
    tail = (1 - RANGE_SHARE) / 2
    return Forecast(
        earliest=today + timedelta(days=model.day_by_which(stage, days_in, tail)),
        latest=today + timedelta(days=model.day_by_which(stage, days_in, 1 - tail)),
        days_in_stage=days_in,
        running_late=is_running_late(stage, days_in, durations),
        slow_days=durations.slow(stage),
        source=_source(model),
        chance=chance,
    )


def _source(model: ClosingModel) -> str:
    """What the forecast comes from, in words a seller reads too."""
    learned = model.moves_learned_from
    if learned >= 10 * PRIOR_LEADS:
        return f"the brokerage's own track record ({learned:,} moves from one stage to the next or out)"
    if learned:
        return (f"the brokerage's track record so far ({learned:,} moves from one stage to the next or out) "
                "and typical short-sale timelines (60-180 days from the lender package)")
    return "typical short-sale timelines (60-180 days from the lender package)"


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


def _month(day: date) -> date:
    return day.replace(day=1)


def closings_by_month(*, model: ClosingModel, open_leads: dict[tuple[Stage, date], int], today: date,
                      months: int = 12) -> tuple[dict[date, MonthForecast], float]:
    """The closings ``open_leads`` (by stage and day entered) are expected to bring in each
    of ``months`` months from ``today`` (the first from today on), the sum of their
    chances and its variance; and the closings expected later than that."""
    edges = [today]
    month = _month(today)
    for _ in range(months):
        month = _month(month + timedelta(days=32))
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
            expected[_month(start)] += count * chance
            variance[_month(start)] += count * chance * (1 - chance)
            previous = within
        later += count * (model.chance(stage, days_in) - previous)
    return {month: MonthForecast(month, expected[month], variance[month]) for month in sorted(expected)}, later


@dataclass(frozen=True)
class BackTest:
    """What the forecast would have said on ``made_on`` of the ``days`` after, from what
    was known then, against the closings since."""

    made_on: date
    days: int
    expected: float
    variance: float
    closed: int
    open_leads: int

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


def back_test(*, made_on: date, days: int = 30, prior_leads: float | None = None) -> BackTest:
    """The forecast the model learned from the moves made before ``made_on`` (midnight, the
    current zone) gives the leads open then for the ``days`` from it, and the closings
    (closing dates) in those days."""
    as_of = datetime.combine(made_on, time.min, tzinfo=timezone.get_current_timezone())
    model = learn_closing_model(as_of=as_of, prior_leads=PRIOR_LEADS if prior_leads is None else prior_leads)
    _history, open_leads = stage_episodes(as_of)
    expected = variance = 0.0
    for (stage, entered), count in open_leads.items():
        chance = model.closes_within(stage, (made_on - entered).days, days - 1)
        expected += count * chance
        variance += count * chance * (1 - chance)
    closed = Lead.objects.filter(stage=Stage.CLOSED, closing_date__gte=made_on,
                                 closing_date__lt=made_on + timedelta(days=days)).count()
    return BackTest(made_on=made_on, days=days, expected=expected, variance=variance, closed=closed,
                    open_leads=sum(open_leads.values()))
