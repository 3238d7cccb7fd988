"""Shared fixtures: the people of a small brokerage and a lead each can or cannot see.

``agent`` is on ``team`` (led by ``team_lead``); ``other_agent`` is on ``other_team``.
``lead`` belongs to ``agent``; ``other_lead`` to ``other_agent``.
"""

import pytest
from django.conf import settings
from django.test import Client

from leadcrm.accounts.models import Brokerage
from leadcrm.accounts.services import team_member_set

from .factories import (
    AgentFactory,
    BrokerFactory,
    ContactFactory,
    LeadFactory,
    PhoneFactory,
    TeamFactory,
    TeamLeadFactory,
)


def pytest_configure(config):
    # The first line of every run says which database and broker it is testing against
    # (leadcrm/settings/backends.py decides; CI=true never falls back).
    print(settings.TEST_BACKENDS.banner, flush=True)


@pytest.fixture(autouse=True)
def _media_root(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"


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
def lead(agent, team, brokerage):
    lead = LeadFactory(assigned_agent=agent, team=team)
    PhoneFactory(contact=ContactFactory(lead=lead), number="+19185550104")
    return lead


@pytest.fixture
def other_lead(other_agent, other_team):
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
