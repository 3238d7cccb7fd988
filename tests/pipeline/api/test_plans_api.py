"""The action plans API: the plans the caller may use, enrolling and unenrolling a lead
with the pages' scope and refusals, a lead's plans, and the schema."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from leads.models import Stage
from pipeline.api.plans import NOT_ENROLLED
from pipeline.models import EnrollmentSource, EnrollmentStatus, PlanEnrollment, RunStatus, StepKind, TaskKind
from pipeline.plans.seeds import DOCUMENTS_NEEDED, NURTURE, seeded_plan
from pipeline.plans.services import ALREADY_IN_PLAN, StepInput, lead_enroll, plan_save

from ...helpers import api_as

pytestmark = pytest.mark.django_db



@pytest.fixture
def own_plan(agent):
    return plan_save(actor=agent, name="Ana's calls", steps=[
        StepInput(kind=StepKind.TASK, task_kind=TaskKind.CALL, subject="Call [First Name]"),
        StepInput(kind=StepKind.TASK, task_kind=TaskKind.CALL, subject="Call again", delay_days=7)])


def enroll_url(plan):
    return reverse("api:plan-enroll", args=[plan.pk])


def unenroll_url(plan):
    return reverse("api:plan-unenroll", args=[plan.pk])


# Listing plans --------------------------------------------------------------------------------


def test_an_agent_lists_the_shared_plans_and_their_own_with_steps(agent, other_agent, own_plan):
    plan_save(actor=other_agent, name="Someone else's", steps=[
        StepInput(kind=StepKind.TASK, task_kind=TaskKind.CALL, subject="Call")])
    body = api_as(agent).get(reverse("api:plan-list")).json()
    names = {plan["name"]: plan for plan in body["results"]}
    assert set(names) == {"Ana's calls", "Not now: long-term nurture", "Before the auction", "Documents still needed"}
    assert names["Ana's calls"]["shared"] is False and names["Before the auction"]["shared"] is True
    steps = names["Not now: long-term nurture"]["steps"]
    assert [step["delay_days"] for step in steps][:3] == [0, 14, 30]
    assert steps[1]["timing"] == "14 days after the plan starts" and steps[1]["kind"] == "email"


def test_listing_plans_reads_in_the_same_queries_however_many_plans(agent, django_assert_num_queries):
    client = api_as(agent)
    client.get(reverse("api:plan-list"))  # the token's first use records it
    with django_assert_num_queries(3) as first:  # the token with its user, the plans, their steps
        client.get(reverse("api:plan-list"))
    for n in range(6):
        plan_save(actor=agent, name=f"Plan {n}", steps=[StepInput(kind=StepKind.TASK, task_kind=TaskKind.CALL,
                                                                  subject="Call")])
    with django_assert_num_queries(len(first.captured_queries)):
        assert len(client.get(reverse("api:plan-list")).json()["results"]) == 9


def test_a_plan_someone_else_owns_is_a_404(other_agent, own_plan):
    assert api_as(other_agent).get(reverse("api:plan-detail", args=[own_plan.pk])).status_code == 404


def test_a_deleted_plan_is_no_longer_listed(agent, own_plan):
    from pipeline.plans.services import plan_delete

    plan_delete(plan=own_plan, actor=agent)
    names = [plan["name"] for plan in api_as(agent).get(reverse("api:plan-list")).json()["results"]]
    assert "Ana's calls" not in names


def test_without_a_token_plans_are_a_401():
    assert APIClient().get(reverse("api:plan-list")).status_code == 401


# Enrolling ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("who", "status"), [("agent", 201), ("team_lead", 201), ("broker", 201),
                                             ("other_agent", 404), (None, 401)])
def test_enrolling_the_lead_in_a_shared_plan_by_role(who, status, request, lead):
    user = request.getfixturevalue(who) if who else None
    plan = seeded_plan(NURTURE)
    lead.stage = Stage.CONTACT
    lead.save(update_fields=["stage"])
    response = api_as(user).post(enroll_url(plan), {"lead": lead.pk}, format="json")
    assert response.status_code == status, response.content
    assert PlanEnrollment.objects.filter(lead=lead, plan=plan).exists() == (status == 201)
    if status == 404:
        # the same body as the lead's own path answers the caller
        assert response.json() == api_as(user).get(f"/api/leads/{lead.pk}/").json()
        assert response["Content-Type"] == "application/problem+json"


def test_an_enrollment_through_the_api_says_so_and_shows_its_steps(agent, lead, own_plan):
    response = api_as(agent).post(enroll_url(own_plan), {"lead": lead.pk}, format="json")
    body = response.json()
    assert response.status_code == 201
    assert (body["plan"], body["lead"], body["status"], body["source"]) == (
        own_plan.pk, lead.pk, EnrollmentStatus.ACTIVE, EnrollmentSource.API)
    assert body["plan_name"] == "Ana's calls" and body["next_due_at"] is not None and body["runs"] == []
    assert PlanEnrollment.objects.get().enrolled_by == agent


def test_the_same_lead_twice_is_a_409_with_the_reason(agent, lead, own_plan):
    client = api_as(agent)
    client.post(enroll_url(own_plan), {"lead": lead.pk}, format="json")
    response = client.post(enroll_url(own_plan), {"lead": lead.pk}, format="json")
    assert response.status_code == 409
    body = response.json()
    assert body["reasons"] == [ALREADY_IN_PLAN.format(plan="Ana's calls")]
    assert body["status"] == 409 and body["type"] == "about:blank" and body["detail"]
    assert PlanEnrollment.objects.count() == 1


def test_a_lead_outside_the_plans_stages_is_a_409_naming_them(agent, lead):
    lead.stage = Stage.CONTACT
    lead.save(update_fields=["stage"])
    response = api_as(agent).post(enroll_url(seeded_plan(DOCUMENTS_NEEDED)), {"lead": lead.pk}, format="json")
    assert response.status_code == 409
    assert "Qualify" in response.json()["reasons"][0]


def test_someone_elses_plan_is_a_404_to_enroll_in(other_agent, other_lead, own_plan):
    response = api_as(other_agent).post(enroll_url(own_plan), {"lead": other_lead.pk}, format="json")
    assert response.status_code == 404
    assert not PlanEnrollment.objects.exists()


def test_bad_input_is_a_400_naming_the_field(agent, own_plan):
    for body in ({}, {"lead": "x"}):
        response = api_as(agent).post(enroll_url(own_plan), body, format="json")
        assert response.status_code == 400
        assert "lead" in response.json()["errors"]


def test_a_lead_id_that_does_not_exist_is_a_404(agent, own_plan):
    assert api_as(agent).post(enroll_url(own_plan), {"lead": 999999}, format="json").status_code == 404


# Unenrolling ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("who", "status"), [("agent", 200), ("team_lead", 200), ("broker", 200),
                                             ("other_agent", 404), (None, 401)])
def test_unenrolling_the_lead_from_a_shared_plan_by_role(who, status, request, agent, lead):
    user = request.getfixturevalue(who) if who else None
    plan = seeded_plan(NURTURE)
    lead.stage = Stage.CONTACT
    lead.save(update_fields=["stage"])
    enrollment = lead_enroll(lead=lead, plan=plan, actor=agent)
    response = api_as(user).post(unenroll_url(plan), {"lead": lead.pk}, format="json")
    assert response.status_code == status, response.content
    enrollment.refresh_from_db()
    assert (enrollment.status == EnrollmentStatus.ENDED) == (status == 200)


def test_unenrolling_cancels_the_remaining_steps_and_says_who(agent, lead, own_plan):
    lead_enroll(lead=lead, plan=own_plan, actor=agent)
    response = api_as(agent).post(unenroll_url(own_plan), {"lead": lead.pk}, format="json")
    body = response.json()
    assert response.status_code == 200 and body["status"] == EnrollmentStatus.ENDED
    assert body["end_reason"] == "Stopped by Ana Torres."
    assert [run["status"] for run in body["runs"]] == [RunStatus.CANCELLED, RunStatus.CANCELLED]


def test_unenrolling_a_lead_not_in_the_plan_is_a_409(agent, lead, own_plan):
    response = api_as(agent).post(unenroll_url(own_plan), {"lead": lead.pk}, format="json")
    assert response.status_code == 409
    assert response.json()["reasons"] == [NOT_ENROLLED]


# A lead's plans -------------------------------------------------------------------------------


@pytest.mark.parametrize(("who", "seen"), [("agent", 1), ("team_lead", 1), ("broker", 1), ("other_agent", 0)])
def test_a_leads_plans_are_listed_to_those_who_see_the_lead(who, seen, request, agent, lead, own_plan):
    user = request.getfixturevalue(who)
    enrollment = lead_enroll(lead=lead, plan=own_plan, actor=agent)
    body = api_as(user).get(reverse("api:plan-enrollment-list"), {"lead": lead.pk}).json()
    assert len(body["results"]) == seen
    detail = api_as(user).get(reverse("api:plan-enrollment-detail", args=[enrollment.pk]))
    assert detail.status_code == (200 if seen else 404)


def test_listing_enrollments_reads_in_the_same_queries_however_many(agent, own_plan, team,
                                                                     django_assert_num_queries):
    from ...leads.factories import LeadFactory

    client = api_as(agent)
    url = reverse("api:plan-enrollment-list")
    lead_enroll(lead=LeadFactory(assigned_agent=agent, team=team), plan=own_plan, actor=agent)
    client.get(url)
    with django_assert_num_queries(3) as first:  # the token with its user, the enrollments, their runs
        client.get(url)
    for _ in range(5):
        lead_enroll(lead=LeadFactory(assigned_agent=agent, team=team), plan=own_plan, actor=agent)
    with django_assert_num_queries(len(first.captured_queries)):
        assert len(client.get(url).json()["results"]) == 6


# The schema -----------------------------------------------------------------------------------


def test_the_schema_describes_the_plan_operations_and_their_refusals(client):
    from drf_spectacular.validation import validate_schema

    schema = client.get(reverse("api-schema"), HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    validate_schema(schema)  # raises on a schema OpenAPI 3 does not allow
    paths = schema["paths"]
    assert {"/api/v1/plans", "/api/v1/plans/{id}", "/api/v1/plans/{id}/enroll", "/api/v1/plans/{id}/unenroll",
            "/api/v1/plan-enrollments", "/api/v1/plan-enrollments/{id}"} <= set(paths)
    enroll = paths["/api/v1/plans/{id}/enroll"]["post"]["responses"]
    assert {"201", "404", "409"} <= set(enroll)
    assert "application/problem+json" in enroll["409"]["content"]
