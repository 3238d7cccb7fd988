"""API tokens kept as SHA-256 digests, with an expiry and the time each was last used.

Our own small model rather than DRF's ``authtoken`` (which stores the key itself, so a
copy of the database is a copy of every integration's password, and never expires) or
django-rest-knox (not installed; it keeps no last-used time, which the settings page shows
so a user can tell a live integration from a forgotten one, and it allows any number of
tokens where the app wants one per user per purpose, replaced as a whole and shown once).

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
from django.db import models
from django.db.models import Q
from django.utils import timezone

PREFIX_LENGTH = 10
# A token's last use is written at most this often: a script calling many times a second
# would otherwise update the same row on every request.
LAST_USED_EVERY = timedelta(minutes=1)


def token_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def token_lifetime() -> timedelta:
    return timedelta(days=settings.LEADCRM_API_TOKEN_DAYS)


class TokenPurpose(models.TextChoices):
    API = "api", "API"


class ApiToken(models.Model):
    """One token per user per purpose; the key itself is never stored."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    purpose = models.CharField(max_length=16, choices=TokenPurpose.choices, default=TokenPurpose.API)
    prefix = models.CharField(max_length=PREFIX_LENGTH, unique=True, editable=False)
    digest = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "purpose"], name="one_api_token_per_user_and_purpose")]

    def __str__(self):
        return f"{self.get_purpose_display()} token {self.prefix}… of {self.user}"

    @property
    def expired(self) -> bool:
        return self.expires_at <= timezone.now()

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
