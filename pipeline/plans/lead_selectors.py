"""What the lead page's "Action plans" card shows: each plan the lead is in, its steps
done, skipped, next and later, and the plans it could be put in.

A handful of queries whatever the number of plans and runs: the enrollments, their runs,
the steps still to come, the plans the user may start, and (only when a step is due) the
homeowner's time zones, read once for the whole card.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone

from compliance.gate import homeowner_zones
from leadcrm.accounts.models import User
from leadcrm.accounts.roles import Perm
from leadcrm.shared.rows import short_moment
from leads.models import Lead, Phone
from pipeline.models import (
    OPEN_ENROLLMENT,
    ActionPlan,
    EnrollmentStatus,
    PauseReason,
    PlanEnrollment,
    PlanStep,
    PlanStepRun,
    RunStatus,
    StepKind,
)
from pipeline.plans.services import step_title

# How a pause reads on the card, after "Paused: " (``{detail}`` is what the homeowner said,
# the outcome logged, the call's length, the stage sentence).
PAUSED_BECAUSE = {
    PauseReason.INBOUND_TEXT: "the homeowner texted back “{detail}”",
    PauseReason.INBOUND_EMAIL: "the homeowner emailed back “{detail}”",
    PauseReason.CONVERSATION: "a conversation was logged ({detail})",
    PauseReason.LONG_CALL: "a call of {detail}",
    PauseReason.STAGE: "{detail}",
    PauseReason.BY_HAND: "paused by {who}",
    PauseReason.NO_AGENT: "nobody to send as: the lead has no agent",
}
CHANNEL_NAMES = {"sms": "Texts", "email": "Emails", "mail": "Letters", "call": "Calls and visits"}

# A row's state: what the step list's badge says.
DONE, SKIPPED, CANCELLED, RUNNING, NEXT, LATER = "done", "skipped", "cancelled", "running", "next", "later"


@dataclass
class StepRow:
    number: int
    title: str
    state: str
    kind: str
    detail: str = ""
    when: datetime | None = None
    rules: list[str] = field(default_factory=list)
    run: PlanStepRun | None = None
    homeowner_when: list[str] = field(default_factory=list)  # "9:00 AM Central"

    @property
    def is_letter_to_mail(self) -> bool:
        return self.run is not None and self.run.kind == StepKind.LETTER and self.run.status == RunStatus.TASK

    @property
    def letter_mailed(self) -> bool:
        run = self.run
        return bool(run and (run.attempt_id or (run.follow_up_id and run.follow_up.done_at)))


@dataclass
class EnrollmentCard:
    enrollment: PlanEnrollment
    rows: list[StepRow]
    paused_because: str = ""
    ended_channels: list[tuple[str, str]] = field(default_factory=list)

    @property
    def plan(self) -> ActionPlan:
        return self.enrollment.plan

    @property
    def pause_words(self) -> str:
        """What paused it, after the card's "Paused" badge."""
        return self.paused_because.removeprefix("Paused: ")

    @property
    def next_row(self) -> StepRow | None:
        return next((row for row in self.rows if row.state == NEXT), None)

    @property
    def steps_left(self) -> int:
        return sum(1 for row in self.rows if row.state in (NEXT, LATER))

    @property
    def done_count(self) -> int:
        return sum(1 for row in self.rows if row.state == DONE)


@dataclass
class LeadPlansCard:
    open: list[EnrollmentCard]
    closed: list[PlanEnrollment]
    usable: list[ActionPlan]
    can_use: bool
    homeowner_zones: list[str] = field(default_factory=list)

    @property
    def summary(self) -> str:
        running = sum(1 for card in self.open if card.enrollment.status == EnrollmentStatus.ACTIVE)
        paused = len(self.open) - running
        parts = [f"{running} running"] if running else []
        parts += [f"{paused} paused"] if paused else []
        return ", ".join(parts) or "none running"


def paused_because(enrollment: PlanEnrollment) -> str:
    """"Paused: the homeowner texted back “Maybe later” · Dec 2, 3:14 PM"."""
    who = enrollment.paused_by.get_full_name() or enrollment.paused_by.username if enrollment.paused_by else "someone"
    words = PAUSED_BECAUSE.get(enrollment.pause_reason, "{detail}").format(
        detail=enrollment.pause_detail or "", who=who).strip()
    words = words.replace(" “”", "").replace(" ()", "")
    text = "Paused: " + (words[:1].lower() + words[1:] if words else "paused")
    if enrollment.paused_at:
        text += f" · {short_moment(enrollment.paused_at)}"
    return text


def _zone_label(zone: str) -> str:
    """A zone as the agent says it: ``America/Chicago`` -> ``Central``."""
    now = timezone.now().astimezone(zoneinfo.ZoneInfo(zone))
    names = {"CST": "Central", "CDT": "Central", "EST": "Eastern", "EDT": "Eastern", "MST": "Mountain",
             "MDT": "Mountain", "PST": "Pacific", "PDT": "Pacific", "AKST": "Alaska", "AKDT": "Alaska",
             "HST": "Hawaii"}
    abbreviation = now.tzname() or ""
    return names.get(abbreviation, zone.split("/", 1)[-1].replace("_", " "))


def _clock(moment: datetime, zone: str) -> str:
    local = moment.astimezone(zoneinfo.ZoneInfo(zone))
    return f"{local.hour % 12 or 12}:{local.minute:02d} {'AM' if local.hour < 12 else 'PM'}"


def _run_row(run: PlanStepRun) -> StepRow:
    title = run.title or (step_title(run.step) if run.step else "")
    number = run.position + 1
    title = _without_step_number(title, number)
    if run.kind == StepKind.TASK and run.follow_up is not None:
        title = run.follow_up.title  # its merge fields filled ("Call Maria", not "Call [First Name]")
    if run.status in (RunStatus.SENT, RunStatus.TASK):
        if run.status == RunStatus.SENT:
            detail = "Sent"
        elif run.kind == StepKind.LETTER:
            detail = "Letter to print and mail"
        else:
            detail = "Task created"
        return StepRow(number, title, DONE, run.kind, detail=detail, when=run.ran_at, run=run)
    if run.status == RunStatus.SKIPPED:
        return StepRow(number, title, SKIPPED, run.kind, detail=run.reason.removeprefix("Skipped: "),
                       when=run.ran_at, rules=list(run.rules or []), run=run)
    if run.status == RunStatus.CANCELLED:
        return StepRow(number, title, CANCELLED, run.kind, detail=run.reason.removeprefix("Cancelled: "),
                       when=run.ran_at, run=run)
    return StepRow(number, title, RUNNING, run.kind, detail="Going out now", when=run.ran_at, run=run)


def _without_step_number(title: str, number: int) -> str:
    """"Step 2: send a text" -> "Send a text" (the card numbers the rows itself)."""
    prefix = f"Step {number}: "
    title = title.removeprefix(prefix)
    return title[:1].upper() + title[1:]


def _card(enrollment: PlanEnrollment, runs: list[PlanStepRun], steps: list[PlanStep], fill=None) -> EnrollmentCard:
    rows = [_run_row(run) for run in sorted(runs, key=lambda run: (run.position, run.ran_at, run.pk))]
    ran = {run.step_id for run in runs if run.step_id}
    pending = [step for step in steps if step.pk not in ran]  # as services.steps_not_run
    for index, step in enumerate(pending):
        title = _without_step_number(fill(step_title(step)) if fill else step_title(step), step.position + 1)
        if index == 0 and enrollment.status == EnrollmentStatus.ACTIVE and enrollment.next_due_at:
            rows.append(StepRow(step.position + 1, title, NEXT, step.kind, when=enrollment.next_due_at))
        else:
            rows.append(StepRow(step.position + 1, title, LATER, step.kind, detail=step.delay_words))
    ended = [(CHANNEL_NAMES.get(channel, channel), why) for channel, why in (enrollment.ended_channels or {}).items()]
    return EnrollmentCard(enrollment=enrollment, rows=rows, ended_channels=ended,
                          paused_because=paused_because(enrollment)
                          if enrollment.status == EnrollmentStatus.PAUSED else "")


def _filler(lead: Lead):
    """A step's name with its merge fields filled for this lead, as its run will name it
    (pipeline/plans/runner.py), the owner and the brokerage read once for the whole card."""
    from leadcrm.accounts.models import Brokerage
    from leads.models import Contact
    from pipeline.outreach.scripts import render

    agent = lead.assigned_agent
    if agent is None:
        return None
    owner = Contact.objects.filter(lead=lead, deceased=False).order_by("position", "pk").first()
    brokerage = Brokerage.objects.current()
    return lambda title: render(title, lead=lead, agent=agent, owner=owner, brokerage=brokerage)


def lead_plans_card(*, lead: Lead, user: User, phones: list[Phone] | None = None,
                    now: datetime | None = None) -> LeadPlansCard:
    """The lead's plans as the card shows them. ``phones``: the lead's numbers when the
    caller has them (the lead page), for the homeowner's time zones."""
    now = now or timezone.now()
    enrollments = list(PlanEnrollment.objects.filter(lead=lead)
                       .select_related("plan", "paused_by", "ended_by", "enrolled_by", "automation")
                       .order_by("-started_at", "-pk"))
    open_ones = [e for e in enrollments if e.status in OPEN_ENROLLMENT]
    closed = [e for e in enrollments if e.status not in OPEN_ENROLLMENT]
    cards = []
    runs = list(PlanStepRun.objects.filter(lead=lead).select_related("step", "follow_up")) if enrollments else []
    # A finished or stopped plan may still leave a letter to print and mail.
    for enrollment in closed:
        enrollment.letters_waiting = [row for row in (_run_row(run) for run in runs
                                                      if run.enrollment_id == enrollment.pk)
                                      if row.is_letter_to_mail and not row.letter_mailed]
    if open_ones:
        steps = list(PlanStep.objects.filter(plan__in={e.plan_id for e in open_ones}).order_by("position", "pk"))
        fill = _filler(lead) if any("[" in step.subject for step in steps) else None
        for enrollment in open_ones:
            cards.append(_card(enrollment, [r for r in runs if r.enrollment_id == enrollment.pk],
                               [s for s in steps if s.plan_id == enrollment.plan_id], fill))
    zones: list[str] = []
    due = [row for card in cards for row in card.rows if row.state == NEXT]
    if due:
        if phones is None:
            phones = list(Phone.objects.filter(contact__lead=lead))
        zones = sorted(homeowner_zones(lead=lead, phones=phones, actor=user, at=now))
        for row in due:
            row.homeowner_when = [f"{_clock(row.when, zone)} {_zone_label(zone)}" for zone in zones]
    can_use = user.has_perm(Perm.USE_PLANS)
    # A plan the lead is in already is not offered again (a lead is in a plan once at a time).
    usable = [plan for plan in ActionPlan.objects.usable_by(user).order_by("name", "pk")
              if plan.pk not in {e.plan_id for e in open_ones}] if can_use else []
    return LeadPlansCard(open=cards, closed=closed, usable=usable, can_use=can_use, homeowner_zones=zones)
