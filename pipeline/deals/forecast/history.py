"""How leads left each stage (``StageHistory``), and the walk over the stage moves that
learns it as of one or more moments (``stage_episodes``, ``stage_episodes_at``): grouped by
PostgreSQL, or in Python elsewhere."""

from __future__ import annotations

import bisect
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

from leads.models import FUNNEL_STAGES, Lead, Stage
from pipeline.models import StageChange

from .prior import PRIOR_LEADS, add_to_day, assumed_departures

# Leads that left a stage longer ago than this are not learned from.
LEARN_DAYS = 730
NEGLIGIBLE = 1e-9


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
                add_to_day(into, day, weight)
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
            stays[day] = staying if at_risk > NEGLIGIBLE else 0.0
            on, out = moves.get(day, 0), self.dropped.get(day, 0)
            if at_risk > NEGLIGIBLE and (on or out):
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
            if at_risk <= NEGLIGIBLE:
                break
            on, out = self.moved_on.get(day, 0), self.dropped.get(day, 0)
            if on:
                chances[day - days_in] = staying * on / at_risk
            staying *= 1 - (on + out) / at_risk
            at_risk -= on + out + self.still_in.get(day, 0)
        return chances


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
                add_to_day(tables[Stage(stage)][outcome], max(days, 0), count)
        for stage, entered, started_in, ended_in, count in going:
            if started_in < until and (ended_in is None or ended_in >= until):
                add_to_day(tables[Stage(stage)][""], (today - entered).days, count)
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
