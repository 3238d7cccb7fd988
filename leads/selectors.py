"""Reads of leads, always through ``Lead.objects.visible_to(user)``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.core.cache import cache
from django.db.models import Count, OuterRef, Sum
from django.shortcuts import get_object_or_404

from leadcrm.accounts.models import Team, User
from leadcrm.accounts.roles import Perm
from leadcrm.accounts.selectors import users_assignable_by

from .filters import has_follow_up_due
from .models import FUNNEL_STAGES, OUTCOME_STAGES, Contact, Lead, Stage


def lead_owner_names(*, lead_ids) -> dict[int, list[str]]:
    """Each lead's owners' names, first owner first: one plain query for a page of rows
    (a ``contacts`` prefetch built a queryset and a model instance per lead and owner)."""
    names: dict[int, list[str]] = {}
    rows = (Contact.objects.filter(lead_id__in=lead_ids).order_by("lead_id", "position", "pk")
            .values_list("lead_id", "first_name", "last_name", "company_name"))
    for lead_id, first_name, last_name, company_name in rows:
        names.setdefault(lead_id, []).append(Contact.name_from(first_name, last_name, company_name))
    return names


def lead_get(*, fetched_by, pk: int) -> Lead:
    """One lead the user may see, or 404."""
    queryset = (
        Lead.objects.visible_to(fetched_by)
        .with_financials()
        .select_related("property", "assigned_agent", "team", "source_list")
    )
    return get_object_or_404(queryset, pk=pk)


@dataclass(frozen=True)
class StageCount:
    stage: Stage
    count: int
    value: int

    @property
    def label(self) -> str:
        return self.stage.label


STAGE_COUNTS_SECONDS = 60


def lead_stage_counts(*, fetched_by, fresh: bool = False) -> list[StageCount]:
    """How many leads the user can see in each stage, and their total estimated value.

    Kept for a minute per user: summing the value joins every lead of a book to its
    property (tens of milliseconds at 10,000 leads), and "at a glance" can be a minute old.
    """
    key = f"leads:stage-counts:{fetched_by.pk}"
    counts = None if fresh else cache.get(key)
    if counts is None:
        counts = _stage_counts(fetched_by)
        cache.set(key, counts, STAGE_COUNTS_SECONDS)
    return counts


def stage_counts_forget(*user_ids) -> None:
    """A lead moved: its agent and whoever moved it see the new counts at once."""
    cache.delete_many([f"leads:stage-counts:{pk}" for pk in user_ids if pk])


def _stage_counts(fetched_by) -> list[StageCount]:
    rows = (
        Lead.objects.visible_to(fetched_by)
        .order_by()
        .values("stage")
        .annotate(count=Count("pk"), value=Sum("property__estimated_value"))
    )
    by_stage = {row["stage"]: row for row in rows}
    return [
        StageCount(
            stage=stage,
            count=by_stage.get(stage, {}).get("count", 0),
            value=int(by_stage.get(stage, {}).get("value") or 0),
        )
        for stage in (*FUNNEL_STAGES, *OUTCOME_STAGES)
    ]


def import_jobs_visible_to(user):
    """Imports a user may follow: their own; brokers see every import of the brokerage."""
    from .models import ImportJob

    jobs = ImportJob.objects.select_related("lead_list", "created_by")
    return jobs if user.has_perm(Perm.VIEW_ALL_LEADS) else jobs.filter(created_by=user)


@dataclass
class AgentLoad:
    """One agent's row of the workload: open leads per funnel stage (``FUNNEL_STAGES``'
    order), how many have an overdue follow-up of the agent's, pond claims not yet worked."""

    agent: User
    per_stage: list[int]
    overdue: int
    claims: int
    team: Team | None  # the agent's team, None once they left it
    left: bool

    @property
    def open(self) -> int:
        return sum(self.per_stage)


def agents_workload(*, fetched_by, now: datetime) -> list[AgentLoad]:
    """The agents the user assigns to, each with the counts of their open leads; four
    queries whatever the number of agents. Each count is the number of rows of the lead
    list it links to (``?assigned_agent=<agent>&stage=...``, ``&follow_up=overdue``)."""
    agents = list(users_assignable_by(fetched_by).select_related("team_membership__team")
                  .order_by("first_name", "last_name"))
    ids = [agent.pk for agent in agents]
    leads = Lead.objects.visible_to(fetched_by).filter(assigned_agent__in=ids)
    per_stage = {}
    for agent_id, stage, count in (leads.filter(stage__in=FUNNEL_STAGES).order_by()
                                   .values_list("assigned_agent", "stage").annotate(n=Count("pk"))):
        per_stage[(agent_id, stage)] = count
    # Leads, not follow-ups: the agent's open leads with an overdue follow-up of the
    # agent's, the rows of ?assigned_agent=<agent>&follow_up=overdue (two overdue on one
    # lead are one row; the agent's follow-up on a colleague's lead is in neither), as
    # the dashboard's agents table counts them.
    overdue = dict(leads.filter(stage__in=FUNNEL_STAGES)
                   .filter(has_follow_up_due("overdue", assignee=OuterRef("assigned_agent"), now=now)).order_by()
                   .values_list("assigned_agent").annotate(n=Count("pk")).values_list("assigned_agent", "n"))
    claims = dict(Lead.objects.filter(assigned_agent__in=ids, claim_deadline__isnull=False).order_by()
                  .values_list("assigned_agent").annotate(n=Count("pk")).values_list("assigned_agent", "n"))
    rows = []
    for agent in agents:
        counts = [per_stage.get((agent.pk, stage), 0) for stage in FUNNEL_STAGES]
        membership = getattr(agent, "team_membership", None)
        if membership is None and not sum(counts) and not overdue.get(agent.pk):
            continue  # a broker or team lead who works no leads themselves
        rows.append(AgentLoad(agent=agent, per_stage=counts, overdue=overdue.get(agent.pk, 0),
                              claims=claims.get(agent.pk, 0),
                              team=membership.team if membership and membership.is_active else None,
                              left=bool(membership and not membership.is_active)))
    return rows
