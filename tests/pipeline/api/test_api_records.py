"""The lead itself through the API: a new lead, its assignment and tags, offers, notes and
the timeline, through the same services, permissions and refusals as the pages."""

from datetime import UTC, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from compliance.services import dnc_numbers_add
from leads.intake import VALUE_TOO_HIGH, WORKED_BY_BROKERAGE
from leads.models import Contact, Lead, LeadAssignment, LeadTag, Stage
from pipeline.api.records import NO_SUCH_AGENT, NOT_THE_STAGE
from pipeline.deals.offers import ANOTHER_ACCEPTED
from pipeline.models import LeadNote, Offer, OfferStatus
from pipeline.outreach.services import NOTE_EMPTY, lead_note_add

from ...compliance.factories import InterestDisclosureFactory
from ...helpers import api_as
from ...leadcrm.factories import AgentFactory, InvestorFactory
from ...leads.factories import LeadFactory, TagFactory
from ..factories import OfferFactory, StageChangeFactory

pytestmark = pytest.mark.django_db



def url(name, lead=None, **kwargs):
    return reverse(f"api:lead-{name}", kwargs={"pk": lead.pk, **kwargs} if lead is not None else None)


def new_lead(**overrides):
    body = {"street": "1200 N Peoria Ave", "city": "Tulsa", "state": "OK", "zip_code": "74106",
            "source": "referral", "note": "Referred by her cousin; call after 5.",
            "owner": {"first_name": "Rosa", "last_name": "Delgado",
                      "phones": [{"number": "(918) 555-0123", "phone_type": "mobile"}],
                      "emails": [{"address": "rosa@example.com"}]}}
    body.update(overrides)
    return body


# A new lead ----------------------------------------------------------------------------------


def test_an_agent_adds_a_lead_with_its_owner_numbers_and_note_and_it_is_theirs(agent, national_registry):
    # given a number on the national registry
    dnc_numbers_add(source=national_registry, numbers=["9185550123"], as_of=national_registry.data_as_of)

    # when the agent posts the lead
    response = api_as(agent).post(url("list"), new_lead(), format="json")

    # then it is theirs, with its owner, typed number flagged at once, email and first note
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["assigned_agent_id"], body["street"], body["source"], body["lead_type"]) == (
        agent.pk, "1200 N Peoria Ave", "referral", "referral")
    owner = body["contacts"][0]
    assert (owner["first_name"], owner["last_name"]) == ("Rosa", "Delgado")
    assert owner["phones"][0]["number"] == "+19185550123"
    assert owner["phones"][0]["phone_type"] == "mobile" and owner["phones"][0]["on_dnc_list"] is True
    assert owner["emails"][0]["address"] == "rosa@example.com"
    assert body["tags"] == []
    note = LeadNote.objects.get(lead_id=body["id"])
    assert (note.author, note.body) == (agent, "Referred by her cousin; call after 5.")
    # and the record's history names who added the owner, as the New lead page's does
    assert Contact.history.get(id=owner["id"]).history_user == agent


def test_a_house_already_yours_is_a_409_naming_it_and_add_to_existing_adds_the_owner(agent):
    client = api_as(agent)
    first = client.post(url("list"), new_lead(), format="json").json()

    again = client.post(url("list"), new_lead(owner={"first_name": "Luis", "last_name": "Delgado",
                                                     "phones": [{"number": "918-555-0199"}]}), format="json")
    assert again.status_code == 409
    assert again["Content-Type"] == "application/problem+json"
    assert (again.json()["code"], again.json()["lead"]) == ("house_already_held", first["id"])
    assert Lead.objects.count() == 1 and not Lead.objects.get().contacts.filter(first_name="Luis").exists()

    added = client.post(url("list"), new_lead(add_to_existing=True, owner={
        "first_name": "Luis", "last_name": "Delgado", "phones": [{"number": "918-555-0199"}]}), format="json")
    assert added.status_code == 200, added.json()
    assert added.json()["id"] == first["id"]
    assert {c["first_name"] for c in added.json()["contacts"]} == {"Rosa", "Luis"}


def test_a_house_worked_by_someone_you_cannot_see_is_refused_without_naming_the_lead(agent, other_lead):
    house = other_lead.property
    response = api_as(agent).post(url("list"), new_lead(street=house.street, city=house.city, state=house.state,
                                                        zip_code=house.zip_code), format="json")
    assert response.status_code == 400
    assert response.json()["street"] == [WORKED_BY_BROKERAGE]
    assert "lead" not in response.json()


def test_a_refused_lead_says_why_by_field_and_writes_nothing(agent):
    client = api_as(agent)
    response = client.post(url("list"), new_lead(owner={"phones": [{"number": "12"}],
                                                        "emails": [{"address": "not-an-address"}]},
                                                 estimated_value="200000000"), format="json")
    assert response.status_code == 400
    assert response.json()["estimated_value"] == [VALUE_TOO_HIGH.format(limit=Decimal("100000000"))]
    response = client.post(url("list"), new_lead(owner={"phones": [{"number": "12"}],
                                                        "emails": [{"address": "not-an-address"}]}), format="json")
    assert response.status_code == 400
    errors = response.json()["owner"]
    assert set(errors) == {"non_field_errors", "phones", "emails"}
    response = client.post(url("list"), new_lead(street="", zip_code="", city="", state=""), format="json")
    assert response.status_code == 400 and "street" in response.json()
    assert not Lead.objects.exists()


def test_who_may_give_a_new_lead_to_whom(agent, other_agent, team_lead, broker):
    # an agent may name themselves, nobody else
    assert api_as(agent).post(url("list"), new_lead(assigned_agent=agent.pk), format="json").status_code == 201
    refused = api_as(agent).post(url("list"), new_lead(street="1 Other St", assigned_agent=other_agent.pk),
                                 format="json")
    assert refused.status_code == 403
    # a team lead gives one to their team's agent; another team's agent is not theirs to name
    given = api_as(team_lead).post(url("list"), new_lead(street="2 Team St", assigned_agent=agent.pk), format="json")
    assert given.status_code == 201 and given.json()["assigned_agent_id"] == agent.pk
    unknown = api_as(team_lead).post(url("list"), new_lead(street="3 Gulf St", assigned_agent=other_agent.pk),
                                     format="json")
    assert unknown.status_code == 404 and unknown.json()["detail"] == NO_SUCH_AGENT
    # a broker gives one to anyone
    anyone = api_as(broker).post(url("list"), new_lead(street="4 Any St", assigned_agent=other_agent.pk),
                                 format="json")
    assert anyone.status_code == 201 and anyone.json()["assigned_agent_id"] == other_agent.pk
    assert set(Lead.objects.values_list("property__street", flat=True)) == {
        "1200 N Peoria Ave", "2 Team St", "4 Any St"}


def test_someone_without_a_role_adds_no_lead_and_anonymous_is_a_401():
    nobody = AgentFactory()
    nobody.groups.clear()
    assert api_as(nobody).post(url("list"), new_lead(), format="json").status_code == 403
    assert api_as(None).post(url("list"), new_lead(), format="json").status_code == 401
    assert not Lead.objects.exists()


# Changing the lead ------------------------------------------------------------------------------


def test_a_team_lead_reassigns_a_lead_and_the_routing_history_keeps_who_and_why(lead, agent, team, team_lead):
    colleague = AgentFactory(first_name="Cy", last_name="Colleague")
    from leadcrm.accounts.services import team_member_set

    team_member_set(team=team, user=colleague)
    response = api_as(team_lead).patch(url("detail", lead), {"assigned_agent": colleague.pk,
                                                             "reason": "Speaks Spanish"}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["assigned_agent_id"] == colleague.pk
    entry = LeadAssignment.objects.filter(lead=lead).latest("pk")
    assert (entry.to_agent, entry.from_agent, entry.actor, entry.reason) == (colleague, agent, team_lead,
                                                                             "Speaks Spanish")


def test_who_may_reassign_a_lead(lead, other_lead, agent, other_agent, team_lead, broker):
    assert api_as(agent).patch(url("detail", lead), {"assigned_agent": agent.pk}, format="json").status_code == 403
    assert api_as(other_agent).patch(url("detail", lead), {"tags": ["x"]}, format="json").status_code == 404
    assert api_as(team_lead).patch(url("detail", other_lead), {"assigned_agent": agent.pk},
                                   format="json").status_code == 404
    # a team lead's lookups do not reach another team's agent: as for a lead, a 404
    response = api_as(team_lead).patch(url("detail", lead), {"assigned_agent": other_agent.pk}, format="json")
    assert response.status_code == 404
    lead.refresh_from_db()
    assert lead.assigned_agent == agent
    assert api_as(broker).patch(url("detail", lead), {"assigned_agent": other_agent.pk},
                                format="json").status_code == 200


def test_tags_are_set_by_name_and_the_stage_is_not_changed_here(lead, agent, team):
    stage = lead.stage
    TagFactory(name="Hot", team=team)
    client = api_as(agent)
    response = client.patch(url("detail", lead), {"tags": ["hot", "Spanish speaker"]}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["tags"] == ["Hot", "Spanish speaker"]
    response = client.patch(url("detail", lead), {"tags": ["Spanish speaker"]}, format="json")
    assert response.json()["tags"] == ["Spanish speaker"]
    assert list(LeadTag.objects.filter(lead=lead).values_list("tag__name", flat=True)) == ["Spanish speaker"]
    assert client.get(url("detail", lead)).json()["tags"] == ["Spanish speaker"]

    refused = client.patch(url("detail", lead), {"stage": "dead"}, format="json")
    assert refused.status_code == 400 and refused.json()["stage"] == [NOT_THE_STAGE]
    lead.refresh_from_db()
    assert lead.stage == stage


# Offers --------------------------------------------------------------------------------------------

OFFER = {"buyer_name": "Bo Buyer", "price": "210000.00", "financing": "cash"}


def test_an_offer_is_recorded_listed_and_accepted_once(lead, agent):
    client = api_as(agent)
    made = client.post(url("offers", lead), OFFER, format="json")
    assert made.status_code == 201, made.json()
    offer = made.json()
    assert (offer["price"], offer["status"], offer["received_on"]) == ("210000.00", "pending",
                                                                       timezone.localdate().isoformat())
    second = client.post(url("offers", lead), {**OFFER, "buyer_name": "Cal Cash", "price": "205000"},
                         format="json").json()
    assert [o["id"] for o in client.get(url("offers", lead)).json()] == [second["id"], offer["id"]]

    accepted = client.patch(url("offer", lead, offer_id=offer["id"]), {"status": "accepted"}, format="json")
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    refused = client.patch(url("offer", lead, offer_id=second["id"]), {"status": "accepted"}, format="json")
    assert refused.status_code == 400
    assert refused.json()["detail"] == ANOTHER_ACCEPTED.format(buyer="Bo Buyer")
    backup = client.patch(url("offer", lead, offer_id=second["id"]), {"status": "backup"}, format="json")
    assert (backup.json()["status"], backup.json()["backup_rank"]) == ("backup", 1)
    assert [o["id"] for o in client.get(url("offers", lead)).json()] == [offer["id"], second["id"]]
    assert client.get(url("offer", lead, offer_id=offer["id"])).json()["status"] == "accepted"


@pytest.mark.parametrize(("price", "field"), [("0", "price"), ("-5", "price"), ("12345678901.00", "price"),
                                              ("1.234", "price")])
def test_an_offers_price_has_the_pages_limits(lead, agent, price, field):
    response = api_as(agent).post(url("offers", lead), {**OFFER, "price": price}, format="json")
    assert response.status_code == 400 and field in response.json()
    assert not Offer.objects.exists()


def test_an_offer_of_another_lead_or_on_a_lead_not_yours_is_a_404(lead, other_lead, agent, other_agent):
    theirs = OfferFactory(lead=other_lead)
    client = api_as(agent)
    assert client.get(url("offer", lead, offer_id=theirs.pk)).status_code == 404
    assert client.patch(url("offer", lead, offer_id=theirs.pk), {"status": "withdrawn"},
                        format="json").status_code == 404
    assert client.get(url("offers", other_lead)).status_code == 404
    assert api_as(other_agent).post(url("offers", lead), OFFER, format="json").status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == OfferStatus.PENDING


def test_an_investors_offer_without_the_disclosure_is_a_409_with_the_rule(team, brokerage):
    from leadcrm.accounts.services import team_member_set

    investor = InvestorFactory(first_name="Frank", last_name="Molina")
    team_member_set(team=team, user=investor)
    mine = LeadFactory(assigned_agent=investor, team=team, stage=Stage.NEGOTIATE)
    client = api_as(investor)
    refused = client.post(url("offers", mine), OFFER, format="json")
    assert refused.status_code == 409
    assert (refused.json()["code"], refused.json()["rule_ids"]) == ("compliance_refused", ["F8"])
    assert refused.json()["reasons"][0]["code"] == "F8"
    assert not Offer.objects.exists()
    InterestDisclosureFactory(lead=mine, principal=investor, disclosed_on=timezone.localdate() - timedelta(days=1))
    assert client.post(url("offers", mine), OFFER, format="json").status_code == 201


# Notes -----------------------------------------------------------------------------------------------


def test_a_note_is_added_and_notes_come_newest_first_a_page_at_a_time(lead, agent, team_lead):
    client = api_as(agent)
    for n in range(3):
        response = client.post(url("notes", lead), {"body": f"Note {n}"}, format="json")
        assert response.status_code == 201
    assert (response.json()["author"], response.json()["author_id"]) == ("Ana Torres", agent.pk)
    page = api_as(team_lead).get(url("notes", lead), {"page_size": 2}).json()
    assert [note["body"] for note in page["results"]] == ["Note 2", "Note 1"]
    rest = api_as(team_lead).get(page["next"]).json()
    assert [note["body"] for note in rest["results"]] == ["Note 0"] and rest["next"] is None


def test_an_empty_note_is_refused_and_another_agents_lead_takes_none(lead, agent, other_agent):
    response = api_as(agent).post(url("notes", lead), {"body": "   "}, format="json")
    assert response.status_code == 400 and response.json()["body"] == [NOTE_EMPTY]
    assert api_as(other_agent).post(url("notes", lead), {"body": "Hi"}, format="json").status_code == 404
    assert api_as(other_agent).get(url("notes", lead)).status_code == 404
    assert not LeadNote.objects.exists()


# The timeline ----------------------------------------------------------------------------------------


def test_the_timeline_is_typed_entries_newest_first(lead, agent):
    lead_note_add(lead=lead, author=agent, body="Met her at the door.")
    StageChangeFactory(lead=lead, changed_by=agent, note="First talk.", changed_at=timezone.now() + timedelta(minutes=1))
    body = api_as(agent).get(url("timeline", lead)).json()
    assert body["next"] is None
    kinds = [entry["kind"] for entry in body["results"]]
    assert {"note", "stage"} <= set(kinds)
    note = next(entry for entry in body["results"] if entry["kind"] == "note")
    assert (note["detail"], note["actor"], note["actor_id"]) == ("Met her at the door.", "Ana Torres", agent.pk)
    assert note["object_id"] == LeadNote.objects.get().pk
    stage = next(entry for entry in body["results"] if entry["kind"] == "stage")
    assert stage["summary"].endswith("Contact") and stage["detail"] == "First talk."
    times = [entry["occurred_at"] for entry in body["results"]]
    assert times == sorted(times, reverse=True)


def test_the_timeline_pages_by_cursor_without_losing_or_repeating_an_entry(lead, agent):
    for n in range(7):
        lead_note_add(lead=lead, author=agent, body=f"Note {n}")
    client = api_as(agent)
    seen, link = [], url("timeline", lead) + "?page_size=3"
    while link:
        body = client.get(link).json()
        seen += [entry["detail"] for entry in body["results"] if entry["kind"] == "note"]
        link = body["next"]
    assert sorted(seen) == [f"Note {n}" for n in range(7)]
    assert client.get(url("timeline", lead), {"cursor": "not-a-cursor"}).status_code == 404
    assert client.get(url("timeline", lead), {"page_size": "0"}).status_code == 400


def test_the_timeline_reads_as_many_queries_for_50_entries_as_for_5(lead, agent):
    client = api_as(agent)
    client.get(url("timeline", lead))  # the token's first use is recorded once

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url("timeline", lead), {"page_size": 100}).status_code == 200
        return len(captured)

    for n in range(5):
        lead_note_add(lead=lead, author=agent, body=f"Note {n}")
    few = queries()
    for n in range(45):
        lead_note_add(lead=lead, author=AgentFactory() if n % 2 else agent, body=f"More {n}")
    assert queries() == few


# Who may read them -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["offers", "notes", "timeline"])
def test_each_read_as_each_kind_of_user(name, lead, agent, other_agent, team_lead, broker):
    expected = {None: 401, other_agent: 404, agent: 200, team_lead: 200, broker: 200}
    for user, code in expected.items():
        assert api_as(user).get(url(name, lead)).status_code == code, (name, user)


def test_timeline_entries_of_other_offsets_sort_by_their_moment():
    from datetime import datetime, timedelta
    from datetime import timezone as dt_timezone

    from pipeline.api.records import Entry

    # a lender's step read in Central time (15:00 UTC) and a note at 14:00 UTC
    lender = Entry(kind="lender", occurred_at=datetime(2026, 12, 7, 9, tzinfo=dt_timezone(timedelta(hours=-6))),
                   summary="Valuation ordered")
    note = Entry(kind="note", occurred_at=datetime(2026, 12, 7, 14, tzinfo=UTC), summary="Called")

    # newest first is the lender's step, later in time though earlier as text
    assert [entry.summary for entry in sorted([note, lender], key=lambda e: e.key, reverse=True)] == [
        "Valuation ordered", "Called"]
