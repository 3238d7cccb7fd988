"""Writes of the pipeline: the outreach log (through the gate), stage moves, follow-ups."""

from __future__ import annotations

from datetime import date, datetime

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Min
from django.utils import timezone

from compliance.language import revocation_scan
from compliance.models import Channel, Direction, Purpose, Technology
from compliance.services import Decision, outreach_check, revocation_review_raise, stop_request_record
from leadcrm.accounts.models import User
from leads.models import Contact, DeadReason, Email, Lead, Phone, PhoneStatus, Stage
from leads.routing import claim_worked
from leads.selectors import stage_counts_forget
from leads.services import lead_rescore, phone_set_status

from .models import (
    OUTCOMES_BY_CHANNEL,
    REACHED_OUTCOMES,
    FollowUp,
    FollowUpKind,
    LeadNote,
    Outcome,
    OutreachAttempt,
    StageChange,
)
from .stages import allowed_moves

ALREADY_IN_STAGE = "The lead is already in {stage}."
MOVE_NOT_ALLOWED = "A lead in {source} cannot move to {target}."
DEAD_NEEDS_REASON = "Say why the lead is dead."
CLOSING_IN_FUTURE = "A sale is closed on or before today; set a future closing date on the offer instead."
CLOSING_BEFORE_CLOSE = "The lead entered Close on {day:%b %-d, %Y}; it cannot have closed before that."
FUTURE_ATTEMPT = "An attempt cannot be logged in the future."
NAIVE_TIME = "The time of an attempt must carry its time zone."
OUTCOME_NOT_FOR_CHANNEL = "“{outcome}” is not a result of a {channel}."
DNC_WORDS_NEEDED = "Write down what the homeowner said, as close to their words as you can."
OUTCOME_NEEDS_PHONE = "“{outcome}” applies to a phone number; pick the number called."
CORRECTION_OTHER_LEAD = "A correction must be logged on the same lead as the entry it corrects."
REPLY_IS_INBOUND = "A reply comes from the homeowner: log it as inbound."


# The homeowner asked to stop: this number or address, or (do not contact) all of theirs.
STOP_OUTCOMES = frozenset({Outcome.DNC_REQUEST, Outcome.DO_NOT_CONTACT})

FOLLOW_UP_KIND_BY_CHANNEL = {
    Channel.CALL: FollowUpKind.CALL,
    Channel.SMS: FollowUpKind.TEXT,
    Channel.EMAIL: FollowUpKind.EMAIL,
    Channel.MAIL: FollowUpKind.MAIL,
    Channel.DOOR: FollowUpKind.TASK,
}


class OutreachBlocked(Exception):
    """The gate refused the attempt; nothing was logged but the check (and a stop request)."""

    def __init__(self, decision: Decision, *, stop_recorded: bool = False):
        self.decision = decision
        self.stop_recorded = stop_recorded
        super().__init__(" ".join(decision.reasons))


class StageChangeRefused(ValidationError):
    """The move is not in the transitions table, or the lead does not meet its rules."""


# Outreach ------------------------------------------------------------------------------


def outreach_log(
    *,
    lead: Lead,
    channel: Channel | str,
    contact_point: Phone | Email | Contact | str | None,
    outcome: Outcome | str,
    actor: User,
    role_disclosed: bool,
    purpose: Purpose | str = Purpose.LISTING,
    notes: str = "",
    homeowner_words: str = "",
    occurred_at: datetime | None = None,
    follow_up_at: datetime | None = None,
    follow_up_title: str = "",
    corrects: OutreachAttempt | None = None,
    technology: Technology | str = Technology.MANUAL,
    direction: Direction | str = Direction.OUTBOUND,
) -> OutreachAttempt:
    """Log one outreach attempt; the only code that creates an ``OutreachAttempt``.

    The compliance gate runs first, in the same transaction, and its check row is kept
    whatever it decides: the transaction is durable, so no caller's rollback can take the
    evidence with it. A blocked attempt raises ``OutreachBlocked`` once that row is
    committed. A request to stop is recorded even when the attempt is blocked (B1). The
    outcome's other effects (a wrong number marked, the next follow-up) happen in the
    same step as an allowed attempt.

    What the homeowner said is read for revocation (B4): a clear "stop" in their words,
    a reply, or a clear phrase in the notes puts the contact point on the internal list
    at once; an ambiguous one ("wrong number", "no mas", a typo) goes to review.
    """
    channel, outcome, direction = Channel(channel), Outcome(outcome), Direction(direction)
    now = timezone.now()
    occurred_at = occurred_at or now
    if timezone.is_naive(occurred_at):
        raise ValidationError({"occurred_at": NAIVE_TIME})
    if occurred_at > now:
        raise ValidationError({"occurred_at": FUTURE_ATTEMPT})
    if outcome not in OUTCOMES_BY_CHANNEL[channel]:
        raise ValidationError({"outcome": OUTCOME_NOT_FOR_CHANNEL.format(outcome=outcome.label, channel=channel.label.lower())})
    if outcome in (Outcome.WRONG_NUMBER, Outcome.BAD_NUMBER) and not isinstance(contact_point, Phone):
        raise ValidationError({"outcome": OUTCOME_NEEDS_PHONE.format(outcome=outcome.label)})
    if outcome in STOP_OUTCOMES and not (homeowner_words or notes).strip():
        raise ValidationError({"homeowner_words": DNC_WORDS_NEEDED})
    if outcome == Outcome.REPLIED and direction != Direction.INBOUND:
        raise ValidationError({"outcome": REPLY_IS_INBOUND})
    words = homeowner_words or notes
    heard = revocation_scan(homeowner_words or (notes if outcome == Outcome.REPLIED else ""),
                            homeowners_own_words=True)
    noted = revocation_scan(notes, homeowners_own_words=False)
    stop = outcome in STOP_OUTCOMES or bool(heard.clear or noted.clear)
    unclear = None if stop else (heard.ambiguous or noted.ambiguous)
    if corrects is not None and corrects.lead_id != lead.pk:
        raise ValidationError(CORRECTION_OTHER_LEAD)

    with transaction.atomic(durable=True):
        _serialise_on(contact_point)
        decision = outreach_check(
            lead=lead,
            contact_point=contact_point,
            channel=channel,
            purpose=purpose,
            actor=actor,
            at=occurred_at,
            role_disclosed=role_disclosed,
            message=notes,
            technology=technology,
            direction=direction,
        )
        # Never gated: a homeowner's "stop" is honoured even if the attempt is refused.
        if stop:
            stop_request_record(lead=lead, channel=channel, contact_point=contact_point,
                                homeowner_words=words, recorded_by=actor, at=occurred_at,
                                whole_contact=outcome == Outcome.DO_NOT_CONTACT)
        elif unclear:
            revocation_review_raise(lead=lead, contact_point=contact_point, text=words,
                                    matched=unclear, raised_by=actor, at=occurred_at)
        if decision.allowed:
            attempt = _attempt_create(
                lead=lead, channel=channel, contact_point=contact_point, outcome=outcome,
                actor=actor, role_disclosed=role_disclosed, purpose=purpose, notes=notes,
                occurred_at=occurred_at, decision=decision, corrects=corrects,
                technology=technology, direction=direction,
            )
            attempt.stop_recorded, attempt.review_raised = stop, bool(unclear)
            _apply_outcome(attempt=attempt)
            claim_worked(lead=lead, actor=actor)  # a lead claimed from the pond is now worked
            attempt.follow_up = None
            if follow_up_at is not None:
                attempt.follow_up = follow_up_create(
                    lead=lead,
                    assignee=actor,
                    due_at=follow_up_at,
                    kind=FOLLOW_UP_KIND_BY_CHANNEL[channel],
                    title=follow_up_title or f"Follow up: {attempt.get_outcome_display().lower()}",
                    created_by=actor,
                )
    if not decision.allowed:
        raise OutreachBlocked(decision, stop_recorded=stop)
    return attempt


def _serialise_on(contact_point) -> None:
    """One attempt at a time per number or address, across every worker (E2, B4).

    Without it two agents logging at once would each count the other's attempt as not yet
    made, and both pass a state's cap of 3. The lock is held until the transaction ends,
    so the second check sees the first attempt. PostgreSQL only: SQLite writes one
    transaction at a time anyway.
    """
    if connection.vendor != "postgresql":
        return
    if isinstance(contact_point, Phone):
        key = contact_point.number[-10:]
    elif isinstance(contact_point, Email):
        key = contact_point.address.lower()
    elif isinstance(contact_point, str):
        text = contact_point.strip().lower()
        key = text if "@" in text else "".join(ch for ch in text if ch.isdigit())[-10:]
    else:
        return  # mail and door knocks have no cap to race for
    if key:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"outreach:{key}"])


def _attempt_create(*, lead, channel, contact_point, outcome, actor, role_disclosed, purpose,
                    notes, occurred_at, decision, corrects, technology, direction) -> OutreachAttempt:
    phone = contact_point if isinstance(contact_point, Phone) else None
    email = contact_point if isinstance(contact_point, Email) else None
    contact = (
        contact_point if isinstance(contact_point, Contact)
        else (phone or email).contact if (phone or email) else None
    )
    attempt = OutreachAttempt(
        lead=lead,
        contact=contact,
        phone=phone,
        email=email,
        contact_point=decision.check.contact_point,
        channel=channel,
        purpose=purpose,
        technology=technology,
        direction=direction,
        outcome=outcome,
        notes=notes,
        role_disclosed=role_disclosed,
        agent=actor,
        occurred_at=occurred_at,
        compliance_check=decision.check,
        corrects=corrects,
    )
    attempt.full_clean()
    attempt.save()
    return attempt


def _apply_outcome(*, attempt: OutreachAttempt) -> None:
    lead = attempt.lead
    if attempt.outcome == Outcome.WRONG_NUMBER:
        phone_set_status(phone=attempt.phone, status=PhoneStatus.WRONG_PARTY)
    elif attempt.outcome == Outcome.BAD_NUMBER:
        phone_set_status(phone=attempt.phone, status=PhoneStatus.BAD)
    if attempt.outcome in REACHED_OUTCOMES and (
        lead.last_contacted_at is None or attempt.occurred_at > lead.last_contacted_at
    ):
        lead.last_contacted_at = attempt.occurred_at
        lead.save(update_fields=["last_contacted_at", "updated_at"])
        lead_rescore(lead=lead)


# Stages --------------------------------------------------------------------------------


@transaction.atomic
def lead_stage_change(
    *,
    lead: Lead,
    to_stage: Stage | str,
    actor: User | None,
    note: str = "",
    dead_reason: DeadReason | str = "",
    at: datetime | None = None,
    closing_date: date | None = None,
) -> Lead:
    """Move a lead to another stage if the transitions table allows it; record the move.

    ``closing_date`` is the day a sale closed, given with the move to closed.
    """
    at = at or timezone.now()
    to_stage = Stage(to_stage)
    # Lock the row so two people moving the same lead cannot both pass the rules.
    locked = Lead.objects.select_for_update().get(pk=lead.pk)
    source = Stage(locked.stage)
    if to_stage == source:
        raise StageChangeRefused(ALREADY_IN_STAGE.format(stage=source.label))
    moves = allowed_moves(locked)
    if to_stage not in moves:
        raise StageChangeRefused(MOVE_NOT_ALLOWED.format(source=source.label, target=to_stage.label))
    on = timezone.localdate(at)
    if to_stage == Stage.CLOSED and closing_date is not None:
        entered_close = timezone.localdate(locked.stage_entered_at)
        if closing_date > on:
            raise StageChangeRefused({"closing_date": CLOSING_IN_FUTURE})
        if closing_date < entered_close:
            raise StageChangeRefused({"closing_date": CLOSING_BEFORE_CLOSE.format(day=entered_close)})
        locked.closing_date = closing_date
        on = closing_date  # the approvals must have been good on the day it closed
    unmet = [message for req in moves[to_stage] if (message := req.unmet(locked, on))]
    if unmet:
        raise StageChangeRefused(unmet)
    if to_stage == Stage.DEAD and not dead_reason:
        raise StageChangeRefused({"dead_reason": DEAD_NEEDS_REASON})

    if to_stage in (Stage.CLOSED, Stage.DEAD):
        # Nothing more to do on a lead that closed or died: no more reminders or escalations.
        FollowUp.objects.filter(lead=locked, done_at__isnull=True).update(
            done_at=at, closed_reason=f"The lead moved to {Stage(to_stage).label}.")
        locked.next_follow_up_at = None
        Lead.objects.filter(pk=locked.pk).update(next_follow_up_at=None)
    locked.stage = to_stage
    locked.stage_entered_at = at
    locked.dead_reason = dead_reason if to_stage == Stage.DEAD else ""
    locked.full_clean()
    locked.save(update_fields=["stage", "stage_entered_at", "dead_reason", "closing_date", "updated_at"])
    change = StageChange(
        lead=locked, from_stage=source, to_stage=to_stage, dead_reason=locked.dead_reason,
        note=note, changed_by=actor, changed_at=at,
    )
    change.full_clean()
    change.save()
    agent_id, actor_id = locked.assigned_agent_id, getattr(actor, "pk", None)
    transaction.on_commit(lambda: stage_counts_forget(agent_id, actor_id))
    lead.stage, lead.stage_entered_at, lead.dead_reason, lead.closing_date = (
        locked.stage, locked.stage_entered_at, locked.dead_reason, locked.closing_date
    )
    return lead


# Follow-ups ----------------------------------------------------------------------------


@transaction.atomic
def follow_up_create(
    *,
    lead: Lead,
    assignee: User,
    due_at: datetime,
    title: str,
    kind: FollowUpKind | str = FollowUpKind.CALL,
    notes: str = "",
    created_by: User | None = None,
) -> FollowUp:
    """A follow-up set by hand. A call or text falls due at the first moment the homeowner
    may lawfully be called in all their zones (``requested_at`` keeps what was asked); the
    assignee is told within their own working hours (pipeline/reminders.py)."""
    from .reminders import follow_up_timing

    if timezone.is_naive(due_at):
        raise ValidationError({"due_at": NAIVE_TIME})
    timing = follow_up_timing(lead=lead, assignee=assignee, kind=kind, requested=due_at)
    follow_up = FollowUp(
        lead=lead, assignee=assignee, due_at=timing.due_at, requested_at=timing.requested_at,
        notify_at=timing.notify_at, title=title, kind=kind, notes=notes, created_by=created_by,
    )
    follow_up.full_clean()
    follow_up.save()
    lead_refresh_next_follow_up(lead=lead)
    return follow_up


@transaction.atomic
def follow_up_complete(*, follow_up: FollowUp, at: datetime | None = None) -> FollowUp:
    if follow_up.done_at is None:
        follow_up.done_at = at or timezone.now()
        follow_up.save(update_fields=["done_at"])
        lead_refresh_next_follow_up(lead=follow_up.lead)
    return follow_up


def lead_refresh_next_follow_up(*, lead: Lead) -> Lead:
    """Keep the lead's next follow-up (what lists sort and filter on) in step."""
    due = FollowUp.objects.filter(lead=lead).open().aggregate(due=Min("due_at"))["due"]
    if due != lead.next_follow_up_at:
        lead.next_follow_up_at = due
        lead.save(update_fields=["next_follow_up_at", "updated_at"])
    return lead


# Notes ---------------------------------------------------------------------------------

NOTE_EMPTY = "Write the note first."


def lead_note_add(*, lead: Lead, author: User, body: str) -> LeadNote:
    """A note on the lead's timeline (what was said goes in the outreach log, with its check)."""
    body = body.strip()
    if not body:
        raise ValidationError({"body": NOTE_EMPTY})
    note = LeadNote(lead=lead, author=author, body=body)
    note.full_clean()
    note.save()
    return note
