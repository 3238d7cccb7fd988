"""The evidence tables' monthly partitions: made ahead, exported, and dropped past retention.

On PostgreSQL the gate's checks and the outreach log are partitioned by month (compliance
migration 0024, pipeline 0043). Each month ahead must exist before its first row, and a
month older than its table's retention leaves the database only as a gzip CSV in the
default storage whose checksum and row count were read back and matched first. The
retention of each table comes from ``LEADCRM_RETENTION_MONTHS`` and never goes under the
legal floor written here (docs/database.md#partitions, docs/compliance-rules.md#retention).
SQLite keeps plain tables: every function here does nothing there.

Partitioning is DDL, the tables' owner's alone (docs/database.md#roles): run as the runtime
role, the maintenance reports that it may not, and changes nothing.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import logging
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.utils import timezone

logger = logging.getLogger(__name__)

FIVE_YEARS = 60
# In our own words; the long form is docs/compliance-rules.md#retention.
CALL_RECORDS_SOURCE = (
    "the Telemarketing Sales Rule keeps call records five years (16 CFR 310.5, as amended in 2024); "
    "a TCPA claim may be brought for four (28 U.S.C. 1658)"
)


@dataclass(frozen=True)
class PartitionedTable:
    key: str
    table: str
    column: str
    floor_months: int
    floor_source: str
    # (table, column) pairs whose rows point at this table's ids with no foreign key
    # (none can point into a partitioned table): a month they still point into stays.
    referenced_by: tuple[tuple[str, str], ...] = field(default=())


# Attempts first: a month of checks stays while an attempt still points into it.
TABLES = {
    spec.key: spec
    for spec in (
        PartitionedTable(
            key="outreach_attempt", table="pipeline_outreachattempt", column="occurred_at",
            floor_months=FIVE_YEARS, floor_source=CALL_RECORDS_SOURCE,
            referenced_by=(("pipeline_outreachattempt", "corrects_id"),
                           ("pipeline_message", "attempt_id"),
                           ("pipeline_plansteprun", "attempt_id")),
        ),
        PartitionedTable(
            key="compliance_check", table="compliance_compliancecheck", column="checked_at",
            floor_months=FIVE_YEARS, floor_source=CALL_RECORDS_SOURCE,
            referenced_by=(("pipeline_outreachattempt", "compliance_check_id"),
                           ("pipeline_message", "compliance_check_id"),
                           ("compliance_consentrecord", "proof_message_id")),
        ),
    )
}

UNDER_FLOOR = ("LEADCRM_RETENTION_MONTHS sets {key} to {months} months, under the legal minimum of "
               "{floor} months ({source}). Keep it at {floor} or more.")
UNKNOWN_TABLE = "LEADCRM_RETENTION_MONTHS names {key!r}, which is not a partitioned table; known: {known}."
NOT_A_NUMBER = "LEADCRM_RETENTION_MONTHS: {item!r} is not key=months with a whole number of months."
NOT_OWNER = ("The {table} partitions belong to the tables' owner: run this with LEADCRM_DB_AS_OWNER=true "
             "(docs/database.md#partitions). Nothing was changed.")
EXPORT_DIR = "evidence-exports"


def parse_retention(value: str | dict | None) -> dict[str, int]:
    """``"compliance_check=72,outreach_attempt=60"`` (or a dict) to months per table, every
    table at least its floor; a table not named keeps its floor."""
    if isinstance(value, dict):
        items = list(value.items())
    else:
        items = []
        for item in (value or "").split(","):
            if not item.strip():
                continue
            key, sep, months = item.partition("=")
            if not sep or not months.strip().isdigit():
                raise ImproperlyConfigured(NOT_A_NUMBER.format(item=item.strip()))
            items.append((key.strip(), int(months)))
    retention = {key: spec.floor_months for key, spec in TABLES.items()}
    for key, months in items:
        spec = TABLES.get(key)
        if spec is None:
            raise ImproperlyConfigured(UNKNOWN_TABLE.format(key=key, known=", ".join(TABLES)))
        if int(months) < spec.floor_months:
            raise ImproperlyConfigured(UNDER_FLOOR.format(key=key, months=months, floor=spec.floor_months,
                                                          source=spec.floor_source))
        retention[key] = int(months)
    return retention


def retention_months() -> dict[str, int]:
    return parse_retention(getattr(settings, "LEADCRM_RETENTION_MONTHS", ""))


# Months ------------------------------------------------------------------------------------


def month_start(moment: datetime) -> datetime:
    moment = moment.astimezone(UTC)
    return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def add_months(moment: datetime, months: int) -> datetime:
    index = moment.year * 12 + moment.month - 1 + months
    return moment.replace(year=index // 12, month=index % 12 + 1)


def partition_name(spec: PartitionedTable, start: datetime) -> str:
    return f"{spec.table}_p{start:%Y%m}"


@dataclass
class Partition:
    name: str
    start: datetime | None  # None: the DEFAULT partition
    rows_estimate: int | None

    @property
    def end(self) -> datetime | None:
        return add_months(self.start, 1) if self.start else None


def is_partitioned(spec: PartitionedTable) -> bool:
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [spec.table])
        row = cursor.fetchone()
    return bool(row and row[0] == "p")


def partitions(spec: PartitionedTable) -> list[Partition]:
    """The table's partitions, oldest first, the DEFAULT one last, with the planner's row
    estimates (None until the partition was first analysed)."""
    if not is_partitioned(spec):
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, c.reltuples, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = %s::regclass ORDER BY c.relname",
            [spec.table])
        rows = cursor.fetchall()
    found, default = [], []
    for name, estimate, bound in rows:
        estimate = None if estimate < 0 else int(estimate)
        if bound == "DEFAULT":
            default.append(Partition(name, None, estimate))
        else:
            stamp = name.rsplit("_p", 1)[1]
            start = datetime(int(stamp[:4]), int(stamp[4:]), 1, tzinfo=UTC)
            found.append(Partition(name, start, estimate))
    return sorted(found, key=lambda p: p.start) + default


def _owns(spec: PartitionedTable) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_has_role(current_user, c.relowner, 'USAGE') FROM pg_class c "
                       "WHERE c.oid = %s::regclass", [spec.table])
        return bool(cursor.fetchone()[0])


def create_partition(spec: PartitionedTable, start: datetime) -> bool:
    """Create the month starting at ``start`` with its TRUNCATE guard (row triggers come
    from the parent; statement triggers do not). False when it already existed."""
    name = partition_name(spec, start)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [name])
        if cursor.fetchone()[0] is not None:
            return False
        end = add_months(start, 1)
        cursor.execute(
            f"CREATE TABLE {name} PARTITION OF {spec.table} "
            f"FOR VALUES FROM ('{start:%Y-%m-%d} 00:00:00+00') TO ('{end:%Y-%m-%d} 00:00:00+00')")
        cursor.execute(
            f"CREATE TRIGGER {name}_append_only_truncate BEFORE TRUNCATE ON {name} "
            "FOR EACH STATEMENT EXECUTE FUNCTION leadcrm_refuse_append_only_change()")
    return True


# Export ------------------------------------------------------------------------------------


@dataclass
class Export:
    name: str
    rows: int
    sha256: str
    manifest: str
    id_sum: int


def export_name(spec: PartitionedTable, start: datetime) -> str:
    return f"{EXPORT_DIR}/{spec.key}/{spec.key}-{start:%Y-%m}.csv.gz"


def _partition_facts(name: str) -> tuple[int, int]:
    """Row count and the sum of ids: what an export's file must hold the same of."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*), coalesce(sum(id), 0) FROM {name}")
        count, id_sum = cursor.fetchone()
    return int(count), int(id_sum)


def _file_facts(name: str) -> tuple[str, int, int]:
    """sha256 of the stored bytes, and the data rows and sum of their ids, read back."""
    digest = hashlib.sha256()
    with default_storage.open(name, "rb") as stored:
        for chunk in iter(lambda: stored.read(1 << 20), b""):
            digest.update(chunk)
    rows, id_sum = 0, 0
    with default_storage.open(name, "rb") as stored, gzip.open(stored, "rt", newline="", encoding="utf-8") as text:
        reader = csv.reader(text)
        header = next(reader)
        id_at = header.index("id")
        for row in reader:
            rows += 1
            id_sum += int(row[id_at])
    return digest.hexdigest(), rows, id_sum


def export_partition(spec: PartitionedTable, partition: Partition) -> Export:
    """Write the month as a gzip CSV (header, rows by id) to the default storage with a
    manifest beside it (rows, sha256, range, when), and read it back: the file's checksum
    and its rows must match the partition's, or it raises and nothing is dropped."""
    name = export_name(spec, partition.start)
    rows, id_sum = _partition_facts(partition.name)
    with tempfile.TemporaryFile() as spool:
        with gzip.GzipFile(fileobj=spool, mode="wb", mtime=0) as zipped:
            with connection.cursor() as cursor:
                cursor.copy_expert(f"COPY (SELECT * FROM {partition.name} ORDER BY id) TO STDOUT "
                                   "WITH (FORMAT csv, HEADER true)", zipped)
        spool.seek(0)
        digest = hashlib.sha256()
        for chunk in iter(lambda: spool.read(1 << 20), b""):
            digest.update(chunk)
        spool.seek(0)
        expected_sha = digest.hexdigest()
        if default_storage.exists(name):
            # An earlier run wrote it and stopped before the drop: keep that file, and hold it
            # to the checksum its manifest recorded (gzip may not repeat itself byte for byte).
            if default_storage.exists(f"{name}.json"):
                with default_storage.open(f"{name}.json", "rb") as recorded:
                    expected_sha = json.load(recorded)["sha256"]
            else:
                expected_sha = _file_facts(name)[0]
        else:
            name = default_storage.save(name, File(spool, name=name))
    stored_sha, stored_rows, stored_sum = _file_facts(name)
    if (stored_rows, stored_sum) != (rows, id_sum):
        raise RuntimeError(f"{name} read back {stored_rows} rows, the partition has {rows}: not dropped.")
    if stored_sha != expected_sha:
        raise RuntimeError(f"{name} read back with another checksum than was written: not dropped.")
    manifest = {
        "table": spec.table, "partition": partition.name, "column": spec.column,
        "from": partition.start.isoformat(), "to": partition.end.isoformat(),
        "rows": rows, "id_sum": id_sum, "sha256": stored_sha, "file": name,
        "exported_at": timezone.now().isoformat(),
    }
    manifest_name = f"{name}.json"
    if not default_storage.exists(manifest_name):
        default_storage.save(manifest_name, ContentFile(json.dumps(manifest, indent=2).encode()))
    return Export(name=name, rows=rows, sha256=stored_sha, manifest=manifest_name, id_sum=id_sum)


# Retention ---------------------------------------------------------------------------------


def cutoff(spec: PartitionedTable, now: datetime, months: int) -> datetime:
    """Months ending on or before this moment are past retention. Never later than the floor
    allows, whatever ``months`` says."""
    if months < spec.floor_months:
        raise ImproperlyConfigured(UNDER_FLOOR.format(key=spec.key, months=months, floor=spec.floor_months,
                                                      source=spec.floor_source))
    return add_months(month_start(now), -months)


def earliest_loggable(now: datetime | None = None) -> datetime:
    """The earliest moment a check or an attempt may still be recorded at: a row dated
    before it would land in a month past its table's retention, which the nightly run
    exports and drops (and which may be gone already)."""
    now = now or timezone.now()
    months = retention_months()
    return max(cutoff(spec, now, months[key]) for key, spec in TABLES.items())


def still_referenced(spec: PartitionedTable, partition: Partition) -> list[str]:
    """The tables that still point into this month (their rows stay, so must it)."""
    found = []
    with connection.cursor() as cursor:
        for table, column in spec.referenced_by:
            if table == spec.table:
                cursor.execute(
                    f"SELECT EXISTS (SELECT 1 FROM {table} r JOIN {partition.name} p ON r.{column} = p.id "
                    f"WHERE NOT (r.{spec.column} >= %s AND r.{spec.column} < %s))",
                    [partition.start, partition.end])
            else:
                cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {table} r JOIN {partition.name} p "
                               f"ON r.{column} = p.id)")
            if cursor.fetchone()[0]:
                found.append(f"{table}.{column}")
    return found


@dataclass
class Plan:
    spec: PartitionedTable
    retention: int
    to_create: list[datetime]
    to_drop: list[Partition]
    kept: list[tuple[Partition, str]]  # past retention but staying, and why
    partitions: list[Partition]


def plan(spec: PartitionedTable, *, now: datetime | None = None, ahead: int = 3,
         months: int | None = None) -> Plan:
    now = now or timezone.now()
    retention = months if months is not None else retention_months()[spec.key]
    present = partitions(spec)
    starts = {p.start for p in present if p.start}
    first = month_start(now)
    to_create = [add_months(first, n) for n in range(ahead + 1) if add_months(first, n) not in starts]
    limit = cutoff(spec, now, retention)
    to_drop, kept = [], []
    for partition in present:
        if partition.start is None or partition.end > limit:
            continue
        references = still_referenced(spec, partition)
        if references:
            kept.append((partition, "still referred to by " + ", ".join(references)))
        else:
            to_drop.append(partition)
    return Plan(spec, retention, to_create, to_drop, kept, present)


@dataclass
class Outcome:
    created: list[str] = field(default_factory=list)
    exported: list[Export] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def drop_partition(spec: PartitionedTable, partition: Partition, export: Export, *, now: datetime,
                   months: int) -> None:
    """Detach and drop one month, only with its verified export in hand and only past the
    retention, which is never under the floor."""
    if partition.start is None or partition.end > cutoff(spec, now, months):
        raise ImproperlyConfigured(f"{partition.name} is within the retention of {months} months; not dropped.")
    # DETACH first: it holds the table and the month (ACCESS EXCLUSIVE) until the end of this
    # transaction, so no row can land in the month or a reference point into it between the
    # counts below and the DROP. Any mismatch raises, rolling the DETACH back: the month stays.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {spec.table} DETACH PARTITION {partition.name}")
        rows, id_sum = _partition_facts(partition.name)
        if (rows, id_sum) != (export.rows, export.id_sum):
            raise RuntimeError(f"{partition.name} has {rows} rows (sum of ids {id_sum}), its export "
                               f"{export.rows} (sum of ids {export.id_sum}): not dropped.")
        references = still_referenced(spec, partition)
        if references:
            raise RuntimeError(f"{partition.name} is still referred to by {', '.join(references)}: not dropped.")
        cursor.execute(f"DROP TABLE {partition.name}")


def maintain(*, now: datetime | None = None, ahead: int = 3, keys: list[str] | None = None,
             dry_run: bool = False) -> dict[str, tuple[Plan, Outcome]]:
    """Create the months ahead, and export then drop the months past retention. Safe to run
    twice: months that exist are skipped, an export already stored is checked, not rewritten."""
    now = now or timezone.now()
    retention = retention_months()
    results = {}
    for key in keys or list(TABLES):
        spec = TABLES[key]
        if not is_partitioned(spec):
            continue
        months = retention[key]
        current = plan(spec, now=now, ahead=ahead, months=months)
        outcome = Outcome()
        results[key] = (current, outcome)
        if dry_run:
            continue
        if not _owns(spec):
            outcome.problems.append(NOT_OWNER.format(table=spec.table))
            logger.error(NOT_OWNER.format(table=spec.table))
            continue
        for start in current.to_create:
            try:
                if create_partition(spec, start):
                    outcome.created.append(partition_name(spec, start))
            except Exception as error:  # noqa: BLE001 - rows in the DEFAULT partition: say so, go on
                outcome.problems.append(f"{partition_name(spec, start)} not created: {error}")
                logger.error("%s not created: %s", partition_name(spec, start), error)
        for partition in current.to_drop:
            try:
                export = export_partition(spec, partition)
                outcome.exported.append(export)
                drop_partition(spec, partition, export, now=now, months=months)
                outcome.dropped.append(partition.name)
            except Exception as error:  # noqa: BLE001 - one month failing leaves the others to run
                outcome.problems.append(f"{partition.name} kept: {error}")
                logger.error("%s kept: %s", partition.name, error)
    return results


def describe(results: dict[str, tuple[Plan, Outcome]], *, dry_run: bool) -> str:
    out = io.StringIO()
    for key, (current, outcome) in results.items():
        spec = current.spec
        out.write(f"{spec.table} ({key}): by {spec.column}, retention {current.retention} months "
                  f"(floor {spec.floor_months})\n")
        for partition in current.partitions:
            label = partition.start.strftime("%Y-%m") if partition.start else "DEFAULT"
            estimate = "?" if partition.rows_estimate is None else f"~{partition.rows_estimate}"
            out.write(f"  {partition.name:48} {label:8} rows {estimate}\n")
        verb = "would" if dry_run else "to"
        for start in current.to_create:
            out.write(f"  {verb} create {partition_name(spec, start)}\n")
        for partition in current.to_drop:
            out.write(f"  {verb} export to {export_name(spec, partition.start)} then drop {partition.name}\n")
        for partition, why in current.kept:
            out.write(f"  kept past retention: {partition.name}, {why}\n")
        for name in outcome.created:
            out.write(f"  created {name}\n")
        for export in outcome.exported:
            out.write(f"  exported {export.rows} rows to {export.name} (sha256 {export.sha256})\n")
        for name in outcome.dropped:
            out.write(f"  dropped {name}\n")
        for problem in outcome.problems:
            out.write(f"  PROBLEM: {problem}\n")
    return out.getvalue() or "No partitioned tables here (SQLite keeps plain tables).\n"
