import zoneinfo
from datetime import time
from functools import cached_property

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils.crypto import salted_hmac

from .roles import Role

US_STATES = [
    ("AL", "Alabama"), ("AK", "Alaska"), ("AZ", "Arizona"), ("AR", "Arkansas"),
    ("CA", "California"), ("CO", "Colorado"), ("CT", "Connecticut"), ("DE", "Delaware"),
    ("DC", "District of Columbia"), ("FL", "Florida"), ("GA", "Georgia"), ("HI", "Hawaii"),
    ("ID", "Idaho"), ("IL", "Illinois"), ("IN", "Indiana"), ("IA", "Iowa"), ("KS", "Kansas"),
    ("KY", "Kentucky"), ("LA", "Louisiana"), ("ME", "Maine"), ("MD", "Maryland"),
    ("MA", "Massachusetts"), ("MI", "Michigan"), ("MN", "Minnesota"), ("MS", "Mississippi"),
    ("MO", "Missouri"), ("MT", "Montana"), ("NE", "Nebraska"), ("NV", "Nevada"),
    ("NH", "New Hampshire"), ("NJ", "New Jersey"), ("NM", "New Mexico"), ("NY", "New York"),
    ("NC", "North Carolina"), ("ND", "North Dakota"), ("OH", "Ohio"), ("OK", "Oklahoma"),
    ("OR", "Oregon"), ("PA", "Pennsylvania"), ("RI", "Rhode Island"),
    ("SC", "South Carolina"), ("SD", "South Dakota"), ("TN", "Tennessee"), ("TX", "Texas"),
    ("UT", "Utah"), ("VT", "Vermont"), ("VA", "Virginia"), ("WA", "Washington"),
    ("WV", "West Virginia"), ("WI", "Wisconsin"), ("WY", "Wyoming"), ("PR", "Puerto Rico"),
]

US_TIME_ZONES = [
    ("America/New_York", "Eastern (New York)"),
    ("America/Detroit", "Eastern (Detroit)"),
    ("America/Indiana/Indianapolis", "Eastern (Indianapolis)"),
    ("America/Chicago", "Central (Chicago)"),
    ("America/Denver", "Mountain (Denver)"),
    ("America/Boise", "Mountain (Boise)"),
    ("America/Phoenix", "Arizona (Phoenix, no DST)"),
    ("America/Los_Angeles", "Pacific (Los Angeles)"),
    ("America/Anchorage", "Alaska (Anchorage)"),
    ("Pacific/Honolulu", "Hawaii (Honolulu)"),
    ("America/Puerto_Rico", "Atlantic (Puerto Rico)"),
]


def validate_time_zone(value: str) -> None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(f"{value!r} is not a known time zone.") from exc


def validate_work_days(value: str) -> None:
    if not value or any(day not in "0123456" for day in value) or len(set(value)) != len(value):
        raise ValidationError("Working days are the digits 0 (Monday) to 6 (Sunday), each at most once.")


class Capacity(models.TextChoices):
    """In what capacity the user contacts homeowners: drives the role disclosure (D3, F8)."""

    SELLER_AGENT = "seller_agent", "Licensed agent representing sellers"
    PRINCIPAL = "principal", "Investor / principal buying for themselves"


class LicenseStatus(models.TextChoices):
    ACTIVE = "active", "Active, in good standing"
    INACTIVE = "inactive", "Inactive or expired"
    UNLICENSED = "unlicensed", "Not licensed"


class User(AbstractUser):
    """A person who signs in. The role is the user's group; see ``roles.py``."""

    phone = models.CharField(
        max_length=16, blank=True, help_text="E.164, e.g. +19185550100. Used in disclosures."
    )
    time_zone = models.CharField(
        max_length=64,
        choices=US_TIME_ZONES,
        default=settings.LEADCRM_DEFAULT_USER_TIME_ZONE,
        validators=[validate_time_zone],
        help_text="Times on screen and the user's working hours are in this zone.",
    )
    # When the user works: reminders reach them then, never at 7 a.m. because a homeowner
    # two zones east could take a call. Weekdays as Python numbers, Monday 0.
    work_starts = models.TimeField(default=time(9, 0), help_text="Start of your working day, in your time zone.")
    work_ends = models.TimeField(default=time(18, 0), help_text="End of your working day, in your time zone.")
    work_days = models.CharField(max_length=7, default="01234", validators=[validate_work_days],
                                 help_text="The days you work: digits, Monday 0 to Sunday 6.")
    email_reminders = models.BooleanField(default=True, help_text="Also send reminders and the daily digest by email.")
    # Role profile: what the user must tell a homeowner about who they are (D3, F8).
    capacity = models.CharField(
        max_length=20, choices=Capacity.choices, default=Capacity.SELLER_AGENT
    )
    license_number = models.CharField(max_length=40, blank=True)
    license_state = models.CharField(max_length=2, choices=US_STATES, blank=True)
    license_status = models.CharField(
        max_length=12, choices=LicenseStatus.choices, default=LicenseStatus.ACTIVE
    )
    # Texts and calls through the provider (docs/messaging.md): the brokerage's number this
    # agent's texts come from and calls show, and the agent's own phone a call rings first.
    sending_number = models.CharField(
        max_length=16, blank=True, validators=[RegexValidator(r"^\+[1-9]\d{6,14}$", "Enter the number in E.164 form.")],
        help_text="The brokerage's provider number your texts and calls show (E.164). Empty: the shared pool.",
    )
    call_phone = models.CharField(
        "phone to ring for calls", max_length=16, blank=True,
        validators=[RegexValidator(r"^\+[1-9]\d{6,14}$", "Enter the number in E.164 form.")],
        help_text="Click-to-call rings this phone first, then connects the homeowner (E.164).",
    )
    # Raised by "Sign out everywhere" (and a second factor's reset): it is part of every
    # session's check (below), so each session signed in before it ends on its next request.
    session_epoch = models.PositiveIntegerField(default=0, editable=False)
    # A brokerage's integration (Zapier, a data warehouse), not a person: it acts only
    # through its API key (leadcrm/accounts/tokens.py), never signs in to a page, and is
    # named in history as "<name> (integration)".
    is_integration = models.BooleanField(default=False, editable=False)

    class Meta:
        ordering = ["first_name", "last_name", "username"]

    def _get_session_auth_hash(self, secret=None):
        """Django's hash of the password, and of the epoch once it was raised: epoch 0 hashes
        as before, so no one was signed out when the epoch came in."""
        if not self.session_epoch:
            return super()._get_session_auth_hash(secret=secret)
        return salted_hmac("leadcrm.accounts.User.session_epoch", f"{self.password}:{self.session_epoch}",
                           secret=secret, algorithm="sha256").hexdigest()

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    def clean(self) -> None:
        super().clean()
        is_licensed = self.license_status != LicenseStatus.UNLICENSED
        if self.capacity == Capacity.SELLER_AGENT and not is_licensed:
            raise ValidationError(
                {"license_status": "Only a licensed agent can represent sellers."}
            )
        if is_licensed and not (self.license_number and self.license_state):
            raise ValidationError(
                "A licensed user needs a license number and the state that issued it."
            )

    def clean_fields(self, exclude=None):
        super().clean_fields(exclude=exclude)
        if self.work_starts and self.work_ends and self.work_starts >= self.work_ends:
            raise ValidationError({"work_ends": "The working day must end after it starts."})

    @property
    def works_on(self) -> frozenset[int]:
        return frozenset(int(day) for day in self.work_days)

    @cached_property
    def role(self) -> Role | None:
        """The user's role, from their groups (prefetch ``groups`` for lists of users;
        otherwise read with their permissions, cached between requests: ``access.py``)."""
        if "groups" in getattr(self, "_prefetched_objects_cache", {}) or not self.pk:
            names = {group.name for group in self.groups.all()}
        else:
            from .access import access_of

            names = access_of(self).group_names
        for role in (Role.BROKER, Role.TEAM_LEAD, Role.AGENT):
            if role.label in names:
                return role
        return None

    @property
    def is_licensee(self) -> bool:
        return self.license_status != LicenseStatus.UNLICENSED


class Team(models.Model):
    """A team lead and the agents who work under them."""

    name = models.CharField(max_length=80, unique=True)
    lead = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="led_teams"
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="TeamMembership", related_name="teams"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TeamMembership(models.Model):
    """An agent's place on a team; an agent is on one team at a time."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="team_membership"
    )
    # Round-robin routing gives an agent leads in proportion to this weight.
    capacity_weight = models.PositiveSmallIntegerField(default=1)
    # Leads handed to this agent by round-robin; the next goes to the lowest served/weight.
    round_robin_served = models.PositiveIntegerField(default=0, editable=False)
    is_active = models.BooleanField(default=True)
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["team", "user"]

    def __str__(self) -> str:
        return f"{self.user} on {self.team}"


class BrokerageManager(models.Manager):
    def current(self) -> "Brokerage":
        brokerage, _ = self.get_or_create(pk=Brokerage.SINGLETON_ID)
        return brokerage


class Brokerage(models.Model):
    """The brokerage running this installation; disclosures and letters quote it.

    One row only (``Brokerage.objects.current()``).
    """

    SINGLETON_ID = 1

    name = models.CharField(max_length=120, default="Your brokerage")
    license_number = models.CharField(max_length=40, blank=True)
    license_state = models.CharField(max_length=2, choices=US_STATES, blank=True)
    office_street = models.CharField("office street address", max_length=120, blank=True)
    office_city = models.CharField(max_length=60, blank=True)
    office_state = models.CharField(max_length=2, choices=US_STATES, blank=True)
    office_zip = models.CharField(max_length=10, blank=True)
    phone = models.CharField(max_length=16, blank=True, help_text="E.164, e.g. +19185550100")
    email = models.EmailField(blank=True)
    website = models.URLField(blank=True)
    # Compliance facts about the brokerage itself.
    texas_registration_number = models.CharField(
        max_length=40, blank=True,
        help_text="Texas telephone solicitation registration (Tex. Bus. & Com. Code 302): needed to call or text Texas numbers (E4).",
    )
    texas_exemption = models.TextField(
        blank=True, help_text="Or the exemption the brokerage claims, with its basis (E4)."
    )
    investor_offer_opt_in_on = models.DateField(
        null=True, blank=True,
        help_text="The date the brokerage opted in writing to treat pure offers to buy as "
                  "outside the registry rules (C4); empty: they are covered.",
    )
    # The pond (leads.routing): how long a claimed lead may go unworked before it goes
    # back, and how many an agent may hold claimed at once (no hoarding).
    pond_claim_hours = models.PositiveSmallIntegerField(
        default=48, help_text="A lead claimed from the pond goes back unless a call, text, email or letter is logged within this many hours.")
    pond_claim_limit = models.PositiveSmallIntegerField(
        default=10, help_text="How many pond leads an agent may hold claimed and not yet worked at once.")
    # Calls through the provider (docs/messaging.md#recording): off unless a broker turns it on.
    record_calls = models.BooleanField(
        default=False,
        help_text="Record click-to-call calls. Both sides hear that the call is recorded; in states where every "
                  "party must consent, calls are recorded only when the agent confirms the homeowner agreed.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    objects = BrokerageManager()

    class Meta:
        verbose_name = "brokerage settings"
        verbose_name_plural = "brokerage settings"
        constraints = [
            models.CheckConstraint(condition=models.Q(id=1), name="brokerage_single_row"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def office_address(self) -> str:
        city_line = " ".join(
            part for part in (f"{self.office_city}," if self.office_city else "",
                              self.office_state, self.office_zip) if part
        )
        return ", ".join(part for part in (self.office_street, city_line) if part)

# The API's tokens live in their own module (hashed, expiring): Django finds the model here.
from .tokens import ApiToken  # noqa: E402,F401
