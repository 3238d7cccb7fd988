"""The app's runtime database role reads and writes rows and owns nothing it could break
(docs/database.md#roles).

Each test creates a role with ``db_runtime_role`` on the test database, connects as it
with a second psycopg2 connection, and drops it at the end: roles belong to the whole
PostgreSQL cluster, so the name is unique and the clean-up always runs. Transactional
tests, because the second connection sees only committed grants and rows.
"""

import io
import secrets
from datetime import date
from types import SimpleNamespace

import psycopg2
import psycopg2.errors
import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from compliance.models import Channel, ComplianceCheck, DncNumber, Purpose
from compliance.registry import _apply_change_list, _area_code_filter, _rebuild_with
from compliance.services import outreach_check
from leadcrm.accounts.models import Team, User
from leadcrm.management.commands.db_role_check import runtime_role_problems

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="database roles are PostgreSQL's"),
]


def run_as_owner(sql: str, params=None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.fixture
def runtime_role():
    name, password = f"leadcrm_test_runtime_{secrets.token_hex(4)}", secrets.token_urlsafe(16)
    try:
        call_command("db_runtime_role", role=name, password=password, stdout=io.StringIO())
        yield name, password
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [name])
            if cursor.fetchone():
                cursor.execute(f'REASSIGN OWNED BY "{name}" TO CURRENT_USER')
                cursor.execute(f'DROP OWNED BY "{name}"')
                cursor.execute(f'DROP ROLE "{name}"')


@pytest.fixture
def as_runtime(runtime_role):
    """A connection as the runtime role, autocommit like Django's; closed before the role is dropped."""
    name, password = runtime_role
    settings = connection.settings_dict
    runtime = psycopg2.connect(dbname=settings["NAME"], host=settings["HOST"] or None,
                               port=settings["PORT"] or None, user=name, password=password)
    runtime.autocommit = True
    try:
        yield runtime
        with runtime.cursor() as cursor:
            cursor.execute("ROLLBACK")  # a test's own BEGIN, if it failed half-way
            cursor.execute("DISCARD TEMP")  # now, not as the closed session winds down: DROP ROLE would race it
    finally:
        runtime.close()


def fetch(conn, sql, params=None):
    with conn.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def test_the_runtime_role_reads_and_writes_rows_of_an_ordinary_table(as_runtime, team_lead):
    (team_id,), = fetch(as_runtime, "INSERT INTO accounts_team (name, created_at, lead_id) "
                                    "VALUES ('Prairie', now(), %s) RETURNING id", [team_lead.pk])
    fetch(as_runtime, "UPDATE accounts_team SET name = 'Prairie North' WHERE id = %s RETURNING id", [team_id])
    assert Team.objects.get(pk=team_id).name == "Prairie North"
    assert fetch(as_runtime, "SELECT count(*) FROM accounts_user") == [(User.objects.count(),)]
    fetch(as_runtime, "DELETE FROM accounts_team WHERE id = %s RETURNING id", [team_id])
    assert not Team.objects.filter(pk=team_id).exists()


def test_the_import_stage_works_as_the_runtime_role(as_runtime, team_lead):
    """leads/imports/copy.py's SQL: ids from the sequence, COPY into a TEMP stage, one
    INSERT ... ON CONFLICT, TRUNCATE of the stage (the session's own table)."""
    stage = "import_stage_accounts_team"
    with as_runtime.cursor() as cursor:
        cursor.execute("BEGIN")
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, 2)",
                       ["accounts_team", "id"])
        ids = [new_id for (new_id,) in cursor.fetchall()]
        cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {stage} ON COMMIT DELETE ROWS AS "
                       "SELECT id, name, created_at, lead_id FROM accounts_team WITH NO DATA")
        rows = "".join(f"{new_id}\tTeam {new_id}\t2026-12-01 10:00:00+00\t{team_lead.pk}\n" for new_id in ids)
        cursor.copy_expert(f"COPY {stage} (id, name, created_at, lead_id) FROM STDIN", io.StringIO(rows))
        cursor.execute(f"INSERT INTO accounts_team (id, name, created_at, lead_id) SELECT * FROM {stage} "
                       f"ON CONFLICT DO NOTHING; TRUNCATE {stage}")
        cursor.execute("COMMIT")
    assert set(Team.objects.values_list("pk", flat=True)) == set(ids)


def test_registry_loads_work_as_the_runtime_role(as_runtime, national_registry):
    """compliance/registry.py's own functions on the runtime role's connection: a full list
    rebuilt (TRUNCATE, primary key dropped and rebuilt) and a change list (TEMP table)."""
    table = DncNumber._meta.db_table
    DncNumber.objects.create(id=DncNumber.key(6025550101, national_registry.pk), source=national_registry,
                             added_on=date(2026, 11, 1))  # another area code: set aside and put back
    where, params = _area_code_filter(["918"])
    full = SimpleNamespace(canonical=b"9185550104\n9185550105\n", add_numbers=[9185550104, 9185550105])
    change = SimpleNamespace(add_numbers=[9185550106], deletes=[9185550105])
    with as_runtime.cursor() as cursor:
        cursor.execute("BEGIN")
        added, removed = _rebuild_with(cursor, table, national_registry, full, date(2026, 12, 1), where, params)
        assert (added, removed) == (2, 0)
        assert _apply_change_list(cursor, table, national_registry, change, date(2026, 12, 2)) == (1, 1)
        cursor.execute("COMMIT")
    numbers = {key // 1000 for key in DncNumber.objects.values_list("id", flat=True)}
    assert numbers == {6025550101, 9185550104, 9185550106}


REFUSED_TO_THE_RUNTIME_ROLE = [
    "TRUNCATE compliance_compliancecheck",
    "TRUNCATE compliance_compliancecheck CASCADE",
    "TRUNCATE leads_lead CASCADE",
    "ALTER TABLE compliance_compliancecheck DISABLE TRIGGER ALL",
    "ALTER TABLE compliance_compliancecheck ADD COLUMN note text",
    "DROP TRIGGER compliance_compliancecheck_append_only_truncate ON compliance_compliancecheck",
    "DROP TABLE compliance_compliancecheck CASCADE",
    "CREATE TRIGGER x BEFORE INSERT ON compliance_compliancecheck "
    "FOR EACH ROW EXECUTE FUNCTION leadcrm_refuse_append_only_change()",
]


def test_the_runtime_role_cannot_empty_alter_unprotect_or_rewrite_the_evidence(as_runtime, lead, agent):
    outreach_check(lead=lead, contact_point=lead.contacts.first().phones.first(), channel=Channel.CALL,
                   purpose=Purpose.LISTING, actor=agent, role_disclosed=True)
    with as_runtime.cursor() as cursor:
        cursor.execute("SET leadcrm.truncate_allowed = 'on'")  # the door the tests use opens nothing here
        allowed = []
        for sql in REFUSED_TO_THE_RUNTIME_ROLE:  # autocommit: each statement on its own
            try:
                cursor.execute(sql)
                allowed.append(sql)
            except psycopg2.errors.InsufficientPrivilege:
                pass
        assert allowed == []
        for sql in ("UPDATE compliance_compliancecheck SET verdict = 'block'",
                    "DELETE FROM compliance_compliancecheck"):
            with pytest.raises(psycopg2.errors.RestrictViolation, match="append-only"):
                cursor.execute(sql)
    assert ComplianceCheck.objects.get().verdict == "allow"


def test_tables_made_by_later_migrations_are_covered_and_a_rerun_takes_back_extra_grants(runtime_role,
                                                                                          as_runtime):
    name, password = runtime_role
    run_as_owner("CREATE TABLE leadcrm_later_migration (id bigint GENERATED BY DEFAULT AS IDENTITY, note text)")
    try:
        fetch(as_runtime, "INSERT INTO leadcrm_later_migration (note) VALUES ('new') RETURNING id")
        with pytest.raises(psycopg2.errors.InsufficientPrivilege):
            fetch(as_runtime, "TRUNCATE leadcrm_later_migration")
        run_as_owner(f'GRANT TRUNCATE ON compliance_compliancecheck TO "{name}"')  # by hand, by mistake
        call_command("db_runtime_role", role=name, stdout=io.StringIO())
        with pytest.raises(psycopg2.errors.InsufficientPrivilege):
            fetch(as_runtime, "TRUNCATE compliance_compliancecheck")
        assert fetch(as_runtime, "SELECT count(*) FROM leadcrm_later_migration") == [(1,)]
    finally:
        run_as_owner("DROP TABLE leadcrm_later_migration")


def test_the_role_check_passes_the_runtime_role_and_fails_the_owner(as_runtime):
    with as_runtime.cursor() as cursor:
        assert runtime_role_problems(cursor) == []
        # It may create (for the registry's primary key); anything it made is reported.
        cursor.execute("CREATE TABLE leadcrm_stray (id int)")
        assert "owns 1 of the app's tables (leadcrm_stray" in runtime_role_problems(cursor)[0]
        cursor.execute("DROP TABLE leadcrm_stray")
    with pytest.raises(CommandError) as refused:
        call_command("db_role_check", stdout=io.StringIO())  # the test suite connects as the owner
    assert "owns" in str(refused.value) and "db_runtime_role" in str(refused.value)


def test_the_app_may_not_name_the_owner_as_its_runtime_role():
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        (owner,) = cursor.fetchone()
    with pytest.raises(CommandError, match="the tables' owner"):
        call_command("db_runtime_role", role=owner, stdout=io.StringIO())


def test_backup_verify_as_the_runtime_role_says_to_run_it_as_the_owner(runtime_role, monkeypatch):
    """It may dump (SELECT on every table) but not create the scratch database."""
    name, password = runtime_role
    monkeypatch.setitem(connection.settings_dict, "USER", name)  # read by the command's own connections
    monkeypatch.setitem(connection.settings_dict, "PASSWORD", password)
    with pytest.raises(CommandError, match=f"{name} may not create the scratch database.*NOT verified"):
        call_command("backup_verify", stdout=io.StringIO())


def test_the_runtime_role_opening_the_erasure_door_can_replace_details_but_not_verdicts(as_runtime, lead,
                                                                                        agent):
    """A stolen application password may SET the erasure's setting like the app does; the
    trigger still lets through only the columns the owner's list names, which the role can
    neither change nor shadow with a TEMP table of its own."""
    outreach_check(lead=lead, contact_point=lead.contacts.first().phones.first(), channel=Channel.CALL,
                   purpose=Purpose.LISTING, actor=agent, role_disclosed=True)
    with as_runtime.cursor() as cursor:
        for sql in ("INSERT INTO leadcrm_erasable_column VALUES ('compliance_compliancecheck', 'verdict')",
                    "DELETE FROM leadcrm_erasable_column", "TRUNCATE leadcrm_erasable_column"):
            with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                cursor.execute(sql)
        cursor.execute("BEGIN")
        cursor.execute("CREATE TEMP TABLE leadcrm_erasable_column AS SELECT table_name, column_name "
                       "FROM information_schema.columns WHERE table_schema = current_schema()")
        cursor.execute("SET LOCAL leadcrm.privacy_erasure = 'on'")
        with pytest.raises(psycopg2.errors.RestrictViolation, match="only replace a person's details"):
            cursor.execute("UPDATE compliance_compliancecheck SET verdict = 'block'")
        cursor.execute("ROLLBACK")
        cursor.execute("BEGIN")
        cursor.execute("SET LOCAL leadcrm.privacy_erasure = 'on'")
        cursor.execute("UPDATE compliance_compliancecheck SET contact_point = '[erased]'")
        cursor.execute("COMMIT")
    check = ComplianceCheck.objects.get()
    assert (check.verdict, check.contact_point) == ("allow", "[erased]")


def test_the_role_check_fails_a_role_that_may_write_the_erasable_columns(runtime_role, as_runtime):
    name, _password = runtime_role
    run_as_owner(f'GRANT INSERT ON leadcrm_erasable_column TO "{name}"')
    with as_runtime.cursor() as cursor:
        assert any("may change leadcrm_erasable_column" in problem for problem in runtime_role_problems(cursor))
    call_command("db_runtime_role", role=name, stdout=io.StringIO())
    with as_runtime.cursor() as cursor:
        assert runtime_role_problems(cursor) == []
        assert fetch(as_runtime, "SELECT count(*) > 0 FROM leadcrm_erasable_column") == [(True,)]


def test_the_erasable_columns_table_is_read_only_to_the_runtime_role_as_soon_as_it_is_made(runtime_role):
    """A migration run after the role exists gets the owner's default privileges; 0028 takes
    writing back itself, so the window before the next db_runtime_role is closed."""
    import importlib

    name, _password = runtime_role
    migration = importlib.import_module("pipeline.migrations.0028_erasure_replaces_only_personal_columns")
    run_as_owner("ALTER TABLE leadcrm_erasable_column RENAME TO leadcrm_erasable_column_kept")
    try:
        run_as_owner("CREATE TABLE leadcrm_erasable_column (table_name text, column_name text)")
        assert fetch(connection, "SELECT has_table_privilege(%s, 'leadcrm_erasable_column', 'INSERT')", [name]) \
            == [(True,)]  # the default privileges at work
        run_as_owner(migration.READ_ONLY_FOR_OTHERS)
        assert fetch(connection, "SELECT has_table_privilege(%s, 'leadcrm_erasable_column', 'INSERT, UPDATE, "
                                 "DELETE, TRUNCATE'), has_table_privilege(%s, 'leadcrm_erasable_column', 'SELECT')",
                     [name, name]) == [(False, True)]
    finally:
        run_as_owner("DROP TABLE IF EXISTS leadcrm_erasable_column")
        run_as_owner("ALTER TABLE leadcrm_erasable_column_kept RENAME TO leadcrm_erasable_column")
