"""APNs held before they were normalised on write: into the form lookups use (upper case,
single spaces, none around a dash), so a parcel stored as ``apn-1`` matches ``APN-1``."""

import re

from django.db import migrations

_DASH = re.compile(r"\s*-\s*")


def _normalised(value):
    # A copy of leads.models.normalize_apn as it was when this ran.
    return _DASH.sub("-", " ".join((value or "").split()).upper())


def normalise_apns(apps, schema_editor):
    Property = apps.get_model("leads", "Property")
    changed = []
    for pk, apn in Property.objects.exclude(apn="").values_list("pk", "apn").iterator(chunk_size=5000):
        if _normalised(apn) != apn:
            changed.append(Property(pk=pk, apn=_normalised(apn)[:40]))
        if len(changed) >= 1000:
            Property.objects.bulk_update(changed, ["apn"])
            changed = []
    Property.objects.bulk_update(changed, ["apn"])


class Migration(migrations.Migration):

    dependencies = [
        ("leads", "0015_importjob_heartbeat"),
    ]

    operations = [
        migrations.RunPython(normalise_apns, migrations.RunPython.noop, elidable=True),
    ]
