"""factory_boy factories of the people: users in each role, teams and memberships.

Each factory makes the smallest valid row, overridable per test. The other apps' rows
are in tests/leads/factories.py, tests/compliance/factories.py and
tests/pipeline/factories.py.
"""

from datetime import UTC, datetime

import factory

from leadcrm.accounts.models import Capacity, LicenseStatus, Team, TeamMembership, User
from leadcrm.accounts.roles import Role
from leadcrm.accounts.services import user_set_role

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


class InvestorFactory(AgentFactory):
    """A licensed agent who buys houses for themselves (capacity principal)."""

    username = factory.Sequence(lambda n: f"investor{n}")
    capacity = Capacity.PRINCIPAL


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
