"""The owners, how to reach them (phones, emails, mailing address) and their hardship."""

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from simple_history.models import HistoricalRecords

from leadcrm.accounts.models import US_STATES
from leadcrm.shared.stamps import StampedOnSave

from ..addresses import address_key
from ..phones import format_national
from ..querysets import RelatedToLeadQuerySet
from .leads import Lead

e164_validator = RegexValidator(r"^\+[1-9]\d{6,14}$", "Enter the number in E.164 form, e.g. +19185550104.")


# Owners and how to reach them --------------------------------------------------------------


class Contact(StampedOnSave, models.Model):
    """An owner (or co-owner, heir, company) of the property, with the mailing address."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="contacts")
    position = models.PositiveSmallIntegerField(default=1, help_text="1 = Owner 1 on the list.")
    first_name = models.CharField(max_length=60, blank=True)
    last_name = models.CharField(max_length=60, blank=True)
    company_name = models.CharField(max_length=120, blank=True)
    mailing_care_of = models.CharField("care of", max_length=120, blank=True)
    mailing_street = models.CharField(max_length=120, blank=True)
    mailing_unit = models.CharField(max_length=20, blank=True)
    mailing_city = models.CharField(max_length=60, blank=True)
    mailing_state = models.CharField(max_length=2, choices=US_STATES, blank=True)
    mailing_zip = models.CharField(max_length=10, blank=True)
    deceased = models.BooleanField(default=False)
    do_not_mail = models.BooleanField(default=False)
    rejected_phones = models.JSONField(
        default=list, blank=True, help_text="Numbers on the list that could not be read: [{raw, reason}]."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Optimistic concurrency: every edit carries the version it was opened at and is
    # refused when the row moved on (leads.editing). The database default lets COPY skip it.
    version = models.PositiveIntegerField(default=1, db_default=1, editable=False)
    # Who changed what, for the lead's timeline and the admin (docs/architecture.md#history).
    history = HistoricalRecords(excluded_fields=["rejected_phones", "updated_at"])

    objects = RelatedToLeadQuerySet.as_manager()

    class Meta:
        ordering = ["lead", "position", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(first_name="", last_name="", company_name=""),
                name="contact_has_a_name",
                violation_error_message="Give the owner a name: a first or last name, or a company's.",
            ),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return self.name_from(self.first_name, self.last_name, self.company_name)

    @staticmethod
    def name_from(first_name: str, last_name: str, company_name: str) -> str:
        """The name shown for an owner: the person's, else the company's (also for rows
        read as plain values)."""
        return f"{first_name} {last_name}".strip() or company_name

    @property
    def mailing_one_line(self) -> str:
        street = f"{self.mailing_street} #{self.mailing_unit}" if self.mailing_unit else self.mailing_street
        city = f"{self.mailing_city}, " if self.mailing_city else ""
        return f"{street}, {city}{self.mailing_state} {self.mailing_zip}".strip(" ,")

    @property
    def can_be_mailed(self) -> bool:
        return bool(self.mailing_street) and not (self.do_not_mail or self.deceased)

    def mailing_address_key(self) -> str:
        """The mailing address as a dedupe key (empty without a street)."""
        if not self.mailing_street:
            return ""
        return address_key(
            street=self.mailing_street, unit=self.mailing_unit, city=self.mailing_city,
            state=self.mailing_state, zip_code=self.mailing_zip,
        )


class PhoneType(models.TextChoices):
    MOBILE = "mobile", "Mobile"
    LANDLINE = "landline", "Landline"
    VOIP = "voip", "VoIP"
    UNKNOWN = "unknown", "Unknown"


class PhoneStatus(models.TextChoices):
    GOOD = "good", "Good"
    BAD = "bad", "Bad number"
    WRONG_PARTY = "wrong_party", "Wrong party"
    # The homeowner asked for their data to be erased (pipeline/privacy): the number is
    # gone, and nothing offers it to call (docs/privacy.md#an-erased-lead).
    ERASED = "erased", "Erased at the homeowner's request"


class ContactSource(models.TextChoices):
    LIST = "list", "From a list"
    SKIP_TRACE = "skip_trace", "Skip trace"
    HOMEOWNER = "homeowner", "Given by the homeowner"
    MANUAL = "manual", "Entered by hand"


class PhoneQuerySet(RelatedToLeadQuerySet):
    lead_path = "contact__lead"


class Phone(StampedOnSave, models.Model):
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="phones",
                                db_index=False)  # phone_once_per_contact
    number = models.CharField(max_length=16, validators=[e164_validator], db_index=True)
    raw = models.CharField(max_length=40, blank=True, help_text="As written on the list.")
    phone_type = models.CharField(max_length=10, choices=PhoneType.choices, default=PhoneType.UNKNOWN)
    source = models.CharField(max_length=12, choices=ContactSource.choices, default=ContactSource.LIST)
    status = models.CharField(max_length=12, choices=PhoneStatus.choices, default=PhoneStatus.GOOD)
    position = models.PositiveSmallIntegerField(default=1)
    # Kept by compliance.services.phones_reflag so "callable" counts need no join; the
    # outreach gate never relies on it and checks the lists themselves at call time.
    on_dnc_list = models.BooleanField(
        default=False,
        help_text="On a Do Not Call, litigator or internal list the brokerage holds, when last flagged.",
    )
    dnc_flagged_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Optimistic concurrency: every edit carries the version it was opened at and is
    # refused when the row moved on (leads.editing). The database default lets COPY skip it.
    version = models.PositiveIntegerField(default=1, db_default=1, editable=False)
    # Who changed what, for the lead's timeline and the admin (docs/architecture.md#history).
    history = HistoricalRecords(excluded_fields=["on_dnc_list", "dnc_flagged_at", "updated_at"])

    objects = PhoneQuerySet.as_manager()

    class Meta:
        ordering = ["contact", "position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["contact", "number"], name="phone_once_per_contact"),
        ]

    def __str__(self) -> str:
        return self.display

    @property
    def display(self) -> str:
        return format_national(self.number)

    @property
    def area_code(self) -> str:
        return self.number[2:5] if self.number.startswith("+1") else ""


class EmailStatus(models.TextChoices):
    GOOD = "good", "Good"
    BOUNCED = "bounced", "Bounced"
    # The homeowner marked our email as spam: a request to stop (docs/compliance-rules.md#b1).
    COMPLAINED = "complained", "Marked our email as spam"
    ERASED = "erased", "Erased at the homeowner's request"  # docs/privacy.md#an-erased-lead


class EmailQuerySet(RelatedToLeadQuerySet):
    lead_path = "contact__lead"


class Email(StampedOnSave, models.Model):
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="emails",
                                db_index=False)  # email_once_per_contact
    address = models.EmailField()
    source = models.CharField(max_length=12, choices=ContactSource.choices, default=ContactSource.LIST)
    status = models.CharField(max_length=10, choices=EmailStatus.choices, default=EmailStatus.GOOD)
    position = models.PositiveSmallIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Optimistic concurrency: every edit carries the version it was opened at and is
    # refused when the row moved on (leads.editing). The database default lets COPY skip it.
    version = models.PositiveIntegerField(default=1, db_default=1, editable=False)
    # Who changed what, for the lead's timeline and the admin (docs/architecture.md#history).
    history = HistoricalRecords(excluded_fields=["updated_at"])

    objects = EmailQuerySet.as_manager()

    class Meta:
        ordering = ["contact", "position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["contact", "address"], name="email_once_per_contact"),
        ]
        # The same address on two leads' owners (possible duplicates, leads.merging).
        indexes = [models.Index(fields=["address"], name="email_address")]

    def __str__(self) -> str:
        return self.address


# Hardship --------------------------------------------------------------------------------


class HardshipCategory(models.TextChoices):
    JOB_LOSS = "job_loss", "Job loss"
    INCOME_REDUCTION = "income_reduction", "Income reduction"
    MEDICAL = "medical", "Medical"
    DIVORCE = "divorce", "Divorce or separation"
    DEATH = "death", "Death in the family"
    RELOCATION = "relocation", "Relocation"
    MILITARY = "military", "Military orders"
    BUSINESS_FAILURE = "business_failure", "Business failure"
    DISASTER = "disaster", "Disaster"
    OTHER = "other", "Other"


class HardshipRecord(StampedOnSave, models.Model):
    """Why the homeowner cannot keep paying: the heart of the hardship letter."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="hardships")
    category = models.CharField(max_length=20, choices=HardshipCategory.choices)
    narrative = models.TextField(blank=True, help_text="In the homeowner's words where possible.")
    started_on = models.DateField(null=True, blank=True)
    letter_received_on = models.DateField(
        null=True, blank=True, help_text="When the signed hardship letter came in."
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Optimistic concurrency: every edit carries the version it was opened at and is
    # refused when the row moved on (leads.editing). The database default lets COPY skip it.
    version = models.PositiveIntegerField(default=1, db_default=1, editable=False)
    # Who changed what, for the lead's timeline and the admin (docs/architecture.md#history).
    history = HistoricalRecords(excluded_fields=["updated_at"])

    objects = RelatedToLeadQuerySet.as_manager()

    class Meta:
        ordering = ["lead", "-created_at"]

    def __str__(self) -> str:
        return self.get_category_display()
