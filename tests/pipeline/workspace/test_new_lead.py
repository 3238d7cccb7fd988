"""The New lead page: who may use it, what each field says when it is wrong, a house
already held, and the first note."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from leads.intake import ALREADY_YOURS, BAD_STATE, MAX_ESTIMATED_VALUE, VALUE_TOO_HIGH, WORKED_BY_BROKERAGE
from leads.models import Contact, Lead, LeadSource, Phone, Property
from leads.phones import NOT_VALID
from pipeline.models import LeadNote

from ...leads.factories import LeadFactory, PropertyFactory

pytestmark = pytest.mark.django_db

URL = reverse("pipeline:lead_new")


def posted(**changes) -> dict:
    data = {"street": "1633 Elm Street", "city": "Tulsa", "state": "OK", "zip_code": "74130",
            "owner1_first": "Maria", "owner1_last": "Garcia", "phone1": "(918) 555-0131",
            "email1": "maria@example.com", "source": LeadSource.DOOR_KNOCK, "estimated_value": "245000",
            "note": "Met her at the door; the bank filed an NOD in October."}
    data.update(changes)
    return {name: value for name, value in data.items() if value is not None}


def said(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_anonymous_is_sent_to_sign_in(client_as):
    response = client_as(None).get(URL)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.parametrize("role", ["agent", "team_lead", "broker"])
def test_everyone_who_works_leads_opens_the_page(role, request, client_as):
    response = client_as(request.getfixturevalue(role)).get(URL)
    assert response.status_code == 200
    assert b'name="street"' in response.content and b'name="source"' in response.content


def test_only_those_who_assign_leads_may_pick_an_agent(agent, team_lead, client_as):
    assert b'name="assigned_agent"' not in client_as(agent).get(URL).content
    assert b'name="assigned_agent"' in client_as(team_lead).get(URL).content


def test_the_lead_list_and_the_dashboard_offer_it_with_the_n_key(agent, client_as):
    client = client_as(agent)
    for page in (reverse("leads:list"), reverse("pipeline:dashboard")):
        content = client.get(page).content.decode()
        assert f'href="{URL}" data-shortcut="n"' in content, page


def test_a_door_knock_becomes_the_agents_lead_with_its_first_note(agent, team, client_as):
    response = client_as(agent).post(URL, posted())

    lead = Lead.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("leads:detail", args=[lead.pk])
    assert (lead.assigned_agent, lead.source) == (agent, LeadSource.DOOR_KNOCK)
    assert Phone.objects.get(contact__lead=lead).number == "+19185550131"
    note = LeadNote.objects.get(lead=lead)
    assert (note.author, note.body) == (agent, "Met her at the door; the bank filed an NOD in October.")
    page = client_as(agent).get(response["Location"]).content.decode()
    assert "Garcia" in page and "Met her at the door" in page


def test_a_team_lead_gives_the_new_lead_to_an_agent_of_theirs(team_lead, agent, client_as):
    client_as(team_lead).post(URL, posted(assigned_agent=str(agent.pk)))
    assert Lead.objects.get().assigned_agent == agent


def test_an_agent_cannot_forge_another_agent_in_the_post(agent, other_agent, client_as):
    response = client_as(agent).post(URL, posted(assigned_agent=str(other_agent.pk)))
    lead = Lead.objects.get()
    assert response.status_code == 302 and lead.assigned_agent == agent  # the field is not theirs: ignored


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"phone1": "(999) 555-0131"}, "phone1", NOT_VALID.format(raw="(999) 555-0131")),
    ({"email1": "maria-at-example"}, "email1", "Enter an email address with a name, an @ and a domain."),
    ({"state": "Narnia"}, "state", BAD_STATE.format(value="Narnia")),
    ({"estimated_value": str(MAX_ESTIMATED_VALUE + 1)}, "estimated_value",
     VALUE_TOO_HIGH.format(limit=MAX_ESTIMATED_VALUE)),
    ({"street": ""}, "street", "This field is required."),
])
def test_a_bad_field_says_why_and_nothing_is_saved(agent, client_as, changes, field, message):
    response = client_as(agent).post(URL, posted(**changes))
    assert response.status_code == 200
    assert response.context["form"].errors[field] == [message]
    assert not Lead.objects.exists() and not Property.objects.exists() and not LeadNote.objects.exists()


def test_no_zip_and_no_city_says_the_house_cannot_be_placed(agent, client_as):
    response = client_as(agent).post(URL, posted(zip_code="", city=""))
    assert "zip_code" in response.context["form"].errors and not Lead.objects.exists()


def test_a_house_already_the_agents_opens_it_and_adds_nothing(agent, team, client_as):
    held = LeadFactory(assigned_agent=agent, team=team, property=PropertyFactory(street="1633 Elm St", zip_code="74130"))
    response = client_as(agent).post(URL, posted(street="1633 ELM ST."))
    assert response["Location"] == reverse("leads:detail", args=[held.pk])
    assert ALREADY_YOURS in said(response)
    assert Lead.objects.count() == 1 and not LeadNote.objects.exists()
    assert not Contact.objects.filter(lead=held, last_name="Garcia").exists()


def test_a_house_already_the_agents_gets_the_new_owner_when_asked(agent, team, client_as):
    held = LeadFactory(assigned_agent=agent, team=team, property=PropertyFactory(street="1633 Elm St", zip_code="74130"))
    client_as(agent).post(URL, posted(add_to_existing="on"))
    assert Contact.objects.filter(lead=held, last_name="Garcia").exists()
    assert LeadNote.objects.filter(lead=held).exists()


def test_a_house_another_agent_works_leaks_nothing(agent, other_agent, other_team, client_as):
    theirs = LeadFactory(assigned_agent=other_agent, team=other_team,
                         property=PropertyFactory(street="1633 Elm St", zip_code="74130"))
    Contact.objects.create(lead=theirs, first_name="Quentin", last_name="Zebulon")
    response = client_as(agent).post(URL, posted(add_to_existing="on"))
    page = response.content.decode()
    assert response.status_code == 200
    assert response.context["form"].errors["street"] == [WORKED_BY_BROKERAGE]
    assert "Zebulon" not in page and str(other_agent) not in page
    assert f"/leads/{theirs.pk}/" not in page
    assert not Contact.objects.filter(last_name="Garcia").exists() and not LeadNote.objects.exists()
