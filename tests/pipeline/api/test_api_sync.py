"""Sync by change: ``updated_at`` on what the API returns, ``?updated_since=`` on every list,
and keyset pages by (updated_at, id) that never skip a row changed while a client pages."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from leadcrm.shared.sync import (
    INVALID_CURSOR,
    ORDERING_WITH_SINCE,
    SINCE_NAIVE,
    SINCE_OUT_OF_RANGE,
    SINCE_UNREADABLE,
)
from leads.models import Lead
from pipeline.models import FollowUp
from pipeline.reminders.services import follow_up_complete, follow_up_create

from ...helpers import api_as
from ...leads.factories import ContactFactory, EmailFactory, LeadFactory, PhoneFactory
from ...pipeline.factories import OutreachAttemptFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)



def leads_url():
    return reverse("api:lead-list")


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def read_all(client, url, params=None):
    """Every page's rows, following ``next``."""
    rows, response = [], client.get(url, params or {})
    while True:
        assert response.status_code == 200, response.json()
        body = response.json()
        rows.extend(body["results"])
        if not body["next"]:
            return rows
        response = client.get(body["next"])


def a_book(agent, team, count):
    """``count`` leads of ``agent``, each with an owner and a phone, made a minute apart from T0."""
    leads = []
    for minute in range(count):
        with time_machine.travel(T0 + timedelta(minutes=minute), tick=False):
            lead = LeadFactory(assigned_agent=agent, team=team)
            PhoneFactory(contact=ContactFactory(lead=lead), number=f"+1918555{minute:04d}")
            leads.append(lead)
    return leads


def test_a_sync_reads_back_exactly_the_leads_changed_since_including_an_edited_phone(agent, team):
    # given: a client that has read the whole book
    book = a_book(agent, team, 5)
    client = api_as(agent)
    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        assert {row["id"] for row in read_all(client, leads_url())} == {lead.pk for lead in book}
    changed_from = T0 + timedelta(hours=2)
    phoned, moved, renamed = book[3], book[0], book[1]
    # when: three leads change, one only through its owner's phone
    with time_machine.travel(changed_from, tick=False):
        phone = phoned.contacts.get().phones.get()
        response = client.patch(reverse("api:lead-phone", args=[phoned.pk, phone.pk]),
                                {"version": phone.version, "phone_type": "landline"}, format="json")
        assert response.status_code == 200, response.json()
    with time_machine.travel(changed_from + timedelta(minutes=1), tick=False):
        response = client.post(reverse("api:lead-move", args=[moved.pk]),
                               {"to_stage": "dead", "dead_reason": "not_interested"}, format="json")
        assert response.status_code == 200, response.json()
    with time_machine.travel(changed_from + timedelta(minutes=2), tick=False):
        owner = renamed.contacts.get()
        response = client.patch(reverse("api:lead-contact", args=[renamed.pk, owner.pk]),
                                {"version": owner.version, "last_name": "Okafor"}, format="json")
        assert response.status_code == 200, response.json()
    # then: reading since the moment before the changes gives those three, in the order they changed
    with time_machine.travel(changed_from + timedelta(hours=1), tick=False):
        rows = read_all(client, leads_url(), {"updated_since": iso(changed_from)})
    assert [row["id"] for row in rows] == [phoned.pk, moved.pk, renamed.pk]
    assert [row["updated_at"] for row in rows] == sorted(row["updated_at"] for row in rows)
    assert rows[0]["updated_at"] == iso(changed_from)


def test_updated_since_is_inclusive_so_rows_sharing_the_last_moment_are_not_lost(agent, team):
    with time_machine.travel(T0, tick=False):
        same = [LeadFactory(assigned_agent=agent, team=team) for _ in range(3)]
    with time_machine.travel(T0 - timedelta(seconds=1), tick=False):
        LeadFactory(assigned_agent=agent, team=team)
    rows = read_all(api_as(agent), leads_url(), {"updated_since": iso(T0)})
    assert [row["id"] for row in rows] == sorted(lead.pk for lead in same)


def test_a_row_changed_while_paging_moves_to_the_end_and_none_is_skipped(agent, team):
    # given: four leads changed at the same moment, read two a page
    with time_machine.travel(T0, tick=False):
        first, second, third, fourth = (LeadFactory(assigned_agent=agent, team=team) for _ in range(4))
    client = api_as(agent)
    page = client.get(leads_url(), {"updated_since": iso(T0), "page_size": 2}).json()
    assert [row["id"] for row in page["results"]] == [first.pk, second.pk]
    # when: a row already read and one not read yet change before the next page
    with time_machine.travel(T0 + timedelta(minutes=5), tick=False):
        Lead.objects.get(pk=first.pk).save(update_fields=["score", "updated_at"])
        Lead.objects.get(pk=third.pk).save(update_fields=["score", "updated_at"])
    # then: the rest come, then the changed ones again: nothing skipped
    seen = [row["id"] for row in read_all(client, page["next"])]
    assert seen == [fourth.pk, first.pk, third.pk]


def test_without_updated_since_a_list_keeps_its_order_newest_first(agent, team):
    book = a_book(agent, team, 3)
    book[0].save(update_fields=["score", "updated_at"])  # changed last, still listed by id
    rows = read_all(api_as(agent), leads_url())
    assert [row["id"] for row in rows] == [lead.pk for lead in reversed(book)]


def test_what_the_api_returns_carries_updated_at(lead, agent):
    EmailFactory(contact=lead.contacts.get())
    client = api_as(agent)
    detail = client.get(reverse("api:lead-detail", args=[lead.pk])).json()
    owner = detail["contacts"][0]
    assert detail["updated_at"] and owner["updated_at"] and owner["phones"][0]["updated_at"]
    assert owner["emails"][0]["updated_at"]
    assert client.get(leads_url()).json()["results"][0]["updated_at"] == detail["updated_at"]


def test_follow_ups_sync_by_their_own_changes(lead, agent):
    with time_machine.travel(T0, tick=False):
        untouched = follow_up_create(lead=lead, assignee=agent, due_at=T0 + timedelta(days=1), title="Call back")
        done = follow_up_create(lead=lead, assignee=agent, due_at=T0 + timedelta(days=2), title="Send the packet")
    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        follow_up_complete(follow_up=done)
    rows = read_all(api_as(agent), reverse("api:follow-up-list"), {"updated_since": iso(T0 + timedelta(hours=1))})
    assert [row["id"] for row in rows] == [done.pk]
    assert FollowUp.objects.get(pk=untouched.pk).updated_at == T0


def test_the_outreach_log_syncs_by_when_each_attempt_was_logged(lead, agent):
    with time_machine.travel(T0, tick=False):
        OutreachAttemptFactory(lead=lead, agent=agent)
    later = T0 + timedelta(days=1)
    with time_machine.travel(later, tick=False):
        second = OutreachAttemptFactory(lead=lead, agent=agent)
    rows = read_all(api_as(agent), reverse("api:outreach-list"), {"updated_since": iso(later)})
    assert [row["id"] for row in rows] == [second.pk] and rows[0]["updated_at"] == iso(later)


@pytest.mark.parametrize(("value", "message"), [
    ("2026-11-02T15:00:00", SINCE_NAIVE),
    ("2026-11-02", SINCE_NAIVE),
    ("yesterday", SINCE_UNREADABLE),
    ("2026-13-45T99:00:00Z", SINCE_UNREADABLE),
    ("1800-01-01T00:00:00Z", SINCE_OUT_OF_RANGE),
])
def test_an_updated_since_that_is_naive_or_unreadable_is_a_400_saying_what_to_send(agent, value, message):
    response = api_as(agent).get(leads_url(), {"updated_since": value})
    assert response.status_code == 400
    assert response.json()["updated_since"] == [message]


def test_an_offset_whose_plus_arrived_as_a_space_is_still_read(agent, team):
    with time_machine.travel(T0 - timedelta(seconds=1), tick=False):
        LeadFactory(assigned_agent=agent, team=team)
    with time_machine.travel(T0, tick=False):
        lead = LeadFactory(assigned_agent=agent, team=team)
    # "+00:00" sent unencoded in a query string reads as " 00:00"
    response = api_as(agent).get(f"{leads_url()}?updated_since=2026-11-02T15:00:00+00:00")
    assert response.status_code == 200 and [row["id"] for row in response.json()["results"]] == [lead.pk]


def test_ordering_other_than_updated_at_with_updated_since_is_a_400(agent):
    response = api_as(agent).get(leads_url(), {"updated_since": iso(T0), "ordering": "-score"})
    assert response.status_code == 400 and response.json()["ordering"] == [ORDERING_WITH_SINCE]
    assert api_as(agent).get(leads_url(), {"updated_since": iso(T0), "ordering": "updated_at"}).status_code == 200


def test_a_cursor_not_made_for_this_order_is_a_404(agent, team):
    book = a_book(agent, team, 3)
    client = api_as(agent)
    page = client.get(leads_url(), {"updated_since": iso(T0), "page_size": 1}).json()
    assert [row["id"] for row in page["results"]] == [book[0].pk]
    assert [row["id"] for row in client.get(page["next"]).json()["results"]] == [book[1].pk]
    next_link = page["next"]
    cursor = next_link.split("cursor=")[1].split("&")[0]
    response = client.get(leads_url(), {"ordering": "score", "cursor": cursor})
    assert response.status_code == 404 and response.json()["detail"] == INVALID_CURSOR
    assert client.get(leads_url(), {"updated_since": iso(T0), "cursor": "bm9wZQ"}).status_code == 404


def test_a_sync_page_costs_the_same_queries_for_few_rows_or_many(agent, team):
    client = api_as(agent)
    a_book(agent, team, 2)
    client.get(leads_url(), {"updated_since": iso(T0)})  # the token's first use writes last_used_at
    with CaptureQueriesContext(connection) as few:
        assert len(client.get(leads_url(), {"updated_since": iso(T0)}).json()["results"]) == 2
    a_book(agent, team, 8)
    with CaptureQueriesContext(connection) as many:
        assert len(client.get(leads_url(), {"updated_since": iso(T0)}).json()["results"]) == 10
    assert len(many) == len(few)
