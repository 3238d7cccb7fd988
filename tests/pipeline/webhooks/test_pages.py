"""The broker's webhook pages: who may open them, the secret, the log and its queries."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from pipeline.models import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent
from pipeline.webhooks.addresses import HTTPS_REQUIRED
from pipeline.webhooks.services import endpoint_create, endpoint_disable

from ...leadcrm.factories import BrokerFactory
from .conftest import ALL_EVENTS, send_pending


def pages(endpoint):
    return [reverse("webhooks:list"), reverse("webhooks:add"), reverse("webhooks:detail", args=[endpoint.pk]),
            reverse("webhooks:edit", args=[endpoint.pk])]


def posts(endpoint, delivery):
    return [reverse(f"webhooks:{name}", args=[endpoint.pk]) for name in ("reveal", "rotate", "ping", "enable",
                                                                        "disable")] + [
        reverse("webhooks:redeliver", args=[delivery.pk])]


@pytest.fixture
def delivery(endpoint, lead):
    return WebhookDelivery.objects.create(endpoint=endpoint, event=WebhookEvent.LEAD_CREATED, event_key="k", lead=lead,
                                          occurred_at=timezone.now(), created_at=timezone.now(),
                                          status=DeliveryStatus.GIVEN_UP)


def test_anonymous_is_sent_to_sign_in(client_as, endpoint, delivery):
    for url in pages(endpoint) + posts(endpoint, delivery):
        response = client_as(None).post(url) if url in posts(endpoint, delivery) else client_as(None).get(url)
        assert response.status_code == 302 and "/login/" in response["Location"], url


def test_agents_and_team_leads_are_refused(client_as, agent, team_lead, endpoint, delivery):
    for user in (agent, team_lead):
        client = client_as(user)
        for url in pages(endpoint):
            assert client.get(url).status_code == 403, url
        for url in posts(endpoint, delivery):
            assert client.post(url).status_code == 403, url
    endpoint.refresh_from_db()
    assert endpoint.is_active and WebhookDelivery.objects.get().status == DeliveryStatus.GIVEN_UP


def test_another_brokers_endpoint_is_a_404(client_as, endpoint, delivery):
    other = client_as(BrokerFactory())
    for url in pages(endpoint)[2:]:
        assert other.get(url).status_code == 404, url
    for url in posts(endpoint, delivery):
        assert other.post(url).status_code == 404, url
    assert endpoint.url not in other.get(reverse("webhooks:list")).content.decode()


def test_the_broker_adds_an_endpoint_and_sees_its_secret_once_then_on_demand(client_as, broker, receiver):
    client = client_as(broker)
    response = client.post(reverse("webhooks:add"), {"url": receiver.url, "description": "Zapier",
                                                     "events": ["lead.created", "follow_up.due"]})
    endpoint = WebhookEndpoint.objects.get()
    assert response["Location"] == reverse("webhooks:detail", args=[endpoint.pk])
    assert endpoint.owner == broker and endpoint.events == ["lead.created", "follow_up.due"]
    first = client.get(response["Location"]).content.decode()
    assert endpoint.secret in first
    again = client.get(response["Location"]).content.decode()
    assert endpoint.secret not in again and endpoint.secret[-4:] in again  # masked
    client.post(reverse("webhooks:reveal", args=[endpoint.pk]))
    assert endpoint.secret in client.get(response["Location"]).content.decode()
    old = endpoint.secret
    client.post(reverse("webhooks:rotate", args=[endpoint.pk]))
    endpoint.refresh_from_db()
    assert endpoint.secret != old
    assert endpoint.secret in client.get(response["Location"]).content.decode()


def test_a_bad_address_is_explained_and_nothing_saved(client_as, broker, settings):
    settings.LEADCRM_WEBHOOKS_ALLOW_PRIVATE = False
    response = client_as(broker).post(reverse("webhooks:add"), {"url": "http://hooks.example.com/x",
                                                                "events": ["lead.created"]})
    assert response.status_code == 200 and HTTPS_REQUIRED in response.content.decode()
    response = client_as(broker).post(reverse("webhooks:add"), {"url": "https://8.8.8.8/x", "events": []})
    assert "Pick at least one event to send." in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_the_broker_edits_pings_disables_and_re_enables(client_as, broker, endpoint, receiver):
    client = client_as(broker)
    client.post(reverse("webhooks:edit", args=[endpoint.pk]), {"url": receiver.url + "/v2", "description": "New",
                                                              "events": ["lead.stage_changed"]})
    endpoint.refresh_from_db()
    assert endpoint.url.endswith("/v2") and endpoint.events == ["lead.stage_changed"]
    client.post(reverse("webhooks:ping", args=[endpoint.pk]))
    ping = WebhookDelivery.objects.get(event=WebhookEvent.PING)
    send_pending()
    assert receiver.wait_for(1)[0].header("X-LeadCRM-Event") == "ping"
    ping.refresh_from_db()
    assert ping.status == DeliveryStatus.SUCCEEDED
    client.post(reverse("webhooks:disable", args=[endpoint.pk]))
    endpoint.refresh_from_db()
    assert not endpoint.is_active and "Dana Broker" in endpoint.disabled_reason
    page = client.get(reverse("webhooks:detail", args=[endpoint.pk])).content.decode()
    assert "Re-enable" in page
    client.post(reverse("webhooks:enable", args=[endpoint.pk]))
    endpoint.refresh_from_db()
    assert endpoint.is_active


def test_a_failed_delivery_is_sent_again_from_the_log(client_as, broker, delivery, receiver):
    response = client_as(broker).post(reverse("webhooks:redeliver", args=[delivery.pk]))
    assert response.status_code == 302
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING
    send_pending()
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED
    # Delivered: not offered again, and refused if asked.
    client_as(broker).post(reverse("webhooks:redeliver", args=[delivery.pk]))
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED and len(receiver.received) == 1


def _deliveries(endpoint, lead, count):
    now = timezone.now()
    made = WebhookDelivery.objects.bulk_create([
        WebhookDelivery(endpoint=endpoint, event=WebhookEvent.LEAD_STAGE_CHANGED, event_key=f"n{count}-{i}", lead=lead,
                        occurred_at=now, created_at=now, status=DeliveryStatus.RETRYING, attempts=2,
                        next_attempt_at=now) for i in range(count)])
    WebhookAttempt.objects.bulk_create([
        WebhookAttempt(delivery=d, number=n, started_at=now, duration_ms=12, status_code=500, response_excerpt="no")
        for d in made for n in (1, 2)])


def test_the_delivery_log_and_the_list_take_the_same_queries_for_3_or_26_deliveries(client_as, broker, endpoint, lead):
    client = client_as(broker)
    detail = reverse("webhooks:detail", args=[endpoint.pk])
    endpoint_create(owner=broker, url=endpoint.url + "/2", events=ALL_EVENTS)
    _deliveries(endpoint, lead, 3)
    client.get(detail)
    client.get(reverse("webhooks:list"))
    counts = {}
    for size in (3, 26):
        if size == 26:
            _deliveries(endpoint, lead, 23)
        for url in (detail, reverse("webhooks:list")):
            with CaptureQueriesContext(connection) as queries:
                response = client.get(url)
            assert response.status_code == 200
            counts[(size, url)] = len(queries)
    assert counts[(3, detail)] == counts[(26, detail)]
    assert counts[(3, reverse("webhooks:list"))] == counts[(26, reverse("webhooks:list"))]
    assert counts[(26, detail)] <= 12
    page = client.get(detail).content.decode()
    assert page.count('id="delivery-') == 25 and "1 of 2" in page


def test_a_disabled_endpoint_shows_why(client_as, broker, endpoint):
    endpoint_disable(endpoint=endpoint, reason="5 deliveries in a row failed every retry (the last: HTTP 500).")
    page = client_as(broker).get(reverse("webhooks:list")).content.decode()
    assert "Disabled" in page and "5 deliveries in a row failed" in page


def test_the_account_menu_offers_webhooks_to_brokers_only(client_as, broker, agent, team_lead):
    link = f'href="{reverse("webhooks:list")}"'
    assert link in client_as(broker).get(reverse("pipeline:dashboard")).content.decode()
    for user in (agent, team_lead):
        assert link not in client_as(user).get(reverse("pipeline:dashboard")).content.decode()
