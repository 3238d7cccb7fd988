"""Email through the email service (django-anymail): its reports and the replies it receives.

anymail's webhook views check the service's signature (Mailgun's HMAC over timestamp and
token, basic auth for the others) and answer a forged post with a 400 before anything is
read; what they send on is handled here (docs/messaging.md#email):

- a delivery report moves the email's ``Message`` on, once per event;
- a bounce marks the address bounced on every lead (the gate then refuses it, FC);
- a spam complaint marks it complained and puts it on the internal list (B1), as an
  unsubscribe through the service does;
- a reply is filed on the lead whose owner has the sender's address, read for a stop
  (B4) before the webhook answers; an unknown sender waits in the inbox.
"""

from __future__ import annotations

import functools
import logging
import re

from anymail import urls as anymail_urls
from anymail.exceptions import AnymailWebhookValidationFailure
from anymail.signals import AnymailInboundEvent, AnymailTrackingEvent, EventType, inbound, tracking
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.dispatch import receiver
from django.http import HttpResponseForbidden
from django.urls import URLPattern
from django.utils import timezone
from django.utils.html import strip_tags

from compliance.models import Channel, Direction
from compliance.services import internal_dnc_add
from leadcrm.accounts.models import User
from leadcrm.accounts.services import automation_user
from leads.editing import email_update
from leads.models import Email, EmailStatus, Lead
from pipeline.models import Message, MessageStatus
from pipeline.outreach.email import esp_provider

from .keywords import Keyword, read_inbound
from .providers import StatusUpdate
from .services import inbound_file, inbound_route, inbound_take, inbox_hold, status_apply, webhook_once

logger = logging.getLogger(__name__)

COMPLAINT_WORDS = "Marked our email as spam (a complaint reported by {service})."
UNSUBSCRIBE_WORDS = "Unsubscribed through {service}'s link in an email."
NO_SUBJECT_REPLY = re.compile(r"^\s*(re|aw|sv|fwd?)\s*:", re.IGNORECASE)
# Where a reply's quoted history starts: what the homeowner wrote is above it.
QUOTE_START = re.compile(
    r"^\s*(On .{0,300}wrote:|-{2,}\s*Original Message\s*-{2,}|From: .+|--\s*$|This is a marketing message from )",
    re.IGNORECASE | re.MULTILINE,
)

# The service's reports, as message statuses. A complaint or a bounce comes after a
# delivery, so they override it (below); the rest move forward only.
TRACKED = {
    EventType.QUEUED: MessageStatus.SENT,
    EventType.SENT: MessageStatus.SENT,
    EventType.DELIVERED: MessageStatus.DELIVERED,
    EventType.FAILED: MessageStatus.FAILED,
}
UNDELIVERABLE = frozenset({EventType.BOUNCED, EventType.REJECTED})


def email_webhook_urls() -> list:
    """anymail's tracking and inbound URLs of the service in use, none of the others: a
    service we do not use has no keys here, and its webhooks would be open to anyone."""
    service = settings.LEADCRM_EMAIL_SERVICE
    return [URLPattern(pattern.pattern, _forged_is_forbidden(pattern.callback), pattern.default_args, pattern.name)
            for pattern in anymail_urls.urlpatterns if (pattern.name or "").startswith(f"{service}_")]


FORGED = "The signature does not match: not sent by the email service."


def _forged_is_forbidden(view):
    """anymail refuses a post without the service's signature or our basic auth as a
    suspicious request (400); to the service and to us it is what it is: forbidden (403),
    as Twilio's forged webhooks are. Nothing was read or recorded either way."""
    @functools.wraps(view)
    def checked(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except AnymailWebhookValidationFailure as refused:
            logger.warning("Refused an email webhook to %s: %s", request.path, refused)
            return HttpResponseForbidden(FORGED)
    return checked


# Reports ------------------------------------------------------------------------------------


@receiver(tracking, dispatch_uid="pipeline-email-tracking")
def _tracking_received(sender, event: AnymailTrackingEvent, esp_name: str, **kwargs) -> None:
    email_report_apply(provider=esp_provider(esp_name), event=event)


def email_report_apply(*, provider: str, event: AnymailTrackingEvent) -> Message | None:
    """One report of the service onto its email and address, once per event id.

    One transaction: a report that fails half way is not marked seen, and the service's
    retry applies it whole."""
    with transaction.atomic():
        if not webhook_once(provider=provider, event_id=event.event_id or ""):
            return None
        message = _reported_message(provider=provider, event=event)
        address = (event.recipient or (message.to_address if message else "")).strip().lower()
        kind = event.event_type
        error = (event.description or event.mta_response or "")[:500]
        if kind in TRACKED and message is not None:
            failed = TRACKED[kind] == MessageStatus.FAILED
            message = status_apply(update=StatusUpdate(
                provider_id=message.provider_id or "", status=TRACKED[kind],
                error_message=(error or "The email service could not send it.") if failed else ""),
                message_id=message.pk)
        elif kind in UNDELIVERABLE:
            _override(message, MessageStatus.BOUNCED, error=error or "The receiving mail server refused it.")
            _address_mark(address=address, status=EmailStatus.BOUNCED, known=message is not None)
        elif kind == EventType.COMPLAINED:
            _override(message, MessageStatus.COMPLAINED, error="")
            if _address_mark(address=address, status=EmailStatus.COMPLAINED, known=message is not None):
                _stop(address=address, message=message, words=COMPLAINT_WORDS, provider=provider, event=event)
        elif kind == EventType.UNSUBSCRIBED and _known_address(address, message):
            _stop(address=address, message=message, words=UNSUBSCRIBE_WORDS, provider=provider, event=event)
    return message


def _reported_message(*, provider: str, event: AnymailTrackingEvent) -> Message | None:
    """The email reported on: by the service's id, else by the id we sent in its metadata
    (the report is signed, so the metadata is the service's word)."""
    if event.message_id:
        found = Message.objects.filter(provider=provider, provider_id=str(event.message_id)).first()
        if found is not None:
            return found
    pk = str((event.metadata or {}).get("message", ""))
    if pk.isdigit():
        return Message.objects.filter(pk=int(pk), provider=provider, channel=Channel.EMAIL,
                                      direction=Direction.OUTBOUND).first()
    return None


def _override(message: Message | None, status: str, *, error: str) -> None:
    """A bounce or complaint is the last word on an email, even after "delivered" (a late
    bounce, a complaint once read); a complaint is not undone by a later bounce."""
    if message is None or message.status == MessageStatus.COMPLAINED or message.status == status:
        return
    fields = {"status": status, "status_at": timezone.now()}
    if error:
        fields["error_message"] = error
    Message.objects.filter(pk=message.pk).update(**fields)
    for name, value in fields.items():
        setattr(message, name, value)


def _known_address(address: str, message: Message | None) -> bool:
    """An address we emailed, or a homeowner's: a report on anyone else's (an agent's
    reminder email) changes nothing of ours."""
    return bool(address) and (message is not None or Email.objects.filter(address__iexact=address).exists())


def _address_mark(*, address: str, status: str, known: bool) -> bool:
    """Every row with the address, on every lead not erased: a bounce says nothing of the
    lead, everything of the address. A complaint is not lowered to a bounce."""
    if not address:
        return False
    rows = list(Email.objects.filter(address__iexact=address, contact__lead__erased_at__isnull=True)
                .exclude(status__in=[EmailStatus.ERASED, status]))
    if status == EmailStatus.BOUNCED:
        rows = [row for row in rows if row.status != EmailStatus.COMPLAINED]
    actor = automation_user() if rows else None
    for row in rows:
        try:
            email_update(email=row, actor=actor, version=None, status=status)
        except ValidationError as refused:  # an address imported before it was validated
            logger.warning("Email %s not marked %s: %s", row.pk, status, refused)
    return known or bool(rows) or Email.objects.filter(address__iexact=address).exists()


def _stop(*, address: str, message: Message | None, words: str, provider: str, event) -> None:
    """On the internal list at once, for everyone (B1), recorded on behalf of whoever sent
    the email when we know it."""
    internal_dnc_add(
        channel=Channel.EMAIL, email=address, homeowner_words=words.format(service=provider),
        recorded_by=(message.agent if message is not None and message.agent else automation_user()),
        lead=message.lead if message is not None else None,
        requested_at=min(event.timestamp or timezone.now(), timezone.now()),
    )


# Replies ------------------------------------------------------------------------------------


@receiver(inbound, dispatch_uid="pipeline-email-inbound")
def _inbound_received(sender, event: AnymailInboundEvent, esp_name: str, **kwargs) -> None:
    inbound_email_receive(provider=esp_provider(esp_name), event=event)


def reply_text(email_message) -> str:
    """What the homeowner wrote, without the email they answer quoted below it (whose
    footer says "stop", and must not read as their stop)."""
    stripped = getattr(email_message, "stripped_text", None)
    text = stripped or email_message.text or strip_tags(getattr(email_message, "html", None) or "")
    lines = [line for line in text.splitlines() if not line.lstrip().startswith(">")]
    text = "\n".join(lines)
    cut = QUOTE_START.search(text)
    return (text[:cut.start()] if cut else text).strip()


def inbound_email_receive(*, provider: str, event: AnymailInboundEvent) -> Message | None:
    """File one email from a homeowner, once per Message-ID.

    A stop in their words ("unsubscribe", "remove me") goes on the internal list before
    this returns; an unknown sender waits in the inbox for a team lead."""
    email_message = event.message
    sender = email_message.from_email.addr_spec.lower() if email_message.from_email else ""
    if not sender:
        logger.warning("An inbound email from %s had no sender; not filed.", provider)
        return None
    provider_id = (email_message.get("Message-ID") or event.event_id or "").strip()[:120] or None
    body = reply_text(email_message)
    subject = (email_message.subject or "").strip()
    words = email_words(subject=subject, body=body)
    received_at = min(event.timestamp or timezone.now(), timezone.now())
    to = email_message.to[0].addr_spec if email_message.to else ""
    message, fresh = inbound_take(Message(
        channel=Channel.EMAIL, direction=Direction.INBOUND, provider=provider, provider_id=provider_id,
        from_address=sender[:200], to_address=to[:200], subject=subject[:200], body=body,
        status=MessageStatus.RECEIVED, created_at=received_at, status_at=received_at,
        keyword=_keyword(read_inbound(words, timezone.localdate(received_at))),
    ))
    if fresh:
        inbound_route(message)
    return message


def email_words(*, subject: str, body: str) -> str:
    """What the homeowner wrote: the subject is read only when they wrote it ("Re: How to
    stop foreclosure" is our own subject coming back)."""
    return body if NO_SUBJECT_REPLY.match(subject or "") else f"{subject}\n{body}".strip()


def _keyword(reading) -> str:
    return reading.keyword if reading.keyword in (Keyword.STOP, Keyword.REVIEW) else Keyword.NONE


def email_route(message: Message) -> None:
    """File a taken-in email on its lead, or hold it in the inbox (its stop recorded either way)."""
    words = email_words(subject=message.subject, body=message.body)
    reading = read_inbound(words, timezone.localdate(message.created_at))
    lead, email, agent = _owner_lead(address=message.from_address)
    if lead is None or agent is None:
        inbox_hold(message=message, reading=reading, words=words)
        return
    inbound_file(message=message, lead=lead, point=email, agent=agent, reading=reading, words=words)


def _owner_lead(*, address: str) -> tuple[Lead | None, Email | None, User | None]:
    """Whose address this is: the lead last emailed at it, else the only lead with it."""
    last = (Message.objects.filter(direction=Direction.OUTBOUND, channel=Channel.EMAIL, to_address=address.lower(),
                                   lead__erased_at__isnull=True, attempt__email__isnull=False)
            .select_related("lead__assigned_agent", "attempt__email").order_by("-created_at").first())
    if last is not None:
        # The lead's agent now, not whoever emailed last: a reassigned lead's replies go to its new agent.
        return last.lead, last.attempt.email, last.lead.assigned_agent
    rows = list(Email.objects.filter(address__iexact=address, contact__lead__erased_at__isnull=True)
                .exclude(status=EmailStatus.ERASED).select_related("contact__lead__assigned_agent")[:20])
    if len({row.contact.lead_id for row in rows}) != 1:
        return None, None, None
    lead = rows[0].contact.lead
    return lead, rows[0], lead.assigned_agent
