"""The REST API against its own OpenAPI schema, with schemathesis (issue 9).

The schema at ``/api/schema/`` (drf-spectacular) is loaded from the app in-process (WSGI)
and every operation is called with generated requests, schema-valid and schema-violating
ones, as an agent who owns some leads: no 5xx, and every response as the schema says
(status code documented, content type, body), while requests that break the schema are
refused. The operations on one object are called again on the agent's own lead and
follow-up, so their 200s and 409s are reached too, not only their 404s. Bounded (a few
dozen examples per operation and mode, no shrinking): about a minute.

A second run sends every operation that reads a JSON body what broke the API before: JSON
nested up to 3,000 deep, bodies around and far past the size limits, and dates and times
from year 1 to 9999 in every date field the schema names: no 5xx, and every answer JSON,
every error an RFC 9457 problem.

schemathesis's pytest plugin (``from_fixture``) does not run under pytest 9 (it sets a
node attribute pytest no longer has), so the operations are driven through its Python API
(``as_strategy``) inside one test that has the database. What the gate answers (201 or
409, rule IDs) is tested in tests/pipeline/api/test_api.py.
"""

import json
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from datetime import timezone as dt_timezone

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from leads.models import Lead, LeadSource
from leads.sources import source_key_create
from pipeline.api.services import api_token_create
from pipeline.reminders.services import follow_up_create

from ..helpers import api_key_for
from ..leads.factories import (
    ContactFactory,
    EmailFactory,
    ForeclosureRecordFactory,
    HardshipFactory,
    LeadFactory,
    LienFactory,
    PhoneFactory,
)
from ..pipeline.factories import OfferFactory

pytestmark = pytest.mark.django_db

MAX_EXAMPLES = 20
# Every check but one: "schema-valid data is accepted" cannot hold where a request names
# objects by id (a lead, a phone, a filter's agent): a schema cannot say which ids exist
# and are the caller's, and one that is not is a 404, in a body as in a path.
NOT_CHECKED = [positive_data_acceptance]


@pytest.fixture
def in_process_app():
    """The Django app as a WSGI callable that keeps the test's connection (and so its
    transaction) between requests, as Django's test client does."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield WSGIHandler()
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def unthrottled():
    # The throttle counts per user across every example of the run: it is tested in
    # tests/pipeline/api/test_api.py, and here its 429s would hide the answers under them.
    from rest_framework.settings import api_settings
    from rest_framework.throttling import UserRateThrottle

    UserRateThrottle.THROTTLE_RATES = {**api_settings.DEFAULT_THROTTLE_RATES, "user": "1000000/minute"}
    yield
    UserRateThrottle.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES


@pytest.fixture
def agents_book(lead, agent, team):
    """The agent's leads (owners with phones and emails, a lien each) and a follow-up."""
    for n in range(3):
        owned = LeadFactory(assigned_agent=agent, team=team)
        contact = ContactFactory(lead=owned)
        PhoneFactory(contact=contact, number=f"+1918555011{n}")
        EmailFactory(contact=contact)
        LienFactory(lead=owned, position=1)
    follow_up = follow_up_create(lead=lead, assignee=agent, due_at=timezone.now() + timedelta(days=2),
                                 title="Call back", created_by=agent)
    return {"agent": agent, "lead": lead.pk, "follow-up": follow_up.pk}


# The endpoints a lead source's key opens (and a user's token does not): called with a key.
SOURCE_PATH = "/api/v1/lead-sources/leads"
SOURCE_PATHS = {SOURCE_PATH, "/api/v1/lead-sources/leads/{external_id}"}


@pytest.fixture
def source_key(broker):
    return source_key_create(name="Vendor", source=LeadSource.INBOUND, created_by=broker)[1]


def run(operation, strategy, headers, seen) -> str | None:
    """Call one operation with ``strategy``'s cases; the failures found, or None."""

    @given(case=strategy)
    @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=True, phases=["generate"],
              suppress_health_check=list(HealthCheck))
    def call(case):
        response = case.call_and_validate(headers=headers, excluded_checks=NOT_CHECKED)
        if response.status_code == 401 and "Authorization" not in response.request.headers:
            # A negative case of a bearer scheme (the lead-source key) is sent with no key
            # at all: its 401 is the right answer, not a token refused.
            seen["(no key sent)"].add(401)
            return
        seen[operation.label].add(response.status_code)

    try:
        call()
    except (Exception, BaseExceptionGroup) as error:  # every operation is tried, then all are reported
        return str(error)[:3000]
    return None


@pytest.mark.slow
def test_every_operation_answers_as_the_schema_says(agents_book, source_key, unthrottled, in_process_app):
    # given an agent's token and the schema the app serves
    token = api_key_for(agents_book["agent"])
    headers = {"Authorization": f"Token {token}"}
    schema = schemathesis.openapi.from_wsgi("/api/schema/", in_process_app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 12, [op.label for op in operations]
    own = {"/api/v1/leads/{id}": agents_book["lead"], "/api/v1/follow-ups/{id}": agents_book["follow-up"]}

    # when every operation is called with valid and invalid requests, and those on one
    # object on the agent's own too
    failures, seen = {}, defaultdict(set)
    for operation in operations:
        # An operation that takes nothing but the credentials (GET /api/users/me/) has
        # nothing to send wrong.
        takes_input = len(operation.query) or len(operation.path_parameters) or len(list(operation.body))
        passes = [(mode, operation.as_strategy(generation_mode=mode))
                  for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
                  if takes_input or mode == GenerationMode.POSITIVE]
        for prefix, pk in own.items():
            if operation.path.startswith(prefix):
                passes.append(("own object", operation.as_strategy(path_parameters={"id": pk})))
        if operation.method.upper() == "DELETE" and operation.path.endswith("/tokens/{id}/"):
            # A generated id could be the run's own token: revoked, every later call is a 401.
            # A token of the agent's made to be revoked takes every case instead.
            spare = api_token_create(user=agents_book["agent"], name="Spare", scopes=["read", "write"])[0]
            passes = [("a spare token", operation.as_strategy(path_parameters={"id": spare.pk}))]
        for name, strategy in passes:
            sent = {"Authorization": f"Bearer {source_key}"} if operation.path in SOURCE_PATHS else headers
            if (failure := run(operation, strategy, sent, seen)) is not None:
                failures[f"{operation.label} ({name})"] = failure

    # then nothing broke the schema, and the token was taken: the reads were answered
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())
    assert all(401 not in codes for label, codes in seen.items() if label != "(no key sent)"), dict(seen)
    for label in ("GET /api/v1/leads", "GET /api/v1/leads/{id}", "GET /api/v1/leads/{id}/stage-changes",
                  "GET /api/v1/follow-ups", "GET /api/v1/follow-ups/{id}", "GET /api/v1/outreach",
                  "GET /api/v1/imports"):
        assert 200 in seen[label], (label, seen[label])


# What the run above found, kept as plain tests ---------------------------------------------


def api_client(user):
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_key_for(user)}")
    return client


def test_an_id_that_is_not_a_number_is_the_apis_json_404(lead, agent):
    # Django's HTML 404 page answered these: the router's ids stopped at a dot.
    client = api_client(agent)
    for path in ("/api/leads/1.5/", "/api/leads/-2.0/stage-changes/", "/api/follow-ups/9.9e-265/"):
        response = client.get(path)
        assert (response.status_code, response["Content-Type"]) == (404, "application/problem+json"), path
    assert client.post("/api/leads/0.2/stage/", {"to_stage": "contact"}, format="json").status_code == 404


def test_a_page_size_that_is_not_a_whole_number_from_1_is_a_400(lead, agent):
    # DRF served the default page for these, so a client's typo went unnoticed.
    client = api_client(agent)
    for size in ("true", "0", "-3", "2.5"):
        response = client.get(f"/api/leads/?page_size={size}")
        assert response.status_code == 400 and "page_size" in response.json(), size
    assert client.get("/api/leads/?page_size=").status_code == 200  # empty: the default
    assert client.get("/api/leads/?page_size=100000").status_code == 200  # served as the maximum


def test_a_leads_stage_changes_are_a_list_as_the_schema_now_says(lead, agent):
    # The schema said a cursor page (with the list's filters) for what is a plain list.
    body = api_client(agent).get(f"/api/leads/{lead.pk}/stage-changes/?stage=nonsense").json()
    assert isinstance(body, list)


# Hostile bodies: deep, huge, out-of-range dates ---------------------------------------------

HOSTILE_EXAMPLES = 25
BODY_LIMIT = 4096  # LEADCRM_API_MAX_BODY_BYTES, lowered so that huge bodies stay quick
DJANGO_LIMIT = 16384  # DATA_UPLOAD_MAX_MEMORY_SIZE, likewise
ZONES = [UTC, dt_timezone(timedelta(hours=-12)), dt_timezone(timedelta(hours=14))]
EDGE_TIMES = ["9999-12-31T23:59:59-12:00", "9999-12-31T00:00:00Z", "0001-01-01T00:00:00+14:00",
              "1899-12-31T23:59:59Z", "2101-01-01T00:00:00Z", "9999-12-31", "0001-01-01"]


def hostile_bodies(base: dict, date_fields: dict):
    """A body the schema's operation would take, made hostile one way."""
    deep = st.tuples(st.just("deep"), st.integers(1, 3000), st.sampled_from(sorted(base) or ["x"]))
    huge = st.tuples(st.just("huge"), st.one_of(st.integers(BODY_LIMIT - 64, BODY_LIMIT + 64),
                                                st.integers(0, 3 * DJANGO_LIMIT)), st.sampled_from(["notes"]))
    kinds = [deep, huge]
    if date_fields:
        moments = st.one_of(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30),
                                         timezones=st.sampled_from(ZONES)).map(datetime.isoformat),
                            st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)).map(date.isoformat),
                            st.sampled_from(EDGE_TIMES))
        kinds.append(st.tuples(st.just("date"), moments, st.sampled_from(sorted(date_fields))))
    return st.one_of(kinds)


def hostile_text(base: dict, attack) -> str:
    kind, value, field_name = attack
    if kind == "deep":
        text = "[" * value + "]" * value
        return json.dumps({**base, field_name: "DEEP"}).replace('"DEEP"', text) if value % 2 else text
    if kind == "huge":
        return json.dumps({**base, field_name: "x" * value})
    return json.dumps({**base, field_name: value})


def json_operations(schema: dict):
    """(method, path, required fields, date fields) of every operation reading a JSON body."""
    components = schema["components"]["schemas"]
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" not in content:
                continue
            body = content["application/json"]["schema"]
            body = components[body["$ref"].rsplit("/", 1)[-1]] if "$ref" in body else body
            properties = body.get("properties", {})
            dates = {name: spec["format"] for name, spec in properties.items()
                     if spec.get("format") in ("date", "date-time")}
            yield method.upper(), path, set(body.get("required", [])) | ({"version"} & set(properties)), dates


def answered_wrong(response) -> bool:
    """A 5xx, an answer that is not JSON, or an error that is not a problem body."""
    kind = response["Content-Type"]
    if response.status_code >= 500 or kind not in ("application/json", "application/problem+json"):
        return True
    try:
        body = json.loads(response.content) if response.content else {}
    except ValueError:
        return True
    return response.status_code >= 400 and (kind != "application/problem+json" or not isinstance(body, dict)
                                            or not {"type", "title", "status", "detail"} <= set(body))


def send_hostile(client, method, path, url, base, dates, failures, seen):
    @given(attack=hostile_bodies(base, dates))
    @settings(max_examples=HOSTILE_EXAMPLES, deadline=None, database=None, derandomize=True, phases=["generate"],
              suppress_health_check=list(HealthCheck))
    def send(attack):
        response = client.generic(method, url, hostile_text(base, attack), content_type="application/json")
        seen[attack[0]].add(response.status_code)
        if answered_wrong(response):
            failures.append(f"{method} {path} {attack[0]} {str(attack[1])[:40]}: {response.status_code} "
                            f"{response['Content-Type']}")

    send()


@pytest.mark.slow
def test_deep_huge_and_out_of_range_bodies_are_refused_in_json(agents_book, source_key, unthrottled, settings):
    # given the agent's own lead with a row of every kind, and each operation's usual fields
    settings.LEADCRM_API_MAX_BODY_BYTES, settings.DATA_UPLOAD_MAX_MEMORY_SIZE = BODY_LIMIT, DJANGO_LIMIT
    agent = agents_book["agent"]
    lead = Lead.objects.get(pk=agents_book["lead"])
    contact = lead.contacts.get()
    rows = {"id": lead.pk, "external_id": "vendor-1", "contact_id": contact.pk, "phone_id": contact.phones.get().pk,
            "email_id": EmailFactory(contact=contact).pk, "lien_id": LienFactory(lead=lead, position=1).pk,
            "hardship_id": HardshipFactory(lead=lead).pk, "record_id": ForeclosureRecordFactory(lead=lead).pk,
            "offer_id": OfferFactory(lead=lead).pk}
    usual = {"lead": lead.pk, "title": "Call back", "channel": "call", "phone": rows["phone_id"],
             "outcome": "talked", "role_disclosed": True, "to_stage": "contact", "position": 2,
             "category": "job_loss", "number": "+19185550199", "address": "owner@example.com", "version": 1,
             "due_at": (timezone.now() + timedelta(days=2)).isoformat(), "buyer_name": "Bo Buyer",
             "price": "200000", "financing": "cash", "body": "Called back."}
    client = APIClient(raise_request_exception=False)
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_key_for(agent)}")
    source = APIClient(raise_request_exception=False)
    source.credentials(HTTP_AUTHORIZATION=f"Bearer {source_key}")
    schema = client.get("/api/schema/", {"format": "json"}).json()
    operations = list(json_operations(schema))
    assert len(operations) >= 15 and any(dates for *_, dates in operations)

    # when each is sent deep, huge and out-of-range bodies
    failures, seen = [], defaultdict(set)
    for method, path, required, dates in operations:
        url = path.format(**rows)
        base = {name: usual[name] for name in required if name in usual}

        send_hostile(source if path in SOURCE_PATHS else client, method, path, url, base, dates, failures, seen)

    # then none was a 5xx or anything but JSON, and each attack was met by its refusal
    assert not failures, "\n".join(failures[:40])
    assert 400 in seen["deep"] and 413 in seen["huge"] and 400 in seen["date"], dict(seen)
