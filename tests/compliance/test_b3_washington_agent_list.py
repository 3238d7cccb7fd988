"""B3: in Washington each agent's own do-not-call list binds them, on top of the brokerage's
list (B1), whatever becomes of the brokerage's entry (docs/compliance-rules.md#b3)."""

import zoneinfo
from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from compliance.models import (
    AgentDncEntry,
    AgentListSource,
    Channel,
    InternalDncEntry,
    Purpose,
    StopOrigin,
    Verdict,
)
from compliance.services import (
    agent_list_import,
    internal_dnc_add,
    outreach_check,
    registry_version_record,
    text_resubscribe,
)
from pipeline.models import Outcome
from pipeline.outreach.services import outreach_log

from ..leadcrm.factories import AgentFactory
from ..leads.factories import ContactFactory, LeadFactory, PhoneFactory, PropertyFactory
from .factories import ConsentRecordFactory

pytestmark = pytest.mark.django_db

PACIFIC = zoneinfo.ZoneInfo("America/Los_Angeles")
EASTERN = zoneinfo.ZoneInfo("America/New_York")
AT = datetime(2026, 11, 18, 11, 0, tzinfo=PACIFIC)  # a Wednesday, inside every window


def homeowner(agent, *, number, state, zip_code):
    lead = LeadFactory(assigned_agent=agent, property=PropertyFactory(state=state, zip_code=zip_code))
    contact = ContactFactory(lead=lead, mailing_state=state, mailing_zip=zip_code)
    return lead, PhoneFactory(contact=contact, number=number)


@pytest.fixture
def fresh(national_registry):
    def record(area_code):
        registry_version_record(source=national_registry, area_codes=[area_code],
                                version_date=AT.date() - timedelta(days=1))
    return record


@pytest.fixture
def washington(agent, brokerage, fresh):
    fresh("206")
    return homeowner(agent, number="+12065550101", state="WA", zip_code="98101")


def check(lead, phone, actor, at=AT, **kwargs):
    kwargs.setdefault("purpose", Purpose.LISTING)
    return outreach_check(lead=lead, contact_point=phone, channel=kwargs.pop("channel", Channel.CALL),
                          actor=actor, at=at, role_disclosed=True, **kwargs)


def agent_list_queries(captured) -> int:
    return sum(AgentDncEntry._meta.db_table in query["sql"] for query in captured.captured_queries)


def test_b3_a_number_on_the_agents_own_list_blocks_them_in_washington(washington, agent):
    lead, phone = washington
    agent_list_import(agent=agent, text=phone.number, note="My list at my last brokerage")
    assert not InternalDncEntry.objects.exists()  # never on the brokerage's list
    with CaptureQueriesContext(connection) as captured:
        decision = check(lead, phone, agent)
    assert (decision.verdict, decision.rule_ids) == (Verdict.BLOCK, ["B3"])
    assert "your own do-not-call list" in decision.reasons[0]
    assert decision.check.evidence["agent_dnc_entry"]["source"] == AgentListSource.OWN_LIST
    assert agent_list_queries(captured) == 1  # one indexed lookup, no more


def test_b3_a_stop_lifted_on_the_brokerage_list_by_a_start_still_blocks_the_agent_in_washington(washington, agent):
    lead, phone = washington
    ConsentRecordFactory(phone=phone, recorded_by=agent, obtained_at=datetime(2026, 1, 5, tzinfo=UTC))
    stopped = AT - timedelta(days=30)
    internal_dnc_add(channel=Channel.SMS, phone_number=phone.number, homeowner_words="STOP", recorded_by=agent,
                     lead=lead, requested_at=stopped, origin=StopOrigin.TEXT_REPLY)
    text_resubscribe(phone_number=phone.number, words="START", lead=lead, at=stopped + timedelta(days=1),
                     recorded_by=agent)
    colleague = AgentFactory()
    lifted = check(lead, phone, colleague, channel=Channel.SMS)
    assert "B1" not in lifted.rule_ids and "B3" not in lifted.rule_ids  # the START lifted the brokerage's stop
    decision = check(lead, phone, agent, channel=Channel.SMS)
    assert decision.verdict == Verdict.BLOCK and "B3" in decision.rule_ids and "B1" not in decision.rule_ids


def test_b3_a_stop_made_to_an_agent_goes_on_their_list_and_blocks_only_them_under_b3(washington, agent):
    lead, phone = washington
    outreach_log(lead=lead, channel=Channel.CALL, contact_point=phone, outcome=Outcome.DNC_REQUEST, actor=agent,
                 role_disclosed=True, homeowner_words="Don't call me again.")
    entry = AgentDncEntry.objects.get(agent=agent, phone_number=phone.number)
    assert entry.source == AgentListSource.STOP and entry.stop.phone_number == phone.number
    assert set(check(lead, phone, agent).rule_ids) == {"B1", "B3"}
    assert check(lead, phone, AgentFactory()).rule_ids == ["B1"]  # the brokerage's list binds everyone


def test_b3_a_texted_stop_goes_on_the_leads_agents_list_not_the_automations(washington, agent):
    from leadcrm.accounts.services import automation_user

    lead, phone = washington
    internal_dnc_add(channel=Channel.SMS, phone_number=phone.number, homeowner_words="STOP",
                     recorded_by=automation_user(), lead=lead, origin=StopOrigin.TEXT_REPLY)
    assert list(AgentDncEntry.objects.values_list("agent", "source")) == [(agent.pk, AgentListSource.STOP)]


def test_b3_another_agents_list_does_not_block_in_washington(washington, agent):
    lead, phone = washington
    other = AgentFactory()
    agent_list_import(agent=other, text=phone.number)
    assert check(lead, phone, agent).verdict == Verdict.ALLOW
    assert check(lead, phone, other).rule_ids == ["B3"]


def test_b3_outside_washington_the_agents_own_list_is_not_consulted(agent, brokerage, fresh):
    fresh("404")
    lead, phone = homeowner(agent, number="+14045550109", state="GA", zip_code="30315")
    agent_list_import(agent=agent, text=phone.number)
    at = AT.astimezone(EASTERN)
    with CaptureQueriesContext(connection) as captured:
        decision = check(lead, phone, agent, at=at)
    assert decision.verdict == Verdict.ALLOW and "B3" not in decision.rule_ids
    assert agent_list_queries(captured) == 0


@pytest.mark.parametrize(("days_ago", "blocked"), [(364, True), (366, False)])
def test_b3_a_stop_stays_on_the_agents_list_for_agent_list_days(washington, agent, days_ago, blocked):
    """B3 agent_list_days (365, unverified): the brokerage's entry is gone from the picture
    (none here), the agent's stays a year."""
    lead, phone = washington
    AgentDncEntry.objects.create(agent=agent, phone_number=phone.number, source=AgentListSource.STOP,
                                 requested_at=AT - timedelta(days=days_ago), recorded_by=agent, lead=lead)
    assert ("B3" in check(lead, phone, agent).rule_ids) is blocked


def test_b3_an_email_on_the_agents_own_list_blocks_an_email_in_washington(washington, agent):
    lead, phone = washington
    email = phone.contact.emails.create(address="Owner@Example.com")
    agent_list_import(agent=agent, text="owner@example.com")
    decision = outreach_check(lead=lead, contact_point=email, channel=Channel.EMAIL, purpose=Purpose.LISTING,
                              actor=agent, at=AT, role_disclosed=True)
    assert decision.rule_ids == ["B3"]


def test_b3_the_agents_list_cannot_be_edited_or_removed(washington, agent):
    lead, phone = washington
    agent_list_import(agent=agent, text=phone.number)
    with pytest.raises(Exception):  # noqa: B017 - the model and the trigger both refuse
        AgentDncEntry.objects.all().delete()
    assert AgentDncEntry.objects.filter(agent=agent).count() == 1


# The import (B3) -------------------------------------------------------------------------------


def test_b3_an_import_with_a_bad_line_adds_nothing_and_names_each_bad_line(agent):
    result = agent_list_import(agent=agent, text="phone\n(206) 555-0101\nnot a number\n206555\n+12065550101\nx@y")
    assert not result.ok and result.added == []
    assert [error.split(":")[0] for error in result.errors] == ["Line 3", "Line 4", "Line 5", "Line 6"]
    assert "is on line 2 too" in result.errors[2]
    assert not AgentDncEntry.objects.exists()


def test_b3_an_import_of_csv_skips_what_is_listed_already(agent):
    agent_list_import(agent=agent, text="2065550101")
    result = agent_list_import(agent=agent, text="number,name\n206-555-0101,Old\n206-555-0102,New\nowner@example.com,x")
    assert result.ok and len(result.added) == 2 and result.already == ["Line 2: +12065550101 is on your list already."]
    assert set(AgentDncEntry.objects.values_list("phone_number", "email")) == {
        ("+12065550101", ""), ("+12065550102", ""), ("", "owner@example.com")}


def test_b3_an_empty_import_is_refused(agent):
    with pytest.raises(ValidationError):
        agent_list_import(agent=agent, text="\n  \n")


def test_b3_the_agents_list_page_shows_their_own_list_and_refuses_bad_lines(client, agent):
    other = AgentFactory()
    agent_list_import(agent=other, text="+12065550199")
    agent_list_import(agent=agent, text="+12065550101", note="Kept at my last brokerage")
    client.force_login(agent)
    url = reverse("compliance:agent_list")
    page = client.get(url)
    assert page.status_code == 200
    assert b"(206) 555-0101" in page.content and b"(206) 555-0199" not in page.content
    refused = client.post(url, {"numbers": "2065550102\nnonsense", "note": ""})
    assert refused.status_code == 400
    assert "Line 2: “nonsense” is neither" in refused.content.decode()
    assert AgentDncEntry.objects.filter(agent=agent).count() == 1
    added = client.post(url, {"numbers": "2065550102", "note": "From my old CRM"})
    assert added.status_code == 302
    assert AgentDncEntry.objects.filter(agent=agent, phone_number="+12065550102").exists()


def test_b3_the_agents_list_page_lists_without_a_query_per_row(client, agent, django_assert_max_num_queries):
    agent_list_import(agent=agent, text="\n".join(f"+1206555{n:04d}" for n in range(30)))
    client.force_login(agent)
    with django_assert_max_num_queries(12):
        assert client.get(reverse("compliance:agent_list")).status_code == 200


def test_b3_the_agent_list_rule_parameter_is_seeded_unverified(db):
    from compliance.models import RuleParameter

    row = RuleParameter.objects.get(rule="B3", key="agent_list_days")
    assert row.value == 365 and not row.verified and row.effective_from == date(2000, 1, 1)
