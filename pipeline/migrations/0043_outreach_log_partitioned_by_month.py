import django.db.models.deletion
from django.db import migrations, models

# docs/database.md#partitions. The same rebuild as compliance 0024 (which also taught the
# append-only function to find a partition's root table), copied here, not imported, so
# later edits elsewhere never change history.

TABLE = "pipeline_outreachattempt"
# The call's date: what retention counts from, and what the lead's and agent's pages sort on.
COLUMN = "occurred_at"
# A year: if the nightly task cannot make months (run as the runtime role, it may not),
# /healthz/ready says so long before the rows reach the DEFAULT partition.
MONTHS_AHEAD = 12


def _month_start(value):
    return value.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _next_month(value):
    return value.replace(year=value.year + 1, month=1) if value.month == 12 else value.replace(month=value.month + 1)


def _create_partition(cursor, table, start):
    """One month's partition with the TRUNCATE guard of its own: statement triggers are not
    cloned to partitions, row triggers are (PostgreSQL 13 and later)."""
    name = f"{table}_p{start:%Y%m}"
    cursor.execute(
        f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF {table} "
        f"FOR VALUES FROM ('{start:%Y-%m-%d} 00:00:00+00') TO ('{_next_month(start):%Y-%m-%d} 00:00:00+00')"
    )
    cursor.execute(
        f"CREATE TRIGGER {name}_append_only_truncate BEFORE TRUNCATE ON {name} "
        "FOR EACH STATEMENT EXECUTE FUNCTION leadcrm_refuse_append_only_change()"
    )


def partition_by_month(table, column, unique_by_trigger=()):
    """Rebuild ``table`` as ``PARTITION BY RANGE (column)``: same columns, defaults and
    identity, every month present plus MONTHS_AHEAD and a DEFAULT partition, the rows moved,
    then the indexes, outgoing foreign keys and triggers as they were. The primary key
    becomes (id, column); a unique column in ``unique_by_trigger`` keeps its uniqueness by
    a trigger, since a unique index there would have to include ``column``."""

    def forward(apps, schema_editor):
        connection = schema_editor.connection
        if connection.vendor != "postgresql":
            return
        from django.utils import timezone

        old = f"{table}_unpartitioned"
        with connection.cursor() as cursor:
            cursor.execute("SELECT relkind FROM pg_class WHERE oid = %s::regclass", [table])
            if cursor.fetchone()[0] == "p":
                return
            cursor.execute(
                "SELECT pg_get_indexdef(indexrelid), indisunique FROM pg_index "
                "WHERE indrelid = %s::regclass AND NOT indisprimary ORDER BY indexrelid", [table])
            indexes = cursor.fetchall()
            cursor.execute(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = %s::regclass AND contype IN ('f', 'c') AND confrelid <> %s::regclass "
                "ORDER BY conname", [table, table])
            constraints = cursor.fetchall()
            cursor.execute("SELECT conname, conrelid::regclass::text FROM pg_constraint "
                           "WHERE confrelid = %s::regclass AND contype = 'f'", [table])
            incoming = cursor.fetchall()
            cursor.execute("SELECT pg_get_triggerdef(oid) FROM pg_trigger "
                           "WHERE tgrelid = %s::regclass AND NOT tgisinternal ORDER BY tgname", [table])
            triggers = [row[0] for row in cursor.fetchall()]
            cursor.execute(f"SELECT min({column}), max({column}), max(id) FROM {table}")
            first, last, max_id = cursor.fetchone()
            # Ids are never handed out twice: the new sequence starts past the old one's last
            # value (rolled-back inserts used ids no row holds), not past the highest id.
            cursor.execute("SELECT attidentity FROM pg_attribute WHERE attrelid = %s::regclass AND attname = 'id'",
                           [table])
            (identity,) = cursor.fetchone()
            cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
            (old_sequence,) = cursor.fetchone()
            if old_sequence is None:
                raise RuntimeError(f"{table}.id has no sequence of its own (neither identity nor serial): "
                                   "set one up before partitioning it (docs/database.md#partitions).")
            cursor.execute(f"SELECT CASE WHEN is_called THEN last_value END FROM {old_sequence}")
            (last_value,) = cursor.fetchone()

            # Every model pointing here says db_constraint=False from now on.
            for name, referrer in incoming:
                cursor.execute(f'ALTER TABLE {referrer} DROP CONSTRAINT "{name}"')
            cursor.execute(f"ALTER TABLE {table} RENAME TO {old}")
            cursor.execute(
                f"CREATE TABLE {table} (LIKE {old} INCLUDING DEFAULTS INCLUDING IDENTITY) "
                f"PARTITION BY RANGE ({column})")
            now = timezone.now()
            month = _month_start(min(first or now, now))
            end = _month_start(max(last or now, now))
            for _ in range(MONTHS_AHEAD):
                end = _next_month(end)
            while month <= end:
                _create_partition(cursor, table, month)
                month = _next_month(month)
            cursor.execute(f"CREATE TABLE {table}_default PARTITION OF {table} DEFAULT")
            cursor.execute(
                f"CREATE TRIGGER {table}_default_append_only_truncate BEFORE TRUNCATE ON {table}_default "
                "FOR EACH STATEMENT EXECUTE FUNCTION leadcrm_refuse_append_only_change()")
            cursor.execute(f"INSERT INTO {table} SELECT * FROM {old}")
            if identity:
                # LIKE ... INCLUDING IDENTITY gave the new table a sequence of its own.
                cursor.execute(f"DROP TABLE {old}")
                cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
                (sequence,) = cursor.fetchone()
                cursor.execute(f"ALTER SEQUENCE {sequence} RENAME TO {table}_id_seq")
            else:
                # serial: the copied default still calls the old sequence; keep it, owned by
                # the new column, instead of dropping it with the old table.
                cursor.execute(f"ALTER SEQUENCE {old_sequence} OWNED BY NONE")
                cursor.execute(f"DROP TABLE {old}")
                cursor.execute(f"ALTER SEQUENCE {old_sequence} OWNED BY {table}.id")
                if old_sequence.split(".")[-1].strip('"') != f"{table}_id_seq":
                    cursor.execute(f"ALTER SEQUENCE {old_sequence} RENAME TO {table}_id_seq")
            highest = max(value for value in (last_value, max_id, 0) if value is not None)
            if highest:
                cursor.execute(f"SELECT setval('{table}_id_seq', {int(highest)})")
            cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {table}_pkey PRIMARY KEY (id, {column})")
            for definition, unique in indexes:
                if unique:
                    definition = definition.replace("CREATE UNIQUE INDEX", "CREATE INDEX", 1)
                cursor.execute(definition)
            for name, definition in constraints:
                cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
            for definition in triggers:
                cursor.execute(definition)
            for unique_column in unique_by_trigger:
                _unique_by_trigger(cursor, table, unique_column)
            cursor.execute(f"ANALYZE {table}")

    return migrations.RunPython(forward, migrations.RunPython.noop)


def _unique_by_trigger(cursor, table, column):
    """At most one row per ``column`` value across every partition. The advisory lock keyed
    on the value makes a second insert of it wait for the first to commit or roll back, and
    its lookup then runs on a fresh snapshot, so two racing inserts cannot both pass. That
    holds under READ COMMITTED, the isolation the app runs at (Django's default), and not
    under REPEATABLE READ or SERIALIZABLE, whose snapshot is taken once per transaction."""
    function = f"{table}_{column}_once"
    cursor.execute(f"""
CREATE OR REPLACE FUNCTION {function}() RETURNS trigger AS $$
BEGIN
    -- Correct under READ COMMITTED, the app's isolation level: once the advisory lock is
    -- granted the EXISTS below takes a new snapshot and sees a racing insert that committed.
    -- Under REPEATABLE READ or SERIALIZABLE the snapshot is the transaction's first one and
    -- two racing inserts could both pass (docs/database.md#partitions).
    IF NEW.{column} IS NULL THEN
        RETURN NEW;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('{table}.{column}'), hashtext(NEW.{column}::text));
    IF EXISTS (SELECT 1 FROM {table} WHERE {column} = NEW.{column}) THEN
        RAISE EXCEPTION 'duplicate key value violates unique constraint "{table}_{column}_key"'
            USING ERRCODE = 'unique_violation', DETAIL = format('Key ({column})=(%s) already exists.', NEW.{column});
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
""")
    cursor.execute(f"CREATE TRIGGER {function} BEFORE INSERT ON {table} FOR EACH ROW EXECUTE FUNCTION {function}()")


class Migration(migrations.Migration):
    """The outreach log is partitioned by month on PostgreSQL, like the checks it is logged
    on (docs/database.md#partitions); SQLite keeps one plain table. No foreign key points into
    a partitioned table, and one attempt per check is kept by a trigger. Not reversible."""

    dependencies = [
        ("pipeline", "0042_stored_file_in_the_storage"),
        ("compliance", "0024_checks_partitioned_by_month"),
    ]

    operations = [
        migrations.AlterField(
            model_name="outreachattempt",
            name="compliance_check",
            field=models.OneToOneField(
                db_constraint=False, on_delete=django.db.models.deletion.PROTECT,
                related_name="outreach_attempt", to="compliance.compliancecheck",
            ),
        ),
        migrations.AlterField(
            model_name="outreachattempt",
            name="corrects",
            field=models.ForeignKey(
                blank=True, db_constraint=False, help_text="The earlier entry this one corrects.", null=True,
                on_delete=django.db.models.deletion.PROTECT, related_name="corrections", to="pipeline.outreachattempt",
            ),
        ),
        migrations.AlterField(
            model_name="message",
            name="attempt",
            field=models.OneToOneField(
                blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.PROTECT,
                related_name="message", to="pipeline.outreachattempt",
            ),
        ),
        migrations.AlterField(
            model_name="message",
            name="compliance_check",
            field=models.OneToOneField(
                blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.PROTECT,
                related_name="message", to="compliance.compliancecheck",
            ),
        ),
        migrations.AlterField(
            model_name="plansteprun",
            name="attempt",
            field=models.OneToOneField(
                blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.PROTECT,
                related_name="plan_step_run", to="pipeline.outreachattempt",
            ),
        ),
        partition_by_month(TABLE, COLUMN, unique_by_trigger=("compliance_check_id",)),
    ]
