from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from compliance.models import Channel, CheckMode, Direction, Purpose, Technology, Verdict
from leadcrm.append_only import AppendOnlyModel, AppendOnlyQuerySet
from leads.models import DeadReason, Stage
from leads.querysets import RelatedToLeadQuerySet

CHECK_DID_NOT_PASS = "An outreach attempt needs a compliance check of this lead that did not block it."


class StageChange(models.Model):
    """One move of a lead between stages; the lead's history and time in each stage."""

    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="stage_changes")
    from_stage = models.CharField(max_length=12, choices=Stage.choices, blank=True)
    to_stage = models.CharField(max_length=12, choices=Stage.choices)
    dead_reason = models.CharField(max_length=20, choices=DeadReason.choices, blank=True)
    note = models.TextField(blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    changed_at = models.DateTimeField(default=timezone.now)

    objects = RelatedToLeadQuerySet.as_manager()

    class Meta:
        ordering = ["lead", "-changed_at", "-pk"]
        indexes = [models.Index(fields=["lead", "changed_at"], name="stagechange_lead_time")]

    def __str__(self) -> str:
        return f"{self.get_from_stage_display() or 'new'} → {self.get_to_stage_display()}"


class FollowUpKind(models.TextChoices):
    CALL = "call", "Call"
    TEXT = "text", "Text"
    EMAIL = "email", "Email"
    MAIL = "mail", "Mail"
    LENDER = "lender", "Chase the lender"
    DOCUMENT = "document", "Collect a document"
    DEADLINE = "deadline", "Deadline"
    TASK = "task", "Task"


class FollowUpQuerySet(RelatedToLeadQuerySet):
    def open(self):
        return self.filter(done_at__isnull=True)

    def overdue(self, now=None):
        return self.open().filter(due_at__lt=now or timezone.now())


class FollowUp(models.Model):
    """Something someone must do for a lead by a time."""

    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="follow_ups")
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="follow_ups"
    )
    kind = models.CharField(max_length=10, choices=FollowUpKind.choices, default=FollowUpKind.CALL)
    title = models.CharField(max_length=200)
    notes = models.TextField(blank=True)
    due_at = models.DateTimeField()
    done_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = FollowUpQuerySet.as_manager()

    class Meta:
        ordering = ["due_at", "pk"]
        indexes = [
            models.Index(fields=["assignee", "done_at", "due_at"], name="followup_assignee_due"),
            models.Index(fields=["lead", "done_at"], name="followup_lead_open"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        return self.done_at is None


class Outcome(models.TextChoices):
    """Result buttons as dialers have them, plus what a letter, email or text does."""

    NO_ANSWER = "no_answer", "No answer"
    LEFT_VOICEMAIL = "left_voicemail", "Left voicemail"
    TALKED = "talked", "Talked"
    APPOINTMENT_SET = "appointment_set", "Appointment set"
    WRONG_NUMBER = "wrong_number", "Wrong number"
    BAD_NUMBER = "bad_number", "Bad number"
    DNC_REQUEST = "dnc_request", "Do-not-call request"
    SENT = "sent", "Sent"
    REPLIED = "replied", "Homeowner replied"


# Outcomes in which the homeowner was reached and engaged (the contact stage's entry
# rule, and what "last contacted" means). A request to stop is not an engagement.
REACHED_OUTCOMES = frozenset({Outcome.TALKED, Outcome.APPOINTMENT_SET})

# What each channel can lead to; anything else is a mistake in the log.
OUTCOMES_BY_CHANNEL = {
    Channel.CALL: frozenset({
        Outcome.NO_ANSWER, Outcome.LEFT_VOICEMAIL, Outcome.TALKED, Outcome.APPOINTMENT_SET,
        Outcome.WRONG_NUMBER, Outcome.BAD_NUMBER, Outcome.DNC_REQUEST,
    }),
    Channel.SMS: frozenset({
        Outcome.SENT, Outcome.REPLIED, Outcome.TALKED, Outcome.APPOINTMENT_SET, Outcome.WRONG_NUMBER,
        Outcome.BAD_NUMBER, Outcome.DNC_REQUEST,
    }),
    Channel.EMAIL: frozenset({
        Outcome.SENT, Outcome.REPLIED, Outcome.TALKED, Outcome.APPOINTMENT_SET, Outcome.DNC_REQUEST,
    }),
    Channel.MAIL: frozenset({Outcome.SENT, Outcome.DNC_REQUEST}),
    Channel.DOOR: frozenset({Outcome.NO_ANSWER, Outcome.TALKED, Outcome.APPOINTMENT_SET, Outcome.DNC_REQUEST}),
}


class OutreachAttemptQuerySet(AppendOnlyQuerySet, RelatedToLeadQuerySet):
    pass


class OutreachAttempt(AppendOnlyModel):
    """The outreach log: append-only, and only ``pipeline.services.outreach_log`` writes it.

    Every row points at the compliance check it passed, made in the same transaction.
    """

    lead = models.ForeignKey("leads.Lead", on_delete=models.PROTECT, related_name="outreach_attempts")
    contact = models.ForeignKey(
        "leads.Contact", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    phone = models.ForeignKey(
        "leads.Phone", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    email = models.ForeignKey(
        "leads.Email", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    contact_point = models.CharField(
        max_length=200, help_text="The number, email or address as contacted."
    )
    channel = models.CharField(max_length=8, choices=Channel.choices)
    direction = models.CharField(max_length=8, choices=Direction.choices, default=Direction.OUTBOUND)
    purpose = models.CharField(max_length=24, choices=Purpose.choices, default=Purpose.LISTING)
    technology = models.CharField(max_length=12, choices=Technology.choices, default=Technology.MANUAL)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    notes = models.TextField(blank=True)
    role_disclosed = models.BooleanField(
        help_text="The agent confirmed stating their name, brokerage and role."
    )
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    occurred_at = models.DateTimeField(default=timezone.now)
    logged_at = models.DateTimeField(auto_now_add=True)
    compliance_check = models.OneToOneField(
        "compliance.ComplianceCheck", on_delete=models.PROTECT, related_name="outreach_attempt"
    )
    corrects = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="corrections",
        help_text="The earlier entry this one corrects.",
    )

    objects = OutreachAttemptQuerySet.as_manager()

    class Meta:
        ordering = ["-occurred_at", "-pk"]
        indexes = [
            models.Index(fields=["lead", "occurred_at"], name="outreach_lead_time"),
            models.Index(fields=["agent", "occurred_at"], name="outreach_agent_time"),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} {self.contact_point}: {self.get_outcome_display()}"

    @property
    def reached_homeowner(self) -> bool:
        return self.outcome in REACHED_OUTCOMES

    def clean(self):
        # The gate, in the model too (PostgreSQL also has a trigger): an attempt rides on
        # a check that was made to log it, for this lead, and did not block.
        check = self.compliance_check
        if check.verdict == Verdict.BLOCK or check.mode != CheckMode.LOG or check.lead_id != self.lead_id:
            raise ValidationError(CHECK_DID_NOT_PASS)
