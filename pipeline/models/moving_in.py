"""Moving in from Follow Up Boss or Podio: the import, its per-row report, what each of the
other CRM's records became here, and the stage and agent mappings remembered per product
(docs/moving-in.md)."""

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from leads.models import Stage


class CrmSystem(models.TextChoices):
    FOLLOW_UP_BOSS = "followupboss", "Follow Up Boss"
    PODIO = "podio", "Podio"


class CrmImportStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    NEEDS_MAPPING = "mapping", "Needs mapping"
    RUNNING = "running", "Importing"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


# A running import beats every few seconds (leadcrm.shared.heartbeat): a minute of silence
# means no worker runs it.
CRM_IMPORT_STALLED_AFTER = timedelta(minutes=1)


class CrmImport(models.Model):
    """One export file (or ZIP of export files) moved in from another CRM, and its counts."""

    system = models.CharField(max_length=12, choices=CrmSystem.choices)
    file_name = models.CharField(max_length=255)
    stored_file = models.CharField(max_length=255, editable=False, help_text="Name in the default storage.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=8, choices=CrmImportStatus.choices, default=CrmImportStatus.QUEUED)
    # What the file holds that no mapping places yet: stage and agent names as written there.
    unmapped_stages = models.JSONField(default=list, blank=True)
    unmapped_agents = models.JSONField(default=list, blank=True)
    unmapped_opt_outs = models.JSONField(default=list, blank=True,
                                         help_text="Tags and stages that look like opt-outs, not yet answered.")
    people_total = models.PositiveIntegerField(null=True, blank=True)
    people_done = models.PositiveIntegerField(default=0)
    leads_created = models.PositiveIntegerField(default=0)
    leads_merged = models.PositiveIntegerField(default=0, help_text="People whose house was already a lead here.")
    leads_updated = models.PositiveIntegerField(default=0, help_text="People imported before, given what is new.")
    leads_unchanged = models.PositiveIntegerField(default=0, help_text="People imported before, nothing new.")
    rows_rejected = models.PositiveIntegerField(default=0)
    phones_added = models.PositiveIntegerField(default=0)
    phones_invalid = models.PositiveIntegerField(default=0)
    phones_on_dnc = models.PositiveIntegerField(default=0)
    emails_added = models.PositiveIntegerField(default=0)
    tags_added = models.PositiveIntegerField(default=0)
    notes_added = models.PositiveIntegerField(default=0)
    follow_ups_added = models.PositiveIntegerField(default=0)
    follow_ups_closed = models.PositiveIntegerField(default=0)
    people_stopped = models.PositiveIntegerField(
        default=0, help_text="People marked as opt-outs in the other CRM, put on the internal do-not-contact list.")
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True, help_text="Beaten by the worker while it runs.")

    class Meta:
        ordering = ["-created_at", "-pk"]
        permissions = [("move_in_from_crm", "Can move leads in from Follow Up Boss or Podio")]

    def __str__(self) -> str:
        return f"{self.get_system_display()}: {self.file_name}"

    @property
    def is_active(self) -> bool:
        return self.status in (CrmImportStatus.QUEUED, CrmImportStatus.RUNNING)

    @property
    def is_stalled(self) -> bool:
        """Running, and no worker has beaten for a while: its worker stopped (the people
        written so far are whole; running it again finishes it without doubling any)."""
        seen = self.heartbeat_at or self.started_at or self.created_at
        return self.status == CrmImportStatus.RUNNING and seen < timezone.now() - CRM_IMPORT_STALLED_AFTER

    @property
    def needs_mapping(self) -> bool:
        return self.status == CrmImportStatus.NEEDS_MAPPING


class CrmRowOutcome(models.TextChoices):
    CREATED = "created", "New lead"
    MERGED = "merged", "Added to the lead already holding the house"
    UPDATED = "updated", "Imported before: what is new was added"
    UNCHANGED = "unchanged", "Imported before: nothing new"
    REJECTED = "rejected", "Not imported"
    VALUE_LEFT_OUT = "left_out", "Imported without this value"


class CrmImportRow(models.Model):
    """What happened to one row of the export (a person, a note, a task), or to one value in it."""

    job = models.ForeignKey(CrmImport, on_delete=models.CASCADE, related_name="rows")
    file = models.CharField(max_length=20, help_text="people, notes or tasks")
    row_number = models.PositiveIntegerField(help_text="Line in its file, the header being line 1.")
    external_id = models.CharField(max_length=100, blank=True, help_text="The other CRM's id of the record.")
    outcome = models.CharField(max_length=10, choices=CrmRowOutcome.choices)
    reason = models.CharField(max_length=255, blank=True)
    lead = models.ForeignKey("leads.Lead", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["job", "file", "row_number", "pk"]
        indexes = [models.Index(fields=["job", "outcome"], name="crmimportrow_job_outcome")]

    def __str__(self) -> str:
        return f"{self.file} line {self.row_number}: {self.get_outcome_display()}"


class CrmRecordKind(models.TextChoices):
    PERSON = "person", "Person"
    NOTE = "note", "Note"
    TASK = "task", "Task"


class CrmLink(models.Model):
    """The other CRM's record (product, kind, its id) and what it became here: re-importing
    the same export finds it and adds nothing; a changed export adds what is new."""

    system = models.CharField(max_length=12, choices=CrmSystem.choices)
    kind = models.CharField(max_length=6, choices=CrmRecordKind.choices)
    external_id = models.CharField(max_length=100)
    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="+")
    note = models.ForeignKey("pipeline.LeadNote", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    follow_up = models.ForeignKey("pipeline.FollowUp", on_delete=models.SET_NULL, null=True, blank=True,
                                  related_name="+")
    job = models.ForeignKey(CrmImport, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                            help_text="The import that first brought it in.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["system", "kind", "external_id"], name="crmlink_once")]

    def __str__(self) -> str:
        return f"{self.get_system_display()} {self.kind} {self.external_id}"


class CrmMappingKind(models.TextChoices):
    STAGE = "stage", "Stage"
    AGENT = "agent", "Agent"
    OPT_OUT = "stop", "Opt-out"


class CrmValueMapping(models.Model):
    """A stage or agent name as another CRM writes it, and what it means here; remembered
    per product so the next export from it maps itself. An opt-out mapping says whether a
    tag or stage that looks like an opt-out ("DNC", "Unsubscribed" …) is a stop request
    (docs/moving-in.md#opt-outs)."""

    system = models.CharField(max_length=12, choices=CrmSystem.choices)
    kind = models.CharField(max_length=5, choices=CrmMappingKind.choices)
    value = models.CharField(max_length=120, help_text="As written in the export (compared case-blind).")
    stage = models.CharField(max_length=12, choices=Stage.choices, blank=True)
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True,
                              related_name="+", help_text="Empty for an agent mapping: the lead goes to the pond.")
    is_stop = models.BooleanField(null=True, blank=True,
                                  help_text="An opt-out mapping: yes, a stop request (nothing on any channel); "
                                            "no, not an opt-out.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["system", "kind", "value"]
        constraints = [
            models.UniqueConstraint(fields=["system", "kind", "value"], name="crmvaluemapping_once"),
            models.CheckConstraint(condition=models.Q(kind__in=["agent", "stop"]) | ~models.Q(stage=""),
                                   name="crmvaluemapping_stage_named"),
            models.CheckConstraint(condition=~models.Q(kind="stop") | models.Q(is_stop__isnull=False),
                                   name="crmvaluemapping_stop_answered"),
        ]

    def __str__(self) -> str:
        return f"{self.get_system_display()} {self.kind} “{self.value}”"
