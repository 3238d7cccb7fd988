"""API tokens: kept as digests, expiring, their last use recorded; the plain-text keys of
DRF's authtoken carried over hashed by the migration; the settings page shows and
replaces them."""

import importlib
import re
from datetime import timedelta

import pytest
import time_machine
from django.apps import apps
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from leadcrm.accounts.tokens import LAST_USED_EVERY, ApiToken
from pipeline.api.authentication import EXPIRED
from pipeline.api.services import api_token_replace

pytestmark = pytest.mark.django_db

carry_over = importlib.import_module("leadcrm.accounts.migrations.0005_api_tokens_hashed").carry_over_plain_tokens


def get_with(key):
    return APIClient(HTTP_AUTHORIZATION=f"Token {key}").get("/api/leads/")


def test_the_key_is_stored_nowhere_only_its_digest(agent):
    token, key = api_token_replace(user=agent)
    assert get_with(key).status_code == 200
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {ApiToken._meta.db_table}")
        row = " ".join(str(value) for value in cursor.fetchone())
    assert key not in row and token.digest != key and key.startswith(token.prefix)


def test_a_wrong_key_with_the_right_prefix_is_a_401(agent):
    token, key = api_token_replace(user=agent)
    forged = token.prefix + "0" * (len(key) - len(token.prefix))
    response = get_with(forged)
    assert response.status_code == 401 and "not valid" in response.json()["detail"]
    assert get_with("short").status_code == 401


def test_an_inactive_users_token_is_a_401(agent):
    _token, key = api_token_replace(user=agent)
    agent.is_active = False
    agent.save(update_fields=["is_active"])
    assert get_with(key).status_code == 401


def test_an_expired_token_is_a_401_saying_so_and_where_to_make_a_new_one(agent, settings):
    settings.LEADCRM_API_TOKEN_DAYS = 90
    token, key = api_token_replace(user=agent)
    assert token.expires_at - token.created_at == timedelta(days=90)
    with time_machine.travel(token.expires_at + timedelta(seconds=1)):
        response = get_with(key)
    assert (response.status_code, response["Content-Type"]) == (401, "application/problem+json")
    assert response["WWW-Authenticate"] == "Token"
    detail = response.json()["detail"]
    assert "expired" in detail and reverse("pipeline:my_settings") in detail
    expired = timezone.localtime(token.expires_at)
    assert detail == EXPIRED.format(date=f"{expired:%b} {expired.day}, {expired.year}",
                                    url=f"http://testserver{reverse('pipeline:my_settings')}")


def test_the_last_use_is_written_at_most_once_a_minute(agent):
    token, key = api_token_replace(user=agent)
    assert token.last_used_at is None
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        get_with(key)
    assert ApiToken.objects.get().last_used_at == start
    with time_machine.travel(start + LAST_USED_EVERY - timedelta(seconds=1), tick=False):
        get_with(key)
    assert ApiToken.objects.get().last_used_at == start
    with time_machine.travel(start + LAST_USED_EVERY, tick=False):
        get_with(key)
    assert ApiToken.objects.get().last_used_at == start + LAST_USED_EVERY


def test_a_plain_text_token_is_carried_over_hashed_and_keeps_working(agent, broker, settings):
    settings.LEADCRM_API_TOKEN_DAYS = 30
    old = Token.objects.create(user=agent)
    Token.objects.create(user=broker)
    carry_over(apps, connection.schema_editor())
    assert not Token.objects.exists()  # no key left in plain text
    carried = ApiToken.objects.get(user=agent)
    assert carried.digest != old.key and carried.created_at == old.created
    assert carried.expires_at - timezone.now() > timedelta(days=29)
    assert get_with(old.key).status_code == 200
    assert ApiToken.objects.count() == 2


def test_the_settings_page_shows_made_expires_last_used_and_replaces(agent, client_as):
    client = client_as(agent)
    page = client.post(reverse("pipeline:my_settings"), {"action": "api_token_new"}, follow=True).content.decode()
    key = re.search(r'<code class="feed-url d-block mb-1">(\w+)</code>', page).group(1)
    token = ApiToken.objects.get(user=agent)
    dates = re.search(r'<dl class="row small mt-2 mb-0" id="api-token-dates">(.*?)</dl>', page, re.S).group(1)
    expires = timezone.localtime(token.expires_at)
    assert "Never" in dates and f"{expires:%b} {expires.day}, {expires.year}" in dates
    get_with(key)
    page = client.get(reverse("pipeline:my_settings")).content.decode()
    assert key not in page and "Never" not in page.split('id="api-token-dates"')[1].split("</dl>")[0]
    client.post(reverse("pipeline:my_settings"), {"action": "api_token_new"})
    assert get_with(key).status_code == 401 and ApiToken.objects.filter(user=agent).count() == 1


def test_an_expired_token_says_so_on_the_settings_page(agent, client_as):
    token, _key = api_token_replace(user=agent)
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(days=1))
    page = client_as(agent).get(reverse("pipeline:my_settings")).content.decode()
    assert "Expired" in page and "It no longer works: replace it to make a new one." in page


def test_the_schema_documents_the_token_and_problem_bodies(agent, client_as):
    schema = client_as(agent).get("/api/schema/", {"format": "json"}).json()
    scheme = schema["components"]["securitySchemes"]["tokenAuth"]
    assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "header", "Authorization")
    assert "expires" in scheme["description"]
    post = schema["paths"]["/api/v1/follow-ups/"]["post"]
    assert {"tokenAuth": []} in post["security"]
    for code in ("400", "401", "403", "413", "415", "429"):
        assert list(post["responses"][code]["content"]) == ["application/problem+json"], code
    assert list(schema["paths"]["/api/v1/leads/{id}/stage/"]["post"]["responses"]["409"]["content"]) == [
        "application/problem+json"]
