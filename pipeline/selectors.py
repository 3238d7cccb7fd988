"""Reads of the pipeline, scoped by who is looking."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count
from django.utils import timezone

from leadcrm.accounts.models import User
from leadcrm.accounts.roles import Perm
from leads.models import OUTCOME_STAGES, Lead

from .models import FollowUp, OutreachAttempt, StageChange

TIMELINE_LIMIT = 100


@dataclass(frozen=True)
class Timeline:
    stage_changes: list[StageChange]
    attempts: list[OutreachAttempt]
    open_follow_ups: list[FollowUp]
    done_follow_ups: list[FollowUp]


def lead_timeline(*, lead: Lead) -> Timeline:
    """What happened on one lead, newest first (the caller has already checked visibility)."""
    return Timeline(
        stage_changes=list(lead.stage_changes.select_related("changed_by")[:TIMELINE_LIMIT]),
        attempts=list(
            lead.outreach_attempts.select_related("agent", "compliance_check")[:TIMELINE_LIMIT]
        ),
        open_follow_ups=list(lead.follow_ups.open().select_related("assignee")),
        done_follow_ups=list(
            lead.follow_ups.filter(done_at__isnull=False).select_related("assignee")
            .order_by("-done_at")[:20]
        ),
    )


@dataclass(frozen=True)
class FollowUpAgenda:
    overdue: list[FollowUp]
    today: list[FollowUp]
    upcoming: list[FollowUp]


def follow_up_agenda(*, user: User, now: datetime | None = None, limit: int = 25) -> FollowUpAgenda:
    """The user's own open follow-ups: overdue, the rest of today (their zone), the week ahead."""
    now = now or timezone.now()
    local_now = timezone.localtime(now)
    end_of_today = local_now.replace(hour=23, minute=59, second=59, microsecond=999999)
    base = (
        FollowUp.objects.visible_to(user)
        .open()
        .filter(assignee=user)
        .select_related("lead__property")
        .order_by("due_at", "pk")
    )
    return FollowUpAgenda(
        overdue=list(base.filter(due_at__lt=now)[:limit]),
        today=list(base.filter(due_at__gte=now, due_at__lte=end_of_today)[:limit]),
        upcoming=list(
            base.filter(due_at__gt=end_of_today, due_at__lte=end_of_today + timedelta(days=7))[:limit]
        ),
    )


def recent_outreach(*, fetched_by: User, limit: int = 10) -> list[OutreachAttempt]:
    return list(
        OutreachAttempt.objects.visible_to(fetched_by)
        .select_related("lead__property", "agent")
        .order_by("-occurred_at", "-pk")[:limit]
    )


@dataclass(frozen=True)
class AgentLoad:
    agent: User
    open_leads: int
    overdue_follow_ups: int


def agent_workload(*, fetched_by: User, now: datetime | None = None) -> list[AgentLoad]:
    """Open leads and overdue follow-ups per agent, for team leads and brokers."""
    if not (fetched_by.has_perm(Perm.VIEW_TEAM_LEADS) or fetched_by.has_perm(Perm.VIEW_ALL_LEADS)):
        return []
    now = now or timezone.now()
    leads = Lead.objects.visible_to(fetched_by).exclude(stage__in=OUTCOME_STAGES)
    open_by_agent = dict(
        leads.exclude(assigned_agent=None).order_by().values_list("assigned_agent")
        .annotate(n=Count("pk")).values_list("assigned_agent", "n")
    )
    overdue_by_agent = dict(
        FollowUp.objects.visible_to(fetched_by).overdue(now).order_by()
        .values_list("assignee").annotate(n=Count("pk")).values_list("assignee", "n")
    )
    agents = User.objects.filter(pk__in=set(open_by_agent) | set(overdue_by_agent))
    return sorted(
        (
            AgentLoad(agent, open_by_agent.get(agent.pk, 0), overdue_by_agent.get(agent.pk, 0))
            for agent in agents
        ),
        key=lambda load: (-load.overdue_follow_ups, -load.open_leads, str(load.agent)),
    )
