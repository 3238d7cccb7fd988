"""The messaging pages: compose a text (the gate at send time), its status, Sent and the demo's
replies, the inbox, the timeline, the phone to ring."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from compliance.models import Channel, Direction, InternalDncEntry, Purpose
from leads.models import PhoneType
from pipeline.messaging.forms import PICK_TEXT_NUMBER
from pipeline.messaging.providers.base import InboundText
from pipeline.messaging.services import LANDLINE, inbound_text_receive, message_deliver, text_send
from pipeline.messaging.views import SentView
from pipeline.models import (
    InboxState,
    Message,
    MessageStatus,
    Notification,
    NotificationKind,
    OutreachAttempt,
    TemplateKind,
)
from pipeline.workspace.selectors import lead_activity
from tests.pipeline.factories import MessageTemplateFactory

pytestmark = pytest.mark.django_db

UNKNOWN_NUMBER = "+14045550199"


def compose_url(lead):
    return reverse("messaging:text_compose", args=[lead.pk])


SIGNATURE = " Ana, Sunbelt Test Realty"


def send_form(phone, body="Hi, this is Ana Torres with Sunbelt Test Realty about your home.", **extra):
    return {"phone": phone.pk, "purpose": Purpose.LISTING, "body": body, "role_disclosed": "on", **extra}


def sent_text(lead, agent, phone, body="Hello from the CRM"):
    # Signed, as every text must be (D3 in the text itself).
    message = text_send(lead=lead, phone=phone, body=f"{body} -{SIGNATURE}", actor=agent, role_disclosed=True)
    return message_deliver(message_id=message.pk)


def inbound(number, body, sid, to="+15005550006"):
    return inbound_text_receive(provider="local", inbound=InboundText(
        provider_id=sid, from_number=number, to_number=to, body=body, received_at=timezone.now()))


# Compose ------------------------------------------------------------------------------------


def test_compose_sends_through_the_gate_and_queues_the_text(client_as, agent, lead, textable, local_provider):
    response = client_as(agent).post(compose_url(lead), send_form(textable))

    message = Message.objects.get(lead=lead)
    assert message.status == MessageStatus.QUEUED and message.channel == Channel.SMS
    assert message.attempt.channel == Channel.SMS and message.agent == agent
    assert response.status_code == 302
    assert response["Location"] == reverse("leads:detail", args=[lead.pk]) + f"?sent={message.pk}#message-{message.pk}"


def test_compose_refused_by_the_gate_sends_nothing_and_cites_the_rule(client_as, agent, lead, local_provider):
    phone = lead.contacts.first().phones.first()  # no written consent to texts

    response = client_as(agent).post(compose_url(lead), send_form(phone))

    assert response.status_code == 200
    assert not Message.objects.exists()
    page = response.content.decode()
    assert "Not sent: the compliance check refused this text." in page
    assert "D4" in page or "D5" in page  # texts need written consent, the rule linked
    assert "/compliance/rules/" in page


def test_compose_after_a_stop_is_refused_with_b1(client_as, agent, lead, textable, local_provider):
    sent_text(lead, agent, textable)
    inbound(textable.number, "STOP", "SMstop1")

    response = client_as(agent).post(compose_url(lead), send_form(textable, body="One more thing. Ana, Sunbelt Test Realty"))

    assert Message.objects.filter(direction=Direction.OUTBOUND).count() == 1
    assert "B1" in response.content.decode()


def test_landline_is_not_offered_and_refused_with_the_reason(client_as, agent, lead, textable, local_provider):
    textable.phone_type = PhoneType.LANDLINE
    textable.save(update_fields=["phone_type"])

    page = client_as(agent).get(compose_url(lead)).content.decode()
    response = client_as(agent).post(compose_url(lead), send_form(textable))

    assert "landline" in page and f'value="{textable.pk}"' not in page
    assert LANDLINE.format(number=textable.display) in response.content.decode()
    assert not Message.objects.exists()


def test_compose_empty_text_is_refused_on_the_field(client_as, agent, lead, textable, local_provider):
    response = client_as(agent).post(compose_url(lead), send_form(textable, body="   "))

    assert "Write the text first." in response.content.decode()
    assert not Message.objects.exists() and not OutreachAttempt.objects.exists()


def test_compose_needs_a_number(client_as, agent, lead, textable, local_provider):
    response = client_as(agent).post(compose_url(lead), {"body": "Hi", "purpose": Purpose.LISTING})

    assert PICK_TEXT_NUMBER in response.content.decode()


def test_compose_fills_a_text_template_with_merge_fields(client_as, agent, lead, textable):
    template = MessageTemplateFactory(kind=TemplateKind.TEXT, name="Follow-up text",
                                      body="Following up on your home at [Property Address].")

    page = client_as(agent).get(compose_url(lead) + f"?template={template.pk}").content.decode()

    assert f"Following up on your home at {lead.property.street_line}." in page


def test_preview_shows_the_gates_verdict_as_the_text_stands(client_as, agent, lead, textable):
    response = client_as(agent).post(reverse("messaging:text_preview", args=[lead.pk]),
                                     send_form(textable, body="We guarantee the bank will approve your short sale."))

    assert response.status_code == 200
    assert "F6" in response.content.decode()


@pytest.mark.parametrize("who, status", [("agent", 200), ("other_agent", 404), ("team_lead", 200), ("broker", 200)])
def test_compose_permission_matrix(client_as, lead, who, status, request):
    assert client_as(request.getfixturevalue(who)).get(compose_url(lead)).status_code == status


def test_compose_anonymous_is_sent_to_sign_in(client_as, lead):
    assert client_as(None).get(compose_url(lead)).status_code == 302


def test_other_agent_may_not_send_to_a_lead_they_cannot_see(client_as, other_agent, lead, textable, local_provider):
    assert client_as(other_agent).post(compose_url(lead), send_form(textable)).status_code == 404
    assert not Message.objects.exists()


# Status -------------------------------------------------------------------------------------


def test_status_polls_until_final(client_as, agent, lead, textable, local_provider):
    message = text_send(lead=lead, phone=textable, body="Hi, Ana at Sunbelt Test Realty", actor=agent,
                        role_disclosed=True)
    url = reverse("messaging:message_status", args=[message.pk])

    queued = client_as(agent).get(url).content.decode()
    message_deliver(message_id=message.pk)
    delivered = client_as(agent).get(url).content.decode()

    assert 'hx-trigger="every 2s"' in queued and "Queued" in queued
    assert "every 2s" not in delivered and "Delivered" in delivered


def test_the_timelines_poll_turns_the_title_from_sending_to_sent_with_the_badge(client_as, agent, lead, textable,
                                                                                 local_provider):
    message = text_send(lead=lead, phone=textable, body="Hi, Ana at Sunbelt Test Realty", actor=agent,
                        role_disclosed=True)
    timeline = client_as(agent).get(reverse("leads:detail", args=[lead.pk])).content.decode()
    poll = reverse("messaging:message_status", args=[message.pk]) + "?with=title"
    assert f'hx-get="{poll}"' in timeline and f'id="message-title-{message.pk}">Text sending' in timeline

    message_deliver(message_id=message.pk)
    delivered = client_as(agent).get(poll).content.decode()
    sent_page = client_as(agent).get(reverse("messaging:message_status", args=[message.pk])).content.decode()

    assert f'<strong id="message-title-{message.pk}" hx-swap-oob="true">Text sent</strong>' in delivered
    assert "message-title" not in sent_page  # the Sent page's badge has no title to turn


def test_failed_status_shows_the_carriers_error_in_words(client_as, agent, lead, textable, local_provider):
    message = sent_text(lead, agent, textable)
    Message.objects.filter(pk=message.pk).update(status=MessageStatus.UNDELIVERED, error_code="30003",
                                                 error_message="The handset is unreachable (off, or out of coverage).")

    page = client_as(agent).get(reverse("messaging:message_status", args=[message.pk])).content.decode()

    assert "Undelivered" in page and "The handset is unreachable" in page


def test_status_of_a_message_on_a_lead_you_cannot_see_is_404(client_as, agent, other_agent, lead, textable,
                                                              local_provider):
    message = sent_text(lead, agent, textable)
    assert client_as(other_agent).get(reverse("messaging:message_status", args=[message.pk])).status_code == 404


# Timeline -----------------------------------------------------------------------------------


def test_timeline_shows_the_text_and_its_attempt_as_one_entry_and_the_reply(client_as, agent, lead, textable,
                                                                           local_provider):
    message = sent_text(lead, agent, textable, body="Hello from the CRM")
    reply = inbound(textable.number, "Yes, call me after 5", "SMreply1")

    events = lead_activity(lead=lead)
    page = client_as(agent).get(reverse("leads:detail", args=[lead.pk])).content.decode()

    kinds = [(event.kind, event.item.pk) for event in events if event.kind in ("message", "outreach")]
    assert kinds == [("message", reply.pk), ("message", message.pk)]  # the attempts are inside them
    assert page.count("Hello from the CRM") >= 1 and "Yes, call me after 5" in page
    assert f'id="message-{message.pk}"' in page and "Delivered" in page


def test_timeline_marks_stop(client_as, agent, lead, textable, local_provider):
    sent_text(lead, agent, textable)
    inbound(textable.number, "STOP", "SMstop2")

    page = client_as(agent).get(reverse("leads:detail", args=[lead.pk])).content.decode()

    assert "STOP: do not contact" in page


def test_timeline_reads_messages_in_one_query_however_many(agent, lead, textable, local_provider):
    sent_text(lead, agent, textable)
    with CaptureQueriesContext(connection) as one:
        lead_activity(lead=lead)
    for n in range(4):
        sent_text(lead, agent, textable, body=f"Text {n}")
    inbound(textable.number, "Thanks", "SMq1")
    with CaptureQueriesContext(connection) as many:
        lead_activity(lead=lead)

    assert len(many) == len(one)


def test_lead_page_offers_text_per_mobile_number_and_says_why_not_for_a_landline(client_as, agent, lead, textable):
    landline = lead.contacts.first().phones.create(number="+19185550177", phone_type=PhoneType.LANDLINE, position=2)

    page = client_as(agent).get(reverse("leads:detail", args=[lead.pk])).content.decode()

    assert f"{compose_url(lead)}?phone={textable.pk}" in page
    assert f"?phone={landline.pk}" not in page and "Landline: no texts" in page


# Sent and the demo's replies -----------------------------------------------------------------


def test_sent_shows_own_texts_team_leads_their_teams_brokers_all(client_as, agent, other_agent, team_lead, broker,
                                                                  lead, textable, local_provider):
    mine = sent_text(lead, agent, textable, body="Agent's own text")
    theirs = Message.objects.create(channel=Channel.SMS, direction=Direction.OUTBOUND, provider="local",
                                    agent=other_agent, from_address="+15005550006", to_address="+18505550147",
                                    body="Other team's text", status=MessageStatus.DELIVERED)
    url = reverse("messaging:sent")

    def shown(user):
        page = client_as(user).get(url).content.decode()
        return {m.pk for m in (mine, theirs) if f'id="sent-{m.pk}"' in page}

    assert shown(agent) == {mine.pk}
    assert shown(other_agent) == {theirs.pk}
    assert shown(team_lead) == {mine.pk}
    assert shown(broker) == {mine.pk, theirs.pk}


def test_sent_filters_failed_and_pages_without_counting(client_as, agent, lead, textable, local_provider):
    ok = sent_text(lead, agent, textable, body="Fine")
    bad = sent_text(lead, agent, textable, body="Bounced")
    Message.objects.filter(pk=bad.pk).update(status=MessageStatus.FAILED, error_message="Unknown number.")
    client = client_as(agent)
    client.get(reverse("messaging:sent"))  # warm the session and the user

    with CaptureQueriesContext(connection) as queries:
        page = client.get(reverse("messaging:sent") + "?status=failed").content.decode()

    assert f'id="sent-{bad.pk}"' in page and f'id="sent-{ok.pk}"' not in page
    assert not any("COUNT(" in query["sql"].upper() and "pipeline_message" in query["sql"]
                   for query in queries.captured_queries)


def test_sent_query_count_does_not_grow_with_rows(client_as, agent, lead, textable, local_provider):
    client = client_as(agent)
    sent_text(lead, agent, textable)
    client.get(reverse("messaging:sent"))
    with CaptureQueriesContext(connection) as one:
        client.get(reverse("messaging:sent"))
    for n in range(5):
        sent_text(lead, agent, textable, body=f"Text {n}")
    with CaptureQueriesContext(connection) as six:
        client.get(reverse("messaging:sent"))

    assert len(six) == len(one)


def test_sent_next_page_link_walks_back_in_time(client_as, agent, lead, textable, local_provider, monkeypatch):
    monkeypatch.setattr(SentView, "page_size", 2)
    texts = [sent_text(lead, agent, textable, body=f"Text {n}") for n in range(3)]
    client = client_as(agent)

    first = client.get(reverse("messaging:sent"))
    cursor = first.context["page"].next_cursor
    second = client.get(reverse("messaging:sent"), {"before": cursor})

    assert [m.pk for m in first.context["page"].rows] == [texts[2].pk, texts[1].pk]
    assert [m.pk for m in second.context["page"].rows] == [texts[0].pk]
    assert second.context["page"].next_cursor == ""


def test_play_a_reply_stop_goes_through_the_inbound_path(client_as, agent, lead, textable, local_provider):
    sent = sent_text(lead, agent, textable)

    response = client_as(agent).post(reverse("messaging:play_reply", args=[sent.pk]), {"body": "STOP"})

    reply = Message.objects.get(direction=Direction.INBOUND)
    assert reply.lead == lead and reply.keyword == "stop" and reply.provider == "local"
    assert InternalDncEntry.objects.filter(phone_number=textable.number).exists()
    assert response["Location"].endswith(f"#message-{reply.pk}")
    assert Notification.objects.filter(recipient=agent, kind=NotificationKind.REPLY).exists()


def test_sent_page_says_local_backend_and_offers_play_a_reply(client_as, agent, lead, textable, local_provider):
    sent_text(lead, agent, textable)
    page = client_as(agent).get(reverse("messaging:sent")).content.decode()
    assert "Local backend: nothing leaves this machine." in page and "Play a reply" in page


def test_play_a_reply_is_local_only(client_as, agent, lead, textable, local_provider, settings):
    sent = sent_text(lead, agent, textable)
    settings.LEADCRM_TELEPHONY = "twilio"

    response = client_as(agent).post(reverse("messaging:play_reply", args=[sent.pk]), {"body": "STOP"})

    assert response.status_code == 404
    assert not Message.objects.filter(direction=Direction.INBOUND).exists()


def test_play_a_reply_to_someone_elses_text_is_404(client_as, agent, other_agent, lead, textable, local_provider):
    sent = sent_text(lead, agent, textable)
    response = client_as(other_agent).post(reverse("messaging:play_reply", args=[sent.pk]), {"body": "STOP"})
    assert response.status_code == 404
    assert not InternalDncEntry.objects.filter(phone_number=textable.number).exists()


# Inbox --------------------------------------------------------------------------------------


@pytest.mark.parametrize("who, status", [("agent", 403), ("team_lead", 200), ("broker", 200)])
def test_inbox_is_for_team_leads_and_brokers(client_as, who, status, request, local_provider):
    inbound(UNKNOWN_NUMBER, "Who is this?", "SMin1")
    response = client_as(request.getfixturevalue(who)).get(reverse("messaging:inbox"))
    assert response.status_code == status
    if status == 200:
        assert "Who is this?" in response.content.decode()


def test_inbox_link_and_count_only_for_those_who_work_it(client_as, agent, team_lead, local_provider):
    inbound(UNKNOWN_NUMBER, "Who is this?", "SMin2")

    agent_page = client_as(agent).get(reverse("messaging:sent")).content.decode()
    lead_page = client_as(team_lead).get(reverse("messaging:sent")).content.decode()

    assert reverse("messaging:inbox") not in agent_page
    assert reverse("messaging:inbox") in lead_page and 'title="Waiting in the inbox">1</span>' in lead_page


def test_inbox_file_on_a_lead_with_the_number(client_as, team_lead, lead, agent, local_provider):
    # Two leads hold the number: nobody could tell whose it is, so it waits in the inbox.
    number = lead.contacts.first().phones.first().number
    from tests.leads.factories import ContactFactory, LeadFactory, PhoneFactory
    twin = LeadFactory(assigned_agent=agent)
    PhoneFactory(contact=ContactFactory(lead=twin), number=number)
    message = inbound(number, "Is this about my house?", "SMin3")
    assert message.inbox_state == InboxState.UNMATCHED
    client = client_as(team_lead)

    page = client.get(reverse("messaging:inbox")).content.decode()
    response = client.post(reverse("messaging:inbox_file", args=[message.pk]), {"lead": lead.pk})

    assert f"File on {lead.property.street_line}" in page
    assert response.status_code == 302
    message.refresh_from_db()
    assert message.inbox_state == InboxState.FILED and message.lead == lead and message.filed_by == team_lead


def test_inbox_file_on_a_lead_the_user_cannot_see_is_404(client_as, team_lead, other_lead, local_provider):
    message = inbound(UNKNOWN_NUMBER, "Hello", "SMin4")
    response = client_as(team_lead).post(reverse("messaging:inbox_file", args=[message.pk]), {"lead": other_lead.pk})
    assert response.status_code == 404
    message.refresh_from_db()
    assert message.inbox_state == InboxState.UNMATCHED


def test_inbox_dismiss(client_as, broker, local_provider):
    message = inbound(UNKNOWN_NUMBER, "Your carrier bill is ready", "SMin5")

    client_as(broker).post(reverse("messaging:inbox_dismiss", args=[message.pk]))

    message.refresh_from_db()
    assert message.inbox_state == InboxState.DISMISSED and message.filed_by == broker


def test_agent_may_not_dismiss(client_as, agent, local_provider):
    message = inbound(UNKNOWN_NUMBER, "Hi", "SMin6")
    assert client_as(agent).post(reverse("messaging:inbox_dismiss", args=[message.pk])).status_code == 403


# Notifications and settings -----------------------------------------------------------------


def test_reply_notification_links_to_the_leads_timeline(client_as, agent, lead, textable, local_provider):
    sent_text(lead, agent, textable)
    inbound(textable.number, "Call me", "SMn1")
    note = Notification.objects.get(recipient=agent, kind=NotificationKind.REPLY)

    page = client_as(agent).get(reverse("pipeline:notifications")).content.decode()
    opened = client_as(agent).get(reverse("pipeline:notification_open", args=[note.pk]))

    assert reverse("pipeline:notification_open", args=[note.pk]) in page
    assert opened["Location"] == reverse("leads:detail", args=[lead.pk]) + "#timeline"


def test_my_settings_sets_the_phone_to_ring_and_shows_the_sending_number(client_as, agent):
    agent.sending_number = "+19185550999"
    agent.save(update_fields=["sending_number"])
    client = client_as(agent)

    page = client.get(reverse("pipeline:my_settings")).content.decode()
    saved = client.post(reverse("pipeline:my_settings"), {"action": "call_phone", "call_phone": "(918) 555-0123"})
    refused = client.post(reverse("pipeline:my_settings"), {"action": "call_phone", "call_phone": "12"})

    assert "+19185550999" in page
    assert saved.status_code == 302
    agent.refresh_from_db()
    assert agent.call_phone == "+19185550123"
    assert refused.status_code == 400


def test_queue_offers_a_text_per_row(client_as, agent, lead, textable):
    page = client_as(agent).get(reverse("pipeline:queue")).content.decode()
    assert f"{compose_url(lead)}?phone={textable.pk}" in page


def test_outreach_form_offers_to_send_the_text_from_leadcrm(client_as, agent, lead):
    page = client_as(agent).get(reverse("leads:detail", args=[lead.pk])).content.decode()
    assert "Send it from LeadCRM" in page and "data-sms-offer hidden" in page  # shown when "Text message" is picked


def test_call_button_waits_for_the_click_to_call_route(client_as, agent, lead, textable):
    from pipeline.messaging.views import click_to_call_enabled

    page = client_as(agent).get(reverse("leads:detail", args=[lead.pk])).content.decode()
    assert ("Call through LeadCRM" in page) == click_to_call_enabled()


def test_inbox_search_finds_a_visible_lead_by_street_or_number_written_any_way(client_as, team_lead, lead,
                                                                                 other_lead, local_provider):
    inbound(UNKNOWN_NUMBER, "Hello?", "SMin7")
    client = client_as(team_lead)

    by_street = client.get(reverse("messaging:inbox"), {"q": lead.property.street[:8]}).content.decode()
    by_number = client.get(reverse("messaging:inbox"), {"q": "(918) 555-0104"}).content.decode()
    hidden = client.get(reverse("messaging:inbox"), {"q": "(850) 555-0147"}).content.decode()

    assert f"File on {lead.property.street_line}" in by_street
    assert f"File on {lead.property.street_line}" in by_number
    assert f"File on {other_lead.property.street_line}" not in hidden


@pytest.mark.slow
def test_seed_demo_texts_are_seeded_once():
    from leadcrm.demo import DEMO_INBOX_NUMBER, seed_demo

    seed_demo(lead_count=40)
    first = Message.objects.count()
    seed_demo(lead_count=40)

    assert Message.objects.count() == first >= 1
    assert Message.objects.inbox().filter(from_address=DEMO_INBOX_NUMBER).count() == 1


@pytest.mark.parametrize("name", ["messaging:sent", "messaging:inbox"])
def test_anonymous_is_sent_to_sign_in(client_as, name):
    response = client_as(None).get(reverse(name))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_admin_shows_the_sending_number_and_the_phone_to_ring(client_as, agent, db):
    from tests.leadcrm.factories import BrokerFactory

    broker = BrokerFactory(is_staff=True, is_superuser=True)
    page = client_as(broker).get(reverse("admin:accounts_user_change", args=[agent.pk])).content.decode()
    assert 'name="sending_number"' in page and 'name="call_phone"' in page


def test_filing_a_text_already_dismissed_says_so(client_as, team_lead, broker, lead, local_provider):
    message = inbound(UNKNOWN_NUMBER, "Wrong number", "SMin8")
    client_as(broker).post(reverse("messaging:inbox_dismiss", args=[message.pk]))

    response = client_as(team_lead).post(reverse("messaging:inbox_file", args=[message.pk]), {"lead": lead.pk},
                                         follow=True)

    assert "Only a received message waiting in the inbox can be filed." in response.content.decode()
    message.refresh_from_db()
    assert message.inbox_state == InboxState.DISMISSED


# Reviewer's findings: scope by the lead, badges that stop, the phone to ring, the cursor -------


def test_sent_and_play_a_reply_follow_the_lead_not_the_sender(client_as, agent, other_agent, team_lead, broker,
                                                             lead, other_team, textable, local_provider):
    from leads.services import lead_assign

    sent = sent_text(lead, agent, textable, body="Before the handover")
    lead_assign(lead=lead, agent=other_agent, team=other_team, actor=broker)
    url = reverse("messaging:sent")

    def shown(user):
        return f'id="sent-{sent.pk}"' in client_as(user).get(url).content.decode()

    assert not shown(agent)  # the lead is not theirs any more
    assert not shown(team_lead)  # nor their team's, though a member sent it
    assert shown(other_agent) and shown(broker)
    response = client_as(agent).post(reverse("messaging:play_reply", args=[sent.pk]), {"body": "STOP"})
    assert response.status_code == 404
    assert not Message.objects.filter(direction=Direction.INBOUND).exists()


def test_a_message_on_no_lead_is_its_agents_and_the_brokers(client_as, agent, team_lead, broker, local_provider):
    loose = Message.objects.create(channel=Channel.SMS, direction=Direction.OUTBOUND, provider="local", agent=agent,
                                   from_address="+15005550006", to_address=UNKNOWN_NUMBER, body="Who is this?",
                                   status=MessageStatus.DELIVERED)

    def shown(user):
        return f'id="sent-{loose.pk}"' in client_as(user).get(reverse("messaging:sent")).content.decode()

    assert shown(agent) and shown(broker)
    assert not shown(team_lead)


def test_play_a_reply_needs_the_permission_to_log_outreach(client_as, agent, lead, textable, local_provider):
    sent = sent_text(lead, agent, textable)
    agent.groups.clear()  # still assigned the lead, no longer allowed to work it

    response = client_as(agent).post(reverse("messaging:play_reply", args=[sent.pk]), {"body": "STOP"})

    assert response.status_code == 403
    assert not InternalDncEntry.objects.filter(phone_number=textable.number).exists()


def _outbound(lead, agent, *, channel=Channel.SMS, status=MessageStatus.SENT, minutes_ago=0, provider="local"):
    at = timezone.now() - timezone.timedelta(minutes=minutes_ago)
    return Message.objects.create(channel=channel, direction=Direction.OUTBOUND, provider=provider, lead=lead,
                                  agent=agent, from_address="+15005550006", to_address="+19185550104", body="Hi",
                                  status=status, created_at=at, status_at=at)


@pytest.mark.parametrize("channel, status, minutes_ago, provider, polls", [
    (Channel.SMS, MessageStatus.SENT, 0, "local", True),
    (Channel.SMS, MessageStatus.QUEUED, 1, "local", True),
    (Channel.CALL, MessageStatus.RINGING, 0, "local", True),
    (Channel.SMS, MessageStatus.SENT, 11, "twilio", False),  # no report in ten minutes: none is coming soon
    (Channel.SMS, MessageStatus.SENDING, 11, "twilio", False),
    (Channel.CALL, MessageStatus.RINGING, 11, "twilio", False),
    (Channel.CALL, MessageStatus.IN_PROGRESS, 30, "twilio", True),  # a long conversation
    (Channel.CALL, MessageStatus.IN_PROGRESS, 121, "twilio", False),
    (Channel.EMAIL, MessageStatus.SENT, 0, "smtp", False),  # a mail server never reports further
    (Channel.EMAIL, MessageStatus.SENT, 0, "console", False),
    (Channel.EMAIL, MessageStatus.SENT, 0, "mailgun", True),  # an email service does
    (Channel.SMS, MessageStatus.UNKNOWN, 0, "twilio", False),
    (Channel.SMS, MessageStatus.DELIVERED, 0, "twilio", False),
])
def test_status_badge_stops_polling_when_no_report_is_coming(client_as, agent, lead, channel, status, minutes_ago,
                                                             provider, polls):
    message = _outbound(lead, agent, channel=channel, status=status, minutes_ago=minutes_ago, provider=provider)

    status_url = reverse("messaging:message_status", args=[message.pk])
    badge = client_as(agent).get(status_url).content.decode()
    sent_page = client_as(agent).get(reverse("messaging:sent")).content.decode()
    lead_page = client_as(agent).get(reverse("leads:detail", args=[lead.pk])).content.decode()

    assert ('hx-trigger="every 2s"' in badge) is polls
    assert (status_url in sent_page) is polls
    assert (status_url in lead_page) is polls
    waiting = status not in (MessageStatus.UNKNOWN, MessageStatus.DELIVERED) and not polls
    says = "no report of the call yet" if channel == Channel.CALL else "no delivery report yet"
    assert (says in badge) is waiting
    if waiting:
        assert "bi-hourglass" not in badge


@pytest.mark.parametrize("number_of", ["homeowner", "dnc", "pool", "local", "sending_number"])
def test_phone_to_ring_may_not_be_a_homeowners_a_stopped_or_the_brokerages_number(client_as, agent, other_agent,
                                                                                  other_lead, settings, number_of):
    from django.utils.html import escape

    from pipeline.messaging import forms

    settings.TWILIO_NUMBERS = ["+19185550900"]
    InternalDncEntry.objects.create(phone_number="+14055550188", channel=Channel.CALL, recorded_by=other_agent,
                                    homeowner_words="Don't call me again.")
    other_agent.sending_number = "+19185550999"
    other_agent.save(update_fields=["sending_number"])
    number, says = {
        "homeowner": ("(850) 555-0147", forms.NOT_YOUR_PHONE_HOMEOWNER),  # other_lead's, a lead the agent cannot see
        "dnc": ("+1 405 555 0188", forms.NOT_YOUR_PHONE_DNC),
        "pool": ("918-555-0900", forms.NOT_YOUR_PHONE_SENDING),
        "local": ("+15005550006", forms.NOT_YOUR_PHONE_SENDING),
        "sending_number": ("+19185550999", forms.NOT_YOUR_PHONE_SENDING),
    }[number_of]

    response = client_as(agent).post(reverse("pipeline:my_settings"), {"action": "call_phone", "call_phone": number})

    assert response.status_code == 400
    assert escape(says) in response.content.decode()
    agent.refresh_from_db()
    assert agent.call_phone == ""


@pytest.mark.parametrize("cursor", [
    "2026-13-45T00:00:00~1",  # no such date
    "2026-01-05T00:00:00~1",  # no zone: ambiguous
    "yesterday~1",
    "2026-01-05T00:00:00+00:00~99999999999999999999999",  # beyond any key
    "~",
])
@pytest.mark.parametrize("name, who", [("messaging:sent", "agent"), ("messaging:inbox", "team_lead")])
def test_a_malformed_cursor_shows_the_first_page(client_as, lead, agent, textable, local_provider, request, cursor,
                                                 name, who):
    sent_text(lead, agent, textable)
    inbound(UNKNOWN_NUMBER, "Who is this?", "SMcursor")
    client = client_as(request.getfixturevalue(who))

    first = client.get(reverse(name))
    response = client.get(reverse(name), {"before": cursor})

    assert response.status_code == 200
    assert [m.pk for m in response.context["page"].rows] == [m.pk for m in first.context["page"].rows] != []
