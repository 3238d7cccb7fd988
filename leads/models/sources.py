"""Lead sources that post leads themselves: a vendor, a Zapier zap, a web form of a partner.

Each gets a key of its own (made and revoked by a broker in the admin), so a leaked key is
revoked without touching the others, and every lead it posts carries it for the source
report (cost per lead when a cost is entered). The key is kept as the API tokens are
(``leadcrm.accounts.tokens``): a prefix to find the row, the whole key only as a digest.
See docs/architecture.md#lead-source-api.
"""

from __future__ import annotations

import hmac
import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from leadcrm.accounts.tokens import LAST_USED_EVERY, PREFIX_LENGTH, token_digest

from .leads import Lead, LeadSource


def source_key_new() -> str:
    return secrets.token_hex(32)


class LeadSourceKey(models.Model):
    """One source's key to ``POST /api/lead-sources/leads/``; the key itself is never stored."""

    name = models.CharField(max_length=80, help_text="Who posts with it, e.g. “Carrot site” or “Zapier: FB ads”.")
    source = models.CharField(max_length=20, choices=LeadSource.choices, default=LeadSource.INBOUND,
                              help_text="Recorded as the source of every lead it posts.")
    cost_per_lead = models.DecimalField(max_digits=9, decimal_places=2, null=True, blank=True,
                                        help_text="What the source charges per lead, for the source report.")
    prefix = models.CharField(max_length=PREFIX_LENGTH, unique=True, editable=False)
    digest = models.CharField(max_length=64, editable=False)
    # The leads it posts are added as this broker adds a lead by hand (routing, dedupe).
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    is_active = models.BooleanField(default=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["name", "pk"]
        permissions = [("manage_lead_source_keys", "Can make and revoke the keys of lead sources")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def matches(self, key: str) -> bool:
        return hmac.compare_digest(self.digest, token_digest(key))

    def mark_used(self, *, now=None) -> None:
        """At most once a ``LAST_USED_EVERY``, the condition in the UPDATE (as ApiToken)."""
        now = now or timezone.now()
        if self.last_used_at is not None and now - self.last_used_at < LAST_USED_EVERY:
            return
        LeadSourceKey.objects.filter(Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - LAST_USED_EVERY),
                                     pk=self.pk).update(last_used_at=now)
        self.last_used_at = now


class LeadSourcePost(models.Model):
    """A lead a source posted, under the source's own id for it: the lead it made, or the
    lead that already held the house. A post sent again finds this row and adds nothing;
    the source report counts these rows (each at the cost per lead of its day)."""

    source_key = models.ForeignKey(LeadSourceKey, on_delete=models.PROTECT, related_name="posts")
    external_id = models.CharField(max_length=100)
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="source_posts")
    # False: the house was already a lead; the post's owners and numbers were added to it.
    created_lead = models.BooleanField()
    cost = models.DecimalField(max_digits=9, decimal_places=2, null=True, blank=True,
                               help_text="The key's cost per lead when the lead was posted.")
    posted_at = models.DateTimeField(default=timezone.now)
    # The last time the source sent it again or updated it (PUT).
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-posted_at", "pk"]
        constraints = [models.UniqueConstraint(fields=["source_key", "external_id"], name="source_post_once")]
        indexes = [models.Index(fields=["posted_at"], name="source_post_posted_at")]

    def __str__(self) -> str:
        return f"{self.source_key.name}: {self.external_id}"
