"""Lead routing (issue 8): by hand, round-robin by capacity, rules, the pond with its time
limit, an agent's departure, and the audit entry each one leaves."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from leadcrm.accounts.models import Brokerage, TeamMembership
from leadcrm.accounts.services import team_member_set
from leads.models import Lead, LeadAssignment, RoutingMethod, RoutingRule, RoutingTarget, Stage
from leads.routing import (
    NOT_IN_POND,
    agent_depart,
    lead_round_robin,
    lead_route_to,
    lead_to_pond,
    leads_route_by_rules,
    pond_claim,
    pond_claims_expire,
)
from pipeline.models import FollowUp

from ..leadcrm.factories import AgentFactory
from ..pipeline.factories import FollowUpFactory
from .factories import (
    ContactFactory,
    LeadFactory,
    LeadListFactory,
    PhoneFactory,
    PropertyFactory,
    RoutingRuleFactory,
)

pytestmark = pytest.mark.django_db


def unassigned(team=None, **property_fields):
    return LeadFactory(assigned_agent=None, team=team, property=PropertyFactory(**property_fields))


def audit(lead):
    return list(LeadAssignment.objects.filter(lead=lead).order_by("created_at", "pk"))


# By hand -------------------------------------------------------------------------------


def test_assigning_by_hand_records_who_and_why_and_moves_the_open_follow_ups(lead, agent, team, team_lead):
    colleague = AgentFactory()
    team_member_set(team=team, user=colleague)
    open_one = FollowUpFactory(lead=lead, assignee=agent)
    done = FollowUpFactory(lead=lead, assignee=agent, done_at=timezone.now())
    lead_route_to(lead=lead, agent=colleague, actor=team_lead, reason="Ana is on leave")
    lead.refresh_from_db()
    assert (lead.assigned_agent, lead.team) == (colleague, team)
    [entry] = audit(lead)
    assert (entry.method, entry.from_agent, entry.to_agent, entry.actor, entry.reason) == (
        RoutingMethod.MANUAL, agent, colleague, team_lead, "Ana is on leave")
    open_one.refresh_from_db(), done.refresh_from_db()
    assert open_one.assignee == colleague and done.assignee == agent


def test_a_broker_assigning_in_the_admin_leaves_an_audit_entry(lead, agent, broker, client_as, other_agent):
    page = client_as(broker).get(reverse("admin:leads_lead_change", args=[lead.pk]))
    assert page.status_code == 200
    from leads.services import lead_assign

    lead_assign(lead=lead, agent=other_agent, actor=broker, reason="Changed in the admin")
    [entry] = audit(lead)
    assert entry.to_agent == other_agent and entry.actor == broker


# Round-robin ---------------------------------------------------------------------------


def test_round_robin_gives_leads_in_proportion_to_capacity_and_skips_inactive_agents(team, team_lead):
    light, heavy, away = AgentFactory(), AgentFactory(), AgentFactory()
    for user, weight in ((light, 1), (heavy, 2), (away, 3)):
        team_member_set(team=team, user=user)
        TeamMembership.objects.filter(user=user).update(capacity_weight=weight)
    TeamMembership.objects.filter(user=away).update(is_active=False)
    TeamMembership.objects.exclude(user__in=[light, heavy, away]).filter(team=team).update(is_active=False)
    leads = [unassigned(team) for _ in range(9)]
    for lead in leads:
        lead_round_robin(lead=lead, team=team, actor=team_lead)
    got = {user: Lead.objects.filter(assigned_agent=user).count() for user in (light, heavy, away)}
    assert got == {light: 3, heavy: 6, away: 0}
    assert {entry.method for lead in leads for entry in audit(lead)} == {RoutingMethod.ROUND_ROBIN}


def test_round_robin_in_a_team_without_active_agents_says_so(team, team_lead):
    TeamMembership.objects.filter(team=team).update(is_active=False)
    with pytest.raises(ValidationError, match="no active agent"):
        lead_round_robin(lead=unassigned(team), team=team, actor=team_lead)


# Rules ---------------------------------------------------------------------------------


def test_the_first_matching_rule_by_priority_routes_each_lead_and_is_named_in_the_audit(team, agent, team_lead, broker):
    nod_list = LeadListFactory()
    RoutingRuleFactory(name="Broken Arrow to Ana", priority=10, zip_codes="74011, 74012", target=RoutingTarget.AGENT,
                       agent=agent)
    RoutingRuleFactory(name="Tulsa county round-robin", priority=20, counties="Tulsa", target=RoutingTarget.ROUND_ROBIN,
                       team=team)
    RoutingRuleFactory(name="NOD list to the pond", priority=5, lead_list=nod_list, target=RoutingTarget.POND,
                       team=team)
    RoutingRuleFactory(priority=1, target=RoutingTarget.AGENT, agent=agent, is_active=False)
    broken_arrow = unassigned(zip_code="74012", county="Tulsa")
    tulsa = unassigned(zip_code="74130", county="Tulsa")
    on_list = unassigned(zip_code="74012", county="Tulsa")
    on_list.lists.add(nod_list)
    elsewhere = unassigned(zip_code="73301", county="Travis", state="TX")

    routed = leads_route_by_rules(leads=Lead.objects.all(), actor=broker)
    assert (routed.assigned, routed.to_pond, routed.unmatched) == (2, 1, 1)
    for lead in (broken_arrow, tulsa, on_list, elsewhere):
        lead.refresh_from_db()
    assert broken_arrow.assigned_agent == agent and audit(broken_arrow)[0].rule.name == "Broken Arrow to Ana"
    assert tulsa.assigned_agent is not None and audit(tulsa)[0].rule.name == "Tulsa county round-robin"
    assert on_list.pond_since is not None and on_list.pond_team == team and on_list.assigned_agent is None
    assert elsewhere.assigned_agent is None and audit(elsewhere) == []
    # Routing again changes nothing: only unassigned leads outside the pond are routed.
    assert leads_route_by_rules(leads=Lead.objects.all(), actor=broker).assigned == 0


def test_a_rule_must_say_where_its_leads_go(broker, client_as):
    response = client_as(broker).post(reverse("leads:routing"), {
        "name": "Half a rule", "priority": 10, "is_active": "on", "target": "agent"})
    assert response.status_code == 400 and "Pick the agent" in response.content.decode()
    assert not RoutingRule.objects.exists()


# The pond ------------------------------------------------------------------------------


def test_the_pond_is_first_come_first_served_within_the_team(team, agent, other_agent, team_lead):
    lead = unassigned(team)
    lead_to_pond(lead=lead, team=team, actor=team_lead, reason="Nobody has time")
    with pytest.raises(ValidationError, match="team Heartland's pond"):
        pond_claim(lead_id=lead.pk, agent=other_agent)
    claimed = pond_claim(lead_id=lead.pk, agent=agent)
    assert claimed.assigned_agent == agent and claimed.claim_deadline == claimed.claimed_at + timedelta(hours=48)
    colleague = AgentFactory()
    team_member_set(team=team, user=colleague)
    with pytest.raises(ValidationError, match=NOT_IN_POND[:30]):
        pond_claim(lead_id=lead.pk, agent=colleague)
    assert [e.method for e in audit(lead)] == [RoutingMethod.POND_RELEASE, RoutingMethod.POND_CLAIM]


def test_an_agent_may_hold_only_so_many_unworked_claims(agent, team_lead):
    Brokerage.objects.filter(pk=Brokerage.objects.current().pk).update(pond_claim_limit=2)
    leads = [unassigned() for _ in range(3)]
    for lead in leads:
        lead_to_pond(lead=lead, team=None, actor=team_lead)
    pond_claim(lead_id=leads[0].pk, agent=agent)
    pond_claim(lead_id=leads[1].pk, agent=agent)
    with pytest.raises(ValidationError, match="limit is 2"):
        pond_claim(lead_id=leads[2].pk, agent=agent)


def test_a_claim_not_worked_in_time_goes_back_to_the_pond_and_a_logged_call_keeps_it(
        team, agent, team_lead, national_registry):
    from pipeline.outreach.services import outreach_log

    worked, idle = unassigned(team), unassigned(team)
    PhoneFactory(contact=ContactFactory(lead=worked), number="+19185550177")
    for lead in (worked, idle):
        lead_to_pond(lead=lead, team=team, actor=team_lead)
        pond_claim(lead_id=lead.pk, agent=agent)
    worked.refresh_from_db()
    outreach_log(lead=worked, channel="call", contact_point=worked.contacts.first().phones.first(),
                 outcome="no_answer", actor=agent, role_disclosed=True, purpose="short_sale_listing")
    assert pond_claims_expire(timezone.now() + timedelta(hours=47)) == 0
    assert pond_claims_expire(timezone.now() + timedelta(hours=49)) == 1
    worked.refresh_from_db(), idle.refresh_from_db()
    assert worked.assigned_agent == agent and worked.claim_deadline is None and worked.pond_since is None
    assert idle.assigned_agent is None and idle.pond_since is not None and idle.pond_team == team
    last = audit(idle)[-1]
    assert last.method == RoutingMethod.POND_RETURN and last.actor is None and "48 hours" in last.reason
    assert pond_claims_expire(timezone.now() + timedelta(hours=50)) == 0  # once


def test_claiming_through_the_page(team, agent, team_lead, client_as):
    lead = unassigned(team)
    lead_to_pond(lead=lead, team=team, actor=team_lead)
    client = client_as(agent)
    assert lead.property.street in client.get(reverse("leads:pond")).content.decode()
    response = client.post(reverse("leads:pond_claim", args=[lead.pk]))
    assert response["Location"] == reverse("leads:detail", args=[lead.pk])
    again = client_as(AgentFactory()).post(reverse("leads:pond_claim", args=[lead.pk]), follow=True)
    assert "no longer in the pond" in again.content.decode()


# Departures ----------------------------------------------------------------------------


def test_when_an_agent_leaves_their_open_leads_and_follow_ups_go_round_robin_in_one_step(team, agent, team_lead):
    stays = AgentFactory()
    team_member_set(team=team, user=stays)
    open_leads = [LeadFactory(assigned_agent=agent, team=team) for _ in range(3)]
    closed = LeadFactory(assigned_agent=agent, team=team, stage=Stage.CLOSED)
    FollowUpFactory(lead=open_leads[0], assignee=agent)
    routed = agent_depart(agent=agent, actor=team_lead, team=team)
    assert routed.assigned == 3
    assert Lead.objects.filter(assigned_agent=agent).get() == closed  # the record of a closed sale stays
    assert set(Lead.objects.filter(pk__in=[lead.pk for lead in open_leads]).values_list("assigned_agent", flat=True)) <= {
        stays.pk, team_lead.pk} | set(TeamMembership.objects.filter(team=team, is_active=True).values_list("user", flat=True))
    assert not FollowUp.objects.filter(assignee=agent, done_at__isnull=True).exists()
    assert {audit(lead)[-1].method for lead in open_leads} == {RoutingMethod.DEPARTURE}
    assert not TeamMembership.objects.get(user=agent).is_active


def test_the_departure_page_as_a_team_lead(team, agent, team_lead, client_as):
    LeadFactory(assigned_agent=agent, team=team)
    stays = AgentFactory()
    team_member_set(team=team, user=stays)
    client = client_as(team_lead)
    url = reverse("leads:departure", args=[agent.pk])
    assert "1 open lead" in client.get(url).content.decode()
    response = client.post(url, {"destination": "agent", "to_agent": stays.pk})
    assert response.status_code == 302
    assert Lead.objects.filter(assigned_agent=stays).count() == 1


def test_a_team_lead_cannot_empty_another_teams_agent(other_agent, team_lead, client_as):
    assert client_as(team_lead).get(reverse("leads:departure", args=[other_agent.pk])).status_code == 404


# Pages ---------------------------------------------------------------------------------


def test_the_workload_counts_per_stage_in_a_fixed_number_of_queries(team, agent, team_lead, client_as):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_as(team_lead)
    LeadFactory(assigned_agent=agent, team=team, stage=Stage.CONTACT)
    client.get(reverse("leads:workload"))
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("leads:workload"))
    for _ in range(5):
        extra = AgentFactory()
        team_member_set(team=team, user=extra)
        LeadFactory(assigned_agent=extra, team=team, stage=Stage.QUALIFY)
    with CaptureQueriesContext(connection) as many:
        page = client.get(reverse("leads:workload")).content.decode()
    assert len(many) == len(few)
    assert "Ana Torres" in page


def test_agents_have_no_workload_page(agent, client_as):
    assert client_as(agent).get(reverse("leads:workload")).status_code == 404


def test_assigning_one_lead_from_its_page_with_a_reason(lead, team, team_lead, client_as):
    colleague = AgentFactory()
    team_member_set(team=team, user=colleague)
    response = client_as(team_lead).post(reverse("leads:route", args=[lead.pk]), {
        "how": "agent", "agent": colleague.pk, "reason": "Speaks Spanish"}, follow=True)
    page = response.content.decode()
    assert "Speaks Spanish" in page and "By hand" in page
    lead.refresh_from_db()
    assert lead.assigned_agent == colleague


def test_routing_every_unassigned_lead_in_the_background_is_safe_to_run_twice(team, agent, broker):
    from leads.tasks import route_unassigned

    RoutingRuleFactory(target=RoutingTarget.AGENT, agent=agent)
    for _ in range(7):
        unassigned(team)
    assert route_unassigned(actor_id=broker.pk, chunk=3) == {"assigned": 7, "to_pond": 0, "unmatched": 0}
    assert route_unassigned(actor_id=broker.pk, chunk=3) == {"assigned": 0, "to_pond": 0, "unmatched": 0}
    assert Lead.objects.filter(assigned_agent=agent).count() == 7
