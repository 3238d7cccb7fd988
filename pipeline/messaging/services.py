"""Writes of messaging: texts out through the gate and the provider, reports and replies in.

A text is logged through ``outreach_log`` (the one gate) with its ``Message`` in the same
transaction; the provider is asked only once that has committed (a worker task), and is
asked once: a text handed over whose outcome we never learned is never sent again.
Inbound texts are taken once per provider id, filed on the homeowner's lead, and a STOP
goes on the internal list before the webhook answers (docs/messaging.md).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from kombu.exceptions import OperationalError

from compliance import rules
from compliance.disclosures import missing_disclosures, missing_message
from compliance.gate import Finding
from compliance.language import RevocationScan, language_hits
from compliance.models import Channel, Direction, Purpose, StopOrigin, Technology, Verdict
from compliance.services import internal_dnc_add, outreach_preview, text_resubscribe
from leadcrm.accounts.models import Brokerage, User
from leadcrm.accounts.services import automation_user
from leadcrm.shared.queue import enqueue_on_commit
from leads.editing import phone_add_by_hand
from leads.models import Email, EmailStatus, Lead, Phone, PhoneStatus, PhoneType
from leads.phones import format_national
from pipeline.deals.reg_o import disclosures_required_for, fee_statement_required
from pipeline.models import (
    FINAL_STATUSES,
    STATUS_RANK,
    InboxState,
    Message,
    MessageStatus,
    Notification,
    NotificationKind,
    Outcome,
    OutreachAttempt,
    WebhookReceipt,
)
from pipeline.outreach.services import OutreachBlocked, outreach_log

from .keywords import Keyword, read_inbound
from .providers import InboundText, ProviderError, StatusUpdate, telephony

logger = logging.getLogger(__name__)

TEXT_EMPTY = "Write the text first."
TEXT_TOO_LONG = "A text may be at most {limit} characters (this one has {length})."
TEXT_LIMIT = 1600  # Twilio's limit for one message (split into segments by the carrier)
LANDLINE = "{number} is a landline: it cannot receive texts. Call it instead."
NO_SENDING_NUMBER = ("No number to send from: a broker sets your sending number on your user, or "
                     "TWILIO_NUMBERS / TWILIO_MESSAGING_SERVICE_SID for the brokerage.")
HELP_REPLY = "{name}: a real estate brokerage. Questions: {contact}. Reply STOP to stop texts."
NOT_INBOUND = "Only a received message waiting in the inbox can be filed."
WRONG_LEAD_NUMBER = "That lead has no owner with {number}."
MAX_SEND_TRIES = 3
# Twilio's codes for a number that cannot take a text (not a mobile, a landline).
LANDLINE_ERRORS = frozenset({"21614", "30006"})
# Twilio's codes for "not now": too many requests, queue full. Nothing was sent.
RETRYABLE_ERRORS = frozenset({"20429", "30001", "20503"})


# Outbound texts -----------------------------------------------------------------------------


def sending_number(*, agent: User, to: str) -> str:
    """The agent's own provider number, else one of the shared pool, always the same one
    for the same homeowner (a reply comes back to the number that texted them)."""
    if agent.sending_number:
        return agent.sending_number
    pool = telephony().sending_numbers()
    if not pool:
        if settings.TWILIO_MESSAGING_SERVICE_SID:
            return ""  # the messaging service picks the sender
        raise ValidationError(NO_SENDING_NUMBER)
    digest = int(hashlib.sha256(to.encode()).hexdigest(), 16)
    return pool[digest % len(pool)]


def text_send(
    *,
    lead: Lead,
    phone: Phone,
    body: str,
    actor: User,
    role_disclosed: bool,
    purpose: Purpose | str = Purpose.LISTING,
    then: Callable[[OutreachAttempt, Message], None] | None = None,
) -> Message:
    """Text one of the lead's numbers: the gate decides now, the provider sends after commit.

    Raises ``OutreachBlocked`` (nothing sent, the check kept) or ``ValidationError``.
    ``then`` runs with the attempt and its message in their transaction (an action plan
    records its step as sent exactly when the text is logged).
    """
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": TEXT_EMPTY})
    if len(body) > TEXT_LIMIT:
        raise ValidationError({"body": TEXT_TOO_LONG.format(limit=TEXT_LIMIT, length=len(body))})
    if phone.phone_type == PhoneType.LANDLINE:
        raise ValidationError({"phone": LANDLINE.format(number=phone.display)})
    refused = text_content_findings(body=body, agent=actor, lead=lead, purpose=purpose)
    if refused:
        raise ValidationError({"body": [finding.reason for finding in refused]}, code=refused[0].rule)
    sender = sending_number(agent=actor, to=phone.number)
    provider = telephony()
    created: list[Message] = []

    def message_for(attempt: OutreachAttempt) -> None:
        created.append(Message.objects.create(
            channel=Channel.SMS, direction=Direction.OUTBOUND, provider=provider.name, lead=lead,
            attempt=attempt, agent=actor, from_address=sender, to_address=phone.number, body=body,
            status=MessageStatus.QUEUED,
        ))
        if then is not None:
            then(attempt, created[0])

    outreach_log(
        lead=lead, channel=Channel.SMS, contact_point=phone, outcome=Outcome.SENT, actor=actor,
        role_disclosed=role_disclosed, purpose=purpose, notes=body, technology=Technology.MANUAL,
        # The agent's own words ("reply STOP to opt out") are no request to stop.
        revocation=RevocationScan(), then=message_for,
    )
    message = created[0]
    from pipeline.tasks import message_deliver as message_deliver_task

    # The sweep re-sends what the broker lost (messages_sweep), so a paused queue loses nothing.
    enqueue_on_commit(message_deliver_task, message.pk, swept=True)
    return message


TEXT_PROMISE = "A text to a homeowner may not say “{text}” ({rule}): {why}"
TEXT_UNSIGNED = ("A text must say who is writing (D3): name yourself and the brokerage in it, e.g. "
                 "“{first}, {brokerage}”.")


def text_content_findings(*, body: str, agent: User, lead: Lead | None = None,
                          purpose: Purpose | str | None = None) -> list[Finding]:
    """What refuses the words of a text before the gate is asked: unlike a note of what was
    said on a call, the text is what the homeowner reads. A prohibited promise (F6) or
    representation (F5) is a refusal here, not the warning the log gives a note; the text
    itself must name the agent and the brokerage (D3), since no one will say them aloud; and
    from a sender outside the licensee stay it carries Regulation O's notice (F3), with a
    figure for the fee (a merge field left in states none) unless the sender is a principal
    with no fee on the lead. The one stop confirmation (B4) is no mortgage-assistance offer
    and may carry nothing else, so F3 does not ask it for the notice."""
    findings = [Finding(hit.rule, Verdict.BLOCK, TEXT_PROMISE.format(text=hit.text, rule=hit.rule, why=hit.why))
                for hit in language_hits(body)]
    brokerage = Brokerage.objects.current().name
    folded = body.casefold()
    names = [name for name in (agent.first_name, agent.last_name) if name]
    if body.strip() and not (any(name.casefold() in folded for name in names) and brokerage.casefold() in folded):
        findings.append(Finding(rules.ROLE_DISCLOSURE.id, Verdict.BLOCK, TEXT_UNSIGNED.format(
            first=agent.get_full_name() or agent.username, brokerage=brokerage)))
    if (body.strip() and purpose != Purpose.REVOCATION_CONFIRMATION
            and disclosures_required_for(actor=agent, lead=lead)):
        missing = missing_disclosures(body, fee_required=fee_statement_required(actor=agent, lead=lead))
        if missing:
            findings.append(Finding(rules.DISCLOSURES.id, Verdict.BLOCK, missing_message(missing)))
    return findings


def status_callback_url(message: Message) -> str:
    return settings.LEADCRM_WEBHOOK_BASE_URL + reverse("messaging:twilio_status", args=[message.pk])


def message_deliver(*, message_id: int) -> Message | None:
    """Hand one queued text to the provider, once. Safe to run twice: only a message still
    ``queued`` is claimed (one conditional update, on SQLite too), and the claim is committed
    before the provider is asked.

    The gate is asked again as the text leaves: whatever changed since it was written (a
    STOP, calling hours closing in the homeowner's zone, a registry load) refuses it, and a
    text that waited too long in the queue is not sent at all."""
    now = timezone.now()
    # Texts only: a call is placed by pipeline.messaging.calls, never re-sent as a text.
    claimed = Message.objects.filter(pk=message_id, status=MessageStatus.QUEUED, channel=Channel.SMS).update(
        status=MessageStatus.SENDING, handed_over_at=now)
    if not claimed:
        return None
    message = Message.objects.select_related("attempt__lead__property", "attempt__phone__contact",
                                             "attempt__agent").get(pk=message_id)
    refusal = _refused_now(message, now=now)
    if refusal:
        Message.objects.filter(pk=message.pk).update(status=MessageStatus.FAILED, status_at=now,
                                                     error_code="not-sent", error_message=refusal[:500])
        message.refresh_from_db()
        return message
    provider = telephony()
    try:
        sent = provider.send_text(to=message.to_address, from_=message.from_address, body=message.body,
                                  status_callback=status_callback_url(message))
    except ProviderError as error:
        return _send_failed(message, error)
    with transaction.atomic():
        message = Message.objects.select_for_update().get(pk=message.pk)
        message.provider_id = message.provider_id or sent.provider_id
        fields = ["provider_id"]
        if _moves_forward(message.status, sent.status):
            message.status, message.status_at = sent.status, timezone.now()
            fields += ["status", "status_at"]
        message.save(update_fields=fields)
    return message


STALE_SEND = ("Not sent: it waited {minutes} minutes in the queue, and a text goes out when it is written or not "
              "at all. Write it again if it still applies.")
REFUSED_AT_SEND = "Not sent: when it was about to leave, the compliance gate refused it. {reasons}"


def _refused_now(message: Message, *, now) -> str:
    """Why this text may not leave now, or "" when it may."""
    if message.created_at < now - timedelta(seconds=settings.LEADCRM_SEND_STALE_AFTER_SECONDS):
        return STALE_SEND.format(minutes=int((now - message.created_at).total_seconds() // 60))
    attempt = message.attempt
    if attempt is None or attempt.phone is None or attempt.purpose == Purpose.REVOCATION_CONFIRMATION:
        return ""  # the answer to HELP; the one confirmation of a stop, vetted when logged (B4)
    # The cap (E2) is not asked again: this text's own check already counts in it.
    reasons = refused_again(lead=attempt.lead, phone=attempt.phone, channel=Channel.SMS, purpose=attempt.purpose,
                            actor=attempt.agent, at=now, not_asked={"E2"}, role_disclosed=attempt.role_disclosed,
                            message=message.body, technology=attempt.technology)
    return REFUSED_AT_SEND.format(reasons=reasons) if reasons else ""


def refused_again(*, lead: Lead, phone: Phone, channel: Channel, purpose, actor: User, at, not_asked: set[str],
                  role_disclosed: bool = True, message: str = "", technology=Technology.MANUAL) -> str:
    """The gate asked again, as a contact it allowed a moment ago actually leaves (a queued
    text, a call's bridge): what it refuses now, "rule: reason" each, or "" when nothing.
    Recorded nowhere (the contact's own check stands); ``not_asked``: the rules that
    check already settled or would count twice."""
    decision = outreach_preview(lead=lead, contact_point=phone, channel=channel, purpose=purpose, actor=actor, at=at,
                                role_disclosed=role_disclosed, message=message, technology=technology)
    return " ".join(f"{finding.rule}: {finding.reason}" for finding in decision.findings_with(Verdict.BLOCK)
                    if finding.rule not in not_asked)


def _send_failed(message: Message, error: ProviderError) -> Message:
    with transaction.atomic():
        message = Message.objects.select_for_update().get(pk=message.pk)
        message.error_code, message.error_message = error.code[:40], error.message[:500]
        if not error.outcome_known:
            message.status = MessageStatus.UNKNOWN
        elif error.retryable or error.code in RETRYABLE_ERRORS:
            message.send_tries += 1
            message.status = MessageStatus.QUEUED if message.send_tries < MAX_SEND_TRIES else MessageStatus.FAILED
        else:
            message.status = MessageStatus.FAILED
        message.status_at = timezone.now()
        message.save(update_fields=["status", "status_at", "error_code", "error_message", "send_tries"])
        if message.error_code in LANDLINE_ERRORS and message.attempt_id:
            _mark_landline(message)
        if message.status == MessageStatus.QUEUED:
            _deliver_later(message.pk, seconds=30 * message.send_tries)
    return message


def _deliver_later(message_id: int, *, seconds: int) -> None:
    """Ask the provider again after a pause ("not now" is not "right now"). The countdown is a
    publishing option, which ``enqueue_on_commit`` would pass to the task as an argument;
    a broker that does not answer loses nothing: ``messages_sweep`` re-queues the message."""
    from pipeline.tasks import message_deliver as message_deliver_task

    def publish():
        try:
            message_deliver_task.apply_async(args=[message_id], countdown=seconds)
        except OperationalError as error:
            logger.warning("Could not queue message %s again: %s", message_id, error)
    transaction.on_commit(publish)


def _mark_landline(message: Message) -> None:
    phone = message.attempt.phone
    if phone is not None and phone.phone_type != PhoneType.LANDLINE:
        now = timezone.now()
        Phone.objects.filter(pk=phone.pk).update(phone_type=PhoneType.LANDLINE, version=phone.version + 1, updated_at=now)
        Lead.objects.filter(contacts=phone.contact_id).update(updated_at=now)  # docs/architecture.md#api-sync


def _moves_forward(current: str, new: str) -> bool:
    """Callbacks arrive out of order: a final status stays; an earlier one never follows a later."""
    if current in FINAL_STATUSES or current == new:
        return False
    if new in FINAL_STATUSES:
        return True
    return STATUS_RANK.get(new, 0) > STATUS_RANK.get(current, 0)


def status_apply(*, update: StatusUpdate, message_id: int | None = None, provider: str = "") -> Message | None:
    """A provider's delivery or call report, onto its message; replays change nothing."""
    with transaction.atomic():
        query = Message.objects.select_for_update()
        if message_id is not None:
            message = query.filter(pk=message_id).first()
        else:
            message = query.filter(provider=provider, provider_id=update.provider_id).first()
        if message is None:
            return None
        fields = []
        if not message.provider_id and update.provider_id:
            message.provider_id = update.provider_id
            fields.append("provider_id")
        if _moves_forward(message.status, update.status):
            message.status, message.status_at = update.status, timezone.now()
            fields += ["status", "status_at"]
            if update.error_code or update.error_message:
                message.error_code = update.error_code[:40]
                message.error_message = (update.error_message or _error_text(update.error_code))[:500]
                fields += ["error_code", "error_message"]
        if update.duration_seconds is not None:
            message.duration_seconds = update.duration_seconds
            fields.append("duration_seconds")
        if update.answered is not None:
            message.answered = update.answered
            fields.append("answered")
        if fields:
            message.save(update_fields=list(dict.fromkeys(fields)))
        if update.error_code in LANDLINE_ERRORS and message.attempt_id:
            _mark_landline(message)
    return message


# The carriers' errors an agent meets most, in words (Twilio's error dictionary).
ERROR_TEXTS = {
    "30003": "The handset is unreachable (off, or out of coverage).",
    "30004": "The message was blocked (the number blocks texts, or the carrier refused it).",
    "30005": "Unknown number: it may no longer exist.",
    "30006": "A landline or a number that cannot take texts.",
    "30007": "The carrier filtered the message as spam.",
    "30008": "Unknown error from the carrier.",
    "21610": "The homeowner texted STOP to this sender: the carrier blocks further texts.",
    "21614": "Not a mobile number: it cannot take texts.",
}


def _error_text(code: str) -> str:
    return ERROR_TEXTS.get(code, f"Carrier error {code}." if code else "")


CALL_NEVER_PLACED = "The call was never placed: its request ended before the provider was asked. Click Call again."


def messages_sweep(*, now=None) -> dict[str, int]:
    """Texts a worker was asked to send and never finished: handed over with no answer for
    a while are ``unknown`` (never sent again); still queued (the broker lost the task)
    are queued again. A homeowner's text or email whose filing a dead request left
    unfinished is filed now, its STOP with it."""
    from pipeline.tasks import message_deliver as message_deliver_task

    now = now or timezone.now()
    unknown_before = now - timedelta(seconds=settings.LEADCRM_SEND_UNKNOWN_AFTER_SECONDS)
    # Only where the provider never answered: one that gave us its id took the text.
    stuck = Message.objects.filter(status=MessageStatus.SENDING, handed_over_at__lt=unknown_before,
                                   provider_id__isnull=True).update(
        status=MessageStatus.UNKNOWN, status_at=now,
        error_message="Handed to the provider, and no answer came back: it may or may not have been sent, "
                      "so it is not sent again.",
    )
    lost = list(Message.objects.filter(status=MessageStatus.QUEUED, direction=Direction.OUTBOUND, channel=Channel.SMS,
                                       created_at__lt=now - timedelta(minutes=2)).values_list("pk", flat=True)[:500])
    for pk in lost:
        enqueue_on_commit(message_deliver_task, pk, swept=True)
    # A call whose request died between its check and the provider: never placed, and says so.
    never_placed = Message.objects.filter(channel=Channel.CALL, status=MessageStatus.QUEUED, provider_id__isnull=True,
                                          created_at__lt=now - timedelta(minutes=5)).update(
        status=MessageStatus.FAILED, status_at=now, error_code="not-placed", error_message=CALL_NEVER_PLACED)
    refiled = 0
    for message in Message.objects.filter(direction=Direction.INBOUND, inbox_state=InboxState.PENDING,
                                          status_at__lt=now - REFILE_AFTER).order_by("pk")[:200]:
        if _claim_unfinished(message, now=now):
            inbound_route(message)
            refiled += 1
    return {"unknown": stuck, "requeued": len(lost), "refiled": refiled, "calls_failed": never_placed}


def inbound_route(message: Message) -> None:
    """File a taken-in message, or hold it in the inbox, by its channel."""
    if message.channel == Channel.EMAIL:
        from .email import email_route

        email_route(message)
    elif message.channel == Channel.CALL:
        from .inbound_calls import inbound_call_route

        inbound_call_route(message)
    else:
        _text_route(message)


# Inbound texts ------------------------------------------------------------------------------


def _owner_lead(*, number: str) -> tuple[Lead | None, Phone | None, User | None]:
    """Whose number this is: the lead that last texted it, else the only lead with it."""
    last = (Message.objects.filter(direction=Direction.OUTBOUND, channel=Channel.SMS, to_address=number,
                                   lead__isnull=False, lead__erased_at__isnull=True)
            .select_related("lead__assigned_agent", "attempt__phone").order_by("-created_at").first())
    if last is not None and last.attempt is not None and last.attempt.phone is not None:
        # The lead's agent now, not whoever texted last: a reassigned lead's replies go to its new agent.
        return last.lead, last.attempt.phone, last.lead.assigned_agent
    phones = list(Phone.objects.filter(number=number, contact__lead__erased_at__isnull=True)
                  .exclude(status=PhoneStatus.ERASED).select_related("contact__lead__assigned_agent")[:20])
    leads = {phone.contact.lead_id for phone in phones}
    if len(leads) != 1:
        return None, None, None
    phone = phones[0]
    lead = phone.contact.lead
    return lead, phone, lead.assigned_agent


# A message still being filed this long after its request began was left by a request that died.
REFILE_AFTER = timedelta(seconds=60)


def inbound_take(message: Message) -> tuple[Message, bool]:
    """Insert a new inbound message, to be filed by the caller: ``(message, True)``.

    A replay finds the first one: ``(it, False)``, nothing to do, unless its filing never
    finished (the request that took it died before filing, which also files its STOP):
    then, a minute on, the replay claims it and files it, as the sweep would.
    """
    message.inbox_state = InboxState.PENDING
    # When it was taken in (not when the provider says it arrived): a claim of an unfinished
    # one waits REFILE_AFTER from here, so a request still at work is never overtaken.
    message.status_at = timezone.now()
    try:
        with transaction.atomic():
            message.save(force_insert=True)
    except IntegrityError:
        existing = Message.objects.get(provider=message.provider, provider_id=message.provider_id)
        return existing, _claim_unfinished(existing)
    return message, True


def _claim_unfinished(message: Message, now=None) -> bool:
    """One request at a time takes over a message left being filed; True for the one that did."""
    now = now or timezone.now()
    return message.inbox_state == InboxState.PENDING and Message.objects.filter(
        pk=message.pk, inbox_state=InboxState.PENDING, status_at__lt=now - REFILE_AFTER,
    ).update(status_at=now) == 1


def inbound_text_receive(*, provider: str, inbound: InboundText) -> Message:
    """File one text from a homeowner, once per provider id.

    STOP and plain revocations go on the internal list before this returns (B1, B4); START
    and HELP are answered as the rules allow; an ambiguous reply goes to review; a number
    no lead has waits in the inbox for a team lead.
    """
    message, fresh = inbound_take(Message(
        channel=Channel.SMS, direction=Direction.INBOUND, provider=provider, provider_id=inbound.provider_id,
        from_address=inbound.from_number, to_address=inbound.to_number, body=inbound.body,
        status=MessageStatus.RECEIVED, created_at=inbound.received_at, status_at=inbound.received_at,
        keyword=read_inbound(inbound.body, timezone.localdate(inbound.received_at)).keyword,
    ))
    if fresh:
        inbound_route(message)
    return message


def _text_route(message: Message) -> None:
    reading = read_inbound(message.body, timezone.localdate(message.created_at))
    lead, phone, agent = _owner_lead(number=message.from_address)
    if reading.keyword == Keyword.START:
        # Kept beside the internal list, which never changes (B2); the gate decides from it
        # whether texts (only) may reach the number again (docs/compliance-rules.md#b4-start).
        try:
            text_resubscribe(phone_number=message.from_address, words=message.body, lead=lead,
                             at=message.created_at, recorded_by=automation_user(), message_id=message.pk)
        except ValidationError as refused:  # a sender we cannot text anyway: the text is still filed
            logger.warning("START in message %s not recorded: %s", message.pk, refused)
    if lead is None or agent is None:
        inbox_hold(message=message, reading=reading, words=message.body)
    else:
        inbound_file(message=message, lead=lead, point=phone, agent=agent, reading=reading, words=message.body)
    if reading.keyword == Keyword.HELP and not _helped_lately(message):
        _help_reply(message)


def _stop_by_point(message: Message, *, words: str) -> None:
    """The homeowner's stop, on the number or address it came from, whoever's lead it is."""
    if message.channel == Channel.EMAIL:
        internal_dnc_add(channel=Channel.EMAIL, email=message.from_address, homeowner_words=words[:2000],
                         recorded_by=automation_user(), requested_at=message.created_at)
    else:
        internal_dnc_add(channel=Channel.SMS, phone_number=message.from_address, homeowner_words=words,
                         recorded_by=automation_user(), requested_at=message.created_at,
                         origin=StopOrigin.TEXT_REPLY)


def inbox_hold(*, message: Message, reading, words: str) -> None:
    """Nobody's lead (or nobody's to answer): it waits for a team lead, and a STOP still
    takes effect now, on the number or address itself, in the same transaction."""
    with transaction.atomic():
        Message.objects.filter(pk=message.pk).update(inbox_state=InboxState.UNMATCHED)
        if reading.keyword == Keyword.STOP:
            _stop_by_point(message, words=words)
    message.inbox_state = InboxState.UNMATCHED
    from .selectors import inbox_count_forget

    inbox_count_forget()  # the menu's badge counts it now, not after its cache runs out


def inbound_file(*, message: Message, lead: Lead, point, agent: User, reading, words: str) -> None:
    """On the lead's timeline as the homeowner's reply, through the log (its STOP, its review).

    The message is marked filed in the log's own transaction, with the attempt: a request
    that dies before it commits leaves the message to be filed again, STOP and all."""
    now = timezone.now()

    def filed(attempt: OutreachAttempt | None) -> None:
        Message.objects.filter(pk=message.pk).update(lead=lead, agent=agent, attempt=attempt,
                                                     inbox_state=InboxState.FILED, filed_at=now)

    try:
        outreach_log(
            lead=lead, channel=Channel(message.channel), contact_point=point, outcome=Outcome.REPLIED, actor=agent,
            role_disclosed=True, purpose=Purpose.FOLLOW_UP, notes=words, homeowner_words=words,
            occurred_at=min(message.created_at, now), direction=Direction.INBOUND,
            revocation=reading.revocation, then=filed,
        )
    except OutreachBlocked as refused:
        # The reply is kept on the timeline whatever the log says; a stop was recorded anyway.
        logger.warning("Inbound message %s not logged as an attempt: %s", message.pk, refused)
        filed(None)
    except ValidationError as refused:
        # Refused inside the log's transaction, its stop rolled back with it: the stop is
        # recorded here instead, on the number or address itself (B1).
        logger.warning("Inbound message %s not logged as an attempt: %s", message.pk, refused)
        with transaction.atomic():
            if reading.keyword == Keyword.STOP:
                _stop_by_point(message, words=words)
            filed(None)
    message.refresh_from_db()
    reply_notify(message=message, agent=agent)


def reply_notify(*, message: Message, agent: User) -> None:
    """Tell the agent a homeowner's text, email or call is on the lead (once per message)."""
    from pipeline.reminders.notifications import raise_once

    lead = message.lead
    what = {Channel.EMAIL: "Email", Channel.CALL: "Call"}.get(message.channel, "Text")
    title = f"{'STOP received' if message.keyword == Keyword.STOP else f'{what} from the homeowner'}: {lead}"
    raise_once(Notification(
        recipient=agent, kind=NotificationKind.REPLY, key=f"reply:{message.pk}", lead=lead,
        title=title[:200], body=message.body[:500],
        url=reverse("leads:detail", args=[lead.pk]) + "#timeline",
    ))


def help_text() -> str:
    brokerage = Brokerage.objects.current()
    phone = format_national(brokerage.phone) if brokerage.phone else ""
    contact = " or ".join(part for part in (phone, brokerage.email) if part) or "reply to this number"
    return HELP_REPLY.format(name=brokerage.name, contact=contact)


def _helped_lately(inbound: Message) -> bool:
    """HELP is answered once a day per number: a homeowner (or a script) texting it again
    and again gets no stream of texts."""
    return Message.objects.filter(direction=Direction.OUTBOUND, channel=Channel.SMS, keyword=Keyword.HELP,
                                  to_address=inbound.from_address,
                                  created_at__gte=timezone.now() - timedelta(days=1)).exists()


def _help_reply(inbound: Message) -> Message:
    """HELP is answered with who we are and how to reach us (the carriers require it, even
    after a STOP); the answer is informational, not outreach, so it is not an attempt."""
    reply = Message.objects.create(
        channel=Channel.SMS, direction=Direction.OUTBOUND, provider=inbound.provider, lead=inbound.lead,
        agent=inbound.agent, from_address=inbound.to_address, to_address=inbound.from_address, body=help_text(),
        status=MessageStatus.QUEUED, keyword=Keyword.HELP,
    )
    from pipeline.tasks import message_deliver as message_deliver_task

    enqueue_on_commit(message_deliver_task, reply.pk, swept=True)
    return reply


def inbox_file(*, message: Message, lead: Lead, filed_by: User) -> Message:
    """A team lead files an inbox text or email on a lead (one the team lead may see)."""
    message.refresh_from_db()
    if message.direction != Direction.INBOUND or message.inbox_state != InboxState.UNMATCHED:
        raise ValidationError(NOT_INBOUND)
    if message.channel == Channel.EMAIL:
        point = Email.objects.filter(contact__lead=lead, address__iexact=message.from_address).exclude(
            status=EmailStatus.ERASED).first()
    else:
        point = Phone.objects.filter(contact__lead=lead, number=message.from_address).exclude(
            status=PhoneStatus.ERASED).first()
    if point is None and message.channel != Channel.EMAIL:
        # Filed on purpose on a lead that does not have the number yet: the number becomes the
        # owner's (given by the homeowner: they texted from it), as an agent adds one by hand.
        owner = lead.contacts.order_by("pk").first()
        if owner is not None:
            point = phone_add_by_hand(contact=owner, actor=filed_by, number=message.from_address)
    if point is None:
        raise ValidationError(WRONG_LEAD_NUMBER.format(number=message.from_address))
    # Claimed first: two team leads filing the same text at once file it once.
    claimed = Message.objects.filter(pk=message.pk, direction=Direction.INBOUND,
                                     inbox_state=InboxState.UNMATCHED).update(
        inbox_state=InboxState.PENDING, filed_by=filed_by, status_at=timezone.now())
    if not claimed:
        raise ValidationError(NOT_INBOUND)
    message.refresh_from_db()
    words = message.body
    if message.channel == Channel.EMAIL:
        from .email import email_words

        words = email_words(subject=message.subject, body=message.body)
    inbound_file(message=message, lead=lead, point=point, agent=lead.assigned_agent or filed_by,
                 reading=read_inbound(words, timezone.localdate(message.created_at)), words=words)
    return message


def inbox_dismiss(*, message: Message, dismissed_by: User) -> Message:
    """Not a homeowner (a wrong number, a carrier notice): out of the inbox, kept."""
    updated = Message.objects.filter(pk=message.pk, inbox_state=InboxState.UNMATCHED).update(
        inbox_state=InboxState.DISMISSED, filed_by=dismissed_by, filed_at=timezone.now())
    if not updated:
        raise ValidationError(NOT_INBOUND)
    message.refresh_from_db()
    return message


def webhook_once(*, provider: str, event_id: str) -> bool:
    """True the first time a provider's event is seen; False for a replay."""
    if not event_id:
        return True
    try:
        with transaction.atomic():
            WebhookReceipt.objects.create(provider=provider, event_id=event_id[:200])
    except IntegrityError:
        return False
    return True

