"""A homeowner's STOP is never lost to a request that dies between taking the text in and
filing it: the replay (or the sweep) a minute on files it, once."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from compliance.models import InternalDncEntry
from pipeline.messaging import services
from pipeline.messaging.providers.base import InboundText
from pipeline.messaging.services import inbound_text_receive, messages_sweep
from pipeline.models import InboxState, Message, OutreachAttempt


def stop_from(phone, sid="SMdied1"):
    return InboundText(provider_id=sid, from_number=phone.number, to_number="+15005550006", body="STOP",
                       received_at=timezone.now())


@pytest.fixture
def dying_filer(monkeypatch):
    """The first filing dies (a worker killed, a deadlock) after the text was taken in."""
    real = services.inbound_route

    def die(message):
        raise RuntimeError("worker killed")

    monkeypatch.setattr(services, "inbound_route", die)
    return lambda: monkeypatch.setattr(services, "inbound_route", real)


def test_a_replay_a_minute_later_files_what_a_dead_request_left(lead, textable, local_provider, dying_filer):
    with pytest.raises(RuntimeError):
        inbound_text_receive(provider="local", inbound=stop_from(textable))
    left = Message.objects.get(provider_id="SMdied1")
    assert left.inbox_state == InboxState.PENDING
    assert not InternalDncEntry.objects.exists()
    dying_filer()  # the worker is back

    # a replay at once: the first request may still be working; nothing is done twice
    inbound_text_receive(provider="local", inbound=stop_from(textable))
    assert not InternalDncEntry.objects.exists()

    with time_machine.travel(timezone.now() + timedelta(seconds=61), tick=False):
        message = inbound_text_receive(provider="local", inbound=stop_from(textable))
        again = inbound_text_receive(provider="local", inbound=stop_from(textable))

    assert message.pk == again.pk == left.pk
    message.refresh_from_db()
    assert message.inbox_state == InboxState.FILED and message.lead == lead
    assert InternalDncEntry.objects.filter(phone_number=textable.number).count() == 1
    assert OutreachAttempt.objects.filter(direction="inbound").count() == 1


def test_the_sweep_files_it_when_no_replay_comes(lead, textable, local_provider, dying_filer):
    with pytest.raises(RuntimeError):
        inbound_text_receive(provider="local", inbound=stop_from(textable, sid="SMdied2"))
    dying_filer()

    assert messages_sweep()["refiled"] == 0  # too soon: its request may still be at work
    result = messages_sweep(now=timezone.now() + timedelta(minutes=2))

    assert result["refiled"] == 1
    assert InternalDncEntry.objects.filter(phone_number=textable.number).count() == 1
    assert messages_sweep(now=timezone.now() + timedelta(minutes=3))["refiled"] == 0
