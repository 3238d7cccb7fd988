"""The compliance rollup counts decisions on real attempts only, each under the rules that
decided it.

Earlier versions stored the outreach form's live verdict as a check too (``mode =
'preview'``): asked on every change of the form, and refused under D3 until the
disclosure box was ticked, those rows made the broker's report read as if agents had
called without disclosing. They stay in the evidence table (checks are never deleted) but
are no longer counted. And a check is counted under the rules of its verdict's severity:
a call blocked by A5 that also carried an F6 warning is a block by A5, not by F6.

``pipeline_check_rules`` is the rollup's key; ``compliance.models.rules_that_decided``
says the same in Python for the reports that count the checks themselves.
"""

from django.db import migrations

RULES_SQL = """
-- The rules whose findings have the verdict's severity (none for an allowed check);
-- the rules that fired when a check carries no findings to tell.
CREATE OR REPLACE FUNCTION pipeline_check_rules(verdict text, rule_ids jsonb, findings jsonb) RETURNS jsonb AS $$
    SELECT CASE WHEN verdict = 'allow' THEN '[]'::jsonb ELSE COALESCE(
        (SELECT jsonb_agg(DISTINCT f->>'rule' ORDER BY f->>'rule')
           FROM jsonb_array_elements(CASE WHEN jsonb_typeof(findings) = 'array' THEN findings ELSE '[]'::jsonb END) f
          WHERE f->>'severity' = verdict),
        rule_ids) END
$$ LANGUAGE sql IMMUTABLE PARALLEL SAFE;

CREATE OR REPLACE FUNCTION pipeline_checkcount_add() RETURNS trigger AS $$
BEGIN
    INSERT INTO pipeline_checkcount (starts, verdict, rule_ids, checks)
    SELECT pipeline_report_span(checked_at), verdict, pipeline_check_rules(verdict, rule_ids, findings), count(*)
      FROM added WHERE mode = 'log' GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (starts, verdict, rule_ids) DO UPDATE SET checks = pipeline_checkcount.checks + EXCLUDED.checks;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION pipeline_report_rollups_rebuild() RETURNS void AS $$
BEGIN
    LOCK TABLE pipeline_outreachattempt, compliance_compliancecheck IN SHARE MODE;
    TRUNCATE pipeline_outreachcount, pipeline_checkcount;
    INSERT INTO pipeline_outreachcount (agent_id, starts, attempts, talks, appointments)
    SELECT agent_id, pipeline_report_span(occurred_at), count(*),
           count(*) FILTER (WHERE outcome IN ('talked', 'appointment_set')),
           count(*) FILTER (WHERE outcome IN ('appointment_set'))
      FROM pipeline_outreachattempt GROUP BY 1, 2;
    INSERT INTO pipeline_checkcount (starts, verdict, rule_ids, checks)
    SELECT pipeline_report_span(checked_at), verdict, pipeline_check_rules(verdict, rule_ids, findings), count(*)
      FROM compliance_compliancecheck WHERE mode = 'log' GROUP BY 1, 2, 3;
END;
$$ LANGUAGE plpgsql;

LOCK TABLE compliance_compliancecheck IN SHARE MODE;
TRUNCATE pipeline_checkcount;
INSERT INTO pipeline_checkcount (starts, verdict, rule_ids, checks)
SELECT pipeline_report_span(checked_at), verdict, pipeline_check_rules(verdict, rule_ids, findings), count(*)
  FROM compliance_compliancecheck WHERE mode = 'log' GROUP BY 1, 2, 3;
"""

# As migration 0014 left them: every check counted, under every rule that fired.
PREVIOUS_SQL = """
CREATE OR REPLACE FUNCTION pipeline_checkcount_add() RETURNS trigger AS $$
BEGIN
    INSERT INTO pipeline_checkcount (starts, verdict, rule_ids, checks)
    SELECT pipeline_report_span(checked_at), verdict, rule_ids, count(*)
      FROM added GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (starts, verdict, rule_ids) DO UPDATE SET checks = pipeline_checkcount.checks + EXCLUDED.checks;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION pipeline_report_rollups_rebuild() RETURNS void AS $$
BEGIN
    LOCK TABLE pipeline_outreachattempt, compliance_compliancecheck IN SHARE MODE;
    TRUNCATE pipeline_outreachcount, pipeline_checkcount;
    INSERT INTO pipeline_outreachcount (agent_id, starts, attempts, talks, appointments)
    SELECT agent_id, pipeline_report_span(occurred_at), count(*),
           count(*) FILTER (WHERE outcome IN ('talked', 'appointment_set')),
           count(*) FILTER (WHERE outcome IN ('appointment_set'))
      FROM pipeline_outreachattempt GROUP BY 1, 2;
    INSERT INTO pipeline_checkcount (starts, verdict, rule_ids, checks)
    SELECT pipeline_report_span(checked_at), verdict, rule_ids, count(*)
      FROM compliance_compliancecheck GROUP BY 1, 2, 3;
END;
$$ LANGUAGE plpgsql;

DROP FUNCTION IF EXISTS pipeline_check_rules(text, jsonb, jsonb);

LOCK TABLE compliance_compliancecheck IN SHARE MODE;
TRUNCATE pipeline_checkcount;
INSERT INTO pipeline_checkcount (starts, verdict, rule_ids, checks)
SELECT pipeline_report_span(checked_at), verdict, rule_ids, count(*)
  FROM compliance_compliancecheck GROUP BY 1, 2, 3;
"""


def count_decisions(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(RULES_SQL, params=None)


def count_every_check(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PREVIOUS_SQL, params=None)


class Migration(migrations.Migration):

    dependencies = [
        ('pipeline', '0020_template_situations_and_mail_batches'),
        ('compliance', '0010_dnc_policy_and_acknowledgements'),
    ]

    operations = [
        migrations.RunPython(count_decisions, count_every_check),
    ]
