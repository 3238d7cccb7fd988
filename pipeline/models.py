from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from compliance.models import Channel, CheckMode, Direction, Purpose, Technology, Verdict
from leadcrm.accounts.models import Capacity
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
        indexes = [
            models.Index(fields=["lead", "changed_at"], name="stagechange_lead_time"),
            # The reports (issue 8): each lead's moves in order with where they went (time in
            # stage, the funnel), and the moves of a period.
            models.Index(fields=["lead", "changed_at", "id"], include=["to_stage"], name="stagechange_walk"),
            models.Index(fields=["changed_at"], include=["lead"], name="stagechange_time"),
        ]

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


class FollowUpSource(models.TextChoices):
    """Where a follow-up came from: an agent, or one of the deadline rules (issue 7)."""

    AGENT = "agent", "Set by hand"
    IMPORT = "import", "Auction on an imported list"
    LENDER_CHASE = "lender_chase", "Chase the lender"
    VALUATION = "valuation", "Valuation follow-up"
    NEGOTIATOR = "negotiator", "New negotiator"
    AUCTION = "auction", "Auction date ahead"
    APPROVAL_EXPIRY = "approval_expiry", "Approval letter expiring"
    DOCUMENT = "document", "Document going stale"
    STALE_LEAD = "stale_lead", "No contact for too long"


class FollowUpQuerySet(RelatedToLeadQuerySet):
    def open(self):
        return self.filter(done_at__isnull=True)

    def overdue(self, now=None):
        return self.open().filter(due_at__lt=now or timezone.now())

    def to_notify(self, now):
        """Open follow-ups whose assignee has not been told yet and should be by ``now``."""
        return self.filter(done_at__isnull=True, notified_at__isnull=True, notify_at__lte=now)


class FollowUp(models.Model):
    """Something someone must do for a lead by a time.

    ``due_at`` is when it is due; for a call, the first moment the homeowner may lawfully be
    called (``requested_at`` keeps what the agent asked for when the two differ).
    ``notify_at`` is when the assignee is told: their working hours decide. ``notified_at``
    and ``escalated_at`` record the sends, so each happens once (pipeline/reminders.py).
    A deadline rule's follow-up carries a ``source_key`` naming the event it is for
    (``auction:12:2026-12-01:30``); the unique key is what makes generating them idempotent.
    """

    # No single-column indexes on these two: followup_lead_open and followup_assignee_due
    # start with them and serve the same lookups (an import writes follow-ups by the thousand).
    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="follow_ups", db_index=False)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="follow_ups", db_index=False
    )
    kind = models.CharField(max_length=10, choices=FollowUpKind.choices, default=FollowUpKind.CALL)
    source = models.CharField(max_length=16, choices=FollowUpSource.choices, default=FollowUpSource.AGENT,
                              db_default=FollowUpSource.AGENT)
    source_key = models.CharField(max_length=120, null=True, blank=True, unique=True, editable=False)
    title = models.CharField(max_length=200)
    notes = models.TextField(blank=True)
    due_at = models.DateTimeField()
    requested_at = models.DateTimeField(
        null=True, blank=True, help_text="What was asked for, when the calling hours moved the due time."
    )
    notify_at = models.DateTimeField(null=True, blank=True)
    # When the dispatcher last handed it to a worker: a backlog is not handed out again every
    # minute while it waits in the queue, only if it is still untold minutes later.
    dispatched_at = models.DateTimeField(null=True, blank=True, editable=False)
    notified_at = models.DateTimeField(null=True, blank=True, editable=False)
    # When it goes to the assignee's team lead if still open: set when the assignee is told
    # (the brokerage's delay after the later of due and told, within the team lead's hours).
    escalate_at = models.DateTimeField(null=True, blank=True, editable=False)
    escalated_at = models.DateTimeField(null=True, blank=True, editable=False)
    done_at = models.DateTimeField(null=True, blank=True)
    closed_reason = models.CharField(max_length=200, blank=True, help_text="Why it was closed without being done.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = FollowUpQuerySet.as_manager()

    class Meta:
        ordering = ["due_at", "pk"]
        indexes = [
            models.Index(fields=["assignee", "done_at", "due_at"], name="followup_assignee_due"),
            # Someone's open follow-ups in due order: the dashboard's agenda walks it.
            models.Index(fields=["assignee", "due_at", "id"], name="followup_assignee_open",
                         condition=models.Q(done_at__isnull=True)),
            models.Index(fields=["lead", "done_at"], name="followup_lead_open"),
            # The reminder sweep: what is still to be told, in the order it falls due.
            models.Index(fields=["notify_at"], name="followup_to_notify",
                         condition=models.Q(done_at__isnull=True, notified_at__isnull=True)),
            # The escalation sweep: told, still open, its time come, not yet escalated.
            models.Index(fields=["escalate_at"], name="followup_escalate_at",
                         condition=models.Q(done_at__isnull=True, escalated_at__isnull=True,
                                            escalate_at__isnull=False)),
        ]

    def __str__(self) -> str:
        return self.title

    def save(self, *args, **kwargs):
        if self.notify_at is None:
            self.notify_at = self.due_at
        super().save(*args, **kwargs)

    @property
    def is_open(self) -> bool:
        return self.done_at is None


class ReminderSettings(models.Model):
    """The brokerage's reminder settings (one row, edited by the broker in the admin)."""

    escalate_after_hours = models.PositiveSmallIntegerField(
        default=24, help_text="An open follow-up this many hours past due is sent to the agent's team lead."
    )
    stale_contact_days = models.PositiveSmallIntegerField(
        default=7, help_text="Days without a conversation in Contact before a follow-up is raised (0: never)."
    )
    stale_qualify_days = models.PositiveSmallIntegerField(default=5, help_text="The same, in Qualify (0: never).")
    stale_negotiate_days = models.PositiveSmallIntegerField(
        default=10, help_text="The same, in Negotiate: the homeowner hears from you while lenders work."
    )
    stale_close_days = models.PositiveSmallIntegerField(default=5, help_text="The same, in Close (0: never).")
    valuation_follow_up_days = models.PositiveSmallIntegerField(
        default=10, help_text="Days after a BPO or appraisal is ordered to check it was done (one usually takes 15 to 45 days)."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = "reminder settings"

    def __str__(self) -> str:
        return "Reminder settings"

    @classmethod
    def current(cls) -> "ReminderSettings":
        return cls.objects.order_by("pk").first() or cls()

    def stale_days(self) -> dict[str, int]:
        """Per stage, the days without contact that make a lead stale; stages left out never are."""
        wanted = {Stage.CONTACT: self.stale_contact_days, Stage.QUALIFY: self.stale_qualify_days,
                  Stage.NEGOTIATE: self.stale_negotiate_days, Stage.CLOSE: self.stale_close_days}
        return {stage: days for stage, days in wanted.items() if days}


class NotificationKind(models.TextChoices):
    REMINDER = "reminder", "Reminder"
    ESCALATION = "escalation", "Overdue on your team"
    DIGEST = "digest", "Daily digest"
    COMPLIANCE = "compliance", "Compliance"
    SELLER = "seller", "From a seller"


class EmailState(models.TextChoices):
    """A notification's email, claimed before it is sent so that no two workers send it.

    ``sending`` left behind by a worker killed mid-send is never retried (it may have gone):
    the sweep marks it ``unknown`` and the notification stays in the app.
    """

    NONE = "none", "Not emailed"
    PENDING = "pending", "To send"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    UNKNOWN = "unknown", "Unknown (worker stopped while sending)"


class NotificationQuerySet(models.QuerySet):
    def unread(self):
        return self.filter(read_at__isnull=True)


class Notification(models.Model):
    """What one person is told, in the app and by email; ``key`` makes each one happen once."""

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=12, choices=NotificationKind.choices)
    key = models.CharField(max_length=160, unique=True)
    follow_up = models.ForeignKey(FollowUp, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    email_state = models.CharField(max_length=8, choices=EmailState.choices, default=EmailState.NONE)
    email_claimed_at = models.DateTimeField(null=True, blank=True)
    email_attempts = models.PositiveSmallIntegerField(default=0)
    emailed_at = models.DateTimeField(null=True, blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["recipient", "-created_at"], name="notification_inbox"),
            models.Index(fields=["recipient"], name="notification_unread",
                         condition=models.Q(read_at__isnull=True)),
            models.Index(fields=["email_state", "email_claimed_at"], name="notification_email_open",
                         condition=models.Q(email_state__in=["pending", "sending"])),
        ]

    def __str__(self) -> str:
        return self.title


class CalendarFeed(models.Model):
    """A user's private calendar address. Only a hash of its token is kept: a leaked
    database does not open anyone's calendar; a lost address is replaced, not shown again."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feed")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_fetched_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Calendar feed of {self.user}"


class Outcome(models.TextChoices):
    """Result buttons as dialers have them, plus what a letter, email or text does."""

    NO_ANSWER = "no_answer", "No answer"
    LEFT_VOICEMAIL = "left_voicemail", "Left voicemail"
    TALKED = "talked", "Talked"
    APPOINTMENT_SET = "appointment_set", "Appointment set"
    WRONG_NUMBER = "wrong_number", "Wrong number"
    BAD_NUMBER = "bad_number", "Bad number"
    DNC_REQUEST = "dnc_request", "Do-not-call request"
    DO_NOT_CONTACT = "do_not_contact", "Do not contact me at all"
    SENT = "sent", "Sent"
    REPLIED = "replied", "Homeowner replied"


# Outcomes in which the homeowner was reached and engaged (the contact stage's entry
# rule, and what "last contacted" means). A request to stop is not an engagement.
REACHED_OUTCOMES = frozenset({Outcome.TALKED, Outcome.APPOINTMENT_SET})

# What each channel can lead to; anything else is a mistake in the log.
OUTCOMES_BY_CHANNEL = {
    Channel.CALL: frozenset({
        Outcome.NO_ANSWER, Outcome.LEFT_VOICEMAIL, Outcome.TALKED, Outcome.APPOINTMENT_SET,
        Outcome.WRONG_NUMBER, Outcome.BAD_NUMBER, Outcome.DNC_REQUEST, Outcome.DO_NOT_CONTACT,
    }),
    Channel.SMS: frozenset({
        Outcome.SENT, Outcome.REPLIED, Outcome.TALKED, Outcome.APPOINTMENT_SET, Outcome.WRONG_NUMBER,
        Outcome.BAD_NUMBER, Outcome.DNC_REQUEST, Outcome.DO_NOT_CONTACT,
    }),
    Channel.EMAIL: frozenset({
        Outcome.SENT, Outcome.REPLIED, Outcome.TALKED, Outcome.APPOINTMENT_SET, Outcome.DNC_REQUEST,
        Outcome.DO_NOT_CONTACT,
    }),
    Channel.MAIL: frozenset({Outcome.SENT, Outcome.DNC_REQUEST, Outcome.DO_NOT_CONTACT}),
    Channel.DOOR: frozenset({Outcome.NO_ANSWER, Outcome.TALKED, Outcome.APPOINTMENT_SET, Outcome.DNC_REQUEST,
                             Outcome.DO_NOT_CONTACT}),
}


class OutreachAttemptQuerySet(AppendOnlyQuerySet, RelatedToLeadQuerySet):
    def reached(self):
        """The attempts that reached the homeowner (a conversation). An entry later corrected
        no longer counts; its correction does."""
        return self.filter(outcome__in=REACHED_OUTCOMES, corrections__isnull=True)


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


# Report rollups (issue 8) ------------------------------------------------------------------
# The broker's reports read a year of logs of millions of rows; these hold them counted by
# span of the day, so a report reads thousands of rows instead. The spans of a day (UTC)
# are 00:00 to 04:00, each hour from 04:00 to 10:00, when midnight comes to the US zones
# (Puerto Rico's at 04:00, Hawaii's at 10:00), and 10:00 to midnight: a report's days and
# weeks, in UTC or any zone a user may choose (US_TIME_ZONES), start on a span's edge, so
# the counts split exactly into them, and an agent's calling day is two rows, not
# thirteen. On PostgreSQL a trigger on each
# log adds every row as it is inserted, in the same transaction (migration 0014): the
# counts are always exact, and nothing in the app writes them.
# ``pipeline_report_rollups_rebuild()`` recounts them from the logs (after a bulk load
# that skipped triggers). Elsewhere (the SQLite fallback), and for a period whose edges
# are not a span's, the reports count the logs themselves.


class OutreachCount(models.Model):
    """Outreach attempts logged per agent and span of the day, every entry counted,
    corrected or not: the agent-activity report takes the corrected entries off itself."""

    agent = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    starts = models.DateTimeField(help_text="When the span of the day counted starts (the comment above the rollups in pipeline.models says which spans).")
    attempts = models.PositiveIntegerField(default=0)
    # The outcomes in REACHED_OUTCOMES, and appointments alone (the trigger names them).
    talks = models.PositiveIntegerField(default=0)
    appointments = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["starts", "agent"], name="outreachcount_once")]

    def __str__(self) -> str:
        return f"{self.agent_id} from {self.starts:%Y-%m-%d %H}:00: {self.attempts}"


class CheckCount(models.Model):
    """Compliance checks made per span of the day, by verdict and the rules that fired."""

    starts = models.DateTimeField(help_text="When the span of the day counted starts (the comment above the rollups in pipeline.models says which spans).")
    verdict = models.CharField(max_length=6, choices=Verdict.choices)
    rule_ids = models.JSONField(default=list)
    checks = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["starts", "verdict", "rule_ids"], name="checkcount_once")]

    def __str__(self) -> str:
        return f"{self.starts:%Y-%m-%d %H}:00 {self.verdict} {self.rule_ids}: {self.checks}"


# The short sale: lender files, the package, offers ---------------------------------------
# DOMAIN.md section 4. One seller, one house, several lenders: each lien gets a lender
# file negotiated on its own clock, and the package is tracked per lead and per lien.


class Portal(models.TextChoices):
    EQUATOR = "equator", "Equator"
    SERVICER = "servicer", "Servicer's own portal"
    EMAIL_FAX = "email_fax", "Email or fax"
    OTHER = "other", "Other"


class LenderFile(models.Model):
    """The negotiation with one lien holder; created with the first thing recorded on it."""

    lien = models.OneToOneField("leads.Lien", on_delete=models.CASCADE, related_name="lender_file")
    # The lien's lead, kept here so a file is scoped without a join through the lien.
    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="lender_files")
    servicer = models.CharField(
        max_length=120, blank=True, help_text="Who services the loan, if not the lender on record."
    )
    portal = models.CharField(max_length=12, choices=Portal.choices, blank=True)
    portal_reference = models.CharField("file number on the portal", max_length=60, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = RelatedToLeadQuerySet.as_manager()

    class Meta:
        ordering = ["lead", "lien__position"]

    def __str__(self) -> str:
        return f"Lender file: {self.lien}"

    def clean(self):
        if self.lien_id and self.lead_id and self.lien.lead_id != self.lead_id:
            raise ValidationError("A lender file belongs to its lien's lead.")


class LenderFileRowQuerySet(RelatedToLeadQuerySet):
    lead_path = "lender_file__lead"


class NegotiatorRole(models.TextChoices):
    NEGOTIATOR = "negotiator", "Negotiator"
    PROCESSOR = "processor", "Processor"
    SPOC = "spoc", "Single point of contact"
    CLOSER = "closer", "Closer"


class Negotiator(models.Model):
    """Who works the file at the servicer. Negotiators change often: the old ones are kept."""

    lender_file = models.ForeignKey(LenderFile, on_delete=models.CASCADE, related_name="negotiators")
    role = models.CharField(max_length=12, choices=NegotiatorRole.choices, default=NegotiatorRole.NEGOTIATOR)
    name = models.CharField(max_length=120)
    phone = models.CharField(max_length=40, blank=True)
    email = models.EmailField(blank=True)
    assigned_on = models.DateField()
    replaced_on = models.DateField(null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )


    objects = LenderFileRowQuerySet.as_manager()

    class Meta:
        ordering = ["lender_file", "-assigned_on", "-pk"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_role_display()})"

    @property
    def is_current(self) -> bool:
        return self.replaced_on is None


class Milestone(models.TextChoices):
    """A lender file's steps, in the order a file usually goes through them (DOMAIN 4b)."""

    AUTHORIZATION_SENT = "auth_sent", "Authorization sent"
    AUTHORIZATION_RECEIVED = "auth_received", "Authorization received"
    PACKAGE_SUBMITTED = "package_submitted", "Package submitted"
    ACKNOWLEDGED = "acknowledged", "Package acknowledged"
    NEGOTIATOR_ASSIGNED = "negotiator_assigned", "Negotiator assigned"
    VALUATION_ORDERED = "valuation_ordered", "BPO or appraisal ordered"
    VALUATION_COMPLETED = "valuation_completed", "BPO or appraisal completed"
    OFFER_SUBMITTED = "offer_submitted", "Offer submitted"
    COUNTER = "counter", "Counter-offer"
    INVESTOR_REVIEW = "investor_review", "Investor or mortgage-insurer review"
    APPROVED = "approved", "Approved"
    DENIED = "denied", "Denied"


MILESTONE_ORDER = {milestone: index for index, milestone in enumerate(Milestone)}
# Milestones whose amount means something, and what it is.
MILESTONE_AMOUNT_LABELS = {
    Milestone.VALUATION_COMPLETED: "Value",
    Milestone.OFFER_SUBMITTED: "Offer price",
    Milestone.COUNTER: "Counter price",
}


CORRECTION_NOT_A_STEP = "A correction cannot itself be struck out; record the step again instead."


class LenderMilestoneQuerySet(AppendOnlyQuerySet, LenderFileRowQuerySet):
    def in_force(self):
        """The steps that stand: neither a correction nor a step a correction struck out.
        Everything that reads where a file stands reads these."""
        return self.filter(voids__isnull=True, voided_by__isnull=True)


class LenderMilestone(AppendOnlyModel):
    """A dated step of a lender file. The file's history: a step recorded by mistake is
    never edited or deleted but struck out by a correction, a row of its own."""

    lender_file = models.ForeignKey(LenderFile, on_delete=models.CASCADE, related_name="milestones")
    kind = models.CharField(max_length=20, choices=Milestone.choices)
    occurred_on = models.DateField()
    amount = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    note = models.CharField(max_length=300, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)
    # A correction names the step it strikes out (once: a one-to-one) and says why in its
    # note; its kind repeats that step's, its date is the day of the correction.
    voids = models.OneToOneField(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="voided_by",
        help_text="The step this correction strikes out as recorded by mistake.",
    )

    objects = LenderMilestoneQuerySet.as_manager()

    class Meta:
        ordering = ["lender_file", "occurred_on", "pk"]
        indexes = [models.Index(fields=["kind", "occurred_on"], name="milestone_kind_date")]

    def __str__(self) -> str:
        if self.voids_id:
            return f"Correction of {self.get_kind_display()} on {self.occurred_on}"
        return f"{self.get_kind_display()} on {self.occurred_on}"

    @property
    def is_correction(self) -> bool:
        return self.voids_id is not None

    def clean(self):
        if self.voids_id is None:
            return
        if self.voids.lender_file_id != self.lender_file_id:
            raise ValidationError("A correction strikes out a step of its own lender file.")
        if self.voids.voids_id is not None:
            raise ValidationError(CORRECTION_NOT_A_STEP)


class Deficiency(models.TextChoices):
    WAIVED = "waived", "Waived"
    RESERVED = "reserved", "Reserved (the lender may pursue it)"
    SILENT = "silent", "Silent (the letter does not say)"


class ApprovalLetter(models.Model):
    """What a lien holder approved (DOMAIN 4c). A later letter supersedes an earlier one."""

    lender_file = models.ForeignKey(LenderFile, on_delete=models.CASCADE, related_name="approval_letters")
    issued_on = models.DateField()
    expires_on = models.DateField(help_text="The closing deadline in the letter.")
    approved_price = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    minimum_net_proceeds = models.DecimalField(
        max_digits=12, decimal_places=2, null=True, blank=True,
        help_text="The least this lender will take at closing.",
    )
    allowed_closing_costs = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    deficiency = models.CharField(max_length=10, choices=Deficiency.choices, default=Deficiency.SILENT)
    seller_contribution = models.DecimalField(
        max_digits=12, decimal_places=2, default=0, help_text="Cash or a note the seller must bring."
    )
    relocation_incentive = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    junior_lien_allowance = models.DecimalField(
        max_digits=12, decimal_places=2, null=True, blank=True,
        help_text="First lien: the most it lets the junior liens be paid, in all.",
    )
    junior_payoff = models.DecimalField(
        max_digits=12, decimal_places=2, null=True, blank=True,
        help_text="Junior lien: what this lender accepts to release its lien.",
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)


    objects = LenderFileRowQuerySet.as_manager()

    class Meta:
        ordering = ["lender_file", "-issued_on", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(expires_on__gte=models.F("issued_on")),
                name="approval_expires_after_issue",
            ),
        ]

    def __str__(self) -> str:
        return f"Approval of {self.issued_on}, expires {self.expires_on}"

    def is_valid_on(self, day) -> bool:
        return self.expires_on >= day


class DocumentKind(models.TextChoices):
    AUTHORIZATION = "authorization", "Third-party authorization"
    HARDSHIP_LETTER = "hardship_letter", "Hardship letter"
    FINANCIAL_WORKSHEET = "financial_worksheet", "Financial worksheet (Form 710)"
    PAY_STUBS = "pay_stubs", "Pay stubs"
    BANK_STATEMENTS = "bank_statements", "Bank statements (2 months)"
    TAX_RETURNS = "tax_returns", "Tax returns (2 years)"
    FORM_4506C = "form_4506c", "IRS Form 4506-C"
    LISTING_AGREEMENT = "listing_agreement", "Listing agreement"
    PURCHASE_CONTRACT = "purchase_contract", "Purchase contract and addenda"
    BUYER_FUNDS = "buyer_funds", "Buyer pre-approval or proof of funds"
    INTEREST_DISCLOSURE = "interest_disclosure", "Written disclosure of the buyer's interest"
    SETTLEMENT_STATEMENT = "settlement_statement", "Preliminary settlement statement"
    APPROVAL_LETTER = "approval_letter", "Approval letter"
    OTHER = "other", "Other"


class DocumentStatus(models.TextChoices):
    NEEDED = "needed", "Needed"
    REQUESTED = "requested", "Requested"
    RECEIVED = "received", "Received, to review"
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected: redo"
    WAIVED = "waived", "Not needed"


# A document counts toward a rule once it is in hand.
DOCUMENT_IN_HAND = frozenset({DocumentStatus.RECEIVED, DocumentStatus.ACCEPTED})


class ChecklistItem(models.Model):
    """One document of the short-sale package for a lead, or for one of its liens."""

    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="checklist")
    lien = models.ForeignKey(
        "leads.Lien", on_delete=models.CASCADE, null=True, blank=True, related_name="checklist"
    )
    kind = models.CharField(max_length=24, choices=DocumentKind.choices)
    status = models.CharField(max_length=10, choices=DocumentStatus.choices, default=DocumentStatus.NEEDED)
    dated_on = models.DateField(
        null=True, blank=True, help_text="The document's own date: statement date, signature date."
    )
    received_on = models.DateField(null=True, blank=True)
    expires_on = models.DateField(null=True, blank=True, editable=False)
    note = models.CharField(max_length=300, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    objects = RelatedToLeadQuerySet.as_manager()

    class Meta:
        ordering = ["lead", "kind", "lien"]
        constraints = [
            models.UniqueConstraint(
                fields=["lead", "kind", "lien"], name="checklist_item_once_per_lien"
            ),
            models.UniqueConstraint(
                fields=["lead", "kind"], condition=models.Q(lien__isnull=True),
                name="checklist_item_once_per_lead",
            ),
        ]
        indexes = [models.Index(fields=["expires_on"], name="checklist_expiry")]

    def __str__(self) -> str:
        return self.get_kind_display() + (f" ({self.lien})" if self.lien_id else "")

    def is_expired_on(self, day) -> bool:
        return self.expires_on is not None and self.expires_on < day


class DocumentUploadQuerySet(RelatedToLeadQuerySet):
    lead_path = "item__lead"


class DocumentUpload(models.Model):
    """A file of the package, stored under MEDIA_ROOT with a name we chose, never served directly."""

    item = models.ForeignKey(ChecklistItem, on_delete=models.CASCADE, related_name="uploads")
    stored_file = models.CharField(max_length=255, editable=False, help_text="Path under MEDIA_ROOT.")
    original_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=60)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Sent by the homeowner from their status page (issue 10): no user, waits for review.
    from_seller = models.BooleanField(default=False)
    uploaded_at = models.DateTimeField(auto_now_add=True)

    objects = DocumentUploadQuerySet.as_manager()

    class Meta:
        ordering = ["item", "-uploaded_at", "-pk"]

    def __str__(self) -> str:
        return self.original_name


class Financing(models.TextChoices):
    CASH = "cash", "Cash"
    CONVENTIONAL = "conventional", "Conventional"
    FHA = "fha", "FHA"
    VA = "va", "VA"
    USDA = "usda", "USDA"
    OTHER = "other", "Other"


class BuyerProof(models.TextChoices):
    PRE_APPROVAL = "pre_approval", "Pre-approval letter"
    PROOF_OF_FUNDS = "proof_of_funds", "Proof of funds"
    NONE = "none", "None yet"


class OfferStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    ACCEPTED = "accepted", "Accepted"
    BACKUP = "backup", "Backup"
    REJECTED = "rejected", "Rejected"
    WITHDRAWN = "withdrawn", "Withdrawn"


class Offer(models.Model):
    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="offers")
    buyer_name = models.CharField(max_length=120)
    price = models.DecimalField(max_digits=12, decimal_places=2)
    financing = models.CharField(max_length=12, choices=Financing.choices)
    buyer_proof = models.CharField(max_length=16, choices=BuyerProof.choices, default=BuyerProof.NONE)
    earnest_money = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    buyer_concessions = models.DecimalField(
        "seller-paid buyer costs", max_digits=10, decimal_places=2, default=0,
    )
    received_on = models.DateField()
    target_closing = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=OfferStatus.choices, default=OfferStatus.PENDING)
    backup_rank = models.PositiveSmallIntegerField(null=True, blank=True)
    notes = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = RelatedToLeadQuerySet.as_manager()

    class Meta:
        ordering = ["lead", "backup_rank", "-received_on", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["lead"], condition=models.Q(status="accepted"), name="offer_one_accepted"
            ),
            models.CheckConstraint(condition=models.Q(price__gt=0), name="offer_price_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.buyer_name}: {self.price:,.0f} ({self.get_status_display()})"


# Scripts and message templates ------------------------------------------------------------


class TemplateKind(models.TextChoices):
    CALL_SCRIPT = "call_script", "Call script"
    TEXT = "text", "Text message"
    EMAIL = "email", "Email"
    LETTER = "letter", "Letter"
    POSTCARD = "postcard", "Postcard"


class TemplateSituation(models.TextChoices):
    """Whom a template is written for: a note thanking someone for a conversation must not
    reach a homeowner nobody has talked to."""

    FIRST_CONTACT = "first_contact", "First contact: a homeowner not reached yet"
    AFTER_CONVERSATION = "after_conversation", "After a conversation with the homeowner"
    ANY = "any", "Any homeowner"


class MessageTemplateQuerySet(models.QuerySet):
    def usable_by(self, user):
        """The brokerage's shared templates and the user's own."""
        return self.filter(is_active=True).filter(models.Q(owner__isnull=True) | models.Q(owner=user))

    def for_capacity(self, capacity):
        """Those meant for a caller in ``capacity``, or for anyone."""
        return self.filter(models.Q(capacity="") | models.Q(capacity=capacity))


class MessageTemplate(models.Model):
    """A call script or message with ``[First Name]``-style merge fields.

    Saved only through ``pipeline.scripts.template_save``, which refuses prohibited
    promises (F6) and merge fields that do not exist.
    """

    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=12, choices=TemplateKind.choices)
    subject = models.CharField(max_length=200, blank=True, help_text="Emails only.")
    body = models.TextField()
    # Issue 10: the seller guide goes with the email as a PDF, with the sending agent on it.
    attach_guide = models.BooleanField("attach the seller guide (PDF)", default=False, help_text="Emails only.")
    situation = models.CharField(
        "written for", max_length=20, choices=TemplateSituation.choices, default=TemplateSituation.ANY,
        help_text="A template for after a conversation is never sent or printed for a lead nobody has reached.",
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="templates",
        help_text="Empty: shared with the whole brokerage.",
    )
    # A listing agent's pitch is wrong in the mouth of an investor buying for themselves,
    # and the reverse: each is offered only to callers in its capacity.
    capacity = models.CharField(
        "for", max_length=20, choices=Capacity.choices, blank=True,
        help_text="Who uses it: listing agents or investors buying for themselves. Empty: anyone.",
    )
    is_active = models.BooleanField(default=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    objects = MessageTemplateQuerySet.as_manager()

    class Meta:
        ordering = ["kind", "name", "pk"]
        permissions = [("manage_shared_templates", "Can edit the brokerage's shared scripts and templates")]

    def __str__(self) -> str:
        return self.name

    @property
    def is_shared(self) -> bool:
        return self.owner_id is None


class MailBatch(models.Model):
    """One confirmed "mark these letters as mailed": the letters it logged, kept so that the
    printed page can be drawn again and a confirmation sent twice (a reload, a double
    click) logs nothing twice. The token is the confirmation's own, unique."""

    token = models.UUIDField(unique=True)
    template = models.ForeignKey(MessageTemplate, on_delete=models.PROTECT, related_name="+")
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    letter_date = models.DateField(help_text="The date printed on the letters (the agent's day).")
    # [{"lead": id, "owners": [ids], "status": "logged" | "reprint" | "refused", "reason": "..."}]
    letters = models.JSONField(default=list)
    done = models.BooleanField(default=False, help_text="Every letter of it has been through the gate.")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.template} by {self.agent}, {self.created_at:%Y-%m-%d %H:%M}"


class LeadNote(models.Model):
    """A note on a lead's timeline: what was learned, in the agent's words."""

    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    objects = RelatedToLeadQuerySet.as_manager()

    class Meta:
        ordering = ["lead", "-created_at", "-pk"]
        indexes = [models.Index(fields=["lead", "created_at"], name="leadnote_lead_time")]

    def __str__(self) -> str:
        return self.body[:60]


# The seller's side (issue 10) --------------------------------------------------------------
# A homeowner who knows what a short sale takes sends the pay stubs on time and does not
# walk away in month three. Each lead can have one private status page, opened by a link
# the agent sends; a guide the brokerage edits; and a record of what the seller was told.


class SellerLink(models.Model):
    """The private address of a lead's status page. Only a hash of its token is kept (a
    leaked database opens no one's file); a new link replaces the old one, which stops
    working at once."""

    lead = models.OneToOneField("leads.Lead", on_delete=models.CASCADE, related_name="seller_link")
    token_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    # The optional second factor: the last four digits of a phone on file.
    asks_phone_digits = models.BooleanField(default=False)
    failed_checks = models.PositiveSmallIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)
    last_visit_at = models.DateTimeField(null=True, blank=True)

    objects = RelatedToLeadQuerySet.as_manager()

    def __str__(self) -> str:
        return f"Status page of lead {self.lead_id}"

    def is_open_at(self, moment) -> bool:
        return self.revoked_at is None and self.expires_at > moment


class SellerEventKind(models.TextChoices):
    LINK_CREATED = "link_created", "Status page link created"
    LINK_REVOKED = "link_revoked", "Status page link revoked"
    VISIT = "visit", "Seller opened the status page"
    UPLOAD = "upload", "Seller uploaded a document"
    GUIDE = "guide", "Seller downloaded the guide"
    CHECK_FAILED = "check_failed", "Wrong phone digits on the status page"
    LOCKED = "locked", "Status page locked after wrong phone digits"


class SellerEventQuerySet(AppendOnlyQuerySet, RelatedToLeadQuerySet):
    pass


class SellerEvent(AppendOnlyModel):
    """What happened on the seller's side of a lead, for its timeline: links made and
    revoked, visits, uploads, guide downloads, failed second factors. Append-only."""

    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="seller_events")
    kind = models.CharField(max_length=14, choices=SellerEventKind.choices)
    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                              related_name="+", help_text="The agent, for links; empty for the seller.")
    upload = models.ForeignKey("DocumentUpload", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    detail = models.CharField(max_length=300, blank=True)

    objects = SellerEventQuerySet.as_manager()

    class Meta:
        ordering = ["lead", "-at", "-pk"]
        indexes = [models.Index(fields=["lead", "at"], name="sellerevent_lead_time")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.at:%Y-%m-%d %H:%M})"


class GuideSection(models.Model):
    """One section of the seller guide: the "free guide" agents offer on the first call,
    shown on the status page and as a PDF. Plain text: paragraphs split by a blank line, a
    line starting "- " is a bullet. Checked by the language rule (F6) on every save."""

    position = models.PositiveSmallIntegerField(default=0)
    title = models.CharField(max_length=120)
    body = models.TextField()
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return self.title

    def clean(self):
        from compliance.services import template_language_check

        template_language_check(f"{self.title}\n\n{self.body}")


class BriefingTopic(models.TextChoices):
    """What a seller should hear before the sale depends on them (issue 10: "unrealistic
    sellers" sink short sales)."""

    TIMELINE = "timeline", "The timeline: 60 to 180 days, and why it slips"
    LENDER_PROCESS = "lender_process", "The lenders' process, and that only the lenders decide"
    PRICING = "pricing", "Pricing and the lenders' valuation"
    DOCUMENTS = "documents", "The documents, and how recent they must be"
    DEFICIENCY = "deficiency", "A possible deficiency, and to ask a tax or legal professional"


class SellerBriefing(models.Model):
    """The day the seller was told about one topic, and by whom."""

    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="briefings")
    topic = models.CharField(max_length=16, choices=BriefingTopic.choices)
    told_on = models.DateField()
    told_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    recorded_at = models.DateTimeField(auto_now=True)

    objects = RelatedToLeadQuerySet.as_manager()

    class Meta:
        ordering = ["lead", "told_on", "topic"]
        constraints = [models.UniqueConstraint(fields=["lead", "topic"], name="briefing_once_per_topic")]

    def __str__(self) -> str:
        return f"{self.get_topic_display()}: {self.told_on}"


class AgentPhoto(models.Model):
    """The agent's photo, shown to their sellers. Stored under a name we chose, checked by
    its content, served only through the seller's link or to the agent themselves."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="photo")
    stored_file = models.CharField(max_length=255, editable=False)
    content_type = models.CharField(max_length=30)
    uploaded_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Photo of {self.user}"
