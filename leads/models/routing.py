"""Who works which lead: the routing rules and each assignment's audit row."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from ..querysets import RelatedToLeadQuerySet
from .leads import Lead, LeadType
from .lists import LeadList


class RoutingMethod(models.TextChoices):
    MANUAL = "manual", "By hand"
    BULK = "bulk", "In bulk from a list"
    RULE = "rule", "By a routing rule"
    ROUND_ROBIN = "round_robin", "Round-robin"
    POND_RELEASE = "pond_release", "Put in the pond"
    POND_CLAIM = "pond_claim", "Claimed from the pond"
    POND_RETURN = "pond_return", "Back to the pond (claim expired)"
    DEPARTURE = "departure", "Agent left: reassigned"
    IMPORT = "import", "Assigned by an import"


class RoutingTarget(models.TextChoices):
    AGENT = "agent", "An agent"
    ROUND_ROBIN = "round_robin", "Round-robin in a team"
    POND = "pond", "The pond"


class RoutingRule(models.Model):
    """Where new, unassigned leads go: the first active rule (lowest priority number) whose
    conditions all hold. An empty condition matches anything."""

    name = models.CharField(max_length=80)
    priority = models.PositiveSmallIntegerField(default=100, help_text="Lower runs first.")
    is_active = models.BooleanField(default=True)
    zip_codes = models.CharField(max_length=500, blank=True,
                                 help_text="ZIP codes or prefixes, separated by commas or spaces (741 matches 74130).")
    counties = models.CharField(max_length=300, blank=True, help_text="County names, separated by commas.")
    state = models.CharField(max_length=2, blank=True)
    lead_list = models.ForeignKey(LeadList, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    lead_type = models.CharField(max_length=24, choices=LeadType.choices, blank=True)
    target = models.CharField(max_length=12, choices=RoutingTarget.choices, default=RoutingTarget.ROUND_ROBIN)
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                              related_name="+")
    team = models.ForeignKey("accounts.Team", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["priority", "pk"]

    def __str__(self) -> str:
        return self.name

    @property
    def conditions(self) -> list[str]:
        """The rule's conditions in words, for the rules page."""
        said = []
        if self.zip_codes:
            said.append(f"ZIP {self.zip_codes}")
        if self.counties:
            said.append(f"{self.counties} county")
        if self.state:
            said.append(self.state)
        if self.lead_list_id:
            said.append(f"list “{self.lead_list}”")
        if self.lead_type:
            said.append(self.get_lead_type_display())
        return said


class LeadAssignment(models.Model):
    """One change of a lead's agent or team, who or which rule made it, and why: the
    lead's routing audit. Append-only; written only by ``leads.routing``."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="assignments",
                             db_index=False)  # assignment_lead_time
    method = models.CharField(max_length=14, choices=RoutingMethod.choices)
    from_agent = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+")
    to_agent = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="+")
    to_team = models.ForeignKey("accounts.Team", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    rule = models.ForeignKey(RoutingRule, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                              related_name="+", help_text="Who made it; empty when a rule or the clock did.")
    reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = RelatedToLeadQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["lead", "-created_at"], name="assignment_lead_time")]

    def __str__(self) -> str:
        return f"{self.get_method_display()}: {self.to_agent or 'nobody'}"
