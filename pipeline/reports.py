"""The broker's reports: each a table and the chart drawn from it, for a period.

Every report is a function of a ``Period`` returning a ``Report``: columns, rows (plain
values, exported as they are to CSV and XLSX), and a chart spec (Chart.js's type, labels
and datasets) drawn by the page. Reads only; grouped in the database, never one query
per row.

Speed (every report under 1 s with 1,000,000 leads and 5,000,000 outreach attempts;
``bench/run.py --only reports``). On PostgreSQL a report's queries run in one
transaction without JIT compilation (it cost up to 1.7 s a query here, more than the
query) and with more sort memory (``_reading``). The outreach log and the compliance
checks are read from their rollups (``OutreachCount``, ``CheckCount``: counts per span of
the day, kept exact by triggers) whenever the period and the report's weeks start on a
span's edge, which they do in every zone a user may choose; otherwise, and on SQLite,
from the logs. The
funnel reads the leads that moved and the rest apart, time in stage picks its median and
80th percentile in the database, and the forecast works once per stage and day entered,
not per lead, from the model and back-tests a periodic task keeps (learning them walks
every stage move: about 2 s; the report does it, once, only when none are kept). DNC by
list, which counts every number against every list whatever the period (seconds with a
million leads), reads the counts a periodic task makes every ten minutes and says when
they were made.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from statistics import median

from django.db import connection, transaction
from django.db.models import Count, Max, Min, Q, Sum
from django.db.models.functions import TruncDate, TruncWeek
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.timesince import timesince

from compliance.models import (
    AreaCodeVersion,
    CheckMode,
    ComplianceCheck,
    RegistryKind,
    Verdict,
    rules_that_decided,
)
from leadcrm.accounts.models import User
from leads.models import FUNNEL_STAGES, Contact, Lead, LeadList, ListDncCount, ListMembership, Phone, Stage

from .forecast import (
    BACK_TEST_DAYS,
    BACK_TEST_WINDOWS,
    PRIOR_LEADS,
    PRIOR_MOVE_ON,
    _percentile,
    closings_by_month,
    forecast_and_back_tests,
    month_of,
)
from .models import (
    REACHED_OUTCOMES,
    CheckCount,
    LenderFile,
    LenderMilestone,
    Milestone,
    Outcome,
    OutreachAttempt,
    OutreachCount,
    StageChange,
)

DEFAULT_DAYS = 90
MAX_DAYS = 3 * 366
# The funnel's order, with the closing: how far a lead got.
REACH_ORDER = [*FUNNEL_STAGES, Stage.CLOSED]


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive

    @classmethod
    def from_params(cls, params, today: date | None = None) -> tuple[Period, list[str]]:
        """The period asked for (``from``, ``to`` as YYYY-MM-DD), or the last 90 days; and
        what was wrong with the request, said plainly."""
        today = today or timezone.localdate()
        problems = []

        def read(name, default):
            raw = (params.get(name) or "").strip()
            if not raw:
                return default
            try:
                return date.fromisoformat(raw)
            except ValueError:
                problems.append(f"“{raw}” is not a date (YYYY-MM-DD): {name} left at {default:%Y-%m-%d}.")
                return default

        end = read("to", today)
        start = read("from", end - timedelta(days=DEFAULT_DAYS - 1))
        if start > end:
            problems.append("The period started after it ended: the two dates were swapped.")
            start, end = end, start
        if (end - start).days > MAX_DAYS:
            start = end - timedelta(days=MAX_DAYS)
            problems.append(f"Periods are at most three years: from {start:%Y-%m-%d}.")
        return cls(start, end), problems

    @property
    def since(self) -> datetime:
        return datetime.combine(self.start, time.min, tzinfo=timezone.get_current_timezone())

    @property
    def until(self) -> datetime:
        return datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=timezone.get_current_timezone())

    def __str__(self) -> str:
        return f"{self.start:%b %-d, %Y} to {self.end:%b %-d, %Y}"


@dataclass(frozen=True)
class Link:
    """A table cell that links somewhere: a count to the rows it counts, a name to a
    drill-down. Exported as its value."""

    value: object
    href: str

    def __str__(self) -> str:
        return f"{self.value:,}" if isinstance(self.value, int) else str(self.value)

    @property
    def text(self) -> str:
        return str(self)

    @property
    def count(self) -> int | None:
        """The number of rows its link opens, when it is a count."""
        return self.value if isinstance(self.value, int) else None


def plain(cell):
    """A cell as exported: a link's value."""
    return cell.value if isinstance(cell, Link) else cell


@dataclass
class Report:
    slug: str
    title: str
    columns: list[str]
    rows: list[list]
    chart: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # What each row is about, for a page's drill-down (agent activity: the agent's id);
    # neither shown nor exported. Empty, or one per row.
    keys: list = field(default_factory=list)
    # More tables shown under the main one (caption, note, columns, rows), not exported:
    # how a figure was worked out, or how it did.
    tables: list[dict] = field(default_factory=list)


def _pct(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _days_stats(values: list[float]) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    return round(float(median(values)), 1), round(float(_percentile(values, 0.8)), 1)


@contextmanager
def _reading():
    """A report's queries: one transaction, on PostgreSQL without JIT and with 64 MB to sort
    and hash in (the default 4 MB sends a year of rows to disk)."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL jit = off; SET LOCAL work_mem = '64MB'")
        yield


def _read_only(report):
    @functools.wraps(report)
    def run(*args, **kwargs):
        with _reading():
            return report(*args, **kwargs)

    return run


def _rows(sql: str, params) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _week_edges(period: Period) -> list[datetime] | None:
    """Where the period starts, where each of its weeks (Monday 00:00 in the current zone)
    starts after that, and where it ends, if the rollups' spans split exactly there; else
    None (the report then counts the log itself)."""
    zone = timezone.get_current_timezone()
    edges = [period.since]
    monday = period.start + timedelta(days=7 - period.start.weekday())
    while monday <= period.end:
        edges.append(datetime.combine(monday, time.min, tzinfo=zone))
        monday += timedelta(days=7)
    edges.append(period.until)
    return edges if _on_span_edges(edges) else None


def _on_span_edges(moments: list[datetime]) -> bool:
    """Every one the start of a rollup's span (00:00 UTC, or a whole hour of UTC from 04:00
    to 10:00, where midnight falls in the US zones; see pipeline.models) and a local time
    the clock showed once (not a midnight skipped or repeated by a clock change)."""
    for moment in moments:
        utc = moment.astimezone(UTC)
        if not (utc.hour == 0 or 4 <= utc.hour <= 10) or utc.minute or utc.second or utc.microsecond:
            return False
        if utc.astimezone(moment.tzinfo).replace(tzinfo=None) != moment.replace(tzinfo=None):
            return False  # not a time the clock showed
        if moment.replace(fold=1).utcoffset() != moment.utcoffset():
            return False  # a time the clock showed twice
    return True


def _rollups() -> bool:
    """The hourly rollups are kept (by triggers) on PostgreSQL only."""
    return connection.vendor == "postgresql"


# Funnel ---------------------------------------------------------------------------------


def _index_sql(column: str) -> str:
    """SQL for a stage's place in REACH_ORDER (anything else, Dead, is 0)."""
    whens = " ".join(f"WHEN '{stage}' THEN {index}" for index, stage in enumerate(REACH_ORDER))
    return f"CASE {column} {whens} ELSE 0 END"


@_read_only
def funnel(period: Period, by: str = "stage") -> Report:
    """Leads that came in during the period, and how far they got: per stage, and by list or source.

    How far a lead got: the furthest stage it moved into, or its stage now (a lead still open
    in Close reached Close; a dead one, the furthest it reached before)."""
    group_column = {"list": "source_list_id", "source": "source"}.get(by)
    group_sql = f"l.{group_column}" if group_column else "NULL"
    params = [period.since, period.until]
    lead_table, change_table = Lead._meta.db_table, StageChange._meta.db_table
    # Every lead that came in, by group and stage now; then, among them, those that once
    # moved further than the stage they are in now (a dead one, one sent back), by how far.
    # The others got as far as their stage now.
    now_at, moved_to = _index_sql("l.stage"), _index_sql("c.to_stage")
    everyone = _rows(
        f"SELECT {group_sql}, {now_at}, COUNT(*) FROM {lead_table} l "
        "WHERE l.created_at >= %s AND l.created_at < %s GROUP BY 1, 2", params)
    moved = _rows(
        f"SELECT grp, now_at, moved, COUNT(*) FROM (SELECT l.id, {group_sql} AS grp, {now_at} AS now_at, "
        f"MAX({moved_to}) AS moved FROM {lead_table} l JOIN {change_table} c ON c.lead_id = l.id "
        f"WHERE l.created_at >= %s AND l.created_at < %s AND {moved_to} > {now_at} "
        "GROUP BY 1, 2, 3) per_lead GROUP BY 1, 2, 3", params)
    tally: dict[tuple, int] = defaultdict(int)
    for group, now, n in everyone:
        tally[(group, now, 0)] += n
    for group, now, furthest, n in moved:
        tally[(group, now, 0)] -= n
        tally[(group, now, furthest)] += n
    names = dict(LeadList.objects.values_list("pk", "name")) if by == "list" else {}
    sources = dict(Lead._meta.get_field("source").choices)
    rows_by_group: dict[str, list[int]] = defaultdict(lambda: [0] * len(REACH_ORDER))
    for (group, now, furthest), n in tally.items():
        if not n:
            continue
        if by == "list":
            group = names.get(group) if group is not None else None
        if group_column:
            group = group or "(none)"
        else:
            group = "All leads"
        if by == "source":
            group = sources.get(group, group)
        reached = max(furthest or 0, now or 0)
        for index in range(reached + 1):
            rows_by_group[group][index] += n
    labels = [Stage(stage).label for stage in REACH_ORDER]
    columns = ["Group" if group_column else "", *[f"Reached {label}" for label in labels], "List to closed %"]
    rows = [[group, *counts, _pct(counts[-1], counts[0])]
            for group, counts in sorted(rows_by_group.items(), key=lambda item: (-item[1][0], item[0]))]
    if not group_column:
        columns[0] = "Leads"
    totals = [sum(counts[i] for counts in rows_by_group.values()) for i in range(len(REACH_ORDER))]
    chart = {"type": "bar", "labels": labels,
             "datasets": [{"label": "Leads that reached the stage", "data": totals}]}
    notes = [f"{totals[0]:,} leads came in; " + ", ".join(
        f"{_pct(totals[i], totals[i - 1]) or 0}% went on to {labels[i]}" for i in range(1, len(labels)))]
    title = {"list": "Funnel conversion by list", "source": "Funnel conversion by source"}.get(by, "Funnel conversion")
    return Report(slug=f"funnel-{by}" if group_column else "funnel", title=title, columns=columns, rows=rows,
                  chart=chart, notes=notes)


# Time in stage -----------------------------------------------------------------------


@_read_only
def time_in_stage(period: Period) -> Report:
    """Days spent in each stage by leads that left it during the period: median and 80th percentile."""
    stats = _stays_in_database(period) if connection.vendor == "postgresql" else _stays_in_python(period)
    rows = []
    for stage in FUNNEL_STAGES:
        left, typical, slow = stats.get(stage, (0, None, None))
        rows.append([Stage(stage).label, left, typical, slow])
    chart = {"type": "bar", "labels": [row[0] for row in rows], "datasets": [
        {"label": "Median days", "data": [row[2] or 0 for row in rows]},
        {"label": "80th percentile", "data": [row[3] or 0 for row in rows]}]}
    return Report(slug="time-in-stage", title="Time in stage", columns=["Stage", "Leads that left it", "Median days",
                  "80th percentile days"], rows=rows, chart=chart,
                  notes=["Counted when a lead leaves a stage within the period, from when it entered it."])


def _stays_in_python(period: Period) -> dict[str, tuple[int, float | None, float | None]]:
    left = (StageChange.objects.filter(changed_at__gte=period.since, changed_at__lt=period.until)
            .values_list("lead_id", flat=True).distinct())
    spent: dict[str, list[float]] = defaultdict(list)
    previous = None
    for lead_id, to_stage, changed_at in (StageChange.objects.filter(lead_id__in=left, changed_at__lt=period.until)
                                          .order_by("lead_id", "changed_at", "pk")
                                          .values_list("lead_id", "to_stage", "changed_at").iterator(chunk_size=5000)):
        if previous and previous[0] == lead_id and changed_at >= period.since:
            spent[previous[1]].append((changed_at - previous[2]).total_seconds() / 86400)
        previous = (lead_id, to_stage, changed_at)
    return {stage: (len(days), *_days_stats(days)) for stage, days in spent.items()}


def _stays_in_database(period: Period) -> dict[str, tuple[int, float | None, float | None]]:
    """The same stays, each the time from a lead's previous move to the next (in the order
    of ``changed_at``, then id), counted and ranked by PostgreSQL: only the few ranked
    around the median and the 80th percentile come back, to be worked out exactly as
    ``statistics.median`` and ``_percentile`` would over them all. A stay's days are the
    same float as in Python: the exact seconds between the two moves, over 86,400 (worked
    out for those few only: ranking the intervals themselves is three times cheaper).

    The stays are ranked with the stage as a number (sorting 114,000 of them by the
    stage's text compared it by collation: a fifth of the query) and the positions picked
    with whole numbers (``floor((n - 1) * 0.8)`` is ``(n - 1) * 4 / 5``; in numeric it
    took another tenth)."""
    table = StageChange._meta.db_table
    stage_index = " ".join(f"WHEN '{stage}' THEN {index}" for index, stage in enumerate(FUNNEL_STAGES))
    ranked = _rows(
        f"""
        WITH stays AS (
            SELECT stage, changed_at - entered_at AS stay FROM (
                SELECT c.changed_at, LAG(CASE c.to_stage {stage_index} END) OVER moves AS stage,
                       LAG(c.changed_at) OVER moves AS entered_at
                  FROM {table} c
                 WHERE c.changed_at < %(until)s AND c.lead_id IN (
                       SELECT lead_id FROM {table} WHERE changed_at >= %(since)s AND changed_at < %(until)s)
                WINDOW moves AS (PARTITION BY c.lead_id ORDER BY c.changed_at, c.id)
            ) moved WHERE changed_at >= %(since)s AND stage IS NOT NULL
        )
        SELECT stage, n, position, EXTRACT(EPOCH FROM stay)::float8 / 86400 FROM (
            SELECT stage, stay, ROW_NUMBER() OVER (PARTITION BY stage ORDER BY stay) - 1 AS position,
                   COUNT(*) OVER (PARTITION BY stage) AS n
              FROM stays
        ) ranked
        WHERE position BETWEEN (n - 1) / 2 - 1 AND (n - 1) / 2 + 1
           OR position BETWEEN (n - 1) * 4 / 5 - 1 AND (n - 1) * 4 / 5 + 2
        """, {"since": period.since, "until": period.until})
    ranked = [(str(FUNNEL_STAGES[stage]), n, position, days) for stage, n, position, days in ranked]
    picked: dict[str, dict[int, float]] = defaultdict(dict)
    sizes: dict[str, int] = {}
    for stage, n, position, days in ranked:
        picked[stage][position] = days
        sizes[stage] = n
    stats = {}
    for stage, n in sizes.items():
        at = picked[stage]
        middle = n // 2
        typical = at[middle] if n % 2 else (at[middle - 1] + at[middle]) / 2
        position = (n - 1) * 0.8
        low = int(position)
        high = min(low + 1, n - 1)
        slow = at[low] + (at[high] - at[low]) * (position - low)
        stats[stage] = (n, round(typical, 1), round(slow, 1))
    return stats


# Agent activity ----------------------------------------------------------------------


@_read_only
def agent_activity(period: Period) -> Report:
    """Per agent and week: attempts logged, conversations, appointments, listings (moves into Negotiate)."""
    edges = _week_edges(period) if _rollups() else None
    counted = _attempts_counted(period, edges) if edges else _attempts_in_log(period)
    listings = (StageChange.objects.filter(changed_at__gte=period.since, changed_at__lt=period.until,
                                           to_stage=Stage.NEGOTIATE, changed_by__isnull=False)
                .annotate(week=TruncWeek("changed_at")).values("week", "changed_by")
                .annotate(n=Count("pk")).order_by())
    table: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for key, counts in counted.items():
        table[key][:3] = counts
    for row in listings:
        table[(_week(row["week"]), row["changed_by"])][3] = row["n"]
    names = {user.pk: str(user) for user in User.objects.filter(pk__in={agent for _, agent in table})}
    ordered = sorted(table.items(), key=lambda item: (item[0][0], names.get(item[0][1], ""), item[0][1]))
    rows = [[week, names.get(agent, "?"), *counts] for (week, agent), counts in ordered]
    weeks = sorted({week for week, _ in table})
    per_week = {week: [0, 0, 0, 0] for week in weeks}
    for (week, _agent), counts in table.items():
        per_week[week] = [a + b for a, b in zip(per_week[week], counts, strict=True)]
    chart = {"type": "line", "labels": [f"{week:%b %-d}" for week in weeks], "datasets": [
        {"label": label, "data": [per_week[week][i] for week in weeks]}
        for i, label in enumerate(["Attempts", "Conversations", "Appointments", "Listings"])]}
    return Report(slug="agent-activity", title="Agent activity per week",
                  columns=["Week of", "Agent", "Attempts", "Conversations", "Appointments", "Listings"],
                  rows=rows, chart=chart, keys=[agent for (_week, agent), _counts in ordered],
                  notes=["Conversations: talked or appointment set. Listings: leads moved into Negotiate."])


ACTIVITY_COUNTS = ["Attempts", "Conversations", "Appointments", "Listings"]


def activity_by_agent(report: Report) -> list[tuple[int, list]]:
    """Agent activity's rows added up per agent over the period: (agent id, [agent, weeks
    with activity, attempts, conversations, appointments, listings]), by name."""
    totals: dict[int, list] = {}
    for agent, (_week, name, *counts) in zip(report.keys, report.rows, strict=True):
        if agent not in totals:
            totals[agent] = [name, 0, 0, 0, 0, 0]
        row = totals[agent]
        row[1] += 1
        for i, n in enumerate(counts):
            row[2 + i] += n
    return sorted(totals.items(), key=lambda item: (item[1][0], item[0]))


def activity_by_week(report: Report) -> list[list]:
    """Agent activity's rows added up per week: [week, agents with activity, attempts,
    conversations, appointments, listings], in the order of the weeks."""
    totals: dict[date, list] = {}
    for week, _name, *counts in report.rows:
        row = totals.setdefault(week, [week, 0, 0, 0, 0, 0])
        row[1] += 1
        for i, n in enumerate(counts):
            row[2 + i] += n
    return [totals[week] for week in sorted(totals)]


def _week(value) -> date:
    return value.date() if isinstance(value, datetime) else value


def _weekly(attempts) -> dict[tuple[date, int], list[int]]:
    """(week, agent) -> [attempts, conversations, appointments] of a queryset of attempts."""
    grouped = (attempts.annotate(week=TruncWeek("occurred_at")).values("week", "agent")
               .annotate(attempts=Count("pk"), talks=Count("pk", filter=Q(outcome__in=REACHED_OUTCOMES)),
                         appointments=Count("pk", filter=Q(outcome=Outcome.APPOINTMENT_SET))).order_by())
    return {(_week(row["week"]), row["agent"]): [row["attempts"], row["talks"], row["appointments"]]
            for row in grouped}


def _attempts_in_period(period: Period):
    return OutreachAttempt.objects.filter(occurred_at__gte=period.since, occurred_at__lt=period.until)


def _corrected():
    """Entries corrected later: they count as their correction says (the log is append-only)."""
    return OutreachAttempt.objects.filter(corrects__isnull=False).values("corrects")


def _attempts_in_log(period: Period) -> dict[tuple[date, int], list[int]]:
    return _weekly(_attempts_in_period(period).exclude(pk__in=_corrected()))


def _attempts_counted(period: Period, edges: list[datetime]) -> dict[tuple[date, int], list[int]]:
    """The same from the rollup, which counts every entry: the corrected ones (a few,
    found by their index) are taken off again."""
    zone = timezone.get_current_timezone()
    weeks = [(edge.astimezone(zone).date() - timedelta(days=edge.astimezone(zone).weekday())) for edge in edges[:-1]]
    counted: dict[tuple[date, int], list[int]] = {}
    for bucket, agent, attempts, talks, appointments in _rows(
            f"SELECT width_bucket(starts, %s::timestamptz[]), agent_id, SUM(attempts), SUM(talks), SUM(appointments) "
            f"FROM {OutreachCount._meta.db_table} WHERE starts >= %s AND starts < %s GROUP BY 1, 2",
            [edges[:-1], period.since, period.until]):
        counted[(weeks[bucket - 1], agent)] = [attempts, talks, appointments]
    for key, taken_off in _weekly(_attempts_in_period(period).filter(pk__in=_corrected())).items():
        counts = [have - less for have, less in zip(counted[key], taken_off, strict=True)]
        if counts[0]:
            counted[key] = counts
        else:
            del counted[key]  # every entry of that agent's week was corrected: none left to show
    return counted


# Compliance --------------------------------------------------------------------------


def _checks_link(period: Period, **filters) -> str:
    """The checks of real attempts in the period, in the admin's evidence list, filtered: the
    rows a compliance count counts (the dates are the current zone's, as the period's)."""
    query = {"mode": CheckMode.LOG, "checked_at__date__gte": period.start.isoformat(),
             "checked_at__date__lte": period.end.isoformat(), **filters}
    return f"{reverse('admin:compliance_compliancecheck_changelist')}?{urlencode(query)}"


NO_BLOCKS = "No attempt was blocked in this period."


@_read_only
def compliance(period: Period) -> Report:
    """Attempts checked, the gate's decisions and the rules that blocked them, and how fresh
    the national registry data is.

    Only decisions on real attempts count (``mode=log``): the verdict the outreach form
    shows while it is filled in is not recorded now, and the rows earlier versions stored
    for it are left out. A check counts under the rules of its verdict's severity
    (``rules_that_decided``): blocked by A5 with an F6 warning is a block by A5."""
    if _rollups() and _on_span_edges([period.since, period.until]):
        hours = CheckCount.objects.filter(starts__gte=period.since, starts__lt=period.until).order_by()
        verdicts = dict(hours.values_list("verdict").annotate(n=Sum("checks")).values_list("verdict", "n"))
        blocked = list(hours.filter(verdict=Verdict.BLOCK).values_list("rule_ids").annotate(n=Sum("checks"))
                       .values_list("rule_ids", "n"))
    else:
        checks = ComplianceCheck.objects.of_attempts().filter(checked_at__gte=period.since,
                                                               checked_at__lt=period.until)
        verdicts = dict(checks.order_by().values_list("verdict").annotate(n=Count("pk")).values_list("verdict", "n"))
        blocked = [(rules_that_decided(Verdict.BLOCK, rule_ids, findings), 1) for rule_ids, findings in
                   checks.filter(verdict=Verdict.BLOCK).values_list("rule_ids", "findings").iterator(chunk_size=2000)]
    blocks: dict[str, int] = defaultdict(int)
    for rule_ids, n in blocked:
        for rule in rule_ids or ["?"]:
            blocks[rule] += n
    total = sum(verdicts.values())
    by_count = sorted(blocks.items(), key=lambda item: (-item[1], item[0]))
    rows = [["Attempts checked", Link(total, _checks_link(period)), None]]
    rows += [[f"Verdict: {Verdict(v).label}", Link(n, _checks_link(period, verdict=v)), _pct(n, total)]
             for v, n in sorted(verdicts.items())]
    rows += [[f"Blocked by {rule}", Link(n, _checks_link(period, verdict=Verdict.BLOCK, decided_by=rule))
              if rule != "?" else n, _pct(n, total)] for rule, n in by_count]
    # No block, no chart: an empty frame would read as a drawing that failed.
    chart = {"type": "bar", "labels": [rule for rule, _ in by_count],
             "datasets": [{"label": "Attempts blocked, by rule", "data": [n for _, n in by_count]}]} if by_count else {}
    today = timezone.localdate()
    newest: dict[str, date] = {}
    for area_code, version in (AreaCodeVersion.objects.filter(source__kind=RegistryKind.NATIONAL,
                                                              source__is_active=True)
                               .order_by().values_list("area_code").annotate(v=Max("version_date"))
                               .values_list("area_code", "v")):
        newest[area_code] = version
    stale = sorted(code for code, version in newest.items() if (today - version).days > 31)
    aging = sorted(code for code, version in newest.items() if 21 <= (today - version).days <= 31)
    notes = [COMPLIANCE_COUNTED, *([] if by_count else [NO_BLOCKS]),
             f"National registry data held for {len(newest)} area codes: {len(stale)} older than 31 days "
             f"(every call blocked, A3){': ' + ', '.join(stale[:20]) if stale else ''}; {len(aging)} aging (21-31 days)."]
    return Report(slug="compliance", title="Compliance checks and blocks",
                  columns=["What", "Attempts", "% of attempts"], rows=rows, chart=chart, notes=notes)


COMPLIANCE_COUNTED = (
    "Counted: the gate's decision on each attempt an agent logged (a call, text, email, letter or visit), "
    "allowed or refused. The verdict the outreach form shows while it is being filled in is not a decision "
    "and is not counted. An attempt counts under the rules that decided it: a block under the rules that "
    "blocked it, not those that only warned.")


# Counted by a periodic task every 10 minutes (leadcrm/schedules.py); older than this,
# the task is not running, and the report counts again while the broker waits.
DNC_COUNTS_MAX_AGE = timedelta(minutes=30)


def _dnc_counts_now() -> list[tuple[int, int, int]]:
    """(list, numbers, numbers on a DNC list) for every list with numbers, counted now.

    Every number joined to its lead's lists through its owner, not through the lead (a
    million rows more to hash). A lead is on a list once and a number is one owner's, so
    each number counts once per list without DISTINCT (which sorted them all)."""
    return _rows(
        f"SELECT m.lead_list_id, COUNT(*), COUNT(CASE WHEN p.on_dnc_list THEN 1 END) "
        f"FROM {Phone._meta.db_table} p JOIN {Contact._meta.db_table} c ON c.id = p.contact_id "
        f"JOIN {ListMembership._meta.db_table} m ON m.lead_id = c.lead_id GROUP BY 1", [])


def dnc_list_counts_refresh() -> int:
    """Count every list's numbers and those on a DNC list, and keep the counts for the
    report (``ListDncCount``): run by a periodic task, since with a million leads counting
    takes longer than a broker should wait. Safe to run twice at once: each run writes
    every list's row, and the later commit wins. Returns how many lists were counted."""
    with _reading():
        counts = _dnc_counts_now()
        now = timezone.now()
        ListDncCount.objects.bulk_create(
            [ListDncCount(lead_list_id=list_id, numbers=total, on_dnc=dnc, counted_at=now)
             for list_id, total, dnc in counts],
            update_conflicts=True, unique_fields=["lead_list"], update_fields=["numbers", "on_dnc", "counted_at"])
        # A list whose every number has gone since has no row in the counts.
        ListDncCount.objects.exclude(lead_list__in=[list_id for list_id, _, _ in counts]).delete()
    return len(counts)


@_read_only
def dnc_by_list(period: Period) -> Report:
    """Share of each list's numbers on a Do Not Call list (national, state or internal flags).

    From the counts the periodic task keeps (``dnc_list_counts_refresh``), saying when they
    were made; counted live when there are none or they are older than DNC_COUNTS_MAX_AGE."""
    lists = {pk: name for pk, name in LeadList.objects.values_list("pk", "name")}
    kept = list(ListDncCount.objects.values_list("lead_list_id", "numbers", "on_dnc", "counted_at"))
    counted_at = min((row[3] for row in kept), default=None)
    if counted_at is not None and timezone.now() - counted_at <= DNC_COUNTS_MAX_AGE:
        counts = [row[:3] for row in kept]
        when = (f"Counted at {timezone.localtime(counted_at):%b %-d, %Y %-I:%M %p %Z} ({timesince(counted_at)} "
                "ago) and again every 10 minutes: a number flagged, added or moved since then shows at the next "
                "count.")
    else:
        counts = _dnc_counts_now()
        when = "Counted as the page was made."
    rows = sorted(([lists.get(list_id, "?"), total, dnc, _pct(dnc, total)] for list_id, total, dnc in counts),
                  key=lambda row: (-(row[3] or 0), row[0]))
    chart = {"type": "bar", "labels": [row[0] for row in rows],
             "datasets": [{"label": "% of numbers on a DNC list", "data": [row[3] or 0 for row in rows]}]}
    return Report(slug="dnc-by-list", title="DNC hit rate per list", columns=["List", "Numbers", "On a DNC list", "%"],
                  rows=rows, chart=chart,
                  notes=[f"All the numbers on each list (the period does not apply). {when}"])


# Lenders, forecast, lists ------------------------------------------------------------


LENDER_NOT_GIVEN = "(neither servicer nor lender given)"
LENDER_TURNAROUND_NOTES = [
    "Days from the package submission an approval answers (the last one on its file on or before the "
    "approval's date) to the approval, for files first approved in the period. Each file is listed under "
    "its servicer; a file with no servicer recorded is listed under the lien's lender on record, and the "
    "second column says which.",
    "For a sense of scale: a short sale usually takes 60 to 180 days from the lender package to closing.",
]
APPROVALS_LEFT_OUT = ("{n} approval{s} in the period {are} dated before any package submission on {its} file, so no "
                      "turnaround can be worked out: {they} {are} left out and listed below. Check the dates recorded "
                      "on the lien stack.")


@_read_only
def lender_turnaround(period: Period) -> Report:
    """Days from package submitted to approval, per servicer (or lender), for files first
    approved in the period.

    Dated steps compared as dates, so no time zone moves a day. The start is the last
    package submission on or before the approval: a file resubmitted after a denial is
    timed from the package the lender approved, and a submission recorded after the
    approval (out of order) never makes a negative time. An approval with no submission
    before it is left out and listed."""
    approvals = (LenderMilestone.objects.in_force().filter(kind=Milestone.APPROVED).order_by().values("lender_file")
                 .annotate(approved=Min("occurred_on"))
                 .filter(approved__gte=period.start, approved__lte=period.end))
    approved_on = {row["lender_file"]: row["approved"] for row in approvals}
    files = {pk: (servicer.strip(), (lender or "").strip(), lead_id, street)
             for pk, servicer, lender, lead_id, street in LenderFile.objects.filter(
                 pk__in=approvals.values("lender_file")).values_list(
                 "pk", "servicer", "lien__lender", "lead_id", "lead__property__street")}
    submitted: dict[int, list[date]] = defaultdict(list)
    for file_id, day in (LenderMilestone.objects.in_force().filter(kind=Milestone.PACKAGE_SUBMITTED,
                                                        lender_file__in=approvals.values("lender_file"))
                         .order_by().values_list("lender_file", "occurred_on")):
        submitted[file_id].append(day)
    per_name: dict[str, dict] = {}
    left_out = []
    for file_id, approved in approved_on.items():
        servicer, lender, lead_id, street = files[file_id]
        before = [day for day in submitted.get(file_id, []) if day <= approved]
        if not before:
            left_out.append([Link(street or f"Lead {lead_id}", reverse("pipeline:lenders", args=[lead_id])), approved,
                             min(submitted[file_id]) if submitted.get(file_id) else None])
            continue
        name, named_as = (servicer, "servicer") if servicer else (lender, "lender") if lender else (LENDER_NOT_GIVEN, "")
        group = per_name.setdefault(name.casefold(), {"name": name, "days": [], "servicer": 0, "lender": 0})
        group["days"].append((approved - max(before)).days)
        if named_as:
            group[named_as] += 1
    rows = []
    for group in sorted(per_name.values(), key=lambda g: (-len(g["days"]), g["name"].casefold())):
        days = group["days"]
        typical, slow = _days_stats(days)
        rows.append([group["name"], _named_as(group["servicer"], group["lender"]), len(days), typical, slow,
                     min(days), max(days)])
    chart = {"type": "bar", "labels": [row[0] for row in rows], "datasets": [
        {"label": "Median days", "data": [row[3] for row in rows]},
        {"label": "80th percentile", "data": [row[4] for row in rows]}]}
    notes = list(LENDER_TURNAROUND_NOTES)
    tables = []
    if left_out:
        n = len(left_out)
        notes.append(APPROVALS_LEFT_OUT.format(n=n, s="" if n == 1 else "s", are="is" if n == 1 else "are",
                                               its="its" if n == 1 else "their", they="it" if n == 1 else "they"))
        tables.append({"caption": "Approvals dated before their package", "columns": [
            "Property", "Approved on", "First package submitted"],
            "rows": sorted(left_out, key=lambda row: (row[1], str(row[0])))})
    return Report(slug="lender-turnaround", title="Lender turnaround: package to approval",
                  columns=["Servicer or lender", "Named as", "Approvals", "Median days", "80th percentile days",
                           "Fastest", "Slowest"],
                  rows=rows, chart=chart, notes=notes, tables=tables)


def _named_as(as_servicer: int, as_lender: int) -> str:
    if as_servicer and as_lender:
        return f"servicer on {as_servicer}, lender on record on {as_lender} (no servicer given)"
    if as_lender:
        return "lender on record (no servicer given)"
    return "servicer" if as_servicer else "–"


FORECAST_MONTHS = 12
FORECAST_NOTES = [
    "Each open lead counts for its chance of closing, not as a closing: the chance that a lead in its stage, "
    "that long, goes on to close, learned from how the brokerage's leads left each stage (moved on, dropped "
    "out, or are still there). Its chance is spread over the days the stages ahead usually take. Closed: "
    "closing dates in the period; this month's forecast is for the days left in it.",
    "Likely: about 8 in 10 outcomes fall in this range, each lead closing or not on its own.",
]


def _leads_link(**filters) -> str:
    return f"{reverse('leads:list')}?{urlencode(filters)}"


def _closed_link(start: date, end: date) -> str:
    """The closed leads with a closing date from ``start`` to ``end``, in the admin's list of
    leads (the rows a month's "Closed" counts)."""
    query = {"stage": Stage.CLOSED, "closing_date__gte": start.isoformat(), "closing_date__lte": end.isoformat()}
    return f"{reverse('admin:leads_lead_changelist')}?{urlencode(query)}"


def _range(likely: tuple[int, int]) -> str:
    low, high = likely
    return f"{low}" if low == high else f"{low}–{high}"


@_read_only
def forecast_closings(period: Period) -> Report:
    """Closings per month: those that happened in the period, and those expected of the open
    leads, each weighed by its chance of closing (``pipeline.forecast``); with the chance by
    stage it rests on, and how the same forecast did when made 30, 60 and 90 days ago."""
    today = timezone.localdate()
    closed: dict[date, int] = defaultdict(int)
    for day, n in (Lead.objects.filter(stage=Stage.CLOSED, closing_date__gte=period.start,
                                       closing_date__lte=period.end)
                   .order_by().values_list("closing_date").annotate(n=Count("pk")).values_list("closing_date", "n")):
        closed[month_of(day)] += n
    # Kept by the periodic task; learned here (one walk over the stage moves) when not.
    model, tests = forecast_and_back_tests(today)
    zone = timezone.get_current_timezone()
    # A lead's forecast depends on its stage and the day it entered it (the current zone,
    # as forecast_for reads it): worked out once per stage and day.
    open_leads = {(Stage(stage), entered): n for stage, entered, n in (
        Lead.objects.filter(stage__in=FUNNEL_STAGES).annotate(entered=TruncDate("stage_entered_at", tzinfo=zone))
        .order_by().values_list("stage", "entered").annotate(n=Count("pk")).values_list("stage", "entered", "n"))}
    months, later = closings_by_month(model=model, open_leads=open_leads, today=today, months=FORECAST_MONTHS)
    # The months ahead worth a row: up to the last one expecting a tenth of a closing or more.
    ahead = [month for month, forecast in months.items() if forecast.expected >= 0.05]
    shown = sorted(set(closed) | {month_of(today)} | ({m for m in months if m <= max(ahead)} if ahead else set()))
    rows = []
    for month in shown:
        last = min(_month_end(month), period.end)
        count = closed.get(month, 0)
        closed_cell = Link(count, _closed_link(max(month, period.start), last)) if count else count
        forecast = months.get(month)
        rows.append([f"{month:%Y-%m}", closed_cell if month <= today else None,
                     round(forecast.expected, 1) if forecast else None,
                     _range(forecast.likely) if forecast else None])
    notes = list(FORECAST_NOTES)
    if later >= 0.05:
        notes.append(f"A further {later:.1f} closings are expected after {max(months):%B %Y}.")
    misses = [abs(test.error) for test in tests if test.open_leads]
    if tests[0].open_leads:
        notes.append(
            f"How it did: made {BACK_TEST_WINDOWS[0]} days ago from what was known then, it expected "
            f"{tests[0].expected:.1f} closings of the {tests[0].open_leads:,} "
            f"lead{'s' if tests[0].open_leads != 1 else ''} open then in the "
            f"{BACK_TEST_DAYS} days that followed; {tests[0].closed} of them closed (off by {tests[0].error:+.1f}). "
            f"Over the last {len(misses)} such forecast{'s' if len(misses) > 1 else ''} it was off by "
            f"{sum(misses) / len(misses):.1f} closings on average.")
    else:
        notes.append(f"How it did: no lead was open {BACK_TEST_WINDOWS[0]} days ago, so there is nothing to "
                     "check the forecast against yet.")
    chart = {"type": "bar", "labels": [row[0] for row in rows], "datasets": [
        {"label": "Closed", "data": [plain(row[1]) or 0 for row in rows]},
        {"label": "Forecast (expected closings)", "data": [row[2] or 0 for row in rows]}]}
    return Report(slug="forecast", title="Closings by month, actual and forecast",
                  columns=["Month", "Closed", "Forecast", "Likely"], rows=rows, chart=chart, notes=notes,
                  tables=[_chances_by_stage(model, open_leads, today), _back_test_table(tests)])


def _month_end(month: date) -> date:
    return (month + timedelta(days=32)).replace(day=1) - timedelta(days=1)


def _chances_by_stage(model, open_leads: dict, today: date) -> dict:
    rows = []
    for stage in FUNNEL_STAGES:
        here = {entered: n for (s, entered), n in open_leads.items() if s == stage}
        count = sum(here.values())
        expected = sum(n * model.chance(stage, (today - entered).days) for entered, n in here.items())
        left, moved_on = model.observed[stage]
        rows.append([Stage(stage).label, Link(count, _leads_link(stage=stage)) if count else 0, round(expected, 1),
                     f"{100 * model.chance(stage, 0):.0f}%", f"{moved_on:,.0f} of {left:,.0f}"])
    return {"caption": "What the forecast rests on", "note": (
        "Each stage's open leads and the closings expected of them (the sum of their chances); the chance of a "
        "lead just entering the stage; and the brokerage's leads that have left the stage, how many of them "
        f"moving on. Where those are few, a starting assumption worth {PRIOR_LEADS} leads per stage weighs in: "
        + ", ".join(f"{Stage(stage).label} {100 * share:.0f}%" for stage, share in PRIOR_MOVE_ON.items())
        + " move on: half of those by the stage's typical days, four in five by its slow days, the rest later; "
          "those that drop out take twice as long. Past the brokerage's own leads, the assumption alone decides."),
        "columns": ["Stage", "Open leads", "Expected to close", "Chance on entering", "Moved on, of those that left"],
        "rows": rows}


def _leads_by_id_link(ids) -> str:
    """These leads, in the admin's list of leads."""
    return f"{reverse('admin:leads_lead_changelist')}?{urlencode({'id__in': ','.join(map(str, ids))})}"


def _back_test_table(tests: list) -> dict:
    rows = [[f"{test.made_on:%b %-d, %Y}", f"{test.made_on:%b %-d} – {test.until:%b %-d}", test.open_leads,
             round(test.expected, 1), _range(test.likely),
             Link(test.closed, _leads_by_id_link(test.closed_leads)) if test.closed else 0,
             f"{test.error:+.1f}"] for test in tests]
    return {"caption": "How the forecast did", "note": (
        f"The same forecast as it would have been made {', '.join(map(str, BACK_TEST_WINDOWS))} days ago, from "
        f"only the stage moves known then, for the leads open then: the closings it expected of them in the "
        f"{BACK_TEST_DAYS} days that followed, against how many of those same leads closed (a lead created "
        "since was no part of the forecast and is not counted)."),
        "columns": ["Made on", "For", "Open leads then", "Forecast", "Likely", "Closed of those", "Off by"],
        "rows": rows}


@_read_only
def list_closings(period: Period) -> Report:
    """Which lists produced closings in the period (a lead on several lists counts for each)."""
    on_list = dict(ListMembership.objects.order_by().values_list("lead_list").annotate(n=Count("pk"))
                   .values_list("lead_list", "n"))
    closings = dict(ListMembership.objects.filter(lead__stage=Stage.CLOSED, lead__closing_date__gte=period.start,
                                                  lead__closing_date__lte=period.end)
                    .order_by().values_list("lead_list").annotate(n=Count("pk")).values_list("lead_list", "n"))
    names = dict(LeadList.objects.values_list("pk", "name"))
    rows = sorted(([names.get(pk, "?"), Link(leads, _leads_link(list=pk, status="all")), closings.get(pk, 0),
                    _pct(closings.get(pk, 0), leads)] for pk, leads in on_list.items()),
                  key=lambda row: (-row[2], row[0]))
    chart = {"type": "bar", "labels": [row[0] for row in rows],
             "datasets": [{"label": "Closings", "data": [row[2] for row in rows]}]}
    return Report(slug="list-closings", title="Lists that produced closings",
                  columns=["List", "Leads on it", "Closed in the period", "% closed"], rows=rows, chart=chart)


REPORTS = {
    "funnel": ("Funnel conversion", lambda period: funnel(period)),
    "funnel-list": ("Funnel by list", lambda period: funnel(period, by="list")),
    "funnel-source": ("Funnel by source", lambda period: funnel(period, by="source")),
    "time-in-stage": ("Time in stage", time_in_stage),
    "agent-activity": ("Agent activity per week", agent_activity),
    "compliance": ("Compliance checks and blocks", compliance),
    "dnc-by-list": ("DNC hit rate per list", dnc_by_list),
    "lender-turnaround": ("Lender turnaround", lender_turnaround),
    "forecast": ("Closings by month", forecast_closings),
    "list-closings": ("Lists that produced closings", list_closings),
}
