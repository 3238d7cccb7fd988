"""E2: a cap window of its own per state, and caps that count only automated calls;
Maine's row (one automated call per number in 8 hours). D6: the abandonment limits an
agent's own dialer must keep, as rule parameters the gate's warning names.

The rows are written out here rather than imported, so later edits to code never change
what this migration did (docs/compliance-rules.md#e2 and #d6 say why each is seeded so).
"""
from datetime import date, time

from django.db import migrations, models

# Maine's cap comes from one vendor compilation; no Maine window is known, so the row
# carries the federal one (D1) and changes nothing about when Maine may be called.
MAINE = {
    "window_start": time(8), "window_end": time(21), "frequency_cap": 1, "cap_window_hours": 8,
    "cap_automated_only": True, "source": "[UNVERIFIED] vendor compilation, one source: 1 automated call "
                                          "per number in 8 hours", "verified": False,
}
D6_SOURCE = "[UNVERIFIED] 47 CFR 64.1200(a)(6)-(7); 16 CFR 310.4(b)(4)"
# key, value, description
D6_PARAMETERS = [
    ("abandon_max_percent", 3, "At most this percent of answered calls abandoned per campaign."),
    ("abandon_campaign_days", 30, "The campaign period the abandonment rate is measured over, in days."),
    ("message_within_seconds", 2, "An abandoned call plays the identification message within this many seconds."),
    ("ring_min_seconds", 15, "An unanswered call rings at least this many seconds (or ring_min_rings rings)."),
    ("ring_min_rings", 4, "An unanswered call rings at least this many times (or ring_min_seconds)."),
]


def seed(apps, schema_editor):
    rule, created = apps.get_model("compliance", "StateCallingRule").objects.get_or_create(
        state="ME", effective_from=date(2000, 1, 1), defaults=MAINE)
    if not created and rule.frequency_cap is None:
        # A Maine row someone added without a cap: give it the cap, keep their window and
        # days. A row that already has a cap was set by counsel and stays as it is.
        for field in ("frequency_cap", "cap_window_hours", "cap_automated_only"):
            setattr(rule, field, MAINE[field])
        rule.save(update_fields=["frequency_cap", "cap_window_hours", "cap_automated_only"])
    parameter = apps.get_model("compliance", "RuleParameter")
    for key, value, description in D6_PARAMETERS:
        parameter.objects.get_or_create(
            rule="D6", key=key, effective_from=date(2000, 1, 1),
            defaults={"value": value, "description": description, "source": D6_SOURCE, "verified": False})


def unseed(apps, schema_editor):
    apps.get_model("compliance", "StateCallingRule").objects.filter(
        state="ME", effective_from=date(2000, 1, 1), source=MAINE["source"]).delete()
    apps.get_model("compliance", "RuleParameter").objects.filter(
        rule="D6", effective_from=date(2000, 1, 1), source=D6_SOURCE).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("compliance", "0019_agent_lists_and_relationship_terminations"),
    ]

    operations = [
        migrations.AddField(
            model_name="statecallingrule",
            name="cap_automated_only",
            field=models.BooleanField(
                default=False,
                help_text="The cap limits and counts only autodialed or prerecorded calls (ME); manual calls and "
                          "texts are neither capped nor counted.",
            ),
        ),
        migrations.AddField(
            model_name="statecallingrule",
            name="cap_window_hours",
            field=models.PositiveSmallIntegerField(
                blank=True, null=True,
                help_text="The cap's rolling window in hours (ME: 8); empty: the E2 cap_window_hours parameter (24).",
            ),
        ),
        migrations.RunPython(seed, unseed),
    ]
