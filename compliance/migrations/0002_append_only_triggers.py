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


class Migration(migrations.Migration):
    """Compliance evidence cannot be rewritten, not even with raw SQL (PostgreSQL).

    Row triggers do not fire on TRUNCATE, which test database flushes use.
    """

    dependencies = [("compliance", "0001_initial")]

    operations = [protect("compliance_compliancecheck", "compliance_internaldncentry")]
