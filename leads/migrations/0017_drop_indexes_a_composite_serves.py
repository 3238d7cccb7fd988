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
        ('accounts', '0004_routing'),
        ('leads', '0016_normalize_property_apns'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='email',
                    name='contact',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='emails', to='leads.contact'),
                ),
                migrations.AlterField(
                    model_name='foreclosurerecord',
                    name='lead',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='foreclosure_records', to='leads.lead'),
                ),
                migrations.AlterField(
                    model_name='lead',
                    name='assigned_agent',
                    field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='assigned_leads', to=settings.AUTH_USER_MODEL),
                ),
                migrations.AlterField(
                    model_name='lead',
                    name='team',
                    field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='leads', to='accounts.team'),
                ),
                migrations.AlterField(
                    model_name='leadassignment',
                    name='lead',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='assignments', to='leads.lead'),
                ),
                migrations.AlterField(
                    model_name='lien',
                    name='lead',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='liens', to='leads.lead'),
                ),
                migrations.AlterField(
                    model_name='listmembership',
                    name='lead',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='list_memberships', to='leads.lead'),
                ),
                migrations.AlterField(
                    model_name='phone',
                    name='contact',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='phones', to='leads.contact'),
                ),
            ],
            database_operations=[
                migrations.RunSQL('DROP INDEX IF EXISTS "leads_email_contact_id_8d67470f"',
                                  'CREATE INDEX IF NOT EXISTS "leads_email_contact_id_8d67470f" ON "leads_email" ("contact_id")'),
                migrations.RunSQL('DROP INDEX IF EXISTS "leads_foreclosurerecord_lead_id_bd667d3e"',
                                  'CREATE INDEX IF NOT EXISTS "leads_foreclosurerecord_lead_id_bd667d3e" ON "leads_foreclosurerecord" ("lead_id")'),
                migrations.RunSQL('DROP INDEX IF EXISTS "leads_lead_assigned_agent_id_ee5a0afe"',
                                  'CREATE INDEX IF NOT EXISTS "leads_lead_assigned_agent_id_ee5a0afe" ON "leads_lead" ("assigned_agent_id")'),
                migrations.RunSQL('DROP INDEX IF EXISTS "leads_lead_team_id_93d3ec8e"',
                                  'CREATE INDEX IF NOT EXISTS "leads_lead_team_id_93d3ec8e" ON "leads_lead" ("team_id")'),
                migrations.RunSQL('DROP INDEX IF EXISTS "leads_leadassignment_lead_id_f8a37b22"',
                                  'CREATE INDEX IF NOT EXISTS "leads_leadassignment_lead_id_f8a37b22" ON "leads_leadassignment" ("lead_id")'),
                migrations.RunSQL('DROP INDEX IF EXISTS "leads_lien_lead_id_66fb081c"',
                                  'CREATE INDEX IF NOT EXISTS "leads_lien_lead_id_66fb081c" ON "leads_lien" ("lead_id")'),
                migrations.RunSQL('DROP INDEX IF EXISTS "leads_listmembership_lead_id_fb776cff"',
                                  'CREATE INDEX IF NOT EXISTS "leads_listmembership_lead_id_fb776cff" ON "leads_listmembership" ("lead_id")'),
                migrations.RunSQL('DROP INDEX IF EXISTS "leads_phone_contact_id_b6133758"',
                                  'CREATE INDEX IF NOT EXISTS "leads_phone_contact_id_b6133758" ON "leads_phone" ("contact_id")'),
            ],
        ),
    ]
