import pytest
from django.utils import timezone

from compliance.models import InternalDncEntry
from pipeline.messaging.providers.base import InboundText
from pipeline.messaging.services import inbound_text_receive, message_deliver, text_send
from pipeline.models import MessageStatus
from pipeline.outreach.services import OutreachBlocked


def test_text_stop_then_refused(lead, agent, textable, local_provider):
    message = text_send(lead=lead, phone=textable, body="Hi, this is Ana with Sunbelt Test Realty", actor=agent, role_disclosed=True)
    assert message.status == MessageStatus.QUEUED
    message = message_deliver(message_id=message.pk)
    assert message.status == MessageStatus.DELIVERED
    inbound = inbound_text_receive(provider="local", inbound=InboundText(
        provider_id="SM1", from_number=textable.number, to_number=message.from_address, body="STOP",
        received_at=timezone.now()))
    assert inbound.lead == lead and inbound.keyword == "stop"
    assert InternalDncEntry.objects.filter(phone_number=textable.number).exists()
    with pytest.raises(OutreachBlocked) as blocked:
        text_send(lead=lead, phone=textable, body="Hi again, Ana at Sunbelt Test Realty", actor=agent, role_disclosed=True)
    assert "B1" in blocked.value.decision.rule_ids
