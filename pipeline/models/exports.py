"""A lead-list export too large to stream at once: written by a background job to the
project's storage, downloaded by the user who asked, and gone after a few days."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class ExportFormat(models.TextChoices):
    CSV = "csv", "CSV"
    XLSX = "xlsx", "Excel (XLSX)"


class ExportStatus(models.TextChoices):
    PENDING = "pending", "Waiting"
    RUNNING = "running", "Being written"
    DONE = "done", "Ready"
    FAILED = "failed", "Failed"
    EXPIRED = "expired", "Expired"


class LeadExport(models.Model):
    """One export of the lead list: who asked, the list's filter then, and the file.

    The rows are the requester's visible leads when the job runs (``Lead.objects.visible_to``),
    never anyone else's: the filter only narrows them.
    """

    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="lead_exports")
    # The lead list's query string as {name: [values]} (a name may repeat).
    filters = models.JSONField(default=dict, blank=True)
    format = models.CharField(max_length=4, choices=ExportFormat.choices, default=ExportFormat.CSV)
    status = models.CharField(max_length=8, choices=ExportStatus.choices, default=ExportStatus.PENDING)
    row_count = models.PositiveIntegerField(null=True, blank=True)
    file = models.FileField(upload_to="exports/%Y/%m/", blank=True, max_length=200)
    error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["requested_by", "-created_at"], name="leadexport_user_time"),
            models.Index(fields=["expires_at"], name="leadexport_expiry",
                         condition=models.Q(status__in=["done", "failed"])),
        ]

    def __str__(self) -> str:
        return f"Lead export {self.pk} ({self.get_format_display()}, {self.get_status_display()})"

    @property
    def file_name(self) -> str:
        return f"leads-{timezone.localtime(self.created_at):%Y-%m-%d-%H%M}.{self.format}"

    def is_downloadable(self, now=None) -> bool:
        return self.status == ExportStatus.DONE and bool(self.file) and self.expires_at > (now or timezone.now())
