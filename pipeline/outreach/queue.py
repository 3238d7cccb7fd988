"""The call queue: the agent's leads that may be called right now, most motivated first.

"Right now" is the compliance gate's own verdict for this moment, per phone: the
registries, the internal list, every applicable calling window in every zone the
homeowner may be in, state caps and consent, with nothing recorded (a check is recorded
when the call is logged). Candidates are read cheaply first, best score first, a chunk at
a time; the gate is asked about every number of a chunk at once (its lists read once for
the chunk, not once per number) until the queue is full, so its cost is bounded and does
not grow with the numbers asked about (docs/compliance-rules.md#batched-reads).
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db.models import Count, Exists, F, OuterRef, Prefetch
from django.utils import timezone

from compliance.gate import Finding, caller_refusals, federal_window, outreach_verdicts, window_in_force
from compliance.models import Channel, CheckMode, ComplianceCheck, Direction, Purpose, Verdict
from compliance.places import zip_time_zone
from compliance.rulebook import rulebook
from leadcrm.accounts.models import Capacity, User
from leads.models import Contact, Lead, Phone, PhoneStatus
from pipeline.models import FollowUp, FollowUpKind, OutreachAttempt

QUEUE_SIZE = 15
# How many candidates are looked at at most. Most of those outside calling hours are
# dropped by a clock check in memory (the property's zone) before the gate is asked,
# so a late evening costs a few candidate reads, not a gate query per lead.
SCAN_LIMIT = 300
SCAN_CHUNK = 50

# A lead attempted by this agent this recently waits its turn: the queue moves on.
RECENTLY_TRIED = timedelta(hours=4)


@dataclass
class QueueEntry:
    lead: Lead
    phone: Phone
    verdict: Verdict
    warnings: list[Finding]
    local_times: list[str] = field(default_factory=list)  # "2:14 PM CST", one per zone

    @property
    def owner(self) -> Contact:
        return self.phone.contact


@dataclass
class CallQueue:
    entries: list[QueueEntry]
    scanned: int  # candidate leads the gate was asked about
    held_back: int  # of those, how many had no number callable now
    blocked: str = ""  # why nobody at all may be called by this agent now

    @property
    def exhausted(self) -> bool:
        return self.scanned >= SCAN_LIMIT


def purpose_for(user: User) -> Purpose:
    return Purpose.OFFER_TO_BUY if user.capacity == Capacity.PRINCIPAL else Purpose.LISTING


def queue_candidates(*, user: User, now: datetime, exclude: tuple[int, ...] = ()):
    """The user's own open leads with a number worth asking the gate about, best first."""
    dialable = Phone.objects.filter(contact__lead=OuterRef("pk"), contact__deceased=False,
                                    status=PhoneStatus.GOOD, on_dnc_list=False)
    tried = OutreachAttempt.objects.filter(lead=OuterRef("pk"), agent=user, occurred_at__gte=now - RECENTLY_TRIED)
    # "Call back Tuesday afternoon": a call or text planned for later waits for its time.
    planned = FollowUp.objects.filter(lead=OuterRef("pk"), done_at__isnull=True, due_at__gt=now,
                                      kind__in=[FollowUpKind.CALL, FollowUpKind.TEXT])
    return (
        Lead.objects.visible_to(user)
        .open()
        .filter(assigned_agent=user)
        .filter(Exists(dialable))
        .exclude(Exists(tried))
        .exclude(Exists(planned))
        .exclude(pk__in=list(exclude))
        .select_related("property")
        .prefetch_related(
            Prefetch("contacts", queryset=Contact.objects.filter(deceased=False).order_by("position", "pk")
                     .prefetch_related(
                Prefetch("phones", queryset=Phone.objects.filter(status=PhoneStatus.GOOD, on_dnc_list=False)
                         .order_by("position", "pk"))
            ))
        )
        .order_by("-score", F("last_contacted_at").asc(nulls_first=True), "pk")
    )


def call_queue(*, user: User, now: datetime | None = None, size: int = QUEUE_SIZE,
               exclude: tuple[int, ...] = ()) -> CallQueue:
    now = now or timezone.now()
    blocked = _blocked_for_everyone(user=user, now=now)
    if blocked:
        return CallQueue(entries=[], scanned=0, held_back=0, blocked=blocked)
    candidates = queue_candidates(user=user, now=now, exclude=exclude)
    purpose = purpose_for(user)
    window = federal_window(rulebook(), now.astimezone(UTC).date())
    entries: list[QueueEntry] = []
    scanned = held_back = 0
    while len(entries) < size and scanned < SCAN_LIMIT:
        chunk = list(candidates[scanned:scanned + SCAN_CHUNK])
        if not chunk:
            break
        callable_now = _first_callable([lead for lead in chunk if not _surely_closed(lead, now, window)],
                                       user=user, purpose=purpose, now=now)
        for lead in chunk:
            scanned += 1
            entry = callable_now.get(lead.pk)
            if entry is None:
                held_back += 1
            else:
                entries.append(entry)
                if len(entries) >= size:
                    break
    return CallQueue(entries=entries, scanned=scanned, held_back=held_back)


def _blocked_for_everyone(*, user: User, now: datetime) -> str:
    """What the gate refuses for every number this agent could call now (A1, A4), said once."""
    return " ".join(f"{finding.reason} ({finding.rule})" for finding in caller_refusals(actor=user, at=now))


def _surely_closed(lead: Lead, now: datetime, window: tuple) -> bool:
    """Outside the federal calling window (D1) at the property: the gate would refuse every number."""
    zone = zip_time_zone(lead.property.zip_code)
    if zone is None:
        return False  # the gate decides from the number and the owners' addresses
    local = now.astimezone(zoneinfo.ZoneInfo(zone)).time()
    return not (window[0] <= local < window[1])


def _first_callable(leads: list[Lead], *, user: User, purpose: Purpose, now: datetime) -> dict[int, QueueEntry]:
    """Each lead's first number the gate lets a call go to now, by lead id: one gate
    batch for every good number of the leads."""
    targets = []
    for lead in leads:
        for contact in lead.contacts.all():
            for phone in contact.phones.all():
                phone.contact = contact  # already in hand: the gate reads the owner from it
                targets.append((lead, phone))
    verdicts = outreach_verdicts(targets=targets, channel=Channel.CALL, purpose=purpose, actor=user, at=now)
    found: dict[int, QueueEntry] = {}
    for (lead, phone), (verdict, findings, evidence) in zip(targets, verdicts, strict=True):
        if verdict == Verdict.BLOCK or lead.pk in found:
            continue
        # The homeowner's clock, as the gate read it (the page's filters would show the agent's).
        local_times = [
            now.astimezone(zoneinfo.ZoneInfo(zone["zone"])).strftime("%-I:%M %p %Z")
            for zone in evidence.get("zones", [])
        ]
        found[lead.pk] = QueueEntry(lead=lead, phone=phone, verdict=verdict,
                                    warnings=[f for f in findings if f.severity == Verdict.WARN],
                                    local_times=local_times)
    return found


def next_in_queue(*, user: User, skipped: tuple[int, ...] = (), now: datetime | None = None) -> QueueEntry | None:
    """The first lead of the queue other than those worked or skipped this session."""
    queue = call_queue(user=user, now=now, size=1, exclude=skipped)
    return queue.entries[0] if queue.entries else None


def phone_status_now(*, lead: Lead, phones: list[Phone], user: User, now: datetime | None = None) -> None:
    """Annotate each phone with what the gate says of a call now, for the lead page.

    ``phone.callable_now``, ``phone.blocked_by`` (the refusing reasons), ``phone.local_times``
    (the homeowner's clock in each zone), ``phone.zone_clocks`` (each clock with the calling
    window in force there today, D1 narrowed by the states' E1/E3) and ``phone.attempts_24h`` (calls and texts
    let out to it in the last 24 hours, as the caps count them). One gate batch for the good numbers, one count for all.
    """
    now = now or timezone.now()
    # What the caps count (E2): calls and texts the gate let out to the number, whoever
    # placed them, answered or not, a call clicked and not yet logged included; a
    # homeowner's reply is not one.
    counts = dict(
        ComplianceCheck.objects.filter(contact_point__in=[phone.number for phone in phones], mode=CheckMode.LOG,
                                       direction=Direction.OUTBOUND, verdict__in=[Verdict.ALLOW, Verdict.WARN],
                                       channel__in=[Channel.CALL, Channel.SMS],
                                       checked_at__gt=now - timedelta(hours=24), checked_at__lte=now)
        .order_by().values_list("contact_point").annotate(n=Count("pk")).values_list("contact_point", "n")
    )
    asked = [phone for phone in phones if phone.status == PhoneStatus.GOOD and not phone.contact.deceased]
    verdicts = dict(zip(map(id, asked), outreach_verdicts(
        targets=[(lead, phone) for phone in asked], channel=Channel.CALL, purpose=purpose_for(user), actor=user,
        at=now), strict=True))
    for phone in phones:
        phone.attempts_24h = counts.get(phone.number, 0)
        phone.callable_now, phone.blocked_by, phone.local_times, phone.zone_clocks = False, [], [], []
        if id(phone) not in verdicts:
            continue
        verdict, findings, evidence = verdicts[id(phone)]
        phone.callable_now = verdict != Verdict.BLOCK
        phone.blocked_by = [f for f in findings if f.severity == Verdict.BLOCK]
        book, states = rulebook(), evidence.get("states", [])
        for zone in evidence.get("zones", []):
            local = now.astimezone(zoneinfo.ZoneInfo(zone["zone"]))
            window = window_in_force(book, states, local)
            phone.zone_clocks.append(ZoneClock(
                local_time=local.strftime("%a %-I:%M %p %Z"),
                window=f"{_clock(window[0])}–{_clock(window[1])}" if window else "no calls today",
                origins=", ".join(zone.get("from", [])),
            ))
        phone.local_times = [clock.local_time for clock in phone.zone_clocks]


@dataclass(frozen=True)
class ZoneClock:
    """One of the homeowner's zones on the lead page: its clock now and today's window."""

    local_time: str  # "Wed 2:00 PM CST"
    window: str  # "8 AM–9 PM", or "no calls today"
    origins: str  # what puts the homeowner there: "phone number, property ZIP"


def _clock(moment) -> str:
    """``8 AM``, ``8:30 PM``."""
    hour = moment.hour % 12 or 12
    minutes = f":{moment.minute:02d}" if moment.minute else ""
    return f"{hour}{minutes} {'AM' if moment.hour < 12 else 'PM'}"
