"""A homeowner's request to see or erase what the brokerage holds about them, and what
was done about it. Append-only, like the evidence (docs/privacy.md#the-record-of-requests).

The record never holds the person's details in clear: an erasure that kept the name it
erased in its own log would not be one. It keeps the ids of the leads that matched and
a keyed hash (HMAC with the project's secret key) of each search term, so a later request
for the same number or name can be recognised by hashing it again, while the table alone
gives nothing back. A plain hash would not do: a phone number has ten billion values,
few enough to try them all.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone

from leadcrm.shared.append_only import AppendOnlyModel


class PrivacyRequestKind(models.TextChoices):
    ACCESS = "access", "See everything held (download)"
    ERASURE = "erasure", "Erase"


class Requester(models.TextChoices):
    HOMEOWNER = "homeowner", "The homeowner"
    REPRESENTATIVE = "representative", "Someone acting for the homeowner (attorney, family with authority)"


class PrivacyRequest(AppendOnlyModel):
    """One request answered: who asked, how the broker knew it was them, what matched."""

    kind = models.CharField(max_length=8, choices=PrivacyRequestKind.choices)
    requester = models.CharField("who asked", max_length=14, choices=Requester.choices)
    verification = models.TextField(
        "how the request was verified",
        help_text="How you confirmed the person is who they say (e.g. called back on the number we hold, "
                  "matched the loan's last four digits). Do not write their name or number here.")
    # Keyed hashes of the normalised search terms, {"name": [...], "phone": [...], ...}.
    term_hashes = models.JSONField(default=dict, blank=True)
    lead_ids = models.JSONField(default=list, blank=True)
    handled_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    received_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.created_at:%Y-%m-%d %H:%M})"


class PrivacyAction(AppendOnlyModel):
    """What one request did to one model: rows read or redacted, fields, files removed."""

    request = models.ForeignKey(PrivacyRequest, on_delete=models.PROTECT, related_name="actions")
    model = models.CharField(max_length=100)  # app_label.model_name
    rows = models.PositiveIntegerField()
    fields = models.JSONField(default=list, blank=True)
    files_removed = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["request", "model"]

    def __str__(self) -> str:
        return f"{self.model}: {self.rows}"
