"""The every-minute sweep that starts plans: each trigger at frozen times, once per event,
an agent's automation on their own leads only, bounded runs, two sweeps at once."""

import threading
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from leads.models import LeadTag, Stage
from leads.services import lead_list_add
from pipeline.models import (
    EnrollmentSource,
    EnrollmentStatus,
    KeyDate,
    PlanAutomation,
    PlanEnrollment,
    StepAnchor,
    StepKind,
    TaskKind,
    TriggerKind,
)
from pipeline.plans import automations
from pipeline.plans.automations import automation_pause, automation_save, automations_run
from pipeline.plans.services import StepInput, enrollment_end, lead_enroll, plan_delete, plan_save
from pipeline.tasks import plan_automations_run

from ...leads.factories import ForeclosureRecordFactory, LeadFactory, LeadListFactory, LienFactory, TagFactory
from ..factories import LenderFileFactory, StageChangeFactory

START = datetime(2026, 11, 18, 20, 0, tzinfo=UTC)


def call_step(delay_days=0):
    return StepInput(kind=StepKind.TASK, task_kind=TaskKind.CALL, subject="Call [First Name]", delay_days=delay_days)


@pytest.fixture
def frozen():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.fixture
def plan(agent, frozen):
    return plan_save(actor=agent, name="Check in", steps=[call_step(), call_step(7)])


@pytest.fixture
def shared_plan(broker, frozen):
    return plan_save(actor=broker, name="Brokerage nurture", shared=True, steps=[call_step(), call_step(30)])


def automate(actor, plan, trigger, **fields):
    return automation_save(actor=actor, plan=plan, trigger=trigger, **fields)


def long_on(automation, days=120):
    """The automation as if switched on ``days`` ago: the quiet spells that reached their days
    since then count (one switched on today only counts spells that reach them from today)."""
    type(automation).objects.filter(pk=automation.pk).update(active_since=timezone.now() - timedelta(days=days))
    automation.refresh_from_db()
    return automation


def enter(lead, stage):
    """The lead moves to ``stage`` now, as the stage service records it (its entry rules
    are not what these tests are about)."""
    StageChangeFactory(lead=lead, from_stage=lead.stage, to_stage=stage)
    lead.stage, lead.stage_entered_at = stage, timezone.now()
    lead.save(update_fields=["stage", "stage_entered_at"])


def enrollments(automation):
    return list(PlanEnrollment.objects.filter(automation=automation).order_by("pk"))


# Stage entered ------------------------------------------------------------------------------


def test_a_lead_entering_the_stage_after_the_automation_is_switched_on_is_enrolled_once(agent, lead, plan, frozen):
    early = LeadFactory(assigned_agent=agent)
    enter(early, Stage.CONTACT)  # before it was switched on
    frozen.shift(timedelta(minutes=1))
    automation = automate(agent, plan, TriggerKind.STAGE_ENTERED, stage=Stage.CONTACT)
    frozen.shift(timedelta(hours=1))
    enter(lead, Stage.CONTACT)

    counts = automations_run()

    assert counts[automation.pk]["enrolled"] == 1
    (enrollment,) = enrollments(automation)
    assert enrollment.lead == lead and enrollment.source == EnrollmentSource.AUTOMATION
    assert enrollment.trigger_key == "stage:contact:20261118T210100"
    assert enrollment.status == EnrollmentStatus.ACTIVE and enrollment.enrolled_by is None
    frozen.shift(timedelta(minutes=1))
    assert automations_run()[automation.pk] == {"candidates": 0, "enrolled": 0, "skipped": 0, "failed": 0,
                                                "busy": False}
    automation.refresh_from_db()
    assert automation.last_run_at == timezone.now()


def test_a_lead_entering_the_stage_again_after_its_plan_ended_is_enrolled_again(agent, lead, plan, frozen):
    automation = automate(agent, plan, TriggerKind.STAGE_ENTERED, stage=Stage.CONTACT)
    frozen.shift(timedelta(hours=1))
    enter(lead, Stage.CONTACT)
    automations_run()
    (first,) = enrollments(automation)
    enrollment_end(enrollment=first, actor=agent)
    automations_run()
    assert len(enrollments(automation)) == 1  # the same entry: once
    frozen.shift(timedelta(days=1))
    enter(lead, Stage.LIST)
    enter(lead, Stage.CONTACT)

    automations_run()

    assert [e.trigger_key for e in enrollments(automation)] == [
        "stage:contact:20261118T210000", "stage:contact:20261119T210000"]


def test_an_entry_older_than_a_week_is_not_acted_on(agent, lead, plan, frozen):
    automation = automate(agent, plan, TriggerKind.STAGE_ENTERED, stage=Stage.CONTACT)
    frozen.shift(timedelta(hours=1))
    enter(lead, Stage.CONTACT)
    frozen.shift(automations.EVENT_FRESH_FOR + timedelta(minutes=1))  # the sweep was down all that time

    assert automations_run()[automation.pk]["candidates"] == 0


# Lists and tags ------------------------------------------------------------------------------


def test_a_lead_imported_into_the_list_is_enrolled_once_per_membership(agent, lead, plan, frozen):
    lead_list = LeadListFactory(created_by=agent)
    before = LeadFactory(assigned_agent=agent)
    lead_list_add(lead=before, lead_list=lead_list)
    frozen.shift(timedelta(minutes=1))
    automation = automate(agent, plan, TriggerKind.LIST_IMPORTED, lead_list=lead_list)
    frozen.shift(timedelta(minutes=5))
    membership = lead_list_add(lead=lead, lead_list=lead_list)

    automations_run()
    automations_run()

    (enrollment,) = enrollments(automation)
    assert enrollment.lead == lead
    assert enrollment.trigger_key == f"list:{lead_list.pk}:{membership.pk}"


def test_a_lead_tagged_after_the_automation_is_on_is_enrolled_once(agent, lead, plan, frozen):
    tag = TagFactory(name="Vacant")
    automation = automate(agent, plan, TriggerKind.TAG_ADDED, tag=tag)
    frozen.shift(timedelta(minutes=5))
    lead_tag = LeadTag.objects.create(lead=lead, tag=tag, added_by=agent)
    LeadTag.objects.create(lead=LeadFactory(assigned_agent=agent), tag=TagFactory(name="Other"), added_by=agent)

    automations_run()
    frozen.shift(timedelta(minutes=1))
    automations_run()

    (enrollment,) = enrollments(automation)
    assert enrollment.lead == lead and enrollment.trigger_key == f"tag:{tag.pk}:{lead_tag.pk}"


# Dates ---------------------------------------------------------------------------------------


def test_an_auction_within_the_days_enrolls_the_lead_and_a_farther_one_waits(agent, lead, plan, frozen):
    ForeclosureRecordFactory(lead=lead, auction_date=date(2026, 11, 28))  # ten days ahead
    later = LeadFactory(assigned_agent=agent)
    ForeclosureRecordFactory(lead=later, auction_date=date(2026, 12, 8))  # twenty days ahead
    automation = automate(agent, plan, TriggerKind.DATE_APPROACHING, date_kind=KeyDate.AUCTION, days=14)

    automations_run()

    assert [(e.lead, e.trigger_key) for e in enrollments(automation)] == [(lead, "auction:2026-11-28")]
    frozen.shift(timedelta(days=5))
    automations_run()
    assert len(enrollments(automation)) == 1  # Dec 8 is still fifteen days off
    frozen.shift(timedelta(days=1))
    automations_run()
    assert [e.trigger_key for e in enrollments(automation)] == ["auction:2026-11-28", "auction:2026-12-08"]


def test_the_nearest_auction_is_the_event_when_the_lead_has_two(agent, lead, plan, frozen):
    ForeclosureRecordFactory(lead=lead, auction_date=date(2026, 11, 30))
    ForeclosureRecordFactory(lead=lead, auction_date=date(2026, 11, 25), record_type="NTS")
    automation = automate(agent, plan, TriggerKind.DATE_APPROACHING, date_kind=KeyDate.AUCTION, days=14)

    automations_run()

    assert [e.trigger_key for e in enrollments(automation)] == ["auction:2026-11-25"]


def test_a_moved_auction_enrolls_again_only_after_the_previous_enrollment_ended(agent, lead, plan, frozen):
    record = ForeclosureRecordFactory(lead=lead, auction_date=date(2026, 11, 28))
    automation = automate(agent, plan, TriggerKind.DATE_APPROACHING, date_kind=KeyDate.AUCTION, days=14)
    automations_run()
    (first,) = enrollments(automation)
    enrollment_end(enrollment=first, actor=agent)
    automations_run()
    assert len(enrollments(automation)) == 1  # the same date: once, even after it ended

    record.auction_date = date(2026, 12, 1)  # postponed while a new plan for it... not yet running
    record.save()
    lead_enroll(lead=lead, plan=plan, actor=agent)  # the agent put the lead back in by hand
    automations_run()
    assert len(enrollments(automation)) == 1  # in the plan already: left alone

    hand = PlanEnrollment.objects.get(lead=lead, automation__isnull=True)
    enrollment_end(enrollment=hand, actor=agent)
    automations_run()
    assert [e.trigger_key for e in enrollments(automation)] == ["auction:2026-11-28", "auction:2026-12-01"]


def test_an_approval_deadline_counts_only_from_the_newest_letter_of_a_lender_file(agent, lead, plan, frozen):
    from pipeline.models import ApprovalLetter

    lender_file = LenderFileFactory(lien=LienFactory(lead=lead))
    ApprovalLetter.objects.create(lender_file=lender_file, issued_on=date(2026, 11, 1), expires_on=date(2026, 11, 25))
    ApprovalLetter.objects.create(lender_file=lender_file, issued_on=date(2026, 11, 10), expires_on=date(2027, 1, 20))
    other = LeadFactory(assigned_agent=agent)
    ApprovalLetter.objects.create(lender_file=LenderFileFactory(lien=LienFactory(lead=other)),
                                  issued_on=date(2026, 11, 2), expires_on=date(2026, 11, 27))
    automation = automate(agent, plan, TriggerKind.DATE_APPROACHING, date_kind=KeyDate.APPROVAL_EXPIRY, days=14)

    automations_run()

    assert [(e.lead, e.trigger_key) for e in enrollments(automation)] == [(other, "approval_expiry:2026-11-27")]


def test_a_filing_recorded_within_the_days_enrolls_the_lead(agent, lead, plan, frozen):
    ForeclosureRecordFactory(lead=lead, recording_date=date(2026, 11, 15))
    old = LeadFactory(assigned_agent=agent)
    ForeclosureRecordFactory(lead=old, recording_date=date(2026, 11, 1))
    automation = automate(agent, plan, TriggerKind.DATE_APPROACHING, date_kind=KeyDate.FILING, days=7)

    automations_run()

    assert [(e.lead, e.trigger_key) for e in enrollments(automation)] == [(lead, "filing:2026-11-15")]


# No contact ----------------------------------------------------------------------------------


def quiet(lead, days, *, stage_days=None):
    now = timezone.now()
    lead.last_contacted_at = now - timedelta(days=days)
    lead.stage_entered_at = now - timedelta(days=stage_days if stage_days is not None else days + 10)
    lead.save(update_fields=["last_contacted_at", "stage_entered_at"])


def test_a_lead_quiet_for_the_days_is_enrolled_once_per_quiet_spell(agent, lead, plan, frozen):
    quiet(lead, 31)
    talked = LeadFactory(assigned_agent=agent)
    quiet(talked, 29)
    automation = automate(agent, plan, TriggerKind.NO_CONTACT, days=30)
    long_on(automation)

    automations_run()
    (first,) = enrollments(automation)
    assert first.lead == lead and first.trigger_key == "quiet:20261018T200000"
    enrollment_end(enrollment=first, actor=agent)
    automations_run()
    assert {e.lead for e in enrollments(automation)} == {lead}  # the same spell: once

    frozen.shift(timedelta(days=1))
    assert {e.lead for e in enrollments(automation)} == {lead}
    automations_run()
    assert {e.lead for e in enrollments(automation)} == {lead, talked}  # its thirty days are up now
    quiet(lead, 0)  # a conversation: a new spell starts
    frozen.shift(timedelta(days=30, minutes=1))
    automations_run()
    assert [e.trigger_key for e in enrollments(automation) if e.lead == lead] == [
        "quiet:20261018T200000", "quiet:20261119T200000"]


def test_no_contact_in_a_stage_counts_from_the_later_of_the_entry_and_the_last_talk(agent, lead, plan, frozen):
    lead.stage = Stage.CONTACT
    lead.save(update_fields=["stage"])
    quiet(lead, 60, stage_days=20)  # talked to long ago, but in Contact for twenty days only
    in_list = LeadFactory(assigned_agent=agent)
    quiet(in_list, 60)
    automation = automate(agent, plan, TriggerKind.NO_CONTACT, days=30, stage=Stage.CONTACT)
    long_on(automation)

    automations_run()
    assert enrollments(automation) == []
    frozen.shift(timedelta(days=10))
    automations_run()
    assert [(e.lead, e.trigger_key) for e in enrollments(automation)] == [(lead, "quiet:20261029T200000")]


def test_switched_on_today_it_leaves_leads_long_quiet_alone(agent, lead, plan, frozen):
    quiet(lead, 200)  # quiet for months before the automation existed
    crossing = LeadFactory(assigned_agent=agent)
    quiet(crossing, 25)
    automation = automate(agent, plan, TriggerKind.NO_CONTACT, days=30)

    automations_run()
    assert enrollments(automation) == []
    frozen.shift(timedelta(days=5, minutes=1))
    automations_run()
    assert [e.lead for e in enrollments(automation)] == [crossing]


def test_a_never_contacted_lead_counts_from_when_it_came_in(agent, plan, frozen):
    fresh = LeadFactory(assigned_agent=agent)
    automation = automate(agent, plan, TriggerKind.NO_CONTACT, days=3)
    frozen.shift(timedelta(days=3))

    automations_run()

    assert [e.lead for e in enrollments(automation)] == [fresh]


# Whose leads ---------------------------------------------------------------------------------


def test_an_agents_automation_leaves_other_agents_leads_alone(agent, lead, other_lead, other_agent, plan,
                                                              shared_plan, broker, frozen):
    quiet(lead, 40)
    quiet(other_lead, 40)
    theirs = automate(agent, plan, TriggerKind.NO_CONTACT, days=30)
    long_on(theirs)
    ana_on_shared = automate(agent, shared_plan, TriggerKind.NO_CONTACT, days=30)
    long_on(ana_on_shared)
    brokerage_wide = automate(broker, shared_plan, TriggerKind.NO_CONTACT, days=35, shared=True)
    long_on(brokerage_wide)

    automations_run()

    assert [e.lead for e in enrollments(theirs)] == [lead]
    assert [e.lead for e in enrollments(ana_on_shared)] == [lead]
    # The lead is in the shared plan already (Ana's automation): only the other one joins it.
    assert [e.lead for e in enrollments(brokerage_wide)] == [other_lead]


def test_leads_not_in_the_funnel_without_an_agent_or_in_the_plan_are_left_out(agent, lead, plan, frozen):
    automation = automate(agent, plan, TriggerKind.NO_CONTACT, days=30)
    long_on(automation)
    dead = LeadFactory(assigned_agent=agent, stage=Stage.DEAD, dead_reason="other")
    erased = LeadFactory(assigned_agent=agent, erased_at=timezone.now())
    in_plan = LeadFactory(assigned_agent=agent)
    lead_enroll(lead=in_plan, plan=plan, actor=agent)
    unassigned = LeadFactory(assigned_agent=None)
    for each in (lead, dead, erased, in_plan, unassigned):
        quiet(each, 40)

    counts = automations_run()

    assert [e.lead for e in enrollments(automation)] == [lead]
    assert counts[automation.pk]["skipped"] == 0


def test_a_plan_counting_from_a_date_takes_only_leads_that_have_it(agent, lead, frozen):
    plan = plan_save(actor=agent, name="Pre-auction", key_date=KeyDate.AUCTION, steps=[
        StepInput(kind=StepKind.TASK, task_kind=TaskKind.CALL, subject="Call", anchor=StepAnchor.KEY_DATE,
                  delay_days=7)])
    ForeclosureRecordFactory(lead=lead, auction_date=date(2026, 12, 20))
    without = LeadFactory(assigned_agent=agent)
    quiet(lead, 40)
    quiet(without, 40)
    automation = automate(agent, plan, TriggerKind.NO_CONTACT, days=30)
    long_on(automation)

    counts = automations_run()

    assert [e.lead for e in enrollments(automation)] == [lead]
    assert counts[automation.pk] == {"candidates": 1, "enrolled": 1, "skipped": 0, "failed": 0, "busy": False}


def test_paused_automations_and_deleted_plans_start_nothing(agent, lead, plan, frozen):
    quiet(lead, 40)
    paused = automate(agent, plan, TriggerKind.NO_CONTACT, days=30)
    long_on(paused)
    automation_pause(automation=paused, actor=agent)
    doomed = plan_save(actor=agent, name="Doomed", steps=[call_step()])
    on_deleted = automate(agent, doomed, TriggerKind.NO_CONTACT, days=30)
    plan_delete(plan=doomed, actor=agent)
    PlanAutomation.objects.filter(pk=on_deleted.pk).update(is_active=True)  # even if switched back on by hand

    assert automations_run() == {}
    assert not PlanEnrollment.objects.exists()


def test_an_automation_pointing_at_another_agents_plan_starts_nothing(agent, other_agent, lead, frozen):
    quiet(lead, 40)
    theirs = plan_save(actor=other_agent, name="Ollie's", steps=[call_step()])
    # Not possible through automation_save: a row written some other way is still harmless.
    PlanAutomation.objects.create(plan=theirs, owner=agent, trigger=TriggerKind.NO_CONTACT, days=30)

    assert automations_run() == {}


# Bounded and concurrent ----------------------------------------------------------------------


def test_a_big_backlog_is_taken_oldest_first_a_bounded_batch_a_minute(agent, plan, frozen, monkeypatch):
    monkeypatch.setattr(automations, "PER_RUN", 2)
    leads = [LeadFactory(assigned_agent=agent) for _ in range(3)]
    for days, each in zip((50, 40, 45), leads, strict=True):
        quiet(each, days)
    automation = automate(agent, plan, TriggerKind.NO_CONTACT, days=30)
    long_on(automation)

    assert automations_run()[automation.pk]["enrolled"] == 2
    assert [e.lead for e in enrollments(automation)] == [leads[0], leads[2]]
    assert automations_run()[automation.pk]["enrolled"] == 1
    assert automations_run()[automation.pk]["enrolled"] == 0


def test_the_celery_task_runs_the_sweep(agent, lead, plan, frozen):
    quiet(lead, 40)
    automation = automate(agent, plan, TriggerKind.NO_CONTACT, days=30)
    long_on(automation)

    assert plan_automations_run()[automation.pk]["enrolled"] == 1


def test_a_sweep_finding_its_batch_locked_leaves_it_to_the_other(agent, lead, plan, frozen, monkeypatch):
    quiet(lead, 40)
    automation = automate(agent, plan, TriggerKind.NO_CONTACT, days=30)
    long_on(automation)
    # What the other sweep's lock looks like from here: the row cannot be taken.
    real = PlanAutomation.objects.select_for_update

    def held(**kwargs):
        return real(**kwargs).none()

    monkeypatch.setattr(PlanAutomation.objects, "select_for_update", held)
    assert automations_run()[automation.pk] == {"candidates": 1, "enrolled": 0, "skipped": 0, "failed": 0,
                                                "busy": True}


@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_enroll_each_lead_once(agent, plan, frozen):
    leads = [LeadFactory(assigned_agent=agent) for _ in range(30)]
    for each in leads:
        quiet(each, 40)
    automation = automate(agent, plan, TriggerKind.NO_CONTACT, days=30)
    long_on(automation)
    results, errors = [], []
    barrier = threading.Barrier(2)

    def sweep():
        try:
            barrier.wait()
            results.append(automations_run()[automation.pk])
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sum(result["enrolled"] for result in results) == 30
    assert PlanEnrollment.objects.filter(automation=automation).count() == 30
    assert PlanEnrollment.objects.filter(automation=automation).values("lead").distinct().count() == 30


def test_one_event_enrolls_once_even_when_the_open_enrollment_check_is_passed_twice(agent, lead, plan, frozen):
    """The last word is the database's: a second insert for the same event fails and is
    counted as skipped, never a second enrollment."""
    quiet(lead, 40)
    automation = automate(agent, plan, TriggerKind.NO_CONTACT, days=30)
    long_on(automation)
    automations_run()
    (enrollment,) = enrollments(automation)
    enrollment_end(enrollment=enrollment, actor=agent)
    # A sweep that read its candidates before the enrollment above was written.
    run = automations.AutomationRun()
    automations._enroll(run, automation=automation, lead=lead, key=enrollment.trigger_key, now=timezone.now())

    assert (run.enrolled, run.skipped) == (0, 1)
    assert len(enrollments(automation)) == 1
