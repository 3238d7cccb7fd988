"""The REST API (issue 9): token auth, the pages' scope, the gate's 201/409, clear 400s."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework.test import APIClient

from compliance.models import ComplianceCheck
from compliance.services import internal_dnc_add
from leadcrm.accounts.tokens import ApiToken
from leads.models import ImportJob, Stage
from pipeline.deals.services import DEAD_NEEDS_REASON, MOVE_NOT_ALLOWED
from pipeline.deals.stages import REACHED
from pipeline.models import FollowUp, OutreachAttempt

from ...helpers import api_as
from ...leads.factories import LeadFactory, LienFactory

pytestmark = pytest.mark.django_db



def call(lead, **overrides):
    data = {"lead": lead.pk, "channel": "call", "phone": lead.contacts.first().phones.first().pk,
            "outcome": "talked", "purpose": "short_sale_listing", "role_disclosed": True,
            "notes": "Explained the process."}
    data.update(overrides)
    return data


def test_without_a_token_nothing_but_a_401():
    response = api_as(None).get("/api/leads/")
    assert response.status_code == 401 and response["WWW-Authenticate"] == "Token"


def test_an_agent_lists_only_their_leads_and_anothers_is_a_404(lead, other_lead, agent):
    client = api_as(agent)
    ids = [row["id"] for row in client.get("/api/leads/").json()["results"]]
    assert ids == [lead.pk]
    assert client.get(f"/api/leads/{other_lead.pk}/").status_code == 404


def test_a_team_lead_sees_the_teams_leads_and_a_broker_all(lead, other_lead, team_lead, broker):
    assert [r["id"] for r in api_as(team_lead).get("/api/leads/").json()["results"]] == [lead.pk]
    assert {r["id"] for r in api_as(broker).get("/api/leads/").json()["results"]} == {lead.pk, other_lead.pk}


def test_a_leads_detail_shows_owners_phones_and_only_masked_loan_numbers(lead, agent):
    LienFactory(lead=lead, position=1, loan_number_masked="****5678")
    body = api_as(agent).get(f"/api/leads/{lead.pk}/").json()
    assert body["contacts"][0]["phones"][0]["number"] == "+19185550104"
    assert body["liens"][0]["loan_number_masked"] == "****5678" and "loan_number" not in body["liens"][0]


def test_pages_are_cursors_not_counts(agent, team):
    for _ in range(3):
        LeadFactory(assigned_agent=agent, team=team)
    body = api_as(agent).get("/api/leads/", {"page_size": 2}).json()
    assert len(body["results"]) == 2 and "cursor=" in body["next"] and "count" not in body


def test_a_compliant_call_is_logged_201(lead, agent):
    response = api_as(agent).post("/api/outreach/", call(lead), format="json")
    assert response.status_code == 201, response.json()
    assert OutreachAttempt.objects.get().pk == response.json()["id"]


def test_a_call_to_a_do_not_call_number_is_409_with_the_rule_ids_and_nothing_logged(lead, agent):
    internal_dnc_add(phone_number="+19185550104", channel="call", homeowner_words="Stop calling me.",
                     recorded_by=agent, lead=lead)
    response = api_as(agent).post("/api/outreach/", call(lead), format="json")
    assert response.status_code == 409
    body = response.json()
    assert "B1" in body["rule_ids"] or any(f["severity"] == "block" for f in body["findings"])
    assert body["verdict"] == "block" and body["findings"][0]["reason"]
    assert OutreachAttempt.objects.count() == 0 and ComplianceCheck.objects.count() == 1


def test_bad_input_is_a_400_naming_the_fields(lead, other_lead, agent):
    client = api_as(agent)
    response = client.post("/api/outreach/", {"lead": lead.pk, "channel": "carrier-pigeon"}, format="json")
    assert response.status_code == 400
    assert {"channel", "outcome", "role_disclosed"} <= set(response.json())
    no_phone = {name: value for name, value in call(lead).items() if name != "phone"}
    response = client.post("/api/outreach/", no_phone, format="json")
    assert response.status_code == 400 and "Say which phone" in response.json()["phone"][0]


def test_a_lead_or_phone_in_a_body_the_caller_may_not_see_is_the_paths_404(lead, other_lead, agent):
    client = api_as(agent)
    path_404 = client.get(f"/api/leads/{other_lead.pk}/").json()
    assert path_404["code"] == "not_found"
    for path in ("/api/outreach/", "/api/compliance/check/"):
        response = client.post(path, call(other_lead), format="json")
        assert (response.status_code, response.json()) == (404, path_404), path
    foreign_phone = other_lead.contacts.first().phones.first().pk
    response = client.post("/api/outreach/", call(lead, phone=foreign_phone), format="json")
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert OutreachAttempt.objects.count() == 0


def test_the_compliance_check_logs_nothing(lead, agent):
    response = api_as(agent).post("/api/compliance/check/", call(lead), format="json")
    assert response.status_code == 200 and response.json()["verdict"] in ("allow", "warn")
    assert ComplianceCheck.objects.count() == 0 and OutreachAttempt.objects.count() == 0


def test_a_refused_stage_move_is_409_with_the_reasons(lead, agent):
    client = api_as(agent)
    response = client.post(f"/api/leads/{lead.pk}/stage/", {"to_stage": Stage.CLOSED}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "stage_move_refused"
    assert response.json()["reasons"] == [{"code": "move_not_allowed", "message": MOVE_NOT_ALLOWED.format(
        source=Stage.LIST.label, target=Stage.CLOSED.label)}]
    response = client.post(f"/api/leads/{lead.pk}/stage/", {"to_stage": Stage.CONTACT}, format="json")
    assert response.status_code == 409 and response.json()["reasons"] == [
        {"code": "homeowner_not_reached", "message": REACHED.unmet_message}]
    response = client.post(f"/api/leads/{lead.pk}/stage/", {"to_stage": "nowhere"}, format="json")
    assert response.status_code == 400 and "to_stage" in response.json()
    response = client.post(f"/api/leads/{lead.pk}/stage/", {"to_stage": Stage.DEAD}, format="json")
    assert response.status_code == 409 and response.json()["reasons"] == [
        {"code": "dead_reason_missing", "message": DEAD_NEEDS_REASON}]
    response = client.post(f"/api/leads/{lead.pk}/stage/", {"to_stage": Stage.DEAD, "dead_reason": "not_interested"},
                           format="json")
    assert response.status_code == 200 and response.json()["stage"] == "dead"
    assert client.get(f"/api/leads/{lead.pk}/stage-changes/").json()[0]["to_stage"] == "dead"


def test_follow_ups_created_at_the_first_lawful_moment_and_marked_done(lead, agent):
    client = api_as(agent)
    response = client.post("/api/follow-ups/", {"lead": lead.pk, "title": "Call back", "kind": "call",
                                                "due_at": "2026-11-24T06:00:00-06:00"}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["due_at"].startswith("2026-11-24T14:00:00") and body["requested_at"]  # 8:00 Central, in UTC
    done = client.post(f"/api/follow-ups/{body['id']}/done/")
    assert done.status_code == 200 and done.json()["done_at"]
    assert client.post("/api/follow-ups/", {"lead": lead.pk, "title": "x", "due_at": "tomorrow"},
                       format="json").status_code == 400


def test_a_follow_up_on_someone_elses_lead_is_the_paths_404(other_lead, agent):
    client = api_as(agent)
    response = client.post("/api/follow-ups/", {"lead": other_lead.pk, "title": "Sneak", "due_at":
                                                "2026-11-24T10:00:00-06:00"}, format="json")
    assert (response.status_code, response.json()) == (404, client.get(f"/api/leads/{other_lead.pk}/").json())
    assert FollowUp.objects.count() == 0
    unknown = client.post("/api/follow-ups/", {"lead": 10**9, "title": "x", "due_at": "2026-11-24T10:00:00Z"},
                          format="json")
    assert unknown.json() == response.json()  # nothing tells an id that exists from one that does not


def test_an_import_is_uploaded_and_its_status_read_by_its_importer_only(agent, other_agent):
    csv = b"Address,City,State,Zip,Owner 1 First Name,Owner 1 Last Name\n12 Elm St,Tulsa,OK,74130,Ana,Diaz\n"
    response = api_as(agent).post("/api/imports/", {"file": SimpleUploadedFile("list.csv", csv)}, format="multipart")
    assert response.status_code == 201, response.json()
    job_id = response.json()["id"]
    assert api_as(agent).get(f"/api/imports/{job_id}/").json()["rows_total"] is None  # the worker counts
    assert api_as(other_agent).get(f"/api/imports/{job_id}/").status_code == 404
    not_a_table = api_as(agent).post("/api/imports/", {"file": SimpleUploadedFile("x.pdf", b"%PDF-1.4 \x00\x01")},
                                     format="multipart")
    assert not_a_table.status_code == 400 and ImportJob.objects.count() == 1


def test_the_schema_and_its_docs_are_served_without_a_cdn(client):
    schema = client.get(reverse("api-schema"))
    assert schema.status_code == 200 and b"/api/v1/outreach" in schema.content
    docs = client.get(reverse("api-docs")).content.decode()
    assert "swagger-ui" in docs and "cdn" not in docs.lower() and "unpkg" not in docs


def test_throttled_past_the_rate(lead, agent, settings):
    from django.core.cache import cache
    from rest_framework.settings import api_settings
    from rest_framework.throttling import UserRateThrottle

    cache.clear()
    UserRateThrottle.THROTTLE_RATES = {**api_settings.DEFAULT_THROTTLE_RATES, "user": "3/minute"}
    try:
        client = api_as(agent)
        codes = [client.get("/api/leads/").status_code for _ in range(4)]
    finally:
        UserRateThrottle.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES
    assert codes == [200, 200, 200, 429]


def test_a_user_makes_and_revokes_their_token_on_the_settings_page(agent, client_as):
    import re

    client = client_as(agent)
    form = {"action": "api_token_new", "token-name": "My script", "token-scopes": ["read"], "token-expires": "30"}
    page = client.post(reverse("pipeline:my_settings"), form, follow=True).content.decode()
    first = re.search(r'<code class="feed-url d-block mb-1" id="new-api-token">(\w+)</code>', page).group(1)
    assert APIClient(HTTP_AUTHORIZATION=f"Token {first}").get("/api/leads/").status_code == 200
    token = ApiToken.objects.get(user=agent)
    client.post(reverse("pipeline:my_settings"), {"action": "api_token_revoke", "token_id": token.pk})
    assert APIClient(HTTP_AUTHORIZATION=f"Token {first}").get("/api/leads/").status_code == 401
    assert not ApiToken.objects.get(user=agent).works


def test_an_unknown_api_address_answers_in_json(agent, client_as):
    response = client_as(agent).get("/api/no-such-thing/")
    assert response.status_code == 404 and response["Content-Type"] == "application/problem+json"
    assert response.json() == {"type": "about:blank", "title": "Not Found", "status": 404, "detail": "Not found.",
                               "code": "not_found"}
    assert "text/html" in client_as(agent).get("/no-such-page/")["Content-Type"]
