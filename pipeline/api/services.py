"""Writes of the API's own rows: a user's token, replaced or revoked."""

from __future__ import annotations

from django.db import transaction
from rest_framework.authtoken.models import Token

from leadcrm.accounts.models import User


@transaction.atomic
def api_token_replace(*, user: User) -> Token:
    """A new token for the user; any token made before stops working at once."""
    Token.objects.filter(user=user).delete()
    return Token.objects.create(user=user)


def api_token_revoke(*, user: User) -> bool:
    """Delete the user's token, if any; whether there was one."""
    return bool(Token.objects.filter(user=user).delete()[0])
