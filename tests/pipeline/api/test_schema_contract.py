"""The schema is true to the data: every list and detail the API serves, read as a broker
and as an agent over varied leads (one in the pond with no agent or team, one with every
optional value empty, one with owners, liens, a follow-up, outreach, a stage change by
no one, an import and a plan), validates against the schema's own response component;
every response property is required unless the API may leave it out; the gate's verdicts,
severities and rule IDs, the refusal codes and every problem's ``code`` are enums.

Before: ``Lead.assigned_agent`` and ``team`` were non-nullable and null on a lead in the
pond, ``stage``, ``score``, ``occurred_at``, ``status`` and counters were optional,
``score_reasons`` untyped, ``verdict`` and ``severity`` free strings, and problems had no
``code``.

The walk starts from the schema's list operations and follows each list's ids into its
detail and nested paths, so the API's new endpoints are walked too, without naming them here.
"""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from openapi_schema_validator import OAS30Validator

from leadcrm.shared.api import PROBLEM_CODE_VALUES
from leads.models import Stage
from pipeline.api.serializers import RULE_IDS
from pipeline.deals.services import REFUSAL_CODES
from pipeline.deals.stages import ENTRY_RULES
from pipeline.models import EnrollmentSource, StageChange
from pipeline.plans.seeds import NURTURE, seeded_plan
from pipeline.plans.services import lead_enroll
from pipeline.reminders.services import follow_up_create

from ...helpers import api_as
from ...leads.factories import (
    ContactFactory,
    EmailFactory,
    HardshipFactory,
    ImportJobFactory,
    LeadFactory,
    LienFactory,
    PropertyFactory,
)
from ..factories import LeadNoteFactory, OfferFactory, OutreachAttemptFactory

pytestmark = pytest.mark.django_db

# Response properties the API may leave out, by component: an upsert's ``added`` is only on
# a lead that was already there (pipeline/api/sources.py).
MAY_BE_ABSENT = {("Upserted", "added")}
# The operations that must have been read and validated, without the API's prefix (others
# found in the schema are walked as well when their lists have rows).
MUST_BE_READ = {"leads", "leads/{id}", "leads/{id}/stage-changes", "follow-ups", "follow-ups/{id}",
                "outreach", "outreach/{id}", "imports", "imports/{id}", "plans", "plans/{id}",
                "plan-enrollments", "plan-enrollments/{id}", "users", "users/{id}", "teams",
                "leads/{id}/offers", "leads/{id}/notes", "leads/{id}/timeline", "tokens", "tokens/{id}"}
PARAMETER = re.compile(r"\{[^}]+\}")
# /api/ or a version of it (/api/v1/)
PREFIX = re.compile(r"^/api/(?:v\d+/)?")


def unprefixed(path: str) -> str:
    """The path after the API's prefix, without the trailing slash that only the unversioned
    aliases have."""
    return PREFIX.sub("", path).rstrip("/")



@pytest.fixture
def schema(broker):
    return api_as(broker).get(reverse("api-schema"), {"format": "json"}).json()


@pytest.fixture
def varied_book(lead, agent, broker, team):
    """A lead in the pond, a lead with every optional value empty, and the agent's full lead."""
    pond = LeadFactory(assigned_agent=None, team=None)
    bare = LeadFactory(assigned_agent=agent, team=None, property=PropertyFactory(estimated_value=None, county="",
                                                                                    zip_code=""))
    contact = lead.contacts.get()
    EmailFactory(contact=contact)
    ContactFactory(lead=lead, first_name="", last_name="", company_name="Heirs LLC")
    LienFactory(lead=lead, position=1)
    LienFactory(lead=lead, position=2, balance=None, lender="", recording_date=None)
    HardshipFactory(lead=lead)
    StageChange.objects.create(lead=lead, from_stage=Stage.LIST, to_stage=Stage.CONTACT, changed_by=None)
    follow_up_create(lead=lead, assignee=agent, due_at=timezone.now() + timedelta(days=2), title="Call back",
                     created_by=agent)
    OutreachAttemptFactory(lead=lead, phone=contact.phones.get(), agent=agent)
    ImportJobFactory(created_by=agent)
    OfferFactory(lead=lead)
    LeadNoteFactory(lead=lead, author=agent)
    lead.stage = Stage.CONTACT
    lead.save(update_fields=["stage"])
    lead_enroll(lead=lead, plan=seeded_plan(NURTURE), actor=agent, source=EnrollmentSource.API)
    return {"pond": pond, "bare": bare, "full": lead}


def validator(schema: dict, component: dict) -> OAS30Validator:
    # The component's refs resolve against the whole schema (its components).
    return OAS30Validator({**component, "components": schema["components"]})


def ok_schema(operation: dict) -> dict:
    return operation["responses"]["200"]["content"]["application/json"]["schema"]


def ids_in(body) -> list:
    if body is None:
        return []
    rows = body["results"] if isinstance(body, dict) and "results" in body else body
    return [row["id"] for row in rows if isinstance(row, dict) and "id" in row] if isinstance(rows, list) else []


def read_everything(client, schema: dict, *, forbidden_ok: bool = False) -> tuple[dict, list]:
    """Every GET path of the schema, called with the ids its parent list gives: the errors
    found by path template, and the templates read. With ``forbidden_ok`` a 403 (a path the
    role may not read: the broker's reports and integration keys) is skipped, children too."""
    gets = {path: ops["get"] for path, ops in schema["paths"].items()
            if "get" in ops and "200" in ops["get"]["responses"]}
    errors, read, ids_of = {}, [], {}

    def call(template: str, url: str):
        response = client.get(url)
        if forbidden_ok and response.status_code == 403:
            return None
        assert response.status_code == 200, (url, response.content[:300])
        body = response.json()
        found = sorted(validator(schema, ok_schema(gets[template])).iter_errors(body), key=str)
        if found:
            errors.setdefault(template, []).extend(f"{url}: {error.message} at {list(error.absolute_path)}"
                                                  for error in found[:5])
        read.append(template)
        return body

    # Parents before children: a path's parameters come from the list one level up.
    for template in sorted(gets, key=lambda path: (path.count("{"), path)):
        parameters = PARAMETER.findall(template)
        if not parameters:
            ids_of[template] = {template: ids_in(call(template, template))}
            continue
        last = template.rfind(parameters[-1])
        parent, rest = template[:last].rstrip("/"), template[last + len(parameters[-1]):]
        for parent_url, ids in ids_of.get(parent, {}).items():
            for pk in ids:
                url = f"{parent_url}/{pk}{rest}"
                ids_of.setdefault(template, {})[url] = ids_in(call(template, url))
    return errors, read


@pytest.mark.parametrize("who", ["broker", "agent"])
def test_every_list_and_detail_validates_against_its_schema(who, varied_book, schema, request):
    # given leads in the pond, with empty optional values, and full ones, and the schema
    user = request.getfixturevalue(who)

    # when every list and detail is read
    errors, read = read_everything(api_as(user), schema, forbidden_ok=who != "broker")

    # then each body is as the schema says, and nothing was left unread
    assert not errors, "\n".join(message for messages in errors.values() for message in messages)
    assert MUST_BE_READ <= {unprefixed(path) for path in read}, MUST_BE_READ - {unprefixed(path) for path in read}


def test_a_lead_in_the_pond_reads_as_null_agent_and_team(varied_book, broker):
    body = api_as(broker).get(reverse("api:lead-detail", args=[varied_book["pond"].pk])).json()
    assert body["assigned_agent"] is None and body["team"] is None and body["assigned_agent_id"] is None


def response_components(schema: dict) -> set[str]:
    """The components a successful answer uses, nested ones too."""
    components, found, todo = schema["components"]["schemas"], set(), []
    for operations in schema["paths"].values():
        for operation in operations.values():
            for code, response in operation.get("responses", {}).items():
                if code.startswith("2"):
                    todo += re.findall(r"#/components/schemas/(\w+)", str(response))
    while todo:
        name = todo.pop()
        if name not in found:
            found.add(name)
            todo += re.findall(r"#/components/schemas/(\w+)", str(components[name]))
    return found


def test_every_response_property_is_required_unless_it_may_be_absent(schema):
    components = schema["components"]["schemas"]
    optional = sorted(
        (name, prop) for name in response_components(schema)
        for prop in components[name].get("properties", {})
        if prop not in components[name].get("required", []) and (name, prop) not in MAY_BE_ABSENT)
    assert not optional, optional
    assert {"Lead", "LeadDetail", "Outreach", "FollowUp", "Import", "Phone"} <= response_components(schema)


def test_nullable_fields_and_typed_score_reasons(schema):
    lead = schema["components"]["schemas"]["Lead"]["properties"]
    for name in ("assigned_agent", "assigned_agent_id", "team", "team_id", "estimated_value", "next_follow_up_at",
                 "closing_date"):
        assert lead[name].get("nullable"), name
    assert not lead["stage"].get("nullable")
    assert lead["score_reasons"] == {**lead["score_reasons"], "type": "array", "items": {"type": "string"}}


def enum_of(schema: dict, component: str, prop: str) -> list:
    components = schema["components"]["schemas"]
    spec = components[component]["properties"][prop]
    spec = spec.get("items", spec)
    ref = re.search(r"#/components/schemas/(\w+)", str(spec))
    return components[ref.group(1)]["enum"] if ref else spec["enum"]


def test_verdicts_severities_rule_ids_and_codes_are_enums(schema):
    assert enum_of(schema, "Verdict", "verdict") == ["allow", "warn", "block"]
    assert enum_of(schema, "Finding", "severity") == ["allow", "warn", "block"]
    assert enum_of(schema, "Finding", "rule") == enum_of(schema, "Verdict", "rule_ids") == [r for r, _ in RULE_IDS]
    assert enum_of(schema, "Blocked", "verdict") == ["allow", "warn", "block"]
    assert enum_of(schema, "RefusalReason", "code") == REFUSAL_CODES
    for component in ("Problem", "ValidationErrors", "StageMoveRefused", "Blocked", "Stale", "PlanRefused"):
        assert enum_of(schema, component, "code") == PROBLEM_CODE_VALUES, component
        assert "code" in schema["components"]["schemas"][component]["required"], component


def test_every_entry_rule_refuses_with_a_code_of_its_own():
    rules = {requirement for requirements in ENTRY_RULES.values() for requirement in requirements}
    assert len({rule.code for rule in rules}) == len(rules)
    assert {rule.code for rule in rules} <= set(REFUSAL_CODES) and len(set(REFUSAL_CODES)) == len(REFUSAL_CODES)
    assert "requirement_unmet" not in REFUSAL_CODES


def test_every_write_reads_json_only_but_the_upload(schema):
    kinds = {(method, unprefixed(path)): sorted(operation["requestBody"]["content"])
             for path, operations in schema["paths"].items() for method, operation in operations.items()
             if "requestBody" in operation}
    assert kinds and all(types == ["application/json"] for (method, path), types in kinds.items()
                         if path != "imports"), kinds
    assert kinds[("post", "imports")] == ["multipart/form-data"]
