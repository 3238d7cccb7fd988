"""The parts of the lead list's filters that are leads' own: search, orderings, the
follow-up windows, the lists a user may pick. The filter set itself, which also filters
on calling hours and Do-Not-Call standing, is compliance's (``compliance.lead_filters``)."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta

from django.core.cache import cache
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from .addresses import normalize_street
from .models import Contact, Lead, LeadList, ListMembership, Phone
from .phones import search_digits

PHONE_LIKE = re.compile(r"[\d\s().+\-]+")
# "918-555-0104 ext. 12", "x12", "#12": numbers are kept without their extension. Matched
# against rstripped text and without a leading \s*: that one was tried from every space of
# a long run of spaces, quadratic in the length of the query.
PHONE_EXTENSION = re.compile(r"(?:ext(?:ension)?\.?|x|#)\s*\d{1,6}$", re.IGNORECASE)
# Each word of a search is a subquery: a longer search is refused, not run.
SEARCH_MAX_LENGTH = 100
SEARCH_TOO_LONG = f"Search for at most {SEARCH_MAX_LENGTH} characters (this has %(show_value)d)."

ORDERINGS = {
    "score": ("-score", "-pk"),
    # Leads with nothing scheduled go last on every database (SQLite sorts NULL first).
    "follow_up": (F("next_follow_up_at").asc(nulls_last=True), "-score", "-pk"),
    "newest": ("-created_at", "-pk"),
    "stage_age": ("stage_entered_at", "-pk"),
}


def search_q(text: str) -> Q:
    """Every word must match a name, the address, the city or ZIP; a phone in any spelling.

    ``"maria garcia"``, ``"8704 troost avenue"`` and ``"(850) 555-0121"`` all find their lead.
    """
    text = text.strip()
    number = PHONE_EXTENSION.sub("", text).rstrip() if PHONE_LIKE.match(text) else text
    digits = search_digits(number)
    if len(digits) >= 7 and PHONE_LIKE.fullmatch(number):
        phones = Phone.objects.filter(contact__lead=OuterRef("pk"), number__contains=digits)
        return Q(Exists(phones))
    query = Q()
    normalized = normalize_street(text)
    address_match = Q(property__address_key__contains=normalized) if normalized else Q()
    for word in text.split():
        names = Contact.objects.filter(lead=OuterRef("pk")).filter(
            Q(first_name__icontains=word) | Q(last_name__icontains=word)
            | Q(company_name__icontains=word)
        )
        query &= (
            Q(Exists(names))
            | Q(property__street__icontains=word)
            | Q(property__city__icontains=word)
            | Q(property__zip_code=word)
            | Q(property__county__icontains=word)
        )
    return address_match | query if normalized else query


# The dashboard's follow-up groups and the lead list's follow_up filter, by one name each.
FOLLOW_UP_BUCKETS = ("overdue", "today", "week")


def follow_up_windows(now: datetime | None = None) -> dict[str, tuple[datetime | None, datetime]]:
    """Each follow-up group's [start, end) of due times: overdue (before now), the rest of
    today, and the seven days after it, the days being the current time zone's (the user's,
    which the middleware activates). The dashboard's agenda and the lead list share it, so
    a count and the list it links to draw the same lines."""
    now = now or timezone.now()
    zone = timezone.get_current_timezone()
    today = timezone.localdate(now, zone)
    tomorrow = datetime.combine(today + timedelta(days=1), time.min, tzinfo=zone)
    week_end = datetime.combine(today + timedelta(days=8), time.min, tzinfo=zone)
    return {"overdue": (None, now), "today": (now, tomorrow), "week": (tomorrow, week_end)}


def due_within(window: tuple[datetime | None, datetime], field: str = "due_at") -> Q:
    start, end = window
    return Q(**{f"{field}__lt": end}) & (Q(**{f"{field}__gte": start}) if start else Q())


def open_follow_ups():
    """Open follow-ups of the lead (``OuterRef("pk")``). The model is reached through the
    lead's reverse relation: ``leads`` imports nothing from ``pipeline``."""
    follow_up = Lead._meta.get_field("follow_ups").related_model
    return follow_up.objects.filter(lead=OuterRef("pk"), done_at__isnull=True)


def has_follow_up_due(bucket: str, *, assignee, now: datetime | None = None) -> Exists:
    """The lead has an open follow-up of ``assignee`` (a user, or an expression such as
    ``OuterRef("assigned_agent")``) due in ``bucket`` of ``follow_up_windows``."""
    return Exists(open_follow_ups().filter(due_within(follow_up_windows(now)[bucket]), assignee=assignee))


LIST_CHOICES_SECONDS = 300


def lists_version() -> int | None:
    """The newest list's id: what cached list choices are keyed on, so a new list shows at once."""
    return LeadList.objects.order_by("-pk").values_list("pk", flat=True).first()


def lists_visible_to(user, version: int | None) -> list[int]:
    key = f"leads:list-choices:{user.pk}:{version}"
    ids = cache.get(key)
    if ids is None:
        ids = list(LeadList.objects.filter(Exists(
            ListMembership.objects.filter(lead_list=OuterRef("pk"), lead__in=Lead.objects.visible_to(user))
        )).values_list("pk", flat=True))
        cache.set(key, ids, LIST_CHOICES_SECONDS)
    return ids
