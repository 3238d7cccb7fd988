from django.db import migrations, models

# docs/architecture.md#api-sync. Every row a list of the API returns gets an updated_at.
# Existing rows take their created_at (the last change known for sure), not the moment
# of the migration: a client's first sync after it would otherwise read every row again
# as if all had changed now. Added nullable, filled, then made required, on both
# PostgreSQL and SQLite.

TABLES = {
    "contact": "leads_contact",
    "email": "leads_email",
    "foreclosurerecord": "leads_foreclosurerecord",
    "hardshiprecord": "leads_hardshiprecord",
    "importjob": "leads_importjob",
    "phone": "leads_phone",
}


def _operations():
    added = [migrations.AddField(model_name=model, name="updated_at", field=models.DateTimeField(null=True))
             for model in TABLES]
    filled = [migrations.RunSQL(f"UPDATE {table} SET updated_at = created_at WHERE updated_at IS NULL",
                                migrations.RunSQL.noop) for table in TABLES.values()]
    required = [migrations.AlterField(model_name=model, name="updated_at", field=models.DateTimeField(auto_now=True))
                for model in TABLES]
    return [*added, *filled, *required]


class Migration(migrations.Migration):

    dependencies = [
        ("leads", "0029_stored_file_in_the_storage"),
    ]

    operations = [
        *_operations(),
        migrations.AddIndex(
            model_name="lead",
            index=models.Index(fields=["updated_at", "id"], name="lead_updated"),
        ),
    ]
