"""The short-sale package: which documents a lead needs, how long each stays good, uploads.

One rule per kind of document says whether it is needed once per lead or once per lien,
how long it stays fresh from its own date, and why the lender wants it (shown to the agent,
and later to the seller). A listing and an investor's purchase need the same homeowner's
package and lender approvals, but not the same contract documents. Files are checked by
their content, not their name, stored under a name we choose outside the web root, and
served only through a view that checks the lead's visibility.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from leadcrm.accounts.models import User
from leadcrm.shared.uploads import sniff_document, stored_delete, upload_store
from leads.models import Lead, Lien
from pipeline.models import DOCUMENT_IN_HAND, ChecklistItem, DocumentKind, DocumentStatus, DocumentUpload
from pipeline.signals import document_received

from .purchase import is_investor_purchase


@dataclass(frozen=True)
class DocumentRule:
    kind: DocumentKind
    why: str
    per_lien: bool = False
    fresh_days: int | None = None  # from the document's own date


# The homeowner's side of the package, whoever buys: each lender decides on the short sale.
SELLER_PACKAGE = (
    DocumentRule(DocumentKind.AUTHORIZATION, per_lien=True,
                 why="Each lender talks to you only once it holds the homeowner's signed authorization."),
    DocumentRule(DocumentKind.HARDSHIP_LETTER,
                 why="Signed and dated, in the homeowner's words: why they cannot keep paying."),
    DocumentRule(DocumentKind.FINANCIAL_WORKSHEET,
                 why="The lender's income and expense form (Fannie Mae Form 710 or its own)."),
    DocumentRule(DocumentKind.PAY_STUBS, fresh_days=30,
                 why="The last month of pay stubs, or proof of other income."),
    DocumentRule(DocumentKind.BANK_STATEMENTS, fresh_days=30,
                 why="Two months, every page; lenders want them refreshed monthly."),
    DocumentRule(DocumentKind.TAX_RETURNS, why="The last two years, signed, every schedule."),
    DocumentRule(DocumentKind.FORM_4506C, fresh_days=120,
                 why="Lets the lender pull tax transcripts; must reach the IRS within 120 days of signing."),
)
CLOSING_PACKAGE = (
    DocumentRule(DocumentKind.SETTLEMENT_STATEMENT,
                 why="The preliminary settlement statement (net sheet) the lenders approve."),
    DocumentRule(DocumentKind.APPROVAL_LETTER, per_lien=True,
                 why="Each lien holder's approval; good until the date in the letter."),
)
LISTING_DOCUMENT_RULES: dict[DocumentKind, DocumentRule] = {rule.kind: rule for rule in (
    *SELLER_PACKAGE,
    DocumentRule(DocumentKind.LISTING_AGREEMENT,
                 why="Signed listing agreement; negotiating with lenders starts from it."),
    DocumentRule(DocumentKind.PURCHASE_CONTRACT, why="The buyer's signed contract with every addendum."),
    DocumentRule(DocumentKind.BUYER_FUNDS,
                 why="The buyer's pre-approval letter, or proof of funds for a cash offer."),
    *CLOSING_PACKAGE,
)}
# An investor buying for themselves lists nothing: their own contract, their funds and the
# written disclosure that they buy for themselves take the listing's place.
INVESTOR_DOCUMENT_RULES: dict[DocumentKind, DocumentRule] = {rule.kind: rule for rule in (
    *SELLER_PACKAGE,
    DocumentRule(DocumentKind.PURCHASE_CONTRACT,
                 why="Your signed contract to buy the house as-is, subject to the lenders' approval, with every "
                     "addendum; negotiating with the lenders starts from it."),
    DocumentRule(DocumentKind.BUYER_FUNDS,
                 why="Your proof of funds for the purchase (a bank statement or a lender's letter)."),
    DocumentRule(DocumentKind.INTEREST_DISCLOSURE,
                 why="Given to the homeowner in writing before any offer: that you buy for yourself, not as "
                     "their agent (a licensee says so, with the licence). Lenders ask for it too. This is the "
                     "file's copy: the compliance check (F8) reads its own record of the disclosure, which an "
                     "administrator enters under Compliance."),
    *CLOSING_PACKAGE,
)}
# Every kind either deal needs, for what does not depend on the deal (freshness, per lien).
DOCUMENT_RULES: dict[DocumentKind, DocumentRule] = LISTING_DOCUMENT_RULES | {
    kind: rule for kind, rule in INVESTOR_DOCUMENT_RULES.items() if kind not in LISTING_DOCUMENT_RULES
}
# Items agents add themselves (a lender's own affidavit) are kept, but never required.
REQUIRED_KINDS = tuple(DOCUMENT_RULES)

FRESHNESS_NEEDS_DATE = "Give the document's own date: {kind} stay good for {days} days from it."
LIEN_NEEDED = "Say which lien this {kind} is for: each lien holder needs its own."
NO_LIEN_FOR_KIND = "{kind} is one for the whole file, not per lien."
LIEN_OF_ANOTHER_LEAD = "That lien is not on this property."
FUTURE_DATE = "That date is in the future."
EMPTY_FILE = "The file is empty."
TOO_LARGE = "The file is {size:.1f} MB; the most a document may be is {limit:.0f} MB."
NOT_A_DOCUMENT = "This file is not a PDF, JPEG, PNG, HEIC or TIFF (checked by its content, whatever its name)."
NOT_A_DOCUMENT_KIND = "Pick one of the package's documents."


def expiry_for(kind: DocumentKind | str, dated_on: date | None) -> date | None:
    rule = DOCUMENT_RULES.get(DocumentKind(kind))
    if rule is None or rule.fresh_days is None or dated_on is None:
        return None
    return dated_on + timedelta(days=rule.fresh_days)


# Checklist -----------------------------------------------------------------------------


def package_rules(lead: Lead) -> dict[DocumentKind, DocumentRule]:
    """The documents this lead's deal needs: a listing's, or an investor's purchase."""
    return INVESTOR_DOCUMENT_RULES if is_investor_purchase(lead) else LISTING_DOCUMENT_RULES


@dataclass
class ChecklistRow:
    kind: DocumentKind
    rule: DocumentRule | None
    lien: Lien | None
    item: ChecklistItem | None
    today: date
    uploads: list[DocumentUpload] = field(default_factory=list)

    @property
    def status(self) -> str:
        return self.item.status if self.item else DocumentStatus.NEEDED

    @property
    def status_label(self) -> str:
        return DocumentStatus(self.status).label

    @property
    def is_expired(self) -> bool:
        return self.item is not None and self.item.is_expired_on(self.today)

    @property
    def expires_within_days(self) -> int | None:
        if self.item is None or self.item.expires_on is None or self.is_expired:
            return None
        return (self.item.expires_on - self.today).days

    @property
    def is_done(self) -> bool:
        return self.status in (DocumentStatus.ACCEPTED, DocumentStatus.WAIVED) and not self.is_expired

    @property
    def needs_action(self) -> bool:
        return self.is_expired or self.status in (
            DocumentStatus.NEEDED, DocumentStatus.REQUESTED, DocumentStatus.REJECTED
        )


def package_checklist(*, lead: Lead, today: date | None = None) -> list[ChecklistRow]:
    """Every document the lead's package needs, per lead and per lien, with what is on file."""
    today = today or timezone.localdate()
    liens = list(lead.liens.order_by("position"))
    items = {
        (item.kind, item.lien_id): item
        for item in ChecklistItem.objects.filter(lead=lead).prefetch_related("uploads__uploaded_by")
    }
    rows = []
    for kind, rule in package_rules(lead).items():
        for lien in liens if rule.per_lien else [None]:
            item = items.pop((kind, lien.pk if lien else None), None)
            rows.append(ChecklistRow(kind=kind, rule=rule, lien=lien, item=item, today=today,
                                     uploads=list(item.uploads.all()) if item else []))
    # Whatever is left: extra documents, and items of liens since removed from the stack.
    liens_by_pk = {lien.pk: lien for lien in liens}
    for (kind, lien_pk), item in items.items():
        rows.append(ChecklistRow(kind=DocumentKind(kind), rule=DOCUMENT_RULES.get(kind),
                                 lien=liens_by_pk.get(lien_pk), item=item, today=today,
                                 uploads=list(item.uploads.all())))
    return rows


# Writes --------------------------------------------------------------------------------


def _validate_target(*, lead: Lead, kind: str, lien: Lien | None) -> DocumentKind:
    try:
        kind = DocumentKind(kind)
    except ValueError:
        raise ValidationError({"kind": NOT_A_DOCUMENT_KIND}) from None
    rule = DOCUMENT_RULES.get(kind)
    if lien is not None and lien.lead_id != lead.pk:
        raise ValidationError({"lien": LIEN_OF_ANOTHER_LEAD})
    if rule and rule.per_lien and lien is None:
        raise ValidationError({"lien": LIEN_NEEDED.format(kind=kind.label.lower())})
    if rule and not rule.per_lien and lien is not None:
        raise ValidationError({"lien": NO_LIEN_FOR_KIND.format(kind=kind.label)})
    return kind


@transaction.atomic
def checklist_item_update(
    *,
    lead: Lead,
    kind: DocumentKind | str,
    actor: User | None,
    lien: Lien | None = None,
    status: DocumentStatus | str | None = None,
    dated_on: date | None = None,
    received_on: date | None = None,
    note: str | None = None,
    expires_on: date | None = None,
) -> ChecklistItem:
    """Set where one document of the package stands; its expiry follows from its date."""
    kind = _validate_target(lead=lead, kind=kind, lien=lien)
    today = timezone.localdate()
    if (dated_on and dated_on > today) or (received_on and received_on > today):
        raise ValidationError({"dated_on" if dated_on and dated_on > today else "received_on": FUTURE_DATE})
    item, _ = ChecklistItem.objects.select_for_update().get_or_create(lead=lead, kind=kind, lien=lien)
    if status is not None:
        item.status = DocumentStatus(status)
    if dated_on is not None:
        item.dated_on = dated_on
    if note is not None:
        item.note = note
    if item.status in DOCUMENT_IN_HAND:
        item.received_on = received_on or item.received_on or today
    elif received_on is not None:
        item.received_on = received_on
    rule = DOCUMENT_RULES.get(kind)
    if rule and rule.fresh_days and item.status in DOCUMENT_IN_HAND and item.dated_on is None:
        raise ValidationError({"dated_on": FRESHNESS_NEEDS_DATE.format(kind=kind.label, days=rule.fresh_days)})
    # An approval letter's expiry is the one written in it (lenders.approval_letter_record).
    item.expires_on = expires_on if expires_on is not None else (
        expiry_for(kind, item.dated_on) if kind != DocumentKind.APPROVAL_LETTER else item.expires_on
    )
    item.updated_by = actor
    item.full_clean()
    item.save()
    return item


def document_file_check(upload) -> tuple[str, str]:
    """Refuse an empty, oversized or non-document file before anything is stored."""
    limit = settings.LEADCRM_DOCUMENT_MAX_BYTES
    if upload.size == 0:
        raise ValidationError({"file": EMPTY_FILE})
    if upload.size > limit:
        raise ValidationError({"file": TOO_LARGE.format(size=upload.size / 2**20, limit=limit / 2**20)})
    upload.seek(0)
    sniffed = sniff_document(upload.read(16))
    upload.seek(0)
    if sniffed is None:
        raise ValidationError({"file": NOT_A_DOCUMENT})
    return sniffed


def document_upload(
    *,
    lead: Lead,
    kind: DocumentKind | str,
    file,
    actor: User | None,
    lien: Lien | None = None,
    dated_on: date | None = None,
    from_seller: bool = False,
) -> DocumentUpload:
    """Store a file of the package; its checklist item becomes "received, to review".

    The file is deleted again when this call's own transaction fails. Called inside a
    caller's transaction that later rolls back, the file stays behind without its row
    (Django has no rollback hook): such a caller deletes ``stored_file`` itself, as the
    seller's upload does (docs/operations.md#uploads-on-object-storage)."""
    content_type, extension = document_file_check(file)
    # What the checklist will refuse is refused before a byte is written.
    kind = _validate_target(lead=lead, kind=kind, lien=lien)
    rule = DOCUMENT_RULES.get(kind)
    if rule and rule.fresh_days and dated_on is None:
        raise ValidationError({"dated_on": FRESHNESS_NEEDS_DATE.format(kind=kind.label, days=rule.fresh_days)})
    # Our name, never the uploader's: no path they control, no extension they chose.
    digest = hashlib.sha256()
    for chunk in file.chunks():
        digest.update(chunk)
    relative = upload_store(file, folder=f"documents/{timezone.now():%Y/%m}", extension=extension)
    try:
        with transaction.atomic():
            item = checklist_item_update(
                lead=lead, kind=kind, lien=lien, actor=actor, dated_on=dated_on,
                status=DocumentStatus.RECEIVED, received_on=timezone.localdate(),
            )
            stored = DocumentUpload(
                item=item, stored_file=relative, original_name=Path(file.name or "document").name[:255],
                content_type=content_type, size=file.size, sha256=digest.hexdigest(), uploaded_by=actor,
                from_seller=from_seller,
            )
            stored.full_clean()
            stored.save()
            document_received.send(sender=DocumentUpload, upload=stored, lead=lead, at=stored.uploaded_at)
    except BaseException:
        # A refused date, a rollback: no file is left without its row.
        stored_delete(relative)
        raise
    return stored
