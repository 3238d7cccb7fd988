"""What a page of many rows works out once per request instead of once per row."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from django.urls import reverse
from django.utils import timezone

_PK = 987654321  # no real primary key: it marks where each row's own goes


def pk_url(view_name: str) -> Callable[[int], str]:
    """``pk_url("leads:detail")(42)`` is ``reverse("leads:detail", args=[42])``, with one
    ``reverse()`` per page rather than one per row (each costs about as much as a row)."""
    prefix, suffix = reverse(view_name, args=[_PK]).split(str(_PK))
    return lambda pk: f"{prefix}{pk}{suffix}"


_MONTHS = ("", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def short_moment(moment: datetime, *, weekday: bool = False, year: bool = False) -> str:
    """``Nov 28, 3:05 PM`` in the current time zone: Django's ``date:"M j, g:i A"``
    without its per-call format parsing; ``weekday`` puts ``Sat`` before it, ``year``
    ``2026`` after the day. The application is English only."""
    local = timezone.localtime(moment)
    hour = local.hour % 12 or 12
    day = f"{_MONTHS[local.month]} {local.day}" + (f", {local.year}" if year else "")
    text = f"{day}, {hour}:{local.minute:02d} {'AM' if local.hour < 12 else 'PM'}"
    return f"{_DAYS[local.weekday()]} {text}" if weekday else text


_AGES = ((365 * 86400, "year"), (30 * 86400, "month"), (7 * 86400, "week"), (86400, "day"), (3600, "hour"),
         (60, "minute"))


def age(since: datetime, now: datetime) -> str:
    """``3 weeks``: how long ago ``since`` was, in its largest whole unit (Django's
    ``timesince`` with ``depth=1``, at a tenth of its cost for a column of fifty)."""
    seconds = max(int((now - since).total_seconds()), 0)
    for length, unit in _AGES:
        if seconds >= length:
            count = seconds // length
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return "0 minutes"
