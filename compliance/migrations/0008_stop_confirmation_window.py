"""B4: the one confirmation text after a stop request goes out within minutes of it."""

from datetime import date

from django.db import migrations


def seed(apps, schema_editor):
    apps.get_model("compliance", "RuleParameter").objects.get_or_create(
        rule="B4", key="confirmation_window_minutes", effective_from=date(2000, 1, 1),
        defaults={
            "value": 5,
            "description": "A stop confirmation text must follow the stop request within this many minutes.",
            "source": "47 CFR 64.1200(a)(12); SoundBite declaratory ruling (FCC 12-143): five minutes [UNVERIFIED]",
            "verified": False,
        },
    )


class Migration(migrations.Migration):
    dependencies = [("compliance", "0007_dnc_number_keyed_by_number")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
