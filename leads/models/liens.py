"""What is recorded against the house: liens and pre-foreclosure filings."""

from django.core.validators import MinValueValidator
from django.db import models
from simple_history.models import HistoricalRecords

from leadcrm.shared.stamps import StampedOnSave

from ..querysets import RelatedToLeadQuerySet
from .leads import Lead

# Liens --------------------------------------------------------------------------------


class LienType(models.TextChoices):
    MORTGAGE = "mortgage", "Mortgage"
    HELOC = "heloc", "HELOC"
    TAX = "tax", "Tax lien"
    JUDGMENT = "judgment", "Judgment"
    HOA = "hoa", "HOA lien"
    OTHER = "other", "Other"


class Lien(StampedOnSave, models.Model):
    """A debt recorded against the property; each one is negotiated on its own clock."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="liens",
                             db_index=False)  # lien_position_once
    position = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1)], help_text="1 = first lien."
    )
    lien_type = models.CharField(max_length=10, choices=LienType.choices, default=LienType.MORTGAGE)
    loan_program = models.CharField(
        max_length=40, blank=True, help_text="As the list gives it: Conventional, FHA, VA, ..."
    )
    lender = models.CharField(max_length=120, blank=True)
    # Only the masked form is ever stored (leads.services.mask_loan_number).
    loan_number_masked = models.CharField("loan number", max_length=24, blank=True)
    balance = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    monthly_payment = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    arrears = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    recording_date = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Optimistic concurrency: every edit carries the version it was opened at and is
    # refused when the row moved on (leads.editing). The database default lets COPY skip it.
    version = models.PositiveIntegerField(default=1, db_default=1, editable=False)
    # Who changed what, for the lead's timeline and the admin (docs/architecture.md#history).
    history = HistoricalRecords()

    objects = RelatedToLeadQuerySet.as_manager()

    class Meta:
        ordering = ["lead", "position"]
        constraints = [
            models.UniqueConstraint(fields=["lead", "position"], name="lien_position_once"),
        ]

    def __str__(self) -> str:
        return f"{self.position_label} {self.get_lien_type_display()} ({self.lender or 'lender unknown'})"

    @property
    def position_label(self) -> str:
        return {1: "1st", 2: "2nd", 3: "3rd"}.get(self.position, f"{self.position}th")

    @property
    def is_junior(self) -> bool:
        return self.position > 1


# Pre-foreclosure ---------------------------------------------------------------------------------


class ForeclosureRecordType(models.TextChoices):
    NOD = "NOD", "Notice of default"
    LIS = "LIS", "Lis pendens"
    NTS = "NTS", "Notice of trustee's sale"
    NFS = "NFS", "Notice of foreclosure sale"
    OTHER = "OTHER", "Other filing"


class ForeclosureRecord(StampedOnSave, models.Model):
    """A recorded pre-foreclosure filing against the property (PropStream's Pre-FC columns)."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="foreclosure_records",
                             db_index=False)  # foreclosure_record_once
    recording_date = models.DateField(null=True, blank=True)
    record_type = models.CharField(max_length=8, choices=ForeclosureRecordType.choices, default=ForeclosureRecordType.OTHER)
    lender = models.CharField(max_length=120, blank=True)
    document_number = models.CharField(max_length=40, blank=True)
    unpaid_balance = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    default_amount = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    auction_date = models.DateField(null=True, blank=True)
    auction_location = models.CharField(max_length=200, blank=True)
    opening_bid = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    trustee = models.CharField(max_length=120, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Optimistic concurrency: every edit carries the version it was opened at and is
    # refused when the row moved on (leads.editing). The database default lets COPY skip it.
    version = models.PositiveIntegerField(default=1, db_default=1, editable=False)
    # Who changed what, for the lead's timeline and the admin (docs/architecture.md#history).
    history = HistoricalRecords(excluded_fields=["updated_at"])

    objects = RelatedToLeadQuerySet.as_manager()

    class Meta:
        ordering = ["-recording_date", "-pk"]
        # Auctions ahead: the deadline rules and the lead list's "auction within N days".
        indexes = [models.Index(fields=["auction_date"], name="foreclosure_auction_date",
                                condition=models.Q(auction_date__isnull=False))]
        constraints = [
            # The same filing imported twice is one record.
            models.UniqueConstraint(fields=["lead", "record_type", "recording_date"], name="foreclosure_record_once"),
        ]

    def __str__(self) -> str:
        return f"{self.get_record_type_display()} recorded {self.recording_date or 'date unknown'}"
