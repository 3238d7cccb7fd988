"""Mail merge and email: marketing pieces from templates for a filtered set of leads.

Every piece is outreach, so every recipient passes the one gate: a letter is checked
(and, once mailed, logged) as mail to that owner, an email as email to that address.
Do-not-mail and deceased owners are left out with the reason said. Emails carry the
brokerage's postal address and an unsubscribe link (CAN-SPAM); following it puts the
address on the internal list.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db.models import Prefetch
from django.urls import reverse
from django.utils import timezone

from compliance.models import Channel, Verdict
from compliance.services import internal_dnc_add, outreach_verdict
from leadcrm.accounts.models import Brokerage, User
from leads.models import Contact, Email, EmailStatus, Lead

from .models import MessageTemplate, Outcome, OutreachAttempt, TemplateKind
from .queue import purpose_for
from .scripts import merge_fields_in, render
from .services import OutreachBlocked, lead_note_add, outreach_log

# One merge at a time stays a page the agent can read and a batch a worker sends in
# seconds; a larger list is narrowed with the filters (by list, county, stage).
MERGE_LIMIT = 500
UNSUBSCRIBE_SALT = "leadcrm.unsubscribe"
PRINT_KINDS = (TemplateKind.LETTER, TemplateKind.POSTCARD)
NOT_FOR_PRINT = "Pick a letter or postcard template."
NOT_AN_EMAIL = "Pick an email template."


@dataclass
class Piece:
    lead: Lead
    owner: Contact
    text: str
    email: Email | None = None
    subject: str = ""


@dataclass
class Merge:
    pieces: list[Piece] = field(default_factory=list)
    left_out: list[tuple[Lead, Contact | None, str]] = field(default_factory=list)
    truncated: bool = False

    @property
    def reasons(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for _lead, _owner, reason in self.left_out:
            counts[reason] = counts.get(reason, 0) + 1
        return counts


def _leads(queryset) -> tuple[list[Lead], bool]:
    owners = Contact.objects.order_by("position", "pk").prefetch_related(
        Prefetch("emails", queryset=Email.objects.filter(status=EmailStatus.GOOD).order_by("position", "pk"))
    )
    # The caller's prefetches (a list page's) are replaced by the owners and emails a merge needs.
    leads = list(queryset.select_related("property").prefetch_related(None)
                 .prefetch_related(Prefetch("contacts", queryset=owners))
                 [:MERGE_LIMIT + 1])
    return leads[:MERGE_LIMIT], len(leads) > MERGE_LIMIT


def discloses_role(template: MessageTemplate) -> bool:
    """A piece states the sender's name and role only if its template says [Role Disclosure] (D3, F8)."""
    return any(name.strip().lower() == "role disclosure" for name in merge_fields_in(template.body))


def mail_merge(*, template: MessageTemplate, leads, agent: User, gate: bool = False) -> Merge:
    """One letter per owner who may be mailed; the rest left out with why.

    ``gate``: also ask the compliance gate (one read per owner) and leave out what it
    refuses. The preview does without; recording the letters as mailed logs each one
    through the gate anyway (``mailing_record``)."""
    if template.kind not in PRINT_KINDS:
        raise ValidationError(NOT_FOR_PRINT)
    brokerage = Brokerage.objects.current()
    chosen, truncated = _leads(leads)
    merge = Merge(truncated=truncated)
    for lead in chosen:
        owners = list(lead.contacts.all())
        if not owners:
            merge.left_out.append((lead, None, "no owner on file"))
        for owner in owners:
            if owner.deceased:
                merge.left_out.append((lead, owner, "deceased"))
            elif owner.do_not_mail:
                merge.left_out.append((lead, owner, "do not mail"))
            elif not owner.mailing_street:
                merge.left_out.append((lead, owner, "no mailing address"))
            else:
                if gate:
                    verdict, findings, _ = outreach_verdict(
                        lead=lead, contact_point=owner, channel=Channel.MAIL, purpose=purpose_for(agent),
                        actor=agent, role_disclosed=discloses_role(template))
                    if verdict == Verdict.BLOCK:
                        merge.left_out.append((lead, owner, _refusal(findings)))
                        continue
                merge.pieces.append(Piece(lead=lead, owner=owner, text=render(
                    template.body, lead=lead, agent=agent, owner=owner, brokerage=brokerage)))
    return merge


def _refusal(findings) -> str:
    rules = sorted({f.rule for f in findings if f.severity == Verdict.BLOCK})
    return "refused by the compliance check (" + ", ".join(rules) + ")"


@dataclass
class Mailing:
    printable: list[Piece]  # logged now, or already logged in the last day (a reprint)
    logged: int
    reprinted: int
    refused: list[tuple[Piece, str]]


def mailing_record(*, merge: Merge, template: MessageTemplate, agent: User) -> Mailing:
    """Log each letter as mailed through the gate, and return those that may be printed.

    Only a letter whose outreach was logged is printed. The same letter logged for the
    same owner in the last day is printed again but not logged twice (a reprint, a
    double click)."""
    notes = f"Mailed: {template.name}"
    since = timezone.now() - timedelta(days=1)
    already = set(OutreachAttempt.objects.filter(
        agent=agent, channel=Channel.MAIL, notes=notes, occurred_at__gte=since,
        contact__in=[piece.owner for piece in merge.pieces],
    ).values_list("contact_id", flat=True))
    mailing = Mailing(printable=[], logged=0, reprinted=0, refused=[])
    for piece in merge.pieces:
        if piece.owner.pk in already:
            mailing.printable.append(piece)
            mailing.reprinted += 1
            continue
        try:
            outreach_log(lead=piece.lead, channel=Channel.MAIL, contact_point=piece.owner, outcome=Outcome.SENT,
                         actor=agent, role_disclosed=discloses_role(template), purpose=purpose_for(agent),
                         notes=notes)
        except OutreachBlocked as blocked:
            mailing.refused.append((piece, " ".join(blocked.decision.reasons)))
            continue
        mailing.printable.append(piece)
        mailing.logged += 1
    return mailing


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
    for lead in chosen:
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
                merge.pieces.append(Piece(lead=lead, owner=owner, email=email, text=render(template.body, **kwargs),
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
    from leads.selectors import lead_list

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
