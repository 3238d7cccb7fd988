"""The API's edits of a lead's record: the same services and refusals as the lead page."""

import pytest

from compliance.services import dnc_numbers_add
from leads import editing
from leads.models import Contact, Lien

from ...helpers import api_as
from ...leads.factories import ContactFactory

pytestmark = pytest.mark.django_db



def url(lead, tail=""):
    return f"/api/leads/{lead.pk}/{tail}"


def test_an_owner_is_corrected_and_its_history_names_the_agent(lead, agent):
    contact = lead.contacts.get()
    response = api_as(agent).patch(url(lead, f"contacts/{contact.pk}/"), {"last_name": "Smith", "version": 1},
                                   format="json")
    assert response.status_code == 200, response.json()
    assert (response.json()["last_name"], response.json()["version"]) == ("Smith", 2)
    assert contact.history.first().history_user == agent


def test_a_stale_version_is_a_409_and_nothing_is_written(lead, agent):
    contact = lead.contacts.get()
    client = api_as(agent)
    client.patch(url(lead, f"contacts/{contact.pk}/"), {"last_name": "Smith", "version": 1}, format="json")
    response = client.patch(url(lead, f"contacts/{contact.pk}/"), {"last_name": "Smyth", "version": 1}, format="json")
    assert response.status_code == 409
    assert response.json()["detail"] == editing.STALE_EDIT
    contact.refresh_from_db()
    assert contact.last_name == "Smith"


def test_a_change_without_a_version_is_a_400(lead, agent):
    contact = lead.contacts.get()
    response = api_as(agent).patch(url(lead, f"contacts/{contact.pk}/"), {"last_name": "Smith"}, format="json")
    assert response.status_code == 400
    assert "version" in response.json()


def test_another_agents_lead_and_a_forged_row_are_404s(lead, other_lead, agent, other_agent):
    contact = lead.contacts.get()
    response = api_as(other_agent).patch(url(lead, f"contacts/{contact.pk}/"), {"last_name": "X", "version": 1},
                                         format="json")
    assert response.status_code == 404
    theirs = other_lead.contacts.get()
    response = api_as(agent).patch(url(lead, f"contacts/{theirs.pk}/"), {"last_name": "X", "version": 1},
                                   format="json")
    assert response.status_code == 404
    assert Contact.objects.get(pk=theirs.pk).last_name != "X"


def test_a_new_number_is_checked_at_once_and_a_bad_one_says_why(lead, agent, national_registry):
    dnc_numbers_add(source=national_registry, numbers=["9185550266"], as_of=national_registry.data_as_of)
    contact = lead.contacts.get()
    client = api_as(agent)
    response = client.post(url(lead, f"contacts/{contact.pk}/phones/"), {"number": "918-555-0266",
                                                                        "phone_type": "mobile"}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["on_dnc_list"] is True and response.json()["source"] == "homeowner"
    response = client.post(url(lead, f"contacts/{contact.pk}/phones/"), {"number": "12"}, format="json")
    assert response.status_code == 400
    assert "number" in response.json()


@pytest.mark.parametrize(("balance", "message"), [("-1", editing.MONEY_NEGATIVE),
                                                   ("10000000000", editing.MONEY_TOO_LARGE)])
def test_money_out_of_range_is_a_400_with_the_limit(lead, agent, balance, message):
    response = api_as(agent).post(url(lead, "liens/"), {"position": 1, "balance": balance}, format="json")
    assert response.status_code == 400
    assert response.json()["balance"] == [message]
    assert not Lien.objects.filter(lead=lead).exists()


def test_liens_added_changed_and_removed_with_a_reason(lead, agent):
    client = api_as(agent)
    created = client.post(url(lead, "liens/"), {"position": 1, "balance": "200000", "loan_number": "0012345678"},
                          format="json").json()
    assert created["loan_number_masked"] == "****5678"
    changed = client.patch(url(lead, f"liens/{created['id']}/"), {"balance": "210000", "version": created["version"]},
                           format="json")
    assert changed.status_code == 200
    lead.refresh_from_db()
    assert str(lead.lien_total) == "210000.00"
    removed = client.delete(url(lead, f"liens/{created['id']}/"), {"reason": "Paid off", "version": 2}, format="json")
    assert removed.status_code == 204
    assert Lien.history.filter(id=created["id"], history_type="-").get().history_change_reason == "Paid off"


def test_the_property_facts_and_a_hardship(lead, agent):
    client = api_as(agent)
    response = client.patch(url(lead, "property/"), {"bedrooms": 4, "version": lead.property.version}, format="json")
    assert response.status_code == 200 and response.json()["bedrooms"] == 4
    response = client.post(url(lead, "hardships/"), {"category": "medical", "narrative": "Surgery."}, format="json")
    assert response.status_code == 201
    assert lead.hardships.get().recorded_by == agent


def test_removing_an_owner_needs_a_reason_and_not_the_last(lead, agent):
    client = api_as(agent)
    only = lead.contacts.get()
    response = client.delete(url(lead, f"contacts/{only.pk}/"), {"reason": "Sold", "version": 1}, format="json")
    assert response.status_code == 400 and editing.LAST_OWNER in str(response.json())
    heir = ContactFactory(lead=lead, position=2)
    assert client.delete(url(lead, f"contacts/{heir.pk}/"), {"version": 1}, format="json").status_code == 400
    assert client.delete(url(lead, f"contacts/{heir.pk}/"), {"version": 1, "reason": "Not an owner"},
                         format="json").status_code == 204


def test_filings_are_added_and_their_auction_date_changed(lead, agent):
    client = api_as(agent)
    created = client.post(url(lead, "foreclosure-records/"), {"record_type": "NTS", "auction_date": "2027-01-15"},
                          format="json")
    assert created.status_code == 201, created.json()
    record = created.json()
    response = client.patch(url(lead, f"foreclosure-records/{record['id']}/"),
                            {"auction_date": "2027-02-01", "version": record["version"]}, format="json")
    assert response.status_code == 200 and response.json()["auction_date"] == "2027-02-01"
