"""Writes of the API's own rows: a user's token, replaced or revoked."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from leadcrm.accounts.models import User
from leadcrm.accounts.tokens import (
    PREFIX_LENGTH,
    ApiToken,
    TokenPurpose,
    new_token_key,
    token_digest,
    token_lifetime,
)


@transaction.atomic
def api_token_replace(*, user: User) -> tuple[ApiToken, str]:
    """A new token for the user and its key, which is kept nowhere: the caller shows it once.
    Any token made before stops working at once."""
    ApiToken.objects.filter(user=user, purpose=TokenPurpose.API).delete()
    key = new_token_key()
    now = timezone.now()
    token = ApiToken(user=user, purpose=TokenPurpose.API, prefix=key[:PREFIX_LENGTH], digest=token_digest(key),
                     created_at=now, expires_at=now + token_lifetime())
    token.full_clean()
    token.save()
    return token, key


def api_token_revoke(*, user: User) -> bool:
    """Delete the user's token, if any; whether there was one."""
    return bool(ApiToken.objects.filter(user=user, purpose=TokenPurpose.API).delete()[0])
