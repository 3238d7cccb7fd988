"""Action plans in a real browser: an agent starts a plan on a lead from its page, a worker runs
its first step through the gate (a text, handed to the local backend), the homeowner replies
through the local backend's "Play a reply" (the path Twilio's webhook takes), and the lead's
plan shows paused, naming the reply, with nothing more sent."""

from datetime import time

import pytest

from pipeline.models import EnrollmentStatus, Message, PauseReason, PlanEnrollment, PlanStepRun, RunStatus
from pipeline.plans.services import StepInput, plan_save

from ..compliance.factories import ConsentRecordFactory, ReassignedNumberCheckFactory

# The live server reads committed rows (see conftest.py).
pytestmark = pytest.mark.django_db(transaction=True)

FIRST = "Hi [First Name], this is [Agent Name] with [Brokerage]. Is now a good time to talk about the house?"
SECOND = "[Agent First Name] at [Brokerage] again: I am here when you are ready."


def test_an_agent_starts_a_plan_the_homeowner_replies_and_the_plan_shows_paused(page_as, lead, agent, settings):
    from celery.contrib.testing.worker import start_worker

    from leadcrm.celery import app
    from pipeline.tasks import plan_steps_dispatch

    settings.LEADCRM_TELEPHONY = "local"
    phone = lead.contacts.first().phones.first()
    ConsentRecordFactory(phone=phone)
    ReassignedNumberCheckFactory(phone=phone)
    plan = plan_save(actor=agent, name="Not now: check in", steps=[
        StepInput(kind="text", body=FIRST, window_start=time(8, 0), window_end=time(21, 0)),
        StepInput(kind="text", body=SECOND, delay_days=14)])
    app.control.purge()  # nothing left on the test broker from an earlier run
    page = page_as(agent)

    # given: the lead page's Action plans card, with the agent's plan to start
    page.goto(f"/leads/{lead.pk}/")
    page.select_option(f"#plan-start-{lead.pk}", str(plan.pk))
    page.click("#plans button:has-text('Start')")
    page.wait_for_selector("#plans .plan-enrollment .badge:has-text('Running')")
    enrollment = PlanEnrollment.objects.get(lead=lead, plan=plan)
    assert page.locator(f"#plan-{enrollment.pk} .plan-step-next").is_visible()

    # when: beat's dispatcher hands the due step to a worker, which texts the homeowner
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=20):
        plan_steps_dispatch.delay()
        for _ in range(60):
            run = PlanStepRun.objects.filter(enrollment=enrollment, position=0).first()
            if run is not None and run.status == RunStatus.SENT:
                break
            page.wait_for_timeout(500)
    sent = Message.objects.get(lead=lead, direction="outbound")
    assert sent.body.startswith(f"Hi {lead.contacts.first().first_name}, this is Ana Torres with Sunbelt Test Realty")
    page.reload()
    first_step = page.locator(f"#plan-{enrollment.pk} .plan-step").first
    assert "Sent" in first_step.inner_text()

    # when: the homeowner replies through the local backend's inbound path
    page.goto("/messages/sent/")
    page.fill(f"#reply-{sent.pk}", "Not right now, maybe in the spring")
    page.click(f"#sent-{sent.pk} button:has-text('Homeowner replies')")
    page.wait_for_url(f"**/leads/{lead.pk}/**")

    # then: the plan shows paused, naming the reply, and its next step is no longer due
    card = page.locator(f"#plan-{enrollment.pk}")
    card.locator(".badge:has-text('Paused')").wait_for()
    assert "texted back" in card.inner_text() and "maybe in the spring" in card.inner_text()
    enrollment.refresh_from_db()
    assert enrollment.status == EnrollmentStatus.PAUSED and enrollment.pause_reason == PauseReason.INBOUND_TEXT
    assert enrollment.next_due_at is None
    assert Message.objects.filter(lead=lead, direction="outbound").count() == 1
    assert page.errors == []
