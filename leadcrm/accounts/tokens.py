"""API tokens kept as SHA-256 digests: named, scoped, expiring, revocable, their last use kept.

Our own small model rather than DRF's ``authtoken`` (which stores the key itself, so a
copy of the database is a copy of every integration's password, and never expires) or
django-rest-knox (not installed; it keeps no last-used time, which the settings page shows
so a user can tell a live integration from a forgotten one, and it has no scopes).

A user holds any number of tokens, one per integration ("Zapier sync", "my script"), so
one is revoked without breaking the others. Each carries scopes (``read``, ``write``,
``outreach``: ``pipeline/api/permissions.py`` checks them) within what the user's role
allows; a revoked token is kept, with when, so its 401 can say it was revoked. A brokerage's
integration key is a token of its own service user (``User.is_integration``), not of the
broker who made it: it keeps working when that broker leaves.

A key is 64 hex characters. Its first ``PREFIX_LENGTH`` are stored as they are, to find the
row with an index; the whole key only as its digest, compared in constant time. Keys
carried over from ``authtoken`` (40 hex characters) are found the same way.
See docs/architecture.md#api-errors-and-tokens.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

PREFIX_LENGTH = 10
# A token's last use is written at most this often: a script calling many times a second
# would otherwise update the same row on every request.
LAST_USED_EVERY = timedelta(minutes=1)


def token_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def token_lifetime() -> timedelta:
    """How long a token works when its maker does not say."""
    return timedelta(days=settings.LEADCRM_API_TOKEN_DAYS)


def token_longest_lifetime() -> timedelta:
    """The longest a token may be made to work: a forgotten key should not work for ever."""
    return timedelta(days=settings.LEADCRM_API_TOKEN_MAX_DAYS)


class TokenPurpose(models.TextChoices):
    API = "api", "API"


class Scope(models.TextChoices):
    """What a token may do: GET needs ``read``; any other method ``write``; logging
    outreach ``outreach`` as well (docs/architecture.md#api-errors-and-tokens)."""

    READ = "read", "Read"
    WRITE = "write", "Write"
    OUTREACH = "outreach", "Log outreach"


ALL_SCOPES = [scope.value for scope in Scope]
DEFAULT_TOKEN_NAME = "API token"
SCOPES_INVALID = "Give at least one of the scopes read, write and outreach, each at most once."


def all_scopes() -> list[str]:
    return list(ALL_SCOPES)


def validate_scopes(value) -> None:
    if (not isinstance(value, list) or not value or len(set(value)) != len(value)
            or any(scope not in ALL_SCOPES for scope in value)):
        raise ValidationError(SCOPES_INVALID)


class ApiToken(models.Model):
    """One integration's key to the API; the key itself is never stored."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    purpose = models.CharField(max_length=16, choices=TokenPurpose.choices, default=TokenPurpose.API)
    name = models.CharField(max_length=80, default=DEFAULT_TOKEN_NAME,
                            help_text="What uses it, e.g. “Zapier sync”: shown in lists, never sent.")
    scopes = models.JSONField(default=all_scopes, validators=[validate_scopes])
    prefix = models.CharField(max_length=PREFIX_LENGTH, unique=True, editable=False)
    digest = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    # Who made it: the user themselves, or for an integration key the broker (kept when they leave).
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+", editable=False)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    # A change of its name or revocation, for a client syncing the list; a use is no change.
    updated_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["user", "revoked_at"], name="api_token_user_live")]
        permissions = [("manage_integration_keys", "Can make and revoke the brokerage's integration keys")]

    def __str__(self):
        return f"{self.name} ({self.prefix}…) of {self.user}"

    @property
    def expired(self) -> bool:
        return self.expires_at <= timezone.now()

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def works(self) -> bool:
        return not (self.revoked or self.expired)

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes

    def matches(self, key: str) -> bool:
        return hmac.compare_digest(self.digest, token_digest(key))

    def mark_used(self, *, now: datetime | None = None) -> None:
        """Record a use, at most once a ``LAST_USED_EVERY``: the condition is in the UPDATE,
        so two requests at once write it once."""
        now = now or timezone.now()
        if self.last_used_at is not None and now - self.last_used_at < LAST_USED_EVERY:
            return
        ApiToken.objects.filter(Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - LAST_USED_EVERY),
                                pk=self.pk).update(last_used_at=now)
        self.last_used_at = now


def token_revoke(*, token: ApiToken) -> ApiToken:
    """Stop the token at once; revoking one already revoked keeps the first time. An
    integration key's service user is closed with it: it has no other key and no use.
    Here, below the API, so that the admin revokes the same way."""
    with transaction.atomic():
        now = timezone.now()
        ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=now, updated_at=now)
        token.refresh_from_db(fields=["revoked_at", "updated_at"])
        if token.user.is_integration and token.user.is_active:
            token.user.is_active = False
            token.user.save(update_fields=["is_active"])
    return token


def new_token_key() -> str:
    return secrets.token_hex(32)


def api_token_find(key: str) -> ApiToken | None:
    """The token whose key this is, expired or not; None for a key that is no one's."""
    if len(key) < PREFIX_LENGTH:
        return None
    token = ApiToken.objects.select_related("user").filter(prefix=key[:PREFIX_LENGTH]).first()
    if token is None or not token.matches(key):
        return None
    return token
