"""The house: its address, its parcel and what the lists say about it."""

import re

from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from simple_history.models import HistoricalRecords

from leadcrm.accounts.models import US_STATES

from ..querysets import RelatedToLeadQuerySet

zip_validator = RegexValidator(r"^\d{5}$", "Five digits.")
zip4_validator = RegexValidator(r"^\d{4}$", "Four digits.")
_APN_DASH = re.compile(r"\s*-\s*")


def normalize_apn(value: str | None) -> str:
    """``' 12 - 345 b '`` -> ``'12-345 B'``: trimmed, upper case, single spaces, none around a
    dash. Stored so and looked up so (with the county), the same parcel matches however a
    list cased or spaced it."""
    return _APN_DASH.sub("-", " ".join((value or "").split()).upper())



class PropertyType(models.TextChoices):
    SINGLE_FAMILY = "single_family", "Single family"
    CONDO = "condo", "Condominium"
    TOWNHOUSE = "townhouse", "Townhouse"
    MULTI_FAMILY = "multi_family", "Multi-family (2-4)"
    MANUFACTURED = "manufactured", "Manufactured / mobile"
    LAND = "land", "Land"
    OTHER = "other", "Other"


class PropertyQuerySet(RelatedToLeadQuerySet):
    lead_path = "lead"


class Property(models.Model):
    """The house. One property has one lead; the same house imported twice merges."""

    street = models.CharField("street address", max_length=120)
    unit = models.CharField(max_length=20, blank=True)
    city = models.CharField(max_length=60, blank=True)
    state = models.CharField(max_length=2, choices=US_STATES)
    zip_code = models.CharField("ZIP", max_length=5, blank=True, validators=[zip_validator])
    zip4 = models.CharField("ZIP+4", max_length=4, blank=True, validators=[zip4_validator])
    county = models.CharField(max_length=60, blank=True)
    apn = models.CharField("APN", max_length=40, blank=True, help_text="Assessor's parcel number")
    # See leads.addresses.address_key: equal keys are the same door.
    address_key = models.CharField(max_length=200, unique=True, editable=False)

    property_type = models.CharField(
        max_length=20, choices=PropertyType.choices, default=PropertyType.SINGLE_FAMILY
    )
    bedrooms = models.PositiveSmallIntegerField(null=True, blank=True)
    bathrooms = models.DecimalField(max_digits=4, decimal_places=1, null=True, blank=True)
    building_sqft = models.PositiveIntegerField("building sq ft", null=True, blank=True)
    year_built = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1700), MaxValueValidator(2100)]
    )
    estimated_value = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    estimated_value_date = models.DateField(null=True, blank=True)
    owner_occupied = models.BooleanField(null=True, blank=True)
    vacant = models.BooleanField(null=True, blank=True)
    # The house's MLS listing as the last list showed it (PropStream's MLS columns): a house
    # already listed has an agent, which changes the conversation.
    mls_status = models.CharField("MLS status", max_length=40, blank=True, help_text="Active, Pending, Expired ...")
    mls_date = models.DateField("MLS date", null=True, blank=True)
    mls_amount = models.DecimalField("MLS amount", max_digits=12, decimal_places=2, null=True, blank=True)
    mls_agent_name = models.CharField("listing agent", max_length=120, blank=True)
    mls_agent_phone = models.CharField("listing agent's phone", max_length=20, blank=True, help_text="E.164")
    mls_agent_email = models.EmailField("listing agent's email", blank=True)
    mls_brokerage_name = models.CharField("listing brokerage", max_length=120, blank=True)
    mls_brokerage_phone = models.CharField("listing brokerage's phone", max_length=20, blank=True, help_text="E.164")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Optimistic concurrency: every edit carries the version it was opened at and is
    # refused when the row moved on (leads.editing). The database default lets COPY skip it.
    version = models.PositiveIntegerField(default=1, db_default=1, editable=False)
    # Who changed what, for the lead's timeline and the admin (docs/architecture.md#history).
    history = HistoricalRecords(excluded_fields=["address_key"])

    objects = PropertyQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "properties"
        indexes = [
            models.Index(fields=["apn", "county"], name="property_apn_county"),
            models.Index(fields=["zip_code"], name="property_zip"),
        ]

    def __str__(self) -> str:
        return self.one_line

    def clean(self):
        # Every write that validates (services, the admin) keeps the APN in the form lookups use.
        self.apn = normalize_apn(self.apn)

    @property
    def street_line(self) -> str:
        return self.street_line_of(self.street, self.unit)

    @staticmethod
    def street_line_of(street: str, unit: str) -> str:
        """``12 Elm St #4`` (also for rows read as plain values)."""
        return f"{street} #{unit}" if unit else street

    @property
    def one_line(self) -> str:
        city = f"{self.city}, " if self.city else ""
        return f"{self.street_line}, {city}{self.state} {self.zip_code}".strip()
