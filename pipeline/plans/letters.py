"""A plan's letter step: printed from the lead page, then marked mailed.

The runner asks the gate about each owner when the step comes up and leaves the agent a
follow-up to print the letter (``pipeline.plans.runner._letter``); nothing is logged yet,
because nothing has left the office. The letter is laid out as the mail merge lays one
out (``pipeline.outreach.letters``: one per mailing address, the owners there named
together, signed with the agent's role in writing). Marking it mailed logs each letter
through the gate again, as it stands that day, once: a second click, a reload or two tabs
log nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.core.exceptions import ValidationError
from django.utils import timezone

from compliance.models import Channel, Verdict
from leadcrm.accounts.models import User
from leadcrm.shared.locks import session_lock
from leads.models import Lead
from pipeline.models import (
    MessageTemplate,
    Outcome,
    OutreachAttempt,
    PlanStepRun,
    RunStatus,
    StepKind,
    TemplateKind,
)
from pipeline.outreach.letters import mail_merge
from pipeline.outreach.merge import Merge, Piece
from pipeline.outreach.queue import purpose_for
from pipeline.outreach.services import OutreachBlocked, outreach_log
from pipeline.reminders.services import follow_up_complete

NOT_A_LETTER = "That step is not a letter waiting to be mailed."
STEP_GONE = "The plan's letter step was deleted since: there is nothing left to print."
MAILED_NOTES = "Mailed: the letter of the action plan “{plan}” ({step})"


@dataclass
class LetterMailing:
    """What marking a plan's letter mailed did: letters logged now, letters logged by an
    earlier click, and those refused (the owners' names, the reason, the rule IDs)."""

    logged: int = 0
    already: int = 0
    refused: list[tuple[str, str, list[str]]] = field(default_factory=list)

    @property
    def mailed(self) -> bool:
        return bool(self.logged or self.already)


def letter_author(run: PlanStepRun) -> User | None:
    """Who the letter is from: the agent the plan wrote as when the step came up."""
    return run.agent or run.lead.assigned_agent


def letter_template(run: PlanStepRun) -> MessageTemplate:
    """The letter's words as they were when the step ran (kept on the run, so an edit of the
    plan since does not change what is printed), as an unsaved letter template (the mail
    merge's input). A run from before the words were kept falls back to its step's."""
    if run.kind != StepKind.LETTER or run.status != RunStatus.TASK:
        raise ValidationError(NOT_A_LETTER)
    body = run.body or (run.step.body if run.step is not None else "")
    if not body:
        raise ValidationError(STEP_GONE)
    return MessageTemplate(kind=TemplateKind.LETTER, name=run.enrollment.plan.name, body=body)


def plan_letter(*, run: PlanStepRun, gate: bool = True) -> Merge:
    """The run's letters as they print, one per mailing address of the lead. ``gate``: ask
    the gate about each owner (nothing recorded) and leave out those it refuses."""
    template = letter_template(run)
    author = letter_author(run)
    return mail_merge(template=template, leads=Lead.objects.filter(pk=run.lead_id), agent=author, gate=gate)


def _notes(run: PlanStepRun, piece: Piece) -> str:
    notes = MAILED_NOTES.format(plan=run.enrollment.plan.name, step=run.title[:1].lower() + run.title[1:])
    return notes + (f"\nTo: {piece.names}" if len(piece.owners) > 1 else "")


def _logged_before(run: PlanStepRun, piece: Piece, notes: str) -> bool:
    """The letter to this address was logged for this run already (by any user): its
    notes name the plan and the step, since the lead was put in the plan (a lead put in
    the same plan again later mails its letters again)."""
    first_line = notes.split("\n", 1)[0]
    found = OutreachAttempt.objects.filter(
        lead_id=run.lead_id, channel=Channel.MAIL, contact=piece.owner, occurred_at__gte=run.enrollment.started_at,
    ).values_list("notes", flat=True)
    return any(text == first_line or text.startswith(first_line + "\n") for text in found)


def _one_at_a_time(run: PlanStepRun):
    """Two clicks at once take turns, so the second reads what the first logged (each letter
    is logged in a durable transaction of its own)."""
    return session_lock(f"plan-letter:{run.pk}")


def plan_letter_mailed(*, run: PlanStepRun, actor: User, at: datetime | None = None) -> LetterMailing:
    """Log the run's letters as mailed, each through the gate, once; then the follow-up
    that asked for them is done. An owner marked Do Not Mail or deceased since, or one the
    gate refuses now, is not logged and the refusal says why (with its rules). Nothing
    logged and nothing logged before: the follow-up stays open."""
    at = at or timezone.now()
    run = PlanStepRun.objects.select_related("enrollment__plan", "step", "follow_up", "agent",
                                             "lead__assigned_agent").get(pk=run.pk)
    result = LetterMailing()
    with _one_at_a_time(run):
        merge = plan_letter(run=run, gate=False)
        for _lead, owner, reason in merge.left_out:
            result.refused.append((owner.display_name if owner else "", reason, []))
        for piece in merge.pieces:
            notes = _notes(run, piece)
            if _logged_before(run, piece, notes):
                result.already += 1
                continue
            try:
                outreach_log(
                    lead=piece.lead, channel=Channel.MAIL, contact_point=piece.owner, outcome=Outcome.SENT,
                    actor=actor, role_disclosed=True, purpose=purpose_for(actor), notes=notes, occurred_at=at,
                    # The run keeps its first letter's attempt: what the lead page reads as "mailed".
                    then=lambda attempt: PlanStepRun.objects.filter(pk=run.pk, attempt__isnull=True)
                    .update(attempt=attempt))
            except OutreachBlocked as blocked:
                findings = blocked.decision.findings_with(Verdict.BLOCK)
                result.refused.append((piece.names, " ".join(f.reason for f in findings) or
                                       " ".join(blocked.decision.reasons), sorted({f.rule for f in findings})))
                continue
            result.logged += 1
    if result.mailed and run.follow_up is not None:
        follow_up_complete(follow_up=run.follow_up, at=at)
    return result
