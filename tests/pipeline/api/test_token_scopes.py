"""A token's scopes on every request (GET needs read, other methods write, logging outreach
outreach too), what a token may give a token it makes, and the brokerage's integration keys:
a broker's, acting as a service user that sees every lead and outlives its maker."""

from datetime import timedelta

import pytest
from django.contrib.auth import authenticate
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from leadcrm.accounts.models import User
from leadcrm.accounts.selectors import users_assignable_by
from leadcrm.accounts.tokens import ApiToken
from leads.models import Lead
from pipeline.api.permissions import InsufficientScope
from pipeline.api.services import (
    INTEGRATION_LOGS_NO_OUTREACH,
    OUTREACH_NEEDS_WRITE,
    api_token_create,
    integration_key_create,
)
from pipeline.models import FollowUp, StageChange

from ...helpers import api_key_for
from ...leads.factories import LeadFactory

pytestmark = pytest.mark.django_db


def api_as(key):
    return APIClient(HTTP_AUTHORIZATION=f"Token {key}")


def key_with(user, *scopes):
    return api_token_create(user=user, name="Scoped", scopes=list(scopes))[1]


def follow_up_body(lead):
    return {"lead": lead.pk, "title": "Call back", "due_at": (timezone.now() + timedelta(days=1)).isoformat()}


def outreach_body(lead):
    return {"lead": lead.pk, "channel": "call", "phone": lead.contacts.first().phones.first().pk,
            "outcome": "no_answer", "role_disclosed": True}


def assert_insufficient(response, scope):
    assert (response.status_code, response["Content-Type"]) == (403, "application/problem+json")
    assert f"`{scope}` scope" in response.json()["detail"] and response.json()["code"] == "insufficient_scope"


def test_a_read_token_reads_and_writes_nothing(agent, lead):
    key = key_with(agent, "read")
    assert api_as(key).get(reverse("api:lead-list")).status_code == 200
    assert api_as(key).get(reverse("api:lead-detail", args=[lead.pk])).status_code == 200
    assert_insufficient(api_as(key).post(reverse("api:follow-up-list"), follow_up_body(lead), format="json"), "write")
    assert_insufficient(api_as(key).post(reverse("api:lead-move", args=[lead.pk]), {"to_stage": "dead"},
                                         format="json"), "write")
    assert not lead.follow_ups.exists()


def test_a_write_token_without_read_cannot_read(agent, lead):
    key = key_with(agent, "write")
    assert_insufficient(api_as(key).get(reverse("api:lead-list")), "read")
    assert api_as(key).post(reverse("api:follow-up-list"), follow_up_body(lead), format="json").status_code == 201


def test_logging_outreach_needs_the_outreach_scope_and_the_gate_check_only_read(agent, lead):
    writer = key_with(agent, "read", "write")
    assert_insufficient(api_as(writer).post(reverse("api:outreach-list"), outreach_body(lead), format="json"),
                        "outreach")
    assert not lead.outreach_attempts.exists()
    logged = api_as(key_with(agent, "write", "outreach")).post(reverse("api:outreach-list"), outreach_body(lead),
                                                               format="json")
    assert logged.status_code in (201, 409)  # the gate's answer: past the scopes
    reader = key_with(agent, "read")
    check = {key: value for key, value in outreach_body(lead).items() if key in ("lead", "channel", "phone")}
    assert api_as(reader).post("/api/compliance/check/", check, format="json").status_code == 200


def test_the_missing_scope_is_an_insufficient_scope_refusal():
    assert InsufficientScope().get_codes() == "insufficient_scope"


def test_a_session_caller_has_every_scope_their_role_allows(agent, lead, client_as):
    client = client_as(agent)
    made = client.post(reverse("api:follow-up-list"), follow_up_body(lead), content_type="application/json")
    assert made.status_code == 201


def test_api_key_for_gives_every_scope(agent, lead):
    key = api_key_for(agent)
    assert ApiToken.objects.get(user=agent).scopes == ["read", "write", "outreach"]
    assert api_as(key).post(reverse("api:follow-up-list"), follow_up_body(lead), format="json").status_code == 201


def test_a_token_makes_tokens_only_with_scopes_it_has(agent):
    key = key_with(agent, "read", "write")
    tokens = reverse("api:token-list")
    refused = api_as(key).post(tokens, {"name": "Dialer", "scopes": ["write", "outreach"]}, format="json")
    assert_insufficient(refused, "outreach")
    assert api_as(key).post(tokens, {"name": "Sync", "scopes": ["read"]}, format="json").status_code == 201
    assert_insufficient(api_as(key_with(agent, "read")).post(tokens, {"name": "x", "scopes": ["read"]},
                                                             format="json"), "write")
    assert ApiToken.objects.filter(user=agent).count() == 3


# Integration keys -------------------------------------------------------------------------------


def test_a_broker_makes_an_integration_key_that_sees_every_lead_as_its_own_user(broker, lead, other_lead):
    made = api_as(api_key_for(broker)).post(reverse("api:integration-key-list"),
                                            {"name": "Zapier sync", "scopes": ["read", "write"]}, format="json")
    assert made.status_code == 201
    body = made.json()
    token = ApiToken.objects.select_related("user").get(pk=body["id"])
    service = token.user
    assert service.is_integration and not service.is_staff and not service.has_usable_password()
    assert str(service) == "Zapier sync (integration)" and token.created_by == broker
    key = body["key"]
    listed = {row["id"] for row in api_as(key).get(reverse("api:lead-list")).json()["results"]}
    assert {lead.pk, other_lead.pk} <= listed
    moved = api_as(key).post(reverse("api:lead-move", args=[lead.pk]),
                             {"to_stage": "dead", "dead_reason": "not_interested"}, format="json")
    assert moved.status_code == 200
    assert StageChange.objects.filter(lead=lead).latest("pk").changed_by == service  # history names it
    # not a broker: none of the brokerage's own settings
    assert not service.has_perm("accounts.manage_integration_keys") and service.role.value == "team_lead"


def test_an_integration_key_keeps_working_when_its_broker_leaves(broker, lead):
    token, key = integration_key_create(created_by=broker, name="Warehouse", scopes=["read"])
    broker.is_active = False
    broker.save(update_fields=["is_active"])
    assert api_as(key).get(reverse("api:lead-detail", args=[lead.pk])).status_code == 200


def test_revoking_an_integration_key_closes_its_user(broker, lead):
    token, key = integration_key_create(created_by=broker, name="Dialer", scopes=["read"])
    response = api_as(api_key_for(broker)).delete(reverse("api:integration-key-detail", args=[token.pk]))
    assert response.status_code == 204
    refused = api_as(key).get(reverse("api:lead-list"))
    assert refused.status_code == 401 and "revoked" in refused.json()["detail"]
    token.user.refresh_from_db()
    assert not token.user.is_active


def test_only_a_broker_manages_integration_keys(agent, team_lead, broker):
    token, _key = integration_key_create(created_by=broker, name="Zap", scopes=["read"])
    for user in (agent, team_lead):
        client = api_as(api_key_for(user))
        assert client.get(reverse("api:integration-key-list")).status_code == 403
        assert client.post(reverse("api:integration-key-list"), {"name": "x", "scopes": ["read"]},
                           format="json").status_code == 403
        assert client.delete(reverse("api:integration-key-detail", args=[token.pk])).status_code == 403
    listed = api_as(api_key_for(broker)).get(reverse("api:integration-key-list")).json()["results"]
    assert [row["name"] for row in listed] == ["Zap"] and "key" not in listed[0]
    # the broker's own tokens are not integration keys, nor the other way round
    assert token.pk not in {row["id"] for row in
                            api_as(api_key_for(broker)).get(reverse("api:token-list")).json()["results"]}


def test_an_integration_user_cannot_sign_in_nor_make_tokens_nor_be_handed_leads(broker, team_lead):
    token, key = integration_key_create(created_by=broker, name="Zap", scopes=["read", "write"])
    service = token.user
    service.set_password("a long password for the test")
    service.save(update_fields=["password"])
    assert authenticate(username=service.username, password="a long password for the test") is None
    refused = api_as(key).post(reverse("api:token-list"), {"name": "More", "scopes": ["read"]}, format="json")
    assert refused.status_code == 403
    assert service not in users_assignable_by(broker)


def test_a_token_scoped_broker_gives_integration_keys_only_its_scopes(broker):
    refused = api_as(key_with(broker, "read", "write")).post(
        reverse("api:integration-key-list"), {"name": "Dialer", "scopes": ["write", "outreach"]}, format="json")
    assert_insufficient(refused, "outreach")
    assert not ApiToken.objects.filter(user__is_integration=True).exists()


def test_the_broker_makes_and_revokes_integration_keys_on_the_settings_page(broker, agent, client_as):
    import re

    client = client_as(broker)
    form = {"action": "integration_key_new", "integration-name": "Zapier sync", "integration-scopes": ["read"],
            "integration-expires": "30"}
    page = client.post(reverse("pipeline:my_settings"), form, follow=True).content.decode()
    key = re.search(r'id="new-integration-key">(\w+)</code>', page).group(1)
    assert "Zapier sync" in page.split('id="integration-key-list"')[1].split("</ul>")[0]
    token = ApiToken.objects.get(user__is_integration=True)
    assert api_as(key).get(reverse("api:lead-list")).status_code == 200
    client.post(reverse("pipeline:my_settings"), {"action": "integration_key_revoke", "token_id": token.pk})
    assert api_as(key).get(reverse("api:lead-list")).status_code == 401
    # an agent has no such section, and cannot make one by posting the form
    agent_page = client_as(agent).get(reverse("pipeline:my_settings")).content.decode()
    assert 'id="integration-keys"' not in agent_page
    client_as(agent).post(reverse("pipeline:my_settings"), form)
    assert ApiToken.objects.filter(user__is_integration=True).count() == 1


def test_the_key_lists_take_as_many_queries_for_many_keys_as_for_one(broker):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = api_as(api_key_for(broker))
    counts = []
    for made in (1, 6):
        while ApiToken.objects.filter(user__is_integration=True).count() < made:
            integration_key_create(created_by=broker, name="Zap", scopes=["read"])
            api_token_create(user=broker, name="Script", scopes=["read"])
        for name in ("api:token-list", "api:integration-key-list"):
            client.get(reverse(name))  # the permission cache and the token's last use, written once
            with CaptureQueriesContext(connection) as queries:
                assert client.get(reverse(name)).status_code == 200
            counts.append((name, len(queries)))
    assert counts[:2] == counts[2:], counts


def test_logging_outreach_is_given_with_write_and_never_to_an_integration_key(agent, broker):
    # given a token that may do everything
    tokens, keys = reverse("api:token-list"), reverse("api:integration-key-list")

    # when a token that logs outreach without writing, and an integration key that logs it, are asked for
    alone = api_as(key_with(agent, "read", "write", "outreach")).post(
        tokens, {"name": "Dialer", "scopes": ["read", "outreach"]}, format="json")
    integration = api_as(key_with(broker, "read", "write", "outreach")).post(
        keys, {"name": "Dialer", "scopes": ["read", "write", "outreach"]}, format="json")

    # then both are refused, saying why, and neither was made
    assert alone.status_code == 400 and alone.json()["errors"]["scopes"] == [OUTREACH_NEEDS_WRITE]
    assert integration.status_code == 400
    assert integration.json()["errors"]["scopes"] == [INTEGRATION_LOGS_NO_OUTREACH]
    assert not ApiToken.objects.filter(name="Dialer").exists()
    assert not User.objects.filter(is_integration=True).exists()


def test_an_integration_key_names_the_agent_of_a_lead_or_a_follow_up(broker, lead):
    # given a brokerage integration key that reads and writes, and a lead with no agent
    key = integration_key_create(created_by=broker, name="Zapier sync", scopes=["read", "write"])[1]
    pond = LeadFactory(assigned_agent=None, team=None)
    house = {"street": "4410 S Peoria Ave", "city": "Tulsa", "state": "OK", "zip_code": "74105",
             "owner": {"first_name": "Dana", "last_name": "Reyes"}}

    # when it adds a lead without naming its agent, and a follow-up on the agentless lead
    lead_made = api_as(key).post(reverse("api:lead-list"), house, format="json")
    follow_up = api_as(key).post(reverse("api:follow-up-list"), follow_up_body(pond), format="json")

    # then both are refused with the field to give, and nothing belongs to the integration
    assert lead_made.status_code == 400 and "assigned_agent" in lead_made.json()["errors"]
    assert follow_up.status_code == 400 and "lead" in follow_up.json()["errors"]
    service = User.objects.get(is_integration=True)
    assert not Lead.objects.filter(assigned_agent=service).exists()
    assert not FollowUp.objects.filter(assignee=service).exists()
    # naming the agent works
    named = api_as(key).post(reverse("api:lead-list"), {**house, "assigned_agent": lead.assigned_agent_id}, format="json")
    assert named.status_code == 201, named.content


def test_a_token_makes_no_token_that_outlives_it(agent):
    # given a token that stops tomorrow
    short, key = api_token_create(user=agent, name="Leaked", scopes=["read", "write"],
                                  lifetime=timedelta(days=1))

    # when it asks for a year, and then for the default
    year = api_as(key).post(reverse("api:token-list"), {"name": "Forever", "scopes": ["read"],
                                                        "expires_in_days": 365}, format="json")
    default = api_as(key).post(reverse("api:token-list"), {"name": "Plain", "scopes": ["read"]}, format="json")

    # then the year is refused saying why, and the default stops when the maker does
    assert year.status_code == 400 and "cannot outlive" in year.json()["errors"]["expires_at"][0]
    assert default.status_code == 201
    assert ApiToken.objects.get(name="Plain").expires_at == short.expires_at


def test_putting_a_lead_in_an_action_plan_needs_the_outreach_scope(agent, lead):
    from pipeline.plans.seeds import NURTURE, seeded_plan

    plan = seeded_plan(NURTURE)
    url = reverse("api:plan-enroll", args=[plan.pk])
    refused = api_as(key_with(agent, "read", "write")).post(url, {"lead": lead.pk}, format="json")
    assert_insufficient(refused, "outreach")
    assert not lead.plan_enrollments.exists()


def test_an_integration_key_keeps_no_tag_vocabulary_of_the_brokerage(broker, lead):
    from leads.models import Tag

    key = integration_key_create(created_by=broker, name="Zapier sync", scopes=["read", "write"])[1]
    made = api_as(key).patch(reverse("api:lead-detail", args=[lead.pk]), {"tags": ["Brand new tag"]}, format="json")
    assert made.status_code == 400, made.content
    assert not Tag.objects.filter(name="Brand new tag").exists()


def test_a_new_integration_key_lands_on_its_own_card(broker, client_as):
    form = {"action": "integration_key_new", "integration-name": "Warehouse", "integration-scopes": ["read"],
            "integration-expires": "30"}
    made = client_as(broker).post(reverse("pipeline:my_settings"), form)
    assert made.status_code == 302 and made["Location"].endswith("#integration-keys")
