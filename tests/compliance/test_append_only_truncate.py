"""TRUNCATE is refused on every append-only table (docs/architecture.md#append-only-records).

Row triggers never fire on TRUNCATE: before pipeline migration 0026 one statement emptied
the evidence (the first test shows it, with the statement trigger dropped for a moment).
The tables are read from the database, not from a list, so a table protected later by a
row trigger alone fails here until its TRUNCATE trigger is added too.
"""

import pytest
from django.db import DatabaseError, connection, transaction

from compliance.models import Channel, ComplianceCheck, Purpose
from compliance.services import outreach_check

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the triggers exist on PostgreSQL only"),
]

REFUSE = "'leadcrm_refuse_append_only_change'::regproc"
TRUNCATE_BIT, ROW_BIT = 32, 1  # pg_trigger.tgtype (src/include/catalog/pg_trigger.h)


def protected_tables(kind: str) -> set[str]:
    """Tables with a refusing trigger for rows (UPDATE/DELETE) or for TRUNCATE."""
    condition = f"t.tgtype & {ROW_BIT} = {ROW_BIT}" if kind == "row" else f"t.tgtype & {TRUNCATE_BIT} <> 0"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT DISTINCT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                       f"WHERE t.tgfoid = {REFUSE} AND {condition}")
        return {name for (name,) in cursor.fetchall()}


def truncate(sql: str) -> None:
    """Run ``sql`` in a transaction of its own with the test connections' door closed, as
    production's connections always have it. The rows the test made have deferred
    foreign-key checks pending, which TRUNCATE would refuse first: run them now."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET LOCAL leadcrm.truncate_allowed = 'off'")
        cursor.execute(sql)


@pytest.fixture
def a_check(lead, agent):
    decision = outreach_check(lead=lead, contact_point=lead.contacts.first().phones.first(),
                              channel=Channel.CALL, purpose=Purpose.LISTING, actor=agent, role_disclosed=True)
    return decision.check


def test_every_table_guarded_against_update_and_delete_is_guarded_against_truncate():
    rows = protected_tables("row")
    assert {"compliance_compliancecheck", "compliance_internaldncentry", "pipeline_outreachattempt"} <= rows
    assert protected_tables("truncate") == rows


def test_without_the_statement_trigger_truncate_empties_the_evidence(a_check):
    """What 0026 closed: the row triggers alone let TRUNCATE through (rolled back here)."""
    with pytest.raises(RuntimeError, match="rolled back"), transaction.atomic():
        with connection.cursor() as cursor:
            for table in protected_tables("truncate"):
                cursor.execute(f"DROP TRIGGER {table}_append_only_truncate ON {table}")
        truncate("TRUNCATE TABLE compliance_compliancecheck CASCADE")
        assert not ComplianceCheck.objects.exists()
        raise RuntimeError("rolled back")
    assert ComplianceCheck.objects.filter(pk=a_check.pk).exists()
    assert "compliance_compliancecheck" in protected_tables("truncate")


def test_truncate_is_refused_on_each_append_only_table_with_the_setting_off(a_check):
    tables = sorted(protected_tables("truncate"))
    assert len(tables) >= 11
    for table in tables:
        with pytest.raises(DatabaseError, match=f"{table} rows are append-only: TRUNCATE refused"):
            truncate(f"TRUNCATE TABLE {table} CASCADE")  # CASCADE: past the foreign keys to it
    assert ComplianceCheck.objects.filter(pk=a_check.pk).exists()


def test_truncate_cascading_from_a_lead_is_refused_too(a_check):
    """Emptying the leads with CASCADE would take their evidence with them."""
    with pytest.raises(DatabaseError, match="append-only: TRUNCATE refused"):
        truncate("TRUNCATE TABLE leads_lead CASCADE")
    assert ComplianceCheck.objects.filter(pk=a_check.pk).exists()


def test_a_session_that_sets_nothing_is_refused():
    """A connection without the test settings' option is what production opens. (This
    test touches no table first: its own transaction holds no lock TRUNCATE would wait on.)"""
    import psycopg2

    params = connection.get_connection_params()
    other = psycopg2.connect(**{key: value for key, value in params.items()
                                if key in {"dbname", "user", "password", "host", "port"}})
    try:
        with other.cursor() as cursor:
            cursor.execute("SET lock_timeout = '10s'")
            cursor.execute("SELECT current_setting('leadcrm.truncate_allowed', true)")
            assert cursor.fetchone()[0] in (None, "")
            with pytest.raises(psycopg2.errors.RestrictViolation, match="TRUNCATE refused"):
                # CASCADE: without it the keys pointing at the log refuse first (a provider's messages).
                cursor.execute("TRUNCATE TABLE pipeline_outreachattempt CASCADE")
    finally:
        other.close()
