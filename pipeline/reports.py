"""The broker's reports (issue 8): each a table and the chart drawn from it, for a period.

Every report is a function of a ``Period`` returning a ``Report``: columns, rows (plain
values, exported as they are to CSV and XLSX), and a chart spec (Chart.js's type, labels
and datasets) drawn by the page. Reads only; grouped in the database, never one query
per row.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from statistics import median

from django.db.models import Case, Count, IntegerField, Max, Min, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Coalesce, TruncWeek
from django.utils import timezone

from compliance.models import AreaCodeVersion, ComplianceCheck, RegistryKind, Verdict
from leadcrm.accounts.models import User
from leads.models import FUNNEL_STAGES, Lead, LeadList, ListMembership, Phone, Stage

from .forecast import _percentile, forecast_for, stage_durations
from .models import REACHED_OUTCOMES, LenderMilestone, Milestone, Outcome, OutreachAttempt, StageChange

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


@dataclass
class Report:
    slug: str
    title: str
    columns: list[str]
    rows: list[list]
    chart: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _pct(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _days_stats(values: list[float]) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    return round(median(values), 1), round(_percentile(values, 0.8), 1)


# Funnel ---------------------------------------------------------------------------------


def _reached_index():
    """How far each lead got: its furthest stage moved into, or its stage now (a lead still
    open in Close reached Close; a dead one, the furthest it reached before)."""
    order = {stage: index for index, stage in enumerate(REACH_ORDER)}
    furthest = (StageChange.objects.filter(lead=OuterRef("pk"))
                .annotate(i=Case(*[When(to_stage=stage, then=Value(i)) for stage, i in order.items()],
                                 default=Value(0), output_field=IntegerField()))
                .order_by("-i").values("i")[:1])
    moved = Coalesce(Subquery(furthest, output_field=IntegerField()), Value(0))
    now = Case(*[When(stage=stage, then=Value(i)) for stage, i in order.items()], default=Value(0),
               output_field=IntegerField())
    return moved, now


def funnel(period: Period, by: str = "stage") -> Report:
    """Leads that came in during the period, and how far they got: per stage, and by list or source."""
    moved, now = _reached_index()
    leads = Lead.objects.filter(created_at__gte=period.since, created_at__lt=period.until)
    group_field = {"list": "source_list__name", "source": "source"}.get(by)
    values = [group_field] if group_field else []
    rows_by_group: dict[str, list[int]] = defaultdict(lambda: [0] * len(REACH_ORDER))
    for row in (leads.annotate(moved=moved, now_at=now).values(*values, "moved", "now_at")
                .annotate(n=Count("pk")).order_by()):
        group = (row[group_field] or "(none)") if group_field else "All leads"
        if by == "source":
            group = dict(Lead._meta.get_field("source").choices).get(group, group)
        reached = max(row["moved"] or 0, row["now_at"] or 0)
        for index in range(reached + 1):
            rows_by_group[group][index] += row["n"]
    labels = [Stage(stage).label for stage in REACH_ORDER]
    columns = ["Group" if group_field else "", *[f"Reached {label}" for label in labels], "List to closed %"]
    rows = [[group, *counts, _pct(counts[-1], counts[0])]
            for group, counts in sorted(rows_by_group.items(), key=lambda item: -item[1][0])]
    if not group_field:
        columns[0] = "Leads"
    totals = [sum(counts[i] for counts in rows_by_group.values()) for i in range(len(REACH_ORDER))]
    chart = {"type": "bar", "labels": labels,
             "datasets": [{"label": "Leads that reached the stage", "data": totals}]}
    notes = [f"{totals[0]:,} leads came in; " + ", ".join(
        f"{_pct(totals[i], totals[i - 1]) or 0}% went on to {labels[i]}" for i in range(1, len(labels)))]
    title = {"list": "Funnel conversion by list", "source": "Funnel conversion by source"}.get(by, "Funnel conversion")
    return Report(slug=f"funnel-{by}" if group_field else "funnel", title=title, columns=columns, rows=rows,
                  chart=chart, notes=notes)


# Time in stage -----------------------------------------------------------------------


def time_in_stage(period: Period) -> Report:
    """Days spent in each stage by leads that left it during the period: median and 80th percentile."""
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
    rows = []
    for stage in FUNNEL_STAGES:
        typical, slow = _days_stats(spent.get(stage, []))
        rows.append([Stage(stage).label, len(spent.get(stage, [])), typical, slow])
    chart = {"type": "bar", "labels": [row[0] for row in rows], "datasets": [
        {"label": "Median days", "data": [row[2] or 0 for row in rows]},
        {"label": "80th percentile", "data": [row[3] or 0 for row in rows]}]}
    return Report(slug="time-in-stage", title="Time in stage", columns=["Stage", "Leads that left it", "Median days",
                  "80th percentile days"], rows=rows, chart=chart,
                  notes=["Counted when a lead leaves a stage within the period, from when it entered it."])


# Agent activity ----------------------------------------------------------------------


def agent_activity(period: Period) -> Report:
    """Per agent and week: attempts logged, conversations, appointments, listings (moves into Negotiate)."""
    # An entry corrected later counts as its correction says (the log is append-only).
    attempts = (OutreachAttempt.objects.filter(occurred_at__gte=period.since, occurred_at__lt=period.until,
                                               corrections__isnull=True)
                .annotate(week=TruncWeek("occurred_at")).values("week", "agent")
                .annotate(attempts=Count("pk"), talks=Count("pk", filter=Q(outcome__in=REACHED_OUTCOMES)),
                          appointments=Count("pk", filter=Q(outcome=Outcome.APPOINTMENT_SET))).order_by())
    listings = (StageChange.objects.filter(changed_at__gte=period.since, changed_at__lt=period.until,
                                           to_stage=Stage.NEGOTIATE, changed_by__isnull=False)
                .annotate(week=TruncWeek("changed_at")).values("week", "changed_by")
                .annotate(n=Count("pk")).order_by())
    table: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for row in attempts:
        table[(_week(row["week"]), row["agent"])][:3] = [row["attempts"], row["talks"], row["appointments"]]
    for row in listings:
        table[(_week(row["week"]), row["changed_by"])][3] = row["n"]
    names = {user.pk: str(user) for user in User.objects.filter(pk__in={agent for _, agent in table})}
    rows = [[week, names.get(agent, "?"), *counts] for (week, agent), counts in
            sorted(table.items(), key=lambda item: (item[0][0], names.get(item[0][1], "")))]
    weeks = sorted({week for week, _ in table})
    per_week = {week: [0, 0, 0, 0] for week in weeks}
    for (week, _agent), counts in table.items():
        per_week[week] = [a + b for a, b in zip(per_week[week], counts, strict=True)]
    chart = {"type": "line", "labels": [f"{week:%b %-d}" for week in weeks], "datasets": [
        {"label": label, "data": [per_week[week][i] for week in weeks]}
        for i, label in enumerate(["Attempts", "Conversations", "Appointments", "Listings"])]}
    return Report(slug="agent-activity", title="Agent activity per week",
                  columns=["Week of", "Agent", "Attempts", "Conversations", "Appointments", "Listings"],
                  rows=rows, chart=chart,
                  notes=["Conversations: talked or appointment set. Listings: leads moved into Negotiate."])


def _week(value) -> date:
    return value.date() if isinstance(value, datetime) else value


# Compliance --------------------------------------------------------------------------


def compliance(period: Period) -> Report:
    """Checks made, blocks by rule, and how fresh the national registry data is."""
    checks = ComplianceCheck.objects.filter(checked_at__gte=period.since, checked_at__lt=period.until)
    verdicts = dict(checks.order_by().values_list("verdict").annotate(n=Count("pk")).values_list("verdict", "n"))
    blocks: dict[str, int] = defaultdict(int)
    for rule_ids, n in (checks.filter(verdict=Verdict.BLOCK).order_by().values_list("rule_ids")
                        .annotate(n=Count("pk")).values_list("rule_ids", "n")):
        for rule in rule_ids or ["?"]:
            blocks[rule] += n
    total = sum(verdicts.values())
    rows = [["All checks", total, None], *[[f"Verdict: {Verdict(v).label}", n, _pct(n, total)]
                                            for v, n in sorted(verdicts.items())]]
    rows += [[f"Blocked by {rule}", n, _pct(n, total)] for rule, n in sorted(blocks.items(), key=lambda i: -i[1])]
    chart = {"type": "bar", "labels": [rule for rule, _ in sorted(blocks.items(), key=lambda i: -i[1])],
             "datasets": [{"label": "Checks blocked, by rule", "data": [n for _, n in sorted(
                 blocks.items(), key=lambda i: -i[1])]}]}
    today = timezone.localdate()
    newest: dict[str, date] = {}
    for area_code, version in (AreaCodeVersion.objects.filter(source__kind=RegistryKind.NATIONAL,
                                                              source__is_active=True)
                               .order_by().values_list("area_code").annotate(v=Max("version_date"))
                               .values_list("area_code", "v")):
        newest[area_code] = version
    stale = sorted(code for code, version in newest.items() if (today - version).days > 31)
    aging = sorted(code for code, version in newest.items() if 21 <= (today - version).days <= 31)
    notes = [f"National registry data held for {len(newest)} area codes: {len(stale)} older than 31 days "
             f"(every call blocked, A3){': ' + ', '.join(stale[:20]) if stale else ''}; {len(aging)} aging (21-31 days)."]
    return Report(slug="compliance", title="Compliance checks and blocks", columns=["What", "Checks", "% of checks"],
                  rows=rows, chart=chart, notes=notes)


def dnc_by_list(period: Period) -> Report:
    """Share of each list's numbers on a Do Not Call list (national, state or internal flags)."""
    lists = {pk: name for pk, name in LeadList.objects.values_list("pk", "name")}
    counts = (Phone.objects.filter(contact__lead__lists__isnull=False).values("contact__lead__lists")
              .annotate(total=Count("pk", distinct=True), dnc=Count("pk", filter=Q(on_dnc_list=True), distinct=True))
              .order_by())
    rows = sorted(([lists.get(row["contact__lead__lists"], "?"), row["total"], row["dnc"], _pct(row["dnc"], row["total"])]
                   for row in counts), key=lambda row: -(row[3] or 0))
    chart = {"type": "bar", "labels": [row[0] for row in rows],
             "datasets": [{"label": "% of numbers on a DNC list", "data": [row[3] or 0 for row in rows]}]}
    return Report(slug="dnc-by-list", title="DNC hit rate per list", columns=["List", "Numbers", "On a DNC list", "%"],
                  rows=rows, chart=chart, notes=["All the numbers on each list now (the period does not apply)."])


# Lenders, forecast, lists ------------------------------------------------------------


def lender_turnaround(period: Period) -> Report:
    """Days from package submitted to approval, per servicer, for approvals in the period."""
    files = (LenderMilestone.objects.values("lender_file", "lender_file__servicer")
             .annotate(submitted=Min("occurred_on", filter=Q(kind=Milestone.PACKAGE_SUBMITTED)),
                       approved=Min("occurred_on", filter=Q(kind=Milestone.APPROVED)))
             .filter(approved__gte=period.start, approved__lte=period.end, submitted__isnull=False).order_by())
    per_servicer: dict[str, list[float]] = defaultdict(list)
    for row in files:
        per_servicer[row["lender_file__servicer"] or "(servicer not given)"].append(
            (row["approved"] - row["submitted"]).days)
    rows = []
    for servicer, days in sorted(per_servicer.items(), key=lambda item: -len(item[1])):
        typical, slow = _days_stats(days)
        rows.append([servicer, len(days), typical, slow, min(days), max(days)])
    chart = {"type": "bar", "labels": [row[0] for row in rows], "datasets": [
        {"label": "Median days", "data": [row[2] for row in rows]},
        {"label": "80th percentile", "data": [row[3] for row in rows]}]}
    return Report(slug="lender-turnaround", title="Lender turnaround: package to approval",
                  columns=["Servicer", "Approvals", "Median days", "80th percentile days", "Fastest", "Slowest"],
                  rows=rows, chart=chart, notes=["DOMAIN 4b: 60-180 days is typical from package to closing."])


def forecast_closings(period: Period) -> Report:
    """Closings per month: those that happened in the period, and those forecast for open deals."""
    closed = defaultdict(int)
    for day in Lead.objects.filter(stage=Stage.CLOSED, closing_date__gte=period.start,
                                   closing_date__lte=period.end).values_list("closing_date", flat=True):
        closed[day.replace(day=1)] += 1
    durations = stage_durations()
    expected = defaultdict(int)
    for lead in Lead.objects.filter(stage__in=[Stage.QUALIFY, Stage.NEGOTIATE, Stage.CLOSE]).only(
            "pk", "stage", "stage_entered_at").iterator(chunk_size=2000):
        forecast = forecast_for(lead, durations=durations)
        if forecast is not None:
            middle = forecast.earliest + (forecast.latest - forecast.earliest) / 2
            expected[middle.replace(day=1)] += 1
    months = sorted(set(closed) | set(expected))
    rows = [[f"{month:%Y-%m}", closed.get(month, 0), expected.get(month, 0)] for month in months]
    chart = {"type": "bar", "labels": [row[0] for row in rows], "datasets": [
        {"label": "Closed", "data": [row[1] for row in rows]},
        {"label": "Forecast (open deals, middle of their range)", "data": [row[2] for row in rows]}]}
    return Report(slug="forecast", title="Closings by month, actual and forecast",
                  columns=["Month", "Closed", "Forecast"], rows=rows, chart=chart,
                  notes=["A forecast is a range; each open deal in Qualify, Negotiate or Close is counted in the "
                         "month at the middle of its range."])


def list_closings(period: Period) -> Report:
    """Which lists produced closings in the period (a lead on several lists counts for each)."""
    on_list = dict(ListMembership.objects.order_by().values_list("lead_list").annotate(n=Count("pk"))
                   .values_list("lead_list", "n"))
    closings = dict(ListMembership.objects.filter(lead__stage=Stage.CLOSED, lead__closing_date__gte=period.start,
                                                  lead__closing_date__lte=period.end)
                    .order_by().values_list("lead_list").annotate(n=Count("pk")).values_list("lead_list", "n"))
    names = dict(LeadList.objects.values_list("pk", "name"))
    rows = sorted(([names.get(pk, "?"), leads, closings.get(pk, 0), _pct(closings.get(pk, 0), leads)]
                   for pk, leads in on_list.items()), key=lambda row: (-row[2], row[0]))
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
