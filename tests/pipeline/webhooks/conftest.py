import pytest

from pipeline.models import DeliveryStatus, WebhookDelivery
from pipeline.webhooks.delivery import delivery_send
from pipeline.webhooks.services import endpoint_create
from tests.support.webhook_receiver import WebhookReceiver

ALL_EVENTS = ["lead.created", "lead.stage_changed", "outreach.logged", "follow_up.due", "document.received"]


@pytest.fixture
def receiver():
    standin = WebhookReceiver().start()
    yield standin
    standin.stop()


@pytest.fixture
def fast_timeouts(settings):
    settings.LEADCRM_WEBHOOKS_CONNECT_TIMEOUT = 0.5
    settings.LEADCRM_WEBHOOKS_TIMEOUT = 1.0


@pytest.fixture
def endpoint(broker, receiver, fast_timeouts):
    return endpoint_create(owner=broker, url=receiver.url, description="The team's sheet", events=ALL_EVENTS)


def send_pending() -> list[WebhookDelivery]:
    """What a worker would do with the deliveries waiting now."""
    sent = []
    for pk in WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING).order_by("pk").values_list("pk", flat=True):
        sent.append(delivery_send(delivery_id=pk))
    return sent
