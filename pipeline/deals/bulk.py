"""Bulk actions on leads ticked in the lead list: each lead through its own service."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError

from leadcrm.accounts.models import User
from leadcrm.accounts.roles import Perm
from leads.models import Lead, RoutingMethod
from leads.routing import lead_round_robin, lead_route_to, lead_to_pond, leads_route_by_rules
from leads.tags import leads_tag_add, leads_tag_remove
from pipeline.reminders.services import follow_up_create

from .services import StageChangeRefused, lead_stage_change

# Each action, and the permission it needs beyond managing follow-ups (the lead list's own).
ACTION_PERMISSIONS: dict[str, str | None] = {
    "follow_up": None,
    "stage": Perm.CHANGE_STAGE,
    "assign": Perm.ASSIGN_LEADS,
    "round_robin": Perm.ASSIGN_LEADS,
    "pond": Perm.ASSIGN_LEADS,
    "rules": Perm.ASSIGN_LEADS,
    # Anyone who may work the list may tag what they see; the tag must be theirs to use
    # (their teams' or the brokerage's), which the service checks.
    "tag_add": None,
    "tag_remove": None,
}
# Done in one statement for every lead, not lead by lead: a tag has no rule to refuse one.
SET_ACTIONS = {"tag_add": leads_tag_add, "tag_remove": leads_tag_remove}


def bulk_action_allowed(*, user: User, action: str) -> bool:
    needs = ACTION_PERMISSIONS[action]
    return needs is None or user.has_perm(needs)


@dataclass
class BulkOutcome:
    done: int = 0
    refused: list[str] = field(default_factory=list)  # "<lead>: <why>", one per lead left unchanged


def leads_bulk_apply(*, leads: list[Lead], action: str, actor: User, data: dict) -> BulkOutcome:
    """Apply one action to each lead through the service that owns it; a lead its service
    refuses is left as it was and said why, the others go ahead.

    ``data`` holds the action's inputs as the bulk form cleans them (due_at, title,
    to_stage, dead_reason, agent, team, tag). Permissions are the caller's to check."""
    if action not in ACTION_PERMISSIONS:
        raise ValueError(f"Unknown bulk action {action!r}.")
    outcome = BulkOutcome()
    if action in SET_ACTIONS:
        try:
            changed = SET_ACTIONS[action](leads=leads, tag=data["tag"], actor=actor)
        except ValidationError as error:
            outcome.refused = [f"{lead}: {' '.join(error.messages)}" for lead in leads]
            return outcome
        # Adding: every lead has it now (those that had it already included).
        outcome.done = len(leads) if action == "tag_add" else changed
        return outcome
    for lead in leads:
        try:
            if action == "follow_up":
                follow_up_create(lead=lead, assignee=lead.assigned_agent or actor, due_at=data["due_at"],
                                 title=data["title"] or "Follow up", created_by=actor)
            elif action == "stage":
                lead_stage_change(lead=lead, to_stage=data["to_stage"], actor=actor,
                                  dead_reason=data["dead_reason"], note="Moved from the lead list.")
            elif action == "assign":
                lead_route_to(lead=lead, agent=data["agent"], actor=actor, method=RoutingMethod.BULK,
                              reason="Assigned in bulk from the lead list")
            elif action == "round_robin":
                lead_round_robin(lead=lead, team=data["team"], actor=actor,
                                 reason=f"Round-robin in {data['team']}, from the lead list")
            elif action == "pond":
                lead_to_pond(lead=lead, team=data["team"], actor=actor, reason="Put in the pond from the lead list")
            else:  # rules
                routed = leads_route_by_rules(leads=Lead.objects.filter(pk=lead.pk), actor=actor)
                if routed.unmatched:
                    raise ValidationError("no routing rule matches it (or it is assigned already)")
            outcome.done += 1
        except (StageChangeRefused, ValidationError) as error:
            outcome.refused.append(f"{lead}: {' '.join(error.messages)}")
    return outcome
