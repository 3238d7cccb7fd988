"""The web bench's brokerage is a working one (bench/generate.py ``brokerage_make_working``):
the gate lets its agents' calls through, so the call queue's figures measure callable
leads, not refusals (docs/compliance-rules.md#batched-reads)."""

from datetime import UTC, datetime

import pytest
import time_machine

from bench.generate import LISTED_PER_MILLE, brokerage_make_working, generate_brokerage
from compliance.models import DncNumber, PolicyAcknowledgement
from leadcrm.accounts.models import User
from leads.models import Phone
from pipeline.outreach.queue import call_queue

pytestmark = pytest.mark.django_db(transaction=False)

# Monday 7 December 2026, 18:00 UTC: 1 p.m. in New York, 10 a.m. in Los Angeles.
AFTERNOON = datetime(2026, 12, 7, 18, 0, tzinfo=UTC)


def test_the_bench_brokerage_lets_its_agents_call():
    with time_machine.travel(AFTERNOON, tick=False):
        generate_brokerage(300)
        agent = User.objects.filter(username__startswith="bench.agent").order_by("pk").first()
        queue = call_queue(user=agent, size=25)
    assert queue.entries and not queue.blocked
    assert User.objects.count() == PolicyAcknowledgement.objects.count()  # every user, once
    share = Phone.objects.filter(on_dnc_list=True).count() / Phone.objects.count()
    assert 0.5 * LISTED_PER_MILLE / 1000 < share < 2 * LISTED_PER_MILLE / 1000
    assert DncNumber.objects.exists()


def test_making_it_working_again_is_cheap_and_changes_nothing():
    with time_machine.travel(AFTERNOON, tick=False):
        generate_brokerage(50)
        again = brokerage_make_working()
    assert again["acknowledged"] == 0 and again["listed"] == 0
