"""``manage.py backup_verify``: a backup is proven by restoring it (docs/database.md#backups).

Runs the real pg_dump and pg_restore on the test database, with rows in an append-only
table and an ordinary one; transactional, because pg_dump reads only committed rows.
"""

import io
import sqlite3

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from compliance.models import Channel, Purpose
from compliance.services import outreach_check
from leadcrm.management.commands import backup_verify
from leadcrm.management.commands.backup_verify import Inventory, differences

from ..leads.factories import LeadFactory

postgres_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="pg_dump needs PostgreSQL")


@pytest.fixture
def evidence(lead, agent):
    """A compliance check (append-only) and a few leads (ordinary rows), committed."""
    LeadFactory.create_batch(2, assigned_agent=agent, team=lead.team)
    return outreach_check(lead=lead, contact_point=lead.contacts.first().phones.first(), channel=Channel.CALL,
                          purpose=Purpose.LISTING, actor=agent, role_disclosed=True).check


def scratch_databases() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT datname FROM pg_database WHERE datname LIKE %s",
                       [f"{connection.settings_dict['NAME'][:40]}_restore_check_%"])
        return [name for (name,) in cursor.fetchall()]


@postgres_only
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_backup_is_dumped_restored_compared_and_the_scratch_database_dropped(evidence, tmp_path):
    out = io.StringIO()
    call_command("backup_verify", keep=str(tmp_path / "kept.dump"), verbosity=2, stdout=out)
    report = out.getvalue()
    assert "public.compliance_compliancecheck 1 1" in report
    assert "public.leads_lead 3 3" in report
    assert "Backup verified:" in report and "all the same in the restored copy" in report
    assert (tmp_path / "kept.dump").read_bytes()[:5] == b"PGDMP"  # pg_dump's custom format
    assert scratch_databases() == []


@postgres_only
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_backup_that_leaves_out_the_evidence_fails_and_keeps_nothing(evidence, tmp_path, monkeypatch):
    """A dump made with a table's rows left out (a mistaken option) is caught by the counts."""
    monkeypatch.setattr(backup_verify, "PG_DUMP_OPTIONS",
                        [*backup_verify.PG_DUMP_OPTIONS, "--exclude-table-data=compliance_compliancecheck*"])
    with pytest.raises(CommandError) as refused:
        call_command("backup_verify", keep=str(tmp_path / "kept.dump"), stdout=io.StringIO())
    assert "table public.compliance_compliancecheck: 1 rows in the database, 0 rows restored" in str(refused.value)
    assert not (tmp_path / "kept.dump").exists()
    assert scratch_databases() == []


def test_differences_name_every_missing_trigger_and_changed_function():
    source = Inventory(rows={"t": 2}, triggers={("t", "t_append_only"), ("u", "u_guard")},
                       functions={"f()": "a", "g()": "b"})
    restored = Inventory(rows={"t": 2, "new": 0}, triggers={("t", "t_append_only")}, functions={"f()": "c"})
    assert differences(source, restored) == [
        "table new: no such table in the database, 0 rows restored",
        "trigger u_guard on u is missing from the restored copy",
        "function f() has a different definition in the restored copy",
        "function g() is missing from the restored copy",
    ]
    assert differences(source, source) == []


def test_the_laptop_install_is_copied_with_sqlites_backup_api_and_compared(tmp_path):
    """On SQLite the same check runs on a copy made with the backup API."""
    path = tmp_path / "db.sqlite3"
    with sqlite3.connect(path) as db:
        db.executescript("CREATE TABLE evidence (id integer primary key, note text);"
                         "CREATE TRIGGER evidence_append_only BEFORE DELETE ON evidence "
                         "BEGIN SELECT RAISE(ABORT, 'append-only'); END;"
                         "INSERT INTO evidence (note) VALUES ('a'), ('b');")
    out = io.StringIO()
    source, restored = backup_verify.Command(stdout=out).verify_sqlite(str(path), tmp_path / "copy.sqlite3")
    assert source.rows == restored.rows == {"evidence": 2}
    assert restored.triggers == {("evidence", "evidence_append_only")}
    assert differences(source, restored) == []
    assert "SQLite backup API" in out.getvalue()
