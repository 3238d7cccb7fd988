"""Saving a plan: its words and timing are checked, every problem of every step at once."""

import pytest
from django.core.exceptions import ValidationError

from leads.models import Stage
from pipeline.models import ActionPlan, StepAnchor, StepKind
from pipeline.plans.services import (
    EMAIL_NEEDS_DISCLOSURE,
    KEY_DATE_NEEDS_PLAN_DATE,
    NO_STEPS,
    SHARED_NEEDS_BROKER,
    TEXT_NEEDS_SIGNATURE,
    StepInput,
    plan_copy,
    plan_save,
)

from .conftest import call_step, email_step, text_step


def _refusal(agent, *steps, **kwargs) -> list[str]:
    with pytest.raises(ValidationError) as refused:
        plan_save(actor=agent, name="Plan", steps=list(steps), **kwargs)
    return refused.value.message_dict["steps"]


def test_an_unknown_merge_field_is_refused_with_its_name(agent):
    messages = _refusal(agent, text_step(body="Hi [Frist Name], [Agent Name] with [Brokerage]."))
    assert messages[0].startswith("Step 1 (send a text): not a merge field: [Frist Name].")
    assert not ActionPlan.objects.filter(name="Plan").exists()


def test_a_prohibited_promise_is_refused_naming_the_phrase(agent):
    messages = _refusal(agent, call_step(), email_step(body="[Role Disclosure] We can stop the foreclosure for you."))
    assert len(messages) == 1 and messages[0].startswith("Step 2 (send an email):")
    assert "stop the foreclosure" in messages[0]


def test_every_problem_of_every_step_is_said_at_once(agent):
    messages = _refusal(agent, text_step(body="Hi [First Name], any news?"), email_step(body="Hello [First Name]"),
                        call_step(anchor=StepAnchor.KEY_DATE, delay_days=3))
    assert messages == [
        "Step 1 (send a text): " + TEXT_NEEDS_SIGNATURE,
        "Step 2 (send an email): " + EMAIL_NEEDS_DISCLOSURE,
        "Step 3 (create a task): " + KEY_DATE_NEEDS_PLAN_DATE,
    ]


def test_a_plan_needs_steps_and_a_window_that_ends_after_it_starts(agent):
    with pytest.raises(ValidationError, match=NO_STEPS):
        plan_save(actor=agent, name="Empty", steps=[])
    late = call_step()
    late.window_start, late.window_end = late.window_end, late.window_start
    assert _refusal(agent, late) == ["Step 1 (create a task): its window must end after it starts, on the same day."]


def test_the_status_page_link_belongs_in_written_steps(agent):
    plan = plan_save(actor=agent, name="Docs", steps=[
        email_step(body="[Role Disclosure]\nWhat is still needed: [Status Page Link]")])
    assert plan.steps.get().kind == StepKind.EMAIL
    assert _refusal(agent, call_step(subject="Open [Status Page Link]"))[0].endswith(
        "[Status Page Link] goes in an email or a text, not in a letter or a task.")


def test_all_zero_delays_are_a_valid_plan(agent):
    plan = plan_save(actor=agent, name="Fast", steps=[text_step(), text_step(), call_step()])
    assert [step.delay_days + step.delay_hours for step in plan.steps.all()] == [0, 0, 0]


def test_shared_plans_are_the_brokers(agent, broker):
    with pytest.raises(ValidationError, match=SHARED_NEEDS_BROKER):
        plan_save(actor=agent, name="Team plan", steps=[call_step()], shared=True)
    shared = plan_save(actor=broker, name="Team plan", steps=[call_step()], shared=True,
                       stages=[Stage.QUALIFY, Stage.CONTACT])
    assert shared.is_shared and shared.stages == [Stage.CONTACT, Stage.QUALIFY]
    with pytest.raises(ValidationError, match=SHARED_NEEDS_BROKER):
        plan_save(actor=agent, plan=shared, name="Mine now", steps=[call_step()])
    copy = plan_copy(plan=shared, actor=agent)
    assert copy.owner == agent and copy.name == "Team plan (my copy)" and copy.steps.count() == 1


def test_another_agents_plan_is_not_theirs_to_edit(agent, other_agent):
    plan = plan_save(actor=agent, name="Mine", steps=[call_step()])
    with pytest.raises(ValidationError, match="someone else's"):
        plan_save(actor=other_agent, plan=plan, name="Taken", steps=[call_step()])


def test_an_edit_keeps_the_steps_it_names_and_bumps_the_version(agent):
    plan = plan_save(actor=agent, name="Mine", steps=[call_step(), text_step()])
    first, second = plan.steps.order_by("position")
    plan = plan_save(actor=agent, plan=plan, name="Mine", steps=[StepInput.of(second), call_step(subject="New")])
    steps = list(plan.steps.order_by("position"))
    assert steps[0].pk == second.pk and steps[0].position == 0
    assert steps[1].pk not in (first.pk, second.pk) and steps[1].subject == "New"
    assert plan.version == 2
