from django.db import migrations, models

# docs/architecture.md#api-sync. Follow-ups and plan enrollments get an updated_at; existing
# rows take the moment they began (created_at, started_at), not the migration's, so a
# client's next sync does not read them all again. The outreach log (partitioned in 0043)
# is append-only and untouched: its logged_at is its updated_at.


class Migration(migrations.Migration):

    dependencies = [
        ("leads", "0030_updated_at_everywhere"),
        ("pipeline", "0043_outreach_log_partitioned_by_month"),
    ]

    operations = [
        migrations.AddField(model_name="followup", name="updated_at", field=models.DateTimeField(null=True)),
        migrations.AddField(model_name="planenrollment", name="updated_at", field=models.DateTimeField(null=True)),
        migrations.RunSQL("UPDATE pipeline_followup SET updated_at = created_at WHERE updated_at IS NULL",
                          migrations.RunSQL.noop),
        migrations.RunSQL("UPDATE pipeline_planenrollment SET updated_at = started_at WHERE updated_at IS NULL",
                          migrations.RunSQL.noop),
        migrations.AlterField(model_name="followup", name="updated_at", field=models.DateTimeField(auto_now=True)),
        migrations.AlterField(model_name="planenrollment", name="updated_at",
                              field=models.DateTimeField(auto_now=True)),
        migrations.AddIndex(
            model_name="followup",
            index=models.Index(fields=["updated_at", "id"], name="followup_updated"),
        ),
    ]
