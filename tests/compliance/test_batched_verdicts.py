"""The gate asked about many numbers at once answers for each what it answers alone.

``outreach_verdicts`` reads each list once for all the numbers (the call queue asks a chunk
of its leads' numbers together); a rule it skipped, or a row of one number's answer leaking
into another's, would show here as a verdict, a finding or a piece of evidence that
differs from ``outreach_preview`` asked about that number alone
(docs/compliance-rules.md#batched-reads).

Wednesday 18 November 2026, 14:45 UTC: 8:45 a.m. in Tulsa, 9:45 in Atlanta, 6:45 in Los
Angeles, so the federal window (D1), the state windows (E1) and every zone (G2) all bite.
"""

from datetime import UTC, date, datetime, timedelta

import pytest

from compliance.gate import outreach_verdicts
from compliance.models import Channel, Direction, Purpose, RegistryKind, RndResult, Technology, Verdict
from compliance.services import (
    agent_list_import,
    dnc_numbers_add,
    dnc_policy_adopt,
    internal_dnc_add,
    outreach_preview,
    registry_version_record,
)
from leads.models import PhoneStatus

from ..leadcrm.factories import POLICY_TEXT, InvestorFactory
from ..leads.factories import ContactFactory, LeadFactory, PhoneFactory, PropertyFactory
from .factories import (
    ComplianceCheckFactory,
    ConsentRecordFactory,
    DncSourceFactory,
    EstablishedRelationshipFactory,
    InterestDisclosureFactory,
    ReassignedNumberCheckFactory,
    RevocationReviewFactory,
)

pytestmark = pytest.mark.django_db

AT = datetime(2026, 11, 18, 14, 45, tzinfo=UTC)


def homeowner(agent, team, number, *, state="OK", zip_code="74103", mailing=None, **phone):
    lead = LeadFactory(assigned_agent=agent, team=team, property=PropertyFactory(state=state, zip_code=zip_code))
    mailing_state, mailing_zip = mailing or (state, zip_code)
    owner = ContactFactory(lead=lead, mailing_state=mailing_state, mailing_zip=mailing_zip)
    return lead, PhoneFactory(contact=owner, number=number, **phone)


@pytest.fixture
def population(agent, team, brokerage, national_registry):
    """Numbers that each meet a different rule, and some that meet none."""
    for area_code in ("206", "502", "512"):
        registry_version_record(source=national_registry, area_codes=[area_code], version_date=AT.date() - timedelta(days=2))
    registry_version_record(source=national_registry, area_codes=["405"], version_date=AT.date() - timedelta(days=40))
    state_list = DncSourceFactory(name="Florida no-sales-solicitation list", kind=RegistryKind.STATE, state="FL")
    litigators = DncSourceFactory(name="Litigators", kind=RegistryKind.LITIGATOR, subscription_account_number="")
    h = {}
    h["plain"] = homeowner(agent, team, "+19185550401")
    h["national"] = homeowner(agent, team, "+19185550402")
    h["state_list"] = homeowner(agent, team, "+18505550403", state="FL", zip_code="32301")
    h["litigator"] = homeowner(agent, team, "+19185550404")
    h["internal"] = homeowner(agent, team, "+19185550405")
    # The owner asked us to stop on another of their numbers (B1 covers this one).
    h["owner_stopped"] = homeowner(agent, team, "+19185550406")
    other = PhoneFactory(contact=h["owner_stopped"][1].contact, number="+19185550416", position=2)
    h["washington"] = homeowner(agent, team, "+12065550407", state="WA", zip_code="98101")
    h["mailing_in_la"] = homeowner(agent, team, "+19185550408", mailing=("CA", "90012"))  # 6:45 a.m. there
    h["texas"] = homeowner(agent, team, "+15125550409", state="TX", zip_code="78701")  # E1 9 a.m., E4
    h["kentucky"] = homeowner(agent, team, "+15025550410", state="KY", zip_code="40202")  # E1 10 a.m.
    h["capped"] = homeowner(agent, team, "+19185550411")
    h["counted"] = homeowner(agent, team, "+19185550412")
    h["relationship"] = homeowner(agent, team, "+19185550413")
    h["relationship_by_lead"] = homeowner(agent, team, "+19185550414")
    h["review"] = homeowner(agent, team, "+19185550415")
    h["wrong_party"] = homeowner(agent, team, "+19185550417", status=PhoneStatus.WRONG_PARTY)
    h["stale_registry"] = homeowner(agent, team, "+14055550418")
    h["no_registry_data"] = homeowner(agent, team, "+13165550419", state="KS", zip_code="67202")
    h["consented"] = homeowner(agent, team, "+19185550420")
    h["reassigned"] = homeowner(agent, team, "+19185550421")
    h["disclosed"] = homeowner(agent, team, "+19185550422")
    h["pitched"] = homeowner(agent, team, "+19185550423")
    # The same number on another lead: its relationship (by lead) must not leak to this one.
    h["same_number"] = homeowner(agent, team, "+19185550414")

    dnc_numbers_add(source=national_registry, as_of=AT.date(), numbers=[
        "9185550402", "9185550413", "9185550414", "9185550423", "9185550422"])
    dnc_numbers_add(source=state_list, numbers=["8505550403"], as_of=AT.date())
    dnc_numbers_add(source=litigators, numbers=["9185550404"], as_of=AT.date())
    internal_dnc_add(phone_number="+19185550405", channel=Channel.CALL, homeowner_words="Stop calling.",
                     recorded_by=agent, requested_at=AT - timedelta(days=3))
    internal_dnc_add(phone_number=other.number, channel=Channel.CALL, homeowner_words="Take me off your list.",
                     recorded_by=agent, lead=h["owner_stopped"][0], requested_at=AT - timedelta(days=2))
    agent_list_import(agent=agent, text="+12065550407", note="My list at my last brokerage")
    for hours in (1, 5, 20):  # OK caps three in 24 hours (E2)
        ComplianceCheckFactory(lead=h["capped"][0], contact_point="+19185550411", direction=Direction.OUTBOUND,
                               checked_at=AT - timedelta(hours=hours))
    ComplianceCheckFactory(lead=h["counted"][0], contact_point="+19185550412", checked_at=AT - timedelta(hours=2))
    ComplianceCheckFactory(lead=h["counted"][0], contact_point="+19185550412", checked_at=AT - timedelta(hours=30))
    ComplianceCheckFactory(lead=h["counted"][0], contact_point="+19185550412", checked_at=AT - timedelta(days=40))
    EstablishedRelationshipFactory(phone=h["relationship"][1], started_on=AT.date() - timedelta(days=20))
    EstablishedRelationshipFactory(lead=h["relationship_by_lead"][0], phone_number="+19185559999",
                                   started_on=AT.date() - timedelta(days=10))
    RevocationReviewFactory(lead=h["review"][0], phone_number="+19185550415")
    ConsentRecordFactory(phone=h["consented"][1], obtained_at=AT - timedelta(days=60), covers_autodialer=True)
    ReassignedNumberCheckFactory(phone=h["consented"][1], queried_at=AT - timedelta(days=1))
    ConsentRecordFactory(phone=h["reassigned"][1], obtained_at=AT - timedelta(days=60))
    ReassignedNumberCheckFactory(phone=h["reassigned"][1], queried_at=AT - timedelta(days=1), result=RndResult.YES)
    ComplianceCheckFactory(lead=h["pitched"][0], contact_point="+19185550423", purpose=Purpose.LISTING,
                           checked_at=AT - timedelta(days=10))
    brokerage.investor_offer_opt_in_on = date(2026, 1, 2)
    brokerage.save()
    return h


def one_at_a_time(targets, **asked):
    decisions = [outreach_preview(lead=lead, contact_point=phone, role_disclosed=True, **asked)
                 for lead, phone in targets]
    return [(d.verdict, [f.as_dict() for f in d.findings], d.evidence) for d in decisions]


def together(targets, **asked):
    return [(verdict, [f.as_dict() for f in findings], evidence)
            for verdict, findings, evidence in outreach_verdicts(targets=targets, **asked)]


ASKED = [
    pytest.param(dict(channel=Channel.CALL, purpose=Purpose.LISTING), id="call"),
    pytest.param(dict(channel=Channel.SMS, purpose=Purpose.LISTING), id="text"),
    pytest.param(dict(channel=Channel.CALL, purpose=Purpose.LISTING, technology=Technology.AUTODIALER),
                 id="autodialed"),
    pytest.param(dict(channel=Channel.CALL, purpose=Purpose.LISTING, technology=Technology.PRERECORDED),
                 id="prerecorded"),
    pytest.param(dict(channel=Channel.CALL, purpose=Purpose.OFFER_TO_BUY, principal=True), id="principal"),
]


@pytest.mark.parametrize("asked", ASKED)
def test_the_gate_asked_about_many_numbers_answers_each_as_when_asked_alone(population, agent, asked):
    asked = dict(asked)
    actor = agent
    if asked.pop("principal", False):
        actor = InvestorFactory()
        InterestDisclosureFactory(lead=population["disclosed"][0], principal=actor, disclosed_on=AT.date())
    targets = list(population.values())
    alone = one_at_a_time(targets, actor=actor, at=AT, **asked)
    batch = together(targets, actor=actor, at=AT, **asked)
    for name, single, batched in zip(population, alone, batch, strict=True):
        assert batched == single, name
    # And in another order, in smaller batches: an answer depends on its number alone.
    shuffled = targets[::-1]
    batch = [answer for start in range(0, len(shuffled), 7)
             for answer in together(shuffled[start:start + 7], actor=actor, at=AT, **asked)]
    assert batch == alone[::-1]


def rules_met(answers) -> set[str]:
    return {finding["rule"] for _, findings, _ in answers for finding in findings}


def test_the_population_meets_every_rule_that_can_refuse_a_call(population, agent):
    """The comparison above means something only if the numbers meet every rule that reads
    the database or the clock: each of these must fire on some number."""
    targets = list(population.values())
    calls = rules_met(one_at_a_time(targets, actor=agent, at=AT, channel=Channel.CALL, purpose=Purpose.LISTING))
    assert {"A3", "A5", "A6", "B1", "B3", "B4", "C1", "D1", "D7", "E1", "E2", "E4"} <= calls
    texts = rules_met(one_at_a_time(targets, actor=agent, at=AT, channel=Channel.SMS, purpose=Purpose.LISTING))
    assert {"D5", "D7"} <= texts
    prerecorded = one_at_a_time(targets, actor=agent, at=AT, channel=Channel.CALL, purpose=Purpose.LISTING,
                                technology=Technology.PRERECORDED)
    assert "D4" in rules_met(prerecorded)
    investor = InvestorFactory()
    InterestDisclosureFactory(lead=population["disclosed"][0], principal=investor, disclosed_on=AT.date())
    offers = one_at_a_time(targets, actor=investor, at=AT, channel=Channel.CALL, purpose=Purpose.OFFER_TO_BUY)
    assert {"C4", "F8", "A5"} <= rules_met(offers)
    by_name = dict(zip(population, offers, strict=True))
    assert "F8" not in {f["rule"] for f in by_name["disclosed"][1]}  # the disclosure on file is read
    assert "C4" not in {f["rule"] for f in by_name["pitched"][1]}  # so is the listing pitched before


def test_a_caller_without_acknowledged_procedures_is_refused_on_every_number(population, agent, broker):
    targets = list(population.values())[:5]
    dnc_policy_adopt(text=POLICY_TEXT, adopted_by=broker, adopted_on=AT.date() - timedelta(days=1))
    alone = one_at_a_time(targets, actor=agent, at=AT, channel=Channel.CALL, purpose=Purpose.LISTING)
    assert all("A4" in {f["rule"] for f in findings} for _, findings, _ in alone)
    assert together(targets, actor=agent, at=AT, channel=Channel.CALL, purpose=Purpose.LISTING) == alone


def test_a_lapsed_subscription_refuses_every_number_in_the_batch(population, agent, national_registry):
    national_registry.subscription_expires_on = AT.date() - timedelta(days=1)
    national_registry.save()
    targets = list(population.values())[:5]
    alone = one_at_a_time(targets, actor=agent, at=AT, channel=Channel.CALL, purpose=Purpose.LISTING)
    assert all(verdict == Verdict.BLOCK and "A1" in {f["rule"] for f in findings} for verdict, findings, _ in alone)
    assert together(targets, actor=agent, at=AT, channel=Channel.CALL, purpose=Purpose.LISTING) == alone


def test_the_numbers_asked_together_share_the_caller_and_the_moment(population, agent):
    from compliance.gate import Attempt, GateReads

    (lead, phone), (other_lead, other_phone) = list(population.values())[:2]
    attempts = [Attempt(lead=lead, channel=Channel.CALL, purpose=Purpose.LISTING, actor=agent, at=at,
                        role_disclosed=True, brokerage=None, contact_point=phone)
                for at in (AT, AT + timedelta(minutes=1))]
    with pytest.raises(ValueError):
        GateReads(attempts)
