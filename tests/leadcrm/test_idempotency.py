"""Idempotency-Key on the API's POSTs: a retry gets the first answer back and nothing runs
twice; the key with another request is a 422, while the first still runs a 409."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from compliance.models import ComplianceCheck
from compliance.services import internal_dnc_add
from leadcrm.models import IdempotencyKey
from leadcrm.shared.idempotency import KEY_IN_USE, KEY_INVALID, KEY_REUSED, idempotency_keys_purge
from leadcrm.tasks import idempotency_keys_purge as purge_task
from leads.models import ImportJob
from pipeline.models import FollowUp, OutreachAttempt

from ..helpers import api_as, api_key_for

pytestmark = pytest.mark.django_db



def follow_up(lead, **overrides):
    return {"lead": lead.pk, "title": "Call back", "kind": "call", "due_at": "2026-11-24T10:00:00-06:00",
            **overrides}


def call(lead):
    return {"lead": lead.pk, "channel": "call", "phone": lead.contacts.first().phones.first().pk,
            "outcome": "talked", "purpose": "short_sale_listing", "role_disclosed": True, "notes": "Explained."}


def post(client, url, data, key, **extra):
    return client.post(url, data, format="json", HTTP_IDEMPOTENCY_KEY=key, **extra)


def test_the_same_key_twice_creates_one_follow_up_and_replays_the_first_answer(lead, agent):
    client = api_as(agent)
    first = post(client, reverse("api:follow-up-list"), follow_up(lead), "fu-1")
    again = post(client, reverse("api:follow-up-list"), follow_up(lead), "fu-1")
    assert first.status_code == again.status_code == 201
    assert again.content == first.content and again["Content-Type"] == first["Content-Type"]
    assert again["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first
    assert FollowUp.objects.filter(lead=lead, title="Call back").count() == 1
    # without a key, each post runs
    assert client.post(reverse("api:follow-up-list"), follow_up(lead), format="json").status_code == 201
    assert FollowUp.objects.filter(lead=lead, title="Call back").count() == 2


def test_a_new_api_key_is_not_kept_and_its_retry_names_the_token_made(agent):
    client = api_as(agent)
    body = {"name": "Zapier sync", "scopes": ["read"]}
    first = post(client, reverse("api:token-list"), body, "token-1")
    again = post(client, reverse("api:token-list"), body, "token-1")
    assert first.status_code == 201 and first.json()["key"]
    assert again.status_code == 409 and again.json()["code"] == "conflict" and again.json()["id"] == first.json()["id"]
    assert again["Idempotent-Replayed"] == "true"
    assert first.json()["key"].encode() not in bytes(IdempotencyKey.objects.get(key="token-1").body)
    assert agent.api_tokens.filter(name="Zapier sync").count() == 1


def test_a_retried_outreach_gets_its_201_back_not_a_cap_refusal(lead, agent):
    client = api_as(agent)
    first = post(client, reverse("api:outreach-list"), call(lead), "call-1")
    checks = ComplianceCheck.objects.count()
    again = post(client, reverse("api:outreach-list"), call(lead), "call-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert OutreachAttempt.objects.count() == 1 and ComplianceCheck.objects.count() == checks  # the gate not asked


def test_the_gates_refusal_is_kept_and_replayed(lead, agent):
    internal_dnc_add(phone_number="+19185550104", channel="call", homeowner_words="Stop calling me.",
                     recorded_by=agent, lead=lead)
    client = api_as(agent)
    first = post(client, reverse("api:outreach-list"), call(lead), "call-2")
    again = post(client, reverse("api:outreach-list"), call(lead), "call-2")
    assert first.status_code == again.status_code == 409
    assert again.json() == first.json() and again["Content-Type"] == "application/problem+json"
    assert ComplianceCheck.objects.count() == 1  # one check recorded, not two


def test_the_key_with_another_body_or_path_is_a_422(lead, agent):
    client = api_as(agent)
    assert post(client, reverse("api:follow-up-list"), follow_up(lead), "k").status_code == 201
    for response in (post(client, reverse("api:follow-up-list"), follow_up(lead, title="Other"), "k"),
                     post(client, reverse("api-compliance-check"), call(lead), "k")):
        assert response.status_code == 422 and response["Content-Type"] == "application/problem+json"
        body = response.json()
        assert (body["code"], body["detail"], body["status"]) == ("idempotency_key_reused", KEY_REUSED, 422)
    assert FollowUp.objects.filter(lead=lead).count() == 1


def test_the_same_json_in_another_order_is_the_same_request(lead, agent):
    client = api_as(agent)
    url = reverse("api:follow-up-list")
    first = client.post(url, f'{{"lead": {lead.pk}, "title": "Call back", "due_at": "2026-11-24T10:00:00-06:00"}}',
                        content_type="application/json", HTTP_IDEMPOTENCY_KEY="order")
    again = client.post(url, f'{{"due_at":"2026-11-24T10:00:00-06:00","title":"Call back","lead":{lead.pk}}}',
                        content_type="application/json", HTTP_IDEMPOTENCY_KEY="order")
    assert first.status_code == 201 and again["Idempotent-Replayed"] == "true"


def test_the_versioned_and_unversioned_paths_are_one_request(lead, agent):
    client = api_as(agent)
    assert post(client, "/api/v1/follow-ups/", follow_up(lead), "both").status_code == 201
    again = post(client, "/api/follow-ups/", follow_up(lead), "both")
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"


def still_running(client, lead, key, *, started):
    """The row of a first request inserted before its view ran, not answered yet (another
    process's, as far as the next request can tell)."""
    assert post(client, reverse("api:follow-up-list"), follow_up(lead), key).status_code == 201
    IdempotencyKey.objects.filter(key=key).update(status=None, body=b"", headers={},
                                                  created_at=timezone.now() - started)
    FollowUp.objects.all().delete()


def test_while_the_first_still_runs_the_key_is_a_409(lead, agent):
    client = api_as(agent)
    still_running(client, lead, "busy", started=timedelta(seconds=5))
    response = post(client, reverse("api:follow-up-list"), follow_up(lead), "busy")
    assert response.status_code == 409 and response.json()["code"] == "idempotency_key_in_use"
    assert response.json()["detail"] == KEY_IN_USE and not FollowUp.objects.filter(lead=lead).exists()
    # another body meanwhile is still another request
    assert post(client, reverse("api:follow-up-list"), follow_up(lead, title="x"), "busy").status_code == 422


def test_a_first_request_that_died_is_taken_over(lead, agent):
    client = api_as(agent)
    still_running(client, lead, "dead", started=timedelta(minutes=10))
    response = post(client, reverse("api:follow-up-list"), follow_up(lead), "dead")
    assert response.status_code == 201 and "Idempotent-Replayed" not in response
    assert IdempotencyKey.objects.get(key="dead").status == 201 and FollowUp.objects.filter(lead=lead).count() == 1


def test_a_key_past_24_hours_starts_afresh(lead, agent):
    client = api_as(agent)
    assert post(client, reverse("api:follow-up-list"), follow_up(lead), "old").status_code == 201
    assert IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=25)) == 1
    again = post(client, reverse("api:follow-up-list"), follow_up(lead), "old")
    assert again.status_code == 201 and "Idempotent-Replayed" not in again
    assert FollowUp.objects.filter(lead=lead).count() == 2


def test_a_5xx_is_not_kept_so_the_key_can_be_sent_again(lead, agent, monkeypatch):
    from pipeline.api import views

    def crash(**kwargs):
        raise RuntimeError("the database went away")

    client = api_as(agent)
    client.raise_request_exception = False
    with monkeypatch.context() as patched:
        patched.setattr(views, "follow_up_create", crash)
        assert post(client, reverse("api:follow-up-list"), follow_up(lead), "retry").status_code == 500
    assert not IdempotencyKey.objects.exists()
    assert post(client, reverse("api:follow-up-list"), follow_up(lead), "retry").status_code == 201
    assert IdempotencyKey.objects.get(key="retry").status == 201  # this answer is the one kept


def test_a_key_is_each_credentials_own_and_a_refusal_before_running_is_not_kept(lead, agent):
    from pipeline.api.services import api_token_create

    def token(*scopes):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_create(user=agent, name='T', scopes=list(scopes))[1]}")
        return client

    # one user's two integrations number their keys alike: each runs its own request
    assert post(token("read", "write"), reverse("api:follow-up-list"), follow_up(lead), "1").status_code == 201
    second = post(token("read", "write"), reverse("api:follow-up-list"), follow_up(lead, title="Other"), "1")
    assert second.status_code == 201 and "Idempotent-Replayed" not in second
    # a read-only token is refused (403) before anything runs: nothing kept, nothing replayed
    assert post(token("read"), reverse("api:follow-up-list"), follow_up(lead), "1").status_code == 403
    assert IdempotencyKey.objects.filter(key="1").count() == 2


def test_a_key_is_each_users_own(lead, agent, team_lead):
    assert post(api_as(agent), reverse("api:follow-up-list"), follow_up(lead), "mine").status_code == 201
    theirs = post(api_as(team_lead), reverse("api:follow-up-list"), follow_up(lead), "mine")
    assert theirs.status_code == 201 and "Idempotent-Replayed" not in theirs
    assert post(api_as(agent), reverse("api:follow-up-list"), follow_up(lead), "mine")["Idempotent-Replayed"] == "true"
    assert FollowUp.objects.filter(lead=lead).count() == 2


@pytest.mark.parametrize("key", ["", "x" * 256, "naïve", "tab\there"])
def test_a_key_that_is_not_1_to_255_printable_ascii_is_a_400(lead, agent, key):
    response = post(api_as(agent), reverse("api:follow-up-list"), follow_up(lead), key)
    assert response.status_code == 400 and response.json()["errors"] == {"Idempotency-Key": [KEY_INVALID]}
    assert not FollowUp.objects.exists()
    # a token refused is a 401 first, key or no key, and nothing is kept
    client = APIClient(HTTP_AUTHORIZATION="Token nope")
    assert post(client, reverse("api:follow-up-list"), follow_up(lead), key).status_code == 401
    assert not IdempotencyKey.objects.exists()


def test_an_upload_sent_again_is_one_import(agent):
    csv = b"Address,City,State,Zip,Owner 1 First Name,Owner 1 Last Name\n12 Elm St,Tulsa,OK,74130,Ana,Diaz\n"
    client = api_as(agent)
    answers = [client.post(reverse("api:import-list"), {"file": SimpleUploadedFile("list.csv", csv)},
                           format="multipart", HTTP_IDEMPOTENCY_KEY="upload") for _ in range(2)]
    assert [answer.status_code for answer in answers] == [201, 201] and answers[1]["Idempotent-Replayed"] == "true"
    assert ImportJob.objects.count() == 1
    other = client.post(reverse("api:import-list"), {"file": SimpleUploadedFile("list.csv", csv + b"1 Oak,,,,,\n")},
                        format="multipart", HTTP_IDEMPOTENCY_KEY="upload")
    assert other.status_code == 422


def test_the_purge_deletes_keys_past_24_hours_and_is_safe_to_run_twice(lead, agent):
    client = api_as(agent)
    for key in ("a", "b"):
        post(client, reverse("api:follow-up-list"), follow_up(lead, title=key), key)
    IdempotencyKey.objects.filter(key="a").update(created_at=timezone.now() - timedelta(hours=24, minutes=1))
    assert idempotency_keys_purge() == 1
    purge_task()  # nothing left to delete
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["b"]


def test_the_schema_documents_the_key_on_every_post(client):
    schema = client.get(reverse("api-schema"), HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    posts = [item["post"] for item in schema["paths"].values() if "post" in item]
    assert posts
    for operation in posts:
        header = [p for p in operation["parameters"] if p["in"] == "header" and p["name"] == "Idempotency-Key"]
        assert header and header[0]["required"] is False, operation["operationId"]
        assert {"409", "422"} <= set(operation["responses"]), operation["operationId"]
    others = [op for item in schema["paths"].values() for method, op in item.items() if method != "post"]
    assert not any(p["name"] == "Idempotency-Key" for op in others for p in op.get("parameters", []))


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="threads share no in-memory SQLite database")
def test_four_clients_sending_one_key_at_once_create_one_follow_up(lead, agent):
    import threading

    key, url = api_key_for(agent), reverse("api:follow-up-list")
    start = threading.Barrier(4)
    answers = []

    def send():
        try:
            client = APIClient(HTTP_AUTHORIZATION=f"Token {key}")
            start.wait()
            response = post(client, url, follow_up(lead), "at-once")
            answers.append((response.status_code, response.get("Idempotent-Replayed")))
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    # one ran it; the others were told it was still running, or got its answer back
    assert answers.count((201, None)) == 1, answers
    assert set(answers) <= {(201, None), (201, "true"), (409, None)}, answers
    assert FollowUp.objects.filter(lead=lead, title="Call back").count() == 1
