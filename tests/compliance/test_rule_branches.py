"""Branches of the gate's rules that no other test reached, one or more tests each.

D7's stale Reassigned Numbers Database check, D5's autodialer consent, C1's 18-month
purchase window, C4's missing opt-in and prior listing contact, Oklahoma's cap (E2) and
E4's exemption (docs/compliance-rules.md). Dates sit on each branch's boundary, so a
window one day (or one second) too long or too short fails them, and each test was seen
to fail with its branch taken out of compliance/gate.py.
"""

from datetime import UTC, date, datetime, timedelta

import pytest

from compliance.models import Channel, Purpose, RelationshipKind, Technology, Verdict
from compliance.services import dnc_numbers_add
from leadcrm.accounts.models import Brokerage
from leads.models import Lead
from pipeline.models import Outcome

from ..leadcrm.factories import AgentFactory
from ..leads.factories import ContactFactory, LeadFactory, PhoneFactory
from .factories import ConsentRecordFactory, EstablishedRelationshipFactory, ReassignedNumberCheckFactory
from .test_section_h import CENTRAL, EASTERN, check, homeowner, log_call, registry  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db

# The ``lead`` fixture's number: a Tulsa homeowner, Oklahoma by property, mailing address and area code.
TULSA = "(918) 555-0104"
# Wednesday 2026-11-18, 14:00 in Tulsa (20:00 UTC): inside every window, on no holiday.
WEDNESDAY = datetime(2026, 11, 18, 20, 0, tzinfo=UTC)


def tulsa_phone(lead):
    return lead.contacts.get().phones.get()


def written_consent(phone, agent, **covers):
    return ConsentRecordFactory(phone=phone, recorded_by=agent, obtained_at=datetime(2026, 1, 5, tzinfo=UTC),
                                **covers)


def number_checked(phone, queried_at):
    return ReassignedNumberCheckFactory(phone=phone, consent_date=date(2026, 1, 5), queried_at=queried_at)


def decided(decision):
    return decision.verdict, decision.rule_ids


# Every call logged as autodialed also carries D6's warning (the limits of the agent's own dialer).
AUTODIALED = "D6"


# D7 · a Reassigned Numbers Database answer older than rnd_recheck_days (30) warns ------------------


def test_d7_a_check_exactly_30_days_old_is_still_fresh(lead, agent):
    phone = tulsa_phone(lead)
    written_consent(phone, agent, covers_autodialer=True)
    number_checked(phone, WEDNESDAY - timedelta(days=30))
    decision = check(lead, phone, agent, WEDNESDAY, technology=Technology.AUTODIALER)
    assert decided(decision) == (Verdict.WARN, [AUTODIALED])
    assert decision.evidence["reassigned_numbers_check"]["queried_at"] == "2026-10-19T20:00:00+00:00"


def test_d7_a_check_30_days_and_a_second_old_warns_to_check_again(lead, agent):
    phone = tulsa_phone(lead)
    written_consent(phone, agent, covers_autodialer=True)
    number_checked(phone, WEDNESDAY - timedelta(days=30, seconds=1))
    decision = check(lead, phone, agent, WEDNESDAY, technology=Technology.AUTODIALER)
    assert decided(decision) == (Verdict.WARN, [AUTODIALED, "D7"])
    assert decision.reasons[:1] == [
        f"{TULSA} was last checked in the Reassigned Numbers Database over 30 days ago: check it again."]


def test_d7_a_stale_check_warns_for_a_text_as_well(lead, agent):
    phone = tulsa_phone(lead)
    written_consent(phone, agent)  # texts only
    number_checked(phone, datetime(2026, 10, 1, 15, 0, tzinfo=UTC))
    decision = check(lead, phone, agent, WEDNESDAY, channel=Channel.SMS)
    assert decided(decision) == (Verdict.WARN, ["D7"])
    assert "over 30 days ago: check it again" in decision.reasons[0]


def test_d7_a_newer_check_replaces_a_stale_one(lead, agent):
    phone = tulsa_phone(lead)
    written_consent(phone, agent, covers_autodialer=True)
    number_checked(phone, datetime(2026, 9, 1, 15, 0, tzinfo=UTC))
    number_checked(phone, WEDNESDAY - timedelta(days=2))
    assert decided(check(lead, phone, agent, WEDNESDAY, technology=Technology.AUTODIALER)) == (
        Verdict.WARN, [AUTODIALED])


# D5 · an autodialed call needs written consent that covers autodialed calls ------------------------


def test_d5_an_autodialed_call_without_any_consent_blocks_where_a_dialled_one_is_allowed(lead, agent):
    phone = tulsa_phone(lead)
    assert decided(check(lead, phone, agent, WEDNESDAY)) == (Verdict.ALLOW, [])  # a person dialling: no D5
    decision = check(lead, phone, agent, WEDNESDAY, technology=Technology.AUTODIALER)
    assert decided(decision) == (Verdict.BLOCK, ["D5", AUTODIALED])
    assert decision.reasons[:1] == [
        f"An autodialed call to {TULSA} needs the homeowner's prior express written consent naming that "
        "number; none is on file."]


def test_d5_consent_to_texts_alone_does_not_cover_an_autodialed_call(lead, agent):
    phone = tulsa_phone(lead)
    written_consent(phone, agent, covers_sms=True, covers_autodialer=False)
    number_checked(phone, WEDNESDAY - timedelta(days=1))
    assert decided(check(lead, phone, agent, WEDNESDAY, channel=Channel.SMS)) == (Verdict.ALLOW, [])
    decision = check(lead, phone, agent, WEDNESDAY, technology=Technology.AUTODIALER)
    assert decided(decision) == (Verdict.BLOCK, ["D5", AUTODIALED])
    assert decision.reasons[0].startswith(f"An autodialed call to {TULSA} needs the homeowner's prior express")


def test_d5_consent_that_covers_autodialed_calls_allows_one(lead, agent):
    phone = tulsa_phone(lead)
    record = written_consent(phone, agent, covers_sms=False, covers_autodialer=True)
    number_checked(phone, WEDNESDAY - timedelta(days=1))
    decision = check(lead, phone, agent, WEDNESDAY, technology=Technology.AUTODIALER)
    assert decided(decision) == (Verdict.WARN, [AUTODIALED])
    assert decision.evidence["consent"]["id"] == record.pk
    # The same record does not cover a text.
    assert decided(check(lead, phone, agent, WEDNESDAY, channel=Channel.SMS)) == (Verdict.BLOCK, ["D5"])


# C1 · a purchase relationship allows calls to a registered number for 18 calendar months ------------


@pytest.mark.parametrize(("started_on", "called_on", "verdict", "rules"), [
    (date(2025, 5, 18), date(2026, 11, 17), Verdict.WARN, ["C1"]),   # the day before the last day
    (date(2025, 5, 18), date(2026, 11, 18), Verdict.WARN, ["C1"]),   # 18 months to the day: the last day
    (date(2025, 5, 18), date(2026, 11, 19), Verdict.BLOCK, ["A5"]),  # the day after
    # A 31st: 18 months end on the last day of a month without one.
    (date(2025, 5, 31), date(2026, 11, 30), Verdict.WARN, ["C1"]),
    (date(2025, 5, 31), date(2026, 12, 1), Verdict.BLOCK, ["A5"]),
])
def test_c1_a_purchase_relationship_allows_calls_for_18_months(
    agent, brokerage, registry, national_registry, started_on, called_on, verdict, rules  # noqa: F811
):
    lead, phone = homeowner(agent, number="+14045550109", state="GA", zip_code="30315")  # GA: no shorter window
    dnc_numbers_add(source=national_registry, numbers=[phone.number], as_of=date(2025, 1, 1))
    EstablishedRelationshipFactory(phone=phone, kind=RelationshipKind.TRANSACTION, started_on=started_on)
    at = datetime.combine(called_on, datetime.min.time(), tzinfo=EASTERN).replace(hour=14)
    registry("404", called_on)
    decision = check(lead, phone, agent, at)
    assert decided(decision) == (verdict, rules)
    if verdict == Verdict.WARN:
        until = date(2026, 11, 18) if started_on.day == 18 else date(2026, 11, 30)
        assert decision.reasons == [
            f"(404) 555-0109 is on the National DNC Registry, but the brokerage's own purchase, delivery or "
            f"payment of {started_on} (an established business relationship) allows calls until {until}."]
    else:
        assert decision.reasons == [f"(404) 555-0109 is on the National DNC Registry{as_of(national_registry)}."]


# C4 · an offer to buy: only with the brokerage's written opt-in, only to a lead never pitched ---------


def registered(lead, national_registry):
    phone = tulsa_phone(lead)
    dnc_numbers_add(source=national_registry, numbers=[phone.number], as_of=date(2026, 11, 10))
    return phone


def opt_in(on):
    Brokerage.objects.filter(pk=Brokerage.objects.current().pk).update(investor_offer_opt_in_on=on)


OFFER = "I'd like to make a cash offer on the house."


def as_of(source):
    source.refresh_from_db()
    return f" (data as of {source.data_as_of:%b %d, %Y})"


def listed(source):
    return [f"{TULSA} is on the National DNC Registry{as_of(source)}."]


def test_c4_without_the_brokerages_opt_in_an_offer_to_buy_is_a_registry_hit(lead, agent, national_registry):
    phone = registered(lead, national_registry)
    decision = check(lead, phone, agent, WEDNESDAY, purpose=Purpose.OFFER_TO_BUY, message=OFFER)
    assert decided(decision) == (Verdict.BLOCK, ["A5"])
    assert decision.reasons == listed(national_registry)


@pytest.mark.parametrize(("opted_on", "verdict", "rules"), [
    (date(2026, 11, 19), Verdict.BLOCK, ["A5"]),  # opted in the day after the call: not yet
    (date(2026, 11, 18), Verdict.WARN, ["C4"]),   # opted in that day
])
def test_c4_the_opt_in_counts_from_its_own_date(lead, agent, national_registry, opted_on, verdict, rules):
    phone = registered(lead, national_registry)
    opt_in(opted_on)
    decision = check(lead, phone, agent, WEDNESDAY, purpose=Purpose.OFFER_TO_BUY, message=OFFER)
    assert decided(decision) == (verdict, rules)
    if verdict == Verdict.BLOCK:
        assert decision.reasons == listed(national_registry)
    else:
        assert decision.reasons == [
            f"{TULSA} is on the National DNC Registry. Calling only to offer to buy, under the brokerage's "
            "written opt-in of 2026-11-18: say nothing about listing or short-sale services."]


def test_c4_a_lead_once_contacted_about_a_listing_is_never_a_pure_offer(lead, agent, national_registry):
    phone = tulsa_phone(lead)
    opt_in(date(2026, 1, 1))
    # A colleague's listing call, logged an hour before the number was registered.
    listing = check(lead, phone, AgentFactory(), WEDNESDAY - timedelta(hours=1))
    assert decided(listing) == (Verdict.ALLOW, [])
    registered(lead, national_registry)
    decision = check(lead, phone, agent, WEDNESDAY, purpose=Purpose.OFFER_TO_BUY, message=OFFER)
    assert decided(decision) == (Verdict.BLOCK, ["A5"])
    assert decision.reasons == listed(national_registry)


def test_c4_a_pitch_on_a_duplicate_merged_into_the_lead_counts(lead, agent, national_registry):
    phone = tulsa_phone(lead)
    opt_in(date(2026, 1, 1))
    # The same house came in twice; the listing call was made on the copy, later merged in.
    duplicate = LeadFactory(assigned_agent=agent, team=lead.team)
    copy_phone = PhoneFactory(contact=ContactFactory(lead=duplicate), number="+19185550188")
    assert decided(check(duplicate, copy_phone, agent, WEDNESDAY - timedelta(hours=1))) == (Verdict.ALLOW, [])
    Lead.objects.filter(pk=duplicate.pk).update(merged_into=lead)
    registered(lead, national_registry)
    decision = check(lead, phone, agent, WEDNESDAY, purpose=Purpose.OFFER_TO_BUY, message=OFFER)
    assert decided(decision) == (Verdict.BLOCK, ["A5"])


def test_c4_a_listing_call_the_gate_refused_was_never_made_and_is_no_pitch(lead, agent, national_registry):
    phone = registered(lead, national_registry)
    opt_in(date(2026, 1, 1))
    assert decided(check(lead, phone, agent, WEDNESDAY - timedelta(hours=1))) == (Verdict.BLOCK, ["A5"])
    decision = check(lead, phone, agent, WEDNESDAY, purpose=Purpose.OFFER_TO_BUY, message=OFFER)
    assert decided(decision) == (Verdict.WARN, ["C4"])


# E2 · Oklahoma: 3 calls per number in a rolling 24 hours, across the brokerage ------------------------


def test_e2_oklahoma_allows_a_third_call_in_24_hours_and_blocks_a_fourth(lead, agent):
    phone = tulsa_phone(lead)
    colleague = AgentFactory()
    start = datetime(2026, 11, 17, 9, 0, tzinfo=CENTRAL)
    log_call(lead, phone, agent, start)
    log_call(lead, phone, colleague, start + timedelta(hours=2))
    third = check(lead, phone, agent, start + timedelta(hours=4))
    assert decided(third) == (Verdict.ALLOW, [])  # two before it: the third is the last allowed
    assert third.evidence["attempts_counted"]["OK"] == {"count": 2, "cap": 3, "hours": 24, "channels": ["call"]}
    # ``third`` was logged (outreach_check records it as made): a fourth inside 24 hours of the first blocks.
    fourth = check(lead, phone, colleague, start + timedelta(hours=23, minutes=59))
    assert decided(fourth) == (Verdict.BLOCK, ["E2"])
    assert fourth.reasons == [f"3 attempts to {TULSA} in the last 24 hours across the brokerage; OK allows 3."]
    # Once the first call is more than 24 hours old, the window holds two.
    assert decided(check(lead, phone, colleague, start + timedelta(hours=24, minutes=1))) == (Verdict.ALLOW, [])


def test_e2_oklahoma_counts_calls_not_texts(lead, agent):
    phone = tulsa_phone(lead)
    written_consent(phone, agent)
    start = datetime(2026, 11, 17, 9, 0, tzinfo=CENTRAL)
    number_checked(phone, start - timedelta(days=1))
    for hour in range(3):
        log_call(lead, phone, agent, start + timedelta(hours=hour), outcome=Outcome.SENT, channel=Channel.SMS)
    assert decided(check(lead, phone, agent, start + timedelta(hours=5))) == (Verdict.ALLOW, [])


def test_e2_the_oklahoma_cap_follows_a_918_number_to_a_georgia_homeowner(agent, brokerage, national_registry):
    lead, phone = homeowner(agent, number="+19185550110", state="GA", zip_code="30315")
    start = datetime(2026, 11, 17, 10, 0, tzinfo=EASTERN)
    for hour in range(3):
        log_call(lead, phone, agent, start + timedelta(hours=hour))
    decision = check(lead, phone, agent, start + timedelta(hours=5))
    assert decided(decision) == (Verdict.BLOCK, ["E2"])
    assert decision.evidence["states"] == {"OK": "area code 918", "GA": "property"}
    assert decision.reasons == [
        "3 attempts to (918) 555-0110 in the last 24 hours across the brokerage; OK allows 3."]


# E4 · Texas: a registration, or a recorded exemption -------------------------------------------------


TEXAS_CALL = datetime(2026, 11, 18, 14, 0, tzinfo=CENTRAL)


def texan(agent, number):
    lead, phone = homeowner(agent, number=number, state="TX", zip_code="75217")
    return lead, phone


def test_e4_a_recorded_exemption_lets_a_texas_call_through_without_a_registration(agent, brokerage, national_registry):
    brokerage.texas_registration_number = ""
    brokerage.texas_exemption = "Tex. Bus. & Com. Code 302.058: licensed real estate broker, calls about real estate."
    brokerage.save()
    lead, phone = texan(agent, "+12145550111")
    decision = check(lead, phone, agent, TEXAS_CALL)
    assert decided(decision) == (Verdict.ALLOW, [])
    assert decision.evidence["texas"] == {"registration": "", "exemption": True}


def test_e4_a_recorded_exemption_covers_a_texas_text_too(agent, brokerage, national_registry):
    brokerage.texas_exemption = "Tex. Bus. & Com. Code 302.058."
    brokerage.save()
    lead, phone = texan(agent, "+12145550112")
    written_consent(phone, agent)
    number_checked(phone, TEXAS_CALL - timedelta(days=1))
    assert decided(check(lead, phone, agent, TEXAS_CALL, channel=Channel.SMS)) == (Verdict.ALLOW, [])


@pytest.mark.parametrize("exemption", ["", "   \n"])
def test_e4_a_blank_exemption_is_no_exemption(agent, brokerage, national_registry, exemption):
    brokerage.texas_registration_number, brokerage.texas_exemption = "", exemption
    brokerage.save()
    lead, phone = texan(agent, "+12145550113")
    decision = check(lead, phone, agent, TEXAS_CALL)
    assert decided(decision) == (Verdict.BLOCK, ["E4"])
    assert decision.reasons == [
        "A call to a Texas homeowner needs the brokerage's Texas telephone solicitation registration or a "
        "recorded exemption; neither is on file."]
    assert decision.evidence["texas"]["exemption"] is False  # the evidence says what the gate decided on
