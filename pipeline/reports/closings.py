"""Closings: the forecast by month, and the lists that produced closings."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from leads.models import FUNNEL_STAGES, Lead, LeadList, LeadSourceKey, LeadSourcePost, ListMembership, Stage
from pipeline.deals.forecast.back_tests import BACK_TEST_DAYS, BACK_TEST_WINDOWS, forecast_and_back_tests
from pipeline.deals.forecast.months import closings_by_month, month_of
from pipeline.deals.forecast.prior import PRIOR_LEADS, PRIOR_MOVE_ON

from .period import Link, Period, Report, money, pct, plain, read_only

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


@read_only
def forecast_closings(period: Period) -> Report:
    """Closings per month: those that happened in the period, and those expected of the open
    leads, each weighed by its chance of closing (``pipeline.deals.forecast``); with the chance by
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


@read_only
def list_closings(period: Period) -> Report:
    """Which lists and lead sources produced closings in the period (a lead on several lists
    counts for each), and, where a cost is entered, what a lead and a closing cost.

    A list's cost is what all its uploads cost; a source's, the cost per lead of each post's
    day times its posts (a post matching a house already held is paid for too). Both are
    divided by every lead and every closing so far, not the period's: a list is bought once
    and closes over months. See docs/architecture.md#cost."""
    closed_in_period = {"lead__stage": Stage.CLOSED, "lead__closing_date__gte": period.start,
                        "lead__closing_date__lte": period.end}
    on_list = dict(ListMembership.objects.order_by().values_list("lead_list").annotate(n=Count("pk"))
                   .values_list("lead_list", "n"))
    closings = dict(ListMembership.objects.filter(**closed_in_period)
                    .order_by().values_list("lead_list").annotate(n=Count("pk")).values_list("lead_list", "n"))
    closed_ever = dict(ListMembership.objects.filter(lead__stage=Stage.CLOSED)
                       .order_by().values_list("lead_list").annotate(n=Count("pk")).values_list("lead_list", "n"))
    lists = {pk: (name, cost) for pk, name, cost in LeadList.objects.values_list("pk", "name", "cost")}
    rows = []
    for pk, leads in on_list.items():
        name, cost = lists.get(pk, ("?", None))
        rows.append(_cost_row(name, Link(leads, _leads_link(list=pk, status="all")), leads, closings.get(pk, 0),
                              closed_ever.get(pk, 0), cost))
    posts = LeadSourcePost.objects.order_by().values("source_key")
    posted = {row["source_key"]: row for row in posts.annotate(
        leads=Count("lead", distinct=True), cost=Sum("cost"),
        closed_ever=Count("lead", distinct=True, filter=Q(lead__stage=Stage.CLOSED)),
        closed=Count("lead", distinct=True, filter=Q(**closed_in_period)))}
    for pk, name in LeadSourceKey.objects.filter(pk__in=posted).values_list("pk", "name"):
        row = posted[pk]
        rows.append(_cost_row(f"{name} (lead source)", row["leads"], row["leads"], row["closed"], row["closed_ever"],
                              row["cost"]))
    rows.sort(key=lambda row: (-row[2], str(row[0])))
    chart = {"type": "bar", "labels": [row[0] for row in rows],
             "datasets": [{"label": "Closings", "data": [row[2] for row in rows]}]}
    notes = ["Cost per lead and per closing divide what a list or a source cost by all its leads and closings so "
             "far. Enter a list's cost when you import it (or on the list in the admin); a source's cost per lead "
             "on its key."]
    return Report(slug="list-closings", title="Lists and sources that produced closings",
                  columns=["List or source", "Leads from it", "Closed in the period", "% closed", "Cost",
                           "Cost per lead", "Closed so far", "Cost per closing"], rows=rows, chart=chart, notes=notes)


def _cost_row(name: str, leads_cell, leads: int, closed: int, closed_ever: int, cost) -> list:
    return [name, leads_cell, closed, pct(closed, leads), money(cost), money(cost, leads), closed_ever,
            money(cost, closed_ever)]
