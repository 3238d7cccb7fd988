"""The list import pages: upload, column mapping with a preview, live progress, the report."""

import csv
from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.views import View
from django.views.generic import DetailView, FormView

from leadcrm.shared.csv_export import Echo, safe_cell
from leadcrm.shared.health import worker_seen_lately

from .forms import ColumnMappingForm, ImportUploadForm
from .imports.reading import NotATable, preview
from .imports.services import import_cancel, import_job_create, import_job_map, import_resume, stored_source
from .models import ImportRowIssue, ImportStatus
from .selectors import import_jobs_visible_to
from .tasks import import_run

CANCELLED = "Stopping after the rows in progress; every row imported so far is kept whole."
CANCELLED_STALLED = "Cancelled: its worker had stopped. Every row imported so far is kept whole."
# A queued import is normally picked up within seconds; past this, a missing worker is named.
WORKER_WAIT = timedelta(seconds=30)
RESUMED = "Resuming after row {rows:,}: the rows imported so far are not written again."
# The mapping page previews a few rows: from an object store it fetches the file's start only
# (the encoding sample and the first rows fit well within it).
PREVIEW_BYTES = 4 * 1024 * 1024


class ImportPermissionMixin(LoginRequiredMixin, PermissionRequiredMixin):
    permission_required = "leads.add_importjob"


class ImportListView(ImportPermissionMixin, FormView):
    template_name = "leads/import_list.html"
    form_class = ImportUploadForm

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "user": self.request.user}

    def get_context_data(self, **kwargs):
        return super().get_context_data(jobs=import_jobs_visible_to(self.request.user)[:25], **kwargs)

    def form_valid(self, form):
        data = form.cleaned_data
        upload = data["file"]
        try:
            job = import_job_create(
                content=upload, file_name=upload.name, created_by=self.request.user, source=data["source"],
                list_name=data["list_name"], mapping=data["mapping"], draft=True, list_cost=data["list_cost"],
                **form.assignment(),
            )
        except ValidationError as refused:
            for field, errors in refused.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
            return self.form_invalid(form)
        return HttpResponseRedirect(reverse("leads:import_map", args=[job.pk]))


class ImportMapView(ImportPermissionMixin, FormView):
    template_name = "leads/import_map.html"
    form_class = ColumnMappingForm

    def setup(self, request, *args, **kwargs):
        super().setup(request, *args, **kwargs)
        self.job = None

    def get(self, request, *args, **kwargs):
        return self._unless_started() or super().get(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        return self._unless_started() or super().post(request, *args, **kwargs)

    def _unless_started(self):
        """Load the job (404 if not the user's); a job already started shows its progress."""
        self.job = get_object_or_404(import_jobs_visible_to(self.request.user), pk=self.kwargs["pk"])
        if self.job.status != ImportStatus.DRAFT:
            return HttpResponseRedirect(reverse("leads:import_detail", args=[self.job.pk]))
        return None

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "headers": self.job.headers, "initial_columns": self.job.columns}

    def get_context_data(self, **kwargs):
        try:
            headers, rows = preview(stored_source(self.job, head_bytes=PREVIEW_BYTES), self.job.file_name)
        except (NotATable, OSError):  # the stored file is gone: map from the headers alone
            headers, rows = self.job.headers, []
        return super().get_context_data(
            job=self.job, preview_headers=headers, preview_rows=[[row.get(h, "") for h in headers] for row in rows],
            **kwargs)

    def form_valid(self, form):
        try:
            job = import_job_map(job=self.job, columns=form.columns(), save_as=form.cleaned_data["save_as"],
                                 user=self.request.user)
        except ValidationError as refused:
            form.add_error(None, refused.messages)
            return self.form_invalid(form)
        transaction.on_commit(lambda: import_run.delay(job.pk))
        return HttpResponseRedirect(reverse("leads:import_detail", args=[job.pk]))


class ImportDetailView(ImportPermissionMixin, DetailView):
    template_name = "leads/import_detail.html"
    context_object_name = "job"

    def get_queryset(self):
        return import_jobs_visible_to(self.request.user)

    def get_template_names(self):
        if self.request.htmx:
            return ["leads/partials/_import_progress.html"]
        return [self.template_name]

    def post(self, request, pk):
        """Resume a stalled import (the page's "Resume" button): queue its task again."""
        job = get_object_or_404(self.get_queryset(), pk=pk)
        if request.POST.get("action") == "resume":
            try:
                job = import_resume(job=job)
            except ValidationError as refused:
                messages.error(request, " ".join(refused.messages))
            else:
                transaction.on_commit(lambda: import_run.delay(job.pk))
                messages.info(request, RESUMED.format(rows=job.rows_done))
        return HttpResponseRedirect(reverse("leads:import_detail", args=[job.pk]))

    def get_context_data(self, **kwargs):
        job = self.object
        rate = eta = None
        stalled = job.is_stalled
        if job.started_at and job.rows_done and not stalled:  # a stalled job has no rate to speak of
            elapsed = ((job.finished_at or timezone.now()) - job.started_at).total_seconds()
            rate = job.rows_done / elapsed if elapsed > 0 else None
            if rate and job.is_active and job.rows_total is not None:
                eta = int((job.rows_total - job.rows_done) / rate)
        issues = ImportRowIssue.objects.filter(job=job)
        # Queued a while, and no worker has said it is alive: say so, not "Queued…" forever.
        no_worker = (job.status == ImportStatus.QUEUED and not stalled
                     and timezone.now() - job.created_at > WORKER_WAIT and not worker_seen_lately())
        return super().get_context_data(
            rate=rate, eta=eta, stalled=stalled, no_worker=no_worker,
            rejected_sample=issues.filter(rejected=True)[:10],
            notes_sample=issues.filter(rejected=False)[:10],
            **kwargs)


class ImportCancelView(ImportPermissionMixin, View):
    def post(self, request, pk):
        job = get_object_or_404(import_jobs_visible_to(request.user), pk=pk)
        was_running = job.status == ImportStatus.RUNNING
        job = import_cancel(job=job)
        messages.info(request, CANCELLED_STALLED if was_running and job.status == ImportStatus.CANCELLED
                      else CANCELLED)
        return HttpResponseRedirect(reverse("leads:import_detail", args=[job.pk]))


class ImportIssuesCsvView(ImportPermissionMixin, View):
    """The rows not imported (and values left out): the original row, then the reason."""

    def get(self, request, pk):
        job = get_object_or_404(import_jobs_visible_to(request.user), pk=pk)
        headers = list(job.headers)
        writer = csv.writer(Echo())

        def rows():
            yield "\ufeff" + writer.writerow(["Line", "Imported?", "Reason", *map(safe_cell, headers),
                                              "Cells past the last column"])
            for issue in ImportRowIssue.objects.filter(job=job).order_by("row_number", "pk").iterator(chunk_size=2000):
                yield writer.writerow([
                    issue.row_number, "no" if issue.rejected else "yes, without this value", safe_cell(issue.reason),
                    *(safe_cell(issue.row.get(h, "")) for h in headers),
                    safe_cell(issue.row.get("__extra__", "")),
                ])

        response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-report.csv"'
        return response
