"""The edge cases of COMPLIANCE_RULES.md section H, one named test each, at frozen times.

Each test name starts with the rule it proves. Times are written in the homeowner's
zone and converted, so a wrong zone or a stored offset fails them.
"""

import zoneinfo
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine

from compliance.models import (
    Channel,
    LoadKind,
    Purpose,
    RegistryKind,
    RelationshipKind,
    RndResult,
    Technology,
    Verdict,
)
from compliance.services import (
    dnc_numbers_add,
    internal_dnc_add,
    outreach_check,
    registry_load_create,
    registry_load_run,
    registry_version_record,
    template_language_check,
)
from compliance.transactions import (
    ComplianceRefusal,
    Service,
    ca_equity_purchase_cancel_until,
    fee_allowed,
    principal_offer_allowed,
)
from leadcrm.accounts.models import Brokerage, Capacity, LicenseStatus
from pipeline.models import Outcome
from pipeline.outreach.services import OutreachBlocked, outreach_log

from ..leadcrm.factories import AgentFactory
from ..leads.factories import ContactFactory, LeadFactory, PhoneFactory, PropertyFactory
from .factories import (
    ConsentRecordFactory,
    DncSourceFactory,
    EstablishedRelationshipFactory,
    InterestDisclosureFactory,
    ReassignedNumberCheckFactory,
)

pytestmark = pytest.mark.django_db

CENTRAL = zoneinfo.ZoneInfo("America/Chicago")
EASTERN = zoneinfo.ZoneInfo("America/New_York")
PACIFIC = zoneinfo.ZoneInfo("America/Los_Angeles")
PHOENIX = zoneinfo.ZoneInfo("America/Phoenix")


def homeowner(agent, *, number, state, zip_code, mailing_state=None, mailing_zip=None):
    lead = LeadFactory(assigned_agent=agent, property=PropertyFactory(state=state, zip_code=zip_code))
    contact = ContactFactory(lead=lead, mailing_state=mailing_state or state,
                             mailing_zip=zip_code if mailing_zip is None else mailing_zip)
    return lead, PhoneFactory(contact=contact, number=number)


def check(lead, phone, agent, at, **kwargs):
    kwargs.setdefault("purpose", Purpose.LISTING)
    return outreach_check(lead=lead, contact_point=phone, channel=kwargs.pop("channel", Channel.CALL),
                          actor=agent, at=at, role_disclosed=True, **kwargs)


@pytest.fixture
def registry(national_registry):
    """Record national data for an area code as fresh on a given day."""
    def fresh(area_code, on, days_old=1):
        registry_version_record(source=national_registry, area_codes=[area_code],
                                version_date=on - timedelta(days=days_old))
    return fresh


# H1. Registry age (A3) ---------------------------------------------------------------------


def test_a3_data_31_days_old_warns_and_32_days_old_blocks(agent, brokerage, national_registry):
    lead, phone = homeowner(agent, number="+14045550101", state="GA", zip_code="30315")
    at = datetime(2027, 1, 13, 15, 0, tzinfo=EASTERN)
    registry_version_record(source=national_registry, area_codes=["404"], version_date=date(2026, 12, 13))
    day_31 = check(lead, phone, agent, at)
    assert (day_31.verdict, day_31.rule_ids) == (Verdict.WARN, ["A3"])
    assert day_31.evidence["freshness"]["age_days"] == 31
    day_32 = check(lead, phone, agent, at + timedelta(days=1))
    assert (day_32.verdict, day_32.rule_ids) == (Verdict.BLOCK, ["A3"])


def test_a3_age_is_measured_in_utc(agent, brokerage, national_registry):
    # 17:30 in Los Angeles on the 18th is already the 19th in UTC.
    lead, phone = homeowner(agent, number="+12135550101", state="CA", zip_code="90012")
    at = datetime(2026, 12, 18, 17, 30, tzinfo=PACIFIC)
    registry_version_record(source=national_registry, area_codes=["213"], version_date=date(2026, 11, 17))
    decision = check(lead, phone, agent, at)
    assert decision.evidence["freshness"]["age_days"] == 32  # 31 in Los Angeles, 32 in UTC
    assert decision.rule_ids == ["A3"] and decision.verdict == Verdict.BLOCK


def test_a3_a_stale_snapshot_blocks_even_if_the_lead_was_checked_yesterday(agent, brokerage, national_registry):
    lead, phone = homeowner(agent, number="+14045550102", state="GA", zip_code="30315")
    registry_version_record(source=national_registry, area_codes=["404"], version_date=date(2026, 10, 1))
    yesterday = datetime(2026, 11, 1, 15, 0, tzinfo=EASTERN)  # version 31 days old then
    assert check(lead, phone, agent, yesterday).verdict == Verdict.WARN
    today = check(lead, phone, agent, yesterday + timedelta(days=1))
    assert (today.verdict, today.rule_ids) == (Verdict.BLOCK, ["A3"])


def test_a3_a_corrupt_file_is_rejected_and_the_old_snapshot_keeps_aging(agent, brokerage, national_registry):
    lead, phone = homeowner(agent, number="+17705550103", state="GA", zip_code="30067")
    good = registry_load_create(source=national_registry, kind=LoadKind.FULL, version_date=date(2026, 10, 10),
                                content=b"770,5559999\n", file_name="good.txt", loaded_by=None)
    assert registry_load_run(load_id=good.pk).status == "done"
    corrupt = registry_load_create(source=national_registry, kind=LoadKind.FULL, version_date=date(2026, 11, 1),
                                   content=b"770,5558888\n770-555-77\n", file_name="bad.txt", loaded_by=None)
    rejected = registry_load_run(load_id=corrupt.pk)
    assert rejected.status == "rejected" and "line 2" in rejected.errors[0]
    assert [n.number for n in national_registry.numbers.all()] == [7705559999]
    decision = check(lead, phone, agent, datetime(2026, 11, 12, 15, 0, tzinfo=EASTERN))
    assert decision.evidence["freshness"]["version"] == "2026-10-10"
    # 33 days old: the rejected file did not refresh it.
    assert (decision.verdict, decision.rule_ids) == (Verdict.BLOCK, ["A3"])


def test_a3_an_area_code_with_no_data_at_all_blocks(agent, brokerage, national_registry):
    lead, phone = homeowner(agent, number="+19075550101", state="AK", zip_code="99501")
    decision = check(lead, phone, agent, datetime(2026, 11, 18, 11, 0, tzinfo=zoneinfo.ZoneInfo("America/Anchorage")))
    assert "A3" in decision.rule_ids and decision.verdict == Verdict.BLOCK
    assert "No national Do Not Call data is held for area code 907" in " ".join(decision.reasons)


# H2. Deletes vs internal DNC (A5, B1) ----------------------------------------------------------


def test_a5_b1_a_change_list_delete_does_not_clear_an_internal_entry(lead, agent, national_registry):
    dnc_numbers_add(source=national_registry, numbers=["9185550104"], as_of=date(2026, 11, 10))
    internal_dnc_add(phone_number="9185550104", channel=Channel.CALL, homeowner_words="Stop.", recorded_by=agent)
    delete = registry_load_create(source=national_registry, kind=LoadKind.CHANGE, version_date=date(2026, 11, 17),
                                  content=b"918,5550104,D\n", file_name="changes.txt", loaded_by=None,
                                  area_codes=["918"])
    assert registry_load_run(load_id=delete.pk).numbers_removed == 1
    decision = check(lead, lead.contacts.first().phones.first(), agent, datetime(2026, 11, 18, 14, 0, tzinfo=CENTRAL))
    assert decision.rule_ids == ["B1"]


# H3. Clock boundaries (D1, E1) ---------------------------------------------------------------


@pytest.mark.parametrize(("local", "allowed"), [
    ((20, 59, 59), True), ((21, 0, 0), False), ((7, 59, 59), False), ((8, 0, 0), True),
])
def test_d1_the_federal_window_is_08_00_inclusive_to_21_00_exclusive(agent, brokerage, registry, local, allowed):
    lead, phone = homeowner(agent, number="+14045550104", state="GA", zip_code="30315")  # GA: federal only
    at = datetime(2026, 11, 18, *local, tzinfo=EASTERN)
    registry("404", at.date())
    decision = check(lead, phone, agent, at)
    assert (decision.verdict != Verdict.BLOCK) == allowed
    assert decision.rule_ids == ([] if allowed else ["D1"])


@pytest.mark.parametrize(("utc", "allowed"), [
    # 2026-03-08, spring forward in New York: 08:00 EDT is 12:00 UTC (it was 13:00 the day before).
    (datetime(2026, 3, 8, 12, 0, tzinfo=UTC), True),
    (datetime(2026, 3, 8, 11, 59, 59, tzinfo=UTC), False),
    # 2026-11-01, fall back: 08:00 EST is 13:00 UTC.
    (datetime(2026, 11, 1, 13, 0, tzinfo=UTC), True),
    (datetime(2026, 11, 1, 12, 59, 59, tzinfo=UTC), False),
])
def test_d1_daylight_saving_days_use_the_local_clock_of_that_day(agent, brokerage, registry, utc, allowed):
    lead, phone = homeowner(agent, number="+14045550105", state="GA", zip_code="30315")
    registry("404", utc.date())
    assert (check(lead, phone, agent, utc).verdict != Verdict.BLOCK) == allowed


@pytest.mark.parametrize(("local", "allowed"), [((20, 59), True), ((21, 0), False), ((8, 0), True), ((7, 59), False)])
def test_d1_arizona_keeps_standard_time_in_july(agent, brokerage, registry, local, allowed):
    lead, phone = homeowner(agent, number="+16025550101", state="AZ", zip_code="85033")
    at = datetime(2026, 7, 15, *local, tzinfo=PHOENIX)  # UTC-7 all year, unlike Denver in July
    registry("602", at.date())
    assert (check(lead, phone, agent, at).verdict != Verdict.BLOCK) == allowed


@pytest.mark.parametrize(("local", "allowed"), [((11, 59), False), ((12, 0), True), ((20, 59), True)])
def test_e1_texas_on_sunday_opens_at_noon(agent, brokerage, registry, local, allowed):
    brokerage.texas_registration_number = "TX-1"
    brokerage.save()
    lead, phone = homeowner(agent, number="+12145550101", state="TX", zip_code="75217")
    at = datetime(2026, 11, 22, *local, tzinfo=CENTRAL)  # a Sunday
    registry("214", at.date())
    decision = check(lead, phone, agent, at)
    assert (decision.verdict != Verdict.BLOCK) == allowed
    if not allowed:
        assert decision.rule_ids == ["E1"]


# H4. Ambiguous time zones (G2) ---------------------------------------------------------------


def test_g2_a_208_number_counts_both_idaho_zones(agent, brokerage, registry):
    # 208-555 gives Boise and Los Angeles; 08:30 in Boise is 07:30 in Los Angeles.
    lead, phone = homeowner(agent, number="+12085550101", state="ID", zip_code="83702")
    at = datetime(2026, 11, 18, 8, 30, tzinfo=zoneinfo.ZoneInfo("America/Boise"))
    registry("208", at.date())
    decision = check(lead, phone, agent, at)
    assert decision.rule_ids == ["D1"]
    assert {z["zone"] for z in decision.evidence["zones"]} >= {"America/Boise", "America/Los_Angeles"}


def test_g2_an_850_number_with_an_unmapped_exchange_also_respects_the_property_zone(agent, brokerage, registry):
    # 850-555 falls back to New York; the Pensacola property is Central: 08:30 New York is 07:30 there.
    lead, phone = homeowner(agent, number="+18505550101", state="FL", zip_code="32507")
    at = datetime(2026, 11, 18, 8, 30, tzinfo=EASTERN)
    registry("850", at.date())
    decision = check(lead, phone, agent, at)
    assert decision.verdict == Verdict.BLOCK and {"D1", "E1"} <= set(decision.rule_ids)


def test_g2_a_270_number_in_paducah_gets_central_time_and_kentucky_hours(agent, brokerage, registry):
    lead, phone = homeowner(agent, number="+12705550101", state="KY", zip_code="42001")
    at = datetime(2026, 11, 18, 10, 30, tzinfo=EASTERN)  # 09:30 in Paducah; Kentucky opens at 10:00
    registry("270", at.date())
    assert check(lead, phone, agent, at).rule_ids == ["E1"]


def test_g2_a_907_number_counts_adak_as_well_as_anchorage(agent, brokerage, registry):
    lead, phone = homeowner(agent, number="+19075550102", state="AK", zip_code="99501")
    at = datetime(2026, 11, 18, 8, 30, tzinfo=zoneinfo.ZoneInfo("America/Anchorage"))  # 07:30 in Adak
    registry("907", at.date())
    assert check(lead, phone, agent, at).rule_ids == ["D1"]


@pytest.mark.parametrize("number", ["+18005550101", "+15005550101"])
def test_g2_a_toll_free_or_500_number_without_an_address_zone_blocks(agent, brokerage, registry, number):
    lead, phone = homeowner(agent, number=number, state="GA", zip_code="", mailing_zip="")
    at = datetime(2026, 11, 18, 14, 0, tzinfo=EASTERN)
    registry(number[2:5], at.date())
    decision = check(lead, phone, agent, at)
    assert decision.verdict == Verdict.BLOCK and "G2" in decision.rule_ids


# H5. Cross-state (E1) -------------------------------------------------------------------------


def test_e1_a_florida_cell_owned_by_a_georgia_resident_gets_the_florida_cutoff(agent, brokerage, registry):
    lead, phone = homeowner(agent, number="+13055550101", state="GA", zip_code="30315")
    at = datetime(2026, 11, 18, 20, 30, tzinfo=EASTERN)  # fine federally and in Georgia
    registry("305", at.date())
    decision = check(lead, phone, agent, at)
    assert decision.rule_ids == ["E1"]
    assert decision.evidence["states"] == {"FL": "area code 305", "GA": "property"}
    assert "FL allows calls and texts 08:00 to 20:00" in decision.reasons[0]


# H6. Frequency caps (E2) ---------------------------------------------------------------------


def log_call(lead, phone, agent, at, outcome=Outcome.NO_ANSWER, channel=Channel.CALL):
    with time_machine.travel(at + timedelta(minutes=1), tick=False):
        return outreach_log(lead=lead, channel=channel, contact_point=phone, outcome=outcome, actor=agent,
                            role_disclosed=True, occurred_at=at)


def test_e2_the_fourth_attempt_in_24_hours_in_florida_blocks_counting_two_agents(agent, brokerage, registry):
    colleague = AgentFactory()
    lead, phone = homeowner(agent, number="+18505550102", state="FL", zip_code="32507")
    start = datetime(2026, 11, 17, 10, 0, tzinfo=CENTRAL)
    registry("850", start.date())
    log_call(lead, phone, agent, start)
    log_call(lead, phone, colleague, start + timedelta(hours=3))
    log_call(lead, phone, agent, start + timedelta(hours=6))  # unanswered calls count too
    fourth = check(lead, phone, colleague, start + timedelta(hours=23))
    assert fourth.rule_ids == ["E2"]
    assert fourth.evidence["attempts_counted"]["FL"]["count"] == 3
    # 24 hours after the first, it has left the window.
    assert check(lead, phone, colleague, start + timedelta(hours=24, minutes=1)).verdict == Verdict.ALLOW


def consent_for(phone, agent, **covers):
    return ConsentRecordFactory(phone=phone, recorded_by=agent, obtained_at=datetime(2026, 1, 5, tzinfo=UTC),
                                **covers)


def test_e2_texts_count_toward_the_cap_in_maryland_but_not_in_florida(agent, brokerage, registry):
    maryland, md_phone = homeowner(agent, number="+14105550101", state="MD", zip_code="21215")
    florida, fl_phone = homeowner(agent, number="+18505550103", state="FL", zip_code="32507")
    start = datetime(2026, 11, 17, 10, 0, tzinfo=EASTERN)
    for area_code in ("410", "850"):
        registry(area_code, start.date())
    for phone in (md_phone, fl_phone):
        consent_for(phone, agent)
        ReassignedNumberCheckFactory(phone=phone, consent_date=date(2026, 1, 5), queried_at=start - timedelta(days=1))
    for lead, phone in ((maryland, md_phone), (florida, fl_phone)):
        log_call(lead, phone, agent, start, outcome=Outcome.SENT, channel=Channel.SMS)
        log_call(lead, phone, agent, start + timedelta(hours=1), outcome=Outcome.SENT, channel=Channel.SMS)
        log_call(lead, phone, agent, start + timedelta(hours=2))
    at = start + timedelta(hours=5)
    assert check(maryland, md_phone, agent, at).rule_ids == ["E2"]
    assert check(florida, fl_phone, agent, at).verdict == Verdict.ALLOW


# H7. Revocation wording (B4, B1) ----------------------------------------------------------------


@pytest.mark.parametrize("reply", ["STOP", "stop", "Stop texting me", "UNSUBSCRIBE", "opt-out", "Quit", "END"])
def test_b4_a_reply_saying_stop_puts_the_number_on_the_internal_list_at_once(lead, agent, reply):
    phone = lead.contacts.first().phones.first()
    outreach_log(lead=lead, channel=Channel.SMS, contact_point=phone, outcome=Outcome.REPLIED, actor=agent,
                 role_disclosed=True, direction="inbound", notes=reply)
    decision = check(lead, phone, AgentFactory(), datetime(2026, 11, 18, 14, 0, tzinfo=CENTRAL))
    assert "B1" in decision.rule_ids


@pytest.mark.parametrize("reply", ["no mas", "wrong number", "stpo", "Stip", "who is this?"])
def test_b4_an_ambiguous_reply_warns_and_waits_for_review(lead, agent, reply):
    from compliance.models import InternalDncEntry, RevocationReview

    phone = lead.contacts.first().phones.first()
    outreach_log(lead=lead, channel=Channel.SMS, contact_point=phone, outcome=Outcome.REPLIED, actor=agent,
                 role_disclosed=True, direction="inbound", notes=reply)
    assert not InternalDncEntry.objects.exists()
    assert RevocationReview.objects.pending().get().phone_number == phone.number
    decision = check(lead, phone, agent, datetime(2026, 11, 18, 14, 0, tzinfo=CENTRAL))
    assert decision.verdict == Verdict.WARN and decision.rule_ids == ["B4"]


def test_b4_one_confirmation_text_may_follow_a_stop_then_nothing_on_any_channel(lead, agent):
    phone = lead.contacts.first().phones.first()
    outreach_log(lead=lead, channel=Channel.SMS, contact_point=phone, outcome=Outcome.REPLIED, actor=agent,
                 role_disclosed=True, direction="inbound", notes="STOP")
    confirmation = outreach_log(lead=lead, channel=Channel.SMS, contact_point=phone, outcome=Outcome.SENT,
                                actor=agent, role_disclosed=True, purpose=Purpose.REVOCATION_CONFIRMATION,
                                notes="You will get no more messages from us.")
    assert confirmation.compliance_check.verdict == Verdict.ALLOW
    with pytest.raises(OutreachBlocked) as second:
        outreach_log(lead=lead, channel=Channel.SMS, contact_point=phone, outcome=Outcome.SENT, actor=agent,
                     role_disclosed=True, purpose=Purpose.REVOCATION_CONFIRMATION, notes="Confirmed again.")
    # Refused as a confirmation, it is judged as the marketing text it would be: B4 and no consent (D5).
    assert second.value.decision.rule_ids[0] == "B4"
    assert "already sent" in second.value.decision.reasons[0]
    for channel in (Channel.CALL, Channel.SMS):
        assert "B1" in check(lead, phone, agent, datetime(2026, 11, 18, 14, 5, tzinfo=CENTRAL),
                             channel=channel).rule_ids


def test_b4_the_confirmation_purpose_is_no_way_around_the_telephone_rules(lead, agent, national_registry):
    phone = lead.contacts.first().phones.first()
    dnc_numbers_add(source=national_registry, numbers=[phone.number[2:]], as_of=date(2026, 11, 13))
    with pytest.raises(OutreachBlocked) as blocked:
        outreach_log(lead=lead, channel=Channel.SMS, contact_point=phone, outcome=Outcome.SENT, actor=agent,
                     role_disclosed=True, purpose=Purpose.REVOCATION_CONFIRMATION, notes="Got it.")
    decision = blocked.value.decision
    # No stop on file: not a confirmation, so the registry (A4) and consent (D5) rules apply as well.
    assert {"B4", "A5", "D5"} <= set(decision.rule_ids)
    assert "No stop request is on file" in decision.reasons[0]


@pytest.mark.parametrize("channel, words, reason", [
    (Channel.CALL, "Calling to confirm.", "Only a text"),
    (Channel.SMS, "Got it. If you ever want a cash offer, text me.", "reads as marketing"),
    (Channel.SMS, "Understood - see https://example.com/options", "reads as marketing"),
    (Channel.SMS, "", "a blank one cannot be checked"),
])
def test_b4_a_confirmation_is_one_plain_text(lead, agent, channel, words, reason):
    phone = lead.contacts.first().phones.first()
    outreach_log(lead=lead, channel=Channel.SMS, contact_point=phone, outcome=Outcome.REPLIED, actor=agent,
                 role_disclosed=True, direction="inbound", notes="stop")
    decision = check(lead, phone, agent, datetime(2026, 11, 18, 14, 1, tzinfo=CENTRAL), channel=channel,
                     purpose=Purpose.REVOCATION_CONFIRMATION, message=words)
    assert decision.verdict == Verdict.BLOCK and decision.rule_ids[0] == "B4"
    assert reason in decision.reasons[0]


@pytest.mark.parametrize("words", ["You have been removed from our list.", "Done. Reply HELP for help.",
                                   "I'll listen: you won't hear from us again."])
def test_b4_a_plain_confirmation_is_not_mistaken_for_marketing(lead, agent, words):
    phone = lead.contacts.first().phones.first()
    outreach_log(lead=lead, channel=Channel.SMS, contact_point=phone, outcome=Outcome.REPLIED, actor=agent,
                 role_disclosed=True, direction="inbound", notes="STOP")
    decision = check(lead, phone, agent, datetime(2026, 11, 18, 14, 1, tzinfo=CENTRAL), channel=Channel.SMS,
                     purpose=Purpose.REVOCATION_CONFIRMATION, message=words)
    assert decision.verdict == Verdict.ALLOW, decision.reasons


def test_b4_a_confirmation_dated_before_the_stop_is_no_confirmation(lead, agent, national_registry):
    phone = lead.contacts.first().phones.first()
    dnc_numbers_add(source=national_registry, numbers=[phone.number[2:]], as_of=date(2026, 11, 13))
    outreach_log(lead=lead, channel=Channel.SMS, contact_point=phone, outcome=Outcome.REPLIED, actor=agent,
                 role_disclosed=True, direction="inbound", notes="STOP")
    backdated = check(lead, phone, agent, datetime(2026, 11, 11, 3, 0, tzinfo=CENTRAL), channel=Channel.SMS,
                      purpose=Purpose.REVOCATION_CONFIRMATION, message="Confirmed.")
    assert backdated.verdict == Verdict.BLOCK and {"B4", "A5"} <= set(backdated.rule_ids)  # the registry applies
    assert any("No stop request is on file" in reason for reason in backdated.reasons)


def test_b4_the_confirmation_window_closes_minutes_after_the_stop(lead, agent):
    phone = lead.contacts.first().phones.first()
    outreach_log(lead=lead, channel=Channel.SMS, contact_point=phone, outcome=Outcome.REPLIED, actor=agent,
                 role_disclosed=True, direction="inbound", notes="STOP")
    stop_at = datetime(2026, 11, 18, 14, 0, tzinfo=CENTRAL)
    in_time = check(lead, phone, agent, stop_at + timedelta(minutes=4), channel=Channel.SMS,
                    purpose=Purpose.REVOCATION_CONFIRMATION, message="You will get no more texts from us.")
    assert in_time.verdict == Verdict.ALLOW
    late = check(lead, phone, agent, stop_at + timedelta(minutes=6), channel=Channel.SMS,
                 purpose=Purpose.REVOCATION_CONFIRMATION, message="You will get no more texts from us.")
    assert late.verdict == Verdict.BLOCK and "more than 5 minutes ago" in late.reasons[0]


def test_b1_agent_b_dialling_a_number_agent_a_suppressed_is_blocked(lead, agent):
    phone = lead.contacts.first().phones.first()
    outreach_log(lead=lead, channel=Channel.CALL, contact_point=phone, outcome=Outcome.DNC_REQUEST, actor=agent,
                 role_disclosed=True, homeowner_words="Please don't call here again.")
    agent_b = AgentFactory()
    assert check(lead, phone, agent_b, datetime(2026, 11, 18, 14, 0, tzinfo=CENTRAL)).rule_ids == ["B1"]


# H8. EBR windows (C1) ---------------------------------------------------------------------------


@pytest.mark.parametrize(("called_on", "verdict", "rules"), [
    (date(2026, 11, 18), Verdict.WARN, ["C1"]),   # day 90: the shorter of 90 days and 3 months
    (date(2026, 11, 19), Verdict.BLOCK, ["A5"]),  # day 91
])
def test_c1_an_inquiry_ebr_allows_a_registered_number_through_day_90_not_91(
    agent, brokerage, registry, national_registry, called_on, verdict, rules
):
    lead, phone = homeowner(agent, number="+14045550106", state="GA", zip_code="30315")
    dnc_numbers_add(source=national_registry, numbers=[phone.number], as_of=date(2026, 8, 1))
    EstablishedRelationshipFactory(phone=phone, kind=RelationshipKind.INQUIRY, started_on=date(2026, 8, 20))
    at = datetime.combine(called_on, datetime.min.time(), tzinfo=EASTERN).replace(hour=14)
    registry("404", called_on)
    decision = check(lead, phone, agent, at)
    assert (decision.verdict, decision.rule_ids) == (verdict, rules)


def test_c1_a_list_vendors_relationship_does_not_transfer(agent, brokerage, registry, national_registry):
    lead, phone = homeowner(agent, number="+14045550107", state="GA", zip_code="30315")
    dnc_numbers_add(source=national_registry, numbers=[phone.number], as_of=date(2026, 8, 1))
    EstablishedRelationshipFactory(phone=phone, kind=RelationshipKind.TRANSACTION, started_on=date(2026, 10, 1),
                                   formed_with_brokerage=False, evidence="Vendor says the owner bought from them.")
    at = datetime(2026, 11, 18, 14, 0, tzinfo=EASTERN)
    registry("404", at.date())
    assert check(lead, phone, agent, at).rule_ids == ["A5"]


def test_c2_washington_shortens_the_purchase_ebr_to_12_months(agent, brokerage, registry, national_registry):
    lead, phone = homeowner(agent, number="+12065550101", state="WA", zip_code="98101")
    dnc_numbers_add(source=national_registry, numbers=[phone.number], as_of=date(2026, 8, 1))
    EstablishedRelationshipFactory(phone=phone, kind=RelationshipKind.TRANSACTION, started_on=date(2025, 10, 1))
    at = datetime(2026, 11, 18, 14, 0, tzinfo=PACIFIC)  # 13.5 months later: inside 18, outside WA's 12
    registry("206", at.date())
    assert check(lead, phone, agent, at).rule_ids == ["A5"]


# H9. Licensee buying (F8, C4) -------------------------------------------------------------------


def test_f8_a_licensee_offering_to_buy_is_warned_until_the_written_disclosure_is_on_file(lead, agent):
    agent.capacity = Capacity.PRINCIPAL
    agent.save()
    phone = lead.contacts.first().phones.first()
    at = datetime(2026, 11, 18, 14, 0, tzinfo=CENTRAL)
    warned = check(lead, phone, agent, at, purpose=Purpose.OFFER_TO_BUY)
    assert (warned.verdict, warned.rule_ids) == (Verdict.WARN, ["F8"])
    with pytest.raises(ComplianceRefusal, match="F8"):
        principal_offer_allowed(actor=agent, lead=lead, on=at.date())
    InterestDisclosureFactory(lead=lead, principal=agent, disclosed_on=date(2026, 11, 17))
    assert check(lead, phone, agent, at, purpose=Purpose.OFFER_TO_BUY).verdict == Verdict.ALLOW
    principal_offer_allowed(actor=agent, lead=lead, on=at.date())


def test_c4_an_opted_in_offer_to_buy_on_a_registered_number_warns_unless_it_pitches(lead, agent, national_registry):
    agent.capacity = Capacity.PRINCIPAL
    agent.save()
    InterestDisclosureFactory(lead=lead, principal=agent, disclosed_on=date(2026, 11, 1))
    Brokerage.objects.filter(pk=1).update(investor_offer_opt_in_on=date(2026, 1, 1))
    phone = lead.contacts.first().phones.first()
    dnc_numbers_add(source=national_registry, numbers=[phone.number], as_of=date(2026, 11, 10))
    at = datetime(2026, 11, 18, 14, 0, tzinfo=CENTRAL)
    offer = check(lead, phone, agent, at, purpose=Purpose.OFFER_TO_BUY, message="I'd like to make a cash offer.")
    assert (offer.verdict, offer.rule_ids) == (Verdict.WARN, ["C4"])
    pitch = check(lead, phone, agent, at, purpose=Purpose.OFFER_TO_BUY, message="Or I can list it as a short sale.")
    assert pitch.rule_ids == ["A5"]


# H10. Voice and consent (D4, D5, D7) ---------------------------------------------------------


def test_d4_an_ai_or_prerecorded_call_without_written_consent_blocks(lead, agent):
    phone = lead.contacts.first().phones.first()
    at = datetime(2026, 11, 18, 14, 0, tzinfo=CENTRAL)
    assert check(lead, phone, agent, at, technology=Technology.PRERECORDED).rule_ids == ["D4"]
    consent_for(phone, agent, covers_prerecorded=True)
    ReassignedNumberCheckFactory(phone=phone, consent_date=date(2026, 1, 5), queried_at=at - timedelta(days=3))
    assert check(lead, phone, agent, at, technology=Technology.PRERECORDED).verdict == Verdict.ALLOW


def test_d5_a_text_without_written_consent_blocks(lead, agent):
    phone = lead.contacts.first().phones.first()
    assert check(lead, phone, agent, datetime(2026, 11, 18, 14, 0, tzinfo=CENTRAL), channel=Channel.SMS).rule_ids == ["D5"]


@pytest.mark.parametrize(("result", "verdict"), [(RndResult.YES, Verdict.BLOCK), (RndResult.NO_DATA, Verdict.WARN)])
def test_d7_the_reassigned_numbers_database_answer_after_consent_decides(lead, agent, result, verdict):
    phone = lead.contacts.first().phones.first()
    consent_for(phone, agent, covers_autodialer=True)
    at = datetime(2026, 11, 18, 14, 0, tzinfo=CENTRAL)
    ReassignedNumberCheckFactory(phone=phone, consent_date=date(2026, 1, 5), queried_at=at - timedelta(days=2),
                                 result=result)
    decision = check(lead, phone, agent, at, technology=Technology.AUTODIALER)
    assert (decision.verdict, decision.rule_ids) == (verdict, ["D6", "D7"])  # D6: the dialer's limits


# H11. MARS (F2, F4, F6) ---------------------------------------------------------------------------


def test_f4_a_non_licensee_cannot_log_a_fee_before_the_lenders_offer_is_accepted(agent):
    agent.capacity, agent.license_status = Capacity.PRINCIPAL, LicenseStatus.UNLICENSED
    at = datetime(2026, 11, 18, 14, 0, tzinfo=UTC)
    with pytest.raises(ComplianceRefusal, match="F4"):
        fee_allowed(actor=agent, service=Service.SHORT_SALE_LISTING, lender_offer_accepted_at=None, at=at)
    fee_allowed(actor=agent, service=Service.SHORT_SALE_LISTING, lender_offer_accepted_at=at - timedelta(days=1), at=at)


def test_f2_f4_the_licensee_stay_covers_short_sale_listings_not_loan_modifications(agent):
    at = datetime(2026, 11, 18, 14, 0, tzinfo=UTC)
    fee_allowed(actor=agent, service=Service.SHORT_SALE_LISTING, lender_offer_accepted_at=None, at=at)
    with pytest.raises(ComplianceRefusal, match="F4"):
        fee_allowed(actor=agent, service=Service.LOAN_MODIFICATION, lender_offer_accepted_at=None, at=at)


def test_f6_a_template_promising_to_stop_foreclosure_is_refused_with_the_phrases_marked(db):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as refused:
        template_language_check("We are guaranteed to stop foreclosure & <save> your home.")
    assert "F6" in refused.value.messages[0]
    marked = refused.value.highlighted
    assert "<mark" in marked and ">guaranteed</mark>" in marked and ">stop foreclosure</mark>" in marked
    assert "&amp; &lt;save&gt;" in marked  # the rest of the text is escaped
    template_language_check("I help homeowners sell. Your lender decides on any short sale.")


def test_f6_a_note_with_a_prohibited_phrase_warns_on_a_call(lead, agent):
    phone = lead.contacts.first().phones.first()
    decision = check(lead, phone, agent, datetime(2026, 11, 18, 14, 0, tzinfo=CENTRAL),
                     message="Told her we can save your home.")
    assert (decision.verdict, decision.rule_ids) == (Verdict.WARN, ["F6"])


# H12. California business days (F7) ----------------------------------------------------------------


def test_f7_a_california_contract_signed_on_friday_counts_saturday_not_sunday_nor_thanksgiving(db):
    signed = datetime(2026, 11, 20, 15, 0, tzinfo=PACIFIC)  # Friday
    # Sat 21 (1), Sun skipped, Mon 23 (2), Tue 24 (3), Wed 25 (4), Thanksgiving skipped, Fri 27 (5):
    # until midnight ending Friday. The day after Thanksgiving is a California state holiday, but
    # not one of the business holidays Civ. Code 1695.1 names, so it counts.
    assert ca_equity_purchase_cancel_until(signed_at=signed) == datetime(2026, 11, 28, 0, 0, tzinfo=PACIFIC)


def test_f7_a_contract_signed_before_christmas_2032_skips_christmas_with_no_row_seeded(db):
    signed = datetime(2032, 12, 20, 15, 0, tzinfo=PACIFIC)  # Monday
    # Tue 21 (1), Wed 22 (2), Thu 23 (3); Christmas falls on Saturday 25 and is observed on Friday
    # 24: both skipped (the seller's right lasts the longer), Sun 26 skipped; Mon 27 (4), Tue 28 (5).
    assert ca_equity_purchase_cancel_until(signed_at=signed) == datetime(2032, 12, 29, 0, 0, tzinfo=PACIFIC)


def test_f7_a_foreclosure_sale_before_day_five_ends_the_right_at_08_00_that_day(db):
    signed = datetime(2026, 11, 20, 15, 0, tzinfo=PACIFIC)
    until = ca_equity_purchase_cancel_until(signed_at=signed, foreclosure_sale_on=date(2026, 11, 24))
    assert until == datetime(2026, 11, 24, 8, 0, tzinfo=PACIFIC)


# H13. Texas and Alabama (E4, E3) --------------------------------------------------------------------


@pytest.mark.parametrize(("day", "blocked"), [(date(2025, 8, 29), False), (date(2026, 11, 18), True)])
def test_e4_a_texas_text_after_2025_09_01_without_registration_blocks(agent, brokerage, registry, day, blocked):
    lead, phone = homeowner(agent, number="+12145550102", state="TX", zip_code="75217")
    consent_for(phone, agent)
    at = datetime.combine(day, datetime.min.time(), tzinfo=CENTRAL).replace(hour=14)
    ReassignedNumberCheckFactory(phone=phone, consent_date=date(2025, 1, 5), queried_at=at - timedelta(days=1))
    registry("214", day)
    decision = check(lead, phone, agent, at, channel=Channel.SMS)
    assert ("E4" in decision.rule_ids) == blocked
    assert "E4" in check(lead, phone, agent, at).rule_ids  # calls always needed it


def test_e3_an_alabama_holiday_on_a_saturday_is_observed_on_friday(agent, brokerage, registry):
    lead, phone = homeowner(agent, number="+12055550101", state="AL", zip_code="35203")
    friday = datetime(2026, 7, 3, 14, 0, tzinfo=CENTRAL)  # Independence Day falls on Saturday in 2026
    registry("205", friday.date())
    assert check(lead, phone, agent, friday).rule_ids == ["E3"]
    assert check(lead, phone, agent, friday + timedelta(days=1)).verdict == Verdict.ALLOW


# H14. Expired SAN (A1) --------------------------------------------------------------------------------


def test_a1_when_the_subscription_expires_phone_outreach_blocks(lead, agent, national_registry):
    national_registry.subscription_expires_on = date(2026, 11, 17)
    national_registry.save()
    decision = check(lead, lead.contacts.first().phones.first(), agent, datetime(2026, 11, 18, 14, 0, tzinfo=CENTRAL))
    assert decision.rule_ids == ["A1"]
    # Mail is not telephone outreach.
    assert outreach_check(lead=lead, contact_point=lead.contacts.first(), channel=Channel.MAIL,
                          purpose=Purpose.LISTING, actor=agent, role_disclosed=True).verdict == Verdict.ALLOW


@pytest.mark.parametrize("field", ["subscription_account_number", "subscription_expires_on"])
def test_a1_without_the_subscription_on_record_phone_outreach_blocks(lead, agent, national_registry, field):
    setattr(national_registry, field, "" if field == "subscription_account_number" else None)
    national_registry.save()
    decision = check(lead, lead.contacts.first().phones.first(), agent, datetime(2026, 11, 18, 14, 0, tzinfo=CENTRAL))
    assert (decision.verdict, decision.rule_ids) == (Verdict.BLOCK, ["A1"])
    assert "not on record" in decision.reasons[0]


def test_litigator_lists_are_never_waived_by_a_relationship(agent, brokerage, registry):
    lead, phone = homeowner(agent, number="+14045550108", state="GA", zip_code="30315")
    litigators = DncSourceFactory(kind=RegistryKind.LITIGATOR, name="Litigators")
    dnc_numbers_add(source=litigators, numbers=[phone.number], as_of=date(2026, 11, 1))
    EstablishedRelationshipFactory(phone=phone, kind=RelationshipKind.INQUIRY, started_on=date(2026, 11, 1))
    at = datetime(2026, 11, 18, 14, 0, tzinfo=EASTERN)
    registry("404", at.date())
    assert check(lead, phone, agent, at).rule_ids == ["A6"]
