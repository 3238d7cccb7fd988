"""Calls to the brokerage's numbers: the caller ID a homeowner saw answers, and takes a stop (D2).

Twilio posts "A call comes in" to ``/webhooks/twilio/voice/``. The caller hears the
brokerage's name, that this is the real-estate line that called them, and "to stop all
calls and texts from us, press 1" (or say stop). Pressing 1 records the stop through the
same services a stop said on a call takes (the lead's number and, through
``owner_points_cover``, every other number and address of its owner), before the
confirmation is spoken. Otherwise the call is forwarded to the agent who last called the
number from the app, else the brokerage's phone, else a voicemail kept on the call.

The call is one inbound ``Message`` per CallSid (Twilio retries): filed on the lead whose
number called, or held in the inbox. A caller who hides their number ("anonymous") is
answered too; their stop cannot go on a list by number, so they are told so and the call
waits in the inbox for a person. A voicemail is transcribed by Twilio, and a stop said in
it is read as a text's words are. See docs/messaging.md#inbound-calls.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from compliance.models import Channel, Direction, Purpose, StopOrigin
from compliance.services import internal_dnc_add, revocation_review_raise
from leadcrm.accounts.models import Brokerage, User
from leadcrm.accounts.services import automation_user
from leads.models import Lead, Phone, PhoneStatus
from leads.phones import parse_phone
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
# Pressed 1 with no number we can put on a list: said honestly, and a person follows up.
NUMBER_NOT_SEEN = ("We could not see your number, so we could not take it off our list. Please call us from the "
                   "number we called, or text STOP to it. Someone from {name} will also follow up. Goodbye.")
NOT_SEEN_NOTE = ("Asked to stop all calls and texts, but showed no number a list can hold ({number}): nothing "
                 "is on the list. A person must find who called and record the stop.")
# What goes on the internal list as the homeowner's words (B1 keeps them word for word).
PRESSED_ONE = "Pressed 1 on {name}'s phone line: \"stop all calls and texts from us\"."
SAID_STOP = "Said on {name}'s phone line, when offered to stop all calls and texts: \"{speech}\""
CALL_BODY = "Called the brokerage's number {to}."
VOICEMAIL_BODY = "Voicemail ({seconds} s): {url}"
VOICEMAIL_UNREAD = "Listen to it: a stop said in it is recorded only once its transcript is read."
TRANSCRIPT_LINE = "Transcript ({sid}): {text}"
TRANSCRIPT_FAILED = "No transcript ({sid}): listen to the voicemail for a stop."
SAID_IN_VOICEMAIL = "Said in a voicemail on {name}'s phone line: \"{text}\""
VOICEMAIL_TITLE = "Voicemail from the homeowner: {lead}"
# What Twilio sends as From when the caller hides their number (its documented stand-ins).
HIDDEN_NUMBERS = frozenset({"anonymous", "restricted", "unknown", "unavailable", "blocked", "private",
                            "+266696687", "+7378742833", "+2562533", "+8656696", "+86282452253"})
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


def transcription_url() -> str:
    return settings.LEADCRM_WEBHOOK_BASE_URL + reverse("messaging:twilio_transcription")


def number_shown(number: str) -> bool:
    """Did the caller show a number a stop can be recorded against (not "anonymous")?"""
    return number.strip().lower() not in HIDDEN_NUMBERS and parse_phone(number).ok


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
    if not number_shown(number):
        return None, None, None
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


def inbound_call_stop(*, message: Message, words: str) -> bool:
    """Record the caller's stop before the confirmation is spoken; once per call. False
    when it could not be recorded: no number shown (then a person is asked to follow up).

    On a lead: through ``outreach_log`` as a do-not-call request said on an inbound call
    (``stop_request_record`` covers every number and address of the owner, B1), the
    attempt on the call. On nobody's lead: on the number itself (``internal_dnc_add``,
    which covers the owners who have it). Said on a call, it is no text reply: a START
    texted later never lifts it (B4)."""
    message.refresh_from_db()
    if message.keyword == Keyword.STOP:
        return True  # Twilio asked twice: recorded already
    if not number_shown(message.from_address):
        stop_for_a_person(message=message, words=words, matched="stop from a number not shown",
                          note=NOT_SEEN_NOTE.format(number=message.from_address or "none"))
        return False
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
            return True
        except _AlreadyStopped:
            return True
        except OutreachBlocked:
            # The stop is recorded even when the attempt is refused (B1); the call says so.
            Message.objects.filter(pk=message.pk).update(keyword=Keyword.STOP)
            return True
        except ValidationError as refused:
            logger.warning("Inbound call %s: stop not logged on the lead (%s); recorded on the number", message.pk,
                           refused)
        except Exception:
            # Whatever failed on the lead's side, the caller's "1" is not lost: it goes on the
            # list by number below, and the error is logged for a person.
            logger.exception("Inbound call %s: stop not logged on the lead; recorded on the number", message.pk)
    try:
        with transaction.atomic():
            if not Message.objects.filter(pk=message.pk).exclude(keyword=Keyword.STOP).update(
                    keyword=Keyword.STOP):
                return True
            internal_dnc_add(channel=Channel.CALL, phone_number=message.from_address, homeowner_words=words,
                             recorded_by=automation_user(), requested_at=now, origin=StopOrigin.OTHER)
    except ValidationError as refused:
        # A number the list cannot hold: never an error to the caller, a person follows up.
        logger.warning("Inbound call %s: stop not recorded on %r (%s)", message.pk, message.from_address, refused)
        stop_for_a_person(message=message, words=words, matched="stop from a number the list refused",
                          note=NOT_SEEN_NOTE.format(number=message.from_address))
        return False
    return True


def stop_for_a_person(*, message: Message, words: str, matched: str, note: str = "") -> None:
    """A stop that cannot be recorded by number, or words that only may mean stop: a person
    decides, once per call. On a lead, a revocation review (B4: the gate warns on the
    number meanwhile); on nobody's, the call waits in the inbox marked "may mean stop"."""
    from .selectors import inbox_count_forget

    with transaction.atomic():
        claimed = Message.objects.filter(pk=message.pk).exclude(keyword__in=[Keyword.STOP, Keyword.REVIEW]).update(
            keyword=Keyword.REVIEW)
        if not claimed:
            return  # Twilio asked twice: a person has it already
        message.refresh_from_db()
        if message.lead_id is not None:
            revocation_review_raise(lead=message.lead, contact_point=message.from_address, text=words[:2000],
                                    matched=matched, raised_by=automation_user())
        else:
            Message.objects.filter(pk=message.pk).update(
                body=f"{message.body}\n{note}"[:2000] if note else message.body, inbox_state=InboxState.UNMATCHED)
    inbox_count_forget()


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
    """The caller's voicemail, on the call (a replay writes the same words again).

    Until its transcript is read a stop said in it is unseen, so a person is shown it now:
    the lead's agent is notified, or it waits in the inbox with the call."""
    if not recording_url:
        return
    body = VOICEMAIL_BODY.format(seconds=seconds if seconds.isdigit() else "?", url=recording_url)
    message.refresh_from_db()
    if recording_url in message.body:
        return  # posted twice, or its transcript came first: kept already
    body = f"{body}\n{VOICEMAIL_UNREAD}"
    Message.objects.filter(pk=message.pk).update(body=body[:2000])
    message.refresh_from_db()
    _voicemail_show(message)


def _voicemail_show(message: Message) -> None:
    from pipeline.models import Notification, NotificationKind
    from pipeline.reminders.notifications import raise_once

    if message.lead_id is not None and message.agent_id is not None:
        raise_once(Notification(
            recipient=message.agent, kind=NotificationKind.REPLY, key=f"voicemail:{message.pk}", lead=message.lead,
            title=VOICEMAIL_TITLE.format(lead=message.lead)[:200], body=message.body[:500],
            url=reverse("leads:detail", args=[message.lead_id]) + "#timeline",
        ))
        return
    from .selectors import inbox_count_forget

    # Nobody's call: in the inbox (back there if a person had dismissed the call before).
    Message.objects.filter(pk=message.pk, lead__isnull=True).update(inbox_state=InboxState.UNMATCHED)
    inbox_count_forget()


def voicemail_transcript_read(*, message: Message, transcription_sid: str, status: str, text: str) -> None:
    """Twilio's transcript of the voicemail, read as the homeowner's own words are (a
    text's: ``read_inbound``): a stop is recorded as one said on the call; words that
    only may mean stop go to a person. Once per TranscriptionSid (Twilio retries)."""
    message.refresh_from_db()
    if transcription_sid and transcription_sid in message.body:
        return
    text = " ".join(text.split())
    if status != "completed" or not text:
        line = TRANSCRIPT_FAILED.format(sid=transcription_sid or "?")
        Message.objects.filter(pk=message.pk).update(body=f"{message.body}\n{line}"[:2000])
        return  # the voicemail stays shown to a person (voicemail_keep)
    line = TRANSCRIPT_LINE.format(sid=transcription_sid or "?", text=text[:1500])
    Message.objects.filter(pk=message.pk).update(body=f"{message.body}\n{line}"[:2000])
    reading = read_inbound(text)
    words = SAID_IN_VOICEMAIL.format(name=Brokerage.objects.current().name, text=text[:1500])
    if reading.keyword == Keyword.STOP:
        inbound_call_stop(message=message, words=words)
    elif reading.keyword == Keyword.REVIEW:
        stop_for_a_person(message=message, words=words, matched=reading.revocation.ambiguous or "voicemail")


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
        recorded = inbound_call_stop(message=message, words=words)
        response.say(STOPPED.format(name=name) if recorded else NUMBER_NOT_SEEN.format(name=name))
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
    # Transcribed so a stop said in it is read (voicemail_transcript_read), not only heard.
    response.record(action=voicemail_url(), method="POST", max_length=VOICEMAIL_MAX_SECONDS, play_beep=True,
                    timeout=5, transcribe=True, transcribe_callback=transcription_url())
    response.say(NO_VOICEMAIL)
    response.hangup()
    return str(response)


def hangup_twiml() -> str:
    from twilio.twiml.voice_response import VoiceResponse

    response = VoiceResponse()
    response.hangup()
    return str(response)
