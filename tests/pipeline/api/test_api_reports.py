"""The broker's reports as JSON: the page's figures, for the same period, to the same people."""

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from compliance.models import Verdict
from leads.models import Stage
from pipeline.api.reports import REPORT_ROWS
from pipeline.outreach.services import outreach_log
from pipeline.reports.period import plain
from pipeline.reports.registry import REPORTS

from ...leads.factories import LeadFactory, LeadListFactory, ListMembershipFactory
from ..reports.test_reports import a_check, moved
from .test_api import api_as

pytestmark = pytest.mark.django_db

PERIOD = {"from": "2026-10-01", "to": "2026-11-30"}


def url(name: str) -> str:
    return reverse(f"api:report-{name}")


@pytest.fixture
def figures(lead, agent):
    """A little of everything the reports count: leads that moved, calls, checks, a list with a cost."""
    nod = LeadListFactory(name="NOD pull", cost=Decimal("300"))
    for stages in ((Stage.CONTACT,), (Stage.CONTACT, Stage.QUALIFY, Stage.DEAD),
                   (Stage.CONTACT, Stage.QUALIFY, Stage.NEGOTIATE, Stage.CLOSE, Stage.CLOSED)):
        moving = LeadFactory(assigned_agent=agent, source_list=nod)
        ListMembershipFactory(lead=moving, lead_list=nod)
        moved(moving, *stages)
    phone = lead.contacts.first().phones.first()
    for outcome in ("talked", "no_answer", "appointment_set"):
        outreach_log(lead=lead, channel="call", contact_point=phone, outcome=outcome, actor=agent,
                     role_disclosed=True, purpose="short_sale_listing", notes="")
    a_check(lead, agent, Verdict.BLOCK, [("A5", "block")])


def test_every_report_has_its_row_shape():
    assert set(REPORT_ROWS) == set(REPORTS)


@pytest.mark.parametrize("name", list(REPORTS))
def test_each_figure_is_the_pages_for_the_same_period(name, figures, broker, client_as):
    page = client_as(broker).get(reverse("reports:report", args=[name]), PERIOD)
    shown = page.context["report"]

    response = api_as(broker).get(url(name), PERIOD)

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["name"], body["title"], body["from"], body["to"]) == (name, shown.title, "2026-10-01", "2026-11-30")
    assert body["columns"] == shown.columns and body["notes"] == shown.notes
    keys = list(REPORT_ROWS[name][1])
    assert len(body["rows"]) == len(shown.rows)
    for row, page_row in zip(body["rows"], shown.rows, strict=True):
        cells = [plain(cell) for cell in page_row]
        got = [row[key] for key in keys]
        assert got == [str(cell) if isinstance(cell, Decimal | date) else cell for cell in cells], name


def test_the_figures_are_there_to_compare(figures, broker):
    funnel = api_as(broker).get(url("funnel"), PERIOD).json()["rows"]
    assert funnel == [{"group": "All leads", "reached_list": 4, "reached_contact": 3, "reached_qualify": 2,
                       "reached_negotiate": 1, "reached_close": 1, "reached_closed": 1, "list_to_closed_pct": 25.0}]
    [week] = api_as(broker).get(url("agent-activity"), PERIOD).json()["rows"]
    assert week["attempts"] == 3 and week["conversations"] == 2 and week["week_of"] == "2026-11-16"
    closings = api_as(broker).get(url("list-closings"), PERIOD).json()["rows"]
    assert closings[0]["name"] == "NOD pull" and closings[0]["cost_per_lead"] == "100.00"
    compliance = {row["what"]: row["attempts"] for row in api_as(broker).get(url("compliance"), PERIOD).json()["rows"]}
    assert compliance["Blocked by A5"] == 1


def test_agent_activity_names_the_agent_by_id(figures, agent, broker):
    [week] = api_as(broker).get(url("agent-activity"), PERIOD).json()["rows"]
    assert (week["agent_id"], week["agent"]) == (agent.pk, str(agent))


@pytest.mark.parametrize("who", ["agent", "team_lead"])
def test_only_brokers_read_them_as_on_the_pages(who, request):
    response = api_as(request.getfixturevalue(who)).get(url("funnel"))
    assert response.status_code == 403 and response["Content-Type"] == "application/problem+json"


def test_an_unreadable_date_is_a_400_and_a_corrected_period_says_so(broker):
    bad = api_as(broker).get(url("funnel"), {"from": "yesterday"})
    assert bad.status_code == 400 and "from" in bad.json()["errors"]
    swapped = api_as(broker).get(url("funnel"), {"from": "2026-11-30", "to": "2026-10-01"}).json()
    assert (swapped["from"], swapped["to"]) == ("2026-10-01", "2026-11-30")
    assert "swapped" in swapped["problems"][0]


def test_read_as_the_page_reads_it_on_the_replica_when_it_may(broker, monkeypatch):
    from pipeline.reports import views

    asked = []

    def read_on_replica(function, *args, request=None, **kwargs):
        asked.append(request.method)
        return real(function, *args, request=request, **kwargs)

    real = views.read_on_replica
    monkeypatch.setattr(views, "read_on_replica", read_on_replica)
    assert api_as(broker).get(url("compliance")).status_code == 200
    assert asked == ["GET"]
