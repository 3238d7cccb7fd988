"""The pages of moving in: upload, the stage and agent mapping, progress and the report
(brokers only: docs/moving-in.md#who)."""

import csv

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count
from django.http import HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views import View
from django.views.generic import DetailView, FormView

from leadcrm.accounts.roles import Perm
from leadcrm.shared.csv_export import Echo, safe_cell
from pipeline.models import CrmImportStatus, CrmRowOutcome

from .forms import CrmMappingForm, CrmUploadForm
from .selectors import crm_import_rows, crm_imports_visible_to
from .services import crm_import_create, crm_import_map, crm_import_resume

REPORT_SAMPLE = 200
RESUMED = "Running it again: the people already imported are found and not written twice."


class MoveInPermissionMixin(LoginRequiredMixin, PermissionRequiredMixin):
    permission_required = Perm.MOVE_IN


def _queue(job_id: int) -> None:
    from pipeline.tasks import crm_import_run

    transaction.on_commit(lambda: crm_import_run.delay(job_id))


class CrmUploadView(MoveInPermissionMixin, FormView):
    template_name = "moving_in/upload.html"
    form_class = CrmUploadForm

    def get_context_data(self, **kwargs):
        return super().get_context_data(jobs=crm_imports_visible_to(self.request.user)[:15], **kwargs)

    def form_valid(self, form):
        upload = form.cleaned_data["file"]
        try:
            job = crm_import_create(system=form.cleaned_data["system"], content=upload, file_name=upload.name,
                                    created_by=self.request.user)
        except ValidationError as refused:
            for errors in refused.message_dict.values():
                form.add_error("file", errors)
            return self.form_invalid(form)
        _queue(job.pk)
        return HttpResponseRedirect(reverse("moving_in:detail", args=[job.pk]))


class CrmMappingView(MoveInPermissionMixin, FormView):
    template_name = "moving_in/mapping.html"
    form_class = CrmMappingForm

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        self.job = get_object_or_404(crm_imports_visible_to(request.user), pk=kwargs["pk"])
        if self.job.status != CrmImportStatus.NEEDS_MAPPING:
            return HttpResponseRedirect(reverse("moving_in:detail", args=[self.job.pk]))
        return super().dispatch(request, *args, **kwargs)

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "stages": self.job.unmapped_stages, "agents": self.job.unmapped_agents,
                "opt_outs": self.job.unmapped_opt_outs}

    def get_context_data(self, **kwargs):
        return super().get_context_data(job=self.job, **kwargs)

    def form_valid(self, form):
        stages, agents, stops = form.mappings()
        try:
            job = crm_import_map(job=self.job, stages=stages, agents=agents, stops=stops, actor=self.request.user)
        except ValidationError as refused:
            form.add_error(None, refused.messages)
            return self.form_invalid(form)
        _queue(job.pk)
        return HttpResponseRedirect(reverse("moving_in:detail", args=[job.pk]))


class CrmImportDetailView(MoveInPermissionMixin, DetailView):
    template_name = "moving_in/detail.html"
    context_object_name = "job"

    def get_queryset(self):
        return crm_imports_visible_to(self.request.user)

    def post(self, request, pk):
        """Run a failed or stalled import again (the page's "Run it again" button)."""
        job = get_object_or_404(self.get_queryset(), pk=pk)
        if request.POST.get("action") == "resume":
            try:
                job = crm_import_resume(job=job)
            except ValidationError as refused:
                messages.error(request, " ".join(refused.messages))
            else:
                _queue(job.pk)
                messages.info(request, RESUMED)
        return HttpResponseRedirect(reverse("moving_in:detail", args=[job.pk]))

    def get_context_data(self, **kwargs):
        rows = crm_import_rows(job=self.object)
        problems = rows.filter(outcome__in=[CrmRowOutcome.REJECTED, CrmRowOutcome.VALUE_LEFT_OUT])
        # Two kinds in one table, counted apart: a row not imported at all, and one value
        # left out of a row that was imported (its other values are in).
        counts = dict(problems.order_by().values_list("outcome").annotate(n=Count("pk")))
        return super().get_context_data(problems=list(problems[:REPORT_SAMPLE]),
                                        problem_count=sum(counts.values()),
                                        rejected_count=counts.get(CrmRowOutcome.REJECTED, 0),
                                        left_out_count=counts.get(CrmRowOutcome.VALUE_LEFT_OUT, 0), **kwargs)


class CrmImportReportView(MoveInPermissionMixin, View):
    """Every row of the export and what became of it, as CSV."""

    def get(self, request, pk):
        job = get_object_or_404(crm_imports_visible_to(request.user), pk=pk)
        writer = csv.writer(Echo())

        def rows():
            yield "\ufeff" + writer.writerow(["File", "Line", "Id in the export", "Outcome", "Reason", "Lead"])
            for row in crm_import_rows(job=job).iterator(chunk_size=2000):
                yield writer.writerow([row.file, row.row_number, safe_cell(row.external_id), row.get_outcome_display(),
                                       safe_cell(row.reason),
                                       request.build_absolute_uri(reverse("leads:detail", args=[row.lead_id]))
                                       if row.lead_id else ""])

        response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="crm-import-{job.pk}-report.csv"'
        return response
