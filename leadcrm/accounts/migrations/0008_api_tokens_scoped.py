"""Many tokens per user, each named and scoped, revoked by a date rather than deleted; the
brokerage's integration users.

The tokens made before keep working unchanged: each is named "API token", holds every scope
(what it could do before), counts as made by its own user and as last changed when made.
Going backwards drops the new columns but cannot bring back the one-token-per-user rule
while a user holds several: revoke the others first.
"""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models
from django.db.models import F

import leadcrm.accounts.tokens


def made_by_their_user(apps, schema_editor):
    apps.get_model("accounts", "ApiToken").objects.update(created_by=F("user"), updated_at=F("created_at"))


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0007_sending_number_call_phone_record_calls'),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='apitoken',
            options={'ordering': ['-created_at', '-pk'], 'permissions': [('manage_integration_keys', "Can make and revoke the brokerage's integration keys")]},
        ),
        migrations.RemoveConstraint(
            model_name='apitoken',
            name='one_api_token_per_user_and_purpose',
        ),
        migrations.AddField(
            model_name='apitoken',
            name='created_by',
            field=models.ForeignKey(blank=True, editable=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='apitoken',
            name='name',
            field=models.CharField(default='API token', help_text='What uses it, e.g. “Zapier sync”: shown in lists, never sent.', max_length=80),
        ),
        migrations.AddField(
            model_name='apitoken',
            name='revoked_at',
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name='apitoken',
            name='scopes',
            field=models.JSONField(default=leadcrm.accounts.tokens.all_scopes, validators=[leadcrm.accounts.tokens.validate_scopes]),
        ),
        migrations.AddField(
            model_name='apitoken',
            name='updated_at',
            field=models.DateTimeField(default=django.utils.timezone.now, editable=False),
        ),
        migrations.AddField(
            model_name='user',
            name='is_integration',
            field=models.BooleanField(default=False, editable=False),
        ),
        migrations.AddIndex(
            model_name='apitoken',
            index=models.Index(fields=['user', 'revoked_at'], name='api_token_user_live'),
        ),
        migrations.RunPython(made_by_their_user, migrations.RunPython.noop),
    ]
