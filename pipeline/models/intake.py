"""The seller form a broker embeds on the brokerage's site, and the log of what was sent to it.

See docs/intake.md. A form's key is public (it is in the page's address and in the embed
code on the brokerage's own site): rotating it makes the old embed code a 404. Each post is
logged with its outcome; a refused post keeps no personal data, only a hash of the address
it came from (the rate limit counts by it).
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

from leads.models import LeadSource

KEY_BYTES = 16  # 22 characters of URL-safe text: not guessed, not enumerated


def seller_form_key_new() -> str:
    return secrets.token_urlsafe(KEY_BYTES)


class SellerForm(models.Model):
    """A public seller intake form: its words, where it may be embedded, what a new lead gets."""

    name = models.CharField(max_length=120, help_text="For you: which site or campaign it is on.")
    key = models.CharField(max_length=40, unique=True, default=seller_form_key_new, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
        help_text="The broker the form's leads are added by and its consent is recorded by.")
    source = models.CharField(max_length=20, choices=LeadSource.choices, default=LeadSource.WEB_FORM)
    consent_text = models.TextField(help_text="The consent words next to the unticked box, stored with each consent.")
    consent_covers_autodialer = models.BooleanField(
        default=False, help_text="Only when the words ask consent to calls by an automated system (D5).")
    thank_you_text = models.TextField()
    allowed_origins = models.TextField(
        blank=True, help_text="Sites allowed to show the form in an iframe, one per line (https://example.com).")
    plan = models.ForeignKey(
        "pipeline.ActionPlan", on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        help_text="A shared action plan started on each new lead.")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    key_rotated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name", "pk"]
        permissions = [("manage_seller_forms", "Can make, change and embed the brokerage's seller forms")]

    def __str__(self) -> str:
        return self.name

    @property
    def origins(self) -> list[str]:
        return [line.strip() for line in self.allowed_origins.splitlines() if line.strip()]


class SubmissionOutcome(models.TextChoices):
    CREATED = "created", "New lead"
    MATCHED = "matched", "Added to the lead already holding the house"
    SPAM = "spam", "Refused as spam (hidden field filled)"
    TOO_FAST = "too_fast", "Refused: sent too fast"
    RATE_LIMITED = "rate_limited", "Refused: too many from one address"
    INVALID = "invalid", "Not sent: the homeowner was asked to fix it"


ACCEPTED = (SubmissionOutcome.CREATED, SubmissionOutcome.MATCHED)


class FormSubmission(models.Model):
    """One post to a seller form and what became of it; a refusal holds no personal data."""

    form = models.ForeignKey(SellerForm, on_delete=models.CASCADE, related_name="submissions")
    received_at = models.DateTimeField(default=timezone.now)
    outcome = models.CharField(max_length=12, choices=SubmissionOutcome.choices)
    # HMAC of the client's address with the site's secret: counts posts per address
    # without keeping the address (docs/privacy.md#seller-form).
    address_hash = models.CharField(max_length=64)
    lead = models.ForeignKey("leads.Lead", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    consented = models.BooleanField(default=False)
    # The names of the fields the homeowner had to fix: never what they typed.
    invalid_fields = models.CharField(max_length=200, blank=True)
    # Other leads holding one of the numbers or email addresses sent: ids only, shown to
    # whoever may see them (pipeline.intake.selectors.lead_form_card).
    also_on_leads = models.JSONField(default=list, blank=True)
    plan_refusal = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-received_at", "-pk"]
        indexes = [
            models.Index(fields=["address_hash", "received_at"], name="submission_by_address"),
            models.Index(fields=["form", "-received_at"], name="submission_by_form"),
        ]

    def __str__(self) -> str:
        return f"{self.form} {self.received_at:%Y-%m-%d %H:%M} {self.outcome}"

    @property
    def fields_to_fix(self) -> str:
        return ", ".join(name.replace("_", " ") for name in self.invalid_fields.split(",") if name)
