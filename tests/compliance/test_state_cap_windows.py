"""Each state's cap over its own window, counting what it caps (E2): Maine's one automated
call per number in 8 hours beside Florida's three calls and Maryland's calls and texts in 24."""

import zoneinfo
from datetime import date, datetime, time, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from compliance.gate import Attempt, list_facts, resolve_contact_point
from compliance.models import Channel, CheckMode, Purpose, StateCallingRule, Technology, Verdict
from compliance.rulebook import rulebook
from compliance.services import outreach_check, registry_version_record

from ..leads.factories import ContactFactory, LeadFactory, PhoneFactory, PropertyFactory
from .factories import ConsentRecordFactory, ReassignedNumberCheckFactory, StateCallingRuleFactory

pytestmark = pytest.mark.django_db

EASTERN = zoneinfo.ZoneInfo("America/New_York")
START = datetime(2026, 11, 17, 9, 0, tzinfo=EASTERN)  # a Tuesday morning, inside every window


@pytest.fixture
def fresh_registry(national_registry):
    registry_version_record(source=national_registry, area_codes=["207", "850", "410"],
                            version_date=START.date() - timedelta(days=1))


def homeowner(agent, *, number, state, zip_code, mailing_state=None, mailing_zip=None):
    lead = LeadFactory(assigned_agent=agent, property=PropertyFactory(state=state, zip_code=zip_code))
    contact = ContactFactory(lead=lead, mailing_state=mailing_state or state, mailing_zip=mailing_zip or zip_code)
    phone = PhoneFactory(contact=contact, number=number)
    # Written consent to automated calls and texts, and a fresh "not reassigned": only the cap is asked.
    ConsentRecordFactory(phone=phone, obtained_at=START - timedelta(days=30), covers_autodialer=True,
                         covers_prerecorded=True)
    ReassignedNumberCheckFactory(phone=phone, consent_date=date(2026, 10, 1), queried_at=START - timedelta(days=1))
    return lead, phone


@pytest.fixture
def maine(agent, brokerage, fresh_registry):
    return homeowner(agent, number="+12075550101", state="ME", zip_code="04101")


def attempt(lead, phone, agent, at, technology=Technology.AUTODIALER, channel=Channel.CALL):
    """A logged attempt's check (what the caps count): allowed or warned, it counts."""
    return outreach_check(lead=lead, contact_point=phone, channel=channel, purpose=Purpose.LISTING, actor=agent,
                          at=at, role_disclosed=True, technology=technology)


def cap_findings(decision):
    return [finding for finding in decision.findings if finding.rule == "E2"]


def test_e2_maine_row_is_seeded_one_automated_call_in_8_hours_unverified():
    row = rulebook().state_rule("ME", START.date())
    assert (row.frequency_cap, row.cap_window_hours, row.cap_automated_only) == (1, 8, True)
    assert not row.verified and "vendor" in row.source
    # No Maine window is known: the row carries the federal one and narrows nothing (E1).
    assert (row.window_start, row.window_end) == (time(8), time(21))


def test_e2_maine_blocks_a_second_automated_call_within_8_hours_and_allows_it_at_8_hours_1_minute(maine, agent):
    lead, phone = maine
    assert attempt(lead, phone, agent, START).verdict != Verdict.BLOCK

    second = attempt(lead, phone, agent, START + timedelta(hours=7, minutes=59))
    # Blocked by the cap; the D6 warning of every autodialed call comes with it.
    assert second.verdict == Verdict.BLOCK and second.rule_ids == ["D6", "E2"]
    assert cap_findings(second)[0].reason == (
        "1 automated call to (207) 555-0101 in the last 8 hours across the brokerage; ME allows 1.")
    assert second.evidence["attempts_counted"]["ME"] == {
        "count": 1, "cap": 1, "hours": 8, "channels": ["call"], "automated_only": True}

    later = attempt(lead, phone, agent, START + timedelta(hours=8, minutes=1))
    assert not cap_findings(later)
    assert later.evidence["attempts_counted"]["ME"]["count"] == 0


def test_e2_maine_caps_prerecorded_calls_as_automated_too(maine, agent):
    lead, phone = maine
    attempt(lead, phone, agent, START, technology=Technology.PRERECORDED)
    assert attempt(lead, phone, agent, START + timedelta(hours=1)).rule_ids == ["D6", "E2"]


def test_e2_manual_calls_to_maine_are_neither_capped_nor_counted_by_the_maine_row(maine, agent):
    lead, phone = maine
    for hour in range(4):  # four calls by hand in four hours
        manual = attempt(lead, phone, agent, START + timedelta(hours=hour), technology=Technology.MANUAL)
        assert manual.verdict == Verdict.ALLOW and "ME" not in manual.evidence.get("attempts_counted", {})
    # Nor do the manual ones count toward the automated call that follows.
    automated = attempt(lead, phone, agent, START + timedelta(hours=5))
    assert not cap_findings(automated)
    assert automated.evidence["attempts_counted"]["ME"]["count"] == 0


def test_e2_maine_texts_are_not_capped_by_the_maine_row(maine, agent):
    lead, phone = maine
    attempt(lead, phone, agent, START)
    text = attempt(lead, phone, agent, START + timedelta(minutes=30), channel=Channel.SMS,
                   technology=Technology.MANUAL)
    assert not cap_findings(text)


def test_e2_a_maine_automated_call_counts_toward_florida_when_both_states_apply(agent, brokerage, fresh_registry):
    # A Florida number (presumed a Floridian's, E1) of a homeowner with a Maine property.
    lead, phone = homeowner(agent, number="+18505550133", state="ME", zip_code="04101")
    attempt(lead, phone, agent, START)  # automated
    attempt(lead, phone, agent, START + timedelta(hours=1), technology=Technology.MANUAL)
    attempt(lead, phone, agent, START + timedelta(hours=2), technology=Technology.MANUAL)

    # Florida counts every call in 24 hours, the automated one included; Maine only that one in 8.
    fourth = attempt(lead, phone, agent, START + timedelta(hours=3))
    assert fourth.evidence["attempts_counted"]["FL"]["count"] == 3
    assert fourth.evidence["attempts_counted"]["ME"]["count"] == 1
    assert [finding.reason.split(";")[1].strip() for finding in cap_findings(fourth)] == [
        "FL allows 3.", "ME allows 1."]


def test_e2_florida_still_allows_three_calls_in_24_hours(agent, brokerage, fresh_registry):
    lead, phone = homeowner(agent, number="+18505550102", state="FL", zip_code="32507")
    start = datetime(2026, 11, 17, 10, 0, tzinfo=zoneinfo.ZoneInfo("America/Chicago"))  # Pensacola
    for hour in (0, 3, 6):
        assert attempt(lead, phone, agent, start + timedelta(hours=hour), technology=Technology.MANUAL
                       ).verdict == Verdict.ALLOW
    fourth = attempt(lead, phone, agent, start + timedelta(hours=23), technology=Technology.MANUAL)
    assert fourth.rule_ids == ["E2"]
    assert fourth.evidence["attempts_counted"]["FL"] == {"count": 3, "cap": 3, "hours": 24, "channels": ["call"]}
    assert attempt(lead, phone, agent, start + timedelta(hours=24, minutes=1),
                   technology=Technology.MANUAL).verdict == Verdict.ALLOW


def test_e2_maryland_still_counts_texts(agent, brokerage, fresh_registry):
    lead, phone = homeowner(agent, number="+14105550101", state="MD", zip_code="21215")
    attempt(lead, phone, agent, START, channel=Channel.SMS, technology=Technology.MANUAL)
    attempt(lead, phone, agent, START + timedelta(hours=1), channel=Channel.SMS, technology=Technology.MANUAL)
    attempt(lead, phone, agent, START + timedelta(hours=2), technology=Technology.MANUAL)
    fourth = attempt(lead, phone, agent, START + timedelta(hours=5), technology=Technology.MANUAL)
    assert fourth.rule_ids == ["E2"]
    assert fourth.evidence["attempts_counted"]["MD"]["channels"] == ["call", "sms"]


def test_e2_a_check_is_judged_by_the_maine_window_in_force_on_its_day(maine, agent):
    lead, phone = maine
    # From Dec 1 counsel widens Maine's window to the E2 default (an empty window: 24 hours).
    StateCallingRuleFactory(state="ME", effective_from=date(2026, 12, 1), window_start=time(8), window_end=time(21),
                            frequency_cap=1, cap_automated_only=True, cap_window_hours=None)
    attempt(lead, phone, agent, START)
    # Nov 17, 9 hours on: the 8-hour window of that day has passed.
    assert not cap_findings(attempt(lead, phone, agent, START + timedelta(hours=9)))

    december = datetime(2026, 12, 1, 9, 0, tzinfo=EASTERN)
    attempt(lead, phone, agent, december)
    later = attempt(lead, phone, agent, december + timedelta(hours=9))
    assert cap_findings(later) and later.evidence["attempts_counted"]["ME"]["hours"] == 24


def test_e2_the_attempts_of_every_state_window_come_in_one_query(agent, brokerage, fresh_registry):
    # Florida (24 h), Maryland (24 h, texts) and Maine (8 h, automated): one round trip all the same.
    StateCallingRule.objects.filter(state="ME").update(cap_window_hours=48)
    lead, phone = homeowner(agent, number="+18505550144", state="ME", zip_code="04101", mailing_state="MD",
                            mailing_zip="21215")
    # A call two days back: outside Florida's and Maryland's 24 hours, inside Maine's widened 48.
    attempt(lead, phone, agent, START - timedelta(hours=40))
    contemplated = Attempt(lead=lead, channel=Channel.CALL, purpose=Purpose.LISTING, actor=agent, at=START,
                           role_disclosed=True, brokerage=brokerage, contact_point=phone,
                           technology=Technology.AUTODIALER, mode=CheckMode.PREVIEW)
    list(resolve_contact_point(contemplated))
    assert set(contemplated.states) == {"FL", "ME", "MD"}

    with CaptureQueriesContext(connection) as queries:
        facts = list_facts(contemplated)

    assert len(queries) == 1
    assert [(seen.channel, seen.technology) for seen in facts.recent_attempts] == [("call", "autodialer")]
    assert facts.recent_attempts[0].at == START - timedelta(hours=40)
