"""Follow-ups through the API in full: rescheduled, reassigned, reworded and cancelled through
the same rules as a new one, the agenda's filters, and who may do what."""

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from leadcrm.accounts.services import team_member_set
from pipeline.models import FollowUp
from pipeline.reminders.services import (
    FOLLOW_UP_CANCELLED,
    NOT_YOURS_TO_ASSIGN,
    follow_up_complete,
    follow_up_create,
)

from ...leadcrm.factories import AgentFactory
from ...leads.factories import LeadFactory
from ..factories import FollowUpFactory
from .test_api import api_as

pytestmark = pytest.mark.django_db


def detail(follow_up) -> str:
    return reverse("api:follow-up-detail", args=[follow_up.pk])


@pytest.fixture
def follow_up(lead, agent):
    return follow_up_create(lead=lead, assignee=agent, title="Call back", kind="call",
                            due_at=timezone.now() + timedelta(days=1))


def test_a_call_rescheduled_falls_due_when_the_homeowner_may_be_called(follow_up, lead, agent):
    FollowUp.objects.filter(pk=follow_up.pk).update(notified_at=timezone.now())

    # 6:00 in Tulsa is before any calling window opens: due at 8:00 Central, what was asked kept
    response = api_as(agent).patch(detail(follow_up), {"due_at": "2026-11-24T06:00:00-06:00"}, format="json")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["due_at"] == "2026-11-24T14:00:00Z" and body["requested_at"] == "2026-11-24T12:00:00Z"
    follow_up.refresh_from_db()
    lead.refresh_from_db()
    assert lead.next_follow_up_at == follow_up.due_at == datetime(2026, 11, 24, 14, tzinfo=UTC)
    assert follow_up.notified_at is None  # told again at the new time


def test_a_title_and_notes_change_and_nothing_else(follow_up, agent):
    due = follow_up.due_at
    response = api_as(agent).patch(detail(follow_up), {"title": "Ask for the bank statements", "notes": "May's"},
                                   format="json")
    assert response.status_code == 200, response.json()
    follow_up.refresh_from_db()
    assert (follow_up.title, follow_up.notes, follow_up.due_at) == ("Ask for the bank statements", "May's", due)
    assert api_as(agent).patch(detail(follow_up), {"title": ""}, format="json").status_code == 400


def test_the_answer_gives_the_assignee_as_an_id_and_a_name_and_keeps_the_name(follow_up, agent):
    body = api_as(agent).get(detail(follow_up)).json()
    assert (body["assignee_id"], body["assignee_name"], body["assignee"]) == (agent.pk, "Ana Torres", "Ana Torres")


def test_a_team_lead_reassigns_to_someone_on_their_team(follow_up, team, team_lead):
    teammate = AgentFactory(first_name="Tom", last_name="Mate")
    team_member_set(team=team, user=teammate)
    FollowUp.objects.filter(pk=follow_up.pk).update(notified_at=timezone.now(), escalate_at=timezone.now())

    response = api_as(team_lead).patch(detail(follow_up), {"assignee": teammate.pk}, format="json")

    assert response.status_code == 200, response.json()
    assert (response.json()["assignee_id"], response.json()["assignee_name"]) == (teammate.pk, "Tom Mate")
    follow_up.refresh_from_db()
    assert follow_up.assignee == teammate and follow_up.notified_at is None and follow_up.escalate_at is None


def test_an_assignee_the_caller_cannot_see_is_a_404_like_a_path(follow_up, agent, team_lead, other_agent):
    # the agent sees no one but themself; the team lead not the other team's agent
    for caller, assignee in ((agent, team_lead), (team_lead, other_agent)):
        response = api_as(caller).patch(detail(follow_up), {"assignee": assignee.pk}, format="json")
        assert response.status_code == 404, response.json()
        assert response.json()["detail"] == "No such user."
    assert api_as(agent).patch(detail(follow_up), {"assignee": 999999}, format="json").status_code == 404
    follow_up.refresh_from_db()
    assert follow_up.assignee_id == agent.pk


def test_one_the_caller_sees_but_may_not_assign_to_is_a_403(follow_up, team, team_lead):
    departed = AgentFactory(is_active=False)
    team_member_set(team=team, user=departed)  # still on the team lead's books, no longer working
    response = api_as(team_lead).patch(detail(follow_up), {"assignee": departed.pk}, format="json")
    assert response.status_code == 403, response.json()
    assert response.json()["detail"] == NOT_YOURS_TO_ASSIGN.format(user=departed)
    follow_up.refresh_from_db()
    assert follow_up.assignee_id != departed.pk


def test_a_cancel_closes_it_saying_who_and_a_second_is_a_409(follow_up, lead, agent):
    client = api_as(agent)

    response = client.delete(detail(follow_up))

    assert response.status_code == 204
    body = client.get(detail(follow_up)).json()
    assert body["done_at"] and body["closed_reason"] == FOLLOW_UP_CANCELLED.format(actor=agent)
    lead.refresh_from_db()
    assert lead.next_follow_up_at is None
    again = client.delete(detail(follow_up))
    assert again.status_code == 409 and again.json()["code"] == "follow_up_closed"
    assert again["Content-Type"] == "application/problem+json"


def test_a_done_follow_up_cannot_be_cancelled_or_changed(follow_up, agent):
    follow_up_complete(follow_up=follow_up)
    client = api_as(agent)
    for response in (client.delete(detail(follow_up)), client.patch(detail(follow_up), {"title": "x"}, format="json")):
        assert response.status_code == 409 and response.json()["code"] == "follow_up_closed"
    follow_up.refresh_from_db()
    assert follow_up.title == "Call back" and follow_up.closed_reason == ""


def test_someone_elses_follow_up_is_a_404_to_change_or_cancel(follow_up, other_agent):
    client = api_as(other_agent)
    assert client.patch(detail(follow_up), {"title": "Mine now"}, format="json").status_code == 404
    assert client.delete(detail(follow_up)).status_code == 404
    follow_up.refresh_from_db()
    assert follow_up.done_at is None and follow_up.title == "Call back"


def test_the_agendas_filters(lead, agent, team, team_lead):
    now = timezone.now()
    teammate = AgentFactory()
    team_member_set(team=team, user=teammate)
    overdue = FollowUpFactory(lead=lead, due_at=now - timedelta(hours=2), title="overdue")
    today = FollowUpFactory(lead=lead, due_at=now + timedelta(hours=2), title="today")
    next_week = FollowUpFactory(lead=lead, due_at=now + timedelta(days=7), title="next week")
    done = FollowUpFactory(lead=lead, due_at=now - timedelta(days=1), title="done", done_at=now)
    theirs = FollowUpFactory(lead=lead, assignee=teammate, due_at=now + timedelta(days=1), title="teammate's")
    client = api_as(team_lead)

    def titles(**params):
        response = client.get(reverse("api:follow-up-list"), params)
        assert response.status_code == 200, response.json()
        return {row["title"] for row in response.json()["results"]}

    assert titles(open="true") == {"overdue", "today", "next week", "teammate's"}
    assert titles(open="false") == {"done"}
    assert titles(overdue="true") == {"overdue"}
    assert titles(overdue="false") == {"today", "next week", "done", "teammate's"}
    assert titles(due_before=(now + timedelta(days=2)).isoformat(), due_after=now.isoformat()) == {
        "today", "teammate's"}
    assert titles(assignee=teammate.pk) == {"teammate's"}
    assert titles(assignee=agent.pk, open="true", due_before=(now + timedelta(days=3)).isoformat()) == {
        "overdue", "today"}
    assert {overdue.pk, today.pk, next_week.pk, done.pk, theirs.pk} == set(FollowUp.objects.values_list("pk", flat=True))
    bad = client.get(reverse("api:follow-up-list"), {"due_before": "next tuesday"})
    assert bad.status_code == 400 and "due_before" in bad.json()["errors"]


def test_the_list_reads_in_a_fixed_number_of_queries(lead, agent, django_assert_max_num_queries):
    client = api_as(agent)
    url = reverse("api:follow-up-list")
    client.get(url)  # the token's first use is recorded once
    for _ in range(3):
        FollowUpFactory(lead=lead)
    with django_assert_max_num_queries(6) as few:
        client.get(url, {"open": "true"})
    for _ in range(10):
        FollowUpFactory(lead=LeadFactory(assigned_agent=agent))
    with django_assert_max_num_queries(len(few.captured_queries)):
        rows = client.get(url, {"open": "true"}).json()["results"]
    assert len(rows) == 13 and {(row["assignee_id"], row["assignee_name"]) for row in rows} == {(agent.pk, str(agent))}
