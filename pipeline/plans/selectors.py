"""Reads of action plans for their pages and the reports: the plans a user may use, one
plan, its figures and the leads in it now (docs/action-plans.md).

Every count is an aggregate query over all the plans asked for at once, so a page of
plans costs the same few queries however many plans and leads there are.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.db.models import Count, F, Prefetch, Q
from django.shortcuts import get_object_or_404
from django.utils import timezone

from leadcrm.accounts.models import User
from leads.models import Lead
from pipeline.models import (
    FINAL_RUN,
    OPEN_ENROLLMENT,
    RESPONSE_REASONS,
    ActionPlan,
    EnrollmentStatus,
    KeyDate,
    PlanEnrollment,
    PlanStep,
    PlanStepRun,
    RunStatus,
    StepAnchor,
    StepKind,
    TaskKind,
)

from .figures import replied_between
from .scheduling import counts_after

# Since always, for a plan's figures over its whole life.
EVER = datetime(2000, 1, 1, tzinfo=UTC)

# A skipped step the gate did not refuse (a date that passed, a window that never opens)
# carries no rule ID; the figures count it under this key.
NO_RULE = ""


def _visible_leads(user: User | None):
    return None if user is None else Lead.objects.visible_to(user).values("pk")


def plan_list(*, fetched_by: User) -> list[ActionPlan]:
    """The brokerage's shared plans and the user's own, each with its steps and how many of
    the leads the user may see are in it now (``active_count``, ``paused_count``)."""
    in_scope = Q(enrollments__lead__in=_visible_leads(fetched_by))
    plans = (
        ActionPlan.objects.usable_by(fetched_by)
        .select_related("owner")
        .prefetch_related(Prefetch("steps", queryset=PlanStep.objects.order_by("position", "pk")))
        .annotate(
            active_count=Count("enrollments", filter=in_scope & Q(enrollments__status=EnrollmentStatus.ACTIVE)),
            paused_count=Count("enrollments", filter=in_scope & Q(enrollments__status=EnrollmentStatus.PAUSED)),
        )
        # The brokerage's plans first (the ones everybody shares), then the user's own.
        .order_by(F("owner_id").asc(nulls_first=True), "name", "pk")
    )
    return list(plans)


def plan_get(*, fetched_by: User, pk: int) -> ActionPlan:
    """One plan the user may use, with its steps; 404 for another agent's own or a deleted one."""
    plans = ActionPlan.objects.usable_by(fetched_by).select_related("owner").prefetch_related(
        Prefetch("steps", queryset=PlanStep.objects.order_by("position", "pk")))
    return get_object_or_404(plans, pk=pk)


def plan_open_count(*, plan: ActionPlan) -> int:
    """How many leads are in the plan now (every lead: an edit applies to all of them)."""
    return PlanEnrollment.objects.filter(plan=plan, status__in=OPEN_ENROLLMENT).count()


@dataclass
class PlanFigures:
    """What a plan did: its leads by state, its steps by outcome."""

    enrolled: int = 0
    active: int = 0
    paused: int = 0
    paused_by_response: int = 0
    replies: int = 0
    finished: int = 0
    stopped: int = 0
    sent: int = 0
    tasks: int = 0
    skipped: int = 0
    cancelled: int = 0
    # Skipped steps per rule ID that refused them (``NO_RULE``: skipped for their timing).
    skipped_by_rule: dict[str, int] = field(default_factory=dict)

    @property
    def in_plan(self) -> int:
        return self.active + self.paused


def plan_figures(*, plans, fetched_by: User | None = None) -> dict[int, PlanFigures]:
    """Each plan's figures by two aggregate queries (enrollments, then step runs).

    ``fetched_by`` counts only the leads that user may see (a page for an agent); None
    counts every lead (the broker's reports).
    """
    plan_ids = [plan.pk if isinstance(plan, ActionPlan) else plan for plan in plans]
    figures = {plan_id: PlanFigures() for plan_id in plan_ids}
    if not plan_ids:
        return figures
    enrollments = PlanEnrollment.objects.filter(plan_id__in=plan_ids)
    runs = PlanStepRun.objects.filter(enrollment__plan_id__in=plan_ids)
    visible = _visible_leads(fetched_by)
    if visible is not None:
        enrollments = enrollments.filter(lead__in=visible)
        runs = runs.filter(lead__in=visible)
    rows = enrollments.order_by().values("plan_id").annotate(
        enrolled=Count("pk"),
        active=Count("pk", filter=Q(status=EnrollmentStatus.ACTIVE)),
        paused=Count("pk", filter=Q(status=EnrollmentStatus.PAUSED)),
        paused_by_response=Count("pk", filter=Q(status=EnrollmentStatus.PAUSED,
                                                pause_reason__in=list(RESPONSE_REASONS))),
        # The report's own definition (a text or email in while the lead was in the plan),
        # so a reply still counts after the plan was resumed.
        replies=Count("pk", filter=replied_between(EVER, timezone.now())),
        finished=Count("pk", filter=Q(status=EnrollmentStatus.FINISHED)),
        stopped=Count("pk", filter=Q(status=EnrollmentStatus.ENDED)),
    )
    for row in rows:
        plan_id = row.pop("plan_id")
        for name, value in row.items():
            setattr(figures[plan_id], name, value)
    # Grouped by the rules too (a short JSON list), so a skip's rule IDs come with its count.
    by_status = {RunStatus.SENT: "sent", RunStatus.TASK: "tasks", RunStatus.SKIPPED: "skipped",
                 RunStatus.CANCELLED: "cancelled"}
    skipped_by_rule: dict[int, Counter] = {plan_id: Counter() for plan_id in plan_ids}
    for row in runs.order_by().values("enrollment__plan_id", "status", "rules").annotate(n=Count("pk")):
        plan_id, status = row["enrollment__plan_id"], row["status"]
        if status not in by_status:
            continue
        target = figures[plan_id]
        setattr(target, by_status[status], getattr(target, by_status[status]) + row["n"])
        if status == RunStatus.SKIPPED:
            for rule in row["rules"] or [NO_RULE]:
                skipped_by_rule[plan_id][rule] += row["n"]
    for plan_id, counts in skipped_by_rule.items():
        # Rule IDs in order, the timing skips last.
        figures[plan_id].skipped_by_rule = dict(sorted(counts.items(), key=lambda item: (item[0] == NO_RULE, item[0])))
    return figures


def plan_enrollments(*, plan: ActionPlan, fetched_by: User):
    """The leads in the plan now that the user may see, the soonest next step first."""
    return (
        PlanEnrollment.objects.filter(plan=plan, status__in=OPEN_ENROLLMENT,
                                      lead__in=_visible_leads(fetched_by))
        .select_related("lead__property", "lead__assigned_agent")
        .order_by("status", "next_due_at", "-started_at", "pk")
    )


def _key_date_words(plan: ActionPlan) -> tuple[str, str]:
    """("before"/"after", the date's name): a filing is behind the lead, the others ahead."""
    what = "after" if counts_after(plan.key_date) else "before"
    return what, KeyDate(plan.key_date).label.lower() if plan.key_date else "the plan's date"


def step_short(step: PlanStep, *, plan: ActionPlan) -> str:
    """A step in a few characters for the plans list: "Email (2d)", "Letter (7d before auction)"."""
    what = StepKind(step.kind).name.title()
    if step.kind == StepKind.TASK and step.task_kind:
        what = f"Task: {TaskKind(step.task_kind).name.lower()}"
    parts = []
    if step.delay_days:
        parts.append(f"{step.delay_days}d")
    if step.delay_hours and step.anchor != StepAnchor.KEY_DATE:
        parts.append(f"{step.delay_hours}h")
    when = " ".join(parts)
    if step.anchor == StepAnchor.START:
        when = f"{when} from start" if when else ""
    elif step.anchor == StepAnchor.KEY_DATE:
        before_or_after, date = _key_date_words(plan)
        when = f"{when} {before_or_after} {date.split()[0]}" if when else f"on {date.split()[0]}"
    return f"{what} ({when.strip()})" if when.strip() else what


def step_when(step: PlanStep, *, plan: ActionPlan) -> str:
    """When a step runs, in words: "2 days after the previous step", "7 days before the
    auction date". The first step's "previous step" is the plan's start."""
    if step.anchor == StepAnchor.KEY_DATE:
        before_or_after, date = _key_date_words(plan)
        if not step.delay_days:
            return f"on the {date}"
        return f"{step.delay_days} day{'s' if step.delay_days != 1 else ''} {before_or_after} the {date}"
    if step.anchor == StepAnchor.PREVIOUS and step.position == 0:
        if not (step.delay_days or step.delay_hours):
            return "when the plan starts"
        return step.delay_words.replace(StepAnchor.PREVIOUS.label, StepAnchor.START.label)
    return step.delay_words


def next_step_of(plan: ActionPlan, enrollment: PlanEnrollment, done: set[int]) -> PlanStep | None:
    """The step the enrollment runs next (from the plan's prefetched steps): the first it
    has not run, as ``services.steps_not_run`` reads it; ``done``: the steps it has."""
    return next((step for step in plan.steps.all() if step.pk not in done), None)


def steps_done_by(enrollments) -> dict[int, set[int]]:
    """For a page of enrollments, the steps each has run (one query)."""
    done: dict[int, set[int]] = {enrollment.pk: set() for enrollment in enrollments}
    for enrollment_id, step_id in PlanStepRun.objects.filter(
            enrollment__in=list(done), status__in=FINAL_RUN, step__isnull=False).values_list("enrollment_id", "step_id"):
        done[enrollment_id].add(step_id)
    return done
