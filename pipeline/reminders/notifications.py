"""Telling people: reminders, escalations, the daily digest and compliance notices, in
the app and by email, each exactly once.

Each notification has a unique ``key`` naming what it is about (``reminder:<follow-up>:<due time>``,
``escalation:<follow-up>:<due time>``, ``digest:<user>:<local date>``), so a second attempt to raise
it inserts nothing. The follow-ups a batch tells people about are locked with
``select_for_update(skip_locked=True)``: two workers given the same ids split them, and
the send is recorded (``notified_at``) in the same transaction as the in-app notification.

Email is the one step outside the database. Messages are claimed a few at a time
(``pending`` to ``sending``, under a skip-locked lock only one worker can hold) before they
go, and marked ``sent`` after; a worker killed in between leaves ``sending``, which is never
retried (the messages may have gone) but turned to ``unknown`` by the sweep, while the
in-app copy stays. Emails still ``pending`` (a worker stopped after the commit) are picked up again by
the dispatcher. So no reminder is sent twice, whatever crashes.
"""

from __future__ import annotations

import logging
import zoneinfo
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from leadcrm.accounts.hours import when_to_tell
from leadcrm.accounts.models import TeamMembership, User
from leadcrm.accounts.roles import Perm
from leads.models import ForeclosureRecord, Lead
from pipeline.models import (
    ApprovalLetter,
    EmailState,
    FollowUp,
    Notification,
    NotificationKind,
    ReminderSettings,
)
from pipeline.signals import follow_ups_due

logger = logging.getLogger(__name__)

BATCH = 200  # follow-ups per send task: one transaction, one SMTP connection
DIGEST_AT = time(7, 30)  # in the agent's own zone
DIGEST_UNTIL = time(12, 0)  # a digest not out by noon (the workers were down) is skipped that day
SENDING_STUCK_AFTER = timedelta(minutes=15)
EMAIL_CLAIM = 20  # emails claimed together: at most this many in doubt after a crash
EMAIL_ATTEMPTS = 3  # tries before an email is marked failed (the in-app copy stays)
PENDING_RETRY_AFTER = timedelta(minutes=2)
REDISPATCH_AFTER = timedelta(minutes=5)  # a batch lost with its message (a broker restart) goes out again
DNC_NOTICE_AGE_DAYS = 25  # national data this old: refresh it before day 31 (docs/compliance-rules.md#a3)


def _lead_url(lead_id: int) -> str:
    return reverse("leads:detail", args=[lead_id])


def _local(moment: datetime, user: User) -> str:
    return timezone.localtime(moment, zoneinfo.ZoneInfo(user.time_zone)).strftime("%a %b %-d, %-I:%M %p %Z")


def _email_state(user: User) -> str:
    return EmailState.PENDING if user.email_reminders and user.email else EmailState.NONE


# Dispatch ------------------------------------------------------------------------------


@dataclass
class Dispatch:
    reminder_batches: list[list[int]] = field(default_factory=list)
    escalation_batches: list[list[int]] = field(default_factory=list)
    email_batches: list[list[int]] = field(default_factory=list)
    unknown: int = 0


def _chunks(ids: list[int], size: int = BATCH) -> list[list[int]]:
    return [ids[start:start + size] for start in range(0, len(ids), size)]


def due_work(now: datetime | None = None, limit: int = 50_000) -> Dispatch:
    """What is due to be sent now, in batches for the workers; nothing is locked here.

    Run every minute by beat. A reminder handed out is not handed out again for five
    minutes (a backlog does not pile up in the queue); two runs at once may still hand out
    the same ids twice, which the send tasks' locks and filters make harmless.
    """
    now = now or timezone.now()
    work = Dispatch()
    work.unknown = Notification.objects.filter(
        email_state=EmailState.SENDING, email_claimed_at__lt=now - SENDING_STUCK_AFTER).update(
        email_state=EmailState.UNKNOWN)
    reminders = list(FollowUp.objects.to_notify(now).filter(
        Q(dispatched_at__isnull=True) | Q(dispatched_at__lt=now - REDISPATCH_AFTER),
    ).order_by("notify_at").values_list("pk", flat=True)[:limit])
    for batch in _chunks(reminders, 5000):
        FollowUp.objects.filter(pk__in=batch).update(dispatched_at=now)
    work.reminder_batches = _chunks(reminders)
    overdue = list(FollowUp.objects.filter(done_at__isnull=True, escalated_at__isnull=True, escalate_at__lte=now)
                   .order_by("escalate_at").values_list("pk", flat=True)[:limit])
    work.escalation_batches = _chunks(overdue)
    stranded = list(Notification.objects.filter(email_state=EmailState.PENDING, created_at__lt=now - PENDING_RETRY_AFTER)
                    .order_by("pk").values_list("pk", flat=True)[:limit])
    work.email_batches = _chunks(stranded)
    return work


# Reminders and escalations -------------------------------------------------------------


def reminders_send(follow_up_ids: list[int], now: datetime | None = None) -> int:
    """Tell each assignee of these follow-ups that are due to be told; returns how many."""
    now = now or timezone.now()
    with transaction.atomic():
        due = list(FollowUp.objects.select_for_update(skip_locked=True, of=("self",))
                   .to_notify(now).filter(pk__in=follow_up_ids)
                   .select_related("assignee", "lead__property"))
        seen = _visible(due, lambda follow_up: follow_up.assignee)
        leads_of = _team_leads({f.assignee_id for f in due})
        delay = timedelta(hours=ReminderSettings.current().escalate_after_hours)
        notes = []
        for follow_up in due:
            # Escalated, if still open, the brokerage's delay after the later of due and told,
            # within the team lead's own hours; nobody above the agent: never.
            team_lead = leads_of.get(follow_up.assignee_id)
            follow_up.escalate_at = when_to_tell(team_lead, max(follow_up.due_at, now) + delay) if team_lead else None
            if follow_up.pk not in seen:
                continue  # the lead went to someone else: not a word of it to the old assignee
            user = follow_up.assignee
            lead = follow_up.lead
            body = f"Due {_local(follow_up.due_at, user)}\n{lead.property.one_line}\n{follow_up.notes}".strip()
            notes.append(Notification(
                recipient=user, kind=NotificationKind.REMINDER, key=_key("reminder", follow_up),
                follow_up=follow_up, lead=lead, title=follow_up.title[:200], body=body,
                url=_lead_url(lead.pk), created_at=now, email_state=_email_state(user),
            ))
        Notification.objects.bulk_create(notes, ignore_conflicts=True)
        for follow_up in due:
            follow_up.notified_at = now
            if follow_up.pk not in seen:
                follow_up.escalate_at = None
        FollowUp.objects.bulk_update(due, ["notified_at", "escalate_at"])
        follow_ups_due.send(sender=FollowUp, follow_ups=due, at=now)
    # Also the emails a run of this batch killed before it sent them (redelivered, acks late).
    notification_emails_send(Notification.objects.filter(follow_up__in=follow_up_ids, kind=NotificationKind.REMINDER,
                                            email_state=EmailState.PENDING).values_list("pk", flat=True))
    return len(due)


def _visible(follow_ups: list[FollowUp], recipient_of) -> set[int]:
    """The follow-ups whose lead the person to be told may see.

    A follow-up's assignee is told only of a lead still theirs; its escalation goes to the
    lead of the team the assignee is on (``_team_leads``), who sees that agent's leads.
    """
    by_person: dict[int, tuple[User, list[FollowUp]]] = {}
    for follow_up in follow_ups:
        person = recipient_of(follow_up)
        if person is not None:
            by_person.setdefault(person.pk, (person, []))[1].append(follow_up)
    seen = set()
    for person, theirs in by_person.values():
        # The lead's own agent (or the lead of that agent's team, for an escalation) always
        # sees it: the usual case costs no query.
        if not person.is_active:
            continue
        doubtful = [f for f in theirs if f.lead.assigned_agent_id != f.assignee_id]
        seen.update(f.pk for f in theirs if f.lead.assigned_agent_id == f.assignee_id)
        if doubtful:
            leads = set(Lead.objects.visible_to(person).filter(pk__in={f.lead_id for f in doubtful})
                        .values_list("pk", flat=True))
            seen.update(f.pk for f in doubtful if f.lead_id in leads)
    return seen


def _key(kind: str, follow_up: FollowUp) -> str:
    """What makes a reminder or escalation once: the follow-up, whom it is for and when it
    is due. Moved to another agent or another time, it is told again (once)."""
    return f"{kind}:{follow_up.pk}:{follow_up.assignee_id}:{int(follow_up.due_at.timestamp())}"


def _team_leads(user_ids: set[int]) -> dict[int, User]:
    """Each agent's team lead (an agent is on one team at a time)."""
    return {m.user_id: m.team.lead for m in TeamMembership.objects.filter(user_id__in=user_ids, is_active=True)
            .select_related("team__lead") if m.team.lead_id != m.user_id and m.team.lead.is_active}


def escalations_send(follow_up_ids: list[int], now: datetime | None = None) -> int:
    """Tell the team lead about follow-ups still open at their ``escalate_at``; once each."""
    now = now or timezone.now()
    with transaction.atomic():
        overdue = list(FollowUp.objects.select_for_update(skip_locked=True, of=("self",))
                       .filter(pk__in=follow_up_ids, done_at__isnull=True, escalated_at__isnull=True,
                               escalate_at__lte=now)
                       .select_related("assignee", "lead__property"))
        leads_of = _team_leads({f.assignee_id for f in overdue})
        seen = _visible(overdue, lambda follow_up: leads_of.get(follow_up.assignee_id))
        notes = []
        for follow_up in overdue:
            team_lead = leads_of.get(follow_up.assignee_id)
            if team_lead is None or follow_up.pk not in seen:
                continue  # nobody above the agent (or not over this lead): the agent's reminder stands
            late = now - follow_up.due_at
            hours = int(late.total_seconds() // 3600)
            notes.append(Notification(
                recipient=team_lead, kind=NotificationKind.ESCALATION, key=_key("escalation", follow_up),
                follow_up=follow_up, lead=follow_up.lead, created_at=now, email_state=_email_state(team_lead),
                title=f"Overdue {hours} h: {follow_up.title}"[:200], url=_lead_url(follow_up.lead_id),
                body=(f"{follow_up.assignee} has not done this follow-up, due {_local(follow_up.due_at, team_lead)}.\n"
                      f"{follow_up.title}\n{follow_up.lead.property.one_line}"),
            ))
        Notification.objects.bulk_create(notes, ignore_conflicts=True)
        FollowUp.objects.filter(pk__in=[f.pk for f in overdue]).update(escalated_at=now)
    notification_emails_send(Notification.objects.filter(follow_up__in=follow_up_ids, kind=NotificationKind.ESCALATION,
                                            email_state=EmailState.PENDING).values_list("pk", flat=True))
    return len(notes)


# Email ---------------------------------------------------------------------------------


def _message(note: Notification, base_url: str, settings_link: str) -> EmailMessage:
    link = f"{base_url}{note.url}" if note.url else ""
    body = (f"{note.title}\n\n{note.body}\n\n{link}\n\n--\nLeadCRM. You get these because email reminders are on in your "
            f"settings: {settings_link}").replace("\n\n\n", "\n\n")
    return EmailMessage(subject=f"[LeadCRM] {note.title}", body=body, to=[note.recipient.email],
                        headers={"X-LeadCRM-Notification": note.key})


def notification_emails_send(notification_ids, base_url: str | None = None) -> int:
    """Email these notifications, a few at a time, each few claimed before they go.

    A claim is one locking read and one UPDATE for ``EMAIL_CLAIM`` messages; marking them
    sent is one more. A worker killed mid-send leaves at most that many ``sending`` (never
    resent; the sweep calls them ``unknown``), against two round trips per message if each
    were claimed alone: the price of speed is that few more in doubt after a crash.
    """
    ids = sorted(notification_ids)
    if not ids:
        return 0
    base_url = base_url if base_url is not None else settings.LEADCRM_BASE_URL
    settings_link = f"{base_url}{reverse('pipeline:my_settings')}"
    sent = 0
    with get_connection() as connection:
        for start in range(0, len(ids), EMAIL_CLAIM):
            with transaction.atomic():
                notes = list(Notification.objects.select_for_update(skip_locked=True, of=("self",))
                             .filter(pk__in=ids[start:start + EMAIL_CLAIM], email_state=EmailState.PENDING)
                             .select_related("recipient"))
                Notification.objects.filter(pk__in=[note.pk for note in notes]).update(
                    email_state=EmailState.SENDING, email_claimed_at=timezone.now())
            went, retry, failed = [], [], []
            for note in notes:
                try:
                    connection.send_messages([_message(note, base_url, settings_link)])
                except Exception:
                    # Refused before it was handed over (the server down, a dropped connection):
                    # back to pending for the dispatcher's next pass, a few times, then failed.
                    logger.exception("Email of notification %s failed", note.pk)
                    (retry if note.email_attempts + 1 < EMAIL_ATTEMPTS else failed).append(note.pk)
                    connection.close()  # the next message opens a fresh one
                else:
                    went.append(note.pk)
            Notification.objects.filter(pk__in=went).update(email_state=EmailState.SENT, emailed_at=timezone.now(),
                                                            email_attempts=F("email_attempts") + 1)
            if retry:
                Notification.objects.filter(pk__in=retry).update(email_state=EmailState.PENDING,
                                                                 email_attempts=F("email_attempts") + 1)
            if failed:
                Notification.objects.filter(pk__in=failed).update(email_state=EmailState.FAILED,
                                                                  email_attempts=F("email_attempts") + 1)
            sent += len(went)
    return sent


def raise_once(note: Notification) -> bool:
    """Insert one notification; False when its key was raised already (by another run)."""
    try:
        with transaction.atomic():
            note.save(force_insert=True)
    except IntegrityError:
        return False
    return True


# The daily digest ----------------------------------------------------------------------


@dataclass
class Digest:
    overdue: list[FollowUp]
    today: list[FollowUp]
    deadlines: list[tuple]  # (date, what, lead)

    def __bool__(self) -> bool:
        return bool(self.overdue or self.today or self.deadlines)


def digest_for(user: User, now: datetime) -> Digest:
    zone = zoneinfo.ZoneInfo(user.time_zone)
    local_today = timezone.localdate(now, zone)
    day_ends = datetime.combine(local_today + timedelta(days=1), time(0), tzinfo=zone)
    day_starts = datetime.combine(local_today, time(0), tzinfo=zone)
    mine = FollowUp.objects.visible_to(user).filter(assignee=user, done_at__isnull=True).select_related("lead__property")
    overdue = list(mine.filter(due_at__lt=day_starts).order_by("due_at")[:50])
    today = list(mine.filter(due_at__gte=day_starts, due_at__lt=day_ends).order_by("due_at")[:50])
    week = local_today + timedelta(days=7)
    leads = Lead.objects.visible_to(user).open().filter(assigned_agent=user)
    deadlines = [(auction, "Auction", lead_id) for lead_id, auction in ForeclosureRecord.objects.filter(
        lead__in=leads, auction_date__gte=local_today, auction_date__lte=week).values_list("lead_id", "auction_date")]
    deadlines += [(expires, f"{servicer or 'Lender'} approval expires", lead_id)
                  for lead_id, expires, servicer in ApprovalLetter.objects.filter(
                      lender_file__lead__in=leads, expires_on__gte=local_today, expires_on__lte=week)
                  .values_list("lender_file__lead_id", "expires_on", "lender_file__servicer")]
    streets = dict(Lead.objects.filter(pk__in={d[2] for d in deadlines}).values_list("pk", "property__street"))
    deadlines = sorted({(day, what, streets.get(lead_id, "")) for day, what, lead_id in deadlines})
    return Digest(overdue=overdue, today=today, deadlines=deadlines)


def _digest_body(user: User, digest: Digest) -> str:
    zone = zoneinfo.ZoneInfo(user.time_zone)
    lines = []

    def item(f):
        return f"  {timezone.localtime(f.due_at, zone):%-I:%M %p}  {f.title}  ({f.lead.property.street})"

    if digest.overdue:
        lines += [f"Overdue ({len(digest.overdue)}):"]
        lines += [f"  {timezone.localtime(f.due_at, zone):%b %-d}  {f.title}  ({f.lead.property.street})"
                  for f in digest.overdue]
        lines.append("")
    if digest.today:
        lines += [f"Today ({len(digest.today)}):", *map(item, digest.today), ""]
    if digest.deadlines:
        lines += ["Deadlines in the next 7 days:"]
        lines += [f"  {day:%a %b %-d}  {what}  {street}" for day, what, street in digest.deadlines]
    return "\n".join(lines).strip()


def digests_send(now: datetime | None = None) -> int:
    """Each user's digest at 7:30 in their own zone, once a day, when there is something to
    say. Run every quarter hour; the digest's key (user and local date) makes it once."""
    now = now or timezone.now()
    sent = 0
    for user in User.objects.filter(is_active=True):
        local = timezone.localtime(now, zoneinfo.ZoneInfo(user.time_zone))
        if not (DIGEST_AT <= local.time() < DIGEST_UNTIL):
            continue
        key = f"digest:{user.pk}:{local.date().isoformat()}"
        if Notification.objects.filter(key=key).exists():
            continue
        digest = digest_for(user, now)
        if not digest:
            continue
        title = (f"Your day: {len(digest.today)} follow-up{'s' if len(digest.today) != 1 else ''}"
                 + (f", {len(digest.overdue)} overdue" if digest.overdue else "")
                 + (f", {len(digest.deadlines)} deadline{'s' if len(digest.deadlines) != 1 else ''} this week"
                    if digest.deadlines else ""))
        note = Notification(recipient=user, kind=NotificationKind.DIGEST, key=key, title=title,
                            body=_digest_body(user, digest), url=reverse("pipeline:dashboard"), created_at=now,
                            email_state=_email_state(user))
        if raise_once(note):
            sent += 1
            notification_emails_send([note.pk])
    return sent


# Compliance notices --------------------------------------------------------------------


def dnc_refresh_notices(now: datetime | None = None) -> int:
    """National DNC data 25 days old for an area code: tell whoever loads registries to
    refresh it before day 31, when every call to that area code is blocked (A3)."""
    from compliance.models import AreaCodeVersion, RegistryKind

    now = now or timezone.now()
    today = now.astimezone(zoneinfo.ZoneInfo("UTC")).date()  # A3 counts days in UTC
    newest: dict[str, object] = {}
    for area_code, version in (AreaCodeVersion.objects.filter(source__kind=RegistryKind.NATIONAL, source__is_active=True)
                               .order_by("area_code", "-version_date").values_list("area_code", "version_date")):
        newest.setdefault(area_code, version)
    aging: dict[object, list[str]] = {}
    for area_code, version in newest.items():
        if (today - version).days >= DNC_NOTICE_AGE_DAYS:
            aging.setdefault(version, []).append(area_code)
    if not aging:
        return 0
    managers = [user for user in User.objects.filter(is_active=True) if user.has_perm(Perm.MANAGE_REGISTRIES)]
    raised = 0
    for version, codes in sorted(aging.items()):
        codes = sorted(codes)
        age = (today - version).days
        deadline = version + timedelta(days=31)
        for user in managers:
            note = Notification(
                recipient=user, kind=NotificationKind.COMPLIANCE, key=f"dnc_refresh:{version.isoformat()}:{user.pk}",
                title=f"National DNC data {age} days old for {len(codes)} area code{'s' if len(codes) != 1 else ''}:"
                      f" refresh before {deadline:%b %-d}"[:200],
                body=(f"The national registry data for area codes {', '.join(codes)} is dated {version:%b %-d, %Y}. "
                      f"After {deadline:%b %-d} every call to them is blocked (A3). Download the change list "
                      "from telemarketing.donotcall.gov and load it on the Registries page."),
                url=reverse("compliance:registries"), created_at=now, email_state=_email_state(user),
            )
            if raise_once(note):
                raised += 1
                notification_emails_send([note.pk])
    return raised


# New leads ---------------------------------------------------------------------------------


def new_lead_notify(lead, *, came_from: str, at=None) -> None:
    """Tell whoever works a lead that just came in (the seller form, a lead source), once.

    Its agent, under the key ``new_lead:<lead>``; a lead routed to the pond has no agent, so
    the people who hand pond leads out hear of it instead: the pond team's lead and every
    broker (``new_lead:<lead>:<user>``, one each). Emailed to those who take email, after
    the commit (docs/intake.md#who-is-told).
    """
    _lead_news(lead, key=f"new_lead:{lead.pk}", kind=NotificationKind.NEW_LEAD,
               title=f"New lead from {came_from}: {lead.property.one_line}",
               to_agent=f"It came in through {came_from} and is yours to call. Speed matters: call while they are "
                        "waiting.",
               to_pond=f"It came in through {came_from} and waits in the pond: give it to an agent now.", at=at)


def lead_wrote_in_notify(lead, *, came_from: str, key: str, at=None) -> None:
    """Tell whoever works a lead that its homeowner wrote in again (the seller form or a lead
    source matched a house already held): the warmest lead there is, once per ``key``.

    Told as ``new_lead_notify`` tells (the agent, else the pond's hand-out people). A lead
    marked Dead or Closed says so, so that it is looked at again rather than passed over
    (docs/intake.md#who-is-told).
    """
    from leads.models import Stage

    again = ""
    if lead.stage in (Stage.DEAD, Stage.CLOSED):
        again = (f"The lead is marked {Stage(lead.stage).label}, yet the homeowner sent {came_from} again: "
                 f"look at it again and move it back if there is work to do. ")
    _lead_news(lead, key=key, kind=NotificationKind.REPLY,
               title=f"A homeowner already in your leads wrote in again: {lead.property.one_line}",
               to_agent=f"{again}They sent {came_from} again and are waiting to hear from you: call them while they "
                        "are.",
               to_pond=f"{again}They sent {came_from} again and the lead has no agent: give it to one now.", at=at)


def _lead_news(lead, *, key: str, kind: str, title: str, to_agent: str, to_pond: str, at=None) -> None:
    """One notice about a lead to whoever acts on it, once per key: its agent (``key``), else
    the pond team's lead and every broker (``<key>:<user>``, one each); emailed to those who
    take email, after the commit."""
    from leadcrm.accounts.roles import Role
    from leadcrm.shared.queue import enqueue_on_commit

    at = at or timezone.now()
    agent = lead.assigned_agent
    if agent is not None:
        recipients, body = ([(agent, key)] if agent.is_active else []), to_agent
    else:
        people = {user.pk: user for user in User.objects.filter(groups__name=Role.BROKER.label, is_active=True)}
        team_lead = lead.pond_team.lead if lead.pond_team_id and lead.pond_team.lead_id else None
        if team_lead is not None and team_lead.is_active:
            people[team_lead.pk] = team_lead
        recipients, body = [(user, f"{key}:{user.pk}") for user in people.values()], to_pond
    raised = []
    for user, user_key in recipients:
        note = Notification(
            recipient=user, kind=kind, key=user_key[:160], lead=lead, title=title[:200], body=body,
            url=_lead_url(lead.pk), created_at=at, email_state=_email_state(user))
        if raise_once(note) and note.email_state == EmailState.PENDING:
            raised.append(note.pk)
    if raised:
        from pipeline.tasks import notification_emails_send

        # Pending until sent: the minute's sweeper sends it if the broker is down now.
        enqueue_on_commit(notification_emails_send, raised, swept=True)
