"""The plans' own pages: the list, the editor, a plan's page, deleting and copying.

Every page by every kind of user (anonymous, the other agent, the owner, a team lead, the
broker), the editor's refusals with what was typed kept, its buttons without JavaScript,
and the query counts of the list and the plan page.
"""

from datetime import time, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from pipeline.models import (
    ActionPlan,
    EnrollmentStatus,
    PauseReason,
    PlanEnrollment,
    PlanStepRun,
    RunStatus,
    StepAnchor,
    StepKind,
    TaskKind,
)
from pipeline.plans.forms import STEP_PREFIX
from pipeline.plans.selectors import NO_RULE, plan_figures, step_short, step_when
from pipeline.plans.services import SHARED_NEEDS_BROKER, StepInput, lead_enroll, plan_save
from pipeline.plans.views import NOT_SAVED_YET

from ...leads.factories import LeadFactory

TEXT = "Hi [First Name], [Agent Name] with [Brokerage]. Any news on the house?"
CALL = StepInput(kind=StepKind.TASK, task_kind=TaskKind.CALL, subject="Call [First Name]", delay_days=2)


def _task(days=0, subject="Call [First Name]"):
    return StepInput(kind=StepKind.TASK, task_kind=TaskKind.CALL, subject=subject, delay_days=days)


@pytest.fixture
def own_plan(agent):
    return plan_save(actor=agent, name="Ana's nurture", steps=[
        StepInput(kind=StepKind.TEXT, body=TEXT), CALL,
        StepInput(kind=StepKind.LETTER, body="Dear [First Name], still here when you need us.", delay_days=30)])


@pytest.fixture
def shared_plan(broker):
    return plan_save(actor=broker, name="Brokerage pre-auction", shared=True, key_date="auction", steps=[
        _task(), StepInput(kind=StepKind.TASK, task_kind=TaskKind.VISIT, subject="Visit", delay_days=7)])


def _form_data(*, name="Fresh plan", steps=(), action="", **plan):
    """The editor's POST, as the browser sends it: every row's fields, blank ones empty; the
    Save button, or a row's button (``action``)."""
    data = {"step_action": action} if action else {"save": "1"}
    data |= {"name": name, "description": "", "key_date": "", "pause_on_response": "on", "pause_call_seconds": "60",
            f"{STEP_PREFIX}-TOTAL_FORMS": str(len(steps)), f"{STEP_PREFIX}-INITIAL_FORMS": "0", **plan}
    for index, step in enumerate(steps):
        row = {"kind": "", "task_kind": "", "delay_days": "0", "delay_hours": "0", "anchor": "previous",
               "window_start": "09:00", "window_end": "17:00", "subject": "", "body": "", "position": str(index + 1),
               **step}
        data.update({f"{STEP_PREFIX}-{index}-{key}": value for key, value in row.items()})
    return data


def _is_login_redirect(response):
    return response.status_code == 302 and "/accounts/login/" in response["Location"]


# The list -------------------------------------------------------------------------------------


def test_plans_list_shows_the_brokerages_and_your_own_with_steps_and_counts(
        agent, other_agent, lead, own_plan, shared_plan, client_as):
    theirs = plan_save(actor=other_agent, name="Ollie's own", steps=[_task()])
    plan_save(actor=agent, name="Before the sale", key_date="auction", steps=[
        _task(), StepInput(kind=StepKind.LETTER, body="Dear [First Name].", delay_days=7, anchor=StepAnchor.KEY_DATE)])
    gone = plan_save(actor=agent, name="Old drip", steps=[_task()])
    gone.deleted_at = timezone.now()
    gone.save()
    lead_enroll(lead=lead, plan=own_plan, actor=agent)
    page = client_as(agent).get(reverse("plans:list")).content.decode()
    assert "Ana&#x27;s nurture" in page and "Brokerage pre-auction" in page
    assert theirs.name not in page and "Old drip" not in page
    assert "Text · Task: call (2d) · Letter (30d)" in page
    assert "Task: call · Letter (7d before auction)" in page
    assert "Task: call · Task: visit (7d)" in page
    assert '<span class="fw-semibold num">1</span> running' in page
    # an agent copies the brokerage's plan; edits their own
    assert reverse("plans:copy", args=[shared_plan.pk]) in page
    assert reverse("plans:edit", args=[own_plan.pk]) in page
    assert reverse("plans:edit", args=[shared_plan.pk]) not in page


def test_a_broker_edits_the_shared_plans_from_the_list(broker, shared_plan, client_as):
    page = client_as(broker).get(reverse("plans:list")).content.decode()
    assert reverse("plans:edit", args=[shared_plan.pk]) in page
    assert reverse("plans:copy", args=[shared_plan.pk]) not in page


def test_plan_counts_are_of_the_leads_the_agent_may_see(agent, other_agent, lead, other_lead, shared_plan,
                                                        client_as):
    lead_enroll(lead=other_lead, plan=shared_plan, actor=other_agent)
    page = client_as(agent).get(reverse("plans:list")).content.decode()
    assert '<span class="fw-semibold num">0</span> running' in page
    page = client_as(other_agent).get(reverse("plans:list")).content.decode()
    assert '<span class="fw-semibold num">1</span> running' in page


def _list_queries(client) -> int:
    client.get(reverse("plans:list"))  # the first request fills the caches
    with CaptureQueriesContext(connection) as captured:
        assert client.get(reverse("plans:list")).status_code == 200
    return len(captured)


def test_plans_list_counts_by_one_query_however_many_plans_and_leads(agent, team, lead, client_as,
                                                                     django_assert_num_queries):
    client = client_as(agent)
    plan_save(actor=agent, name="First", steps=[_task()])
    few = _list_queries(client)
    for n in range(6):
        plan = plan_save(actor=agent, name=f"Plan {n}", steps=[_task(), _task(days=3), _task(days=9)])
        lead_enroll(lead=LeadFactory(assigned_agent=agent, team=team), plan=plan, actor=agent)
    with django_assert_num_queries(few):
        page = client.get(reverse("plans:list")).content.decode()
    assert page.count("Task: call") >= 18


def test_the_nav_links_to_the_plans(agent, client_as):
    page = client_as(agent).get(reverse("pipeline:dashboard")).content.decode()
    assert f'href="{reverse("plans:list")}"' in page and "> Plans</span>" in page


# Who may open what --------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["plans:detail", "plans:edit", "plans:delete"])
def test_anonymous_is_sent_to_sign_in(name, own_plan, client_as):
    assert _is_login_redirect(client_as(None).get(reverse(name, args=[own_plan.pk])))
    assert _is_login_redirect(client_as(None).post(reverse("plans:copy", args=[own_plan.pk])))
    assert _is_login_redirect(client_as(None).get(reverse("plans:list")))
    assert _is_login_redirect(client_as(None).get(reverse("plans:new")))


@pytest.mark.parametrize("who", ["other_agent", "team_lead", "broker"])
@pytest.mark.parametrize("name", ["plans:detail", "plans:edit", "plans:delete"])
def test_an_agents_own_plan_is_a_404_to_everyone_else(who, name, own_plan, client_as, request):
    client = client_as(request.getfixturevalue(who))
    assert client.get(reverse(name, args=[own_plan.pk])).status_code == 404
    if name != "plans:detail":  # the plan's page only reads
        assert client.post(reverse(name, args=[own_plan.pk]), _form_data(steps=[{"kind": "letter", "body": "x"}])
                           ).status_code == 404
    assert client.post(reverse("plans:copy", args=[own_plan.pk])).status_code == 404
    own_plan.refresh_from_db()
    assert own_plan.deleted_at is None and own_plan.name == "Ana's nurture"


@pytest.mark.parametrize("name", ["plans:detail", "plans:edit", "plans:delete"])
def test_the_owner_opens_every_page_of_their_plan(name, agent, own_plan, client_as):
    assert client_as(agent).get(reverse(name, args=[own_plan.pk])).status_code == 200


@pytest.mark.parametrize("who", ["agent", "team_lead"])
def test_a_shared_plan_is_read_only_to_agents_and_team_leads(who, shared_plan, client_as, request):
    client = client_as(request.getfixturevalue(who))
    page = client.get(reverse("plans:detail", args=[shared_plan.pk])).content.decode()
    assert "Brokerage pre-auction" in page and reverse("plans:edit", args=[shared_plan.pk]) not in page
    assert reverse("plans:copy", args=[shared_plan.pk]) in page
    for name in ("plans:edit", "plans:delete"):
        response = client.get(reverse(name, args=[shared_plan.pk]), follow=True)
        assert response.redirect_chain[-1][0] == reverse("plans:detail", args=[shared_plan.pk])
        assert escape(SHARED_NEEDS_BROKER) in response.content.decode()
    client.post(reverse("plans:edit", args=[shared_plan.pk]), _form_data(name="Hijacked", steps=[
        {"kind": "task", "task_kind": "call", "subject": "Call"}]))
    client.post(reverse("plans:delete", args=[shared_plan.pk]), {"confirm": "delete"})
    shared_plan.refresh_from_db()
    assert shared_plan.name == "Brokerage pre-auction" and shared_plan.deleted_at is None


def test_a_broker_edits_a_shared_plan(broker, shared_plan, client_as):
    client = client_as(broker)
    page = client.get(reverse("plans:edit", args=[shared_plan.pk])).content.decode()
    assert "Brokerage pre-auction" in page and "Shared with the whole brokerage." in page
    response = client.post(reverse("plans:edit", args=[shared_plan.pk]), _form_data(
        name="Pre-auction, gentler", key_date="auction", steps=[
            {"kind": "task", "task_kind": "call", "subject": "Call [First Name]"},
            {"kind": "task", "task_kind": "visit", "subject": "Visit", "delay_days": "10", "anchor": "key_date"}]))
    assert response.status_code == 302 and response["Location"] == reverse("plans:detail", args=[shared_plan.pk])
    shared_plan.refresh_from_db()
    assert shared_plan.name == "Pre-auction, gentler" and shared_plan.is_shared and shared_plan.version == 2
    assert [step.delay_days for step in shared_plan.steps.all()] == [0, 10]


# The editor ---------------------------------------------------------------------------------


def test_a_new_plan_offers_blank_rows_and_the_merge_fields(agent, client_as):
    page = client_as(agent).get(reverse("plans:new")).content.decode()
    assert f'name="{STEP_PREFIX}-TOTAL_FORMS" value="3"' in page
    assert "[First Name]" in page and "[Status Page Link]" in page
    assert 'name="shared"' not in page  # only a broker shares


def test_an_agent_saves_a_plan_in_the_order_of_the_position_numbers(agent, client_as):
    response = client_as(agent).post(reverse("plans:new"), _form_data(
        name="Not now", stages=["contact", "qualify"], steps=[
            {"kind": "task", "task_kind": "call", "subject": "Second", "position": "2", "delay_days": "4"},
            {"kind": "text", "body": TEXT, "position": "1", "window_start": "10:00", "window_end": "18:30",
             "weekdays_only": "on"},
            {}]))  # a blank row is no step
    assert response.status_code == 302
    plan = ActionPlan.objects.get(name="Not now")
    assert plan.owner == agent and plan.stages == ["contact", "qualify"] and plan.pause_on_response
    first, second = plan.steps.all()
    assert (first.kind, first.window_start, first.window_end, first.weekdays_only) == (
        "text", time(10), time(18, 30), True)
    assert (second.subject, second.delay_days) == ("Second", 4)


def test_all_zero_delays_save_fine(agent, client_as):
    response = client_as(agent).post(reverse("plans:new"), _form_data(name="All at once", steps=[
        {"kind": "task", "task_kind": "call", "subject": "One"},
        {"kind": "task", "task_kind": "lender", "subject": "Two"},
        {"kind": "letter", "body": "Dear [First Name], we are here to help."}]))
    assert response.status_code == 302
    assert [s.delay_days + s.delay_hours for s in ActionPlan.objects.get(name="All at once").steps.all()] == [0, 0, 0]


def test_an_unknown_merge_field_is_refused_on_its_step_keeping_what_was_typed(agent, client_as):
    response = client_as(agent).post(reverse("plans:new"), _form_data(name="Typo plan", steps=[
        {"kind": "task", "task_kind": "call", "subject": "Call"},
        {"kind": "letter", "body": "Dear [Frist Name], my words stay."}]))
    assert response.status_code == 400
    page = response.content.decode()
    assert "Step 2 (print a letter): not a merge field: [Frist Name]" in page
    assert "Dear [Frist Name], my words stay." in page and 'value="Typo plan"' in page
    assert not ActionPlan.objects.filter(name="Typo plan").exists()


def test_a_prohibited_phrase_is_refused_naming_the_phrase(agent, client_as):
    response = client_as(agent).post(reverse("plans:new"), _form_data(name="Pushy", steps=[
        {"kind": "letter", "body": "Dear [First Name], we will stop the foreclosure."}]))
    assert response.status_code == 400
    page = response.content.decode()
    assert "Step 1 (print a letter): F6: not saved." in page and "stop the foreclosure" in page
    assert not ActionPlan.objects.filter(name="Pushy").exists()


def test_a_text_without_the_signature_and_a_nameless_plan_are_both_shown(agent, client_as):
    response = client_as(agent).post(reverse("plans:new"), _form_data(name="", steps=[
        {"kind": "text", "body": "Hi [First Name]"}]))
    assert response.status_code == 400
    page = response.content.decode()
    assert "This field is required." in page  # the name, by the form
    assert "Hi [First Name]" in page


def test_a_step_refusal_and_no_steps_at_all(agent, client_as):
    response = client_as(agent).post(reverse("plans:new"), _form_data(name="Empty", steps=[{}, {}]))
    assert response.status_code == 400
    assert "A plan needs at least one step." in response.content.decode()


def test_the_rows_buttons_work_without_javascript_and_save_nothing(agent, own_plan, client_as):
    client = client_as(agent)
    url = reverse("plans:edit", args=[own_plan.pk])
    steps = [{"pk": str(step.pk), "kind": step.kind, "task_kind": step.task_kind, "subject": step.subject,
              "body": step.body, "delay_days": str(step.delay_days)} for step in own_plan.steps.all()]
    # move the letter (row 3) up
    page = client.post(url, _form_data(name="Renamed", steps=steps, action="up-2")).content.decode()
    assert NOT_SAVED_YET in page and 'value="Renamed"' in page
    assert page.index("Dear [First Name], still here") < page.index("Call [First Name]")
    # add a row, then remove the first one
    page = client.post(url, _form_data(steps=steps, action="add")).content.decode()
    assert f'name="{STEP_PREFIX}-TOTAL_FORMS" value="4"' in page
    page = client.post(url, _form_data(steps=steps, action="remove-0")).content.decode()
    assert f'name="{STEP_PREFIX}-TOTAL_FORMS" value="2"' in page and "Any news on the house?" not in page
    own_plan.refresh_from_db()
    assert own_plan.name == "Ana's nurture" and own_plan.version == 1 and own_plan.steps.count() == 3


def test_editing_a_plan_with_leads_in_it_says_so(agent, lead, own_plan, client_as):
    lead_enroll(lead=lead, plan=own_plan, actor=agent)
    page = client_as(agent).get(reverse("plans:edit", args=[own_plan.pk])).content.decode()
    assert "1 lead is in this plan: your changes apply to the steps it has not run yet." in page


def test_saving_an_edit_keeps_the_steps_by_their_pk(agent, own_plan, client_as):
    steps = [{"pk": str(step.pk), "kind": step.kind, "task_kind": step.task_kind, "subject": step.subject,
              "body": step.body, "delay_days": str(step.delay_days)} for step in own_plan.steps.all()]
    kept = [step.pk for step in own_plan.steps.all()]
    steps[1]["delay_days"] = "5"
    response = client_as(agent).post(reverse("plans:edit", args=[own_plan.pk]), _form_data(
        name="Ana's nurture", steps=steps))
    assert response.status_code == 302
    assert [(s.pk, s.delay_days) for s in own_plan.steps.all()] == [(kept[0], 0), (kept[1], 5), (kept[2], 30)]


# The plan's page -----------------------------------------------------------------------------


def _enroll_with_history(plan, lead, agent):
    """An enrollment that sent one step, skipped one on a rule and one on its timing, paused by a reply."""
    enrollment = lead_enroll(lead=lead, plan=plan, actor=agent)
    steps = list(plan.steps.all())
    now = timezone.now()
    PlanStepRun.objects.create(enrollment=enrollment, step=steps[0], lead=lead, position=0, kind=steps[0].kind,
                               status=RunStatus.SENT, due_at=now)
    PlanStepRun.objects.create(enrollment=enrollment, step=steps[1], lead=lead, position=1, kind=steps[1].kind,
                               status=RunStatus.SKIPPED, due_at=now, rules=["A3", "C1"])
    PlanStepRun.objects.create(enrollment=enrollment, step=steps[2], lead=lead, position=2, kind=steps[2].kind,
                               status=RunStatus.SKIPPED, due_at=now)
    # The homeowner texts back: the reply is logged, and the plan pauses on it.
    from compliance.models import Channel, Direction
    from pipeline.models import Outcome
    from pipeline.outreach.services import outreach_log
    from tests.leads.factories import ContactFactory, PhoneFactory

    owner = lead.contacts.first() or ContactFactory(lead=lead)
    phone = owner.phones.first() or PhoneFactory(contact=owner)
    outreach_log(lead=lead, channel=Channel.SMS, contact_point=phone,
                 outcome=Outcome.REPLIED, actor=agent, role_disclosed=True, direction=Direction.INBOUND,
                 notes="Not now, thanks")
    PlanEnrollment.objects.filter(pk=enrollment.pk).update(
        status=EnrollmentStatus.PAUSED, pause_reason=PauseReason.INBOUND_TEXT, last_position=1, next_due_at=None)
    return enrollment


def test_plan_figures_count_leads_steps_skips_by_rule_and_replies(agent, team, lead, own_plan):
    _enroll_with_history(own_plan, lead, agent)
    finished = lead_enroll(lead=LeadFactory(assigned_agent=agent, team=team), plan=own_plan, actor=agent)
    PlanEnrollment.objects.filter(pk=finished.pk).update(status=EnrollmentStatus.FINISHED)
    lead_enroll(lead=LeadFactory(assigned_agent=agent, team=team), plan=own_plan, actor=agent)
    figures = plan_figures(plans=[own_plan])[own_plan.pk]
    assert (figures.enrolled, figures.active, figures.paused, figures.paused_by_response, figures.replies,
            figures.finished, figures.stopped) == (3, 1, 1, 1, 1, 1, 0)
    assert (figures.sent, figures.tasks, figures.skipped) == (1, 0, 2)
    assert figures.skipped_by_rule == {"A3": 1, "C1": 1, NO_RULE: 1}


def test_plan_figures_take_two_queries_for_any_number_of_plans(agent, lead, own_plan, shared_plan,
                                                              django_assert_num_queries):
    _enroll_with_history(own_plan, lead, agent)
    with django_assert_num_queries(2):
        figures = plan_figures(plans=[own_plan, shared_plan])
    assert figures[shared_plan.pk].enrolled == 0 and figures[own_plan.pk].enrolled == 1


def test_the_plan_page_shows_steps_in_words_figures_and_its_leads(agent, lead, own_plan, client_as):
    _enroll_with_history(own_plan, lead, agent)
    page = client_as(agent).get(reverse("plans:detail", args=[own_plan.pk])).content.decode()
    assert "2 days after the previous step, between 9:00 AM and 5:00 PM homeowner's time" in page
    assert "Any news on the house?" in page
    assert lead.property.street_line in page and "The homeowner texted back" in page
    assert 'href="/compliance/rules/#A3"' in page or ">A3<" in page


def test_the_plan_page_lists_only_the_leads_the_user_may_see(agent, other_agent, lead, other_lead, shared_plan,
                                                             client_as, broker):
    lead_enroll(lead=lead, plan=shared_plan, actor=agent)
    lead_enroll(lead=other_lead, plan=shared_plan, actor=other_agent)
    url = reverse("plans:detail", args=[shared_plan.pk])
    page = client_as(agent).get(url).content.decode()
    assert lead.property.street_line in page and other_lead.property.street_line not in page
    page = client_as(broker).get(url).content.decode()
    assert lead.property.street_line in page and other_lead.property.street_line in page


def _detail_queries(client, plan) -> int:
    client.get(reverse("plans:detail", args=[plan.pk]))  # the first request fills the caches
    with CaptureQueriesContext(connection) as captured:
        assert client.get(reverse("plans:detail", args=[plan.pk])).status_code == 200
    return len(captured)


def test_the_plan_page_costs_the_same_queries_for_one_lead_or_many(agent, team, lead, own_plan, client_as,
                                                                   django_assert_num_queries):
    client = client_as(agent)
    _enroll_with_history(own_plan, lead, agent)
    few = _detail_queries(client, own_plan)
    for _ in range(8):
        _enroll_with_history(own_plan, LeadFactory(assigned_agent=agent, team=team), agent)
    with django_assert_num_queries(few):
        client.get(reverse("plans:detail", args=[own_plan.pk]))


def test_the_plan_page_pages_its_leads(agent, team, own_plan, client_as):
    for _ in range(27):
        lead_enroll(lead=LeadFactory(assigned_agent=agent, team=team), plan=own_plan, actor=agent)
    client = client_as(agent)
    page = client.get(reverse("plans:detail", args=[own_plan.pk])).content.decode()
    assert "Page 1 of 2" in page and "27 leads" in page
    assert "Page 2 of 2" in client.get(reverse("plans:detail", args=[own_plan.pk]), {"page": 2}).content.decode()


# Deleting and copying ------------------------------------------------------------------------


def test_deleting_asks_first_then_cancels_the_leads_remaining_steps(agent, lead, own_plan, client_as):
    enrollment = lead_enroll(lead=lead, plan=own_plan, actor=agent)
    client = client_as(agent)
    page = client.get(reverse("plans:delete", args=[own_plan.pk])).content.decode()
    assert "1 lead is in this plan now." in page and "cancels the steps it has not run yet" in page
    assert client.post(reverse("plans:delete", args=[own_plan.pk])).status_code == 200  # asks again
    response = client.post(reverse("plans:delete", args=[own_plan.pk]), {"confirm": "delete"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("plans:list")
    assert "1 lead had steps left in it" in response.content.decode()
    enrollment.refresh_from_db()
    assert enrollment.status == EnrollmentStatus.ENDED and "was deleted by Ana Torres" in enrollment.end_reason
    assert PlanStepRun.objects.filter(enrollment=enrollment, status=RunStatus.CANCELLED).count() == 3
    assert client.get(reverse("plans:detail", args=[own_plan.pk])).status_code == 404


def test_a_broker_deletes_a_shared_plan(broker, shared_plan, client_as):
    response = client_as(broker).post(reverse("plans:delete", args=[shared_plan.pk]), {"confirm": "delete"})
    assert response.status_code == 302
    shared_plan.refresh_from_db()
    assert shared_plan.deleted_at is not None


def test_an_agent_saves_a_copy_of_a_shared_plan_to_edit(agent, shared_plan, client_as):
    client = client_as(agent)
    assert client.get(reverse("plans:copy", args=[shared_plan.pk])).status_code == 405
    response = client.post(reverse("plans:copy", args=[shared_plan.pk]))
    copy = ActionPlan.objects.get(owner=agent)
    assert response.status_code == 302 and response["Location"] == reverse("plans:edit", args=[copy.pk])
    assert copy.name == "Brokerage pre-auction (my copy)" and copy.steps.count() == 2
    assert copy.key_date == "auction"
    assert client.get(reverse("plans:edit", args=[copy.pk])).status_code == 200


def test_a_deleted_plan_is_a_404(agent, own_plan, client_as):
    own_plan.deleted_at = timezone.now() - timedelta(days=1)
    own_plan.save()
    client = client_as(agent)
    for name in ("plans:detail", "plans:edit", "plans:delete"):
        assert client.get(reverse(name, args=[own_plan.pk])).status_code == 404


def test_steps_say_when_they_run_counting_from_the_start_or_the_plans_date(agent):
    plan = plan_save(actor=agent, name="After the filing", key_date="filing", steps=[
        _task(), StepInput(kind=StepKind.LETTER, body="Dear [First Name].", delay_days=10, anchor=StepAnchor.KEY_DATE),
        StepInput(kind=StepKind.LETTER, body="Dear [First Name].", delay_days=3, delay_hours=4,
                  anchor=StepAnchor.START)])
    first, filing, start = plan.steps.all()
    assert step_when(first, plan=plan) == "when the plan starts"
    assert step_when(filing, plan=plan) == "10 days after the pre-foreclosure filing date"
    assert step_when(start, plan=plan) == "3 days 4 hours after the plan starts"
    assert [step_short(step, plan=plan) for step in (first, filing, start)] == [
        "Task: call", "Letter (10d after pre-foreclosure)", "Letter (3d 4h from start)"]
