"""Drop the single-column indexes of foreign keys that a composite index or unique
constraint already starts with: the composite serves the same lookups (and the cascades'
``WHERE lead_id IN (...)``), and every index costs each row an import writes.

Only the indexes go. Django's own AlterField would also drop and re-add each foreign key
constraint, which re-checks every row of the table under an exclusive lock: minutes on a
brokerage's millions of rows. So the state changes as AlterField says, and the database
only loses the indexes (the names are Django's, the same on PostgreSQL and SQLite).
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('leads', '0017_drop_indexes_a_composite_serves'),
        ('pipeline', '0016_template_attach_guide'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='followup',
                    name='assignee',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='follow_ups', to=settings.AUTH_USER_MODEL),
                ),
                migrations.AlterField(
                    model_name='followup',
                    name='lead',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='follow_ups', to='leads.lead'),
                ),
            ],
            database_operations=[
                migrations.RunSQL('DROP INDEX IF EXISTS "pipeline_followup_assignee_id_e298344a"',
                                  'CREATE INDEX IF NOT EXISTS "pipeline_followup_assignee_id_e298344a" ON "pipeline_followup" ("assignee_id")'),
                migrations.RunSQL('DROP INDEX IF EXISTS "pipeline_followup_lead_id_576371b7"',
                                  'CREATE INDEX IF NOT EXISTS "pipeline_followup_lead_id_576371b7" ON "pipeline_followup" ("lead_id")'),
            ],
        ),
    ]
