"""Action plans: per plan, who was put in it, what its steps did, and who answered
(docs/action-plans.md).

Four grouped queries whatever the number of plans: the plans, their enrollments (counted
by state and by replies), their step runs in the period (by status and the rules that
refused them), nothing per row.
"""

from __future__ import annotations

from collections import defaultdict

from django.db.models import Count, Q
from django.urls import NoReverseMatch, reverse
from django.utils.http import urlencode

from pipeline.models import (
    RESPONSE_REASONS,
    ActionPlan,
    EnrollmentStatus,
    PlanEnrollment,
    PlanStepRun,
    RunStatus,
)
from pipeline.plans.figures import replied_between

from .period import Link, Period, Report, read_only

COLUMNS = ["Plan", "Whose", "Enrolled", "Active now", "Paused by a response now", "Steps sent", "Tasks created",
           "Skipped by a rule", "Replies"]
SHARED = "Shared"
NO_PLANS = "No action plan has been made yet."
PLANS_COUNTED = (
    "Enrolled: leads put in the plan in the period (by hand, from the list, by an automation or through the "
    "API). Active now and paused by a response now: as things stand today, whatever the period. Steps sent "
    "(texts and emails that went through the compliance gate), tasks created (calls, visits, letters to print) "
    "and skipped by a rule (refused by the gate, its rules below): steps run in the period. Replies: leads "
    "in the plan whose homeowner texted or emailed back in the period while in it; a plan that pauses on a "
    "response paused then, and may have been resumed since.")
RULES_CAPTION = "Steps skipped by a rule"
RULES_NOTE = ("A step the gate refused counts once under each rule that refused it, so a step refused by two rules "
              "is in two rows.")


def plan_href(plan_id: int) -> str:
    """The plan's own page. Its name is the plans pages' (``plans:detail``); until they are
    mounted, the address they serve it at."""
    try:
        return reverse("plans:detail", args=[plan_id])
    except NoReverseMatch:
        return f"/plans/{plan_id}/"


def _enrollments_link(**filters) -> str:
    return f"{reverse('admin:pipeline_planenrollment_changelist')}?{urlencode(filters)}"


def _runs_link(period: Period, **filters) -> str:
    query = {"ran_at__date__gte": period.start.isoformat(), "ran_at__date__lte": period.end.isoformat(), **filters}
    return f"{reverse('admin:pipeline_plansteprun_changelist')}?{urlencode(query)}"


@read_only
def plan_activity(period: Period) -> Report:
    """Per plan: leads enrolled in the period, active and paused by a response now, steps
    sent, tasks created and steps skipped by a rule in the period (with the rules), and
    replies in the period."""
    since, until = period.since, period.until
    # Shared plans first, then each agent's, by name.
    plans = sorted(ActionPlan.objects.values_list(
        "pk", "name", "owner_id", "owner__first_name", "owner__last_name", "owner__username", "deleted_at"),
        key=lambda plan: (plan[2] is not None, plan[1].casefold(), plan[0]))
    enrollments = {row["plan"]: row for row in PlanEnrollment.objects.order_by().values("plan").annotate(
        enrolled=Count("pk", filter=Q(started_at__gte=since, started_at__lt=until)),
        active=Count("pk", filter=Q(status=EnrollmentStatus.ACTIVE)),
        paused=Count("pk", filter=Q(status=EnrollmentStatus.PAUSED, pause_reason__in=RESPONSE_REASONS)),
        replies=Count("pk", filter=Q(replied_between(since, until))),
    )}
    runs: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    by_rule: dict[tuple[int, str], int] = defaultdict(int)
    for plan_id, status, rules, n in (
            PlanStepRun.objects.filter(ran_at__gte=since, ran_at__lt=until,
                                       status__in=[RunStatus.SENT, RunStatus.TASK, RunStatus.SKIPPED])
            .order_by().values_list("enrollment__plan", "status", "rules").annotate(n=Count("pk"))):
        if status == RunStatus.SKIPPED:
            if not rules:
                continue  # skipped for a date passed or a window that never opens: no rule refused it
            status = "by_rule"
            for rule in rules:
                by_rule[(plan_id, rule)] += n
        runs[plan_id][status] += n
    names = {}
    rows = []
    for pk, name, owner_id, first, last, username, deleted_at in plans:
        counted = enrollments.get(pk, {})
        ran = runs.get(pk, {})
        figures = [counted.get("enrolled", 0), counted.get("active", 0), counted.get("paused", 0),
                   ran.get(RunStatus.SENT, 0), ran.get(RunStatus.TASK, 0), ran.get("by_rule", 0),
                   counted.get("replies", 0)]
        if deleted_at is not None and not any(figures):
            continue  # a deleted plan shows only while it has something to count
        label = f"{name} (deleted)" if deleted_at is not None else name
        names[pk] = label
        whose = SHARED if owner_id is None else (f"{first} {last}".strip() or username)
        enrolled, active, paused, sent, tasks, skipped, replies = figures
        rows.append([
            Link(label, plan_href(pk)), whose,
            _count(enrolled, _enrollments_link(plan__id__exact=pk, started_at__date__gte=period.start.isoformat(),
                                               started_at__date__lte=period.end.isoformat())),
            _count(active, _enrollments_link(plan__id__exact=pk, status__exact=EnrollmentStatus.ACTIVE)),
            _count(paused, _enrollments_link(plan__id__exact=pk, status__exact=EnrollmentStatus.PAUSED,
                                             pause_reason__in=",".join(sorted(RESPONSE_REASONS)))),
            _count(sent, _runs_link(period, enrollment__plan__id__exact=pk, status__exact=RunStatus.SENT)),
            _count(tasks, _runs_link(period, enrollment__plan__id__exact=pk, status__exact=RunStatus.TASK)),
            _count(skipped, _runs_link(period, enrollment__plan__id__exact=pk, status__exact=RunStatus.SKIPPED,
                                       rule="any")),
            _count(replies, _enrollments_link(plan__id__exact=pk,
                                              replied=f"{period.start.isoformat()}..{period.end.isoformat()}")),
        ])
    rule_rows = [[rule, names.get(plan_id, "?"),
                  _count(n, _runs_link(period, enrollment__plan__id__exact=plan_id, status__exact=RunStatus.SKIPPED,
                                       rule=rule))]
                 for (plan_id, rule), n in sorted(by_rule.items(), key=lambda item: (-item[1], item[0][1],
                                                                                       names.get(item[0][0], "")))]
    tables = [{"caption": RULES_CAPTION, "note": RULES_NOTE, "columns": ["Rule", "Plan", "Steps skipped"],
               "rows": rule_rows, "codes": True}] if rule_rows else []
    shown = [row for row in rows if any(isinstance(cell, Link) and cell.count for cell in row[2:])]
    chart = {"type": "bar", "labels": [str(row[0]) for row in shown], "datasets": [
        {"label": label, "data": [_value(row[index]) for row in shown]}
        for label, index in (("Steps sent", 5), ("Tasks created", 6), ("Skipped by a rule", 7), ("Replies", 8))]
    } if shown else {}
    return Report(slug="action-plans", title="Action plans", columns=COLUMNS, rows=rows, chart=chart,
                  notes=[PLANS_COUNTED] if rows else [NO_PLANS], tables=tables)


def _count(n: int, href: str):
    """A count links to the rows it counts; a zero has nothing to open."""
    return Link(n, href) if n else 0


def _value(cell) -> int:
    return cell.value if isinstance(cell, Link) else cell
