"""Merging two leads of one homeowner or house: the record of each merge (what moved,
so it can be undone) and the pairs a user said are not duplicates."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from .leads import Lead


class LeadMerge(models.Model):
    """One lead merged into another (``leads.merging.lead_merge``), and its undo.

    ``moved`` names every row that changed leads, ``{"app_label.model": {"field": [ids]}}``;
    ``renumbered`` the old ``position`` of the rows put after the survivor's
    (``{"app_label.model": {"id": position}}``); ``kept`` the rows that stayed on the merged
    lead, with why (append-only, or the survivor already had one). ``prior`` holds what the
    merge changed on the two leads themselves, so an undo puts it back.
    """

    # related_name "+": the merge walker (leads.merging) leaves this model where it is.
    survivor = models.ForeignKey(Lead, on_delete=models.PROTECT, related_name="+")
    merged = models.ForeignKey(Lead, on_delete=models.PROTECT, related_name="+")
    merged_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    merged_at = models.DateTimeField(default=timezone.now)
    moved = models.JSONField(default=dict, blank=True)
    renumbered = models.JSONField(default=dict, blank=True)
    kept = models.JSONField(default=dict, blank=True)
    prior = models.JSONField(default=dict, blank=True)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-merged_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=~models.Q(survivor=models.F("merged")), name="lead_merge_two_leads"),
            models.CheckConstraint(
                condition=models.Q(undone_at__isnull=True) | models.Q(undone_by__isnull=False),
                name="lead_merge_undone_by_someone",
            ),
        ]

    def __str__(self) -> str:
        return f"Lead {self.merged_id} merged into lead {self.survivor_id}"

    @property
    def is_undone(self) -> bool:
        return self.undone_at is not None

    def moved_count(self) -> int:
        return sum(len(ids) for fields in self.moved.values() for ids in fields.values())


class DuplicateDismissal(models.Model):
    """A user said these two leads are not the same homeowner or house: the pair is no
    longer offered as possible duplicates (to anyone: it is a fact about the pair)."""

    # Always stored lower id first, so a pair has one row whichever way it was dismissed.
    lead_low = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="+")
    lead_high = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="+")
    dismissed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    dismissed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["lead_low", "lead_high"], name="duplicate_dismissal_once"),
            models.CheckConstraint(condition=models.Q(lead_low__lt=models.F("lead_high")),
                                   name="duplicate_dismissal_low_first"),
        ]

    def __str__(self) -> str:
        return f"Leads {self.lead_low_id} and {self.lead_high_id} are not duplicates"
