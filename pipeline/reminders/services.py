"""Writes of follow-ups: set by hand, done, and the lead's next one kept in step."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Min
from django.utils import timezone

from leadcrm.accounts.models import User
from leads.models import Lead
from pipeline.models import (
    FollowUp,
    FollowUpKind,
    Notification,
)

NAIVE_TIME = "The time of an attempt must carry its time zone."


# Follow-ups ----------------------------------------------------------------------------


@transaction.atomic
def follow_up_create(
    *,
    lead: Lead,
    assignee: User,
    due_at: datetime,
    title: str,
    kind: FollowUpKind | str = FollowUpKind.CALL,
    notes: str = "",
    created_by: User | None = None,
) -> FollowUp:
    """A follow-up set by hand. A call or text falls due at the first moment the homeowner
    may lawfully be called in all their zones (``requested_at`` keeps what was asked); the
    assignee is told within their own working hours (pipeline/reminders/rules.py)."""
    from .rules import follow_up_timing

    lead.refuse_if_erased()
    if timezone.is_naive(due_at):
        raise ValidationError({"due_at": NAIVE_TIME})
    timing = follow_up_timing(lead=lead, assignee=assignee, kind=kind, requested=due_at)
    follow_up = FollowUp(
        lead=lead, assignee=assignee, due_at=timing.due_at, requested_at=timing.requested_at,
        notify_at=timing.notify_at, title=title, kind=kind, notes=notes, created_by=created_by,
    )
    follow_up.full_clean()
    follow_up.save()
    lead_refresh_next_follow_up(lead=lead)
    return follow_up


@transaction.atomic
def follow_up_complete(*, follow_up: FollowUp, at: datetime | None = None) -> FollowUp:
    if follow_up.done_at is None:
        follow_up.done_at = at or timezone.now()
        follow_up.save(update_fields=["done_at"])
        lead_refresh_next_follow_up(lead=follow_up.lead)
    return follow_up


def lead_refresh_next_follow_up(*, lead: Lead) -> Lead:
    """Keep the lead's next follow-up (what lists sort and filter on) in step."""
    due = FollowUp.objects.filter(lead=lead).open().aggregate(due=Min("due_at"))["due"]
    if due != lead.next_follow_up_at:
        lead.next_follow_up_at = due
        lead.save(update_fields=["next_follow_up_at", "updated_at"])
    return lead


# Notifications -------------------------------------------------------------------------


def notification_mark_read(*, notification: Notification, at: datetime | None = None) -> bool:
    """Mark one notification read (once: a second open keeps the first time)."""
    if notification.read_at is not None:
        return False
    notification.read_at = at or timezone.now()
    Notification.objects.filter(pk=notification.pk).update(read_at=notification.read_at)
    return True


def notifications_mark_all_read(*, user: User, at: datetime | None = None) -> int:
    """Mark every unread notification of the user read; how many were."""
    return Notification.objects.filter(recipient=user, read_at__isnull=True).update(read_at=at or timezone.now())
