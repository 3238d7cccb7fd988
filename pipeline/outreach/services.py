"""Writes of the pipeline: the outreach log (through the gate), stage moves, follow-ups."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from compliance.gate import Finding
from compliance.language import RevocationScan, revocation_scan
from compliance.models import Channel, CheckMode, ComplianceCheck, Direction, Purpose, Technology, Verdict
from compliance.services import Decision, outreach_check, revocation_review_raise, stop_request_record
from leadcrm.accounts.models import User
from leadcrm.accounts.services import automation_user
from leadcrm.shared.partitions import earliest_loggable, retention_months
from leads.intake import Added, Intake, lead_create_by_hand
from leads.models import Contact, Email, Lead, Phone, PhoneStatus
from leads.routing import claim_worked
from leads.services import lead_rescore, phone_set_status
from pipeline.models import (
    OUTCOMES_BY_CHANNEL,
    REACHED_OUTCOMES,
    FollowUpKind,
    LeadNote,
    Outcome,
    OutreachAttempt,
)
from pipeline.reminders.services import NAIVE_TIME, follow_up_create
from pipeline.signals import outreach_logged

FUTURE_ATTEMPT = "An attempt cannot be logged in the future."
PAST_RETENTION = ("An attempt cannot be logged before {earliest:%B %Y}: months before that are past the call "
                  "records' retention of {months} months and leave the database (docs/database.md#partitions).")


OUTCOME_NOT_FOR_CHANNEL = "“{outcome}” is not a result of a {channel}."


DNC_WORDS_NEEDED = "Write down what the homeowner said, as close to their words as you can."


OUTCOME_NEEDS_PHONE = "“{outcome}” applies to a phone number; pick the number called."


CORRECTION_OTHER_LEAD = "A correction must be logged on the same lead as the entry it corrects."


REPLY_IS_INBOUND = "A reply comes from the homeowner: log it as inbound."


CHECK_NOT_REUSABLE = ("That call's compliance check cannot carry this entry (another lead, number or caller, "
                      "already logged, or older than {hours} hours): log the call on its own.")
# How long after "Call" was clicked its check may still carry the call's result.
CHECK_REUSE_HOURS = 4


DISCLOSURE_PROMISED = ("Confirm that you told the homeowner who you are and why you called: the call was "
                       "allowed on that (D3).")


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
    revocation: RevocationScan | None = None,
    then: Callable[[OutreachAttempt], None] | None = None,
    check: ComplianceCheck | None = None,
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
    ``revocation``: how the homeowner's words were already read (an inbound text judged by
    pipeline.messaging.keywords), instead of reading them here.

    ``then`` runs with the new attempt inside the same transaction, so what rides on the
    attempt (the provider message of a text about to be sent) exists exactly when it does.

    ``check``: the gate's decision already recorded for this very attempt, a call's when the
    agent clicked "Call" (pipeline.messaging.calls). It is the decision, so the gate is not
    asked again and the call counts once toward the frequency caps (E2). It must be a LOG
    check of this lead, number, channel and caller that did not block, carries no attempt
    yet, and is at most ``CHECK_REUSE_HOURS`` old; the attempt occurred when it was made.
    The disclosure the check was allowed on (D3) must be confirmed, as the gate would ask.
    """
    lead.refuse_if_erased()
    channel, outcome, direction = Channel(channel), Outcome(outcome), Direction(direction)
    now = timezone.now()
    if check is not None and occurred_at is None:
        occurred_at = check.checked_at
    occurred_at = occurred_at or now
    if timezone.is_naive(occurred_at):
        raise ValidationError({"occurred_at": NAIVE_TIME})
    if occurred_at > now:
        raise ValidationError({"occurred_at": FUTURE_ATTEMPT})
    earliest = earliest_loggable(now)
    if occurred_at < earliest:
        raise ValidationError({"occurred_at": PAST_RETENTION.format(
            earliest=earliest, months=min(retention_months().values()))})
    if outcome not in OUTCOMES_BY_CHANNEL[channel]:
        raise ValidationError({"outcome": OUTCOME_NOT_FOR_CHANNEL.format(outcome=outcome.label, channel=channel.label.lower())})
    if outcome in (Outcome.WRONG_NUMBER, Outcome.BAD_NUMBER) and not isinstance(contact_point, Phone):
        raise ValidationError({"outcome": OUTCOME_NEEDS_PHONE.format(outcome=outcome.label)})
    if outcome in STOP_OUTCOMES and not (homeowner_words or notes).strip():
        raise ValidationError({"homeowner_words": DNC_WORDS_NEEDED})
    if outcome == Outcome.REPLIED and direction != Direction.INBOUND:
        raise ValidationError({"outcome": REPLY_IS_INBOUND})
    words = homeowner_words or notes
    said_on = timezone.localdate(occurred_at)  # read with the B4 word lists of the day it was said
    heard = revocation_scan(homeowner_words or (notes if outcome == Outcome.REPLIED else ""),
                            homeowners_own_words=True, on=said_on)
    noted = revocation_scan(notes, homeowners_own_words=False, on=said_on)
    if revocation is not None:
        heard, noted = revocation, RevocationScan()
    stop = outcome in STOP_OUTCOMES or bool(heard.clear or noted.clear)
    unclear = None if stop else (heard.ambiguous or noted.ambiguous)
    if corrects is not None and corrects.lead_id != lead.pk:
        raise ValidationError(CORRECTION_OTHER_LEAD)
    if check is not None and not role_disclosed:
        raise ValidationError({"role_disclosed": DISCLOSURE_PROMISED})

    with transaction.atomic(durable=True):
        _serialise_on(contact_point)
        if check is not None:
            decision = _decision_made(check=check, lead=lead, contact_point=contact_point, channel=channel,
                                      actor=actor, direction=direction, now=now)
        else:
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
            # Only a text the homeowner sent, filed as it came in: recorded by the system, not
            # by the agent whose lead it was filed on.
            texted = revocation is not None and direction == Direction.INBOUND
            stop_request_record(lead=lead, channel=channel, contact_point=contact_point,
                                homeowner_words=words, recorded_by=automation_user() if texted else actor,
                                at=occurred_at, whole_contact=outcome == Outcome.DO_NOT_CONTACT,
                                texted_by_homeowner=texted,
                                # A wrong number's "stop calling" is a stranger's: it covers that
                                # number only, never the homeowner's others (B1).
                                cover_owner=outcome != Outcome.WRONG_NUMBER)
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
            outreach_logged.send(sender=OutreachAttempt, attempt=attempt,
                                 whole_contact=stop and outcome == Outcome.DO_NOT_CONTACT)
            if then is not None:
                then(attempt)
    if not decision.allowed:
        raise OutreachBlocked(decision, stop_recorded=stop)
    return attempt


def _decision_made(*, check: ComplianceCheck, lead: Lead, contact_point, channel: Channel, actor: User,
                   direction: Direction, now: datetime) -> Decision:
    """The decision a check already recorded, if it may carry this attempt (see ``outreach_log``).

    Read again under a row lock, after ``_serialise_on``: two tabs logging the same call's
    result cannot both use it (the attempt's one-to-one on the check would refuse the second
    anyway, as an error instead of this message)."""
    check = ComplianceCheck.objects.select_for_update().filter(pk=check.pk).first()
    number = contact_point.number if isinstance(contact_point, Phone) else None
    if (
        check is None or check.mode != CheckMode.LOG or check.verdict == Verdict.BLOCK
        or check.lead_id != lead.pk or check.channel != channel or check.actor_id != actor.pk
        or check.direction != direction or number is None or check.contact_point != number
        or check.checked_at < now - timedelta(hours=CHECK_REUSE_HOURS)
        or OutreachAttempt.objects.filter(compliance_check=check).exists()
    ):
        raise ValidationError(CHECK_NOT_REUSABLE.format(hours=CHECK_REUSE_HOURS))
    findings = tuple(Finding(f["rule"], Verdict(f["severity"]), f["reason"]) for f in check.findings)
    return Decision(verdict=Verdict(check.verdict), findings=findings, evidence=check.evidence, check=check,
                    channel=Channel(check.channel))


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
    # A homeowner's reply is contact too: the stale-lead reminder must not ask for a call
    # to someone who just wrote back (REACHED_OUTCOMES stays the reports' "talked"). A
    # reply that asks to stop, or may mean it, is no conversation.
    replied = attempt.outcome == Outcome.REPLIED and not (attempt.stop_recorded or attempt.review_raised)
    reached = attempt.outcome in REACHED_OUTCOMES or replied
    if reached and (
        lead.last_contacted_at is None or attempt.occurred_at > lead.last_contacted_at
    ):
        lead.last_contacted_at = attempt.occurred_at
        lead.save(update_fields=["last_contacted_at", "updated_at"])
        lead_rescore(lead=lead)


# Notes ---------------------------------------------------------------------------------

NOTE_EMPTY = "Write the note first."


def lead_note_add(*, lead: Lead, author: User, body: str) -> LeadNote:
    """A note on the lead's timeline (what was said goes in the outreach log, with its check)."""
    lead.refuse_if_erased()
    body = body.strip()
    if not body:
        raise ValidationError({"body": NOTE_EMPTY})
    note = LeadNote(lead=lead, author=author, body=body)
    note.full_clean()
    note.save()
    return note


# Who may add a lead by hand (the New lead page, the API): whoever works leads and records
# their owners.
ADD_LEAD_PERMISSIONS = ("leads.view_lead", "leads.add_contact")


@transaction.atomic
def lead_add_by_hand(*, actor: User, intake: Intake, note: str = "", assigned_agent: User | None = None,
                     route: bool = False) -> Added:
    """The lead (``lead_create_by_hand``) and its first note, both or neither."""
    added = lead_create_by_hand(actor=actor, intake=intake, assigned_agent=assigned_agent, route=route)
    if note.strip():
        lead_note_add(lead=added.lead, author=actor, body=note)
    return added
