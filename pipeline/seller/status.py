"""The seller's side of a short sale: the homeowner's private status page, the
documents they still owe and their uploads, the seller guide, and what they were told.

The page is opened by a long random token (only its hash is kept) that expires, can be
revoked, is one per lead, and may ask for the last four digits of a phone on file. It
shows the seller their own file in plain words and nothing else: no loan numbers, no
notes, no compliance records, no other lead. Every visit, upload and guide download
lands on the lead's timeline (``SellerEvent``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from leadcrm.accounts.models import Brokerage, User
from leadcrm.shared.uploads import stored_delete
from leads.models import Lead, Lien, Stage
from pipeline.deals.documents import DOCUMENT_RULES, document_upload, package_checklist
from pipeline.deals.forecast.lead import Forecast, forecast_for
from pipeline.models import (
    AgentPhoto,
    ChecklistItem,
    DocumentKind,
    DocumentStatus,
    DocumentUpload,
    LenderMilestone,
    Milestone,
    SellerEvent,
    SellerEventKind,
    SellerLink,
)

from .access import seller_agent_notify, seller_event_record
from .guide import GuideBlock, agent_label, guide_blocks

UPLOADS_PER_DAY = 40


NOT_A_SELLER_DOCUMENT = "That is not one of the documents on your list."


ALREADY_ACCEPTED = "Your agent has already accepted this document; nothing more is needed for it."


FILE_CLOSED = "This file is closed: please call your agent instead."


TOO_MANY_UPLOADS = "That is a lot of files for one day: please call your agent before sending more."


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
    upload = None
    try:
        with transaction.atomic():
            # Checked again under the item's lock: an agent accepting it this very moment keeps it.
            item = ChecklistItem.objects.select_for_update().filter(lead=lead, kind=kind, lien=lien).order_by("pk").first()
            if item is not None and item.status in (DocumentStatus.ACCEPTED, DocumentStatus.WAIVED) \
                    and not item.is_expired_on(timezone.localdate()):
                raise ValidationError(ALREADY_ACCEPTED)
            upload = document_upload(lead=lead, kind=kind, file=file, actor=None, lien=lien, dated_on=dated_on,
                                     from_seller=True)
            seller_event_record(lead=lead, kind=SellerEventKind.UPLOAD, at=now, upload=upload,
                   detail=f"{current.title}: {upload.original_name}")
            # One notification per lead and hour: ten photos of a bank statement are one message.
            seller_agent_notify(lead, key=f"seller_upload:{lead.pk}:{now:%Y%m%d%H}", at=now,
                          title=f"Your seller sent documents for {lead.property.street_line}"[:200],
                          body=f"First: {current.title} ({upload.original_name}). They wait in the document "
                               "checklist as received, to review.",
                          url=reverse("pipeline:documents", args=[lead.pk]))
    except BaseException:
        # document_upload deletes its file when its own savepoint fails; a failure after it
        # (the timeline, the notice) rolls its row back here, so the file goes too.
        if upload is not None:
            stored_delete(upload.stored_file)
        raise
    return upload



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
