"""The lead-source API: a source posts leads with its own key (``leads/sources.py``,
``pipeline/api/sources.py``), added as a lead typed in by hand with no agent chosen."""

import pytest
from django.db import connection
from django.urls import reverse
from rest_framework.test import APIClient

from leads.models import (
    Contact,
    HardshipRecord,
    Lead,
    LeadAssignment,
    LeadSource,
    LeadSourceKey,
    Phone,
    Property,
    RoutingMethod,
    RoutingTarget,
)
from leads.sources import ALREADY_POSTED, source_key_create, source_key_revoke
from pipeline.api.authentication import SOURCE_KEY_NOT_VALID
from pipeline.api.services import api_token_replace

from ...leads.factories import LeadFactory, PropertyFactory, RoutingRuleFactory

pytestmark = pytest.mark.django_db

URL = "/api/lead-sources/leads/"


def body(**changes) -> dict:
    data = {"external_id": "fb-1001", "owners": [{"first_name": "Maria", "last_name": "Garcia"}],
            "street": "1633 Elm Street", "city": "Tulsa", "state": "OK", "zip_code": "74130",
            "phones": ["(918) 555-0131"], "emails": ["maria@example.com"],
            "notes": "Lost my job in March, two payments behind."}
    data.update(changes)
    return data


@pytest.fixture
def source(broker):
    return source_key_create(name="Facebook ads via Zapier", source=LeadSource.INBOUND, created_by=broker)


def post(key, data=None, header="Authorization"):
    client = APIClient()
    credentials = {} if key is None else (
        {"HTTP_AUTHORIZATION": f"Bearer {key}"} if header == "Authorization" else {"HTTP_X_API_KEY": key})
    return client.post(URL, data if data is not None else body(), format="json", **credentials)


def rows() -> tuple[int, ...]:
    return (Lead.objects.count(), Property.objects.count(), Contact.objects.count(), Phone.objects.count(),
            HardshipRecord.objects.count(), LeadAssignment.objects.count())


def test_a_good_key_creates_the_lead_with_its_source_owner_phone_and_words(source, broker):
    source_key, key = source

    response = post(key)

    assert response.status_code == 201, response.json()
    lead = Lead.objects.get(pk=response.json()["lead"])
    assert response.json()["created"] is True
    assert (lead.source, lead.source_key, lead.source_external_id) == (LeadSource.INBOUND, source_key, "fb-1001")
    owner = lead.contacts.get()
    assert (owner.first_name, owner.last_name) == ("Maria", "Garcia")
    assert list(owner.phones.values_list("number", flat=True)) == ["+19185550131"]
    assert list(owner.emails.values_list("address", flat=True)) == ["maria@example.com"]
    assert lead.hardships.get().narrative == "Lost my job in March, two payments behind."
    assert lead.assigned_agent == broker  # no routing rule matched: the key's broker, as by hand
    source_key.refresh_from_db()
    assert source_key.last_used_at is not None


def test_the_key_in_an_x_api_key_header_works_too(source):
    _source_key, key = source
    assert post(key, header="X-Api-Key").status_code == 201


def test_the_same_external_id_twice_is_one_lead_and_the_second_adds_nothing(source):
    _source_key, key = source
    first = post(key)
    before = rows()

    second = post(key, body(phones=["(918) 555-0199"], notes="Other words"))

    assert second.status_code == 200
    assert second.json() == {"lead": first.json()["lead"], "created": False, "message": ALREADY_POSTED}
    assert rows() == before


def test_a_house_already_imported_is_matched_and_given_the_new_owner_and_number(source):
    _source_key, key = source
    imported = LeadFactory(source=LeadSource.PROPSTREAM,
                           property=PropertyFactory(street="1633 Elm St", city="Tulsa", zip_code="74130"))

    response = post(key, body(street="1633 elm st.", phones=["918-555-0177"]))

    assert response.status_code == 200
    assert response.json()["lead"] == imported.pk and response.json()["created"] is False
    assert Lead.objects.count() == 1
    imported.refresh_from_db()
    assert imported.source == LeadSource.PROPSTREAM and imported.source_key is None  # its first source stays
    assert Phone.objects.filter(contact__lead=imported, number="+19185550177").exists()


def test_routing_rules_decide_who_works_a_posted_lead(source, other_agent):
    _source_key, key = source
    RoutingRuleFactory(target=RoutingTarget.AGENT, agent=other_agent, zip_codes="741")

    response = post(key)

    lead = Lead.objects.get(pk=response.json()["lead"])
    assert lead.assigned_agent == other_agent
    assert lead.assignments.filter(method=RoutingMethod.RULE).exists()


@pytest.mark.parametrize("case", ["missing", "wrong", "same_prefix", "revoked", "user_token", "broker_gone"])
def test_a_bad_missing_or_revoked_key_is_a_401_and_nothing_is_recorded(case, source, broker, agent):
    source_key, key = source
    sent = {"missing": None, "wrong": "nope", "same_prefix": source_key.prefix + "0" * 54, "revoked": key,
            "broker_gone": key}.get(case)
    if case == "revoked":
        source_key_revoke(source_key=source_key)
    if case == "broker_gone":
        broker.is_active = False
        broker.save(update_fields=["is_active"])
    if case == "user_token":
        _token, token_key = api_token_replace(user=agent)
        response = APIClient(HTTP_AUTHORIZATION=f"Token {token_key}").post(URL, body(), format="json")
    else:
        response = post(sent)

    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response["WWW-Authenticate"] == "Bearer"
    if case not in ("missing", "user_token"):
        assert response.json()["detail"] == SOURCE_KEY_NOT_VALID
    assert rows() == (0, 0, 0, 0, 0, 0)


@pytest.mark.parametrize(("changes", "field"), [
    ({"street": ""}, "street"),
    ({"phones": ["not a phone"]}, "phones"),
    ({"state": "Atlantis", "zip_code": ""}, "state"),
    ({"owners": []}, "owners"),
    ({"external_id": ""}, "external_id"),
])
def test_bad_input_is_a_400_by_field_and_nothing_is_saved(changes, field, source):
    _source_key, key = source

    response = post(key, body(**changes))

    assert response.status_code == 400, response.json()
    assert response["Content-Type"] == "application/problem+json"
    assert field in response.json()["errors"] and field in response.json()
    assert rows() == (0, 0, 0, 0, 0, 0)


def test_the_key_is_stored_only_as_its_digest(source):
    source_key, key = source
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {LeadSourceKey._meta.db_table}")
        stored = " ".join(str(value) for value in cursor.fetchone())
    assert key not in stored and key.startswith(source_key.prefix) and source_key.digest != key


def test_a_broker_makes_a_key_in_the_admin_and_sees_it_once(broker, client_as):
    client = client_as(broker)

    response = client.post(reverse("admin:leads_leadsourcekey_add"),
                           {"name": "Carrot site", "source": LeadSource.INBOUND, "cost_per_lead": "35.00"}, follow=True)

    assert response.status_code == 200, response.content.decode()[:2000]
    made = LeadSourceKey.objects.get()
    assert (made.name, made.created_by, str(made.cost_per_lead), made.is_active) == ("Carrot site", broker, "35.00",
                                                                                      True)
    shown = [str(message) for message in response.context["messages"]]
    key = next(word for message in shown for word in message.split() if word.startswith(made.prefix))
    assert made.matches(key) and key in response.content.decode()
    assert post(key).status_code == 201
    for page in (reverse("admin:leads_leadsourcekey_change", args=[made.pk]),
                 reverse("admin:leads_leadsourcekey_changelist")):
        assert key not in client.get(page).content.decode()


def test_a_broker_revokes_a_key_in_the_admin(source, broker, client_as):
    source_key, key = source
    response = client_as(broker).post(reverse("admin:leads_leadsourcekey_changelist"),
                                      {"action": "revoke", "_selected_action": [source_key.pk]})
    assert response.status_code == 302
    source_key.refresh_from_db()
    assert not source_key.is_active and source_key.revoked_at is not None
    assert post(key).status_code == 401


@pytest.mark.parametrize("who", ["agent", "team_lead"])
def test_only_a_broker_sees_the_keys_in_the_admin(who, source, agent, team_lead, client_as):
    user = {"agent": agent, "team_lead": team_lead}[who]
    response = client_as(user).get(reverse("admin:leads_leadsourcekey_changelist"))
    assert response.status_code in (302, 403)


def test_the_schema_documents_the_post_and_its_key(client):
    schema = client.get("/api/schema/?format=json").json()
    operation = schema["paths"]["/api/v1/lead-sources/leads"]["post"]
    assert operation["security"] == [{"leadSourceKey": []}]
    assert list(operation["requestBody"]["content"]) == ["application/json"]
    assert {"200", "201", "400", "401"} <= set(operation["responses"])
    assert schema["components"]["securitySchemes"]["leadSourceKey"]["scheme"] == "bearer"
