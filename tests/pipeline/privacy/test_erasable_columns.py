"""The erasure's door in the append-only trigger lets through only a person's details
(docs/architecture.md#append-only-records): the columns pipeline migration 0028 lists, which
must be exactly what coverage.REDACTIONS redacts in the append-only models."""

from __future__ import annotations

import importlib
from datetime import date

import pytest
from django.db import DatabaseError, connection, transaction

from compliance.models import Channel, ComplianceCheck, DncPolicy, Purpose
from compliance.services import outreach_check
from leadcrm.shared.append_only import privacy_erasure
from pipeline.privacy.coverage import held_models, is_append_only, redactions_for

MIGRATION = importlib.import_module("pipeline.migrations.0028_erasure_replaces_only_personal_columns")



def redacted_append_only_columns() -> set[tuple[str, str]]:
    return {(held.model._meta.db_table, held.model._meta.get_field(name).column)
            for held in held_models() if is_append_only(held.model)
            for name in redactions_for(held.model)}


def test_the_migration_lists_exactly_the_append_only_fields_an_erasure_redacts():
    listed = set(MIGRATION.ERASABLE)
    assert len(listed) == len(MIGRATION.ERASABLE)
    expected = redacted_append_only_columns()
    assert listed == expected, (
        "An erasure redacts an append-only field the trigger would refuse (or the other way round): add a "
        "migration that inserts into (or deletes from) leadcrm_erasable_column. "
        f"Missing: {sorted(expected - listed)}; not redacted: {sorted(listed - expected)}")


@pytest.mark.django_db
def test_the_database_holds_the_migrations_list():
    if connection.vendor != "postgresql":
        pytest.skip("the trigger is PostgreSQL's")
    with connection.cursor() as cursor:
        cursor.execute("SELECT table_name, column_name FROM leadcrm_erasable_column")
        assert set(cursor.fetchall()) == redacted_append_only_columns()


@pytest.fixture
def check(lead, agent):
    outreach_check(lead=lead, contact_point=lead.contacts.first().phones.first(), channel=Channel.CALL,
                   purpose=Purpose.LISTING, actor=agent, role_disclosed=True)
    return ComplianceCheck.objects.get()


def _raw_update(sql: str, params) -> None:
    """As a stolen password would: the door's setting, then plain SQL."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL leadcrm.privacy_erasure = 'on'")
        cursor.execute(sql, params)


@pytest.mark.django_db
@pytest.mark.parametrize("sql", [
    "UPDATE compliance_compliancecheck SET verdict = 'block' WHERE id = %s",
    "UPDATE compliance_compliancecheck SET rule_ids = '[\"forged\"]', contact_point = '[erased]' WHERE id = %s",
    "UPDATE compliance_compliancecheck SET checked_at = checked_at - interval '1 day' WHERE id = %s",
], ids=["verdict", "rules-with-a-personal-column", "time"])
def test_with_the_door_open_a_decision_still_cannot_be_rewritten(check, sql):
    if connection.vendor != "postgresql":
        pytest.skip("the trigger is PostgreSQL's")
    with pytest.raises(DatabaseError, match="an erasure may only replace a person's details"):
        _raw_update(sql, [check.pk])
    again = ComplianceCheck.objects.get()
    assert (again.verdict, again.rule_ids, again.checked_at, again.contact_point) == (
        check.verdict, check.rule_ids, check.checked_at, check.contact_point)


@pytest.mark.django_db
def test_with_the_door_open_a_personal_column_may_be_replaced(check):
    if connection.vendor != "postgresql":
        pytest.skip("the trigger is PostgreSQL's")
    _raw_update("UPDATE compliance_compliancecheck SET contact_point = '[erased]', findings = '[]' WHERE id = %s",
                [check.pk])
    again = ComplianceCheck.objects.get()
    assert (again.contact_point, again.findings, again.verdict) == ("[erased]", [], check.verdict)


@pytest.mark.django_db
def test_redact_through_the_model_is_held_to_the_same_columns(check):
    if connection.vendor != "postgresql":
        pytest.skip("the trigger is PostgreSQL's")
    with pytest.raises(DatabaseError, match="only replace a person's details"), transaction.atomic():
        with privacy_erasure():
            ComplianceCheck.objects.filter(pk=check.pk).redact(verdict="block")
    assert ComplianceCheck.objects.get().verdict == check.verdict


@pytest.mark.django_db
def test_a_table_with_no_personal_columns_refuses_every_update_under_the_door(broker):
    if connection.vendor != "postgresql":
        pytest.skip("the trigger is PostgreSQL's")
    policy = DncPolicy.objects.create(text="Check the registry before every call.", adopted_on=date(2026, 1, 5),
                                      adopted_by=broker)
    with pytest.raises(DatabaseError, match=r"details \(none here\)"):
        _raw_update("UPDATE compliance_dncpolicy SET text = 'Call anyone.' WHERE id = %s", [policy.pk])
    assert DncPolicy.objects.get(pk=policy.pk).text == policy.text
