"""Who works which lead (issue 8): by hand, in bulk, by rules, round-robin weighted by
capacity, or through the pond that agents claim from; and when an agent leaves.

Every change of a lead's agent or team goes through ``_route``, which writes the routing
audit (``LeadAssignment``: who or which rule, how, why). The lead's open follow-ups follow
it to its new agent, so reminders reach the person now working it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from leadcrm.accounts.models import Brokerage, Team, TeamMembership, User
from leadcrm.accounts.roles import Perm
from leadcrm.accounts.selectors import users_assignable_by

from .models import Lead, LeadAssignment, RoutingMethod, RoutingRule, RoutingTarget
from .services import check_agent_on_team

NOT_AN_AGENT = "{user} cannot be given leads: only active agents and team leads work leads."
NO_ACTIVE_MEMBERS = "Team {team} has no active agent to take a lead."
NOT_IN_POND = "This lead is no longer in the pond: someone claimed it first."
NOT_YOUR_POND = "This lead is in team {team}'s pond; only its agents may claim it."
CLAIM_LIMIT = ("You hold {count} pond leads claimed and not yet worked (the limit is {limit}): "
               "log a call, text, email or letter on one of them first.")
RULE_NEEDS_AGENT = "Pick the agent this rule gives leads to."
RULE_NEEDS_TEAM = "Pick the team whose agents share these leads."
RULE_AGENT_OFF_TEAM = "That agent is not on the team picked."
NOT_YOUR_AGENT = "{agent} is not on a team you lead: hand the lead to one of your own team's agents."


@dataclass
class Routed:
    """What a bulk routing did, for the page to say."""

    assigned: int = 0
    to_pond: int = 0
    unmatched: int = 0
    by_agent: dict[str, int] = field(default_factory=dict)


def _can_work_leads(user: User) -> bool:
    return user.is_active and user.has_perm("leads.view_lead")


def _route(*, lead: Lead, agent: User | None, team: Team | None, method: str, actor: User | None,
           reason: str = "", rule: RoutingRule | None = None, now: datetime | None = None,
           pond_team: Team | None = None, to_pond: bool = False) -> LeadAssignment:
    """Set the lead's agent and team (or put it in the pond) and write the audit entry."""
    from pipeline.models import FollowUp

    now = now or timezone.now()
    previous = lead.assigned_agent_id
    lead.assigned_agent, lead.team = agent, team
    if to_pond:
        lead.pond_since, lead.pond_team = now, pond_team
    elif method == RoutingMethod.POND_CLAIM:
        lead.pond_since = None  # out of the pond; ``pond_team`` kept: where it goes back to
    else:
        lead.pond_since, lead.pond_team = None, None
    if method != RoutingMethod.POND_CLAIM:
        lead.claimed_at = lead.claim_deadline = None
    lead.save(update_fields=["assigned_agent", "team", "pond_since", "pond_team", "claimed_at", "claim_deadline",
                             "updated_at"])
    if agent is not None and previous != agent.pk:
        # Reminders reach whoever works the lead now, at the times they were due, told
        # within the new agent's own hours (and escalated on the new agent's account).
        from pipeline.reminders.rules import when_to_tell

        moving = list(FollowUp.objects.filter(lead=lead, done_at__isnull=True, assignee_id=previous))
        for follow_up in moving:
            follow_up.assignee = agent
            follow_up.notify_at = when_to_tell(agent, max(follow_up.due_at, now))
            follow_up.notified_at = follow_up.dispatched_at = follow_up.escalate_at = follow_up.escalated_at = None
        FollowUp.objects.bulk_update(moving, ["assignee", "notify_at", "notified_at", "dispatched_at", "escalate_at",
                                              "escalated_at"])
    entry = LeadAssignment(lead=lead, method=method, from_agent_id=previous, to_agent=agent, to_team=team,
                           rule=rule, actor=actor, reason=reason[:300], created_at=now)
    entry.save()
    return entry


def _team_of(agent: User) -> Team | None:
    membership = TeamMembership.objects.filter(user=agent).select_related("team").first()
    return membership.team if membership else None


@transaction.atomic
def lead_route_to(*, lead: Lead, agent: User, actor: User | None, method: str = RoutingMethod.MANUAL,
                  reason: str = "", team: Team | None = None) -> LeadAssignment:
    """Give one lead to an agent (the lead follows the agent's team unless one is given)."""
    if not _can_work_leads(agent):
        raise ValidationError({"agent": NOT_AN_AGENT.format(user=agent)})
    if team is not None:
        check_agent_on_team(agent=agent, team=team)
    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    return _route(lead=lead, agent=agent, team=team or _team_of(agent), method=method, actor=actor, reason=reason)


def round_robin_next(*, team: Team) -> User:
    """The team's next agent: the active member with the fewest round-robin leads for their
    capacity weight (weight 2 takes twice as many as weight 1). Locks the team's members,
    so two routings at once never pick from the same counts."""
    members = list(TeamMembership.objects.select_for_update().filter(team=team, is_active=True, user__is_active=True)
                   .select_related("user").order_by("joined_at", "pk"))
    members = [m for m in members if m.capacity_weight > 0]
    if not members:
        raise ValidationError(NO_ACTIVE_MEMBERS.format(team=team))
    chosen = min(members, key=lambda m: ((m.round_robin_served + 1) / m.capacity_weight, m.round_robin_served))
    TeamMembership.objects.filter(pk=chosen.pk).update(round_robin_served=F("round_robin_served") + 1)
    chosen.round_robin_served += 1
    return chosen.user


@transaction.atomic
def lead_round_robin(*, lead: Lead, team: Team, actor: User | None, rule: RoutingRule | None = None,
                     reason: str = "", method: str = RoutingMethod.ROUND_ROBIN) -> LeadAssignment:
    agent = round_robin_next(team=team)
    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    method = RoutingMethod.RULE if rule else method
    return _route(lead=lead, agent=agent, team=team, method=method, actor=actor, rule=rule,
                  reason=reason or f"Round-robin in {team}")


@transaction.atomic
def lead_to_pond(*, lead: Lead, team: Team | None, actor: User | None, reason: str = "",
                 rule: RoutingRule | None = None, method: str = RoutingMethod.POND_RELEASE) -> LeadAssignment:
    """Put the lead in the pond of ``team`` (None: the whole brokerage's)."""
    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    return _route(lead=lead, agent=None, team=team, method=method, actor=actor, rule=rule, reason=reason,
                  pond_team=team, to_pond=True)


def pond_for(user: User):
    """The pond leads this user may claim: their team's and the brokerage-wide pond."""
    teams = list(TeamMembership.objects.filter(user=user, is_active=True).values_list("team", flat=True))
    teams += list(Team.objects.filter(lead=user).values_list("pk", flat=True))
    return Lead.objects.filter(pond_since__isnull=False).filter(Q(pond_team__isnull=True) | Q(pond_team__in=teams))


def claims_held(user: User):
    """Leads the user claimed from the pond and has not worked yet."""
    return Lead.objects.filter(assigned_agent=user, claim_deadline__isnull=False)


@transaction.atomic
def pond_claim(*, lead_id: int, agent: User, now: datetime | None = None) -> Lead:
    """First come, first served: the row is locked and taken only if still in the pond."""
    now = now or timezone.now()
    if not _can_work_leads(agent):
        raise ValidationError(NOT_AN_AGENT.format(user=agent))
    brokerage = Brokerage.objects.current()
    held = claims_held(agent).count()
    if held >= brokerage.pond_claim_limit:
        raise ValidationError(CLAIM_LIMIT.format(count=held, limit=brokerage.pond_claim_limit))
    lead = Lead.objects.select_for_update(skip_locked=True).filter(pk=lead_id, pond_since__isnull=False).first()
    if lead is None:
        raise ValidationError(NOT_IN_POND)
    if lead.pond_team_id and not pond_for(agent).filter(pk=lead.pk).exists():
        raise ValidationError(NOT_YOUR_POND.format(team=lead.pond_team))
    team = lead.pond_team or _team_of(agent)
    lead.claimed_at, lead.claim_deadline = now, now + timedelta(hours=brokerage.pond_claim_hours)
    _route(lead=lead, agent=agent, team=team, method=RoutingMethod.POND_CLAIM, actor=agent, now=now,
           reason=f"Claimed; to be worked by {timezone.localtime(lead.claim_deadline):%b %-d %-I:%M %p}")
    return lead


@transaction.atomic
def pond_assign(*, lead: Lead, agent: User, actor: User) -> LeadAssignment:
    """A team lead (or the broker) hands a pond lead to an agent they may give leads to.

    The row is locked and handed only if still in the pond (an agent may have claimed it
    a moment before). The lead leaves the pond as any lead given by hand does: no claim
    deadline, recorded in the routing audit with who handed it."""
    if not users_assignable_by(actor).filter(pk=agent.pk).exists():
        raise ValidationError({"agent": NOT_YOUR_AGENT.format(agent=agent)})
    held = Lead.objects.select_for_update().filter(pk=lead.pk, pond_since__isnull=False).first()
    if held is None:
        raise ValidationError(NOT_IN_POND)
    # The lead stays with the team whose pond it was when the agent is on that team.
    on_pond_team = held.pond_team_id and TeamMembership.objects.filter(
        team_id=held.pond_team_id, user=agent, is_active=True).exists()
    return lead_route_to(lead=held, agent=agent, actor=actor, team=held.pond_team if on_pond_team else None,
                         reason=f"Handed out of the pond by {actor}")


def claim_worked(*, lead: Lead, actor: User) -> None:
    """A contact logged by the agent who claimed the lead keeps it: the deadline is lifted
    (outreach_log calls this for every attempt it records; one indexed UPDATE)."""
    if Lead.objects.filter(pk=lead.pk, claim_deadline__isnull=False, assigned_agent=actor).update(
            claim_deadline=None, pond_team=None):
        lead.claim_deadline, lead.pond_team = None, None


def pond_claims_expire(now: datetime | None = None) -> int:
    """Claimed leads not worked by their deadline go back to the pond they came from."""
    now = now or timezone.now()
    returned = 0
    expired = list(Lead.objects.filter(claim_deadline__lt=now).values_list("pk", flat=True)[:5000])
    for lead_id in expired:
        with transaction.atomic():
            lead = Lead.objects.select_for_update(skip_locked=True).filter(pk=lead_id, claim_deadline__lt=now).first()
            if lead is None:
                continue
            hours = Brokerage.objects.current().pond_claim_hours
            previous = lead.assigned_agent
            _route(lead=lead, agent=None, team=lead.pond_team, method=RoutingMethod.POND_RETURN, actor=None, now=now,
                   pond_team=lead.pond_team, to_pond=True,
                   reason=f"{previous} claimed it and logged no contact within {hours} hours")
            returned += 1
    return returned


# Rules ---------------------------------------------------------------------------------


def _tokens(text: str) -> list[str]:
    return [token for token in re.split(r"[\s,;]+", text.strip()) if token]


def rule_matches(rule: RoutingRule, lead: Lead, list_ids: set[int]) -> bool:
    prop = lead.property
    if rule.zip_codes and not any((prop.zip_code or "").startswith(z) for z in _tokens(rule.zip_codes)):
        return False
    if rule.counties and (prop.county or "").strip().lower() not in {
            c.strip().lower() for c in rule.counties.split(",") if c.strip()}:
        return False
    if rule.state and prop.state != rule.state:
        return False
    if rule.lead_list_id and rule.lead_list_id not in list_ids:
        return False
    return not (rule.lead_type and lead.lead_type != rule.lead_type)


def rule_check(rule: RoutingRule) -> None:
    if rule.target == RoutingTarget.AGENT and rule.agent_id is None:
        raise ValidationError({"agent": RULE_NEEDS_AGENT})
    if rule.target == RoutingTarget.ROUND_ROBIN and rule.team_id is None:
        raise ValidationError({"team": RULE_NEEDS_TEAM})
    if rule.target == RoutingTarget.AGENT and rule.team_id and not (
            TeamMembership.objects.filter(team=rule.team_id, user=rule.agent_id).exists()
            or Team.objects.filter(pk=rule.team_id, lead=rule.agent_id).exists()):
        raise ValidationError({"agent": RULE_AGENT_OFF_TEAM})


def rule_save(*, rule: RoutingRule, actor: User) -> RoutingRule:
    rule.full_clean()
    rule_check(rule)
    if rule.created_by_id is None:
        rule.created_by = actor
    rule.save()
    return rule


def leads_route_by_rules(*, leads, actor: User | None) -> Routed:
    """Send each unassigned lead (not in the pond) where the first matching rule says."""
    rules = list(RoutingRule.objects.filter(is_active=True).select_related("agent", "team"))
    result = Routed()
    candidates = list(leads.filter(assigned_agent__isnull=True, pond_since__isnull=True)
                      .select_related("property").prefetch_related("lists"))
    for lead in candidates:
        list_ids = {lead_list.pk for lead_list in lead.lists.all()}
        rule = next((r for r in rules if rule_matches(r, lead, list_ids)), None)
        if rule is None:
            result.unmatched += 1
            continue
        why = f"Rule: {rule.name}"
        if rule.target == RoutingTarget.POND:
            lead_to_pond(lead=lead, team=rule.team, actor=actor, rule=rule, reason=why, method=RoutingMethod.RULE)
            result.to_pond += 1
            continue
        with transaction.atomic():
            if rule.target == RoutingTarget.AGENT:
                locked = Lead.objects.select_for_update().get(pk=lead.pk)
                entry = _route(lead=locked, agent=rule.agent, team=rule.team or _team_of(rule.agent),
                               method=RoutingMethod.RULE, actor=actor, rule=rule, reason=why)
            else:
                entry = lead_round_robin(lead=lead, team=rule.team, actor=actor, rule=rule,
                                         reason=f"{why} (round-robin in {rule.team})")
        result.assigned += 1
        name = str(entry.to_agent)
        result.by_agent[name] = result.by_agent.get(name, 0) + 1
    return result


# Bulk and departures -------------------------------------------------------------------


def leads_route_bulk(*, leads, actor: User, agent: User | None = None, team: Team | None = None,
                     to_pond: bool = False, reason: str = "", method: str = RoutingMethod.BULK) -> Routed:
    """Many leads at once from a filtered list: to one agent, round-robin in a team, or the pond."""
    result = Routed()
    for lead in leads.select_related("property"):
        if to_pond:
            lead_to_pond(lead=lead, team=team, actor=actor, reason=reason or "Put in the pond in bulk",
                         method=method if method != RoutingMethod.BULK else RoutingMethod.POND_RELEASE)
            result.to_pond += 1
            continue
        if agent is not None:
            entry = lead_route_to(lead=lead, agent=agent, actor=actor, method=method,
                                  reason=reason or "Assigned in bulk")
        else:
            entry = lead_round_robin(lead=lead, team=team, actor=actor,
                                     method=method if method != RoutingMethod.BULK else RoutingMethod.ROUND_ROBIN,
                                     reason=reason or f"Round-robin in {team}, in bulk")
        result.assigned += 1
        result.by_agent[str(entry.to_agent)] = result.by_agent.get(str(entry.to_agent), 0) + 1
    return result


@transaction.atomic
def agent_depart(*, agent: User, actor: User, to_agent: User | None = None, team: Team | None = None,
                 to_pond: bool = False) -> Routed:
    """An agent leaves: every open lead of theirs goes to one agent, round-robin in a team
    or to the pond, in one step, with their open follow-ups; they leave their team."""
    if agent == to_agent:
        raise ValidationError({"to_agent": "Pick someone other than the agent who is leaving."})
    if to_agent is None and team is None and not to_pond:
        raise ValidationError("Say where the leads go: one agent, round-robin in a team, or the pond.")
    # Off the team first: round-robin must not hand their leads back to them.
    TeamMembership.objects.filter(user=agent).update(is_active=False)
    leads = Lead.objects.filter(assigned_agent=agent).open()
    result = leads_route_bulk(leads=leads, actor=actor, agent=to_agent, team=team, to_pond=to_pond,
                              reason=f"{agent} left", method=RoutingMethod.DEPARTURE)
    return result


def can_route(user: User) -> bool:
    return user.is_active and user.has_perm(Perm.ASSIGN_LEADS)
