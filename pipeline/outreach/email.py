"""Email merge and campaigns: each email logged through the gate, then sent; unsubscribe links.

Emails carry the brokerage's postal address and an unsubscribe link (CAN-SPAM); following
it puts the address on the internal list.
"""

from __future__ import annotations

import re
import smtplib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import NamedTuple

import requests
from anymail.message import AnymailMessage
from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import get_connection
from django.urls import reverse
from django.utils import timezone

from compliance import disclosures
from compliance.disclosures import role_disclosure_written
from compliance.models import Channel, Direction, Verdict
from compliance.services import internal_dnc_add, outreach_verdict
from leadcrm.accounts.models import Brokerage, User
from leads.models import Email, Lead
from pipeline.deals.reg_o import written_words_refusal
from pipeline.models import (
    Message,
    MessageStatus,
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


def esp_provider(esp_name: str) -> str:
    """anymail's name of a service ("Mailgun", "Amazon SES") as a ``Message``'s provider."""
    return re.sub(r"\W+", "_", esp_name.strip().lower())[:40]


def email_provider_name(connection) -> str:
    """The name a sent email's ``Message`` carries: the service's, as its webhooks report
    it ("mailgun", "amazon_ses"), else the Django backend's ("smtp", "locmem")."""
    esp_name = getattr(connection, "esp_name", "")
    if esp_name:
        return esp_provider(esp_name)
    return type(connection).__module__.rsplit(".", 1)[-1][:40]


# Services that take a per-message "no click tracking" (the others never rewrite links unless
# their own settings say so); asking one that does not is an error in anymail.
CLICK_TRACKING_SERVICES = frozenset({
    "mailersend", "mailgun", "mailjet", "mandrill", "postmark", "resend", "sendgrid", "sparkpost", "unisender_go",
    "test", "console",
})
SEND_FAILED = "The email service refused it: {error}"
SEND_UNKNOWN = "The email service did not answer in time: it may or may not have sent it, so it is not sent again."


def _reply_to(agent: User) -> list[str] | None:
    """Replies come back to the CRM when the service receives mail for it (filed on the
    lead, the agent told: pipeline.messaging.email), else to the agent's own mailbox."""
    if settings.LEADCRM_EMAIL_REPLY_TO:
        return [settings.LEADCRM_EMAIL_REPLY_TO]
    return [agent.email] if agent.email else None


def _email_message(*, piece: Piece, text: str, url: str, agent: User, connection, provider: str) -> AnymailMessage:
    message = AnymailMessage(
        subject=piece.subject, body=text, from_email=settings.DEFAULT_FROM_EMAIL, to=[piece.email.address],
        reply_to=_reply_to(agent), connection=connection,
        headers={"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
    )
    message.tags = ["campaign"]
    if disclosures.HEADING in text.upper():
        # Regulation O's notice is bold and two points larger than the body (F3): plain text
        # cannot say so, so the email gets an HTML part that does. Any case, as the F3 check
        # reads the heading: a notice that passed it always gets its bold heading.
        message.attach_alternative(disclosures.text_as_html(text), "text/html")
    if provider in CLICK_TRACKING_SERVICES:
        # The unsubscribe link must stay ours: a rewritten one goes through the service's
        # redirect, and a tracking domain in a homeowner's email reads as phishing.
        message.track_clicks = False
    return message


def campaign_emails_send(*, merge: Merge, template: MessageTemplate, agent: User, base_url: str) -> Sending:
    """Send each email of the merge; each is logged through the gate first, and only then sent.

    Refused outright (nothing logged) when the brokerage has no postal address to put in
    the footer. Each allowed email gets its ``Message`` with its attempt (the service's id
    once it took it, its deliveries and bounces later: pipeline.messaging.email). A message
    the service refuses after its outreach was logged is marked failed, noted on the
    lead's timeline and reported by address, so it never looks sent."""
    brokerage = Brokerage.objects.current()
    if brokerage_postal_address(brokerage) is None:
        raise ValidationError(NO_POSTAL_ADDRESS)
    sending = Sending()
    already = _emailed_today(merge=merge, template=template, agent=agent)
    guide = None
    if template.attach_guide and merge.pieces:
        from pipeline.seller.guide import guide_pdf

        guide = guide_pdf(agent=agent)  # once for the whole send: it carries the agent, not the homeowner
    connection = get_connection()
    provider = email_provider_name(connection)
    for piece in merge.pieces:
        if piece.email.pk in already:
            continue  # a retried task, a second click: each address once a day per template
        outcome = email_piece_send(piece=piece, template=template, agent=agent, base_url=base_url,
                                   brokerage=brokerage, connection=connection, provider=provider, guide=guide)
        if outcome.result == EmailResult.REFUSED:
            sending.refused.append((piece, outcome.why))
        elif outcome.result == EmailResult.FAILED:
            sending.failed.append((piece, outcome.why))
        else:
            sending.sent += 1
    return sending


class EmailResult:
    SENT, REFUSED, FAILED = "sent", "refused", "failed"


class EmailOutcome(NamedTuple):
    result: str  # an EmailResult
    why: str = ""  # the gate's reasons or the service's error, when not sent
    rules: tuple[str, ...] = ()  # the rule IDs that refused it


def email_piece_send(
    *,
    piece: Piece,
    template: MessageTemplate,
    agent: User,
    base_url: str,
    brokerage: Brokerage,
    connection=None,
    provider: str = "",
    guide: bytes | None = None,
    then: Callable[[OutreachAttempt, Message], None] | None = None,
) -> EmailOutcome:
    """One email of a merge: logged through the gate, then sent. Returns the result
    (``EmailResult``) and, when not sent, why: the gate's reasons (and rule IDs) or the
    service's error.

    ``then`` runs with the attempt and its ``Message`` in their transaction, before
    anything leaves (an action plan records its step there)."""
    refused = email_content_refusal(piece=piece, agent=agent)
    if refused is not None:
        return refused
    connection = connection or get_connection()
    provider = provider or email_provider_name(connection)
    url = base_url + reverse("pipeline:unsubscribe", args=[unsubscribe_token(piece.email, agent)])
    text = piece.text + email_footer(brokerage=brokerage, unsubscribe_url=url)
    message = _email_message(piece=piece, text=text, url=url, agent=agent, connection=connection,
                             provider=provider)
    if guide is not None:
        message.attach("short-sale-guide.pdf", guide, "application/pdf")
    created: list[Message] = []

    def message_for(attempt: OutreachAttempt) -> None:
        # Handed over as soon as it exists: the sweep calls one never answered "unknown"
        # and, like a text, it is never sent again.
        now = timezone.now()
        created.append(Message.objects.create(
            channel=Channel.EMAIL, direction=Direction.OUTBOUND, provider=provider, lead=piece.lead,
            attempt=attempt, agent=agent, from_address=settings.DEFAULT_FROM_EMAIL[:200],
            to_address=piece.email.address.lower(), subject=piece.subject, body=text,
            status=MessageStatus.SENDING, created_at=now, status_at=now, handed_over_at=now,
        ))
        if then is not None:
            then(attempt, created[0])

    try:
        attempt = outreach_log(
            lead=piece.lead, channel=Channel.EMAIL, contact_point=piece.email, outcome=Outcome.SENT,
            actor=agent, role_disclosed=discloses_role(template), purpose=purpose_for(agent),
            notes=f"Emailed: {template.name}\n{piece.subject}", then=message_for)
    except OutreachBlocked as blocked:
        return EmailOutcome(EmailResult.REFUSED, " ".join(blocked.decision.reasons), tuple(
            sorted({finding.rule for finding in blocked.decision.findings_with(Verdict.BLOCK)})))
    record = created[0]
    message.metadata = {"attempt": str(attempt.pk), "message": str(record.pk)}
    try:
        message.send()
    except Exception as error:  # the service's or mail server's refusal, whatever its class
        _email_sent(record=record, message=message, error=error)
        # The log says "sent"; the lead's timeline says it never left.
        lead_note_add(lead=piece.lead, author=agent, body=UNDELIVERED.format(
            template=template.name, address=piece.email.address, error=str(error)[:200]))
        return EmailOutcome(EmailResult.FAILED, str(error)[:200])
    _email_sent(record=record, message=message)
    return EmailOutcome(EmailResult.SENT)


def email_content_refusal(*, piece: Piece, agent: User) -> EmailOutcome | None:
    """What refuses an email's own words before the gate is asked, as for a text: the
    gate sees only a note of it (F6, F5, and F3 outside the licensee stay)."""
    reasons, codes = written_words_refusal(text=piece.subject + "\n" + piece.text, actor=agent, lead=piece.lead)
    if not reasons:
        return None
    return EmailOutcome(EmailResult.REFUSED, " ".join(reasons), tuple(sorted(codes)))


def _may_have_gone(error: Exception) -> bool:
    """The request left and no answer came back: a read timeout, a connection dropped after
    sending (not refused before it), a mail server hanging up after the message's data."""
    cause = getattr(error, "__cause__", None) or error
    if isinstance(cause, requests.exceptions.ReadTimeout | smtplib.SMTPServerDisconnected):
        return True
    if isinstance(cause, requests.exceptions.ConnectionError) and not isinstance(
            cause, requests.exceptions.ConnectTimeout):
        return "refused" not in str(cause).lower()
    return False


def _email_sent(*, record: Message, message: AnymailMessage, error: Exception | None = None) -> None:
    """What the service answered, onto the email's ``Message``: its id and "sent", or
    "failed" with its words; "unknown" when it took too long to answer (it may have gone)."""
    update = {"status": MessageStatus.SENT, "status_at": timezone.now()}
    if error is not None and _may_have_gone(error):
        update.update(status=MessageStatus.UNKNOWN, error_message=SEND_UNKNOWN)
    elif error is not None:
        update.update(status=MessageStatus.FAILED, error_code=type(error).__name__[:40],
                      error_message=SEND_FAILED.format(error=error)[:500])
    message_id = message.anymail_status.message_id
    if message_id is not None:
        update["provider_id"] = str(message_id)[:120]
    # Still as it was handed over: nothing has reported on it before this answer.
    Message.objects.filter(pk=record.pk, status__in=[MessageStatus.SENDING, MessageStatus.UNKNOWN]).update(**update)


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
