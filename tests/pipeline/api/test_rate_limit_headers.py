"""RateLimit-Limit, -Remaining and -Reset on every API answer, successes included, so a
client paces itself before it meets a 429."""

import pytest
from django.urls import reverse
from rest_framework.settings import api_settings
from rest_framework.test import APIClient
from rest_framework.throttling import UserRateThrottle

from leads.models import LeadSource
from leads.sources import source_key_create

from ...helpers import api_as

pytestmark = pytest.mark.django_db



def window(response) -> tuple[int, int, int]:
    return (int(response["RateLimit-Limit"]), int(response["RateLimit-Remaining"]), int(response["RateLimit-Reset"]))


@pytest.fixture
def three_a_minute():
    UserRateThrottle.THROTTLE_RATES = {**api_settings.DEFAULT_THROTTLE_RATES, "user": "3/minute"}
    yield
    UserRateThrottle.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES


def test_a_success_tells_the_window_and_each_request_counts(lead, agent, three_a_minute):
    client = api_as(agent)
    first = client.get(reverse("api:lead-list"))
    second = client.get(reverse("api:lead-detail", args=[lead.pk]))
    assert first.status_code == second.status_code == 200
    assert window(first)[:2] == (3, 2) and window(second)[:2] == (3, 1)
    assert 0 < window(second)[2] <= 60
    assert "RateLimit-Limit" not in client.get(reverse("login"))  # the pages are not the API


def test_the_429_says_none_left_and_resets_when_retry_after_says(lead, agent, three_a_minute):
    client = api_as(agent)
    for _ in range(3):
        client.get(reverse("api:lead-list"))
    refused = client.get(reverse("api:lead-list"))
    assert refused.status_code == 429
    limit, remaining, reset = window(refused)
    assert (limit, remaining) == (3, 0) and reset == int(refused["Retry-After"]) and 0 < reset <= 60


def test_a_refusal_before_the_throttle_tells_the_window_without_counting(lead, agent, three_a_minute):
    anonymous = APIClient()
    for _ in range(2):
        response = anonymous.get(reverse("api:lead-list"))
        assert response.status_code == 401
        assert window(response)[:2] == (3, 3)  # the address's window; a 401 is not counted in it
    unknown = api_as(agent).get("/api/v1/no-such-thing/")
    assert unknown.status_code == 404 and "RateLimit-Limit" in unknown


def test_the_tightest_window_is_told(lead, agent):
    # Anonymous callers count in two windows per address (600 and 30 a minute): the smaller shows.
    response = APIClient().get(reverse("api-schema"))
    assert response.status_code == 200 and window(response)[:2] == (30, 29)
    assert int(api_as(agent).get(reverse("api:lead-list"))["RateLimit-Limit"]) == 600


def test_a_lead_sources_key_is_told_its_own_window(broker):
    key = source_key_create(name="Vendor", source=LeadSource.INBOUND, created_by=broker)[1]
    client = APIClient(HTTP_AUTHORIZATION=f"Bearer {key}")
    response = client.post(reverse("api-lead-source-post"), {"external_id": "v-1"}, format="json")
    assert response.status_code == 400 and window(response)[:2] == (120, 119)


def test_the_schema_documents_the_headers_on_every_answer(client):
    schema = client.get(reverse("api-schema"), HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    assert set(schema["components"]["headers"]) >= {"RateLimitLimit", "RateLimitRemaining", "RateLimitReset"}
    for item in schema["paths"].values():
        for operation in item.values():
            for code, answer in operation["responses"].items():
                assert {"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"} <= set(answer["headers"])
                if code == "429":
                    assert "Retry-After" in answer["headers"]
