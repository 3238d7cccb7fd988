"""Degrade, don't die: the pages an agent needs with Redis or the broker unreachable, and
readiness naming what is down (docs/operations.md#when-redis-or-the-broker-is-down).

Nothing is mocked: the cache is the fail-safe Redis cache pointed at a port where nothing
listens, the broker a Redis URL on that port; the live Redis is this run's own db.
"""

import logging
from datetime import timedelta

import pytest
from django.core.cache import cache, caches
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from leadcrm.celery import app
from leadcrm.models import Heartbeat
from leadcrm.shared import health
from leadcrm.shared.cache import FailSafeRedisCache, _outages
from leadcrm.shared.queue import QUEUE_PAUSED, QueuePaused, enqueue, enqueue_on_commit
from leads.models import ImportJob
from pipeline.models import LeadExport, OutreachAttempt, TemplateKind

from ..helpers import api_key_for
from ..pipeline.factories import MessageTemplateFactory
from .factories import PASSWORD

pytestmark = pytest.mark.django_db

DEAD = "redis://127.0.0.1:1/0"  # nothing listens on port 1: refused at once
PAUSED_START = QUEUE_PAUSED.split(":")[0]


def failsafe(location: str) -> dict:
    return {"default": {"BACKEND": "leadcrm.shared.cache.FailSafeRedisCache", "LOCATION": location,
                        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 1}}}


@pytest.fixture
def redis_down(settings):
    """The cache as production has it, with its Redis unreachable (a fresh outage: what
    the process remembers of one is kept per Redis address, across tests)."""
    _outages.pop(f"{DEAD}|", None)
    settings.CACHES = failsafe(DEAD)
    yield
    caches["default"].clear()  # the counts this process kept meanwhile


def _reset_broker_pools():
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def broker_down(settings):
    """The Celery app publishing to a Redis broker that refuses connections."""
    kept = app.conf.broker_url, app.conf.broker_transport_options
    app.conf.broker_url, app.conf.broker_transport_options = DEAD, {"socket_connect_timeout": 1, "socket_timeout": 2}
    settings.CELERY_BROKER_URL = DEAD
    _reset_broker_pools()
    yield
    app.conf.broker_url, app.conf.broker_transport_options = kept
    _reset_broker_pools()


def browser(user=None) -> Client:
    client = Client(raise_request_exception=False)
    if user is not None:
        client.force_login(user)
    return client


def api(user) -> APIClient:
    client = APIClient(raise_request_exception=False)
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_key_for(user)}")
    return client


# Redis down ----------------------------------------------------------------------------


def test_with_redis_down_an_agent_signs_in_and_works_the_day(redis_down, agent, lead):
    client = browser()
    signed_in = client.post(reverse("login"), {"username": agent.username, "password": PASSWORD})
    assert signed_in.status_code == 302, signed_in.content.decode()[-2000:]
    # The session read back from the database on every page.
    assert client.get("/").status_code == 200
    assert client.get(reverse("pipeline:queue")).status_code == 200
    assert client.get(reverse("leads:detail", args=[lead.pk])).status_code == 200
    logged = client.post(reverse("pipeline:outreach_log", args=[lead.pk]), {
        "channel": "call", "phone": lead.contacts.first().phones.first().pk, "purpose": "short_sale_listing",
        "technology": "manual", "outcome": "no_answer", "role_disclosed": "on"})
    assert logged.status_code == 302, logged.content.decode()[-2000:]
    assert OutreachAttempt.objects.filter(lead=lead).count() == 1  # through the gate
    assert client.get(reverse("leads:list")).status_code == 200
    signed_out = client.post(reverse("logout"))
    assert signed_out.status_code == 302
    assert client.get("/").status_code == 302  # signed out for good: back to the sign-in page


def test_with_redis_down_the_api_lists_leads_under_a_local_throttle(redis_down, agent, lead):
    response = api(agent).get("/api/leads/")
    assert response.status_code == 200, response.content[:500]
    assert [row["id"] for row in response.json()["results"]] == [lead.pk]


def test_with_redis_down_failed_sign_ins_are_still_limited_in_this_process(redis_down, agent, settings):
    client = browser()
    for _ in range(settings.LEADCRM_LOGIN_FAILURES_PER_PAIR):
        assert client.post(reverse("login"), {"username": agent.username, "password": "wrong"}).status_code == 200
    refused = client.post(reverse("login"), {"username": agent.username, "password": PASSWORD})
    assert refused.status_code == 429 and "Too many failed sign-ins" in refused.content.decode()


def test_with_redis_down_a_revoked_permission_is_not_granted_from_a_copy(redis_down, agent, lead):
    from leadcrm.accounts.access import access_of

    assert access_of(agent).group_names
    agent.groups.clear()
    agent = type(agent).objects.get(pk=agent.pk)  # the next request's user
    assert access_of(agent).group_names == frozenset()


def test_with_redis_down_the_public_token_pages_still_answer(redis_down, db):
    assert browser().get(reverse("pipeline:calendar_feed", args=["not-a-token"])).status_code == 404
    assert browser().get(reverse("pipeline:seller_page", args=["not-a-token"])).status_code == 404


def test_the_session_store_falls_through_to_the_database_with_any_failing_cache(settings, agent):
    """Even under Django's own Redis cache, which raises when Redis is down."""
    from leadcrm.shared.sessions import SessionStore

    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": DEAD}}
    store = SessionStore()
    store["_auth_user_id"] = str(agent.pk)
    store.save(must_create=True)
    assert SessionStore().exists(store.session_key)
    assert SessionStore(store.session_key).load() == {"_auth_user_id": str(agent.pk)}
    store.cycle_key()  # signing in
    assert SessionStore(store.session_key)["_auth_user_id"] == str(agent.pk)
    store.flush()  # signing out
    assert not SessionStore().exists(store.session_key)


def test_the_outage_is_logged_once_not_per_call_nor_per_thread(redis_down, caplog):
    # Django gives each thread a cache object of its own (each request, under runserver).
    threads = [FailSafeRedisCache(DEAD, {"OPTIONS": {"RETRY_SECONDS": 0}}) for _ in range(3)]
    with caplog.at_level(logging.WARNING, logger="leadcrm.shared.cache"):
        for number in range(20):
            for backend in (cache, *threads):
                backend.get(f"leads:stage-counts:{number}")
                backend.set(f"leads:stage-counts:{number}", 1)
    assert len([r for r in caplog.records if "not answering" in r.getMessage()]) == 1


def test_limits_kept_in_the_process_are_shared_by_its_threads(redis_down):
    first, second = (FailSafeRedisCache(DEAD, {}) for _ in range(2))
    first.add("login-failures:username:x", 0)
    first.incr("login-failures:username:x")
    assert second.incr("login-failures:username:x") == 2


def _moved(backend: FailSafeRedisCache, location: str) -> None:
    """The same cache, its Redis now at ``location`` (a dead one: an outage)."""
    backend._servers = [location]
    backend.__dict__.pop("_cache", None)  # a new client, on the new address


def test_what_changed_while_redis_was_down_is_not_read_back_from_it(settings):
    """A session signed out, a count changed: deleted in Redis before Redis is read again."""
    live = settings.CELERY_BROKER_URL
    if not live.startswith("redis"):
        pytest.skip("needs the live Redis of this run")
    backend = FailSafeRedisCache(live, {"KEY_PREFIX": "resilience-test", "OPTIONS": {"RETRY_SECONDS": 0}})
    backend.set("session:1", {"user": 1})
    backend.set("login-failures:username:x", 3)
    _moved(backend, DEAD)
    backend.delete("session:1")  # signed out while Redis was down
    assert backend.get("session:1") is None
    backend.add("login-failures:username:x", 0)
    assert backend.incr("login-failures:username:x") == 1  # counted in this process meanwhile
    _moved(backend, live)
    assert backend.get("session:1") is None  # not the copy from before the outage
    assert backend.get("login-failures:username:x") == 3  # the shared count is kept
    backend.delete("login-failures:username:x")


# The broker down -----------------------------------------------------------------------


@pytest.fixture
def email_template(agent, brokerage):
    brokerage.office_street, brokerage.office_city, brokerage.office_state, brokerage.office_zip = (
        "1 Main St", "Tulsa", "OK", "74103")
    brokerage.save()
    return MessageTemplateFactory(name="Options email", kind=TemplateKind.EMAIL, owner=agent,
                                  subject="Your options", body="Dear [First Name],\n\n[Role Disclosure] Hello.")


# Transactional, as a web request is: ``on_commit`` work is published inside the request.
on_real_commits = pytest.mark.django_db(transaction=True)


@on_real_commits
def test_with_the_broker_down_the_email_merge_says_the_queue_is_paused(broker_down, agent, lead, email_template):
    response = browser(agent).post(reverse("pipeline:marketing"), {"template": email_template.pk})
    assert response.status_code == 503
    assert QUEUE_PAUSED in response.content.decode()
    assert OutreachAttempt.objects.count() == 0


@on_real_commits
def test_a_page_not_asked_about_beforehand_still_answers_503_not_500(broker_down, agent, lead, email_template,
                                                                    settings):
    settings.LEADCRM_ENQUEUING_VIEWS = frozenset()  # the publish itself fails, in the view
    response = browser(agent).post(reverse("pipeline:marketing"), {"template": email_template.pk})
    assert response.status_code == 503 and PAUSED_START in response.content.decode()


@on_real_commits
def test_with_the_broker_down_an_api_import_is_refused_before_anything_is_saved(broker_down, agent):
    csv = b"Address,City,State,Zip,Owner 1 First Name,Owner 1 Last Name\n12 Elm St,Tulsa,OK,74130,Ana,Diaz\n"
    response = api(agent).post("/api/imports/", {"file": SimpleUploadedFile("list.csv", csv)}, format="multipart")
    assert response.status_code == 503
    assert response["Content-Type"] == "application/problem+json" and response["Retry-After"] == "60"
    assert response.json()["detail"] == QUEUE_PAUSED
    assert ImportJob.objects.count() == 0


def test_with_the_broker_down_a_stranger_is_still_told_to_sign_in_first(broker_down, db):
    assert APIClient().post("/api/imports/", {}, format="multipart").status_code == 401
    assert browser().post(reverse("pipeline:marketing"), {"template": 1}).status_code == 302


@on_real_commits
def test_with_the_broker_down_a_background_export_leaves_no_job_waiting_for_ever(broker_down, agent):
    from pipeline.workspace.exports import lead_export_request

    with pytest.raises(QueuePaused):
        lead_export_request(requested_by=agent, filters={}, format="csv")
    assert LeadExport.objects.count() == 0


@on_real_commits
def test_work_a_sweeper_also_finds_is_logged_not_refused_when_the_broker_is_down(broker_down, caplog):
    from pipeline.tasks import notification_emails_send

    with caplog.at_level(logging.WARNING, logger="leadcrm.shared.queue"):
        enqueue_on_commit(notification_emails_send, [1], swept=True)  # no exception: the request goes on
    assert any("Could not queue pipeline.notification_emails_send" in r.getMessage() for r in caplog.records)


def test_publishing_to_a_dead_broker_gives_up_rather_than_waiting(broker_down):
    from leads.tasks import leads_rescore

    with pytest.raises(QueuePaused):
        enqueue(leads_rescore, [1])
    assert app.conf.task_publish_retry_policy["max_retries"] == 1
    assert app.conf.broker_connection_timeout == 2


# Health checks -------------------------------------------------------------------------


def test_liveness_asks_nothing_so_it_answers_with_everything_down(redis_down, broker_down):
    for url in ("/healthz", "/healthz/live"):
        response = browser().get(url)
        assert response.status_code == 200 and response.content == b"ok"


def test_readiness_names_each_part_and_what_is_down(redis_down, broker_down):
    response = browser().get("/healthz/ready")
    assert response.status_code == 200  # only the database is required
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "cache", "broker", "worker", "beat", "partitions"}
    assert body["checks"]["database"]["ok"] and body["checks"]["database"]["required"]
    assert body["failing"] == ["beat", "broker", "cache", "worker"]
    assert not body["checks"]["cache"]["required"]
    assert "127.0.0.1" not in response.content.decode()  # reasons go to the log, not the world


def test_readiness_fails_with_503_when_a_required_part_is_down(broker_down, settings):
    settings.LEADCRM_READINESS_REQUIRED = ["database", "broker"]
    response = browser().get("/healthz/ready")
    assert response.status_code == 503
    assert response.json()["status"] == "fail" and not response.json()["checks"]["broker"]["ok"]


def test_readiness_reads_the_worker_heartbeat_and_beats_last_run(settings):
    from django.core.management import call_command
    from django_celery_beat.models import PeriodicTask

    from leadcrm.tasks import worker_heartbeat

    worker_heartbeat()
    worker_heartbeat()  # safe twice: one row
    assert Heartbeat.objects.count() == 1
    call_command("install_schedules")
    PeriodicTask.objects.filter(name="leadcrm: Worker heartbeat").update(last_run_at=timezone.now())
    body = browser().get("/healthz/ready").json()
    assert body["failing"] == [], body
    assert body["checks"]["worker"]["age_s"] < 60

    Heartbeat.objects.update(at=timezone.now() - timedelta(minutes=10))
    health._answer = None  # past the few seconds an answer is kept
    body = browser().get("/healthz/ready").json()
    assert body["status"] == "ok" and body["failing"] == ["worker"]  # shown, not pulling traffic


def test_readiness_probes_in_a_burst_ask_the_parts_once(broker_down):
    """Anyone may call the page: a burst of probes while the broker hangs must not cost a
    broker timeout each (before: every call asked every part)."""
    asked = []
    checks = {name: (lambda check=check, name=name: asked.append(name) or check()) for name, check in
              health.CHECKS.items()}
    health.CHECKS, original = checks, health.CHECKS
    try:
        answers = [Client().get(reverse("healthz-ready")) for _ in range(5)]
    finally:
        health.CHECKS = original
    assert {answer.json()["status"] for answer in answers} == {answers[0].json()["status"]}
    assert asked.count("broker") == 1
