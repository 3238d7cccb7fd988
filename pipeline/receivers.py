"""Pipeline's side of what the apps below it announce (their signals), connected in
``PipelineConfig.ready``: the follow-ups a lead's new agent, a user's new hours or an
imported auction call for. Each runs inside the sender's transaction."""

from __future__ import annotations

from django.db.models import Q
from django.dispatch import receiver
from django.utils import timezone

from leadcrm.accounts.hours import when_to_tell
from leadcrm.accounts.models import User
from leadcrm.accounts.signals import user_preferences_changed
from leads.imports.copy import copy_rows
from leads.models import Lead
from leads.signals import import_auctions_found, lead_reassigned, leads_merged

from .models import FollowUp, FollowUpKind, FollowUpSource

FOLLOW_UP_COLUMNS = ("lead_id", "assignee_id", "kind", "source", "title", "due_at", "notify_at", "created_by_id")


@receiver(lead_reassigned, dispatch_uid="pipeline-follow-ups-follow-the-lead")
def follow_ups_follow_the_lead(*, lead, from_agent_id, to_agent, now, **kwargs) -> None:
    """Reminders reach whoever works the lead now, at the times they were due, told
    within the new agent's own hours (and escalated on the new agent's account)."""
    moving = list(FollowUp.objects.filter(lead=lead, done_at__isnull=True, assignee_id=from_agent_id))
    for follow_up in moving:
        follow_up.assignee = to_agent
        follow_up.notify_at = when_to_tell(to_agent, max(follow_up.due_at, now))
        follow_up.notified_at = follow_up.dispatched_at = follow_up.escalate_at = follow_up.escalated_at = None
        follow_up.updated_at = now
    FollowUp.objects.bulk_update(moving, ["assignee", "notify_at", "notified_at", "dispatched_at", "escalate_at",
                                          "escalated_at", "updated_at"])


@receiver(leads_merged, dispatch_uid="pipeline-follow-ups-follow-the-merge")
def follow_ups_follow_the_merge(*, lead, from_agent_id, to_agent, now, **kwargs) -> None:
    """A duplicate's open follow-ups, now on the lead it was merged into (or back on it
    after an undo), reach whoever works that lead."""
    follow_ups_follow_the_lead(lead=lead, from_agent_id=from_agent_id, to_agent=to_agent, now=now)


@receiver(user_preferences_changed, dispatch_uid="pipeline-follow-ups-keep-the-users-hours")
def follow_ups_keep_the_users_hours(*, user, **kwargs) -> None:
    """Open follow-ups of the user's not yet announced are re-timed to their new hours."""
    waiting = list(FollowUp.objects.filter(assignee=user, done_at__isnull=True, notified_at__isnull=True)
                   .only("pk", "due_at", "notify_at"))
    for follow_up in waiting:
        follow_up.notify_at = when_to_tell(user, follow_up.due_at)
    FollowUp.objects.bulk_update(waiting, ["notify_at"], batch_size=1000)


@receiver(import_auctions_found, dispatch_uid="pipeline-auction-follow-ups")
def auction_follow_ups_write(*, job, due, auctions, **kwargs) -> None:
    """An urgent call for each imported house with an auction ahead, once per lead and
    title, to the assignee the import named (calls without one are not written)."""
    exists = set(FollowUp.objects.filter(lead_id__any_of={call.lead_id for call in auctions if call.held},
                                         title__in={call.title for call in auctions}).values_list("lead_id", "title"))
    planned = [call for call in auctions if call.assignee_id and (call.lead_id, call.title) not in exists]
    # Urgent, but told within the assignee's working hours (an import finishing at night
    # reaches them first thing, not at 23:00).
    people = {user.pk: user for user in User.objects.filter(pk__in={call.assignee_id for call in planned})}
    tell = {pk: when_to_tell(user, max(due, timezone.now())) for pk, user in people.items()}
    copy_rows(FollowUp, FOLLOW_UP_COLUMNS, [
        (call.lead_id, call.assignee_id, FollowUpKind.CALL, FollowUpSource.IMPORT, call.title, due,
         tell[call.assignee_id], job.created_by_id) for call in planned])
    # New leads were written with this time already (the import's batch).
    Lead.objects.filter(pk__any_of=[call.lead_id for call in planned if call.held]).filter(
        Q(next_follow_up_at__isnull=True) | Q(next_follow_up_at__gt=due)).update(next_follow_up_at=due,
                                                                                updated_at=timezone.now())
