"""Saved searches and the dashboard's smart lists: saving a lead-list filter checked
through the list's own filter, renaming, sharing and deleting one's own (anyone else's a
404), shared with the team only, and each count of the viewer's own leads equal to the
rows behind its link, capped, in a constant number of queries."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from leadcrm.accounts.services import team_member_set
from leads.models import LeadTag, SavedSearch, Stage
from leads.models.tags import SEARCH_NAME_TAKEN
from pipeline.workspace.smart_lists import (
    SEARCH_NOTHING_TO_SAVE,
    SEARCH_TEAM_NOT_YOURS,
    saved_search_create,
    search_query_clean,
    smart_lists,
)

from ...helpers import count_links, rows_behind
from ...leadcrm.factories import AgentFactory
from ...leads.factories import (
    LeadFactory,
    LeadListFactory,
    ListMembershipFactory,
    SavedSearchFactory,
    TagFactory,
)

pytestmark = pytest.mark.django_db


def save(client, query, name="Hot ones", **extra):
    return client.post(reverse("pipeline:search_save"), {"name": name, "query": query, **extra}, follow=True)


# Saving ---------------------------------------------------------------------------------------


def test_a_saved_query_keeps_what_the_list_understands_and_names_the_rest(agent, team, other_team, client_as):
    theirs = TagFactory(team=other_team)
    response = save(client_as(agent), f"stage=contact&bogus=1&min_score=lots&page=3&tag={theirs.pk}&order=newest")
    search = SavedSearch.objects.get(owner=agent)
    assert search.query == "stage=contact&order=newest"
    page = response.content.decode()
    assert "Left out, as the lead list does not understand them: bogus, min_score, tag." in page
    assert response.redirect_chain[-1][0] == reverse("leads:list") + "?stage=contact&order=newest"


def test_the_query_is_kept_in_the_filters_order_whatever_the_urls(agent):
    assert search_query_clean(query="min_score=40&stage=qualify", user=agent) == ("stage=qualify&min_score=40", [])


def test_a_search_with_no_filter_is_refused_and_says_why(agent, client_as):
    page = save(client_as(agent), "bogus=1").content.decode()
    assert SEARCH_NOTHING_TO_SAVE in page
    assert not SavedSearch.objects.exists()


def test_the_same_name_twice_is_refused_whatever_its_case(agent, client_as):
    client = client_as(agent)
    save(client, "stage=contact", name="Hot ones")
    page = save(client, "stage=qualify", name="HOT ONES").content.decode()
    assert SEARCH_NAME_TAKEN in page
    assert SavedSearch.objects.count() == 1


def test_a_search_may_be_shared_only_with_the_users_own_team(agent, team, other_team, client_as):
    client = client_as(agent)
    page = save(client, "stage=contact", team=other_team.pk).content.decode()
    assert "You may only share a search with a team you work in." in page
    assert not SavedSearch.objects.exists()
    with pytest.raises(Exception, match="share a search") as refused:
        saved_search_create(owner=agent, name="x", query="stage=contact", team=other_team)
    assert SEARCH_TEAM_NOT_YOURS in str(refused.value)
    save(client, "stage=contact", team=team.pk)
    assert SavedSearch.objects.get().team == team


def test_the_owner_renames_shares_and_deletes_it(agent, team, client_as):
    search = SavedSearchFactory(owner=agent, name="Old")
    client = client_as(agent)
    edit = reverse("pipeline:search_edit", args=[search.pk])
    client.post(edit, {"action": "save", "name": "New", "team": team.pk})
    search.refresh_from_db()
    assert (search.name, search.team) == ("New", team)
    client.post(edit, {"action": "save", "name": "New", "team": ""})
    search.refresh_from_db()
    assert search.team is None
    page = client.post(edit, {"action": "save", "name": " "}, follow=True).content.decode()
    assert "Search not changed: Give the search a name." in page
    client.post(edit, {"action": "delete"})
    assert not SavedSearch.objects.exists()


@pytest.mark.parametrize("who", ["team_lead", "other_agent", "broker"])
def test_anyone_elses_search_is_a_404_even_shared_with_them(who, agent, team, request, client_as):
    search = SavedSearchFactory(owner=agent, team=team)
    client = client_as(request.getfixturevalue(who))
    edit = reverse("pipeline:search_edit", args=[search.pk])
    assert client.post(edit, {"action": "delete"}).status_code == 404
    assert client.post(edit, {"action": "save", "name": "Mine now"}).status_code == 404
    search.refresh_from_db()
    assert search.name != "Mine now"


# Who sees which -------------------------------------------------------------------------------


def test_a_shared_search_shows_to_its_team_only(agent, team, team_lead, other_agent, broker, client_as):
    colleague = AgentFactory()
    team_member_set(team=team, user=colleague)
    SavedSearchFactory(owner=agent, team=team, name="Team hot list", query="stage=contact")
    SavedSearchFactory(owner=agent, name="Ana private", query="stage=qualify")
    LeadFactory(assigned_agent=colleague, team=team)  # a row on the list, so the bar shows
    seen = {}
    for who, user in {"agent": agent, "colleague": colleague, "team_lead": team_lead,
                      "other_agent": other_agent, "broker": broker}.items():
        page = client_as(user).get(reverse("leads:list")).content.decode()
        seen[who] = {name for name in ("Team hot list", "Ana private") if name in page}
    assert seen == {"agent": {"Team hot list", "Ana private"}, "colleague": {"Team hot list"},
                    "team_lead": {"Team hot list"}, "other_agent": set(), "broker": set()}


def test_the_list_offers_save_this_search_only_when_filtered(agent, client_as, lead):
    client = client_as(agent)
    assert "Save this search" not in client.get(reverse("leads:list")).content.decode()
    assert "Save this search" in client.get(reverse("leads:list"), {"stage": "list"}).content.decode()


# Counts ---------------------------------------------------------------------------------------


@pytest.fixture
def books(agent, team, team_lead):
    """The agent's and a colleague's leads on the team, some tagged, some on a list."""
    colleague = AgentFactory()
    team_member_set(team=team, user=colleague)
    vacant = TagFactory(name="Vacant", team=team)
    nod = LeadListFactory(name="NOD pull")
    for owner, how_many in ((agent, 3), (colleague, 2)):
        for n in range(how_many):
            lead = LeadFactory(assigned_agent=owner, team=team)
            LeadTag.objects.create(lead=lead, tag=vacant)
            if n == 0:
                ListMembershipFactory(lead=lead, lead_list=nod)
    LeadFactory(assigned_agent=agent, team=team, stage=Stage.DEAD, dead_reason="other")  # the list leaves it out
    return {"colleague": colleague, "vacant": vacant, "nod": nod}


def test_each_count_is_of_the_viewers_own_leads(agent, team, team_lead, books):
    SavedSearchFactory(owner=agent, team=team, name="Vacant", query=f"tag={books['vacant'].pk}")
    ours = {user: smart_lists(fetched_by=user)[0].count for user in (agent, books["colleague"], team_lead)}
    assert ours == {agent: 3, books["colleague"]: 2, team_lead: 5}


@pytest.mark.parametrize("who", ["agent", "team_lead"])
def test_every_smart_list_count_opens_as_many_rows_as_it_says(who, agent, team, books, request, client_as):
    user = request.getfixturevalue(who)
    SavedSearchFactory(owner=agent, team=team, name="Vacant", query=f"tag={books['vacant'].pk}")
    SavedSearchFactory(owner=agent, team=team, name="NOD", query=f"list={books['nod'].pk}&tag={books['vacant'].pk}")
    SavedSearchFactory(owner=user, name="Everything", query="status=all")
    client = client_as(user)
    page = client.get(reverse("pipeline:dashboard")).content.decode()
    links = [link for link in count_links(page) if "tag=" in link[0] or "status=all" in link[0]]
    assert len(links) == 3
    for href, count, text in links:
        assert rows_behind(client, href) == count, f"{text!r} says {count}, {href} opens"


def test_a_count_past_the_cap_says_so_and_stops_there(agent, team, books, client_as, monkeypatch):
    monkeypatch.setattr("pipeline.workspace.smart_lists.SMART_LIST_CAP", 2)
    SavedSearchFactory(owner=agent, name="Vacant", query=f"tag={books['vacant'].pk}")
    (smart,) = smart_lists(fetched_by=agent)
    assert (smart.count, smart.capped) == (2, True)
    page = client_as(agent).get(reverse("pipeline:dashboard")).content.decode()
    assert ">2+</a>" in page


def test_the_smart_lists_cost_the_same_queries_however_many(agent, team, books, client_as):
    client = client_as(agent)

    def queries():
        client.get(reverse("pipeline:dashboard"))  # warm the caches a first visit fills
        with CaptureQueriesContext(connection) as captured:
            client.get(reverse("pipeline:dashboard"))
        return len(captured)

    SavedSearchFactory(owner=agent, query=f"tag={books['vacant'].pk}")
    one = queries()
    SavedSearchFactory(owner=agent, query=f"list={books['nod'].pk}")
    SavedSearchFactory(owner=agent, team=team, query=f"tag={books['vacant'].pk}&stage=list")
    SavedSearchFactory(owner=books["colleague"], team=team, query="min_score=10&follow_up=overdue")
    SavedSearchFactory(owner=agent, query=f"list={books['nod'].pk}&tag={books['vacant'].pk}&q=Maple")
    assert len(smart_lists(fetched_by=agent)) == 5
    assert queries() == one + 1  # the lists' rows, read once for every search that names one


def test_the_counting_reads_a_capped_subquery(agent, books):
    SavedSearchFactory(owner=agent, query=f"tag={books['vacant'].pk}")
    with CaptureQueriesContext(connection) as captured:
        smart_lists(fetched_by=agent)
    (counting,) = [query["sql"] for query in captured if "COUNT(*)" in query["sql"]]
    assert "LIMIT 1001" in counting
