"""The short-sale plans LeadCRM ships: there after migrate, shared, and in words the
plan editor (and the F6 phrase table) would accept."""

from __future__ import annotations

import re

import pytest

from compliance.services import template_language_check
from pipeline.models import ActionPlan, KeyDate, StepAnchor, StepKind
from pipeline.plans.seeds import (
    BEFORE_AUCTION,
    DOCUMENTS_NEEDED,
    NURTURE,
    SEEDED_KEYS,
    seeded_plan,
    seeded_plans_install,
    shipped_plans,
    shipped_steps,
)
from pipeline.plans.services import StepInput, plan_steps_check

pytestmark = pytest.mark.django_db


def _as_input(step) -> StepInput:
    return StepInput.of(step)


def test_the_migration_leaves_three_shared_seeded_plans():
    plans = ActionPlan.objects.filter(seeded__in=SEEDED_KEYS)
    assert sorted(plans.values_list("seeded", flat=True)) == sorted(SEEDED_KEYS)
    assert all(plan.is_shared and plan.deleted_at is None for plan in plans)
    assert {plan.name for plan in plans} == {"Not now: long-term nurture", "Before the auction",
                                             "Documents still needed"}


@pytest.mark.parametrize("key", SEEDED_KEYS)
def test_each_seeded_plan_in_the_database_passes_the_plan_check(key):
    plan = seeded_plan(key)
    steps = [_as_input(step) for step in plan.steps.order_by("position")]
    plan_steps_check(steps, key_date=plan.key_date)  # raises with every problem named


@pytest.mark.parametrize("key", SEEDED_KEYS)
def test_no_seeded_step_makes_a_promise_the_phrase_table_refuses(key):
    for step in shipped_steps(key):
        template_language_check(f"{step.subject}\n{step.body}")


def test_every_seeded_text_names_the_agent_and_brokerage_and_every_email_says_who_writes():
    for data in shipped_plans():
        for step in data["steps"]:
            if step["kind"] == StepKind.TEXT:
                assert "[Agent Name]" in step["body"] and "[Brokerage]" in step["body"], step["body"]
                assert (step["window"][0].hour, step["window"][1].hour) == (10, 18)
            if step["kind"] == StepKind.EMAIL:
                assert "[Role Disclosure]" in step["body"], step["subject"]
                assert (step["window"][0].hour, step["window"][1].hour) == (9, 17)


@pytest.mark.parametrize("words", ["we can stop the foreclosure", "guaranteed", "approved in 30 days"])
def test_the_check_the_seeds_pass_is_one_that_refuses_promises(words):
    from django.core.exceptions import ValidationError

    steps = shipped_steps(NURTURE)
    steps[1].body += f" {words}"
    with pytest.raises(ValidationError) as refused:
        plan_steps_check(steps)
    assert "F6" in " ".join(refused.value.messages)


def test_the_nurture_plan_spans_about_a_year_from_its_start():
    plan = seeded_plan(NURTURE)
    days = list(plan.steps.order_by("position").values_list("delay_days", flat=True))
    assert days == [0, 14, 30, 60, 90, 120, 180, 270, 365]
    assert set(plan.steps.values_list("anchor", flat=True)) == {StepAnchor.START}
    assert plan.stages == ["contact", "qualify"]


def test_the_auction_plan_counts_back_from_the_auction_date_and_asks_for_a_postponement():
    plan = seeded_plan(BEFORE_AUCTION)
    assert plan.key_date == KeyDate.AUCTION
    steps = list(plan.steps.order_by("position"))
    assert {step.anchor for step in steps} == {StepAnchor.KEY_DATE}
    assert sorted({step.delay_days for step in steps}, reverse=True) == [45, 30, 21, 14, 7, 3]
    assert {step.kind for step in steps} == set(StepKind.values)
    assert any(step.task_kind == "lender" and re.search(r"postpone", step.subject, re.I) for step in steps)
    assert all("lender" in step.body.lower() for step in steps if step.kind in (StepKind.EMAIL, StepKind.LETTER))


def test_the_documents_plan_links_the_status_page_and_calls_after_a_week():
    plan = seeded_plan(DOCUMENTS_NEEDED)
    assert plan.stages == ["qualify"]
    written = plan.steps.filter(kind__in=[StepKind.EMAIL, StepKind.TEXT])
    assert written.count() >= 3
    assert all("[Status Page Link]" in step.body for step in written)
    call = plan.steps.get(kind=StepKind.TASK)
    assert (call.task_kind, call.delay_days) == ("call", 7)


def test_installing_again_creates_nothing_and_a_deleted_seed_stays_deleted(broker):
    from pipeline.plans.services import plan_delete

    assert seeded_plans_install() == 0
    plan_delete(plan=seeded_plan(NURTURE), actor=broker)
    assert seeded_plans_install() == 0
    assert seeded_plan(NURTURE) is None


def test_a_missing_seed_is_installed_again():
    ActionPlan.objects.filter(seeded=DOCUMENTS_NEEDED).delete()
    assert seeded_plans_install() == 1
    assert seeded_plan(DOCUMENTS_NEEDED).steps.count() == len(shipped_steps(DOCUMENTS_NEEDED))
