"""Action plans: sequences of emails, texts, letters and tasks a lead is enrolled in, the
automations that enroll leads, and one row per step run (docs/action-plans.md).

A plan is data: its steps say what to send or ask, how long after the previous step (or
the start, or a date on the lead) and inside which window of the homeowner's day. An
enrollment walks the steps one at a time; each step's run is a ``PlanStepRun`` whose
unique key (the enrollment and the step) is what makes a step happen at most once.
"""

from datetime import time

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from leadcrm.shared.stamps import StampedOnSave
from leads.querysets import RelatedToLeadQuerySet


class StepKind(models.TextChoices):
    EMAIL = "email", "Send an email"
    TEXT = "text", "Send a text"
    LETTER = "letter", "Print a letter"
    TASK = "task", "Create a task"


class TaskKind(models.TextChoices):
    """What a task step asks of the agent (a follow-up of that kind)."""

    CALL = "call", "Call the homeowner"
    VISIT = "visit", "Visit the property"
    LENDER = "lender", "Check on the lender"
    DOCUMENT = "document", "Collect a document"
    TASK = "task", "Other task"


class StepAnchor(models.TextChoices):
    PREVIOUS = "previous", "after the previous step"
    START = "start", "after the plan starts"
    KEY_DATE = "key_date", "before the plan's date"


class KeyDate(models.TextChoices):
    """A date on the lead a plan's steps can count back from (the nearest one ahead)."""

    NONE = "", "No date"
    AUCTION = "auction", "Auction date"
    APPROVAL_EXPIRY = "approval_expiry", "Approval letter's closing deadline"
    FILING = "filing", "Pre-foreclosure filing date"


class ActionPlanQuerySet(models.QuerySet):
    def live(self):
        return self.filter(deleted_at__isnull=True)

    def usable_by(self, user):
        """The brokerage's shared plans and the user's own (not deleted)."""
        return self.live().filter(models.Q(owner__isnull=True) | models.Q(owner=user))


class ActionPlan(StampedOnSave, models.Model):
    """A named sequence of steps. Shared (``owner`` empty) plans are the broker's; an agent
    keeps their own. Saved only through ``pipeline.plans.services.plan_save``, which checks
    every step's words (merge fields, prohibited promises, who is writing)."""

    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="action_plans",
        help_text="Empty: shared with the whole brokerage.",
    )
    # The stages the plan is for; a lead moved out of them pauses (when pause_on_response).
    # Empty: any stage of the funnel.
    stages = models.JSONField(default=list, blank=True)
    key_date = models.CharField(max_length=20, choices=KeyDate.choices, blank=True, default=KeyDate.NONE)
    pause_on_response = models.BooleanField(
        default=True, help_text="Pause when the homeowner writes back, talks to you, or the lead leaves the plan's stages.")
    pause_call_seconds = models.PositiveIntegerField(
        default=60, help_text="A call at least this long pauses the plan (when pausing on a response).")
    # Bumped by every save: an enrollment scheduled under an older version is re-timed.
    version = models.PositiveIntegerField(default=1)
    seeded = models.CharField(max_length=40, blank=True, editable=False,
                              help_text="The key of a plan the product ships (kept when renamed).")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    deleted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")

    objects = ActionPlanQuerySet.as_manager()

    class Meta:
        ordering = ["name", "pk"]
        permissions = [("manage_shared_plans", "Can edit the brokerage's shared action plans")]

    def __str__(self) -> str:
        return self.name

    @property
    def is_shared(self) -> bool:
        return self.owner_id is None


class PlanStep(models.Model):
    """One step of a plan. ``position`` orders them; an enrollment runs the first step after
    the last one it ran, so an edit applies to the steps not yet run."""

    plan = models.ForeignKey(ActionPlan, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=8, choices=StepKind.choices)
    task_kind = models.CharField(max_length=10, choices=TaskKind.choices, blank=True)
    anchor = models.CharField(max_length=10, choices=StepAnchor.choices, default=StepAnchor.PREVIOUS)
    delay_days = models.PositiveSmallIntegerField(default=0)
    delay_hours = models.PositiveSmallIntegerField(default=0)
    # In the homeowner's local time, in every zone they may be in (texts also keep the gate's
    # calling hours, which may be narrower).
    window_start = models.TimeField(default=time(9, 0))
    window_end = models.TimeField(default=time(17, 0))
    weekdays_only = models.BooleanField(default=False)
    subject = models.CharField(max_length=200, blank=True, help_text="Emails: the subject; tasks: the title.")
    body = models.TextField(blank=True)

    class Meta:
        ordering = ["plan", "position", "pk"]

    def __str__(self) -> str:
        return f"{self.plan}: step {self.position + 1} ({self.get_kind_display().lower()})"

    def clean(self):
        if self.window_end <= self.window_start:
            raise ValidationError({"window_end": "The window must end after it starts, on the same day."})

    @property
    def channel(self) -> str:
        """The outreach channel the step uses ("" for a task, which contacts nobody)."""
        return {StepKind.EMAIL: "email", StepKind.TEXT: "sms", StepKind.LETTER: "mail"}.get(self.kind, "")

    @property
    def delay_words(self) -> str:
        parts = []
        if self.delay_days:
            parts.append(f"{self.delay_days} day{'s' if self.delay_days != 1 else ''}")
        if self.delay_hours and self.anchor != StepAnchor.KEY_DATE:
            parts.append(f"{self.delay_hours} hour{'s' if self.delay_hours != 1 else ''}")
        if not parts:
            if self.anchor == StepAnchor.PREVIOUS and self.position == 0:
                return "when the plan starts"  # the first step's "previous step" is the start
            return {StepAnchor.PREVIOUS: "right after the previous step", StepAnchor.START: "when the plan starts",
                    StepAnchor.KEY_DATE: "on the plan's date"}[self.anchor]
        if self.anchor == StepAnchor.PREVIOUS and self.position == 0:
            return " ".join(parts) + " " + StepAnchor.START.label
        if self.anchor == StepAnchor.KEY_DATE and self.plan.key_date == KeyDate.FILING:
            return " ".join(parts) + " after the filing"  # a filing is behind: its steps count on from it
        return " ".join(parts) + " " + StepAnchor(self.anchor).label


class EnrollmentStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    PAUSED = "paused", "Paused"
    FINISHED = "finished", "Finished"
    ENDED = "ended", "Stopped"


OPEN_ENROLLMENT = (EnrollmentStatus.ACTIVE, EnrollmentStatus.PAUSED)


class EnrollmentSource(models.TextChoices):
    HAND = "hand", "By hand"
    BULK = "bulk", "From the lead list"
    AUTOMATION = "automation", "By an automation"
    API = "api", "Through the API"
    SELLER_FORM = "seller_form", "From the seller form"


class PauseReason(models.TextChoices):
    INBOUND_TEXT = "inbound_text", "The homeowner texted back"
    INBOUND_EMAIL = "inbound_email", "The homeowner emailed back"
    CONVERSATION = "conversation", "A conversation was logged"
    LONG_CALL = "long_call", "A call went on long enough to count"
    STAGE = "stage", "The lead left the plan's stages"
    BY_HAND = "by_hand", "Paused by hand"
    NO_AGENT = "no_agent", "Nobody to send as: the lead has no agent"


# The reasons that are the homeowner answering (the report's "paused by a response").
RESPONSE_REASONS = frozenset({PauseReason.INBOUND_TEXT, PauseReason.INBOUND_EMAIL, PauseReason.CONVERSATION,
                              PauseReason.LONG_CALL})
REPLY_REASONS = frozenset({PauseReason.INBOUND_TEXT, PauseReason.INBOUND_EMAIL})


class PlanEnrollmentQuerySet(RelatedToLeadQuerySet):
    def open(self):
        return self.filter(status__in=OPEN_ENROLLMENT)

    def due(self, now):
        return self.filter(status=EnrollmentStatus.ACTIVE, next_due_at__lte=now)


class PlanEnrollment(StampedOnSave, models.Model):
    """A lead in a plan. At most one open (active or paused) enrollment per lead and plan.

    ``last_position`` is the position of the last step run (-1 before the first);
    ``next_due_at`` when the next one is due (None when none is left). ``claimed_at``:
    a worker is running its step; a claim older than the runner's stale limit was a
    worker that died, and the step is taken again only if nothing of it was recorded.
    """

    plan = models.ForeignKey(ActionPlan, on_delete=models.PROTECT, related_name="enrollments")
    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="plan_enrollments")
    status = models.CharField(max_length=10, choices=EnrollmentStatus.choices, default=EnrollmentStatus.ACTIVE)
    source = models.CharField(max_length=12, choices=EnrollmentSource.choices, default=EnrollmentSource.HAND)
    automation = models.ForeignKey("PlanAutomation", on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="enrollments")
    # The event an automation enrolled the lead for (``stage:contact:20261201T101500``): an
    # automation enrolls a lead once per event, however often it runs.
    trigger_key = models.CharField(max_length=120, blank=True)
    enrolled_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="+")
    started_at = models.DateTimeField(default=timezone.now)
    # Steps counted "after the plan starts" count from here: moved on by the time spent paused.
    anchor_at = models.DateTimeField(default=timezone.now)
    key_date = models.DateField(null=True, blank=True, help_text="The date the plan's steps count back from.")
    last_position = models.SmallIntegerField(default=-1)
    last_run_at = models.DateTimeField(null=True, blank=True)
    next_due_at = models.DateTimeField(null=True, blank=True)
    # The step ``next_due_at`` was timed for: a worker that finds it already run (its worker
    # died before moving the plan on) times the next one instead of running it at once.
    next_step = models.ForeignKey(PlanStep, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    plan_version = models.PositiveIntegerField(default=1)
    dispatched_at = models.DateTimeField(null=True, blank=True, editable=False)
    claimed_at = models.DateTimeField(null=True, blank=True, editable=False)
    # When the homeowner's answers start to count: the start, or the last resume.
    active_since = models.DateTimeField(default=timezone.now)
    paused_at = models.DateTimeField(null=True, blank=True)
    pause_reason = models.CharField(max_length=16, choices=PauseReason.choices, blank=True)
    pause_detail = models.CharField(max_length=300, blank=True)
    paused_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                  related_name="+")
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=300, blank=True)
    ended_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                 related_name="+")
    # Channels whose steps no longer run ({"sms": "Stop requested by text on Dec 2"}): a
    # stop, a do-not-contact, a deceased or do-not-mail owner ends a channel, not the plan.
    ended_channels = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PlanEnrollmentQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "lead"], condition=models.Q(status__in=OPEN_ENROLLMENT),
                                    name="planenrollment_one_open"),
            models.UniqueConstraint(fields=["automation", "lead", "trigger_key"],
                                    condition=models.Q(automation__isnull=False), name="planenrollment_once_per_event"),
        ]
        indexes = [
            # The runner's sweep: active enrollments in the order their steps fall due.
            models.Index(fields=["next_due_at"], name="planenrollment_due",
                         condition=models.Q(status="active", next_due_at__isnull=False)),
            models.Index(fields=["lead", "status"], name="planenrollment_lead"),
            models.Index(fields=["plan", "status"], name="planenrollment_plan"),
        ]

    def __str__(self) -> str:
        return f"{self.lead_id} in {self.plan}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_ENROLLMENT


class RunStatus(models.TextChoices):
    RUNNING = "running", "Running"
    SENT = "sent", "Sent"
    TASK = "task", "Task created"
    SKIPPED = "skipped", "Skipped"
    CANCELLED = "cancelled", "Cancelled"


FINAL_RUN = (RunStatus.SENT, RunStatus.TASK, RunStatus.SKIPPED, RunStatus.CANCELLED)


class PlanStepRun(models.Model):
    """A step of an enrollment, run (or skipped, or cancelled): at most one per step.

    Written ``running`` before anything leaves; the outreach log's attempt (or the task's
    follow-up) and ``sent`` are written in one transaction, so a run still ``running`` with
    nothing recorded was never sent and may be taken again. The step's kind and words are
    kept as they were, so an edit later does not rewrite what happened.
    """

    enrollment = models.ForeignKey(PlanEnrollment, on_delete=models.CASCADE, related_name="runs")
    step = models.ForeignKey(PlanStep, on_delete=models.SET_NULL, null=True, blank=True, related_name="runs")
    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="+", db_index=False)
    position = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=8, choices=StepKind.choices)
    title = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.RUNNING)
    due_at = models.DateTimeField()
    ran_at = models.DateTimeField(default=timezone.now)
    rules = models.JSONField(default=list, blank=True, help_text="The rule IDs that refused it.")
    # The step's words as they were when it ran (a letter is printed from them later, and
    # an edit or a deleted step must not change what was sent).
    body = models.TextField(blank=True)
    reason = models.TextField(blank=True)
    # No foreign key into the month-partitioned attempts (docs/database.md#partitions).
    attempt = models.OneToOneField("pipeline.OutreachAttempt", on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="plan_step_run", db_constraint=False)
    follow_up = models.OneToOneField("pipeline.FollowUp", on_delete=models.SET_NULL, null=True, blank=True,
                                     related_name="plan_step_run")
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                              related_name="+")

    objects = RelatedToLeadQuerySet.as_manager()

    class Meta:
        ordering = ["enrollment", "position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["enrollment", "step"], condition=models.Q(step__isnull=False),
                                    name="planstep_run_once"),
        ]
        indexes = [models.Index(fields=["lead", "ran_at"], name="planstep_run_lead_time"),
                   models.Index(fields=["status", "ran_at"], name="planstep_run_running",
                                condition=models.Q(status="running"))]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.get_status_display().lower()})"


class TriggerKind(models.TextChoices):
    STAGE_ENTERED = "stage_entered", "A lead enters a stage"
    LIST_IMPORTED = "list_imported", "A lead is imported into a list"
    TAG_ADDED = "tag_added", "A tag is added to a lead"
    DATE_APPROACHING = "date_approaching", "A date on the lead is near"
    NO_CONTACT = "no_contact", "No contact for a number of days"


class PlanAutomation(models.Model):
    """Starts a plan on leads when something happens to them. Only events after it was
    switched on count (turning one on never enrolls the whole book at once); each event
    enrolls a lead once, and never a lead already in the plan. An agent's automation acts
    on their own leads; a shared one (the broker's) on every lead."""

    name = models.CharField(max_length=120, blank=True)
    plan = models.ForeignKey(ActionPlan, on_delete=models.CASCADE, related_name="automations")
    trigger = models.CharField(max_length=20, choices=TriggerKind.choices)
    stage = models.CharField(max_length=12, blank=True, help_text="Stage entered; for no contact, the stage it counts in (empty: any).")
    lead_list = models.ForeignKey("leads.LeadList", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    tag = models.ForeignKey("leads.Tag", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    date_kind = models.CharField(max_length=20, choices=KeyDate.choices, blank=True)
    days = models.PositiveSmallIntegerField(default=0, help_text="Days before the date; days without contact.")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True,
                              related_name="plan_automations", help_text="Empty: every lead of the brokerage.")
    is_active = models.BooleanField(default=True)
    active_since = models.DateTimeField(default=timezone.now)
    last_run_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["plan", "pk"]

    def __str__(self) -> str:
        return self.name or f"{self.get_trigger_display()} → {self.plan}"
