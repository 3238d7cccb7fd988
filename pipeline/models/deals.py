"""The deal: stage history, lender files, the document package, offers."""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from compliance.transactions import Service
from leadcrm.shared.append_only import AppendOnlyModel, AppendOnlyQuerySet
from leads.models import DeadReason, Stage
from leads.querysets import RelatedToLeadQuerySet


class StageChange(models.Model):
    """One move of a lead between stages; the lead's history and time in each stage."""

    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="stage_changes")
    from_stage = models.CharField(max_length=12, choices=Stage.choices, blank=True)
    to_stage = models.CharField(max_length=12, choices=Stage.choices)
    dead_reason = models.CharField(max_length=20, choices=DeadReason.choices, blank=True)
    note = models.TextField(blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    changed_at = models.DateTimeField(default=timezone.now)

    objects = RelatedToLeadQuerySet.as_manager()

    class Meta:
        ordering = ["lead", "-changed_at", "-pk"]
        indexes = [
            models.Index(fields=["lead", "changed_at"], name="stagechange_lead_time"),
            # The reports: each lead's moves in order with where they went (time in
            # stage, the funnel), and the moves of a period.
            models.Index(fields=["lead", "changed_at", "id"], include=["to_stage"], name="stagechange_walk"),
            models.Index(fields=["changed_at"], include=["lead"], name="stagechange_time"),
        ]

    def __str__(self) -> str:
        return f"{self.get_from_stage_display() or 'new'} → {self.get_to_stage_display()}"


# The short sale: lender files, the package, offers ---------------------------------------
# docs/short-sales.md. One seller, one house, several lenders: each lien gets a lender
# file negotiated on its own clock, and the package is tracked per lead and per lien.


class Portal(models.TextChoices):
    EQUATOR = "equator", "Equator"
    SERVICER = "servicer", "Servicer's own portal"
    EMAIL_FAX = "email_fax", "Email or fax"
    OTHER = "other", "Other"


class LenderFile(models.Model):
    """The negotiation with one lien holder; created with the first thing recorded on it."""

    lien = models.OneToOneField("leads.Lien", on_delete=models.CASCADE, related_name="lender_file")
    # The lien's lead, kept here so a file is scoped without a join through the lien.
    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="lender_files")
    servicer = models.CharField(
        max_length=120, blank=True, help_text="Who services the loan, if not the lender on record."
    )
    portal = models.CharField(max_length=12, choices=Portal.choices, blank=True)
    portal_reference = models.CharField("file number on the portal", max_length=60, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = RelatedToLeadQuerySet.as_manager()

    class Meta:
        ordering = ["lead", "lien__position"]

    def __str__(self) -> str:
        return f"Lender file: {self.lien}"

    def clean(self):
        if self.lien_id and self.lead_id and self.lien.lead_id != self.lead_id:
            raise ValidationError("A lender file belongs to its lien's lead.")


class LenderFileRowQuerySet(RelatedToLeadQuerySet):
    lead_path = "lender_file__lead"


class NegotiatorRole(models.TextChoices):
    NEGOTIATOR = "negotiator", "Negotiator"
    PROCESSOR = "processor", "Processor"
    SPOC = "spoc", "Single point of contact"
    CLOSER = "closer", "Closer"


class Negotiator(models.Model):
    """Who works the file at the servicer. Negotiators change often: the old ones are kept."""

    lender_file = models.ForeignKey(LenderFile, on_delete=models.CASCADE, related_name="negotiators")
    role = models.CharField(max_length=12, choices=NegotiatorRole.choices, default=NegotiatorRole.NEGOTIATOR)
    name = models.CharField(max_length=120)
    phone = models.CharField(max_length=40, blank=True)
    email = models.EmailField(blank=True)
    assigned_on = models.DateField()
    replaced_on = models.DateField(null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )


    objects = LenderFileRowQuerySet.as_manager()

    class Meta:
        ordering = ["lender_file", "-assigned_on", "-pk"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_role_display()})"

    @property
    def is_current(self) -> bool:
        return self.replaced_on is None


class Milestone(models.TextChoices):
    """A lender file's steps, in the order a file usually goes through them (docs/short-sales.md)."""

    AUTHORIZATION_SENT = "auth_sent", "Authorization sent"
    AUTHORIZATION_RECEIVED = "auth_received", "Authorization received"
    PACKAGE_SUBMITTED = "package_submitted", "Package submitted"
    ACKNOWLEDGED = "acknowledged", "Package acknowledged"
    NEGOTIATOR_ASSIGNED = "negotiator_assigned", "Negotiator assigned"
    VALUATION_ORDERED = "valuation_ordered", "BPO or appraisal ordered"
    VALUATION_COMPLETED = "valuation_completed", "BPO or appraisal completed"
    OFFER_SUBMITTED = "offer_submitted", "Offer submitted"
    COUNTER = "counter", "Counter-offer"
    INVESTOR_REVIEW = "investor_review", "Investor or mortgage-insurer review"
    APPROVED = "approved", "Approved"
    DENIED = "denied", "Denied"


MILESTONE_ORDER = {milestone: index for index, milestone in enumerate(Milestone)}
# Milestones whose amount means something, and what it is.
MILESTONE_AMOUNT_LABELS = {
    Milestone.VALUATION_COMPLETED: "Value",
    Milestone.OFFER_SUBMITTED: "Offer price",
    Milestone.COUNTER: "Counter price",
}


CORRECTION_NOT_A_STEP = "A correction cannot itself be struck out; record the step again instead."


class LenderMilestoneQuerySet(AppendOnlyQuerySet, LenderFileRowQuerySet):
    def in_force(self):
        """The steps that stand: neither a correction nor a step a correction struck out.
        Everything that reads where a file stands reads these."""
        return self.filter(voids__isnull=True, voided_by__isnull=True)


class LenderMilestone(AppendOnlyModel):
    """A dated step of a lender file. The file's history: a step recorded by mistake is
    never edited or deleted but struck out by a correction, a row of its own."""

    lender_file = models.ForeignKey(LenderFile, on_delete=models.CASCADE, related_name="milestones")
    kind = models.CharField(max_length=20, choices=Milestone.choices)
    occurred_on = models.DateField()
    amount = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    note = models.CharField(max_length=300, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)
    # A correction names the step it strikes out (once: a one-to-one) and says why in its
    # note; its kind repeats that step's, its date is the day of the correction.
    voids = models.OneToOneField(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="voided_by",
        help_text="The step this correction strikes out as recorded by mistake.",
    )

    objects = LenderMilestoneQuerySet.as_manager()

    class Meta:
        ordering = ["lender_file", "occurred_on", "pk"]
        indexes = [models.Index(fields=["kind", "occurred_on"], name="milestone_kind_date")]

    def __str__(self) -> str:
        if self.voids_id:
            return f"Correction of {self.get_kind_display()} on {self.occurred_on}"
        return f"{self.get_kind_display()} on {self.occurred_on}"

    @property
    def is_correction(self) -> bool:
        return self.voids_id is not None

    def clean(self):
        if self.voids_id is None:
            return
        if self.voids.lender_file_id != self.lender_file_id:
            raise ValidationError("A correction strikes out a step of its own lender file.")
        if self.voids.voids_id is not None:
            raise ValidationError(CORRECTION_NOT_A_STEP)


class Deficiency(models.TextChoices):
    WAIVED = "waived", "Waived"
    RESERVED = "reserved", "Reserved (the lender may pursue it)"
    SILENT = "silent", "Silent (the letter does not say)"


class ApprovalLetter(models.Model):
    """What a lien holder approved (docs/short-sales.md). A later letter supersedes an earlier one."""

    lender_file = models.ForeignKey(LenderFile, on_delete=models.CASCADE, related_name="approval_letters")
    issued_on = models.DateField()
    expires_on = models.DateField(help_text="The closing deadline in the letter.")
    approved_price = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    minimum_net_proceeds = models.DecimalField(
        max_digits=12, decimal_places=2, null=True, blank=True,
        help_text="The least this lender will take at closing.",
    )
    allowed_closing_costs = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    deficiency = models.CharField(max_length=10, choices=Deficiency.choices, default=Deficiency.SILENT)
    seller_contribution = models.DecimalField(
        max_digits=12, decimal_places=2, default=0, help_text="Cash or a note the seller must bring."
    )
    relocation_incentive = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    junior_lien_allowance = models.DecimalField(
        max_digits=12, decimal_places=2, null=True, blank=True,
        help_text="First lien: the most it lets the junior liens be paid, in all.",
    )
    junior_payoff = models.DecimalField(
        max_digits=12, decimal_places=2, null=True, blank=True,
        help_text="Junior lien: what this lender accepts to release its lien.",
    )
    # The lender's written offer is only binding on the homeowner once they accept it; no
    # fee may be asked before then (docs/compliance-rules.md#f4).
    homeowner_accepted_at = models.DateTimeField(
        "accepted by the homeowner", null=True, blank=True,
        help_text="When the homeowner accepted this written offer from the lender.",
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)


    objects = LenderFileRowQuerySet.as_manager()

    class Meta:
        ordering = ["lender_file", "-issued_on", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(expires_on__gte=models.F("issued_on")),
                name="approval_expires_after_issue",
            ),
        ]

    def __str__(self) -> str:
        return f"Approval of {self.issued_on}, expires {self.expires_on}"

    def is_valid_on(self, day) -> bool:
        return self.expires_on >= day


class DocumentKind(models.TextChoices):
    AUTHORIZATION = "authorization", "Third-party authorization"
    HARDSHIP_LETTER = "hardship_letter", "Hardship letter"
    FINANCIAL_WORKSHEET = "financial_worksheet", "Financial worksheet (Form 710)"
    PAY_STUBS = "pay_stubs", "Pay stubs"
    BANK_STATEMENTS = "bank_statements", "Bank statements (2 months)"
    TAX_RETURNS = "tax_returns", "Tax returns (2 years)"
    FORM_4506C = "form_4506c", "IRS Form 4506-C"
    LISTING_AGREEMENT = "listing_agreement", "Listing agreement"
    PURCHASE_CONTRACT = "purchase_contract", "Purchase contract and addenda"
    BUYER_FUNDS = "buyer_funds", "Buyer pre-approval or proof of funds"
    INTEREST_DISCLOSURE = "interest_disclosure", "Written disclosure of the buyer's interest"
    SETTLEMENT_STATEMENT = "settlement_statement", "Preliminary settlement statement"
    APPROVAL_LETTER = "approval_letter", "Approval letter"
    OTHER = "other", "Other"


class DocumentStatus(models.TextChoices):
    NEEDED = "needed", "Needed"
    REQUESTED = "requested", "Requested"
    RECEIVED = "received", "Received, to review"
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected: redo"
    WAIVED = "waived", "Not needed"


# A document counts toward a rule once it is in hand.
DOCUMENT_IN_HAND = frozenset({DocumentStatus.RECEIVED, DocumentStatus.ACCEPTED})


class ChecklistItem(models.Model):
    """One document of the short-sale package for a lead, or for one of its liens."""

    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="checklist")
    lien = models.ForeignKey(
        "leads.Lien", on_delete=models.CASCADE, null=True, blank=True, related_name="checklist"
    )
    kind = models.CharField(max_length=24, choices=DocumentKind.choices)
    status = models.CharField(max_length=10, choices=DocumentStatus.choices, default=DocumentStatus.NEEDED)
    dated_on = models.DateField(
        null=True, blank=True, help_text="The document's own date: statement date, signature date."
    )
    received_on = models.DateField(null=True, blank=True)
    expires_on = models.DateField(null=True, blank=True, editable=False)
    note = models.CharField(max_length=300, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    objects = RelatedToLeadQuerySet.as_manager()

    class Meta:
        ordering = ["lead", "kind", "lien"]
        constraints = [
            models.UniqueConstraint(
                fields=["lead", "kind", "lien"], name="checklist_item_once_per_lien"
            ),
            models.UniqueConstraint(
                fields=["lead", "kind"], condition=models.Q(lien__isnull=True),
                name="checklist_item_once_per_lead",
            ),
        ]
        indexes = [models.Index(fields=["expires_on"], name="checklist_expiry")]

    def __str__(self) -> str:
        return self.get_kind_display() + (f" ({self.lien})" if self.lien_id else "")

    def is_expired_on(self, day) -> bool:
        return self.expires_on is not None and self.expires_on < day


class DocumentUploadQuerySet(RelatedToLeadQuerySet):
    lead_path = "item__lead"


class DocumentUpload(models.Model):
    """A file of the package, kept in the default storage under a name we chose, never served directly."""

    item = models.ForeignKey(ChecklistItem, on_delete=models.CASCADE, related_name="uploads")
    stored_file = models.CharField(max_length=255, editable=False, help_text="Name in the default storage.")
    original_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=60)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Sent by the homeowner from their status page: no user, waits for review.
    from_seller = models.BooleanField(default=False)
    uploaded_at = models.DateTimeField(auto_now_add=True)

    objects = DocumentUploadQuerySet.as_manager()

    class Meta:
        ordering = ["item", "-uploaded_at", "-pk"]

    def __str__(self) -> str:
        return self.original_name


class Financing(models.TextChoices):
    CASH = "cash", "Cash"
    CONVENTIONAL = "conventional", "Conventional"
    FHA = "fha", "FHA"
    VA = "va", "VA"
    USDA = "usda", "USDA"
    OTHER = "other", "Other"


class BuyerProof(models.TextChoices):
    PRE_APPROVAL = "pre_approval", "Pre-approval letter"
    PROOF_OF_FUNDS = "proof_of_funds", "Proof of funds"
    NONE = "none", "None yet"


class OfferStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    ACCEPTED = "accepted", "Accepted"
    BACKUP = "backup", "Backup"
    REJECTED = "rejected", "Rejected"
    WITHDRAWN = "withdrawn", "Withdrawn"


class Offer(models.Model):
    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="offers")
    buyer_name = models.CharField(max_length=120)
    price = models.DecimalField(max_digits=12, decimal_places=2)
    financing = models.CharField(max_length=12, choices=Financing.choices)
    buyer_proof = models.CharField(max_length=16, choices=BuyerProof.choices, default=BuyerProof.NONE)
    earnest_money = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    buyer_concessions = models.DecimalField(
        "seller-paid buyer costs", max_digits=10, decimal_places=2, default=0,
    )
    received_on = models.DateField()
    target_closing = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=OfferStatus.choices, default=OfferStatus.PENDING)
    # An investor's accepted offer is the purchase contract: when it was signed starts the
    # seller's right to cancel in California (docs/compliance-rules.md#f7).
    contract_signed_at = models.DateTimeField("purchase contract signed", null=True, blank=True)
    backup_rank = models.PositiveSmallIntegerField(null=True, blank=True)
    notes = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = RelatedToLeadQuerySet.as_manager()

    class Meta:
        ordering = ["lead", "backup_rank", "-received_on", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["lead"], condition=models.Q(status="accepted"), name="offer_one_accepted"
            ),
            models.CheckConstraint(condition=models.Q(price__gt=0), name="offer_price_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.buyer_name}: {self.price:,.0f} ({self.get_status_display()})"


# Fees the brokerage charges the homeowner --------------------------------------------------
# docs/compliance-rules.md#f4: none may be asked for before the homeowner accepts the
# lender's written offer, unless the licensee stay (F2) applies.

FEE_MAX = Decimal("50000")
FEE_OVER_MAX = "A fee is at most $50,000; enter the amount the homeowner is actually charged."
FEE_NOT_POSITIVE = "A fee is more than $0; to charge nothing, waive the fee instead."


class FeeService(models.TextChoices):
    """What the fee is for; the values are the advance-fee rules' own names of the services
    (``compliance.transactions.Service``), so a fee is checked under the service it is for."""

    SHORT_SALE_LISTING = Service.SHORT_SALE_LISTING, "Short-sale listing"
    LOAN_MODIFICATION = Service.LOAN_MODIFICATION, "Loan modification"
    OTHER = "other", "Other mortgage-assistance help"


class FeeStatus(models.TextChoices):
    RECORDED = "recorded", "Recorded, not asked for"
    DUE = "due", "Due from the homeowner"
    PAID = "paid", "Paid"
    WAIVED = "waived", "Waived"


class Fee(models.Model):
    """A fee the brokerage charges the homeowner, from recorded to due to paid (or waived)."""

    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="fees")
    service = models.CharField("for", max_length=20, choices=FeeService.choices)
    description = models.CharField(max_length=200, blank=True)
    amount = models.DecimalField(
        max_digits=10, decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01"), FEE_NOT_POSITIVE), MaxValueValidator(FEE_MAX, FEE_OVER_MAX)],
    )
    status = models.CharField(max_length=10, choices=FeeStatus.choices, default=FeeStatus.RECORDED)
    due_on = models.DateField(null=True, blank=True)
    paid_on = models.DateField(null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = RelatedToLeadQuerySet.as_manager()

    class Meta:
        ordering = ["lead", "-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount__gt=0, amount__lte=FEE_MAX), name="fee_amount_in_range",
            ),
            models.CheckConstraint(
                condition=~models.Q(status__in=["due", "paid"]) | models.Q(due_on__isnull=False),
                name="fee_due_has_date",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_service_display()}: {self.amount:,.2f} ({self.get_status_display()})"
