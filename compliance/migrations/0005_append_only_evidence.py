from django.db import migrations

TABLES = [
    "compliance_consentrecord",
    "compliance_reassignednumbercheck",
    "compliance_establishedrelationship",
    "compliance_interestdisclosure",
]


def protect(apps, schema_editor):
    # The function leadcrm_refuse_append_only_change() comes from 0002.
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION leadcrm_refuse_append_only_change();"
        )


def unprotect(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table};")


class Migration(migrations.Migration):
    """Consent, reassigned-number answers, relationships and disclosures are evidence too."""

    dependencies = [("compliance", "0004_seed_rules")]

    operations = [migrations.RunPython(protect, unprotect)]
