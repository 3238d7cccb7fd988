from django.db import migrations

# Kept in this file, not imported, so that later edits elsewhere never change history.
REFUSE_FUNCTION = """
CREATE OR REPLACE FUNCTION leadcrm_refuse_append_only_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% rows are append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;
"""


def protect(*tables):
    def forward(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        # params=None: the % signs are PL/pgSQL placeholders, not query parameters.
        schema_editor.execute(REFUSE_FUNCTION, params=None)
        for table in tables:
            schema_editor.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION leadcrm_refuse_append_only_change();"
            )

    def backward(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for table in tables:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table};")

    return migrations.RunPython(forward, backward)


# An attempt may only point at a check that allowed (or warned about) this very lead,
# made to log an attempt: the one gate, enforced by the database as well.
CHECK_PASSED = """
CREATE OR REPLACE FUNCTION pipeline_attempt_requires_passed_check() RETURNS trigger AS $$
DECLARE
    passed RECORD;
BEGIN
    SELECT verdict, mode, lead_id INTO passed
      FROM compliance_compliancecheck WHERE id = NEW.compliance_check_id;
    IF passed IS NULL OR passed.verdict = 'block' OR passed.mode <> 'log'
       OR passed.lead_id <> NEW.lead_id THEN
        RAISE EXCEPTION 'outreach attempt % refused: its compliance check did not pass', NEW.id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
"""


def require_passed_check(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(CHECK_PASSED, params=None)
    schema_editor.execute(
        "CREATE TRIGGER pipeline_outreachattempt_passed_check BEFORE INSERT ON pipeline_outreachattempt "
        "FOR EACH ROW EXECUTE FUNCTION pipeline_attempt_requires_passed_check();"
    )


def drop_passed_check(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "DROP TRIGGER IF EXISTS pipeline_outreachattempt_passed_check ON pipeline_outreachattempt;"
        )


class Migration(migrations.Migration):
    """The outreach log cannot be rewritten, nor written past the gate (PostgreSQL)."""

    dependencies = [("pipeline", "0001_initial"), ("compliance", "0002_append_only_triggers")]

    operations = [
        protect("pipeline_outreachattempt"),
        migrations.RunPython(require_passed_check, drop_passed_check),
    ]
