"""An erasure and the homeowner's action plans: their words quoted in a pause, a stop or a
step's record are redacted, and their plans stop, nothing more sent or asked."""

from __future__ import annotations

import pytest

from pipeline.models import (
    EnrollmentStatus,
    PauseReason,
    PlanEnrollment,
    PlanStepRun,
    RunStatus,
    StepKind,
    TaskKind,
)
from pipeline.plans.services import StepInput, lead_enroll, lead_responded, plan_save
from pipeline.privacy.coverage import ERASED
from pipeline.privacy.selectors import PrivacySearch
from pipeline.privacy.services import PLAN_ENDED, privacy_erase

pytestmark = pytest.mark.django_db


@pytest.fixture
def enrolled(lead, agent):
    plan = plan_save(actor=agent, name="Calls", steps=[
        StepInput(kind=StepKind.TASK, task_kind=TaskKind.CALL, subject="Call [First Name]"),
        StepInput(kind=StepKind.TASK, task_kind=TaskKind.CALL, subject="Call again", delay_days=7)])
    enrollment = lead_enroll(lead=lead, plan=plan, actor=agent)
    owner = lead.contacts.first()
    PlanStepRun.objects.create(enrollment=enrollment, step=plan.steps.get(position=0), lead=lead, position=0,
                               kind="task", title="Step 1: call the homeowner", status=RunStatus.TASK,
                               due_at=enrollment.next_due_at, reason=f"Task for Ana Torres: Call {owner.first_name}")
    PlanEnrollment.objects.filter(pk=enrollment.pk).update(
        last_position=0, ended_channels={"sms": f"{owner.first_name} {owner.last_name} texted STOP"})
    lead_responded(lead_id=lead.pk, reason=PauseReason.INBOUND_TEXT,
                   detail=f"This is {owner.first_name}, call me at home")
    return enrollment


def _erase(lead, broker):
    owner = lead.contacts.first()
    return privacy_erase(handled_by=broker, search=PrivacySearch(name=f"{owner.first_name} {owner.last_name}"),
                         lead_ids=[lead.pk], requester="homeowner", verification="Called back on our number.",
                         confirmation="ERASE")


def test_an_erasure_redacts_what_the_plans_quote_of_the_homeowner(enrolled, lead, broker):
    owner = lead.contacts.first()
    _erase(lead, broker)
    enrollment = PlanEnrollment.objects.get(pk=enrolled.pk)
    assert enrollment.pause_detail == ERASED
    assert enrollment.ended_channels == {"sms": ERASED}
    run = PlanStepRun.objects.get(enrollment=enrollment, position=0)
    assert run.reason == ERASED and run.title == "Step 1: call the homeowner"
    for text in PlanStepRun.objects.filter(lead=lead).values_list("reason", flat=True):
        assert owner.first_name not in text


def test_an_erasure_stops_the_homeowners_plans_and_cancels_their_steps(enrolled, lead, broker):
    _erase(lead, broker)
    enrollment = PlanEnrollment.objects.get(pk=enrolled.pk)
    assert (enrollment.status, enrollment.end_reason, enrollment.next_due_at) == (EnrollmentStatus.ENDED,
                                                                                  PLAN_ENDED, None)
    cancelled = PlanStepRun.objects.get(enrollment=enrollment, position=1)
    assert cancelled.status == RunStatus.CANCELLED and PLAN_ENDED in cancelled.reason
