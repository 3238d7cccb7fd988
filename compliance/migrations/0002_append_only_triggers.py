from django.db import migrations

from leadcrm.append_only import append_only_trigger


class Migration(migrations.Migration):
    """Compliance evidence cannot be rewritten, not even with raw SQL (PostgreSQL)."""

    dependencies = [("compliance", "0001_initial")]

    operations = [
        append_only_trigger("compliance_compliancecheck"),
        append_only_trigger("compliance_internaldncentry"),
    ]
