"""The REST API against its own OpenAPI schema, with schemathesis (issue 9).

The schema at ``/api/schema/`` (drf-spectacular) is loaded from the app in-process (WSGI)
and every operation is called with generated requests, schema-valid and schema-violating
ones, as an agent who owns some leads: no 5xx, and every response as the schema says
(status code documented, content type, body), while requests that break the schema are
refused. The operations on one object are called again on the agent's own lead and
follow-up, so their 200s and 409s are reached too, not only their 404s. Bounded (a few
dozen examples per operation and mode, no shrinking): about a minute.

schemathesis's pytest plugin (``from_fixture``) does not run under pytest 9 (it sets a
node attribute pytest no longer has), so the operations are driven through its Python API
(``as_strategy``) inside one test that has the database. What the gate answers (201 or
409, rule IDs) is tested in tests/pipeline/api/test_api.py.
"""

from collections import defaultdict
from datetime import timedelta

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from pipeline.reminders.services import follow_up_create

from ..helpers import api_key_for
from ..leads.factories import ContactFactory, EmailFactory, LeadFactory, LienFactory, PhoneFactory

pytestmark = pytest.mark.django_db

MAX_EXAMPLES = 20
# Every check but one: "schema-valid data is accepted" cannot hold where a request names
# objects by id (a lead, a phone, a filter's agent): a schema cannot say which ids exist
# and are the caller's, and one that is not is a 400 naming the field (a 404 in a path).
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


def run(operation, strategy, headers, seen) -> str | None:
    """Call one operation with ``strategy``'s cases; the failures found, or None."""

    @given(case=strategy)
    @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=True, phases=["generate"],
              suppress_health_check=list(HealthCheck))
    def call(case):
        response = case.call_and_validate(headers=headers, excluded_checks=NOT_CHECKED)
        seen[operation.label].add(response.status_code)

    try:
        call()
    except (Exception, BaseExceptionGroup) as error:  # every operation is tried, then all are reported
        return str(error)[:3000]
    return None


@pytest.mark.slow
def test_every_operation_answers_as_the_schema_says(agents_book, unthrottled, in_process_app):
    # given an agent's token and the schema the app serves
    token = api_key_for(agents_book["agent"])
    headers = {"Authorization": f"Token {token}"}
    schema = schemathesis.openapi.from_wsgi("/api/schema/", in_process_app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 12, [op.label for op in operations]
    own = {"/api/leads/{id}/": agents_book["lead"], "/api/follow-ups/{id}/": agents_book["follow-up"]}

    # when every operation is called with valid and invalid requests, and those on one
    # object on the agent's own too
    failures, seen = {}, defaultdict(set)
    for operation in operations:
        passes = [(mode, operation.as_strategy(generation_mode=mode))
                  for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)]
        for prefix, pk in own.items():
            if operation.path.startswith(prefix):
                passes.append(("own object", operation.as_strategy(path_parameters={"id": pk})))
        for name, strategy in passes:
            if (failure := run(operation, strategy, headers, seen)) is not None:
                failures[f"{operation.label} ({name})"] = failure

    # then nothing broke the schema, and the token was taken: the reads were answered
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())
    assert all(401 not in codes for codes in seen.values()), dict(seen)
    for label in ("GET /api/leads/", "GET /api/leads/{id}/", "GET /api/leads/{id}/stage-changes/",
                  "GET /api/follow-ups/", "GET /api/follow-ups/{id}/", "GET /api/outreach/", "GET /api/imports/"):
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
