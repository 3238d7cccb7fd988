"""Messages that leave through a provider (texts, calls, emails) and those that come back.

An outbound ``Message`` rides on the outreach attempt the gate allowed (the attempt is the
log; the message is what the provider did with it). An inbound one is filed on its lead's
timeline, or waits in the inbox when nobody could tell whose it is. See docs/messaging.md.
"""

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from compliance.models import Channel, Direction
from leads.querysets import RelatedToLeadQuerySet


class MessageStatus(models.TextChoices):
    """One list for texts, calls and emails, as the providers report them."""

    QUEUED = "queued", "Queued"            # the attempt is committed; not handed over yet
    SENDING = "sending", "Sending"         # handed to the provider; no answer yet
    SENT = "sent", "Sent"                  # the provider took it
    DELIVERED = "delivered", "Delivered"
    UNDELIVERED = "undelivered", "Undelivered"
    FAILED = "failed", "Failed"
    # We handed it over and never heard whether the provider took it (a timeout, a crash).
    # Never sent again: a second text after an unknown outcome may be a second text.
    UNKNOWN = "unknown", "Outcome unknown"
    RECEIVED = "received", "Received"      # inbound
    # Calls
    RINGING = "ringing", "Ringing"
    IN_PROGRESS = "in_progress", "In progress"
    COMPLETED = "completed", "Completed"
    BUSY = "busy", "Busy"
    NO_ANSWER = "no_answer", "No answer"
    CANCELED = "canceled", "Canceled"
    # Email tracking
    BOUNCED = "bounced", "Bounced"
    COMPLAINED = "complained", "Marked as spam"


# Where a message ends: a later report never moves it back (callbacks arrive out of order).
FINAL_STATUSES = frozenset({
    MessageStatus.DELIVERED, MessageStatus.UNDELIVERED, MessageStatus.FAILED, MessageStatus.RECEIVED,
    MessageStatus.COMPLETED, MessageStatus.BUSY, MessageStatus.NO_ANSWER, MessageStatus.CANCELED,
    MessageStatus.BOUNCED, MessageStatus.COMPLAINED,
})
FAILED_STATUSES = frozenset({
    MessageStatus.UNDELIVERED, MessageStatus.FAILED, MessageStatus.UNKNOWN, MessageStatus.BOUNCED,
})
# The order statuses move in; a report of an earlier one after a later one is ignored.
STATUS_RANK = {
    MessageStatus.QUEUED: 0, MessageStatus.SENDING: 1, MessageStatus.UNKNOWN: 1, MessageStatus.SENT: 2,
    MessageStatus.RINGING: 2, MessageStatus.IN_PROGRESS: 3,
}

# Where a report may still come: a status badge asks again only while one is expected soon.
MOVING_STATUSES = frozenset({
    MessageStatus.QUEUED, MessageStatus.SENDING, MessageStatus.SENT, MessageStatus.RINGING, MessageStatus.IN_PROGRESS,
})
# No report this long after the last one: none is coming soon (a provider that never calls
# back, a lost webhook); the badge says so rather than ask every 2 s for ever. A call in
# progress may simply be a long conversation (docs/messaging.md#statuses).
REPORT_WAIT = timedelta(minutes=10)
CALL_REPORT_WAIT = timedelta(hours=2)


class InboxState(models.TextChoices):
    # Taken in, not yet filed: a request that died midway leaves it so, and the next
    # delivery of the same webhook (or the sweep) files it (docs/messaging.md#webhooks).
    PENDING = "pending", "Being filed"
    FILED = "filed", "Filed on a lead"
    UNMATCHED = "unmatched", "Waiting in the inbox"
    DISMISSED = "dismissed", "Dismissed (not a homeowner)"


class MessageQuerySet(RelatedToLeadQuerySet):
    def inbox(self):
        return self.filter(direction=Direction.INBOUND, inbox_state=InboxState.UNMATCHED)


class Message(models.Model):
    """One text, call or email through a provider, either way."""

    channel = models.CharField(max_length=8, choices=Channel.choices)
    direction = models.CharField(max_length=8, choices=Direction.choices)
    provider = models.CharField(max_length=40, help_text="twilio, local, or the email service's name.")
    # NULL, not "": many messages have no provider id yet, and the unique constraint must let them.
    provider_id = models.CharField(  # noqa: DJ001
        max_length=120, null=True, blank=True,
        help_text="The provider's id (Twilio's SID, the email service's message id); unique per provider.",
    )
    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, null=True, blank=True, related_name="messages")
    # Outbound: the attempt the gate allowed, logged before the provider was asked.
    # Inbound: the reply as logged (an inbound attempt), once filed on a lead.
    # The attempt and check tables are partitioned by month on PostgreSQL, so no foreign key
    # can point into them (docs/database.md#partitions).
    attempt = models.OneToOneField(
        "pipeline.OutreachAttempt", on_delete=models.PROTECT, null=True, blank=True, related_name="message",
        db_constraint=False,
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        help_text="Who sent it, or whose lead it was filed on.",
    )
    # Calls: the gate's decision when the agent clicked "Call" (a LOG check). The attempt is
    # logged on it once the agent picks the result, so the call counts once toward the caps
    # (E2); until then the message has a check and no attempt.
    compliance_check = models.OneToOneField(
        "compliance.ComplianceCheck", on_delete=models.PROTECT, null=True, blank=True, related_name="message",
        db_constraint=False,
    )
    from_address = models.CharField(max_length=200, help_text="A number in E.164, or an email address.")
    to_address = models.CharField(max_length=200)
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField(blank=True)
    status = models.CharField(max_length=12, choices=MessageStatus.choices, default=MessageStatus.QUEUED)
    error_code = models.CharField(max_length=40, blank=True)
    error_message = models.CharField(max_length=500, blank=True)
    # Calls: how long, and whether the homeowner's side was answered.
    duration_seconds = models.PositiveIntegerField(null=True, blank=True)
    answered = models.BooleanField(null=True, blank=True)
    recorded = models.BooleanField(default=False, help_text="The call was recorded (announced to both parties).")
    created_at = models.DateTimeField(default=timezone.now)
    status_at = models.DateTimeField(default=timezone.now)
    handed_over_at = models.DateTimeField(null=True, blank=True)
    send_tries = models.PositiveSmallIntegerField(default=0, help_text="Refusals of the \"not now\" kind so far.")
    # Inbound only
    inbox_state = models.CharField(max_length=10, choices=InboxState.choices, blank=True)
    filed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    filed_at = models.DateTimeField(null=True, blank=True)
    # What the inbound text did: "stop", "start", "help", "review", "" (a reply).
    keyword = models.CharField(max_length=10, blank=True)

    objects = MessageQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "provider_id"], name="message_once_per_provider_id"),
        ]
        indexes = [
            models.Index(fields=["lead", "created_at"], name="message_lead_time"),
            models.Index(fields=["created_at"], name="message_inbox",
                         condition=models.Q(inbox_state="unmatched")),
            models.Index(fields=["status", "handed_over_at"], name="message_open_sends",
                         condition=models.Q(status__in=["queued", "sending"])),
            # The Sent page: an agent's own, newest first; everyone's (a broker's), newest first.
            models.Index(fields=["agent", "created_at"], name="message_agent_time"),
            models.Index(fields=["created_at"], name="message_outbound_time",
                         condition=models.Q(direction="outbound")),
            # The sweep's look for messages a dead request left being filed.
            models.Index(fields=["status_at"], name="message_being_filed",
                         condition=models.Q(inbox_state="pending")),
            # Whose is an inbound text: the lead that last texted its number. Every webhook
            # asks, and without it each one read the whole table.
            models.Index(fields=["to_address", "created_at"], name="message_outbound_to",
                         condition=models.Q(direction="outbound")),
        ]

    def __str__(self) -> str:
        arrow = "→" if self.direction == Direction.OUTBOUND else "←"
        return f"{self.get_channel_display()} {arrow} {self.to_address if arrow == '→' else self.from_address}"

    @property
    def failed(self) -> bool:
        return self.status in FAILED_STATUSES

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def is_moving(self) -> bool:
        return self.status in MOVING_STATUSES

    @property
    def awaits_report(self) -> bool:
        """Whether a report on it may come soon: its status badge polls only then. An email the
        mail server took (smtp, the console) is never reported further; only the email services
        of ``ANYMAIL_SERVICES`` report deliveries."""
        if not self.is_moving:
            return False
        if (self.channel == Channel.EMAIL and self.status == MessageStatus.SENT
                and self.provider not in settings.ANYMAIL_SERVICES):
            return False
        wait = CALL_REPORT_WAIT if self.status == MessageStatus.IN_PROGRESS else REPORT_WAIT
        return timezone.now() - self.status_at <= wait


class WebhookReceipt(models.Model):
    """One provider event taken in: a replayed webhook finds its key here and does nothing."""

    provider = models.CharField(max_length=40)
    event_id = models.CharField(max_length=200)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["provider", "event_id"], name="webhook_once_per_event"),
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.event_id}"
