"""Calls to the brokerage's numbers: the caller ID a homeowner saw answers, and takes a stop (D2).

Twilio posts "A call comes in" to ``/webhooks/twilio/voice/``. The caller hears the
brokerage's name, that this is the real-estate line that called them, and "to stop all
calls and texts from us, press 1" (or say stop). Pressing 1 records the stop through the
same services a stop said on a call takes (the lead's number and, through
``owner_points_cover``, every other number and address of its owner), before the
confirmation is spoken. Otherwise the call is forwarded to the agent who last called the
number from the app, else the brokerage's phone, else a voicemail kept on the call.

The call is one inbound ``Message`` per CallSid (Twilio retries): filed on the lead whose
number called, or held in the inbox. See docs/messaging.md#inbound-calls.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from compliance.models import Channel, Direction, Purpose, StopOrigin
from compliance.services import internal_dnc_add
from leadcrm.accounts.models import Brokerage, User
from leadcrm.accounts.services import automation_user
from leads.models import Lead, Phone, PhoneStatus
from pipeline.models import InboxState, Message, MessageStatus, Outcome, OutreachAttempt
from pipeline.outreach.services import OutreachBlocked, outreach_log

from .keywords import Keyword, read_inbound
from .providers import telephony
from .services import _owner_lead, inbound_take, reply_notify

logger = logging.getLogger(__name__)

GREETING = "Hello. You have reached {name}, the real estate office that called this number."
MENU = "To stop all calls and texts from us, press 1, or say stop. To reach us, stay on the line."
STOPPED = "Thank you. {name} will not call or text this number again. Goodbye."
CONNECTING = "Connecting you now."
VOICEMAIL_PROMPT = "Nobody can take your call right now. Please leave a message after the tone."
NO_VOICEMAIL = "We did not get a message. Goodbye."
CANNOT_ANSWER = "Sorry, this call cannot be answered. Goodbye."
# What goes on the internal list as the homeowner's words (B1 keeps them word for word).
PRESSED_ONE = "Pressed 1 on {name}'s phone line: \"stop all calls and texts from us\"."
SAID_STOP = "Said on {name}'s phone line, when offered to stop all calls and texts: \"{speech}\""
CALL_BODY = "Called the brokerage's number {to}."
VOICEMAIL_BODY = "Voicemail ({seconds} s): {url}"
STOP_DIGIT = "1"
GATHER_SECONDS = 6
RING_AGENT_SECONDS = 20
VOICEMAIL_MAX_SECONDS = 120


def voice_menu_url() -> str:
    return settings.LEADCRM_WEBHOOK_BASE_URL + reverse("messaging:twilio_voice_menu")


def voice_dialled_url() -> str:
    return settings.LEADCRM_WEBHOOK_BASE_URL + reverse("messaging:twilio_voice_dialled")


def voicemail_url() -> str:
    return settings.LEADCRM_WEBHOOK_BASE_URL + reverse("messaging:twilio_voicemail")


# Taking the call in ---------------------------------------------------------------------------


def inbound_call_receive(*, provider: str, call_sid: str, from_number: str, to_number: str) -> Message:
    """One inbound call per CallSid, filed on the caller's lead or held in the inbox."""
    now = timezone.now()
    message, fresh = inbound_take(Message(
        channel=Channel.CALL, direction=Direction.INBOUND, provider=provider, provider_id=call_sid,
        from_address=from_number, to_address=to_number, body=CALL_BODY.format(to=to_number),
        status=MessageStatus.RECEIVED, created_at=now, status_at=now,
    ))
    if fresh:
        inbound_call_route(message)
        message.refresh_from_db()
    return message


def _caller(number: str) -> tuple[Lead | None, Phone | None, User | None]:
    """Whose number this is: the lead that last called it from the app, else as for a text."""
    last = (Message.objects.filter(direction=Direction.OUTBOUND, channel=Channel.CALL, to_address=number,
                                   lead__isnull=False, lead__erased_at__isnull=True)
            .select_related("lead__assigned_agent").order_by("-created_at").first())
    if last is not None:
        phone = (Phone.objects.filter(contact__lead=last.lead, number=number).exclude(status=PhoneStatus.ERASED)
                 .select_related("contact").first())
        if phone is not None:
            return last.lead, phone, last.lead.assigned_agent
    return _owner_lead(number=number)


def inbound_call_route(message: Message) -> None:
    """On the lead's timeline (the lead and its agent on the message), or the inbox."""
    lead, _phone, agent = _caller(message.from_address)
    if lead is None or agent is None:
        Message.objects.filter(pk=message.pk).update(inbox_state=InboxState.UNMATCHED)
        from .selectors import inbox_count_forget

        inbox_count_forget()
        return
    Message.objects.filter(pk=message.pk).update(lead=lead, agent=agent, inbox_state=InboxState.FILED,
                                                 filed_at=timezone.now())
    message.refresh_from_db()
    reply_notify(message=message, agent=agent)


def inbound_call_of(*, provider: str, call_sid: str) -> Message | None:
    return (Message.objects.filter(provider=provider, provider_id=call_sid, channel=Channel.CALL,
                                   direction=Direction.INBOUND).select_related("lead", "agent").first())


# The stop -----------------------------------------------------------------------------------


def asks_to_stop(*, digits: str, speech: str) -> bool:
    """Pressed 1, or said stop (read as an inbound text's words are: "stop", "stop calling")."""
    return digits.strip() == STOP_DIGIT or (bool(speech.strip()) and read_inbound(speech).keyword == Keyword.STOP)


def inbound_call_stop(*, message: Message, words: str) -> None:
    """Record the caller's stop before the confirmation is spoken; once per call.

    On a lead: through ``outreach_log`` as a do-not-call request said on an inbound call
    (``stop_request_record`` covers every number and address of the owner, B1), the
    attempt on the call. On nobody's lead: on the number itself (``internal_dnc_add``,
    which covers the owners who have it). Said on a call, it is no text reply: a START
    texted later never lifts it (B4)."""
    message.refresh_from_db()
    if message.keyword == Keyword.STOP:
        return  # Twilio asked twice: recorded already
    now = timezone.now()
    phone = None
    if message.lead_id is not None:
        phone = (Phone.objects.filter(contact__lead=message.lead_id, number=message.from_address)
                 .exclude(status=PhoneStatus.ERASED).select_related("contact").first())
    if phone is not None and message.agent is not None:

        def filed(attempt: OutreachAttempt) -> None:
            if not Message.objects.filter(pk=message.pk).exclude(keyword=Keyword.STOP).update(
                    keyword=Keyword.STOP, attempt=attempt):
                raise _AlreadyStopped

        try:
            outreach_log(
                lead=message.lead, channel=Channel.CALL, contact_point=phone, outcome=Outcome.DNC_REQUEST,
                actor=message.agent, role_disclosed=True, purpose=Purpose.FOLLOW_UP, notes=words,
                homeowner_words=words, occurred_at=now, direction=Direction.INBOUND, then=filed,
            )
            return
        except _AlreadyStopped:
            return
        except OutreachBlocked:
            # The stop is recorded even when the attempt is refused (B1); the call says so.
            Message.objects.filter(pk=message.pk).update(keyword=Keyword.STOP)
            return
        except ValidationError as refused:
            logger.warning("Inbound call %s: stop not logged on the lead (%s); recorded on the number", message.pk,
                           refused)
    with transaction.atomic():
        if not Message.objects.filter(pk=message.pk).exclude(keyword=Keyword.STOP).update(keyword=Keyword.STOP):
            return
        internal_dnc_add(channel=Channel.CALL, phone_number=message.from_address, homeowner_words=words,
                         recorded_by=automation_user(), requested_at=now, origin=StopOrigin.OTHER)


class _AlreadyStopped(Exception):
    """A second request for the same call's stop: its transaction is rolled back."""


# Reaching a person --------------------------------------------------------------------------


def _our_numbers() -> set[str]:
    numbers = set(telephony().sending_numbers())
    numbers |= set(User.objects.exclude(sending_number="").values_list("sending_number", flat=True))
    return numbers


def forward_number(message: Message) -> str:
    """Who takes the call: the agent who last called this number from the app (their phone
    to ring), else the brokerage's phone; "" when nobody (voicemail). Never one of our own
    numbers, which would ring this webhook again."""
    ours = _our_numbers() | {message.from_address}
    last = (Message.objects.filter(direction=Direction.OUTBOUND, channel=Channel.CALL,
                                   to_address=message.from_address, agent__isnull=False, agent__is_active=True)
            .exclude(agent__call_phone="").select_related("agent").order_by("-created_at").first())
    if last is not None and last.agent.call_phone not in ours:
        return last.agent.call_phone
    fallback = Brokerage.objects.current().phone
    return fallback if fallback and fallback not in ours else ""


def inbound_call_dialled(*, message: Message, status: str, seconds: str) -> bool:
    """The forwarded leg ended: True when someone took the call. A conversation with the
    agent is on the lead's timeline as an inbound call in which they talked."""
    answered = status == "completed"
    duration = int(seconds) if seconds.isdigit() else None
    Message.objects.filter(pk=message.pk).update(answered=answered, duration_seconds=duration)
    if answered and message.lead_id and message.agent_id and message.attempt_id is None:
        phone = (Phone.objects.filter(contact__lead=message.lead_id, number=message.from_address)
                 .exclude(status=PhoneStatus.ERASED).select_related("contact").first())
        if phone is not None:
            _talked_log(message=message, phone=phone)
    return answered


def _talked_log(*, message: Message, phone: Phone) -> None:
    def filed(attempt: OutreachAttempt) -> None:
        if not Message.objects.filter(pk=message.pk, attempt__isnull=True).update(attempt=attempt):
            raise _AlreadyStopped  # logged by an earlier request: this one is rolled back

    try:
        outreach_log(lead=message.lead, channel=Channel.CALL, contact_point=phone, outcome=Outcome.TALKED,
                     actor=message.agent, role_disclosed=True, purpose=Purpose.FOLLOW_UP,
                     notes="The homeowner called back and talked to us.", occurred_at=message.created_at,
                     direction=Direction.INBOUND, then=filed)
    except (_AlreadyStopped, OutreachBlocked, ValidationError) as refused:
        logger.info("Inbound call %s not logged as an attempt: %r", message.pk, refused)


def voicemail_keep(*, message: Message, recording_url: str, seconds: str) -> None:
    """The caller's voicemail, on the call (a replay writes the same words again)."""
    if not recording_url:
        return
    body = VOICEMAIL_BODY.format(seconds=seconds if seconds.isdigit() else "?", url=recording_url)
    Message.objects.filter(pk=message.pk).update(body=body[:2000])


# What Twilio does -----------------------------------------------------------------------------


def answer_twiml(*, message: Message | None) -> str:
    """Who we are, and the offer to stop; no answer within the pause goes on to a person."""
    from twilio.twiml.voice_response import Gather, VoiceResponse

    response = VoiceResponse()
    name = Brokerage.objects.current().name
    gather = Gather(input="dtmf speech", num_digits=1, action=voice_menu_url(), method="POST",
                    timeout=GATHER_SECONDS, speech_timeout="auto", hints="stop", language="en-US")
    gather.say(f"{GREETING.format(name=name)} {MENU}")
    response.append(gather)
    # No key, no word: Twilio goes on to the next verb, the menu without an answer (forwarded).
    response.redirect(voice_menu_url(), method="POST")
    return str(response)


def menu_twiml(*, message: Message | None, digits: str, speech: str) -> str:
    """Pressed 1 (or said stop): recorded, then confirmed. Anything else: a person, or voicemail."""
    from twilio.twiml.voice_response import Dial, VoiceResponse

    response = VoiceResponse()
    name = Brokerage.objects.current().name
    if message is None:
        response.say(CANNOT_ANSWER)
        response.hangup()
        return str(response)
    if asks_to_stop(digits=digits, speech=speech):
        words = (PRESSED_ONE.format(name=name) if digits.strip() == STOP_DIGIT
                 else SAID_STOP.format(name=name, speech=speech.strip()[:500]))
        inbound_call_stop(message=message, words=words)
        response.say(STOPPED.format(name=name))
        response.hangup()
        return str(response)
    number = forward_number(message)
    if not number:
        return voicemail_twiml()
    response.say(CONNECTING)
    dial = Dial(action=voice_dialled_url(), method="POST", timeout=RING_AGENT_SECONDS)
    dial.number(number)
    response.append(dial)
    return str(response)


def dialled_twiml(*, answered: bool) -> str:
    from twilio.twiml.voice_response import VoiceResponse

    if not answered:
        return voicemail_twiml()
    response = VoiceResponse()
    response.hangup()
    return str(response)


def voicemail_twiml() -> str:
    from twilio.twiml.voice_response import VoiceResponse

    response = VoiceResponse()
    response.say(VOICEMAIL_PROMPT)
    response.record(action=voicemail_url(), method="POST", max_length=VOICEMAIL_MAX_SECONDS, play_beep=True,
                    timeout=5)
    response.say(NO_VOICEMAIL)
    response.hangup()
    return str(response)


def hangup_twiml() -> str:
    from twilio.twiml.voice_response import VoiceResponse

    response = VoiceResponse()
    response.hangup()
    return str(response)
