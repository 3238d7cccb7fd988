"""Writes of outgoing webhooks: a broker's endpoints, and the deliveries events write.

An event's deliveries are written in the event's own transaction (a change rolled back
sends nothing) and handed to a worker once it commits; the sweeper finds any the broker
lost (``webhooks_sweep``). Each is built for its endpoint's owner from
``Lead.objects.visible_to(owner)``: a lead the owner may not see writes nothing
(docs/webhooks.md).
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from leadcrm.accounts.models import User
from leadcrm.shared.queue import enqueue_on_commit
from leads.models import Lead
from pipeline.models import (
    SENDABLE,
    SUBSCRIBABLE_EVENTS,
    DeliveryStatus,
    EmailState,
    Notification,
    NotificationKind,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)

from .addresses import url_check
from .payloads import lead_data

NO_EVENTS = "Pick at least one event to send."
UNKNOWN_EVENT = "Unknown event: {event}."
NOT_REDELIVERABLE = "Only a delivery that failed or was not sent can be sent again."
ENDPOINT_DISABLED = "Re-enable the endpoint first: nothing is sent to a disabled endpoint but a test ping."
OWNER_INACTIVE = "Its owner's account was deactivated."
DISABLED_BY_HAND = "Disabled by {who}."
SECRET_PREFIX = "whsec_"
# Which event types have an active endpoint: asked on every event, so a brokerage with no
# webhooks pays no query for them; forgotten whenever an endpoint changes. Kept a minute at
# most, for a process whose cache is its own (development's in-memory cache; production's
# Redis cache is shared and forgotten at once).
ACTIVE_EVENTS_KEY = "webhooks:active-events"
ACTIVE_EVENTS_SECONDS = 60


def _secret() -> str:
    return SECRET_PREFIX + secrets.token_hex(24)


def _events_clean(events: Iterable[str]) -> list[str]:
    chosen = list(dict.fromkeys(events or []))
    if not chosen:
        raise ValidationError({"events": NO_EVENTS})
    for event in chosen:
        if event not in SUBSCRIBABLE_EVENTS:
            raise ValidationError({"events": UNKNOWN_EVENT.format(event=event)})
    return [event for event in SUBSCRIBABLE_EVENTS if event in chosen]  # in the documented order


def _forget_active_events() -> None:
    transaction.on_commit(lambda: cache.delete(ACTIVE_EVENTS_KEY))
    cache.delete(ACTIVE_EVENTS_KEY)


def active_events() -> frozenset[str]:
    events = cache.get(ACTIVE_EVENTS_KEY)
    if events is None:
        events = frozenset(event for wanted in WebhookEndpoint.objects.filter(is_active=True)
                           .values_list("events", flat=True) for event in wanted or [])
        cache.set(ACTIVE_EVENTS_KEY, events, ACTIVE_EVENTS_SECONDS)
    return events


# Endpoints --------------------------------------------------------------------------------


def endpoint_create(*, owner: User, url: str, description: str = "", events: Iterable[str],
                    now: datetime | None = None) -> WebhookEndpoint:
    """A new endpoint with a fresh secret (shown to the broker on the next page)."""
    url_check(url)
    endpoint = WebhookEndpoint(owner=owner, url=url, description=description.strip(), events=_events_clean(events),
                               secret=_secret(), created_at=now or timezone.now())
    endpoint.full_clean()
    endpoint.save()
    _forget_active_events()
    return endpoint


def endpoint_update(*, endpoint: WebhookEndpoint, url: str, description: str = "",
                    events: Iterable[str]) -> WebhookEndpoint:
    url_check(url)
    endpoint.url, endpoint.description, endpoint.events = url, description.strip(), _events_clean(events)
    endpoint.full_clean()
    endpoint.save(update_fields=["url", "description", "events"])
    _forget_active_events()
    return endpoint


def endpoint_secret_rotate(*, endpoint: WebhookEndpoint, now: datetime | None = None) -> WebhookEndpoint:
    """A new secret at once: deliveries from now on (retries too) are signed with it."""
    endpoint.secret, endpoint.secret_rotated_at = _secret(), now or timezone.now()
    endpoint.save(update_fields=["secret", "secret_rotated_at"])
    return endpoint


@transaction.atomic
def endpoint_disable(*, endpoint: WebhookEndpoint, reason: str, now: datetime | None = None,
                     notify: bool = False) -> bool:
    """Stop sending to the endpoint; what waits to be sent is cancelled (the broker may send
    it again from the log). ``notify``: tell its owner, once. False when already disabled."""
    now = now or timezone.now()
    changed = WebhookEndpoint.objects.filter(pk=endpoint.pk, is_active=True).update(
        is_active=False, disabled_at=now, disabled_reason=reason[:300])
    if not changed:
        return False
    endpoint.is_active, endpoint.disabled_at, endpoint.disabled_reason = False, now, reason[:300]
    WebhookDelivery.objects.filter(endpoint=endpoint, status__in=SENDABLE).update(status=DeliveryStatus.CANCELLED)
    _forget_active_events()
    if notify:
        _owner_notify(endpoint, now=now)
    return True


def _owner_notify(endpoint: WebhookEndpoint, *, now: datetime) -> None:
    from pipeline.reminders.notifications import raise_once

    owner = endpoint.owner
    if not owner.is_active:
        return
    wants_email = owner.email_reminders and bool(owner.email)
    note = Notification(
        recipient=owner, kind=NotificationKind.WEBHOOK, key=f"webhook_disabled:{endpoint.pk}:{int(now.timestamp())}",
        title=f"Webhook disabled: {endpoint.url}"[:200],
        body=f"{endpoint.disabled_reason}\nNothing more is sent to it until you re-enable it; what failed is in its "
             "delivery log, to send again.",
        url=reverse("webhooks:detail", args=[endpoint.pk]), created_at=now,
        email_state=EmailState.PENDING if wants_email else EmailState.NONE,
    )
    if raise_once(note) and wants_email:
        from pipeline.tasks import notification_emails_send

        enqueue_on_commit(notification_emails_send, [note.pk], swept=True)


def endpoint_enable(*, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """Send to it again, its failure count reset (what was cancelled stays so: redeliver it)."""
    url_check(endpoint.url)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(is_active=True, disabled_at=None, disabled_reason="",
                                                          consecutive_failures=0, failing_since=None)
    endpoint.refresh_from_db()
    _forget_active_events()
    return endpoint


def endpoint_ping(*, endpoint: WebhookEndpoint, actor: User, now: datetime | None = None) -> WebhookDelivery:
    """A test event to the endpoint now (a disabled one too: to see that it answers again)."""
    now = now or timezone.now()
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint, event=WebhookEvent.PING, event_key=f"ping:{uuid.uuid4().hex}", occurred_at=now,
        created_at=now, next_attempt_at=now,
        data={"endpoint": {"id": endpoint.pk, "url": endpoint.url}, "sent_by": actor.get_full_name() or actor.username,
              "message": "A test event from LeadCRM: answer 2xx to say it arrived."},
    )
    _enqueue([delivery.pk])
    return delivery


def delivery_redeliver(*, delivery: WebhookDelivery, now: datetime | None = None) -> WebhookDelivery:
    """Send a failed (or cancelled) delivery again, its backoff starting over."""
    now = now or timezone.now()
    if delivery.event != WebhookEvent.PING and not WebhookEndpoint.objects.filter(
            pk=delivery.endpoint_id, is_active=True).exists():
        raise ValidationError(ENDPOINT_DISABLED)
    done = WebhookDelivery.objects.filter(
        pk=delivery.pk, status__in=(DeliveryStatus.GIVEN_UP, DeliveryStatus.CANCELLED, DeliveryStatus.RETRYING),
    ).update(status=DeliveryStatus.PENDING, next_attempt_at=now, tries_before=delivery.attempts)
    if not done:
        raise ValidationError(NOT_REDELIVERABLE)
    delivery.refresh_from_db()
    _enqueue([delivery.pk])
    return delivery


def _enqueue(delivery_ids: list[int]) -> None:
    from pipeline.tasks import webhook_deliver

    for pk in delivery_ids:
        # Pending until sent: the sweeper sends it if the broker is down now.
        enqueue_on_commit(webhook_deliver, pk, swept=True)


# Events -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Occurrence:
    """One event about one lead: ``key`` makes it once per endpoint; ``fields`` are the
    event's own (JSON-ready), beside the lead as its endpoint's owner sees it."""

    lead_id: int
    key: str
    occurred_at: datetime
    fields: dict = field(default_factory=dict)


def deliveries_record(*, event: str, occurrences: list[Occurrence], now: datetime | None = None,
                      enqueue: bool = True) -> list[int]:
    """Write a delivery of each occurrence to each active endpoint that wants ``event``
    and whose owner may see the lead; returns the new deliveries' ids (each enqueued on
    commit, unless ``enqueue`` is False: the caller hands them out).

    Queries: none when no endpoint wants the event (cached); else the endpoints, one
    visibility query per owner, the leads, the insert and the new ids."""
    if not occurrences or event not in active_events():
        return []
    now = now or timezone.now()
    endpoints = [endpoint for endpoint in WebhookEndpoint.objects.filter(is_active=True).select_related("owner")
                 if endpoint.wants(event)]
    wanted_ids = {occurrence.lead_id for occurrence in occurrences}
    seen_by: dict[int, set[int]] = {}
    live = []
    for endpoint in endpoints:
        owner = endpoint.owner
        if not owner.is_active:
            endpoint_disable(endpoint=endpoint, reason=OWNER_INACTIVE, now=now)
            continue
        if owner.pk not in seen_by:
            seen_by[owner.pk] = set(Lead.objects.visible_to(owner).filter(pk__in=wanted_ids)
                                    .values_list("pk", flat=True))
        live.append(endpoint)
    visible = set().union(*seen_by.values()) if seen_by else set()
    if not visible:
        return []
    leads = {lead.pk: lead for lead in Lead.objects.filter(pk__in=visible).select_related("property", "assigned_agent")}
    rows = []
    for endpoint in live:
        for occurrence in occurrences:
            lead = leads.get(occurrence.lead_id)
            if lead is None or occurrence.lead_id not in seen_by[endpoint.owner_id]:
                continue
            rows.append(WebhookDelivery(
                endpoint=endpoint, event=event, event_key=occurrence.key[:120], lead=lead,
                occurred_at=occurrence.occurred_at, created_at=now, next_attempt_at=now,
                data={"lead": lead_data(lead), **occurrence.fields}))
    if not rows:
        return []
    # An event raised again (a follow-up told twice) hits the unique key: nothing more is sent.
    WebhookDelivery.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
    created = list(WebhookDelivery.objects.filter(
        endpoint__in=live, event=event, event_key__in={row.event_key for row in rows}, created_at=now,
        status=DeliveryStatus.PENDING, attempts=0).values_list("pk", flat=True))
    if enqueue:
        _enqueue(created)
    return created


def leads_created_record(*, lead_ids: list[int], at: datetime, chunk: int = 1000) -> int:
    """The lead.created deliveries of an import batch's new leads, written in the caller's
    transaction (the batch's: rolled back, nothing is sent) a fixed few queries a thousand
    leads; one task hands them all out once it commits. Were that task lost (the broker
    down), the deliveries are pending rows the sweeper hands out: nothing is lost.
    Safe to run twice (each event is once per endpoint)."""
    from pipeline.tasks import webhooks_hand_out

    created: list[int] = []
    for start in range(0, len(lead_ids), chunk):
        ids = lead_ids[start:start + chunk]
        sources = dict(Lead.objects.filter(pk__in=ids).values_list("pk", "source"))
        with transaction.atomic():
            created += deliveries_record(event=WebhookEvent.LEAD_CREATED, enqueue=False, occurrences=[
                Occurrence(pk, f"lead.created:{pk}", at, {"source": sources[pk]}) for pk in ids if pk in sources])
    if created:
        enqueue_on_commit(webhooks_hand_out, created, swept=True)
    return len(created)
