"""API tokens kept as digests with an expiry (leadcrm/accounts/tokens.py); the plain-text
keys of DRF's authtoken carried over hashed, then deleted.

A carried-over key keeps working, unchanged, for a full token lifetime from this migration
(LEADCRM_API_TOKEN_DAYS), so integrations have time to get a new one. Going backwards
drops the new table and cannot bring the plain-text keys back: users make new tokens.
"""

import hashlib
from datetime import timedelta

import django.db.models.deletion
import django.utils.timezone
from django.apps import apps as installed_apps
from django.conf import settings
from django.db import migrations, models

AUTHTOKEN = installed_apps.is_installed("rest_framework.authtoken")
PREFIX_LENGTH = 10  # leadcrm.accounts.tokens.PREFIX_LENGTH when this was written


def carry_over_plain_tokens(apps, schema_editor):
    if not AUTHTOKEN:
        return
    Token = apps.get_model("authtoken", "Token")
    ApiToken = apps.get_model("accounts", "ApiToken")
    expires_at = django.utils.timezone.now() + timedelta(days=settings.LEADCRM_API_TOKEN_DAYS)
    ApiToken.objects.bulk_create([
        ApiToken(user_id=token.user_id, purpose="api", prefix=token.key[:PREFIX_LENGTH],
                 digest=hashlib.sha256(token.key.encode()).hexdigest(), created_at=token.created,
                 expires_at=expires_at)
        for token in Token.objects.all().iterator()
    ])
    Token.objects.all().delete()


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0004_routing'),
        *([('authtoken', '0004_alter_tokenproxy_options')] if AUTHTOKEN else []),
    ]

    operations = [
        migrations.CreateModel(
            name='ApiToken',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('purpose', models.CharField(choices=[('api', 'API')], default='api', max_length=16)),
                ('prefix', models.CharField(editable=False, max_length=10, unique=True)),
                ('digest', models.CharField(editable=False, max_length=64)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, editable=False)),
                ('expires_at', models.DateTimeField()),
                ('last_used_at', models.DateTimeField(blank=True, editable=False, null=True)),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='api_tokens', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('user', 'purpose'), name='one_api_token_per_user_and_purpose')],
            },
        ),
        migrations.RunPython(carry_over_plain_tokens, migrations.RunPython.noop),
    ]
