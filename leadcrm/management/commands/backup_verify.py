"""Prove a backup restores: dump, restore into a scratch database, compare, drop it.

A backup nobody has restored is a hope (docs/database.md#backups). This dumps the
database with pg_dump (custom format, what the nightly backup should run), restores it
with pg_restore into a new scratch database on the same server, and compares the two:
the exact row count of every table, the triggers (name and table; the append-only
guards among them) and the functions (signature and definition). Any difference, or any
error from pg_dump or pg_restore, exits non-zero. The scratch database is always dropped.

The counts are taken in the same snapshot pg_dump reads (``pg_export_snapshot``), so the
check is exact on a live database that keeps taking writes while it runs.
"""

import hashlib
import os
import shutil
import sqlite3
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg2
import psycopg2.errors
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

# What the nightly backup runs too (docs/database.md#backups); tests add to it.
PG_DUMP_OPTIONS = ["--format=custom", "--no-password"]
PG_RESTORE_OPTIONS = ["--exit-on-error", "--no-owner", "--no-password"]
USER_SCHEMAS = "n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%' " \
               "AND n.nspname NOT LIKE 'pg_temp%'"


@dataclass
class Inventory:
    """What must be the same in a database and its restored copy."""

    rows: dict[str, int] = field(default_factory=dict)
    triggers: set[tuple[str, str]] = field(default_factory=set)
    functions: dict[str, str] = field(default_factory=dict)  # signature -> digest of its definition


def inventory_postgres(cursor) -> Inventory:
    found = Inventory()
    cursor.execute(f"SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                   f"WHERE c.relkind IN ('r', 'p') AND {USER_SCHEMAS} ORDER BY 1, 2")
    for schema, table in cursor.fetchall():
        cursor.execute(f'SELECT count(*) FROM "{schema}"."{table}"')
        found.rows[f"{schema}.{table}"] = cursor.fetchone()[0]
    cursor.execute(f"SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                   f"JOIN pg_namespace n ON n.oid = c.relnamespace WHERE NOT t.tgisinternal AND {USER_SCHEMAS}")
    found.triggers = set(cursor.fetchall())
    cursor.execute(f"SELECT p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')', "
                   f"pg_get_functiondef(p.oid) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                   f"WHERE p.prokind IN ('f', 'p') AND {USER_SCHEMAS}")
    found.functions = {name: hashlib.sha256(body.encode()).hexdigest() for name, body in cursor.fetchall()}
    return found


def inventory_sqlite(conn: sqlite3.Connection) -> Inventory:
    found = Inventory()
    tables = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
                          "ORDER BY name").fetchall()
    for (table,) in tables:
        found.rows[table] = conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
    found.triggers = set(conn.execute("SELECT tbl_name, name FROM sqlite_master WHERE type = 'trigger'").fetchall())
    return found


def differences(source: Inventory, restored: Inventory) -> list[str]:
    """Every way the restored copy differs from the source, one plain line each."""
    found = []
    for table in sorted(source.rows.keys() | restored.rows.keys()):
        before, after = source.rows.get(table), restored.rows.get(table)
        if before != after:
            found.append(f"table {table}: {_rows(before)} in the database, {_rows(after)} restored")
    for table, trigger in sorted(source.triggers - restored.triggers):
        found.append(f"trigger {trigger} on {table} is missing from the restored copy")
    for table, trigger in sorted(restored.triggers - source.triggers):
        found.append(f"trigger {trigger} on {table} is in the restored copy only")
    for name in sorted(source.functions.keys() | restored.functions.keys()):
        if name not in restored.functions:
            found.append(f"function {name} is missing from the restored copy")
        elif name not in source.functions:
            found.append(f"function {name} is in the restored copy only")
        elif source.functions[name] != restored.functions[name]:
            found.append(f"function {name} has a different definition in the restored copy")
    return found


def _rows(count: int | None) -> str:
    return "no such table" if count is None else f"{count:,} rows"


def _megabytes(path: Path) -> str:
    return f"{path.stat().st_size / 1_000_000:.1f} MB"


class Command(BaseCommand):
    help = ("Dump the database, restore the dump into a scratch database, and compare every table's row "
            "count, the triggers and the functions. Exits non-zero on any difference.")

    def add_arguments(self, parser):
        parser.add_argument("--keep", metavar="DUMPFILE",
                            help="Keep the verified dump at this path (it is deleted otherwise).")

    def handle(self, *args, keep, verbosity, **options):
        with tempfile.TemporaryDirectory(prefix="leadcrm-backup-") as folder:
            if connection.vendor == "postgresql":
                dump = Path(folder) / "leadcrm.dump"
                source, restored = self.verify_postgres(dump)
            elif connection.vendor == "sqlite":
                dump = Path(folder) / "leadcrm.sqlite3"
                source, restored = self.verify_sqlite(str(connection.settings_dict["NAME"]), dump)
            else:
                raise CommandError(f"backup_verify knows PostgreSQL and SQLite, not {connection.vendor}.")
            if verbosity >= 2:
                for table, count in source.rows.items():
                    self.stdout.write(f"  {table} {count} {restored.rows.get(table)}")
            problems = differences(source, restored)
            if keep and not problems:
                shutil.copyfile(dump, keep)
        summary = (f"{len(source.rows)} tables, {sum(source.rows.values()):,} rows, {len(source.triggers)} "
                   f"triggers, {len(source.functions)} functions")
        if problems:
            raise CommandError("The backup did NOT restore to the same database (" + summary + " in the source):\n- "
                               + "\n- ".join(problems)
                               + "\nDo not rely on this backup method until this is fixed; nothing was kept.")
        self.stdout.write(self.style.SUCCESS(
            f"Backup verified: {summary}, all the same in the restored copy."
            + (f" Dump kept at {keep}." if keep else "")))

    # PostgreSQL -------------------------------------------------------------------------

    def verify_postgres(self, dump: Path) -> tuple[Inventory, Inventory]:
        settings = connection.settings_dict
        env = {**os.environ, "PGHOST": settings["HOST"] or "", "PGPORT": str(settings["PORT"] or ""),
               "PGUSER": settings["USER"] or "", "PGPASSWORD": settings["PASSWORD"] or ""}
        env = {key: value for key, value in env.items() if value != "" or not key.startswith("PG")}
        database = settings["NAME"]
        scratch = f"{database[:40]}_restore_check_{os.getpid()}"

        source_conn = self._connect(database)
        try:
            with source_conn.cursor() as cursor:
                cursor.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                cursor.execute("SELECT pg_export_snapshot()")
                snapshot = cursor.fetchone()[0]
                source = inventory_postgres(cursor)
                started = time.monotonic()
                self._run(["pg_dump", *PG_DUMP_OPTIONS, f"--snapshot={snapshot}", f"--file={dump}", database], env)
                self.stdout.write(f"Dumped {database}: {_megabytes(dump)} in {time.monotonic() - started:.1f} s.")
                cursor.execute("COMMIT")
        finally:
            source_conn.close()

        admin = self._connect("postgres")
        admin.autocommit = True
        try:
            with admin.cursor() as cursor:
                cursor.execute(f'DROP DATABASE IF EXISTS "{scratch}"')
                try:
                    cursor.execute(f'CREATE DATABASE "{scratch}" TEMPLATE template0')
                except psycopg2.errors.InsufficientPrivilege as refused:
                    raise CommandError(
                        f"{settings['USER']} may not create the scratch database to restore into. Run this as "
                        "the tables' owner with CREATEDB (LEADCRM_DB_AS_OWNER=true, as make backup-verify "
                        "does) or as postgres. The backup is NOT verified.") from refused
            try:
                started = time.monotonic()
                self._run(["pg_restore", *PG_RESTORE_OPTIONS, f"--dbname={scratch}", str(dump)], env)
                self.stdout.write(f"Restored into the scratch database {scratch} in "
                                  f"{time.monotonic() - started:.1f} s.")
                restored_conn = self._connect(scratch)
                try:
                    with restored_conn.cursor() as cursor:
                        restored = inventory_postgres(cursor)
                finally:
                    restored_conn.close()
            finally:
                with admin.cursor() as cursor:
                    cursor.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
                self.stdout.write(f"Dropped {scratch}.")
        finally:
            admin.close()
        return source, restored

    def _connect(self, database: str):
        settings = connection.settings_dict
        return psycopg2.connect(dbname=database, host=settings["HOST"] or None, port=settings["PORT"] or None,
                                user=settings["USER"] or None, password=settings["PASSWORD"] or None)

    def _run(self, command: list[str], env: dict) -> None:
        result = subprocess.run(command, env=env, capture_output=True, text=True)
        if result.returncode != 0:
            raise CommandError(f"{command[0]} failed (exit {result.returncode}); the backup is NOT verified:\n"
                               f"{result.stderr.strip()}")

    # SQLite -----------------------------------------------------------------------------

    def verify_sqlite(self, path: str, copy: Path) -> tuple[Inventory, Inventory]:
        """The laptop install: a consistent copy with SQLite's backup API (safe while the app
        writes), then the same comparison, on a read of the live file inside one transaction."""
        if path == ":memory:" or "mode=memory" in path:
            raise CommandError("This database lives in memory: there is no file to back up.")
        source_conn = sqlite3.connect(path)
        try:
            source_conn.execute("BEGIN")  # a read transaction: the counts and the copy see the same rows
            source = inventory_sqlite(source_conn)
            target = sqlite3.connect(copy)
            try:
                source_conn.backup(target)
            finally:
                target.close()
            source_conn.execute("COMMIT")
        finally:
            source_conn.close()
        restored_conn = sqlite3.connect(copy)
        try:
            restored = inventory_sqlite(restored_conn)
        finally:
            restored_conn.close()
        self.stdout.write(f"Copied {path}: {_megabytes(copy)} (SQLite backup API).")
        return source, restored
