"""Outgoing webhooks: the URLs a broker registers, what is to be sent to each, and every
attempt to send it (docs/webhooks.md)."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class WebhookEvent(models.TextChoices):
    LEAD_CREATED = "lead.created", "Lead created"
    LEAD_STAGE_CHANGED = "lead.stage_changed", "Stage changed"
    OUTREACH_LOGGED = "outreach.logged", "Outreach logged"
    FOLLOW_UP_DUE = "follow_up.due", "Follow-up due"
    DOCUMENT_RECEIVED = "document.received", "Document received"
    PING = "ping", "Test ping"


# What a broker subscribes an endpoint to (a ping is sent on demand, to any endpoint).
SUBSCRIBABLE_EVENTS = [event for event in WebhookEvent if event != WebhookEvent.PING]


class WebhookEndpoint(models.Model):
    """A URL a broker registered, the events it wants and the secret its deliveries are
    signed with. Shown to its owner only; disabled by hand or after repeated failures."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="webhook_endpoints")
    url = models.URLField(max_length=500)
    description = models.CharField(max_length=200, blank=True)
    events = models.JSONField(default=list, help_text="The event types sent (WebhookEvent values).")
    # Kept as it is: every delivery is signed with it (a hash could not sign).
    secret = models.CharField(max_length=80, editable=False)
    secret_rotated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    is_active = models.BooleanField(default=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    # Deliveries given up one after another (reset by any success), and since when it fails.
    consecutive_failures = models.PositiveIntegerField(default=0)
    failing_since = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        permissions = [("manage_webhooks", "Can register outgoing webhook endpoints")]

    def __str__(self) -> str:
        return self.url

    def wants(self, event: str) -> bool:
        return event == WebhookEvent.PING or event in self.events


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Waiting to be sent"
    SENDING = "sending", "Sending"
    RETRYING = "retrying", "Failed, will retry"
    SUCCEEDED = "succeeded", "Delivered"
    GIVEN_UP = "given_up", "Failed, given up"
    CANCELLED = "cancelled", "Not sent (endpoint disabled)"


# A delivery a worker may take: waiting, or failed with a retry due.
SENDABLE = (DeliveryStatus.PENDING, DeliveryStatus.RETRYING)


class WebhookDelivery(models.Model):
    """One event for one endpoint: written in the event's transaction, sent after it commits.

    ``event_key`` names the event (``follow_up.due:<id>:<due time>``), unique per endpoint,
    so an event raised twice is sent once. ``data`` is built for the endpoint's owner (only
    what they may see) when the event happens, and sent as it is, retries included."""

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=24, choices=WebhookEvent.choices)
    event_key = models.CharField(max_length=120)
    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    occurred_at = models.DateTimeField()
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    # Attempts made before the broker last asked for it again: the backoff starts over there.
    tries_before = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = "webhook deliveries"
        constraints = [models.UniqueConstraint(fields=["endpoint", "event_key"], name="webhook_delivery_once")]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="webhook_delivery_due")]

    def __str__(self) -> str:
        return f"{self.event} #{self.pk}"


class WebhookAttempt(models.Model):
    """One POST of a delivery and what came back (or why nothing did)."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveSmallIntegerField()
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_excerpt = models.TextField(blank=True, help_text="The first kilobyte of the answer.")
    error = models.CharField(max_length=300, blank=True)
    succeeded = models.BooleanField(default=False)

    class Meta:
        ordering = ["delivery", "number"]
        constraints = [models.UniqueConstraint(fields=["delivery", "number"], name="webhook_attempt_once")]

    def __str__(self) -> str:
        return f"{self.delivery_id} #{self.number}"
