"""The broker's reports, as pages of the admin: a period, a chart, its table, and the
table as CSV or XLSX with formula-looking cells neutralised. Each is read from the read
replica when there is one and it is fresh enough (docs/database.md#read-replica)."""

from __future__ import annotations

import csv
import io

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.urls import path
from openpyxl import Workbook
from openpyxl.workbook.child import INVALID_TITLE_REGEX

from leadcrm.accounts.roles import Perm
from leadcrm.shared.csv_export import Echo, safe_cell
from leadcrm.shared.replica import Source, read_on_replica

from .activity import ACTIVITY_COUNTS, activity_by_agent, activity_by_week
from .period import Link, Period, Report, plain
from .registry import REPORTS

NO_SUCH_AGENT = "No activity for that agent in this period: the totals for everyone instead."


def _broker_only(request) -> None:
    if not (request.user.is_active and request.user.is_staff and request.user.has_perm(Perm.VIEW_ALL_LEADS)):
        raise PermissionDenied


def report_read(request, slug: str) -> tuple[Report, Period, list[str], Source]:
    """A report as its page reads it, for the page and the API alike: the broker's only,
    for the period asked (``from``, ``to``; what was wrong with them, said), on the read
    replica when there is one and it is fresh enough, and where it was read."""
    _broker_only(request)
    if slug not in REPORTS:
        raise Http404("No such report.")
    period, problems = Period.from_params(request.GET)
    report, source = read_on_replica(REPORTS[slug][1], period, request=request)
    return report, period, problems, source


def report_index(request):
    _broker_only(request)
    period, problems = Period.from_params(request.GET)
    return TemplateResponse(request, "admin/reports/index.html", {
        **admin.site.each_context(request), "title": "Reports", "reports": [(slug, title) for slug, (title, _) in
                                                                            REPORTS.items()],
        "period": period, "problems": problems})


def report_page(request, slug):
    # On the read replica when there is one and it is fresh enough; the page says where from.
    report, period, problems, source = report_read(request, slug)
    wanted = request.GET.get("format")
    if wanted == "csv":
        return _csv(report, period)
    if wanted == "xlsx":
        return _xlsx(report, period)
    query = f"from={period.start.isoformat()}&to={period.end.isoformat()}"
    if slug == "agent-activity":
        tables, chart = _agent_activity_tables(request, report, query, problems)
    else:
        # The compliance report's rows name rules ("Blocked by D3"): their codes link to the rules page.
        tables = [{"columns": report.columns, "rows": report.rows, "codes": slug == "compliance"}, *report.tables]
        chart = report.chart
    return TemplateResponse(request, "admin/reports/report.html", {
        **admin.site.each_context(request), "title": report.title, "report": report, "period": period,
        "problems": problems, "reports": [(s, title) for s, (title, _) in REPORTS.items()], "slug": slug,
        "query": query, "tables": tables, "chart": chart, "source": source})


def _agent_activity_tables(request, report: Report, query: str, problems: list[str]) -> tuple[list[dict], dict]:
    """A year of a hundred agents is 5,300 agent-weeks: too many to read (or render) as one
    table. The page shows each agent's totals and the week totals, and one agent's weeks
    when asked (``?agent=<id>``); the exports still give every agent-week."""
    exported = (f"The exports (CSV, Excel) give every agent's every week: {len(report.rows):,} rows "
                "in this period.")
    wanted = request.GET.get("agent")
    if wanted:
        agent = int(wanted) if wanted.isdigit() else None
        theirs = {row[0]: row for key, row in zip(report.keys, report.rows, strict=True) if key == agent}
        if theirs:
            name = next(iter(theirs.values()))[1]
            # Every week anyone worked, a quiet one as zeros: the chart's weeks stay evenly spaced.
            weeks = [[week, *theirs.get(week, [week, name, 0, 0, 0, 0])[2:]]
                     for week, *_totals in activity_by_week(report)]
            chart = {"type": "line", "labels": [f"{row[0]:%b %-d}" for row in weeks], "datasets": [
                {"label": label, "data": [row[1 + i] for row in weeks]} for i, label in enumerate(ACTIVITY_COUNTS)]}
            return [{"caption": f"{name}: week by week", "back": Link("All agents", f"?{query}"), "agent": agent,
                     "note": exported, "columns": ["Week of", *ACTIVITY_COUNTS], "rows": weeks}], chart
        problems.append(NO_SUCH_AGENT)
    agents = [[Link(name, f"?{query}&agent={agent}"), *counts] for agent, (name, *counts) in activity_by_agent(report)]
    return [
        {"caption": "Agents", "note": "Each agent's totals for the period: pick an agent to see their weeks. "
                                      + exported,
         "columns": ["Agent", "Weeks with activity", *ACTIVITY_COUNTS], "rows": agents},
        {"caption": "Week totals", "columns": ["Week of", "Agents with activity", *ACTIVITY_COUNTS],
         "rows": activity_by_week(report)},
    ], report.chart


def _filename(report, period, extension: str) -> str:
    return f"{report.slug}_{period.start.isoformat()}_{period.end.isoformat()}.{extension}"


def _csv(report, period) -> StreamingHttpResponse:
    writer = csv.writer(Echo())
    rows = (writer.writerow([safe_cell(plain(cell)) for cell in row]) for row in [report.columns, *report.rows])
    response = StreamingHttpResponse(rows, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{_filename(report, period, "csv")}"'
    return response


def _xlsx(report, period) -> HttpResponse:
    book = Workbook(write_only=True)
    # Excel refuses some characters in a sheet's name ("Lender turnaround: ...").
    sheet = book.create_sheet(title=INVALID_TITLE_REGEX.sub("", report.title)[:31])
    sheet.append([safe_cell(column) for column in report.columns])
    for row in report.rows:
        # Numbers stay numbers; text that Excel would run as a formula is kept as text.
        cells = [plain(cell) for cell in row]
        sheet.append([cell if isinstance(cell, int | float) or cell is None else safe_cell(cell) for cell in cells])
    buffer = io.BytesIO()
    book.save(buffer)
    response = HttpResponse(buffer.getvalue(),
                            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = f'attachment; filename="{_filename(report, period, "xlsx")}"'
    return response


def urls():
    """Under /admin/reports/, behind the admin's own login (``admin_view``)."""
    return [
        path("", admin.site.admin_view(report_index), name="reports"),
        path("<slug:slug>/", admin.site.admin_view(report_page), name="report"),
    ]
