"""The rules of the outreach gate as functions of one attempt.

Each rule looks at the attempt, may add evidence, and returns its findings. The gate's
verdict is the worst finding: any BLOCK blocks, else any WARN warns, else it allows.
Phone and text fail closed: when the gate cannot tell what number is being dialled,
whose it is, where its owner is, or how fresh the registry data is, it blocks.
Rule IDs are those of compliance/rules.py, each explained in docs/compliance-rules.md (e.g.
docs/compliance-rules.md#a3); the numbers come from the rule tables.
"""

from __future__ import annotations

import calendar
import re
import zoneinfo
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property

from django.db import connection
from django.db.models import Exists, OuterRef, Q

from leadcrm.accounts.models import Brokerage, Capacity, User
from leads.models import Contact, Email, EmailStatus, Lead, Phone, PhoneStatus, Property
from leads.phones import format_national, parse_phone

from . import rules
from .calendars import NoCalendar
from .disclosures import disclosures_required, missing_disclosures, missing_message, role_disclosure_sentence
from .language import language_hits
from .models import (
    AUTOMATED,
    PHONE_CHANNELS,
    SOURCE_SPAN,
    AgentDncEntry,
    AgentListSource,
    Channel,
    CheckMode,
    ComplianceCheck,
    ConsentRecord,
    Direction,
    DncNumber,
    DncSource,
    EstablishedRelationship,
    InterestDisclosure,
    InternalDncEntry,
    LoadKind,
    LoadStatus,
    PolicyAcknowledgement,
    Purpose,
    ReassignedNumberCheck,
    RegistryKind,
    RegistryLoad,
    RelationshipKind,
    RevocationReview,
    RndResult,
    StateCallingRule,
    StopOrigin,
    Technology,
    TextResubscription,
    Verdict,
    national_number,
)
from .places import area_code_state, phone_time_zones, zip3_places, zip_time_zone
from .rulebook import Rulebook, rulebook
from .transactions import Service
from .words import day_of

NO_NUMBER = "A {channel} needs a phone number of this lead; none was given."
BAD_NUMBER = "The number {raw!r} cannot be dialled: {error}"
NOT_THIS_LEAD = "That {what} does not belong to this lead's owners."
NO_EMAIL = "An email needs an email address of this lead's owners."
EMAIL_BOUNCED = "{address} cannot be delivered: the email service reported it bounced. Find another address."
EMAIL_COMPLAINED = "The owner of {address} marked our email as spam: a request to stop emails to that address."
NO_MAILING_ADDRESS = "This owner has no mailing address on file."
DO_NOT_MAIL = "{name} is marked Do Not Mail."
WRONG_PARTY = "{number} was marked as reaching someone other than the owner; it may have been reassigned."
INTERNAL_HIT = (
    "{point} is on the brokerage's internal do-not-contact list since {date} "
    "(recorded by {who}, via {channel})."
)
OWNER_STOPPED = (
    "{point} belongs to a homeowner who asked us to stop on {stopped_on} on {date} (recorded by {who}, via "
    "{channel}): a stop covers every number, email and address of theirs."
)
COVERED_HIT = (
    "{point} is covered by the homeowner's stop on {stopped_on} since {date} (recorded by {who}, via {channel}): "
    "a stop covers every number, email and address of theirs."
)
AGENT_LIST_HIT = (
    "{point} is on your own do-not-call list since {date} ({source}): in Washington an agent's own list binds "
    "them on top of the brokerage's, whatever the brokerage's list says now."
)
START_DOES_NOT_LIFT = (
    " The homeowner texted \u201c{words}\u201d from it on {date}, but that re-subscribes only texts, and only "
    "after stops they texted from this number before it: {why}."
)
START_NOT_FOR_CHANNEL = "a {channel} is never re-opened by a START"
STOP_AFTER_START = "they asked to stop again on {date}, after it"
STOP_ON_REVIEW = "the stop of {date} was {who}'s decision on review of an unclear reply"
STOP_WHOLE_CONTACT = "on {date} they asked not to be contacted at all"
STOP_SAID_ELSEWHERE = "the stop of {date} came {how}"
STOP_NOT_TEXTED = "the stop of {date} was recorded by {who}, not texted from this number"
SAID_HOW = {Channel.CALL: "on a call", Channel.DOOR: "at the door", Channel.EMAIL: "by email",
            Channel.MAIL: "by mail"}
CONFIRMATION_USED = "The one confirmation message after a stop request was already sent on {date}."
CONFIRMATION_TEXT_ONLY = "Only a text can confirm a stop request; log calls and emails with another purpose."
CONFIRMATION_WITHOUT_STOP = "No stop request is on file for this number: a confirmation text only follows one."
CONFIRMATION_TOO_LATE = (
    "The stop request of {date} came in more than {minutes} minutes ago: the confirmation window has "
    "passed and nothing more may be sent."
)
CONFIRMATION_BLANK = "Write the confirmation you send (e.g. “You won't hear from us again.”): a blank one cannot be checked."
CONFIRMATION_MARKETING = "A confirmation may only confirm the stop; \u201c{word}\u201d reads as marketing."
PENDING_REVIEW = "A reply from this number may mean “stop” ({matched!r}); it waits for review. Don't pitch."
REGISTRY_HIT = "{number} is on the {source}{as_of}."
LITIGATOR_HIT = "{number} is on the litigator list {source}{as_of}."
EBR_ALLOWS = (
    "{number} is on the {source}, but the brokerage's own {kind} of {start} (an established business "
    "relationship) allows calls until {until}."
)
OFFER_ONLY = (
    "{number} is on the {source}. Calling only to offer to buy, under the brokerage's written opt-in of "
    "{opted}: say nothing about listing or short-sale services."
)
SAN_EXPIRED = "The brokerage's subscription to the {source} (SAN {san}) expired on {date}: renew it before calling."
SAN_MISSING = (
    "The brokerage's subscription to the {source} is not on record (account number and expiry date): "
    "enter them on the registries page before calling."
)
NO_POLICY = (
    "The brokerage has no written Do Not Call procedures on file: a broker adds them on the "
    "compliance pages before anyone calls."
)
NOT_ACKNOWLEDGED = (
    "You have not yet acknowledged the brokerage's Do Not Call procedures of {date:%b %d, %Y}: "
    "read and acknowledge them before calling."
)
NO_REGISTRY_DATA = "No national Do Not Call data is held for area code {area_code}: load it before calling."
STALE = "The national Do Not Call data for area code {area_code} is {age} days old (version {version}); the limit is {limit}."
AGING = "The national Do Not Call data for area code {area_code} is {age} days old (version {version}): refresh it before day {limit}."
OUTSIDE_FEDERAL = "It is {local} in {zone} ({origin}): calls and texts are allowed {start} to {end} only."
OUTSIDE_STATE = "It is {local} in {zone} ({origin}): {state} allows calls and texts {start} to {end} only."
NO_CALLS_TODAY = "It is {weekday} in {zone} ({origin}): {state} allows no solicitation calls on {weekday}s."
HOLIDAY = "{day:%b %d} is a {state} holiday, {name} ({zone}): no solicitation calls today."
NO_HOLIDAY_CALENDAR = ("There is no {state} holiday calendar for {day:%Y} ({zone}): no solicitation calls in {state} "
                       "until one is added, since nobody can say {day:%b %d} is not a holiday.")
UNKNOWN_ZONES = (
    "{number} could be in {count} time zones and no address of the owner has a known zone: "
    "add the property or mailing ZIP before calling."
)
NO_ZONE = "The homeowner's time zone cannot be told from the number or any address on file."
CAP_REACHED = "{count} {what} to {number} in the last {hours} hours across the brokerage; {state} allows {cap}."
NO_CONSENT = "{what} to {number} needs the homeowner's prior express written consent naming that number; none is on file."
RND_YES = "The Reassigned Numbers Database says {number} changed hands after the consent of {consent_date}."
RND_NO_DATA = "The Reassigned Numbers Database has no data on {number}: confirm it is still the homeowner's."
RND_STALE = "{number} was last checked in the Reassigned Numbers Database over {days} days ago: check it again."
RND_NEVER = ("{number} has never been checked in the Reassigned Numbers Database: check it, and record the "
             "answer on the lead page's Consent and records card.")
TEXAS_UNREGISTERED = (
    "{what} to a Texas homeowner needs the brokerage's Texas telephone solicitation registration "
    "or a recorded exemption; neither is on file."
)
OWN_DIALER = (
    "The app does not dial automatically; a call placed by your own autodialer must keep its limits: at most "
    "{abandon_max_percent}% of answered calls abandoned in each {abandon_campaign_days}-day campaign, the "
    "identification message within {message_within_seconds} seconds of the answer, and ringing for at least "
    "{ring_min_seconds} seconds or {ring_min_rings} rings (your dialer's records show it, not the app)."
)
# The D6 rule parameters the warning names (compliance/migrations/0020).
ABANDONMENT_LIMITS = ("abandon_max_percent", "abandon_campaign_days", "message_within_seconds", "ring_min_seconds",
                      "ring_min_rings")
NOT_DISCLOSED = "Confirm that you say who you are and why you are reaching out: \u201c{sentence}\u201d"
PRINCIPAL_NOT_DISCLOSED = (
    "You contact homeowners as a principal: confirm you told them you are buying for "
    "yourself: \u201c{sentence}\u201d"
)
PRINCIPAL_NEEDS_WRITING = (
    "You are a licensee buying for yourself: a written disclosure of your licence and interest must be "
    "on file before any offer or contract."
)
PROHIBITED_PHRASE = "“{text}”: {why}"
SERVICE_PITCH = re.compile(
    r"\b(short[\s-]?sale|list(ing)?\s+(your|the)\s+(home|house|property)|sell\s+(it|your\s+home)\s+for\s+you|"
    r"negotiate\s+with\s+(your\s+)?(lender|bank))\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: Verdict
    reason: str

    def as_dict(self) -> dict:
        return {"rule": self.rule, "severity": str(self.severity), "reason": self.reason}


@dataclass
class Attempt:
    """Everything the rules need to know about one contemplated contact."""

    lead: Lead
    channel: Channel
    purpose: Purpose
    actor: User
    at: datetime
    role_disclosed: bool
    brokerage: Brokerage
    contact_point: object
    technology: Technology = Technology.MANUAL
    direction: Direction = Direction.OUTBOUND
    mode: CheckMode = CheckMode.LOG
    message: str = ""
    phone: Phone | None = None
    number: str = ""
    email: str = ""
    contact: Contact | None = None
    contact_point_text: str = ""
    evidence: dict = field(default_factory=dict)
    # What the rules read from the database, shared by the attempts evaluated together
    # (``evaluate_many``); a batch of this one attempt when it is evaluated alone.
    reads: GateReads | None = field(default=None, repr=False, compare=False)

    @property
    def is_stop_confirmation(self) -> bool:
        """The one confirmation text after a stop request, vetted by ``internal_list`` (B4).

        Only that rule sets this, so choosing the purpose alone never skips a telephone rule.
        """
        return "revocation_confirmation" in self.evidence

    @property
    def is_telephone_solicitation(self) -> bool:
        """Outbound calls and texts: what the telephone rules (A, C, D1, D4-D5, E) govern."""
        return self.channel in PHONE_CHANNELS and self.direction == Direction.OUTBOUND

    @cached_property
    def book(self) -> Rulebook:
        return rulebook()

    @cached_property
    def facts(self) -> ListFacts:
        """What the lists hold for this contact point: one round trip for the whole batch
        of attempts evaluated together (the hot path)."""
        return self.batch.facts(self)

    @property
    def batch(self) -> GateReads:
        if self.reads is None:
            self.reads = GateReads([self])
        return self.reads

    @cached_property
    def policy(self):
        """The written procedures in force on the call date (A4), if any."""
        return self.book.policy_on(self.call_date)

    @cached_property
    def call_date(self) -> date:
        # A3 compares dates in UTC; the B4 word lists default to the same day (day_of).
        return day_of(self.at)

    @cached_property
    def area_code(self) -> str:
        return self.number[2:5] if self.number.startswith("+1") else ""

    @cached_property
    def owners(self) -> list[Contact]:
        """Whose mailing addresses say where the homeowner is: the phone's owner, else all."""
        if self.contact is not None:
            return [self.contact]
        return list(self.lead.contacts.all())

    @cached_property
    def states(self) -> dict[str, str]:
        """Applicable states and why (E1): the area code's (where presumed), property, mailing."""
        found: dict[str, str] = {}
        code_state = area_code_state(self.area_code) if self.area_code else None
        if code_state:
            rule = self.book.state_rule(code_state, self.call_date)
            if rule is not None and rule.area_code_presumption:
                found[code_state] = f"area code {self.area_code}"
        if self.lead.property.state:
            found.setdefault(self.lead.property.state, "property")
        for owner in self.owners:
            if owner.mailing_state:
                found.setdefault(owner.mailing_state, "mailing address")
        return found


Rule = Callable[[Attempt], Iterable[Finding]]


@dataclass(frozen=True)
class RecentAttempt:
    """A logged outbound attempt to the number (E2): when, on which channel, placed how."""

    at: datetime
    channel: str
    technology: str


@dataclass(frozen=True)
class StateCap:
    """One applicable state's cap (E2), as in force on the call date, and its own window."""

    state: str
    rule: StateCallingRule
    hours: int

    @property
    def channels(self) -> tuple[str, ...]:
        return (Channel.CALL, Channel.SMS) if self.rule.cap_counts_texts else (Channel.CALL,)

    def applies_to(self, channel: str, technology: str) -> bool:
        """Whether an attempt so made is capped here, and so counts: Maine caps and counts
        automated calls only, Maryland texts too, the others every call."""
        if self.rule.cap_automated_only and technology not in AUTOMATED:
            return False
        return channel in self.channels


def state_caps(attempt: Attempt) -> list[StateCap]:
    """The caps of the states that apply to the homeowner (E1), each with its window in
    force on the call date: the state's own (Maine: 8 hours), else the E2 default (24)."""
    if not attempt.is_telephone_solicitation:
        return []
    book, on = attempt.book, attempt.call_date
    caps = []
    for state in attempt.states:
        rule = book.state_rule(state, on)
        if rule is not None and rule.frequency_cap:
            hours = rule.cap_window_hours or int(book.parameter("E2", "cap_window_hours", on))
            caps.append(StateCap(state, rule, hours))
    return caps


@dataclass(frozen=True)
class ListFacts:
    registry_source_ids: frozenset = frozenset()
    internal_entry_ids: tuple = ()
    pending_review_ids: tuple = ()
    relationship_ids: tuple = ()
    # Stops the homeowner made on their other numbers and addresses (B1): what covers this one
    # when no entry was written for it (a number or address added since, a stop made earlier).
    owner_entry_ids: tuple = ()
    # One per attempt logged within the longest cap window of the states that apply (E2).
    recent_attempts: tuple[RecentAttempt, ...] = ()
    policy_acknowledged: bool = False  # the actor acknowledged the procedures in force (A4)
    attempts_12_months: int = 0  # logged outbound calls and texts to the number (A6)


_INTERNAL = InternalDncEntry._meta.db_table
_PHONES = Phone._meta.db_table
_EMAILS = Email._meta.db_table
_REVIEWS = RevocationReview._meta.db_table
_NUMBERS = DncNumber._meta.db_table
_RELATIONSHIPS = EstablishedRelationship._meta.db_table
_CHECKS = ComplianceCheck._meta.db_table
_ACKNOWLEDGEMENTS = PolicyAcknowledgement._meta.db_table


def _owner_ids(attempt: Attempt) -> list[int]:
    """Whose stops cover this attempt (B1): the owner of the number or address, the owner
    written to, every owner at the door; none for a number known to reach someone else."""
    if attempt.phone is not None and attempt.phone.status in (PhoneStatus.WRONG_PARTY, PhoneStatus.ERASED):
        return []
    if attempt.contact is not None and attempt.contact.pk:
        return [attempt.contact.pk]
    if attempt.channel == Channel.DOOR and attempt.lead.pk:
        return [contact.pk for contact in attempt.lead.contacts.all() if contact.pk]
    return []


def list_facts(attempt: Attempt) -> ListFacts:
    """Everything the rules read about a contact point: registries, the internal list,
    pending reviews, relationships, and the attempts in the cap windows (a batch of one)."""
    return GateReads([attempt]).facts(attempt)


def _cap_hours(attempt: Attempt) -> int:
    """The longest cap window of the states that apply (E2): every state's cap is counted
    from the attempts read over it, each over its own window."""
    return max((cap.hours for cap in state_caps(attempt)),
               default=int(attempt.book.parameter("E2", "cap_window_hours", attempt.call_date)))


def _marks(values) -> str:
    return ", ".join(["%s"] * len(values))


class GateReads:
    """What the rules read from the database for attempts evaluated together, each table
    read once for all of them (docs/compliance-rules.md#batched-reads).

    The attempts share the caller, the moment, the channel and the technology (the call
    queue asks about a chunk of its leads' numbers at once); only what is contacted
    differs. Each read runs the first time a rule asks it for any attempt, for every
    attempt of the batch, and each attempt's answer is cut from the rows exactly as the
    one-attempt query would select them, so an attempt's verdict does not depend on the
    others evaluated with it. Asked about one attempt, the gate is a batch of one: there
    is one code path.
    """

    def __init__(self, attempts: list[Attempt]):
        first = attempts[0]
        for attempt in attempts:
            if (attempt.actor.pk, attempt.at, attempt.channel, attempt.technology) != (
                    first.actor.pk, first.at, first.channel, first.technology):
                raise ValueError("attempts evaluated together share the caller, moment, channel and technology")
        self.attempts = attempts
        self.actor, self.at, self.channel, self.technology = first.actor, first.at, first.channel, first.technology
        self._phone_facts: dict[int, ListFacts] | None = None
        self._loaded: dict[str, dict] = {}

    def _once(self, name: str, load: Callable[[], dict]) -> dict:
        if name not in self._loaded:
            self._loaded[name] = load()
        return self._loaded[name]

    @property
    def _numbered(self) -> list[Attempt]:
        """The attempts to a dialled number (calls and texts): the batched list reads."""
        return [attempt for attempt in self.attempts if attempt.number]

    # The lists (A4-A6, B1, B4, C1, E2) -------------------------------------------------------

    def facts(self, attempt: Attempt) -> ListFacts:
        if not attempt.number:
            return _point_facts(attempt)
        if self._phone_facts is None or id(attempt) not in self._phone_facts:
            self._phone_facts = self._read_phone_facts()
        return self._phone_facts[id(attempt)]

    def _read_phone_facts(self) -> dict[int, ListFacts]:
        attempts = self._numbered
        first = attempts[0]
        numbers = sorted({attempt.number for attempt in attempts})
        nationals = {}
        for number in numbers:
            national = national_number(number)
            nationals.setdefault(national if national is not None else -1, []).append(number)
        hours = {id(attempt): _cap_hours(attempt) for attempt in attempts}
        widest = max(hours.values())
        # A6: the calls and texts counted toward "more than one in 12 months" (a parameter,
        # so counsel can widen it).
        lookback = int(first.book.parameter("A6", "lookback_days", first.call_date))
        lead_ids = sorted({attempt.lead.pk for attempt in attempts if attempt.lead.pk})
        at = connection.ops.adapt_datetimefield_value
        policy = first.policy
        ranges = " OR ".join(["(id >= %s AND id < %s)"] * len(nationals))
        # Five columns each part of the union shares: what the row is, its id (or a count),
        # a text, the number or address it is about, and a contact or lead id.
        sql = (f"SELECT 'r', id, '', '', CAST(NULL AS BIGINT) FROM {_NUMBERS} WHERE {ranges} "
               f"UNION ALL SELECT 'i', id, '', phone_number, NULL FROM {_INTERNAL} "
               f"WHERE phone_number IN ({_marks(numbers)}) "
               f"UNION ALL SELECT 'v', id, '', phone_number, NULL FROM {_REVIEWS} "
               f"WHERE phone_number IN ({_marks(numbers)}) AND status = 'pending' "
               f"UNION ALL SELECT 'e', id, '', phone_number, lead_id FROM {_RELATIONSHIPS} "
               f"WHERE phone_number IN ({_marks(numbers)})"
               + (f" OR lead_id IN ({_marks(lead_ids)}) " if lead_ids else " ") +
               # Each attempt's channel, technology and time, packed into the text column
               # (E2 counts each state over its own window from them). PostgreSQL writes the
               # time in its ISO DateStyle, which psycopg and the whole ORM require anyway;
               # SQLite gives its stored UTC text. Both parse back.
               f"UNION ALL SELECT 'c', id, channel || ' ' || technology || ' ' || CAST(checked_at AS TEXT), "
               f"contact_point, NULL FROM {_CHECKS} WHERE contact_point IN ({_marks(numbers)}) "
               "AND checked_at > %s AND checked_at <= %s AND mode = 'log' AND direction = 'outbound' "
               "AND verdict IN ('allow', 'warn') "
               f"UNION ALL SELECT 'a', id, '', '', NULL FROM {_ACKNOWLEDGEMENTS} WHERE user_id = %s "
               "AND policy_id = %s AND acknowledged_at <= %s "
               f"UNION ALL SELECT 'y', COUNT(*), '', contact_point, NULL FROM {_CHECKS} "
               f"WHERE contact_point IN ({_marks(numbers)}) "
               "AND checked_at > %s AND checked_at <= %s AND mode = 'log' AND direction = 'outbound' "
               "AND verdict IN ('allow', 'warn') GROUP BY contact_point")
        params = [bound for national in nationals for bound in (national * SOURCE_SPAN, (national + 1) * SOURCE_SPAN)]
        params += [*numbers, *numbers, *numbers, *lead_ids, *numbers,
                   at(self.at - timedelta(hours=widest)), at(self.at + timedelta(hours=widest)),
                   self.actor.pk, policy.pk if policy else -1, at(self.at),
                   *numbers, at(self.at - timedelta(days=lookback)), at(self.at)]
        # Stops the homeowners made on their other numbers and addresses (B1), with the
        # owner and the number or address each was found through.
        owners = sorted({owner for attempt in attempts for owner in _owner_ids(attempt)})
        if owners:
            sql += (f" UNION ALL SELECT 'o', i.id, '', p.number, p.contact_id FROM {_INTERNAL} i "
                    f"JOIN {_PHONES} p ON i.phone_number = p.number WHERE i.origin <> %s "
                    f"AND p.contact_id IN ({_marks(owners)}) AND p.status NOT IN (%s, %s) "
                    f"UNION ALL SELECT 'm', i.id, '', LOWER(m.address), m.contact_id FROM {_INTERNAL} i "
                    f"JOIN {_EMAILS} m ON i.email = LOWER(m.address) WHERE i.origin <> %s "
                    f"AND m.contact_id IN ({_marks(owners)})")
            params += [StopOrigin.COVERED.value, *owners, PhoneStatus.WRONG_PARTY.value, PhoneStatus.ERASED.value,
                       StopOrigin.COVERED.value, *owners]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        by_kind: dict[str, list] = {}
        for kind, value, text, point, other in rows:
            by_kind.setdefault(kind, []).append((value, text, point, other))
        listed: dict[str, set] = {}
        for key, _, _, _ in by_kind.get("r", ()):
            for number in nationals.get(key // SOURCE_SPAN, ()):
                listed.setdefault(number, set()).add(key % SOURCE_SPAN)
        acknowledged = bool(by_kind.get("a"))
        counts = {point: value for value, _, point, _ in by_kind.get("y", ())}
        recent = [(point, _recent_attempt(text)) for _, text, point, _ in by_kind.get("c", ())]
        found = {}
        for attempt in attempts:
            number, lead_id, window = attempt.number, attempt.lead.pk, timedelta(hours=hours[id(attempt)])
            mine = set(_owner_ids(attempt))
            found[id(attempt)] = ListFacts(
                registry_source_ids=frozenset(listed.get(number, ())),
                internal_entry_ids=tuple(sorted(v for v, _, point, _ in by_kind.get("i", ()) if point == number)),
                owner_entry_ids=tuple(sorted(
                    {v for v, _, point, owner in by_kind.get("o", ()) if owner in mine and point != number}
                    | {v for v, _, point, owner in by_kind.get("m", ()) if owner in mine and point != attempt.email})),
                pending_review_ids=tuple(sorted(v for v, _, point, _ in by_kind.get("v", ()) if point == number)),
                relationship_ids=tuple(sorted(v for v, _, point, lead in by_kind.get("e", ())
                                              if point == number or (lead_id and lead == lead_id))),
                recent_attempts=tuple(seen for point, seen in recent
                                      if point == number and attempt.at - window < seen.at <= attempt.at + window),
                policy_acknowledged=acknowledged,
                attempts_12_months=counts.get(number, 0),
            )
        return found

    def internal_entries(self, ids) -> dict[int, InternalDncEntry]:
        """The internal list's entries the batch's attempts hit, on their number or through
        their owners' other points (B1), with who recorded them."""
        def load():
            wanted = {pk for attempt in self._numbered
                      for pk in (*self.facts(attempt).internal_entry_ids, *self.facts(attempt).owner_entry_ids)}
            return {entry.pk: entry for entry in
                    InternalDncEntry.objects.filter(pk__in=wanted).select_related("recorded_by")}
        entries = self._once("internal", load)
        missing = [pk for pk in ids if pk not in entries]
        if missing:  # an attempt outside the batch's phone reads (an email, a letter): its own query
            entries.update((entry.pk, entry) for entry in
                           InternalDncEntry.objects.filter(pk__in=missing).select_related("recorded_by"))
        return entries

    def agent_entry(self, attempt: Attempt, days: int) -> AgentDncEntry | None:
        """The caller's own list's first entry on the attempt's number or address (B3)."""
        def load():
            asked = [a for a in self.attempts if "WA" in a.states and (a.number or a.email)]
            numbers = sorted({a.number for a in asked if a.number})
            emails = sorted({a.email for a in asked if not a.number and a.email})
            first = {}
            if numbers or emails:
                for entry in AgentDncEntry.objects.filter(
                    Q(phone_number__in=numbers) | Q(email__in=emails), agent=self.actor
                ).filter(
                    ~Q(source=AgentListSource.STOP) | Q(requested_at__gt=self.at - timedelta(days=days))
                ).order_by("requested_at", "pk"):
                    if entry.phone_number in numbers:
                        first.setdefault(("number", entry.phone_number), entry)
                    if entry.email in emails:
                        first.setdefault(("email", entry.email), entry)
            return first
        key = ("number", attempt.number) if attempt.number else ("email", attempt.email)
        return self._once(f"agent_list {days}", load).get(key)

    def resubscription(self, attempt: Attempt) -> TextResubscription | None:
        """The homeowner's last START texted from the number before the attempt (B4)."""
        def load():
            numbers = {a.number for a in self._numbered if self.facts(a).internal_entry_ids}
            last = {}
            for row in TextResubscription.objects.filter(phone_number__in=numbers, received_at__lte=self.at
                                                         ).order_by("-received_at", "-pk"):
                last.setdefault(row.phone_number, row)
            return last
        return self._once("resubscription", load).get(attempt.number)

    def pending_review(self, attempt: Attempt) -> RevocationReview | None:
        """The latest reply from the point that waits for review (B4)."""
        def load():
            wanted = {pk for a in self._numbered for pk in self.facts(a).pending_review_ids}
            return {review.pk: review for review in RevocationReview.objects.filter(pk__in=wanted)}
        reviews = self._once("reviews", load)
        mine = [reviews.get(pk) or RevocationReview.objects.get(pk=pk) for pk in attempt.facts.pending_review_ids]
        return max(mine, key=lambda review: (review.raised_at, review.pk), default=None)

    def relationships(self, attempt: Attempt) -> list[EstablishedRelationship]:
        """The brokerage's unrevoked relationships with the homeowner begun by the call date
        (C1), latest first."""
        def load():
            wanted = {pk for a in self._numbered for pk in self.facts(a).relationship_ids}
            return list(EstablishedRelationship.objects.not_revoked().filter(
                pk__in=wanted, started_on__lte=self.at_date, formed_with_brokerage=True,
            ).select_related("termination").order_by("-started_on", "-pk"))
        ids = set(attempt.facts.relationship_ids)
        return [relationship for relationship in self._once("relationships", load) if relationship.pk in ids]

    @property
    def at_date(self) -> date:
        return day_of(self.at)

    def pitched(self, attempt: Attempt) -> bool:
        """Whether a listing was pitched on the lead, or on a duplicate merged into it (C4)."""
        def load():
            leads = {a.lead.pk for a in self.attempts if a.lead.pk}
            # Two reads by index, never one OR across a join to the leads: that OR scans
            # every month of checks (about a minute at 50M rows; docs/database.md#partitions).
            merged = dict(Lead.objects.filter(merged_into__in=leads).values_list("pk", "merged_into"))
            pitched = set()
            for lead_id in ComplianceCheck.objects.filter(
                lead__in=leads | set(merged), purpose=Purpose.LISTING, mode=CheckMode.LOG,
                verdict__in=[Verdict.ALLOW, Verdict.WARN],
            ).order_by().values_list("lead_id", flat=True).distinct():
                pitched.add(lead_id)
                if lead_id in merged:
                    pitched.add(merged[lead_id])
            return {lead_id: True for lead_id in pitched & leads}
        return self._once("pitched", load).get(attempt.lead.pk, False)

    def interest_disclosed(self, attempt: Attempt) -> bool:
        """Whether the principal's written interest disclosure to the lead is on file (F8)."""
        def load():
            leads = {a.lead.pk for a in self.attempts if a.lead.pk}
            return dict.fromkeys(InterestDisclosure.objects.not_revoked().filter(
                lead__in=leads, principal=self.actor, disclosed_on__lte=self.at_date).values_list("lead_id", flat=True),
                True)
        return self._once("interest", load).get(attempt.lead.pk, False)

    def consent(self, attempt: Attempt) -> ConsentRecord | None:
        """The latest unrevoked consent naming the number that covers the channel and the
        technology (D4, D5)."""
        def load():
            records = ConsentRecord.objects.not_revoked().filter(
                phone_number__in={a.number for a in self._numbered}, obtained_at__lte=self.at)
            if self.channel == Channel.SMS:
                records = records.filter(covers_sms=True)
            if self.technology == Technology.AUTODIALER:
                records = records.filter(covers_autodialer=True)
            if self.technology == Technology.PRERECORDED:
                records = records.filter(covers_prerecorded=True)
            latest = {}
            for record in records.order_by("-obtained_at", "-pk"):
                latest.setdefault(record.phone_number, record)
            return latest
        return self._once("consent", load).get(attempt.number)

    def reassigned_check(self, attempt: Attempt) -> ReassignedNumberCheck | None:
        """The number's latest unrevoked Reassigned Numbers Database answer (D7)."""
        def load():
            latest = {}
            for check in ReassignedNumberCheck.objects.not_revoked().filter(
                phone_number__in={a.number for a in self._numbered}, queried_at__lte=self.at,
            ).order_by("-queried_at", "-pk"):
                latest.setdefault(check.phone_number, check)
            return latest
        return self._once("reassigned", load).get(attempt.number)


def _point_facts(attempt: Attempt) -> ListFacts:
    """What the lists hold for an email address, a mailing or a property address: their
    own query (only calls and texts are asked about in batches)."""
    if attempt.email:
        sql = (f"SELECT 'i', id FROM {_INTERNAL} WHERE email = %s "
               f"UNION ALL SELECT 'v', id FROM {_REVIEWS} WHERE email = %s AND status = 'pending'")
        params = [attempt.email, attempt.email]
    elif attempt.channel == Channel.MAIL and attempt.contact is not None:
        sql = f"SELECT 'i', id FROM {_INTERNAL} WHERE postal_address = %s"
        params = [attempt.contact.mailing_address_key()]
    elif attempt.channel == Channel.DOOR:
        sql = f"SELECT 'i', id FROM {_INTERNAL} WHERE postal_address = %s"
        params = [attempt.lead.property.address_key]
    else:
        return ListFacts()
    owners = _owner_ids(attempt)
    if owners:
        marks = _marks(owners)
        sql += (f" UNION ALL SELECT 'o', id FROM {_INTERNAL} WHERE origin <> %s AND ("
                f"phone_number IN (SELECT number FROM {_PHONES} WHERE contact_id IN ({marks}) "
                "AND status NOT IN (%s, %s) AND number <> %s) "
                f"OR email IN (SELECT LOWER(address) FROM {_EMAILS} WHERE contact_id IN ({marks}) "
                "AND LOWER(address) <> %s))")
        params += [StopOrigin.COVERED.value, *owners, PhoneStatus.WRONG_PARTY.value, PhoneStatus.ERASED.value,
                   attempt.number, *owners, attempt.email]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return ListFacts(
        internal_entry_ids=tuple(sorted(value for kind, value in rows if kind == "i")),
        owner_entry_ids=tuple(sorted({value for kind, value in rows if kind == "o"})),
        pending_review_ids=tuple(sorted(value for kind, value in rows if kind == "v")),
    )


def _recent_attempt(text: str) -> RecentAttempt:
    """A check row's "channel technology checked_at", as list_facts reads it: PostgreSQL
    writes the time with its offset, SQLite without one (stored in UTC)."""
    channel, technology, moment = text.split(" ", 2)
    at = datetime.fromisoformat(moment)
    return RecentAttempt(at if at.tzinfo else at.replace(tzinfo=UTC), channel, technology)


def _block(rule: rules.Rule, reason: str) -> Finding:
    return Finding(rule.id, Verdict.BLOCK, reason)


def _warn(rule: rules.Rule, reason: str) -> Finding:
    return Finding(rule.id, Verdict.WARN, reason)


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


# Who and what ---------------------------------------------------------------------------


def resolve_contact_point(attempt: Attempt) -> Iterable[Finding]:
    """Work out what is being contacted, and that it belongs to this lead (FC)."""
    point, lead = attempt.contact_point, attempt.lead
    if attempt.channel in PHONE_CHANNELS:
        if isinstance(point, Phone):
            if point.contact.lead_id != lead.pk:
                yield _block(rules.UNKNOWN_INPUT, NOT_THIS_LEAD.format(what="number"))
                return
            attempt.phone, attempt.number, attempt.contact = point, point.number, point.contact
        elif isinstance(point, str) and point.strip():
            parsed = parse_phone(point)
            if not parsed.ok:
                yield _block(rules.UNKNOWN_INPUT, BAD_NUMBER.format(raw=point, error=parsed.error))
                return
            attempt.number = parsed.e164
        else:
            yield _block(rules.UNKNOWN_INPUT, NO_NUMBER.format(channel=attempt.channel.label.lower()))
            return
        attempt.contact_point_text = attempt.number
    elif attempt.channel == Channel.EMAIL:
        if isinstance(point, Email):
            if point.contact.lead_id != lead.pk:
                yield _block(rules.UNKNOWN_INPUT, NOT_THIS_LEAD.format(what="email address"))
                return
            attempt.email, attempt.contact = point.address.lower(), point.contact
        elif isinstance(point, str) and "@" in point:
            attempt.email = point.strip().lower()
        else:
            yield _block(rules.UNKNOWN_INPUT, NO_EMAIL)
            return
        attempt.contact_point_text = attempt.email
        if attempt.direction == Direction.OUTBOUND:
            yield from _email_address_status(attempt, point)
    elif attempt.channel == Channel.MAIL:
        if not isinstance(point, Contact) or point.lead_id != lead.pk:
            yield _block(rules.UNKNOWN_INPUT, NOT_THIS_LEAD.format(what="owner"))
            return
        attempt.contact = point
        if not point.mailing_street:
            yield _block(rules.UNKNOWN_INPUT, NO_MAILING_ADDRESS)
            return
        attempt.contact_point_text = point.mailing_one_line
    else:  # a door knock is at the property itself
        prop = point if isinstance(point, Property) else lead.property
        if prop.pk != lead.property_id:
            yield _block(rules.UNKNOWN_INPUT, NOT_THIS_LEAD.format(what="address"))
            return
        attempt.contact_point_text = prop.one_line
    attempt.evidence["contact_point"] = attempt.contact_point_text


def _email_address_status(attempt: Attempt, point) -> Iterable[Finding]:
    """An address the email service reported bouncing cannot be delivered (FC); one whose
    owner marked our email as spam asked us to stop (B1). Reports mark every row with the
    address (pipeline.messaging.email), so a typed address is looked up among them."""
    if isinstance(point, Email):
        statuses = {point.status}
    else:
        statuses = set(Email.objects.filter(address__iexact=attempt.email).values_list("status", flat=True))
    if EmailStatus.COMPLAINED in statuses:
        yield _block(rules.INTERNAL_DNC, EMAIL_COMPLAINED.format(address=attempt.email))
    elif EmailStatus.BOUNCED in statuses:
        yield _block(rules.UNKNOWN_INPUT, EMAIL_BOUNCED.format(address=attempt.email))


def wrong_party(attempt: Attempt) -> Iterable[Finding]:
    """A number known to reach someone else is not the owner's any more (D7)."""
    if attempt.phone is not None and attempt.phone.status == PhoneStatus.WRONG_PARTY:
        yield _block(rules.REASSIGNED_NUMBER, WRONG_PARTY.format(number=attempt.phone.display))


# Lists ------------------------------------------------------------------------------------


def internal_list(attempt: Attempt) -> Iterable[Finding]:
    """The brokerage's own do-not-contact list applies to every agent at once (B1, B4).

    After a stop request, one non-marketing confirmation text may go out; nothing after.
    A START texted from the number lets texts (only) through again when every stop on file
    for it was texted from it before the START (``_why_start_does_not_lift``); the entries
    stay (B2).
    """
    if attempt.direction == Direction.INBOUND:
        return  # the homeowner reaching us is not outreach
    point = format_national(attempt.number) if attempt.number else (attempt.email or attempt.contact_point_text)
    ids = attempt.facts.internal_entry_ids
    found = attempt.batch.internal_entries(ids) if ids else {}
    entries = sorted((found[pk] for pk in ids), key=lambda entry: (entry.requested_at, entry.pk))
    attempt.evidence["internal_dnc_entries"] = [
        {"id": e.pk, "requested_at": e.requested_at.isoformat(), "channel": e.channel} for e in entries
    ]
    if attempt.purpose == Purpose.REVOCATION_CONFIRMATION:
        yield from _stop_confirmation(attempt, entries)
        return
    # Before the brokerage's list, whose START may let a text through: the agent's own
    # list is not the brokerage's to lift (B3).
    yield from agent_list(attempt, point)
    if not entries:
        yield from _owner_stopped(attempt, point)
        return
    resubscription = _resubscription(attempt)
    blocking, why = entries[0], ""
    if resubscription is not None:
        reasons = [(entry, _why_start_does_not_lift(attempt, entry, resubscription)) for entry in entries]
        attempt.evidence["text_resubscription"] = {
            "id": resubscription.pk, "received_at": resubscription.received_at.isoformat(),
            "lifted_entries": [entry.pk for entry, reason in reasons if reason is None],
        }
        refused = [(entry, reason) for entry, reason in reasons if reason is not None]
        if not refused:
            return  # every stop was texted from this number before the START: texts may go (B4)
        blocking, why = refused[-1]
        why = START_DOES_NOT_LIFT.format(words=resubscription.words, date=resubscription.received_at.date(),
                                         why=why)
    said = COVERED_HIT if blocking.origin == StopOrigin.COVERED else INTERNAL_HIT
    yield _block(
        rules.INTERNAL_DNC,
        said.format(
            point=point, date=blocking.requested_at.date().isoformat(), who=blocking.recorded_by,
            channel=blocking.get_channel_display().lower(), stopped_on=_point_text(blocking.stopped_on),
        ) + why,
    )


def agent_list(attempt: Attempt, point: str) -> Iterable[Finding]:
    """Washington: the acting agent's own do-not-call list, on top of the brokerage's (B3).

    Asked only when Washington may apply to the homeowner (E1's states); elsewhere the
    brokerage's list (B1) rules alone. A stop made to the agent counts for ``B3
    agent_list_days`` after it, whatever became of the brokerage's entry (a START, a
    revocation); a number the agent put on their list themselves, for good. One indexed
    query (agent, numbers or addresses) for the attempts evaluated together, none outside Washington.
    """
    if "WA" not in attempt.states:
        return
    if not (attempt.number or attempt.email):
        return  # letters and knocks: the brokerage's list (B1) covers addresses
    days = int(attempt.book.parameter("B3", "agent_list_days", attempt.call_date))
    entry = attempt.batch.agent_entry(attempt, days)
    if entry is None:
        return
    attempt.evidence["agent_dnc_entry"] = {"id": entry.pk, "source": entry.source,
                                           "requested_at": entry.requested_at.isoformat()}
    yield _block(rules.AGENT_LIST, AGENT_LIST_HIT.format(
        point=point, date=entry.requested_at.date().isoformat(), source=entry.get_source_display().lower()))


def _point_text(point: str) -> str:
    return format_national(point) if point.startswith("+") else point


def _owner_stopped(attempt: Attempt, point: str) -> Iterable[Finding]:
    """The homeowner asked us to stop on another of their numbers or addresses: nothing on
    this one either, whatever the channel (B1)."""
    ids = attempt.facts.owner_entry_ids
    if not ids:
        return
    found = attempt.batch.internal_entries(ids)
    first = min((found[pk] for pk in ids), key=lambda entry: (entry.requested_at, entry.pk))
    attempt.evidence["owner_internal_dnc_entries"] = list(ids)
    stopped_on = _point_text(first.phone_number or first.email)
    yield _block(rules.INTERNAL_DNC, OWNER_STOPPED.format(
        point=point, stopped_on=stopped_on, date=first.requested_at.date().isoformat(), who=first.recorded_by,
        channel=first.get_channel_display().lower()))


def _resubscription(attempt: Attempt) -> TextResubscription | None:
    """The homeowner's last START texted from this number before the attempt (B4), if any."""
    if attempt.channel not in PHONE_CHANNELS or not attempt.number:
        return None
    return attempt.batch.resubscription(attempt)


def _why_start_does_not_lift(attempt: Attempt, entry: InternalDncEntry,
                             resubscription: TextResubscription) -> str | None:
    """Why a START leaves ``entry`` blocking this attempt; None when it lifts it (B4).

    Only texts, and only a stop the homeowner texted from this number before the START:
    a stop said any other way, decided by a person, covering every channel, or made after
    the START still stands (docs/compliance-rules.md#b4-start).
    """
    day = entry.requested_at.date().isoformat()
    if attempt.channel != Channel.SMS:
        return START_NOT_FOR_CHANNEL.format(channel=attempt.channel.label.lower())
    if entry.requested_at >= resubscription.received_at:
        return STOP_AFTER_START.format(date=day)
    if entry.origin == StopOrigin.REVIEW:
        return STOP_ON_REVIEW.format(date=day, who=entry.recorded_by)
    if entry.origin == StopOrigin.WHOLE_CONTACT:
        return STOP_WHOLE_CONTACT.format(date=day)
    if entry.channel != Channel.SMS:
        return STOP_SAID_ELSEWHERE.format(date=day, how=SAID_HOW.get(entry.channel, entry.get_channel_display()))
    if entry.origin != StopOrigin.TEXT_REPLY:
        return STOP_NOT_TEXTED.format(date=day, who=entry.recorded_by)
    return None


def _stop_confirmation(attempt: Attempt, entries: list[InternalDncEntry]) -> Iterable[Finding]:
    """One non-marketing text may confirm a stop request, soon after it, once (B4, 64.1200(a)(12)).

    Anything else sent under this purpose is blocked, so the purpose is never a way around
    the telephone rules.
    """
    if attempt.channel != Channel.SMS:
        yield _block(rules.REVOCATION, CONFIRMATION_TEXT_ONLY)
        return
    # Only a stop already made can be confirmed: a confirmation dated before it is no confirmation.
    made = [entry for entry in entries if entry.requested_at <= attempt.at]
    if not made:
        yield _block(rules.REVOCATION, CONFIRMATION_WITHOUT_STOP)
        return
    if not (attempt.message or "").strip():
        yield _block(rules.REVOCATION, CONFIRMATION_BLANK)
        return
    last = made[-1]
    minutes = int(attempt.book.parameter("B4", "confirmation_window_minutes", attempt.call_date))
    if attempt.at - last.requested_at > timedelta(minutes=minutes):
        yield _block(rules.REVOCATION, CONFIRMATION_TOO_LATE.format(
            minutes=minutes, date=last.requested_at.date().isoformat()))
        return
    # The words that turn it into a pitch are data, those in force that day (B4 word lists).
    pitch = attempt.book.words(attempt.call_date).confirmation_pitch(attempt.message or "")
    if pitch:
        yield _block(rules.REVOCATION, CONFIRMATION_MARKETING.format(word=pitch.group(0)))
        return
    # One per stop request, whatever date it was logged with.
    sent = ComplianceCheck.objects.filter(
        contact_point=attempt.number, purpose=Purpose.REVOCATION_CONFIRMATION, mode=CheckMode.LOG,
        verdict__in=[Verdict.ALLOW, Verdict.WARN],
    ).filter(Q(checked_at__gte=last.requested_at) | Q(evidence__revocation_confirmation__after_entry=last.pk)
             ).order_by("checked_at").first()
    if sent is not None:
        yield _block(rules.REVOCATION, CONFIRMATION_USED.format(date=sent.checked_at.date().isoformat()))
        return
    attempt.evidence["revocation_confirmation"] = {"after_entry": last.pk}


def pending_revocation(attempt: Attempt) -> Iterable[Finding]:
    """An ambiguous reply waits for a person to decide whether it revoked consent (B4)."""
    if attempt.direction == Direction.INBOUND or not attempt.facts.pending_review_ids:
        return
    review = attempt.batch.pending_review(attempt)
    if review is not None:
        attempt.evidence["revocation_review"] = review.pk
        yield _warn(rules.REVOCATION, PENDING_REVIEW.format(matched=review.matched))


def mail_flags(attempt: Attempt) -> Iterable[Finding]:
    """Do Not Mail is the owner's request to stop mail, honoured like any other (B1)."""
    if attempt.channel == Channel.MAIL and attempt.contact is not None and attempt.contact.do_not_mail:
        yield _block(rules.INTERNAL_DNC, DO_NOT_MAIL.format(name=attempt.contact.display_name))


def _relationship_until(attempt: Attempt, relationship: EstablishedRelationship,
                        source: DncSource | None = None) -> date:
    texas_list = source if source is not None and _is_texas_list(source) and "TX" in attempt.states else None
    return relationship_until(relationship, book=attempt.book, on=attempt.call_date, states=attempt.states,
                              texas_list=texas_list)


def _is_texas_list(source: DncSource) -> bool:
    return source.kind == RegistryKind.STATE and source.state == "TX"


def relationship_until(relationship: EstablishedRelationship, *, book: Rulebook, on: date,
                       states: Iterable[str], texas_list: DncSource | None = None) -> date:
    """The last day a relationship allows calls (C1, C2), by the rule numbers in force on ``on``
    and the states of the homeowner: what the gate decides with and the lead page shows.

    A relationship that ended (``RelationshipTermination``, read through
    ``relationship.termination``: select it with the relationship) allows nothing from the
    day it ended, except on ``texas_list`` (the Texas no-call list, for a Texas homeowner):
    there it counts until the later of ``C2 tx_after_termination_days`` after and the first
    Texas list naming the number after it (``_texas_listed_on``)."""
    until = _window_until(relationship, book=book, on=on, states=states)
    termination = getattr(relationship, "termination", None)
    if termination is None or termination.terminated_on > until:
        return until  # over before it was ended: the ending changes nothing
    ended = termination.terminated_on
    if texas_list is None:
        return ended - timedelta(days=1)
    days = int(book.parameter("C2", "tx_after_termination_days", on))
    listed = _texas_listed_on(texas_list, relationship.phone_number, after=ended)
    return max(ended + timedelta(days=days), listed or ended)


def _texas_listed_on(source: DncSource, number: str, *, after: date) -> date | None:
    """The first Texas list published on or after ``after`` that the data shows naming
    ``number`` (C2); None when the data cannot tell.

    A number's ``added_on`` is the version of the file that last wrote it: a full list
    rewrites every number it holds, so only a change list that added it shows the lists
    before did not name it. Anything else cannot rule out an earlier list naming it, and
    the year after the ending alone applies (the shorter, so fail closed)."""
    national = national_number(number)
    if national is None:
        return None
    by_change = RegistryLoad.objects.filter(source=source, kind=LoadKind.CHANGE, status=LoadStatus.DONE,
                                            version_date=OuterRef("added_on"))
    row = DncNumber.objects.filter(id=DncNumber.key(national, source.pk)).annotate(
        by_change=Exists(by_change)).values("added_on", "by_change").first()
    if row is None or row["added_on"] is None or not row["by_change"] or row["added_on"] < after:
        return None
    return row["added_on"]


def _window_until(relationship: EstablishedRelationship, *, book: Rulebook, on: date, states: Iterable[str]) -> date:
    """C1's window, shortened by a state's purchase window (C2)."""
    if relationship.kind == RelationshipKind.INQUIRY:
        # "3 months": the shorter of 3 calendar months and 90 days ([UNVERIFIED] which).
        months = int(book.parameter("C1", "inquiry_months", on))
        days = int(book.parameter("C1", "inquiry_days", on))
        return min(_add_months(relationship.started_on, months), relationship.started_on + timedelta(days=days))
    months = int(book.parameter("C1", "transaction_months", on))
    for state in states:  # C2: a state may shorten the purchase window (WA 12 months)
        rule = book.state_rule(state, on)
        if rule is not None and rule.ebr_purchase_months:
            months = min(months, rule.ebr_purchase_months)
    return _add_months(relationship.started_on, months)


def registries(attempt: Attempt) -> Iterable[Finding]:
    """Registries held: national, state and litigator lists (A5, A6), with EBR (C1) and C4.

    The number's logged calls and texts in the last 12 months go in the evidence (A6): more
    than one to a registered number is what a private suit needs.
    """
    if attempt.is_stop_confirmation or not attempt.is_telephone_solicitation:
        return
    sources = attempt.book.sources
    hits = attempt.facts.registry_source_ids
    attempt.evidence["registries"] = [
        {"source": s.name, "kind": s.kind, "san": s.subscription_account_number,
         "data_as_of": s.data_as_of.isoformat() if s.data_as_of else None, "listed": s.pk in hits}
        for s in sources
    ]
    attempt.evidence["attempts_12_months"] = attempt.facts.attempts_12_months
    number = format_national(attempt.number)
    listed = [s for s in sources if s.pk in hits]
    for source in listed:
        as_of = f" (data as of {source.data_as_of:%b %d, %Y})" if source.data_as_of else ""
        if source.kind == RegistryKind.LITIGATOR:
            yield _block(rules.LITIGATOR, LITIGATOR_HIT.format(number=number, source=source.name, as_of=as_of))
            continue
        relationship = _valid_relationship(attempt, source)
        if relationship is not None:
            until = _relationship_until(attempt, relationship, source)
            yield _warn(rules.RELATIONSHIP, EBR_ALLOWS.format(
                number=number, source=source.name, kind=relationship.get_kind_display().split(" (")[0].lower(),
                start=relationship.started_on, until=until))
        elif _offer_only(attempt):
            yield _warn(rules.OFFER_TO_BUY, OFFER_ONLY.format(
                number=number, source=source.name, opted=attempt.brokerage.investor_offer_opt_in_on))
        else:
            yield _block(rules.REGISTRY_DNC, REGISTRY_HIT.format(number=number, source=source.name, as_of=as_of))


def _valid_relationship(attempt: Attempt, source: DncSource | None = None) -> EstablishedRelationship | None:
    """The brokerage's own relationship with this homeowner, still in its window for the
    list ``source`` (C1; C2: Texas counts an ended one a while longer on its own list)."""
    if not attempt.facts.relationship_ids:
        return None
    # A relationship a broker revoked is no evidence at all (docs/compliance-rules.md#evidence).
    for relationship in attempt.batch.relationships(attempt):
        if attempt.call_date <= _relationship_until(attempt, relationship, source):
            attempt.evidence["relationship"] = {
                "id": relationship.pk, "kind": relationship.kind, "started_on": relationship.started_on.isoformat()
            }
            termination = getattr(relationship, "termination", None)
            if termination is not None:
                attempt.evidence["relationship"]["terminated_on"] = termination.terminated_on.isoformat()
            return relationship
    return None


def _offer_only(attempt: Attempt) -> bool:
    """C4: an offer to buy, opted into in writing, from a lead never pitched services."""
    opted = attempt.brokerage.investor_offer_opt_in_on
    if attempt.purpose != Purpose.OFFER_TO_BUY or opted is None or opted > attempt.call_date:
        return False
    if SERVICE_PITCH.search(attempt.message or ""):
        return False
    # A duplicate merged into this lead keeps its checks (append-only): a pitch made on it counts.
    return not attempt.batch.pitched(attempt)


def _subscription_findings(book: Rulebook, call_date: date) -> Iterable[Finding]:
    for source in book.national_sources:
        expires = source.subscription_expires_on
        if not source.subscription_account_number or expires is None:
            # Without the account and its term on record, the data's lawful use is unknown.
            yield _block(rules.SUBSCRIPTION, SAN_MISSING.format(source=source.name))
        elif expires < call_date:
            yield _block(rules.SUBSCRIPTION, SAN_EXPIRED.format(
                source=source.name, san=source.subscription_account_number or "?", date=expires))


def subscription(attempt: Attempt) -> Iterable[Finding]:
    """Registry data is used only under the brokerage's current subscription (A1): once it
    lapses, calls and texts stop rather than run on a list nobody refreshes."""
    if attempt.is_stop_confirmation or not attempt.is_telephone_solicitation:
        return
    yield from _subscription_findings(attempt.book, attempt.call_date)


def _safe_harbor_findings(policy, acknowledged: bool) -> Iterable[Finding]:
    if policy is None:
        yield _block(rules.SAFE_HARBOR, NO_POLICY)
    elif not acknowledged:
        yield _block(rules.SAFE_HARBOR, NOT_ACKNOWLEDGED.format(date=policy.adopted_on))


def safe_harbor(attempt: Attempt) -> Iterable[Finding]:
    """Written procedures in force on the call date, and this caller trained on that version
    before the call, for every call or text (A4)."""
    if attempt.is_stop_confirmation or not attempt.is_telephone_solicitation:
        return
    policy = attempt.policy
    if policy is not None:
        attempt.evidence["policy"] = {"id": policy.pk, "adopted_on": policy.adopted_on.isoformat(),
                                      "acknowledged": attempt.facts.policy_acknowledged}
    yield from _safe_harbor_findings(policy, policy is not None and attempt.facts.policy_acknowledged)


def caller_refusals(*, actor: User, at: datetime) -> list[Finding]:
    """The refusals that hold for every call ``actor`` could make at ``at``, whoever the
    homeowner (A1, A4): for a batch of numbers (the call queue), asked once, not per number.
    The same rules, read the same way, as ``subscription`` and ``safe_harbor``."""
    book = rulebook()
    call_date = day_of(at)
    policy = book.policy_on(call_date)
    acknowledged = policy is not None and PolicyAcknowledgement.objects.filter(
        user=actor, policy=policy, acknowledged_at__lte=at).exists()
    return [*_subscription_findings(book, call_date), *_safe_harbor_findings(policy, acknowledged)]


def federal_window(book: Rulebook, on: date) -> tuple[time, time]:
    """The hours of day calls may be made in the homeowner's zone (D1), as parameters say."""
    return (time(int(book.parameter("D1", "window_start_hour", on))),
            time(int(book.parameter("D1", "window_end_hour", on))))


@dataclass(frozen=True)
class StateDay:
    """One applicable state's calling rules on one local day (E1, E3)."""

    state: str
    window: tuple[time, time] | None  # its hours that weekday; None: no calls that weekday (E1)
    holiday: str | None  # the name of its holiday that day, when it allows no calls on them (E3)
    no_calendar: bool = False  # no calendar covers the year: taken as a holiday (fail closed)


@dataclass(frozen=True)
class CallingDay:
    """The calling rules of one day in one of the homeowner's zones: the federal window (D1)
    and each applicable state's (E1, E3), all as in force on that local day. The one reading
    of them behind both the gate's ``calling_hours`` and the window the lead page shows
    (``window_in_force``), so the two cannot tell different stories."""

    day: date
    federal: tuple[time, time]
    states: tuple[StateDay, ...]

    @property
    def window(self) -> tuple[time, time] | None:
        """D1 narrowed by every state's window (E1, the strictest); None when a state
        allows no calls that day (E1 weekday, E3 holiday) or the windows do not meet."""
        start, end = self.federal
        for state in self.states:
            if state.window is None or state.holiday:
                return None
            start, end = max(start, state.window[0]), min(end, state.window[1])
        return (start, end) if start < end else None


def calling_day(book: Rulebook, states: Iterable[str], local: datetime) -> CallingDay:
    """The rules for ``local``'s own day in its zone (D1 and E1 are in the called party's
    local time, E3 holidays are local calendar days): the rule versions in force on that
    day, its weekday and its holidays, whatever the date is in UTC."""
    day = local.date()
    found = []
    for state in states:
        rule = book.state_rule(state, day)
        if rule is not None:
            holiday, no_calendar = _holiday(book, state, day) if rule.no_holidays else (None, False)
            found.append(StateDay(state=state, window=rule.window_on(local.weekday()), holiday=holiday,
                                  no_calendar=no_calendar))
    return CallingDay(day=day, federal=federal_window(book, day), states=tuple(found))


def _holiday(book: Rulebook, state: str, day: date) -> tuple[str | None, bool]:
    try:
        return book.holiday(state, day), False
    except NoCalendar:
        return "no calendar", True


def window_in_force(book: Rulebook, states: Iterable[str], local: datetime) -> tuple[time, time] | None:
    """The hours calls may be made on ``local``'s day in its zone: the federal window (D1)
    narrowed by every applicable state's (E1); None when a state allows none that day, a
    Sunday (E1) or one of its holidays (E3). What the lead page shows beside each of the
    homeowner's clocks; ``calling_hours`` decides by the same ``calling_day``, with each
    refusal's own reason."""
    return calling_day(book, states, local).window


def zip_prefixes_in_calling_hours(book: Rulebook, at: datetime) -> list[str]:
    """The three-digit ZIP prefixes where it is calling hours at ``at`` in every zone the
    prefix spans, by D1 and its states' windows and holidays (E1, E3): what the lead list's
    "callable now" filter narrows to in the database. The gate still decides each call, with
    the owners' mailing addresses and the number's own zones (G2), which only narrow this."""
    return sorted(prefix for prefix, (zones, states) in zip3_places().items()
                  if all(_in_calling_hours(book, states, at.astimezone(zoneinfo.ZoneInfo(zone))) for zone in zones))


def _in_calling_hours(book: Rulebook, states, local: datetime) -> bool:
    window = window_in_force(book, states, local)
    return window is not None and window[0] <= local.time() < window[1]


def freshness(attempt: Attempt) -> Iterable[Finding]:
    """The national data for the number's area code is at most 31 days old on the call date (A3)."""
    if attempt.is_stop_confirmation or not attempt.is_telephone_solicitation:
        return
    found = attempt.book.national_version(attempt.area_code, attempt.call_date) if attempt.area_code else None
    if found is None:
        attempt.evidence["freshness"] = {"area_code": attempt.area_code, "version": None}
        yield _block(rules.FRESHNESS, NO_REGISTRY_DATA.format(area_code=attempt.area_code or "?"))
        return
    version_date, source = found
    age = (attempt.call_date - version_date).days
    limit = int(attempt.book.parameter("A3", "max_age_days", attempt.call_date))
    warn_at = int(attempt.book.parameter("A3", "warn_age_days", attempt.call_date))
    attempt.evidence["freshness"] = {
        "area_code": attempt.area_code, "source": source.name, "version": version_date.isoformat(),
        "age_days": age, "limit_days": limit,
    }
    details = {"area_code": attempt.area_code, "age": age, "version": version_date, "limit": limit}
    if age > limit:
        yield _block(rules.FRESHNESS, STALE.format(**details))
    elif age >= warn_at:
        yield _warn(rules.FRESHNESS, AGING.format(**details))


# When and where ------------------------------------------------------------------------------


def candidate_zones(attempt: Attempt) -> tuple[dict[str, list[str]], tuple[str, ...]]:
    """Zones to respect and where each came from (G2); and the phone's own zones."""
    zones: dict[str, list[str]] = {}
    phone_zones = phone_time_zones(attempt.number) if attempt.number else ()
    address_zones = []
    property_zone = zip_time_zone(attempt.lead.property.zip_code)
    if property_zone:
        address_zones.append((property_zone, "property ZIP"))
    for owner in attempt.owners:
        zone = zip_time_zone(owner.mailing_zip)
        if zone:
            address_zones.append((zone, "mailing ZIP"))
    max_phone_zones = int(attempt.book.parameter("G2", "max_phone_zones", attempt.call_date))
    if len(phone_zones) <= max_phone_zones:
        for zone in phone_zones:
            zones.setdefault(zone, []).append("phone number")
    for zone, origin in address_zones:
        zones.setdefault(zone, []).append(origin)
    return zones, phone_zones


def calling_hours(attempt: Attempt) -> Iterable[Finding]:
    """Inside the federal window (D1) and every applicable state's (E1, E3), in every zone (G2),
    as in force on that zone's own day (``calling_day``: the window the lead page shows)."""
    if attempt.is_stop_confirmation or not attempt.is_telephone_solicitation:
        return
    book, on = attempt.book, attempt.call_date
    zones, phone_zones = candidate_zones(attempt)
    max_phone_zones = int(book.parameter("G2", "max_phone_zones", on))
    states = attempt.states
    attempt.evidence["states"] = states
    zone_evidence = attempt.evidence.setdefault("zones", [])
    if not zones:
        if len(phone_zones) > max_phone_zones:
            yield _block(rules.TIME_ZONES, UNKNOWN_ZONES.format(
                number=format_national(attempt.number), count=len(phone_zones)))
        else:
            yield _block(rules.TIME_ZONES, NO_ZONE)
        return
    for zone, origins in zones.items():
        local = attempt.at.astimezone(zoneinfo.ZoneInfo(zone))
        origin = ", ".join(origins)
        clock = local.strftime("%a %H:%M:%S %Z")
        zone_evidence.append({"zone": zone, "from": origins, "local_time": local.isoformat()})
        # The zone's own day, as the lead page's window reads it (window_in_force).
        today, now = calling_day(book, states, local), local.time()
        start, end = today.federal
        if not (start <= now < end):
            yield _block(rules.CALLING_WINDOW, OUTSIDE_FEDERAL.format(
                local=clock, zone=zone, origin=origin, start=start.strftime("%H:%M"), end=end.strftime("%H:%M")))
        for state in today.states:
            if state.window is None:
                yield _block(rules.STATE_WINDOW, NO_CALLS_TODAY.format(
                    weekday=local.strftime("%A"), zone=zone, origin=origin, state=state.state))
            elif not (state.window[0] <= now < state.window[1]):
                yield _block(rules.STATE_WINDOW, OUTSIDE_STATE.format(
                    local=clock, zone=zone, origin=origin, state=state.state,
                    start=state.window[0].strftime("%H:%M"), end=state.window[1].strftime("%H:%M")))
            if state.no_calendar:
                yield _block(rules.STATE_HOLIDAY, NO_HOLIDAY_CALENDAR.format(day=today.day, state=state.state,
                                                                            zone=zone))
            elif state.holiday:
                yield _block(rules.STATE_HOLIDAY, HOLIDAY.format(day=today.day, state=state.state, zone=zone,
                                                                name=state.holiday))


def frequency_caps(attempt: Attempt) -> Iterable[Finding]:
    """State caps on attempts per number in a rolling window, counted across the brokerage (E2):
    each state over its own window, counting what it caps (Maine: automated calls only)."""
    if attempt.is_stop_confirmation or not attempt.is_telephone_solicitation:
        return
    caps = state_caps(attempt)
    if not caps:
        return
    recent = attempt.facts.recent_attempts
    for cap in caps:
        if not cap.applies_to(attempt.channel, attempt.technology):
            continue
        window = timedelta(hours=cap.hours)
        # Logged outbound attempts within the window on either side: one logged late, or by a
        # colleague a moment after this attempt began, still counts (fail closed).
        count = sum(1 for seen in recent if attempt.at - window < seen.at <= attempt.at + window
                    and cap.applies_to(seen.channel, seen.technology))
        counted = {"count": count, "cap": cap.rule.frequency_cap, "hours": cap.hours, "channels": list(cap.channels)}
        if cap.rule.cap_automated_only:
            counted["automated_only"] = True
        attempt.evidence.setdefault("attempts_counted", {})[cap.state] = counted
        if count >= cap.rule.frequency_cap:
            what = ("automated call" if cap.rule.cap_automated_only else "attempt") + ("" if count == 1 else "s")
            yield _block(rules.FREQUENCY_CAP, CAP_REACHED.format(
                count=count, what=what, number=format_national(attempt.number), hours=cap.hours, state=cap.state,
                cap=cap.rule.frequency_cap))


# Consent ---------------------------------------------------------------------------------------


def consent(attempt: Attempt) -> Iterable[Finding]:
    """Texts, autodialed and prerecorded or AI-voice calls need written consent (D4, D5), and
    a consented number is checked against the Reassigned Numbers Database (D7)."""
    if not attempt.is_telephone_solicitation:
        return
    automated = attempt.technology in AUTOMATED
    if attempt.channel != Channel.SMS and not automated:
        return
    if attempt.is_stop_confirmation:
        return  # the one non-marketing confirmation (B4) needs no consent
    record = attempt.batch.consent(attempt)
    number = format_national(attempt.number)
    if record is None:
        rule = rules.PRERECORDED if attempt.technology == Technology.PRERECORDED else rules.AUTOMATED
        what = {Technology.PRERECORDED: "A prerecorded or AI-voice call",
                Technology.AUTODIALER: "An autodialed call"}.get(attempt.technology, "A text")
        yield _block(rule, NO_CONSENT.format(what=what, number=number))
        return
    attempt.evidence["consent"] = {"id": record.pk, "obtained_at": record.obtained_at.isoformat()}
    check = attempt.batch.reassigned_check(attempt)
    recheck_days = int(attempt.book.parameter("D7", "rnd_recheck_days", attempt.call_date))
    if check is not None:
        attempt.evidence["reassigned_numbers_check"] = {"id": check.pk, "result": check.result,
                                                       "queried_at": check.queried_at.isoformat()}
    if check is not None and check.result == RndResult.YES:
        yield _block(rules.REASSIGNED_NUMBER, RND_YES.format(number=number, consent_date=check.consent_date))
    elif check is not None and check.result == RndResult.NO_DATA:
        yield _warn(rules.REASSIGNED_NUMBER, RND_NO_DATA.format(number=number))
    elif check is None:
        yield _warn(rules.REASSIGNED_NUMBER, RND_NEVER.format(number=number))
    elif attempt.at - check.queried_at > timedelta(days=recheck_days):
        yield _warn(rules.REASSIGNED_NUMBER, RND_STALE.format(number=number, days=recheck_days))


def abandonment(attempt: Attempt) -> Iterable[Finding]:
    """The app dials by hand, one call at a time (D6): a call an agent logs as placed by a
    dialer of their own warns, naming the abandonment limits that dialer must keep.

    A warning, not a refusal: the call has been made by the time it is logged, and refusing
    the log would lose the record (and its count toward the caps, E2) rather than the call.
    Nor can the app measure another system's abandonment rate, so it says what must be kept.
    """
    if not (attempt.is_telephone_solicitation and attempt.channel == Channel.CALL
            and attempt.technology == Technology.AUTODIALER):
        return
    book, on = attempt.book, attempt.call_date
    limits = {key: f"{book.parameter('D6', key, on).normalize():f}" for key in ABANDONMENT_LIMITS}
    attempt.evidence["abandonment_limits"] = limits
    yield _warn(rules.ABANDONMENT, OWN_DIALER.format(**limits))


def texas(attempt: Attempt) -> Iterable[Finding]:
    """Calls (and, from 2025-09-01, texts) to Texas homeowners need a registration (E4)."""
    if attempt.is_stop_confirmation or not attempt.is_telephone_solicitation:
        return
    texan = "TX" in attempt.states or area_code_state(attempt.area_code) == "TX"
    rule = attempt.book.state_rule("TX", attempt.call_date) if texan else None
    if rule is None or not rule.registration_required:
        return
    if attempt.channel == Channel.SMS and not rule.registration_covers_texts:
        return
    brokerage = attempt.brokerage
    attempt.evidence["texas"] = {
        "registration": brokerage.texas_registration_number, "exemption": bool(brokerage.texas_exemption.strip())}
    if not (brokerage.texas_registration_number or brokerage.texas_exemption.strip()):
        what = "A text" if attempt.channel == Channel.SMS else "A call"
        yield _block(rules.TEXAS_REGISTRATION, TEXAS_UNREGISTERED.format(what=what))


# Who is speaking, and what they say -------------------------------------------------------------


def role_disclosure(attempt: Attempt) -> Iterable[Finding]:
    """Every contact states who is calling and in what role (D3); a principal says so (F8)."""
    sentence = role_disclosure_sentence(actor=attempt.actor, brokerage=attempt.brokerage, lead=attempt.lead)
    is_principal = attempt.actor.capacity == Capacity.PRINCIPAL
    written = is_principal and attempt.batch.interest_disclosed(attempt)
    attempt.evidence["disclosure"] = {
        "sentence": sentence,
        "confirmed": attempt.role_disclosed,
        "capacity": attempt.actor.capacity,
        "license_status": attempt.actor.license_status,
        "written_interest_disclosure": written,
    }
    if not attempt.role_disclosed:
        if is_principal:
            yield _block(rules.PRINCIPAL_DISCLOSURE, PRINCIPAL_NOT_DISCLOSED.format(sentence=sentence))
        else:
            yield _block(rules.ROLE_DISCLOSURE, NOT_DISCLOSED.format(sentence=sentence))
    if is_principal and attempt.actor.is_licensee and attempt.purpose == Purpose.OFFER_TO_BUY and not written:
        yield _warn(rules.PRINCIPAL_DISCLOSURE, PRINCIPAL_NEEDS_WRITING)


def content(attempt: Attempt) -> Iterable[Finding]:
    """What is said or sent: prohibited promises (F6) and representations (F5), and, for a
    text from a sender outside the licensee stay, Regulation O's disclosures (F3).

    A warning here, on the note of what was said or sent: the words the app itself sends
    (a text, an email, a template) are refused before they reach the gate
    (``pipeline.messaging.services.text_content_findings``, the email merge, the template
    checks), and a note of a call cannot be unsaid.

    F3 is judged here on the sender alone: the service and the fees on the lead are the
    pipeline's, which compliance does not read, so the gate takes the short-sale listing
    and does not ask a principal for the fee sentence (no fee may be recorded). The send
    paths judge the lead's service and fee (``pipeline.deals.reg_o``); the evidence says
    which view this was."""
    # Nothing said, nothing to find: the call queue asks about calls not yet made, by the
    # hundred, and reading the phrases over an empty note cost most of each verdict.
    hits = language_hits(attempt.message, on=attempt.call_date) if (attempt.message or "").strip() else []
    if hits:
        attempt.evidence["language"] = [{"phrase": hit.label, "text": hit.text, "rule": hit.rule} for hit in hits]
    for hit in hits:
        yield Finding(hit.rule, Verdict.WARN, PROHIBITED_PHRASE.format(text=hit.text, why=hit.why))
    if (attempt.channel == Channel.SMS and attempt.direction == Direction.OUTBOUND and attempt.message.strip()
            and not attempt.is_stop_confirmation
            and disclosures_required(actor=attempt.actor, service=Service.SHORT_SALE_LISTING)):
        fee_required = attempt.actor.capacity != Capacity.PRINCIPAL
        missing = missing_disclosures(attempt.message, fee_required=fee_required)
        attempt.evidence["reg_o_disclosures"] = {
            "required": True, "missing": [m.key for m in missing], "view": "sender only",
            "service": Service.SHORT_SALE_LISTING, "fee_required": fee_required}
        if missing:
            yield _warn(rules.DISCLOSURES, missing_message(missing))


# resolve_contact_point fills in what the others read; the rest are independent.
RULE_CHAIN: tuple[Rule, ...] = (
    resolve_contact_point,
    wrong_party,
    internal_list,
    pending_revocation,
    mail_flags,
    registries,
    subscription,
    safe_harbor,
    freshness,
    calling_hours,
    frequency_caps,
    consent,
    abandonment,
    texas,
    role_disclosure,
    content,
)


def evaluate(attempt: Attempt) -> tuple[Verdict, list[Finding]]:
    return evaluate_many([attempt])[0]


def evaluate_many(attempts: list[Attempt]) -> list[tuple[Verdict, list[Finding]]]:
    """Each attempt's verdict and findings, the rules' reads made once for all of them
    (``GateReads``): what ``evaluate`` gives for each alone."""
    if not attempts:
        return []
    # What is contacted first, for all: the batch's reads are keyed on the numbers.
    resolved = [list(resolve_contact_point(attempt)) for attempt in attempts]
    reads = GateReads(attempts)
    for attempt in attempts:
        attempt.reads = reads
    results = []
    for attempt, findings in zip(attempts, resolved, strict=True):
        if any(f.severity == Verdict.BLOCK for f in findings):
            # Nothing else can be judged about an unknown contact point, but the
            # disclosure is still recorded so the evidence says what the agent confirmed.
            findings.extend(role_disclosure(attempt))
        else:
            for rule in RULE_CHAIN[1:]:
                findings.extend(rule(attempt))
        results.append((_worst(findings), findings))
    return results


def outreach_verdicts(*, targets: Iterable[tuple[Lead, object]], channel: Channel | str, purpose: Purpose | str,
                      actor: User, at: datetime, role_disclosed: bool = True,
                      technology: Technology | str = Technology.MANUAL) -> list[tuple[Verdict, list[Finding], dict]]:
    """The gate's verdict on each (lead, contact point) of ``targets`` for one caller at one
    moment, nothing recorded: for each, what ``outreach_verdict`` answers alone, with the
    lists read once for all (the call queue asks a chunk of its leads' numbers at once)."""
    book = rulebook()
    attempts = [
        Attempt(lead=lead, channel=Channel(channel), purpose=Purpose(purpose), actor=actor, at=at,
                role_disclosed=role_disclosed, brokerage=book.brokerage, contact_point=point,
                technology=Technology(technology), mode=CheckMode.PREVIEW)
        for lead, point in targets
    ]
    return [(verdict, findings, attempt.evidence)
            for attempt, (verdict, findings) in zip(attempts, evaluate_many(attempts), strict=True)]


def _worst(findings: list[Finding]) -> Verdict:
    if any(f.severity == Verdict.BLOCK for f in findings):
        return Verdict.BLOCK
    return Verdict.WARN if findings else Verdict.ALLOW


def calling_hours_open_at(*, lead: Lead, phones: Iterable[Phone], after: datetime, actor: User,
                          horizon_days: int = 10) -> datetime | None:
    """The first moment at or after ``after`` when a call to each of ``phones`` is inside the
    federal window (D1) and every applicable state's (E1, E3) in all the homeowner's zones
    (G2): when a call follow-up falls due. With no phone, the addresses' zones decide.

    Only the clock rules are asked: whether the number may be called at all is the gate's
    business when the call is made. The windows can only open at one of their own start
    times, so those (each day, each zone, each rule) are the only moments to try. None when
    no zone is known, or nothing opens within ``horizon_days``.
    """
    book = rulebook()
    attempts = _clock_attempts(book=book, lead=lead, phones=phones, at=after, actor=actor)
    zones = {zone for attempt in attempts for zone in candidate_zones(attempt)[0]}
    if not zones:
        return None
    states = {state for attempt in attempts for state in attempt.states}
    candidates = {after}
    for zone_name in zones:
        zone = zoneinfo.ZoneInfo(zone_name)
        first_day = after.astimezone(zone).date()
        for offset in range(horizon_days + 1):
            day = first_day + timedelta(days=offset)
            starts = {federal_window(book, day)[0]}
            for state in states:
                rule = book.state_rule(state, day)
                window = rule.window_on(day.weekday()) if rule is not None else None
                if window is not None:
                    starts.add(window[0])
            candidates.update(moment for start in starts
                              if (moment := datetime.combine(day, start, tzinfo=zone)) >= after)
    for moment in sorted(candidates):
        if all(not list(calling_hours(_at(attempt, moment))) for attempt in attempts):
            return moment
    return None


def _clock_attempts(*, book: Rulebook, lead: Lead, phones: Iterable[Phone], at: datetime, actor: User) -> list[Attempt]:
    """A call to each of ``phones`` (or to the lead's addresses alone), contemplated at ``at``:
    what the clock rules and the zones (G2) are read from."""
    attempts = []
    for point in list(phones) or [None]:
        attempt = Attempt(lead=lead, channel=Channel.CALL, purpose=Purpose.LISTING, actor=actor, at=at,
                          role_disclosed=True, brokerage=book.brokerage, contact_point=point,
                          mode=CheckMode.PREVIEW)
        if point is not None:
            list(resolve_contact_point(attempt))
        attempts.append(attempt)
    return attempts


def homeowner_zones(*, lead: Lead, phones: Iterable[Phone], actor: User, at: datetime) -> set[str]:
    """Every time zone the homeowner may be in (G2): the numbers' area codes, the property's
    and the mailing addresses' ZIP codes. Empty when none can be told."""
    attempts = _clock_attempts(book=rulebook(), lead=lead, phones=phones, at=at, actor=actor)
    return {zone for attempt in attempts for zone in candidate_zones(attempt)[0]}


def _at(attempt: Attempt, moment: datetime) -> Attempt:
    """The same call, contemplated at another moment (the cached answers are the time's own)."""
    moved = Attempt(**{name: getattr(attempt, name) for name in attempt.__dataclass_fields__})
    moved.at, moved.evidence = moment, {}
    return moved
