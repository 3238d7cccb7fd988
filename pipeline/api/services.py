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
    Scope,
    TokenPurpose,
    new_token_key,
    token_digest,
    token_lifetime,
    token_longest_lifetime,
    token_revoke,
)

EXPIRY_PAST = "Give an expiry in the future."
OUTLIVES_ITS_MAKER = ("A token made with a token cannot outlive it: the token you are using stops on {date}. "
                      "Give an earlier expiry, or make the new one on your settings page.")
EXPIRY_TOO_LATE = "A token works at most {days} days: give an expiry no later than {date}."
INTEGRATION_SUFFIX = "(integration)"
OUTREACH_NEEDS_WRITE = "Logging outreach writes to the lead: give Write as well as Log outreach."
# The gate asks the person who calls to have acknowledged the brokerage's Do Not Call
# procedures (A4) and to say who they are (D3): a key that no person holds cannot.
INTEGRATION_LOGS_NO_OUTREACH = ("An integration key cannot log outreach: the compliance gate asks who made the "
                                "call. Give the dialer the calling agent's own token with Log outreach.")


def _expiry(expires_at: datetime | None, lifetime: timedelta | None, *, now: datetime,
            not_after: datetime | None = None) -> datetime:
    """When a new token stops. ``not_after`` is the expiry of the token asking for it: a key
    that leaked with a day left must not mint itself a year (the default is cut to it, an
    explicit later date refused)."""
    if lifetime is not None:
        expires_at = now + lifetime
    if expires_at is None:
        default = now + token_lifetime()
        return min(default, not_after) if not_after is not None else default
    if not_after is not None and expires_at > not_after:
        raise ValidationError({"expires_at": OUTLIVES_ITS_MAKER.format(
            date=f"{timezone.localtime(not_after):%Y-%m-%d %H:%M}")})
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
                     lifetime: timedelta | None = None, created_by: User | None = None,
                     not_after: datetime | None = None) -> tuple[ApiToken, str]:
    """A new token for ``user`` and its key, which is kept nowhere: the caller shows it once.
    The user's other tokens keep working. It expires at ``expires_at``, or ``lifetime`` from
    now, or when neither is given after the default lifetime; at most the longest."""
    if Scope.OUTREACH in scopes and Scope.WRITE not in scopes:
        raise ValidationError({"scopes": [OUTREACH_NEEDS_WRITE]})
    key = new_token_key()
    now = timezone.now()
    token = ApiToken(user=user, purpose=TokenPurpose.API, name=name.strip(),
                     scopes=_in_order(scopes),
                     prefix=key[:PREFIX_LENGTH], digest=token_digest(key), created_at=now, updated_at=now,
                     created_by=created_by or user,
                     expires_at=_expiry(expires_at, lifetime, now=now, not_after=not_after))
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
                           lifetime: timedelta | None = None,
                           not_after: datetime | None = None) -> tuple[ApiToken, str]:
    """A brokerage integration key and its key: a service user of its own, made with it.

    The service user is a team lead by role (the work an agent does on a lead, plus assigning
    leads) who sees every lead of the brokerage, given alone on top: not a broker, whose role
    also runs the brokerage (users, templates, registries, webhooks) and must pass a second
    factor. It has no usable password and is never staff, so it cannot sign in to a page or
    the admin; only its key reaches the API. Its maker leaving changes nothing."""
    if Scope.OUTREACH in scopes:
        raise ValidationError({"scopes": [INTEGRATION_LOGS_NO_OUTREACH]})
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
                            created_by=created_by, not_after=not_after)
