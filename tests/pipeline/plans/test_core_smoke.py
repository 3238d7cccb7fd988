from datetime import timedelta

import pytest
from django.utils import timezone

from pipeline.messaging.providers.base import InboundText
from pipeline.messaging.services import inbound_text_receive
from pipeline.models import EnrollmentStatus, Message, PauseReason, PlanStepRun, RunStatus, StepKind, TaskKind
from pipeline.plans.runner import step_run
from pipeline.plans.services import StepInput, lead_enroll, plan_save


@pytest.fixture
def plan(agent):
    return plan_save(actor=agent, name="Nurture", steps=[
        StepInput(kind=StepKind.TEXT, body="Hi [First Name], [Agent Name] with [Brokerage]. Any news on the house?"),
        StepInput(kind=StepKind.TASK, task_kind=TaskKind.CALL, subject="Call [First Name]", delay_days=2),
    ])


def test_text_step_sent_then_task_timed_then_reply_pauses(lead, agent, textable, local_provider, plan):
    enrollment = lead_enroll(lead=lead, plan=plan, actor=agent)
    assert enrollment.next_due_at <= timezone.now()
    assert step_run(enrollment_id=enrollment.pk) == RunStatus.SENT
    run = PlanStepRun.objects.get(enrollment=enrollment, position=0)
    assert run.attempt is not None and Message.objects.get(attempt=run.attempt).body.startswith("Hi ")
    enrollment.refresh_from_db()
    assert enrollment.last_position == 0
    assert enrollment.next_due_at >= timezone.now() + timedelta(days=2) - timedelta(minutes=1)
    assert step_run(enrollment_id=enrollment.pk) == "not due"
    message = Message.objects.get(attempt=run.attempt)
    inbound_text_receive(provider="local", inbound=InboundText(
        provider_id="SM9", from_number=textable.number, to_number=message.from_address, body="Maybe later",
        received_at=timezone.now()))
    enrollment.refresh_from_db()
    assert enrollment.status == EnrollmentStatus.PAUSED
    assert enrollment.pause_reason == PauseReason.INBOUND_TEXT
