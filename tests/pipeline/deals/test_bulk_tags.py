"""Tagging in bulk from the lead list's bulk bar: adding and taking off a tag on every
ticked lead at once, a forged lead or another team's tag a 404 that changes nothing."""

import pytest
from django.urls import reverse

from leads.models import LeadTag
from pipeline.deals.bulk import bulk_action_allowed

from ...leads.factories import LeadFactory, TagFactory

pytestmark = pytest.mark.django_db


def bulk(client, leads, action, **data):
    return client.post(reverse("pipeline:bulk"), {"leads": [lead.pk for lead in leads], "action": action,
                                                  "next": reverse("leads:list"), **data}, follow=True)


@pytest.mark.parametrize("who", ["agent", "team_lead", "broker"])
def test_anyone_who_works_the_list_may_tag_in_bulk(who, request):
    user = request.getfixturevalue(who)
    assert bulk_action_allowed(user=user, action="tag_add") and bulk_action_allowed(user=user, action="tag_remove")


def test_a_tag_goes_on_every_ticked_lead_and_comes_off(agent, team, client_as):
    leads = [LeadFactory(assigned_agent=agent, team=team) for _ in range(3)]
    vacant = TagFactory(name="Vacant", team=team)
    LeadTag.objects.create(lead=leads[0], tag=vacant)  # had it already: still one row
    client = client_as(agent)
    page = bulk(client, leads, "tag_add", tag=vacant.pk).content.decode()
    assert "Tagged “Vacant”: 3 leads." in page
    assert sorted(LeadTag.objects.filter(tag=vacant).values_list("lead_id", flat=True)) == [x.pk for x in leads]
    page = bulk(client, leads[:2], "tag_remove", tag=vacant.pk).content.decode()
    assert "“Vacant” taken off 2 leads." in page
    assert list(LeadTag.objects.filter(tag=vacant).values_list("lead_id", flat=True)) == [leads[2].pk]


def test_the_team_lead_tags_their_agents_leads_with_the_brokerages_tag(agent, team, team_lead, client_as):
    leads = [LeadFactory(assigned_agent=agent, team=team) for _ in range(2)]
    probate = TagFactory(name="Probate")
    bulk(client_as(team_lead), leads, "tag_add", tag=probate.pk)
    assert LeadTag.objects.filter(tag=probate).count() == 2


def test_no_tag_picked_says_so_and_does_nothing(lead, agent, client_as):
    page = bulk(client_as(agent), [lead], "tag_add").content.decode()
    assert "Nothing done: Pick the tag." in page
    assert not LeadTag.objects.exists()


def test_another_teams_tag_is_a_404(lead, agent, other_team, client_as):
    theirs = TagFactory(team=other_team)
    assert bulk(client_as(agent), [lead], "tag_add", tag=theirs.pk).status_code == 404
    assert not LeadTag.objects.exists()


def test_a_forged_lead_among_the_ticked_is_a_404_for_all(lead, other_lead, agent, team, client_as):
    tag = TagFactory(team=team)
    assert bulk(client_as(agent), [lead, other_lead], "tag_add", tag=tag.pk).status_code == 404
    assert not LeadTag.objects.exists()


def test_the_bulk_bar_offers_the_users_tags_only(lead, agent, team, other_team, client_as):
    TagFactory(name="Ours", team=team)
    TagFactory(name="Theirs", team=other_team)
    page = client_as(agent).get(reverse("leads:list")).content.decode()
    assert '<option value="tag_add">Add a tag</option>' in page
    assert ">Ours</option>" in page and "Theirs" not in page
