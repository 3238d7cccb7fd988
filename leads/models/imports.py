"""List files imported: the job, its saved column mappings and the rows it left out."""

from datetime import timedelta

from django.conf import settings
from django.db import connection, models, transaction
from django.utils import timezone

from leadcrm.shared.stamps import StampedOnSave

from .leads import LeadSource
from .lists import LeadList


class ImportStatus(models.TextChoices):
    DRAFT = "draft", "Waiting for the column mapping"
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Importing"
    DONE = "done", "Done"
    CANCELLED = "cancelled", "Cancelled"
    FAILED = "failed", "Failed"


class ColumnMapping(models.Model):
    """A saved column mapping (our field -> the file's header), reused for the next list."""

    name = models.CharField(max_length=80, unique=True)
    source = models.CharField(max_length=20, choices=LeadSource.choices, default=LeadSource.CSV)
    columns = models.JSONField(default=dict, help_text="Field name -> header in the file.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


# A running import beats every 15 s from a thread (LEADCRM_JOB_HEARTBEAT_SECONDS), so a
# minute of silence means no worker runs it (docs/architecture.md#prompt-recovery).
IMPORT_STALLED_AFTER = timedelta(minutes=1)


def queued_lost_after() -> timedelta:
    """How long a queued job may wait for a worker before its task is taken for lost."""
    return timedelta(seconds=settings.LEADCRM_JOB_QUEUED_LOST_AFTER_SECONDS)


class ImportJob(StampedOnSave, models.Model):
    """One list file imported: its progress, its counts, and where it stopped (to resume)."""

    lead_list = models.ForeignKey(LeadList, on_delete=models.PROTECT, related_name="imports")
    source = models.CharField(max_length=20, choices=LeadSource.choices, default=LeadSource.CSV)
    file_name = models.CharField(max_length=255)
    stored_file = models.CharField(max_length=255, editable=False, help_text="Name in the default storage.")
    columns = models.JSONField(default=dict, help_text="The mapping used: field -> header.")
    # What this upload of the list cost: added to the list's cost once the import is done (a
    # cancelled one cost nothing the report should count).
    list_cost = models.DecimalField(max_digits=11, decimal_places=2, null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    assign_to = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="+")
    round_robin_team = models.ForeignKey("accounts.Team", on_delete=models.PROTECT, null=True, blank=True,
                                         related_name="+")
    team = models.ForeignKey("accounts.Team", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                             help_text="Nobody assigned: the team the new leads belong to, for its lead to assign.")
    status = models.CharField(max_length=10, choices=ImportStatus.choices, default=ImportStatus.QUEUED)
    headers = models.JSONField(default=list, help_text="The file's header row, as read.")
    cancel_requested = models.BooleanField(default=False)
    rows_total = models.PositiveIntegerField(
        null=True, blank=True, help_text="Counted by the worker; empty until it has (never in the web request).")
    rows_done = models.PositiveIntegerField(default=0, help_text="Rows committed; a restart resumes after them.")
    leads_created = models.PositiveIntegerField(default=0)
    leads_merged = models.PositiveIntegerField(default=0)
    rows_rejected = models.PositiveIntegerField(default=0)
    phones_valid = models.PositiveIntegerField(default=0)
    phones_invalid = models.PositiveIntegerField(default=0)
    phones_on_dnc = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text="Last sign of life: queued, started, or a batch committed.")
    attempts = models.PositiveSmallIntegerField(
        default=0, help_text="Runs started; one more than LEADCRM_JOB_MAX_ATTEMPTS and it is stopped as failed.")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Import of {self.file_name}"

    @property
    def is_active(self) -> bool:
        return self.status in (ImportStatus.QUEUED, ImportStatus.RUNNING)

    @property
    def last_seen_at(self):
        return self.heartbeat_at or self.started_at or self.created_at

    @property
    def is_stalled(self) -> bool:
        """Queued or running, and nobody runs it now: its worker died, or its task was lost.

        Running: no heartbeat for ``IMPORT_STALLED_AFTER`` and no worker holding it. A
        running import beats every few seconds from a thread of its own, even inside a long
        batch, so a minute of silence is no slow import; and a worker writing a batch holds
        the job's row, which a dead one cannot (``is_held``).

        Queued: not on heartbeat age alone, for a queued job waits its turn behind whatever
        the worker runs (a registry load, an export, another list). Lost once no worker has
        picked it up for ``LEADCRM_JOB_QUEUED_LOST_AFTER_SECONDS`` while no import is moving
        (docs/architecture.md#prompt-recovery)."""
        now = timezone.now()
        cutoff = now - IMPORT_STALLED_AFTER
        if not self.is_active or self.last_seen_at >= cutoff:
            return False
        if self.status == ImportStatus.QUEUED:
            if self.last_seen_at >= now - queued_lost_after():
                return False
            if ImportJob.objects.exclude(pk=self.pk).filter(status=ImportStatus.RUNNING,
                                                            heartbeat_at__gte=cutoff).exists():
                return False
        return not self.is_held

    @property
    def is_running_elsewhere(self) -> bool:
        """Running, with a heartbeat fresh enough that a live worker runs it: a second task
        for it (a redelivery, a resume sent twice) stands aside rather than run alongside."""
        return (self.status == ImportStatus.RUNNING and self.heartbeat_at is not None
                and self.heartbeat_at >= timezone.now() - IMPORT_STALLED_AFTER)

    @property
    def is_held(self) -> bool:
        """A worker is writing a batch of this job now: it holds the job's row lock, which
        ends with its connection if it dies. PostgreSQL only (elsewhere: never held)."""
        if connection.vendor != "postgresql":
            return False
        with transaction.atomic():
            return not ImportJob.objects.select_for_update(skip_locked=True).filter(pk=self.pk).exists()

    @property
    def is_counting(self) -> bool:
        return self.rows_total is None

    @property
    def percent(self) -> int:
        return int(100 * self.rows_done / self.rows_total) if self.rows_total else 0


class ImportRowIssue(models.Model):
    """A row that was not imported, or a value in it that was not: the original row and why."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="issues")
    row_number = models.PositiveIntegerField(help_text="Line in the file, the header being line 1.")
    rejected = models.BooleanField(default=True, help_text="Unticked: imported, with this value left out.")
    reason = models.CharField(max_length=255)
    row = models.JSONField(default=dict, help_text="The row as read, header -> cell.")

    class Meta:
        ordering = ["row_number", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["job", "row_number", "reason"], name="import_issue_once"),
        ]

    def __str__(self) -> str:
        return f"Line {self.row_number}: {self.reason}"
