"""B4: a START texted after a texted STOP, kept beside the internal list; D8: the states
where recording a call needs every party's consent, as rule parameters.

The D8 rows are written out here rather than imported, so later edits to code never change
what this migration did (docs/compliance-rules.md#d8 says why each state is seeded so).
"""
from datetime import date

import django.core.validators
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

TABLE = "compliance_textresubscription"

RECORDING_SOURCE = "18 U.S.C. 2511(2)(d) (federal: one party's consent); "
# state, value (1: every party's consent; 0: one party's), source, verified
ALL_PARTY_STATES = [
    ("CA", 1, "Cal. Penal Code 632, 632.7", True),
    ("CT", 1, "Conn. Gen. Stat. 52-570d (civil; a recorded announcement or tone also counts)", True),
    ("DE", 1, "[UNVERIFIED] 11 Del. C. 1335(a)(4) (all parties) against 11 Del. C. 2402(c)(4) (one party): "
              "the stricter is seeded", False),
    ("FL", 1, "Fla. Stat. 934.03(2)(d)", True),
    ("IL", 1, "720 ILCS 5/14-2(a) (as amended 2014)", True),
    ("MD", 1, "Md. Code, Cts. & Jud. Proc. 10-402(c)(3)", True),
    ("MA", 1, "Mass. Gen. Laws ch. 272, 99 (secret recording)", True),
    ("MI", 1, "[UNVERIFIED] MCL 750.539c; Sullivan v. Gray (1982) lets a participant record: disputed, "
              "the stricter is seeded", False),
    ("MT", 1, "Mont. Code 45-8-213(1)(c)", True),
    ("NV", 1, "[UNVERIFIED] NRS 200.620; Lane v. Allstate (Nev. 1998) reads it as every party for "
              "telephone calls: the stricter is seeded", False),
    ("NH", 1, "N.H. RSA 570-A:2", True),
    ("OR", 0, "[UNVERIFIED] ORS 165.540(1)(a) (telephone: one party); (1)(c) (in person: every party "
              "informed), which the announcement satisfies either way", False),
    ("PA", 1, "18 Pa.C.S. 5703, 5704(4)", True),
    ("WA", 1, "RCW 9.73.030 (a recorded announcement counts as consent, 9.73.030(3))", True),
]


def seed_recording(apps, schema_editor):
    parameter = apps.get_model("compliance", "RuleParameter")
    for state, value, source, verified in ALL_PARTY_STATES:
        parameter.objects.get_or_create(
            rule="D8", key=f"all_party_{state}", effective_from=date(2000, 1, 1),
            defaults={
                "value": value,
                "description": f"1: recording a call with someone in {state} needs every party's consent; "
                               "0: one party's (the announcement is made either way).",
                "source": RECORDING_SOURCE + source,
                "verified": verified,
            },
        )


def unseed_recording(apps, schema_editor):
    apps.get_model("compliance", "RuleParameter").objects.filter(rule="D8", key__startswith="all_party_").delete()


def protect(apps, schema_editor):
    # The function leadcrm_refuse_append_only_change() comes from 0002 (its current version
    # from pipeline 0028); rows and TRUNCATE are refused alike, as on every append-only table.
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"CREATE TRIGGER {TABLE}_append_only BEFORE UPDATE OR DELETE ON {TABLE} "
        "FOR EACH ROW EXECUTE FUNCTION leadcrm_refuse_append_only_change();"
    )
    schema_editor.execute(
        f"CREATE TRIGGER {TABLE}_append_only_truncate BEFORE TRUNCATE ON {TABLE} "
        "FOR EACH STATEMENT EXECUTE FUNCTION leadcrm_refuse_append_only_change();"
    )


def unprotect(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP TRIGGER IF EXISTS {TABLE}_append_only_truncate ON {TABLE};")
    schema_editor.execute(f"DROP TRIGGER IF EXISTS {TABLE}_append_only ON {TABLE};")


class Migration(migrations.Migration):

    dependencies = [
        ('compliance', '0014_registry_load_attempts'),
        ('leads', '0024_erased_leads_and_erased_numbers'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='internaldncentry',
            name='origin',
            field=models.CharField(blank=True, choices=[('text_reply', 'Texted by the homeowner from this number'), ('review', 'A reply a person decided on review was a stop'), ('whole_contact', 'Asked not to be contacted at all'), ('', 'Said on a call, at the door, by email or mail, or entered by hand')], default='', help_text='Only a stop the homeowner texted from this number can be lifted, for texts alone, by a START they text from it later (B4).', max_length=16),
        ),
        migrations.CreateModel(
            name='TextResubscription',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('phone_number', models.CharField(db_index=True, max_length=16, validators=[django.core.validators.RegexValidator('^\\+[1-9]\\d{6,14}$', 'Enter the number in E.164 form, e.g. +19185550104.')])),
                ('words', models.CharField(help_text='The keyword as texted (START, UNSTOP).', max_length=160)),
                ('received_at', models.DateTimeField()),
                ('message_id', models.PositiveBigIntegerField(blank=True, null=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('lead', models.ForeignKey(blank=True, help_text='The lead the number was matched to; empty for a text that waited in the inbox.', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='leads.lead')),
                ('recorded_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['-received_at'],
                'constraints': [models.UniqueConstraint(condition=models.Q(('message_id__isnull', False)), fields=('message_id',), name='text_resubscription_once_per_message')],
            },
        ),
        migrations.RunPython(protect, unprotect),
        migrations.RunPython(seed_recording, unseed_recording),
    ]
