"""Users and teams through the API: the people the caller may see and assign to, as on the
pages, and nothing secret about them."""

import pytest
from django.urls import reverse

from leadcrm.accounts.services import team_member_set

from ...leadcrm.factories import AgentFactory, TeamFactory
from .test_api import api_as

pytestmark = pytest.mark.django_db


def ids(client, name="api:user-list", **params) -> set[int]:
    response = client.get(reverse(name), params)
    assert response.status_code == 200, response.json()
    return {row["id"] for row in response.json()["results"]}


def test_an_agent_sees_themself_a_team_lead_their_team_a_broker_everyone(agent, team_lead, other_agent, broker):
    everyone = {agent.pk, team_lead.pk, other_agent.pk, broker.pk, other_agent.team_membership.team.lead_id}
    assert ids(api_as(agent)) == {agent.pk}
    assert ids(api_as(team_lead)) == {team_lead.pk, agent.pk}
    assert ids(api_as(broker)) == everyone


def test_a_user_is_their_name_role_and_teams_and_no_secret(agent, team, team_lead):
    body = api_as(team_lead).get(reverse("api:user-detail", args=[agent.pk])).json()
    assert body == {"id": agent.pk, "username": agent.username, "name": "Ana Torres", "first_name": "Ana",
                    "last_name": "Torres", "email": agent.email, "role": "agent", "team_ids": [team.pk],
                    "led_team_ids": [], "is_active": True}
    lead = api_as(team_lead).get(reverse("api:user-me")).json()
    assert (lead["id"], lead["role"], lead["team_ids"], lead["led_team_ids"]) == (team_lead.pk, "team_lead", [],
                                                                                 [team.pk])


def test_me_is_the_caller(agent, broker):
    assert api_as(agent).get(reverse("api:user-me")).json()["id"] == agent.pk
    assert api_as(broker).get(reverse("api:user-me")).json()["role"] == "broker"


def test_someone_the_caller_may_not_see_is_a_404(agent, team_lead, other_agent):
    assert api_as(agent).get(reverse("api:user-detail", args=[team_lead.pk])).status_code == 404
    assert api_as(team_lead).get(reverse("api:user-detail", args=[other_agent.pk])).status_code == 404


def test_assignable_leaves_out_who_left(agent, team, team_lead):
    departed = AgentFactory(is_active=False)
    team_member_set(team=team, user=departed)
    client = api_as(team_lead)
    assert ids(client) == {team_lead.pk, agent.pk, departed.pk}
    assert ids(client, assignable="true") == {team_lead.pk, agent.pk}
    assert ids(client, assignable="false") == {departed.pk}


def test_teams_a_team_lead_leads_and_every_one_for_a_broker(agent, team, team_lead, other_team, broker):
    assert ids(api_as(agent), "api:team-list") == set()
    assert ids(api_as(team_lead), "api:team-list") == {team.pk}
    assert ids(api_as(broker), "api:team-list") == {team.pk, other_team.pk}
    assert api_as(team_lead).get(reverse("api:team-detail", args=[other_team.pk])).status_code == 404
    assert api_as(agent).get(reverse("api:team-detail", args=[team.pk])).status_code == 404


def test_a_teams_detail_names_its_members(agent, team, team_lead):
    body = api_as(team_lead).get(reverse("api:team-detail", args=[team.pk])).json()
    assert (body["name"], body["lead_id"], body["lead_name"]) == ("Heartland", team_lead.pk, "Tess Lead")
    assert [(m["id"], m["name"], m["is_active"]) for m in body["members"]] == [(agent.pk, "Ana Torres", True)]


def test_the_lists_read_in_a_fixed_number_of_queries(agent, team, broker, django_assert_max_num_queries):
    client = api_as(broker)
    client.get(reverse("api:user-me"))  # the token's first use is recorded once
    with django_assert_max_num_queries(10) as few_users:
        client.get(reverse("api:user-list"))
    with django_assert_max_num_queries(10) as few_teams:
        client.get(reverse("api:team-list"))
    for _ in range(5):
        team_member_set(team=TeamFactory(), user=AgentFactory())
    with django_assert_max_num_queries(len(few_users.captured_queries)):
        assert len(client.get(reverse("api:user-list")).json()["results"]) > 10
    with django_assert_max_num_queries(len(few_teams.captured_queries)):
        assert len(client.get(reverse("api:team-list")).json()["results"]) == 6
