"""C2 (Texas): an ended relationship still counts on the Texas no-call list until the later of
a year after it ended and the first Texas list naming the number after that; elsewhere, and on
every other list, an ended relationship allows nothing from the day it ended
(docs/compliance-rules.md#c2)."""

import zoneinfo
from datetime import date, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from compliance.gate import relationship_until
from compliance.models import (
    Channel,
    LoadKind,
    LoadStatus,
    Purpose,
    RegistryKind,
    RelationshipKind,
    RelationshipTermination,
    TerminationShownBy,
    Verdict,
)
from compliance.rulebook import rulebook
from compliance.services import (
    dnc_numbers_add,
    outreach_check,
    registry_version_record,
    relationship_terminate,
)

from ..leads.factories import ContactFactory, LeadFactory, PhoneFactory, PropertyFactory
from .factories import DncSourceFactory, EstablishedRelationshipFactory, RegistryLoadFactory

pytestmark = pytest.mark.django_db

CENTRAL = zoneinfo.ZoneInfo("America/Chicago")
EASTERN = zoneinfo.ZoneInfo("America/New_York")
ENDED = date(2025, 10, 1)


def homeowner(agent, *, number, state, zip_code):
    lead = LeadFactory(assigned_agent=agent, property=PropertyFactory(state=state, zip_code=zip_code))
    contact = ContactFactory(lead=lead, mailing_state=state, mailing_zip=zip_code)
    return lead, PhoneFactory(contact=contact, number=number)


@pytest.fixture
def texas_list(db):
    return DncSourceFactory(kind=RegistryKind.STATE, state="TX", name="Texas no-call list")


@pytest.fixture
def texan(agent, brokerage, national_registry):
    brokerage.texas_registration_number = "TX-REG-1"  # E4
    brokerage.save()
    return homeowner(agent, number="+12145550101", state="TX", zip_code="75201")


def ended_relationship(phone, agent, *, started_on, ended_on=ENDED, kind=RelationshipKind.TRANSACTION):
    relationship = EstablishedRelationshipFactory(phone=phone, kind=kind, started_on=started_on)
    relationship_terminate(relationship=relationship, lead=phone.contact.lead, terminated_on=ended_on,
                           shown_by=TerminationShownBy.HOMEOWNER_NOTICE, recorded_by=agent)
    return relationship


def call(lead, phone, agent, national_registry, on: date, zone=CENTRAL):
    registry_version_record(source=national_registry, area_codes=[phone.number[2:5]], version_date=on)
    at = datetime(on.year, on.month, on.day, 14, 0, tzinfo=zone)
    return outreach_check(lead=lead, contact_point=phone, channel=Channel.CALL, purpose=Purpose.LISTING, actor=agent,
                          at=at, role_disclosed=True)


@pytest.mark.parametrize(("days_after", "verdict", "rules"), [
    (364, Verdict.WARN, ["C1"]),
    (365, Verdict.WARN, ["C1"]),
    (366, Verdict.BLOCK, ["A5"]),
])
def test_c2_texas_counts_an_ended_relationship_on_its_list_for_a_year(
    texan, agent, texas_list, national_registry, days_after, verdict, rules
):
    """C2 tx_after_termination_days (365): its 18-month window (to March 2027) no longer
    matters once it ended; the Texas year after the ending does."""
    lead, phone = texan
    dnc_numbers_add(source=texas_list, numbers=[phone.number], as_of=date(2025, 1, 6))
    ended_relationship(phone, agent, started_on=date(2025, 9, 1))
    decision = call(lead, phone, agent, national_registry, ENDED + timedelta(days=days_after))
    assert (decision.verdict, decision.rule_ids) == (verdict, rules)
    if verdict == Verdict.WARN:
        assert decision.check.evidence["relationship"]["terminated_on"] == ENDED.isoformat()


@pytest.mark.parametrize(("kind", "called_on", "verdict"), [
    (LoadKind.CHANGE, date(2026, 7, 15), Verdict.WARN),   # after the year, before the list naming it
    (LoadKind.CHANGE, date(2026, 8, 3), Verdict.WARN),    # the day that list came out
    (LoadKind.CHANGE, date(2026, 8, 4), Verdict.BLOCK),
    (LoadKind.FULL, date(2026, 7, 15), Verdict.BLOCK),    # a full list cannot say it was the first: the year alone
])
def test_c2_texas_counts_it_until_the_first_texas_list_naming_the_number_when_that_is_later(
    texan, agent, texas_list, national_registry, kind, called_on, verdict
):
    lead, phone = texan
    published = date(2026, 8, 3)
    RegistryLoadFactory(source=texas_list, kind=kind, status=LoadStatus.DONE, version_date=published)
    dnc_numbers_add(source=texas_list, numbers=[phone.number], as_of=published)
    ended_relationship(phone, agent, started_on=date(2025, 5, 1), ended_on=date(2025, 6, 2))
    decision = call(lead, phone, agent, national_registry, called_on)
    assert decision.verdict == verdict
    assert decision.rule_ids == (["C1"] if verdict == Verdict.WARN else ["A5"])


def test_c2_an_ended_relationship_allows_nothing_on_the_national_list_even_in_texas(
    texan, agent, national_registry
):
    lead, phone = texan
    dnc_numbers_add(source=national_registry, numbers=[phone.number], as_of=date(2025, 1, 6))
    ended_relationship(phone, agent, started_on=date(2025, 9, 1))
    assert call(lead, phone, agent, national_registry, ENDED + timedelta(days=30)).rule_ids == ["A5"]
    # The day before it ended it still counted (C1).
    assert call(lead, phone, agent, national_registry, ENDED - timedelta(days=1)).rule_ids == ["C1"]


def test_c2_outside_texas_an_ended_relationship_does_not_count(agent, brokerage, national_registry):
    lead, phone = homeowner(agent, number="+14045550106", state="GA", zip_code="30315")
    dnc_numbers_add(source=national_registry, numbers=[phone.number], as_of=date(2025, 1, 6))
    relationship = EstablishedRelationshipFactory(phone=phone, kind=RelationshipKind.TRANSACTION,
                                                  started_on=date(2025, 9, 1))
    on = ENDED + timedelta(days=30)
    assert call(lead, phone, agent, national_registry, on, zone=EASTERN).rule_ids == ["C1"]
    relationship_terminate(relationship=relationship, lead=lead, terminated_on=ENDED,
                           shown_by=TerminationShownBy.SAID, recorded_by=agent)
    assert call(lead, phone, agent, national_registry, on, zone=EASTERN).rule_ids == ["A5"]


def test_c2_a_texas_state_list_of_another_state_gets_no_texas_year(agent, brokerage, national_registry):
    """Only the Texas list, for a Texas homeowner: a Georgia homeowner on a Georgia list does not."""
    lead, phone = homeowner(agent, number="+14045550107", state="GA", zip_code="30315")
    georgia = DncSourceFactory(kind=RegistryKind.STATE, state="GA", name="Georgia no-call list")
    dnc_numbers_add(source=georgia, numbers=[phone.number], as_of=date(2025, 1, 6))
    ended_relationship(phone, agent, started_on=date(2025, 9, 1))
    assert call(lead, phone, agent, national_registry, ENDED + timedelta(days=30), zone=EASTERN).rule_ids == ["A5"]


def test_c2_an_ending_after_the_window_closed_changes_nothing(texan, agent, texas_list):
    """A relationship over before it was ended has nothing left to end: no Texas year."""
    lead, phone = texan
    relationship = ended_relationship(phone, agent, started_on=date(2025, 7, 1), ended_on=date(2025, 11, 1),
                                      kind=RelationshipKind.INQUIRY)
    relationship = type(relationship).objects.select_related("termination").get(pk=relationship.pk)
    until = relationship_until(relationship, book=rulebook(), on=date(2025, 12, 1), states=["TX"],
                               texas_list=texas_list)
    assert until == date(2025, 9, 29)  # 90 days after it started


def test_c2_the_ending_is_recorded_once_never_in_the_future_nor_before_the_start(texan, agent):
    lead, phone = texan
    relationship = EstablishedRelationshipFactory(phone=phone, kind=RelationshipKind.TRANSACTION,
                                                  started_on=date(2025, 9, 1))
    common = {"relationship": relationship, "lead": lead, "shown_by": TerminationShownBy.SAID, "recorded_by": agent}
    with pytest.raises(ValidationError, match="in the future"):
        relationship_terminate(terminated_on=date(2030, 1, 1), **common)
    with pytest.raises(ValidationError, match="before it started"):
        relationship_terminate(terminated_on=date(2025, 8, 1), **common)
    relationship_terminate(terminated_on=ENDED, **common)
    with pytest.raises(ValidationError, match="already recorded"):
        relationship_terminate(terminated_on=ENDED, **common)
    assert RelationshipTermination.objects.count() == 1


def test_c2_the_ending_page_records_it_for_the_leads_agent_and_refuses_another_leads_relationship(
    client, texan, agent
):
    lead, phone = texan
    relationship = EstablishedRelationshipFactory(phone=phone, kind=RelationshipKind.TRANSACTION,
                                                  started_on=date(2025, 9, 1))
    client.force_login(agent)
    url = reverse("compliance:relationship_terminate", args=[lead.pk, relationship.pk])
    assert client.get(url).status_code == 200
    future = client.post(url, {"terminated_on": "2030-01-01", "shown_by": TerminationShownBy.SAID})
    assert future.status_code == 400 and b"in the future" in future.content
    saved = client.post(url, {"terminated_on": "2025-10-01", "shown_by": TerminationShownBy.HOMEOWNER_NOTICE})
    assert saved.status_code == 302
    assert RelationshipTermination.objects.get().terminated_on == ENDED
    card = client.get(reverse("compliance:evidence", args=[lead.pk]))
    assert b"Ended Oct 1, 2025" in card.content
    mine_too = LeadFactory(assigned_agent=agent)  # another lead the agent sees: not this relationship's
    elsewhere = reverse("compliance:relationship_terminate", args=[mine_too.pk, relationship.pk])
    assert client.get(elsewhere).status_code == 404


def test_c2_the_texas_parameter_is_seeded(db):
    from compliance.models import RuleParameter

    row = RuleParameter.objects.get(rule="C2", key="tx_after_termination_days")
    assert row.value == 365
