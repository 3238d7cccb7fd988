"""Tags: one vocabulary per team and one for the brokerage, names unique in each whatever
their case; who may use and create which; putting them on and off a lead from its page
(htmx and plain forms) for the owner, another agent, the team lead and the broker; the
lead list's rows and its tag filter."""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.urls import reverse

from leads.models import LeadTag, Tag
from leads.models.tags import TAG_NAME_TAKEN
from leads.tags import (
    TAG_NAME_EMPTY,
    TAG_NO_TEAM,
    TAG_NOT_YOURS,
    TAG_SCOPE_NOT_YOURS,
    lead_tag_add,
    lead_tag_remove,
    tag_create,
    tag_for_name,
    tags_usable_by,
)

from ..leadcrm.factories import AgentFactory
from .factories import LeadFactory, TagFactory

pytestmark = pytest.mark.django_db


# The vocabulary ----------------------------------------------------------------------------


def test_a_name_is_unique_in_its_team_whatever_its_case(agent, team):
    tag_create(name="Vacant", team=team, actor=agent)
    with pytest.raises(ValidationError) as refused:
        tag_create(name="  vACANT ", team=team, actor=agent)
    assert TAG_NAME_TAKEN in refused.value.messages


def test_two_teams_may_each_have_the_same_word(agent, team, other_agent, other_team):
    tag_create(name="Vacant", team=team, actor=agent)
    tag_create(name="vacant", team=other_team, actor=other_agent)
    assert Tag.objects.filter(name__iexact="vacant").count() == 2


def test_the_brokerage_wide_name_is_unique_too(broker):
    tag_create(name="Probate", team=None, actor=broker)
    with pytest.raises(ValidationError) as refused:
        tag_create(name="PROBATE", team=None, actor=broker)
    assert TAG_NAME_TAKEN in refused.value.messages


def test_the_database_refuses_a_second_brokerage_wide_name_too(broker):
    """NULL teams count as one scope (``nulls_distinct=False``), not as all different."""
    from django.db import IntegrityError, transaction

    TagFactory(name="Probate")
    with pytest.raises(IntegrityError), transaction.atomic():
        Tag.objects.create(name="probate", team=None)


def test_an_agent_may_not_add_to_the_brokerage_vocabulary_or_another_team(agent, other_team):
    for scope in (None, other_team):
        with pytest.raises(ValidationError) as refused:
            tag_create(name="Mine", team=scope, actor=agent)
        assert TAG_SCOPE_NOT_YOURS in refused.value.messages


def test_an_empty_name_says_why(agent, team):
    with pytest.raises(ValidationError) as refused:
        tag_create(name="   ", team=team, actor=agent)
    assert TAG_NAME_EMPTY in refused.value.messages


def test_a_typed_name_finds_an_existing_tag_whatever_its_case(agent, team):
    brokerage = TagFactory(name="Probate")
    ours = TagFactory(name="Vacant", team=team)
    assert tag_for_name(name="probate", actor=agent) == brokerage
    assert tag_for_name(name="VACANT", actor=agent) == ours
    assert Tag.objects.count() == 2


def test_a_typed_new_name_goes_into_the_agents_team(agent, team):
    tag = tag_for_name(name="Spanish speaker", actor=agent)
    assert (tag.team, tag.created_by) == (team, agent)


def test_a_typed_new_name_by_a_broker_is_brokerage_wide(broker):
    assert tag_for_name(name="Estate sale", actor=broker).team is None


def test_an_agent_on_no_team_may_only_pick_existing_tags():
    loner = AgentFactory()
    TagFactory(name="Probate")
    assert tag_for_name(name="probate", actor=loner).name == "Probate"
    with pytest.raises(ValidationError) as refused:
        tag_for_name(name="Brand new", actor=loner)
    assert TAG_NO_TEAM in refused.value.messages


def test_another_teams_word_of_the_same_name_is_not_found_but_made_anew(agent, team, other_team):
    theirs = TagFactory(name="Vacant", team=other_team)
    mine = tag_for_name(name="vacant", actor=agent)
    assert mine != theirs and mine.team == team


def test_who_may_use_which_tags(agent, team, team_lead, other_agent, other_team, broker):
    brokerage, ours, theirs = TagFactory(), TagFactory(team=team), TagFactory(team=other_team)
    assert set(tags_usable_by(agent)) == {brokerage, ours}
    assert set(tags_usable_by(team_lead)) == {brokerage, ours}
    assert set(tags_usable_by(other_agent)) == {brokerage, theirs}
    assert set(tags_usable_by(broker)) == {brokerage, ours, theirs}


# On a lead ----------------------------------------------------------------------------------


def test_adding_a_tag_twice_keeps_one(lead, agent, team):
    tag = TagFactory(team=team)
    lead_tag_add(lead=lead, tag=tag, actor=agent)
    lead_tag_add(lead=lead, tag=tag, actor=agent)
    assert LeadTag.objects.filter(lead=lead, tag=tag).count() == 1
    assert lead_tag_remove(lead=lead, tag=tag, actor=agent) is True
    assert lead_tag_remove(lead=lead, tag=tag, actor=agent) is False


def test_another_teams_tag_may_not_go_on_a_lead(lead, agent, other_team):
    with pytest.raises(ValidationError) as refused:
        lead_tag_add(lead=lead, tag=TagFactory(team=other_team), actor=agent)
    assert TAG_NOT_YOURS in refused.value.messages
    assert not LeadTag.objects.exists()


@pytest.mark.parametrize("who", ["agent", "team_lead", "broker"])
def test_the_lead_page_shows_and_adds_and_removes_tags(who, lead, team, request, client_as):
    user = request.getfixturevalue(who)
    client = client_as(user)
    vacant = TagFactory(name="Vacant", team=team, colour="danger")
    add = reverse("pipeline:lead_tag_add", args=[lead.pk])
    response = client.post(add, {"tag": vacant.pk})
    assert response.status_code == 302 and response["Location"].endswith(f"/leads/{lead.pk}/#lead-tags")
    page = client.get(reverse("leads:detail", args=[lead.pk])).content.decode()
    assert 'id="lead-tags"' in page and '<span class="badge text-bg-danger">Vacant' in page
    client.post(reverse("pipeline:lead_tag_remove", args=[lead.pk]), {"tag": vacant.pk})
    assert not LeadTag.objects.filter(lead=lead).exists()


def test_with_htmx_the_tag_line_comes_back_alone(lead, agent, team, client_as):
    response = client_as(agent).post(reverse("pipeline:lead_tag_add", args=[lead.pk]), {"name": "Call after 5"},
                                     HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200
    assert 'id="lead-tags"' in body and "Call after 5" in body and "<html" not in body
    assert LeadTag.objects.get(lead=lead).tag.team == team


def test_a_refused_tag_says_why_in_the_line(lead, agent, client_as):
    response = client_as(agent).post(reverse("pipeline:lead_tag_add", args=[lead.pk]), {"name": "x" * 41},
                                     HTTP_HX_REQUEST="true")
    assert "at most 40 characters" in response.content.decode()
    assert not Tag.objects.exists()


def test_nothing_picked_says_so_without_javascript(lead, agent, client_as):
    client = client_as(agent)
    response = client.post(reverse("pipeline:lead_tag_add", args=[lead.pk]), {}, follow=True)
    assert "Pick a tag or type a new one." in response.content.decode()


def test_another_agents_lead_is_a_404_and_untouched(other_lead, agent, team, client_as):
    tag = TagFactory(team=team)
    client = client_as(agent)
    assert client.post(reverse("pipeline:lead_tag_add", args=[other_lead.pk]), {"tag": tag.pk}).status_code == 404
    assert client.post(reverse("pipeline:lead_tag_remove", args=[other_lead.pk]), {"tag": tag.pk}).status_code == 404
    assert not LeadTag.objects.exists()


def test_another_teams_tag_is_a_404(lead, agent, other_team, client_as):
    theirs = TagFactory(team=other_team)
    client = client_as(agent)
    assert client.post(reverse("pipeline:lead_tag_add", args=[lead.pk]), {"tag": theirs.pk}).status_code == 404
    LeadTag.objects.create(lead=lead, tag=theirs)
    assert client.post(reverse("pipeline:lead_tag_remove", args=[lead.pk]), {"tag": theirs.pk}).status_code == 404
    assert LeadTag.objects.filter(lead=lead, tag=theirs).exists()


def test_the_lead_page_hides_another_teams_tag_on_the_lead(lead, agent, other_team, client_as):
    LeadTag.objects.create(lead=lead, tag=TagFactory(name="Zebrawood", team=other_team))
    assert "Zebrawood" not in client_as(agent).get(reverse("leads:detail", args=[lead.pk])).content.decode()


# The lead list ------------------------------------------------------------------------------


def test_the_list_shows_each_rows_tags_and_filters_by_one(agent, team, client_as):
    vacant, probate = TagFactory(name="Vacant", team=team), TagFactory(name="Probate")
    tagged = [LeadFactory(assigned_agent=agent, team=team) for _ in range(3)]
    untagged = LeadFactory(assigned_agent=agent, team=team)
    for lead in tagged:
        LeadTag.objects.create(lead=lead, tag=vacant)
    LeadTag.objects.create(lead=tagged[0], tag=probate)
    client = client_as(agent)
    page = client.get(reverse("leads:list")).content.decode()
    assert page.count('<span class="badge text-bg-secondary me-1">Vacant</span>') == 3
    filtered = client.get(reverse("leads:list"), {"tag": vacant.pk}).content.decode()
    assert all(f'data-href="/leads/{lead.pk}/"' in filtered for lead in tagged)
    assert f'data-href="/leads/{untagged.pk}/"' not in filtered


def test_the_rows_tags_cost_one_query_however_many_rows(agent, team, client_as):
    from django.test.utils import CaptureQueriesContext

    tag = TagFactory(team=team)
    client = client_as(agent)

    def queries():
        client.get(reverse("leads:list"))  # warm the filter bar's cache
        with CaptureQueriesContext(connection) as captured:
            client.get(reverse("leads:list"))
        return len(captured)

    LeadTag.objects.create(lead=LeadFactory(assigned_agent=agent, team=team), tag=tag)
    few = queries()
    for _ in range(5):
        LeadTag.objects.create(lead=LeadFactory(assigned_agent=agent, team=team), tag=tag)
    assert queries() == few


def test_filtering_by_another_teams_tag_is_refused(agent, other_team, client_as, other_lead):
    theirs = TagFactory(team=other_team)
    LeadTag.objects.create(lead=other_lead, tag=theirs)
    page = client_as(agent).get(reverse("leads:list"), {"tag": theirs.pk}).content.decode()
    assert "Some filters were not understood" in page and "tag:" in page


def test_the_tag_filter_reads_from_the_tag_not_the_leads():
    """The filter's semi-join starts at ``lead_tag_by_tag``: (tag, lead), so a rare tag on a
    million leads reads its own rows only."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'lead_tag_by_tag'")
        (definition,) = cursor.fetchone()
    assert "(tag_id, lead_id)" in definition
