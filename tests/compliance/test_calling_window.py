"""The window the lead page shows beside each of the homeowner's clocks (``window_in_force``)
and the gate's calling-hours rule (``calling_hours``) read the same day's rules: the
federal window (D1), the states' windows (E1) and holidays (E3), as in force on the
homeowner's own local day, in each candidate zone (G2). Rule IDs: COMPLIANCE_RULES.md.
"""

import zoneinfo
from datetime import UTC, date, datetime, time

import pytest
import time_machine
from django.utils import timezone

from compliance.gate import Attempt, calling_hours, window_in_force
from compliance.models import Channel, Purpose
from compliance.rulebook import rulebook
from leads.models import Phone
from pipeline.outreach.queue import phone_status_now

from .factories import RuleParameterFactory, StateCallingRuleFactory

pytestmark = pytest.mark.django_db

CHICAGO = zoneinfo.ZoneInfo("America/Chicago")
# Thanksgiving 2026, an Alabama holiday (E3): 2 p.m. in Birmingham and Tulsa.
THANKSGIVING = datetime(2026, 11, 26, 20, 0, tzinfo=UTC)
# Wednesday 18 November, 7:30 p.m. in Tulsa: already Thursday the 19th in UTC.
EVENING = datetime(2026, 11, 19, 1, 30, tzinfo=UTC)


def attempt_at(lead, agent, at):
    phone = Phone.objects.get(contact__lead=lead)
    return Attempt(lead=lead, channel=Channel.CALL, purpose=Purpose.LISTING, actor=agent, at=at, role_disclosed=True,
                   brokerage=rulebook().brokerage, contact_point=phone, number=phone.number,
                   contact=phone.contact)


def assert_gate_and_window_agree(lead, agent, at):
    """The gate refuses on the clock exactly when, in one of the zones, the window shown
    for that day does not hold the local time."""
    attempt = attempt_at(lead, agent, at)
    refused = {finding.rule for finding in calling_hours(attempt)}
    outside = []
    for zone in attempt.evidence["zones"]:
        local = at.astimezone(zoneinfo.ZoneInfo(zone["zone"]))
        window = window_in_force(rulebook(), attempt.evidence["states"], local)
        if window is None or not window[0] <= local.time() < window[1]:
            outside.append(zone["zone"])
    assert bool(refused) == bool(outside), (refused, outside)
    return refused


@pytest.fixture
def alabama_lead(lead):
    # A house in Birmingham; the owner's number and mail in Tulsa (OK): OK's and AL's rules apply (E1).
    lead.property.state, lead.property.zip_code, lead.property.city = "AL", "35203", "Birmingham"
    lead.property.save()
    return lead


def test_e3_on_a_state_holiday_the_window_shown_is_none_and_the_gate_refuses(alabama_lead, agent):
    with time_machine.travel(THANKSGIVING, tick=False):
        # the gate: an Alabama holiday, though 2 p.m. is inside every window (E3)
        assert assert_gate_and_window_agree(alabama_lead, agent, timezone.now()) == {"E3"}
        # the lead page: the same day's clock says so, and the phone is refused for it
        phones = list(Phone.objects.filter(contact__lead=alabama_lead).select_related("contact"))
        phone_status_now(lead=alabama_lead, phones=phones, user=agent)
    (phone,) = phones
    assert [clock.window for clock in phone.zone_clocks] == ["no calls today"]
    assert not phone.callable_now and "E3" in {finding.rule for finding in phone.blocked_by}


def test_e3_the_day_before_the_holiday_both_say_calls_are_allowed(alabama_lead, agent):
    day_before = datetime(2026, 11, 25, 20, 0, tzinfo=UTC)
    assert assert_gate_and_window_agree(alabama_lead, agent, day_before) == set()
    assert window_in_force(rulebook(), ["OK", "AL"], day_before.astimezone(CHICAGO)) == (time(8), time(20))


def new_oklahoma_hours(on):
    # E1: a new version of Oklahoma's window from the 19th: 9 a.m. to 7 p.m.
    StateCallingRuleFactory(state="OK", effective_from=on, window_start=time(9), window_end=time(19))


def new_federal_hours(on):
    # D1: a new federal window end from the 19th: 7 p.m.
    RuleParameterFactory(rule="D1", key="window_end_hour", value=19, effective_from=on)


@pytest.mark.parametrize(("new_rule", "new_window"), [
    (new_oklahoma_hours, (time(9), time(19))),
    (new_federal_hours, (time(8), time(19))),
], ids=["E1", "D1"])
def test_the_rules_in_force_are_those_of_the_homeowners_own_day_not_the_utc_date(lead, agent, new_rule, new_window):
    # given rules that change on the 19th, and a call at 7:30 p.m. on the 18th in Tulsa (the 19th in UTC)
    new_rule(date(2026, 11, 19))
    with time_machine.travel(EVENING, tick=False):
        # then the gate and the window shown both read the 18th's rules: 8 a.m. to 8 p.m., open
        assert assert_gate_and_window_agree(lead, agent, timezone.now()) == set()
        assert window_in_force(rulebook(), ["OK"], timezone.now().astimezone(CHICAGO)) == (time(8), time(20))
        phones = list(Phone.objects.filter(contact__lead=lead).select_related("contact"))
        phone_status_now(lead=lead, phones=phones, user=agent)
    (phone,) = phones
    assert [clock.window for clock in phone.zone_clocks] == ["8 AM–8 PM"]
    assert not {"D1", "E1"} & {finding.rule for finding in phone.blocked_by}
    # and on the 19th itself, both read the new rule: at 7:30 p.m. the call is refused
    on_the_19th = datetime(2026, 11, 20, 1, 30, tzinfo=UTC)
    assert assert_gate_and_window_agree(lead, agent, on_the_19th) & {"D1", "E1"}
    assert window_in_force(rulebook(), ["OK"], on_the_19th.astimezone(CHICAGO)) == new_window


@pytest.mark.parametrize("at", [
    datetime(2026, 11, 18, 13, 59, tzinfo=UTC),  # 7:59 a.m. in Tulsa: before D1
    datetime(2026, 11, 18, 14, 0, tzinfo=UTC),  # 8:00 a.m.: open
    datetime(2026, 11, 19, 1, 59, tzinfo=UTC),  # 7:59 p.m.: open
    datetime(2026, 11, 19, 2, 0, tzinfo=UTC),  # 8 p.m.: OK closes (E1)
    datetime(2026, 11, 22, 20, 0, tzinfo=UTC),  # a Sunday: no calls in Alabama (E1)
    THANKSGIVING,  # E3
    datetime(2026, 12, 25, 3, 30, tzinfo=UTC),  # Christmas in UTC, Christmas Eve 9:30 p.m. in Tulsa
])
def test_the_gate_and_the_window_shown_agree_at_the_edges(alabama_lead, agent, at):
    assert_gate_and_window_agree(alabama_lead, agent, at)
