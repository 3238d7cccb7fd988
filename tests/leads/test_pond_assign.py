"""A team lead hands a pond lead to one of their agents, through the routing service: the
permission matrix, an agent of another team refused in words, a lead they may not see a
404, a lead claimed a moment before left with whoever claimed it."""

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from leads.models import Lead, LeadAssignment, RoutingMethod
from leads.routing import NOT_IN_POND, NOT_YOUR_AGENT, lead_to_pond, pond_claim

from ..leadcrm.factories import TeamLeadFactory
from .factories import LeadFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def pond_lead(team, team_lead):
    lead = LeadFactory(assigned_agent=None, team=team)
    lead_to_pond(lead=lead, team=team, actor=team_lead, reason="Nobody has time")
    return lead


@pytest.fixture
def other_team_lead(other_team):
    lead = TeamLeadFactory(first_name="Gus", last_name="Gulf")
    other_team.lead = lead
    other_team.save()
    return lead


def hand(client, lead, agent):
    return client.post(reverse("leads:pond_assign", args=[lead.pk]), {"agent": agent.pk if agent else ""})


def said(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


@pytest.mark.parametrize(("who", "status", "handed"), [
    ("anonymous", 302, False),
    ("agent", 403, False),  # an agent claims for themselves; handing out is a team lead's
    ("other_team_lead", 404, False),  # not a lead they may see
    ("team_lead", 302, True),
    ("broker", 302, True),
])
def test_who_may_hand_a_pond_lead_to_an_agent(who, status, handed, pond_lead, agent, request, client_as):
    user = None if who == "anonymous" else request.getfixturevalue(who)
    response = hand(client_as(user), pond_lead, agent)
    assert response.status_code == status
    pond_lead.refresh_from_db()
    assert (pond_lead.assigned_agent == agent) is handed
    assert (pond_lead.pond_since is None) is handed
    if who == "anonymous":
        assert "/accounts/login/" in response["Location"]


def test_the_handed_lead_is_the_agents_with_no_claim_clock_and_the_audit_says_who(pond_lead, agent, team, team_lead,
                                                                                  client_as):
    response = hand(client_as(team_lead), pond_lead, agent)
    assert response["Location"] == reverse("leads:pond")
    assert said(response) == [f"{pond_lead.property.street_line} is now {agent}'s to work."]
    pond_lead.refresh_from_db()
    assert (pond_lead.assigned_agent, pond_lead.team, pond_lead.pond_team) == (agent, team, None)
    assert pond_lead.claim_deadline is None
    entry = LeadAssignment.objects.filter(lead=pond_lead).latest("created_at")
    assert (entry.method, entry.actor, entry.to_agent) == (RoutingMethod.MANUAL, team_lead, agent)
    assert entry.reason == f"Handed out of the pond by {team_lead}"


def test_an_agent_of_another_team_is_refused_with_a_message(pond_lead, other_agent, team_lead, client_as):
    response = hand(client_as(team_lead), pond_lead, other_agent)
    assert response.status_code == 302
    assert said(response) == ["Not handed: " + NOT_YOUR_AGENT.format(agent=other_agent)]
    pond_lead.refresh_from_db()
    assert pond_lead.assigned_agent is None and pond_lead.pond_since is not None


def test_no_agent_picked_says_so(pond_lead, team_lead, client_as):
    response = hand(client_as(team_lead), pond_lead, None)
    assert said(response) == ["Not handed: Pick the agent to hand the lead to."]


def test_a_lead_claimed_a_moment_before_stays_with_whoever_claimed_it(pond_lead, agent, team_lead, client_as):
    from leadcrm.accounts.services import team_member_set

    from ..leadcrm.factories import AgentFactory

    colleague = AgentFactory()
    team_member_set(team=pond_lead.team, user=colleague)
    pond_claim(lead_id=pond_lead.pk, agent=colleague)
    response = hand(client_as(team_lead), pond_lead, agent)
    assert said(response) == ["Not handed: " + NOT_IN_POND]
    assert Lead.objects.get(pk=pond_lead.pk).assigned_agent == colleague


def test_a_brokerage_wide_pond_lead_is_not_a_team_leads_to_hand(agent, team_lead, broker, client_as):
    lead = LeadFactory(assigned_agent=None, team=None)
    lead_to_pond(lead=lead, team=None, actor=broker)
    assert hand(client_as(team_lead), lead, agent).status_code == 404
    assert hand(client_as(broker), lead, agent).status_code == 302
    assert Lead.objects.get(pk=lead.pk).assigned_agent == agent


def test_the_pond_page_offers_the_hand_out_only_on_leads_the_user_may_see(pond_lead, agent, team_lead, broker,
                                                                          client_as):
    everyone = LeadFactory(assigned_agent=None, team=None)
    lead_to_pond(lead=everyone, team=None, actor=broker)
    page = client_as(team_lead).get(reverse("leads:pond"))
    content = page.content.decode()
    assert reverse("leads:pond_assign", args=[pond_lead.pk]) in content
    assert reverse("leads:pond_assign", args=[everyone.pk]) not in content
    assert f'<option value="{agent.pk}">{agent}</option>' in content
    # An agent sees only Claim.
    assert "pond_assign" not in client_as(agent).get(reverse("leads:pond")).content.decode()
    assert "/assign/" not in client_as(agent).get(reverse("leads:pond")).content.decode()


def test_the_pond_pages_queries_do_not_grow_with_its_leads(team, team_lead, client_as):
    client = client_as(team_lead)

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("leads:pond")).status_code == 200
        return len(captured)

    for _ in range(2):
        lead_to_pond(lead=LeadFactory(assigned_agent=None, team=team), team=team, actor=team_lead)
    queries()
    few = queries()
    for _ in range(12):
        lead_to_pond(lead=LeadFactory(assigned_agent=None, team=team), team=team, actor=team_lead)
    assert queries() == few
