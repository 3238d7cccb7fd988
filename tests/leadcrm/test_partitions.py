"""The evidence tables partitioned by month: rows land in their month, the months ahead are
made by the nightly task, the append-only guard holds on every partition, and a month past
retention leaves only as a verified export (docs/database.md#partitions)."""

from __future__ import annotations

import csv
import gzip
import importlib
import json
import types
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import default_storage
from django.db import DatabaseError, IntegrityError, connection, transaction

from compliance.models import Channel, CheckMode, ComplianceCheck, Purpose, Verdict
from compliance.services import outreach_check
from leadcrm.shared import health, partitions
from leadcrm.shared.append_only import privacy_erasure
from leadcrm.shared.partitions import TABLES
from leadcrm.tasks import evidence_partitions_maintain
from pipeline.models import OutreachAttempt
from pipeline.outreach.services import outreach_log

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql",
                       reason="declarative partitions exist on PostgreSQL only; SQLite keeps plain tables"),
]

CHECKS = TABLES["compliance_check"]
ATTEMPTS = TABLES["outreach_attempt"]
NOW = datetime(2026, 11, 18, 20, 0, tzinfo=UTC)  # tests/conftest.py OFFICE_HOURS
OLD_MONTH = datetime(2020, 3, 1, tzinfo=UTC)  # 80 months before NOW: past the five-year floor


def home_partition(table: str, pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT tableoid::regclass::text FROM {table} WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def exists(name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
        return cursor.fetchone()[0]


def check_on(lead, agent, at: datetime, contact_point: str = "+19185550100") -> ComplianceCheck:
    """A check row dated ``at``, as the gate would have written it then."""
    return ComplianceCheck.objects.create(
        checked_at=at, actor=agent, lead=lead, channel=Channel.CALL, purpose=Purpose.LISTING,
        contact_point=contact_point, mode=CheckMode.LOG, verdict=Verdict.ALLOW, rule_ids=[], findings=[],
    )


def allowed_call(lead, agent, **kwargs) -> OutreachAttempt:
    return outreach_log(lead=lead, channel=Channel.CALL, contact_point=lead.contacts.first().phones.first(),
                        outcome="no_answer", actor=agent, role_disclosed=True, **kwargs)


@pytest.fixture
def old_month(lead, agent):
    """Three checks in a month 80 months back, in a partition of their own."""
    partitions.create_partition(CHECKS, OLD_MONTH)
    rows = [check_on(lead, agent, OLD_MONTH + timedelta(days=day), f"+1918555{day:04d}") for day in (2, 9, 27)]
    # As if committed long ago: no deferred foreign-key check left pending (a table with one
    # cannot be dropped in the same transaction).
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    return rows


# Rows land in their month ---------------------------------------------------------------


def test_the_task_makes_this_month_and_three_ahead_and_rows_land_in_their_month(lead, agent):
    # given the migration's months (made on the real date), then the nightly task now
    evidence_partitions_maintain()
    for n in range(4):
        assert exists(partitions.partition_name(CHECKS, partitions.add_months(datetime(2026, 11, 1, tzinfo=UTC), n)))
    # when a call is logged through the gate
    attempt = allowed_call(lead, agent)
    # then its check and the attempt sit in November's partitions
    assert home_partition(CHECKS.table, attempt.compliance_check_id) == "compliance_compliancecheck_p202611"
    assert home_partition(ATTEMPTS.table, attempt.pk) == "pipeline_outreachattempt_p202611"


def test_a_check_dated_months_ahead_has_its_partition_once_the_task_ran_then(lead, agent):
    later = datetime(2031, 6, 15, 18, 0, tzinfo=UTC)
    assert not exists("compliance_compliancecheck_p203106")
    with time_machine.travel(later, tick=False):
        before = outreach_check(lead=lead, contact_point=lead.contacts.first().phones.first(), channel=Channel.CALL,
                                purpose=Purpose.LISTING, actor=agent, role_disclosed=True).check
        evidence_partitions_maintain()
    # A row with no month of its own waited in the DEFAULT partition; from now on the month is there.
    assert home_partition(CHECKS.table, before.pk) == "compliance_compliancecheck_default"
    ahead = check_on(lead, agent, later + timedelta(days=60))
    assert home_partition(CHECKS.table, ahead.pk) == "compliance_compliancecheck_p203108"


def test_a_month_whose_rows_wait_in_the_default_partition_is_reported_not_forced(lead, agent):
    check_on(lead, agent, datetime(2033, 1, 5, tzinfo=UTC))
    with time_machine.travel(datetime(2032, 12, 20, tzinfo=UTC), tick=False):
        results = partitions.maintain(keys=["compliance_check"])
    (_, outcome) = results["compliance_check"]
    assert "compliance_compliancecheck_p203212" in outcome.created
    assert any("compliance_compliancecheck_p203301" in problem for problem in outcome.problems)


# The append-only guard on every partition ----------------------------------------------------


@pytest.mark.parametrize("statement", [
    "UPDATE {table} SET verdict = 'block' WHERE id = %s",
    "DELETE FROM {table} WHERE id = %s",
])
@pytest.mark.parametrize("through", ["parent", "partition"])
def test_update_and_delete_are_refused_on_a_row_in_a_new_partition(statement, through, lead, agent):
    partitions.create_partition(CHECKS, datetime(2034, 2, 1, tzinfo=UTC))
    row = check_on(lead, agent, datetime(2034, 2, 10, tzinfo=UTC))
    table = CHECKS.table if through == "parent" else "compliance_compliancecheck_p203402"
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement.format(table=table), [row.pk])


def test_truncate_is_refused_on_a_partition_made_by_the_task(lead, agent):
    partitions.create_partition(CHECKS, datetime(2034, 3, 1, tzinfo=UTC))
    check_on(lead, agent, datetime(2034, 3, 10, tzinfo=UTC))
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the new row's deferred checks first
        cursor.execute("SET LOCAL leadcrm.truncate_allowed = 'off'")
        cursor.execute("TRUNCATE compliance_compliancecheck_p203403")


def test_an_erasure_still_redacts_the_personal_columns_of_a_partitioned_row_and_nothing_else(lead, agent):
    attempt = allowed_call(lead, agent, notes="Spoke to Zenobia at 918 555 0187")
    check = attempt.compliance_check
    assert home_partition(CHECKS.table, check.pk) != CHECKS.table
    with transaction.atomic(), privacy_erasure():
        ComplianceCheck.objects.filter(pk=check.pk).redact(contact_point="[erased]", evidence={})
        OutreachAttempt.objects.filter(pk=attempt.pk).redact(contact_point="[erased]", notes="[erased]")
    check.refresh_from_db()
    attempt.refresh_from_db()
    assert (check.contact_point, check.evidence, check.verdict) == ("[erased]", {}, Verdict.ALLOW)
    assert (attempt.contact_point, attempt.notes) == ("[erased]", "[erased]")
    # The door the erasure opens lets nothing else through on a partition either.
    with pytest.raises(DatabaseError, match="only replace a person's details"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL leadcrm.privacy_erasure = 'on'")
            cursor.execute(f"UPDATE {CHECKS.table} SET verdict = 'block' WHERE id = %s", [check.pk])


# The gate end to end --------------------------------------------------------------------------


def test_the_gate_logs_an_attempt_on_its_check_and_one_check_takes_one_attempt(lead, agent):
    attempt = allowed_call(lead, agent)
    assert attempt.compliance_check.verdict == Verdict.ALLOW
    assert OutreachAttempt.objects.get(compliance_check=attempt.compliance_check) == attempt
    with pytest.raises(IntegrityError, match="compliance_check_id"), transaction.atomic():
        OutreachAttempt.objects.create(
            lead=lead, agent=agent, compliance_check=attempt.compliance_check, channel=Channel.CALL,
            purpose=Purpose.LISTING, outcome="no_answer", role_disclosed=True, contact_point=attempt.contact_point,
        )


# Retention and its floor ----------------------------------------------------------------------


def test_retention_under_the_floor_is_refused_naming_the_floor_and_its_source():
    with pytest.raises(ImproperlyConfigured) as refused:
        partitions.parse_retention("compliance_check=59")
    assert "legal minimum of 60 months" in str(refused.value)
    assert "16 CFR 310.5" in str(refused.value)
    assert partitions.parse_retention("outreach_attempt=72") == {"outreach_attempt": 72, "compliance_check": 60}
    with pytest.raises(ImproperlyConfigured, match="not a partitioned table"):
        partitions.parse_retention("calls=80")


def test_the_task_refuses_to_run_under_the_floor_and_keeps_every_month(old_month, settings):
    settings.LEADCRM_RETENTION_MONTHS = "compliance_check=12"
    with pytest.raises(ImproperlyConfigured, match="legal minimum"):
        evidence_partitions_maintain()
    assert exists("compliance_compliancecheck_p202003")
    with pytest.raises(ImproperlyConfigured, match="legal minimum"):
        partitions.drop_partition(CHECKS, partitions.partitions(CHECKS)[0],
                                  partitions.Export("x", 3, "x", "x", 0), now=NOW, months=12)


def test_a_month_within_retention_is_neither_exported_nor_dropped(lead, agent, settings):
    settings.LEADCRM_RETENTION_MONTHS = "compliance_check=100"
    partitions.create_partition(CHECKS, OLD_MONTH)
    check_on(lead, agent, OLD_MONTH + timedelta(days=3))
    evidence_partitions_maintain()
    assert exists("compliance_compliancecheck_p202003")
    assert not default_storage.exists(partitions.export_name(CHECKS, OLD_MONTH))


# Export before drop ---------------------------------------------------------------------------


def test_a_month_past_retention_is_exported_with_its_rows_then_dropped(old_month):
    other = old_month[0].lead
    results = partitions.maintain(keys=["compliance_check"])
    (_, outcome) = results["compliance_check"]
    assert outcome.dropped == ["compliance_compliancecheck_p202003"] and not outcome.problems
    name = partitions.export_name(CHECKS, OLD_MONTH)
    with default_storage.open(name, "rb") as stored, gzip.open(stored, "rt", newline="") as text:
        rows = list(csv.DictReader(text))
    assert [int(row["id"]) for row in rows] == [check.pk for check in old_month]
    assert rows[1]["contact_point"] == "+19185550009" and rows[1]["lead_id"] == str(other.pk)
    manifest = json.loads(default_storage.open(f"{name}.json").read())
    assert manifest["rows"] == 3 and len(manifest["sha256"]) == 64
    assert not exists("compliance_compliancecheck_p202003")
    assert not ComplianceCheck.objects.filter(pk__in=[check.pk for check in old_month]).exists()


def test_nothing_is_dropped_when_the_export_does_not_read_back_the_same(old_month, monkeypatch):
    real = partitions._file_facts
    monkeypatch.setattr(partitions, "_file_facts", lambda name: (*real(name)[:1], 2, 0))
    (_, outcome) = partitions.maintain(keys=["compliance_check"])["compliance_check"]
    assert not outcome.dropped and "read back 2 rows" in outcome.problems[0]
    assert exists("compliance_compliancecheck_p202003")
    assert ComplianceCheck.objects.filter(pk=old_month[0].pk).exists()


def test_nothing_is_dropped_when_the_export_cannot_be_stored(old_month, monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(default_storage, "save", refuse)
    (_, outcome) = partitions.maintain(keys=["compliance_check"])["compliance_check"]
    assert not outcome.dropped and "disk full" in outcome.problems[0]
    assert exists("compliance_compliancecheck_p202003")


def test_a_month_of_checks_an_attempt_still_points_into_is_kept(old_month, lead, agent):
    # An attempt logged now on a check of the old month (the one-to-one has no foreign key
    # into a partitioned table, so the maintenance itself keeps the month while it is used).
    OutreachAttempt.objects.create(
        lead=lead, agent=agent, compliance_check=old_month[0], channel=Channel.CALL, purpose=Purpose.LISTING,
        outcome="no_answer", role_disclosed=True, contact_point=old_month[0].contact_point,
    )
    (current, outcome) = partitions.maintain(keys=["compliance_check"])["compliance_check"]
    assert not current.to_drop and not outcome.dropped
    assert current.kept[0][1] == "still referred to by pipeline_outreachattempt.compliance_check_id"
    assert exists("compliance_compliancecheck_p202003")


def test_running_twice_and_after_a_stop_between_export_and_drop_keeps_one_file(old_month, monkeypatch):
    real_drop = partitions.drop_partition

    def stop(*args, **kwargs):
        raise RuntimeError("worker lost")

    monkeypatch.setattr(partitions, "drop_partition", stop)
    (_, first) = partitions.maintain(keys=["compliance_check"])["compliance_check"]
    assert first.exported and not first.dropped
    monkeypatch.setattr(partitions, "drop_partition", real_drop)
    (_, second) = partitions.maintain(keys=["compliance_check"])["compliance_check"]
    assert second.dropped == ["compliance_compliancecheck_p202003"]
    assert second.exported[0].sha256 == first.exported[0].sha256
    (_, third) = partitions.maintain(keys=["compliance_check"])["compliance_check"]
    assert not (third.created or third.exported or third.dropped or third.problems)
    _, files = default_storage.listdir(f"{partitions.EXPORT_DIR}/compliance_check")
    assert sorted(files) == ["compliance_check-2020-03.csv.gz", "compliance_check-2020-03.csv.gz.json"]


def test_a_month_whose_rows_differ_from_its_export_by_id_is_not_dropped(old_month):
    (current, _) = partitions.maintain(keys=["compliance_check"], dry_run=True)["compliance_check"]
    export = partitions.export_partition(CHECKS, current.to_drop[0])
    # As many rows as the export holds, but not the same ones.
    other = partitions.Export(export.name, export.rows, export.sha256, export.manifest, export.id_sum + 1)
    with pytest.raises(RuntimeError, match="sum of ids"):
        partitions.drop_partition(CHECKS, current.to_drop[0], other, now=NOW, months=60)
    assert exists("compliance_compliancecheck_p202003")
    assert home_partition(CHECKS.table, old_month[0].pk) == "compliance_compliancecheck_p202003"  # attached


def test_a_reference_made_after_the_plan_keeps_the_month(old_month, lead, agent):
    (current, _) = partitions.maintain(keys=["compliance_check"], dry_run=True)["compliance_check"]
    export = partitions.export_partition(CHECKS, current.to_drop[0])
    # Between the plan and the drop, an attempt comes to point into the month.
    OutreachAttempt.objects.create(
        lead=lead, agent=agent, compliance_check=old_month[1], channel=Channel.CALL, purpose=Purpose.LISTING,
        outcome="no_answer", role_disclosed=True, contact_point=old_month[1].contact_point,
    )
    with pytest.raises(RuntimeError, match="still referred to by pipeline_outreachattempt.compliance_check_id"):
        partitions.drop_partition(CHECKS, current.to_drop[0], export, now=NOW, months=60)
    assert home_partition(CHECKS.table, old_month[1].pk) == "compliance_compliancecheck_p202003"


# Months ahead, seen from the readiness check --------------------------------------------------


def test_the_migrations_make_a_year_ahead_and_readiness_says_so():
    # The migrations ran on the real date, a month or so past the tests' NOW at most.
    for spec in (CHECKS, ATTEMPTS):
        assert partitions.partitions(spec)[-2].start >= partitions.add_months(partitions.month_start(NOW), 12)
    result = health.check_partitions()
    assert result["months_ahead"][CHECKS.table] >= 12
    assert result["months_ahead"][ATTEMPTS.table] >= 12


def test_readiness_fails_the_partitions_when_fewer_than_two_months_are_ahead():
    with time_machine.travel(timezone_now_plus_months(24), tick=False):
        with pytest.raises(health.CheckFailed, match="fewer than 2: run evidence_partitions as the tables' owner"):
            health.check_partitions()
        health._answer = None
        body = health.readiness()[1]
    health._answer = None
    assert not body["partitions"]["ok"] and not body["partitions"]["required"]


def test_readiness_fails_the_partitions_when_the_default_partition_holds_rows(lead, agent):
    check_on(lead, agent, datetime(2036, 5, 5, tzinfo=UTC))
    with pytest.raises(health.CheckFailed, match="compliance_compliancecheck_default holds rows"):
        health.check_partitions()


def timezone_now_plus_months(months: int) -> datetime:
    return partitions.add_months(partitions.month_start(datetime.now(UTC)), months) + timedelta(days=3)


# The rebuild keeps the ids' sequence past every id it ever handed out --------------------------


@pytest.mark.parametrize("migration", ["compliance.migrations.0024_checks_partitioned_by_month",
                                       "pipeline.migrations.0043_outreach_log_partitioned_by_month"])
@pytest.mark.parametrize("id_column", ["bigint GENERATED BY DEFAULT AS IDENTITY", "bigserial"])
def test_the_rebuild_never_hands_out_an_id_twice(migration, id_column):
    rebuild = importlib.import_module(migration).partition_by_month("scratch_evidence", "checked_at").code
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE scratch_evidence (id {id_column} PRIMARY KEY, checked_at timestamptz NOT NULL)")
        cursor.execute("INSERT INTO scratch_evidence (checked_at) SELECT now() FROM generate_series(1, 3)")
        # Two ids handed out to inserts that rolled back: no row holds them, and none may again.
        cursor.execute("SELECT nextval(pg_get_serial_sequence('scratch_evidence', 'id')) FROM generate_series(1, 2)")
    rebuild(None, types.SimpleNamespace(connection=connection))
    with connection.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE oid = 'scratch_evidence'::regclass")
        assert cursor.fetchone()[0] == "p"
        cursor.execute("INSERT INTO scratch_evidence (checked_at) VALUES (now()) RETURNING id")
        assert cursor.fetchone()[0] == 6
        cursor.execute("SELECT pg_get_serial_sequence('scratch_evidence', 'id')")
        assert cursor.fetchone()[0] == "public.scratch_evidence_id_seq"
