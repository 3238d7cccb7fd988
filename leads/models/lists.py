"""The lists leads come from, which leads were on which, and each list's DNC count."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from ..querysets import RelatedToLeadQuerySet
from .leads import Lead, LeadSource


class LeadList(models.Model):
    """A list the leads came from (a PropStream export, a county NOD pull, ...)."""

    name = models.CharField(max_length=120)
    source = models.CharField(max_length=20, choices=LeadSource.choices, default=LeadSource.CSV)
    description = models.TextField(blank=True)
    # What the brokerage paid for the list, all its uploads together: the list and source
    # report divides it by the list's leads and closings (docs/architecture.md#cost).
    cost = models.DecimalField(max_digits=11, decimal_places=2, null=True, blank=True,
                               help_text="What the list cost, all its uploads together (for the list report).")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name


class ListMembership(models.Model):
    """A lead was on a list; a lead on several lists is "stacked" and scores higher."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="list_memberships",
                             db_index=False)  # list_membership_once
    lead_list = models.ForeignKey(LeadList, on_delete=models.CASCADE, related_name="memberships")
    added_at = models.DateTimeField(default=timezone.now)

    objects = RelatedToLeadQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["lead", "lead_list"], name="list_membership_once"),
        ]

    def __str__(self) -> str:
        return f"{self.lead} on {self.lead_list}"


class ListDncCount(models.Model):
    """How many of a list's numbers there are and how many are on a Do Not Call list, as
    counted at ``counted_at``: the broker's "DNC hit rate per list" report reads these.

    Counting every number against every list takes seconds with a million leads, so a
    periodic task of the reports counts them all at once (``dnc_list_counts_refresh``)
    and the report says when; a count older than the report allows is done again live."""

    lead_list = models.OneToOneField(LeadList, on_delete=models.CASCADE, related_name="dnc_count")
    numbers = models.PositiveIntegerField()
    on_dnc = models.PositiveIntegerField()
    counted_at = models.DateTimeField()

    class Meta:
        verbose_name = "DNC count of a list"
        verbose_name_plural = "DNC counts of lists"

    def __str__(self) -> str:
        return f"{self.lead_list}: {self.on_dnc} of {self.numbers} numbers on a DNC list"
