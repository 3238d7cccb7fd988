"""Shared fixtures: the people of a small brokerage and a lead each can or cannot see.

``agent`` is on ``team`` (led by ``team_lead``); ``other_agent`` is on ``other_team``.
``lead`` belongs to ``agent``; ``other_lead`` to ``other_agent``.
"""

import os
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.apps import apps
from django.conf import settings
from django.db import connections
from django.db.models.signals import post_migrate
from django.test import Client
from django.utils import timezone

from compliance.rulebook import forget as forget_rulebook
from compliance.services import registry_version_record
from leadcrm.accounts.models import Brokerage
from leadcrm.accounts.services import team_member_set

from . import seeded
from .compliance.factories import DncSourceFactory
from .helpers import force_login_verified
from .leadcrm.factories import AgentFactory, BrokerFactory, TeamFactory, TeamLeadFactory
from .leads.factories import ContactFactory, LeadFactory, PhoneFactory


def pytest_configure(config):
    # The first line of every run says which database and broker it is testing against
    # (leadcrm/settings/backends.py decides; CI=true never falls back).
    print(settings.TEST_BACKENDS.banner, flush=True)
    workers = getattr(config.option, "numprocesses", None)
    if workers and not os.environ.get("PYTEST_XDIST_WORKER"):
        # The workers' own lines are not shown: say here how they are kept apart
        # (leadcrm/settings/backends.py, docs/testing.md).
        print(f"On {workers} pytest-xdist workers (-n {workers}): each has its own test database "
              "(the name ends in its id, gw0, gw1, ...) and its own Redis db, counted down "
              "from REDIS_URL's.", flush=True)


# A transactional test ends with a flush of every table; the rows the data migrations
# seeded (the compliance rules, holidays, phrases, the script, the guide) come back at its
# end, after the role groups (seeded.py). Every later test finds them, whatever the order.
post_migrate.connect(seeded.restore, sender=apps.get_app_config("leadcrm"), dispatch_uid="tests-seeded-rows")


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        for alias in connections:
            if connections[alias].settings_dict["TEST"].get("MIRROR"):
                continue  # the read replica's alias: the primary's test database, or not set up
            _sequences_restart(alias)
            seeded.take(alias)


def _sequences_restart(alias: str) -> None:
    """Each run numbers rows from where the seeded rows end, as on a new database.

    Rolled-back tests still advance PostgreSQL's sequences, so a test database kept between
    runs (``--reuse-db``, the fast loop) would hand out ever larger ids; a DNC registry's id
    must stay small enough to share the number key (``DncNumber.key``)."""
    from django.core.management.color import no_style

    connection = connections[alias]
    statements = connection.ops.sequence_reset_sql(no_style(), apps.get_models())
    if statements:
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)


# Wednesday 18 November 2026, 20:00 UTC: mid-afternoon in every continental US zone,
# inside every state's calling window and on no state's holiday. Tests that are about
# time travel further themselves.
OFFICE_HOURS = datetime(2026, 11, 18, 20, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _office_hours():
    with time_machine.travel(OFFICE_HOURS, tick=True):
        yield


@pytest.fixture(autouse=True)
def _fresh_rulebook():
    # Rolled-back test data must not survive in the in-memory rule tables.
    forget_rulebook()
    yield
    forget_rulebook()


@pytest.fixture(autouse=True)
def _fresh_cache():
    # Cached figures (the forecast's stage durations) must not outlive a test's data.
    from django.core.cache import cache

    from leadcrm.shared import health

    cache.clear()
    health._answer = None  # the readiness page's last answer, kept a few seconds per process
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _force_login_passes_the_second_factor(monkeypatch):
    # Tests sign in with client.force_login and are about their pages: a broker's or an admin
    # user's session counts as having passed the second factor too. The tests of the factor
    # itself sign in with helpers.force_login_password_only.
    monkeypatch.setattr(Client, "force_login", force_login_verified)


@pytest.fixture(autouse=True)
def _media_root(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def national_registry(db):
    """The brokerage's national Do Not Call data, five days old for the test area codes (A3)."""
    source = DncSourceFactory(name="National DNC Registry",
                              subscription_expires_on=(OFFICE_HOURS + timedelta(days=200)).date())
    registry_version_record(source=source, area_codes=["918", "850", "602", "214", "410", "305", "404"],
                            version_date=(timezone.now() - timedelta(days=5)).date())
    return source


@pytest.fixture
def brokerage(db):
    brokerage = Brokerage.objects.current()
    brokerage.name = "Sunbelt Test Realty"
    brokerage.save()
    return brokerage


@pytest.fixture
def team_lead(db):
    return TeamLeadFactory(first_name="Tess", last_name="Lead")


@pytest.fixture
def team(team_lead):
    return TeamFactory(name="Heartland", lead=team_lead)


@pytest.fixture
def agent(team):
    user = AgentFactory(first_name="Ana", last_name="Torres")
    team_member_set(team=team, user=user)
    return user


@pytest.fixture
def other_team(db):
    return TeamFactory(name="Gulf")


@pytest.fixture
def other_agent(other_team):
    user = AgentFactory(first_name="Ollie", last_name="Other")
    team_member_set(team=other_team, user=user)
    return user


@pytest.fixture
def broker(db):
    return BrokerFactory(first_name="Dana", last_name="Broker")


@pytest.fixture
def lead(agent, team, brokerage, national_registry):
    lead = LeadFactory(assigned_agent=agent, team=team)
    PhoneFactory(contact=ContactFactory(lead=lead), number="+19185550104")
    return lead


@pytest.fixture
def other_lead(other_agent, other_team, national_registry):
    lead = LeadFactory(assigned_agent=other_agent, team=other_team)
    PhoneFactory(contact=ContactFactory(lead=lead), number="+18505550147")
    return lead


@pytest.fixture
def client_as():
    """``client_as(user)`` is a test client signed in as ``user`` (None: anonymous)."""

    def make(user):
        client = Client()
        if user is not None:
            client.force_login(user)
        return client

    return make

