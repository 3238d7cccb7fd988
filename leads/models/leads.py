import re
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils import timezone

from leadcrm.accounts.models import US_STATES

from ..addresses import address_key
from ..financials import Financials
from ..phones import format_national
from ..querysets import LeadQuerySet, RelatedToLeadQuerySet

e164_validator = RegexValidator(r"^\+[1-9]\d{6,14}$", "Enter the number in E.164 form, e.g. +19185550104.")
zip_validator = RegexValidator(r"^\d{5}$", "Five digits.")
zip4_validator = RegexValidator(r"^\d{4}$", "Four digits.")
_APN_DASH = re.compile(r"\s*-\s*")


def normalize_apn(value: str | None) -> str:
    """``' 12 - 345 b '`` -> ``'12-345 B'``: trimmed, upper case, single spaces, none around a
    dash. Stored so and looked up so (with the county), the same parcel matches however a
    list cased or spaced it."""
    return _APN_DASH.sub("-", " ".join((value or "").split()).upper())


# Stages ---------------------------------------------------------------------------------
# The values of a lead's stage live here with the lead; which moves between them are
# allowed, and what each needs, is the pipeline's business (pipeline/stages.py).


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
    MANUAL = "manual", "Entered by hand"


# Property -------------------------------------------------------------------------------


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


# Lists ----------------------------------------------------------------------------------


class LeadList(models.Model):
    """A list the leads came from (a PropStream export, a county NOD pull, ...)."""

    name = models.CharField(max_length=120)
    source = models.CharField(max_length=20, choices=LeadSource.choices, default=LeadSource.CSV)
    description = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name


# Lead -----------------------------------------------------------------------------------


class Lead(models.Model):
    """One homeowner's house worked as a short sale, from the list to the closing."""

    property = models.OneToOneField(Property, on_delete=models.PROTECT, related_name="lead")
    lead_type = models.CharField(max_length=24, choices=LeadType.choices)
    source = models.CharField(max_length=20, choices=LeadSource.choices, default=LeadSource.MANUAL)
    source_list = models.ForeignKey(
        LeadList, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        help_text="The list the lead first came from.",
    )
    lists = models.ManyToManyField(
        LeadList, through="ListMembership", related_name="leads", blank=True
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
            # The funnel report (issue 8): the leads that came in during a period, by stage,
            # source and list, without reading the leads themselves.
            models.Index(fields=["created_at"], include=["id", "stage", "source", "source_list"],
                         name="lead_created_funnel"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(stage="dead") | models.Q(dead_reason=""),
                name="lead_dead_reason_only_when_dead",
            ),
            models.CheckConstraint(condition=models.Q(score__lte=100), name="lead_score_max_100"),
        ]

    def __str__(self) -> str:
        return self.property.street_line if self.property_id else f"Lead {self.pk}"

    # Methods, not properties: the ``property`` field shadows the builtin in this class.
    def is_open(self) -> bool:
        return self.stage not in OUTCOME_STAGES

    def financials(self) -> Financials:
        return Financials(
            estimated_value=self.property.estimated_value,
            lien_total=self.lien_total,
            selling_cost_rate=settings.LEADCRM_SELLING_COST_RATE,
        )


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
    periodic task counts them all at once (``pipeline.reports.dnc_list_counts_refresh``)
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


# Owners and how to reach them --------------------------------------------------------------


class Contact(models.Model):
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

    objects = RelatedToLeadQuerySet.as_manager()

    class Meta:
        ordering = ["lead", "position", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(first_name="", last_name="", company_name=""),
                name="contact_has_a_name",
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


class ContactSource(models.TextChoices):
    LIST = "list", "From a list"
    SKIP_TRACE = "skip_trace", "Skip trace"
    HOMEOWNER = "homeowner", "Given by the homeowner"
    MANUAL = "manual", "Entered by hand"


class PhoneQuerySet(RelatedToLeadQuerySet):
    lead_path = "contact__lead"


class Phone(models.Model):
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


class EmailQuerySet(RelatedToLeadQuerySet):
    lead_path = "contact__lead"


class Email(models.Model):
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="emails",
                                db_index=False)  # email_once_per_contact
    address = models.EmailField()
    source = models.CharField(max_length=12, choices=ContactSource.choices, default=ContactSource.LIST)
    status = models.CharField(max_length=10, choices=EmailStatus.choices, default=EmailStatus.GOOD)
    position = models.PositiveSmallIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = EmailQuerySet.as_manager()

    class Meta:
        ordering = ["contact", "position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["contact", "address"], name="email_once_per_contact"),
        ]

    def __str__(self) -> str:
        return self.address


# Hardship and liens --------------------------------------------------------------------


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


class HardshipRecord(models.Model):
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

    objects = RelatedToLeadQuerySet.as_manager()

    class Meta:
        ordering = ["lead", "-created_at"]

    def __str__(self) -> str:
        return self.get_category_display()


class LienType(models.TextChoices):
    MORTGAGE = "mortgage", "Mortgage"
    HELOC = "heloc", "HELOC"
    TAX = "tax", "Tax lien"
    JUDGMENT = "judgment", "Judgment"
    HOA = "hoa", "HOA lien"
    OTHER = "other", "Other"


class Lien(models.Model):
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


class ForeclosureRecord(models.Model):
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


# Imports -----------------------------------------------------------------------------------------


class ImportStatus(models.TextChoices):
    DRAFT = "draft", "Waiting for the column mapping"
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Importing"
    DONE = "done", "Done"
    CANCELLED = "cancelled", "Cancelled"
    FAILED = "failed", "Failed"


class ColumnMapping(models.Model):
    """A saved column mapping (our field -> the file's header), reused for the next list."""

    name = models.CharField(max_length=80, unique=True)
    source = models.CharField(max_length=20, choices=LeadSource.choices, default=LeadSource.CSV)
    columns = models.JSONField(default=dict, help_text="Field name -> header in the file.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


IMPORT_STALLED_AFTER = timedelta(minutes=10)


class ImportJob(models.Model):
    """One list file imported: its progress, its counts, and where it stopped (to resume)."""

    lead_list = models.ForeignKey(LeadList, on_delete=models.PROTECT, related_name="imports")
    source = models.CharField(max_length=20, choices=LeadSource.choices, default=LeadSource.CSV)
    file_name = models.CharField(max_length=255)
    stored_file = models.CharField(max_length=255, editable=False, help_text="Path under MEDIA_ROOT.")
    columns = models.JSONField(default=dict, help_text="The mapping used: field -> header.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    assign_to = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="+")
    round_robin_team = models.ForeignKey("accounts.Team", on_delete=models.PROTECT, null=True, blank=True,
                                         related_name="+")
    team = models.ForeignKey("accounts.Team", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                             help_text="Nobody assigned: the team the new leads belong to, for its lead to assign.")
    status = models.CharField(max_length=10, choices=ImportStatus.choices, default=ImportStatus.QUEUED)
    headers = models.JSONField(default=list, help_text="The file's header row, as read.")
    cancel_requested = models.BooleanField(default=False)
    rows_total = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0, help_text="Rows committed; a restart resumes after them.")
    leads_created = models.PositiveIntegerField(default=0)
    leads_merged = models.PositiveIntegerField(default=0)
    rows_rejected = models.PositiveIntegerField(default=0)
    phones_valid = models.PositiveIntegerField(default=0)
    phones_invalid = models.PositiveIntegerField(default=0)
    phones_on_dnc = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text="Last sign of life: queued, started, or a batch committed.")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Import of {self.file_name}"

    @property
    def is_active(self) -> bool:
        return self.status in (ImportStatus.QUEUED, ImportStatus.RUNNING)

    @property
    def last_seen_at(self):
        return self.heartbeat_at or self.started_at or self.created_at

    @property
    def is_stalled(self) -> bool:
        """Queued or running, but no batch committed for ``IMPORT_STALLED_AFTER``: its worker
        died (or its task was lost). A batch takes about a second, so this is no slow import.

        A queued job waiting behind another import that is still moving is not stalled: the
        worker is alive and busy (a million-row file takes minutes), and resuming it would
        only queue its task twice. Once nothing is moving, a queued job that old was lost."""
        cutoff = timezone.now() - IMPORT_STALLED_AFTER
        if not self.is_active or self.last_seen_at >= cutoff:
            return False
        if self.status == ImportStatus.QUEUED:
            return not ImportJob.objects.exclude(pk=self.pk).filter(
                status=ImportStatus.RUNNING, heartbeat_at__gte=cutoff).exists()
        return True

    @property
    def percent(self) -> int:
        return int(100 * self.rows_done / self.rows_total) if self.rows_total else 0


class ImportRowIssue(models.Model):
    """A row that was not imported, or a value in it that was not: the original row and why."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="issues")
    row_number = models.PositiveIntegerField(help_text="Line in the file, the header being line 1.")
    rejected = models.BooleanField(default=True, help_text="Unticked: imported, with this value left out.")
    reason = models.CharField(max_length=255)
    row = models.JSONField(default=dict, help_text="The row as read, header -> cell.")

    class Meta:
        ordering = ["row_number", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["job", "row_number", "reason"], name="import_issue_once"),
        ]

    def __str__(self) -> str:
        return f"Line {self.row_number}: {self.reason}"


# Routing ------------------------------------------------------------------------------


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
