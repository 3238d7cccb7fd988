"""The broker's reports (issue 8): the numbers against hand-worked fixtures, the period's
bad input, who may open them, and the exports' escaping."""

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from compliance.models import ComplianceCheck, Verdict
from leads.models import Lead, LeadList, ListMembership, Stage
from pipeline.lenders import approval_letter_record, milestone_record
from pipeline.models import Milestone, StageChange
from pipeline.reports import (
    Period,
    agent_activity,
    compliance,
    funnel,
    lender_turnaround,
    list_closings,
    time_in_stage,
)
from pipeline.services import outreach_log

from ..factories import LeadFactory, LienFactory

pytestmark = pytest.mark.django_db

PERIOD = Period(date(2026, 10, 1), date(2026, 11, 30))


START = datetime(2026, 10, 5, 15, 0, tzinfo=UTC)


def moved(lead, *stages, every=10):
    """Record the lead's moves from 5 October, ``every`` days apart; leave it in the last stage."""
    at = START
    previous = Stage.LIST
    for stage in stages:
        StageChange.objects.create(lead=lead, from_stage=previous, to_stage=stage, changed_at=at)
        previous, at = stage, at + timedelta(days=every)
    Lead.objects.filter(pk=lead.pk).update(stage=previous, **({"closing_date": date(2026, 11, 20)}
                                                              if previous == Stage.CLOSED else {}))


def test_the_funnel_counts_how_far_each_lead_got(agent):
    stays, talks, dies, closes = (LeadFactory(assigned_agent=agent) for _ in range(4))
    moved(talks, Stage.CONTACT)
    moved(dies, Stage.CONTACT, Stage.QUALIFY, Stage.DEAD)
    moved(closes, Stage.CONTACT, Stage.QUALIFY, Stage.NEGOTIATE, Stage.CLOSE, Stage.CLOSED)
    [row] = funnel(PERIOD).rows
    assert row == ["All leads", 4, 3, 2, 1, 1, 1, 25.0]


def test_the_funnel_by_list(agent):
    nod, probate = LeadList.objects.create(name="NOD pull"), LeadList.objects.create(name="Probate")
    a = LeadFactory(assigned_agent=agent, source_list=nod)
    LeadFactory(assigned_agent=agent, source_list=nod)
    c = LeadFactory(assigned_agent=agent, source_list=probate)
    moved(a, Stage.CONTACT)
    moved(c, Stage.CONTACT, Stage.QUALIFY)
    rows = {row[0]: row[1:4] for row in funnel(PERIOD, by="list").rows}
    assert rows == {"NOD pull": [2, 1, 0], "Probate": [1, 1, 1]}


def test_time_in_stage_median_and_80th_percentile(agent):
    for every in (10, 20, 30):
        moved(LeadFactory(assigned_agent=agent), Stage.CONTACT, Stage.QUALIFY, every=every)
    rows = {row[0]: row[1:] for row in time_in_stage(Period(date(2026, 10, 1), date(2026, 12, 31))).rows}
    assert rows["Contact"] == [3, 20.0, 26.0]  # 10, 20, 30 days: median 20, 80th percentile 26
    assert rows["Qualify"] == [0, None, None]


def test_agent_activity_per_week(lead, agent):
    phone = lead.contacts.first().phones.first()
    for outcome in ("talked", "no_answer", "appointment_set"):
        outreach_log(lead=lead, channel="call", contact_point=phone, outcome=outcome, actor=agent,
                     role_disclosed=True, purpose="short_sale_listing", notes="")
    [row] = agent_activity(PERIOD).rows
    assert row[1:] == [str(agent), 3, 2, 1, 0]
    assert row[0] == date(2026, 11, 16)  # the Monday of the frozen week


def test_compliance_counts_blocks_by_rule(lead, agent):
    for rules in (["A5"], ["A5", "D1"], []):
        ComplianceCheck.objects.create(actor=agent, lead=lead, channel="call", purpose="short_sale_listing",
                                       contact_point="+19185550104", mode="log",
                                       verdict=Verdict.BLOCK if rules else Verdict.ALLOW, rule_ids=rules)
    rows = {row[0]: row[1] for row in compliance(PERIOD).rows}
    assert rows["All checks"] == 3 and rows["Blocked by A5"] == 2 and rows["Blocked by D1"] == 1


def test_lender_turnaround_per_servicer(lead, agent):
    lien = LienFactory(lead=lead, position=1)
    from pipeline.lenders import lender_file_update

    lender_file_update(lien=lien, servicer="Mr. Cooper", portal="", portal_reference="")
    milestone_record(lien=lien, kind=Milestone.PACKAGE_SUBMITTED, occurred_on=date(2026, 10, 1), actor=agent)
    approval_letter_record(lien=lien, issued_on=date(2026, 11, 10), expires_on=date(2026, 12, 10), actor=agent)
    [row] = lender_turnaround(PERIOD).rows
    assert row[:3] == ["Mr. Cooper", 1, 40]


def test_lists_that_produced_closings(agent):
    nod = LeadList.objects.create(name="NOD pull")
    closed, open_lead = LeadFactory(assigned_agent=agent), LeadFactory(assigned_agent=agent)
    for lead in (closed, open_lead):
        ListMembership.objects.create(lead=lead, lead_list=nod)
    moved(closed, Stage.CONTACT, Stage.QUALIFY, Stage.NEGOTIATE, Stage.CLOSE, Stage.CLOSED)
    assert list_closings(PERIOD).rows == [["NOD pull", 2, 1, 50.0]]


@pytest.mark.parametrize(("params", "said"), [
    ({"from": "yesterday"}, "is not a date"),
    ({"from": "2026-11-30", "to": "2026-10-01"}, "were swapped"),
    ({"from": "2016-01-01", "to": "2026-11-01"}, "at most three years"),
])
def test_a_bad_period_is_corrected_and_said(params, said, broker, client_as):
    page = client_as(broker).get(reverse("reports:report", args=["funnel"]), params).content.decode()
    assert said in page


@pytest.mark.parametrize(("who", "status"), [("broker", 200), ("team_lead", 403), ("agent", 302), (None, 302)])
def test_only_brokers_open_the_reports(who, status, request, client_as):
    user = request.getfixturevalue(who) if who else None
    for url in (reverse("reports:reports"), reverse("reports:report", args=["compliance"])):
        assert client_as(user).get(url).status_code == status


def test_an_unknown_report_is_a_404(broker, client_as):
    assert client_as(broker).get("/admin/reports/nope/").status_code == 404


def test_exports_neutralise_formula_looking_cells(agent, broker, client_as):
    evil = LeadList.objects.create(name="=HYPERLINK(\"http://evil.example\",\"click\")")
    lead = LeadFactory(assigned_agent=agent)
    ListMembership.objects.create(lead=lead, lead_list=evil)
    client = client_as(broker)
    url = reverse("reports:report", args=["list-closings"])
    text = b"".join(client.get(url, {"from": "2026-10-01", "to": "2026-11-30", "format": "csv"}).streaming_content)
    rows = list(csv.reader(io.StringIO(text.decode())))
    assert rows[0] == ["List", "Leads on it", "Closed in the period", "% closed"]
    assert rows[1][0].startswith("'=HYPERLINK")
    response = client.get(url, {"from": "2026-10-01", "to": "2026-11-30", "format": "xlsx"})
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet["A2"].value.startswith("'=HYPERLINK") and sheet["B2"].value == 1
    assert 'filename="list-closings_2026-10-01_2026-11-30.xlsx"' in response["Content-Disposition"]


def test_every_report_renders_with_data_and_without(lead, broker, client_as):
    from pipeline.reports import REPORTS

    client = client_as(broker)
    for slug in REPORTS:
        response = client.get(reverse("reports:report", args=[slug]))
        assert response.status_code == 200, slug
        assert b"report-table" in response.content
