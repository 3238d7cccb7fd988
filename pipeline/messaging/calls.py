"""Click-to-call: the gate decides at the click, the provider rings the agent, then the homeowner.

"Call" asks the gate once (a recorded LOG check, under the same per-number lock as the
outreach log) and keeps that check on the call's ``Message``. The provider is asked only
after that has committed: it rings the agent's own phone, and when they answer, the
bridge (our TwiML) dials the homeowner showing the brokerage's number. The agent then
picks the result with the dialer's buttons; ``call_result_log`` logs the attempt on the
click's check, so the call counts once toward the frequency caps (E2). See
docs/messaging.md#click-to-call.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from compliance.models import Channel, Direction, Purpose, Technology
from compliance.services import outreach_check
from leadcrm.accounts.models import Brokerage, User
from leads.models import Lead, Phone, PhoneStatus
from pipeline.models import Message, MessageStatus, OutreachAttempt
from pipeline.outreach.services import OutreachBlocked, _serialise_on, outreach_log

from .caller_id import CALLER_ID_BLOCKED, caller_id_refusal
from .providers import ProviderError, StatusUpdate, telephony
from .services import refused_again, sending_number, status_apply, status_callback_url

NO_CALL_PHONE = ("Add the phone to ring for calls on your settings page first: a call rings your phone, "
                 "then connects the homeowner.")
# A messaging service alone cannot place calls: no number, no call (D2).
NO_CALLER_ID = CALLER_ID_BLOCKED
NOT_A_CALL = "Only a call placed from the CRM can be logged this way."
ALREADY_LOGGED = "This call's result is already logged."
NUMBER_GONE = "The number called is no longer on this lead: log the call from the outreach form."
NOT_LOCAL = "Only a call through the local backend can be finished by hand."
CALL_FAILED = "The call could not be placed: {reason}"
RECORDING_OFF = ""
RECORDING_ON = "This call is recorded; both sides hear that it is."
RECORDING_REFUSED = ("Not recorded: every party must consent in {states}, and you did not confirm the "
                     "homeowner agreed. {reason}")
RECORDING_NOT_ALLOWED = "Not recorded: {reason}"
ANNOUNCEMENT = "This call is recorded."
# A bridge asked for later than this after the click is not connected (a stale or replayed request).
# An agent answers their own phone within seconds; later, the check made at the click is stale.
BRIDGE_WINDOW = timedelta(minutes=2)


def call_start(
    *,
    lead: Lead,
    phone: Phone,
    actor: User,
    role_disclosed: bool,
    purpose: Purpose | str = Purpose.LISTING,
    recording_consent: bool = False,
) -> Message:
    """Ask the gate now; when it allows, ring the agent's phone and bridge ``phone``.

    Raises ``OutreachBlocked`` (the check kept, nothing placed) or ``ValidationError`` (a
    caller ID that fails D2 among them: ``caller_id.caller_id_refusal``).
    A provider's refusal comes back as the message, status failed with its reason (or
    unknown when no answer came): a call is never placed a second time by itself.
    """
    lead.refuse_if_erased()
    if not actor.call_phone:
        raise ValidationError(NO_CALL_PHONE)
    # One call at a time to a homeowner: a second click (here, or in the queue) while the
    # first still rings would ring them twice.
    if Message.objects.filter(channel=Channel.CALL, direction=Direction.OUTBOUND, to_address=phone.number,
                              status__in=OPEN_CALL_STATUSES, attempt__isnull=True,  # its result logged: over
                              created_at__gte=timezone.now() - OPEN_CALL_WINDOW).exists():
        raise ValidationError(CALL_ALREADY_OPEN.format(number=phone.display))
    caller_id = sending_number(agent=actor, to=phone.number)
    # D2: the homeowner sees a working number of ours that takes a stop, or nothing is
    # placed. Asked before the gate: no check is recorded for a call that cannot be made.
    refusal = caller_id_refusal(caller_id)
    if refusal:
        raise ValidationError(refusal, code="D2")
    provider = telephony()
    now = timezone.now()
    record, recording_note = _recording(lead=lead, phone=phone, at=now, consent=recording_consent, agent=actor)
    with transaction.atomic(durable=True):
        _serialise_on(phone)
        decision = outreach_check(
            lead=lead, contact_point=phone, channel=Channel.CALL, purpose=purpose, actor=actor, at=now,
            role_disclosed=role_disclosed, technology=Technology.MANUAL, direction=Direction.OUTBOUND,
        )
        if decision.allowed:
            message = Message(
                channel=Channel.CALL, direction=Direction.OUTBOUND, provider=provider.name, lead=lead,
                agent=actor, from_address=caller_id, to_address=phone.number, status=MessageStatus.QUEUED,
                compliance_check=decision.check, recorded=record, created_at=now, status_at=now,
            )
            message.full_clean(exclude=["lead", "agent", "compliance_check"], validate_unique=False,
                               validate_constraints=False)
            message.save(force_insert=True)
    if not decision.allowed:
        raise OutreachBlocked(decision)
    message = _place(message=message, agent_phone=actor.call_phone)
    message.recording_note = recording_note
    return message


def _recording(*, lead: Lead, phone: Phone, at: datetime, consent: bool, agent: User) -> tuple[bool, str]:
    """Record this call? Off unless the brokerage turned it on; where every party must
    consent, only when the agent confirmed the homeowner agreed (docs/messaging.md#recording)."""
    if not Brokerage.objects.current().record_calls:
        return False, RECORDING_OFF
    from compliance.recording import recording_decision

    # The agent's side counts too: a call from a phone in an all-party state is recorded there.
    decision = recording_decision(lead=lead, phone=phone, at=at, agent=agent)
    states = list(decision.all_party_states or [])
    if states:
        if consent:
            return True, RECORDING_ON
        return False, RECORDING_REFUSED.format(states=", ".join(states), reason=decision.reason).strip()
    if not decision.allowed:
        return False, RECORDING_NOT_ALLOWED.format(reason=decision.reason).strip()
    return True, RECORDING_ON


def bridge_url(message: Message) -> str:
    return settings.LEADCRM_WEBHOOK_BASE_URL + reverse("messaging:call_bridge", args=[message.pk])


def announcement_url(message: Message) -> str:
    return settings.LEADCRM_WEBHOOK_BASE_URL + reverse("messaging:call_announcement", args=[message.pk])


def _place(*, message: Message, agent_phone: str) -> Message:
    """Hand the call to the provider, once: claimed (committed) before the provider is asked."""
    claimed = Message.objects.filter(pk=message.pk, status=MessageStatus.QUEUED).update(
        status=MessageStatus.SENDING, handed_over_at=timezone.now())
    if not claimed:
        message.refresh_from_db()
        return message
    try:
        sent = telephony().place_call(
            agent_phone=agent_phone, to=message.to_address, caller_id=message.from_address,
            bridge_url=bridge_url(message), status_callback=status_callback_url(message),
        )
    except ProviderError as error:
        with transaction.atomic():
            message = Message.objects.select_for_update().get(pk=message.pk)
            # A call is never retried by itself: the agent is waiting and clicks again.
            message.status = MessageStatus.FAILED if error.outcome_known else MessageStatus.UNKNOWN
            message.error_code, message.error_message = error.code[:40], CALL_FAILED.format(reason=error.message)[:500]
            message.status_at = timezone.now()
            message.save(update_fields=["status", "error_code", "error_message", "status_at"])
        return message
    return status_apply(update=StatusUpdate(provider_id=sent.provider_id, status=sent.status),
                        message_id=message.pk) or message


def call_result_log(
    *,
    message: Message,
    outcome: str,
    actor: User,
    role_disclosed: bool,
    notes: str = "",
    homeowner_words: str = "",
    follow_up_at: datetime | None = None,
    follow_up_title: str = "",
) -> OutreachAttempt:
    """The agent picks the call's result: one attempt, logged on the check made at the click."""
    message = Message.objects.select_related("lead", "compliance_check").get(pk=message.pk)
    if message.channel != Channel.CALL or message.direction != Direction.OUTBOUND or message.compliance_check is None:
        raise ValidationError(NOT_A_CALL)
    if message.attempt_id is not None:
        raise ValidationError(ALREADY_LOGGED)
    phone = (Phone.objects.filter(contact__lead=message.lead, number=message.to_address)
             .exclude(status=PhoneStatus.ERASED).select_related("contact").first())
    if phone is None:
        raise ValidationError(NUMBER_GONE)

    def link(attempt: OutreachAttempt) -> None:
        if not Message.objects.filter(pk=message.pk, attempt__isnull=True).update(attempt=attempt):
            raise ValidationError(ALREADY_LOGGED)

    return outreach_log(
        lead=message.lead, channel=Channel.CALL, contact_point=phone, outcome=outcome, actor=actor,
        role_disclosed=role_disclosed, purpose=message.compliance_check.purpose, notes=notes,
        homeowner_words=homeowner_words, follow_up_at=follow_up_at, follow_up_title=follow_up_title,
        check=message.compliance_check, then=link,
    )


def call_finish_local(*, message: Message, answered: bool, seconds: int = 60) -> Message:
    """The demo's stand-in for the provider's last callbacks: the homeowner answered (or not),
    then the call ended, through the same ``status_apply`` a Twilio callback takes."""
    if message.provider != "local" or message.channel != Channel.CALL:
        raise ValidationError(NOT_LOCAL)
    status_apply(update=StatusUpdate(
        provider_id=message.provider_id or "", status="" if answered else MessageStatus.NO_ANSWER,
        duration_seconds=seconds if answered else 0, answered=answered,
    ), message_id=message.pk)
    return status_apply(update=StatusUpdate(provider_id=message.provider_id or "", status=MessageStatus.COMPLETED),
                        message_id=message.pk)


CALL_ALREADY_OPEN = "A call to {number} is already ringing or in progress: finish it (or let it end) first."
OPEN_CALL_STATUSES = (MessageStatus.QUEUED, MessageStatus.SENDING, MessageStatus.RINGING, MessageStatus.IN_PROGRESS)
# A call reported as still open after this long lost its last report; it no longer holds the number.
OPEN_CALL_WINDOW = timedelta(hours=2)
REFUSED_AT_BRIDGE = "The homeowner can no longer be called: {reasons} The call ends here."
VOICEMAIL_ANSWERED = "Your voicemail answered, so the homeowner was not called."
# Rules about what the agent says, confirmed when the result is logged, and the cap, which
# counts this call's own check already: not asked again as the homeowner is dialled.
NOT_ASKED_AT_BRIDGE = frozenset({"D3", "F8", "E2"})


def refused_at_bridge(*, message: Message, now: datetime) -> str:
    """Why the homeowner may not be dialled now, though the gate allowed the click a minute
    ago (a STOP texted meanwhile, calling hours closing), or "" when they may."""
    phone = Phone.objects.filter(contact__lead=message.lead_id, number=message.to_address).exclude(
        status=PhoneStatus.ERASED).select_related("contact").first()
    if phone is None or message.agent is None:
        return REFUSED_AT_BRIDGE.format(reasons="the number is no longer this lead's.")
    check = message.compliance_check
    reasons = refused_again(lead=message.lead, phone=phone, channel=Channel.CALL,
                            purpose=check.purpose if check else Purpose.LISTING, actor=message.agent, at=now,
                            not_asked=NOT_ASKED_AT_BRIDGE)
    return REFUSED_AT_BRIDGE.format(reasons=reasons) if reasons else ""


def bridge_twiml(*, message: Message, now: datetime | None = None, refuse: bool = False,
                 answered_by: str = "") -> str:
    """What Twilio does once the agent answers: announce a recording, then dial the homeowner
    with the brokerage's number as caller ID; the homeowner's leg reports to the call's
    status callback (answered, how long). A recorded call is announced to the homeowner
    too, as they answer (``<Number url>``, before the two are connected)."""
    from twilio.twiml.voice_response import Dial, VoiceResponse

    now = now or timezone.now()
    response = VoiceResponse()
    if (refuse or message.channel != Channel.CALL or message.direction != Direction.OUTBOUND or message.is_final
            or message.compliance_check_id is None or now - message.created_at > BRIDGE_WINDOW):
        response.say("This call can no longer be connected. Please click Call again.")
        response.hangup()
        return str(response)
    if answered_by.startswith(("machine", "fax")):
        _ended(message, VOICEMAIL_ANSWERED)
        response.hangup()
        return str(response)
    refusal = refused_at_bridge(message=message, now=now)
    if refusal:
        _ended(message, refusal)
        response.say(refusal)
        response.hangup()
        return str(response)
    if message.recorded:
        response.say(ANNOUNCEMENT)
    dial = Dial(caller_id=message.from_address, **({"record": "record-from-answer-dual"} if message.recorded else {}))
    announced = {"url": announcement_url(message), "method": "POST"} if message.recorded else {}
    dial.number(message.to_address, status_callback=status_callback_url(message), status_callback_method="POST",
                status_callback_event="initiated ringing answered completed", **announced)
    response.append(dial)
    return str(response)


def _ended(message: Message, why: str) -> None:
    """The homeowner was not dialled: the call says why, and never looks connected."""
    Message.objects.filter(pk=message.pk).update(status=MessageStatus.CANCELED, status_at=timezone.now(),
                                                 error_code="not-dialled", error_message=why[:500])


def announcement_twiml(*, message: Message) -> str:
    """What the homeowner hears on answering a recorded call, before the agent is connected."""
    from twilio.twiml.voice_response import VoiceResponse

    response = VoiceResponse()
    if message.recorded:
        response.say(ANNOUNCEMENT)
    return str(response)
