"""Every error under /api/ is an RFC 9457 problem body in JSON, and what crashed the API
with Django's HTML 500 page (JSON nested 1,000 deep, a follow-up due at 9999-12-31) or its
HTML 400 (a body past DATA_UPLOAD_MAX_MEMORY_SIZE) is now a 400 or a 413 that says why.

On the code before this change: the deep body was a 500 text/html (RecursionError), the
follow-up at 9999-12-31T00:00:00Z a 500 text/html (OverflowError), a 30 MB body a 400
text/html (Django's RequestDataTooBig page)."""

import json
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from leadcrm.shared import api
from leadcrm.urls import server_error
from leads.models import Stage
from pipeline.models import FollowUp

from ...helpers import api_key_for
from ...leads.factories import LienFactory

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"


def api_as(user):
    # A crash is answered as a client sees it, not raised into the test.
    client = APIClient(raise_request_exception=False)
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {api_key_for(user)}")
    return client


def post_json(client, path, text):
    return client.generic("POST", path, text, content_type="application/json")


def assert_problem(response, status, code=None):
    assert (response.status_code, response["Content-Type"]) == (status, PROBLEM), response.content[:300]
    body = response.json()
    assert body["type"] == "about:blank" and body["status"] == status and body["title"] and body["detail"]
    assert body["code"] in api.PROBLEM_CODE_VALUES and body["code"] == (code or body["code"]), body
    return body


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


# Deep nesting ---------------------------------------------------------------------------


def test_json_nested_1000_deep_is_a_400_not_a_500(lead, agent):
    body = assert_problem(post_json(api_as(agent), "/api/follow-ups/", nested(1000)), 400, "parse_error")
    assert body["detail"] == api.TOO_DEEP


def test_the_depth_limit_is_32_and_brackets_in_strings_are_text(lead, agent):
    client = api_as(agent)
    assert_problem(post_json(client, "/api/follow-ups/", json.dumps({"notes": json.loads(nested(32))})), 400)
    # 32 deep is read (and refused for what it says, not for its depth); 33 is not read.
    read = post_json(client, "/api/follow-ups/", json.dumps({"lead": lead.pk, "x": json.loads(nested(31))}))
    assert api.TOO_DEEP not in read.content.decode()
    assert post_json(client, "/api/follow-ups/", nested(33)).json()["detail"] == api.TOO_DEEP
    # A title full of brackets is a title: 201.
    due = (timezone.now() + timedelta(days=2)).isoformat()
    created = client.post("/api/follow-ups/", {"lead": lead.pk, "title": "[{" * 40 + "\\\"", "due_at": due},
                          format="json")
    assert created.status_code == 201, created.json()


def test_json_depth_is_measured_without_recursion():
    assert api.json_depth(nested(100_000)) == 100_000
    assert api.json_depth('{"a": "[[[[[[", "b": [1, {"c": "]]\\"["}]}') <= api.MAX_JSON_DEPTH
    assert api.json_depth('[' * 40 + '"' + "]" * 40) == 40  # an unterminated string: counted, then refused


# Huge bodies ----------------------------------------------------------------------------


def test_a_body_past_the_apis_limit_is_a_413(lead, agent, settings):
    settings.LEADCRM_API_MAX_BODY_BYTES = 2000
    client = api_as(agent)
    body = assert_problem(post_json(client, "/api/follow-ups/", json.dumps({"notes": "x" * 3000})), 413,
                          "body_too_large")
    assert "2,000 bytes" in body["detail"]
    # Within the limit: read as before.
    assert post_json(client, "/api/follow-ups/", json.dumps({"notes": "x" * 100})).status_code == 400


def test_a_body_past_djangos_own_limit_is_a_413_too(lead, agent, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 5000
    response = post_json(api_as(agent), "/api/follow-ups/", json.dumps({"notes": "x" * 6000}))
    assert_problem(response, 413)


def test_too_many_multipart_fields_is_a_400(broker, settings):
    # The list import's upload is the one multipart body the API reads.
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 10
    response = api_as(broker).post(reverse("api:import-list"), {f"f{n}": "1" for n in range(20)},
                                   format="multipart")
    assert assert_problem(response, 400, "parse_error")["detail"] == api.TOO_MANY_FIELDS


# JSON only --------------------------------------------------------------------------------


def test_a_form_or_multipart_body_is_a_415_problem_and_nothing_is_written(lead, agent, broker):
    # Before, every write read JSON, forms and multipart alike (and the schema said so of
    # each, which generated clients could not import).
    client = api_as(agent)
    due = (timezone.now() + timedelta(days=2)).isoformat()
    fields = {"lead": lead.pk, "title": "Call back", "due_at": due}
    for kind in ("multipart", None):
        response = (client.post(reverse("api:follow-up-list"), fields, format=kind) if kind else
                    client.post(reverse("api:follow-up-list"), urlencode(fields),
                                content_type="application/x-www-form-urlencoded"))
        assert_problem(response, 415, "unsupported_media_type")
    assert not FollowUp.objects.exists()
    # The upload takes multipart alone: JSON there is the 415.
    upload = api_as(broker).post(reverse("api:import-list"), {"source": "csv"}, format="json")
    assert_problem(upload, 415, "unsupported_media_type")


# Out-of-range dates ---------------------------------------------------------------------


def test_a_follow_up_due_at_9999_12_31_is_a_400(lead, agent):
    client = api_as(agent)
    for due_at in ("9999-12-31T00:00:00Z", "9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+05:00",
                   "1899-12-31T12:00:00Z"):
        response = post_json(client, "/api/follow-ups/",
                             json.dumps({"lead": lead.pk, "title": "Call back", "due_at": due_at}))
        body = assert_problem(response, 400)
        assert body["due_at"] == body["errors"]["due_at"], due_at


def test_a_follow_up_is_due_within_five_years(lead, agent):
    client = api_as(agent)
    far = (timezone.now() + timedelta(days=6 * 365)).isoformat()
    response = client.post("/api/follow-ups/", {"lead": lead.pk, "title": "Call", "due_at": far}, format="json")
    assert assert_problem(response, 400)["due_at"] == ["Give a time within 5 years of today."]
    near = (timezone.now() + timedelta(days=4 * 365)).isoformat()
    assert client.post("/api/follow-ups/", {"lead": lead.pk, "title": "Call", "due_at": near},
                       format="json").status_code == 201


def test_dates_of_a_stage_move_a_lien_and_outreach_are_1900_to_2100(lead, agent):
    client = api_as(agent)
    move = client.post(f"/api/leads/{lead.pk}/stage/", {"to_stage": Stage.CLOSED, "closing_date": "9999-12-31"},
                       format="json")
    assert assert_problem(move, 400)["closing_date"] == [api.DATE_OUT_OF_RANGE]
    lien = LienFactory(lead=lead, position=1)
    edit = client.patch(f"/api/leads/{lead.pk}/liens/{lien.pk}/", {"recording_date": "1776-07-04",
                                                                   "version": lien.version}, format="json")
    assert assert_problem(edit, 400)["recording_date"] == [api.DATE_OUT_OF_RANGE]
    phone = lead.contacts.get().phones.get()
    outreach = client.post("/api/outreach/", {"lead": lead.pk, "channel": "call", "phone": phone.pk,
                                              "outcome": "talked", "role_disclosed": True,
                                              "follow_up_at": "9999-12-31T00:00:00Z"}, format="json")
    assert "follow_up_at" in assert_problem(outreach, 400)


# Every error a problem ------------------------------------------------------------------


def test_field_errors_stay_where_clients_read_them_and_under_errors(lead, agent):
    body = assert_problem(api_as(agent).post("/api/follow-ups/", {"lead": lead.pk}, format="json"), 400,
                          "validation_error")
    # "title" is a problem member: that field's messages are under "errors" only.
    assert body["errors"]["title"] == ["This field is required."] and body["title"] == "Bad Request"
    assert body["due_at"] == body["errors"]["due_at"] == ["This field is required."]
    assert body["detail"] == api.FIX_FIELDS.format(fields="title, due_at")


def test_401_403_404_409_and_429_are_problems(lead, other_lead, agent, settings):
    from django.core.cache import cache
    from rest_framework.settings import api_settings
    from rest_framework.throttling import UserRateThrottle

    anonymous = api_as(None).get("/api/leads/")
    assert assert_problem(anonymous, 401, "not_authenticated") and anonymous["WWW-Authenticate"] == "Token"
    bad_token = APIClient(raise_request_exception=False)
    bad_token.credentials(HTTP_AUTHORIZATION="Token not-a-key")
    assert_problem(bad_token.get("/api/leads/"), 401, "not_authenticated")
    client = api_as(agent)
    assert assert_problem(client.get(f"/api/leads/{other_lead.pk}/"), 404, "not_found")["detail"]
    assert assert_problem(client.get("/api/nothing-here/"), 404, "not_found")["detail"] == "Not found."
    assert_problem(client.delete(f"/api/leads/{lead.pk}/"), 405, "method_not_allowed")
    refused = client.post(f"/api/leads/{lead.pk}/stage/", {"to_stage": Stage.CLOSED}, format="json")
    assert assert_problem(refused, 409, "stage_move_refused")["reasons"]
    session = APIClient(enforce_csrf_checks=True, raise_request_exception=False)
    session.force_login(agent)
    no_csrf = session.post(f"/api/leads/{lead.pk}/stage/", {"to_stage": Stage.CONTACT}, format="json")
    assert_problem(no_csrf, 403, "permission_denied")
    cache.clear()
    UserRateThrottle.THROTTLE_RATES = {**api_settings.DEFAULT_THROTTLE_RATES, "user": "1/minute"}
    try:
        client.get("/api/leads/")
        throttled = client.get("/api/leads/")
    finally:
        UserRateThrottle.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES
    assert assert_problem(throttled, 429, "throttled") and throttled["Retry-After"]


def test_a_crash_under_api_is_a_json_500_and_elsewhere_the_page(lead, agent, monkeypatch):
    follow_up = api_as(agent).post("/api/follow-ups/", {"lead": lead.pk, "title": "Call", "due_at": (
        timezone.now() + timedelta(days=1)).isoformat()}, format="json").json()

    def broken(**kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr("pipeline.api.views.follow_up_complete", broken)
    response = api_as(agent).post(f"/api/follow-ups/{follow_up['id']}/done/")
    assert assert_problem(response, 500, "server_error")["detail"] == api.SERVER_ERROR
    page = server_error(RequestFactory().get("/leads/"))
    assert page.status_code == 500 and "text/html" in page["Content-Type"]


def test_an_overflow_met_reading_the_request_is_a_400(lead, agent, monkeypatch):
    follow_up = api_as(agent).post("/api/follow-ups/", {"lead": lead.pk, "title": "Call", "due_at": (
        timezone.now() + timedelta(days=1)).isoformat()}, format="json").json()

    def overflowing(**kwargs):
        raise OverflowError("date value out of range")

    monkeypatch.setattr("pipeline.api.views.follow_up_complete", overflowing)
    response = api_as(agent).post(f"/api/follow-ups/{follow_up['id']}/done/")
    assert assert_problem(response, 400)["detail"] == api.TOO_BIG_A_VALUE
