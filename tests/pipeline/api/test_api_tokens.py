"""API tokens: kept as digests, expiring, their last use recorded; the plain-text keys of
DRF's authtoken carried over hashed by the migration; many per user, named, scoped and
revoked from the API (``/api/tokens/``) and the settings page, the key shown once.
Scopes themselves and integration keys: test_token_scopes.py."""

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


def _new_key(page: str, element_id: str = "new-api-token") -> str:
    return re.search(rf'<code class="feed-url d-block mb-1" id="{element_id}">(\w+)</code>', page).group(1)


def _token_form(name="Zapier sync", scopes=("read",), expires="90", **extra):
    return {"action": "api_token_new", "token-name": name, "token-scopes": list(scopes), "token-expires": expires,
            **extra}


def test_the_settings_page_makes_named_scoped_tokens_and_shows_their_dates(agent, client_as):
    client = client_as(agent)
    page = client.post(reverse("pipeline:my_settings"), _token_form(scopes=["read", "write"]),
                       follow=True).content.decode()
    key = _new_key(page)
    token = ApiToken.objects.get(user=agent)
    assert (token.name, token.scopes, token.expires_at - token.created_at) == (
        "Zapier sync", ["read", "write"], timedelta(days=90))
    listed = page.split('id="api-token-list"')[1].split("</ul>")[0]
    expires = timezone.localtime(token.expires_at)
    assert "Zapier sync" in listed and "Never" in listed and f"{expires:%b} {expires.day}, {expires.year}" in listed
    assert get_with(key).status_code == 200
    page = client.get(reverse("pipeline:my_settings")).content.decode()
    assert key not in page and "Never" not in page.split('id="api-token-list"')[1].split("</ul>")[0]
    # a second token leaves the first working; revoking the first leaves the second
    second = _new_key(client.post(reverse("pipeline:my_settings"), _token_form(name="My script"),
                                  follow=True).content.decode())
    assert get_with(key).status_code == 200 and get_with(second).status_code == 200
    client.post(reverse("pipeline:my_settings"), {"action": "api_token_revoke", "token_id": token.pk})
    assert get_with(key).status_code == 401 and get_with(second).status_code == 200
    page = client.get(reverse("pipeline:my_settings")).content.decode()
    assert "Zapier sync" not in page.split('id="api-token-list"')[1].split("</ul>")[0]


def test_the_settings_page_refuses_a_token_without_a_name_or_scope_or_past_the_longest(agent, client_as, settings):
    settings.LEADCRM_API_TOKEN_MAX_DAYS = 365
    client = client_as(agent)
    for form, says in ((_token_form(name=""), "This field is required."),
                       (_token_form(scopes=()), "This field is required."),
                       (_token_form(expires="date"), "Give the date it stops working."),
                       (_token_form(expires="date", **{"token-expires_on": "2099-01-01"}), "at most 365 days")):
        response = client.post(reverse("pipeline:my_settings"), form)
        assert response.status_code == 400 and says in response.content.decode(), form
    assert not ApiToken.objects.exists()


def test_one_cannot_revoke_another_users_token_from_the_settings_page(agent, other_agent, client_as):
    token, key = api_token_replace(user=other_agent)
    client_as(agent).post(reverse("pipeline:my_settings"), {"action": "api_token_revoke", "token_id": token.pk})
    assert get_with(key).status_code == 200


def test_an_expired_token_says_so_on_the_settings_page(agent, client_as):
    token, _key = api_token_replace(user=agent)
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(days=1))
    page = client_as(agent).get(reverse("pipeline:my_settings")).content.decode()
    assert "Expired" in page and "It no longer works: make a new one." in page


def test_the_menu_names_the_settings_page_for_its_api_tokens(agent, client_as):
    page = client_as(agent).get(reverse("pipeline:dashboard")).content.decode()
    assert "Settings and API tokens" in page and "Hours, reminders, calendar" not in page


# The API's own tokens ------------------------------------------------------------------------


def api_as(key):
    return APIClient(HTTP_AUTHORIZATION=f"Token {key}")


def test_a_token_made_through_the_api_shows_its_key_once(agent):
    _token, key = api_token_replace(user=agent)
    made = api_as(key).post(reverse("api:token-list"), {"name": "Zapier sync", "scopes": ["read"],
                                                        "expires_in_days": 30}, format="json")
    assert made.status_code == 201
    body = made.json()
    assert body["name"] == "Zapier sync" and body["scopes"] == ["read"] and len(body["key"]) == 64
    new = ApiToken.objects.get(pk=body["id"])
    assert new.expires_at - new.created_at == timedelta(days=30) and new.created_by == agent
    assert api_as(body["key"]).get("/api/leads/").status_code == 200
    listed = api_as(key).get(reverse("api:token-list")).json()["results"]
    assert {row["name"] for row in listed} == {"API token", "Zapier sync"}
    assert all("key" not in row and body["key"] not in str(row) for row in listed)
    assert api_as(key).get(reverse("api:token-detail", args=[new.pk])).json()["key_prefix"] == body["key"][:10]


def test_revoking_a_token_through_the_api_makes_its_key_a_401_that_says_revoked(agent):
    _token, key = api_token_replace(user=agent)
    made = api_as(key).post(reverse("api:token-list"), {"name": "Old zap", "scopes": ["read"]}, format="json").json()
    response = api_as(key).delete(reverse("api:token-detail", args=[made["id"]]))
    assert response.status_code == 204
    refused = api_as(made["key"]).get("/api/leads/")
    assert refused.status_code == 401 and "revoked" in refused.json()["detail"]
    assert api_as(key).get("/api/leads/").status_code == 200  # the others keep working
    row = api_as(key).get(reverse("api:token-detail", args=[made["id"]])).json()
    assert row["revoked"] is True and row["revoked_at"] is not None
    assert api_as(key).delete(reverse("api:token-detail", args=[made["id"]])).status_code == 204  # again: no change


def test_a_token_is_renamed_and_another_users_is_a_404(agent, other_agent):
    token, key = api_token_replace(user=agent)
    other, _other_key = api_token_replace(user=other_agent)
    renamed = api_as(key).patch(reverse("api:token-detail", args=[token.pk]), {"name": "Warehouse"}, format="json")
    assert renamed.status_code == 200 and renamed.json()["name"] == "Warehouse"
    for method in ("get", "patch", "delete"):
        response = getattr(api_as(key), method)(reverse("api:token-detail", args=[other.pk]), {"name": "x"},
                                                format="json")
        assert response.status_code == 404, method
    assert ApiToken.objects.get(pk=other.pk).works


def test_a_token_expiry_is_checked_against_the_longest(agent, settings):
    settings.LEADCRM_API_TOKEN_MAX_DAYS = 365
    _token, key = api_token_replace(user=agent)
    tokens = reverse("api:token-list")
    for body, field in (({"expires_in_days": 366}, "expires_in_days"),
                        ({"expires_at": (timezone.now() + timedelta(days=400)).isoformat()}, "expires_at"),
                        ({"expires_at": (timezone.now() - timedelta(days=1)).isoformat()}, "expires_at"),
                        ({"expires_in_days": 30, "expires_at": (timezone.now() + timedelta(days=3)).isoformat()},
                         "expires_at"),
                        ({"scopes": []}, "scopes"), ({"scopes": ["admin"]}, "scopes"), ({"name": ""}, "name")):
        response = api_as(key).post(tokens, {"name": "Zap", "scopes": ["read"], **body}, format="json")
        assert response.status_code == 400 and field in response.json()["errors"], body
    assert ApiToken.objects.count() == 1


def test_tokens_made_before_keep_working_with_every_scope(agent):
    """What the migration gives the rows it finds: the field defaults (a name, every scope)."""
    _token, key = api_token_replace(user=agent)
    ApiToken.objects.update(name="API token", scopes=["read", "write", "outreach"])
    made = ApiToken(user=agent, prefix="0123456789", digest="0" * 64, expires_at=timezone.now() + timedelta(days=1))
    assert (made.name, made.scopes) == ("API token", ["read", "write", "outreach"])
    assert api_as(key).post(reverse("api:follow-up-list"), {}, format="json").status_code == 400  # past the scopes


def test_the_schema_documents_the_token_and_problem_bodies(agent, client_as):
    schema = client_as(agent).get("/api/schema/", {"format": "json"}).json()
    scheme = schema["components"]["securitySchemes"]["tokenAuth"]
    assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "header", "Authorization")
    assert "expires" in scheme["description"] and "insufficient_scope" in scheme["description"]
    post = schema["paths"]["/api/v1/follow-ups"]["post"]
    assert {"tokenAuth": []} in post["security"]
    for code in ("400", "401", "403", "413", "415", "429"):
        assert list(post["responses"][code]["content"]) == ["application/problem+json"], code
    assert list(schema["paths"]["/api/v1/leads/{id}/stage"]["post"]["responses"]["409"]["content"]) == [
        "application/problem+json"]
