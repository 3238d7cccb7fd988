"""The closing forecast: each open lead weighed by its chance of closing, learned from the
brokerage's own stage moves (the starting assumption where they are few), spread over the
days its stages take; a lead's forecast and the report's months agree; and the back-test,
from only what was known then. Every figure here is worked out by hand in the comments.

Frozen at Wednesday 18 November 2026, 14:00 in Chicago (conftest)."""

import zoneinfo
from datetime import date, datetime, timedelta

import pytest
import time_machine
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from leads.models import Lead, Stage
from pipeline.deals.forecast import back_tests as forecast_back_tests
from pipeline.deals.forecast import history as forecast_history
from pipeline.deals.forecast import model as forecast_model
from pipeline.deals.forecast import months as forecast_months
from pipeline.deals.forecast.back_tests import back_test
from pipeline.deals.forecast.durations import learn_stage_durations
from pipeline.deals.forecast.history import StageHistory
from pipeline.deals.forecast.lead import MIN_CHANCE, MIN_RANGE_DAYS, forecast_for
from pipeline.deals.forecast.model import learn_closing_model
from pipeline.deals.forecast.months import closings_by_month
from pipeline.deals.forecast.prior import PRIOR_LEADS, PRIOR_MOVE_ON, assumed_departures
from pipeline.reports import closings
from pipeline.reports.closings import forecast_closings
from pipeline.reports.period import Period, plain
from pipeline.seller.access import seller_link_create
from pipeline.tasks import forecast_refresh as refresh_task

from ...helpers import count_links, rows_behind
from ...leads.factories import LeadFactory
from ..factories import StageChangeFactory

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
        StageChangeFactory(lead=lead, from_stage=previous, to_stage=stage, changed_at=at(entered))
    Lead.objects.filter(pk=lead.pk).update(stage=stage, stage_entered_at=at(entered),
                                           created_at=at(created or entered - timedelta(days=1), 9))
    lead.refresh_from_db()
    return lead


def leaves(lead, to_stage, on: date):
    StageChangeFactory(lead=lead, from_stage=lead.stage, to_stage=to_stage, changed_at=at(on))
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


def test_the_starting_assumption_spreads_its_leads_over_weeks():
    moved_on, dropped = assumed_departures(Stage.CLOSE)
    # Close: typical 30 days, slow 45; ten assumed leads, 85 % (8.5) moving on. Half of
    # those (4.25) evenly over days 15 to 29, 0.2833 a day; 3 in 10 (2.55) over days 30
    # to 44, 0.17 a day; the last fifth (1.7) from day 45 on, each day 1/15 of those
    # left: 0.1133 on day 45, 0.1058 on day 46 (1.5867 / 15)...
    assert moved_on[15] == moved_on[29] == pytest.approx(4.25 / 15)
    assert moved_on[30] == moved_on[44] == pytest.approx(0.17)
    assert moved_on[45] == pytest.approx(1.7 / 15) and moved_on[46] == pytest.approx(1.7 * 14 / 15 / 15)
    # ... until day 225 (five times the slow days), which takes what is left.
    assert (min(moved_on), max(moved_on)) == (15, 225) and sum(moved_on.values()) == pytest.approx(8.5)
    # The 1.5 that drop out take twice as long: 0.025 a day over days 30 to 59, 0.015 a day
    # over days 60 to 89, then from day 90 each day 1/30 of those left (0.01 on day 90).
    assert dropped[30] == dropped[59] == pytest.approx(0.025) and dropped[60] == pytest.approx(0.015)
    assert dropped[90] == pytest.approx(0.01) and min(dropped) == 30
    assert sum(dropped.values()) == pytest.approx(1.5)

    model = learn_closing_model()  # no stage moves at all: the assumption alone
    # Every assumed lead leaves by day 225: the chances on entering are the shares moving on.
    assert model.chance(Stage.CLOSE) == pytest.approx(0.85)
    assert model.chance(Stage.NEGOTIATE) == pytest.approx(0.6 * 0.85)
    assert model.chance(Stage.LIST) == pytest.approx(0.3 * 0.4 * 0.5 * 0.6 * 0.85)
    assert PRIOR_LEADS == 10 and PRIOR_MOVE_ON[Stage.CLOSE] == 0.85


def test_the_brokerages_own_moves_outweigh_the_assumption_once_there_are_many(agent):
    # Forty leads that went from Close to a closing after 10 days each, on record.
    for n in range(40):
        lead = in_stage(agent, Stage.CLOSE, TODAY - timedelta(days=100 + n))
        leaves(lead, Stage.CLOSED, TODAY - timedelta(days=90 + n))
    own = learn_closing_model(prior_leads=0)
    assert own.closing_days(Stage.CLOSE, 0) == {10: 1.0}
    # With the assumption's ten leads (none of them leaving before day 15): day 10: 40 of
    # 50 move on (0.8); the 0.2 left are the assumption's, 85 % of which move on later.
    blended = learn_closing_model()
    assert blended.closing_days(Stage.CLOSE, 0)[10] == pytest.approx(0.8)
    assert blended.chance(Stage.CLOSE) == pytest.approx(0.8 + 0.2 * 0.85)
    assert own.observed[Stage.CLOSE] == (40, 40)


# One lead, and many --------------------------------------------------------------------


def test_a_leads_forecast_is_its_chance_and_the_days_most_of_it_falls_in(agent):
    lead = in_stage(agent, Stage.CLOSE, TODAY)
    forecast = forecast_for(lead, durations=learn_stage_durations(), today=TODAY)
    # No history: the assumption alone (see above), each assumed lead a tenth of the
    # chance. 10 % of the 0.85 (0.085) has come by day 17 (three days of 0.02833 from day
    # 15); 90 % (0.765) by day 55: 0.425 by day 29, 0.68 by day 44, and the tail's 0.17
    # gives the last 0.085 once (14/15)^(k + 1) <= 1/2, k + 1 = 11 days from day 45.
    assert forecast.chance == pytest.approx(0.85) and forecast.percent == 85
    assert (forecast.earliest, forecast.latest) == (TODAY + timedelta(days=17), TODAY + timedelta(days=55))
    assert "typical short-sale timelines" in forecast.source and forecast.assumed


def stalled_in_close(agent):
    """Twenty closings on record, each after 5 to 21 days in Close, and a lead 44 days in
    Close today: longer than any lead of the brokerage's ever stayed there."""
    for n in range(20):
        entered = TODAY - timedelta(days=200 + n)
        leaves(in_stage(agent, Stage.CLOSE, entered), Stage.CLOSED, entered + timedelta(days=5 + n % 17))
    return in_stage(agent, Stage.CLOSE, TODAY - timedelta(days=44))


def test_a_lead_stalled_past_every_real_move_fades_over_weeks_and_never_vanishes_overnight(agent):
    stalled = stalled_in_close(agent)
    model = learn_closing_model()

    forecast = forecast_for(stalled, model=model, today=TODAY)
    tomorrow = forecast_for(stalled, model=model, today=TODAY + timedelta(days=1))

    # By hand, from day 44 only the assumed leads and the stalled lead itself are left:
    # 1.87 of them move on (0.17 on day 44, the tail's 1.7 after), 1.15 drop out (0.025 a
    # day to day 59: 0.4; 0.45 to day 89; the tail's 0.3). Day 44: 0.17 of the 4.02 in
    # the count move on (0.0423); 0.195 leave and the stalled lead leaves the count. From
    # day 45 on, 1.7 of the 2.825 left move on: 0.0423 + (1 - 0.195 / 4.02) x 0.6018 =
    # 0.6149. (Before: 85 %, all of it on day 45, and nothing the day after.)
    assert forecast.chance == pytest.approx(0.17 / 4.02 + (1 - 0.195 / 4.02) * 1.7 / 2.825)
    assert forecast.percent == 61 and tomorrow.percent == 60  # 1.7 / 2.825
    # 10 % of it (0.0615) has come by tomorrow: 0.0423 today, then 0.9515 x 0.1133 /
    # 2.825 = 0.0382. The range runs weeks, not one day.
    assert forecast.earliest == TODAY + timedelta(days=1)
    assert (forecast.latest - forecast.earliest).days >= 3 * MIN_RANGE_DAYS
    assert (tomorrow.latest - tomorrow.earliest).days >= 3 * MIN_RANGE_DAYS
    # It says what it rests on: the assumption, not the brokerage's track record.
    assert forecast.assumed and "track record" not in forecast.source
    assert "an assumption: few of the brokerage's leads have stayed in close this long" in forecast.source

    # Later the chance fades a little each day. At 90 days: of the assumed leads left,
    # 1.7 x (14/15)^45 = 0.0762 move on and 0.3 drop out: 20 %.
    assert model.chance(Stage.CLOSE, 90) == pytest.approx(1.7 * (14 / 15) ** 45 / (1.7 * (14 / 15) ** 45 + 0.3))
    chances = [model.chance(Stage.CLOSE, days) for days in range(44, 240)]
    assert max(earlier - later for earlier, later in zip(chances, chances[1:], strict=False)) < 0.02
    # A forecast is shown until the chance rounds to 0 %.
    last_shown = max(days for days, chance in zip(range(44, 240), chances, strict=True) if chance >= MIN_CHANCE)
    assert forecast_for(stalled, model=model, today=TODAY + timedelta(days=last_shown - 44)).percent >= 1
    assert forecast_for(stalled, model=model, today=TODAY + timedelta(days=last_shown - 43)) is None
    assert last_shown > 4 * 45


def test_a_range_is_never_narrower_than_a_week(agent):
    for n in range(40):  # forty closings, each after exactly 10 days in Close
        lead = in_stage(agent, Stage.CLOSE, TODAY - timedelta(days=100 + n))
        leaves(lead, Stage.CLOSED, TODAY - timedelta(days=90 + n))
    entered_today = in_stage(agent, Stage.CLOSE, TODAY)

    forecast = forecast_for(entered_today, model=learn_closing_model(prior_leads=0), today=TODAY)

    # Every one of them closed on day 10: the 10th and the 90th percentile are both day
    # 10. Shown as the week around it, days 7 to 14.
    assert forecast.chance == 1
    assert (forecast.earliest, forecast.latest) == (TODAY + timedelta(days=7), TODAY + timedelta(days=14))


def test_the_pages_say_when_the_assumption_decides(agent, client_as):
    stalled = stalled_in_close(agent)
    token = seller_link_create(lead=stalled, actor=agent)

    seller = Client().get(reverse("pipeline:seller_page", args=[token])).content.decode()
    header = client_as(agent).get(reverse("pipeline:lenders", args=[stalled.pk])).content.decode()
    lead_page = client_as(agent).get(reverse("leads:detail", args=[stalled.pk])).content.decode()

    # The homeowner is not told that the brokerage's own record says so.
    assert "going by typical short-sale timelines" in seller and "An estimate from typical figures" in seller
    assert "track record" not in seller and "usually close" not in seller
    assert "61% chance it closes (typical figures)" in header
    assert "an assumption: few of the brokerage&#x27;s leads have stayed in close this long" in lead_page


def test_the_pages_say_when_the_brokerages_record_decides(agent, client_as):
    for n in range(40):  # forty closings after 10 days in Close: the record outweighs the assumption
        lead = in_stage(agent, Stage.CLOSE, TODAY - timedelta(days=100 + n))
        leaves(lead, Stage.CLOSED, TODAY - timedelta(days=90 + n))
    closing = in_stage(agent, Stage.CLOSE, TODAY - timedelta(days=2))
    token = seller_link_create(lead=closing, actor=agent)

    seller = Client().get(reverse("pipeline:seller_page", args=[token])).content.decode()

    assert "sales at this point usually close between" in seller
    # 81 moves: each lead's move into Close and the forty out of it.
    assert "the brokerage&#x27;s own track record (81 moves from one stage to the next or out)" in seller
    assert "typical figures" not in seller


def test_the_report_adds_up_each_open_leads_chance_by_month(agent):
    # given: one lead in Close since today (9:00) and a closing on Nov 3; no stage moves on
    # record, so the starting assumption alone decides
    lead = LeadFactory(assigned_agent=agent)
    Lead.objects.filter(pk=lead.pk).update(stage=Stage.CLOSE, stage_entered_at=at(TODAY, 9))
    closed = LeadFactory(assigned_agent=agent)
    Lead.objects.filter(pk=closed.pk).update(stage=Stage.CLOSED, closing_date=date(2026, 11, 3))

    # when
    report = forecast_closings(Period(date(2026, 10, 1), TODAY))

    # then: day 0 is Nov 18. Nothing closes before day 15 (Dec 3). December (days 13 to
    # 43): 0.02833 a day on days 15 to 29 (0.425) and 0.017 a day on days 30 to 43
    # (0.238): 0.663. January (days 44 to 74): 0.017 on day 44, and the tail from day 45
    # on (0.17 in all) for 30 days: 0.17 x (1 - (14/15)^30) = 0.1486; 0.166. February
    # holds 0.018, under the 0.05 a month needs for a row. Likely: each lead closes or
    # not, so a month's standard deviation is sqrt(p(1 - p)): 0.663 +- 1.2816 x 0.473 and
    # 0.166 +- 1.2816 x 0.372, both 0 to 1 in whole closings.
    rows = [[row[0], plain(row[1]), row[2], row[3]] for row in report.rows]
    assert rows == [
        ["2026-11", 1, 0.0, "0"],
        ["2026-12", None, 0.7, "0–1"],
        ["2027-01", None, 0.2, "0–1"],
    ]
    stages = {row[0]: row for row in report.tables[0]["rows"]}
    assert plain(stages["Close"][1]) == 1 and stages["Close"][3] == "85%"
    assert stages["Negotiate with lenders"][2] == 0 and stages["List"][1] == 0


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


def test_the_report_and_the_forecast_name_months_with_one_function():
    assert closings.month_of is forecast_months.month_of and not hasattr(closings, "_month_of")
    assert forecast_months.month_of(date(2026, 12, 31)) == date(2026, 12, 1)


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
    created_later = in_stage(agent, Stage.CLOSE, made_on + timedelta(days=2))
    leaves(created_later, Stage.CLOSED, made_on + timedelta(days=12))

    test = back_test(made_on=made_on, days=30, prior_leads=0)

    # Then, from day 3 on: the five that closed at day 10 (the two open leads leave the
    # count after day 3): both were expected to close, 7 days on. Two expected; of those
    # two leads one closed in the window: off by +1. The lead created after the forecast
    # closed in the window too, but the forecast was not about it.
    assert test.open_leads == 2
    assert test.expected == pytest.approx(2.0)
    assert test.closed_leads == (closes.pk,) and test.closed == 1 and test.error == pytest.approx(+1)
    assert (test.made_on, test.until) == (date(2026, 10, 19), date(2026, 11, 17))
    # Learned from today's moves instead, the drop-out would count: of the eight leads in
    # Close on their day 3, one dropped out on day 8, so 7/8 each.
    assert learn_closing_model(prior_leads=0).chance(Stage.CLOSE, 3) == pytest.approx(7 / 8)


def test_the_forecast_page_shows_the_back_test_and_its_error(agent, broker, client_as):
    made_on = TODAY - timedelta(days=30)
    closed = in_stage(agent, Stage.CLOSE, made_on - timedelta(days=3))
    leaves(closed, Stage.CLOSED, made_on + timedelta(days=7))
    created_later = in_stage(agent, Stage.CLOSE, made_on + timedelta(days=2))
    leaves(created_later, Stage.CLOSED, made_on + timedelta(days=12))
    page = client_as(broker).get("/admin/reports/forecast/").content.decode()
    assert "How the forecast did" in page and "Off by" in page
    assert "Oct 19, 2026" in page and "Oct 19 – Nov 17" in page
    assert "How it did: made 30 days ago" in page
    # Of the one lead open then, one closed: its link opens that lead, not the later one.
    assert "of the 1 lead open then" in page and "1 of them closed" in page
    assert "Closed of those" in page and f"id__in={closed.pk}\"" in page
    linked = [(href, count) for href, count, _text in count_links(page) if "id__in" in href]
    assert linked and all(rows_behind(client_as(broker), href) == count for href, count in linked)


# What it costs: the walk over every stage move is never a lead page's -------------------


def walks(queries) -> int:
    """How many of ``queries`` walked the stage moves (the model's and back-tests' query)."""
    return sum(1 for query in queries if "LAG(c.changed_at)" in query["sql"])


@pytest.fixture
def large(monkeypatch):
    """As if the brokerage were too large for a page to learn the model: no more than two
    stage moves and open leads."""
    monkeypatch.setattr(forecast_model, "LEARN_ON_PAGE_ROWS", 3)


def test_a_lead_page_never_walks_a_large_brokerages_stage_moves(agent, client_as, large, django_assert_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    lead = in_stage(agent, Stage.NEGOTIATE, TODAY - timedelta(days=5))
    in_stage(agent, Stage.CLOSE, TODAY - timedelta(days=2))
    client = client_as(agent)
    url = reverse("leads:detail", args=[lead.pk])

    # Nothing kept yet (a cleared cache): the page asks the worker and shows no forecast.
    with CaptureQueriesContext(connection) as cold:
        page = client.get(url).content.decode()
    assert walks(cold.captured_queries) == 0 and "Forecast closing" not in page
    assert cache.get(forecast_model.REFRESH_ASKED_KEY)

    # The worker's run (the periodic task's, or the one asked for) keeps the model.
    assert refresh_task.apply().get() == 2  # the moves out of Qualify and out of Negotiate
    with CaptureQueriesContext(connection) as warm:
        page = client.get(url).content.decode()
    assert walks(warm.captured_queries) == 0 and "Forecast closing" in page
    for name in ("pipeline:lenders", "pipeline:documents"):  # the deal header
        with CaptureQueriesContext(connection) as header:
            assert "% chance it closes" in client.get(reverse(name, args=[lead.pk])).content.decode()
        assert walks(header.captured_queries) == 0


def test_a_small_brokerages_lead_page_learns_the_model_itself(agent, client_as):
    lead = in_stage(agent, Stage.NEGOTIATE, TODAY - timedelta(days=5))
    page = client_as(agent).get(reverse("leads:detail", args=[lead.pk])).content.decode()
    assert "Forecast closing" in page and cache.get(forecast_model.MODEL_CACHE_KEY) is not None


def test_a_kept_model_serves_a_large_brokerage_until_the_worker_brings_a_new_one(agent, large):
    lead = in_stage(agent, Stage.NEGOTIATE, TODAY - timedelta(days=5))
    in_stage(agent, Stage.CLOSE, TODAY - timedelta(days=2))
    refresh_task.apply()
    learned_at = cache.get(forecast_model.MODEL_CACHE_KEY).as_of
    # Two hours later it is stale: pages still read it, and ask the worker for a new one.
    with time_machine.travel(timezone.now() + timedelta(hours=2)):
        assert forecast_for(lead) is not None
        assert cache.get(forecast_model.MODEL_CACHE_KEY).as_of == learned_at
        assert cache.get(forecast_model.REFRESH_ASKED_KEY)
        # The report learns its own when the kept one is stale.
        forecast_closings(Period(TODAY - timedelta(days=30), TODAY))
        assert cache.get(forecast_model.MODEL_CACHE_KEY).as_of > learned_at


def test_the_report_walks_the_stage_moves_once_when_nothing_is_kept(agent, broker, client_as):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    leaves(in_stage(agent, Stage.CLOSE, TODAY - timedelta(days=40)), Stage.CLOSED, TODAY - timedelta(days=20))
    in_stage(agent, Stage.NEGOTIATE, TODAY - timedelta(days=50))
    client = client_as(broker)

    # The model as of now and the three back-tests, from one walk (before: seven).
    with CaptureQueriesContext(connection) as cold:
        first = client.get("/admin/reports/forecast/").content.decode()
    assert walks(cold.captured_queries) == 1
    with CaptureQueriesContext(connection) as warm:
        again = client.get("/admin/reports/forecast/").content.decode()
    assert walks(warm.captured_queries) == 0 and "How the forecast did" in first and "How the forecast did" in again


def test_the_periodic_task_keeps_the_back_tests_of_each_staff_zone(agent, broker):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from ...leadcrm.factories import BrokerFactory

    BrokerFactory(time_zone="Pacific/Honolulu", is_staff=True)
    broker.is_staff = True
    broker.save()
    made_on = TODAY - timedelta(days=30)
    leaves(in_stage(agent, Stage.CLOSE, made_on - timedelta(days=3)), Stage.CLOSED, made_on + timedelta(days=7))

    refresh_task.apply()

    for zone in ("America/Chicago", "Pacific/Honolulu"):
        with timezone.override(zoneinfo.ZoneInfo(zone)):
            today = timezone.localdate()
            with CaptureQueriesContext(connection) as read:
                kept = forecast_back_tests.back_tests(today)
            assert walks(read.captured_queries) == 0
            # The same as learned here and now, one by one.
            assert kept == [back_test(made_on=today - timedelta(days=days)) for days in (30, 60, 90)]
            assert kept[0].closed == 1


def test_the_walk_at_several_moments_is_the_walk_at_each(agent):
    """PostgreSQL groups the stays once for several moments; Python (SQLite) works the
    same groups out itself; and each moment alone must give what it gives among others."""
    for days_ago, stage in ((400, Stage.NEGOTIATE), (120, Stage.CLOSE), (75, Stage.QUALIFY), (45, Stage.CLOSE),
                            (33, Stage.CONTACT), (10, Stage.NEGOTIATE), (1, Stage.CLOSE)):
        lead = in_stage(agent, stage, TODAY - timedelta(days=days_ago), created=TODAY - timedelta(days=days_ago + 9))
        if days_ago > 40:
            leaves(lead, Stage.CLOSED if stage == Stage.CLOSE else Stage.DEAD, TODAY - timedelta(days=days_ago // 2))
    moments = [timezone.now()] + [at(TODAY - timedelta(days=days), 0) for days in (30, 60, 90, 300)]
    edges = sorted({*moments, *(moment - timedelta(days=forecast_history.LEARN_DAYS) for moment in moments)})
    zone = timezone.get_current_timezone()

    in_database = [sorted(rows, key=str) for rows in forecast_history._walk_in_database(edges, zone)]
    in_python = [sorted(rows, key=str) for rows in forecast_history._walk_in_python(edges, zone)]
    together = forecast_history.stage_episodes_at(moments)

    assert in_database == in_python and in_database[0] and in_database[1]
    assert [forecast_history.stage_episodes(moment) for moment in moments] == together
    # 300 days ago only the lead then 100 days into Negotiate was open (it dropped out 200
    # days ago); today, the three leads entered 33, 10 and 1 days ago.
    history, open_then = together[4]
    assert open_then == {(Stage.NEGOTIATE, TODAY - timedelta(days=400)): 1}
    assert history[Stage.NEGOTIATE].still_in == {100: 1}
    assert sorted(together[0][1].values()) == [1, 1, 1]
