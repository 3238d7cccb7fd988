"""Writes of the compliance app, and the one outreach gate.

``outreach_check`` is called by ``pipeline.outreach.services.outreach_log`` (the only code that
creates an ``OutreachAttempt``) in the same transaction. Every call leaves a
``ComplianceCheck`` row, allowed or not: the decision on a real attempt. The verdicts
shown before anything is logged (``outreach_preview``, ``outreach_verdict``) are asked
of the same rules and recorded nowhere.
"""

from __future__ import annotations

import csv
import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import reduce
from operator import or_

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Max, Q
from django.utils import timezone
from django.utils.formats import date_format

from leadcrm.accounts.models import User
from leadcrm.shared.heartbeat import heartbeat
from leadcrm.shared.uploads import Stored, Upload, open_binary, upload_store
from leads.merging import lead_ids_with_merged
from leads.models import Contact, Email, Lead, Phone, PhoneStatus
from leads.phones import parse_phone
from leads.services import contact_set_do_not_mail

from .gate import Attempt, Finding, evaluate
from .language import highlighted, language_hits
from .models import (
    REGISTRY_STALLED_AFTER,
    SOURCE_SPAN,
    AgentDncEntry,
    AgentListSource,
    AreaCodeVersion,
    Channel,
    CheckMode,
    ComplianceCheck,
    Direction,
    DncNumber,
    DncPolicy,
    DncSource,
    EstablishedRelationship,
    InternalDncEntry,
    LoadKind,
    LoadStatus,
    PolicyAcknowledgement,
    Purpose,
    RegistryKind,
    RegistryLoad,
    RelationshipTermination,
    ReviewStatus,
    RevocationReview,
    StopOrigin,
    Technology,
    TerminationShownBy,
    TextResubscription,
    Verdict,
    national_number,
)
from .registry import (
    NeedsLineByLine,
    ParsedRegistry,
    RegistryFileRejected,
    parse_registry,
    read_registry_bytes,
    registry_zip_check,
    write_registry,
)
from .rulebook import forget as forget_rulebook
from .rulebook import rulebook

NEEDS_CONTACT_POINT = "A do-not-contact entry needs a phone number, an email or a postal address."
NOT_THIS_LEAD = "That number or address does not belong to this lead's owners."
UNPARSEABLE_NUMBER = "Registry line {line}: {error}"
TEMPLATE_REFUSED = ("{rules}: not saved. Remove or reword what a homeowner may not be told (a promise only the "
                    "lender can make, or a misrepresentation): {phrases}.")
STATE_NEEDED = "A state list needs its state."
FUTURE_VERSION = "A registry file cannot be dated in the future."
BAD_AREA_CODE = "{code!r} is not an area code (three digits)."
ACKNOWLEDGEMENT = (
    "I have read the brokerage's Do Not Call procedures adopted {date:%b %d, %Y}, I have been trained on "
    "them, and I will follow them on every call and text."
)


@dataclass(frozen=True)
class Decision:
    """The gate's answer: a verdict, why, and what it looked at."""

    verdict: Verdict
    findings: tuple[Finding, ...]
    evidence: dict
    # The recorded check; None for a preview, which is never recorded.
    check: ComplianceCheck | None
    channel: Channel = Channel.CALL

    @property
    def allowed(self) -> bool:
        return self.verdict != Verdict.BLOCK

    @property
    def rule_ids(self) -> list[str]:
        return sorted({finding.rule for finding in self.findings})

    @property
    def reasons(self) -> list[str]:
        return [finding.reason for finding in self.findings]

    def findings_with(self, severity: Verdict) -> list[Finding]:
        return [finding for finding in self.findings if finding.severity == severity]


def outreach_verdict(
    *,
    lead: Lead,
    contact_point,
    channel: Channel | str,
    purpose: Purpose | str,
    actor: User,
    at: datetime | None = None,
    role_disclosed: bool = True,
    technology: Technology | str = Technology.MANUAL,
) -> tuple[Verdict, list[Finding], dict]:
    """The gate's verdict for a contact not (yet) being made; nothing is recorded.

    For reads that ask "could I call now?" of many numbers (the call queue). The agent is
    taken to disclose their role on the call (D3), the one rule that depends on the call
    itself; logging the call still goes through ``outreach_check`` and keeps its evidence.
    """
    decision = outreach_preview(lead=lead, contact_point=contact_point, channel=channel, purpose=purpose,
                                actor=actor, at=at, role_disclosed=role_disclosed, technology=technology)
    return decision.verdict, list(decision.findings), decision.evidence


def outreach_preview(
    *,
    lead: Lead,
    contact_point,
    channel: Channel | str,
    purpose: Purpose | str,
    actor: User,
    at: datetime | None = None,
    role_disclosed: bool = False,
    message: str = "",
    technology: Technology | str = Technology.MANUAL,
    direction: Direction | str = Direction.OUTBOUND,
) -> Decision:
    """The gate's verdict on an outreach form as it stands, before anything is logged.

    Asked of the same rules as ``outreach_check`` but recorded nowhere: the form asks on
    every change (and refuses under D3 until the disclosure is ticked), so a stored row
    would be no decision about any attempt, and counting it would make agents look as if
    they had called without disclosing. Only logging an attempt leaves evidence.
    """
    attempt = _attempt(mode=CheckMode.PREVIEW, lead=lead, contact_point=contact_point, channel=channel,
                       purpose=purpose, actor=actor, at=at or timezone.now(), role_disclosed=role_disclosed,
                       message=message, technology=technology, direction=direction)
    verdict, findings = evaluate(attempt)
    return Decision(verdict=verdict, findings=tuple(findings), evidence=attempt.evidence, check=None,
                    channel=attempt.channel)


def _attempt(*, mode: CheckMode, lead: Lead, contact_point, channel, purpose, actor: User, at: datetime,
             role_disclosed: bool, message: str, technology, direction) -> Attempt:
    """The attempt the rules are asked about: the same for a preview and for a logged check."""
    return Attempt(
        lead=lead, channel=Channel(channel), purpose=Purpose(purpose), actor=actor, at=at,
        role_disclosed=role_disclosed, brokerage=rulebook().brokerage, contact_point=contact_point,
        technology=Technology(technology), direction=Direction(direction), mode=mode, message=message,
    )


def outreach_check(
    *,
    lead: Lead,
    contact_point,
    channel: Channel | str,
    purpose: Purpose | str,
    actor: User,
    at: datetime | None = None,
    role_disclosed: bool = False,
    message: str = "",
    technology: Technology | str = Technology.MANUAL,
    direction: Direction | str = Direction.OUTBOUND,
) -> Decision:
    """Decide whether ``actor`` may contact ``contact_point`` of ``lead`` at ``at``, and record it.

    ``contact_point`` is a ``Phone`` (or a number as typed) for calls and texts, an
    ``Email`` for email, a ``Contact`` for mail and the ``Property`` for a door knock.
    ``message`` is what is said or sent (notes, a text's body), checked for prohibited
    promises. The check is the decision on an attempt being logged; a verdict shown
    before that is ``outreach_preview``'s, and is not recorded.
    """
    at = at or timezone.now()
    if timezone.is_naive(at):
        raise ValueError("outreach_check needs an aware datetime")
    attempt = _attempt(mode=CheckMode.LOG, lead=lead, contact_point=contact_point, channel=channel,
                       purpose=purpose, actor=actor, at=at, role_disclosed=role_disclosed, message=message,
                       technology=technology, direction=direction)
    verdict, findings = evaluate(attempt)
    evidence = {**attempt.evidence, "checked_at": at.isoformat(), "mode": str(CheckMode.LOG)}
    check = ComplianceCheck(
        checked_at=at,
        actor=actor,
        lead=lead,
        channel=attempt.channel,
        purpose=attempt.purpose,
        technology=attempt.technology,
        direction=attempt.direction,
        contact_point=attempt.contact_point_text[:200],
        mode=CheckMode.LOG,
        verdict=verdict,
        rule_ids=sorted({finding.rule for finding in findings}),
        findings=[finding.as_dict() for finding in findings],
        evidence=evidence,
    )
    # The actor and lead are instances in hand: no need for a query each to validate them.
    check.full_clean(exclude=["actor", "lead"], validate_unique=False, validate_constraints=False)
    with transaction.atomic():
        check.save()
    return Decision(verdict=verdict, findings=tuple(findings), evidence=evidence, check=check,
                    channel=attempt.channel)


# Safe harbor (A4) ------------------------------------------------------------------------------


def dnc_policy_adopt(*, text: str, adopted_by: User, adopted_on: date | None = None, title: str = "") -> DncPolicy:
    """Publish a version of the written procedures; every caller acknowledges it before calling (A4)."""
    policy = DncPolicy(text=(text or "").strip(), adopted_on=adopted_on or timezone.localdate(), adopted_by=adopted_by,
                       **({"title": title.strip()} if title.strip() else {}))
    policy.full_clean()
    policy.save()
    return policy


def dnc_policy_template(brokerage_name: str) -> str:
    """A starting text for the written procedures, to be adapted by the broker (A4)."""
    from django.template.loader import render_to_string

    return render_to_string("compliance/dnc_policy_template.txt", {"brokerage": brokerage_name}).strip()


def dnc_policy_current() -> DncPolicy | None:
    return DncPolicy.objects.in_force(timezone.localdate())


def policy_acknowledge(*, user: User, policy: DncPolicy, at: datetime | None = None) -> PolicyAcknowledgement:
    """Record that ``user`` read and will follow ``policy``; twice is the same as once."""
    acknowledgement, _ = PolicyAcknowledgement.objects.get_or_create(
        policy=policy, user=user,
        defaults={"statement": ACKNOWLEDGEMENT.format(date=policy.adopted_on), "acknowledged_at": at or timezone.now()},
    )
    return acknowledgement


# A number known to reach someone else, or erased at the owner's request: not the owner's.
NOT_THE_OWNERS = (PhoneStatus.WRONG_PARTY, PhoneStatus.ERASED)

@transaction.atomic
def internal_dnc_add(
    *,
    channel: Channel | str,
    homeowner_words: str,
    recorded_by: User,
    phone_number: str = "",
    email: str = "",
    postal_address: str = "",
    lead: Lead | None = None,
    requested_at: datetime | None = None,
    origin: StopOrigin | str = StopOrigin.OTHER,
    cover_owner: bool = True,
) -> InternalDncEntry:
    """Put one number, email or postal address on the internal list; it applies at once (B1).

    Never expires and is never deleted (B2): a second request adds a second entry.
    ``origin``: ``TEXT_REPLY`` only for a stop the homeowner texted from ``phone_number``
    itself, the one kind a START texted later from it may lift, for texts (B4).

    A stop on a number or an email address is the homeowner's, not the channel's: every
    other number, email and mailing address of each owner who has it is covered too
    (``owner_points_cover``), so nothing reaches them on any channel.
    """
    if phone_number:
        parsed = parse_phone(phone_number)
        if not parsed.ok:
            raise ValidationError({"phone_number": parsed.error})
        phone_number = parsed.e164
    if not (phone_number or email or postal_address):
        raise ValidationError(NEEDS_CONTACT_POINT)
    entry = InternalDncEntry(
        phone_number=phone_number,
        email=email.strip().lower(),
        postal_address=postal_address,
        channel=channel,
        homeowner_words=homeowner_words,
        recorded_by=recorded_by,
        lead=lead,
        requested_at=requested_at or timezone.now(),
        origin=StopOrigin(origin),
    )
    entry.full_clean()
    entry.save()
    agent_lists_add_stops([entry])
    covered = owner_points_cover(entry) if cover_owner and (phone_number or entry.email) else []
    numbers = [phone_number] + [other.phone_number for other in covered]
    if any(numbers):
        phones_reflag(numbers=[number for number in numbers if number])
    return entry


def _owners_of(*, phone_number: str = "", email: str = "") -> list[Contact]:
    """The owners a number or an address is theirs: never through a number known to reach
    someone else (a wrong party), nor an erased one."""
    ids = set()
    if phone_number:
        ids |= set(Phone.objects.filter(number=phone_number).exclude(status__in=NOT_THE_OWNERS)
                   .values_list("contact_id", flat=True))
    if email:
        ids |= set(Email.objects.filter(address__iexact=email).values_list("contact_id", flat=True))
    return list(Contact.objects.filter(pk__in=ids).prefetch_related("phones", "emails"))


def owner_points_cover(entry: InternalDncEntry, owners: list[Contact] | None = None) -> list[InternalDncEntry]:
    """Cover the other numbers, emails and mailing addresses of the owners of ``entry``'s
    number or address (B1): one entry each, naming the point the stop came on, unless the
    point is on the list already. Returns the entries written."""
    stopped_on = entry.phone_number or entry.email
    owners = _owners_of(phone_number=entry.phone_number, email=entry.email) if owners is None else owners
    listed_numbers, listed_emails, listed_addresses = set(), set(), set()
    points = []
    for owner in owners:
        points += [("phone_number", phone.number, owner) for phone in owner.phones.all()
                   if phone.status not in NOT_THE_OWNERS]
        points += [("email", email.address.lower(), owner) for email in owner.emails.all()]
        points.append(("postal_address", owner.mailing_address_key(), owner))
    wanted = {(field, value) for field, value, _owner in points if value and value != stopped_on}
    if not wanted:
        return []
    listed = InternalDncEntry.objects.filter(
        Q(phone_number__in={v for f, v in wanted if f == "phone_number"})
        | Q(email__in={v for f, v in wanted if f == "email"})
        | Q(postal_address__in={v for f, v in wanted if f == "postal_address"}))
    for number, email, address in listed.values_list("phone_number", "email", "postal_address"):
        listed_numbers.add(number)
        listed_emails.add(email)
        listed_addresses.add(address)
    already = {"phone_number": listed_numbers, "email": listed_emails, "postal_address": listed_addresses}
    written, seen = [], set()
    for field, value, owner in points:
        if not value or value == stopped_on or value in already[field] or (field, value) in seen:
            continue
        seen.add((field, value))
        covering = InternalDncEntry(
            **{field: value}, channel=entry.channel, homeowner_words=entry.homeowner_words,
            origin=StopOrigin.COVERED, stopped_on=stopped_on, requested_at=entry.requested_at,
            recorded_by=entry.recorded_by, lead_id=owner.lead_id)
        # An address held on the owner is covered as it is held, even one Django's validator
        # would refuse as typed (no dot in the domain): it is the one an email would go to.
        covering.full_clean(exclude=["email"])
        written.append(covering)
    InternalDncEntry.objects.bulk_create(written)
    agent_lists_add_stops(written)
    return written


def new_phones_cover(*, phones) -> list[InternalDncEntry]:
    """A number added to an owner who asked us to stop is covered at once, like the others (B1)."""
    written = []
    for phone in phones.select_related("contact").exclude(status__in=NOT_THE_OWNERS):
        if InternalDncEntry.objects.filter(phone_number=phone.number).exists():
            continue
        siblings = InternalDncEntry.objects.filter(
            Q(phone_number__in=Phone.objects.filter(contact_id=phone.contact_id).exclude(pk=phone.pk)
              .exclude(status__in=NOT_THE_OWNERS).values("number"))
            | Q(email__in=Email.objects.filter(contact_id=phone.contact_id).values("address")),
        ).exclude(origin=StopOrigin.COVERED).order_by("requested_at", "pk").first()
        if siblings is None:
            continue
        written.append(InternalDncEntry.objects.create(
            phone_number=phone.number, channel=siblings.channel, homeowner_words=siblings.homeowner_words,
            origin=StopOrigin.COVERED, stopped_on=siblings.phone_number or siblings.email,
            requested_at=siblings.requested_at, recorded_by=siblings.recorded_by, lead_id=phone.contact.lead_id))
    agent_lists_add_stops(written)
    return written


# Washington agents' own lists (B3) ---------------------------------------------------------

AGENT_LIST_BLANK = "Paste at least one number or email address, one a line (or a CSV with them in the first column)."
AGENT_LIST_TOO_MANY = "At most {limit} lines at a time: split the list."
AGENT_LIST_BAD_LINE = "Line {line}: “{value}” is neither a phone number nor an email address."
AGENT_LIST_ALREADY = "Line {line}: {value} is on your list already."
AGENT_LIST_REPEATED = "Line {line}: {value} is on line {first} too."
AGENT_LIST_MAX_LINES = 5000
_HEADER_WORDS = {"phone", "number", "phone number", "email", "e-mail", "contact"}


def agent_lists_add_stops(entries: Iterable[InternalDncEntry]) -> list[AgentDncEntry]:
    """Put each stop on a number or email on the own list of every agent it was made to (B3):
    who recorded it (a person, not the automation that files a texted STOP) and the lead's
    agent (a texted STOP or an unsubscribe reaches the lead's agent).

    Written for every stop, wherever the homeowner is: the gate reads an agent's list only
    when Washington may apply, and a homeowner's state may be known only later. Addresses
    (letters, knocks) stay the brokerage's list's alone. Two queries, however many entries."""
    entries = [entry for entry in entries if entry.phone_number or entry.email]
    if not entries:
        return []
    lead_agents = dict(Lead.objects.filter(pk__in={entry.lead_id for entry in entries if entry.lead_id})
                       .exclude(assigned_agent=None).values_list("pk", "assigned_agent_id"))
    people = set(User.objects.filter(pk__in={entry.recorded_by_id for entry in entries}, is_active=True)
                 .values_list("pk", flat=True))
    written = []
    for entry in entries:
        agents = {entry.recorded_by_id} & people
        if entry.lead_id in lead_agents:
            agents.add(lead_agents[entry.lead_id])
        written += [AgentDncEntry(agent_id=agent_id, phone_number=entry.phone_number, email=entry.email,
                                  source=AgentListSource.STOP, requested_at=entry.requested_at, stop=entry,
                                  lead_id=entry.lead_id, recorded_by_id=entry.recorded_by_id)
                    for agent_id in sorted(agents)]
    AgentDncEntry.objects.bulk_create(written)
    return written


@dataclass(frozen=True)
class AgentListImport:
    added: list[AgentDncEntry]
    errors: list[str]  # one per refused line, naming it: nothing was added
    already: list[str] = dataclasses.field(default_factory=list)  # lines on the list before: skipped, not refused

    @property
    def ok(self) -> bool:
        return not self.errors


def _agent_list_point(value: str) -> tuple[str, str, str]:
    """(phone_number, email, error) of one pasted value."""
    if "@" in value:
        email = value.strip().lower()
        try:
            AgentDncEntry._meta.get_field("email").run_validators(email)
        except ValidationError as error:
            return "", "", " ".join(error.messages).rstrip(".").lower()
        return "", email, ""
    parsed = parse_phone(value)
    if not parsed.ok:
        return "", "", str(parsed.error).rstrip(".")
    return parsed.e164, "", ""


@transaction.atomic
def agent_list_import(*, agent: User, text: str, note: str = "", recorded_by: User | None = None,
                      at: datetime | None = None) -> AgentListImport:
    """Add pasted numbers and email addresses to ``agent``'s own list (B3): one a line, or a
    CSV whose first column holds them (a header line is skipped).

    All or nothing: a list with a line that cannot be read adds none of it, and every such
    line is named, so the agent fixes the list and pastes it again. A value already on the
    list is not added twice (named, not refused)."""
    lines = [(number, row[0].strip() if row else "")
             for number, row in enumerate(csv.reader(text.splitlines()), start=1)]
    lines = [(number, value) for number, value in lines if value]
    if lines and lines[0][1].lower() in _HEADER_WORDS:
        lines = lines[1:]
    if not lines:
        raise ValidationError(AGENT_LIST_BLANK)
    if len(lines) > AGENT_LIST_MAX_LINES:
        raise ValidationError(AGENT_LIST_TOO_MANY.format(limit=AGENT_LIST_MAX_LINES))
    errors, wanted, seen = [], [], {}
    for number, value in lines:
        phone_number, email, error = _agent_list_point(value)
        if error:  # the parser's own words repeat the value: one plain sentence says it all
            errors.append(AGENT_LIST_BAD_LINE.format(line=number, value=value))
            continue
        point = phone_number or email
        if point in seen:
            errors.append(AGENT_LIST_REPEATED.format(line=number, value=value, first=seen[point]))
            continue
        seen[point] = number
        wanted.append((number, phone_number, email))
    if errors:
        return AgentListImport(added=[], errors=errors)
    own = AgentDncEntry.objects.filter(agent=agent, source=AgentListSource.OWN_LIST)
    listed = set(own.filter(phone_number__in=[p for _, p, _ in wanted if p]).values_list("phone_number", flat=True))
    listed |= set(own.filter(email__in=[e for _, _, e in wanted if e]).values_list("email", flat=True))
    at = at or timezone.now()
    rows, notes = [], []
    for number, phone_number, email in wanted:
        if (phone_number or email) in listed:
            notes.append(AGENT_LIST_ALREADY.format(line=number, value=phone_number or email))
            continue
        row = AgentDncEntry(agent=agent, phone_number=phone_number, email=email, source=AgentListSource.OWN_LIST,
                            note=note.strip()[:200], requested_at=at, recorded_by=recorded_by or agent)
        rows.append(row)
    AgentDncEntry.objects.bulk_create(rows)
    return AgentListImport(added=rows, errors=[], already=notes)


# Relationship terminations (C2) -------------------------------------------------------------

TERMINATION_FUTURE = "That is in the future: record the ending once it has happened."
TERMINATION_BEFORE_START = "The relationship cannot end before it started ({started})."
TERMINATION_ALREADY = "This relationship's ending was already recorded on {date}; an ending stands once recorded."
TERMINATION_OTHER_LEAD = "That relationship is not this lead's."


@transaction.atomic
def relationship_terminate(*, relationship: EstablishedRelationship, lead: Lead, terminated_on: date,
                           shown_by: TerminationShownBy | str, recorded_by: User) -> RelationshipTermination:
    """Record the day a relationship ended (C1, C2): appended beside it, once.

    From that day it allows no call, except on the Texas list for a Texas homeowner, where
    it still counts a while (docs/compliance-rules.md#c2)."""
    if relationship.lead_id not in set(lead_ids_with_merged(lead)):
        raise ValidationError(TERMINATION_OTHER_LEAD)
    if terminated_on > timezone.localdate():
        raise ValidationError({"terminated_on": TERMINATION_FUTURE})
    if terminated_on < relationship.started_on:
        raise ValidationError({"terminated_on": TERMINATION_BEFORE_START.format(
            started=date_format(relationship.started_on, "M j, Y"))})
    earlier = RelationshipTermination.objects.filter(relationship=relationship).first()
    if earlier is not None:
        raise ValidationError(TERMINATION_ALREADY.format(date=date_format(earlier.terminated_on, "M j, Y")))
    termination = RelationshipTermination(relationship=relationship, lead=lead, terminated_on=terminated_on,
                                          shown_by=TerminationShownBy(shown_by), recorded_by=recorded_by)
    termination.full_clean()
    try:
        with transaction.atomic():
            termination.save()
    except IntegrityError:  # recorded a moment ago by someone else
        raise ValidationError(TERMINATION_ALREADY.format(date=date_format(terminated_on, "M j, Y"))) from None
    return termination


WHOLE_CONTACT_NEEDS_OWNER = (
    "“Do not contact” covers everything of one owner: pick the number, email or owner from the lead, "
    "not a typed one."
)


@transaction.atomic
def stop_request_record(
    *,
    lead: Lead,
    channel: Channel | str,
    contact_point,
    homeowner_words: str,
    recorded_by: User,
    at: datetime | None = None,
    whole_contact: bool = False,
    texted_by_homeowner: bool = False,
    cover_owner: bool = True,
) -> list[InternalDncEntry]:
    """A homeowner asked us to stop: suppress what they asked about, for everyone, at once.

    ``texted_by_homeowner``: the words came in a text from the number itself (an inbound
    text filed by pipeline.messaging), not as an agent's account of them: the one kind of
    stop a later START may lift, for texts (docs/compliance-rules.md#b4-start).

    ``whole_contact``: they asked not to be contacted at all ("do not contact me"): every
    number, email and mailing address of that owner, whatever the channel it was said on.

    ``cover_owner``: False when the one asking is not the owner (the number reached someone
    else, a wrong number): the stop covers that number alone, not the owner's others (B1).

    Never gated: a request to stop is honoured even when the attempt it came in on was
    refused (B1, B4). On the phone it covers that number; by email that address; by mail
    that mailing address (and the owner is marked Do Not Mail); said at the door it covers
    the door, and every number, email and mailing address of the lead's owners.
    """
    channel = Channel(channel)
    phones: list[str] = []
    emails: list[str] = []
    addresses: list[str] = []
    owner = contact_point.contact if isinstance(contact_point, Phone | Email) else contact_point
    if isinstance(owner, Contact) and owner.lead_id != lead.pk:
        raise ValidationError(NOT_THIS_LEAD)
    if isinstance(contact_point, Phone):
        phones.append(contact_point.number)
    elif isinstance(contact_point, Email):
        emails.append(contact_point.address)
    elif isinstance(contact_point, Contact):
        addresses.append(contact_point.mailing_address_key())
        contact_set_do_not_mail(contact=contact_point)
    elif channel == Channel.DOOR:
        contacts = list(lead.contacts.prefetch_related("phones", "emails"))
        phones = [phone.number for contact in contacts for phone in contact.phones.all()]
        emails = [email.address for contact in contacts for email in contact.emails.all()]
        addresses = [lead.property.address_key] + [c.mailing_address_key() for c in contacts]
        for contact in contacts:
            contact_set_do_not_mail(contact=contact)
    elif isinstance(contact_point, str) and channel == Channel.EMAIL:
        emails.append(contact_point)
    elif isinstance(contact_point, str):
        phones.append(contact_point)  # internal_dnc_add parses it, or says why it cannot
    if whole_contact and channel != Channel.DOOR and not isinstance(owner, Contact):
        raise ValidationError(WHOLE_CONTACT_NEEDS_OWNER)
    if whole_contact and isinstance(owner, Contact):  # at the door every owner is covered already
        phones += [phone.number for phone in owner.phones.all()]
        emails += [email.address for email in owner.emails.all()]
        addresses.append(owner.mailing_address_key())
        contact_set_do_not_mail(contact=owner)
    if not (phones or emails or any(addresses)):
        raise ValidationError(NEEDS_CONTACT_POINT)

    common = {"channel": channel, "homeowner_words": homeowner_words, "recorded_by": recorded_by,
              "lead": lead, "requested_at": at}
    # Said in a text about the number it came from: the one kind of stop a START texted later
    # from that number may lift, for texts (B4). "Not at all" covers every channel, for good.
    texted = texted_by_homeowner and channel == Channel.SMS and not whole_contact
    origin = StopOrigin.WHOLE_CONTACT if whole_contact else StopOrigin.OTHER
    entries = [internal_dnc_add(phone_number=number, **common, cover_owner=False,
                                origin=StopOrigin.TEXT_REPLY if texted and index == 0 else origin)
               for index, number in enumerate(dict.fromkeys(phones))]
    entries += [internal_dnc_add(email=address, **common, origin=origin, cover_owner=False)
                for address in dict.fromkeys(emails)]
    entries += [internal_dnc_add(postal_address=key, **common, origin=origin, cover_owner=False)
                for key in dict.fromkeys(addresses) if key]
    # Then everything else of the owners of the first number or address (B1).
    first = next((entry for entry in entries if entry.phone_number or entry.email), None)
    if first is not None and cover_owner:
        covered = owner_points_cover(first)
        numbers = [entry.phone_number for entry in covered if entry.phone_number]
        if numbers:
            phones_reflag(numbers=numbers)
        entries += covered
    return entries


def template_language_check(text: str) -> None:
    """Refuse a script, template or guide that makes a prohibited promise (F6) or
    representation (F5); the error's code is the first hit's rule.

    The error carries the text with each phrase marked, for the form to show.
    """
    hits = language_hits(text)
    if hits:
        error = ValidationError(
            TEMPLATE_REFUSED.format(rules=", ".join(sorted({hit.rule for hit in hits})),
                                    phrases=", ".join(f"“{hit.text}”" for hit in hits)), code=hits[0].rule
        )
        error.highlighted = highlighted(text, hits)
        error.hits = hits
        raise error


def revocation_review_raise(
    *, lead: Lead, contact_point, text: str, matched: str, raised_by: User, at: datetime | None = None
) -> RevocationReview:
    """An ambiguous reply goes to a person (B4); until then the gate warns on that number."""
    review = RevocationReview(
        lead=lead,
        phone_number=contact_point.number if isinstance(contact_point, Phone) else "",
        email=contact_point.address if isinstance(contact_point, Email) else "",
        text=text,
        matched=matched[:120],
        raised_by=raised_by,
        raised_at=at or timezone.now(),
    )
    if isinstance(contact_point, str):
        parsed = parse_phone(contact_point)
        review.phone_number = parsed.e164 if parsed.ok else ""
    review.full_clean()
    review.save()
    return review


@transaction.atomic
def revocation_review_decide(*, review: RevocationReview, revoked: bool, reviewed_by: User) -> RevocationReview:
    """A person decides: a revocation goes on the internal list at once; otherwise it is closed."""
    review = RevocationReview.objects.select_for_update().get(pk=review.pk)
    if review.status != ReviewStatus.PENDING:
        return review
    if revoked:
        internal_dnc_add(
            phone_number=review.phone_number, email=review.email, channel=Channel.SMS if review.phone_number else Channel.EMAIL,
            homeowner_words=review.text, recorded_by=reviewed_by, lead=review.lead, requested_at=review.raised_at,
            origin=StopOrigin.REVIEW,
        )
    review.status = ReviewStatus.REVOKED if revoked else ReviewStatus.NOT_REVOCATION
    review.reviewed_by, review.reviewed_at = reviewed_by, timezone.now()
    review.save(update_fields=["status", "reviewed_by", "reviewed_at"])
    return review


RESUBSCRIBE_BAD_NUMBER = "A re-subscription needs the number it was texted from: {error}"


def text_resubscribe(
    *,
    phone_number: str,
    words: str,
    lead: Lead | None,
    at: datetime,
    recorded_by: User,
    message_id: int | None = None,
) -> TextResubscription:
    """The homeowner texted START or UNSTOP from ``phone_number``: record it, once per message.

    The internal list is not touched (B2). From ``at`` on, the gate lets texts (never calls
    or email) reach the number again only if every stop on file for it is one the homeowner
    texted from it before ``at``; any other stop, or one texted later, keeps blocking
    (``compliance.gate.internal_list``, docs/compliance-rules.md#b4-start). A START with no stop
    before it changes nothing, but is kept like every other word of the homeowner's.
    """
    parsed = parse_phone(phone_number)
    if not parsed.ok:
        raise ValidationError({"phone_number": RESUBSCRIBE_BAD_NUMBER.format(error=parsed.error)})
    if message_id is not None:
        existing = TextResubscription.objects.filter(message_id=message_id).first()
        if existing is not None:
            return existing
    resubscription = TextResubscription(
        phone_number=parsed.e164, words=(words or "").strip()[:160], received_at=at, lead=lead,
        message_id=message_id, recorded_by=recorded_by,
    )
    # The lead and the user are instances in hand: no query each to validate them.
    resubscription.full_clean(exclude=["lead", "recorded_by"], validate_constraints=False)
    try:
        with transaction.atomic():
            resubscription.save()
    except IntegrityError:  # the same message, recorded a moment ago by another worker
        return TextResubscription.objects.get(message_id=message_id)
    return resubscription


@transaction.atomic
def dnc_numbers_add(
    *, source: DncSource, numbers: Iterable[str], as_of: date, added_on: date | None = None
) -> int:
    """Add a few numbers to a registry by hand; all or nothing. Returns how many were new.

    For hand-kept lists (litigators) and demo data. It does not say the area codes are
    covered: only a registry file load records a version (A3).
    """
    rows, errors = [], []
    for line, raw in enumerate(numbers, start=1):
        # FTC flat files write "NPA,NXXXXXX" or ten digits (A2).
        parsed = parse_phone(raw.replace(",", ""))
        number = national_number(parsed.e164) if parsed.ok else None
        if number is None:
            errors.append(UNPARSEABLE_NUMBER.format(line=line, error=parsed.error or "not a US number"))
            continue
        rows.append(DncNumber.for_source(source, number, added_on=added_on or as_of))
    if errors:
        raise ValidationError(errors)
    before = source.numbers.count()
    DncNumber.objects.bulk_create(rows, ignore_conflicts=True, batch_size=5000)
    if source.data_as_of is None or as_of > source.data_as_of:
        source.data_as_of = as_of
        source.save(update_fields=["data_as_of"])
    phones_reflag(numbers=[f"+1{row.number}" for row in rows])
    return source.numbers.count() - before


def registry_version_record(*, source: DncSource, area_codes: Iterable[str], version_date: date) -> None:
    """Record that the data held for these area codes is as of ``version_date`` (A3).

    What a registry load does at its end; also for data loaded outside the app.
    """
    AreaCodeVersion.objects.bulk_create(
        [AreaCodeVersion(source=source, area_code=code, version_date=version_date) for code in area_codes],
        ignore_conflicts=True,
    )
    if source.data_as_of is None or version_date > source.data_as_of:
        source.data_as_of = version_date
        source.save(update_fields=["data_as_of"])
    forget_rulebook()  # bulk_create sends no signal


# Registry files ---------------------------------------------------------------------------

REGISTRY_UPLOAD_DIR = "registry-uploads"
LOAD_GAVE_UP = ("Stopped after {tries} tries: the worker stopped each time while reading this file. "
                "Split the file or contact support.")


def dnc_source_for(*, kind: RegistryKind | str, state: str = "", name: str = "") -> DncSource:
    """The brokerage's source of a kind (one national list; one list per state; named litigator lists)."""
    kind = RegistryKind(kind)
    if kind == RegistryKind.NATIONAL:
        default = "National Do Not Call Registry"
        source = DncSource.objects.filter(kind=kind).order_by("pk").first()
        return source or DncSource.objects.create(kind=kind, name=name or default)
    if kind == RegistryKind.STATE:
        if not state:
            raise ValidationError(STATE_NEEDED)
        source, _ = DncSource.objects.get_or_create(
            kind=kind, state=state, defaults={"name": name or f"{state} state do-not-call list"})
        return source
    source, _ = DncSource.objects.get_or_create(kind=kind, name=name or "Litigator list")
    return source


def registry_load_create(
    *, source: DncSource, kind: LoadKind | str, version_date: date, content, file_name: str,
    loaded_by: User | None, area_codes: Iterable[str] = (), subscription_account_number: str = "",
    subscription_expires_on: date | None = None,
) -> RegistryLoad:
    """Keep an uploaded registry file (outside the web root) and queue its load.

    ``content``: the bytes, or the uploaded file (stored a chunk at a time). The request
    only checks what is cheap: a zip's directory against the unzipped limit
    (docs/architecture.md#upload-limits); reading the numbers is the worker's. A refused
    zip leaves nothing behind: no load, no file."""
    if version_date > timezone.localdate():
        raise ValidationError({"version_date": FUTURE_VERSION})
    codes = sorted({code.strip() for code in area_codes if code.strip()})
    for code in codes:
        if not (len(code) == 3 and code.isdigit()):
            raise ValidationError({"area_codes": BAD_AREA_CODE.format(code=code)})
    load = RegistryLoad(
        source=source, kind=kind, version_date=version_date, file_name=file_name[:255],
        area_codes=codes, loaded_by=loaded_by,
        subscription_account_number=subscription_account_number or source.subscription_account_number,
        subscription_expires_on=subscription_expires_on or source.subscription_expires_on,
    )
    load.full_clean()
    with open_binary(Upload(content)) as upload:  # checked before it is stored
        if upload.read(4) == b"PK\x03\x04":
            try:
                registry_zip_check(upload)
            except RegistryFileRejected as refused:
                raise ValidationError({"file": refused.errors}) from None
    load.stored_file = upload_store(content, folder=REGISTRY_UPLOAD_DIR)
    load.save()
    return load


def registry_load_run(*, load_id: int) -> RegistryLoad | None:
    """Load one queued registry file: parse all of it, then write it in one transaction.

    Safe to run twice: a load is claimed under a row lock, and one left reading or writing
    with no heartbeat for ``REGISTRY_STALLED_AFTER`` (its worker died) is taken over;
    nothing was written by it. While it runs, a thread keeps its heartbeat
    (docs/architecture.md#prompt-recovery). One already tried ``LEADCRM_JOB_MAX_ATTEMPTS``
    times, its worker stopping each time, is rejected saying so, not tried again.
    """
    now = timezone.now()
    silent = Q(heartbeat_at__lt=now - REGISTRY_STALLED_AFTER) | Q(
        heartbeat_at__isnull=True, started_at__lt=now - REGISTRY_STALLED_AFTER)
    with transaction.atomic():
        load = (
            RegistryLoad.objects.select_for_update(skip_locked=True)
            .filter(pk=load_id)
            .filter(Q(status=LoadStatus.QUEUED) | (Q(status__in=[LoadStatus.READING, LoadStatus.WRITING]) & silent))
            .select_related("source")
            .first()
        )
        if load is None:
            return None
        if load.attempts >= settings.LEADCRM_JOB_MAX_ATTEMPTS:
            _registry_load_give_up(load)
            return load
        load.status, load.started_at, load.heartbeat_at = LoadStatus.READING, now, now
        load.attempts += 1
        load.save(update_fields=["status", "started_at", "heartbeat_at", "attempts"])
    with heartbeat(RegistryLoad, load.pk, status__in=[LoadStatus.READING, LoadStatus.WRITING]):
        return _registry_load_read_and_write(load)


def _registry_load_read_and_write(load: RegistryLoad) -> RegistryLoad:
    def progress(done: int, total: int) -> None:
        RegistryLoad.objects.filter(pk=load.pk).update(lines_done=done, lines_total=total)

    # Phones made or renumbered from here on may be flagged against the lists as they were
    # before this load commits, and the load's diff (read from the flags) does not name
    # them: they are re-flagged once it has committed (docs/compliance-rules.md#a5).
    since = _phones_watermark()
    try:
        text = read_registry_bytes(Stored(load.stored_file).read_bytes())  # from the storage, on any worker
        parsed = parse_registry(text, kind=LoadKind(load.kind), progress=progress)
        RegistryLoad.objects.filter(pk=load.pk).update(status=LoadStatus.WRITING)
        try:
            numbers = _registry_write_and_flag(load, parsed)
        except NeedsLineByLine:
            # The bulk check found a number that cannot be; read it line by line to say where.
            numbers = _registry_write_and_flag(
                load, parse_registry(text, kind=LoadKind(load.kind), line_by_line=True))
    except RegistryFileRejected as rejected:
        RegistryLoad.objects.filter(pk=load.pk).update(
            status=LoadStatus.REJECTED, errors=rejected.errors, finished_at=timezone.now())
        load.refresh_from_db()
        return load
    except Exception as exc:  # the transaction rolled back; say so on the load page
        RegistryLoad.objects.filter(pk=load.pk).update(
            status=LoadStatus.REJECTED, errors=[f"Not loaded: {exc}"], finished_at=timezone.now())
        raise
    if numbers is None:
        # Too many flags may have changed to look them up one by one (a first load, say):
        # one pass over the registry for the phones of its area codes, once it is committed.
        RegistryLoad.objects.filter(pk=load.pk).update(phones_reflagged=phones_reflag(area_codes=load.area_codes))
    else:
        newcomers = sum(phones_reflag(phones=phones) for phones in _phones_since(since))
        if newcomers:
            RegistryLoad.objects.filter(pk=load.pk).update(phones_reflagged=F("phones_reflagged") + newcomers)
    load.refresh_from_db()
    return load


def _phones_watermark() -> tuple[int, datetime]:
    """The highest phone id and the time, read before a load starts (see ``_phones_since``)."""
    now = timezone.now()
    return (Phone.objects.order_by().aggregate(top=Max("pk"))["top"] or 0), now


def _phones_since(watermark: tuple[int, datetime]) -> list:
    """Phones inserted after the watermark (a higher id), and those edited since (their
    history says so): those whose flag a running load's diff could not see. Two querysets,
    each read through an index (one OR would read the whole phone table)."""
    top, at = watermark
    edited = Phone.history.model.objects.filter(history_date__gte=at).values("id")
    return [Phone.objects.filter(pk__gt=top), Phone.objects.filter(pk__in=edited)]


def _registry_write_and_flag(load: RegistryLoad, parsed) -> list[str] | None:
    """Write the numbers, then, in the same transaction, re-flag the phones whose flag the
    load may have changed; returns None when there were too many to do here
    (docs/compliance-rules.md#a5)."""
    with transaction.atomic():
        write_registry(load, parsed)
        numbers = numbers_to_reflag(load=load, parsed=parsed)
        if numbers is not None:
            load.phones_reflagged = phones_reflag(numbers=numbers) if numbers else 0
            load.save(update_fields=["phones_reflagged"])
    return numbers


def _registry_load_give_up(load: RegistryLoad) -> None:
    """Reject a load (locked) whose worker stopped on it every time it was tried: a file
    that gets the worker killed (for memory, say) would otherwise be tried every minute."""
    load.status, load.finished_at = LoadStatus.REJECTED, timezone.now()
    load.errors = [LOAD_GAVE_UP.format(tries=load.attempts)]
    load.save(update_fields=["status", "finished_at", "errors"])


def registry_loads_resume_stalled() -> list[int]:
    """Loads whose worker died mid-file (reading or writing, silent for a minute), queued
    again, and queued loads whose task was lost (no worker has picked them up for
    ``LEADCRM_JOB_QUEUED_LOST_AFTER_SECONDS``: the broker died between the upload and
    the send, say); the caller sends ``registry_load_run`` for each id returned.

    Each is moved under its row lock, skipping one a worker holds, so two sweeps, or a
    sweep and a starting worker, queue it once; a second delivery finds it claimed and
    does nothing. A load tried ``LEADCRM_JOB_MAX_ATTEMPTS`` times is rejected instead."""
    now = timezone.now()
    cutoff = now - REGISTRY_STALLED_AFTER
    lost = now - timedelta(seconds=settings.LEADCRM_JOB_QUEUED_LOST_AFTER_SECONDS)
    silent = Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started_at__lt=cutoff)
    forgotten = Q(heartbeat_at__lt=lost) | Q(heartbeat_at__isnull=True, created_at__lt=lost)
    resumed = []
    with transaction.atomic():
        for load in (RegistryLoad.objects.select_for_update(skip_locked=True)
                     .filter((silent & Q(status__in=[LoadStatus.READING, LoadStatus.WRITING]))
                             | (forgotten & Q(status=LoadStatus.QUEUED))).order_by("pk")):
            if load.attempts >= settings.LEADCRM_JOB_MAX_ATTEMPTS:
                _registry_load_give_up(load)
                continue
            load.status, load.heartbeat_at = LoadStatus.QUEUED, timezone.now()
            load.save(update_fields=["status", "heartbeat_at"])
            resumed.append(load.pk)
    return resumed


# Flags on phones --------------------------------------------------------------------------


PROBE_MAX_PHONES = 20_000  # beyond this, one pass over the registry beats a probe per phone


def numbers_to_reflag(*, load: RegistryLoad, parsed: ParsedRegistry) -> list[str] | None:
    """The brokerage's numbers whose do-not-call flag a written load may have changed, or
    None when there are more than ``PROBE_MAX_PHONES`` (then every phone of its area codes).

    The diff of the load as it touches our phones, taken from the file still in memory
    rather than from the two million numbers held. A change list: the phones among the
    numbers it adds or deletes. A full list replaces its registry's numbers in its area
    codes, so a phone there can change only where its flag and the file disagree: on the
    file but not flagged (it comes on), flagged but not on the file (it goes off, unless
    another list still holds the number). Where they agree the flag stands, since no other
    list changed. A list that is switched off flags nothing, before or after.
    """
    if not load.source.is_active:
        return []
    codes = list(load.area_codes)
    if not codes:
        return []
    # Plain rows, not model instances: a full list's area codes may hold every phone we have.
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT SUBSTR(number, 3), on_dnc_list FROM {Phone._meta.db_table} WHERE number LIKE '+1%%' "
            f"AND LENGTH(number) = 12 AND SUBSTR(number, 3, 3) IN ({', '.join(['%s'] * len(codes))})", codes)
        phones = [(national, flagged) for national, flagged in cursor.fetchall() if national.isdigit()]
    if load.kind == LoadKind.CHANGE:
        held = {int(national) for national, _ in phones}
        named = held.intersection(parsed.adds) | held.intersection(parsed.deletes)
        changed = {f"+1{number}" for number in named}
    else:
        if parsed.canonical:  # ten digits a line: match the lines as bytes, no integers made
            keys = [national.encode() for national, _ in phones]
            listed = set(keys).intersection(parsed.canonical.split())
        else:
            keys = [int(national) for national, _ in phones]
            listed = set(keys).intersection(parsed.adds)
        changed = {f"+1{national}" for (national, flagged), key in zip(phones, keys, strict=True)
                   if flagged != (key in listed)}
    if len(changed) > PROBE_MAX_PHONES:
        return None
    return sorted(changed)


def phones_reflag(*, area_codes: Iterable[str] | None = None, numbers: Iterable[str] | None = None,
                  phones=None) -> int:
    """Set each phone's ``on_dnc_list`` from the lists held now; returns how many changed.

    For pages and counts ("callable now"); the gate itself always checks the lists live.
    One UPDATE, touching only the phones whose flag changes. ``phones`` narrows it to a
    queryset of phones (those of an import, say), ``area_codes`` to those area codes.
    """
    selected = phones if phones is not None else Phone.objects.all()
    if numbers is not None:
        selected = selected.filter(number__in=list(numbers))
    if area_codes is not None:
        codes = list(area_codes)
        if not codes:
            return 0
        selected = selected.filter(reduce(or_, (Q(number__startswith=f"+1{code}") for code in codes)))
    subquery, params = (
        selected.filter(number__startswith="+1").order_by().values("pk", "number", "on_dnc_list")
        .query.sql_with_params()
    )
    phone_table, dnc_table = Phone._meta.db_table, DncNumber._meta.db_table
    # Materialised on PostgreSQL so the planner takes the phones asked for first.
    materialized = "MATERIALIZED" if connection.vendor == "postgresql" else ""
    few = numbers is not None or (phones is not None and selected.count() <= PROBE_MAX_PHONES)
    if few:
        # A lead's phones, a small list's, a load's diff: look each one up by key (an index
        # probe each, about 5 microseconds) rather than read the whole registry. A scalar
        # subquery with LIMIT, not EXISTS: PostgreSQL turned EXISTS into a semi-join that
        # read all the registry for each phone when it misjudged how many phones there were.
        listed_sql = f"""
            SELECT ph.national FROM phones ph WHERE (
                SELECT 1 FROM {dnc_table} d JOIN active s ON s.id = d.source_id
                WHERE d.id >= ph.national * {SOURCE_SPAN} AND d.id < (ph.national + 1) * {SOURCE_SPAN}
                LIMIT 1) IS NOT NULL"""
    else:
        # Many phones: one pass over the registry, matched against the phones in a hash.
        listed_sql = f"""
            SELECT d.id / {SOURCE_SPAN} FROM {dnc_table} d JOIN active s ON s.id = d.source_id
            WHERE d.id / {SOURCE_SPAN} IN (SELECT national FROM phones)"""
    sql = f"""
        WITH target (id, number, was) AS {materialized} ({subquery}),
        active AS (SELECT id FROM {DncSource._meta.db_table} WHERE is_active),
        phones AS {materialized} (
            SELECT id, number, was, CAST(SUBSTR(number, 3) AS BIGINT) AS national
            FROM target WHERE LENGTH(number) = 12
        ),
        listed (national) AS {materialized} (
            {listed_sql}
            UNION
            SELECT CAST(SUBSTR(i.phone_number, 3) AS BIGINT) FROM {InternalDncEntry._meta.db_table} i
            WHERE i.phone_number IN (SELECT number FROM phones)
        ),
        flags AS {materialized} (
            SELECT ph.id, (l.national IS NOT NULL) AS listed
            FROM phones ph LEFT JOIN listed l ON l.national = ph.national
            WHERE ph.was <> (l.national IS NOT NULL)
        )
        UPDATE {phone_table} SET on_dnc_list = flags.listed, dnc_flagged_at = %s, updated_at = %s
        FROM flags WHERE {phone_table}.id = flags.id
    """
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The phone set and the listed numbers are hashed and sorted in memory, not on
            # disk; a one-off statement gains nothing from JIT compilation.
            cursor.execute("SET LOCAL work_mem = '64MB'; SET LOCAL jit = off")
        now = timezone.now()
        cursor.execute(sql, [*params, now, now])
        if cursor.rowcount >= 0:
            return cursor.rowcount
        cursor.execute("SELECT changes()")  # SQLite reports no row count for WITH ... UPDATE
        return cursor.fetchone()[0]
