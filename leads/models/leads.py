"""The lead: one homeowner's house worked as a short sale, and the choices that describe it."""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from ..financials import Financials
from ..querysets import LeadQuerySet
from .properties import Property

# Stages ---------------------------------------------------------------------------------
# The values of a lead's stage live here with the lead; which moves between them are
# allowed, and what each needs, is the pipeline's business (pipeline/deals/stages.py).


class Stage(models.TextChoices):
    LIST = "list", "List"
    CONTACT = "contact", "Contact"
    QUALIFY = "qualify", "Qualify"
    NEGOTIATE = "negotiate", "Negotiate with lenders"
    CLOSE = "close", "Close"
    CLOSED = "closed", "Closed (sold short)"
    DEAD = "dead", "Dead"


FUNNEL_STAGES = (Stage.LIST, Stage.CONTACT, Stage.QUALIFY, Stage.NEGOTIATE, Stage.CLOSE)
OUTCOME_STAGES = (Stage.CLOSED, Stage.DEAD)


class DeadReason(models.TextChoices):
    FORECLOSED = "foreclosed", "Foreclosed"
    REINSTATED = "reinstated", "Reinstated or modified"
    LISTED_ELSEWHERE = "listed_elsewhere", "Listed elsewhere"
    NOT_INTERESTED = "not_interested", "Not interested"
    UNREACHABLE = "unreachable", "Unreachable"
    OTHER = "other", "Other"
    # Set only by a merge (leads.merging): the lead lives on in the one it was merged into.
    DUPLICATE = "duplicate", "Duplicate (merged)"

    @classmethod
    def chosen_by_hand(cls) -> list[tuple[str, str]]:
        """The reasons a person may give when moving a lead to dead: every one but the merge's."""
        return list(DEAD_REASONS_BY_HAND)


# Named for the API schema too (SPECTACULAR_SETTINGS' ENUM_NAME_OVERRIDES).
DEAD_REASONS_BY_HAND = tuple((value, label) for value, label in DeadReason.choices if value != DeadReason.DUPLICATE)


class LeadType(models.TextChoices):
    NOD = "pre_foreclosure_nod", "Pre-foreclosure (NOD)"
    LIS_PENDENS = "lis_pendens", "Lis pendens"
    AUCTION = "auction_scheduled", "Auction scheduled"
    ABSENTEE = "absentee", "Absentee owner"
    PROBATE = "probate", "Probate"
    TAX_DELINQUENT = "tax_delinquent", "Tax delinquent"
    REFERRAL = "referral", "Referral"
    INBOUND = "inbound", "Inbound"
    LIST = "list", "List lead (no filing on record)"


class LeadSource(models.TextChoices):
    PROPSTREAM = "propstream", "PropStream"
    BATCHLEADS = "batchleads", "BatchLeads"
    DEALMACHINE = "dealmachine", "DealMachine"
    COUNTY = "county", "County records"
    CSV = "csv", "Other list (CSV/XLSX)"
    REFERRAL = "referral", "Referral"
    INBOUND = "inbound", "Inbound call or web"
    SIGN_CALL = "sign_call", "Sign call"
    DOOR_KNOCK = "door_knock", "Door knock"
    OTHER = "other", "Other (by hand)"
    MANUAL = "manual", "Entered by hand"
    WEB_FORM = "web_form", "Seller web form"
    FOLLOW_UP_BOSS = "followupboss", "Follow Up Boss"
    PODIO = "podio", "Podio"


# Lead -----------------------------------------------------------------------------------


ERASED_NOT_WORKABLE = ("This lead's homeowner details were erased at their request: it cannot be edited, merged, "
                       "tagged, moved or contacted. It stays only for the records the law keeps.")


class Lead(models.Model):
    """One homeowner's house worked as a short sale, from the list to the closing."""

    property = models.OneToOneField(Property, on_delete=models.PROTECT, related_name="lead")
    lead_type = models.CharField(max_length=24, choices=LeadType.choices)
    source = models.CharField(max_length=20, choices=LeadSource.choices, default=LeadSource.MANUAL)
    source_list = models.ForeignKey(
        "leads.LeadList", on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        help_text="The list the lead first came from.",
    )
    # A lead a source posted through the API (leads.sources): its key, and the id the
    # source gives it, which makes a post sent twice one lead.
    source_key = models.ForeignKey("leads.LeadSourceKey", on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="leads", db_index=False)  # lead_source_external_id
    source_external_id = models.CharField(max_length=100, blank=True)
    lists = models.ManyToManyField(
        "leads.LeadList", through="ListMembership", related_name="leads", blank=True
    )
    # No index of their own on these two (nor on the other foreign keys below whose table
    # has an index or unique constraint starting with them): that one serves the same
    # lookups, and each index is paid for on every row an import writes.
    assigned_agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        related_name="assigned_leads", db_index=False,  # lead_agent_stage, lead_agent_score
    )
    team = models.ForeignKey(
        "accounts.Team", on_delete=models.SET_NULL, null=True, blank=True, related_name="leads",
        db_index=False,  # lead_team_stage
    )

    stage = models.CharField(max_length=12, choices=Stage.choices, default=Stage.LIST)
    stage_entered_at = models.DateTimeField(default=timezone.now)
    dead_reason = models.CharField(max_length=20, choices=DeadReason.choices, blank=True)

    # Motivation score 0-100 and the plain-words reasons for it (leads.scoring).
    score = models.PositiveSmallIntegerField(default=0)
    score_reasons = models.JSONField(default=list, blank=True)
    # Sum of the open liens' balances, kept by the lien services so that equity,
    # loan-to-value and candidacy can be filtered on a million leads.
    lien_total = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))

    next_follow_up_at = models.DateTimeField(null=True, blank=True)
    last_contacted_at = models.DateTimeField(null=True, blank=True)
    # The pond (leads.routing): unassigned leads any agent of ``pond_team`` (or of the
    # brokerage, when empty) may claim, first come first served. A claimed lead must be
    # worked by ``claim_deadline`` or it goes back.
    pond_since = models.DateTimeField(null=True, blank=True)
    pond_team = models.ForeignKey("accounts.Team", on_delete=models.SET_NULL, null=True, blank=True,
                                  related_name="pond_leads")
    claimed_at = models.DateTimeField(null=True, blank=True)
    claim_deadline = models.DateTimeField(null=True, blank=True)
    # Set when the sale closes (the closed stage's entry rule); the forecast learns from it.
    closing_date = models.DateField(null=True, blank=True)
    # A duplicate merged into another lead (leads.merging) stays, dead, for its append-only
    # evidence and the undo; it is left out of every list and its page leads to the survivor.
    merged_into = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="merged_leads",
        db_index=False,  # lead_merged_into: nearly every lead has none
    )
    merged_at = models.DateTimeField(null=True, blank=True)
    # Set by a privacy erasure (pipeline/privacy): the lead stays for the records the law
    # keeps, says so on its page, and cannot be worked (docs/privacy.md#an-erased-lead).
    # The request's number, not a key: the privacy records live in pipeline, above leads.
    erased_at = models.DateTimeField(null=True, blank=True)
    erasure_request_number = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = LeadQuerySet.as_manager()

    class Meta:
        permissions = [
            ("view_all_leads", "Can see every lead of the brokerage"),
            ("view_team_leads", "Can see the leads of the teams they lead"),
            ("assign_leads", "Can assign leads to agents and teams"),
        ]
        indexes = [
            models.Index(fields=["assigned_agent", "stage"], name="lead_agent_stage"),
            # An agent's list and call queue, best score first, without sorting their book.
            models.Index(fields=["assigned_agent", "-score", "-id"], name="lead_agent_score"),
            models.Index(fields=["team", "stage"], name="lead_team_stage"),
            models.Index(fields=["stage", "-score"], name="lead_stage_score"),
            models.Index(fields=["next_follow_up_at"], name="lead_next_follow_up"),
            models.Index(fields=["pond_team", "-score", "-id"], name="lead_pond",
                         condition=models.Q(pond_since__isnull=False)),
            models.Index(fields=["claim_deadline"], name="lead_claim_deadline",
                         condition=models.Q(claim_deadline__isnull=False)),
            # The funnel report: the leads that came in during a period, by stage,
            # source and list, without reading the leads themselves.
            models.Index(fields=["created_at"], include=["id", "stage", "source", "source_list"],
                         name="lead_created_funnel"),
            # The leads merged into a survivor (its evidence is read through them).
            models.Index(fields=["merged_into"], name="lead_merged_into",
                         condition=models.Q(merged_into__isnull=False)),
            # The API's sync by change walks (updated_at, id) (docs/architecture.md#api-sync).
            models.Index(fields=["updated_at", "id"], name="lead_updated"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(stage="dead") | models.Q(dead_reason=""),
                name="lead_dead_reason_only_when_dead",
            ),
            models.CheckConstraint(condition=models.Q(score__lte=100), name="lead_score_max_100"),
            models.CheckConstraint(condition=~models.Q(merged_into=models.F("pk")), name="lead_not_merged_into_itself"),
            models.UniqueConstraint(fields=["source_key", "source_external_id"], name="lead_source_external_id",
                                    condition=models.Q(source_key__isnull=False)),
        ]

    def __str__(self) -> str:
        return self.property.street_line if self.property_id else f"Lead {self.pk}"

    def refuse_if_erased(self) -> None:
        """Every write that works a lead calls this first: an erased lead is kept for the
        records the law requires and never worked again (docs/privacy.md#an-erased-lead)."""
        if self.erased_at is not None:
            raise ValidationError(ERASED_NOT_WORKABLE)

    # Methods, not properties: the ``property`` field shadows the builtin in this class.
    def is_open(self) -> bool:
        return self.stage not in OUTCOME_STAGES

    def financials(self) -> Financials:
        return Financials(
            estimated_value=self.property.estimated_value,
            lien_total=self.lien_total,
            selling_cost_rate=settings.LEADCRM_SELLING_COST_RATE,
        )
