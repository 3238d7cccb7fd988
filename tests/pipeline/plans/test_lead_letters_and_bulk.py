"""A plan's letter printed from the lead page and marked mailed once; a plan started on
the leads ticked in the lead list."""

from datetime import timedelta
from html import escape

import pytest
from django.urls import reverse
from django.utils import timezone

from compliance.models import Channel
from pipeline.models import OutreachAttempt, PlanEnrollment, PlanStepRun, RunStatus, StepKind
from pipeline.plans.lead_forms import TOO_MANY
from pipeline.plans.letters import NOT_A_LETTER, plan_letter_mailed
from pipeline.plans.services import LEAD_FINISHED, NO_AGENT, StepInput, lead_enroll, plan_save
from tests.leads.factories import ContactFactory, LeadFactory, PhoneFactory

from .test_lead_card import run_due

LETTER = "Dear [First Name],\nWe are here when you need us about [Property Address].\nSincerely,"


@pytest.fixture
def letter_run(lead, agent, office):
    letter_plan = plan_save(actor=agent, name="Paper", steps=[StepInput(kind=StepKind.LETTER, body=LETTER)])
    enrollment = lead_enroll(lead=lead, plan=letter_plan, actor=agent)
    assert run_due(enrollment) == [RunStatus.TASK]
    return PlanStepRun.objects.get(enrollment=enrollment)


def test_a_letter_step_offers_print_and_mark_mailed_on_the_card(client_as, agent, lead, letter_run):
    page = client_as(agent).get(reverse("leads:detail", args=[lead.pk])).content.decode()

    assert reverse("plans:lead_letter", args=[lead.pk, letter_run.pk]) in page
    assert reverse("plans:lead_letter_mailed", args=[lead.pk, letter_run.pk]) in page
    assert letter_run.follow_up is not None and letter_run.follow_up.kind == "mail"


def test_print_page_lays_the_step_out_as_a_letter(client_as, agent, lead, letter_run):
    owner = lead.contacts.first()

    page = client_as(agent).get(reverse("plans:lead_letter", args=[lead.pk, letter_run.pk])).content.decode()

    assert f"Dear {owner.display_name}," in page and "We are here when you need us" in page
    assert page.count("Sincerely,") == 1  # the template's own closing is not printed twice
    assert "Ana Torres" in page and "Sunbelt Test Realty" in page and "Mark mailed" in page


def test_mark_mailed_logs_each_letter_once_and_completes_the_follow_up(client_as, agent, lead, letter_run):
    client = client_as(agent)
    url = reverse("plans:lead_letter_mailed", args=[lead.pk, letter_run.pk])

    first = client.post(url, follow=True).content.decode()
    second = client.post(url, HTTP_HX_REQUEST="true").content.decode()

    mailed = OutreachAttempt.objects.filter(lead=lead, channel=Channel.MAIL)
    assert mailed.count() == 1 and mailed.get().outcome == "sent" and "Paper" in mailed.get().notes
    assert "1 letter logged as mailed" in first and "Already marked as mailed" in second
    letter_run.refresh_from_db()
    assert letter_run.follow_up.done_at is not None and letter_run.attempt_id == mailed.get().pk
    page = client.get(reverse("leads:detail", args=[lead.pk])).content.decode()
    assert url not in page  # nothing left to mail


def test_mark_mailed_names_an_owner_who_may_not_be_mailed_now(agent, lead, letter_run):
    lead.contacts.update(do_not_mail=True)

    result = plan_letter_mailed(run=letter_run, actor=agent)

    assert result.logged == 0 and result.refused and not result.mailed
    letter_run.refresh_from_db()
    assert letter_run.follow_up.done_at is None  # nothing mailed: the task stays open


def test_mark_mailed_refuses_a_run_that_is_not_a_letter(client_as, agent, lead, office):
    enrollment = lead_enroll(lead=lead, plan=plan_save(actor=agent, name="Call", steps=[
        StepInput(kind=StepKind.TASK, task_kind="call", subject="Call them")]), actor=agent)
    run_due(enrollment)
    run = PlanStepRun.objects.get(enrollment=enrollment)

    response = client_as(agent).post(reverse("plans:lead_letter_mailed", args=[lead.pk, run.pk]), follow=True)

    assert NOT_A_LETTER in response.content.decode()


@pytest.mark.parametrize("who, status", [
    ("anonymous", 302), ("other_agent", 404), ("agent", 200), ("team_lead", 200), ("broker", 200)])
def test_letter_print_permission_matrix(request, client_as, lead, letter_run, who, status):
    user = None if who == "anonymous" else request.getfixturevalue(who)

    assert client_as(user).get(reverse("plans:lead_letter", args=[lead.pk, letter_run.pk])).status_code == status


@pytest.mark.parametrize("who, status", [
    ("anonymous", 302), ("other_agent", 404), ("agent", 302), ("team_lead", 302), ("broker", 302)])
def test_letter_mailed_permission_matrix(request, client_as, lead, letter_run, who, status):
    user = None if who == "anonymous" else request.getfixturevalue(who)

    response = client_as(user).post(reverse("plans:lead_letter_mailed", args=[lead.pk, letter_run.pk]))

    assert response.status_code == status
    assert OutreachAttempt.objects.filter(lead=lead, channel=Channel.MAIL).exists() == (status == 302 and user is not None)


def test_a_letter_run_of_another_lead_in_the_url_is_404(client_as, agent, team, lead, letter_run):
    mine_too = LeadFactory(assigned_agent=agent, team=team)

    assert client_as(agent).get(reverse("plans:lead_letter", args=[mine_too.pk, letter_run.pk])).status_code == 404
    assert client_as(agent).post(
        reverse("plans:lead_letter_mailed", args=[mine_too.pk, letter_run.pk])).status_code == 404


# Bulk --------------------------------------------------------------------------------------------


def _leads(agent, team, count):
    leads = []
    for _ in range(count):
        lead = LeadFactory(assigned_agent=agent, team=team)
        PhoneFactory(contact=ContactFactory(lead=lead))
        leads.append(lead)
    return leads


@pytest.fixture
def shared(broker, office):
    return plan_save(actor=broker, name="Nurture", shared=True, steps=[
        StepInput(kind=StepKind.TASK, task_kind="call", subject="Call them")])


def test_bulk_start_puts_in_the_enrollable_and_lists_every_refused_lead_with_why(client_as, agent, team, team_lead,
                                                                                 shared):
    plan = shared
    ok = _leads(agent, team, 2)
    nobody = LeadFactory(assigned_agent=None, team=team)
    closed = LeadFactory(assigned_agent=agent, team=team, stage="closed")
    already = _leads(agent, team, 1)[0]
    lead_enroll(lead=already, plan=plan, actor=agent)
    client = client_as(team_lead)  # who sees the team's unassigned leads too

    response = client.post(reverse("plans:bulk_start"), {
        "plan": plan.pk, "leads": [lead.pk for lead in [*ok, nobody, closed, already]], "action": "plan"})

    assert response.status_code == 302 and response.url == reverse("plans:bulk_result")
    page = client.get(response.url).content.decode()
    assert "“Nurture”: 2 leads put in" in page and "3 not put in, and why" in page
    for reason in (NO_AGENT, LEAD_FINISHED, "already in “Nurture”"):
        assert escape(reason) in page
    for lead in (nobody, closed, already):
        assert reverse("leads:detail", args=[lead.pk]) in page
    assert PlanEnrollment.objects.filter(plan=plan, source="bulk").count() == 2
    # a reload shows the result again and starts nothing
    assert client.get(response.url).status_code == 200
    assert PlanEnrollment.objects.filter(plan=plan).count() == 3


def test_bulk_start_on_every_lead_matching_the_filter(client_as, agent, team, plan):
    mine = _leads(agent, team, 3)

    response = client_as(agent).post(reverse("plans:bulk_start"), {
        "plan": plan.pk, "all_matching": "on", "query": "order=score"}, follow=True)

    assert "3 leads put in" in response.content.decode()
    assert set(PlanEnrollment.objects.values_list("lead_id", flat=True)) == {lead.pk for lead in mine}


def test_bulk_start_on_every_matching_lead_is_bounded(client_as, agent, team, plan, monkeypatch):
    monkeypatch.setattr("pipeline.plans.lead_views.MAX_LEADS", 2)
    _leads(agent, team, 3)

    response = client_as(agent).post(reverse("plans:bulk_start"), {
        "plan": plan.pk, "all_matching": "on", "query": ""}, follow=True)

    assert TOO_MANY.format(limit=2) in response.content.decode()
    assert not PlanEnrollment.objects.exists()


def test_bulk_start_with_a_lead_the_user_may_not_see_is_404(client_as, agent, team, other_lead, plan):
    mine = _leads(agent, team, 1)

    response = client_as(agent).post(reverse("plans:bulk_start"), {
        "plan": plan.pk, "leads": [mine[0].pk, other_lead.pk]})

    assert response.status_code == 404 and not PlanEnrollment.objects.exists()


def test_bulk_matching_reads_only_the_users_own_leads(client_as, agent, team, other_lead, plan):
    _leads(agent, team, 1)

    client_as(agent).post(reverse("plans:bulk_start"), {"plan": plan.pk, "all_matching": "on", "query": ""})

    assert not PlanEnrollment.objects.filter(lead=other_lead).exists()


@pytest.mark.parametrize("who, status", [
    ("anonymous", 302), ("other_agent", 404), ("agent", 302), ("team_lead", 302), ("broker", 302)])
def test_bulk_start_permission_matrix(request, client_as, lead, shared, who, status):
    user = None if who == "anonymous" else request.getfixturevalue(who)

    response = client_as(user).post(reverse("plans:bulk_start"), {"plan": shared.pk, "leads": [lead.pk]})

    assert response.status_code == status


def test_lead_list_offers_start_an_action_plan(client_as, agent, lead, plan):
    page = client_as(agent).get(reverse("leads:list")).content.decode()

    assert "Start an action plan" in page and reverse("plans:bulk_start") in page and "Nurture" in page


def test_bulk_result_without_a_run_says_so(client_as, agent):
    page = client_as(agent).get(reverse("plans:bulk_result")).content.decode()

    assert "Nothing to show" in page


def test_nothing_is_ever_due_before_now(agent, lead, plan):
    enrollment = lead_enroll(lead=lead, plan=plan, actor=agent)
    assert enrollment.next_due_at >= timezone.now() - timedelta(minutes=1)
