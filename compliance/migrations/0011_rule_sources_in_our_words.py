"""The rule rows name their real source, not a file outside the repository.

0004 used to seed three sources that cited a reference file the repository does not
hold; admins and the rules tables show the source to brokers. 0004 now seeds the legal
source itself, and this migration rewrites the rows a database seeded before holds, so
both end with the same text (see docs/compliance-rules.md). Rows a broker has since
edited keep their text: only the old strings as seeded are replaced.
"""

from django.db import migrations, models

# The old texts: the reference file's name (``<NAME>.md``) and the rule's code, the
# phrases' with the sources after it. Matched so, the rows a broker rewrote are left alone.
OLD_WARN_AGE = r"^[A-Z_]+\.md A3$"
OLD_MAX_ZONES = r"^[A-Z_]+\.md G2$"
OLD_PHRASES = r"^[A-Z_]+\.md F6: FTC Facts Feb 2008; OCC Advisory 2011-1; CFPB; Reg O 1015\.3$"

# The same text as 0004's, written out so later edits to 0004 never change this one.
WARN_AGE = "The brokerage's own margin before the 31-day limit of 16 CFR 310.4(b)(3)(iv)"
MAX_ZONES = "The brokerage's own fail-closed limit for the window of 47 CFR 64.1200(c)(1)"
PHRASES = "12 CFR 1015.3 (Regulation O); FTC Facts for Consumers, Feb 2008; OCC Advisory 2011-1; CFPB"

VERIFIED_HELP = "Unticked: not yet confirmed against a primary source; applied anyway (fail closed)."


def cite_sources(apps, schema_editor):
    RuleParameter = apps.get_model("compliance", "RuleParameter")
    ProhibitedPhrase = apps.get_model("compliance", "ProhibitedPhrase")
    RuleParameter.objects.filter(rule="A3", key="warn_age_days", source__regex=OLD_WARN_AGE).update(source=WARN_AGE)
    RuleParameter.objects.filter(rule="G2", key="max_phone_zones", source__regex=OLD_MAX_ZONES).update(source=MAX_ZONES)
    ProhibitedPhrase.objects.filter(source__regex=OLD_PHRASES).update(source=PHRASES)


class Migration(migrations.Migration):
    dependencies = [("compliance", "0010_dnc_policy_and_acknowledgements")]

    operations = [
        migrations.RunPython(cite_sources, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="ruleparameter",
            name="verified",
            field=models.BooleanField(default=True, help_text=VERIFIED_HELP),
        ),
        migrations.AlterField(
            model_name="statecallingrule",
            name="verified",
            field=models.BooleanField(default=True, help_text=VERIFIED_HELP),
        ),
    ]
