"""The seller's side of a short sale (issue 10): the homeowner's private status page, the
documents they still owe and their uploads, the seller guide, and what they were told.

The page is opened by a long random token (only its hash is kept) that expires, can be
revoked, is one per lead, and may ask for the last four digits of a phone on file. It
shows the seller their own file in plain words and nothing else: no loan numbers, no
notes, no compliance records, no other lead. Every visit, upload and guide download
lands on the lead's timeline (``SellerEvent``).
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from leadcrm.accounts.models import Brokerage, User
from leads.models import Lead, Lien, Phone, PhoneStatus, Stage

from .documents import DOCUMENT_RULES, document_upload, package_checklist, sniff_document
from .forecast import Forecast, forecast_for
from .models import (
    AgentPhoto,
    BriefingTopic,
    ChecklistItem,
    DocumentKind,
    DocumentStatus,
    DocumentUpload,
    EmailState,
    GuideSection,
    LenderMilestone,
    Milestone,
    Notification,
    NotificationKind,
    SellerBriefing,
    SellerEvent,
    SellerEventKind,
    SellerLink,
)

LINK_DAYS = (7, 30, 60, 90)
DEFAULT_LINK_DAYS = 30
PHONE_CHECK_TRIES = 5
LOCK_MINUTES = 60
# Three locks (fifteen wrong tries) and the link is revoked: four digits must not be
# guessable over a link's 90 days at five tries an hour.
LOCKS_BEFORE_REVOKING = 3
# Reloads and clicks within half an hour are one visit on the timeline, not fifty.
VISIT_GAP = timedelta(minutes=30)
UPLOADS_PER_DAY = 40
PHOTO_MAX_BYTES = 5 * 2**20

LINK_DAYS_INVALID = "Pick how long the link stays open: 7, 30, 60 or 90 days."
NO_PHONE_FOR_CHECK = "There is no phone number on file to ask the last four digits of: add one, or send the link without it."
NOT_A_SELLER_DOCUMENT = "That is not one of the documents on your list."
ALREADY_ACCEPTED = "Your agent has already accepted this document; nothing more is needed for it."
FILE_CLOSED = "This file is closed: please call your agent instead."
TOO_MANY_UPLOADS = "That is a lot of files for one day: please call your agent before sending more."
PHOTO_NOT_AN_IMAGE = "The photo must be a JPEG or PNG image (checked by its content)."
PHOTO_TOO_LARGE = "The photo is {size:.1f} MB; the most is 5 MB."


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _event(*, lead: Lead, kind: str, at: datetime, actor: User | None = None, upload=None, detail: str = "") -> SellerEvent:
    return SellerEvent.objects.create(lead=lead, kind=kind, at=at, actor=actor, upload=upload, detail=detail[:300])


# Links (the agent's side) ---------------------------------------------------------------


def seller_link_url(token: str) -> str:
    return f"{settings.LEADCRM_BASE_URL}{reverse('pipeline:seller_page', args=[token])}"


def _phone_endings(lead: Lead) -> set[str]:
    # Good numbers only: a skip-traced wrong party's or a dead number's digits prove nothing.
    numbers = Phone.objects.filter(contact__lead=lead, status=PhoneStatus.GOOD).values_list("number", flat=True)
    return {number[-4:] for number in numbers if number and len(number) >= 4}


@transaction.atomic
def seller_link_create(*, lead: Lead, actor: User, days: int = DEFAULT_LINK_DAYS, asks_phone_digits: bool = False,
                       now: datetime | None = None) -> str:
    """A new private link to the lead's status page; any earlier one stops working. The
    token is returned once, to be sent to the homeowner, and never stored."""
    now = now or timezone.now()
    if days not in LINK_DAYS:
        raise ValidationError({"days": LINK_DAYS_INVALID})
    if asks_phone_digits and not _phone_endings(lead):
        raise ValidationError({"asks_phone_digits": NO_PHONE_FOR_CHECK})
    token = secrets.token_urlsafe(32)
    replaced = SellerLink.objects.filter(lead=lead, revoked_at__isnull=True, expires_at__gt=now).exists()
    link, _ = SellerLink.objects.update_or_create(lead=lead, defaults={
        "token_hash": _hash(token), "created_by": actor, "created_at": now, "expires_at": now + timedelta(days=days),
        "revoked_at": None, "asks_phone_digits": asks_phone_digits, "failed_checks": 0, "locked_until": None,
        "last_visit_at": None,
    })
    detail = f"Open until {timezone.localtime(link.expires_at):%b %-d, %Y}"
    detail += "; asks for the last four digits of a phone on file" if asks_phone_digits else ""
    detail += "; the earlier link no longer works" if replaced else ""
    _event(lead=lead, kind=SellerEventKind.LINK_CREATED, at=now, actor=actor, detail=detail)
    return token


@transaction.atomic
def seller_link_revoke(*, lead: Lead, actor: User, now: datetime | None = None) -> bool:
    now = now or timezone.now()
    revoked = SellerLink.objects.filter(lead=lead, revoked_at__isnull=True).update(revoked_at=now)
    if revoked:
        _event(lead=lead, kind=SellerEventKind.LINK_REVOKED, at=now, actor=actor)
    return bool(revoked)


# Links (the seller's side) --------------------------------------------------------------


def seller_link_open(token: str, now: datetime | None = None) -> SellerLink | None:
    """The open link this token is, or None: a guess, another lead's old link, an expired
    or revoked one all look the same to whoever holds it."""
    if not token or len(token) > 100:
        return None
    now = now or timezone.now()
    link = (SellerLink.objects.filter(token_hash=_hash(token))
            .select_related("lead__property", "lead__assigned_agent").first())
    return link if link is not None and link.is_open_at(now) else None


def seller_link_is_locked(link: SellerLink, now: datetime | None = None) -> bool:
    return link.locked_until is not None and link.locked_until > (now or timezone.now())


def seller_phone_check(*, link: SellerLink, digits: str, now: datetime | None = None) -> bool:
    """The second factor: the last four digits of a good phone on file. Every five wrong
    tries lock the link for an hour (logged, the agent told the first time); the third
    lock revokes it."""
    now = now or timezone.now()
    digits = "".join(ch for ch in (digits or "") if ch.isdigit())
    with transaction.atomic():
        link = SellerLink.objects.select_for_update(of=("self",)).select_related("lead__assigned_agent").get(pk=link.pk)
        if seller_link_is_locked(link, now):
            return False
        if len(digits) == 4 and digits in _phone_endings(link.lead):
            return True
        link.failed_checks += 1  # never reset by a lock: it counts towards revoking
        _event(lead=link.lead, kind=SellerEventKind.CHECK_FAILED, at=now,
               detail=f"Wrong try {link.failed_checks} of {PHONE_CHECK_TRIES * LOCKS_BEFORE_REVOKING}")
        if link.failed_checks >= PHONE_CHECK_TRIES * LOCKS_BEFORE_REVOKING:
            link.revoked_at = now
            _event(lead=link.lead, kind=SellerEventKind.LINK_REVOKED, at=now,
                   detail=f"Revoked after {link.failed_checks} wrong phone digits")
            _notify_agent(link.lead, key=f"seller_revoked:{link.pk}:{now:%Y%m%d%H%M%S}", at=now,
                          title="A seller's status page was revoked after fifteen wrong phone digits",
                          body="Someone kept guessing. If your seller still needs the page, send them a new link.")
        elif link.failed_checks % PHONE_CHECK_TRIES == 0:
            link.locked_until = now + timedelta(minutes=LOCK_MINUTES)
            _event(lead=link.lead, kind=SellerEventKind.LOCKED, at=now,
                   detail=f"Locked until {timezone.localtime(link.locked_until):%b %-d, %-I:%M %p %Z}")
            if link.failed_checks == PHONE_CHECK_TRIES:  # told once; the revocation is told too
                _notify_agent(link.lead, key=f"seller_locked:{link.pk}:{now:%Y%m%d%H%M%S}", at=now,
                              title="A seller's status page was locked after five wrong phone digits",
                              body="If it was not your seller, consider revoking the link and sending a new one.")
        link.save(update_fields=["failed_checks", "locked_until", "revoked_at"])
        return False


def seller_visit_record(*, link: SellerLink, now: datetime | None = None) -> bool:
    """Note the visit; a new one (after a half-hour's quiet) goes on the timeline."""
    now = now or timezone.now()
    started = SellerLink.objects.filter(
        Q(last_visit_at__isnull=True) | Q(last_visit_at__lt=now - VISIT_GAP), pk=link.pk
    ).update(last_visit_at=now)
    if started:
        _event(lead=link.lead, kind=SellerEventKind.VISIT, at=now)
    else:
        SellerLink.objects.filter(pk=link.pk).update(last_visit_at=now)
    return bool(started)


def seller_guide_downloaded(*, link: SellerLink, now: datetime | None = None) -> None:
    _event(lead=link.lead, kind=SellerEventKind.GUIDE, at=now or timezone.now())


# What the seller sees -------------------------------------------------------------------


@dataclass(frozen=True)
class SellerDocumentText:
    title: str
    why: str


# The documents the homeowner provides, in their words (the agent's checklist has the
# lender's). The rest of the package (listing, contract, buyer's funds, settlement
# statement, approval letters) comes from the agent, the buyer and the lenders.
SELLER_DOCUMENTS: dict[DocumentKind, SellerDocumentText] = {
    DocumentKind.AUTHORIZATION: SellerDocumentText(
        "Permission for your lender to talk to us",
        "Each lender discusses your loan only with people you name in writing: one signed form per loan."),
    DocumentKind.HARDSHIP_LETTER: SellerDocumentText(
        "Your hardship letter",
        "A short letter in your own words: what happened, and why you cannot keep up the payments. Sign and date it."),
    DocumentKind.FINANCIAL_WORKSHEET: SellerDocumentText(
        "Income and expense form",
        "The lender's form (often Fannie Mae Form 710) with what you earn and spend each month."),
    DocumentKind.PAY_STUBS: SellerDocumentText(
        "Recent pay stubs",
        "Your last month of pay stubs, or proof of other income such as benefits or a pension."),
    DocumentKind.BANK_STATEMENTS: SellerDocumentText(
        "Bank statements",
        "The last two months for every account, every page, even the blank ones."),
    DocumentKind.TAX_RETURNS: SellerDocumentText(
        "Tax returns", "The last two years, signed, with every schedule."),
    DocumentKind.FORM_4506C: SellerDocumentText(
        "IRS Form 4506-C", "Lets each lender ask the IRS for your tax transcripts."),
}


def _recency(kind: DocumentKind) -> str:
    rule = DOCUMENT_RULES.get(kind)
    if kind == DocumentKind.FORM_4506C:
        return f"Signed within the last {rule.fresh_days} days."
    if rule and rule.fresh_days:
        return f"Dated within the last {rule.fresh_days} days."
    if kind == DocumentKind.TAX_RETURNS:
        return "The two most recent years."
    return ""


@dataclass
class SellerDocument:
    key: str
    kind: DocumentKind
    lien: Lien | None
    title: str
    why: str
    recency: str
    needs_date: bool
    state: str  # needed, redo, expired, received, done
    received_on: date | None = None

    @property
    def state_label(self) -> str:
        return {"needed": "Still needed", "redo": "Please send it again", "expired": "Out of date: please send a newer one",
                "received": "Received: your agent will review it", "done": "Done"}[self.state]

    @property
    def can_upload(self) -> bool:
        return self.state != "done"


def _document_key(kind: str, lien: Lien | None) -> str:
    return f"{kind}:{lien.pk}" if lien else str(kind)


def seller_documents(*, lead: Lead, today: date | None = None) -> list[SellerDocument]:
    """The seller's documents, each with why it is needed and how recent it must be."""
    documents = []
    for row in package_checklist(lead=lead, today=today):
        text = SELLER_DOCUMENTS.get(row.kind)
        if text is None:
            continue
        if row.is_expired:
            state = "expired"
        elif row.status == DocumentStatus.REJECTED:
            state = "redo"
        elif row.status in (DocumentStatus.ACCEPTED, DocumentStatus.WAIVED):
            state = "done"
        elif row.status == DocumentStatus.RECEIVED:
            state = "received"
        else:
            state = "needed"
        title = text.title
        if row.lien is not None:
            title += f": {row.lien.position_label.lower()} loan" + (f" ({row.lien.lender})" if row.lien.lender else "")
        rule = DOCUMENT_RULES.get(row.kind)
        documents.append(SellerDocument(
            key=_document_key(row.kind, row.lien), kind=row.kind, lien=row.lien, title=title, why=text.why,
            recency=_recency(row.kind), needs_date=bool(rule and rule.fresh_days), state=state,
            received_on=row.item.received_on if row.item else None,
        ))
    order = {"redo": 0, "expired": 1, "needed": 2, "received": 3, "done": 4}
    return sorted(documents, key=lambda document: order[document.state])


def _parse_key(lead: Lead, key: str) -> tuple[DocumentKind, Lien | None]:
    kind_text, _, lien_text = (key or "").partition(":")
    try:
        kind = DocumentKind(kind_text)
    except ValueError:
        raise ValidationError(NOT_A_SELLER_DOCUMENT) from None
    if kind not in SELLER_DOCUMENTS:
        raise ValidationError(NOT_A_SELLER_DOCUMENT)
    lien = None
    if lien_text:
        lien = lead.liens.filter(pk=int(lien_text)).first() if lien_text.isdigit() else None
        if lien is None:
            raise ValidationError(NOT_A_SELLER_DOCUMENT)
    return kind, lien


def seller_document_upload(*, link: SellerLink, key: str, file, dated_on: date | None = None,
                           now: datetime | None = None) -> DocumentUpload:
    """A file from the homeowner: the same content and size checks as every upload; the
    checklist item becomes "received, to review", the timeline says so, the agent is told."""
    now = now or timezone.now()
    lead = link.lead
    if not lead.is_open():
        raise ValidationError(FILE_CLOSED)
    kind, lien = _parse_key(lead, key)
    current = next((d for d in seller_documents(lead=lead) if d.key == _document_key(kind, lien)), None)
    if current is None:
        raise ValidationError(NOT_A_SELLER_DOCUMENT)
    if SellerEvent.objects.filter(lead=lead, kind=SellerEventKind.UPLOAD, at__gte=now - timedelta(days=1)).count() \
            >= UPLOADS_PER_DAY:
        raise ValidationError(TOO_MANY_UPLOADS)
    with transaction.atomic():
        # Checked again under the item's lock: an agent accepting it this very moment keeps it.
        item = ChecklistItem.objects.select_for_update().filter(lead=lead, kind=kind, lien=lien).order_by("pk").first()
        if item is not None and item.status in (DocumentStatus.ACCEPTED, DocumentStatus.WAIVED) \
                and not item.is_expired_on(timezone.localdate()):
            raise ValidationError(ALREADY_ACCEPTED)
        upload = document_upload(lead=lead, kind=kind, file=file, actor=None, lien=lien, dated_on=dated_on,
                                 from_seller=True)
        _event(lead=lead, kind=SellerEventKind.UPLOAD, at=now, upload=upload,
               detail=f"{current.title}: {upload.original_name}")
        # One notification per lead and hour: ten photos of a bank statement are one message.
        _notify_agent(lead, key=f"seller_upload:{lead.pk}:{now:%Y%m%d%H}", at=now,
                      title=f"Your seller sent documents for {lead.property.street_line}"[:200],
                      body=f"First: {current.title} ({upload.original_name}). They wait in the document "
                           "checklist as received, to review.",
                      url=reverse("pipeline:documents", args=[lead.pk]))
    return upload


def _notify_agent(lead: Lead, *, key: str, at: datetime, title: str, body: str, url: str = "") -> None:
    from .notifications import raise_once

    agent = lead.assigned_agent
    if agent is None or not agent.is_active:
        return
    wants_email = agent.email_reminders and bool(agent.email)
    note = Notification(
        recipient=agent, kind=NotificationKind.SELLER, key=key[:160], lead=lead, title=title[:200], body=body,
        url=url or reverse("leads:detail", args=[lead.pk]), created_at=at,
        email_state=EmailState.PENDING if wants_email else EmailState.NONE,
    )
    # Once per key, even with two uploads at the same moment (a savepoint: the upload stands).
    if not raise_once(note):
        return
    if wants_email:
        from .tasks import emails_send

        transaction.on_commit(lambda: emails_send.delay([note.pk]))


# The stage and the lenders, in plain words --------------------------------------------


@dataclass(frozen=True)
class StageText:
    title: str
    now: str
    next: str


STAGE_TEXT: dict[str, StageText] = {
    Stage.LIST: StageText("Getting started", "Your agent is getting to know your situation.",
                          "Your agent will talk you through how a short sale works and what it needs from you."),
    Stage.QUALIFY: StageText(
        "Preparing your file",
        "We are gathering your documents and the details of your loans, and getting your home ready to list.",
        "Once your documents are in, each lender receives a complete package and your home goes on the market."),
    Stage.NEGOTIATE: StageText(
        "With your lenders",
        "Your lenders are reviewing the short sale. This is usually the longest part, and it moves at their pace.",
        "Each lender values the home, reviews the offer and answers in writing. We will tell you when anything "
        "changes; send any document they ask for as soon as you can."),
    Stage.CLOSE: StageText(
        "Getting ready to close",
        "Every lender has answered in writing, and the closing is being scheduled.",
        "The title company sets the signing. Bring a photo ID, and call us with any question before you sign."),
    Stage.CLOSED: StageText("Sold", "Your home's sale has closed.",
                            "Keep the closing papers and every lender's letter with your records."),
    Stage.DEAD: StageText("This file is closed", "Your agent is no longer working on this sale.",
                          "Call your agent with any question."),
}
STAGE_TEXT[Stage.CONTACT] = STAGE_TEXT[Stage.LIST]
# The steps shown as a progress bar: (title, the stages it covers).
PROGRESS = [("Getting started", {Stage.LIST, Stage.CONTACT}), ("Your file", {Stage.QUALIFY}),
            ("With your lenders", {Stage.NEGOTIATE}), ("Closing", {Stage.CLOSE}), ("Sold", {Stage.CLOSED})]

# Each lender's steps, as the homeowner would name them, and the milestones that mark them.
LENDER_STEPS = [
    ("Authorization received", "The lender has your permission to talk to us.",
     {Milestone.AUTHORIZATION_RECEIVED}),
    ("Package submitted", "Your documents and the offer details are with the lender.",
     {Milestone.PACKAGE_SUBMITTED, Milestone.ACKNOWLEDGED, Milestone.NEGOTIATOR_ASSIGNED}),
    ("Valuation ordered", "The lender has asked an agent or appraiser to value the home.",
     {Milestone.VALUATION_ORDERED, Milestone.VALUATION_COMPLETED}),
    ("Offer under review", "The lender is reviewing the buyer's offer.",
     {Milestone.OFFER_SUBMITTED, Milestone.COUNTER, Milestone.INVESTOR_REVIEW}),
    ("Approved", "The lender has agreed in writing.", {Milestone.APPROVED}),
]


@dataclass
class LenderStep:
    title: str
    about: str
    done_on: date | None
    is_current: bool = False
    implied: bool = False  # done, though its own milestone was never recorded

    @property
    def is_done(self) -> bool:
        return self.done_on is not None or self.implied


@dataclass
class LenderProgress:
    name: str
    steps: list[LenderStep]
    declined_on: date | None = None


def lender_progress(*, lead: Lead) -> list[LenderProgress]:
    """Each loan's lender and how far it has got, never its loan number."""
    milestones: dict[int, list[LenderMilestone]] = {}
    for milestone in LenderMilestone.objects.in_force().filter(lender_file__lead=lead).select_related("lender_file"):
        milestones.setdefault(milestone.lender_file.lien_id, []).append(milestone)
    progress = []
    for lien in lead.liens.order_by("position"):
        first: dict[str, date] = {}
        last: dict[str, date] = {}
        for milestone in milestones.get(lien.pk, []):
            first[milestone.kind] = min(first.get(milestone.kind, milestone.occurred_on), milestone.occurred_on)
            last[milestone.kind] = max(last.get(milestone.kind, milestone.occurred_on), milestone.occurred_on)
        steps = []
        for title, about, marks in LENDER_STEPS:
            days = [first[mark] for mark in marks if mark in first]
            steps.append(LenderStep(title, about, min(days) if days else None))
        # The step being worked: the first not done after the last one done. A step passed
        # without its own record (a package sent before the authorization was logged) is done.
        last_done = max((index for index, step in enumerate(steps) if step.done_on), default=-1)
        for step in steps[:last_done]:
            step.implied = step.done_on is None
        if last_done + 1 < len(steps):
            steps[last_done + 1].is_current = True
        denied = last.get(Milestone.DENIED)
        approved = last.get(Milestone.APPROVED)
        name = f"{lien.position_label} loan" + (f": {lien.lender}" if lien.lender else "")
        progress.append(LenderProgress(name=name, steps=steps,
                                       declined_on=denied if denied and (not approved or denied >= approved) else None))
    return progress


@dataclass
class SellerAgent:
    user: User | None
    label: str  # "Your agent", or for an investor buying for themselves "Who is in touch with you" (F8)
    name: str
    phone: str
    email: str
    disclosure: str
    has_photo: bool


def agent_label(agent: User | None) -> str:
    from leadcrm.accounts.models import Capacity

    return "Who is in touch with you" if agent is not None and agent.capacity == Capacity.PRINCIPAL else "Your agent"


@dataclass
class SellerView:
    lead: Lead
    stage: StageText
    progress: list[tuple[str, str]]  # (title, done|current|todo)
    forecast: Forecast | None
    lenders: list[LenderProgress]
    documents: list[SellerDocument]
    agent: SellerAgent
    brokerage: Brokerage
    guide: list[GuideBlock] = field(default_factory=list)

    @property
    def needed(self) -> list[SellerDocument]:
        return [document for document in self.documents if document.state in ("needed", "redo", "expired")]

    @property
    def in_hand(self) -> list[SellerDocument]:
        return [document for document in self.documents if document.state in ("received", "done")]


def seller_view(*, lead: Lead, today: date | None = None) -> SellerView:
    """Everything the status page shows, and nothing it must not."""
    from compliance.disclosures import role_disclosure_written

    brokerage = Brokerage.objects.current()
    stage = Stage(lead.stage)
    index = next((i for i, (_, stages) in enumerate(PROGRESS) if stage in stages), None)
    progress = [(title, "todo" if index is None else "done" if i < index else "current" if i == index else "todo")
                for i, (title, _) in enumerate(PROGRESS)]
    agent = lead.assigned_agent
    seller_agent = SellerAgent(
        user=agent, label=agent_label(agent), name=(agent.get_full_name() or agent.username) if agent else brokerage.name,
        phone=(agent.phone if agent and agent.phone else brokerage.phone), email=agent.email if agent else "",
        disclosure=role_disclosure_written(actor=agent, brokerage=brokerage) if agent else "",
        has_photo=bool(agent and AgentPhoto.objects.filter(user=agent).exists()),
    )
    return SellerView(
        lead=lead, stage=STAGE_TEXT[stage], progress=progress,
        forecast=forecast_for(lead, today=today) if stage not in (Stage.LIST, Stage.CONTACT) else None,
        lenders=lender_progress(lead=lead) if stage not in (Stage.CLOSED, Stage.DEAD) else [],
        documents=seller_documents(lead=lead, today=today) if lead.is_open() else [],
        agent=seller_agent, brokerage=brokerage, guide=guide_blocks(),
    )


# The guide --------------------------------------------------------------------------


@dataclass
class GuideBlock:
    title: str
    parts: list[tuple[str, object]]  # ("p", text) or ("ul", [items])


def guide_blocks() -> list[GuideBlock]:
    """The guide's sections as paragraphs and bullet lists (plain text in the database)."""
    blocks = []
    for section in GuideSection.objects.all():
        parts: list[tuple[str, object]] = []
        for chunk in section.body.replace("\r\n", "\n").split("\n\n"):
            lines = [line.strip() for line in chunk.strip().split("\n") if line.strip()]
            bullets = [line[2:].strip() for line in lines if line.startswith("- ")]
            prose = [line for line in lines if not line.startswith("- ")]
            if prose:
                parts.append(("p", " ".join(prose)))
            if bullets:
                parts.append(("ul", bullets))
        blocks.append(GuideBlock(section.title, parts))
    return blocks


GUIDE_TITLE = "Selling your home through a short sale: what to expect"


# A font with the letters of every name (Nguyễn, Łukasz): the PDF's built-in Helvetica has
# only Latin-1. Debian's DejaVu when installed (it comes with Chromium), else Helvetica.
PDF_FONT_FILES = ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")


def _pdf_fonts() -> tuple[str, str]:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if "GuideSans" in pdfmetrics.getRegisteredFontNames():
        return "GuideSans", "GuideSans-Bold"
    regular, bold = (Path(path) for path in PDF_FONT_FILES)
    if not (regular.exists() and bold.exists()):
        return "Helvetica", "Helvetica-Bold"
    pdfmetrics.registerFont(TTFont("GuideSans", str(regular)))
    pdfmetrics.registerFont(TTFont("GuideSans-Bold", str(bold)))
    return "GuideSans", "GuideSans-Bold"


def guide_pdf(*, agent: User | None = None) -> bytes:
    """The guide as a PDF to email or print, with the agent's name and phone on it."""
    from io import BytesIO
    from xml.sax.saxutils import escape

    from reportlab.lib.enums import TA_LEFT
    from reportlab.lib.pagesizes import LETTER
    from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
    from reportlab.lib.units import inch
    from reportlab.platypus import ListFlowable, ListItem, Paragraph, SimpleDocTemplate, Spacer

    from compliance.disclosures import role_disclosure_written

    brokerage = Brokerage.objects.current()
    styles = getSampleStyleSheet()
    regular, bold = _pdf_fonts()
    body = ParagraphStyle("body", parent=styles["BodyText"], fontName=regular, fontSize=11.5, leading=16,
                          alignment=TA_LEFT)
    heading = ParagraphStyle("heading", parent=styles["Heading2"], fontName=bold, fontSize=15, leading=19,
                             spaceBefore=12)
    styles["Title"].fontName = bold
    small = ParagraphStyle("small", parent=body, fontSize=9.5, leading=13, textColor="#555555")
    story = [Paragraph(escape(GUIDE_TITLE), styles["Title"]),
             Paragraph(escape(f"From {brokerage.name}"), small), Spacer(1, 0.15 * inch)]
    if agent is not None:
        contact = agent.get_full_name() or agent.username
        if agent.phone:
            from leads.templatetags.crm import phone

            contact += f" · {phone(agent.phone)}"
        if agent.email:
            contact += f" · {agent.email}"
        story += [Paragraph(escape(f"{agent_label(agent)}: {contact}"), body),
                  Paragraph(escape(role_disclosure_written(actor=agent, brokerage=brokerage)), small)]
    for block in guide_blocks():
        story.append(Paragraph(escape(block.title), heading))
        for kind, content in block.parts:
            if kind == "p":
                story.append(Paragraph(escape(content), body))
                story.append(Spacer(1, 0.06 * inch))
            else:
                story.append(ListFlowable([ListItem(Paragraph(escape(item), body), leftIndent=12) for item in content],
                                          bulletType="bullet", start="•", leftIndent=12))
    story += [Spacer(1, 0.2 * inch), Paragraph(escape(
        "This guide is general information, not legal, tax or credit advice. Only your lenders decide on a "
        "short sale."), small)]
    out = BytesIO()
    document = SimpleDocTemplate(out, pagesize=LETTER, title=GUIDE_TITLE, author=brokerage.name,
                                 leftMargin=0.9 * inch, rightMargin=0.9 * inch, topMargin=0.8 * inch,
                                 bottomMargin=0.8 * inch)
    document.build(story)
    return out.getvalue()


# What the seller was told ---------------------------------------------------------------


def briefings_of(lead: Lead) -> dict[str, SellerBriefing]:
    return {briefing.topic: briefing for briefing in lead.briefings.select_related("told_by")}


@transaction.atomic
def seller_briefings_set(*, lead: Lead, actor: User, told: dict[str, date]) -> None:
    """Record the topics the seller has been told, each with its day; a topic left out is
    unset (a box ticked by mistake)."""
    today = timezone.localdate()
    for topic, day in told.items():
        BriefingTopic(topic)  # ValueError for anything else: the form offers only these
        if day > today:
            raise ValidationError({topic: "That day is in the future."})
    lead.briefings.exclude(topic__in=list(told)).delete()
    existing = briefings_of(lead)
    for topic, day in told.items():
        briefing = existing.get(topic)
        if briefing is None:
            SellerBriefing.objects.create(lead=lead, topic=topic, told_on=day, told_by=actor)
        elif briefing.told_on != day:
            briefing.told_on, briefing.told_by = day, actor
            briefing.save(update_fields=["told_on", "told_by", "recorded_at"])


# Once the seller is being qualified, they should know what a short sale takes (issue 10).
BRIEFING_EXPECTED_FROM = (Stage.QUALIFY, Stage.NEGOTIATE, Stage.CLOSE)


def seller_card(*, lead: Lead, session) -> dict:
    """The lead page's card: the link's state (and a new link, shown once), and the topics
    the seller has been told, warning when none is recorded from Qualify on."""
    link = SellerLink.objects.filter(lead=lead).first()
    briefings = briefings_of(lead)
    return {
        "link": link,
        "link_open": link is not None and link.is_open_at(timezone.now()),
        "new_url": session.pop(f"seller_link_new_{lead.pk}", None),
        "link_days": LINK_DAYS,
        "topics": [{"value": topic.value, "label": topic.label, "briefing": briefings.get(topic.value)}
                   for topic in BriefingTopic],
        "warn_briefing": not briefings and lead.stage in BRIEFING_EXPECTED_FROM,
        "today": timezone.localdate(),
    }


def briefing_missing(lead: Lead) -> list[str]:
    """The topics the seller has not been told yet, in words."""
    told = set(lead.briefings.values_list("topic", flat=True))
    return [topic.label for topic in BriefingTopic if topic.value not in told]


# The agent's photo ----------------------------------------------------------------------


def agent_photo_set(*, user: User, file) -> AgentPhoto:
    if file.size > PHOTO_MAX_BYTES:
        raise ValidationError({"photo": PHOTO_TOO_LARGE.format(size=file.size / 2**20)})
    file.seek(0)
    sniffed = sniff_document(file.read(16))
    file.seek(0)
    if sniffed is None or sniffed[0] not in ("image/jpeg", "image/png"):
        raise ValidationError({"photo": PHOTO_NOT_AN_IMAGE})
    content_type, extension = sniffed
    relative = f"photos/{uuid.uuid4().hex}.{extension}"
    target = Path(settings.MEDIA_ROOT) / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "xb") as out:
        for chunk in file.chunks():
            out.write(chunk)
    old = AgentPhoto.objects.filter(user=user).first()
    photo, _ = AgentPhoto.objects.update_or_create(user=user, defaults={
        "stored_file": relative, "content_type": content_type, "uploaded_at": timezone.now()})
    if old is not None:
        (Path(settings.MEDIA_ROOT) / old.stored_file).unlink(missing_ok=True)
    return photo


def agent_photo_remove(*, user: User) -> bool:
    photo = AgentPhoto.objects.filter(user=user).first()
    if photo is None:
        return False
    (Path(settings.MEDIA_ROOT) / photo.stored_file).unlink(missing_ok=True)
    photo.delete()
    return True


def agent_photo_path(user: User | None) -> tuple[Path, str] | None:
    photo = AgentPhoto.objects.filter(user=user).first() if user else None
    return (Path(settings.MEDIA_ROOT) / photo.stored_file, photo.content_type) if photo else None
