"""The one visibility rule, ``Lead.objects.visible_to(user)``, for every kind of user."""

import pytest
from django.contrib.auth.models import AnonymousUser

from leads.models import Contact, Lead, Phone
from pipeline.models import FollowUp

from ..leadcrm.factories import AgentFactory
from .factories import LeadFactory, LeadListFactory, ListMembershipFactory

pytestmark = pytest.mark.django_db


def visible(user):
    return set(Lead.objects.visible_to(user).values_list("pk", flat=True))


def test_agent_sees_only_their_own_leads(agent, lead, other_lead):
    assert visible(agent) == {lead.pk}


def test_team_lead_sees_their_teams_leads_not_other_teams(team_lead, lead, other_lead):
    assert visible(team_lead) == {lead.pk}


def test_team_lead_sees_a_members_lead_even_without_the_team_set(team_lead, agent, other_lead):
    lead = LeadFactory(assigned_agent=agent, team=None)
    assert lead.pk in visible(team_lead)


def test_broker_sees_every_lead(broker, lead, other_lead):
    unassigned = LeadFactory(assigned_agent=None)
    assert visible(broker) == {lead.pk, other_lead.pk, unassigned.pk}


def test_anonymous_and_inactive_users_see_nothing(lead, agent):
    assert visible(AnonymousUser()) == set()
    agent.is_active = False
    agent.save()
    assert visible(agent) == set()


def test_an_agent_without_a_team_sees_only_their_leads(lead):
    loner = AgentFactory()
    mine = LeadFactory(assigned_agent=loner)
    assert visible(loner) == {mine.pk}


def test_rows_hanging_off_leads_follow_the_same_rule(agent, lead, other_lead):
    assert set(Contact.objects.visible_to(agent).values_list("lead", flat=True)) == {lead.pk}
    assert set(Phone.objects.visible_to(agent).values_list("contact__lead", flat=True)) == {lead.pk}
    assert FollowUp.objects.visible_to(agent).count() == 0


def test_sorting_by_next_follow_up_puts_unscheduled_leads_last(agent, team):
    from datetime import timedelta

    from django.utils import timezone

    from compliance.selectors import lead_list

    unscheduled = LeadFactory(assigned_agent=agent, team=team, next_follow_up_at=None)
    later = LeadFactory(assigned_agent=agent, team=team, next_follow_up_at=timezone.now() + timedelta(days=2))
    sooner = LeadFactory(assigned_agent=agent, team=team, next_follow_up_at=timezone.now() + timedelta(hours=1))
    leads, _ = lead_list(fetched_by=agent, filters={"order": "follow_up"})
    assert list(leads) == [sooner, later, unscheduled]


def test_the_list_shows_open_leads_unless_asked_for_outcomes(agent, team):
    from compliance.selectors import lead_list
    from leads.models import Stage

    open_lead = LeadFactory(assigned_agent=agent, team=team)
    dead = LeadFactory(assigned_agent=agent, team=team, stage=Stage.DEAD, dead_reason="foreclosed")
    assert list(lead_list(fetched_by=agent)[0]) == [open_lead]
    assert list(lead_list(fetched_by=agent, filters={"status": "dead"})[0]) == [dead]
    assert list(lead_list(fetched_by=agent, filters={"stage": "dead"})[0]) == [dead]
    assert set(lead_list(fetched_by=agent, filters={"status": "all"})[0]) == {open_lead, dead}


def test_list_filters_by_county_or_zip_auction_window_and_callable_number(agent, client_as, national_registry):
    from datetime import timedelta

    from django.urls import reverse
    from django.utils import timezone

    from .factories import (
        ContactFactory,
        ForeclosureRecordFactory,
        LeadFactory,
        PhoneFactory,
        PropertyFactory,
    )

    tulsa = LeadFactory(assigned_agent=agent)
    PhoneFactory(contact=ContactFactory(lead=tulsa), number="+19185550160")
    norman = LeadFactory(assigned_agent=agent, property=PropertyFactory(city="Norman", county="Cleveland",
                                                                         zip_code="73069"))
    ForeclosureRecordFactory(lead=norman, auction_date=timezone.localdate() + timedelta(days=10))
    client = client_as(agent)

    def found(**query):
        leads = client.get(reverse("leads:list"), query).context["page"].object_list
        return {lead.pk for lead in leads}

    assert found(area="cleveland county") == found(area="73069") == {norman.pk}
    assert found(auction_within=14) == {norman.pk} and found(auction_within=7) == set()
    assert found(callable="true") == {tulsa.pk} and found(callable="false") == {norman.pk}


def test_an_absurd_auction_window_is_a_filter_error_not_a_crash(agent, client_as):
    from django.urls import reverse

    response = client_as(agent).get(reverse("leads:list"), {"auction_within": "100000000"})
    assert response.status_code == 200 and "not understood" in response.content.decode()


@pytest.mark.parametrize("spelling", [
    "(918) 555-0104", "918-555-0104", "918.555.0104", "9185550104", "+1 918 555 0104", "1-918-555-0104",
    "918-555-0104 ext. 12", "918 555 0104 x12", "(918) 555-0104 #12", "555-0104",
])
def test_search_finds_a_phone_in_any_spelling(spelling, agent, team):
    from compliance.selectors import lead_list

    from .factories import ContactFactory, PhoneFactory

    lead = LeadFactory(assigned_agent=agent, team=team)
    PhoneFactory(contact=ContactFactory(lead=lead), number="+19185550104")
    LeadFactory(assigned_agent=agent, team=team)  # a lead with other numbers is not found
    assert list(lead_list(fetched_by=agent, filters={"q": spelling})[0]) == [lead]


def test_an_address_with_a_unit_is_not_taken_for_a_phone_extension(agent, team):
    from compliance.selectors import lead_list

    from .factories import PropertyFactory

    lead = LeadFactory(assigned_agent=agent, team=team, property=PropertyFactory(street="1200 Riverside Dr",
                                                                                unit="4"))
    assert list(lead_list(fetched_by=agent, filters={"q": "1200 Riverside"})[0]) == [lead]


def test_list_filters_by_lead_type_minimum_score_and_list(agent, team):
    from compliance.selectors import lead_list
    from leads.models import LeadType

    auction = LeadFactory(assigned_agent=agent, team=team, lead_type=LeadType.AUCTION, score=80)
    stacked = LeadFactory(assigned_agent=agent, team=team, score=40)
    propstream = LeadListFactory()
    ListMembershipFactory(lead=stacked, lead_list=propstream)

    def found(**filters):
        return set(lead_list(fetched_by=agent, filters=filters)[0])

    assert found(lead_type=LeadType.AUCTION) == {auction}
    assert found(min_score="50") == {auction} and found(min_score="40") == {auction, stacked}
    assert found(list=str(propstream.pk)) == {stacked}


def test_callable_now_wants_calling_hours_at_the_house_this_minute(agent, team):
    """D1 and the states' windows (E1): at 7:30 p.m. in Tulsa Oklahoma's 8 p.m. end has not come;
    at 8:30 p.m. it has, while Phoenix (an hour behind, D1 only) may still be called."""
    from datetime import UTC, datetime

    import time_machine

    from compliance.selectors import lead_list

    from .factories import ContactFactory, PhoneFactory, PropertyFactory

    tulsa = LeadFactory(assigned_agent=agent, team=team)
    phoenix = LeadFactory(assigned_agent=agent, team=team, property=PropertyFactory(
        city="Phoenix", state="AZ", zip_code="85004"))
    unknown_zip = LeadFactory(assigned_agent=agent, team=team, property=PropertyFactory(zip_code=""))
    for lead, number in ((tulsa, "+19185550170"), (phoenix, "+16025550171"), (unknown_zip, "+19185550172")):
        PhoneFactory(contact=ContactFactory(lead=lead), number=number)

    def callable_now(at):
        with time_machine.travel(at):
            return set(lead_list(fetched_by=agent, filters={"callable": "now"})[0])

    assert callable_now(datetime(2026, 11, 19, 1, 30, tzinfo=UTC)) == {tulsa, phoenix}  # 7:30 / 6:30 p.m.
    assert callable_now(datetime(2026, 11, 19, 2, 30, tzinfo=UTC)) == {phoenix}  # 8:30 / 7:30 p.m.
    assert callable_now(datetime(2026, 11, 19, 4, 30, tzinfo=UTC)) == set()  # 10:30 / 9:30 p.m.
    # Any hour: a good number on no list is all "has a callable number" asks.
    assert set(lead_list(fetched_by=agent, filters={"callable": "true"})[0]) == {tulsa, phoenix, unknown_zip}
