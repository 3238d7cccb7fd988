"""The closing forecast: each open lead weighed by its chance of closing, learned from the
brokerage's own stage moves (the starting assumption where they are few), spread over the
days its stages take; a lead's forecast and the report's months agree; and the back-test,
from only what was known then. Every figure here is worked out by hand in the comments.

Frozen at Wednesday 18 November 2026, 14:00 in Chicago (conftest)."""

from datetime import date, datetime, timedelta

import pytest
from django.utils import timezone

from leads.models import Lead, Stage
from pipeline.forecast import (
    PRIOR_LEADS,
    PRIOR_MOVE_ON,
    StageHistory,
    back_test,
    closings_by_month,
    forecast_for,
    learn_closing_model,
    learn_stage_durations,
)
from pipeline.models import StageChange
from pipeline.reports import Period, forecast_closings, plain

from ..factories import LeadFactory

pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 18)


def at(day: date, hour: int = 12) -> datetime:
    return datetime.combine(day, datetime.min.time().replace(hour=hour), tzinfo=timezone.get_current_timezone())


def in_stage(agent, stage, entered: date, created: date | None = None):
    """A lead in ``stage`` since ``entered`` (noon), with the move into it on record."""
    lead = LeadFactory(assigned_agent=agent)
    previous = {Stage.CONTACT: Stage.LIST, Stage.QUALIFY: Stage.CONTACT, Stage.NEGOTIATE: Stage.QUALIFY,
                Stage.CLOSE: Stage.NEGOTIATE}.get(stage)
    if previous:
        StageChange.objects.create(lead=lead, from_stage=previous, to_stage=stage, changed_at=at(entered))
    Lead.objects.filter(pk=lead.pk).update(stage=stage, stage_entered_at=at(entered),
                                           created_at=at(created or entered - timedelta(days=1), 9))
    lead.refresh_from_db()
    return lead


def leaves(lead, to_stage, on: date):
    StageChange.objects.create(lead=lead, from_stage=lead.stage, to_stage=to_stage, changed_at=at(on))
    Lead.objects.filter(pk=lead.pk).update(stage=to_stage, stage_entered_at=at(on),
                                           **({"closing_date": on} if to_stage == Stage.CLOSED else {}))


# One stage's history, by hand --------------------------------------------------------


def test_a_stages_chance_counts_the_leads_still_in_it_only_as_long_as_they_have_been_there():
    # Six leads went through Close: three closed after 10 days, one after 30, one dropped
    # out after 20, one is still there after 15.
    close = StageHistory(moved_on={10: 3, 30: 1}, dropped={20: 1}, still_in={15: 1})
    # Day 10: 3 of the 6 move on (1/2); 3 stay. Day 15: the one still there leaves the
    # count. Day 20: 1 of 2 drops out: half of the half still in stays (1/4). Day 30: the
    # last one moves on: 1/4. In all 3/4, not the 4 of 5 of those that left.
    assert close.moving_on(0) == {10: 0.5, 30: 0.25}
    # Twelve days in: the three that closed at day 10 no longer say anything about it.
    # From day 12 on, 3 were there; day 20: 1 of 2 drops out (1/2 stays); day 30: 1 of 1
    # moves on, 18 days from now.
    assert close.moving_on(12) == {18: 0.5}
    # Longer than any lead that moved on: no chance left.
    assert close.moving_on(31) == {}


def test_with_no_history_the_starting_assumption_decides():
    model = learn_closing_model()  # no stage moves at all
    typical, slow = 30, 45  # Close's reference days
    # Close: 85 % move on, half after the typical days and half after the slow ones.
    assert model.closing_days(Stage.CLOSE, 0) == pytest.approx({typical: 0.425, slow: 0.425})
    # Negotiate (60 or 120 days, 60 % move on), then Close: 0.6 x 0.85 = 0.51, in four
    # equal parts at 60+30, 60+45, 120+30 and 120+45 days.
    assert model.closing_days(Stage.NEGOTIATE, 0) == pytest.approx(
        {90: 0.1275, 105: 0.1275, 150: 0.1275, 165: 0.1275})
    assert model.chance(Stage.LIST) == pytest.approx(0.3 * 0.4 * 0.5 * 0.6 * 0.85)
    assert PRIOR_LEADS == 10 and PRIOR_MOVE_ON[Stage.CLOSE] == 0.85


def test_the_brokerages_own_moves_outweigh_the_assumption_once_there_are_many(agent):
    # Forty leads that went from Close to a closing after 10 days each, on record.
    for n in range(40):
        lead = in_stage(agent, Stage.CLOSE, TODAY - timedelta(days=100 + n))
        leaves(lead, Stage.CLOSED, TODAY - timedelta(days=90 + n))
    own = learn_closing_model(prior_leads=0)
    assert own.closing_days(Stage.CLOSE, 0) == {10: 1.0}
    # With the assumption's ten leads (4.25 moving on and 0.75 dropping out at 30 days, the
    # same at 45): day 10: 40 of 50 move on (0.8), 0.2 stay; day 30: 4.25 of the 10 left
    # move on (0.2 x 0.425 = 0.085), 5 leave, 0.1 stay; day 45: 4.25 of 5 (0.085).
    blended = learn_closing_model()
    assert blended.closing_days(Stage.CLOSE, 0) == pytest.approx({10: 0.8, 30: 0.085, 45: 0.085})
    assert own.observed[Stage.CLOSE] == (40, 40)


# One lead, and many --------------------------------------------------------------------


def test_a_leads_forecast_is_its_chance_and_the_days_most_of_it_falls_in(agent):
    lead = in_stage(agent, Stage.NEGOTIATE, TODAY)
    forecast = forecast_for(lead, durations=learn_stage_durations(), today=TODAY)
    # 0.51 in four parts of 0.1275 (see above): 10 % of it (0.051) has come by day 90,
    # 90 % (0.459) only by day 165 (day 150 holds 0.3825).
    assert forecast.chance == pytest.approx(0.51) and forecast.percent == 51
    assert (forecast.earliest, forecast.latest) == (TODAY + timedelta(days=90), TODAY + timedelta(days=165))
    assert "typical short-sale timelines" in forecast.source


def test_a_lead_that_outlived_every_precedent_has_no_forecast(agent):
    # 50 days in Close: the assumption's slowest closing came after 45, and no lead of the
    # brokerage's has moved on later. Nothing to forecast it from: no range, no closing.
    stuck = in_stage(agent, Stage.CLOSE, TODAY - timedelta(days=50))
    assert forecast_for(stuck, today=TODAY) is None
    assert forecast_for(LeadFactory(stage=Stage.CLOSED)) is None
    assert learn_closing_model().chance(Stage.CLOSE, 50) == 0


def test_the_report_adds_up_each_open_leads_chance_by_month(agent):
    # given: one lead in Close and one in Negotiate since today, and a closing on Nov 3;
    # no stage moves on record, so the starting assumption alone decides
    for stage in (Stage.CLOSE, Stage.NEGOTIATE):
        lead = LeadFactory(assigned_agent=agent)
        Lead.objects.filter(pk=lead.pk).update(stage=stage, stage_entered_at=at(TODAY, 9))
    closed = LeadFactory(assigned_agent=agent)
    Lead.objects.filter(pk=closed.pk).update(stage=Stage.CLOSED, closing_date=date(2026, 11, 3))

    # when
    report = forecast_closings(Period(date(2026, 10, 1), TODAY))

    # then: Close: 0.425 on Dec 18 (day 30) and on Jan 2 (day 45); Negotiate: 0.1275 on
    # Feb 16, Mar 3, Apr 17 and May 2 (days 90, 105, 150, 165). Likely: each lead closes
    # or not, so a month's standard deviation is sqrt(p(1 - p)): 0.425 +- 1.2816 x 0.494
    # and 0.1275 +- 1.2816 x 0.333, both 0 to 1 in whole closings.
    rows = [[row[0], plain(row[1]), row[2], row[3]] for row in report.rows]
    assert rows == [
        ["2026-11", 1, 0.0, "0"],
        ["2026-12", None, 0.4, "0–1"],
        ["2027-01", None, 0.4, "0–1"],
        ["2027-02", None, 0.1, "0–1"],
        ["2027-03", None, 0.1, "0–1"],
        ["2027-04", None, 0.1, "0–1"],
        ["2027-05", None, 0.1, "0–1"],
    ]
    stages = {row[0]: row for row in report.tables[0]["rows"]}
    assert stages["Close"][2] == 0.8 and stages["Close"][3] == "85%"  # 0.85 expected, rounded
    assert stages["Negotiate with lenders"][2] == 0.5 and stages["List"][1] == 0


def test_the_months_add_up_to_the_leads_own_forecasts(agent):
    """The report and forecast_for read one model: the months' expected closings are the
    open leads' chances, summed."""
    for stage, days_ago in ((Stage.QUALIFY, 3), (Stage.NEGOTIATE, 10), (Stage.NEGOTIATE, 70), (Stage.CLOSE, 40),
                            (Stage.LIST, 3), (Stage.CONTACT, 0)):
        in_stage(agent, stage, TODAY - timedelta(days=days_ago))
    model = learn_closing_model()
    leads = list(Lead.objects.filter(stage__in=[Stage.LIST, Stage.CONTACT, Stage.QUALIFY, Stage.NEGOTIATE,
                                                Stage.CLOSE]))
    chances = sum(forecast.chance for lead in leads if (forecast := forecast_for(lead, model=model, today=TODAY)))
    open_leads = {(Stage(lead.stage), timezone.localdate(lead.stage_entered_at)): 1 for lead in leads}
    months, later = closings_by_month(model=model, open_leads=open_leads, today=TODAY, months=12)
    assert sum(month.expected for month in months.values()) + later == pytest.approx(chances)
    assert chances < len(leads) / 2  # weighed, not counted


# Back-test ---------------------------------------------------------------------------


def test_the_back_test_uses_only_what_was_known_then(agent):
    made_on = TODAY - timedelta(days=30)  # October 19
    # Known then: five leads that closed after exactly 10 days in Close.
    for n in range(5):
        leaves(in_stage(agent, Stage.CLOSE, made_on - timedelta(days=40 + n)), Stage.CLOSED,
               made_on - timedelta(days=30 + n))
    # Open then: two leads 3 days into Close. One closed 7 days later, one dropped out.
    closes = in_stage(agent, Stage.CLOSE, made_on - timedelta(days=3))
    drops = in_stage(agent, Stage.CLOSE, made_on - timedelta(days=3))
    leaves(closes, Stage.CLOSED, made_on + timedelta(days=7))
    leaves(drops, Stage.DEAD, made_on + timedelta(days=5))
    # Not known then: a lead that entered Close later and dropped out after 2 days, and one
    # created (and closed) after the forecast was made.
    leaves(in_stage(agent, Stage.CLOSE, made_on + timedelta(days=1)), Stage.DEAD, made_on + timedelta(days=3))
    leaves(in_stage(agent, Stage.CLOSE, made_on + timedelta(days=2)), Stage.CLOSED, made_on + timedelta(days=12))

    test = back_test(made_on=made_on, days=30, prior_leads=0)

    # Then, from day 3 on: the five that closed at day 10 (the two open leads leave the
    # count after day 3): both were expected to close, 7 days on. Two expected, two
    # closed in the window (one of them unknown then): off by 0.
    assert test.open_leads == 2
    assert test.expected == pytest.approx(2.0)
    assert test.closed == 2 and test.error == pytest.approx(0)
    assert (test.made_on, test.until) == (date(2026, 10, 19), date(2026, 11, 17))
    # Learned from today's moves instead, the drop-out would count: of the eight leads in
    # Close on their day 3, one dropped out on day 8, so 7/8 each.
    assert learn_closing_model(prior_leads=0).chance(Stage.CLOSE, 3) == pytest.approx(7 / 8)


def test_the_forecast_page_shows_the_back_test_and_its_error(agent, broker, client_as):
    made_on = TODAY - timedelta(days=30)
    leaves(in_stage(agent, Stage.CLOSE, made_on - timedelta(days=3)), Stage.CLOSED, made_on + timedelta(days=7))
    page = client_as(broker).get("/admin/reports/forecast/").content.decode()
    assert "How the forecast did" in page and "Off by" in page
    assert "Oct 19, 2026" in page and "Oct 19 – Nov 17" in page
    assert "How it did: made 30 days ago" in page
