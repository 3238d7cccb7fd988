"""The lead list to CSV or XLSX: the same filter as the list (``LeadFilter``'s query
string), the user's visible leads only.

Up to ``EXPORT_STREAM_MAX`` rows the file is sent at once (CSV streamed a row at a time,
XLSX written by openpyxl's write-only mode); more go to a background job
(``pipeline.tasks.lead_export_run``) that writes the file to the project's storage and
tells the user it is ready, with a link only they can open. Rows are read in chunks
(``CHUNK``): each chunk costs the same few queries however many rows it holds, and no
more than a chunk of leads is held in memory.

Every text cell goes through ``safe_cell``: a name or note starting with ``=`` stays text.
"""

from __future__ import annotations

import csv
import io
import logging
import tempfile
import zoneinfo
from collections.abc import Iterable, Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from itertools import islice

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.files import File
from django.db import transaction
from django.db.models import OuterRef, Q, Subquery
from django.http import FileResponse, HttpResponseRedirect, QueryDict, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.views import View
from django.views.generic import ListView
from openpyxl import Workbook
from openpyxl.utils import get_column_letter

from compliance.selectors import lead_list
from leadcrm.accounts.models import User
from leadcrm.shared.csv_export import Echo, safe_cell
from leadcrm.shared.pagination import capped_total
from leadcrm.shared.queue import QueuePaused, enqueue
from leadcrm.shared.uploads import stored_response
from leads.models import Email, EmailStatus, ForeclosureRecord, LeadSource, Phone, PhoneStatus, Stage
from leads.phones import format_national
from leads.selectors import lead_owner_names
from pipeline.models import (
    ExportFormat,
    ExportStatus,
    LeadExport,
    Notification,
    NotificationKind,
)
from pipeline.reminders.notifications import raise_once

logger = logging.getLogger(__name__)

EXPORT_STREAM_MAX = 5000  # rows sent at once; more go to a background job
EXPORT_KEEP_DAYS = 7  # a job's file can be downloaded this long, then it is deleted
CHUNK = 1000  # leads read (and their owners, phones, emails) per round of queries
EXPIRE_BATCH = 500
RUNNING_STUCK_AFTER = timedelta(hours=2)  # a job its worker died on is failed, not left running
# Query-string names that are the export's own, not the list's filter.
NOT_FILTERS = {"page", "format"}

COLUMNS = ["Address", "City", "State", "ZIP", "Owners", "Best phone", "Best phone DNC", "Email", "Stage",
           "Score", "Estimated value", "Lien total", "Equity", "Auction date", "Agent", "Source", "List",
           "Next follow-up", "Created"]
STAGE_LABELS = dict(Stage.choices)
SOURCE_LABELS = dict(LeadSource.choices)
DNC_LISTED = "On a Do Not Call list"
DNC_CLEAR = "Not on a list"

QUEUED = ("More than {limit:,} leads: the export is being written in the background. You will be told "
          "when it is ready (Exports).")
READY_TITLE = "Your export is ready"
READY_BODY = "{rows:,} leads as {format}. The link works until {expires:%b %-d, %Y}."
INTERRUPTED = "The export stopped before it was finished; ask for it again."
FAILED = "The export could not be written; ask for it again."


# Reading -------------------------------------------------------------------------------


def export_filters(query: QueryDict) -> dict[str, list[str]]:
    """The lead list's filter from a query string, as stored on a job: {name: [values]}."""
    return {name: query.getlist(name) for name in query if name not in NOT_FILTERS}


def _query_dict(filters: dict[str, list[str]]) -> QueryDict:
    query = QueryDict(mutable=True)
    for name, values in filters.items():
        query.setlist(name, [str(value) for value in values])
    return query


def export_leads(*, fetched_by: User, filters: dict[str, list[str]]):
    """The list's leads for these filters, the user's visible ones only (``lead_list``)."""
    today = timezone.localdate()
    next_auction = (ForeclosureRecord.objects.filter(lead=OuterRef("pk"), auction_date__gte=today)
                    .order_by("auction_date").values("auction_date")[:1])
    leads, _ = lead_list(fetched_by=fetched_by, filters=_query_dict(filters))
    return (leads.with_financials().select_related("source_list")
            .annotate(next_auction=Subquery(next_auction)))


def _chunks(items: Iterable, size: int) -> Iterator[list]:
    items = iter(items)
    while chunk := list(islice(items, size)):
        yield chunk


def _best_phones(lead_ids: list[int]) -> dict[int, tuple[str, str]]:
    """Each lead's best number (a good one, first owner and first number first) and its
    Do-Not-Call standing as last flagged: the flag the lead list's column shows. Every
    number is flagged as it arrives (an import, the New lead page, an edit), and the flag's
    date moves only when it changes, so a clear number may have none."""
    best: dict[int, tuple[str, str]] = {}
    rows = (Phone.objects.filter(contact__lead_id__in=lead_ids, status=PhoneStatus.GOOD)
            .order_by("contact__lead_id", "contact__position", "contact_id", "position", "pk")
            .values_list("contact__lead_id", "number", "on_dnc_list"))
    for lead_id, number, listed in rows:
        if lead_id not in best:
            best[lead_id] = (format_national(number), DNC_LISTED if listed else DNC_CLEAR)
    return best


def _first_emails(lead_ids: list[int]) -> dict[int, str]:
    first: dict[int, str] = {}
    rows = (Email.objects.filter(contact__lead_id__in=lead_ids, status=EmailStatus.GOOD)
            .order_by("contact__lead_id", "contact__position", "contact_id", "position", "pk")
            .values_list("contact__lead_id", "address"))
    for lead_id, address in rows:
        first.setdefault(lead_id, address)
    return first


def _local(moment: datetime | None, zone) -> datetime | None:
    """In the user's zone, without it: a spreadsheet cell has no time zone."""
    return timezone.localtime(moment, zone).replace(tzinfo=None, microsecond=0) if moment else None


def export_rows(leads, zone) -> Iterator[list]:
    """One list of plain values per lead (numbers and dates kept as such), in chunks; times
    in ``zone`` (the user's: a streamed file is written after the request's zone is gone)."""
    for chunk in _chunks(leads.iterator(chunk_size=CHUNK), CHUNK):
        ids = [lead.pk for lead in chunk]
        owners, phones, emails = lead_owner_names(lead_ids=ids), _best_phones(ids), _first_emails(ids)
        for lead in chunk:
            place = lead.property
            phone, standing = phones.get(lead.pk, ("", ""))
            yield [
                place.street_line, place.city, place.state, place.zip_code,
                "; ".join(owners.get(lead.pk, [])), phone, standing, emails.get(lead.pk, ""),
                STAGE_LABELS.get(lead.stage, lead.stage), lead.score, place.estimated_value, lead.lien_total,
                lead.equity, lead.next_auction, str(lead.assigned_agent) if lead.assigned_agent_id else "",
                SOURCE_LABELS.get(lead.source, lead.source), lead.source_list.name if lead.source_list_id else "",
                _local(lead.next_follow_up_at, zone), _local(lead.created_at, zone),
            ]


# Writing -------------------------------------------------------------------------------


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:.2f}"  # money: always two places, whatever the column's own scale
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def csv_lines(rows: Iterable[list]) -> Iterator[str]:
    """The CSV a line at a time (a byte-order mark first, so Excel reads it as UTF-8)."""
    writer = csv.writer(Echo())
    yield "\ufeff" + writer.writerow(COLUMNS)
    for row in rows:
        yield writer.writerow([_csv_cell(value) for value in row])


def _csv_cell(value) -> str:
    # A number is data, never a formula: a negative equity stays -56100.00, not '-56100.00.
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return _text(value)
    return safe_cell(_text(value))


XLSX_WIDTHS = {"Address": 28, "City": 16, "State": 6, "ZIP": 8, "Owners": 30, "Best phone": 16,
               "Best phone DNC": 20, "Email": 28, "Agent": 18, "List": 24}


def _xlsx_cell(value):
    # Numbers and dates stay numbers and dates; text Excel would run as a formula is kept text.
    if value is None or isinstance(value, int | float | Decimal | date):
        return value
    return safe_cell(value)


def xlsx_write(rows: Iterable[list], target) -> int:
    """Write the rows to ``target`` (a binary file) with openpyxl's write-only mode; how many."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title="Leads")
    # Set before the first row (write-only mode): the header stays in view, columns fit.
    sheet.freeze_panes = "A2"
    for index, title in enumerate(COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = XLSX_WIDTHS.get(title, 14)
    sheet.append(COLUMNS)
    count = 0
    for row in rows:
        sheet.append([_xlsx_cell(value) for value in row])
        count += 1
    book.save(target)
    return count


def csv_write(rows: Iterable[list], target) -> int:
    count = -1  # the header is no lead
    text = io.TextIOWrapper(target, encoding="utf-8", newline="")
    for line in csv_lines(rows):
        text.write(line)
        count += 1
    text.flush()
    text.detach()  # ``target`` stays open for the caller
    return count


WRITERS = {ExportFormat.CSV: csv_write, ExportFormat.XLSX: xlsx_write}
EXPORT_TYPES = {ExportFormat.CSV: "text/csv; charset=utf-8",
                ExportFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


# The background job --------------------------------------------------------------------


def lead_export_request(*, requested_by: User, filters: dict[str, list[str]], format: str,
                        now: datetime | None = None) -> LeadExport:
    """Record the job and enqueue it once the request's transaction commits."""
    from pipeline.tasks import lead_export_run as task

    now = now or timezone.now()
    export = LeadExport(requested_by=requested_by, filters=filters, format=format, created_at=now,
                        expires_at=now + timedelta(days=EXPORT_KEEP_DAYS))
    export.full_clean()
    export.save()

    def publish():
        try:
            enqueue(task, export.pk)
        except QueuePaused:
            # Nothing would ever run it: the job goes, so the list shows no export waiting
            # for ever (docs/operations.md#when-redis-or-the-broker-is-down).
            LeadExport.objects.filter(pk=export.pk, status=ExportStatus.PENDING).delete()
            raise
    transaction.on_commit(publish)
    return export


def zone_of(user: User):
    try:
        return zoneinfo.ZoneInfo(user.time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def lead_export_run(*, export_id: int, now: datetime | None = None) -> LeadExport | None:
    """Write a waiting job's file and tell its requester. A job already taken (running,
    done, failed, or gone) is left alone, so a redelivered task does nothing."""
    with transaction.atomic():
        export = (LeadExport.objects.select_for_update(skip_locked=True).select_related("requested_by")
                  .filter(pk=export_id, status=ExportStatus.PENDING).first())
        if export is None:
            return None
        export.status, export.started_at = ExportStatus.RUNNING, now or timezone.now()
        export.save(update_fields=["status", "started_at"])
    user = export.requested_by
    try:
        with timezone.override(zone_of(user)), tempfile.TemporaryFile() as out:
            rows = export_rows(export_leads(fetched_by=user, filters=export.filters), zone_of(user))
            count = WRITERS[export.format](rows, out)
            out.seek(0)
            export.file.save(export.file_name, File(out), save=False)
    except Exception:
        logger.exception("Lead export %s failed", export.pk)
        export.status, export.error, export.finished_at = ExportStatus.FAILED, FAILED, timezone.now()
        export.save(update_fields=["status", "error", "finished_at"])
        return export
    with transaction.atomic():
        export.status, export.row_count, export.finished_at = ExportStatus.DONE, count, now or timezone.now()
        export.save(update_fields=["status", "row_count", "file", "finished_at"])
        raise_once(Notification(
            recipient=user, kind=NotificationKind.EXPORT, key=f"export:{export.pk}", title=READY_TITLE,
            body=READY_BODY.format(rows=count, format=export.get_format_display(),
                                   expires=timezone.localtime(export.expires_at, zone_of(user))),
            url=reverse("pipeline:export_download", args=[export.pk]), created_at=export.finished_at,
        ))
    return export


def lead_exports_expire(*, now: datetime | None = None, batch_size: int = EXPIRE_BATCH) -> int:
    """Delete the files of jobs past their date (bounded batches) and fail the jobs whose
    worker died mid-way; returns how many jobs changed."""
    now = now or timezone.now()
    stuck = LeadExport.objects.filter(status=ExportStatus.RUNNING, started_at__lt=now - RUNNING_STUCK_AFTER)
    changed = stuck.update(status=ExportStatus.FAILED, error=INTERRUPTED, finished_at=now)
    while True:
        batch = list(LeadExport.objects.filter(
            Q(status__in=[ExportStatus.DONE, ExportStatus.FAILED]), expires_at__lte=now)
            .order_by("expires_at", "pk")[:batch_size])
        if not batch:
            return changed
        for export in batch:
            if export.file:
                export.file.delete(save=False)
        LeadExport.objects.filter(pk__in=[export.pk for export in batch]).update(
            status=ExportStatus.EXPIRED, file="")
        changed += len(batch)


# Pages ---------------------------------------------------------------------------------


def exports_of(user: User):
    """The user's own exports: nobody else's, whatever their role."""
    return LeadExport.objects.filter(requested_by=user)


class LeadExportView(LoginRequiredMixin, View):
    """The lead list as it is filtered now, as a file; a large one as a background job."""

    http_method_names = ["get"]

    def get(self, request):
        wanted = request.GET.get("format", ExportFormat.CSV)
        export_format = wanted if wanted in ExportFormat.values else ExportFormat.CSV
        filters = export_filters(request.GET)
        leads = export_leads(fetched_by=request.user, filters=filters)
        if capped_total(leads, EXPORT_STREAM_MAX).capped:
            lead_export_request(requested_by=request.user, filters=filters, format=export_format)
            messages.info(request, QUEUED.format(limit=EXPORT_STREAM_MAX))
            return HttpResponseRedirect(reverse("pipeline:exports"))
        name = f"leads-{timezone.localtime():%Y-%m-%d-%H%M}.{export_format}"
        rows = export_rows(leads, zone_of(request.user))
        if export_format == ExportFormat.CSV:
            response = StreamingHttpResponse(csv_lines(rows), content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = f'attachment; filename="{name}"'
            return response
        out = tempfile.TemporaryFile()
        xlsx_write(rows, out)
        out.seek(0)
        return FileResponse(out, as_attachment=True, filename=name,
                            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


class ExportListView(LoginRequiredMixin, ListView):
    template_name = "pipeline/exports.html"
    context_object_name = "exports"
    paginate_by = 50

    def get_queryset(self):
        return exports_of(self.request.user)

    def get_context_data(self, **kwargs):
        return super().get_context_data(now=timezone.now(), stream_max=EXPORT_STREAM_MAX,
                                        keep_days=EXPORT_KEEP_DAYS, **kwargs)


class ExportDownloadView(LoginRequiredMixin, View):
    """The file of one's own finished export; anyone else's (or an expired one) is a 404."""

    http_method_names = ["get"]

    def get(self, request, pk):
        export = get_object_or_404(exports_of(request.user).filter(
            status=ExportStatus.DONE, expires_at__gt=timezone.now()).exclude(file=""), pk=pk)
        return stored_response(export.file.name, content_type=EXPORT_TYPES.get(export.format, "application/octet-stream"),
                               as_attachment=True, filename=export.file_name, storage=export.file.storage)
