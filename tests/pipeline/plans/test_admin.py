"""The admin of action plans: read-only, and scoped as the pages are (a lead's enrollment
you may not see is a 404; a plan is its owner's, the broker's, or shared)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from pipeline.models import PlanStepRun, RunStatus, StepKind, TaskKind
from pipeline.plans.seeds import NURTURE, seeded_plan
from pipeline.plans.services import StepInput, lead_enroll, plan_save

pytestmark = pytest.mark.django_db


def change_url(obj):
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])


@pytest.fixture
def own_plan(agent):
    return plan_save(actor=agent, name="Ana's calls", steps=[
        StepInput(kind=StepKind.TASK, task_kind=TaskKind.CALL, subject="Call [First Name]")])


@pytest.fixture
def enrollment(lead, agent, own_plan):
    enrollment = lead_enroll(lead=lead, plan=own_plan, actor=agent)
    PlanStepRun.objects.create(enrollment=enrollment, step=own_plan.steps.get(), lead=lead, position=0, kind="task",
                               title="Step 1: call the homeowner", status=RunStatus.TASK, due_at=enrollment.next_due_at)
    return enrollment


@pytest.mark.parametrize(("who", "status"), [("agent", 302), ("team_lead", 200), ("broker", 200)])
def test_a_leads_enrollment_and_its_runs_by_role(who, status, request, enrollment, client_as):
    client = client_as(request.getfixturevalue(who))  # agents are not staff: the admin's sign-in
    assert client.get(change_url(enrollment)).status_code == status
    assert client.get(change_url(enrollment.runs.get())).status_code == status


def test_another_teams_lead_sees_none_of_its_plans(enrollment, other_team, client_as):
    client = client_as(other_team.lead)
    assert client.get(change_url(enrollment)).status_code == 404
    assert client.get(change_url(enrollment.runs.get())).status_code == 404
    page = client.get(reverse("admin:pipeline_planenrollment_changelist")).content.decode()
    assert "Ana&#x27;s calls" not in page and "Ana's calls" not in page


def test_an_agents_own_plan_is_theirs_and_the_brokers_and_a_shared_one_everyones(own_plan, team_lead, broker,
                                                                                 client_as):
    assert client_as(team_lead).get(change_url(own_plan)).status_code == 404
    assert client_as(broker).get(change_url(own_plan)).status_code == 200
    shared = seeded_plan(NURTURE)
    page = client_as(team_lead).get(change_url(shared))
    assert page.status_code == 200 and "Hi [First Name]" in page.content.decode()  # its steps, inline
    assert client_as(team_lead).get(change_url(own_plan.steps.get())).status_code == 404


def test_nothing_is_edited_or_deleted_in_the_admin(enrollment, own_plan, broker, client_as):
    client = client_as(broker)
    for obj in (own_plan, enrollment, enrollment.runs.get(), own_plan.steps.get()):
        assert client.post(change_url(obj), {}).status_code == 403, obj
        delete = reverse(f"admin:pipeline_{obj._meta.model_name}_delete", args=[obj.pk])
        assert client.post(delete, {"post": "yes"}).status_code == 403, obj
    assert client.get(reverse("admin:pipeline_actionplan_add")).status_code == 403


def test_the_runs_list_filters_by_the_rule_that_refused_them(enrollment, lead, broker, client_as):
    from ...helpers import admin_list_rows

    PlanStepRun.objects.filter(enrollment=enrollment).update(status=RunStatus.SKIPPED, rules=["D10"])
    client = client_as(broker)
    url = reverse("admin:pipeline_plansteprun_changelist")
    assert admin_list_rows(client, f"{url}?rule=D10") == 1
    assert admin_list_rows(client, f"{url}?rule=D1") == 0
    assert admin_list_rows(client, f"{url}?rule=any") == 1
