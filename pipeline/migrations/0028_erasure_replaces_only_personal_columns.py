from django.db import migrations

# The columns a privacy erasure may replace in an append-only table: exactly the fields
# pipeline/privacy/coverage.py REDACTIONS names for the append-only models
# (docs/architecture.md#append-only-records). Written out here, not imported, so later
# edits elsewhere never change history; a later redaction of an append-only field needs a
# migration that adds its row, and tests/pipeline/privacy/test_erasable_columns.py fails
# until it has one.
ERASABLE = (
    ("compliance_compliancecheck", "contact_point"),
    ("compliance_compliancecheck", "evidence"),
    ("compliance_compliancecheck", "findings"),
    ("compliance_consentrecord", "consent_text"),
    ("compliance_consentrecord", "phone_number"),
    ("compliance_consentrecord", "proof_note"),
    ("compliance_establishedrelationship", "evidence"),
    ("compliance_establishedrelationship", "phone_number"),
    ("compliance_evidencefile", "original_name"),
    ("compliance_evidencefile", "stored_file"),
    ("compliance_evidencerevocation", "reason"),
    ("compliance_interestdisclosure", "document_text"),
    ("compliance_internaldncentry", "homeowner_words"),
    ("compliance_reassignednumbercheck", "phone_number"),
    ("pipeline_lendermilestone", "note"),
    ("pipeline_outreachattempt", "contact_point"),
    ("pipeline_outreachattempt", "notes"),
    ("pipeline_sellerevent", "detail"),
)

# The table is the owner's: the runtime role may only read it (db_runtime_role grants
# SELECT alone, db_role_check fails on more), so a stolen application password that opens
# the erasure's door still cannot widen what the door lets through. Not a Django model, so
# the test suite's flush between tests never empties it.
CREATE_TABLE = """
CREATE TABLE leadcrm_erasable_column (
    table_name text NOT NULL,
    column_name text NOT NULL,
    PRIMARY KEY (table_name, column_name)
);
"""

READ_ONLY_FOR_OTHERS = """
DO $$
DECLARE
    grantee text;
BEGIN
    FOR grantee IN
        SELECT DISTINCT r.rolname FROM pg_class c, aclexplode(c.relacl) a JOIN pg_roles r ON r.oid = a.grantee
        WHERE c.oid = 'leadcrm_erasable_column'::regclass AND r.rolname <> current_user
    LOOP
        EXECUTE format('REVOKE ALL ON leadcrm_erasable_column FROM %I', grantee);
        EXECUTE format('GRANT SELECT ON leadcrm_erasable_column TO %I', grantee);
    END LOOP;
END;
$$;
"""

# Under leadcrm.privacy_erasure an UPDATE passes only when every column but the erasable
# ones is unchanged: the row as JSON, less those columns, must be equal before and after.
# The table is named with its schema, so a TEMP table of the same name (which any session
# may make, and which comes first on the search path) is never read in its place.
REFUSE_FUNCTION = """
CREATE OR REPLACE FUNCTION leadcrm_refuse_append_only_change() RETURNS trigger AS $$
DECLARE
    erasable text[];
BEGIN
    IF TG_OP = 'UPDATE' AND current_setting('leadcrm.privacy_erasure', true) = 'on' THEN
        SELECT coalesce(array_agg(e.column_name), '{}') INTO erasable
            FROM %(schema)s.leadcrm_erasable_column e WHERE e.table_name = TG_TABLE_NAME;
        IF (to_jsonb(OLD) - erasable) = (to_jsonb(NEW) - erasable) THEN
            RETURN NEW;
        END IF;
        RAISE EXCEPTION '% rows are append-only: an erasure may only replace a person''s details (%), nothing else',
            TG_TABLE_NAME, coalesce(nullif(array_to_string(erasable, ', '), ''), 'none here')
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF TG_OP = 'TRUNCATE' AND current_setting('leadcrm.truncate_allowed', true) = 'on' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION '% rows are append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;
"""

# 0026's function: any UPDATE passes under the erasure.
PREVIOUS_FUNCTION = """
CREATE OR REPLACE FUNCTION leadcrm_refuse_append_only_change() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND current_setting('leadcrm.privacy_erasure', true) = 'on' THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'TRUNCATE' AND current_setting('leadcrm.truncate_allowed', true) = 'on' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION '% rows are append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;
"""


def forward(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_schema()")
        (schema,) = cursor.fetchone()
    schema_editor.execute(CREATE_TABLE, params=None)
    # The owner's default privileges hand every new table to the runtime role to write;
    # take writing back at once rather than at the next db_runtime_role.
    schema_editor.execute(READ_ONLY_FOR_OTHERS, params=None)
    with connection.cursor() as cursor:
        cursor.executemany("INSERT INTO leadcrm_erasable_column (table_name, column_name) VALUES (%s, %s)",
                           list(ERASABLE))
    # params=None: the % signs are PL/pgSQL placeholders, not query parameters.
    schema_editor.execute(REFUSE_FUNCTION.replace("%(schema)s", connection.ops.quote_name(schema)), params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(PREVIOUS_FUNCTION, params=None)
    schema_editor.execute("DROP TABLE leadcrm_erasable_column;")


class Migration(migrations.Migration):
    """A privacy erasure may replace only a person's details in an append-only row; the
    decisions, verdicts and times stay as they were, whoever opens the door."""

    dependencies = [
        ("pipeline", "0027_privacy_requests"),
    ]

    operations = [migrations.RunPython(forward, backward)]
