"""Saving, pausing and deleting automations: what each trigger needs, whose plan and leads
it may use, and when it starts counting; and what each does, in words."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError

from leads.models import Stage
from pipeline.models import KeyDate, PlanAutomation, StepKind, TaskKind, TriggerKind
from pipeline.plans import automations
from pipeline.plans.automations import (
    automation_delete,
    automation_pause,
    automation_resume,
    automation_save,
    automation_words,
)
from pipeline.plans.services import StepInput, lead_enroll, plan_delete, plan_save

from ...leads.factories import LeadListFactory, TagFactory

START = datetime(2026, 11, 18, 20, 0, tzinfo=UTC)


def call_step():
    return StepInput(kind=StepKind.TASK, task_kind=TaskKind.CALL, subject="Call [First Name]")


@pytest.fixture
def frozen():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.fixture
def plan(agent):
    return plan_save(actor=agent, name="Check in", steps=[call_step()])


@pytest.fixture
def shared_plan(broker):
    return plan_save(actor=broker, name="Brokerage nurture", shared=True, steps=[call_step()])


def refusal(**kwargs) -> dict:
    with pytest.raises(ValidationError) as caught:
        automation_save(**kwargs)
    error = caught.value
    return error.message_dict if hasattr(error, "error_dict") else {None: error.messages}


# What each trigger needs -----------------------------------------------------------------------


def test_a_stage_trigger_needs_a_funnel_stage(agent, plan):
    assert refusal(actor=agent, plan=plan, trigger=TriggerKind.STAGE_ENTERED) == {"stage": [automations.STAGE_NEEDED]}
    assert refusal(actor=agent, plan=plan, trigger=TriggerKind.STAGE_ENTERED, stage=Stage.CLOSED) == {
        "stage": [automations.STAGE_UNKNOWN]}


def test_a_stage_outside_the_plans_stages_is_refused_with_the_plans_stages(agent):
    plan = plan_save(actor=agent, name="Qualified sellers", stages=[Stage.QUALIFY, Stage.NEGOTIATE],
                     steps=[call_step()])

    errors = refusal(actor=agent, plan=plan, trigger=TriggerKind.STAGE_ENTERED, stage=Stage.CONTACT)

    assert errors == {"stage": [automations.STAGE_OUTSIDE_PLAN.format(
        plan="Qualified sellers", stages="Qualify, Negotiate", stage="Contact")]}


def test_a_list_trigger_needs_a_list_the_user_may_see(agent, other_agent, lead, plan):
    theirs = LeadListFactory(created_by=other_agent, name="Ollie's pull")
    mine = LeadListFactory(created_by=agent, name="My pull")
    from leads.services import lead_list_add

    seen = LeadListFactory(name="County NOD")
    lead_list_add(lead=lead, lead_list=seen)

    assert refusal(actor=agent, plan=plan, trigger=TriggerKind.LIST_IMPORTED) == {"lead_list": [automations.LIST_NEEDED]}
    assert refusal(actor=agent, plan=plan, trigger=TriggerKind.LIST_IMPORTED, lead_list=theirs) == {
        "lead_list": [automations.LIST_NEEDED]}
    for lead_list in (mine, seen):
        saved = automation_save(actor=agent, plan=plan, trigger=TriggerKind.LIST_IMPORTED, lead_list=lead_list)
        assert saved.lead_list == lead_list


def test_a_tag_trigger_needs_a_tag_the_user_may_use(agent, other_team, team, plan):
    assert refusal(actor=agent, plan=plan, trigger=TriggerKind.TAG_ADDED,
                   tag=TagFactory(team=other_team)) == {"tag": [automations.TAG_NEEDED]}
    assert automation_save(actor=agent, plan=plan, trigger=TriggerKind.TAG_ADDED, tag=TagFactory(team=team)).tag


@pytest.mark.parametrize("days", [None, 0, 366, "many"])
def test_days_must_be_one_to_365(agent, plan, days):
    assert refusal(actor=agent, plan=plan, trigger=TriggerKind.NO_CONTACT, days=days) == {
        "days": [automations.DAYS_RANGE]}
    assert refusal(actor=agent, plan=plan, trigger=TriggerKind.DATE_APPROACHING, date_kind=KeyDate.AUCTION,
                   days=days) == {"days": [automations.DAYS_RANGE]}


def test_a_date_trigger_needs_which_date(agent, plan):
    assert refusal(actor=agent, plan=plan, trigger=TriggerKind.DATE_APPROACHING, days=14) == {
        "date_kind": [automations.DATE_KIND_NEEDED]}


def test_only_the_fields_the_trigger_needs_are_kept(agent, plan, team):
    saved = automation_save(actor=agent, plan=plan, trigger=TriggerKind.DATE_APPROACHING, date_kind=KeyDate.AUCTION,
                            days=14, stage=Stage.CONTACT, tag=TagFactory(team=team))

    assert (saved.stage, saved.tag, saved.date_kind, saved.days) == ("", None, KeyDate.AUCTION, 14)


def test_an_unknown_trigger_is_refused(agent, plan):
    assert refusal(actor=agent, plan=plan, trigger="moon_phase") == {"trigger": [automations.TRIGGER_NEEDED]}


# Whose plan, whose leads ------------------------------------------------------------------------


def test_an_agent_cannot_point_an_automation_at_another_agents_plan(agent, other_agent):
    theirs = plan_save(actor=other_agent, name="Ollie's", steps=[call_step()])

    assert refusal(actor=agent, plan=theirs, trigger=TriggerKind.NO_CONTACT, days=30) == {
        None: [automations.PLAN_NOT_USABLE]}


def test_an_agent_may_start_a_shared_plan_on_their_own_leads_but_not_on_every_lead(agent, shared_plan):
    own = automation_save(actor=agent, plan=shared_plan, trigger=TriggerKind.NO_CONTACT, days=30)
    assert own.owner == agent

    assert refusal(actor=agent, plan=shared_plan, trigger=TriggerKind.NO_CONTACT, days=30, shared=True) == {
        None: [automations.SHARED_NEEDS_BROKER]}


def test_a_brokerage_wide_automation_starts_a_shared_plan_only(broker):
    own_plan = plan_save(actor=broker, name="Dana's own", steps=[call_step()])

    assert refusal(actor=broker, plan=own_plan, trigger=TriggerKind.NO_CONTACT, days=30, shared=True) == {
        None: [automations.SHARED_NEEDS_SHARED_PLAN]}


def test_a_deleted_plan_takes_no_automation(agent, plan):
    plan_delete(plan=plan, actor=agent)
    plan.refresh_from_db()

    assert refusal(actor=agent, plan=plan, trigger=TriggerKind.NO_CONTACT, days=30) == {
        None: [automations.PLAN_DELETED]}


def test_only_the_owner_changes_their_automation_and_only_a_broker_a_shared_one(agent, other_agent, broker,
                                                                                  shared_plan):
    mine = automation_save(actor=agent, plan=shared_plan, trigger=TriggerKind.NO_CONTACT, days=30)
    brokerage = automation_save(actor=broker, plan=shared_plan, trigger=TriggerKind.NO_CONTACT, days=60, shared=True)

    with pytest.raises(ValidationError, match=automations.NOT_YOURS):
        automation_save(actor=other_agent, plan=shared_plan, automation=mine, trigger=TriggerKind.NO_CONTACT, days=5)
    for service in (automation_pause, automation_delete):
        with pytest.raises(ValidationError, match=automations.SHARED_CHANGED_BY_BROKER):
            service(automation=brokerage, actor=agent)
    automation_pause(automation=brokerage, actor=broker)


# When it starts counting ---------------------------------------------------------------------------


def test_changing_what_it_listens_for_counts_from_the_change_and_a_rename_does_not(agent, plan, frozen):
    saved = automation_save(actor=agent, plan=plan, trigger=TriggerKind.STAGE_ENTERED, stage=Stage.CONTACT)
    assert saved.active_since == START and saved.created_by == agent
    frozen.shift(timedelta(days=1))
    renamed = automation_save(actor=agent, plan=plan, automation=saved, trigger=TriggerKind.STAGE_ENTERED,
                              stage=Stage.CONTACT, name="New contacts")
    assert renamed.active_since == START and renamed.name == "New contacts"
    frozen.shift(timedelta(days=1))
    moved = automation_save(actor=agent, plan=plan, automation=saved, trigger=TriggerKind.STAGE_ENTERED,
                            stage=Stage.QUALIFY)
    assert moved.active_since == START + timedelta(days=2)


def test_a_paused_automation_switched_on_again_counts_from_then(agent, plan, frozen):
    saved = automation_save(actor=agent, plan=plan, trigger=TriggerKind.TAG_ADDED, tag=TagFactory())
    automation_pause(automation=saved, actor=agent)
    with pytest.raises(ValidationError, match=automations.ALREADY_OFF):
        automation_pause(automation=saved, actor=agent)
    frozen.shift(timedelta(hours=3))

    resumed = automation_resume(automation=saved, actor=agent)

    assert resumed.is_active and resumed.active_since == START + timedelta(hours=3)
    with pytest.raises(ValidationError, match=automations.ALREADY_ON):
        automation_resume(automation=saved, actor=agent)


def test_deleting_an_automation_keeps_the_leads_it_started_in_the_plan(agent, lead, plan):
    saved = automation_save(actor=agent, plan=plan, trigger=TriggerKind.NO_CONTACT, days=30)
    enrollment = lead_enroll(lead=lead, plan=plan, actor=None, source="automation", automation=saved,
                             trigger_key="quiet:x")

    automation_delete(automation=saved, actor=agent)

    enrollment.refresh_from_db()
    assert not PlanAutomation.objects.exists()
    assert enrollment.is_open and enrollment.automation is None and enrollment.source == "automation"


# In words -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("fields", "words"), [
    ({"trigger": TriggerKind.STAGE_ENTERED, "stage": Stage.QUALIFY}, "When a lead enters Qualify"),
    ({"trigger": TriggerKind.DATE_APPROACHING, "date_kind": KeyDate.AUCTION, "days": 14},
     "14 days before the auction"),
    ({"trigger": TriggerKind.DATE_APPROACHING, "date_kind": KeyDate.APPROVAL_EXPIRY, "days": 1},
     "1 day before the approval letter's closing deadline"),
    ({"trigger": TriggerKind.DATE_APPROACHING, "date_kind": KeyDate.FILING, "days": 7},
     "Within 7 days after a pre-foreclosure filing is recorded"),
    ({"trigger": TriggerKind.NO_CONTACT, "days": 30, "stage": Stage.CONTACT}, "No conversation for 30 days in Contact"),
    ({"trigger": TriggerKind.NO_CONTACT, "days": 45}, "No conversation for 45 days"),
])
def test_an_automation_says_what_starts_the_plan(fields, words):
    assert automation_words(PlanAutomation(**fields)) == words


def test_list_and_tag_automations_name_their_list_and_tag(db):
    assert automation_words(PlanAutomation(trigger=TriggerKind.LIST_IMPORTED, lead_list=LeadListFactory(
        name="County NOD Dec"))) == "When a lead is imported into “County NOD Dec”"
    assert automation_words(PlanAutomation(trigger=TriggerKind.TAG_ADDED, tag=TagFactory(name="Vacant"))) == \
        "When a lead is tagged “Vacant”"
