"""A user's working hours: when a reminder may reach them, and which day a deadline is
raised on. Pure functions of the user's time zone, working days and hours, so every app
can time what it tells people (follow-ups, imports, routing) without importing the app
that owns the reminders."""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime, timedelta

from .models import User


def user_zone(user: User) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(user.time_zone)


def when_to_tell(user: User, due_at: datetime) -> datetime:
    """The first moment at or after ``due_at`` inside the user's working hours."""
    zone = user_zone(user)
    local = due_at.astimezone(zone)
    for offset in range(8):
        day = local.date() + timedelta(days=offset)
        if day.weekday() not in user.works_on:
            continue
        starts = datetime.combine(day, user.work_starts, tzinfo=zone)
        ends = datetime.combine(day, user.work_ends, tzinfo=zone)
        if offset == 0:
            if local >= ends:
                continue
            return max(starts, due_at)
        return starts
    return due_at


def deadline_moment(user: User, day: date) -> datetime:
    """The start of the user's last working day on or before ``day``: a deadline on a
    Sunday is raised on Friday morning, not on Monday when it has passed."""
    for back in range(7):
        candidate = day - timedelta(days=back)
        if candidate.weekday() in user.works_on:
            return datetime.combine(candidate, user.work_starts, tzinfo=user_zone(user))
    return datetime.combine(day, user.work_starts, tzinfo=user_zone(user))
