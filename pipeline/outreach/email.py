"""Email merge and campaigns: each email logged through the gate, then sent; unsubscribe links.

Emails carry the brokerage's postal address and an unsubscribe link (CAN-SPAM); following
it puts the address on the internal list.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.urls import reverse
from django.utils import timezone

from compliance.disclosures import role_disclosure_written
from compliance.models import Channel, Verdict
from compliance.services import internal_dnc_add, outreach_verdict
from leadcrm.accounts.models import Brokerage, User
from leads.models import Email, Lead
from pipeline.models import (
    MessageTemplate,
    Outcome,
    OutreachAttempt,
    TemplateKind,
)

from .merge import (
    Merge,
    Piece,
    discloses_role,
    fields_filled_first,
    leads_to_merge,
    not_written_for,
    reached_if_it_matters,
    refusal_reason,
)
from .queue import purpose_for
from .scripts import render
from .services import OutreachBlocked, lead_note_add, outreach_log

UNSUBSCRIBE_SALT = "leadcrm.unsubscribe"


NOT_AN_EMAIL = "Pick an email template."


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
    chosen, truncated = leads_to_merge(leads)
    merge = Merge(truncated=truncated)
    reached = reached_if_it_matters(template, chosen)
    # In writing, the role reads as it does on the seller's page ("Ana Torres is a licensed
    # real estate agent with ..."), not as said on a call ("Hi, this is Ana ...").
    body = fields_filled_first(template.body, {"role disclosure": role_disclosure_written(actor=agent, brokerage=brokerage)})
    for lead in chosen:
        misfit = not_written_for(template, reached=lead.pk in reached)
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
                        merge.left_out.append((lead, owner, refusal_reason(findings)))
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


def campaign_emails_send(*, merge: Merge, template: MessageTemplate, agent: User, base_url: str) -> Sending:
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
        from pipeline.seller.guide import guide_pdf

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
    return campaign_emails_send(merge=email_merge(template=template, leads=leads, agent=agent), template=template,
                       agent=agent, base_url=base_url)


UNSUBSCRIBED_WORDS = "Unsubscribed with the link in a marketing email."


def unsubscribe(*, target: UnsubscribeTarget) -> None:
    """The homeowner followed the link: that address goes on the internal list at once, for
    everyone (B1), recorded on behalf of whoever sent the email."""
    internal_dnc_add(channel=Channel.EMAIL, email=target.address, homeowner_words=UNSUBSCRIBED_WORDS,
                     recorded_by=target.sender, lead=target.lead, requested_at=timezone.now())
