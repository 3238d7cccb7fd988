"""Tags on leads and the lead list's saved searches ("smart lists").

A tag belongs to a team's vocabulary, or to the whole brokerage's when its team is empty;
its name is unique in that scope whatever its case. A saved search is the lead list's
query string under a name, its owner's alone or shared with one of their teams. The
searches are stored here, beside the leads they pick; they are checked and counted
through the lead list's filter, above (``pipeline/workspace/smart_lists.py``)."""

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from ..querysets import RelatedToLeadQuerySet
from .leads import Lead

TAG_NAME_MAX_LENGTH = 40
TAG_NAME_TAKEN = "There is already a tag of that name here (names are the same whatever their case)."
SEARCH_NAME_TAKEN = "You already have a saved search of that name."


class TagColour(models.TextChoices):
    """A fixed palette of Bootstrap's badge classes (``text-bg-<value>``): no inline colours."""

    GREY = "secondary", "Grey"
    BLUE = "primary", "Blue"
    GREEN = "success", "Green"
    RED = "danger", "Red"
    YELLOW = "warning", "Yellow"
    CYAN = "info", "Cyan"
    BLACK = "dark", "Black"


class Tag(models.Model):
    """A word an agent puts on leads ("Vacant", "Spanish speaker", "Call after 5")."""

    name = models.CharField(max_length=TAG_NAME_MAX_LENGTH)
    team = models.ForeignKey(
        "accounts.Team", on_delete=models.CASCADE, null=True, blank=True, related_name="tags",
        db_index=False,  # tag_name_once_per_scope starts with it
        help_text="The team whose vocabulary it is; empty: the whole brokerage's (brokers manage those).",
    )
    colour = models.CharField(max_length=12, choices=TagColour.choices, default=TagColour.GREY)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    leads = models.ManyToManyField(Lead, through="LeadTag", related_name="tags", blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            # One "Vacant" per team and one brokerage-wide: an empty team counts as a scope.
            models.UniqueConstraint("team", Lower("name"), nulls_distinct=False, name="tag_name_once_per_scope",
                                    violation_error_message=TAG_NAME_TAKEN),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def badge_class(self) -> str:
        return f"text-bg-{self.colour}"


class LeadTag(models.Model):
    """A tag on a lead, who put it there and when."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="lead_tags",
                             db_index=False)  # lead_tag_once
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="lead_tags",
                            db_index=False)  # lead_tag_by_tag
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                 related_name="+")
    added_at = models.DateTimeField(default=timezone.now)

    objects = RelatedToLeadQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["lead", "tag"], name="lead_tag_once")]
        # The lead list's tag filter reads from the tag to its leads (a semi-join that
        # never reads the million leads); a page's rows read from the lead (lead_tag_once).
        indexes = [models.Index(fields=["tag", "lead"], name="lead_tag_by_tag")]

    def __str__(self) -> str:
        return f"{self.tag} on {self.lead_id}"


class SavedSearch(models.Model):
    """A lead-list filter kept under a name; ``team`` empty: its owner's alone."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_searches",
                              db_index=False)  # saved_search_name_once
    name = models.CharField(max_length=80)
    query = models.CharField(max_length=2000, blank=True,
                             help_text="The lead list's query string, as its filter cleaned it.")
    team = models.ForeignKey("accounts.Team", on_delete=models.CASCADE, null=True, blank=True,
                             related_name="saved_searches", help_text="Shared with this team; empty: private.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "pk"]
        verbose_name_plural = "saved searches"
        constraints = [
            models.UniqueConstraint("owner", Lower("name"), name="saved_search_name_once",
                                    violation_error_message=SEARCH_NAME_TAKEN),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_shared(self) -> bool:
        return self.team_id is not None
