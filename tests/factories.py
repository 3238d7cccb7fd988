"""factory_boy factories: the smallest valid row of each model, overridable per test."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import factory
from django.utils import timezone

from compliance.models import DncSource, RegistryKind
from leadcrm.accounts.models import Capacity, LicenseStatus, Team, TeamMembership, User
from leadcrm.accounts.roles import Role
from leadcrm.accounts.services import user_set_role
from leads.addresses import address_key
from leads.models import (
    Contact,
    Email,
    HardshipCategory,
    HardshipRecord,
    Lead,
    LeadType,
    Lien,
    LienType,
    Phone,
    PhoneType,
    Property,
)

PASSWORD = "correct horse battery staple"


POLICY_TEXT = (
    "Before every call or text: check the live verdict; never dial a number on the national, state, "
    "litigator or internal list; call only 8 a.m. to 9 p.m. (or the state's window) in every time zone "
    "of the homeowner; say who you are and why you call; record any request to stop at once, in the "
    "homeowner's own words. Managers review the compliance report weekly."
)


def acknowledge_policy(user, create, extracted, **kwargs):
    """Users are trained on the procedures in force unless ``acknowledged=False`` (A4)."""
    from compliance.services import dnc_policy_adopt, dnc_policy_current, policy_acknowledge

    if create and extracted is not False:
        # Adopted and acknowledged long before any call a test logs, however far back it is dated.
        trained = datetime(2020, 1, 2, 9, tzinfo=UTC)
        policy = dnc_policy_current() or dnc_policy_adopt(text=POLICY_TEXT, adopted_by=user,
                                                          adopted_on=trained.date())
        policy_acknowledge(user=user, policy=policy, at=trained)


def role_setter(default_role: Role):
    """A post-generation hook giving the user a role (``role=`` overrides the default)."""

    def set_role(user, create, extracted, **kwargs):
        if create:
            user.save()
            user_set_role(user=user, role=extracted or default_role)

    return set_role


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    time_zone = "America/Chicago"
    capacity = Capacity.SELLER_AGENT
    license_number = factory.Sequence(lambda n: f"LIC-{1000 + n}")
    license_state = "OK"
    license_status = LicenseStatus.ACTIVE
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)
    role = factory.PostGeneration(role_setter(Role.AGENT))
    acknowledged = factory.PostGeneration(acknowledge_policy)


class AgentFactory(UserFactory):
    username = factory.Sequence(lambda n: f"agent{n}")


class TeamLeadFactory(UserFactory):
    username = factory.Sequence(lambda n: f"teamlead{n}")
    role = factory.PostGeneration(role_setter(Role.TEAM_LEAD))


class BrokerFactory(UserFactory):
    username = factory.Sequence(lambda n: f"broker{n}")
    role = factory.PostGeneration(role_setter(Role.BROKER))


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team

    name = factory.Sequence(lambda n: f"Team {n}")
    lead = factory.SubFactory(TeamLeadFactory)


class TeamMembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TeamMembership

    team = factory.SubFactory(TeamFactory)
    user = factory.SubFactory(AgentFactory)


class PropertyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Property

    street = factory.Sequence(lambda n: f"{100 + n} Maple Dr")
    unit = ""
    city = "Tulsa"
    state = "OK"
    zip_code = "74130"
    county = "Tulsa"
    estimated_value = Decimal("300000")
    address_key = factory.LazyAttribute(
        lambda p: address_key(street=p.street, unit=p.unit, city=p.city, state=p.state, zip_code=p.zip_code)
    )


class LeadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lead

    property = factory.SubFactory(PropertyFactory)
    lead_type = LeadType.NOD
    assigned_agent = factory.SubFactory(AgentFactory)
    stage_entered_at = factory.LazyFunction(timezone.now)


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    lead = factory.SubFactory(LeadFactory)
    first_name = "Maria"
    last_name = factory.Sequence(lambda n: f"Garcia{n}")
    mailing_street = factory.LazyAttribute(lambda c: c.lead.property.street)
    mailing_city = "Tulsa"
    mailing_state = "OK"
    mailing_zip = "74130"


class PhoneFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Phone

    contact = factory.SubFactory(ContactFactory)
    number = factory.Sequence(lambda n: f"+1918555{100 + n % 100:04d}")
    phone_type = PhoneType.MOBILE


class EmailFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Email

    contact = factory.SubFactory(ContactFactory)
    address = factory.Sequence(lambda n: f"owner{n}@example.com")


class HardshipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = HardshipRecord

    lead = factory.SubFactory(LeadFactory)
    category = HardshipCategory.JOB_LOSS
    narrative = "Laid off in March."


class LienFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lien

    lead = factory.SubFactory(LeadFactory)
    position = 1
    lien_type = LienType.MORTGAGE
    lender = "Mr. Cooper"
    balance = Decimal("250000")
    loan_number_masked = "****1234"


class DncSourceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DncSource

    name = factory.Sequence(lambda n: f"Registry {n}")
    kind = RegistryKind.NATIONAL
    subscription_account_number = "SAN-TEST-1"
    subscription_expires_on = factory.LazyFunction(lambda: timezone.now().date() + timedelta(days=365))
    data_as_of = factory.LazyFunction(lambda: timezone.now().date())


class InvestorFactory(AgentFactory):
    """A licensed agent who buys houses for themselves (capacity principal)."""

    username = factory.Sequence(lambda n: f"investor{n}")
    capacity = Capacity.PRINCIPAL
