"""What changes between a text's writing and its leaving, and the calls' bridge: the gate
again at that moment; whose a reply is; what the sweep may call unknown."""

from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from compliance.models import InternalDncEntry
from compliance.services import internal_dnc_add
from leadcrm.accounts.services import team_member_set
from leads.services import lead_assign
from pipeline.messaging import calls
from pipeline.messaging.providers.base import InboundText
from pipeline.messaging.services import (
    STALE_SEND,
    inbound_text_receive,
    message_deliver,
    messages_sweep,
    text_send,
)
from pipeline.models import Message, MessageStatus, Notification

from ...leadcrm.factories import AgentFactory


def reply(phone, body, sid):
    return inbound_text_receive(provider="local", inbound=InboundText(
        provider_id=sid, from_number=phone.number, to_number="+15005550006", body=body, received_at=timezone.now()))


def test_a_stop_between_writing_and_leaving_keeps_the_text_back(lead, agent, textable, local_provider):
    message = text_send(lead=lead, phone=textable, body="Hi, this is Ana with Sunbelt Test Realty.", actor=agent,
                        role_disclosed=True)
    reply(textable, "STOP", "SMstop1")  # before a worker got to the queued text

    message = message_deliver(message_id=message.pk)

    assert message.status == MessageStatus.FAILED and message.failed
    assert message.error_message.startswith("Not sent") and "B1:" in message.error_message


def test_a_text_left_in_the_queue_too_long_is_not_sent(lead, agent, textable, local_provider, settings):
    message = text_send(lead=lead, phone=textable, body="Hi, this is Ana with Sunbelt Test Realty.", actor=agent, role_disclosed=True)

    with time_machine.travel(timezone.now() + timedelta(seconds=settings.LEADCRM_SEND_STALE_AFTER_SECONDS + 60)):
        message = message_deliver(message_id=message.pk)

    assert message.status == MessageStatus.FAILED
    assert message.error_message == STALE_SEND.format(minutes=11)


def test_the_agents_own_words_about_stopping_are_not_a_stop(lead, agent, textable, local_provider):
    text_send(lead=lead, phone=textable, body="Hi, it's Ana at Sunbelt Test Realty. Reply STOP and I will never text again.", actor=agent,
              role_disclosed=True)

    assert not InternalDncEntry.objects.exists()


def test_a_reply_on_a_reassigned_lead_goes_to_its_new_agent(lead, agent, team, textable, local_provider, broker):
    text_send(lead=lead, phone=textable, body="Hi, this is Ana with Sunbelt Test Realty.", actor=agent, role_disclosed=True)
    newcomer = AgentFactory(first_name="Nia")
    team_member_set(team=team, user=newcomer)
    lead_assign(lead=lead, agent=newcomer, team=team, actor=broker, reason="Ana is on leave")

    message = reply(textable, "Yes, call me tomorrow", "SMre1")

    assert message.agent == newcomer and message.attempt.agent == newcomer
    assert Notification.objects.filter(recipient=newcomer, lead=lead).exists()
    assert not Notification.objects.filter(recipient=agent, kind="reply").exists()


def test_the_sweep_never_calls_a_text_the_provider_took_unknown(lead, agent, textable, local_provider):
    message = text_send(lead=lead, phone=textable, body="Hi, this is Ana with Sunbelt Test Realty.", actor=agent, role_disclosed=True)
    # Handed over and answered with its id, its delivery report not in yet.
    Message.objects.filter(pk=message.pk).update(status=MessageStatus.SENDING, provider_id="SMtaken",
                                                 handed_over_at=timezone.now())

    assert messages_sweep(now=timezone.now() + timedelta(minutes=10))["unknown"] == 0
    message.refresh_from_db()
    assert message.status == MessageStatus.SENDING


def test_help_is_answered_once_a_day(lead, textable, local_provider):
    reply(textable, "HELP", "SMh1")
    reply(textable, "help", "SMh2")

    assert Message.objects.filter(direction="outbound", keyword="help").count() == 1


def test_the_bridge_hangs_up_on_a_stop_that_came_after_the_click(lead, agent, textable, local_provider):
    agent.call_phone = "+19185550199"
    agent.save(update_fields=["call_phone"])
    call = calls.call_start(lead=lead, phone=textable, actor=agent, role_disclosed=True)
    internal_dnc_add(phone_number=textable.number, channel="sms", homeowner_words="STOP", recorded_by=agent, lead=lead)

    twiml = calls.bridge_twiml(message=Message.objects.get(pk=call.pk))

    assert "<Dial" not in twiml and "<Hangup />" in twiml and "B1:" in twiml
    call.refresh_from_db()
    assert call.status == MessageStatus.CANCELED and "B1:" in call.error_message


def test_the_agents_voicemail_is_never_bridged(lead, agent, textable, local_provider):
    agent.call_phone = "+19185550199"
    agent.save(update_fields=["call_phone"])
    call = calls.call_start(lead=lead, phone=textable, actor=agent, role_disclosed=True)

    twiml = calls.bridge_twiml(message=Message.objects.get(pk=call.pk), answered_by="machine_start")

    assert "<Dial" not in twiml
    call.refresh_from_db()
    assert call.error_message == calls.VOICEMAIL_ANSWERED


def test_a_second_call_while_the_first_rings_is_refused(lead, agent, textable, local_provider):
    agent.call_phone = "+19185550199"
    agent.save(update_fields=["call_phone"])
    calls.call_start(lead=lead, phone=textable, actor=agent, role_disclosed=True)

    with pytest.raises(ValidationError) as refused:
        calls.call_start(lead=lead, phone=textable, actor=agent, role_disclosed=True)

    assert "already ringing" in refused.value.messages[0]
    assert Message.objects.filter(channel="call").count() == 1


def test_a_stop_reply_is_no_conversation(lead, agent, textable, local_provider):
    reply(textable, "STOP", "SMnoconv")

    lead.refresh_from_db()
    assert lead.last_contacted_at is None


def test_filing_an_inbox_text_on_a_lead_without_the_number_adds_it_to_the_owner(lead, team_lead, local_provider):
    from pipeline.messaging.services import inbox_file

    text = inbound_text_receive(provider="local", inbound=InboundText(
        provider_id="SMnew", from_number="+14055550999", to_number="+15005550006", body="It's Rosa, new phone",
        received_at=timezone.now()))
    assert text.inbox_state == "unmatched"

    inbox_file(message=text, lead=lead, filed_by=team_lead)

    text.refresh_from_db()
    assert text.inbox_state == "filed" and text.lead == lead
    assert lead.contacts.first().phones.filter(number="+14055550999", source="homeowner").exists()


def test_a_call_left_queued_by_a_dead_request_is_failed_not_left_ringing(lead, agent, local_provider):
    call = Message.objects.create(channel="call", direction="outbound", provider="local", lead=lead, agent=agent,
                                  from_address="+15005550006", to_address="+19185550104", status="queued")

    assert messages_sweep(now=timezone.now() + timedelta(minutes=6))["calls_failed"] == 1

    call.refresh_from_db()
    assert call.status == MessageStatus.FAILED and call.failed and "never placed" in call.error_message


def test_a_texted_stop_is_recorded_by_the_system_and_is_no_conversation(client_as, lead, agent, textable,
                                                                        local_provider):
    from leadcrm.accounts.services import AUTOMATION_USERNAME
    from pipeline.outreach.selectors import lead_last_conversation

    reply(textable, "STOP", "SMsys1")

    assert InternalDncEntry.objects.get(phone_number=textable.number).recorded_by.username == AUTOMATION_USERNAME
    assert lead_last_conversation(lead=lead)["conversation"] is None
    dashboard = client_as(agent).get("/").content.decode()
    assert '<span class="badge text-bg-danger">STOP</span>' in dashboard
