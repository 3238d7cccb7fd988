"""The action plans report: each figure against a hand-worked case, the rows behind each
count, its queries, and who may open it."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from django.db import connection
from django.urls import reverse

from compliance.models import Direction
from pipeline.models import (
    EnrollmentStatus,
    PauseReason,
    PlanEnrollment,
    PlanStepRun,
    RunStatus,
    StepKind,
    TaskKind,
)
from pipeline.plans.seeds import NURTURE, seeded_plan
from pipeline.plans.services import StepInput, plan_save
from pipeline.reports.period import Link, Period, plain
from pipeline.reports.plans import COLUMNS, NO_PLANS, RULES_CAPTION, SHARED, plan_activity

from ...helpers import admin_list_rows
from ...leads.factories import LeadFactory
from ..factories import OutreachAttemptFactory

pytestmark = pytest.mark.django_db

PERIOD = Period(date(2026, 10, 1), date(2026, 11, 30))


def at(month, day, hour=16):
    return datetime(2026, month, day, hour, 0, tzinfo=UTC)


@pytest.fixture
def plan(agent):
    return plan_save(actor=agent, name="Ana's follow-up", steps=[
        StepInput(kind=StepKind.TEXT, body="Hi [First Name], [Agent Name] with [Brokerage] here."),
        StepInput(kind=StepKind.EMAIL, subject="Checking in", body="[Role Disclosure] Hello.", delay_days=2),
        StepInput(kind=StepKind.TASK, task_kind=TaskKind.CALL, subject="Call [First Name]", delay_days=3),
    ])


def enrolled(plan, lead, started, status=EnrollmentStatus.ACTIVE, **fields):
    return PlanEnrollment.objects.create(plan=plan, lead=lead, started_at=started, anchor_at=started,
                                         active_since=started, status=status, **fields)


def ran(enrollment, position, status, when, rules=()):
    step = enrollment.plan.steps.get(position=position)
    return PlanStepRun.objects.create(enrollment=enrollment, step=step, lead=enrollment.lead, position=position,
                                      kind=step.kind, title=f"Step {position + 1}", status=status, due_at=when,
                                      ran_at=when, rules=list(rules))


def wrote_back(lead, when, channel="sms"):
    return OutreachAttemptFactory(lead=lead, channel=channel, direction=Direction.INBOUND, occurred_at=when)


@pytest.fixture
def worked(plan, agent, team):
    """The hand-worked case (period Oct 1 - Nov 30; today Nov 18):

    one  started Oct 10, running; text sent Oct 10, email skipped by B1 Oct 12, call task Oct 15;
         texted back Oct 11                                   -> enrolled, active, reply
    two  started Sep 20, paused by a text back Sep 21; text sent Sep 20 -> paused by a response only
    three started Nov 1, paused by a conversation; text skipped by A5 and B1 -> enrolled, paused, skip
    four started Oct 20, stopped Oct 25; a date passed (no rule); texted Oct 28, after it stopped
                                                              -> enrolled only
    five started Nov 5, paused by hand; emailed back Nov 6 (and once Oct 1, before) -> enrolled, reply
    And lead one also in the shared nurture plan from Nov 10, running -> enrolled, active there.
    """
    one, two, three, four, five = (LeadFactory(assigned_agent=agent, team=team) for _ in range(5))
    e1 = enrolled(plan, one, at(10, 10))
    ran(e1, 0, RunStatus.SENT, at(10, 10))
    ran(e1, 1, RunStatus.SKIPPED, at(10, 12), rules=["B1"])
    ran(e1, 2, RunStatus.TASK, at(10, 15))
    wrote_back(one, at(10, 11))
    e2 = enrolled(plan, two, at(9, 20), EnrollmentStatus.PAUSED, pause_reason=PauseReason.INBOUND_TEXT,
                  paused_at=at(9, 21))
    ran(e2, 0, RunStatus.SENT, at(9, 20))
    wrote_back(two, at(9, 21))
    e3 = enrolled(plan, three, at(11, 1), EnrollmentStatus.PAUSED, pause_reason=PauseReason.CONVERSATION,
                  paused_at=at(11, 2))
    ran(e3, 0, RunStatus.SKIPPED, at(11, 1), rules=["A5", "B1"])
    e4 = enrolled(plan, four, at(10, 20), EnrollmentStatus.ENDED, ended_at=at(10, 25))
    ran(e4, 0, RunStatus.SKIPPED, at(10, 20))
    ran(e4, 1, RunStatus.CANCELLED, at(10, 25))
    wrote_back(four, at(10, 28))
    enrolled(plan, five, at(11, 5), EnrollmentStatus.PAUSED, pause_reason=PauseReason.BY_HAND, paused_at=at(11, 5))
    wrote_back(five, at(11, 6), channel="email")
    wrote_back(five, at(10, 1), channel="email")
    enrolled(seeded_plan(NURTURE), one, at(11, 10))
    return plan


def figures(report, name):
    row = next(row for row in report.rows if plain(row[0]) == name)
    return dict(zip(COLUMNS[2:], [plain(cell) for cell in row[2:]], strict=True))


def test_each_figure_of_each_plan_matches_the_hand_worked_case(worked):
    report = plan_activity(PERIOD)
    assert figures(report, "Ana's follow-up") == {
        "Enrolled": 4, "Active now": 1, "Paused by a response now": 2, "Steps sent": 1, "Tasks created": 1,
        "Skipped by a rule": 2, "Replies": 2}
    assert figures(report, "Not now: long-term nurture") == {
        "Enrolled": 1, "Active now": 1, "Paused by a response now": 0, "Steps sent": 0, "Tasks created": 0,
        "Skipped by a rule": 0, "Replies": 0}
    assert figures(report, "Before the auction") == dict.fromkeys(COLUMNS[2:], 0)


def test_the_rules_that_skipped_steps_are_counted_per_plan(worked):
    [rules] = plan_activity(PERIOD).tables
    assert rules["caption"] == RULES_CAPTION
    assert [[row[0], row[1], plain(row[2])] for row in rules["rows"]] == [
        ["B1", "Ana's follow-up", 2], ["A5", "Ana's follow-up", 1]]


def test_shared_plans_come_first_and_say_whose_each_plan_is(worked):
    rows = plan_activity(PERIOD).rows
    whose = [(plain(row[0]), row[1]) for row in rows]
    assert whose[:3] == [("Before the auction", SHARED), ("Documents still needed", SHARED),
                         ("Not now: long-term nurture", SHARED)]
    assert whose[3] == ("Ana's follow-up", "Ana Torres")


def test_each_plan_name_links_to_its_page(worked):
    row = next(row for row in plan_activity(PERIOD).rows if plain(row[0]) == "Ana's follow-up")
    assert row[0].href == f"/plans/{worked.pk}/"


def test_a_narrower_period_counts_only_what_happened_in_it(worked):
    report = plan_activity(Period(date(2026, 11, 1), date(2026, 11, 30)))
    assert figures(report, "Ana's follow-up") == {
        "Enrolled": 2, "Active now": 1, "Paused by a response now": 2, "Steps sent": 0, "Tasks created": 0,
        "Skipped by a rule": 1, "Replies": 1}


def test_a_deleted_plan_stays_while_it_has_something_to_count(worked, agent, plan):
    from pipeline.plans.services import plan_delete

    plan_delete(plan=plan, actor=agent)
    names = [plain(row[0]) for row in plan_activity(PERIOD).rows]
    assert "Ana's follow-up (deleted)" in names
    assert "Ana's follow-up (deleted)" not in [plain(row[0]) for row in plan_activity(
        Period(date(2025, 1, 1), date(2025, 1, 31))).rows]


def test_the_report_reads_in_the_same_few_queries_whatever_the_number_of_plans(worked, agent,
                                                                                django_assert_num_queries):
    # A savepoint and its release around the report's transaction, and on PostgreSQL its settings.
    expected = 2 + (1 if connection.vendor == "postgresql" else 0) + 3
    with django_assert_num_queries(expected):
        plan_activity(PERIOD)
    for n in range(5):
        plan_save(actor=agent, name=f"Another {n}", steps=[
            StepInput(kind=StepKind.TASK, task_kind=TaskKind.CALL, subject="Call")])
    with django_assert_num_queries(expected):
        assert len(plan_activity(PERIOD).rows) == 9


def test_every_count_on_the_page_opens_the_rows_it_counts(worked, broker, client_as):
    client = client_as(broker)
    page = client.get(reverse("reports:report", args=["action-plans"]),
                      {"from": "2026-10-01", "to": "2026-11-30"}).content.decode()
    links = re.findall(r'<a href="([^"]+)" data-count="(\d+)">', page)
    assert len(links) >= 11  # nine figures of the two plans, and the two rules
    for href, count in links:
        assert admin_list_rows(client, href) == int(count), href


def test_the_page_names_the_rules_and_links_each_plan(worked, broker, client_as):
    page = client_as(broker).get(reverse("reports:report", args=["action-plans"])).content.decode()
    assert RULES_CAPTION in page
    assert f'href="/plans/{worked.pk}/"' in page
    assert "data-chart" in page


def test_no_activity_still_lists_the_plans_without_a_chart():
    report = plan_activity(PERIOD)
    assert [plain(row[0]) for row in report.rows] == ["Before the auction", "Documents still needed",
                                                      "Not now: long-term nurture"]
    assert report.chart == {} and report.tables == []


def test_without_any_plan_the_report_says_so():
    from pipeline.models import ActionPlan

    ActionPlan.objects.all().delete()
    report = plan_activity(PERIOD)
    assert report.rows == [] and report.notes == [NO_PLANS]


@pytest.mark.parametrize(("who", "status"), [(None, 302), ("agent", 302), ("team_lead", 403), ("broker", 200)])
def test_only_brokers_open_the_plans_report(who, status, request, client_as):
    user = request.getfixturevalue(who) if who else None
    assert client_as(user).get(reverse("reports:report", args=["action-plans"])).status_code == status


def test_the_csv_export_gives_the_plain_figures(worked, broker, client_as):
    import csv
    import io

    response = client_as(broker).get(reverse("reports:report", args=["action-plans"]),
                                     {"from": "2026-10-01", "to": "2026-11-30", "format": "csv"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == COLUMNS
    assert ["Ana's follow-up", "Ana Torres", "4", "1", "2", "1", "1", "2", "2"] in rows


def test_a_count_is_a_link_and_a_zero_is_not(worked):
    row = next(row for row in plan_activity(PERIOD).rows if plain(row[0]) == "Before the auction")
    assert not any(isinstance(cell, Link) for cell in row[2:])
