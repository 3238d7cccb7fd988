"""The lead list's ``?search=`` (name, phone any way written, email, address) and
``?ordering=`` (the field, then the id, paged by a cursor of both)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from leadcrm.shared.sync import INVALID_CURSOR
from leads.filters import SEARCH_MAX_LENGTH
from leads.models import Lead

from ...helpers import api_as
from ...leads.factories import ContactFactory, EmailFactory, LeadFactory, PhoneFactory

pytestmark = pytest.mark.django_db



def ids(response):
    assert response.status_code == 200, response.json()
    return [row["id"] for row in response.json()["results"]]


def read_all(client, params):
    rows, response = [], client.get(reverse("api:lead-list"), params)
    while True:
        assert response.status_code == 200, response.json()
        rows.extend(row["id"] for row in response.json()["results"])
        if not response.json()["next"]:
            return rows
        response = client.get(response.json()["next"])


@pytest.fixture
def garcia(agent, team):
    lead = LeadFactory(assigned_agent=agent, team=team, property__street="8704 Troost Ave")
    owner = ContactFactory(lead=lead, first_name="Maria", last_name="Okonkwo")
    PhoneFactory(contact=owner, number="+19185550177")
    EmailFactory(contact=owner, address="maria.okonkwo@example.com")
    return lead


@pytest.mark.parametrize("text", [
    "okonkwo", "Maria Okonkwo",  # a name
    "(918) 555-0177", "918.555.0177", "+1 918 555 0177", "9185550177", "918-555-0177 ext. 4",  # a phone
    "maria.okonkwo@example.com", "MARIA.OKONKWO@example.com",  # an email
    "8704 troost avenue", "8704 Troost",  # the address
])
def test_search_finds_a_lead_by_name_phone_email_or_address(garcia, lead, agent, text):
    assert ids(api_as(agent).get(reverse("api:lead-list"), {"search": text})) == [garcia.pk]


def test_search_never_finds_a_lead_the_caller_may_not_see(garcia, other_lead, agent, other_agent):
    other = other_lead.contacts.get()
    EmailFactory(contact=other, address="someone@example.org")
    client = api_as(agent)
    for text in ("+1 850 555 0147", "someone@example.org", other.last_name):
        assert ids(client.get(reverse("api:lead-list"), {"search": text})) == []
    assert ids(api_as(other_agent).get(reverse("api:lead-list"), {"search": "850-555-0147"})) == [other_lead.pk]


def test_a_search_too_long_is_a_400(agent):
    response = api_as(agent).get(reverse("api:lead-list"), {"search": "x" * (SEARCH_MAX_LENGTH + 1)})
    assert response.status_code == 400 and "search" in response.json()


def test_ordering_by_score_breaks_ties_by_id_and_pages_by_cursor(agent, team):
    scores = [40, 90, 40, 10, 90, 40]
    leads = [LeadFactory(assigned_agent=agent, team=team, score=score) for score in scores]
    client = api_as(agent)
    expected = [lead.pk for lead in sorted(leads, key=lambda lead: (lead.score, lead.pk))]
    assert read_all(client, {"ordering": "score", "page_size": 2}) == expected
    expected = [lead.pk for lead in sorted(leads, key=lambda lead: (-lead.score, -lead.pk))]
    assert read_all(client, {"ordering": "-score", "page_size": 2}) == expected


@pytest.mark.parametrize("ordering", ["next_follow_up_at", "-next_follow_up_at"])
def test_ordering_by_a_date_some_leads_lack_puts_them_last_and_pages_through_them(agent, team, ordering):
    start = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
    dated = [LeadFactory(assigned_agent=agent, team=team, next_follow_up_at=start + timedelta(days=day))
             for day in (3, 1, 2)]
    undated = [LeadFactory(assigned_agent=agent, team=team, next_follow_up_at=None) for _ in range(3)]
    descending = ordering.startswith("-")
    dated.sort(key=lambda lead: lead.next_follow_up_at, reverse=descending)
    undated.sort(key=lambda lead: lead.pk, reverse=descending)
    assert read_all(api_as(agent), {"ordering": ordering, "page_size": 2}) == [
        lead.pk for lead in (*dated, *undated)]


def in_order(leads, name, descending):
    """The ids by (field, id), leads without a value last."""
    valued = sorted((lead for lead in leads if getattr(lead, name) is not None),
                    key=lambda lead: (getattr(lead, name), lead.pk), reverse=descending)
    empty = sorted((lead for lead in leads if getattr(lead, name) is None), key=lambda lead: lead.pk, reverse=descending)
    return [lead.pk for lead in (*valued, *empty)]


def test_every_ordering_offered_reads_the_whole_book_once_in_its_order(agent, team):
    made = [LeadFactory(assigned_agent=agent, team=team, score=score) for score in (5, 5, 7, 1)]
    Lead.objects.filter(pk=made[0].pk).update(last_contacted_at=datetime(2026, 11, 1, tzinfo=UTC))
    Lead.objects.filter(pk=made[3].pk).update(last_contacted_at=datetime(2026, 10, 1, tzinfo=UTC),
                                              next_follow_up_at=datetime(2026, 12, 1, tzinfo=UTC))
    leads = list(Lead.objects.filter(pk__in=[lead.pk for lead in made]))
    client = api_as(agent)
    for name in ("created_at", "updated_at", "score", "stage_entered_at", "next_follow_up_at", "last_contacted_at"):
        for descending in (False, True):
            ordering = f"-{name}" if descending else name
            assert read_all(client, {"ordering": ordering, "page_size": 1}) == in_order(leads, name, descending), (
                ordering)


def test_an_ordering_not_offered_is_a_400(agent):
    for ordering in ("street", "-id", "score,id"):
        response = api_as(agent).get(reverse("api:lead-list"), {"ordering": ordering})
        assert response.status_code == 400 and "ordering" in response.json(), ordering


def test_a_cursor_of_one_ordering_is_refused_by_another(agent, team):
    for score in (1, 2, 3):
        LeadFactory(assigned_agent=agent, team=team, score=score)
    client = api_as(agent)
    page = client.get(reverse("api:lead-list"), {"ordering": "score", "page_size": 1}).json()
    assert [row["score"] for row in page["results"]] == [1]
    next_link = page["next"]
    cursor = next_link.split("cursor=")[1].split("&")[0]
    response = client.get(reverse("api:lead-list"), {"ordering": "-score", "cursor": cursor})
    assert response.status_code == 404 and response.json()["detail"] == INVALID_CURSOR


def test_search_and_ordering_cost_the_same_queries_for_few_leads_or_many(agent, team):
    client = api_as(agent)

    def book(count):
        for _ in range(count):
            owner = ContactFactory(lead=LeadFactory(assigned_agent=agent, team=team), last_name="Ndiaye")
            PhoneFactory(contact=owner)

    params = {"search": "ndiaye", "ordering": "-score"}
    ContactFactory(lead=LeadFactory(assigned_agent=agent, team=team), last_name="Mbeki")  # not found
    book(2)
    client.get(reverse("api:lead-list"), params)  # the token's first use writes last_used_at
    with CaptureQueriesContext(connection) as few:
        assert len(ids(client.get(reverse("api:lead-list"), params))) == 2
    book(8)
    with CaptureQueriesContext(connection) as many:
        assert len(ids(client.get(reverse("api:lead-list"), params))) == 10
    assert len(many) == len(few)
