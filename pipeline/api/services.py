"""Writes of the API's own rows: a user's tokens and the brokerage's integration keys.

A token is made with a name, scopes and an expiry; its key is returned once and kept
nowhere. Revoking keeps the row with the time, so a script still using it is told it was
revoked. An integration key is a token of a service user made with it (``is_integration``:
no password, no session), so what it sees and does runs through the same ``visible_to``
and services as a person's, and history names it.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from leadcrm.accounts.models import Capacity, LicenseStatus, User
from leadcrm.accounts.roles import Perm, Role
from leadcrm.accounts.services import user_create
from leadcrm.accounts.tokens import (
    ALL_SCOPES,
    DEFAULT_TOKEN_NAME,
    PREFIX_LENGTH,
    ApiToken,
    TokenPurpose,
    new_token_key,
    token_digest,
    token_lifetime,
    token_longest_lifetime,
    token_revoke,
)

EXPIRY_PAST = "Give an expiry in the future."
EXPIRY_TOO_LATE = "A token works at most {days} days: give an expiry no later than {date}."
INTEGRATION_SUFFIX = "(integration)"


def _expiry(expires_at: datetime | None, lifetime: timedelta | None, *, now: datetime) -> datetime:
    if lifetime is not None:
        expires_at = now + lifetime
    if expires_at is None:
        return now + token_lifetime()
    if expires_at <= now:
        raise ValidationError({"expires_at": EXPIRY_PAST})
    latest = now + token_longest_lifetime()
    if expires_at > latest:
        raise ValidationError({"expires_at": EXPIRY_TOO_LATE.format(
            days=token_longest_lifetime().days, date=f"{timezone.localtime(latest):%Y-%m-%d}")})
    return expires_at


def _in_order(scopes) -> list[str]:
    """read, write, outreach as they are listed; anything else kept, for validation to refuse."""
    return sorted(scopes, key=lambda scope: ALL_SCOPES.index(scope) if scope in ALL_SCOPES else len(ALL_SCOPES))


@transaction.atomic
def api_token_create(*, user: User, name: str, scopes: list[str], expires_at: datetime | None = None,
                     lifetime: timedelta | None = None, created_by: User | None = None) -> tuple[ApiToken, str]:
    """A new token for ``user`` and its key, which is kept nowhere: the caller shows it once.
    The user's other tokens keep working. It expires at ``expires_at``, or ``lifetime`` from
    now, or when neither is given after the default lifetime; at most the longest."""
    key = new_token_key()
    now = timezone.now()
    token = ApiToken(user=user, purpose=TokenPurpose.API, name=name.strip(),
                     scopes=_in_order(scopes),
                     prefix=key[:PREFIX_LENGTH], digest=token_digest(key), created_at=now, updated_at=now,
                     created_by=created_by or user, expires_at=_expiry(expires_at, lifetime, now=now))
    token.full_clean()
    token.save()
    return token, key


@transaction.atomic
def api_token_replace(*, user: User, name: str = DEFAULT_TOKEN_NAME) -> tuple[ApiToken, str]:
    """A new token with every scope, its key, and the user's working tokens of that name
    revoked: for a script that wants "my token", whatever came before."""
    api_token_revoke_named(user=user, name=name)
    return api_token_create(user=user, name=name, scopes=ALL_SCOPES)


def api_token_revoke_named(*, user: User, name: str) -> int:
    now = timezone.now()
    return ApiToken.objects.filter(user=user, name=name, revoked_at__isnull=True).update(revoked_at=now,
                                                                                       updated_at=now)


def api_token_revoke(*, token: ApiToken) -> ApiToken:
    """Stop the token at once (and an integration key's user with it): ``token_revoke``."""
    return token_revoke(token=token)


def api_token_rename(*, token: ApiToken, name: str) -> ApiToken:
    token.name = name.strip()
    token.updated_at = timezone.now()
    token.full_clean()
    token.save(update_fields=["name", "updated_at"])
    return token


@transaction.atomic
def integration_key_create(*, created_by: User, name: str, scopes: list[str], expires_at: datetime | None = None,
                           lifetime: timedelta | None = None) -> tuple[ApiToken, str]:
    """A brokerage integration key and its key: a service user of its own, made with it.

    The service user is a team lead by role (the work an agent does on a lead, plus assigning
    leads) who sees every lead of the brokerage, given alone on top: not a broker, whose role
    also runs the brokerage (users, templates, registries, webhooks) and must pass a second
    factor. It has no usable password and is never staff, so it cannot sign in to a page or
    the admin; only its key reaches the API. Its maker leaving changes nothing."""
    name = name.strip()
    user = user_create(username=f"integration-{secrets.token_hex(6)}", role=Role.TEAM_LEAD,
                       first_name=name[:150], last_name=INTEGRATION_SUFFIX, email="",
                       capacity=Capacity.PRINCIPAL, license_status=LicenseStatus.UNLICENSED)
    user.is_integration = True
    user.is_staff = False
    user.save(update_fields=["is_integration", "is_staff"])
    app_label, codename = Perm.VIEW_ALL_LEADS.split(".")
    user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    return api_token_create(user=user, name=name, scopes=scopes, expires_at=expires_at, lifetime=lifetime,
                            created_by=created_by)
