"""Mail merge and email: marketing pieces from templates for a filtered set of leads.

Every piece is outreach, so every recipient passes the one gate: a letter is checked
(and, once mailed, logged) as mail to that owner, an email as email to that address.
Do-not-mail and deceased owners are left out with the reason said. Emails carry the
brokerage's postal address and an unsubscribe link (CAN-SPAM); following it puts the
address on the internal list.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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

from .models import MessageTemplate, Outcome, TemplateKind
from .queue import purpose_for
from .scripts import render
from .services import OutreachBlocked, outreach_log

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


def mail_merge(*, template: MessageTemplate, leads, agent: User) -> Merge:
    """One letter per owner who may be mailed, gate-checked; the rest left out with why."""
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
                verdict, findings, _ = outreach_verdict(lead=lead, contact_point=owner, channel=Channel.MAIL,
                                                        purpose=purpose_for(agent), actor=agent)
                if verdict == Verdict.BLOCK:
                    merge.left_out.append((lead, owner, "on the internal do-not-contact list"))
                    continue
                merge.pieces.append(Piece(lead=lead, owner=owner, text=render(
                    template.body, lead=lead, agent=agent, owner=owner, brokerage=brokerage)))
    return merge


def mailing_record(*, merge: Merge, template: MessageTemplate, agent: User) -> tuple[int, int]:
    """Log each printed letter as mailed, each through the gate; returns (logged, refused)."""
    logged = refused = 0
    for piece in merge.pieces:
        try:
            outreach_log(lead=piece.lead, channel=Channel.MAIL, contact_point=piece.owner, outcome=Outcome.SENT,
                         actor=agent, role_disclosed=True, purpose=purpose_for(agent),
                         notes=f"Mailed: {template.name}")
            logged += 1
        except OutreachBlocked:
            refused += 1
    return logged, refused


# Email ---------------------------------------------------------------------------------


def unsubscribe_token(email: Email, sender: User) -> str:
    """Signed, so nobody unsubscribes an address by guessing a number."""
    return signing.dumps({"email": email.pk, "by": sender.pk}, salt=UNSUBSCRIBE_SALT)


def unsubscribe_target(token: str) -> tuple[Email, User] | None:
    """The address a link was sent to and who sent it, or None for a forged or broken link."""
    try:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None
    email = Email.objects.select_related("contact__lead__assigned_agent").filter(pk=data.get("email")).first()
    sender = User.objects.filter(pk=data.get("by")).first()
    if email is None or sender is None:
        return None
    return email, sender


def email_footer(*, brokerage: Brokerage, unsubscribe_url: str) -> str:
    address = ", ".join(part for part in (
        brokerage.office_street, brokerage.office_city,
        f"{brokerage.office_state} {brokerage.office_zip}".strip()) if part)
    return (f"\n\n--\n{brokerage.name}" + (f", {address}" if address else "")
            + f"\nTo stop receiving these emails: {unsubscribe_url}")


def email_merge(*, template: MessageTemplate, leads, agent: User) -> Merge:
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
                verdict, _findings, _ = outreach_verdict(lead=lead, contact_point=email, channel=Channel.EMAIL,
                                                         purpose=purpose_for(agent), actor=agent)
                if verdict == Verdict.BLOCK:
                    merge.left_out.append((lead, owner, "unsubscribed or on the internal list"))
                    continue
                kwargs = {"lead": lead, "agent": agent, "owner": owner, "brokerage": brokerage}
                merge.pieces.append(Piece(lead=lead, owner=owner, email=email, text=render(template.body, **kwargs),
                                          subject=render(template.subject, **kwargs)))
        if not found and lead.contacts.all():
            merge.left_out.append((lead, None, "no email address"))
    return merge


def emails_send(*, merge: Merge, template: MessageTemplate, agent: User, base_url: str) -> tuple[int, int]:
    """Send each email of the merge, each logged through the gate first; (sent, refused)."""
    brokerage = Brokerage.objects.current()
    sent = refused = 0
    for piece in merge.pieces:
        try:
            outreach_log(lead=piece.lead, channel=Channel.EMAIL, contact_point=piece.email, outcome=Outcome.SENT,
                         actor=agent, role_disclosed=True, purpose=purpose_for(agent),
                         notes=f"Emailed: {template.name}\n{piece.subject}")
        except OutreachBlocked:
            refused += 1
            continue
        url = base_url + reverse("pipeline:unsubscribe", args=[unsubscribe_token(piece.email, agent)])
        message = EmailMultiAlternatives(
            subject=piece.subject, body=piece.text + email_footer(brokerage=brokerage, unsubscribe_url=url),
            from_email=settings.DEFAULT_FROM_EMAIL, to=[piece.email.address],
            reply_to=[agent.email] if agent.email else None,
            headers={"List-Unsubscribe": f"<{url}>"},
        )
        message.send()
        sent += 1
    return sent, refused


UNSUBSCRIBED_WORDS = "Unsubscribed with the link in a marketing email."


def unsubscribe(*, email: Email, sender: User) -> None:
    """The homeowner followed the link: that address goes on the internal list (B1), on
    behalf of whoever sent the email."""
    internal_dnc_add(channel=Channel.EMAIL, email=email.address, homeowner_words=UNSUBSCRIBED_WORDS,
                     recorded_by=sender, lead=email.contact.lead, requested_at=timezone.now())
