"""The lead page's "Action plans" card: what it shows of each plan, its buttons, who may
use them, and the plans' entries on the lead's timeline."""

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from pipeline.models import (
    EnrollmentStatus,
    PauseReason,
    PlanEnrollment,
    PlanStepRun,
    RunStatus,
)
from pipeline.plans.lead_forms import NO_SUCH_PLAN
from pipeline.plans.lead_selectors import lead_plans_card
from pipeline.plans.runner import step_run
from pipeline.plans.services import (
    ALREADY_IN_PLAN,
    NOT_PAUSED,
    enrollment_pause,
    lead_enroll,
    lead_responded,
)
from pipeline.workspace.selectors import lead_activity
from tests.leads.factories import ContactFactory, LeadFactory, PhoneFactory

from .conftest import nurture


def run_due(enrollment, times=1):
    results = []
    for _ in range(times):
        enrollment.refresh_from_db()
        with time_machine.travel(max(enrollment.next_due_at, timezone.now()) + timedelta(seconds=1), tick=False):
            results.append(step_run(enrollment_id=enrollment.pk))
    return results


@pytest.fixture
def running(lead, agent, plan, textable, local_provider):
    """Step 1 sent, step 2 skipped (no email address), step 3 next, step 4 later."""
    enrollment = lead_enroll(lead=lead, plan=plan, actor=agent)
    assert run_due(enrollment, 2) == [RunStatus.SENT, RunStatus.SKIPPED]
    enrollment.refresh_from_db()
    return enrollment


def page_of(client, lead):
    response = client.get(reverse("leads:detail", args=[lead.pk]))
    assert response.status_code == 200
    return response.content.decode()


def card_of(page: str) -> str:
    start = page.index('id="plans"')
    end = page.find('<details class="card', start)
    return page[start:end if end > 0 else None]


# What the card shows ---------------------------------------------------------------------------


def test_card_shows_done_skipped_next_and_later_steps_in_order(client_as, agent, lead, running):
    card = card_of(page_of(client_as(agent), lead))

    assert "Nurture" in card and "Running" in card and "2 done, 2 to go" not in card
    assert card.index("1.</span> Send a text") < card.index("2.</span> Send an email") \
        < card.index("3.</span> Call the homeowner") < card.index("4.</span> Print a letter")
    assert "Sent Nov 18" in card
    assert "Skipped" in card and "No email address" in card
    assert "Next:</span> Fri Nov 20" in card and "your time" in card and "Central for the homeowner" in card
    assert "3 days after the previous step" in card
    assert f'action="{reverse("plans:lead_pause", args=[lead.pk, running.pk])}"' in card


def test_card_shows_a_skip_with_its_rule_ids(client_as, agent, lead, plan, local_provider):
    # given a number with no written consent to texts: the gate refuses the text (D5)
    enrollment = lead_enroll(lead=lead, plan=plan, actor=agent)
    assert run_due(enrollment) == [RunStatus.SKIPPED]
    run = PlanStepRun.objects.get(enrollment=enrollment, position=0)
    assert run.rules

    card = card_of(page_of(client_as(agent), lead))

    assert "Skipped" in card
    for rule in run.rules:
        assert f"#rule-{rule}" in card


def test_card_says_why_a_plan_paused_and_when(client_as, agent, lead, running):
    lead_responded(lead_id=lead.pk, reason=PauseReason.INBOUND_TEXT, detail="Maybe later",
                   at=timezone.now() + timedelta(minutes=5))

    card = card_of(page_of(client_as(agent), lead))

    assert "Paused" in card and "the homeowner texted back “Maybe later” · Nov 18, 2:05 PM" in card
    assert "Resume" in card and "Next:" not in card


def test_card_shows_channels_ended(client_as, agent, lead, running):
    PlanEnrollment.objects.filter(pk=running.pk).update(ended_channels={"sms": "Stop requested by text on Nov 18"})

    card = card_of(page_of(client_as(agent), lead))

    assert "Texts ended for this plan: Stop requested by text on Nov 18" in card


def test_card_lists_finished_and_stopped_plans_compactly_with_the_reason(client_as, agent, lead, running):
    client = client_as(agent)
    client.post(reverse("plans:lead_stop", args=[lead.pk, running.pk]))

    card = card_of(page_of(client, lead))

    assert "Earlier plans" in card and "stopped Nov 18, 2026: Stopped by Ana Torres." in card
    assert "Not in any plan" in card


# The buttons -------------------------------------------------------------------------------------


def test_start_puts_the_lead_in_the_plan_and_comes_back_to_the_lead_page(client_as, agent, lead, plan):
    response = client_as(agent).post(reverse("plans:lead_start", args=[lead.pk]), {"plan": plan.pk})

    assert response.status_code == 302 and response.url.endswith(f"/leads/{lead.pk}/#plans")
    assert PlanEnrollment.objects.get(lead=lead, plan=plan).status == EnrollmentStatus.ACTIVE


def test_start_refused_says_why_in_the_card(client_as, agent, lead, plan):
    lead_enroll(lead=lead, plan=plan, actor=agent)
    client = client_as(agent)

    response = client.post(reverse("plans:lead_start", args=[lead.pk]), {"plan": plan.pk}, HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="plans"' in body and ALREADY_IN_PLAN.format(plan="Nurture") in body
    # without JavaScript: the same refusal as a message on the lead page
    response = client.post(reverse("plans:lead_start", args=[lead.pk]), {"plan": plan.pk}, follow=True)
    assert "already in" in response.content.decode()


def test_start_refuses_a_plan_the_user_may_not_use(client_as, agent, other_agent, lead, office):
    theirs = nurture(other_agent, name="Theirs")

    response = client_as(agent).post(reverse("plans:lead_start", args=[lead.pk]), {"plan": theirs.pk}, follow=True)

    assert NO_SUCH_PLAN in response.content.decode()
    assert not PlanEnrollment.objects.filter(lead=lead).exists()


def test_pause_then_resume_by_hand(client_as, agent, lead, running):
    client = client_as(agent)

    client.post(reverse("plans:lead_pause", args=[lead.pk, running.pk]))
    running.refresh_from_db()
    assert running.status == EnrollmentStatus.PAUSED and running.pause_reason == PauseReason.BY_HAND
    assert "paused by Ana Torres" in card_of(page_of(client, lead))

    response = client.post(reverse("plans:lead_resume", args=[lead.pk, running.pk]), HTTP_HX_REQUEST="true")
    running.refresh_from_db()
    assert running.status == EnrollmentStatus.ACTIVE
    assert "“Nurture” resumed: the next step is due" in response.content.decode()


def test_resume_refused_is_shown_not_a_500(client_as, agent, lead, running):
    response = client_as(agent).post(reverse("plans:lead_resume", args=[lead.pk, running.pk]), HTTP_HX_REQUEST="true")

    assert response.status_code == 200 and NOT_PAUSED in response.content.decode()


def test_stop_cancels_the_remaining_steps(client_as, agent, lead, running):
    client_as(agent).post(reverse("plans:lead_stop", args=[lead.pk, running.pk]))

    running.refresh_from_db()
    assert running.status == EnrollmentStatus.ENDED
    assert set(PlanStepRun.objects.filter(enrollment=running, position__gte=2).values_list("status", flat=True)) == {
        RunStatus.CANCELLED}


# Who may --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("who, status", [
    ("anonymous", 302), ("other_agent", 404), ("agent", 200), ("team_lead", 200), ("broker", 200)])
def test_card_page_permission_matrix(request, client_as, lead, who, status):
    user = None if who == "anonymous" else request.getfixturevalue(who)

    response = client_as(user).get(reverse("plans:lead", args=[lead.pk]))

    assert response.status_code == status
    if status == 302:
        assert "/login" in response.url


@pytest.mark.parametrize("who, status", [
    ("anonymous", 302), ("other_agent", 404), ("agent", 302), ("team_lead", 302), ("broker", 302)])
@pytest.mark.parametrize("action", ["lead_pause", "lead_stop"])
def test_enrollment_actions_permission_matrix(request, client_as, lead, running, who, status, action):
    user = None if who == "anonymous" else request.getfixturevalue(who)

    response = client_as(user).post(reverse(f"plans:{action}", args=[lead.pk, running.pk]))

    assert response.status_code == status
    running.refresh_from_db()
    assert (running.status == EnrollmentStatus.ACTIVE) == (who in ("anonymous", "other_agent"))


@pytest.mark.parametrize("who, status", [
    ("anonymous", 302), ("other_agent", 404), ("agent", 302), ("team_lead", 302), ("broker", 302)])
def test_start_permission_matrix(request, client_as, lead, plan, who, status):
    user = None if who == "anonymous" else request.getfixturevalue(who)

    response = client_as(user).post(reverse("plans:lead_start", args=[lead.pk]), {"plan": plan.pk})

    assert response.status_code == status


def test_an_enrollment_of_another_lead_in_the_url_is_404(client_as, agent, team, lead, running):
    mine_too = LeadFactory(assigned_agent=agent, team=team)
    PhoneFactory(contact=ContactFactory(lead=mine_too))

    for action in ("lead_pause", "lead_resume", "lead_stop"):
        response = client_as(agent).post(reverse(f"plans:{action}", args=[mine_too.pk, running.pk]))
        assert response.status_code == 404
    running.refresh_from_db()
    assert running.status == EnrollmentStatus.ACTIVE


def test_a_user_without_the_plans_permission_is_refused(client_as, agent, lead, plan):
    from django.contrib.auth.models import Permission

    agent.groups.clear()
    agent.user_permissions.set(Permission.objects.filter(codename="view_lead"))

    response = client_as(agent).post(reverse("plans:lead_start", args=[lead.pk]), {"plan": plan.pk})

    assert response.status_code in (403, 404)
    assert not PlanEnrollment.objects.filter(lead=lead).exists()


# Cost ------------------------------------------------------------------------------------------------


def test_lead_page_queries_do_not_grow_with_plans_and_runs(client_as, agent, lead, office, textable,
                                                           local_provider, monkeypatch):
    # The rulebook's few-second reload must not land inside a counted page on a slow machine.
    monkeypatch.setattr("compliance.rulebook.TTL_SECONDS", 3600)
    client = client_as(agent)
    first = lead_enroll(lead=lead, plan=nurture(agent, "First"), actor=agent)
    run_due(first)

    def queries():
        client.get(reverse("leads:detail", args=[lead.pk]))
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("leads:detail", args=[lead.pk])).status_code == 200
        return len(captured)

    queries()  # the gate's rulebook, reloaded once after the runner's time travel
    few = queries()
    run_due(first)  # a second run
    enrollment_pause(enrollment=first, actor=agent)
    second = lead_enroll(lead=lead, plan=nurture(agent, "Second"), actor=agent)
    run_due(second, 2)
    third = lead_enroll(lead=lead, plan=nurture(agent, "Third"), actor=agent)
    run_due(third)

    assert queries() == few


def test_the_card_reads_a_handful_of_queries(agent, lead, running, django_assert_max_num_queries):
    with django_assert_max_num_queries(12):
        card = lead_plans_card(lead=lead, user=agent)
    assert [row.state for row in card.open[0].rows] == ["done", "skipped", "next", "later"]


def test_a_step_still_to_come_is_named_for_the_lead(agent, lead, running):
    card = lead_plans_card(lead=lead, user=agent)
    titles = [row.title for row in card.open[0].rows]
    assert f"Call the homeowner “Call {lead.contacts.first().first_name}”" in titles
    assert not any("[First Name]" in title for title in titles)


# The timeline ------------------------------------------------------------------------------------------


def test_timeline_shows_each_step_run_and_the_plan_started_and_stopped(client_as, agent, lead, running):
    client = client_as(agent)
    client.post(reverse("plans:lead_stop", args=[lead.pk, running.pk]))

    kinds = [event.kind for event in lead_activity(lead=lead) if event.kind.startswith("plan_")]
    page = page_of(client, lead)
    timeline = page[page.index('id="timeline"'):]

    assert kinds.count("plan_step") == 4 and "plan_start" in kinds and "plan_end" in kinds
    assert "Action plan “Nurture”: step 1: send a text, <strong>sent</strong>" in timeline
    assert "step 2: send an email “Checking in”, <strong class=\"text-warning-emphasis\">skipped</strong>" in timeline
    assert "Put in the action plan “Nurture”" in timeline and "stopped" in timeline
    assert "Cancelled" not in timeline and "Stopped by Ana Torres." in timeline


def test_timeline_reads_plans_in_a_fixed_number_of_queries(agent, lead, office, textable, local_provider):
    first = lead_enroll(lead=lead, plan=nurture(agent, "First"), actor=agent)
    run_due(first)
    with CaptureQueriesContext(connection) as one:
        lead_activity(lead=lead)
    run_due(first)
    second = lead_enroll(lead=lead, plan=nurture(agent, "Second"), actor=agent)
    run_due(second, 2)
    enrollment_pause(enrollment=second, actor=agent)
    with CaptureQueriesContext(connection) as many:
        lead_activity(lead=lead)

    assert len(many) == len(one)
