"""The notification centre, the user's settings and the private calendar feed (issue 7)."""

import re
from datetime import date, time

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar

from pipeline.models import CalendarFeed, Notification

from ...leads.factories import ForeclosureRecordFactory
from ..factories import FollowUpFactory, NotificationFactory

pytestmark = pytest.mark.django_db


def notify(user, title="Call the Garcias", url="/", **kwargs):
    return NotificationFactory(recipient=user, title=title, url=url, **kwargs)


def test_every_page_shows_the_unread_count_by_the_bell(agent, client_as):
    for n in range(3):
        notify(agent, title=f"Reminder {n}")
    notify(agent, title="Seen", read_at=timezone.now())
    page = client_as(agent).get(reverse("pipeline:dashboard")).content.decode()
    assert re.search(r'notify-badge">3<', page)
    assert "Notifications: 3 unread" in page


def test_the_count_stops_at_99_plus(agent, client_as):
    Notification.objects.bulk_create(NotificationFactory.build_batch(120, recipient=agent))
    assert 'notify-badge">99+<' in client_as(agent).get(reverse("pipeline:dashboard")).content.decode()


def test_the_notification_centre_lists_only_mine_in_a_fixed_number_of_queries(agent, other_agent, lead, client_as):
    client = client_as(agent)
    notify(agent, title="Mine", lead=lead)
    notify(other_agent, title="Not mine")
    client.get(reverse("pipeline:notifications"))
    with CaptureQueriesContext(connection) as few:
        page = client.get(reverse("pipeline:notifications")).content.decode()
    assert "Mine" in page and "Not mine" not in page
    for n in range(20):
        notify(agent, title=f"More {n}", lead=lead)
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("pipeline:notifications"))
    assert len(many) == len(few)


def test_opening_a_notification_marks_it_read_and_goes_to_the_lead(agent, lead, client_as):
    note = notify(agent, url=reverse("leads:detail", args=[lead.pk]))
    response = client_as(agent).get(reverse("pipeline:notification_open", args=[note.pk]))
    assert response["Location"] == reverse("leads:detail", args=[lead.pk])
    note.refresh_from_db()
    assert note.read_at is not None


def test_someone_elses_notification_is_a_404_and_stays_unread(agent, other_agent, client_as):
    note = notify(agent)
    assert client_as(other_agent).get(reverse("pipeline:notification_open", args=[note.pk])).status_code == 404
    note.refresh_from_db()
    assert note.read_at is None


def test_a_notification_pointing_off_site_goes_to_the_centre_instead(agent, client_as):
    note = notify(agent, url="https://evil.example/phish")
    response = client_as(agent).get(reverse("pipeline:notification_open", args=[note.pk]))
    assert response["Location"] == reverse("pipeline:notifications")


def test_mark_all_read_touches_only_mine(agent, other_agent, client_as):
    notify(agent)
    theirs = notify(other_agent)
    client_as(agent).post(reverse("pipeline:notifications_read"))
    assert not Notification.objects.filter(recipient=agent, read_at__isnull=True).exists()
    theirs.refresh_from_db()
    assert theirs.read_at is None


def settings_data(**overrides):
    data = {"time_zone": "America/New_York", "work_starts": "08:00", "work_ends": "16:30",
            "work_days": ["0", "1", "2", "3", "5"], "email": "ana@example.com", "email_reminders": "on"}
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def test_an_agent_sets_their_hours_and_zone(agent, client_as):
    response = client_as(agent).post(reverse("pipeline:my_settings"), settings_data())
    assert response.status_code == 302
    agent.refresh_from_db()
    assert (agent.time_zone, agent.work_starts, agent.work_ends, agent.work_days) == (
        "America/New_York", time(8), time(16, 30), "01235")


@pytest.mark.parametrize(("bad", "message"), [
    ({"work_ends": "07:00"}, "must end after it starts"),
    ({"work_days": None}, "This field is required"),
    ({"work_days": ["9"]}, "Select a valid choice"),
    ({"email": ""}, "turn email reminders off"),
    ({"time_zone": "Mars/Olympus"}, "Select a valid choice"),
])
def test_bad_settings_are_refused_with_a_message_and_nothing_changes(bad, message, agent, client_as):
    response = client_as(agent).post(reverse("pipeline:my_settings"), settings_data(**bad))
    assert response.status_code == 400 and message in response.content.decode()
    agent.refresh_from_db()
    assert agent.time_zone == "America/Chicago"


def make_feed(client):
    page = client.post(reverse("pipeline:my_settings"), {"action": "calendar_new"}, follow=True).content.decode()
    return re.search(r"/calendar/([\w-]+)\.ics", page).group(1)


def test_the_calendar_address_is_shown_once_and_only_its_hash_is_kept(agent, client_as):
    client = client_as(agent)
    token = make_feed(client)
    assert len(token) >= 40
    assert CalendarFeed.objects.get(user=agent).token_hash != token
    assert token not in client.get(reverse("pipeline:my_settings")).content.decode()


def test_the_feed_has_my_follow_ups_and_deadlines_and_nobody_elses(agent, other_agent, lead, other_lead, client_as):
    FollowUpFactory(lead=lead, title="Call the Garcias back")
    FollowUpFactory(lead=other_lead, title="Someone else's call")
    ForeclosureRecordFactory(lead=lead, auction_date=date(2026, 12, 10))
    token = make_feed(client_as(agent))
    response = client_as(None).get(reverse("pipeline:calendar_feed", args=[token]))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/calendar")
    calendar = Calendar.from_ical(response.content)
    events = {str(event["summary"]): event for event in calendar.walk("VEVENT")}
    assert "Call the Garcias back" in events and "Someone else's call" not in events
    auction = events[f"Auction: {lead.property.street}"]
    assert auction.decoded("dtstart") == date(2026, 12, 10)
    assert f"/leads/{lead.pk}/" in str(events["Call the Garcias back"]["url"])
    assert CalendarFeed.objects.get(user=agent).last_fetched_at is not None


def test_replacing_or_revoking_the_address_stops_the_old_one(agent, client_as):
    client = client_as(agent)
    old = make_feed(client)
    new = make_feed(client)
    anonymous = client_as(None)
    assert anonymous.get(reverse("pipeline:calendar_feed", args=[old])).status_code == 404
    assert anonymous.get(reverse("pipeline:calendar_feed", args=[new])).status_code == 200
    client.post(reverse("pipeline:my_settings"), {"action": "calendar_revoke"})
    assert anonymous.get(reverse("pipeline:calendar_feed", args=[new])).status_code == 404


def test_a_deactivated_users_feed_shows_nothing(agent, client_as):
    token = make_feed(client_as(agent))
    agent.is_active = False
    agent.save()
    assert client_as(None).get(reverse("pipeline:calendar_feed", args=[token])).status_code == 404


@pytest.mark.parametrize("guess", ["x", "a" * 43, "../../etc/passwd", "%00", "A" * 500])
def test_a_guessed_or_malformed_address_is_a_plain_404(guess, agent, client_as):
    make_feed(client_as(agent))
    response = client_as(None).get(f"/calendar/{guess}.ics")
    assert response.status_code == 404


@pytest.mark.parametrize(("who", "status"), [("broker", 200), ("team_lead", 403), ("agent", 302)])
def test_the_broker_sets_the_reminder_rules_in_the_admin(who, status, agent, team_lead, broker, client_as):
    user = {"agent": agent, "team_lead": team_lead, "broker": broker}[who]
    assert client_as(user).get(reverse("admin:pipeline_remindersettings_add")).status_code == status


def test_the_brokers_delivery_log_shows_everyones_and_a_team_lead_only_their_own(agent, team_lead, broker, client_as):
    notify(agent, title="For the agent")
    notify(team_lead, title="For the team lead")
    page = client_as(broker).get(reverse("admin:pipeline_notification_changelist")).content.decode()
    assert "For the agent" in page and "For the team lead" in page
    assert client_as(team_lead).get(reverse("admin:pipeline_notification_changelist")).status_code == 403


def test_guessing_calendar_addresses_is_rate_limited(agent, client_as):
    from pipeline.reminders.calendar import feed_create
    from pipeline.reminders.views import FEED_MISSES_PER_HOUR

    token = feed_create(user=agent)
    guesser = Client(REMOTE_ADDR="198.51.100.23")
    for attempt in range(FEED_MISSES_PER_HOUR):
        assert guesser.get(reverse("pipeline:calendar_feed", args=[f"guess{attempt}"])).status_code == 404
    assert guesser.get(reverse("pipeline:calendar_feed", args=[token])).status_code == 429
    assert Client(REMOTE_ADDR="198.51.100.24").get(reverse("pipeline:calendar_feed", args=[token])).status_code == 200
