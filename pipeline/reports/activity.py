"""Agent activity per week: attempts, conversations, appointments, listings."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta

from django.db.models import Count, Q
from django.db.models.functions import TruncWeek
from django.utils import timezone

from leadcrm.accounts.models import User
from leads.models import Stage
from pipeline.models import (
    REACHED_OUTCOMES,
    Outcome,
    OutreachAttempt,
    OutreachCount,
    StageChange,
)

from .period import Period, Report, read_only, rollups_kept, sql_rows, week_edges

# Agent activity ----------------------------------------------------------------------


@read_only
def agent_activity(period: Period) -> Report:
    """Per agent and week: attempts logged, conversations, appointments, listings (moves into Negotiate)."""
    edges = week_edges(period) if rollups_kept() else None
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
    for bucket, agent, attempts, talks, appointments in sql_rows(
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
