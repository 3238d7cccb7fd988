"""The Twilio backend through the real ``twilio`` library, against the local stand-in of its API.

The stand-in (tests/support/twilio_standin.py) answers on 127.0.0.1 and posts signed
callbacks to ``live_server``, so these tests commit for real (``transaction=True``).
"""

import time

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from compliance.models import InternalDncEntry
from leads.models import PhoneType
from pipeline.messaging import calls
from pipeline.messaging.providers import twilio as twilio_provider
from pipeline.messaging.services import LANDLINE, message_deliver, messages_sweep, text_send
from pipeline.models import InboxState, Message, MessageStatus
from pipeline.outreach.services import OutreachBlocked

pytestmark = pytest.mark.django_db(transaction=True)

SENDER = "+15005550006"


def inbound_url(live_server):
    return live_server.url + reverse("messaging:twilio_inbound")


def sent_text(lead, agent, phone, body="Hi, this is Ana Torres with Sunbelt Test Realty."):
    message = text_send(lead=lead, phone=phone, body=body, actor=agent, role_disclosed=True)
    return message_deliver(message_id=message.pk)


# Sending ------------------------------------------------------------------------------------


def test_text_goes_out_through_twilio_and_the_callbacks_mark_it_delivered(lead, agent, textable, twilio_standin):
    message = sent_text(lead, agent, textable)

    assert message.status == MessageStatus.SENDING  # Twilio said "queued": handed over, no answer yet
    assert message.provider == "twilio" and message.provider_id.startswith("SM")
    [request] = twilio_standin.texts
    assert request.authorised
    assert request.value("To") == textable.number and request.value("From") == SENDER
    assert request.value("Body") == "Hi, this is Ana Torres with Sunbelt Test Realty."
    assert request.value("StatusCallback").endswith(reverse("messaging:twilio_status", args=[message.pk]))
    twilio_standin.wait_for_callbacks()
    assert [callback.status_code for callback in twilio_standin.callbacks] == [204, 204, 204]
    message.refresh_from_db()
    assert message.status == MessageStatus.DELIVERED and not message.failed


def test_messaging_service_sends_the_text_when_set(lead, agent, textable, twilio_standin, settings):
    settings.TWILIO_MESSAGING_SERVICE_SID = "MG" + "1" * 32
    settings.TWILIO_NUMBERS = []

    sent_text(lead, agent, textable)

    [request] = twilio_standin.texts
    assert request.value("MessagingServiceSid") == "MG" + "1" * 32
    assert request.value("From") == ""


def test_carrier_failure_shows_the_error_and_never_looks_sent(lead, agent, textable, twilio_standin):
    twilio_standin.deliver_as(textable.number, "undelivered", error_code="30007")

    message = sent_text(lead, agent, textable)
    twilio_standin.wait_for_callbacks()

    message.refresh_from_db()
    assert message.status == MessageStatus.UNDELIVERED and message.failed
    assert message.error_code == "30007"
    assert message.error_message == "The carrier filtered the message as spam."


def test_twilio_refusal_fails_the_text_with_twilios_words(lead, agent, textable, twilio_standin):
    twilio_standin.fail_number(textable.number, code="21610")

    message = sent_text(lead, agent, textable)

    assert message.status == MessageStatus.FAILED and message.failed
    assert message.error_code == "21610"
    assert "unsubscribed recipient" in message.error_message
    assert twilio_standin.accepted == []


def test_landline_marks_the_number_and_the_next_text_is_refused_before_twilio(lead, agent, textable, twilio_standin):
    twilio_standin.fail_number(textable.number, code="21614")

    message = sent_text(lead, agent, textable)

    assert message.status == MessageStatus.FAILED and message.error_code == "21614"
    textable.refresh_from_db()
    assert textable.phone_type == PhoneType.LANDLINE
    with pytest.raises(ValidationError) as refused:
        text_send(lead=lead, phone=textable, body="Second try, Ana at Sunbelt Test Realty", actor=agent, role_disclosed=True)
    assert refused.value.message_dict["phone"] == [LANDLINE.format(number=textable.display)]
    assert len(twilio_standin.texts) == 1


@pytest.mark.parametrize(("status", "code"), [(429, "20429"), (503, "20503")])
def test_not_now_is_tried_again_and_sent_once(lead, agent, textable, twilio_standin, status, code):
    twilio_standin.next_request("error", status=status, code=code)

    message = sent_text(lead, agent, textable)

    assert message.status == MessageStatus.QUEUED and message.send_tries == 1
    assert message.error_code == code
    message = message_deliver(message_id=message.pk)  # what the retry task does
    assert message.status == MessageStatus.SENDING and message.provider_id
    assert [r.status for r in twilio_standin.texts] == [status, 201]
    assert len(twilio_standin.accepted) == 1


def test_a_server_error_may_have_sent_it_so_it_is_never_sent_again(lead, agent, textable, twilio_standin):
    # A 500 can come after Twilio created the message: unlike 429 and 503, nothing says it did not.
    twilio_standin.next_request("error", status=500, code="20500")

    message = sent_text(lead, agent, textable)

    assert message.status == MessageStatus.UNKNOWN and message.error_code == "20500"
    assert message_deliver(message_id=message.pk) is None
    assert len(twilio_standin.texts) == 1


def test_connection_refused_is_tried_again(lead, agent, textable, twilio_standin, settings):
    settings.TWILIO_API_BASE_URL = "http://127.0.0.1:9"  # discard: nothing listens

    message = sent_text(lead, agent, textable)

    assert message.status == MessageStatus.QUEUED and message.send_tries == 1
    assert "could not be reached" in message.error_message


@pytest.mark.parametrize("kind", ["hang", "drop"])
def test_unknown_outcome_is_never_sent_again(lead, agent, textable, twilio_standin, monkeypatch, kind):
    monkeypatch.setattr(twilio_provider, "REQUEST_TIMEOUT_SECONDS", 0.5)
    twilio_standin.next_request(kind, seconds=1.5)

    message = sent_text(lead, agent, textable)

    assert message.status == MessageStatus.UNKNOWN and message.failed
    assert "not sent again" in message.error_message
    assert message_deliver(message_id=message.pk) is None
    assert messages_sweep() == {"unknown": 0, "requeued": 0, "refiled": 0, "calls_failed": 0}
    message.refresh_from_db()
    assert message.status == MessageStatus.UNKNOWN
    assert len(twilio_standin.texts) == 1


def test_wrong_credentials_fail_the_text(lead, agent, textable, twilio_standin, settings):
    settings.TWILIO_AUTH_TOKEN = "not-the-token"

    message = sent_text(lead, agent, textable)

    assert message.status == MessageStatus.FAILED and message.error_code == "20003"
    assert not twilio_standin.texts[0].authorised


# Inbound --------------------------------------------------------------------------------------


def test_inbound_text_through_the_signed_webhook_is_filed_on_the_lead(lead, agent, textable, twilio_standin,
                                                                      live_server):
    response = twilio_standin.send_inbound(inbound_url(live_server), from_=textable.number, to=SENDER,
                                           body="Yes, please call me tomorrow")

    assert response.status_code == 200 and "<Response>" in response.text
    inbound = Message.objects.get(direction="inbound")
    assert inbound.lead == lead and inbound.agent == agent
    assert inbound.inbox_state == InboxState.FILED and inbound.attempt is not None


def test_stop_by_webhook_refuses_the_next_text_and_call_within_a_second(lead, agent, textable, twilio_standin,
                                                                        live_server):
    agent.call_phone = "+19185550199"
    agent.save(update_fields=["call_phone"])
    sent_text(lead, agent, textable)

    started = time.perf_counter()
    response = twilio_standin.send_inbound(inbound_url(live_server), from_=textable.number, to=SENDER, body="STOP")
    assert response.status_code == 200
    with pytest.raises(OutreachBlocked) as text_refused:
        text_send(lead=lead, phone=textable, body="Just checking in, Ana at Sunbelt Test Realty", actor=agent, role_disclosed=True)
    with pytest.raises(OutreachBlocked) as call_refused:
        calls.call_start(lead=lead, phone=textable, actor=agent, role_disclosed=True)
    elapsed = time.perf_counter() - started
    print(f"STOP through the webhook to the next text and call refused: {elapsed * 1000:.0f} ms")

    assert "B1" in text_refused.value.decision.rule_ids
    assert "B1" in call_refused.value.decision.rule_ids
    assert elapsed < 1.0, f"STOP took {elapsed:.2f} s to refuse the next text and call"
    assert len(twilio_standin.texts) == 1 and twilio_standin.calls == []


def test_help_is_answered_with_the_brokerage_name(lead, agent, textable, twilio_standin, live_server):
    sent_text(lead, agent, textable)

    twilio_standin.send_inbound(inbound_url(live_server), from_=textable.number, to=SENDER, body="HELP")

    reply = Message.objects.get(direction="outbound", keyword="help")
    message_deliver(message_id=reply.pk)  # the task the webhook queued
    help_request = twilio_standin.texts[-1]
    assert help_request.value("To") == textable.number and help_request.value("From") == SENDER
    assert help_request.value("Body").startswith("Sunbelt Test Realty:")
    assert "STOP" in help_request.value("Body")


def test_forged_webhook_is_refused_and_records_nothing(lead, textable, twilio_standin, live_server):
    response = twilio_standin.send_inbound(inbound_url(live_server), from_=textable.number, to=SENDER,
                                           body="STOP", signature="Zm9yZ2Vk")
    unsigned = twilio_standin.send_inbound(inbound_url(live_server), from_=textable.number, to=SENDER,
                                           body="STOP", signature="")

    assert response.status_code == 403 and unsigned.status_code == 403
    assert not Message.objects.exists()
    assert not InternalDncEntry.objects.exists()


def test_forged_status_callback_changes_nothing(lead, agent, textable, twilio_standin, live_server):
    twilio_standin.deliver_as(textable.number, "undelivered", error_code="30003")
    message = sent_text(lead, agent, textable)
    twilio_standin.wait_for_callbacks()
    url = live_server.url + reverse("messaging:twilio_status", args=[message.pk])

    response = twilio_standin.post_signed(url, {"MessageSid": message.provider_id, "MessageStatus": "delivered"},
                                          signature="Zm9yZ2Vk")

    assert response.status_code == 403
    message.refresh_from_db()
    assert message.status == MessageStatus.UNDELIVERED


def test_replayed_webhook_is_recorded_once(lead, textable, twilio_standin, live_server):
    for _ in range(2):
        response = twilio_standin.send_inbound(inbound_url(live_server), from_=textable.number, to=SENDER,
                                               body="Who is this?", sid="SM" + "7" * 32)
        assert response.status_code == 200

    assert Message.objects.filter(direction="inbound").count() == 1


def test_text_from_an_unknown_number_waits_in_the_inbox(lead, twilio_standin, live_server):
    response = twilio_standin.send_inbound(inbound_url(live_server), from_="+14045550188", to=SENDER,
                                           body="Got your letter, call me")

    assert response.status_code == 200
    inbound = Message.objects.get(direction="inbound")
    assert inbound.lead is None and inbound.inbox_state == InboxState.UNMATCHED
