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
from dataclasses import dataclass
from datetime import date, timedelta

from django.core import signing
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from compliance.disclosures import role_disclosure_written
from compliance.models import Channel, Verdict
from compliance.services import outreach_verdict
from leadcrm.accounts.models import Brokerage, User
from leadcrm.shared.locks import session_lock
from leads.models import Contact, Lead
from pipeline.deals.reg_o import written_words_refusal
from pipeline.models import (
    MailBatch,
    MessageTemplate,
    Outcome,
    OutreachAttempt,
    TemplateKind,
)

from .merge import (
    PRINT_KINDS,
    Merge,
    Piece,
    fields_filled_first,
    joined_with_and,
    leads_to_merge,
    not_written_for,
    owner_names,
    reached_if_it_matters,
    refusal_reason,
    with_owners,
)
from .queue import purpose_for
from .scripts import render
from .services import OutreachBlocked, outreach_log

CONFIRMATION_SALT = "leadcrm.mail-confirmation"




NOT_FOR_PRINT = "Pick a letter or postcard template."


NO_OWNER = "no owner on file"


NO_MAILING_ADDRESS = "no mailing address"


DECEASED = "deceased"


DO_NOT_MAIL = "do not mail"


NOT_VISIBLE_NOW = "no longer a lead you work"


CONFIRMATION_UNREADABLE = ("That confirmation could not be read (it is another user's, or too old): show the "
                           "letters again and confirm from there.")


# A confirmation is good for a working day: the letters it names were shown that day.
CONFIRMATION_MAX_AGE = timedelta(hours=12)


# The letter ---------------------------------------------------------------------------------

_SALUTATION = re.compile(r"^(dear|hi|hello|greetings)\b.*[,:]$", re.IGNORECASE)


_VALEDICTION = re.compile(
    r"^(sincerely|yours sincerely|yours truly|respectfully|regards|best|best regards|kind regards|warm regards"
    r"|all the best|thank you|thanks)\s*[,.!]?$", re.IGNORECASE)


_BLANK_LINES = re.compile(r"\n{3,}")


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
        "first name": joined_with_and([o.first_name.strip() for o in people if o.first_name.strip()]) or "Homeowner",
        "owner name": owner_names(owners),
        "role disclosure": "",
    }
    body = letter_body(template.body) if template.kind == TemplateKind.LETTER else template.body
    text = render(fields_filled_first(body, values), lead=lead, agent=agent, owner=owners[0], brokerage=brokerage)
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
                reason = refusal_reason(findings)
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
    chosen, truncated = leads_to_merge(leads)
    merge = Merge(truncated=truncated)
    reached = reached_if_it_matters(template, chosen)
    for lead in chosen:
        owners = list(lead.contacts.all())
        if not owners:
            merge.left_out.append((lead, None, NO_OWNER))
            continue
        if misfit := not_written_for(template, reached=lead.pk in reached):
            merge.left_out.append((lead, owners[0], misfit))
            continue
        for group in _by_address(owners):
            named, dropped = _letter_names(lead=lead, group=group, agent=agent, gate=gate)
            if not named:
                merge.left_out.append((lead, group[0], " and ".join(sorted({why for _, why in dropped}))))
                continue
            text = piece_text(template=template, lead=lead, agent=agent, owners=named, brokerage=brokerage)
            # The letter's own words: a promise or representation (F6, F5), or Regulation O's
            # notice missing from a sender outside the licensee stay (F3).
            refused, _rules = written_words_refusal(text=text, actor=agent, lead=lead)
            if refused:
                merge.left_out.append((lead, named[0], " ".join(refused)))
                continue
            merge.names_left_off += [(lead, owner, why) for owner, why in dropped]
            merge.pieces.append(Piece(lead=lead, owner=named[0], owners=named, text=text))
    return merge


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
    leads = {lead.pk: lead for lead in with_owners(Lead.objects.visible_to(agent).filter(pk__in=ids)
                                                     .select_related("property"))}
    for lead_id, owner_ids in batch_letters:
        lead = leads.get(lead_id)
        if lead is None:
            yield lead_id, None, []
            continue
        by_pk = {owner.pk: owner for owner in lead.contacts.all()}
        yield lead_id, lead, [by_pk[pk] for pk in owner_ids if pk in by_pk]


def _one_confirmation_at_a_time(*, agent: User, template: MessageTemplate):
    """Two print runs of one agent and template confirmed at the same moment (two tabs)
    take turns, so the second reads what the first logged and prints it again instead of
    logging it twice (each letter is logged in a transaction of its own)."""
    return session_lock(f"mailing:{agent.pk}:{template.pk}")


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
    reached = reached_if_it_matters(template, [lead for _lead_id, lead, _owners in read_again if lead is not None])
    for lead_id, lead, owners in read_again:
        if lead is None:
            results.append({"lead": lead_id, "owners": [], "status": "refused", "reason": NOT_VISIBLE_NOW})
            continue
        if misfit := not_written_for(template, reached=lead.pk in reached):
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
