"""Writes of the deal: stage moves through the transitions table."""

from __future__ import annotations

from datetime import date, datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from leadcrm.accounts.models import User
from leads.models import DeadReason, Lead, Stage
from leads.models.leads import ERASED_NOT_WORKABLE
from leads.selectors import stage_counts_forget
from pipeline.models import (
    FollowUp,
    StageChange,
)
from pipeline.signals import lead_stage_changed

from .stages import ENTRY_RULES, allowed_moves

ALREADY_IN_STAGE = "The lead is already in {stage}."


MOVE_NOT_ALLOWED = "A lead in {source} cannot move to {target}."


DEAD_NEEDS_REASON = "Say why the lead is dead."
# Only a merge marks a duplicate (its rows must go to the other lead): leads.merging.
DUPLICATE_ONLY_BY_MERGE = ("A duplicate is merged into the other lead (Merge with… on its page), "
                           "which keeps its calls and history; choose another reason to mark it dead.")


CLOSING_IN_FUTURE = "A sale is closed on or before today; set a future closing date on the offer instead."


CLOSING_BEFORE_CLOSE = "The lead entered Close on {day:%b %-d, %Y}; it cannot have closed before that."


class StageChangeRefused(ValidationError):
    """The move is not in the transitions table, or the lead does not meet its rules. Each
    message carries its ``code`` (``REFUSAL_CODES``): the API's refusal lists them."""


# Every code a refused move's messages carry: those raised here, then the entry rules'.
REFUSAL_CODES = ["lead_erased", "already_in_stage", "move_not_allowed", "closing_date_in_future",
                 "closing_date_before_close", "dead_reason_missing", "duplicate_only_by_merge",
                 *dict.fromkeys(req.code for rules in ENTRY_RULES.values() for req in rules)]


def _refused(message: str, code: str, field: str | None = None) -> StageChangeRefused:
    error = ValidationError(message, code=code)
    return StageChangeRefused({field: error} if field else error)


# Stages --------------------------------------------------------------------------------


@transaction.atomic
def lead_stage_change(
    *,
    lead: Lead,
    to_stage: Stage | str,
    actor: User | None,
    note: str = "",
    dead_reason: DeadReason | str = "",
    at: datetime | None = None,
    closing_date: date | None = None,
) -> Lead:
    """Move a lead to another stage if the transitions table allows it; record the move.

    ``closing_date`` is the day a sale closed, given with the move to closed.
    """
    at = at or timezone.now()
    to_stage = Stage(to_stage)
    # Lock the row so two people moving the same lead cannot both pass the rules.
    locked = Lead.objects.select_for_update().get(pk=lead.pk)
    if locked.erased_at is not None:
        raise _refused(ERASED_NOT_WORKABLE, "lead_erased")
    source = Stage(locked.stage)
    if to_stage == source:
        raise _refused(ALREADY_IN_STAGE.format(stage=source.label), "already_in_stage")
    moves = allowed_moves(locked)
    if to_stage not in moves:
        raise _refused(MOVE_NOT_ALLOWED.format(source=source.label, target=to_stage.label), "move_not_allowed")
    on = timezone.localdate(at)
    if to_stage == Stage.CLOSED and closing_date is not None:
        entered_close = timezone.localdate(locked.stage_entered_at)
        if closing_date > on:
            raise _refused(CLOSING_IN_FUTURE, "closing_date_in_future", "closing_date")
        if closing_date < entered_close:
            raise _refused(CLOSING_BEFORE_CLOSE.format(day=entered_close), "closing_date_before_close",
                           "closing_date")
        locked.closing_date = closing_date
        on = closing_date  # the approvals must have been good on the day it closed
    unmet = [ValidationError(message, code=req.code) for req in moves[to_stage]
             if (message := req.unmet(locked, on))]
    if unmet:
        raise StageChangeRefused(unmet)
    if to_stage == Stage.DEAD and not dead_reason:
        raise _refused(DEAD_NEEDS_REASON, "dead_reason_missing", "dead_reason")
    if to_stage == Stage.DEAD and dead_reason == DeadReason.DUPLICATE:
        raise _refused(DUPLICATE_ONLY_BY_MERGE, "duplicate_only_by_merge", "dead_reason")

    if to_stage in (Stage.CLOSED, Stage.DEAD):
        # Nothing more to do on a lead that closed or died: no more reminders or escalations.
        FollowUp.objects.filter(lead=locked, done_at__isnull=True).update(
            done_at=at, closed_reason=f"The lead moved to {Stage(to_stage).label}.", updated_at=timezone.now())
        locked.next_follow_up_at = None
        Lead.objects.filter(pk=locked.pk).update(next_follow_up_at=None)
    locked.stage = to_stage
    locked.stage_entered_at = at
    locked.dead_reason = dead_reason if to_stage == Stage.DEAD else ""
    locked.full_clean()
    locked.save(update_fields=["stage", "stage_entered_at", "dead_reason", "closing_date", "updated_at"])
    change = StageChange(
        lead=locked, from_stage=source, to_stage=to_stage, dead_reason=locked.dead_reason,
        note=note, changed_by=actor, changed_at=at,
    )
    change.full_clean()
    change.save()
    lead_stage_changed.send(sender=StageChange, lead=locked, from_stage=source, at=at)
    agent_id, actor_id = locked.assigned_agent_id, getattr(actor, "pk", None)
    transaction.on_commit(lambda: stage_counts_forget(agent_id, actor_id))
    lead.stage, lead.stage_entered_at, lead.dead_reason, lead.closing_date = (
        locked.stage, locked.stage_entered_at, locked.dead_reason, locked.closing_date
    )
    return lead
