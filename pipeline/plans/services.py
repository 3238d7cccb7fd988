"""Writes of action plans: plans and their steps, enrollments, pauses, resumes and stops
(docs/action-plans.md). Running the steps is ``pipeline.plans.runner``'s.

A lead is in a plan at most once at a time (a partial unique constraint on open
enrollments). Everything that moves an enrollment recomputes when its next step falls due
(``schedule_next``), recording as skipped, with the reason, the steps that will not run
(a date that passed, a window that never opens).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from compliance.services import template_language_check
from leadcrm.accounts.models import User
from leadcrm.accounts.roles import Perm
from leadcrm.shared.queue import enqueue_on_commit
from leads.models import FUNNEL_STAGES, OUTCOME_STAGES, Lead, Stage
from pipeline.messaging.services import TEXT_LIMIT
from pipeline.models import (
    FINAL_RUN,
    OPEN_ENROLLMENT,
    ActionPlan,
    EnrollmentSource,
    EnrollmentStatus,
    KeyDate,
    PauseReason,
    PlanAutomation,
    PlanEnrollment,
    PlanStep,
    PlanStepRun,
    RunStatus,
    StepAnchor,
    StepKind,
    TaskKind,
)
from pipeline.outreach.scripts import KNOWN_FIELDS, MERGE_FIELDS, merge_fields_in

from .scheduling import key_date_of, step_timing

# Fields only a plan's steps know: filled when the step runs (docs/action-plans.md#merge-fields).
PLAN_FIELDS = {"status page link"}
AGENT_NAME_FIELDS = {"agent name", "agent first name"}
MAX_STEPS = 40
MAX_DELAY_DAYS = 730
MAX_DELAY_HOURS = 23 * 24
MAX_BODY = 20_000  # an email or a letter of ten pages is not follow-up; it is a mistake

NAME_NEEDED = "Give the plan a name."
NO_STEPS = "A plan needs at least one step."
TOO_MANY_STEPS = "A plan may have at most {limit} steps."
SHARED_NEEDS_BROKER = "Only a broker edits the brokerage's shared plans; save a copy of your own instead."
NOT_YOURS = "That plan is someone else's."
STEP_PREFIX = "Step {number} ({kind}): {message}"
UNKNOWN_FIELDS = "not a merge field: {fields}. Use one of: {known}, [Status Page Link]."
EMAIL_NEEDS_SUBJECT = "an email needs a subject."
NEEDS_BODY = "write the words first."
TASK_NEEDS_TITLE = "a task needs a title."
TASK_NEEDS_KIND = "say what the task is (call, visit, lender, document)."
EMAIL_NEEDS_DISCLOSURE = ("an email must say who is writing and in what role (D3): put [Role Disclosure] in it, "
                          "which becomes “Ana Torres is a licensed real estate agent with …”.")
TEXT_NEEDS_SIGNATURE = ("a text must name the agent and the brokerage (D3): put [Agent Name] (or [Agent First Name]) "
                        "and [Brokerage] in it.")
TEXT_TOO_LONG = "a text may be at most {limit} characters (this one has {length} before its fields are filled)."
BODY_TOO_LONG = "its words may be at most {limit:,} characters (these have {length:,})."
KEY_DATE_NEEDS_PLAN_DATE = "a step counted from the plan's date needs the plan to name its date (auction, approval, filing)."
DELAY_TOO_LONG = "a delay may be at most {days} days and {hours} hours."
WINDOW_BACKWARDS = "its window must end after it starts, on the same day."
STATUS_LINK_ONLY_WRITTEN = "[Status Page Link] goes in an email or a text, not in a letter or a task."
UNKNOWN_STAGE = "Not a stage of the funnel: {stage}."

ALREADY_IN_PLAN = "This lead is already in “{plan}”: a lead is in a plan once at a time."
PLAN_DELETED = "That plan was deleted."
LEAD_FINISHED = "A lead that closed or died is not put in a plan."
NO_AGENT = "Assign the lead to an agent first: a plan writes as the lead's agent."
NOT_IN_PLAN_STAGES = "“{plan}” is for leads in {stages}; this lead is in {stage}."
NO_PLAN_DATE = "“{plan}” counts from the {date}, and {why}."
NOT_PAUSED = "Only a paused plan can be resumed."
NOT_OPEN = "That plan has already finished or been stopped on this lead."
NOT_ACTIVE = "Only a running plan can be paused."

DELETED_REASON = "The plan “{plan}” was deleted by {who} on {day}: its remaining steps are cancelled."
ENDED_BY_HAND = "Stopped by {who}."
LEAD_CLOSED_REASON = "The lead moved to {stage}."
STAGE_LEFT = "The lead moved to {stage}, outside the plan's stages ({stages})."


@dataclass
class StepInput:
    """A step as a form or the API gives it (``pk`` for a step that already exists)."""

    kind: str
    subject: str = ""
    body: str = ""
    task_kind: str = ""
    anchor: str = StepAnchor.PREVIOUS
    delay_days: int = 0
    delay_hours: int = 0
    window_start: time = time(9, 0)
    window_end: time = time(17, 0)
    weekdays_only: bool = False
    pk: int | None = None

    @classmethod
    def of(cls, step: PlanStep) -> StepInput:
        return cls(kind=step.kind, subject=step.subject, body=step.body, task_kind=step.task_kind, anchor=step.anchor,
                   delay_days=step.delay_days, delay_hours=step.delay_hours, window_start=step.window_start,
                   window_end=step.window_end, weekdays_only=step.weekdays_only, pk=step.pk)


def _step_problems(step: StepInput, *, key_date: str) -> list[str]:
    """What is wrong with one step's settings and words, as the agent must read it."""
    problems = []
    kind = StepKind(step.kind)
    words = f"{step.subject}\n{step.body}"
    named = {name.strip().lower() for name in merge_fields_in(words)}
    unknown = sorted({f"[{name}]" for name in merge_fields_in(words)
                      if name.strip().lower() not in MERGE_FIELDS and name.strip().lower() not in PLAN_FIELDS})
    if unknown:
        problems.append(UNKNOWN_FIELDS.format(fields=", ".join(unknown), known=KNOWN_FIELDS))
    try:
        template_language_check(words)
    except ValidationError as error:
        problems.extend(error.messages)
    if kind == StepKind.TASK:
        if not step.subject.strip():
            problems.append(TASK_NEEDS_TITLE)
        if step.task_kind not in TaskKind.values:
            problems.append(TASK_NEEDS_KIND)
    elif not step.body.strip():
        problems.append(NEEDS_BODY)
    if kind == StepKind.EMAIL:
        if not step.subject.strip():
            problems.append(EMAIL_NEEDS_SUBJECT)
        if "role disclosure" not in named:
            problems.append(EMAIL_NEEDS_DISCLOSURE)
    if kind in (StepKind.EMAIL, StepKind.LETTER) and len(step.body) > MAX_BODY:
        problems.append(BODY_TOO_LONG.format(limit=MAX_BODY, length=len(step.body)))
    if kind == StepKind.TEXT:
        if not (named & AGENT_NAME_FIELDS and "brokerage" in named):
            problems.append(TEXT_NEEDS_SIGNATURE)
        if len(step.body.strip()) > TEXT_LIMIT:
            problems.append(TEXT_TOO_LONG.format(limit=TEXT_LIMIT, length=len(step.body.strip())))
    if kind in (StepKind.LETTER, StepKind.TASK) and named & PLAN_FIELDS:
        problems.append(STATUS_LINK_ONLY_WRITTEN)
    if step.anchor == StepAnchor.KEY_DATE and not key_date:
        problems.append(KEY_DATE_NEEDS_PLAN_DATE)
    if not (0 <= step.delay_days <= MAX_DELAY_DAYS and 0 <= step.delay_hours <= MAX_DELAY_HOURS):
        problems.append(DELAY_TOO_LONG.format(days=MAX_DELAY_DAYS, hours=MAX_DELAY_HOURS))
    if step.window_end <= step.window_start:
        problems.append(WINDOW_BACKWARDS)
    return problems


def plan_steps_check(steps: list[StepInput], *, key_date: str = "") -> None:
    """Refuse steps with unknown merge fields, prohibited promises (F6, named), missing
    words or signatures (D3), or impossible timing; every problem of every step at once."""
    if not steps:
        raise ValidationError({"steps": NO_STEPS})
    if len(steps) > MAX_STEPS:
        raise ValidationError({"steps": TOO_MANY_STEPS.format(limit=MAX_STEPS)})
    messages = []
    for number, step in enumerate(steps, start=1):
        if step.kind not in StepKind.values:
            messages.append(STEP_PREFIX.format(number=number, kind="?", message="pick what the step does."))
            continue
        label = StepKind(step.kind).label.lower()
        messages += [STEP_PREFIX.format(number=number, kind=label, message=problem)
                     for problem in _step_problems(step, key_date=key_date)]
    if messages:
        raise ValidationError({"steps": messages})


def _may_edit(actor: User, plan: ActionPlan | None, shared: bool) -> None:
    may_share = actor.has_perm(Perm.MANAGE_PLANS)
    if (shared or (plan is not None and plan.pk and plan.is_shared)) and not may_share:
        raise ValidationError(SHARED_NEEDS_BROKER)
    if plan is not None and plan.pk and not plan.is_shared and plan.owner_id != actor.pk:
        raise ValidationError(NOT_YOURS)
    if plan is not None and plan.deleted_at is not None:
        raise ValidationError(PLAN_DELETED)


@transaction.atomic
def plan_save(
    *,
    actor: User,
    name: str,
    steps: list[StepInput],
    description: str = "",
    shared: bool = False,
    stages: list[str] | tuple[str, ...] = (),
    key_date: str = KeyDate.NONE,
    pause_on_response: bool = True,
    pause_call_seconds: int = 60,
    plan: ActionPlan | None = None,
) -> ActionPlan:
    """Create a plan or change one. An edit applies to the steps the enrolled leads have not
    run yet: steps already run keep what they did, and the leads' next steps are re-timed."""
    _may_edit(actor, plan, shared)
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": NAME_NEEDED})
    for stage in stages:
        if stage not in FUNNEL_STAGES:
            raise ValidationError({"stages": UNKNOWN_STAGE.format(stage=stage)})
    key_date = KeyDate(key_date or KeyDate.NONE)
    plan_steps_check(steps, key_date=key_date)
    creating = plan is None
    plan = plan or ActionPlan(created_by=actor, owner=None if shared else actor)
    if not creating:
        plan.version += 1
    plan.name, plan.description = name, description.strip()
    plan.stages = [stage for stage in FUNNEL_STAGES if stage in set(stages)]
    plan.key_date, plan.pause_on_response = key_date, pause_on_response
    plan.pause_call_seconds = max(0, int(pause_call_seconds))
    plan.updated_by = actor
    plan.full_clean()
    plan.save()
    kept = {step.pk: step for step in plan.steps.all()} if not creating else {}
    wanted = {step.pk for step in steps if step.pk}
    PlanStep.objects.filter(plan=plan).exclude(pk__in=wanted).delete()
    for position, given in enumerate(steps):
        step = kept.get(given.pk) if given.pk else None
        step = step or PlanStep(plan=plan)
        step.position = position
        step.kind, step.task_kind = given.kind, given.task_kind if given.kind == StepKind.TASK else ""
        step.anchor = given.anchor if given.anchor in StepAnchor.values else StepAnchor.PREVIOUS
        step.delay_days, step.delay_hours = given.delay_days, given.delay_hours
        step.window_start, step.window_end, step.weekdays_only = given.window_start, given.window_end, given.weekdays_only
        step.subject, step.body = given.subject.strip(), given.body.strip()
        step.full_clean()
        step.save()
    if not creating:
        _last_positions_renumber(plan)
    if not creating and PlanEnrollment.objects.filter(plan=plan, status=EnrollmentStatus.ACTIVE).exists():
        from pipeline.tasks import plan_reschedule

        enqueue_on_commit(plan_reschedule, plan.pk, swept=True)  # the runner re-times a stale one anyway
    return plan


def plan_enrollments_reschedule(*, plan_id: int, now: datetime | None = None, batch: int = 500) -> int:
    """Re-time the next step of every running lead of an edited plan (those timed under an
    older version), a batch per transaction. Returns how many."""
    now = now or timezone.now()
    plan = ActionPlan.objects.get(pk=plan_id)
    done = 0
    while True:
        with transaction.atomic():
            stale = list(PlanEnrollment.objects.select_for_update(skip_locked=True).select_related("plan").filter(
                plan=plan, status=EnrollmentStatus.ACTIVE, claimed_at__isnull=True,
            ).exclude(plan_version=plan.version)[:batch])
            for enrollment in stale:
                schedule_next(enrollment, at=now)
        done += len(stale)
        if len(stale) < batch:
            return done


def _last_positions_renumber(plan: ActionPlan) -> None:
    """After an edit renumbered the steps: each lead still in the plan continues after the
    step it last ran, at that step's new place (a step it ran may have moved up when one
    before it was removed; one removed no longer counts). One statement for every lead."""
    last_ran = (PlanStepRun.objects.filter(enrollment=OuterRef("pk"), status__in=FINAL_RUN, step__isnull=False)
                .order_by().values("enrollment").annotate(last=Max("step__position")).values("last"))
    PlanEnrollment.objects.filter(plan=plan, status__in=OPEN_ENROLLMENT).update(
        last_position=Coalesce(Subquery(last_ran), Value(-1)), updated_at=timezone.now())


def plan_copy(*, plan: ActionPlan, actor: User) -> ActionPlan:
    """A copy of a plan (a shared one, usually) that the actor owns and may change."""
    return plan_save(actor=actor, name=f"{plan.name} (my copy)"[:120], description=plan.description,
                     steps=[replace(StepInput.of(step), pk=None) for step in plan.steps.all()], stages=plan.stages,
                     key_date=plan.key_date, pause_on_response=plan.pause_on_response,
                     pause_call_seconds=plan.pause_call_seconds)


@transaction.atomic
def plan_delete(*, plan: ActionPlan, actor: User, at: datetime | None = None) -> int:
    """Delete a plan: it is kept for the record (what was sent stays explained), its
    automations stop, and every lead still in it has its remaining steps cancelled, saying
    why. Returns how many leads were in it."""
    at = at or timezone.now()
    _may_edit(actor, plan, plan.is_shared)
    plan = ActionPlan.objects.select_for_update().get(pk=plan.pk)
    plan.deleted_at, plan.deleted_by = at, actor
    plan.save(update_fields=["deleted_at", "deleted_by", "updated_at"])
    PlanAutomation.objects.filter(plan=plan).update(is_active=False)
    reason = DELETED_REASON.format(plan=plan.name, who=actor.get_full_name() or actor.username,
                                   day=f"{timezone.localtime(at):%b %-d, %Y}")
    open_ones = list(PlanEnrollment.objects.select_for_update().filter(plan=plan, status__in=OPEN_ENROLLMENT))
    for enrollment in open_ones:
        _end(enrollment, reason=reason, actor=actor, at=at, plan=plan)
    return len(open_ones)


# Enrollment -------------------------------------------------------------------------------


def _stage_problem(plan: ActionPlan, lead: Lead) -> str:
    if plan.stages and lead.stage not in plan.stages:
        return NOT_IN_PLAN_STAGES.format(plan=plan.name, stages=_stage_names(plan.stages),
                                         stage=Stage(lead.stage).label)
    return ""


def _stage_names(stages: list[str]) -> str:
    return ", ".join(Stage(stage).label for stage in stages)


def enrollment_refusal(*, lead: Lead, plan: ActionPlan) -> str:
    """Why the lead cannot be put in the plan now, or "" when it can."""
    if plan.deleted_at is not None:
        return PLAN_DELETED
    if lead.erased_at is not None:
        from leads.models.leads import ERASED_NOT_WORKABLE

        return ERASED_NOT_WORKABLE
    if lead.stage in OUTCOME_STAGES:
        return LEAD_FINISHED
    if lead.assigned_agent_id is None:
        return NO_AGENT
    if problem := _stage_problem(plan, lead):
        return problem
    if plan.key_date and any(step.anchor == StepAnchor.KEY_DATE for step in plan.steps.all()):
        if key_date_of(lead, plan.key_date) is None:
            from .scheduling import NO_KEY_DATE

            return NO_PLAN_DATE.format(plan=plan.name, date=KeyDate(plan.key_date).label.lower(),
                                       why=NO_KEY_DATE[KeyDate(plan.key_date)])
    if PlanEnrollment.objects.filter(plan=plan, lead=lead, status__in=OPEN_ENROLLMENT).exists():
        return ALREADY_IN_PLAN.format(plan=plan.name)
    return ""


def lead_enroll(
    *,
    lead: Lead,
    plan: ActionPlan,
    actor: User | None,
    source: EnrollmentSource | str = EnrollmentSource.HAND,
    automation: PlanAutomation | None = None,
    trigger_key: str = "",
    at: datetime | None = None,
) -> PlanEnrollment:
    """Put a lead in a plan; its first step is timed at once. Raises ``ValidationError``
    with the reason when it cannot be (see ``enrollment_refusal``). The caller has checked
    that ``actor`` may see the lead (a view's ``lead_get``, the API's scope)."""
    at = at or timezone.now()
    refusal = enrollment_refusal(lead=lead, plan=plan)
    if refusal:
        raise ValidationError(refusal)
    try:
        with transaction.atomic():
            enrollment = PlanEnrollment(
                plan=plan, lead=lead, source=source, automation=automation, trigger_key=trigger_key[:120],
                enrolled_by=actor, started_at=at, anchor_at=at, active_since=at, plan_version=plan.version,
                key_date=key_date_of(lead, plan.key_date) if plan.key_date else None,
            )
            enrollment.save()
            schedule_next(enrollment, at=at)
    except IntegrityError as error:
        # Two clicks, two automations at once: the partial unique index decided.
        raise ValidationError(ALREADY_IN_PLAN.format(plan=plan.name)) from error
    return enrollment


@dataclass
class BulkEnrollment:
    enrolled: int = 0
    refused: list[tuple[Lead, str]] = field(default_factory=list)

    @property
    def reasons(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for _lead, reason in self.refused:
            counts[reason] = counts.get(reason, 0) + 1
        return counts


def leads_enroll(*, leads, plan: ActionPlan, actor: User, at: datetime | None = None,
                 source: EnrollmentSource | str = EnrollmentSource.BULK) -> BulkEnrollment:
    """Put each of ``leads`` (already scoped to what the actor may see) in the plan; each
    lead not put in is reported with its reason."""
    result = BulkEnrollment()
    for lead in leads:
        try:
            lead_enroll(lead=lead, plan=plan, actor=actor, source=source, at=at)
        except ValidationError as error:
            result.refused.append((lead, " ".join(error.messages)))
        else:
            result.enrolled += 1
    return result


def steps_not_run(enrollment: PlanEnrollment):
    """The plan's steps this lead has not yet run (sent, raised, skipped or cancelled), in
    the plan's order: the first is its next. Matched by the step itself, not its place, so
    an edit that moves, adds or removes steps neither runs a step twice nor passes over one
    still to run."""
    done = PlanStepRun.objects.filter(enrollment=enrollment, status__in=FINAL_RUN, step__isnull=False).values("step_id")
    return enrollment.plan.steps.exclude(pk__in=done).order_by("position", "pk")


def schedule_next(enrollment: PlanEnrollment, *, at: datetime) -> PlanEnrollment:
    """Time the enrollment's next step (``steps_not_run``) from ``at``: steps that will not run (their date
    passed, their window never opens) are recorded as skipped, with why, and passed over.
    No step left: the plan is finished for this lead. Saves the enrollment."""
    plan = enrollment.plan
    lead = Lead.objects.select_related("property", "assigned_agent").get(pk=enrollment.lead_id)
    agent = lead.assigned_agent
    fields = ["last_position", "next_due_at", "next_step", "status", "ended_at", "plan_version", "claimed_at",
              "dispatched_at", "pause_reason", "pause_detail", "paused_at"]
    enrollment.plan_version = plan.version
    enrollment.claimed_at = enrollment.dispatched_at = None
    if agent is None or not agent.is_active:
        _mark_paused(enrollment, reason=PauseReason.NO_AGENT, detail="", at=at, actor=None)
        enrollment.save(update_fields=fields + ["paused_by"])
        return enrollment
    for step in steps_not_run(enrollment):
        timing = step_timing(enrollment=enrollment, step=step, plan=plan, lead=lead, agent=agent, now=at)
        if timing.due_at is not None:
            enrollment.next_due_at, enrollment.next_step = timing.due_at, step
            enrollment.save(update_fields=fields)
            return enrollment
        PlanStepRun.objects.get_or_create(enrollment=enrollment, step=step, defaults={
            "lead_id": enrollment.lead_id, "position": step.position, "kind": step.kind, "title": step_title(step),
            "status": RunStatus.SKIPPED, "due_at": at, "ran_at": at, "reason": "Skipped: " + timing.skip + ".",
            "agent": agent})
        enrollment.last_position = step.position
    enrollment.next_due_at, enrollment.next_step = None, None
    enrollment.status, enrollment.ended_at = EnrollmentStatus.FINISHED, at
    enrollment.save(update_fields=fields)
    return enrollment


def step_title(step: PlanStep) -> str:
    """How the timeline names a step: "Step 2: text", "Step 4: call the homeowner"."""
    what = TaskKind(step.task_kind).label.lower() if step.kind == StepKind.TASK and step.task_kind else \
        StepKind(step.kind).label.lower()
    title = f"Step {step.position + 1}: {what}"
    if step.kind in (StepKind.EMAIL, StepKind.TASK) and step.subject:
        title += f" “{step.subject[:80]}”"
    return title[:200]


def _mark_paused(enrollment: PlanEnrollment, *, reason: str, detail: str, at: datetime, actor: User | None) -> None:
    enrollment.status = EnrollmentStatus.PAUSED
    enrollment.paused_at, enrollment.pause_reason, enrollment.pause_detail = at, reason, detail[:300]
    enrollment.paused_by = actor
    enrollment.next_due_at = None
    enrollment.claimed_at = enrollment.dispatched_at = None


@transaction.atomic
def enrollment_pause(*, enrollment: PlanEnrollment, actor: User | None, reason: PauseReason | str = PauseReason.BY_HAND,
                     detail: str = "", at: datetime | None = None) -> PlanEnrollment:
    """Pause a running plan on a lead: nothing more is sent until someone resumes it."""
    at = at or timezone.now()
    enrollment = PlanEnrollment.objects.select_for_update().get(pk=enrollment.pk)
    if enrollment.status != EnrollmentStatus.ACTIVE:
        raise ValidationError(NOT_ACTIVE)
    _mark_paused(enrollment, reason=reason, detail=detail, at=at, actor=actor)
    enrollment.save(update_fields=["status", "paused_at", "pause_reason", "pause_detail", "paused_by", "next_due_at",
                                   "claimed_at", "dispatched_at"])
    return enrollment


@transaction.atomic
def enrollment_resume(*, enrollment: PlanEnrollment, actor: User, at: datetime | None = None) -> PlanEnrollment:
    """Resume a paused plan: the next step counts its delay from now, steps counted from the
    start move on by the time spent paused, and replies from now on pause it again."""
    at = at or timezone.now()
    enrollment = PlanEnrollment.objects.select_for_update().select_related("plan", "lead").get(pk=enrollment.pk)
    if enrollment.status != EnrollmentStatus.PAUSED:
        raise ValidationError(NOT_PAUSED)
    refusal = _resume_refusal(enrollment)
    if refusal:
        raise ValidationError(refusal)
    if enrollment.paused_at is not None:
        enrollment.anchor_at += max(at - enrollment.paused_at, timedelta(0))
    enrollment.status, enrollment.active_since = EnrollmentStatus.ACTIVE, at
    enrollment.paused_at, enrollment.pause_reason, enrollment.pause_detail, enrollment.paused_by = None, "", "", None
    enrollment.save(update_fields=["status", "anchor_at", "active_since", "paused_at", "pause_reason", "pause_detail",
                                   "paused_by"])
    return schedule_next(enrollment, at=at)


def _resume_refusal(enrollment: PlanEnrollment) -> str:
    lead, plan = enrollment.lead, enrollment.plan
    if plan.deleted_at is not None:
        return PLAN_DELETED
    if lead.stage in OUTCOME_STAGES:
        return LEAD_FINISHED
    if lead.assigned_agent_id is None:
        return NO_AGENT
    return _stage_problem(plan, lead)


def _end(enrollment: PlanEnrollment, *, reason: str, actor: User | None, at: datetime, plan: ActionPlan,
         status: str = EnrollmentStatus.ENDED) -> None:
    """End an enrollment and cancel its remaining steps, each saying why."""
    remaining = list(steps_not_run(enrollment))
    PlanStepRun.objects.bulk_create([
        PlanStepRun(enrollment=enrollment, step=step, lead_id=enrollment.lead_id, position=step.position,
                    kind=step.kind, title=step_title(step), status=RunStatus.CANCELLED, due_at=at, ran_at=at,
                    reason="Cancelled: " + reason)
        for step in remaining
    ], ignore_conflicts=True)
    enrollment.status, enrollment.ended_at, enrollment.end_reason = status, at, reason[:300]
    enrollment.ended_by, enrollment.next_due_at = actor, None
    enrollment.claimed_at = enrollment.dispatched_at = None
    enrollment.save(update_fields=["status", "ended_at", "end_reason", "ended_by", "next_due_at", "claimed_at",
                                   "dispatched_at"])


@transaction.atomic
def enrollment_end(*, enrollment: PlanEnrollment, actor: User | None, reason: str = "",
                   at: datetime | None = None) -> PlanEnrollment:
    """Take a lead out of a plan: its remaining steps are cancelled, saying why."""
    at = at or timezone.now()
    enrollment = PlanEnrollment.objects.select_for_update().select_related("plan").get(pk=enrollment.pk)
    if not enrollment.is_open:
        raise ValidationError(NOT_OPEN)
    reason = reason or ENDED_BY_HAND.format(who=(actor.get_full_name() or actor.username) if actor else "LeadCRM")
    _end(enrollment, reason=reason, actor=actor, at=at, plan=enrollment.plan)
    return enrollment


# What happens to a lead that pauses or narrows its plans ------------------------------------


def lead_responded(*, lead_id: int, reason: PauseReason | str, detail: str = "", at: datetime | None = None) -> int:
    """The homeowner answered (a reply, a conversation, a long call): every running plan of
    the lead that pauses on a response, and started before the answer, pauses. Returns how
    many. Runs in the caller's transaction (the outreach log's)."""
    at = at or timezone.now()
    running = list(PlanEnrollment.objects.select_for_update().filter(
        lead_id=lead_id, status=EnrollmentStatus.ACTIVE, plan__pause_on_response=True, active_since__lt=at))
    for enrollment in running:
        _mark_paused(enrollment, reason=reason, detail=detail, at=at, actor=None)
        enrollment.updated_at = at
    PlanEnrollment.objects.bulk_update(running, ["status", "paused_at", "pause_reason", "pause_detail", "paused_by",
                                                 "next_due_at", "claimed_at", "dispatched_at", "updated_at"])
    return len(running)


def lead_channels_end(*, lead_id: int, channels: list[str], reason: str) -> int:
    """A stop (or a do-not-contact, a deceased or do-not-mail owner) ends the lead's plans'
    steps on those channels: they are skipped from now on, saying why. Returns how many
    enrollments changed."""
    changed = []
    for enrollment in PlanEnrollment.objects.select_for_update().filter(lead_id=lead_id, status__in=OPEN_ENROLLMENT):
        ended = dict(enrollment.ended_channels)
        for channel in channels:
            ended.setdefault(channel, reason[:200])
        if ended != enrollment.ended_channels:
            enrollment.ended_channels = ended
            changed.append(enrollment)
    PlanEnrollment.objects.bulk_update(changed, ["ended_channels"])
    return len(changed)


def lead_stage_moved(*, lead: Lead, at: datetime) -> int:
    """A lead that closed or died leaves its plans; one moved out of a plan's stages pauses
    it (when the plan pauses on a response). Returns how many enrollments changed."""
    changed = 0
    open_ones = PlanEnrollment.objects.select_for_update().select_related("plan").filter(
        lead=lead, status__in=OPEN_ENROLLMENT)
    for enrollment in open_ones:
        if lead.stage in OUTCOME_STAGES:
            _end(enrollment, reason=LEAD_CLOSED_REASON.format(stage=Stage(lead.stage).label), actor=None, at=at,
                 plan=enrollment.plan)
            changed += 1
        elif (enrollment.status == EnrollmentStatus.ACTIVE and enrollment.plan.pause_on_response
              and enrollment.plan.stages and lead.stage not in enrollment.plan.stages):
            _mark_paused(enrollment, reason=PauseReason.STAGE, at=at, actor=None, detail=STAGE_LEFT.format(
                stage=Stage(lead.stage).label, stages=_stage_names(enrollment.plan.stages)))
            enrollment.save(update_fields=["status", "paused_at", "pause_reason", "pause_detail", "paused_by",
                                           "next_due_at", "claimed_at", "dispatched_at"])
            changed += 1
    return changed
