"""The lead-source API beyond the first post: the source's id kept for a house already held,
the person/property upsert (``PUT /api/lead-sources/leads/<id>/``), and each key's own rate."""

from decimal import Decimal

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from leads.models import Contact, Email, HardshipRecord, Lead, LeadSource, LeadSourcePost, Phone, Property
from leads.sources import ALREADY_POSTED, NOTHING_NEW, source_key_create
from pipeline.api.sources import SourceKeyRateThrottle

from ...leads.factories import LeadFactory, PropertyFactory

pytestmark = pytest.mark.django_db

POST_URL = "/api/lead-sources/leads/"


def url(external_id: str) -> str:
    return f"/api/lead-sources/leads/{external_id}/"


def body(**changes) -> dict:
    data = {"owners": [{"first_name": "Maria", "last_name": "Garcia"}],
            "street": "1633 Elm Street", "city": "Tulsa", "state": "OK", "zip_code": "74130",
            "phones": ["(918) 555-0131"], "emails": ["maria@example.com"],
            "notes": "Lost my job in March, two payments behind."}
    data.update(changes)
    return data


@pytest.fixture
def source(broker):
    return source_key_create(name="Zapier: FB ads", source=LeadSource.INBOUND, created_by=broker,
                             cost_per_lead=Decimal("25.00"))


def client_with(key) -> APIClient:
    client = APIClient()
    if key is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def rows() -> tuple[int, ...]:
    return (Lead.objects.count(), Property.objects.count(), Contact.objects.count(), Phone.objects.count(),
            Email.objects.count(), HardshipRecord.objects.count(), LeadSourcePost.objects.count())


def test_a_post_matching_a_house_held_keeps_the_id_so_sending_it_again_adds_nothing(source):
    source_key, key = source
    imported = LeadFactory(source=LeadSource.PROPSTREAM,
                           property=PropertyFactory(street="1633 Elm St", city="Tulsa", zip_code="74130"))
    client = client_with(key)

    first = client.post(POST_URL, {**body(), "external_id": "fb-7"}, format="json")
    before = rows()
    again = client.post(POST_URL, {**body(phones=["918-555-0144"]), "external_id": "fb-7"}, format="json")

    assert first.status_code == 200 and first.json()["lead"] == imported.pk
    post = LeadSourcePost.objects.get()
    assert (post.source_key, post.external_id, post.lead, post.created_lead, post.cost) == (
        source_key, "fb-7", imported, False, Decimal("25.00"))
    assert again.status_code == 200
    assert again.json() == {"lead": imported.pk, "created": False, "message": ALREADY_POSTED}
    assert rows() == before


def test_the_first_put_makes_the_lead_and_later_ones_add_what_is_new(source):
    source_key, key = source
    client = client_with(key)

    made = client.put(url("fb-9"), body(), format="json")
    lead = Lead.objects.get(pk=made.json()["lead"])
    added = client.put(url("fb-9"), body(
        owners=[{"first_name": "Maria", "last_name": "Garcia"}, {"first_name": "Luis", "last_name": "Garcia"}],
        phones=["(918) 555-0131", "918.555.0199"], emails=["MARIA@example.com"],
        notes="Now three payments behind; the auction is set."), format="json")

    assert made.status_code == 201 and made.json()["created"] is True
    assert (lead.source_key, lead.source_external_id, lead.source) == (source_key, "fb-9", LeadSource.INBOUND)
    assert added.status_code == 200, added.json()
    assert added.json()["lead"] == lead.pk and added.json()["created"] is False
    assert added.json()["added"] == {"owners": 1, "phones": 1, "emails": 0}
    assert added.json()["message"] == "Added to the lead: 1 owner, 1 phone, the homeowner's words."
    assert sorted(lead.contacts.values_list("first_name", flat=True)) == ["Luis", "Maria"]
    assert set(Phone.objects.filter(contact__lead=lead).values_list("number", flat=True)) == {
        "+19185550131", "+19185550199"}
    assert list(lead.hardships.order_by("pk").values_list("narrative", flat=True)) == [
        "Lost my job in March, two payments behind.", "Now three payments behind; the auction is set."]
    assert LeadSourcePost.objects.filter(source_key=source_key, external_id="fb-9").count() == 1


def test_a_put_with_nothing_new_adds_nothing_and_says_so(source):
    _source_key, key = source
    client = client_with(key)
    client.put(url("fb-9"), body(), format="json")
    before = rows()

    again = client.put(url("fb-9"), body(street=""), format="json")  # the address may be left out

    assert again.status_code == 200
    assert again.json()["added"] == {"owners": 0, "phones": 0, "emails": 0}
    assert again.json()["message"] == NOTHING_NEW
    assert rows() == before


@pytest.mark.parametrize(("changes", "field"), [
    ({"street": "9 Other Road"}, "street"),
    ({"phones": ["555-01"]}, "phones"),
    ({"emails": ["not an address"]}, "emails"),
])
def test_a_put_for_another_house_or_with_bad_numbers_is_a_400_and_saves_nothing(changes, field, source):
    _source_key, key = source
    client = client_with(key)
    client.put(url("fb-9"), body(), format="json")
    before = rows()

    refused = client.put(url("fb-9"), body(owners=[{"first_name": "Luis"}], **changes), format="json")

    assert refused.status_code == 400
    assert field in str(refused.json())
    assert rows() == before


def test_the_first_put_needs_an_address_like_a_post(source):
    _source_key, key = source
    refused = client_with(key).put(url("fb-10"), body(street=""), format="json")
    assert refused.status_code == 400 and "street" in str(refused.json())
    assert rows() == (0, 0, 0, 0, 0, 0, 0)


@pytest.mark.parametrize("key", [None, "0" * 64])
def test_a_put_without_a_good_key_is_a_401_and_records_nothing(key, source):
    response = client_with(key).put(url("fb-9"), body(), format="json")
    assert response.status_code == 401
    assert rows() == (0, 0, 0, 0, 0, 0, 0)


def test_a_user_token_is_not_a_source_key(agent):
    from pipeline.api.services import api_token_replace

    _token, key = api_token_replace(user=agent)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.put(url("fb-9"), body(), format="json").status_code == 401


def test_a_lead_merged_away_is_answered_as_the_lead_it_joined(source):
    _source_key, key = source
    client = client_with(key)
    first = Lead.objects.get(pk=client.post(POST_URL, {**body(), "external_id": "fb-3"}, format="json").json()["lead"])
    survivor = LeadFactory()
    Lead.objects.filter(pk=first.pk).update(merged_into=survivor)

    again = client.post(POST_URL, {**body(), "external_id": "fb-3"}, format="json")

    assert again.json()["lead"] == survivor.pk


def test_each_key_has_its_own_rate(broker, monkeypatch):
    monkeypatch.setattr(SourceKeyRateThrottle, "THROTTLE_RATES", {"lead_source": "2/minute"})
    cache.clear()
    _busy, busy_key = source_key_create(name="A zap in a loop", source=LeadSource.INBOUND, created_by=broker)
    _calm, calm_key = source_key_create(name="Carrot site", source=LeadSource.INBOUND, created_by=broker)
    busy = client_with(busy_key)

    answers = [busy.post(POST_URL, {**body(), "external_id": f"loop-{n}"}, format="json").status_code
               for n in range(3)]
    held_back = busy.post(POST_URL, {**body(), "external_id": "loop-4"}, format="json")
    calm = client_with(calm_key).post(POST_URL, {**body(street="2 Oak Ave"), "external_id": "c-1"}, format="json")

    assert answers[:2] == [201, 200] and answers[2] == 429
    assert int(held_back["Retry-After"]) > 0
    assert calm.status_code == 201
    assert not LeadSourcePost.objects.filter(external_id__in=["loop-2", "loop-4"]).exists()
    cache.clear()


def test_the_schema_documents_the_upsert(client):
    schema = client.get("/api/schema/?format=json").json()
    operation = schema["paths"]["/api/v1/lead-sources/leads/{external_id}"]["put"]
    assert operation["security"] == [{"leadSourceKey": []}]
    assert {"200", "201", "400", "401", "429"} <= set(operation["responses"])
    assert list(operation["requestBody"]["content"]) == ["application/json"]


def test_the_agent_a_posted_lead_is_routed_to_is_told_at_once_and_once(source, other_agent):
    from leads.models import RoutingTarget
    from pipeline.models import Notification, NotificationKind

    from ...leads.factories import RoutingRuleFactory

    RoutingRuleFactory(target=RoutingTarget.AGENT, agent=other_agent, zip_codes="741")
    _source_key, key = source
    client = client_with(key)

    made = client.post(POST_URL, {**body(), "external_id": "fb-11"}, format="json")
    client.post(POST_URL, {**body(), "external_id": "fb-11"}, format="json")
    client.put(url("fb-11"), body(phones=["918-555-0190"]), format="json")

    told = Notification.objects.get(kind=NotificationKind.NEW_LEAD)
    assert (told.recipient, told.lead_id) == (other_agent, made.json()["lead"])
    assert told.title.startswith("New lead from the lead source “Zapier: FB ads”: 1633 Elm")


def test_an_id_too_long_for_the_path_is_a_400_not_a_500(source):
    _source_key, key = source
    refused = client_with(key).put(url("x" * 101), body(), format="json")
    assert refused.status_code == 400 and "at most 100 characters" in str(refused.json())
    assert rows() == (0, 0, 0, 0, 0, 0, 0)


def test_a_post_about_a_house_already_held_tells_its_agent_once(source, agent):
    from pipeline.models import Notification

    held = LeadFactory(assigned_agent=agent,
                       property=PropertyFactory(street="1633 Elm St", city="Tulsa", zip_code="74130"))
    _source_key, key = source
    client = client_with(key)

    client.post(POST_URL, {**body(), "external_id": "fb-21"}, format="json")
    client.post(POST_URL, {**body(), "external_id": "fb-21"}, format="json")  # the same post again

    [told] = Notification.objects.filter(recipient=agent)
    assert told.lead == held
    assert told.title.startswith("A homeowner already in your leads wrote in again")
