"""Registries, the internal do-not-contact list, and the evidence of every check.

Rule IDs (A4, B1, D3, ...) refer to ``COMPLIANCE_RULES.md`` (see ``compliance/rules.py``).
"""

from django.conf import settings
from django.db import models
from django.utils import timezone

from leadcrm.accounts.models import US_STATES
from leadcrm.append_only import AppendOnlyModel, AppendOnlyQuerySet
from leads.models import e164_validator
from leads.querysets import RelatedToLeadQuerySet


class Channel(models.TextChoices):
    CALL = "call", "Phone call"
    SMS = "sms", "Text message"
    EMAIL = "email", "Email"
    MAIL = "mail", "Mail"
    DOOR = "door", "Door knock"


PHONE_CHANNELS = frozenset({Channel.CALL, Channel.SMS})


class Purpose(models.TextChoices):
    """Why the agent reaches out; telemarketing rules apply to every listing solicitation (C3)."""

    LISTING = "short_sale_listing", "Short-sale listing"
    FOLLOW_UP = "follow_up", "Follow-up with the homeowner"
    OFFER_TO_BUY = "offer_to_buy", "Offer to buy (as principal)"


class Verdict(models.TextChoices):
    ALLOW = "allow", "Allowed"
    WARN = "warn", "Allowed with a warning"
    BLOCK = "block", "Blocked"


class CheckMode(models.TextChoices):
    PREVIEW = "preview", "Live verdict before logging"
    LOG = "log", "Checked to log an attempt"


# Registries ----------------------------------------------------------------------------


class RegistryKind(models.TextChoices):
    NATIONAL = "national", "National Do Not Call Registry"
    STATE = "state", "State do-not-call list"
    LITIGATOR = "litigator", "Litigator list"


class DncSource(models.Model):
    """A registry the brokerage holds data from, loaded under its own account (A1)."""

    kind = models.CharField(max_length=10, choices=RegistryKind.choices)
    name = models.CharField(max_length=120, unique=True)
    state = models.CharField(max_length=2, choices=US_STATES, blank=True)
    subscription_account_number = models.CharField(
        "subscription account number (SAN)", max_length=40, blank=True,
        help_text="The brokerage's own account with the registry; data is never shared (A1).",
    )
    data_as_of = models.DateField(
        null=True, blank=True, help_text="Version date of the newest file loaded."
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "DNC source"
        ordering = ["kind", "name"]
        permissions = [("manage_registries", "Can load and manage Do Not Call registries")]

    def __str__(self) -> str:
        return self.name


class DncNumber(models.Model):
    """One number on one registry."""

    source = models.ForeignKey(DncSource, on_delete=models.CASCADE, related_name="numbers")
    number = models.CharField(max_length=16, validators=[e164_validator])
    area_code = models.CharField(max_length=3)
    added_on = models.DateField(null=True, blank=True)

    class Meta:
        verbose_name = "DNC number"
        constraints = [
            models.UniqueConstraint(fields=["source", "number"], name="dnc_number_once_per_source"),
        ]
        indexes = [models.Index(fields=["number"], name="dnc_number_lookup")]

    def __str__(self) -> str:
        return f"{self.number} ({self.source})"


class InternalDncEntry(AppendOnlyModel):
    """A homeowner asked us to stop: applies at once, to every agent, forever (B1, B2).

    One entry suppresses one contact point: a phone number (calls and texts), an email
    address, or a postal address (letters to it, knocks on its door), keyed like
    ``leads.addresses.address_key``. Keeps who recorded it, when, through which channel,
    and the homeowner's exact words. Nothing ever edits or removes an entry.
    """

    phone_number = models.CharField(max_length=16, blank=True, validators=[e164_validator], db_index=True)
    email = models.EmailField(blank=True, db_index=True)
    postal_address = models.CharField(
        max_length=200, blank=True, db_index=True,
        help_text="Normalised address key: no mail to it, no knocks on its door.",
    )
    channel = models.CharField(
        max_length=8, choices=Channel.choices, help_text="How the request reached us."
    )
    homeowner_words = models.TextField(help_text="What the homeowner said, word for word.")
    requested_at = models.DateTimeField(default=timezone.now)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    lead = models.ForeignKey(
        "leads.Lead", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "internal do-not-contact entry"
        verbose_name_plural = "internal do-not-contact list"
        ordering = ["-requested_at"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(phone_number="", email="", postal_address=""),
                name="internal_dnc_has_a_contact_point",
            ),
        ]

    def __str__(self) -> str:
        return self.phone_number or self.email or self.postal_address


# Evidence ------------------------------------------------------------------------------


class ComplianceCheckQuerySet(AppendOnlyQuerySet, RelatedToLeadQuerySet):
    pass


class ComplianceCheck(AppendOnlyModel):
    """One run of the outreach gate, allowed or not: the brokerage's safe-harbour evidence."""

    checked_at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    lead = models.ForeignKey(
        "leads.Lead", on_delete=models.PROTECT, related_name="compliance_checks"
    )
    channel = models.CharField(max_length=8, choices=Channel.choices)
    purpose = models.CharField(max_length=24, choices=Purpose.choices)
    contact_point = models.CharField(
        max_length=200, blank=True, help_text="The number, address or email checked."
    )
    mode = models.CharField(max_length=8, choices=CheckMode.choices)
    verdict = models.CharField(max_length=6, choices=Verdict.choices)
    rule_ids = models.JSONField(default=list, blank=True, help_text="Rules that fired.")
    findings = models.JSONField(default=list, blank=True, help_text="Rule, severity and reason for each.")
    evidence = models.JSONField(default=dict, blank=True)

    objects = ComplianceCheckQuerySet.as_manager()

    class Meta:
        ordering = ["-checked_at"]
        indexes = [
            models.Index(fields=["contact_point", "checked_at"], name="check_contact_point_time"),
        ]

    def __str__(self) -> str:
        return f"{self.get_verdict_display()}: {self.get_channel_display()} {self.contact_point}"
