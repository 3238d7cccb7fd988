"""Calling hours (compliance/gate.py ``calling_hours``) as a property.

For any moment and any homeowner (a number and the property and mailing addresses, in
any US zone and state), the gate's clock rules fire exactly when the windows of
COMPLIANCE_RULES.md say, read here from the reference itself, not from the rule tables:
D1 08:00-21:00, the state windows of table E (E1: area-code presumption for FL and OK,
property and mailing states, the strictest), the holidays of states that forbid calls
on them (E3, whose calendar is data: read from the table), in every candidate zone of the
number and the addresses (G2), with no zone at all a block. Local time is zoneinfo's for
that instant, so the DST days come out right; the moments drawn favour the edges.
"""

import zoneinfo
from datetime import UTC, date, datetime, time, timedelta

import phonenumbers
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from phonenumbers import timezone as phone_timezone

from compliance.calendars import state_holidays
from compliance.gate import Attempt, calling_hours
from compliance.models import Channel, Purpose
from compliance.rulebook import rulebook
from leadcrm.accounts.models import User
from leads.models import Contact, Lead, Property

pytestmark = pytest.mark.django_db

# COMPLIANCE_RULES.md D1 and table E, as written there: (start, end) in the homeowner's
# local time, end exclusive; "sunday" a different Sunday window, None no calls on Sunday.
FEDERAL = (time(8), time(21))
STATES = {
    "FL": {"window": (time(8), time(20))}, "OK": {"window": (time(8), time(20))},
    "MD": {"window": (time(8), time(20))}, "WA": {"window": (time(8), time(20))},
    "TX": {"window": (time(9), time(21)), "sunday": (time(12), time(21))},
    "AL": {"window": (time(8), time(20)), "sunday": None, "holidays": True},
    "LA": {"window": (time(8), time(20)), "sunday": None, "holidays": True},
    "MS": {"window": (time(8), time(20)), "sunday": None},
    "KY": {"window": (time(10), time(21))}, "MA": {"window": (time(8), time(20))},
    # [UNVERIFIED] rows, applied as seeded (CT: the stricter of 9-20 and 9-21).
    "CT": {"window": (time(9), time(20))}, "MI": {"window": (time(9), time(21))},
    "MN": {"window": (time(9), time(21))}, "NM": {"window": (time(9), time(21))},
    "NV": {"window": (time(9), time(20))},
    "RI": {"window": FEDERAL, "holidays": True}, "PA": {"window": FEDERAL, "holidays": True},
    "UT": {"window": FEDERAL, "holidays": True},
}
PRESUMED = {"850": "FL", "305": "FL", "407": "FL", "918": "OK", "405": "OK"}  # E1: FL and OK area codes
MAX_PHONE_ZONES = 3  # G2

# Places: ZIP, its state and its zone (as the post office and the clock on the wall say).
PLACES = [
    ("74103", "OK", "America/Chicago"), ("73102", "OK", "America/Chicago"), ("32507", "FL", "America/Chicago"),
    ("33130", "FL", "America/New_York"), ("32801", "FL", "America/New_York"), ("85033", "AZ", "America/Phoenix"),
    ("75217", "TX", "America/Chicago"), ("79901", "TX", "America/Denver"), ("35203", "AL", "America/Chicago"),
    ("70112", "LA", "America/Chicago"), ("39201", "MS", "America/Chicago"), ("40202", "KY", "America/New_York"),
    ("42001", "KY", "America/Chicago"), ("02108", "MA", "America/New_York"), ("06103", "CT", "America/New_York"),
    ("48226", "MI", "America/New_York"), ("55401", "MN", "America/Chicago"), ("87102", "NM", "America/Denver"),
    ("89101", "NV", "America/Los_Angeles"), ("02903", "RI", "America/New_York"), ("19103", "PA", "America/New_York"),
    ("84101", "UT", "America/Denver"), ("98101", "WA", "America/Los_Angeles"), ("21201", "MD", "America/New_York"),
    ("30315", "GA", "America/New_York"), ("97201", "OR", "America/Los_Angeles"), ("83702", "ID", "America/Boise"),
    ("99501", "AK", "America/Anchorage"), ("99546", "AK", "America/Adak"), ("96813", "HI", "Pacific/Honolulu"),
    ("58530", "ND", "America/Chicago"), ("60601", "IL", "America/Chicago"),
]
# Numbers: single zones, several (208 Boise and Los Angeles, 907 Adak and Anchorage, 701
# Denver and Central North Dakota), an exchange phonenumbers maps apart from its area
# code's fallback (850-434, 270-442), and toll-free (every zone: none are used, G2).
NUMBERS = ["+19185550101", "+14055550123", "+18505550101", "+18504340101", "+13055550101", "+14075550101",
           "+12145550101", "+19155550101", "+16025550101", "+12085550101", "+19075550101", "+17015550101",
           "+12705550101", "+12704420101", "+14105550101", "+12065550101", "+14045550101", "+12565550101",
           "+15045550101", "+16175550101", "+18605550101", "+17025550101", "+18015550101", "+18005550101"]
ZONES = sorted({zone for _, _, zone in PLACES})
EDGES = sorted({t for s in STATES.values() for w in (s["window"], s.get("sunday")) if w for t in w} | set(FEDERAL))
# US daylight-saving changes: the second Sunday of March, the first of November.
DST_DAYS = [d for y in range(2025, 2031) for d in (
    date(y, 3, 8) + timedelta(days=(6 - date(y, 3, 8).weekday()) % 7),
    date(y, 11, 1) + timedelta(days=(6 - date(y, 11, 1).weekday()) % 7))]


def phone_zones(number: str) -> tuple[str, ...]:
    """The zones phonenumbers gives the number (G1): the library, not our code."""
    zones = phone_timezone.time_zones_for_number(phonenumbers.parse(number, None))
    return tuple(z for z in zones if z != "Etc/Unknown")


@st.composite
def moments(draw) -> datetime:
    """Any instant of 2025-2030, or one a second or two around a window's edge, on any
    day or on a DST day, in one of the homeowners' zones."""
    kind = draw(st.sampled_from(["any", "edge", "dst-edge"]))
    if kind == "any":
        return draw(st.datetimes(datetime(2025, 1, 2), datetime(2030, 12, 30), timezones=st.just(UTC)))
    day = draw(st.sampled_from(DST_DAYS) if kind == "dst-edge" else st.dates(date(2025, 1, 2), date(2030, 12, 30)))
    zone = zoneinfo.ZoneInfo(draw(st.sampled_from(ZONES)))
    edge = datetime.combine(day, draw(st.sampled_from(EDGES)), tzinfo=zone)
    return (edge + timedelta(seconds=draw(st.integers(-2, 1)))).astimezone(UTC)


@st.composite
def homeowners(draw):
    number = draw(st.sampled_from(NUMBERS))
    place = draw(st.sampled_from(PLACES))
    mailing = draw(st.one_of(st.just(place), st.sampled_from(PLACES), st.just(("", "", None))))
    if draw(st.integers(0, 9)) == 0:  # a property without a ZIP on file
        place = ("", place[1], None)
    return number, place, mailing


def expected(number, place, mailing, at, holidays) -> set[str]:
    """The rule IDs COMPLIANCE_RULES.md says fire for a call at ``at``."""
    zones = set(z for z in (place[2], mailing[2]) if z)
    if len(phone_zones(number)) <= MAX_PHONE_ZONES:
        zones |= set(phone_zones(number))
    if not zones:
        return {"G2"}
    states = {s for s in (PRESUMED.get(number[2:5]), place[1], mailing[1]) if s}
    fired = set()
    for zone in zones:
        local = at.astimezone(zoneinfo.ZoneInfo(zone))
        now = local.time()
        if not FEDERAL[0] <= now < FEDERAL[1]:
            fired.add("D1")
        for state in states & STATES.keys():
            rule = STATES[state]
            window = rule.get("sunday", rule["window"]) if local.weekday() == 6 else rule["window"]
            if window is None or not window[0] <= now < window[1]:
                fired.add("E1")
            if rule.get("holidays") and (state, local.date()) in holidays:
                fired.add("E3")
    return fired


def attempt_for(number, place, mailing, at) -> Attempt:
    """A call to ``number`` of a homeowner at ``place`` who receives mail at ``mailing``."""
    lead = Lead(property=Property(street="1 Main St", city="Town", state=place[1], zip_code=place[0]))
    contact = Contact(lead=lead, mailing_state=mailing[1], mailing_zip=mailing[0])
    return Attempt(lead=lead, channel=Channel.CALL, purpose=Purpose.LISTING, actor=User(username="caller"), at=at,
                   role_disclosed=True, brokerage=rulebook().brokerage, contact_point=None, number=number,
                   contact=contact)


class Holidays:
    """The oracle's holidays: the computed calendar of each state that keeps them (E3)."""

    def __contains__(self, state_and_day) -> bool:
        state, day = state_and_day
        return day in state_holidays(state, day.year)


@pytest.fixture
def holidays(db):
    return Holidays()


@settings(max_examples=400)
@given(homeowner=homeowners(), at=moments())
# H3: 20:59:59 passes, 21:00:00 and 07:59:59 do not (Atlanta, federal only).
@example(homeowner=("+14045550101", ("30315", "GA", "America/New_York"), ("", "", None)),
         at=datetime(2026, 11, 18, 20, 59, 59, tzinfo=zoneinfo.ZoneInfo("America/New_York")))
@example(homeowner=("+14045550101", ("30315", "GA", "America/New_York"), ("", "", None)),
         at=datetime(2026, 11, 18, 21, 0, 0, tzinfo=zoneinfo.ZoneInfo("America/New_York")))
# Spring forward in New York: 08:00 EDT is 12:00 UTC that day.
@example(homeowner=("+14045550101", ("30315", "GA", "America/New_York"), ("", "", None)),
         at=datetime(2026, 3, 8, 11, 59, 59, tzinfo=UTC))
# Arizona in July keeps standard time; Texas on a Sunday opens at noon.
@example(homeowner=("+16025550101", ("85033", "AZ", "America/Phoenix"), ("", "", None)),
         at=datetime(2026, 7, 15, 20, 59, tzinfo=zoneinfo.ZoneInfo("America/Phoenix")))
@example(homeowner=("+12145550101", ("75217", "TX", "America/Chicago"), ("", "", None)),
         at=datetime(2026, 11, 22, 11, 59, tzinfo=zoneinfo.ZoneInfo("America/Chicago")))
# A Florida cell of a Georgia homeowner gets Florida's 20:00 (E1); toll-free, no address (G2).
@example(homeowner=("+13055550101", ("30315", "GA", "America/New_York"), ("", "", None)),
         at=datetime(2026, 11, 18, 20, 30, tzinfo=zoneinfo.ZoneInfo("America/New_York")))
@example(homeowner=("+18005550101", ("", "GA", None), ("", "", None)), at=datetime(2026, 11, 18, 19, 0, tzinfo=UTC))
# Alabama's Christmas 2027 (a Saturday) is observed on Friday the 24th (E3).
@example(homeowner=("+12565550101", ("35203", "AL", "America/Chicago"), ("", "", None)),
         at=datetime(2027, 12, 24, 12, 0, tzinfo=zoneinfo.ZoneInfo("America/Chicago")))
def test_d1_e1_e3_g2_the_gate_fires_exactly_when_the_reference_windows_say(homeowner, at, holidays):
    number, place, mailing = homeowner
    findings = list(calling_hours(attempt_for(number, place, mailing, at)))
    assert {f.rule for f in findings} == expected(number, place, mailing, at, holidays), [f.reason for f in findings]
    assert all(f.severity == "block" and f.reason for f in findings)


# One zone per place a multi-zone number may ring (G1), by a ZIP of that zone.
ZIP_IN = {"America/Boise": "83702", "America/Los_Angeles": "97201", "America/Adak": "99546",
          "America/Anchorage": "99501", "America/Denver": "80202", "America/North_Dakota/Center": "58530"}
TOLL_FREE = "+18005550101"  # its zones are too many to use (G2): only the address's count


@settings(max_examples=150)
@given(number=st.sampled_from(["+12085550101", "+19075550101", "+17015550101"]), at=moments())
def test_g2_a_number_with_several_zones_is_held_to_the_strictest(number, at):
    # given the same homeowner rung in each of the number's zones alone
    zones = phone_zones(number)
    assert len(zones) > 1
    state = {"208": "ID", "907": "AK", "701": "ND"}[number[2:5]]
    alone = [bool(list(calling_hours(attempt_for(TOLL_FREE, (ZIP_IN[zone], state, zone), ("", "", None), at))))
             for zone in zones]
    # when the number itself is rung, with no address zone to add
    together = bool(list(calling_hours(attempt_for(number, ("", state, None), ("", "", None), at))))
    # then it is blocked exactly when one of its zones would be
    assert together == any(alone)
