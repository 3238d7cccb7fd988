"""Each user's private iCalendar feed of their follow-ups and deadlines.

Google and Outlook subscribe to a URL and fetch it without signing in, so the URL itself
is the secret: 32 random bytes. Only its SHA-256 is stored; the address is shown once,
when it is made, and replacing it revokes the old one at once.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar, Event

from leadcrm.accounts.models import User
from leads.models import ForeclosureRecord, Lead
from pipeline.models import ApprovalLetter, CalendarFeed, FollowUp, FollowUpKind

PAST_DAYS, FUTURE_DAYS = 30, 180
MAX_EVENTS = 2000
EVENT_MINUTES = {FollowUpKind.CALL: 15, FollowUpKind.TEXT: 5, FollowUpKind.EMAIL: 10}
FETCH_RECORDED_EVERY = timedelta(minutes=10)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def feed_create(*, user: User) -> str:
    """A new private address for the user's feed; the old one, if any, stops working."""
    token = secrets.token_urlsafe(32)
    CalendarFeed.objects.update_or_create(user=user, defaults={"token_hash": _hash(token), "created_at": timezone.now(),
                                                               "last_fetched_at": None})
    return token


def feed_revoke(*, user: User) -> bool:
    return CalendarFeed.objects.filter(user=user).delete()[0] > 0


def feed_user(token: str) -> User | None:
    """The active user whose feed this token opens, or None (a guess, a revoked address)."""
    if not token or len(token) > 100:
        return None
    feed = CalendarFeed.objects.filter(token_hash=_hash(token), user__is_active=True).select_related("user").first()
    if feed is None:
        return None
    now = timezone.now()
    if feed.last_fetched_at is None or now - feed.last_fetched_at > FETCH_RECORDED_EVERY:
        CalendarFeed.objects.filter(pk=feed.pk).update(last_fetched_at=now)
    return feed.user


def feed_url(token: str) -> str:
    return f"{settings.LEADCRM_BASE_URL}{reverse('pipeline:calendar_feed', args=[token])}"


def feed_ics(*, user: User, now: datetime | None = None) -> bytes:
    """The feed: open follow-ups from a month back to six months ahead, and the auction
    dates and approval deadlines of the user's own leads as all-day events."""
    now = now or timezone.now()
    base = settings.LEADCRM_BASE_URL
    cal = Calendar()
    cal.add("prodid", "-//LeadCRM//Follow-ups//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", f"LeadCRM: {user.get_full_name() or user.username}")
    cal.add("x-wr-timezone", user.time_zone)
    cal.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", "PT1H")
    stamp = now.replace(microsecond=0)
    follow_ups = (FollowUp.objects.visible_to(user).filter(assignee=user, done_at__isnull=True,
                                          due_at__gte=now - timedelta(days=PAST_DAYS),
                                          due_at__lte=now + timedelta(days=FUTURE_DAYS))
                  .select_related("lead__property").order_by("due_at")[:MAX_EVENTS])
    for follow_up in follow_ups:
        event = Event()
        event.add("uid", f"followup-{follow_up.pk}@leadcrm")
        event.add("dtstamp", stamp)
        event.add("dtstart", follow_up.due_at.replace(microsecond=0))
        event.add("duration", timedelta(minutes=EVENT_MINUTES.get(follow_up.kind, 30)))
        event.add("summary", follow_up.title)
        url = f"{base}{reverse('leads:detail', args=[follow_up.lead_id])}"
        # The address and a link, not the notes: the event is stored by Google or Microsoft.
        event.add("description", f"{follow_up.lead.property.one_line}\n{url}")
        event.add("url", url)
        event.add("categories", [follow_up.get_kind_display()])
        cal.add_component(event)
    mine = Lead.objects.visible_to(user).open().filter(assigned_agent=user)
    window = (timezone.localdate(now) - timedelta(days=PAST_DAYS), timezone.localdate(now) + timedelta(days=FUTURE_DAYS))
    deadlines = [
        (f"auction-{lead_id}-{day}", day, f"Auction: {street}", lead_id)
        for lead_id, day, street in ForeclosureRecord.objects.filter(lead__in=mine, auction_date__range=window)
        .values_list("lead_id", "auction_date", "lead__property__street").distinct()
    ] + [
        (f"approval-{pk}", day, f"{servicer or 'Lender'} approval expires: {street}", lead_id)
        for pk, day, servicer, street, lead_id in ApprovalLetter.objects.filter(
            lender_file__lead__in=mine, expires_on__range=window)
        .values_list("pk", "expires_on", "lender_file__servicer", "lender_file__lead__property__street",
                     "lender_file__lead_id")
    ]
    for uid, day, summary, lead_id in deadlines[:MAX_EVENTS]:
        event = Event()
        event.add("uid", f"{uid}@leadcrm")
        event.add("dtstamp", stamp)
        event.add("dtstart", day)
        event.add("dtend", day + timedelta(days=1))
        event.add("summary", summary)
        event.add("url", f"{base}{reverse('leads:detail', args=[lead_id])}")
        event.add("transp", "TRANSPARENT")
        cal.add_component(event)
    return cal.to_ical()
