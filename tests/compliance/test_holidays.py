"""E3's holiday calendars, computed by rule for any year (``compliance.calendars``), with the
brokerage's changes as data in force from their own dates, and no calendar taken as a holiday."""

import importlib
from datetime import date, datetime, timedelta

import pytest

from compliance import calendars
from compliance.calendars import NoCalendar, ca_cancellation_holidays, state_holidays
from compliance.models import HolidayChange, StateHoliday, Verdict
from compliance.rulebook import rulebook
from compliance.services import registry_version_record

from .test_section_h import CENTRAL, check, homeowner

pytestmark = pytest.mark.django_db


@pytest.fixture
def alabama(agent, brokerage, national_registry):
    """A Birmingham homeowner, with national data for 205 fresh on any day asked."""
    lead, phone = homeowner(agent, number="+12055550101", state="AL", zip_code="35203")
    national_registry.subscription_expires_on = date(2040, 12, 31)  # renewed through the years asked (A1)
    national_registry.save()

    def call_at(at):
        registry_version_record(source=national_registry, area_codes=["205"],
                                version_date=at.date() - timedelta(days=1))
        return check(lead, phone, agent, at)
    return call_at


@pytest.fixture
def no_cache():
    state_holidays.cache_clear()
    yield
    state_holidays.cache_clear()


def test_e3_a_check_dated_2031_in_alabama_is_refused_on_its_holiday(alabama):
    holiday = alabama(datetime(2031, 7, 4, 14, 0, tzinfo=CENTRAL))  # a Friday; nothing seeded for 2031
    after = alabama(datetime(2031, 7, 7, 14, 0, tzinfo=CENTRAL))

    assert (holiday.verdict, holiday.rule_ids) == (Verdict.BLOCK, ["E3"])
    assert "Jul 04 is a AL holiday, Independence Day" in holiday.findings[0].reason
    assert after.verdict == Verdict.ALLOW


def test_e3_an_alabama_holiday_on_a_saturday_in_2032_is_kept_on_the_friday(alabama):
    # Christmas 2032 falls on a Saturday: observed on Friday 24 (Ala. Code 1-3-8); Saturday has no E3.
    assert alabama(datetime(2032, 12, 24, 14, 0, tzinfo=CENTRAL)).rule_ids == ["E3"]
    assert "E3" not in alabama(datetime(2032, 12, 25, 14, 0, tzinfo=CENTRAL)).rule_ids


def test_e3_a_year_with_no_calendar_refuses_the_state_s_calls(alabama, monkeypatch, no_cache):
    monkeypatch.setattr(calendars, "_covered", lambda year: year < 2031)

    decision = alabama(datetime(2031, 7, 8, 14, 0, tzinfo=CENTRAL))  # an ordinary Tuesday

    assert (decision.verdict, decision.rule_ids) == (Verdict.BLOCK, ["E3"])
    assert "There is no AL holiday calendar for 2031" in decision.findings[0].reason
    assert alabama(datetime(2030, 7, 9, 14, 0, tzinfo=CENTRAL)).verdict == Verdict.ALLOW


def test_e3_a_holiday_the_brokerage_adds_is_refused_from_its_effective_date(alabama):
    mourning = datetime(2031, 3, 4, 14, 0, tzinfo=CENTRAL)  # a Tuesday no calendar keeps
    assert alabama(mourning).verdict == Verdict.ALLOW
    row = StateHoliday.objects.create(state="AL", observed_on=mourning.date(), name="Day of mourning",
                                      change=HolidayChange.ADDED, effective_from=date(2031, 3, 5),
                                      source="Governor's proclamation")

    assert alabama(mourning).verdict == Verdict.ALLOW  # not in force on the day of the call
    row.effective_from = date(2031, 3, 1)
    row.save()
    refused = alabama(mourning)
    assert refused.rule_ids == ["E3"] and "Day of mourning" in refused.findings[0].reason
    row.is_active = False
    row.save()
    assert alabama(mourning).verdict == Verdict.ALLOW


def test_e3_a_computed_day_the_brokerage_takes_away_is_callable(alabama):
    davis = datetime(2031, 6, 2, 14, 0, tzinfo=CENTRAL)  # Jefferson Davis' Birthday, first Monday of June
    assert alabama(davis).rule_ids == ["E3"]

    StateHoliday.objects.create(state="AL", observed_on=davis.date(), name="Jefferson Davis Birthday",
                                change=HolidayChange.NOT_OBSERVED, source="counsel, 2031")

    assert alabama(davis).verdict == Verdict.ALLOW
    assert rulebook().holiday("AL", davis.date()) is None


def test_e3_every_day_the_seed_kept_is_still_a_holiday_by_rule():
    """The rows seeded through 2030 were dropped for the computed calendars: none of their
    days may be lost by that."""
    seed = importlib.import_module("compliance.migrations.0004_seed_rules")
    for state, (calendar, _source) in seed.HOLIDAYS.items():
        for year in seed.YEARS:
            for name, day in calendar(year):
                assert day in state_holidays(state, day.year), (state, name, day)


@pytest.mark.parametrize("state", ["AL", "LA", "PA", "RI", "UT", "CA"])
def test_the_calendars_never_run_out_before_2100(state):
    for year in range(2026, 2101):
        days = state_holidays(state, year)
        assert len(days) >= 9 and all(day.year == year for day in days), (state, year)


def test_f7_the_cancellation_counts_only_the_holidays_the_statute_names():
    names = {name.removesuffix(" (observed)") for name in ca_cancellation_holidays(2026).values()}
    assert names == calendars.CA_CANCELLATION_HOLIDAYS
    assert date(2026, 11, 27) not in ca_cancellation_holidays(2026)  # the day after Thanksgiving counts
    assert date(2026, 1, 19) not in ca_cancellation_holidays(2026)  # and so does Martin Luther King Jr. Day


def test_no_calendar_is_an_error_never_an_empty_year():
    with pytest.raises(NoCalendar):
        state_holidays("AL", 2101)
    with pytest.raises(NoCalendar):
        ca_cancellation_holidays(1700)
