import django.db.models.deletion
from django.db import migrations, models


def rekey(apps, schema_editor):
    # key = ten-digit number * 1000 + registry id (see DncNumber); new keys are far above
    # the old serial ids, so the update never collides.
    table = apps.get_model("compliance", "DncNumber")._meta.db_table
    schema_editor.execute(f"UPDATE {table} SET id = number * 1000 + source_id")


def unkey(apps, schema_editor):
    table = apps.get_model("compliance", "DncNumber")._meta.db_table
    schema_editor.execute(f"UPDATE {table} SET number = id / 1000")


class Migration(migrations.Migration):
    """One index for the registry numbers: the key is the number and the registry together."""

    dependencies = [("compliance", "0006_purpose_and_relationship_owner")]

    operations = [
        migrations.RemoveConstraint(model_name="dncnumber", name="dnc_number_once_per_source"),
        migrations.RunPython(rekey, unkey),
        migrations.AlterField(
            model_name="dncnumber", name="id", field=models.BigIntegerField(primary_key=True, serialize=False),
        ),
        migrations.RemoveField(model_name="dncnumber", name="number"),
        migrations.AlterField(
            model_name="dncnumber",
            name="source",
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE,
                                    related_name="numbers", to="compliance.dncsource"),
        ),
    ]
