"""A client generated from the published schema works: it imports, and an integrator's day
runs on it against a live server (docs/api.md#generated-client).

The schema is read from ``/api/schema/`` as an integrator reads it; openapi-python-client
generates the package ``leadcrm_client`` from it offline (tests/support/generated_client.py).
Every module must import: a schema that advertises several body types for one operation
generated code that did not. Then the day: sync the leads changed since a moment, create a
lead with its owner and phone, log an allowed call and a blocked one (the rule IDs read from
the typed 409), move the stage, create and reschedule a follow-up, and retry a POST with
the same Idempotency-Key to get the first answer back. Slow: it starts the generator.
"""

from datetime import datetime, timedelta
from uuid import uuid4

import attrs
import pytest
from django.test import Client
from django.utils import timezone

from ...helpers import api_key_for
from ...support import generated_client
from ...support.generated_client import Integrator

pytestmark = pytest.mark.slow

SCHEMA_URL = "/api/schema/?format=json"
# Inside Oklahoma's calling hours on a weekday after the suite's frozen Wednesday.
TUESDAY_10_CENTRAL = "2026-11-24T10:00:00-06:00"
WEDNESDAY_11_CENTRAL = "2026-11-25T11:00:00-06:00"


@pytest.fixture(scope="module")
def schema(django_db_setup, django_db_blocker):
    """The published schema, as ``GET /api/schema/`` serves it to anyone."""
    with django_db_blocker.unblock():
        response = Client().get(SCHEMA_URL)
    assert response.status_code == 200, response.content[:500]
    return response.json()


@pytest.fixture(scope="module")
def client_root(schema, tmp_path_factory):
    """The folder holding the generated package, importable for this module's tests."""
    root = generated_client.generate(schema, tmp_path_factory.mktemp("generated-client"))
    with generated_client.importable(root):
        yield root


def test_the_generated_client_has_every_operation_and_every_module_imports(schema, client_root):
    failures = generated_client.import_every_module(client_root)
    if failures:
        pytest.fail("Modules of the generated client that do not import:\n" + "\n".join(
            f"  {name}: {error}" for name, error in failures.items()), pytrace=False)
    generated = generated_client.operation_modules(client_root)
    missing = [operation for operation in generated_client.operation_ids(schema)
               if generated_client.operation_module_name(operation) not in generated]
    assert not missing, f"Operations of the schema the generated client lacks: {missing}"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


@pytest.mark.django_db(transaction=True)  # the live server answers from its own thread and connection
def test_an_integrators_day_runs_on_the_generated_client(client_root, live_server, lead, agent):
    api = Integrator(client_root, base_url=live_server.url, token=api_key_for(agent))
    last_sync = timezone.now() - timedelta(days=1)

    # Sync: read the leads changed since the last run (the agent's one lead).
    changed = api.call("leads_list", updated_since=last_sync)
    assert changed.status_code == 200 and lead.pk in [row.id for row in changed.parsed.results]
    this_sync = timezone.now()

    # Create a lead with its owner and the owner's mobile number, in one call.
    created = api.call("leads_create", body={
        "street": "4410 S Peoria Ave", "city": "Tulsa", "state": "OK", "zip_code": "74105",
        "lead_type": "pre_foreclosure_nod", "source": "referral", "note": "Referred by her attorney.",
        "owner": {"first_name": "Rosa", "last_name": "Mendez",
                  "phones": [{"number": "(918) 555-0188", "phone_type": "mobile"}]}})
    assert created.status_code == 201, created.content
    new_lead = created.parsed
    phone = new_lead.contacts[0].phones[0]
    assert phone.number == "+19185550188"

    # Log a call dialled by hand, disclosed as the seller's agent: the gate allows it.
    call = {"lead": new_lead.id, "channel": "call", "phone": phone.id, "outcome": "talked",
            "purpose": "short_sale_listing", "role_disclosed": True, "notes": "She wants to list."}
    allowed = api.call("outreach_create", body=call)
    assert allowed.status_code == 201, allowed.content
    assert allowed.parsed.lead == new_lead.id

    # Log an autodialled call to the same mobile with no written consent: the gate blocks it,
    # and the typed 409 names the rules.
    blocked = api.call("outreach_create", body={**call, "technology": "autodialer"})
    assert blocked.status_code == 409, blocked.content
    assert attrs.has(type(blocked.parsed)), f"the 409 is not a typed model: {blocked.parsed!r}"
    assert blocked.parsed.code == "outreach_blocked" and blocked.parsed.verdict == "block"
    assert "D5" in blocked.parsed.rule_ids  # an automated call needs prior express written consent

    # Move the lead on to Contact, now that she was reached.
    moved = api.call("leads_stage_create", id=new_lead.id, body={"to_stage": "contact"})
    assert moved.status_code == 200, moved.content
    assert moved.parsed.stage == "contact"

    # Create a follow-up call, then reschedule it a day later.
    follow_up = api.call("follow_ups_create", body={"lead": new_lead.id, "kind": "call",
                                                   "title": "Send the listing agreement", "due_at": TUESDAY_10_CENTRAL})
    assert follow_up.status_code == 201, follow_up.content
    assert follow_up.parsed.due_at == at(TUESDAY_10_CENTRAL)
    rescheduled = api.call("follow_ups_partial_update", id=follow_up.parsed.id, body={"due_at": WEDNESDAY_11_CENTRAL})
    assert rescheduled.status_code == 200, rescheduled.content
    assert rescheduled.parsed.due_at == at(WEDNESDAY_11_CENTRAL)

    # A POST whose answer was lost is sent again with the same Idempotency-Key: the first
    # answer comes back (same status, same follow-up) and nothing is created twice.
    key = str(uuid4())
    body = {"lead": new_lead.id, "kind": "call", "title": "Ask for the hardship letter", "due_at": TUESDAY_10_CENTRAL}
    first = api.call("follow_ups_create", body=body, headers={"Idempotency-Key": key})
    retried = api.call("follow_ups_create", body=body, headers={"Idempotency-Key": key})
    assert first.status_code == 201, first.content
    assert (retried.status_code, retried.parsed.id) == (first.status_code, first.parsed.id)
    assert retried.headers.get("Idempotent-Replayed") == "true"
    titles = [row.title for row in api.call("follow_ups_list", lead=new_lead.id).parsed.results]
    assert titles.count("Ask for the hardship letter") == 1

    # The next sync reads what changed since the last one: the new lead is among it.
    changed = api.call("leads_list", updated_since=this_sync)
    assert changed.status_code == 200 and new_lead.id in [row.id for row in changed.parsed.results]
