"""Email through the email service: sends, Mailgun's signed reports and replies, the gate after them.

Sends go through anymail's test backend speaking as Mailgun (ids in Mailgun's form); the
reports and replies are posted, signed as Mailgun signs them (HMAC-SHA256 with the webhook
signing key over timestamp and token), to anymail's own Mailgun URLs with the test client.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
import time
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import count
from urllib.parse import parse_qs

import pytest
from anymail.backends.test import EmailBackend as AnymailTestBackend
from anymail.exceptions import AnymailAPIError
from django.core import mail
from django.urls import reverse

from compliance.models import Channel, Direction, InternalDncEntry
from leads.models import EmailStatus
from pipeline.messaging.email import email_webhook_urls, reply_text
from pipeline.models import (
    InboxState,
    Message,
    MessageStatus,
    Notification,
    NotificationKind,
    Outcome,
    OutreachAttempt,
    TemplateKind,
    WebhookReceipt,
)
from pipeline.outreach.services import OutreachBlocked, outreach_log
from pipeline.tasks import email_campaign_send

from ...leads.factories import ContactFactory, EmailFactory, LeadFactory
from ..factories import MessageTemplateFactory

pytestmark = pytest.mark.django_db

TRACKING = "/webhooks/anymail/mailgun/tracking/"
INBOUND = "/webhooks/anymail/mailgun/inbound/"
ADDRESS = "maria.owner@example.com"
_ids = count(1)


class MailgunStandIn(AnymailTestBackend):
    """anymail's test backend (the outbox, the params it was given) answering as Mailgun
    does: its name, and ids in Mailgun's form."""

    esp_name = "Mailgun"
    refusal: Exception | None = None

    def get_esp_message_id(self, message):
        return f"<20261207031500.{next(_ids)}.{mail.outbox.index(message)}@mg.example.com>"

    def post_to_esp(self, payload, message):
        if self.refusal is not None:
            raise self.refusal
        return super().post_to_esp(payload, message)


@pytest.fixture
def mailgun(settings):
    settings.EMAIL_BACKEND = f"{__name__}.MailgunStandIn"
    MailgunStandIn.refusal = None
    return settings.ANYMAIL["MAILGUN_WEBHOOK_SIGNING_KEY"]


@pytest.fixture
def office(brokerage):
    brokerage.office_street, brokerage.office_city, brokerage.office_state, brokerage.office_zip = (
        "1 Main St", "Tulsa", "OK", "74103")
    brokerage.save()
    return brokerage


@pytest.fixture
def owner_email(lead):
    return EmailFactory(contact=lead.contacts.first(), address=ADDRESS)


@pytest.fixture
def campaign(agent, office):
    template = MessageTemplateFactory(kind=TemplateKind.EMAIL, owner=agent, name="Options",
                                      subject="Your options, [First Name]", body="Hi [First Name]. [Role Disclosure]")

    def send() -> dict:
        return email_campaign_send.apply(args=(template.pk, agent.pk, {}, "http://crm.example.com")).get()
    return send


@pytest.fixture
def sent(mailgun, owner_email, campaign):
    """One campaign email, taken by the service."""
    assert campaign() == {"sent": 1, "refused": 0, "failed": 0}
    return Message.objects.get(channel=Channel.EMAIL, direction=Direction.OUTBOUND)


def signature(key: str, token: str | None = None) -> dict:
    timestamp, token = str(int(time.time())), token or secrets.token_hex(25)
    digest = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    return {"timestamp": timestamp, "token": token, "signature": digest}


def report(client, key: str, message: Message | None, event: str, *, recipient: str = ADDRESS,
           token: str | None = None, **fields):
    """Mailgun's webhook for one event about one sent email, signed with ``key``."""
    event_data = {
        "event": event, "timestamp": time.time(), "id": secrets.token_hex(8), "recipient": recipient,
        "message": {"headers": {"message-id": message.provider_id.strip("<>") if message else "gone@mg.example.com",
                                "to": recipient, "subject": "Your options"}},
        "user-variables": {}, "tags": ["campaign"], **fields,
    }
    body = {"signature": signature(key, token), "event-data": event_data}
    return client.post(TRACKING, data=json.dumps(body), content_type="application/json")


def reply(client, key: str, *, sender: str = ADDRESS, body: str, subject: str = "Re: Your options, Maria",
          message_id: str | None = None, token: str | None = None, stripped: str | None = None):
    """Mailgun's route forwarding an email to us (its fully parsed form), signed with ``key``."""
    message_id = message_id or f"<{secrets.token_hex(8)}@mail.example.com>"
    headers = [["From", f"Maria Owner <{sender}>"], ["To", "ana@mg.example.com"], ["Subject", subject],
               ["Message-Id", message_id], ["Date", "Mon, 07 Dec 2026 03:15:00 +0000"]]
    data = {"sender": sender, "recipient": "ana@mg.example.com", "from": f"Maria Owner <{sender}>",
            "subject": subject, "body-plain": body, "message-headers": json.dumps(headers),
            **signature(key, token)}
    if stripped is not None:
        data["stripped-text"] = stripped
    return client.post(INBOUND, data)


QUOTED = ("\n\nOn Mon, Dec 7, 2026 at 3:00 AM Ana Torres <ana@example.com> wrote:\n> Hi Maria.\n> --\n"
          "> This is a marketing message from Sunbelt Test Realty.\n> To stop receiving these emails: http://x/\n")


# Sending --------------------------------------------------------------------------------------


def test_a_campaign_email_is_a_message_with_the_services_id_on_its_attempt(sent, owner_email, lead, agent):
    [outgoing] = mail.outbox
    attempt = OutreachAttempt.objects.get()
    assert (sent.provider, sent.status, sent.attempt, sent.lead, sent.agent) == (
        "mailgun", MessageStatus.SENT, attempt, lead, agent)
    assert sent.provider_id == outgoing.anymail_status.message_id and sent.provider_id.endswith("@mg.example.com>")
    assert (sent.to_address, sent.subject) == (ADDRESS, "Your options, Maria")
    params = outgoing.anymail_test_params
    assert params["metadata"] == {"attempt": str(attempt.pk), "message": str(sent.pk)}
    assert params["track_clicks"] is False and params["tags"] == ["campaign"]
    assert outgoing.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert outgoing.reply_to == [agent.email]


def test_replies_come_back_to_the_crm_when_it_receives_them(mailgun, owner_email, campaign, settings):
    settings.LEADCRM_EMAIL_REPLY_TO = "replies@mg.example.com"
    campaign()
    assert mail.outbox[0].reply_to == ["replies@mg.example.com"]


def test_an_email_the_service_refuses_is_a_failed_message_never_a_sent_one(mailgun, owner_email, campaign, lead):
    MailgunStandIn.refusal = AnymailAPIError("Mailgun API response 400: 'to' parameter is not a valid address")
    assert campaign() == {"sent": 0, "refused": 0, "failed": 1}
    message = Message.objects.get(channel=Channel.EMAIL)
    assert message.status == MessageStatus.FAILED and message.failed
    assert "not a valid address" in message.error_message and message.provider_id is None
    assert "refused it: Mailgun API response 400" in lead.notes.get().body


def test_a_campaign_sent_twice_in_a_day_sends_and_records_once(sent, campaign):
    assert campaign() == {"sent": 0, "refused": 0, "failed": 0}
    assert len(mail.outbox) == 1 and Message.objects.filter(channel=Channel.EMAIL).count() == 1


# Reports --------------------------------------------------------------------------------------


def test_a_delivery_report_marks_the_email_delivered(sent, mailgun, client):
    response = report(client, mailgun, sent, "delivered", **{"delivery-status": {"code": 250, "message": "OK"}})
    assert response.status_code == 200
    sent.refresh_from_db()
    assert sent.status == MessageStatus.DELIVERED and sent.error_message == ""


def test_a_replayed_report_is_taken_once(sent, mailgun, client):
    token = secrets.token_hex(25)
    for _ in range(2):
        assert report(client, mailgun, sent, "complained", token=token).status_code == 200
    assert WebhookReceipt.objects.filter(provider="mailgun", event_id=token).count() == 1
    assert InternalDncEntry.objects.filter(email=ADDRESS).count() == 1


def test_a_forged_report_is_refused_and_changes_nothing(sent, mailgun, client, owner_email):
    response = report(client, "not-the-signing-key", sent, "failed", severity="permanent", reason="bounce")
    assert response.status_code == 403
    sent.refresh_from_db()
    owner_email.refresh_from_db()
    assert (sent.status, owner_email.status) == (MessageStatus.SENT, EmailStatus.GOOD)
    assert not WebhookReceipt.objects.exists()
    # Unsigned, the same.
    assert client.post(TRACKING, data=json.dumps({"event-data": {"event": "complained"}}),
                       content_type="application/json").status_code == 403
    assert not InternalDncEntry.objects.exists()


def test_a_bounce_marks_the_address_bounced_on_every_lead_and_the_gate_refuses_it(
        sent, mailgun, client, owner_email, agent, lead, campaign):
    elsewhere = LeadFactory(assigned_agent=agent, team=lead.team)
    twin = EmailFactory(contact=ContactFactory(lead=elsewhere), address=ADDRESS.upper())
    response = report(client, mailgun, sent, "failed", severity="permanent", reason="bounce",
                      **{"delivery-status": {"code": 550, "message": "5.1.1 The email account does not exist"}})
    assert response.status_code == 200
    sent.refresh_from_db()
    assert sent.status == MessageStatus.BOUNCED and "does not exist" in sent.error_message
    for row in (owner_email, twin):
        row.refresh_from_db()
        assert row.status == EmailStatus.BOUNCED
    assert owner_email.history.first().history_user.username  # recorded, by the automation user

    # The next email to it is refused with the reason (FC), and a campaign leaves it out.
    with pytest.raises(OutreachBlocked) as blocked:
        outreach_log(lead=lead, channel=Channel.EMAIL, contact_point=owner_email, outcome=Outcome.SENT,
                     actor=agent, role_disclosed=True)
    assert "FC" in blocked.value.decision.rule_ids
    assert f"{ADDRESS} cannot be delivered" in " ".join(blocked.value.decision.reasons)
    mail.outbox.clear()
    campaign()
    assert mail.outbox == []


def test_a_temporary_failure_is_not_a_bounce(sent, mailgun, client, owner_email):
    report(client, mailgun, sent, "failed", severity="temporary", reason="generic")
    sent.refresh_from_db()
    owner_email.refresh_from_db()
    assert (sent.status, owner_email.status) == (MessageStatus.SENT, EmailStatus.GOOD)


def test_a_complaint_after_delivery_marks_the_address_and_puts_it_on_the_internal_list(
        sent, mailgun, client, owner_email, agent, lead):
    report(client, mailgun, sent, "delivered")
    assert report(client, mailgun, sent, "complained").status_code == 200
    sent.refresh_from_db()
    owner_email.refresh_from_db()
    assert sent.status == MessageStatus.COMPLAINED and owner_email.status == EmailStatus.COMPLAINED
    entry = InternalDncEntry.objects.get(email=ADDRESS)
    assert (entry.channel, entry.recorded_by, entry.lead) == (Channel.EMAIL, agent, lead)
    with pytest.raises(OutreachBlocked) as blocked:
        outreach_log(lead=lead, channel=Channel.EMAIL, contact_point=ADDRESS, outcome=Outcome.SENT, actor=agent,
                     role_disclosed=True)
    assert set(blocked.value.decision.rule_ids) == {"B1"}
    assert "marked our email as spam" in " ".join(blocked.value.decision.reasons)
    # A later bounce does not lower the complaint.
    report(client, mailgun, sent, "failed", severity="permanent", reason="bounce")
    owner_email.refresh_from_db()
    sent.refresh_from_db()
    assert (owner_email.status, sent.status) == (EmailStatus.COMPLAINED, MessageStatus.COMPLAINED)


def test_an_unsubscribe_through_the_service_stops_the_address(sent, mailgun, client, agent, lead, owner_email):
    assert report(client, mailgun, sent, "unsubscribed").status_code == 200
    assert InternalDncEntry.objects.filter(email=ADDRESS, recorded_by=agent).exists()
    with pytest.raises(OutreachBlocked):
        outreach_log(lead=lead, channel=Channel.EMAIL, contact_point=owner_email, outcome=Outcome.SENT, actor=agent,
                     role_disclosed=True)


def test_a_report_about_an_address_that_is_no_homeowners_changes_nothing(mailgun, client):
    report(client, mailgun, None, "complained", recipient="agent@brokerage.example.com")
    assert not InternalDncEntry.objects.exists()


# Replies --------------------------------------------------------------------------------------


def test_a_reply_is_filed_on_the_lead_and_tells_the_agent(sent, mailgun, client, lead, agent, owner_email):
    response = reply(client, mailgun, body="Yes, call me Tuesday after 5." + QUOTED)
    assert response.status_code == 200
    message = Message.objects.get(direction=Direction.INBOUND)
    assert (message.lead, message.agent, message.inbox_state, message.provider) == (
        lead, agent, InboxState.FILED, "mailgun")
    assert message.body == "Yes, call me Tuesday after 5." and message.keyword == ""
    attempt = message.attempt
    assert (attempt.channel, attempt.direction, attempt.outcome, attempt.email) == (
        Channel.EMAIL, Direction.INBOUND, Outcome.REPLIED, owner_email)
    note = Notification.objects.get(recipient=agent, kind=NotificationKind.REPLY)
    assert note.title.startswith("Email from the homeowner")
    # The quoted footer's "stop" is ours, not the homeowner's.
    assert not InternalDncEntry.objects.exists()


def test_a_replayed_reply_is_filed_once(sent, mailgun, client):
    for _ in range(2):
        assert reply(client, mailgun, body="Call me.", message_id="<same@mail.example.com>").status_code == 200
    assert Message.objects.filter(direction=Direction.INBOUND).count() == 1
    assert OutreachAttempt.objects.filter(direction=Direction.INBOUND).count() == 1


def test_an_unsubscribe_reply_stops_the_address_before_the_webhook_answers(sent, mailgun, client, lead, agent,
                                                                          owner_email):
    reply(client, mailgun, body="Please unsubscribe me." + QUOTED, stripped="Please unsubscribe me.")
    message = Message.objects.get(direction=Direction.INBOUND)
    assert message.keyword == "stop" and message.lead == lead
    assert InternalDncEntry.objects.filter(email=ADDRESS).exists()
    with pytest.raises(OutreachBlocked) as blocked:
        outreach_log(lead=lead, channel=Channel.EMAIL, contact_point=owner_email, outcome=Outcome.SENT, actor=agent,
                     role_disclosed=True)
    assert "B1" in blocked.value.decision.rule_ids


def test_an_email_from_an_unknown_sender_waits_in_the_inbox(mailgun, client, lead):
    assert reply(client, mailgun, sender="stranger@example.net", body="Who is this?").status_code == 200
    message = Message.objects.get(direction=Direction.INBOUND)
    assert message.inbox_state == InboxState.UNMATCHED and message.lead is None
    assert list(Message.objects.inbox()) == [message]
    assert not Notification.objects.exists()


def test_an_unknown_senders_stop_still_stops_the_address(mailgun, client, lead):
    reply(client, mailgun, sender="stranger@example.net", subject="Unsubscribe", body="")
    assert InternalDncEntry.objects.filter(email="stranger@example.net").exists()


def test_a_reply_from_a_bounced_address_is_still_filed(sent, mailgun, client, owner_email, lead):
    report(client, mailgun, sent, "failed", severity="permanent", reason="bounce")
    reply(client, mailgun, body="Sorry, my old mailbox was full.")
    assert Message.objects.get(direction=Direction.INBOUND).attempt.outcome == Outcome.REPLIED


def test_a_forged_reply_is_refused_and_nothing_is_filed(mailgun, client, lead, owner_email):
    assert reply(client, "not-the-signing-key", body="STOP").status_code == 403
    assert not Message.objects.exists() and not InternalDncEntry.objects.exists()


# The real Mailgun backend, against a stand-in of Mailgun's API on 127.0.0.1 -----------------


class MailgunApi(BaseHTTPRequestHandler):
    """Answers ``POST /v3/<domain>/messages`` as Mailgun does; keeps what it was sent."""

    def do_POST(self):  # noqa: N802 - the name http.server calls
        server = self.server
        body = self.rfile.read(int(self.headers["Content-Length"]))
        server.requests.append((self.path, self.headers.get("Authorization", ""), _fields(self.headers, body)))
        if server.answer == "hang":
            server.release.wait(5)  # until the client has given up (its timeout), or the test ends
            return
        status, answer = server.answer
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(json.dumps(answer).encode())

    def log_message(self, *args):
        pass


def _fields(headers, body: bytes) -> dict[str, list[str]]:
    content_type = headers.get("Content-Type", "")
    if content_type.startswith("multipart/"):
        parsed = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
        fields: dict[str, list[str]] = {}
        for part in parsed.iter_parts():
            name = part.get_param("name", header="content-disposition")
            fields.setdefault(name, []).append(part.get_content() if not part.get_filename() else part.get_filename())
        return fields
    return parse_qs(body.decode())


@pytest.fixture
def mailgun_api(settings):
    server = ThreadingHTTPServer(("127.0.0.1", 0), MailgunApi)
    server.requests, server.release = [], threading.Event()
    server.answer = (200, {"id": "<20261207031500.1.ABCD@mg.example.com>", "message": "Queued. Thank you."})
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.EMAIL_BACKEND = "anymail.backends.mailgun.EmailBackend"
    settings.ANYMAIL = {**settings.ANYMAIL, "MAILGUN_API_URL": f"http://127.0.0.1:{server.server_port}/v3",
                        "REQUESTS_TIMEOUT": 0.5}
    yield server
    server.release.set()
    server.shutdown()
    server.server_close()


def test_mailgun_takes_the_email_and_reports_its_delivery_by_the_id_it_gave(mailgun_api, owner_email, campaign,
                                                                             client, settings):
    assert campaign() == {"sent": 1, "refused": 0, "failed": 0}
    [(path, auth, fields)] = mailgun_api.requests
    assert path == "/v3/mg.example.com/messages" and auth.startswith("Basic ")
    message = Message.objects.get(channel=Channel.EMAIL)
    assert (message.provider, message.provider_id, message.status) == (
        "mailgun", "<20261207031500.1.ABCD@mg.example.com>", MessageStatus.SENT)
    assert fields["to"] == [ADDRESS] and fields["o:tracking-clicks"] == ["no"]
    assert fields["v:message"] == [str(message.pk)] and fields["v:attempt"] == [str(message.attempt_id)]
    report(client, settings.ANYMAIL["MAILGUN_WEBHOOK_SIGNING_KEY"], message, "delivered")
    message.refresh_from_db()
    assert message.status == MessageStatus.DELIVERED


def test_mailgun_refusing_the_email_is_a_failed_message(mailgun_api, owner_email, campaign, lead):
    mailgun_api.answer = (400, {"message": "'to' parameter is not a valid address. please check documentation"})
    assert campaign() == {"sent": 0, "refused": 0, "failed": 1}
    message = Message.objects.get(channel=Channel.EMAIL)
    assert message.status == MessageStatus.FAILED and "not a valid address" in message.error_message


def test_mailgun_not_answering_in_time_is_an_unknown_outcome_never_sent_again(mailgun_api, owner_email, campaign):
    mailgun_api.answer = "hang"
    assert campaign() == {"sent": 0, "refused": 0, "failed": 1}
    message = Message.objects.get(channel=Channel.EMAIL)
    assert message.status == MessageStatus.UNKNOWN and message.failed
    mailgun_api.release.set()
    assert campaign() == {"sent": 0, "refused": 0, "failed": 0}  # the same address, the same day: not again
    assert len(mailgun_api.requests) == 1


# Pieces ---------------------------------------------------------------------------------------


def test_only_the_services_own_webhooks_are_served():
    names = {pattern.name for pattern in email_webhook_urls()}
    assert names == {"mailgun_inbound_webhook", "mailgun_tracking_webhook"}
    assert reverse("anymail:mailgun_tracking_webhook") == TRACKING


@pytest.mark.parametrize(("text", "expected"), [
    ("Call me." + QUOTED, "Call me."),
    ("Not now\n-----Original Message-----\nFrom: Ana\nstop", "Not now"),
    ("> quoted only\nMy reply", "My reply"),
])
def test_a_reply_is_read_without_the_email_it_quotes(text, expected):
    class Parsed:
        stripped_text = None

    Parsed.text = text
    assert reply_text(Parsed()) == expected


def test_an_html_only_reply_is_read_as_its_text():
    class Parsed:
        stripped_text, text, html = None, None, "<div>Please <b>remove me</b></div>"

    assert reply_text(Parsed()) == "Please remove me"
