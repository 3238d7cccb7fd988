"""Every count a page links equals the rows of the list its link opens, read as the same
user: the dashboard, the workload, the compliance overview and the broker's reports, for
an agent, a team lead and a broker, on a book with the awkward cases (another user's
follow-up on the same lead, two on one lead, a dead and a closed lead with follow-ups, a
follow-up due at midnight in the user's zone, another team's leads, ponds, more overdue
follow-ups than the dashboard lists, previews among the compliance checks)."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from compliance.models import CheckMode, Verdict
from leadcrm.accounts.services import team_member_set
from leads.models import Lead, Stage

from ...compliance.factories import ComplianceCheckFactory
from ...helpers import count_links, rows_behind
from ...leadcrm.factories import AgentFactory
from ...leads.factories import LeadFactory, LeadListFactory, ListMembershipFactory
from ..factories import FollowUpFactory, StageChangeFactory

pytestmark = pytest.mark.django_db

# 22:00 on Tuesday March 10 in Chicago (the users' zone), already Wednesday in UTC.
NOW = datetime(2026, 3, 11, 3, 0, tzinfo=UTC)
PERIOD = {"from": "2026-01-01", "to": "2026-03-10"}


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def due(lead, user, at):
    return FollowUpFactory(lead=lead, assignee=user, due_at=at)


@pytest.fixture
def book(agent, team, team_lead, other_agent, other_team, broker):
    colleague = AgentFactory(first_name="Cole", last_name="League")
    team_member_set(team=team, user=colleague)

    def lead(owner, *, stage=Stage.LIST, team_of=team, **fields):
        made = LeadFactory(assigned_agent=owner, team=team_of, **fields)
        if stage != Stage.LIST:
            Lead.objects.filter(pk=made.pk).update(stage=stage, stage_entered_at=NOW - timedelta(days=3),
                                                   **({"closing_date": date(2026, 3, 2)}
                                                      if stage == Stage.CLOSED else {}))
        return made

    # Two of the agent's overdue on one lead, and the team lead's on it too.
    twice = lead(agent, stage=Stage.QUALIFY)
    due(twice, agent, NOW - timedelta(days=2))
    due(twice, agent, NOW - timedelta(hours=1))
    due(twice, team_lead, NOW - timedelta(hours=1))
    # The colleague's overdue on one of the agent's leads; the agent's on a colleague's lead.
    shared = lead(agent, stage=Stage.NEGOTIATE)
    due(shared, agent, NOW - timedelta(hours=5))
    due(shared, colleague, NOW - timedelta(hours=5))
    due(lead(colleague), agent, NOW - timedelta(hours=2))
    due(lead(colleague, stage=Stage.CONTACT), colleague, NOW - timedelta(hours=2))
    # Later today (23:59 in Chicago) and at midnight there: the next seven days.
    due(lead(agent), agent, datetime(2026, 3, 11, 4, 59, tzinfo=UTC))
    due(lead(agent, stage=Stage.CLOSE), agent, datetime(2026, 3, 11, 5, 0, tzinfo=UTC))
    # A dead and a closed lead, each with an overdue follow-up of the agent's.
    due(lead(agent, stage=Stage.DEAD), agent, NOW - timedelta(hours=3))
    closed = lead(agent, stage=Stage.CLOSED)
    due(closed, agent, NOW - timedelta(hours=3))
    # More overdue than the dashboard lists (15): fourteen more leads.
    for hours in range(14):
        due(lead(agent, stage=Stage.CONTACT), agent, NOW - timedelta(hours=6 + hours))
    # Another team's lead, with the broker's own follow-up on it.
    theirs = lead(other_agent, team_of=other_team)
    due(theirs, other_agent, NOW - timedelta(hours=1))
    due(theirs, broker, NOW - timedelta(hours=1))
    # Ponds: the team's, everyone's, the other team's.
    for pond_team in (team, None, other_team):
        pond = lead(None, team_of=pond_team or team)
        Lead.objects.filter(pk=pond.pk).update(pond_since=NOW - timedelta(days=1), pond_team=pond_team)
    # For the reports: a list, a closing, the moves behind it, and the compliance checks of
    # attempts beside a stored preview.
    nod = LeadListFactory(name="NOD pull")
    for member in (twice, shared, closed):
        ListMembershipFactory(lead=member, lead_list=nod)
    for n, (from_stage, to_stage) in enumerate([(Stage.LIST, Stage.CONTACT), (Stage.CONTACT, Stage.QUALIFY),
                                                (Stage.QUALIFY, Stage.NEGOTIATE), (Stage.NEGOTIATE, Stage.CLOSE),
                                                (Stage.CLOSE, Stage.CLOSED)]):
        StageChangeFactory(lead=closed, from_stage=from_stage, to_stage=to_stage,
                           changed_at=datetime(2026, 1, 5, 15, tzinfo=UTC) + timedelta(days=10 * n))
    for verdict, findings, mode in ((Verdict.BLOCK, [("A5", "block"), ("F6", "warn")], CheckMode.LOG),
                                    (Verdict.ALLOW, [], CheckMode.LOG),
                                    (Verdict.BLOCK, [("D3", "block")], CheckMode.PREVIEW)):
        ComplianceCheckFactory(lead=twice, actor=agent, mode=mode, verdict=verdict, fired=findings,
                               checked_at=NOW - timedelta(days=1))
    return colleague


PAGES = {
    "agent": ["pipeline:dashboard"],
    "team_lead": ["pipeline:dashboard", "leads:workload"],
    "broker": ["pipeline:dashboard", "leads:workload", "compliance:overview",
               ("reports:report", "compliance"), ("reports:report", "forecast"), ("reports:report", "list-closings")],
}


@pytest.mark.parametrize("who", ["agent", "team_lead", "broker"])
def test_every_count_link_opens_as_many_rows_as_it_says(who, book, request, client_as):
    user = request.getfixturevalue(who)
    client = client_as(user)
    checked = []
    for page in PAGES[who]:
        name, *args = (page,) if isinstance(page, str) else page
        url = reverse(name, args=args)
        response = client.get(url, PERIOD if name.startswith("reports:") else {})
        assert response.status_code == 200, url
        for href, count, text in count_links(response.content.decode()):
            assert rows_behind(client, href) == count, f"{url}: {text!r} says {count}, {href} opens"
            checked.append((url, text, count))
    # Each page linked its counts, and the awkward cases were among them.
    pages = {url for url, _, _ in checked}
    assert len(pages) == len(PAGES[who])
    if who == "agent":
        texts = {text: count for _, text, count in checked}
        assert texts["16 leads"] == 16  # 17 of the agent's follow-ups overdue on 16 open leads
        assert texts["1 lead"] == 1 and texts["18 open leads"] == 18


def test_the_numbers_the_awkward_book_should_show(book, agent, team_lead, broker, client_as):
    """The walk above compares each count with its list; this says what they are, by hand."""
    page = client_as(agent).get(reverse("pipeline:dashboard")).content.decode()
    # Open leads of the agent: twice, shared, the lead due tonight, the one due at
    # midnight, and 14 more: 18. Overdue: twice, shared and the 14: 16 leads, 17 of the
    # agent's follow-ups (the colleague's lead, the dead and the closed one are not counted).
    assert "18 open leads" in page
    assert "Overdue · " in page and ">16 leads</a>" in page and "(17 follow-ups)" in page
    assert ">1 lead</a>" in page  # later today: 23:59 in Chicago; midnight is tomorrow
    workload = client_as(team_lead).get(reverse("leads:workload")).content.decode()
    assert f'/leads/?assigned_agent={agent.pk}&amp;follow_up=overdue&amp;order=follow_up" ' \
           'class="follow-up-overdue" data-count="16"' in workload
    assert 'data-count="2"><i class="bi bi-water" aria-hidden="true"></i> Pond (2)' in workload  # the team's and everyone's
    pond = client_as(broker).get(reverse("leads:workload")).content.decode()
    assert "Pond (1)" in pond  # a broker on no team: everyone's pond only, as the pond page shows
