"""The broker's reports: the numbers against hand-worked fixtures, the period's bad input,
who may open them, and the exports' escaping."""

import csv
import io
import zoneinfo
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from compliance.models import Verdict
from leads.models import Lead, LeadSource, LeadSourcePost, ListMembership, Stage
from leads.sources import source_key_create
from pipeline.deals.lenders import approval_letter_record, milestone_record
from pipeline.models import Milestone, StageChange
from pipeline.outreach.services import outreach_log
from pipeline.reports.activity import agent_activity
from pipeline.reports.closings import list_closings
from pipeline.reports.compliance import NO_BLOCKS, compliance
from pipeline.reports.funnel import funnel, time_in_stage
from pipeline.reports.lenders import lender_turnaround
from pipeline.reports.period import Link, Period, plain

from ...compliance.factories import ComplianceCheckFactory
from ...helpers import admin_list_rows
from ...leads.factories import LeadFactory, LeadListFactory, LienFactory, ListMembershipFactory
from ..factories import OutreachAttemptFactory, StageChangeFactory

pytestmark = pytest.mark.django_db

PERIOD = Period(date(2026, 10, 1), date(2026, 11, 30))


START = datetime(2026, 10, 5, 15, 0, tzinfo=UTC)


def moved(lead, *stages, every=10):
    """Record the lead's moves from 5 October, ``every`` days apart; leave it in the last stage."""
    at = START
    previous = Stage.LIST
    for stage in stages:
        StageChangeFactory(lead=lead, from_stage=previous, to_stage=stage, changed_at=at)
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
    nod, probate = LeadListFactory(name="NOD pull"), LeadListFactory(name="Probate")
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


def counts(report):
    """The report's rows as {label: count}, a linked count as its value."""
    return {row[0]: plain(row[1]) for row in report.rows}


def a_check(lead, agent, verdict, findings=(), mode="log", at=None):
    """A check as the gate records it: the rules that fired, each finding with its severity."""
    return ComplianceCheckFactory(lead=lead, actor=agent, mode=mode, verdict=verdict, fired=findings,
                                  **({"checked_at": at} if at else {}))


def test_compliance_counts_blocks_by_rule(lead, agent):
    a_check(lead, agent, Verdict.BLOCK, [("A5", "block")])
    a_check(lead, agent, Verdict.BLOCK, [("A5", "block"), ("D1", "block")])
    a_check(lead, agent, Verdict.ALLOW)
    rows = counts(compliance(PERIOD))
    assert rows["Attempts checked"] == 3 and rows["Blocked by A5"] == 2 and rows["Blocked by D1"] == 1


def test_a_period_without_a_block_says_so_instead_of_drawing_an_empty_chart(lead, agent, broker, client_as):
    a_check(lead, agent, Verdict.ALLOW)
    a_check(lead, agent, Verdict.BLOCK, [("D3", "block")], mode="preview")  # a live verdict is not a block
    report = compliance(PERIOD)
    assert report.chart == {} and NO_BLOCKS in report.notes
    page = client_as(broker).get(reverse("reports:report", args=["compliance"])).content.decode()
    assert NO_BLOCKS in page and "data-chart" not in page


@pytest.mark.parametrize("rollups", [True, False])
def test_compliance_counts_decisions_on_attempts_not_previews_under_the_rules_that_decided(lead, agent, rollups):
    # given: three attempts logged (one blocked by A5 that F6 only warned about, one
    # refused under D3, one allowed) and the live verdicts an earlier version stored
    # while forms were filled in, refused under D3 until the box was ticked
    a_check(lead, agent, Verdict.BLOCK, [("A5", "block"), ("F6", "warn")])
    a_check(lead, agent, Verdict.BLOCK, [("D3", "block")])
    a_check(lead, agent, Verdict.ALLOW)
    for _ in range(5):
        a_check(lead, agent, Verdict.BLOCK, [("D3", "block")], mode="preview")

    # when
    report = compliance(PERIOD) if rollups else _without_rollups_report(compliance, PERIOD)

    # then
    rows = counts(report)
    assert rows["Attempts checked"] == 3
    assert rows["Verdict: Blocked"] == 2 and rows["Blocked by A5"] == 1 and rows["Blocked by D3"] == 1
    assert "Blocked by F6" not in rows
    assert {row[0]: row[2] for row in report.rows}["Verdict: Blocked"] == 66.7
    assert "not counted" in report.notes[0]


def test_each_compliance_count_opens_as_many_checks_as_it_says(lead, agent, broker, client_as):
    a_check(lead, agent, Verdict.BLOCK, [("A5", "block"), ("F6", "warn")])
    a_check(lead, agent, Verdict.WARN, [("F6", "warn")])
    a_check(lead, agent, Verdict.ALLOW)
    a_check(lead, agent, Verdict.BLOCK, [("D3", "block")], mode="preview")
    client = client_as(broker)
    with timezone.override(zoneinfo.ZoneInfo(broker.time_zone)):
        report = compliance(PERIOD)
    linked = [(row[0], row[1]) for row in report.rows if isinstance(row[1], Link)]
    assert [label for label, _ in linked] == ["Attempts checked", "Verdict: Allowed", "Verdict: Blocked",
                                              "Verdict: Allowed with a warning", "Blocked by A5"]
    for label, link in linked:
        assert admin_list_rows(client, link.href) == link.value, label


def test_lender_turnaround_per_servicer(lead, agent):
    lien = LienFactory(lead=lead, position=1)
    from pipeline.deals.lenders import lender_file_update

    lender_file_update(lien=lien, servicer="Mr. Cooper", portal="", portal_reference="")
    milestone_record(lien=lien, kind=Milestone.PACKAGE_SUBMITTED, occurred_on=date(2026, 10, 1), actor=agent)
    approval_letter_record(lien=lien, issued_on=date(2026, 11, 10), expires_on=date(2026, 12, 10), actor=agent)
    [row] = lender_turnaround(PERIOD).rows
    assert row[:4] == ["Mr. Cooper", "servicer", 1, 40]


def test_lender_turnaround_groups_by_servicer_else_lender_and_is_never_negative(agent, broker, client_as):
    from pipeline.deals.lenders import lender_file_update

    def approved_file(lender, servicer, submitted, approved):
        lien = LienFactory(lead=LeadFactory(assigned_agent=agent), position=1, lender=lender)
        if servicer:
            lender_file_update(lien=lien, servicer=servicer, portal="", portal_reference="")
        for day in submitted:
            milestone_record(lien=lien, kind=Milestone.PACKAGE_SUBMITTED, occurred_on=day, actor=agent)
        approval_letter_record(lien=lien, issued_on=approved, expires_on=approved + timedelta(days=30), actor=agent)
        return lien

    # given: a servicer named on one file; the same company as the lender on record of a
    # file with no servicer; a lender on record only; a package resubmitted after the
    # approval (recorded out of order); an approval dated before any package
    approved_file("Bank of America", "Mr. Cooper", [date(2026, 10, 1)], date(2026, 10, 21))  # 20 days
    approved_file("Mr. Cooper", "", [date(2026, 10, 5)], date(2026, 10, 15))  # 10 days
    approved_file("Wells Fargo", "", [date(2026, 10, 2), date(2026, 11, 2)], date(2026, 10, 30))  # 28, not -3
    early = approved_file("PennyMac", "", [date(2026, 11, 3)], date(2026, 11, 2))  # before its package

    # when
    report = lender_turnaround(PERIOD)

    # then
    assert report.rows == [
        ["Mr. Cooper", "servicer on 1, lender on record on 1 (no servicer given)", 2, 15.0, 18.0, 10, 20],
        ["Wells Fargo", "lender on record (no servicer given)", 1, 28.0, 28.0, 28, 28],
    ]
    assert all(row[5] >= 0 for row in report.rows)
    [left_out] = report.tables
    assert [[str(cell) for cell in row] for row in left_out["rows"]] == [
        [early.lead.property.street, "2026-11-02", "2026-11-03"]]
    assert "1 approval in the period is dated before any package submission" in " ".join(report.notes)
    page = client_as(broker).get(reverse("reports:report", args=["lender-turnaround"]),
                                 {"from": "2026-10-01", "to": "2026-11-30"}).content.decode()
    assert "servicer not given" not in page and "Approvals dated before their package" in page
    for internal in ("DOMAIN", "COMPLIANCE_RULES", "issue "):
        assert internal not in page


def test_lists_that_produced_closings(agent):
    nod = LeadListFactory(name="NOD pull")
    closed, open_lead = LeadFactory(assigned_agent=agent), LeadFactory(assigned_agent=agent)
    for lead in (closed, open_lead):
        ListMembershipFactory(lead=lead, lead_list=nod)
    moved(closed, Stage.CONTACT, Stage.QUALIFY, Stage.NEGOTIATE, Stage.CLOSE, Stage.CLOSED)
    [row] = list_closings(PERIOD).rows
    # No cost entered: the cost cells are empty (shown as a dash), never $0.
    assert [plain(cell) for cell in row] == ["NOD pull", 2, 1, 50.0, None, None, 1, None]
    assert row[1].href == f"/leads/?list={nod.pk}&status=all"


def test_cost_per_lead_and_per_closing_of_a_list_and_a_source(agent, broker, client_as):
    """By hand: the list cost $300 for 3 leads ($100 a lead); 1 closed in the period and 1
    before it, so $150 a closing. The source posted 3 times at $25 (one matched a house
    already held, paid all the same) and once at $40 after its price went up: $115 for 4
    leads, $28.75 a lead; its one closing, $115."""
    nod = LeadListFactory(name="NOD pull", cost=Decimal("300"))
    on_list = [LeadFactory(assigned_agent=agent) for _ in range(3)]
    for lead in on_list:
        ListMembershipFactory(lead=lead, lead_list=nod)
    moved(on_list[0], Stage.CONTACT, Stage.QUALIFY, Stage.NEGOTIATE, Stage.CLOSE, Stage.CLOSED)
    moved(on_list[1], Stage.CONTACT, Stage.QUALIFY, Stage.NEGOTIATE, Stage.CLOSE, Stage.CLOSED)
    Lead.objects.filter(pk=on_list[1].pk).update(closing_date=date(2026, 9, 15))  # before the period
    source_key, _key = source_key_create(name="Zapier: FB ads", source=LeadSource.INBOUND, created_by=broker)
    posted = [LeadFactory(assigned_agent=agent) for _ in range(4)]
    for number, (lead, cost) in enumerate(zip(posted, ["25", "25", "25", "40"], strict=True)):
        LeadSourcePost.objects.create(source_key=source_key, external_id=f"fb-{number}", lead=lead,
                                      created_lead=number != 1, cost=Decimal(cost))
    moved(posted[3], Stage.CONTACT, Stage.QUALIFY, Stage.NEGOTIATE, Stage.CLOSE, Stage.CLOSED)

    report = list_closings(PERIOD)

    rows = {row[0]: [plain(cell) for cell in row[1:]] for row in report.rows}
    assert rows["NOD pull"] == [3, 1, 33.3, Decimal("300.00"), Decimal("100.00"), 2, Decimal("150.00")]
    assert rows["Zapier: FB ads (lead source)"] == [4, 1, 25.0, Decimal("115.00"), Decimal("28.75"), 1,
                                                    Decimal("115.00")]
    page = client_as(broker).get(reverse("reports:report", args=["list-closings"]),
                                 {"from": "2026-10-01", "to": "2026-11-30"}).content.decode()
    assert "$28.75" in page and "$150.00" in page and "Cost per closing" in page


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
    evil = LeadListFactory(name="=HYPERLINK(\"http://evil.example\",\"click\")")
    ListMembershipFactory(lead__assigned_agent=agent, lead_list=evil)
    client = client_as(broker)
    url = reverse("reports:report", args=["list-closings"])
    text = b"".join(client.get(url, {"from": "2026-10-01", "to": "2026-11-30", "format": "csv"}).streaming_content)
    rows = list(csv.reader(io.StringIO(text.decode())))
    assert rows[0] == ["List or source", "Leads from it", "Closed in the period", "% closed", "Cost", "Cost per lead",
                       "Closed so far", "Cost per closing"]
    assert rows[1][0].startswith("'=HYPERLINK")
    response = client.get(url, {"from": "2026-10-01", "to": "2026-11-30", "format": "xlsx"})
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet["A2"].value.startswith("'=HYPERLINK") and sheet["B2"].value == 1
    assert 'filename="list-closings_2026-10-01_2026-11-30.xlsx"' in response["Content-Disposition"]


def test_every_report_renders_with_data_and_without(lead, broker, client_as):
    from pipeline.reports.registry import REPORTS

    client = client_as(broker)
    for slug in REPORTS:
        response = client.get(reverse("reports:report", args=[slug]))
        assert response.status_code == 200, slug
        assert b"report-table" in response.content


def test_dnc_hit_rate_per_list(agent):
    from leads.models import Phone

    from ...leads.factories import ContactFactory, PhoneFactory

    nod, probate = LeadListFactory(name="NOD pull"), LeadListFactory(name="Probate")
    both, one, none = (LeadFactory(assigned_agent=agent) for _ in range(3))
    for lead, lists in ((both, [nod, probate]), (one, [nod])):
        for lead_list in lists:
            ListMembershipFactory(lead=lead, lead_list=lead_list)
    owner, co_owner = ContactFactory(lead=both), ContactFactory(lead=both, position=2)
    PhoneFactory(contact=owner, number="+19185550101", on_dnc_list=True)
    PhoneFactory(contact=owner, number="+19185550102")
    PhoneFactory(contact=co_owner, number="+19185550103")
    PhoneFactory(contact=ContactFactory(lead=one), number="+19185550104", on_dnc_list=True)
    PhoneFactory(contact=ContactFactory(lead=none), number="+19185550105", on_dnc_list=True)  # on no list
    assert Phone.objects.count() == 5
    from pipeline.reports.compliance import dnc_by_list

    # NOD pull: 3 numbers of `both` and 1 of `one`, 2 listed; Probate: the 3 of `both`, 1 listed.
    assert dnc_by_list(PERIOD).rows == [["NOD pull", 4, 2, 50.0], ["Probate", 3, 1, 33.3]]


def test_agent_activity_counts_a_corrected_entry_as_its_correction(lead, agent):
    phone = lead.contacts.first().phones.first()
    wrong = outreach_log(lead=lead, channel="call", contact_point=phone, outcome="no_answer", actor=agent,
                         role_disclosed=True, purpose="short_sale_listing", notes="")
    outreach_log(lead=lead, channel="call", contact_point=phone, outcome="appointment_set", actor=agent,
                 role_disclosed=True, purpose="short_sale_listing", notes="", corrects=wrong)
    [row] = agent_activity(PERIOD).rows
    assert row[2:] == [1, 1, 1, 0]


def test_agent_activity_weeks_and_listings(agent, team_lead):
    lead = LeadFactory(assigned_agent=agent)
    for changed_at, by in ((datetime(2026, 10, 6, 15, tzinfo=UTC), agent), (datetime(2026, 10, 8, 15, tzinfo=UTC), agent),
                           (datetime(2026, 10, 14, 15, tzinfo=UTC), team_lead), (datetime(2026, 9, 30, tzinfo=UTC), agent)):
        StageChangeFactory(lead=lead, from_stage=Stage.QUALIFY, to_stage=Stage.NEGOTIATE, changed_at=changed_at,
                           changed_by=by)
    rows = [row[:2] + row[5:] for row in agent_activity(PERIOD).rows]
    assert rows == [[date(2026, 10, 5), str(agent), 2], [date(2026, 10, 12), str(team_lead), 1]]


def test_time_in_stage_counts_stays_that_ended_in_the_period(agent):
    lead = LeadFactory(assigned_agent=agent)
    at = datetime(2026, 9, 1, 12, tzinfo=UTC)
    for source, target, days in ((Stage.LIST, Stage.CONTACT, 0), (Stage.CONTACT, Stage.QUALIFY, 25),
                                 (Stage.QUALIFY, Stage.CONTACT, 40), (Stage.CONTACT, Stage.QUALIFY, 45),
                                 (Stage.QUALIFY, Stage.DEAD, 100)):
        StageChangeFactory(lead=lead, from_stage=source, to_stage=target, changed_at=at + timedelta(days=days))
    StageChangeFactory(lead__assigned_agent=agent, from_stage=Stage.LIST, to_stage=Stage.CONTACT,
                       changed_at=at)  # another lead: nothing in the period
    rows = {row[0]: row[1:] for row in time_in_stage(PERIOD).rows}
    # In October and November the lead left Qualify after 15 days (Oct 11, from Sep 26) and
    # Contact after 5 (Oct 16); its move on Dec 10 is after the period, its first before.
    assert rows["Qualify"] == [1, 15.0, 15.0] and rows["Contact"] == [1, 5.0, 5.0]
    assert rows["List"] == [0, None, None]


def test_the_funnel_counts_a_lead_sent_back_by_its_furthest_stage(agent):
    back = LeadFactory(assigned_agent=agent)
    moved(back, Stage.CONTACT, Stage.QUALIFY, Stage.NEGOTIATE, Stage.QUALIFY)
    dead = LeadFactory(assigned_agent=agent)
    moved(dead, Stage.DEAD)
    [row] = funnel(PERIOD).rows
    assert row == ["All leads", 2, 1, 1, 1, 0, 0, 0.0]
    sources = {row[0]: row[1:5] for row in funnel(PERIOD, by="source").rows}
    assert sources == {"Entered by hand": [2, 1, 1, 1]}


# The hourly rollups (PostgreSQL) give the numbers the logs give ------------------------


def _logged(lead, agent, outcome, at, corrects=None):
    """An attempt and the check it rides on, straight into the log (the gate is not the point)."""
    phone = lead.contacts.first().phones.first()
    return OutreachAttemptFactory(lead=lead, phone=phone, agent=agent, outcome=outcome, occurred_at=at,
                                  corrects=corrects)


@pytest.mark.postgres
@pytest.mark.parametrize("zone", ["America/Chicago", "America/Puerto_Rico", "Pacific/Honolulu", "UTC",
                                  "America/Sao_Paulo", "Asia/Kolkata"])
def test_agent_activity_from_the_rollup_is_what_the_log_says(lead, agent, team_lead, zone):
    import zoneinfo

    from django.db import connection
    from django.utils import timezone

    from pipeline.models import Outcome, OutreachCount
    from pipeline.reports import activity
    from pipeline.reports.period import week_edges

    if connection.vendor != "postgresql":
        pytest.skip("the rollups are kept by PostgreSQL triggers")
    # Every outcome, an hour apart across a Sunday night and Monday morning (weeks start at
    # different hours of UTC in each zone), by two people.
    monday = datetime(2026, 11, 16, 0, 30, tzinfo=UTC)
    entries = [_logged(lead, (agent, team_lead)[n % 2], outcome, monday + timedelta(hours=n * 3 - 14))
               for n, outcome in enumerate(Outcome.values)]
    appointment = next(entry for entry in entries if entry.outcome == Outcome.APPOINTMENT_SET)
    _logged(lead, appointment.agent, Outcome.NO_ANSWER, appointment.occurred_at + timedelta(minutes=5),
            corrects=appointment)
    # The only entry of its week, corrected: that week's row goes away.
    lonely = _logged(lead, agent, Outcome.TALKED, datetime(2026, 10, 12, 3, tzinfo=UTC))
    _logged(lead, agent, Outcome.TALKED, datetime(2026, 10, 20, 15, tzinfo=UTC), corrects=lonely)
    assert sum(OutreachCount.objects.values_list("attempts", flat=True)) == len(entries) + 3
    with timezone.override(zoneinfo.ZoneInfo(zone)):
        for period in (PERIOD, Period(date(2026, 10, 12), date(2026, 11, 16))):
            edges = week_edges(period)
            # Midnight at 03:00 UTC or half past an hour: no span starts then, so from the log.
            assert (edges is None) == (zone in ("America/Sao_Paulo", "Asia/Kolkata"))
            from_log = activity._attempts_in_log(period)
            assert from_log
            if edges:
                assert activity._attempts_counted(period, edges) == from_log
            assert agent_activity(period).rows == _without_rollups(agent_activity, period)


def _without_rollups(report, period):
    return _without_rollups_report(report, period).rows


def _without_rollups_report(report, period):
    import sys
    from unittest import mock

    # Each report family reads rollups_kept from its own module.
    with mock.patch.object(sys.modules[report.__module__], "rollups_kept", return_value=False):
        return report(period)


@pytest.mark.postgres
@pytest.mark.parametrize("zone", ["America/New_York", "America/Los_Angeles", "UTC", "America/Sao_Paulo"])
def test_compliance_from_the_rollup_is_what_the_checks_say(lead, agent, zone):
    import zoneinfo

    from django.db import connection
    from django.utils import timezone

    from pipeline.models import CheckCount
    from pipeline.reports.period import on_span_edges

    if connection.vendor != "postgresql":
        pytest.skip("the rollups are kept by PostgreSQL triggers")
    # Either side of midnight UTC, of 04:00, where the spans turn hourly (midnight in Puerto
    # Rico), and of midnight in New York (05:00 UTC in November) and Los Angeles (08:00).
    moments = [datetime(2026, 11, 18, hour, minute, tzinfo=UTC) for hour in (0, 3, 4, 5, 7, 8) for minute in (40, 20)]
    moments[0] -= timedelta(hours=1)  # 23:40 the day before
    outcomes = [(Verdict.BLOCK, [("A5", "block"), ("F6", "warn")]), (Verdict.BLOCK, [("A5", "block"), ("D1", "block")]),
                (Verdict.WARN, [("E2", "warn")]), (Verdict.ALLOW, []), (Verdict.BLOCK, [])]
    for n, at in enumerate(moments):
        verdict, findings = outcomes[n % len(outcomes)]
        a_check(lead, agent, verdict, findings, at=at)
        a_check(lead, agent, Verdict.BLOCK, [("D3", "block")], mode="preview", at=at)  # never counted
    assert sum(CheckCount.objects.values_list("checks", flat=True)) == len(moments)
    with timezone.override(zoneinfo.ZoneInfo(zone)):
        for period in (PERIOD, Period(date(2026, 11, 18), date(2026, 11, 30)), Period(date(2026, 11, 1), date(2026, 11, 17))):
            assert on_span_edges([period.since, period.until]) == (zone != "America/Sao_Paulo")
            assert compliance(period).rows == _without_rollups(compliance, period)
        rows = counts(compliance(PERIOD))
        assert rows["Attempts checked"] == 12 and rows["Blocked by A5"] == 6 and rows["Blocked by ?"] == 2
        assert "Blocked by F6" not in rows and "Blocked by D3" not in rows


@pytest.mark.postgres
@pytest.mark.parametrize("stays", [[3], [10, 20], [1.5, 2.25, 7, 30], [4, 9, 16, 25, 36], list(range(1, 12))])
def test_time_in_stage_ranked_by_the_database_as_python_would(agent, stays):
    from django.db import connection

    from pipeline.reports.funnel import _stays_in_database, _stays_in_python

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL ranks the stays")
    start = datetime(2026, 10, 2, 9, 17, 3, 250000, tzinfo=UTC)
    for days in stays:
        lead = LeadFactory(assigned_agent=agent)
        entered = start + timedelta(days=days / 3)
        StageChangeFactory(lead=lead, from_stage=Stage.LIST, to_stage=Stage.CONTACT, changed_at=entered)
        StageChangeFactory(lead=lead, from_stage=Stage.CONTACT, to_stage=Stage.QUALIFY,
                           changed_at=entered + timedelta(days=days, seconds=days * 7.3))
    expected = _stays_in_python(PERIOD)
    assert expected["contact"][0] == len(stays)
    assert _stays_in_database(PERIOD) == expected


# DNC by list from the counts a periodic task keeps ---------------------------------------


def _dnc_fixture(agent):
    from ...leads.factories import ContactFactory, PhoneFactory

    nod, probate = LeadListFactory(name="NOD pull"), LeadListFactory(name="Probate")
    lead = LeadFactory(assigned_agent=agent)
    ListMembershipFactory(lead=lead, lead_list=nod)
    ListMembershipFactory(lead=lead, lead_list=probate)
    owner = ContactFactory(lead=lead)
    listed = PhoneFactory(contact=owner, number="+19185550101", on_dnc_list=True)
    PhoneFactory(contact=owner, number="+19185550102")
    return nod, probate, listed


def test_dnc_by_list_reads_the_kept_counts_and_says_when_they_were_made(agent, broker, client_as):
    from leads.models import ListDncCount
    from pipeline.reports.compliance import dnc_by_list, dnc_list_counts_refresh

    # given counts kept ten minutes ago, at 19:50 UTC (1:50 p.m. in Chicago)
    nod, probate, listed = _dnc_fixture(agent)
    live = dnc_by_list(PERIOD)
    assert "Counted as the page was made." in live.notes[0]
    assert dnc_list_counts_refresh() == 2
    ListDncCount.objects.update(counted_at=datetime(2026, 11, 18, 19, 50, tzinfo=UTC))
    assert dnc_by_list(PERIOD).rows == live.rows == [["NOD pull", 2, 1, 50.0], ["Probate", 2, 1, 50.0]]
    # when a number comes off the list after the count
    listed.on_dnc_list = False
    listed.save(update_fields=["on_dnc_list"])
    # then the report shows the count as made, and says when, in the reader's zone
    import zoneinfo

    from django.utils import timezone

    with timezone.override(zoneinfo.ZoneInfo("America/Chicago")):
        kept = dnc_by_list(PERIOD)
    assert kept.rows == live.rows
    assert "Counted at Nov 18, 2026 1:50 PM CST" in kept.notes[0]
    # and the next count has it
    dnc_list_counts_refresh()
    assert dnc_by_list(PERIOD).rows == [["NOD pull", 2, 0, 0.0], ["Probate", 2, 0, 0.0]]
    page = client_as(broker).get(reverse("reports:report", args=["dnc-by-list"])).content.decode()
    assert "Counted at Nov 18, 2026" in page and "every 10 minutes" in page


def test_dnc_by_list_counts_again_when_the_kept_counts_are_stale(agent):
    import time_machine
    from django.utils import timezone

    from leads.models import ListDncCount
    from pipeline.reports.compliance import DNC_COUNTS_MAX_AGE, dnc_by_list, dnc_list_counts_refresh

    nod, probate, listed = _dnc_fixture(agent)
    dnc_list_counts_refresh()
    listed.on_dnc_list = False
    listed.save(update_fields=["on_dnc_list"])
    assert dnc_by_list(PERIOD).rows[0][2] == 1  # the kept count
    with time_machine.travel(timezone.now() + DNC_COUNTS_MAX_AGE + timedelta(minutes=1)):
        report = dnc_by_list(PERIOD)
    assert report.rows == [["NOD pull", 2, 0, 0.0], ["Probate", 2, 0, 0.0]]
    assert "Counted as the page was made." in report.notes[0]
    assert ListDncCount.objects.count() == 2  # a report only reads


def test_dnc_list_counts_refresh_drops_a_list_whose_numbers_are_gone_and_runs_twice(agent):
    from leads.models import ListDncCount, Phone
    from pipeline.reports.compliance import dnc_by_list, dnc_list_counts_refresh
    from pipeline.tasks import dnc_list_counts_refresh as task

    nod, probate, listed = _dnc_fixture(agent)
    task()
    task()
    assert ListDncCount.objects.count() == 2
    ListMembership.objects.filter(lead_list=probate).delete()
    dnc_list_counts_refresh()
    assert list(ListDncCount.objects.values_list("lead_list__name", "numbers", "on_dnc")) == [("NOD pull", 2, 1)]
    Phone.objects.all().delete()
    dnc_list_counts_refresh()
    assert not ListDncCount.objects.exists()
    assert dnc_by_list(PERIOD).rows == []


# Agent activity's page: week totals and agents, each agent's weeks on demand ---------------


def _activity(lead, agent, team_lead):
    phone = lead.contacts.first().phones.first()
    for who, outcome in ((agent, "talked"), (agent, "no_answer"), (team_lead, "appointment_set")):
        outreach_log(lead=lead, channel="call", contact_point=phone, outcome=outcome, actor=who,
                     role_disclosed=True, purpose="short_sale_listing", notes="")
    StageChangeFactory(lead=lead, from_stage=Stage.QUALIFY, to_stage=Stage.NEGOTIATE,
                       changed_at=datetime(2026, 10, 6, 15, tzinfo=UTC), changed_by=agent)


def test_agent_activity_adds_up_per_agent_and_per_week(lead, agent, team_lead):
    from pipeline.reports.activity import activity_by_agent, activity_by_week

    _activity(lead, agent, team_lead)
    report = agent_activity(PERIOD)
    assert len(report.keys) == len(report.rows) == 3
    assert dict(activity_by_agent(report)) == {agent.pk: [str(agent), 2, 2, 1, 0, 1],
                                               team_lead.pk: [str(team_lead), 1, 1, 1, 1, 0]}
    assert activity_by_week(report) == [[date(2026, 10, 5), 1, 0, 0, 0, 1], [date(2026, 11, 16), 2, 3, 2, 1, 0]]


def test_agent_activity_page_shows_totals_and_one_agents_weeks_and_exports_everything(
        lead, agent, team_lead, broker, client_as):
    _activity(lead, agent, team_lead)
    client = client_as(broker)
    url = reverse("reports:report", args=["agent-activity"])
    period = {"from": "2026-10-01", "to": "2026-11-30"}
    page = client.get(url, period).content.decode()
    assert "Week totals" in page and "Agents" in page
    assert f"agent={agent.pk}" in page and f"agent={team_lead.pk}" in page
    mine = client.get(url, {**period, "agent": agent.pk}).content.decode()
    assert f"{agent}: week by week" in mine and "Oct. 5, 2026" in mine and str(team_lead) not in mine.split(
        "week by week")[1]
    # A week the agent did nothing, when others worked, is a row of zeros (the chart's weeks
    # stay evenly spaced); the period form keeps the agent.
    theirs = client.get(url, {**period, "agent": team_lead.pk})
    assert theirs.context["chart"]["labels"] == ["Oct 5", "Nov 16"]
    assert theirs.context["tables"][0]["rows"] == [[date(2026, 10, 5), 0, 0, 0, 0], [date(2026, 11, 16), 1, 1, 1, 0]]
    assert f'name="agent" value="{team_lead.pk}"' in theirs.content.decode()
    # Someone with no activity in the period, or not a number: the totals, said plainly.
    for other in (broker.pk, "x"):
        response = client.get(url, {**period, "agent": other})
        assert response.status_code == 200 and "No activity for that agent" in response.content.decode()
    text = b"".join(client.get(url, {**period, "format": "csv", "agent": agent.pk}).streaming_content).decode()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["Week of", "Agent", "Attempts", "Conversations", "Appointments", "Listings"]
    assert len(rows) == 4  # the whole table, every agent and week


def test_agent_activity_page_renders_a_year_of_a_hundred_agents_as_two_short_tables(broker, client_as, monkeypatch):
    from pipeline.reports import registry
    from pipeline.reports import views as report_views
    from pipeline.reports.period import Report

    weeks = [date(2025, 12, 1) + timedelta(weeks=n) for n in range(53)]
    big = Report(slug="agent-activity", title="Agent activity per week",
                         columns=["Week of", "Agent", "Attempts", "Conversations", "Appointments", "Listings"],
                         rows=[[week, f"Agent {n:03}", 10, 3, 1, 0] for week in weeks for n in range(100)],
                         keys=[n for _week in weeks for n in range(100)])
    monkeypatch.setitem(registry.REPORTS, "agent-activity", ("Agent activity per week", lambda period: big))
    monkeypatch.setattr(report_views, "REPORTS", registry.REPORTS)
    page = client_as(broker).get(reverse("reports:report", args=["agent-activity"])).content.decode()
    assert page.count("<td class=\"first\">") == 100 + 53  # a row per agent, a row per week
    assert "5,300" in page  # agent-weeks in the export, said


@pytest.mark.postgres
def test_time_in_stage_walk_in_the_database_is_what_python_says_on_a_mixed_book(agent):
    """Leads moving forward, back, to Dead and to Closed, with moves before, in and after the
    period and stays of every length: every stage's count, median and 80th percentile agree."""
    import random

    from django.db import connection

    from pipeline.reports.funnel import _stays_in_database, _stays_in_python

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL walks the moves")
    rng = random.Random(8)
    ladder = [Stage.LIST, Stage.CONTACT, Stage.QUALIFY, Stage.NEGOTIATE, Stage.CLOSE, Stage.CLOSED]
    changes = []
    for _ in range(60):
        lead = LeadFactory(assigned_agent=agent)
        at = datetime(2026, 8, 1, tzinfo=UTC) + timedelta(seconds=rng.randrange(90 * 86400))
        here = 0
        for _ in range(rng.randrange(1, 7)):
            if here == len(ladder) - 1:
                break
            target = (Stage.DEAD if rng.random() < 0.1 else ladder[max(1, here - 1)] if rng.random() < 0.15
                      else ladder[here + 1])
            at += timedelta(seconds=rng.randrange(1, 40 * 86400))
            changes.append(StageChange(lead=lead, from_stage=ladder[here], to_stage=target, changed_at=at))
            if target == Stage.DEAD:
                break
            here = ladder.index(target)
        # Two moves in the same instant: the id decides their order.
        if rng.random() < 0.1:
            changes.append(StageChange(lead=lead, from_stage=ladder[here], to_stage=Stage.DEAD, changed_at=at))
    StageChange.objects.bulk_create(changes)
    for period in (PERIOD, Period(date(2026, 9, 15), date(2026, 10, 20)), Period(date(2026, 11, 1), date(2026, 11, 3))):
        expected = _stays_in_python(period)
        assert _stays_in_database(period) == expected
    assert sum(n for n, _, _ in _stays_in_python(PERIOD).values()) > 40
