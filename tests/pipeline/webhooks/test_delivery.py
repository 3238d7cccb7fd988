"""Sending: signed, timed out, retried with backoff, logged, disabled after repeated
failures, never sent twice at once; and the request that raised the event never waits."""

import hashlib
import hmac
import json
import time
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from leads.models import DeadReason, Stage
from pipeline.deals.services import lead_stage_change
from pipeline.models import (
    DeliveryStatus,
    Notification,
    NotificationKind,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from pipeline.reminders.notifications import notification_emails_send
from pipeline.webhooks.addresses import HTTPS_REQUIRED, PRIVATE_ADDRESS, url_check
from pipeline.webhooks.delivery import (
    BACKOFF,
    CLOSED_WITHOUT_ANSWER,
    GIVE_UPS_BEFORE_DISABLING,
    deliveries_sweep,
    delivery_send,
)
from pipeline.webhooks.services import (
    delivery_redeliver,
    endpoint_create,
    endpoint_enable,
    endpoint_ping,
    endpoint_secret_rotate,
)
from tests.support.webhook_receiver import Behaviour

from .conftest import send_pending


def verify(secret: str, received) -> bool:
    """What a receiving system does (docs/webhooks.md#verifying)."""
    timestamp = received.header("X-LeadCRM-Timestamp")
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + received.body, hashlib.sha256).hexdigest()
    given = received.header("X-LeadCRM-Signature").removeprefix("v1=")
    return hmac.compare_digest(expected, given)


def move(lead, agent):
    return lead_stage_change(lead=lead, to_stage=Stage.DEAD, dead_reason=DeadReason.REINSTATED, actor=agent)


def test_a_delivery_is_signed_with_the_endpoints_secret(endpoint, receiver, lead, agent):
    move(lead, agent)
    [delivery] = send_pending()
    [received] = receiver.wait_for(1)
    assert delivery.status == DeliveryStatus.SUCCEEDED and delivery.attempts == 1
    assert received.header("X-LeadCRM-Event") == "lead.stage_changed"
    assert received.header("X-LeadCRM-Delivery") == str(delivery.pk)
    assert received.header("Content-Type") == "application/json"
    assert abs(int(received.header("X-LeadCRM-Timestamp")) - time.time()) < 60
    assert verify(endpoint.secret, received)
    assert not verify(endpoint.secret + "x", received)  # a wrong secret does not verify
    assert not verify("whsec_" + "0" * 48, received)
    tampered = type(received)(received.path, received.headers, received.body.replace(b"dead", b"list"))
    assert not verify(endpoint.secret, tampered)  # nor a changed body
    assert json.loads(received.body)["data"]["to_stage"] == "dead"


def test_each_attempt_is_logged_with_its_answer(endpoint, receiver, lead, agent):
    receiver.answer_next(Behaviour(status=202, body="accepted " + "x" * 3000))
    move(lead, agent)
    send_pending()
    attempt = WebhookAttempt.objects.get()
    assert attempt.status_code == 202 and attempt.succeeded and attempt.number == 1
    assert attempt.response_excerpt.startswith("accepted") and len(attempt.response_excerpt) == 1024
    assert attempt.duration_ms >= 0 and not attempt.error


def test_a_rotated_secret_signs_from_then_on(endpoint, receiver, lead, agent):
    old = endpoint.secret
    endpoint_secret_rotate(endpoint=endpoint)
    assert endpoint.secret != old and endpoint.secret.startswith("whsec_")
    move(lead, agent)
    send_pending()
    [received] = receiver.wait_for(1)
    assert verify(endpoint.secret, received) and not verify(old, received)


def test_failures_are_retried_with_backoff_then_given_up(endpoint, receiver, lead, agent):
    receiver.default = Behaviour(status=500, body="boom")
    move(lead, agent)
    delivery = WebhookDelivery.objects.get()
    waits = []
    for _ in range(len(BACKOFF) + 1):
        with time_machine.travel(delivery.next_attempt_at or timezone.now(), tick=True):
            sent = delivery_send(delivery_id=delivery.pk)
            assert sent is not None
            if sent.next_attempt_at:
                waits.append(sent.next_attempt_at - WebhookAttempt.objects.filter(delivery=sent).last().started_at)
            # Not due yet: a second worker (or an early task) finds nothing to send.
            assert delivery_send(delivery_id=delivery.pk) is None
        delivery = sent
    assert [round(wait.total_seconds() / 60) for wait in waits] == [1, 5, 30, 120, 480]
    assert delivery.status == DeliveryStatus.GIVEN_UP and delivery.attempts == 6
    assert list(delivery.attempt_log.values_list("status_code", flat=True)) == [500] * 6
    assert len(receiver.received) == 6
    endpoint.refresh_from_db()
    assert endpoint.is_active and endpoint.consecutive_failures == 1  # one given up: not yet disabled


def test_a_hanging_endpoint_times_out_and_is_retried(endpoint, receiver, lead, agent):
    receiver.answer_next(Behaviour(kind="hang", seconds=5))
    move(lead, agent)
    started = time.monotonic()
    [delivery] = send_pending()
    assert time.monotonic() - started < 3  # the 1 s limit of the test's settings, not the hang's 5 s
    assert delivery.status == DeliveryStatus.RETRYING
    attempt = delivery.attempt_log.get()
    assert attempt.status_code is None and "Timed out" in attempt.error
    with time_machine.travel(delivery.next_attempt_at, tick=True):
        assert delivery_send(delivery_id=delivery.pk).status == DeliveryStatus.SUCCEEDED


def test_a_dropped_connection_and_a_closed_port_are_failures(endpoint, receiver, lead, agent, settings):
    receiver.answer_next(Behaviour(kind="close"))
    move(lead, agent)
    [delivery] = send_pending()
    assert delivery.status == DeliveryStatus.RETRYING
    assert delivery.attempt_log.get().error == "Connection failed: " + CLOSED_WITHOUT_ANSWER
    endpoint.url = "http://127.0.0.1:9/nothing-listens"  # the discard port: refused
    endpoint.save()
    delivery_redeliver(delivery=delivery)
    delivery = delivery_send(delivery_id=delivery.pk)
    assert delivery.attempt_log.order_by("number").last().error == "Connection failed: Connection refused"


def test_the_request_that_raised_the_event_does_not_wait_for_the_endpoint(
        endpoint, receiver, lead, agent, client_as, django_capture_on_commit_callbacks):
    receiver.default = Behaviour(kind="hang", seconds=10)
    client = client_as(agent)
    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("pipeline:stage_change", args=[lead.pk]),
                               {"to_stage": "dead", "dead_reason": "reinstated"})
    took = time.monotonic() - started
    assert response.status_code in (200, 302)
    lead.refresh_from_db()
    assert lead.stage == Stage.DEAD
    assert took < 2.5, took  # the page answered; the delivery waits for a worker
    assert WebhookDelivery.objects.get().status == DeliveryStatus.PENDING
    assert not receiver.received


def test_an_endpoint_failing_again_and_again_is_disabled_and_its_owner_told(endpoint, receiver, broker, lead, agent):
    receiver.default = Behaviour(status=503)
    for _ in range(GIVE_UPS_BEFORE_DISABLING):
        endpoint_ping(endpoint=endpoint, actor=broker)  # pings never count against it ...
    send_pending()
    endpoint.refresh_from_db()
    assert endpoint.is_active and endpoint.consecutive_failures == 0
    WebhookDelivery.objects.all().delete()
    for number in range(GIVE_UPS_BEFORE_DISABLING):
        WebhookDelivery.objects.create(endpoint=endpoint, event=WebhookEvent.LEAD_CREATED, event_key=f"k{number}",
                                       occurred_at=timezone.now(), created_at=timezone.now(),
                                       next_attempt_at=timezone.now(), attempts=len(BACKOFF))  # the last try left
    waiting = WebhookDelivery.objects.create(endpoint=endpoint, event=WebhookEvent.LEAD_CREATED, event_key="later",
                                             occurred_at=timezone.now(), created_at=timezone.now(),
                                             next_attempt_at=timezone.now() + timedelta(hours=1))
    for pk in WebhookDelivery.objects.exclude(pk=waiting.pk).values_list("pk", flat=True):
        assert delivery_send(delivery_id=pk).status == DeliveryStatus.GIVEN_UP
    endpoint.refresh_from_db()
    assert not endpoint.is_active and endpoint.consecutive_failures == GIVE_UPS_BEFORE_DISABLING
    assert "5 deliveries in a row failed" in endpoint.disabled_reason and "HTTP 503" in endpoint.disabled_reason
    waiting.refresh_from_db()
    assert waiting.status == DeliveryStatus.CANCELLED
    note = Notification.objects.get(recipient=broker, kind=NotificationKind.WEBHOOK)
    assert endpoint.url in note.title and note.url == reverse("webhooks:detail", args=[endpoint.pk])
    assert notification_emails_send([note.pk]) == 1
    assert "Webhook disabled" in mail.outbox[-1].subject and mail.outbox[-1].to == [broker.email]
    # Nothing more is sent; a new event writes nothing.
    move(lead, agent)
    assert not WebhookDelivery.objects.filter(event=WebhookEvent.LEAD_STAGE_CHANGED).exists()
    with pytest.raises(ValidationError, match="Re-enable the endpoint first"):
        delivery_redeliver(delivery=waiting)
    # Re-enabled: counted afresh, and what failed can be sent again.
    receiver.default = Behaviour(status=200)
    endpoint_enable(endpoint=endpoint)
    assert endpoint.is_active and endpoint.consecutive_failures == 0 and not endpoint.disabled_reason
    delivery_redeliver(delivery=waiting)
    assert delivery_send(delivery_id=waiting.pk).status == DeliveryStatus.SUCCEEDED


def test_an_endpoint_failing_for_a_day_is_disabled(endpoint, receiver, lead, agent):
    receiver.default = Behaviour(status=500)
    move(lead, agent)
    [delivery] = send_pending()
    with time_machine.travel(timezone.now() + timedelta(hours=25), tick=True):
        WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
        delivery_send(delivery_id=delivery.pk)
    endpoint.refresh_from_db()
    assert not endpoint.is_active and "has failed since" in endpoint.disabled_reason


def test_a_given_up_delivery_is_sent_again_with_its_backoff_started_over(endpoint, receiver, lead, agent):
    move(lead, agent)
    delivery = WebhookDelivery.objects.get()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.GIVEN_UP, attempts=6)
    delivery.refresh_from_db()
    receiver.answer_next(Behaviour(status=500))
    delivery_redeliver(delivery=delivery)
    sent = delivery_send(delivery_id=delivery.pk)
    assert sent.status == DeliveryStatus.RETRYING and sent.attempts == 7
    assert round((sent.next_attempt_at - timezone.now()).total_seconds() / 60) == 1  # the first wait again
    with pytest.raises(ValidationError):
        WebhookDelivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.SUCCEEDED)
        delivery.refresh_from_db()
        delivery_redeliver(delivery=delivery)  # a delivered one is not sent again


def test_two_workers_never_send_the_same_attempt(endpoint, receiver, lead, agent):
    move(lead, agent)
    delivery = WebhookDelivery.objects.get()
    # Another worker has claimed it: this one sends nothing.
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.SENDING, claimed_at=timezone.now())
    assert delivery_send(delivery_id=delivery.pk) is None
    assert not receiver.received
    # Its worker died mid-send: the sweeper counts a failed try, and it is sent again on the
    # backoff (at least once).
    later = timezone.now() + timedelta(minutes=10)
    swept = deliveries_sweep(now=later)
    assert swept == {"stuck": 1, "due": []}
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.RETRYING and delivery.attempts == 1
    assert delivery.next_attempt_at == later + BACKOFF[0]
    attempt = delivery.attempt_log.get()
    assert not attempt.succeeded and attempt.status_code is None and "still sending after 5 minutes" in attempt.error
    endpoint.refresh_from_db()
    assert endpoint.failing_since == later  # it counts toward disabling, like any failure
    retry_at = later + BACKOFF[0] + timedelta(minutes=1)
    assert deliveries_sweep(now=retry_at) == {"stuck": 0, "due": [delivery.pk]}
    assert delivery_send(delivery_id=delivery.pk, now=retry_at).status == DeliveryStatus.SUCCEEDED
    assert delivery_send(delivery_id=delivery.pk, now=retry_at) is None  # a redelivered task: nothing
    assert len(receiver.received) == 1


def test_a_delivery_stuck_sending_on_its_last_try_is_given_up(endpoint, receiver, lead, agent):
    move(lead, agent)
    delivery = WebhookDelivery.objects.get()
    claimed = timezone.now()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.SENDING, claimed_at=claimed,
                                                          attempts=len(BACKOFF))
    later = claimed + timedelta(minutes=6)
    assert deliveries_sweep(now=later)["stuck"] == 1
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.GIVEN_UP and delivery.attempts == len(BACKOFF) + 1
    assert deliveries_sweep(now=later + timedelta(hours=1)) == {"stuck": 0, "due": []}
    assert not receiver.received


def test_a_late_answer_after_the_sweeper_counted_it_stuck_is_not_recorded_twice(endpoint, receiver, lead, agent):
    from pipeline.webhooks.delivery import Answer, _record

    move(lead, agent)
    delivery = WebhookDelivery.objects.get()
    claimed = timezone.now()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.SENDING, claimed_at=claimed)
    deliveries_sweep(now=claimed + timedelta(minutes=6))
    late = _record(delivery, Answer(200, "ok", "", 5), started_at=claimed)  # the worker was alive after all
    assert late.status == DeliveryStatus.RETRYING and late.attempts == 1
    assert delivery.attempt_log.count() == 1


def test_an_answer_dripped_a_byte_at_a_time_is_cut_off_at_the_time_limit(endpoint, receiver, lead, agent):
    """Each byte comes well within the read timeout (0.5 s), the whole answer would take
    about 20 s: the 1 s limit holds for the attempt as a whole."""
    receiver.answer_next(Behaviour(kind="drip", seconds=0.3, body="ok"))
    move(lead, agent)
    started = time.monotonic()
    [delivery] = send_pending()
    took = time.monotonic() - started
    assert took < 2.5, took
    assert delivery.status == DeliveryStatus.RETRYING
    attempt = delivery.attempt_log.get()
    assert attempt.status_code is None and attempt.error.startswith("Timed out after 1.")
    assert len(receiver.received) == 1  # it was sent; only the answer was too slow


def test_a_status_in_time_stands_when_the_body_drips_past_the_limit(endpoint, receiver, lead, agent, settings):
    settings.LEADCRM_WEBHOOKS_TIMEOUT = 3.0
    body = "x" * 40
    receiver.answer_next(Behaviour(kind="drip", seconds=0.03, body=body))  # headers ~1.2 s, the body 1.2 s more
    move(lead, agent)
    started = time.monotonic()
    [delivery] = send_pending()
    assert time.monotonic() - started < 4
    assert delivery.status == DeliveryStatus.SUCCEEDED


class Resolver:
    """A stand-in DNS for one name: each lookup of it gets the next answer (the last one
    again when they run out); every other name and address literal resolves as usual."""

    def __init__(self, monkeypatch, name: str, *answers: str):
        import socket

        self.name, self.answers, self.asked = name, list(answers), 0
        real = socket.getaddrinfo

        def getaddrinfo(host, port, *args, **kwargs):
            if host != name:
                return real(host, port, *args, **kwargs)
            address = self.answers[min(self.asked, len(self.answers) - 1)]
            self.asked += 1
            return real(address, port, *args, **kwargs)

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def test_a_name_rebound_to_a_private_address_after_the_check_reaches_nothing(
        endpoint, receiver, lead, agent, settings, monkeypatch):
    """DNS rebinding: public when checked, 127.0.0.1 a moment later. The attempt connects
    to the address checked, so the stand-in on 127.0.0.1 never hears of it."""
    port = receiver.server.server_address[1]
    endpoint.url = f"https://hooks.rebind.test:{port}/hooks/leadcrm"
    endpoint.save()
    move(lead, agent)
    settings.LEADCRM_WEBHOOKS_ALLOW_PRIVATE = False
    settings.LEADCRM_WEBHOOKS_CONNECT_TIMEOUT = 0.3
    resolver = Resolver(monkeypatch, "hooks.rebind.test", "93.184.215.14", "127.0.0.1")
    [delivery] = send_pending()
    assert resolver.asked == 1  # resolved once, for the check and the connection both
    assert delivery.status == DeliveryStatus.RETRYING
    assert receiver.connections == 0 and not receiver.received
    # Answering private at the check, it is refused before any connection.
    resolver.answers, resolver.asked = ["127.0.0.1"], 0
    with time_machine.travel(delivery.next_attempt_at, tick=True):
        delivery = delivery_send(delivery_id=delivery.pk)
    assert "points inside a private network (127.0.0.1)" in delivery.attempt_log.order_by("number").last().error
    assert receiver.connections == 0


def test_the_connection_goes_to_the_address_checked_with_the_names_host_header(
        endpoint, receiver, lead, agent, monkeypatch):
    """Resolved once: a second lookup (here unroutable) is never made; the receiver is
    still addressed by its name."""
    port = receiver.server.server_address[1]
    endpoint.url = f"http://hooks.pinned.test:{port}/hooks/leadcrm"
    endpoint.save()
    move(lead, agent)
    resolver = Resolver(monkeypatch, "hooks.pinned.test", "127.0.0.1", "10.255.255.1")
    [delivery] = send_pending()
    assert delivery.status == DeliveryStatus.SUCCEEDED and resolver.asked == 1
    [received] = receiver.wait_for(1)
    assert received.header("Host") == f"hooks.pinned.test:{port}"


def _certificates(folder, name: str) -> tuple[str, str, str]:
    """A test CA and a certificate it signed for ``name``: (CA, certificate, key) paths."""
    import shutil
    import subprocess

    if not shutil.which("openssl"):
        pytest.skip("openssl is needed to make the test certificates")

    def run(*args, **kwargs):
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=folder, **kwargs)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
        "-subj", "/CN=LeadCRM test CA", "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "leaf.key", "-out", "leaf.csr", "-subj", f"/CN={name}")
    (folder / "leaf.ext").write_text(
        f"subjectAltName=DNS:{name}\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=serverAuth\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid,issuer\n")
    run("x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "leaf.pem",
        "-days", "2", "-extfile", "leaf.ext")
    return str(folder / "ca.pem"), str(folder / "leaf.pem"), str(folder / "leaf.key")


def test_tls_to_the_checked_address_still_names_and_verifies_the_host(
        broker, lead, agent, fast_timeouts, monkeypatch, tmp_path):
    """Connected to the address, TLS still asks for the name (SNI) and checks the
    certificate against it: a certificate for another name is refused."""
    import requests.adapters

    from tests.support.webhook_receiver import WebhookReceiver

    ca, certificate, key = _certificates(tmp_path, "hooks.tls.test")
    monkeypatch.setattr(requests.adapters, "DEFAULT_CA_BUNDLE_PATH", ca)
    Resolver(monkeypatch, "hooks.tls.test", "127.0.0.1")
    receiver = WebhookReceiver().use_tls(certificate, key).start()
    try:
        port = receiver.server.server_address[1]
        endpoint_create(owner=broker, url=f"https://hooks.tls.test:{port}/in", events=["lead.stage_changed"])
        move(lead, agent)
        [delivery] = send_pending()
        assert delivery.status == DeliveryStatus.SUCCEEDED, delivery.attempt_log.get().error
        assert receiver.server_names == ["hooks.tls.test"]
        assert receiver.received[0].header("Host") == f"hooks.tls.test:{port}"
        # The same address under a name the certificate is not for: refused, nothing sent.
        Resolver(monkeypatch, "other.tls.test", "127.0.0.1")
        WebhookEndpoint.objects.update(url=f"https://other.tls.test:{port}/in")
        WebhookDelivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.PENDING,
                                                              next_attempt_at=timezone.now())
        [delivery] = send_pending()
        assert delivery.status == DeliveryStatus.RETRYING
        assert "certificate" in delivery.attempt_log.order_by("number").last().error.lower()
        assert receiver.server_names[-1] == "other.tls.test" and len(receiver.received) == 1
    finally:
        receiver.stop()


@pytest.mark.parametrize("url", [
    "http://hooks.example.com/x", "https://127.0.0.1/x", "https://10.1.2.3/x", "https://192.168.0.10/x",
    "https://169.254.169.254/latest/meta-data", "https://[::1]/x", "https://[fd00::1]/x", "https://localhost/x",
    "https://0.0.0.0/x", "https://[::ffff:127.0.0.1]/x", "ftp://example.com/x", "https://user:pw@203.0.113.1/x",
])
def test_private_and_plain_http_addresses_are_refused(url, settings, broker):
    settings.LEADCRM_WEBHOOKS_ALLOW_PRIVATE = False
    with pytest.raises(ValidationError) as refused:
        endpoint_create(owner=broker, url=url, events=["lead.created"])
    assert "url" in refused.value.message_dict


def test_a_public_https_address_is_accepted(settings, broker):
    settings.LEADCRM_WEBHOOKS_ALLOW_PRIVATE = False
    url_check("https://8.8.8.8/hooks")  # an address literal: no lookup needed
    with pytest.raises(ValidationError) as refused:
        url_check("http://8.8.8.8/hooks")
    assert refused.value.message_dict["url"] == [HTTPS_REQUIRED]


def test_an_address_turned_private_is_refused_when_sending(endpoint, receiver, lead, agent, settings):
    move(lead, agent)
    settings.LEADCRM_WEBHOOKS_ALLOW_PRIVATE = False
    [delivery] = send_pending()
    assert delivery.status == DeliveryStatus.RETRYING and not receiver.received
    assert "https" in delivery.attempt_log.get().error
    settings.LEADCRM_WEBHOOKS_ALLOW_PRIVATE = True
    with pytest.raises(ValidationError) as refused:
        settings.LEADCRM_WEBHOOKS_ALLOW_PRIVATE = False
        url_check("https://127.0.0.1:8443/x")
    assert refused.value.message_dict["url"] == [PRIVATE_ADDRESS.format(host="127.0.0.1", address="127.0.0.1")]


@pytest.mark.slow
def test_a_worker_sends_what_a_committed_change_queued(transactional_db, broker, lead, agent, fast_timeouts):
    """Through the real broker: the on-commit task reaches a worker, which sends it."""
    from celery.contrib.testing.worker import start_worker
    from django.db import connection

    from leadcrm.celery import app
    from tests.support.webhook_receiver import WebhookReceiver

    receiver = WebhookReceiver().start()
    try:
        endpoint = endpoint_create(owner=broker, url=receiver.url, events=["lead.stage_changed"])
        app.control.purge()
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=20):
            move(lead, agent)  # autocommit: queued at once
            [received] = receiver.wait_for(1, timeout=30)
            assert verify(endpoint.secret, received)
            deadline = time.monotonic() + 10
            while WebhookDelivery.objects.get().status != DeliveryStatus.SUCCEEDED and time.monotonic() < deadline:
                time.sleep(0.1)
            assert WebhookDelivery.objects.get().status == DeliveryStatus.SUCCEEDED
        connection.close()
    finally:
        receiver.stop()
