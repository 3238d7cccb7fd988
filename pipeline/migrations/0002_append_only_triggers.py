from django.db import migrations

from leadcrm.append_only import append_only_trigger


class Migration(migrations.Migration):
    """The outreach log cannot be rewritten, not even with raw SQL (PostgreSQL)."""

    dependencies = [("pipeline", "0001_initial")]

    operations = [append_only_trigger("pipeline_outreachattempt")]
