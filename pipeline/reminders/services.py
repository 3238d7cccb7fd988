"""Writes of follow-ups: set by hand, done, and the lead's next one kept in step."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Min
from django.utils import timezone

from leadcrm.accounts.hours import when_to_tell
from leadcrm.accounts.models import User
from leadcrm.accounts.selectors import users_assignable_by
from leads.models import Lead
from pipeline.models import (
    FollowUp,
    FollowUpKind,
    Notification,
)

NAIVE_TIME = "The time of an attempt must carry its time zone."
FOLLOW_UP_CANCELLED = "Cancelled by {actor}."
FOLLOW_UP_IS_DONE = "This follow-up was done on {at:%Y-%m-%d}: a done follow-up cannot be changed or cancelled."
FOLLOW_UP_IS_CLOSED = "This follow-up was closed already ({reason}): it cannot be changed or cancelled."
NOT_YOURS_TO_ASSIGN = "You may not give follow-ups to {user}: only to yourself and the people you lead."


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


class FollowUpClosed(Exception):
    """A change to a follow-up that is done or was closed: nothing was changed."""

    def __init__(self, follow_up: FollowUp):
        self.follow_up = follow_up
        if follow_up.closed_reason:
            message = FOLLOW_UP_IS_CLOSED.format(reason=follow_up.closed_reason.rstrip("."))
        else:
            message = FOLLOW_UP_IS_DONE.format(at=timezone.localtime(follow_up.done_at))
        super().__init__(message)


def _open_for_change(follow_up: FollowUp) -> FollowUp:
    """The follow-up read again under a lock: two changes at once (a cancel and a done)
    apply one after the other, and the second sees the first's close."""
    locked = FollowUp.objects.select_for_update().select_related("lead", "assignee").get(pk=follow_up.pk)
    if locked.done_at is not None:
        raise FollowUpClosed(locked)
    locked.lead.refuse_if_erased()
    return locked


@transaction.atomic
def follow_up_update(
    *,
    follow_up: FollowUp,
    actor: User,
    due_at: datetime | None = None,
    assignee: User | None = None,
    title: str | None = None,
    notes: str | None = None,
) -> FollowUp:
    """Reschedule, reassign or retitle an open follow-up (None: leave as it is).

    A new time is timed as a new follow-up is (``follow_up_create``): a call falls due when
    the homeowner may lawfully be called, ``requested_at`` keeping what was asked. A new
    assignee must be someone ``actor`` may assign to. Either way the assignee is told
    again, within their own hours, and escalation counts from then, as when a lead's
    follow-ups move with it to a new agent (pipeline/receivers.py)."""
    from .rules import follow_up_timing

    follow_up = _open_for_change(follow_up)
    changed = []
    if assignee is not None and assignee.pk != follow_up.assignee_id:
        if not users_assignable_by(actor).filter(pk=assignee.pk).exists():
            raise PermissionDenied(NOT_YOURS_TO_ASSIGN.format(user=assignee))
        follow_up.assignee = assignee
        changed.append("assignee")
    if due_at is not None:
        if timezone.is_naive(due_at):
            raise ValidationError({"due_at": NAIVE_TIME})
        timing = follow_up_timing(lead=follow_up.lead, assignee=follow_up.assignee, kind=follow_up.kind,
                                  requested=due_at)
        follow_up.due_at, follow_up.requested_at = timing.due_at, timing.requested_at
        changed += ["due_at", "requested_at"]
    if changed:
        follow_up.notify_at = when_to_tell(follow_up.assignee, max(follow_up.due_at, timezone.now()))
        follow_up.notified_at = follow_up.dispatched_at = follow_up.escalate_at = follow_up.escalated_at = None
        changed += ["notify_at", "notified_at", "dispatched_at", "escalate_at", "escalated_at"]
    if title is not None:
        follow_up.title = title
        changed.append("title")
    if notes is not None:
        follow_up.notes = notes
        changed.append("notes")
    if not changed:
        return follow_up
    follow_up.full_clean()
    follow_up.save(update_fields=changed)
    if "due_at" in changed:
        lead_refresh_next_follow_up(lead=follow_up.lead)
    return follow_up


@transaction.atomic
def follow_up_cancel(*, follow_up: FollowUp, actor: User, at: datetime | None = None) -> FollowUp:
    """Close an open follow-up without it being done, saying who closed it (as the rules
    close theirs with the reason: pipeline/reminders/rules.py). A done or closed one is
    refused (``FollowUpClosed``): cancelling would rewrite what happened."""
    follow_up = _open_for_change(follow_up)
    follow_up.done_at = at or timezone.now()
    follow_up.closed_reason = FOLLOW_UP_CANCELLED.format(actor=actor)[:200]
    follow_up.save(update_fields=["done_at", "closed_reason"])
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
