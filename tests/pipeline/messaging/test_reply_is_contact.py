"""A homeowner's reply counts as contact for the follow-ups (docs/messaging.md): the lead's
last contact moves, and the "nobody has talked to them" reminder closes."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from leads.models import Lead, Stage
from pipeline.messaging.providers.base import InboundText
from pipeline.messaging.services import inbound_text_receive
from pipeline.models import FollowUp, FollowUpSource
from pipeline.reminders.rules import follow_ups_generate

pytestmark = pytest.mark.django_db


def test_a_texted_reply_is_contact_and_closes_the_stale_lead_reminder(lead, agent, textable, local_provider):
    # given a lead nobody has talked to for eight days, and the reminder to call it
    Lead.objects.filter(pk=lead.pk).update(stage=Stage.CONTACT, stage_entered_at=timezone.now() - timedelta(days=8),
                                           last_contacted_at=None)
    follow_ups_generate()
    stale = FollowUp.objects.get(lead=lead, source=FollowUpSource.STALE_LEAD)

    # when the homeowner texts back
    with time_machine.travel(timezone.now() + timedelta(minutes=1), tick=True):
        inbound = inbound_text_receive(provider="local", inbound=InboundText(
            provider_id="SMreply1", from_number=textable.number, to_number="+15005550006",
            body="Yes, call me after 5", received_at=timezone.now()))
    with time_machine.travel(timezone.now() + timedelta(minutes=5), tick=True):
        follow_ups_generate()

    # then it is the lead's last contact, and the reminder is closed
    lead.refresh_from_db()
    stale.refresh_from_db()
    assert inbound.lead == lead and inbound.attempt is not None
    assert lead.last_contacted_at == inbound.attempt.occurred_at
    assert stale.done_at is not None
