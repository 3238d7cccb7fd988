"""Reads of leads, always through ``Lead.objects.visible_to(user)``."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.cache import cache
from django.db.models import Count, QuerySet, Sum
from django.shortcuts import get_object_or_404

from leadcrm.accounts.roles import Perm

from .filters import LeadFilter
from .models import FUNNEL_STAGES, OUTCOME_STAGES, Contact, Lead, Stage


def lead_list(*, fetched_by, filters: dict | None = None) -> tuple[QuerySet[Lead], LeadFilter]:
    """The leads the user may see, filtered and ordered, with the property and agent a
    list row shows (its owners' names: ``lead_owner_names``)."""
    queryset = Lead.objects.visible_to(fetched_by).select_related("property", "assigned_agent")
    lead_filter = LeadFilter(filters or {}, queryset=queryset, user=fetched_by)
    return lead_filter.qs, lead_filter


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
