"""The dashboard's follow-up numbers and the lead lists they link to: the same leads, by
the same lines between overdue, today and the week (the user's zone), so a number is the
rows its link opens."""

import html
import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from leadcrm.accounts.services import team_member_set
from leads.models import Stage
from pipeline.reminders.selectors import agent_workload, follow_up_agenda

from ...leadcrm.factories import AgentFactory
from ...leads.factories import LeadFactory
from ..factories import FollowUpFactory

pytestmark = pytest.mark.django_db

# 22:00 on Tuesday March 10 in Chicago (the users' zone), already Wednesday in UTC.
NOW = datetime(2026, 3, 11, 3, 0, tzinfo=UTC)
AGENDA_GROUP = re.compile(
    r'<span>(?P<title>Overdue|Later today|Next 7 days) · <a href="(?P<href>[^"]+)"[^>]*data-count="(?P<leads>\d+)">'
    r'(?P=leads) leads?</a>(?: <span class="fw-normal count-note">\((?P<items>\d+) follow-ups\)</span>)?')


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def due(lead, user, at):
    return FollowUpFactory(lead=lead, assignee=user, due_at=at)


def rows_at(client, href):
    page = client.get(html.unescape(href)).content.decode()
    return page.count('<tr data-href="/leads/')


def agenda_groups(client):
    """Per group of the dashboard's agenda: (the number of leads it says, its link)."""
    page = client.get(reverse("pipeline:dashboard")).content.decode()
    groups = {}
    for match in AGENDA_GROUP.finditer(page):
        groups[match["title"]] = (int(match["leads"]), match["href"])
    return groups


def test_an_agents_agenda_counts_are_the_rows_of_the_lists_they_link_to(agent, team, team_lead, client_as):
    # given: the agent's own follow-ups, one lead with two of them, and the team lead's
    # follow-ups on the agent's leads (counted for the team lead, never for the agent)
    shared, twice, tonight, week, only_theirs = (LeadFactory(assigned_agent=agent, team=team) for _ in range(5))
    due(shared, agent, NOW - timedelta(hours=2))
    due(shared, team_lead, NOW + timedelta(minutes=30))  # someone else's, later today, same lead
    due(twice, agent, NOW - timedelta(days=1))
    due(twice, agent, NOW - timedelta(hours=1))
    due(tonight, agent, datetime(2026, 3, 11, 4, 30, tzinfo=UTC))  # 23:30 in Chicago: still today there
    due(week, agent, datetime(2026, 3, 11, 5, 30, tzinfo=UTC))  # 00:30 tomorrow in Chicago
    due(week, team_lead, NOW - timedelta(hours=5))
    due(only_theirs, team_lead, NOW - timedelta(hours=3))
    client = client_as(agent)

    # when
    groups = agenda_groups(client)

    # then
    assert {title: count for title, (count, _) in groups.items()} == {
        "Overdue": 2, "Later today": 1, "Next 7 days": 1}
    for count, href in groups.values():
        assert rows_at(client, href) == count
    page = client.get(reverse("pipeline:dashboard")).content.decode()
    assert '>2 leads</a> <span class="fw-normal count-note">(3 follow-ups)</span>' in page  # the list shows two leads
    # The team lead's own agenda and its lists: their follow-ups on the agent's leads.
    lead_groups = agenda_groups(client_as(team_lead))
    assert {title: count for title, (count, _) in lead_groups.items()} == {"Overdue": 2, "Later today": 1}
    for count, href in lead_groups.values():
        assert rows_at(client_as(team_lead), href) == count


def test_the_agenda_and_the_list_draw_the_days_in_the_users_zone(agent, team):
    from leads.filters import follow_up_windows

    tonight = LeadFactory(assigned_agent=agent, team=team)
    due(tonight, agent, datetime(2026, 3, 11, 4, 59, tzinfo=UTC))  # 23:59 Chicago
    last = LeadFactory(assigned_agent=agent, team=team)
    due(last, agent, datetime(2026, 3, 18, 4, 59, tzinfo=UTC))  # 23:59 Chicago, seven days on
    beyond = LeadFactory(assigned_agent=agent, team=team)
    due(beyond, agent, datetime(2026, 3, 18, 5, 0, tzinfo=UTC))  # midnight: the eighth day
    from django.utils import timezone

    with timezone.override("America/Chicago"):
        agenda = follow_up_agenda(user=agent)
        windows = follow_up_windows()
    assert [item.lead_id for item in agenda.today] == [tonight.pk]
    assert [item.lead_id for item in agenda.upcoming] == [last.pk]
    assert windows["week"][1] == datetime(2026, 3, 18, 5, 0, tzinfo=UTC)


def test_a_team_leads_workload_link_opens_as_many_rows_as_it_shows(agent, team, team_lead, client_as):
    # given: two overdue follow-ups on one lead; one of the agent's on a colleague's lead;
    # the team lead's on the agent's lead; the agent's on a dead lead
    colleague = AgentFactory(first_name="Cole", last_name="League")
    team_member_set(team=team, user=colleague)
    twice = LeadFactory(assigned_agent=agent, team=team)
    due(twice, agent, NOW - timedelta(days=2))
    due(twice, agent, NOW - timedelta(hours=1))
    due(LeadFactory(assigned_agent=colleague, team=team), agent, NOW - timedelta(hours=1))
    due(LeadFactory(assigned_agent=agent, team=team), team_lead, NOW - timedelta(hours=1))
    due(LeadFactory(assigned_agent=agent, team=team, stage=Stage.DEAD), agent, NOW - timedelta(hours=1))
    once = LeadFactory(assigned_agent=agent, team=team)
    due(once, agent, NOW - timedelta(minutes=5))
    due(once, colleague, NOW - timedelta(minutes=5))
    client = client_as(team_lead)

    # when
    page = client.get(reverse("pipeline:dashboard")).content.decode()

    # then
    loads = {load.agent: load.overdue_leads for load in agent_workload(fetched_by=team_lead)}
    assert loads == {agent: 2, colleague: 0}
    for user, shown in ((agent, 2),):
        href = f"/leads/?assigned_agent={user.pk}&amp;follow_up=overdue&amp;order=follow_up"
        assert f'<a href="{href}" class="follow-up-overdue" data-count="{shown}">{shown}</a>' in page
        assert rows_at(client, href) == shown


@pytest.mark.parametrize(("who", "listed"), [
    ("agent", True), ("other_agent", False), ("team_lead", True), ("broker", True)])
def test_the_workload_link_for_each_kind_of_user(who, listed, agent, team, other_agent, team_lead, broker, client_as):
    """Agents have no agent to choose: the link's agent is ignored and they get their own."""
    lead = LeadFactory(assigned_agent=agent, team=team)
    due(lead, agent, NOW - timedelta(hours=1))
    user = {"agent": agent, "other_agent": other_agent, "team_lead": team_lead, "broker": broker}[who]
    href = f"/leads/?assigned_agent={agent.pk}&follow_up=overdue"
    assert rows_at(client_as(user), href) == (1 if listed else 0)


def test_15_plus_is_not_turned_on_by_a_lead_the_user_cannot_see(agent, team, other_lead, client_as):
    # given: fifteen overdue on the agent's leads, and the first of all on a lead now
    # someone else's (the agent's follow-up stayed behind)
    due(other_lead, agent, NOW - timedelta(days=30))
    for hours in range(1, 16):
        due(LeadFactory(assigned_agent=agent, team=team), agent, NOW - timedelta(hours=hours))

    page = client_as(agent).get(reverse("pipeline:dashboard")).content.decode()

    assert 'data-count="15">15 leads</a>' in page and "follow-ups)" not in page and "the first" not in page
    assert agenda_groups(client_as(agent))["Overdue"][0] == 15
    assert rows_at(client_as(agent), "/leads/?follow_up=overdue&order=follow_up") == 15


def test_the_agenda_reads_past_follow_ups_it_may_not_show(agent, team, other_lead):
    """A full read that held an invisible lead's follow-up is read again through the
    visible leads: '+' still shows when there are more the user may see."""
    due(other_lead, agent, NOW - timedelta(days=30))
    visible = [LeadFactory(assigned_agent=agent, team=team) for _ in range(4)]
    for hours, lead in enumerate(visible, start=1):
        due(lead, agent, NOW - timedelta(hours=hours))

    assert follow_up_agenda(user=agent, limit=4).more == frozenset()
    agenda = follow_up_agenda(user=agent, limit=3)
    assert agenda.more == {"overdue"}
    assert [item.lead_id for item in agenda.overdue] == [lead.pk for lead in reversed(visible)][:3]
    assert all(item.street for item in agenda.overdue)  # the place came with the second read


def test_with_more_left_the_group_says_how_many_leads_and_follow_ups_in_all(agent, team, client_as):
    """Sixteen follow-ups, two on each of eight leads: the first fifteen are listed, and the
    group says eight leads (the rows its link opens) and sixteen follow-ups."""
    for n in range(8):
        lead = LeadFactory(assigned_agent=agent, team=team)
        due(lead, agent, NOW - timedelta(hours=n + 1))
        due(lead, agent, NOW - timedelta(hours=n + 1, minutes=30))

    page = client_as(agent).get(reverse("pipeline:dashboard")).content.decode()

    assert 'data-count="8">8 leads</a> <span class="fw-normal count-note">(16 follow-ups)</span>' in page
    assert "the first 15 below" in page
    assert follow_up_agenda(user=agent).leads_in("overdue") == 8
    assert rows_at(client_as(agent), "/leads/?follow_up=overdue&order=follow_up") == 8


def queries_for(client, url):
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


@pytest.mark.parametrize("bucket", ["overdue", "week", "none"])
@pytest.mark.parametrize("who", ["agent", "team_lead", "broker"])
def test_the_follow_up_filtered_list_makes_the_same_queries_for_5_or_30_leads(
    bucket, who, agent, team, team_lead, broker, client_as
):
    user = {"agent": agent, "team_lead": team_lead, "broker": broker}[who]
    client = client_as(user)
    url = f"{reverse('leads:list')}?follow_up={bucket}&order=follow_up"
    if who != "agent":
        url += f"&assigned_agent={agent.pk}"

    def make_leads(count):
        for n in range(count):
            lead = LeadFactory(assigned_agent=agent, team=team)
            due(lead, agent, NOW - timedelta(hours=n + 1))
            due(lead, agent, NOW + timedelta(days=2))
            due(lead, team_lead, NOW - timedelta(hours=1))

    make_leads(5)
    queries_for(client, url)  # the per-user summaries (list choices) cached
    few = queries_for(client, url)
    make_leads(25)
    assert queries_for(client, url) == few
