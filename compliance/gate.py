"""The rules of the outreach gate as functions of one attempt.

Each rule looks at the attempt, may add evidence, and returns its findings. The gate's
verdict is the worst finding: any BLOCK blocks, else any WARN warns, else it allows.
Phone and text fail closed: when the gate cannot tell what number is being dialled,
or whose it is, it blocks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from leadcrm.accounts.models import Brokerage, Capacity, User
from leads.models import Contact, Email, Lead, Phone, PhoneStatus, Property
from leads.phones import format_national, parse_phone

from . import rules
from .disclosures import role_disclosure_sentence
from .models import PHONE_CHANNELS, Channel, DncNumber, DncSource, InternalDncEntry, RegistryKind, Verdict

NO_NUMBER = "A {channel} needs a phone number of this lead; none was given."
BAD_NUMBER = "The number {raw!r} cannot be dialled: {error}"
NOT_THIS_LEAD = "That {what} does not belong to this lead's owners."
NO_EMAIL = "An email needs an email address of this lead's owners."
NO_MAILING_ADDRESS = "This owner has no mailing address on file."
DO_NOT_MAIL = "{name} is marked Do Not Mail."
WRONG_PARTY = "{number} was marked as reaching someone other than the owner; it may have been reassigned."
INTERNAL_HIT = (
    "{point} is on the brokerage's internal do-not-contact list since {date} "
    "(recorded by {who}, via {channel})."
)
REGISTRY_HIT = "{number} is on the {source}{as_of}."
LITIGATOR_HIT = "{number} is on the litigator list {source}{as_of}."
NOT_DISCLOSED = "Confirm that you said who you are and why you called: \u201c{sentence}\u201d"
PRINCIPAL_NOT_DISCLOSED = (
    "You contact homeowners as a principal: confirm you told them you are buying for "
    "yourself: \u201c{sentence}\u201d"
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
    purpose: str
    actor: User
    at: datetime
    role_disclosed: bool
    brokerage: Brokerage
    contact_point: object
    message: str = ""
    phone: Phone | None = None
    number: str = ""
    email: str = ""
    contact: Contact | None = None
    contact_point_text: str = ""
    evidence: dict = field(default_factory=dict)


Rule = Callable[[Attempt], Iterable[Finding]]


def _block(rule: rules.Rule, reason: str) -> Finding:
    return Finding(rule.id, Verdict.BLOCK, reason)


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


def wrong_party(attempt: Attempt) -> Iterable[Finding]:
    """A number known to reach someone else is not the owner's any more (D7)."""
    if attempt.phone is not None and attempt.phone.status == PhoneStatus.WRONG_PARTY:
        yield _block(rules.REASSIGNED_NUMBER, WRONG_PARTY.format(number=attempt.phone.display))


def internal_list(attempt: Attempt) -> Iterable[Finding]:
    """The brokerage's own do-not-contact list applies to every agent at once (B1)."""
    if attempt.number:
        entries, point = InternalDncEntry.objects.filter(phone_number=attempt.number), format_national(attempt.number)
    elif attempt.email:
        entries, point = InternalDncEntry.objects.filter(email=attempt.email), attempt.email
    elif attempt.channel == Channel.MAIL and attempt.contact is not None:
        key = attempt.contact.mailing_address_key()
        entries, point = InternalDncEntry.objects.filter(postal_address=key), attempt.contact_point_text
    elif attempt.channel == Channel.DOOR:
        key = attempt.lead.property.address_key
        entries, point = InternalDncEntry.objects.filter(postal_address=key), attempt.contact_point_text
    else:
        return
    entries = list(entries.select_related("recorded_by").order_by("requested_at"))
    attempt.evidence["internal_dnc_entries"] = [
        {"id": e.pk, "requested_at": e.requested_at.isoformat(), "channel": e.channel}
        for e in entries
    ]
    if entries:
        first = entries[0]
        yield _block(
            rules.INTERNAL_DNC,
            INTERNAL_HIT.format(
                point=point,
                date=first.requested_at.date().isoformat(),
                who=first.recorded_by,
                channel=first.get_channel_display().lower(),
            ),
        )


def registries(attempt: Attempt) -> Iterable[Finding]:
    """Registries the brokerage holds: national, state and litigator lists (A4, A6)."""
    if attempt.channel not in PHONE_CHANNELS or not attempt.number:
        return
    sources = list(DncSource.objects.filter(is_active=True))
    hits = set(
        DncNumber.objects.filter(number=attempt.number, source__in=sources).values_list(
            "source_id", flat=True
        )
    )
    attempt.evidence["registries"] = [
        {
            "source": source.name,
            "kind": source.kind,
            "data_as_of": source.data_as_of.isoformat() if source.data_as_of else None,
            "listed": source.pk in hits,
        }
        for source in sources
    ]
    for source in sources:
        if source.pk not in hits:
            continue
        as_of = f" (data as of {source.data_as_of:%b %d, %Y})" if source.data_as_of else ""
        if source.kind == RegistryKind.LITIGATOR:
            yield _block(rules.LITIGATOR, LITIGATOR_HIT.format(
                number=format_national(attempt.number), source=source.name, as_of=as_of))
        else:
            yield _block(rules.REGISTRY_DNC, REGISTRY_HIT.format(
                number=format_national(attempt.number), source=source.name, as_of=as_of))


def mail_flags(attempt: Attempt) -> Iterable[Finding]:
    """Do Not Mail is the owner's request to stop mail, honoured like any other (B1)."""
    if attempt.channel != Channel.MAIL or attempt.contact is None:
        return
    name = attempt.contact.display_name
    if attempt.contact.do_not_mail:
        yield _block(rules.INTERNAL_DNC, DO_NOT_MAIL.format(name=name))


def role_disclosure(attempt: Attempt) -> Iterable[Finding]:
    """Every contact states who is calling and in what role (D3); a principal says so (F8)."""
    sentence = role_disclosure_sentence(
        actor=attempt.actor, brokerage=attempt.brokerage, lead=attempt.lead
    )
    attempt.evidence["disclosure"] = {
        "sentence": sentence,
        "confirmed": attempt.role_disclosed,
        "capacity": attempt.actor.capacity,
        "license_status": attempt.actor.license_status,
    }
    if attempt.role_disclosed:
        return
    if attempt.actor.capacity == Capacity.PRINCIPAL:
        yield _block(rules.PRINCIPAL_DISCLOSURE, PRINCIPAL_NOT_DISCLOSED.format(sentence=sentence))
    else:
        yield _block(rules.ROLE_DISCLOSURE, NOT_DISCLOSED.format(sentence=sentence))


# Order matters only in that resolve_contact_point fills in what the others read.
RULE_CHAIN: tuple[Rule, ...] = (
    resolve_contact_point,
    wrong_party,
    internal_list,
    registries,
    mail_flags,
    role_disclosure,
)


def evaluate(attempt: Attempt) -> tuple[Verdict, list[Finding]]:
    findings: list[Finding] = []
    for rule in RULE_CHAIN:
        new = list(rule(attempt))
        findings.extend(new)
        if rule is resolve_contact_point and any(f.severity == Verdict.BLOCK for f in new):
            # Nothing else can be judged about an unknown contact point, but the
            # disclosure is still recorded so the evidence says what the agent confirmed.
            findings.extend(role_disclosure(attempt))
            break
    if any(f.severity == Verdict.BLOCK for f in findings):
        return Verdict.BLOCK, findings
    if findings:
        return Verdict.WARN, findings
    return Verdict.ALLOW, findings
