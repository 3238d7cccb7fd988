"""The broker's reports, as pages of the admin (issue 8): a period, a chart, its table, and
the table as CSV or XLSX with formula-looking cells neutralised."""

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
from leadcrm.csv_export import Echo, safe_cell

from .reports import REPORTS, Period


def _broker_only(request) -> None:
    if not (request.user.is_active and request.user.is_staff and request.user.has_perm(Perm.VIEW_ALL_LEADS)):
        raise PermissionDenied


def report_index(request):
    _broker_only(request)
    period, problems = Period.from_params(request.GET)
    return TemplateResponse(request, "admin/reports/index.html", {
        **admin.site.each_context(request), "title": "Reports", "reports": [(slug, title) for slug, (title, _) in
                                                                            REPORTS.items()],
        "period": period, "problems": problems})


def report_page(request, slug):
    _broker_only(request)
    if slug not in REPORTS:
        raise Http404("No such report.")
    period, problems = Period.from_params(request.GET)
    report = REPORTS[slug][1](period)
    wanted = request.GET.get("format")
    if wanted == "csv":
        return _csv(report, period)
    if wanted == "xlsx":
        return _xlsx(report, period)
    return TemplateResponse(request, "admin/reports/report.html", {
        **admin.site.each_context(request), "title": report.title, "report": report, "period": period,
        "problems": problems, "reports": [(s, title) for s, (title, _) in REPORTS.items()], "slug": slug,
        "query": f"from={period.start.isoformat()}&to={period.end.isoformat()}"})


def _filename(report, period, extension: str) -> str:
    return f"{report.slug}_{period.start.isoformat()}_{period.end.isoformat()}.{extension}"


def _csv(report, period) -> StreamingHttpResponse:
    writer = csv.writer(Echo())
    rows = (writer.writerow([safe_cell(cell) for cell in row]) for row in [report.columns, *report.rows])
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
        sheet.append([cell if isinstance(cell, int | float) or cell is None else safe_cell(cell) for cell in row])
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
