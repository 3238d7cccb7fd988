"""Follow-ups from deadlines and cadences, and when people are told.

Where follow-ups come from, beside the ones agents set by hand:

- the lender cadence: each lender file is chased 3 days after its package went in, then a
  week after each chase, until the lender approves or denies (docs/short-sales.md);
- a BPO or appraisal ordered and not reported done after the brokerage's number of days;
- a new negotiator on a file: introduce yourself and check they hold the whole package;
- an auction ahead: 30, 14, 7 and 2 days before it;
- an approval letter's closing deadline: 7 and 2 days before it;
- documents going stale: bank statements and pay stubs at 30 days, a 4506-C ten days
  before its 120 (docs/short-sales.md);
- a lead nobody has talked to for the brokerage's number of days in its stage.

``follow_ups_generate`` runs them all; it is safe to run at any time and any number of
times at once: each follow-up names the event it is for in a unique ``source_key``, so a
second run inserts nothing. Follow-ups whose reason went away (the auction moved, the lender
decided, the document was refreshed, the homeowner was reached) are closed with the reason.

Times: a deadline falls at the start of the assignee's last working day on or before it; a
call falls due at the first moment the homeowner may lawfully be called in all their zones
(``compliance.gate.calling_hours_open_at``); the assignee is told at the first moment of
their own working hours at or after it (``when_to_tell``).
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import transaction
from django.db.models import Exists, F, Max, OuterRef, Q, Subquery
from django.utils import timezone

from compliance.gate import calling_hours_open_at
from leadcrm.accounts.hours import deadline_moment, user_zone, when_to_tell
from leadcrm.accounts.models import Team, User
from leads.models import ForeclosureRecord, Lead, Phone, PhoneStatus, Stage
from pipeline.models import (
    DOCUMENT_IN_HAND,
    ApprovalLetter,
    ChecklistItem,
    DocumentKind,
    FollowUp,
    FollowUpKind,
    FollowUpSource,
    LenderFile,
    LenderMilestone,
    Milestone,
    Negotiator,
    ReminderSettings,
)

AUCTION_LEADS = (30, 14, 7, 2)  # days before an auction
APPROVAL_LEADS = (7, 2)  # days before an approval letter's closing deadline
FIRST_CHASE_DAYS, CHASE_EVERY_DAYS = 3, 7  # the lender cadence (docs/short-sales.md)
# Documents that go stale, and how many days before their expiry the agent must act.
STALE_DOCUMENTS = {DocumentKind.BANK_STATEMENTS: 0, DocumentKind.PAY_STUBS: 0, DocumentKind.FORM_4506C: 10}
DOCUMENT_STAGES = (Stage.QUALIFY, Stage.NEGOTIATE, Stage.CLOSE)
# Deadline follow-ups are written this many days ahead, so they are on calendars and
# agendas a week before they fall due, and a run never writes a lead's whole future.
DEADLINE_HORIZON_DAYS = 7
STALE_PER_RUN = 5000  # per stage and run: a first run on a big book does not flood anyone at once
NEGOTIATOR_RECENT_DAYS = 14  # a negotiator recorded longer ago than this is not news
# "Today" for the rules: a date has passed only once it has passed everywhere in the US,
# so an auction is not taken for over on the evening of its day in California.
LAST_US_ZONE = zoneinfo.ZoneInfo("Pacific/Honolulu")


def _today(now: datetime) -> date:
    return timezone.localdate(now, LAST_US_ZONE)


def callable_phones(lead: Lead) -> list[Phone]:
    """The numbers a call follow-up may use: good ones of living owners."""
    return list(Phone.objects.filter(contact__lead=lead, status=PhoneStatus.GOOD, contact__deceased=False)
                .select_related("contact"))


@dataclass(frozen=True)
class FollowUpTiming:
    due_at: datetime
    notify_at: datetime
    requested_at: datetime | None = None  # set when the calling hours moved the due time


def follow_up_timing(*, lead: Lead, assignee: User, kind: str, requested: datetime) -> FollowUpTiming:
    """When a follow-up falls due and when its assignee hears of it.

    A call or text to the homeowner falls due at the first moment every calling window of
    every one of their zones is open (D1, E1, E3, G2): "call back Tuesday at 7" set by an
    agent in Kansas for a homeowner in Oregon becomes Tuesday 8:00 Pacific.
    """
    due, moved_from = requested, None
    if kind in (FollowUpKind.CALL, FollowUpKind.TEXT):
        lawful = calling_hours_open_at(lead=lead, phones=callable_phones(lead), after=requested, actor=assignee)
        if lawful is not None and lawful != requested:
            due, moved_from = lawful, requested
    return FollowUpTiming(due_at=due, notify_at=when_to_tell(assignee, due), requested_at=moved_from)


# Sources -------------------------------------------------------------------------------


@dataclass
class Generated:
    created: int = 0
    closed: int = 0


def _assignees(leads) -> dict[int, User]:
    """Who a rule's follow-up goes to: the lead's agent, else its team's lead; by lead id."""
    leads = list(leads)
    team_ids = {lead.team_id for lead in leads if lead.assigned_agent_id is None and lead.team_id}
    team_leads = {team.pk: team.lead for team in Team.objects.filter(pk__in=team_ids).select_related("lead")}
    found = {}
    for lead in leads:
        user = lead.assigned_agent if lead.assigned_agent_id else team_leads.get(lead.team_id)
        if user is not None and user.is_active:
            found[lead.pk] = user
    return found


def _leads(ids) -> dict[int, Lead]:
    return {lead.pk: lead for lead in Lead.objects.filter(pk__in=set(ids)).open()
            .select_related("assigned_agent", "property")}


def _write(candidates: list[FollowUp]) -> int:
    """Insert the follow-ups whose keys are new; a concurrent run's inserts are skipped."""
    if not candidates:
        return 0
    keys = [c.source_key for c in candidates]
    held = set()
    for start in range(0, len(keys), 5000):
        held.update(FollowUp.objects.filter(source_key__in=keys[start:start + 5000]).values_list("source_key", flat=True))
    fresh = [c for c in candidates if c.source_key not in held]
    for candidate in fresh:
        candidate.notify_at = candidate.notify_at or candidate.due_at
    FollowUp.objects.bulk_create(fresh, batch_size=2000, ignore_conflicts=True)
    _refresh_next(lead_id for lead_id in {c.lead_id for c in fresh})
    return len(fresh)


def _close(queryset, reason: str, now: datetime) -> int:
    lead_ids = set(queryset.values_list("lead_id", flat=True))
    closed = queryset.filter(done_at__isnull=True).update(done_at=now, closed_reason=reason, updated_at=now)
    _refresh_next(lead_ids)
    return closed


def _refresh_next(lead_ids) -> None:
    """Keep each lead's next follow-up time (what lists sort on) in step, in one statement."""
    ids = list(lead_ids)
    for start in range(0, len(ids), 5000):
        chunk = ids[start:start + 5000]
        Lead.objects.filter(pk__in=chunk).update(next_follow_up_at=Subquery(
            FollowUp.objects.filter(lead=OuterRef("pk"), done_at__isnull=True).order_by("due_at").values("due_at")[:1]
        ), updated_at=timezone.now())


def _deadline(*, lead: Lead, user: User, source: str, key: str, day: date, title: str,
              kind: str = FollowUpKind.DEADLINE, notes: str = "") -> FollowUp:
    # A date already past (a file submitted before reminders existed, a run missed) is
    # raised for today; the agent is told within their hours, never at 22:00 because the
    # run happened then (and escalation counts from when they were told).
    now = timezone.now()
    due = deadline_moment(user, max(day, timezone.localdate(now, user_zone(user))))
    return FollowUp(lead=lead, assignee=user, kind=kind, source=source, source_key=key, title=title[:200],
                    notes=notes, due_at=due, notify_at=when_to_tell(user, max(due, now)))


def lender_chases(now: datetime) -> Generated:
    """Chase each lender file 3 days after submission, then a week after each chase, until
    the lender approves or denies; a decision closes the chase still open. Steps struck
    out by a correction count for nothing: a submission struck out ends its chase."""
    result = Generated()
    submitted = dict(LenderMilestone.objects.in_force().filter(
        kind=Milestone.PACKAGE_SUBMITTED, lender_file__lead__stage__in=[Stage.QUALIFY, Stage.NEGOTIATE, Stage.CLOSE],
    ).order_by().values_list("lender_file").annotate(on=Max("occurred_on")).values_list("lender_file", "on"))
    decided = {file_id for file_id, on in LenderMilestone.objects.in_force().filter(
        lender_file__in=list(submitted), kind__in=[Milestone.APPROVED, Milestone.DENIED],
    ).values_list("lender_file", "occurred_on") if on >= submitted[file_id]}
    chasing, last_chase = set(), {}
    for key, done_at in FollowUp.objects.filter(source=FollowUpSource.LENDER_CHASE,
                                                lead__lender_files__in=list(submitted)).values_list("source_key", "done_at"):
        file_id = int(key.split(":")[1])
        if done_at is None:
            chasing.add(file_id)
        elif file_id not in last_chase or done_at > last_chase[file_id]:
            last_chase[file_id] = done_at
    wanted = [file_id for file_id in submitted if file_id not in decided and file_id not in chasing]
    files = list(LenderFile.objects.filter(pk__in=wanted).select_related("lien"))
    for lender_file in files:
        lender_file.submitted_on, lender_file.last_chase = submitted[lender_file.pk], last_chase.get(lender_file.pk)
    leads = _leads(f.lead_id for f in files)
    users = _assignees(leads.values())
    candidates = []
    for lender_file in files:
        lead, user = leads.get(lender_file.lead_id), users.get(lender_file.lead_id)
        if lead is None or user is None:
            continue
        day = lender_file.submitted_on + timedelta(days=FIRST_CHASE_DAYS)
        if lender_file.last_chase is not None:
            day = max(day, timezone.localdate(lender_file.last_chase, user_zone(user)) + timedelta(days=CHASE_EVERY_DAYS))
        servicer = lender_file.servicer or lender_file.lien.lender or "the lender"
        candidates.append(_deadline(
            lead=lead, user=user, source=FollowUpSource.LENDER_CHASE, kind=FollowUpKind.LENDER,
            key=f"lender_chase:{lender_file.pk}:{day.isoformat()}", day=day,
            title=f"Chase {servicer} on the short-sale file (lien {lender_file.lien.position})",
            notes="Ask for the file's status, the negotiator's name and what is missing. Record any step on the Lien stack tab.",
        ))
    result.created = _write(candidates)
    # A decision (or the lead leaving the pipeline, or its submission struck out) ends the
    # chase still open.
    open_chases = list(FollowUp.objects.filter(source=FollowUpSource.LENDER_CHASE, done_at__isnull=True)
                       .values_list("pk", "source_key", "created_at"))
    file_ids = {int(key.split(":")[1]) for _, key, _ in open_chases}
    decided_at = dict(LenderMilestone.objects.in_force()
                      .filter(lender_file__in=file_ids, kind__in=[Milestone.APPROVED, Milestone.DENIED])
                      .order_by().values_list("lender_file").annotate(at=Max("recorded_at")).values_list("lender_file", "at"))
    ended = set(LenderFile.objects.filter(pk__in=file_ids, lead__stage__in=[Stage.CLOSED, Stage.DEAD])
                .values_list("pk", flat=True))
    still_submitted = set(LenderMilestone.objects.in_force().filter(
        lender_file__in=file_ids, kind=Milestone.PACKAGE_SUBMITTED).values_list("lender_file", flat=True))
    moot = [pk for pk, key, created in open_chases
            if (file_id := int(key.split(":")[1])) in ended or file_id not in still_submitted
            or (decided_at.get(file_id) or created) > created]
    if moot:
        result.closed = _close(FollowUp.objects.filter(pk__in=moot),
                               "The lender decided, the submission was struck out, or the lead left the pipeline.", now)
    return result


def valuations(now: datetime, settings: ReminderSettings) -> Generated:
    """A BPO or appraisal ordered: check on it after the brokerage's number of days."""
    result = Generated()
    completed = LenderMilestone.objects.in_force().filter(lender_file=OuterRef("lender_file"), kind=Milestone.VALUATION_COMPLETED,
                                               occurred_on__gte=OuterRef("occurred_on"))
    horizon = _today(now) + timedelta(days=DEADLINE_HORIZON_DAYS)
    ordered = list(LenderMilestone.objects.in_force().filter(
        kind=Milestone.VALUATION_ORDERED, occurred_on__lte=horizon - timedelta(days=settings.valuation_follow_up_days),
        occurred_on__gte=_today(now) - timedelta(days=90),
    ).annotate(completed=Exists(completed)).filter(completed=False).select_related("lender_file"))
    leads = _leads(m.lender_file.lead_id for m in ordered)
    users = _assignees(leads.values())
    candidates = []
    for milestone in ordered:
        lead_id = milestone.lender_file.lead_id
        if lead_id not in leads or lead_id not in users:
            continue
        servicer = milestone.lender_file.servicer or "the lender"
        candidates.append(_deadline(
            lead=leads[lead_id], user=users[lead_id], source=FollowUpSource.VALUATION, kind=FollowUpKind.LENDER,
            key=f"valuation:{milestone.pk}", day=milestone.occurred_on + timedelta(days=settings.valuation_follow_up_days),
            title=f"Has {servicer}'s BPO or appraisal been done? (ordered {milestone.occurred_on:%b %-d})",
            notes="Check the valuation was done and that the agent or appraiser had access and your comparables.",
        ))
    result.created = _write(candidates)
    # Reported done (a completed valuation on the file since it was ordered) closes it, and
    # so does the order being struck out.
    open_rows = dict(FollowUp.objects.filter(source=FollowUpSource.VALUATION, done_at__isnull=True)
                     .values_list("pk", "source_key"))
    if open_rows:
        ordered = {m.pk: m for m in LenderMilestone.objects.in_force().filter(
            pk__in={int(key.split(":")[1]) for key in open_rows.values()})}
        done_files = {(file_id, on) for file_id, on in LenderMilestone.objects.in_force().filter(
            kind=Milestone.VALUATION_COMPLETED, lender_file__in={m.lender_file_id for m in ordered.values()},
        ).values_list("lender_file", "occurred_on")}
        moot = [pk for pk, key in open_rows.items()
                if (m := ordered.get(int(key.split(":")[1]))) is None
                or any(file_id == m.lender_file_id and on >= m.occurred_on for file_id, on in done_files)]
        if moot:
            result.closed = _close(FollowUp.objects.filter(pk__in=moot), "The valuation was reported done.", now)
    return result


def negotiators(now: datetime) -> Generated:
    """A negotiator new on a file: introduce yourself and check they hold the whole package."""
    result = Generated()
    today = _today(now)
    found = list(Negotiator.objects.filter(replaced_on__isnull=True, assigned_on__gte=today - timedelta(days=NEGOTIATOR_RECENT_DAYS))
                 .select_related("lender_file"))
    leads = _leads(n.lender_file.lead_id for n in found)
    users = _assignees(leads.values())
    candidates = []
    for negotiator in found:
        lead_id = negotiator.lender_file.lead_id
        if lead_id not in leads or lead_id not in users:
            continue
        candidates.append(_deadline(
            lead=leads[lead_id], user=users[lead_id], source=FollowUpSource.NEGOTIATOR, kind=FollowUpKind.LENDER,
            key=f"negotiator:{negotiator.pk}", day=negotiator.assigned_on + timedelta(days=1),
            title=f"Introduce yourself to {negotiator.name}, the new {negotiator.get_role_display().lower()}"
                  f" at {negotiator.lender_file.servicer or 'the lender'}",
            notes="Confirm they hold the authorization and the complete package; ask what they need next.",
        ))
    result.created = _write(candidates)
    open_rows = dict(FollowUp.objects.filter(source=FollowUpSource.NEGOTIATOR, done_at__isnull=True)
                     .values_list("pk", "source_key"))
    if open_rows:
        current = set(Negotiator.objects.filter(pk__in={int(key.split(":")[1]) for key in open_rows.values()},
                                                replaced_on__isnull=True).values_list("pk", flat=True))
        moot = [pk for pk, key in open_rows.items() if int(key.split(":")[1]) not in current]
        if moot:
            result.closed = _close(FollowUp.objects.filter(pk__in=moot), "That negotiator was replaced.", now)
    return result


def auctions(now: datetime) -> Generated:
    """Auction dates ahead: a deadline 30, 14, 7 and 2 days before; a date that moved or
    passed closes the follow-ups written for it."""
    result = Generated()
    today = _today(now)
    rows = (ForeclosureRecord.objects.filter(auction_date__gte=today,
                                             auction_date__lte=today + timedelta(days=max(AUCTION_LEADS) + DEADLINE_HORIZON_DAYS))
            .exclude(lead__stage__in=[Stage.CLOSED, Stage.DEAD])
            .values_list("lead_id", "auction_date").distinct())
    by_lead: dict[int, date] = {}
    for lead_id, auction in rows:
        by_lead[lead_id] = min(auction, by_lead.get(lead_id, auction))  # the soonest sale is the one that matters
    candidates = []
    ids = list(by_lead)
    for start in range(0, len(ids), 2000):
        leads = _leads(ids[start:start + 2000])
        users = _assignees(leads.values())
        for lead_id, lead in leads.items():
            user = users.get(lead_id)
            if user is None:
                continue
            auction = by_lead[lead_id]
            for days in _marks(auction, today):
                day = max(auction - timedelta(days=days), today)
                candidates.append(_deadline(
                    lead=lead, user=user, source=FollowUpSource.AUCTION, key=f"auction:{lead_id}:{auction}:{days}",
                    day=day, title=f"Auction {auction:%a %b %-d} ({days}-day mark): {lead.property.street}",
                    notes="Ask the first lender for a postponement with the listing and any offer in hand; "
                          "the homeowner should hear from you today.",
                ))
    result.created = _write(candidates)
    # Open auction follow-ups for a date that is no longer the lead's next auction.
    current = {f"auction:{lead_id}:{auction}:" for lead_id, auction in by_lead.items()}
    gone = [pk for pk, key in FollowUp.objects.filter(source=FollowUpSource.AUCTION, done_at__isnull=True)
            .values_list("pk", "source_key") if key.rsplit(":", 1)[0] + ":" not in current]
    if gone:
        result.closed = _close(FollowUp.objects.filter(pk__in=gone), "The auction date moved or passed.", now)
    return result


def _marks(target: date, today: date, leads: tuple[int, ...] = AUCTION_LEADS) -> list[int]:
    """The marks (days before ``target``) to write today: those falling within the week
    ahead, and the latest one already passed (a run missed while workers were down, a list
    imported late, a letter recorded late), raised for today; older passed marks are not
    raised at all: one reminder says it."""
    ahead = [days for days in leads if today <= target - timedelta(days=days) <= today + timedelta(days=DEADLINE_HORIZON_DAYS)]
    passed = [days for days in leads if target - timedelta(days=days) < today]
    return ahead + passed[-1:]


def approval_expiries(now: datetime) -> Generated:
    """A lender's approval runs out: 7 and 2 days before its closing deadline. A newer
    letter on the same file replaces it, and closes what was written for the old one."""
    result = Generated()
    today = _today(now)
    newer = ApprovalLetter.objects.filter(lender_file=OuterRef("lender_file"), issued_on__gt=OuterRef("issued_on"))
    letters = list(ApprovalLetter.objects.filter(
        expires_on__gte=today, expires_on__lte=today + timedelta(days=max(APPROVAL_LEADS) + DEADLINE_HORIZON_DAYS),
    ).annotate(replaced=Exists(newer)).filter(replaced=False).select_related("lender_file"))
    leads = _leads(letter.lender_file.lead_id for letter in letters)
    users = _assignees(leads.values())
    candidates = []
    for letter in letters:
        lead_id = letter.lender_file.lead_id
        if lead_id not in leads or lead_id not in users:
            continue
        for days in _marks(letter.expires_on, today, APPROVAL_LEADS):
            candidates.append(_deadline(
                lead=leads[lead_id], user=users[lead_id], source=FollowUpSource.APPROVAL_EXPIRY,
                key=f"approval_expiry:{letter.pk}:{days}", day=max(letter.expires_on - timedelta(days=days), today),
                title=f"{letter.lender_file.servicer or 'The lender'}'s approval expires "
                      f"{letter.expires_on:%a %b %-d} ({days}-day mark)",
                notes="Close before then or ask the lender for an extension in writing now.",
            ))
    result.created = _write(candidates)
    # A newer letter on the same lender file (an extension, a new approval) replaces it.
    open_rows = list(FollowUp.objects.filter(source=FollowUpSource.APPROVAL_EXPIRY, done_at__isnull=True)
                     .values_list("pk", "source_key"))
    letter_of = {pk: int(key.split(":")[1]) for pk, key in open_rows}
    named = {row[0]: row[1:] for row in ApprovalLetter.objects.filter(pk__in=set(letter_of.values()))
             .values_list("pk", "lender_file", "issued_on")}
    newest = dict(ApprovalLetter.objects.filter(lender_file__in={file_id for file_id, _ in named.values()})
                  .order_by().values_list("lender_file").annotate(on=Max("issued_on")).values_list("lender_file", "on"))
    replaced = [pk for pk, letter_id in letter_of.items()
                if letter_id not in named or newest.get(named[letter_id][0], named[letter_id][1]) > named[letter_id][1]]
    if replaced:
        result.closed = _close(FollowUp.objects.filter(pk__in=replaced), "A newer approval letter was recorded.", now)
    return result


def stale_documents(now: datetime) -> Generated:
    """Bank statements and pay stubs at 30 days old, a 4506-C ten days before its 120:
    ask the homeowner for fresh ones. A refreshed document closes the request."""
    result = Generated()
    today = _today(now)
    candidates = []
    items = []
    for kind, ahead in STALE_DOCUMENTS.items():
        items += list(ChecklistItem.objects.filter(
            kind=kind, status__in=DOCUMENT_IN_HAND, expires_on__isnull=False,
            expires_on__lte=today + timedelta(days=DEADLINE_HORIZON_DAYS + ahead),
            expires_on__gte=today - timedelta(days=30), lead__stage__in=DOCUMENT_STAGES,
        ).select_related("lien"))
    leads = _leads(item.lead_id for item in items)
    users = _assignees(leads.values())
    for item in items:
        if item.lead_id not in leads or item.lead_id not in users:
            continue
        ahead = STALE_DOCUMENTS[DocumentKind(item.kind)]
        day = max(item.expires_on - timedelta(days=ahead), today)
        when = "goes stale" if ahead == 0 else f"is {ahead} days from stale"
        candidates.append(_deadline(
            lead=leads[item.lead_id], user=users[item.lead_id], source=FollowUpSource.DOCUMENT,
            kind=FollowUpKind.DOCUMENT, key=f"document:{item.pk}:{item.expires_on}", day=day,
            title=f"{item.get_kind_display()} {when} on {item.expires_on:%b %-d}: ask the homeowner for a fresh one",
        ))
    result.created = _write(candidates)
    # A document refreshed since (its expiry moved) makes the request moot.
    open_requests = FollowUp.objects.filter(source=FollowUpSource.DOCUMENT, done_at__isnull=True)
    moot = []
    rows = list(open_requests.values_list("pk", "source_key"))
    item_ids = {int(key.split(":")[1]) for _, key in rows}
    expiries = {pk: str(expires) for pk, expires in ChecklistItem.objects.filter(pk__in=item_ids)
                .values_list("pk", "expires_on")}
    for pk, key in rows:
        _, item_id, expires = key.split(":")
        if expiries.get(int(item_id)) != expires:
            moot.append(pk)
    if moot:
        result.closed = _close(FollowUp.objects.filter(pk__in=moot), "A fresher document was received.", now)
    return result


def stale_leads(now: datetime, settings: ReminderSettings) -> Generated:
    """A lead nobody has talked to for the stage's number of days (a brokerage setting),
    with no call or text planned. The homeowner reached, or the lead moved on, closes it."""
    result = Generated()
    candidates = []
    for stage, days in settings.stale_days().items():
        since = now - timedelta(days=days)
        rows = (Lead.objects.filter(stage=stage, assigned_agent__isnull=False, stage_entered_at__lte=since)
                .filter(Q(last_contacted_at__isnull=True) | Q(last_contacted_at__lte=since))
                # A call or text already planned (by the agent, or an earlier run) says it.
                .exclude(Exists(FollowUp.objects.filter(lead=OuterRef("pk"), done_at__isnull=True,
                                                        kind__in=[FollowUpKind.CALL, FollowUpKind.TEXT])))
                # This quiet spell was raised already (and the agent closed it without a call).
                .exclude(Exists(FollowUp.objects.filter(
                    lead=OuterRef("pk"), source=FollowUpSource.STALE_LEAD, created_at__gt=OuterRef("stage_entered_at"))
                    .filter(Q(lead__last_contacted_at__isnull=True) | Q(created_at__gt=OuterRef("last_contacted_at")))))
                .select_related("assigned_agent", "property").order_by("pk")[:STALE_PER_RUN])
        for lead in rows.iterator(chunk_size=1000):
            user = lead.assigned_agent
            if not user.is_active:
                continue
            quiet = max(filter(None, (lead.stage_entered_at, lead.last_contacted_at)))
            # Due at the start of the agent's day; the call itself goes through the queue,
            # which asks the gate (and its calling hours) at the moment it is made.
            due = max(deadline_moment(user, timezone.localdate(now, user_zone(user))), quiet + timedelta(days=days))
            candidates.append(FollowUp(
                lead=lead, assignee=user, kind=FollowUpKind.CALL, source=FollowUpSource.STALE_LEAD,
                source_key=f"stale:{lead.pk}:{stage}:{quiet:%Y%m%d%H%M%S}",
                title=f"No contact for {days}+ days in {Stage(stage).label}: {lead.property.street}",
                notes="A homeowner who hears nothing assumes nothing is happening: call with news, even if it is none.",
                due_at=due, notify_at=when_to_tell(user, max(due, now)),
            ))
    result.created = _write(candidates)
    contacted = FollowUp.objects.filter(source=FollowUpSource.STALE_LEAD, done_at__isnull=True).filter(
        Q(lead__last_contacted_at__gt=F("created_at")) | Q(lead__stage_entered_at__gt=F("created_at")))
    result.closed = _close(contacted, "The homeowner was reached, or the lead changed stage.", now)
    return result


def finished_leads(now: datetime) -> Generated:
    """Follow-ups left open on a lead that closed or died (moved in the admin, or before
    the stage change closed them itself) are closed: nothing more to do there."""
    result = Generated()
    result.closed = _close(FollowUp.objects.filter(done_at__isnull=True, lead__stage__in=[Stage.CLOSED, Stage.DEAD]),
                           "The lead closed or died.", now)
    return result


def follow_ups_generate(now: datetime | None = None) -> dict[str, Generated]:
    """Run every source once. Idempotent; concurrent runs create nothing twice. Each rule
    commits on its own, so a long run holds no lock on the leads for its whole length."""
    now = now or timezone.now()
    settings = ReminderSettings.current()
    rules = {
        "finished": lambda: finished_leads(now),
        "lender_chase": lambda: lender_chases(now),
        "valuation": lambda: valuations(now, settings),
        "negotiator": lambda: negotiators(now),
        "auction": lambda: auctions(now),
        "approval_expiry": lambda: approval_expiries(now),
        "document": lambda: stale_documents(now),
        "stale_lead": lambda: stale_leads(now, settings),
    }
    done = {}
    for name, rule in rules.items():
        with transaction.atomic():
            done[name] = rule()
    return done

