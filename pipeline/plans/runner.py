"""Running a plan's steps: each through the gate at its moment, at most once
(docs/action-plans.md#exactly-once).

Beat runs ``due_work`` every minute: it pauses the plans of homeowners who answered since
the last run, releases claims of workers that died, and hands out the enrollments whose
step is due, in batches; ``steps_run`` runs a batch. Any of them may run twice or on two
workers at once:

1. An enrollment is claimed by one conditional update (``claimed_at``), committed before
   anything else; a second worker's update finds nothing to claim.
2. The step's ``PlanStepRun`` is written ``running`` (unique per enrollment and step).
3. The text or email is logged through ``outreach_log`` (the gate, in its own durable
   transaction), and the run is marked ``sent`` with its attempt in that same transaction;
   a task's follow-up and ``task`` likewise. So a run still ``running`` recorded nothing:
   a worker killed before that commit sent nothing, and the step is taken again once its
   claim is stale. A text is then handed to the provider by ``message_deliver``, which
   claims its own row (pipeline/messaging); an email handed over whose answer never came
   is marked "unknown" and never sent again.
4. The enrollment moves on to its next step and is released.

Before a step runs, the gate is asked without recording anything (``outreach_preview``)
which of the homeowner's numbers or addresses it would allow. Refused only by the clock
(D1, E1, E3: outside the calling hours, a Sunday or a holiday where the state forbids
calls) the step waits for the next lawful moment; refused for anything else it is skipped
with the rules shown. A stop, a do-not-contact, a do-not-mail or every owner deceased ends
the step's channel for the rest of the plan.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from compliance import rules
from compliance.models import Channel, Direction, Verdict
from compliance.services import Decision, outreach_preview
from leadcrm.accounts.hours import when_to_tell
from leadcrm.accounts.models import Brokerage, User
from leads.models import OUTCOME_STAGES, Contact, Email, EmailStatus, Lead, Stage
from pipeline.messaging.services import message_deliver, text_content_findings, text_send
from pipeline.models import (
    FINAL_RUN,
    REACHED_OUTCOMES,
    ActionPlan,
    EnrollmentStatus,
    FollowUp,
    FollowUpKind,
    FollowUpSource,
    Message,
    MessageTemplate,
    OutreachAttempt,
    PauseReason,
    PlanEnrollment,
    PlanStep,
    PlanStepRun,
    RunStatus,
    StepKind,
    TaskKind,
    TemplateKind,
)
from pipeline.outreach.email import (
    NO_POSTAL_ADDRESS,
    EmailResult,
    brokerage_postal_address,
    email_merge,
    email_piece_send,
)
from pipeline.outreach.merge import fields_filled_first
from pipeline.outreach.queue import purpose_for
from pipeline.outreach.scripts import render
from pipeline.outreach.services import OutreachBlocked
from pipeline.reminders.rules import follow_up_timing
from pipeline.reminders.services import lead_refresh_next_follow_up

from . import services
from .scheduling import step_moment, text_phones

logger = logging.getLogger(__name__)

BATCH = 100  # enrollments per task: a few seconds of work, so two workers share a minute's load
CLAIM_STALE_AFTER = timedelta(minutes=10)  # a claim this old was a worker that died
REDISPATCH_AFTER = timedelta(minutes=5)
# Calls the sweep looks at (it runs every minute; a call's last report can come hours after
# it started, so the window is wide).
RESPONSE_LOOKBACK = timedelta(hours=3)
# Refused only by these, a step waits for the next lawful moment instead of being skipped.
CLOCK_RULES = frozenset({rules.CALLING_WINDOW.id, rules.STATE_WINDOW.id, rules.STATE_HOLIDAY.id})
# Refused by this on every number or address it could use, a channel is done for the plan.
STOP_RULES = frozenset({rules.INTERNAL_DNC.id})
CHANNEL_OF = {StepKind.TEXT: Channel.SMS, StepKind.EMAIL: Channel.EMAIL, StepKind.LETTER: Channel.MAIL}
# Tasks that reach the homeowner: a stop of every contact ends them as it ends texts.
HOMEOWNER_TASKS = frozenset({TaskKind.CALL, TaskKind.VISIT})
FOLLOW_UP_KIND = {TaskKind.CALL: FollowUpKind.CALL, TaskKind.VISIT: FollowUpKind.TASK,
                  TaskKind.LENDER: FollowUpKind.LENDER, TaskKind.DOCUMENT: FollowUpKind.DOCUMENT,
                  TaskKind.TASK: FollowUpKind.TASK}

NO_TEXT_NUMBER = "no number to text: no good mobile number of a living owner"
NO_EMAIL_ADDRESS = "no email address: no good address of a living owner"
NO_MAIL_OWNER = "no owner to mail: none with a mailing address who may be mailed"
ALL_DECEASED = "every owner is marked deceased"
CHANNEL_ENDED = "Skipped: {channel} ended for this plan on this lead: {why}"
REFUSED = "Skipped: the compliance gate refused it. {reasons}"
NOT_SENT = "Skipped: {why}."
WAITED_TOO_LONG = "the calling hours did not open within two weeks"
PLAN_FROM = "From the action plan “{plan}”, {step}."
LETTER_TITLE = "Print and mail the letter of “{plan}” ({step})"
PRINT_FROM_LEAD_PAGE = ("Print it from the lead page's Action plans card, mail it, then mark it mailed there: "
                        "marking it mailed logs it through the compliance gate.")
STATUS_LINK_DAYS = 30


@dataclass
class Dispatch:
    batches: list[list[int]] = field(default_factory=list)
    paused: int = 0
    released: int = 0


def due_work(now: datetime | None = None, limit: int = 100_000) -> Dispatch:
    """Every minute: pause on recent answers, release dead workers' claims, and hand out
    the enrollments whose step is due (each not again for five minutes while it waits)."""
    now = now or timezone.now()
    work = Dispatch()
    work.paused = responses_sweep(now)
    work.released = PlanEnrollment.objects.filter(
        status=EnrollmentStatus.ACTIVE, claimed_at__lt=now - CLAIM_STALE_AFTER).update(claimed_at=None,
                                                                                       dispatched_at=None)
    due = list(PlanEnrollment.objects.due(now).filter(
        Q(dispatched_at__isnull=True) | Q(dispatched_at__lt=now - REDISPATCH_AFTER), claimed_at__isnull=True,
    ).order_by("next_due_at").values_list("pk", flat=True)[:limit])
    for start in range(0, len(due), 5000):
        PlanEnrollment.objects.filter(pk__in=due[start:start + 5000]).update(dispatched_at=now)
    work.batches = [due[start:start + BATCH] for start in range(0, len(due), BATCH)]
    return work


# Answers: what pauses a plan -------------------------------------------------------------


@dataclass(frozen=True)
class Response:
    reason: str
    detail: str
    at: datetime


def response_since(*, lead_id: int, plan: ActionPlan, since: datetime) -> Response | None:
    """The homeowner's first answer after ``since`` that pauses ``plan``, or None: a text
    or email in, a conversation logged, or a call of at least the plan's length."""
    attempts = OutreachAttempt.objects.filter(lead_id=lead_id, occurred_at__gt=since, corrections__isnull=True)
    inbound = attempts.filter(direction=Direction.INBOUND).order_by("occurred_at").first()
    talked = attempts.filter(direction=Direction.OUTBOUND, outcome__in=REACHED_OUTCOMES).order_by("occurred_at").first()
    found = []
    if inbound is not None:
        reason = {Channel.SMS: PauseReason.INBOUND_TEXT, Channel.EMAIL: PauseReason.INBOUND_EMAIL}.get(
            inbound.channel, PauseReason.CONVERSATION)
        found.append(Response(reason, inbound.notes[:200], inbound.occurred_at))
    if talked is not None:
        found.append(Response(PauseReason.CONVERSATION, talked.get_outcome_display(), talked.occurred_at))
    if plan.pause_call_seconds:
        call = (Message.objects.filter(lead_id=lead_id, channel=Channel.CALL, created_at__gt=since,
                                       duration_seconds__gte=plan.pause_call_seconds)
                .order_by("created_at").first())
        if call is not None:
            found.append(Response(PauseReason.LONG_CALL, f"{call.duration_seconds // 60} min {call.duration_seconds % 60} s",
                                  call.created_at))
    return min(found, key=lambda response: response.at) if found else None


def responses_sweep(now: datetime) -> int:
    """Pause the running plans of homeowners who stayed on a call long enough: a call's
    length is known only when the provider reports it. Replies and conversations pause
    plans the moment the outreach log records them (pipeline/plans/receivers.py), and the
    runner asks again before any step, so this looks at calls alone (recent outbound
    messages, an indexed range, not the whole log)."""
    since = now - RESPONSE_LOOKBACK
    lead_ids = set(Message.objects.filter(direction=Direction.OUTBOUND, channel=Channel.CALL, created_at__gt=since,
                                          duration_seconds__gt=0, lead__isnull=False)
                   .values_list("lead_id", flat=True))
    paused = 0
    running = (PlanEnrollment.objects.filter(lead_id__in=lead_ids, status=EnrollmentStatus.ACTIVE,
                                             plan__pause_on_response=True).select_related("plan"))
    for enrollment in running:
        response = response_since(lead_id=enrollment.lead_id, plan=enrollment.plan, since=enrollment.active_since)
        if response is not None:
            with transaction.atomic():
                paused += services.lead_responded(lead_id=enrollment.lead_id, reason=response.reason,
                                                  detail=response.detail, at=response.at)
    return paused


# Running -----------------------------------------------------------------------------------


@dataclass
class Outcome:
    status: str  # a RunStatus, or "wait"
    reason: str = ""
    rules: list[str] = field(default_factory=list)
    wait_until: datetime | None = None
    end_channel: str = ""  # the channel this refusal ends for the rest of the plan

    @property
    def channel_reason(self) -> str:
        return self.reason.removeprefix("Skipped: ")


WAIT = "wait"


def steps_run(enrollment_ids: list[int], now: datetime | None = None) -> dict[str, int]:
    """Run the due step of each enrollment of the batch that this worker can claim."""
    counts: dict[str, int] = {}
    for enrollment_id in enrollment_ids:
        try:
            result = step_run(enrollment_id=enrollment_id, now=now)
        except Exception:  # one lead's failure must not stop the batch; its claim goes stale and it is retried
            logger.exception("Action plan step of enrollment %s failed", enrollment_id)
            result = "error"
        counts[result] = counts.get(result, 0) + 1
    return counts


def step_run(*, enrollment_id: int, now: datetime | None = None) -> str:
    """Run one enrollment's due step, if it is still due and nobody else is running it.
    Returns what happened ("sent", "task", "skipped", "wait", "paused", "ended", "finished",
    "rescheduled", or "not due")."""
    now = now or timezone.now()
    claimed = PlanEnrollment.objects.filter(
        Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - CLAIM_STALE_AFTER),
        pk=enrollment_id, status=EnrollmentStatus.ACTIVE, next_due_at__lte=now,
    ).update(claimed_at=now)
    if not claimed:
        return "not due"
    enrollment = PlanEnrollment.objects.select_related("plan", "lead__property", "lead__assigned_agent").get(
        pk=enrollment_id)
    plan, lead = enrollment.plan, enrollment.lead
    stopped = _why_it_stops(enrollment, now)
    if stopped is not None:
        return stopped
    if enrollment.plan_version != plan.version:
        # Edited since this step was timed: time it again under the plan as it is now (the
        # claim is released with it; a step still due goes out on the next dispatch).
        with transaction.atomic():
            services.schedule_next(enrollment, at=now)
        return "rescheduled"
    step = services.steps_not_run(enrollment).first()
    if enrollment.next_step_id is not None and enrollment.next_step_id != getattr(step, "pk", None):
        return _moved_on(enrollment, now)
    if step is None:
        with transaction.atomic():
            services.schedule_next(enrollment, at=now)
        return "finished"
    agent = lead.assigned_agent
    run = PlanStepRun.objects.filter(enrollment=enrollment, step=step).first()
    if run is not None and run.status == RunStatus.RUNNING and run.ran_at > now - CLAIM_STALE_AFTER:
        # Another worker is in the middle of this very step (its claim was cleared under it
        # by a pause and a resume): only a run left running longer than a worker lives is
        # taken again.
        return "busy"
    outcome = None
    if run is None or run.status not in FINAL_RUN:
        try:
            outcome = _run_step(enrollment=enrollment, plan=plan, step=step, lead=lead, agent=agent, now=now,
                                run=run)
        except StepTaken:
            return "busy"
        if outcome.status == WAIT:
            return _wait(enrollment, outcome, now)
        run = _record(enrollment=enrollment, step=step, outcome=outcome, now=now)
    with transaction.atomic():
        locked = PlanEnrollment.objects.select_for_update().select_related("plan").get(pk=enrollment.pk)
        if outcome is not None and outcome.end_channel:
            locked.ended_channels = {**locked.ended_channels, outcome.end_channel: outcome.channel_reason[:200]}
        locked.last_position, locked.last_run_at = max(locked.last_position, step.position), run.ran_at
        locked.save(update_fields=["last_position", "last_run_at", "ended_channels"])
        if locked.status == EnrollmentStatus.ACTIVE:
            services.schedule_next(locked, at=now)
        else:
            PlanEnrollment.objects.filter(pk=locked.pk).update(claimed_at=None, dispatched_at=None)
    return run.status


def _moved_on(enrollment: PlanEnrollment, now: datetime) -> str:
    """The step this enrollment was timed for has run already: its worker died after the
    step's commit and before moving the plan on. Move it on now, counting the next step's
    delay from when that step ran; nothing is sent here."""
    with transaction.atomic():
        locked = PlanEnrollment.objects.select_for_update().select_related("plan").get(pk=enrollment.pk)
        last = (PlanStepRun.objects.filter(enrollment=locked, status__in=FINAL_RUN).order_by("-ran_at", "-pk")
                .first())
        if last is not None:
            locked.last_run_at = max(filter(None, (locked.last_run_at, last.ran_at)))
            locked.last_position = max(locked.last_position, last.position)
            locked.save(update_fields=["last_run_at", "last_position"])
        services.schedule_next(locked, at=now)
    return "rescheduled"


def _why_it_stops(enrollment: PlanEnrollment, now: datetime) -> str | None:
    """End or pause the enrollment instead of running its step, when that is what is due:
    the plan deleted, the lead erased, closed, dead, moved out of the plan's stages, without
    an agent, or the homeowner answered. None when the step may run."""
    plan, lead = enrollment.plan, enrollment.lead
    end_reason = ""
    if plan.deleted_at is not None:
        end_reason = services.PLAN_DELETED
    elif lead.erased_at is not None:
        end_reason = "The lead's personal data was erased."
    elif lead.stage in OUTCOME_STAGES:
        end_reason = services.LEAD_CLOSED_REASON.format(stage=Stage(lead.stage).label)
    if end_reason:
        with transaction.atomic():
            services._end(PlanEnrollment.objects.select_for_update().get(pk=enrollment.pk), reason=end_reason,
                          actor=None, at=now, plan=plan)
        return "ended"
    pause = None
    if plan.pause_on_response:
        response = response_since(lead_id=lead.pk, plan=plan, since=enrollment.active_since)
        if response is not None:
            pause = (response.reason, response.detail)
        elif plan.stages and lead.stage not in plan.stages:
            pause = (PauseReason.STAGE, services.STAGE_LEFT.format(stage=Stage(lead.stage).label,
                                                                   stages=services._stage_names(plan.stages)))
    if pause is None and (lead.assigned_agent is None or not lead.assigned_agent.is_active):
        pause = (PauseReason.NO_AGENT, "")
    if pause is None:
        return None
    with transaction.atomic():
        services.enrollment_pause(enrollment=enrollment, actor=None, reason=pause[0], detail=pause[1], at=now)
    return "paused"


def _wait(enrollment: PlanEnrollment, outcome: Outcome, now: datetime) -> str:
    PlanEnrollment.objects.filter(pk=enrollment.pk, status=EnrollmentStatus.ACTIVE).update(
        next_due_at=outcome.wait_until, claimed_at=None, dispatched_at=None, updated_at=now)
    return WAIT


def _record(*, enrollment: PlanEnrollment, step: PlanStep, outcome: Outcome, now: datetime) -> PlanStepRun:
    """The run as it ended: written by the send's own transaction when something left (the
    row is only read back here), else here (skipped)."""
    run = PlanStepRun.objects.filter(enrollment=enrollment, step=step).first()
    if run is None:  # refused before anything was written
        return PlanStepRun.objects.create(
            enrollment=enrollment, step=step, lead_id=enrollment.lead_id, position=step.position, kind=step.kind,
            title=_title(step, enrollment.lead, enrollment.lead.assigned_agent), status=outcome.status, due_at=enrollment.next_due_at or now, ran_at=now,
            reason=outcome.reason, rules=outcome.rules, agent=enrollment.lead.assigned_agent)
    if run.status in FINAL_RUN:
        return run
    run.status, run.reason, run.rules, run.ran_at = outcome.status, outcome.reason, outcome.rules, now
    run.save(update_fields=["status", "reason", "rules", "ran_at"])
    return run


def _channel_of(step: PlanStep) -> str:
    """The channel a step reaches the homeowner on: a task to call or visit counts as the
    phone (ended by "do not contact me at all" or every owner deceased); other tasks
    (the lender, a document) reach nobody."""
    if step.kind == StepKind.TASK:
        return Channel.CALL if step.task_kind in HOMEOWNER_TASKS else ""
    return CHANNEL_OF.get(StepKind(step.kind), "")


def _run_step(*, enrollment, plan, step, lead, agent, now, run) -> Outcome:
    channel = _channel_of(step)
    if channel and channel in enrollment.ended_channels:
        return Outcome(RunStatus.SKIPPED, CHANNEL_ENDED.format(channel=Channel(channel).label.lower(),
                                                              why=enrollment.ended_channels[channel]))
    if step.kind == StepKind.TEXT:
        return _text(enrollment=enrollment, plan=plan, step=step, lead=lead, agent=agent, now=now, run=run)
    if step.kind == StepKind.EMAIL:
        return _email(enrollment=enrollment, plan=plan, step=step, lead=lead, agent=agent, now=now, run=run)
    if step.kind == StepKind.LETTER:
        return _letter(enrollment=enrollment, plan=plan, step=step, lead=lead, agent=agent, now=now, run=run)
    return _task(enrollment=enrollment, plan=plan, step=step, lead=lead, agent=agent, now=now, run=run)


def _running(*, enrollment, step, lead, agent, now, run) -> PlanStepRun:
    """The step's run, written ``running`` (committed) before anything is sent. A run a dead
    worker left running is taken over (marked as this worker's by its time); one another
    worker has just written means that worker is running the step: ``StepTaken``."""
    if run is not None:
        taken = PlanStepRun.objects.filter(pk=run.pk, status=RunStatus.RUNNING, ran_at=run.ran_at).update(ran_at=now)
        if not taken:
            raise StepTaken
        return run
    try:
        return PlanStepRun.objects.create(enrollment=enrollment, step=step, lead=lead, position=step.position,
                                          kind=step.kind, title=_title(step, lead, agent), status=RunStatus.RUNNING,
                                          due_at=enrollment.next_due_at or now, ran_at=now, agent=agent,
                                          body=step.body)
    except IntegrityError as error:
        raise StepTaken from error


class StepTaken(Exception):
    """Another worker holds this step's run: this one sends nothing."""


def _mark_sent(run_id: int, *, attempt: OutreachAttempt, now: datetime, detail: str) -> None:
    PlanStepRun.objects.filter(pk=run_id).update(status=RunStatus.SENT, attempt=attempt, ran_at=now, reason=detail)


def _refusal(decisions: list[Decision], channel: Channel, *, none_reason: str) -> Outcome:
    """What the gate's refusals of every number or address add up to: a wait when only
    the clock refused (for a number that is otherwise fine), a skip otherwise, ending the
    channel when every one of them is on the internal list."""
    if not decisions:
        return Outcome(RunStatus.SKIPPED, NOT_SENT.format(why=none_reason))
    blocked = [sorted({f.rule for f in decision.findings_with(Verdict.BLOCK)}) for decision in decisions]
    if any(set(ids) <= CLOCK_RULES for ids in blocked):
        return Outcome(WAIT)
    first = decisions[0]
    reasons = " ".join(f"{f.rule}: {f.reason}" for f in first.findings_with(Verdict.BLOCK))
    ids = sorted({rule for rule_ids in blocked for rule in rule_ids})
    outcome = Outcome(RunStatus.SKIPPED, REFUSED.format(reasons=reasons), rules=ids)
    if all(set(rule_ids) & STOP_RULES for rule_ids in blocked):
        outcome.end_channel = channel
    return outcome


def _wait_outcome(*, step, lead, agent, now, phones=None) -> Outcome:
    moment = step_moment(step=step, lead=lead, agent=agent, after=now + timedelta(minutes=1), phones=phones)
    if moment is None:
        return Outcome(RunStatus.SKIPPED, NOT_SENT.format(why=WAITED_TOO_LONG))
    return Outcome(WAIT, wait_until=moment)


def _status_link(*, step: PlanStep, lead: Lead, agent: User, asks_digits: bool) -> dict[str, str]:
    if not any(name.strip().lower() in services.PLAN_FIELDS for name in _fields(step)):
        return {}
    from pipeline.seller.access import seller_link_create, seller_link_url

    token = seller_link_create(lead=lead, actor=agent, days=STATUS_LINK_DAYS, asks_phone_digits=asks_digits)
    return {"status page link": seller_link_url(token)}


def _stand_in_link() -> str:
    from pipeline.seller.access import seller_link_url

    return seller_link_url("x" * 43)  # a token's length (secrets.token_urlsafe(32))


def _fields(step: PlanStep) -> list[str]:
    from pipeline.outreach.scripts import merge_fields_in

    return merge_fields_in(f"{step.subject}\n{step.body}")


def _nobody_to_reach(lead: Lead, channel: Channel, reason: str) -> Outcome:
    """No number or address left to use on ``channel``: skipped, and the channel ended for
    the plan when it is because every owner is deceased."""
    if Contact.objects.filter(lead=lead, deceased=False).exists():
        return Outcome(RunStatus.SKIPPED, NOT_SENT.format(why=reason))
    return Outcome(RunStatus.SKIPPED, NOT_SENT.format(why=ALL_DECEASED), end_channel=channel)


def _first_allowed(points, *, channel: Channel, lead: Lead, agent: User, purpose, now: datetime, words: str):
    """The first of the homeowner's numbers or addresses the gate would allow now (asked
    without recording anything), and its refusals of those before it."""
    decisions = []
    for point in points:
        decision = outreach_preview(lead=lead, contact_point=point, channel=channel, purpose=purpose, actor=agent,
                                    at=now, role_disclosed=True, message=words)
        if decision.allowed:
            return point, decisions
        decisions.append(decision)
    return None, decisions


def _text(*, enrollment, plan, step, lead, agent, now, run) -> Outcome:
    phones = text_phones(lead)
    if not phones:
        return _nobody_to_reach(lead, Channel.SMS, NO_TEXT_NUMBER)
    purpose = purpose_for(agent)
    chosen, decisions = _first_allowed(phones, channel=Channel.SMS, lead=lead, agent=agent, purpose=purpose, now=now,
                                       words=step.body)
    if chosen is None:
        outcome = _refusal(decisions, Channel.SMS, none_reason=NO_TEXT_NUMBER)
        return _wait_outcome(step=step, lead=lead, agent=agent, now=now, phones=phones) if outcome.status == WAIT else outcome
    run = _running(enrollment=enrollment, step=step, lead=lead, agent=agent, now=now, run=run)
    # The words are judged with a stand-in link of the real one's length: a text refused for
    # its words must not replace the link the homeowner already has.
    body = render(fields_filled_first(step.body, {name: _stand_in_link() for name in services.PLAN_FIELDS}),
                  lead=lead, agent=agent, owner=chosen.contact)
    refused = text_content_findings(body=body, agent=agent, lead=lead)
    if refused:
        return Outcome(RunStatus.SKIPPED, REFUSED.format(reasons=" ".join(f"{f.rule}: {f.reason}" for f in refused)),
                       rules=sorted({f.rule for f in refused}))
    filled = _status_link(step=step, lead=lead, agent=agent, asks_digits=True)
    if filled:
        body = render(fields_filled_first(step.body, filled), lead=lead, agent=agent, owner=chosen.contact)
    detail = PLAN_FROM.format(plan=plan.name, step=_lowered(_title(step, lead, agent)))
    try:
        message = text_send(lead=lead, phone=chosen, body=body, actor=agent, role_disclosed=True, purpose=purpose,
                            then=lambda attempt, message: _mark_sent(run.pk, attempt=attempt, now=now, detail=detail))
    except OutreachBlocked as blocked:
        outcome = _refusal([blocked.decision], Channel.SMS, none_reason=NO_TEXT_NUMBER)
        if outcome.status == WAIT:  # the hour turned between the question and the log
            PlanStepRun.objects.filter(pk=run.pk, status=RunStatus.RUNNING).delete()
            return _wait_outcome(step=step, lead=lead, agent=agent, now=now, phones=phones)
        return outcome
    except ValidationError as error:
        return Outcome(RunStatus.SKIPPED, NOT_SENT.format(why=" ".join(error.messages).rstrip(".")))
    _hand_over(message)
    return Outcome(RunStatus.SENT)


def _title(step: PlanStep, lead: Lead, agent: User | None) -> str:
    """The step's name as the timeline and the agent's task read it: its subject's merge
    fields filled for this lead ("Checking in on 12 Oak St", not "[Property Address]")."""
    title = services.step_title(step)
    return render(title, lead=lead, agent=agent)[:200] if agent is not None else title


def _lowered(title: str) -> str:
    """"Step 2: send a text" inside a sentence: its first letter only (a subject keeps its case)."""
    return title[:1].lower() + title[1:]


def _hand_over(message: Message) -> None:
    """Hand the text to the provider now, in the step's own task. Left to its queued task, a
    plan's text waits behind every batch of steps on the same workers, and a text that waits
    too long is not sent at all (docs/messaging.md#sending-a-text). ``message_deliver``
    claims the message first, so the queued task that ``text_send`` also enqueued finds it
    taken and does nothing; if this fails, that task or the sweep hands it over instead."""
    try:
        message_deliver(message_id=message.pk)
    except Exception:  # the text is logged and queued: its own task retries, nothing is lost
        logger.exception("Handing plan text %s to the provider failed; its queued task will retry", message.pk)


def _email(*, enrollment, plan, step, lead, agent, now, run) -> Outcome:
    brokerage = Brokerage.objects.current()
    if brokerage_postal_address(brokerage) is None:
        return Outcome(RunStatus.SKIPPED, NOT_SENT.format(why=NO_POSTAL_ADDRESS.rstrip(".")))
    emails = list(Email.objects.filter(contact__lead=lead, status=EmailStatus.GOOD, contact__deceased=False)
                  .select_related("contact").order_by("contact__position", "contact_id", "position", "pk"))
    if not emails:
        return _nobody_to_reach(lead, Channel.EMAIL, NO_EMAIL_ADDRESS)
    purpose = purpose_for(agent)
    chosen, decisions = _first_allowed(emails, channel=Channel.EMAIL, lead=lead, agent=agent, purpose=purpose, now=now,
                                       words=step.body)
    if chosen is None:
        outcome = _refusal(decisions, Channel.EMAIL, none_reason=NO_EMAIL_ADDRESS)
        return _wait_outcome(step=step, lead=lead, agent=agent, now=now) if outcome.status == WAIT else outcome
    run = _running(enrollment=enrollment, step=step, lead=lead, agent=agent, now=now, run=run)
    filled = _status_link(step=step, lead=lead, agent=agent, asks_digits=False)
    template = MessageTemplate(kind=TemplateKind.EMAIL, name=plan.name, subject=fields_filled_first(step.subject, filled),
                               body=fields_filled_first(step.body, filled))
    merge = email_merge(template=template, leads=Lead.objects.filter(pk=lead.pk), agent=agent)
    piece = next((piece for piece in merge.pieces if piece.email.pk == chosen.pk), None)
    if piece is None:
        return Outcome(RunStatus.SKIPPED, NOT_SENT.format(why=NO_EMAIL_ADDRESS))
    detail = PLAN_FROM.format(plan=plan.name, step=_lowered(_title(step, lead, agent)))
    sent = email_piece_send(
        piece=piece, template=template, agent=agent, base_url=settings.LEADCRM_BASE_URL, brokerage=brokerage,
        then=lambda attempt, message: _mark_sent(run.pk, attempt=attempt, now=now, detail=detail))
    if sent.result == EmailResult.REFUSED:
        return Outcome(RunStatus.SKIPPED, REFUSED.format(reasons=sent.why), rules=list(sent.rules))
    # Sent, or logged and then refused by the service: the run is marked sent with its
    # attempt either way, and the message says what the service answered.
    return Outcome(RunStatus.SENT)


def _letter(*, enrollment, plan, step, lead, agent, now, run) -> Outcome:
    """A letter is printed and mailed by the agent: the gate is asked now for each owner
    (nothing recorded), a follow-up asks the agent to print it, and marking it mailed logs
    it through the gate again (pipeline.plans.letters)."""
    owners = list(Contact.objects.filter(lead=lead).order_by("position", "pk"))
    if owners and all(owner.deceased for owner in owners):
        return Outcome(RunStatus.SKIPPED, NOT_SENT.format(why=ALL_DECEASED), end_channel=Channel.MAIL)
    mailable = [owner for owner in owners if not owner.deceased and owner.mailing_street]
    purpose = purpose_for(agent)
    decisions, allowed = [], []
    for owner in mailable:
        decision = outreach_preview(lead=lead, contact_point=owner, channel=Channel.MAIL, purpose=purpose,
                                    actor=agent, at=now, role_disclosed=True, message=step.body)
        (allowed if decision.allowed else decisions).append(owner if decision.allowed else decision)
    if not allowed:
        return _refusal(decisions, Channel.MAIL, none_reason=NO_MAIL_OWNER)
    run = _running(enrollment=enrollment, step=step, lead=lead, agent=agent, now=now, run=run)
    title = LETTER_TITLE.format(plan=plan.name, step=_lowered(_title(step, lead, agent)))
    notes = f"{lead.property.one_line}\n{PRINT_FROM_LEAD_PAGE}"
    return _follow_up(run=run, lead=lead, agent=agent, kind=FollowUpKind.MAIL, title=title, notes=notes, now=now)


def _task(*, enrollment, plan, step, lead, agent, now, run) -> Outcome:
    if step.task_kind in HOMEOWNER_TASKS and not Contact.objects.filter(lead=lead, deceased=False).exists():
        return Outcome(RunStatus.SKIPPED, NOT_SENT.format(why=ALL_DECEASED), end_channel=Channel.CALL)
    run = _running(enrollment=enrollment, step=step, lead=lead, agent=agent, now=now, run=run)
    kind = FOLLOW_UP_KIND.get(TaskKind(step.task_kind or TaskKind.TASK), FollowUpKind.TASK)
    owner = Contact.objects.filter(lead=lead, deceased=False).order_by("position", "pk").first()
    title = render(step.subject, lead=lead, agent=agent, owner=owner)
    notes = render(step.body, lead=lead, agent=agent, owner=owner) if step.body else ""
    notes = (notes + "\n\n" if notes else "") + PLAN_FROM.format(plan=plan.name, step=_lowered(_title(step, lead, agent)))
    return _follow_up(run=run, lead=lead, agent=agent, kind=kind, title=title, notes=notes, now=now)


def _follow_up(*, run: PlanStepRun, lead: Lead, agent: User, kind: str, title: str, notes: str, now: datetime) -> Outcome:
    """The task's follow-up and the run marked ``task``, in one transaction; a call falls
    due at the homeowner's next lawful calling moment (``follow_up_timing``)."""
    timing = follow_up_timing(lead=lead, assignee=agent, kind=kind, requested=now)
    with transaction.atomic():
        follow_up, _ = FollowUp.objects.get_or_create(source_key=f"plan:{run.pk}", defaults={
            "lead": lead, "assignee": agent, "kind": kind, "source": FollowUpSource.ACTION_PLAN,
            "title": title[:200], "notes": notes, "due_at": timing.due_at, "requested_at": timing.requested_at,
            "notify_at": when_to_tell(agent, timing.due_at), "created_by": None})
        PlanStepRun.objects.filter(pk=run.pk).update(status=RunStatus.TASK, follow_up=follow_up, ran_at=now,
                                                     reason=f"Task for {agent.get_full_name() or agent.username}: {title[:150]}")
        lead_refresh_next_follow_up(lead=lead)
    return Outcome(RunStatus.TASK)
