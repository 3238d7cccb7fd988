"""A plan's automations pages: who may see and change what, the form asking only what the
trigger needs (without JavaScript), its refusals as form errors, and the list's queries."""

import pytest
from django.urls import reverse

from leads.models import Stage
from pipeline.models import KeyDate, PlanAutomation, StepKind, TaskKind, TriggerKind
from pipeline.plans import automations
from pipeline.plans.automations import automation_pause, automation_save
from pipeline.plans.services import StepInput, plan_save

from ...leads.factories import LeadListFactory, TagFactory

ANON, OTHER, OWNER, TEAM_LEAD, BROKER = "anonymous", "other agent", "owner", "team lead", "broker"


def call_step():
    return StepInput(kind=StepKind.TASK, task_kind=TaskKind.CALL, subject="Call [First Name]")


@pytest.fixture
def plan(agent):
    return plan_save(actor=agent, name="Check in", steps=[call_step()])


@pytest.fixture
def shared_plan(broker):
    return plan_save(actor=broker, name="Brokerage nurture", shared=True, steps=[call_step()])


@pytest.fixture
def automation(agent, plan):
    return automation_save(actor=agent, plan=plan, trigger=TriggerKind.STAGE_ENTERED, stage=Stage.CONTACT)


@pytest.fixture
def shared_automation(broker, shared_plan):
    return automation_save(actor=broker, plan=shared_plan, trigger=TriggerKind.DATE_APPROACHING,
                           date_kind=KeyDate.AUCTION, days=14, shared=True)


@pytest.fixture
def people(agent, other_agent, team_lead, broker):
    return {ANON: None, OTHER: other_agent, OWNER: agent, TEAM_LEAD: team_lead, BROKER: broker}


def is_login(response):
    return response.status_code == 302 and "/login/" in response["Location"]


# Who may use what -----------------------------------------------------------------------------


@pytest.mark.parametrize(("role", "status"), [(ANON, "login"), (OTHER, 404), (OWNER, 200), (TEAM_LEAD, 404),
                                              (BROKER, 404)])
@pytest.mark.parametrize("name", ["plans:automations", "plans:automation_new"])
def test_an_agents_own_plan_automation_pages_are_theirs_alone(client_as, people, plan, automation, role, status, name):
    response = client_as(people[role]).get(reverse(name, args=[plan.pk]))

    assert is_login(response) if status == "login" else response.status_code == status


@pytest.mark.parametrize(("role", "status"), [(ANON, "login"), (OTHER, 404), (OWNER, 200), (TEAM_LEAD, 404),
                                              (BROKER, 404)])
@pytest.mark.parametrize("name", ["plans:automation_edit", "plans:automation_delete"])
def test_an_agents_automation_is_changed_by_them_alone(client_as, people, plan, automation, role, status, name):
    response = client_as(people[role]).get(reverse(name, args=[plan.pk, automation.pk]))

    assert is_login(response) if status == "login" else response.status_code == status


@pytest.mark.parametrize(("role", "status"), [(ANON, "login"), (OTHER, 404), (OWNER, 302), (TEAM_LEAD, 404),
                                              (BROKER, 404)])
@pytest.mark.parametrize("name", ["plans:automation_pause", "plans:automation_delete"])
def test_pausing_and_deleting_an_agents_automation_is_theirs_alone(client_as, people, plan, automation, role, status,
                                                                   name):
    response = client_as(people[role]).post(reverse(name, args=[plan.pk, automation.pk]))

    assert is_login(response) if status == "login" else response.status_code == status
    assert PlanAutomation.objects.filter(pk=automation.pk, is_active=True).exists() == (role != OWNER)


@pytest.mark.parametrize(("role", "status"), [(ANON, "login"), (OTHER, 403), (OWNER, 403), (TEAM_LEAD, 403),
                                              (BROKER, 200)])
def test_a_shared_automation_is_seen_by_everyone_and_changed_by_a_broker(client_as, people, shared_plan,
                                                                         shared_automation, role, status):
    client = client_as(people[role])
    listed = client.get(reverse("plans:automations", args=[shared_plan.pk]))
    response = client.get(reverse("plans:automation_edit", args=[shared_plan.pk, shared_automation.pk]))
    paused = client.post(reverse("plans:automation_pause", args=[shared_plan.pk, shared_automation.pk]))

    if status == "login":
        assert is_login(listed) and is_login(response) and is_login(paused)
        return
    assert listed.status_code == 200 and "14 days before the auction" in listed.content.decode()
    assert response.status_code == status
    assert paused.status_code == (302 if role == BROKER else 403)


def test_the_list_shows_the_users_own_and_the_shared_automations_in_words(client_as, agent, other_agent, broker,
                                                                          shared_plan, shared_automation, lead):
    automation_save(actor=agent, plan=shared_plan, trigger=TriggerKind.NO_CONTACT, days=30, stage=Stage.CONTACT)
    automation_save(actor=other_agent, plan=shared_plan, trigger=TriggerKind.STAGE_ENTERED, stage=Stage.QUALIFY)

    page = client_as(agent).get(reverse("plans:automations", args=[shared_plan.pk])).content.decode()

    assert "No conversation for 30 days in Contact" in page and "Your leads" in page
    assert "14 days before the auction" in page and "Every lead of the brokerage" in page
    assert "When a lead enters Qualify" not in page  # Ollie's own
    assert "Only a broker changes it" in page


def test_the_list_says_when_each_last_ran_how_many_it_started_and_which_are_paused(client_as, agent, plan, automation,
                                                                                   lead):
    from pipeline.plans.services import lead_enroll

    lead_enroll(lead=lead, plan=plan, actor=None, source="automation", automation=automation, trigger_key="k")
    paused = automation_save(actor=agent, plan=plan, trigger=TriggerKind.NO_CONTACT, days=30)
    automation_pause(automation=paused, actor=agent)

    page = client_as(agent).get(reverse("plans:automations", args=[plan.pk])).content.decode()

    assert "When a lead enters Contact" in page and "1</span> lead started" in page and "not run yet" in page
    assert "Paused" in page and "Switch on" in page


def test_a_deleted_plans_automations_page_is_gone(client_as, agent, plan, automation):
    from pipeline.plans.services import plan_delete

    plan_delete(plan=plan, actor=agent)

    assert client_as(agent).get(reverse("plans:automations", args=[plan.pk])).status_code == 404


# The user, the plan, the automations with their counts (one grouped query), and the
# page frame's own two (the DNC procedures banner, the unread notifications).
QUERIES = 5


def test_the_list_reads_the_same_few_rows_however_many_automations(client_as, agent, plan, shared_plan, team,
                                                                   django_assert_num_queries):
    client = client_as(agent)
    url = reverse("plans:automations", args=[plan.pk])
    automation_save(actor=agent, plan=plan, trigger=TriggerKind.TAG_ADDED, tag=TagFactory(team=team))
    client.get(url)  # the session and caches settle
    with django_assert_num_queries(QUERIES):
        client.get(url)
    automation_save(actor=agent, plan=plan, trigger=TriggerKind.TAG_ADDED, tag=TagFactory(team=team))
    automation_save(actor=agent, plan=plan, trigger=TriggerKind.LIST_IMPORTED,
                    lead_list=LeadListFactory(created_by=agent))
    automation_save(actor=agent, plan=plan, trigger=TriggerKind.NO_CONTACT, days=9, stage=Stage.LIST)
    with django_assert_num_queries(QUERIES):
        response = client.get(url)
    assert response.content.decode().count('id="automation-') == 4


# The form ---------------------------------------------------------------------------------------


def test_a_new_automation_starts_by_asking_what_starts_the_plan(client_as, agent, plan):
    page = client_as(agent).get(reverse("plans:automation_new", args=[plan.pk])).content.decode()

    assert page.count('name="trigger"') == len(TriggerKind.choices)
    assert 'method="get"' in page and 'name="days"' not in page


@pytest.mark.parametrize(("trigger", "asked", "not_asked"), [
    (TriggerKind.STAGE_ENTERED, ["stage"], ["days", "lead_list", "tag", "date_kind"]),
    (TriggerKind.LIST_IMPORTED, ["lead_list"], ["days", "stage", "tag", "date_kind"]),
    (TriggerKind.TAG_ADDED, ["tag"], ["days", "stage", "lead_list", "date_kind"]),
    (TriggerKind.DATE_APPROACHING, ["date_kind", "days"], ["stage", "lead_list", "tag"]),
    (TriggerKind.NO_CONTACT, ["days", "stage"], ["lead_list", "tag", "date_kind"]),
])
def test_the_form_asks_only_what_the_trigger_needs(client_as, agent, plan, trigger, asked, not_asked):
    page = client_as(agent).get(reverse("plans:automation_new", args=[plan.pk]), {"trigger": trigger}).content.decode()

    for field in asked:
        assert f'name="{field}"' in page
    for field in not_asked + ["scope"]:  # an agent's automation is on their own leads
        assert f'name="{field}"' not in page


def test_a_broker_on_a_shared_plan_chooses_whose_leads(client_as, broker, shared_plan):
    page = client_as(broker).get(reverse("plans:automation_new", args=[shared_plan.pk]),
                                 {"trigger": TriggerKind.NO_CONTACT}).content.decode()

    assert 'name="scope"' in page and "Every lead of the brokerage" in page


def test_an_unknown_trigger_asks_again(client_as, agent, plan):
    client = client_as(agent)
    url = reverse("plans:automation_new", args=[plan.pk])

    assert client.get(url, {"trigger": "moon_phase"}).content.decode().count('name="trigger"') == 5
    response = client.post(url, {"trigger": "moon_phase"})
    assert response.status_code == 400 and automations.TRIGGER_NEEDED in response.content.decode()


def test_saving_a_stage_automation_switches_it_on_and_goes_back_to_the_list(client_as, agent, plan):
    response = client_as(agent).post(reverse("plans:automation_new", args=[plan.pk]),
                                     {"trigger": TriggerKind.STAGE_ENTERED, "stage": Stage.QUALIFY, "name": "Qualified"})

    assert response.status_code == 302 and response["Location"] == reverse("plans:automations", args=[plan.pk])
    saved = PlanAutomation.objects.get()
    assert (saved.plan, saved.owner, saved.stage, saved.name, saved.is_active) == (
        plan, agent, Stage.QUALIFY, "Qualified", True)


@pytest.mark.parametrize(("data", "message"), [
    ({"trigger": TriggerKind.STAGE_ENTERED}, automations.STAGE_NEEDED),
    ({"trigger": TriggerKind.NO_CONTACT, "days": "0"}, automations.DAYS_RANGE),
    ({"trigger": TriggerKind.NO_CONTACT, "days": "366"}, automations.DAYS_RANGE),
    ({"trigger": TriggerKind.DATE_APPROACHING, "days": "14"}, automations.DATE_KIND_NEEDED),
    ({"trigger": TriggerKind.TAG_ADDED}, automations.TAG_NEEDED),
    ({"trigger": TriggerKind.LIST_IMPORTED}, automations.LIST_NEEDED),
])
def test_what_the_trigger_needs_is_asked_for_on_the_form(client_as, agent, plan, data, message):
    response = client_as(agent).post(reverse("plans:automation_new", args=[plan.pk]), data)

    assert response.status_code == 400
    assert message in response.content.decode().replace("&#x27;", "'")
    assert not PlanAutomation.objects.exists()


def test_another_agents_list_or_another_teams_tag_cannot_be_picked(client_as, agent, other_agent, other_team, plan):
    client = client_as(agent)
    url = reverse("plans:automation_new", args=[plan.pk])

    their_list = LeadListFactory(created_by=other_agent, name="Ollie's pull")
    response = client.post(url, {"trigger": TriggerKind.LIST_IMPORTED, "lead_list": their_list.pk})
    assert response.status_code == 400 and automations.LIST_NEEDED in response.content.decode()
    assert "Ollie&#x27;s pull" not in response.content.decode()

    their_tag = TagFactory(team=other_team, name="Gulf only")
    response = client.post(url, {"trigger": TriggerKind.TAG_ADDED, "tag": their_tag.pk})
    assert response.status_code == 400 and "Gulf only" not in response.content.decode()


def test_a_service_refusal_shows_on_the_form(client_as, agent, plan, monkeypatch):
    from django.core.exceptions import ValidationError

    from pipeline.plans import automation_views

    def refuse(**kwargs):
        raise ValidationError({"days": "Refused by the service."})

    monkeypatch.setattr(automation_views, "automation_save", refuse)
    response = client_as(agent).post(reverse("plans:automation_new", args=[plan.pk]),
                                     {"trigger": TriggerKind.NO_CONTACT, "days": "30"})

    assert response.status_code == 400 and "Refused by the service." in response.content.decode()


def test_editing_keeps_the_trigger_and_can_change_it_without_javascript(client_as, agent, plan, automation):
    client = client_as(agent)
    url = reverse("plans:automation_edit", args=[plan.pk, automation.pk])

    page = client.get(url).content.decode()
    assert 'value="contact" selected' in page and "Change what starts it" in page
    assert client.get(url, {"trigger": automation.trigger, "change": "1"}).content.decode().count(
        'name="trigger"') == 5
    assert 'name="days"' in client.get(url, {"trigger": TriggerKind.NO_CONTACT}).content.decode()

    response = client.post(url, {"trigger": TriggerKind.NO_CONTACT, "days": "21"})

    assert response.status_code == 302
    automation.refresh_from_db()
    assert (automation.trigger, automation.days, automation.stage) == (TriggerKind.NO_CONTACT, 21, "")


def test_a_broker_saves_a_brokerage_wide_automation(client_as, broker, shared_plan):
    client_as(broker).post(reverse("plans:automation_new", args=[shared_plan.pk]),
                           {"trigger": TriggerKind.NO_CONTACT, "days": "60", "scope": "shared"})

    assert PlanAutomation.objects.get().owner is None


def test_an_agent_posting_whose_leads_still_saves_their_own(client_as, agent, shared_plan):
    client_as(agent).post(reverse("plans:automation_new", args=[shared_plan.pk]),
                          {"trigger": TriggerKind.NO_CONTACT, "days": "60", "scope": "shared"})

    assert PlanAutomation.objects.get().owner == agent


# Pause, switch on, delete ------------------------------------------------------------------------


def test_pause_and_switch_on_from_the_list(client_as, agent, plan, automation):
    client = client_as(agent)

    assert client.get(reverse("plans:automation_pause", args=[plan.pk, automation.pk])).status_code == 405
    response = client.post(reverse("plans:automation_pause", args=[plan.pk, automation.pk]), follow=True)
    assert "Paused: When a lead enters Contact" in response.content.decode()
    automation.refresh_from_db()
    assert not automation.is_active
    again = client.post(reverse("plans:automation_pause", args=[plan.pk, automation.pk]), follow=True)
    assert automations.ALREADY_OFF in again.content.decode()
    client.post(reverse("plans:automation_resume", args=[plan.pk, automation.pk]))
    automation.refresh_from_db()
    assert automation.is_active


def test_delete_asks_first_then_deletes(client_as, agent, plan, automation):
    client = client_as(agent)
    url = reverse("plans:automation_delete", args=[plan.pk, automation.pk])

    page = client.get(url).content.decode()
    assert "Delete this automation?" in page and "When a lead enters Contact" in page
    response = client.post(url)

    assert response.status_code == 302 and not PlanAutomation.objects.exists()
