"""Follow-ups, the reminder settings, notifications and calendar feeds."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from leadcrm.shared.stamps import StampedOnSave
from leads.models import Stage
from leads.querysets import RelatedToLeadQuerySet


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
    """Where a follow-up came from: an agent, or one of the deadline rules
    (pipeline/reminders/rules.py)."""

    AGENT = "agent", "Set by hand"
    IMPORT = "import", "Auction on an imported list"
    LENDER_CHASE = "lender_chase", "Chase the lender"
    VALUATION = "valuation", "Valuation follow-up"
    NEGOTIATOR = "negotiator", "New negotiator"
    AUCTION = "auction", "Auction date ahead"
    APPROVAL_EXPIRY = "approval_expiry", "Approval letter expiring"
    DOCUMENT = "document", "Document going stale"
    STALE_LEAD = "stale_lead", "No contact for too long"
    ACTION_PLAN = "action_plan", "An action plan's step"


class FollowUpQuerySet(RelatedToLeadQuerySet):
    def open(self):
        return self.filter(done_at__isnull=True)

    def overdue(self, now=None):
        return self.open().filter(due_at__lt=now or timezone.now())

    def to_notify(self, now):
        """Open follow-ups whose assignee has not been told yet and should be by ``now``."""
        return self.filter(done_at__isnull=True, notified_at__isnull=True, notify_at__lte=now)


class FollowUp(StampedOnSave, models.Model):
    """Something someone must do for a lead by a time.

    ``due_at`` is when it is due; for a call, the first moment the homeowner may lawfully be
    called (``requested_at`` keeps what the agent asked for when the two differ).
    ``notify_at`` is when the assignee is told: their working hours decide. ``notified_at``
    and ``escalated_at`` record the sends, so each happens once (pipeline/reminders/rules.py).
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
    updated_at = models.DateTimeField(auto_now=True)

    objects = FollowUpQuerySet.as_manager()

    class Meta:
        ordering = ["due_at", "pk"]
        indexes = [
            models.Index(fields=["assignee", "done_at", "due_at"], name="followup_assignee_due"),
            # Someone's open follow-ups in due order: the dashboard's agenda walks it.
            models.Index(fields=["assignee", "due_at", "id"], name="followup_assignee_open",
                         condition=models.Q(done_at__isnull=True)),
            models.Index(fields=["lead", "done_at"], name="followup_lead_open"),
            # The API's sync by change walks (updated_at, id) (docs/architecture.md#api-sync).
            models.Index(fields=["updated_at", "id"], name="followup_updated"),
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
    EXPORT = "export", "Export ready"
    REPLY = "reply", "A homeowner wrote back"
    NEW_LEAD = "new_lead", "New lead"
    WEBHOOK = "webhook", "Webhook"


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
