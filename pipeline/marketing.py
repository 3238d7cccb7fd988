"""Mail merge and email: marketing pieces from templates for a filtered set of leads.

Every piece is outreach, so every recipient passes the one gate: a letter is checked
(and, once mailed, logged) as mail to the owners it names, an email as email to that
address. Do-not-mail and deceased owners are left out with the reason said. A template
says whom it is written for: one written after a conversation never goes to a homeowner
nobody has reached, and one written for a first contact never to one already reached
(a conversation logged, as the stage rules count it). Emails carry the brokerage's postal address and an unsubscribe link
(CAN-SPAM); following it puts the address on the internal list.

A letter is laid out as a letter: the date, the owners at one mailing address named
together ("Robert and Maria Johnson") above that address, "Dear ...,", the template's
text, "Sincerely," and the agent's signature with their role in writing. One letter goes
to each mailing address of a lead, so co-owners living together get one, not one each.
Printing shows the letters first and asks; only the agent's confirmation logs them, once.
"""

from __future__ import annotations

import re
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, connection, transaction
from django.db.models import Prefetch
from django.urls import reverse
from django.utils import timezone

from compliance.disclosures import role_disclosure_written
from compliance.models import Channel, Verdict
from compliance.services import internal_dnc_add, outreach_verdict
from leadcrm.accounts.models import Brokerage, User
from leads.models import Contact, Email, EmailStatus, Lead

from .models import MailBatch, MessageTemplate, Outcome, OutreachAttempt, TemplateKind, TemplateSituation
from .queue import purpose_for
from .scripts import MERGE_FIELD, merge_fields_in, render
from .services import OutreachBlocked, lead_note_add, outreach_log

# One merge at a time stays a page the agent can read and a batch a worker sends in
# seconds; a larger list is narrowed with the filters (by list, county, stage).
MERGE_LIMIT = 500
UNSUBSCRIBE_SALT = "leadcrm.unsubscribe"
CONFIRMATION_SALT = "leadcrm.mail-confirmation"
PRINT_KINDS = (TemplateKind.LETTER, TemplateKind.POSTCARD)
NOT_FOR_PRINT = "Pick a letter or postcard template."
NOT_AN_EMAIL = "Pick an email template."
NEVER_REACHED = "not reached yet: the template is for after a conversation"
ALREADY_REACHED = "reached already: the template is for a first contact"
NO_OWNER = "no owner on file"
NO_MAILING_ADDRESS = "no mailing address"
DECEASED = "deceased"
DO_NOT_MAIL = "do not mail"
NOT_VISIBLE_NOW = "no longer a lead you work"
CONFIRMATION_UNREADABLE = ("That confirmation could not be read (it is another user's, or too old): show the "
                           "letters again and confirm from there.")
# A confirmation is good for a working day: the letters it names were shown that day.
CONFIRMATION_MAX_AGE = timedelta(hours=12)
LETTER_CLOSING = "Sincerely,"


@dataclass
class Piece:
    lead: Lead
    owner: Contact  # the contact point: the owner the gate checks and the log names
    text: str
    email: Email | None = None
    subject: str = ""
    owners: list[Contact] = field(default_factory=list)  # a letter: every owner at the address it names

    @property
    def names(self) -> str:
        return owner_names(self.owners or [self.owner])

    @property
    def salutation(self) -> str:
        return f"Dear {self.names},"

    @property
    def closing(self) -> str:
        return LETTER_CLOSING


@dataclass
class Merge:
    pieces: list[Piece] = field(default_factory=list)
    # A piece not made, and why (for a letter: the first owner at that address).
    left_out: list[tuple[Lead, Contact | None, str]] = field(default_factory=list)
    # An owner left off a letter that still goes to the others at the address.
    names_left_off: list[tuple[Lead, Contact, str]] = field(default_factory=list)
    truncated: bool = False

    @property
    def reasons(self) -> dict[str, int]:
        return _count(reason for _lead, _owner, reason in self.left_out)

    @property
    def names_left_off_reasons(self) -> dict[str, int]:
        return _count(reason for _lead, _owner, reason in self.names_left_off)


def _count(reasons) -> dict[str, int]:
    counts: dict[str, int] = {}
    for reason in reasons:
        counts[reason] = counts.get(reason, 0) + 1
    return counts


def _leads(queryset) -> tuple[list[Lead], bool]:
    # The caller's prefetches (a list page's) are replaced by the owners and emails a merge needs.
    leads = list(_with_owners(queryset.select_related("property").prefetch_related(None))[:MERGE_LIMIT + 1])
    return leads[:MERGE_LIMIT], len(leads) > MERGE_LIMIT


def _with_owners(queryset):
    owners = Contact.objects.order_by("position", "pk").prefetch_related(
        Prefetch("emails", queryset=Email.objects.filter(status=EmailStatus.GOOD).order_by("position", "pk"))
    )
    return queryset.prefetch_related(Prefetch("contacts", queryset=owners))


def discloses_role(template: MessageTemplate) -> bool:
    """A piece states the sender's name and role (D3, F8): every letter and postcard does,
    under the signature; an email only if its template says [Role Disclosure]."""
    if template.kind in PRINT_KINDS:
        return True
    return any(name.strip().lower() == "role disclosure" for name in merge_fields_in(template.body))


def _reached(leads: list[Lead]) -> set[int]:
    """Which of the leads someone has had a conversation with (one query)."""
    return set(OutreachAttempt.objects.filter(lead__in=[lead.pk for lead in leads]).reached()
               .values_list("lead_id", flat=True).distinct())


def _reached_if_it_matters(template: MessageTemplate, leads: list[Lead]) -> set[int]:
    """The leads reached, read only when the template is written for one situation."""
    return set() if template.situation == TemplateSituation.ANY else _reached(leads)


def _not_written_for(template: MessageTemplate, *, reached: bool) -> str | None:
    """Why the template does not fit the homeowner's situation, or None when it does."""
    if template.situation == TemplateSituation.AFTER_CONVERSATION and not reached:
        return NEVER_REACHED
    if template.situation == TemplateSituation.FIRST_CONTACT and reached:
        return ALREADY_REACHED
    return None


# The letter ---------------------------------------------------------------------------------

_SALUTATION = re.compile(r"^(dear|hi|hello|greetings)\b.*[,:]$", re.IGNORECASE)
_VALEDICTION = re.compile(
    r"^(sincerely|yours sincerely|yours truly|respectfully|regards|best|best regards|kind regards|warm regards"
    r"|all the best|thank you|thanks)\s*[,.!]?$", re.IGNORECASE)
_BLANK_LINES = re.compile(r"\n{3,}")


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def owner_names(owners: list[Contact]) -> str:
    """How a letter names the owners at one address: "Robert and Maria Johnson" when they
    share a last name, "Robert Johnson and Maria Lopez" when not, a company by its name;
    the same name twice (an owner on the record twice) once."""
    seen, people = set(), []
    for owner in owners:
        if owner.display_name.lower() not in seen:
            seen.add(owner.display_name.lower())
            people.append(owner)
    if (len(people) > 1 and all(o.first_name.strip() and o.last_name.strip() for o in people)
            and len({o.last_name.strip().lower() for o in people}) == 1):
        return f"{_and([o.first_name.strip() for o in people])} {people[0].last_name.strip()}"
    return _and([o.display_name for o in people])


def letter_body(text: str) -> str:
    """What a letter template says between "Dear ...," and "Sincerely,".

    The layout writes the greeting, the closing and the signature itself: a template that
    still carries its own (letters used to) would otherwise greet and sign twice."""
    lines = text.strip().splitlines()
    if lines and _SALUTATION.match(lines[0].strip()):
        lines = lines[1:]
    written = [index for index, line in enumerate(lines) if line.strip()]
    for index in reversed(written[-6:]):
        if _VALEDICTION.match(lines[index].strip()):
            lines = lines[:index]
            break
    return "\n".join(lines).strip()


def _filled_first(text: str, values: dict[str, str]) -> str:
    """``text`` with the merge fields named in ``values`` filled in (the others left for ``render``)."""
    return MERGE_FIELD.sub(lambda match: values.get(match.group(1).strip().lower(), match.group(0)), text)


def _without_blank_runs(text: str) -> str:
    return _BLANK_LINES.sub("\n\n", "\n".join(line.strip() for line in text.splitlines())).strip()


def piece_text(*, template: MessageTemplate, lead: Lead, agent: User, owners: list[Contact],
               brokerage: Brokerage) -> str:
    """The template's text for a letter or postcard to ``owners`` (at one address).

    [First Name] and [Owner Name] name every owner the letter is to. The role is stated
    in writing under the signature, so [Role Disclosure] in the text is not repeated
    there (spoken, "Hi, this is ...", it read wrong under "Dear Robert,")."""
    people = [o for o in owners if o.first_name.strip()] or owners
    values = {
        "first name": _and([o.first_name.strip() for o in people if o.first_name.strip()]) or "Homeowner",
        "owner name": owner_names(owners),
        "role disclosure": "",
    }
    body = letter_body(template.body) if template.kind == TemplateKind.LETTER else template.body
    text = render(_filled_first(body, values), lead=lead, agent=agent, owner=owners[0], brokerage=brokerage)
    return _without_blank_runs(text)


@dataclass(frozen=True)
class Signature:
    """Who signs a letter, and the role disclosure written under the name."""

    name: str
    brokerage: str
    license: str
    phone: str
    email: str
    disclosure: str


def signature_for(agent: User, brokerage: Brokerage) -> Signature:
    from leads.phones import format_national

    license_text = ""
    if agent.license_number:
        state = agent.license_state if agent.license_state and not agent.license_number.startswith(
            agent.license_state) else ""
        license_text = f"License {agent.license_number}" + (f" ({state})" if state else "")
    return Signature(
        name=agent.get_full_name() or agent.username, brokerage=brokerage.name, license=license_text,
        phone=format_national(agent.phone) if agent.phone else "", email=agent.email,
        disclosure=role_disclosure_written(actor=agent, brokerage=brokerage),
    )


def _not_mailable(owner: Contact) -> str | None:
    if owner.deceased:
        return DECEASED
    if owner.do_not_mail:
        return DO_NOT_MAIL
    if not owner.mailing_street:
        return NO_MAILING_ADDRESS
    return None


def _by_address(owners: list[Contact]) -> list[list[Contact]]:
    """The lead's owners grouped by mailing address (the normalised key), in file order;
    an owner without one is a group alone (left out: nowhere to send it)."""
    groups: dict[str, list[Contact]] = {}
    for owner in owners:
        groups.setdefault(owner.mailing_address_key() or f"none:{owner.pk}", []).append(owner)
    return list(groups.values())


def _letter_names(*, lead: Lead, group: list[Contact], agent: User, gate: bool) -> tuple[list, list]:
    """The owners at one address a letter may name, and those left off with why. Do Not
    Mail and deceased are the owner's own; with ``gate`` the gate is asked about each
    (nothing recorded), since its mail rules are per owner (Do Not Mail) and per address
    (the internal list)."""
    named, dropped = [], []
    for owner in group:
        reason = _not_mailable(owner)
        if reason is None and gate:
            verdict, findings, _ = outreach_verdict(lead=lead, contact_point=owner, channel=Channel.MAIL,
                                                    purpose=purpose_for(agent), actor=agent, role_disclosed=True)
            if verdict == Verdict.BLOCK:
                reason = _refusal(findings)
        if reason is None:
            named.append(owner)
        else:
            dropped.append((owner, reason))
    return named, dropped


def mail_merge(*, template: MessageTemplate, leads, agent: User, gate: bool = False) -> Merge:
    """One letter per mailing address of each lead, naming the owners there who may be
    mailed; the rest left out with why.

    ``gate``: also ask the compliance gate (one read per owner, nothing recorded) and
    leave out what it refuses, as the page that asks to confirm does; logging the letters
    (``mailing_confirm``) goes through the gate again anyway."""
    if template.kind not in PRINT_KINDS:
        raise ValidationError(NOT_FOR_PRINT)
    brokerage = Brokerage.objects.current()
    chosen, truncated = _leads(leads)
    merge = Merge(truncated=truncated)
    reached = _reached_if_it_matters(template, chosen)
    for lead in chosen:
        owners = list(lead.contacts.all())
        if not owners:
            merge.left_out.append((lead, None, NO_OWNER))
            continue
        if misfit := _not_written_for(template, reached=lead.pk in reached):
            merge.left_out.append((lead, owners[0], misfit))
            continue
        for group in _by_address(owners):
            named, dropped = _letter_names(lead=lead, group=group, agent=agent, gate=gate)
            if not named:
                merge.left_out.append((lead, group[0], " and ".join(sorted({why for _, why in dropped}))))
                continue
            merge.names_left_off += [(lead, owner, why) for owner, why in dropped]
            merge.pieces.append(Piece(lead=lead, owner=named[0], owners=named, text=piece_text(
                template=template, lead=lead, agent=agent, owners=named, brokerage=brokerage)))
    return merge


def _refusal(findings) -> str:
    rules = sorted({f.rule for f in findings if f.severity == Verdict.BLOCK})
    return "refused by the compliance check (" + ", ".join(rules) + ")"


# Printing: shown, confirmed, logged once ------------------------------------------------------


def _mailed_notes(template: MessageTemplate, piece: Piece) -> str:
    notes = f"Mailed: {template.name}"
    return notes + (f"\nTo: {piece.names}" if len(piece.owners) > 1 else "")


def already_mailed(*, pieces: list[Piece], template: MessageTemplate, agent: User) -> set[tuple[int, int]]:
    """(lead, owner) of the letters this agent logged with this template in the last day:
    printed again, they are not logged again (a reprint, a jammed printer)."""
    name = f"Mailed: {template.name}"
    found = OutreachAttempt.objects.filter(
        agent=agent, channel=Channel.MAIL, occurred_at__gte=timezone.now() - timedelta(days=1),
        contact__in=[piece.owner for piece in pieces],
    ).values_list("lead_id", "contact_id", "notes")
    return {(lead_id, contact_id) for lead_id, contact_id, notes in found
            if notes == name or notes.startswith(name + "\n")}


def letter_date() -> date:
    """The date a letter carries: the agent's own day (a request runs in the user's zone)."""
    return timezone.localdate()


@dataclass
class PrintRun:
    """The letters shown before the agent confirms: how many would be logged now, how many
    were logged already today (printed again, not logged twice), and the signed form."""

    merge: Merge
    to_log: int
    reprints: int
    confirmation: str


def print_run(*, template: MessageTemplate, leads, agent: User) -> PrintRun:
    """The letters as they would print, each owner asked of the gate (nothing recorded),
    and the confirmation that logs exactly these."""
    merge = mail_merge(template=template, leads=leads, agent=agent, gate=True)
    mailed = already_mailed(pieces=merge.pieces, template=template, agent=agent)
    reprints = sum(1 for piece in merge.pieces if (piece.lead.pk, piece.owner.pk) in mailed)
    confirmation = signing.dumps({
        "template": template.pk, "agent": agent.pk, "token": uuid.uuid4().hex, "date": letter_date().isoformat(),
        "letters": [[piece.lead.pk, [owner.pk for owner in piece.owners]] for piece in merge.pieces],
    }, salt=CONFIRMATION_SALT, compress=True)
    return PrintRun(merge=merge, to_log=len(merge.pieces) - reprints, reprints=reprints, confirmation=confirmation)


def _confirmed(confirmation: str, agent: User) -> dict:
    try:
        data = signing.loads(confirmation, salt=CONFIRMATION_SALT, max_age=CONFIRMATION_MAX_AGE)
    except signing.BadSignature:
        raise ValidationError(CONFIRMATION_UNREADABLE) from None
    if data.get("agent") != agent.pk:
        raise ValidationError(CONFIRMATION_UNREADABLE)
    return data


def _letters_of(*, batch_letters: list, agent: User):
    """Each [lead, owners] named, read again as it stands now: (lead id, the lead or None
    when it is no longer one the agent may see, the owners named that are still its own)."""
    ids = [lead_id for lead_id, _owners in batch_letters]
    leads = {lead.pk: lead for lead in _with_owners(Lead.objects.visible_to(agent).filter(pk__in=ids)
                                                     .select_related("property"))}
    for lead_id, owner_ids in batch_letters:
        lead = leads.get(lead_id)
        if lead is None:
            yield lead_id, None, []
            continue
        by_pk = {owner.pk: owner for owner in lead.contacts.all()}
        yield lead_id, lead, [by_pk[pk] for pk in owner_ids if pk in by_pk]


@contextmanager
def _one_confirmation_at_a_time(*, agent: User, template: MessageTemplate):
    """Two print runs of one agent and template confirmed at the same moment (two tabs)
    take turns, so the second reads what the first logged and prints it again instead of
    logging it twice.

    Each letter is logged in a transaction of its own (``outreach_log`` keeps the gate's
    evidence whatever the caller does), so a row lock, released at the first commit,
    cannot span the run: a PostgreSQL advisory lock held by the session can, and is let
    go in ``finally`` (or with the connection, if the process dies). SQLite serves one
    developer's ``make run`` and takes no lock."""
    if connection.vendor != "postgresql":
        yield
        return
    key = f"mailing:{agent.pk}:{template.pk}"
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(hashtext(%s))", [key])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(hashtext(%s))", [key])


def mailing_confirm(*, confirmation: str, agent: User) -> MailBatch:
    """Log the letters the agent confirmed, each once, through the gate.

    The confirmation's token is claimed first, in a transaction of its own: the same
    confirmation sent again (a reload, a double click, even at the same moment) finds its
    batch and logs nothing. Each letter is read again as it stands now: an owner marked
    Do Not Mail or deceased since, or refused by the gate, is left off its names, and a
    letter with nobody left is refused with the reason, as is one to a homeowner the
    template no longer fits (reached since, for a first-contact letter). A letter is
    logged once, as mail to the first owner it names (its notes name them all); one
    already logged today by the same agent with the same template is printed again but
    not logged twice, even by another confirmation sent at the same moment (they take
    turns)."""
    data = _confirmed(confirmation, agent)
    template = MessageTemplate.objects.usable_by(agent).filter(pk=data["template"], kind__in=PRINT_KINDS).first()
    if template is None:
        raise ValidationError(CONFIRMATION_UNREADABLE)
    token = uuid.UUID(data["token"])
    try:
        with transaction.atomic():
            batch = MailBatch.objects.create(token=token, template=template, agent=agent,
                                             letter_date=date.fromisoformat(data["date"]))
    except IntegrityError:
        return MailBatch.objects.get(token=token)
    with _one_confirmation_at_a_time(agent=agent, template=template):
        batch.letters = _letters_log(batch_letters=data["letters"], template=template, agent=agent)
    batch.done = True
    batch.save(update_fields=["letters", "done"])
    return batch


def _letters_log(*, batch_letters: list, template: MessageTemplate, agent: User) -> list[dict]:
    """Each letter confirmed, logged or not, and why: what the batch records."""
    results = []
    read_again = list(_letters_of(batch_letters=batch_letters, agent=agent))
    pieces = [Piece(lead=lead, owner=owners[0], owners=owners, text="")
              for _lead_id, lead, owners in read_again if lead is not None and owners]
    mailed = already_mailed(pieces=pieces, template=template, agent=agent)
    reached = _reached_if_it_matters(template, [lead for _lead_id, lead, _owners in read_again if lead is not None])
    for lead_id, lead, owners in read_again:
        if lead is None:
            results.append({"lead": lead_id, "owners": [], "status": "refused", "reason": NOT_VISIBLE_NOW})
            continue
        if misfit := _not_written_for(template, reached=lead.pk in reached):
            results.append({"lead": lead_id, "owners": [], "status": "refused", "reason": misfit})
            continue
        named, dropped = _letter_names(lead=lead, group=owners, agent=agent, gate=True)
        if not named:
            reason = " and ".join(sorted({why for _, why in dropped})) or NO_OWNER
            results.append({"lead": lead_id, "owners": [], "status": "refused", "reason": reason})
            continue
        piece = Piece(lead=lead, owner=named[0], owners=named, text="")
        entry = {"lead": lead_id, "owners": [owner.pk for owner in named], "reason": "",
                 "left_off": [[owner.pk, why] for owner, why in dropped]}
        if (lead.pk, named[0].pk) in mailed:
            results.append({**entry, "status": "reprint"})
            continue
        try:
            outreach_log(lead=lead, channel=Channel.MAIL, contact_point=named[0], outcome=Outcome.SENT, actor=agent,
                         role_disclosed=True, purpose=purpose_for(agent), notes=_mailed_notes(template, piece))
        except OutreachBlocked as blocked:
            results.append({**entry, "status": "refused", "reason": " ".join(blocked.decision.reasons)})
            continue
        results.append({**entry, "status": "logged"})
    return results


@dataclass
class PrintedBatch:
    batch: MailBatch
    printable: list[Piece]
    logged: int
    reprinted: int
    refused: list[tuple[Lead | None, str]]


def printed_batch(*, batch: MailBatch, agent: User) -> PrintedBatch:
    """A confirmed batch's letters to print (logged now or already today), drawn again."""
    template, brokerage = batch.template, Brokerage.objects.current()
    printable_ids = [[row["lead"], row["owners"]] for row in batch.letters if row["status"] in ("logged", "reprint")]
    pieces = []
    for _lead_id, lead, owners in _letters_of(batch_letters=printable_ids, agent=agent):
        if lead is not None and owners:
            pieces.append(Piece(lead=lead, owner=owners[0], owners=owners, text=piece_text(
                template=template, lead=lead, agent=agent, owners=owners, brokerage=brokerage)))
    refused_rows = [row for row in batch.letters if row["status"] == "refused"]
    refused_leads = {lead.pk: lead for lead in Lead.objects.visible_to(agent)
                     .filter(pk__in=[row["lead"] for row in refused_rows]).select_related("property")}
    return PrintedBatch(
        batch=batch, printable=pieces,
        logged=sum(1 for row in batch.letters if row["status"] == "logged"),
        reprinted=sum(1 for row in batch.letters if row["status"] == "reprint"),
        refused=[(refused_leads.get(row["lead"]), row["reason"]) for row in refused_rows],
    )


# Email ---------------------------------------------------------------------------------


def unsubscribe_token(email: Email, sender: User) -> str:
    """Signed (nobody unsubscribes an address by guessing), and about the address the email
    went to, not the row: editing the row later does not move the link to another address."""
    return signing.dumps({"a": email.address.lower(), "l": email.contact.lead_id, "by": sender.pk},
                         salt=UNSUBSCRIBE_SALT, compress=True)


@dataclass(frozen=True)
class UnsubscribeTarget:
    address: str
    lead: Lead | None
    sender: User


def unsubscribe_target(token: str) -> UnsubscribeTarget | None:
    """What a link unsubscribes, or None for a forged or broken link."""
    try:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None
    sender = User.objects.filter(pk=data.get("by")).first()
    if sender is None or not data.get("a"):
        return None
    return UnsubscribeTarget(address=data["a"], lead=Lead.objects.filter(pk=data.get("l")).first(), sender=sender)


UNDELIVERED = "The email “{template}” to {address} was logged but the mail server refused it: {error}"
NO_POSTAL_ADDRESS = ("Marketing email must carry the brokerage's postal address (CAN-SPAM): a broker enters "
                     "the office street, city, state and ZIP in the admin's brokerage settings first.")


def brokerage_postal_address(brokerage: Brokerage) -> str | None:
    parts = (brokerage.office_street, brokerage.office_city, brokerage.office_state, brokerage.office_zip)
    if not all(part.strip() for part in parts):
        return None
    return f"{brokerage.office_street}, {brokerage.office_city}, {brokerage.office_state} {brokerage.office_zip}"


def email_footer(*, brokerage: Brokerage, unsubscribe_url: str) -> str:
    """What CAN-SPAM asks of every marketing email: who sent it, that it is an
    advertisement, a postal address, and a working way to opt out."""
    return (f"\n\n--\nThis is a marketing message from {brokerage.name}, "
            f"{brokerage_postal_address(brokerage)}.\nTo stop receiving these emails: {unsubscribe_url}")


def one_line(text: str) -> str:
    """A subject from merged fields: an owner's name with a line break must not break the header."""
    return " ".join(text.split())[:200]


def email_merge(*, template: MessageTemplate, leads, agent: User, gate: bool = False) -> Merge:
    if template.kind != TemplateKind.EMAIL:
        raise ValidationError(NOT_AN_EMAIL)
    brokerage = Brokerage.objects.current()
    chosen, truncated = _leads(leads)
    merge = Merge(truncated=truncated)
    reached = _reached_if_it_matters(template, chosen)
    # In writing, the role reads as it does on the seller's page ("Ana Torres is a licensed
    # real estate agent with ..."), not as said on a call ("Hi, this is Ana ...").
    body = _filled_first(template.body, {"role disclosure": role_disclosure_written(actor=agent, brokerage=brokerage)})
    for lead in chosen:
        misfit = _not_written_for(template, reached=lead.pk in reached)
        if misfit and lead.contacts.all():
            merge.left_out.append((lead, lead.contacts.all()[0], misfit))
            continue
        found = False
        for owner in lead.contacts.all():
            if owner.deceased:
                merge.left_out.append((lead, owner, "deceased"))
                continue
            for email in owner.emails.all():
                found = True
                if gate:
                    verdict, findings, _ = outreach_verdict(
                        lead=lead, contact_point=email, channel=Channel.EMAIL, purpose=purpose_for(agent),
                        actor=agent, role_disclosed=discloses_role(template))
                    if verdict == Verdict.BLOCK:
                        merge.left_out.append((lead, owner, _refusal(findings)))
                        continue
                kwargs = {"lead": lead, "agent": agent, "owner": owner, "brokerage": brokerage}
                merge.pieces.append(Piece(lead=lead, owner=owner, email=email, text=render(body, **kwargs),
                                          subject=one_line(render(template.subject, **kwargs))))
        if not found and lead.contacts.all():
            merge.left_out.append((lead, None, "no email address"))
    return merge


@dataclass
class Sending:
    sent: int = 0
    refused: list[tuple[Piece, str]] = field(default_factory=list)
    failed: list[tuple[Piece, str]] = field(default_factory=list)


def emails_send(*, merge: Merge, template: MessageTemplate, agent: User, base_url: str) -> Sending:
    """Send each email of the merge; each is logged through the gate first, and only then sent.

    Refused outright (nothing logged) when the brokerage has no postal address to put in
    the footer. A message the mail server refuses after its outreach was logged is
    reported by address, so the agent knows which were logged but not delivered."""
    brokerage = Brokerage.objects.current()
    if brokerage_postal_address(brokerage) is None:
        raise ValidationError(NO_POSTAL_ADDRESS)
    sending = Sending()
    already = _emailed_today(merge=merge, template=template, agent=agent)
    guide = None
    if template.attach_guide and merge.pieces:
        from .seller import guide_pdf

        guide = guide_pdf(agent=agent)  # once for the whole send: it carries the agent, not the homeowner
    for piece in merge.pieces:
        if piece.email.pk in already:
            continue  # a retried task, a second click: each address once a day per template
        url = base_url + reverse("pipeline:unsubscribe", args=[unsubscribe_token(piece.email, agent)])
        message = EmailMultiAlternatives(
            subject=piece.subject, body=piece.text + email_footer(brokerage=brokerage, unsubscribe_url=url),
            from_email=settings.DEFAULT_FROM_EMAIL, to=[piece.email.address],
            reply_to=[agent.email] if agent.email else None,
            headers={"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
        )
        if guide is not None:
            message.attach("short-sale-guide.pdf", guide, "application/pdf")
        try:
            outreach_log(lead=piece.lead, channel=Channel.EMAIL, contact_point=piece.email, outcome=Outcome.SENT,
                         actor=agent, role_disclosed=discloses_role(template), purpose=purpose_for(agent),
                         notes=f"Emailed: {template.name}\n{piece.subject}")
        except OutreachBlocked as blocked:
            sending.refused.append((piece, " ".join(blocked.decision.reasons)))
            continue
        try:
            message.send()
        except Exception as error:  # the mail server's refusal, whatever its class
            sending.failed.append((piece, str(error)[:200]))
            # The log says "sent"; the lead's timeline says it never left.
            lead_note_add(lead=piece.lead, author=agent, body=UNDELIVERED.format(
                template=template.name, address=piece.email.address, error=str(error)[:200]))
            continue
        sending.sent += 1
    return sending


def _emailed_today(*, merge: Merge, template: MessageTemplate, agent: User) -> set[int]:
    return set(OutreachAttempt.objects.filter(
        agent=agent, channel=Channel.EMAIL, notes__startswith=f"Emailed: {template.name}\n",
        occurred_at__gte=timezone.now() - timedelta(days=1),
        email__in=[piece.email for piece in merge.pieces],
    ).values_list("email_id", flat=True))


def email_campaign_run(*, template_id: int, agent_id: int, filters: dict, base_url: str) -> Sending:
    """The Celery task's body: the merge as the agent saw it, sent; safe to run twice."""
    from compliance.selectors import lead_list

    agent = User.objects.get(pk=agent_id)
    template = MessageTemplate.objects.usable_by(agent).get(pk=template_id, kind=TemplateKind.EMAIL)
    leads, _filter = lead_list(fetched_by=agent, filters=filters)
    return emails_send(merge=email_merge(template=template, leads=leads, agent=agent), template=template,
                       agent=agent, base_url=base_url)


UNSUBSCRIBED_WORDS = "Unsubscribed with the link in a marketing email."


def unsubscribe(*, target: UnsubscribeTarget) -> None:
    """The homeowner followed the link: that address goes on the internal list at once, for
    everyone (B1), recorded on behalf of whoever sent the email."""
    internal_dnc_add(channel=Channel.EMAIL, email=target.address, homeowner_words=UNSUBSCRIBED_WORDS,
                     recorded_by=target.sender, lead=target.lead, requested_at=timezone.now())
