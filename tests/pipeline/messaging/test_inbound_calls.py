"""D2: the number a homeowner saw answers when they call it back, and takes their stop.

Signed "A call comes in" requests from the Twilio stand-in to ``live_server``, so these
tests commit for real (``transaction=True``).
"""

import pytest
from django.urls import reverse
from django.utils import timezone

from compliance.models import Channel, InternalDncEntry, ReviewStatus, RevocationReview, StopOrigin
from compliance.services import text_resubscribe
from leadcrm.accounts.models import Brokerage
from leadcrm.accounts.services import automation_user
from pipeline.messaging import calls, inbound_calls
from pipeline.messaging.services import text_send
from pipeline.models import InboxState, Message, Notification, Outcome
from pipeline.outreach.services import OutreachBlocked
from tests.compliance.factories import ConsentRecordFactory, ReassignedNumberCheckFactory
from tests.leads.factories import EmailFactory, PhoneFactory

from .conftest import AGENT_PHONE, SENDER

pytestmark = pytest.mark.django_db(transaction=True)

HOMEOWNER = "+19185550104"  # the lead fixture's number
STRANGER = "+14045550188"
OFFICE = "+19185550100"


def url(live_server, name):
    return live_server.url + reverse(f"messaging:{name}")


@pytest.fixture
def called_back(lead, caller, twilio_standin):
    """The agent called the homeowner from the app; the homeowner now calls that number back."""
    phone = lead.contacts.first().phones.first()
    call = calls.call_start(lead=lead, phone=phone, actor=caller, role_disclosed=True)
    twilio_standin.wait_for_callbacks()
    calls.call_result_log(message=call, outcome=Outcome.NO_ANSWER, actor=caller, role_disclosed=True)
    return phone


def ring(standin, live_server, *, from_=HOMEOWNER, sid="CA" + "1" * 32, **kwargs):
    return standin.call_in(url(live_server, "twilio_voice"), from_=from_, to=SENDER, sid=sid, **kwargs)


def press(standin, live_server, *, from_=HOMEOWNER, sid="CA" + "1" * 32, **answer):
    return standin.gather(url(live_server, "twilio_voice_menu"), sid=sid, from_=from_, to=SENDER, **answer)


def test_d2_call_back_is_answered_with_the_brokerage_and_the_offer_to_stop(lead, called_back, twilio_standin,
                                                                          live_server):
    response = ring(twilio_standin, live_server)

    assert response.status_code == 200 and response.headers["Content-Type"] == "text/xml"
    twiml = response.text
    assert "Sunbelt Test Realty, the real estate office that called this number" in twiml
    assert "To stop all calls and texts from us, press 1, or say stop." in twiml
    assert '<Gather action="' + url(live_server, "twilio_voice_menu") in twiml
    assert 'input="dtmf speech"' in twiml and 'numDigits="1"' in twiml
    assert f"<Redirect method=\"POST\">{url(live_server, 'twilio_voice_menu')}</Redirect>" in twiml
    inbound = Message.objects.get(direction="inbound")
    assert inbound.channel == Channel.CALL and inbound.provider_id == "CA" + "1" * 32
    assert inbound.lead == lead and inbound.inbox_state == InboxState.FILED
    assert inbound.from_address == HOMEOWNER and inbound.to_address == SENDER
    [told] = Notification.objects.filter(key=f"reply:{inbound.pk}")
    assert told.recipient == lead.assigned_agent and told.title.startswith("Call from the homeowner")


def test_d2_pressing_1_stops_every_call_and_text_to_the_owner_at_once(lead, agent, called_back, twilio_standin,
                                                                     live_server):
    other = PhoneFactory(contact=called_back.contact, number="+19185550105")
    email = EmailFactory(contact=called_back.contact)
    ConsentRecordFactory(phone=other)
    ReassignedNumberCheckFactory(phone=other)
    ring(twilio_standin, live_server)

    response = press(twilio_standin, live_server, Digits="1")

    assert response.status_code == 200
    assert "Sunbelt Test Realty will not call or text this number again." in response.text
    assert "<Hangup />" in response.text and "<Dial" not in response.text
    entry = InternalDncEntry.objects.get(phone_number=HOMEOWNER)
    assert entry.channel == Channel.CALL and "Pressed 1" in entry.homeowner_words
    assert entry.origin == StopOrigin.OTHER  # said on a call: a START texted later never lifts it (B4)
    # The owner's other number and email are covered too (owner_points_cover, B1).
    assert InternalDncEntry.objects.filter(phone_number=other.number, origin=StopOrigin.COVERED).exists()
    assert InternalDncEntry.objects.filter(email=email.address.lower()).exists()
    with pytest.raises(OutreachBlocked) as call_refused:
        calls.call_start(lead=lead, phone=called_back, actor=agent, role_disclosed=True)
    with pytest.raises(OutreachBlocked) as text_refused:
        text_send(lead=lead, phone=other, body="Ana at Sunbelt Test Realty, checking in", actor=agent,
                  role_disclosed=True)
    assert "B1" in call_refused.value.decision.rule_ids and "B1" in text_refused.value.decision.rule_ids
    inbound = Message.objects.get(direction="inbound")
    assert inbound.keyword == "stop"
    assert inbound.attempt.outcome == Outcome.DNC_REQUEST and inbound.attempt.direction == "inbound"


def test_d2_keypad_stop_is_not_lifted_by_a_later_start(lead, agent, called_back, twilio_standin, live_server):
    ring(twilio_standin, live_server)
    press(twilio_standin, live_server, Digits="1")
    ConsentRecordFactory(phone=called_back)
    ReassignedNumberCheckFactory(phone=called_back)

    text_resubscribe(phone_number=HOMEOWNER, words="START", lead=lead, recorded_by=automation_user(),
                     at=timezone.now())

    with pytest.raises(OutreachBlocked) as refused:
        text_send(lead=lead, phone=called_back, body="Ana at Sunbelt Test Realty, checking in", actor=agent,
                  role_disclosed=True)
    assert "B1" in refused.value.decision.rule_ids


def test_d2_saying_stop_is_a_stop_too(lead, called_back, twilio_standin, live_server):
    ring(twilio_standin, live_server)

    response = press(twilio_standin, live_server, SpeechResult="Stop calling me.", Confidence="0.91")

    assert "will not call or text this number again" in response.text
    entry = InternalDncEntry.objects.get(phone_number=HOMEOWNER)
    assert "Stop calling me." in entry.homeowner_words


def test_d2_twilio_retrying_the_call_and_the_key_records_one_call_and_one_stop(lead, called_back, twilio_standin,
                                                                              live_server):
    for _ in range(2):
        assert ring(twilio_standin, live_server).status_code == 200
    for _ in range(2):
        assert press(twilio_standin, live_server, Digits="1").status_code == 200

    assert Message.objects.filter(direction="inbound").count() == 1
    assert InternalDncEntry.objects.filter(phone_number=HOMEOWNER).count() == 1


def test_d2_stop_from_a_number_no_lead_has_goes_on_the_list_and_the_call_waits_in_the_inbox(
        lead, twilio_standin, live_server):
    ring(twilio_standin, live_server, from_=STRANGER)

    press(twilio_standin, live_server, from_=STRANGER, Digits="1")

    inbound = Message.objects.get(direction="inbound")
    assert inbound.lead is None and inbound.inbox_state == InboxState.UNMATCHED and inbound.keyword == "stop"
    entry = InternalDncEntry.objects.get(phone_number=STRANGER)
    assert entry.recorded_by == automation_user() and entry.channel == Channel.CALL


def test_d2_no_key_forwards_to_the_agent_who_last_called(lead, called_back, twilio_standin, live_server):
    ring(twilio_standin, live_server)

    response = press(twilio_standin, live_server)  # the <Redirect> after a silent <Gather>

    assert f"<Number>{AGENT_PHONE}</Number>" in response.text
    assert f'action="{url(live_server, "twilio_voice_dialled")}"' in response.text
    assert not InternalDncEntry.objects.exists()


def test_d2_talking_to_the_agent_is_on_the_leads_timeline(lead, called_back, twilio_standin, live_server):
    ring(twilio_standin, live_server)
    press(twilio_standin, live_server, Digits="5")

    response = twilio_standin.gather(url(live_server, "twilio_voice_dialled"), sid="CA" + "1" * 32, from_=HOMEOWNER,
                                     to=SENDER, DialCallStatus="completed", DialCallDuration="95")

    assert "<Hangup />" in response.text and "<Record" not in response.text
    inbound = Message.objects.get(direction="inbound")
    assert inbound.answered is True and inbound.duration_seconds == 95
    assert inbound.attempt.outcome == Outcome.TALKED and inbound.attempt.direction == "inbound"


def test_d2_no_agent_forwards_to_the_brokerage_else_voicemail(lead, brokerage, twilio_standin, live_server):
    ring(twilio_standin, live_server)
    voicemail = press(twilio_standin, live_server)
    Brokerage.objects.filter(pk=brokerage.pk).update(phone=OFFICE)
    office = press(twilio_standin, live_server)

    assert "<Record" in voicemail.text and url(live_server, "twilio_voicemail") in voicemail.text
    assert f"<Number>{OFFICE}</Number>" in office.text


def test_d2_the_brokerage_line_never_forwards_to_itself(lead, brokerage, twilio_standin, live_server):
    Brokerage.objects.filter(pk=brokerage.pk).update(phone=SENDER)
    ring(twilio_standin, live_server)

    response = press(twilio_standin, live_server)

    assert "<Dial" not in response.text and "<Record" in response.text


def test_d2_nobody_answering_takes_a_voicemail_kept_on_the_call(lead, called_back, twilio_standin, live_server):
    ring(twilio_standin, live_server)
    press(twilio_standin, live_server)

    dialled = twilio_standin.gather(url(live_server, "twilio_voice_dialled"), sid="CA" + "1" * 32, from_=HOMEOWNER,
                                    to=SENDER, DialCallStatus="no-answer", DialCallDuration="0")
    kept = twilio_standin.gather(url(live_server, "twilio_voicemail"), sid="CA" + "1" * 32, from_=HOMEOWNER,
                                 to=SENDER, RecordingUrl="https://api.twilio.com/recordings/RE1",
                                 RecordingDuration="14")

    assert "<Record" in dialled.text and kept.status_code == 200
    assert 'transcribe="true"' in dialled.text
    assert f'transcribeCallback="{url(live_server, "twilio_transcription")}"' in dialled.text
    inbound = Message.objects.get(direction="inbound")
    assert inbound.answered is False and inbound.attempt is None
    assert inbound.body.startswith("Voicemail (14 s): https://api.twilio.com/recordings/RE1\nListen to it")
    # Until its transcript is read, a person is shown it: the lead's agent is told.
    [told] = Notification.objects.filter(key=f"voicemail:{inbound.pk}")
    assert told.recipient == lead.assigned_agent and told.title.startswith("Voicemail from the homeowner")


def test_d2_forged_or_unsigned_call_is_refused_and_records_nothing(lead, twilio_standin, live_server):
    forged = ring(twilio_standin, live_server, signature="Zm9yZ2Vk")
    unsigned = ring(twilio_standin, live_server, signature="")
    forged_key = twilio_standin.post_signed(url(live_server, "twilio_voice_menu"),
                                            {"CallSid": "CA" + "1" * 32, "From": HOMEOWNER, "Digits": "1"},
                                            signature="Zm9yZ2Vk")

    assert forged.status_code == unsigned.status_code == forged_key.status_code == 403
    assert not Message.objects.exists() and not InternalDncEntry.objects.exists()


def test_d2_a_key_for_a_call_never_taken_in_still_records_the_stop(lead, called_back, twilio_standin, live_server):
    """Its "A call comes in" lost or failed: the signed key press takes the call in and the stop."""
    response = press(twilio_standin, live_server, Digits="1")

    assert "will not call or text this number again" in response.text and "<Hangup />" in response.text
    entry = InternalDncEntry.objects.get(phone_number=HOMEOWNER)
    assert entry.channel == Channel.CALL and "Pressed 1" in entry.homeowner_words
    inbound = Message.objects.get(direction="inbound")
    assert inbound.lead == lead and inbound.keyword == "stop" and inbound.attempt.outcome == Outcome.DNC_REQUEST


def test_d2_a_key_for_a_call_never_taken_in_from_nobodys_number_goes_on_the_list(lead, twilio_standin,
                                                                                 live_server):
    response = press(twilio_standin, live_server, from_=STRANGER, Digits="1")

    assert "will not call or text this number again" in response.text
    assert InternalDncEntry.objects.get(phone_number=STRANGER).origin == StopOrigin.OTHER
    assert Message.objects.get(direction="inbound").inbox_state == InboxState.UNMATCHED


@pytest.mark.parametrize("hidden", ["anonymous", "+266696687", "Restricted", ""])
def test_d2_a_caller_who_hides_their_number_is_answered_told_and_followed_up(lead, twilio_standin, live_server,
                                                                            hidden):
    answered = ring(twilio_standin, live_server, from_=hidden)
    pressed = press(twilio_standin, live_server, from_=hidden, Digits="1")
    again = press(twilio_standin, live_server, from_=hidden, Digits="1")  # Twilio's retry

    assert answered.status_code == pressed.status_code == again.status_code == 200
    assert "press 1, or say stop" in answered.text
    assert "We could not see your number" in pressed.text and "text STOP to it" in pressed.text
    assert "will not call or text this number again" not in pressed.text and "<Hangup />" in pressed.text
    assert not InternalDncEntry.objects.exists()
    # A person follows up: the call waits in the inbox, marked "may mean stop", saying why.
    inbound = Message.objects.get(direction="inbound")
    assert inbound.inbox_state == InboxState.UNMATCHED and inbound.keyword == "review"
    assert inbound.body.count("nothing is on the list") == 1 and Message.objects.inbox().count() == 1


def test_d2_a_hidden_number_pressing_1_on_a_call_never_taken_in_is_answered(lead, twilio_standin, live_server):
    pressed = press(twilio_standin, live_server, from_="anonymous", Digits="1")

    assert pressed.status_code == 200 and "We could not see your number" in pressed.text
    assert Message.objects.inbox().get().keyword == "review" and not InternalDncEntry.objects.exists()


def test_d2_a_hidden_number_reaching_a_person_is_forwarded(lead, brokerage, twilio_standin, live_server):
    Brokerage.objects.filter(pk=brokerage.pk).update(phone=OFFICE)
    ring(twilio_standin, live_server, from_="anonymous")

    response = press(twilio_standin, live_server, from_="anonymous", Digits="5")

    assert f"<Number>{OFFICE}</Number>" in response.text


def test_d2_inbound_call_is_shown_on_the_timeline(client_as, lead, agent, called_back, twilio_standin, live_server):
    ring(twilio_standin, live_server)
    press(twilio_standin, live_server, Digits="1")

    page = client_as(agent).get(reverse("leads:detail", args=[lead.pk])).content.decode()

    assert "Call from the homeowner" in page and "Asked on the call to stop all calls and texts" in page


def test_d2_menu_reads_stop_from_keys_and_words():
    assert inbound_calls.asks_to_stop(digits="1", speech="")
    assert inbound_calls.asks_to_stop(digits="", speech="take me off your list")
    assert not inbound_calls.asks_to_stop(digits="2", speech="")
    assert not inbound_calls.asks_to_stop(digits="", speech="I got your letter about my house")


@pytest.mark.django_db
def test_d2_a_call_left_being_filed_is_filed_as_a_call_by_the_sweep(lead, local_provider):
    from datetime import timedelta

    from pipeline.messaging.services import messages_sweep

    stuck = Message.objects.create(channel=Channel.CALL, direction="inbound", provider="twilio",
                                   provider_id="CA" + "3" * 32, from_address=HOMEOWNER, to_address=SENDER,
                                   status="received", inbox_state=InboxState.PENDING,
                                   status_at=timezone.now() - timedelta(minutes=5))

    assert messages_sweep()["refiled"] == 1

    stuck.refresh_from_db()
    assert stuck.lead == lead and stuck.inbox_state == InboxState.FILED and stuck.attempt is None


# A voicemail's words -------------------------------------------------------------------------


def voicemail(standin, live_server, *, from_=HOMEOWNER, sid="CA" + "1" * 32):
    standin.gather(url(live_server, "twilio_voicemail"), sid=sid, from_=from_, to=SENDER,
                   RecordingUrl="https://api.twilio.com/recordings/RE1", RecordingDuration="9")


def transcript(standin, live_server, text, *, from_=HOMEOWNER, sid="CA" + "1" * 32, **kwargs):
    return standin.transcribed(url(live_server, "twilio_transcription"), sid=sid, from_=from_, to=SENDER, text=text,
                               **kwargs)


def test_d2_a_stop_said_in_a_voicemail_is_recorded_once(lead, called_back, twilio_standin, live_server):
    ring(twilio_standin, live_server)
    voicemail(twilio_standin, live_server)

    first = transcript(twilio_standin, live_server, "Hi, this is Maria. Please stop calling me about the house.")
    again = transcript(twilio_standin, live_server, "Hi, this is Maria. Please stop calling me about the house.")

    assert first.status_code == again.status_code == 204
    entry = InternalDncEntry.objects.get(phone_number=HOMEOWNER)
    assert "Said in a voicemail" in entry.homeowner_words and "stop calling me" in entry.homeowner_words
    assert entry.origin == StopOrigin.OTHER
    inbound = Message.objects.get(direction="inbound")
    assert inbound.keyword == "stop" and inbound.attempt.outcome == Outcome.DNC_REQUEST
    assert inbound.body.count("Transcript (TR") == 1


def test_d2_a_voicemail_that_only_may_mean_stop_goes_to_review(lead, called_back, twilio_standin, live_server):
    ring(twilio_standin, live_server)
    voicemail(twilio_standin, live_server)

    for _ in range(2):
        transcript(twilio_standin, live_server, "I think you have the wrong number, I never owned that house.")

    [review] = RevocationReview.objects.all()
    assert review.lead == lead and review.phone_number == HOMEOWNER and review.status == ReviewStatus.PENDING
    assert "wrong number" in review.text
    assert not InternalDncEntry.objects.exists()


def test_d2_a_voicemail_with_no_stop_is_kept_word_for_word(lead, called_back, twilio_standin, live_server):
    ring(twilio_standin, live_server)
    voicemail(twilio_standin, live_server)

    transcript(twilio_standin, live_server, "Call me back about the letter, I might sell.")

    inbound = Message.objects.get(direction="inbound")
    assert "Transcript (TR" in inbound.body and "I might sell." in inbound.body and inbound.keyword == ""
    assert not InternalDncEntry.objects.exists() and not RevocationReview.objects.exists()


def test_d2_a_voicemail_stop_from_nobodys_number_goes_on_the_list(lead, twilio_standin, live_server):
    ring(twilio_standin, live_server, from_=STRANGER)
    voicemail(twilio_standin, live_server, from_=STRANGER)
    waiting = Message.objects.inbox().get()

    transcript(twilio_standin, live_server, "Stop calling this number.", from_=STRANGER)

    assert waiting.body.startswith("Voicemail (9 s)")  # in the inbox for a person until it is read
    assert InternalDncEntry.objects.get(phone_number=STRANGER).channel == Channel.CALL
    assert Message.objects.get(direction="inbound").keyword == "stop"


def test_d2_a_voicemail_stop_from_a_hidden_number_goes_to_a_person(lead, twilio_standin, live_server):
    ring(twilio_standin, live_server, from_="anonymous")
    voicemail(twilio_standin, live_server, from_="anonymous")

    transcript(twilio_standin, live_server, "Stop calling me.", from_="anonymous")

    assert not InternalDncEntry.objects.exists()
    inbound = Message.objects.inbox().get()
    assert inbound.keyword == "review" and "nothing is on the list" in inbound.body


def test_d2_a_failed_transcript_leaves_the_voicemail_to_a_person(lead, called_back, twilio_standin, live_server):
    ring(twilio_standin, live_server)
    voicemail(twilio_standin, live_server)

    response = transcript(twilio_standin, live_server, "", status="failed")

    assert response.status_code == 204
    inbound = Message.objects.get(direction="inbound")
    assert "No transcript (TR" in inbound.body and "Listen to it" in inbound.body
    assert Notification.objects.filter(key=f"voicemail:{inbound.pk}").exists()
    assert not InternalDncEntry.objects.exists()


def test_d2_a_transcript_whose_voicemail_callback_was_lost_keeps_the_recording(lead, called_back, twilio_standin,
                                                                               live_server):
    ring(twilio_standin, live_server)

    transcript(twilio_standin, live_server, "Please stop calling.")

    inbound = Message.objects.get(direction="inbound")
    assert "Recordings/RE" in inbound.body and inbound.keyword == "stop"
    assert InternalDncEntry.objects.filter(phone_number=HOMEOWNER).exists()


def test_d2_a_forged_transcript_is_refused(lead, called_back, twilio_standin, live_server):
    ring(twilio_standin, live_server)

    forged = twilio_standin.post_signed(url(live_server, "twilio_transcription"),
                                        {"CallSid": "CA" + "1" * 32, "From": HOMEOWNER, "TranscriptionSid": "TR1",
                                         "TranscriptionStatus": "completed", "TranscriptionText": "stop"},
                                        signature="Zm9yZ2Vk")

    assert forged.status_code == 403 and not InternalDncEntry.objects.exists()


def test_d2_a_failure_logging_the_stop_on_the_lead_still_puts_the_number_on_the_list(
        lead, called_back, twilio_standin, live_server, monkeypatch):
    """D2/B1: whatever fails on the lead's side, the caller's "1" is not lost: the number
    goes on the list and the caller hears the confirmation."""
    from pipeline.messaging import inbound_calls

    def broken(**kwargs):
        raise RuntimeError("the timeline is down")

    monkeypatch.setattr(inbound_calls, "outreach_log", broken)
    ring(twilio_standin, live_server)
    response = press(twilio_standin, live_server, Digits="1")
    assert response.status_code == 200
    assert "will not call or text this number again" in response.text
    assert InternalDncEntry.objects.filter(phone_number=HOMEOWNER).exists()
