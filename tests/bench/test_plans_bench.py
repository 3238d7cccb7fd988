"""The action plans bench's own checks (bench/plans.py), at a tiny scale and without its
workers: where it puts the homeowners, that the gate sees the brokerage as built, and that
its counts see each step run once and would see a lead texted twice
(docs/action-plans.md#exactly-once)."""

import random
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from bench import plans as bench
from pipeline.messaging.services import text_send
from pipeline.models import PlanEnrollment
from pipeline.plans.runner import due_work, steps_run


def test_the_homeowners_go_where_the_calling_hours_stay_open_longest():
    # 05:30 UTC: 19:30 in Honolulu, every zone east of it already closed.
    place = bench.place_for(datetime(2026, 12, 7, 5, 30, tzinfo=UTC), needed=timedelta(minutes=30))
    assert place.zone == "Pacific/Honolulu"
    # 12:30 UTC: 8:30 in San Juan, 7:30 in Albany; at 13:00 Albany's day is the longer.
    place = bench.place_for(datetime(2026, 12, 7, 12, 30, tzinfo=UTC), needed=timedelta(minutes=30))
    assert place.zone == "America/Puerto_Rico"
    place = bench.place_for(datetime(2026, 12, 7, 13, 0, tzinfo=UTC), needed=timedelta(minutes=30))
    assert place.zone == "America/New_York"


def test_no_zone_in_calling_hours_is_said_rather_than_measured():
    with pytest.raises(RuntimeError, match="no US time zone"):
        bench.place_for(datetime(2026, 12, 7, 9, 0, tzinfo=UTC), needed=timedelta(minutes=10))
    with pytest.raises(RuntimeError, match="no US time zone"):  # Honolulu closes at 21:00, in 20 minutes
        bench.place_for(datetime(2026, 12, 7, 6, 40, tzinfo=UTC), needed=timedelta(minutes=30))


@pytest.fixture
def built():
    now = timezone.now()
    place = bench.place_for(now, needed=timedelta(minutes=30))
    return bench.build(leads=40, profiled=5, place=place, rng=random.Random(3), now=now)


@pytest.mark.django_db
def test_the_gate_sees_the_brokerage_as_built(built):
    assert bench.gate_sample(built, at=timezone.now()) == []
    assert len(built.enrollment_ids) == 40 and len(built.profiled_ids) == 5
    assert built.sendable and built.no_consent and built.stopped


@pytest.mark.django_db
def test_the_dispatcher_finds_the_measured_enrollments_and_the_checks_count_each_once(built):
    work = due_work()
    assert sorted(pk for batch in work.batches for pk in batch) == built.enrollment_ids

    for batch in work.batches:  # twice, as the bench dispatches them
        steps_run(batch)
        steps_run(batch)

    found = bench.checks(built)
    sent = len(built.sendable & set(built.enrollment_ids))
    assert found["wrong"] == [] and found["runs_twice"] == 0 and found["attempts_twice"] == 0
    assert found["first"] == {"sent": sent, "skipped": 40 - sent}
    assert found["attempts"] == found["messages"] == sent and found["attempts_without_one_message"] == 0
    assert found["next_timed"] == 40
    assert found["ended_texts"] == len(built.stopped & set(built.enrollment_ids))


@pytest.mark.django_db
def test_the_checks_see_a_lead_texted_twice(built):
    for batch in due_work().batches:
        steps_run(batch)
    enrollment = PlanEnrollment.objects.select_related("lead__assigned_agent").get(pk=min(built.sendable))
    lead = enrollment.lead
    text_send(lead=lead, phone=lead.contacts.get().phones.get(), body=bench.TEXT_NOW.replace(
        "[First Name]", "Owner").replace("[Agent Name]", lead.assigned_agent.get_full_name()).replace(
        "[Brokerage]", bench.BROKERAGE), actor=lead.assigned_agent, role_disclosed=True)

    found = bench.checks(built)

    assert found["attempts_twice"] == 1 and found["attempts"] == found["first"]["sent"] + 1
    assert found["runs_twice"] == 0 and found["wrong"] == []
