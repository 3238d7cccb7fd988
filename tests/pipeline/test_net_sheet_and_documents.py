"""The net sheet's arithmetic and warnings; the package's expiry dates and upload refusals."""

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from pipeline.documents import (
    checklist_item_update,
    document_path,
    document_upload,
    expiry_for,
    package_checklist,
    sniff_document,
)
from pipeline.lenders import approval_letter_record, latest_letters
from pipeline.models import ChecklistItem, DocumentKind, DocumentStatus, DocumentUpload
from pipeline.offers import junior_payoff_estimate, net_sheet

from ..factories import LienFactory

pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 18)
PDF = b"%PDF-1.7\n1 0 obj << >> endobj\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64
HEIC = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic"


def sheet_for(lead, price, **kwargs):
    return net_sheet(
        price=Decimal(price), price_source="test", liens=list(lead.liens.order_by("position")),
        letters=latest_letters(lead=lead), commission_rate=Decimal("0.06"),
        closing_cost_rate=Decimal("0.02"), **kwargs,
    )


# Net sheet ----------------------------------------------------------------------------


def test_net_sheet_arithmetic_by_hand(lead, agent):
    first = LienFactory(lead=lead, position=1, balance=Decimal("320000"))
    second = LienFactory(lead=lead, position=2, balance=Decimal("40000"), lender="Chase")
    approval_letter_record(lien=second, issued_on=TODAY, expires_on=TODAY + timedelta(days=30), actor=agent,
                           junior_payoff=Decimal("4500"))
    sheet = sheet_for(lead, "300000", buyer_concessions=Decimal("3000"))
    # 300,000 - 18,000 commission - 6,000 closing - 3,000 concessions - 4,500 junior = 268,500
    assert (sheet.commission, sheet.closing_costs, sheet.junior_total) == (
        Decimal("18000.00"), Decimal("6000.00"), Decimal("4500.00"))
    assert sheet.net_to_first == Decimal("268500.00")
    assert sheet.first_shortfall == Decimal("51500.00")  # 320,000 - 268,500
    assert sheet.first_lien == first and sheet.juniors[0].from_letter
    assert sheet.warnings == []


def test_a_seller_contribution_in_the_first_letter_adds_to_its_net(lead, agent):
    first = LienFactory(lead=lead, position=1, balance=Decimal("320000"))
    approval_letter_record(lien=first, issued_on=TODAY, expires_on=TODAY + timedelta(days=30), actor=agent,
                           seller_contribution=Decimal("2000"))
    assert sheet_for(lead, "250000").net_to_first == Decimal("232000.00")  # 250,000 - 20,000 + 2,000


def test_warnings_below_minimum_net_and_over_the_junior_allowance(lead, agent):
    first = LienFactory(lead=lead, position=1, balance=Decimal("320000"))
    second = LienFactory(lead=lead, position=2, balance=Decimal("40000"))
    approval_letter_record(lien=first, issued_on=TODAY, expires_on=TODAY + timedelta(days=30), actor=agent,
                           approved_price=Decimal("290000"), minimum_net_proceeds=Decimal("265000"),
                           junior_lien_allowance=Decimal("3000"), allowed_closing_costs=Decimal("20000"))
    approval_letter_record(lien=second, issued_on=TODAY, expires_on=TODAY + timedelta(days=30), actor=agent,
                           junior_payoff=Decimal("6000"))
    sheet = sheet_for(lead, "280000")
    # 280,000 - 16,800 - 5,600 - 6,000 = 251,600
    assert sheet.net_to_first == Decimal("251600.00")
    assert sheet.warnings == [
        "The first lien nets $251,600, $13,400 below the $265,000 minimum in its approval letter.",
        "The junior liens' payoffs come to $6,000, more than the $3,000 the first lien allows them.",
        "Commissions, closing costs and concessions come to $22,400, more than the $20,000 of settlement "
        "charges the first lien allows.",
        "The price is below the $290,000 the first lien approved.",
    ]


def test_a_junior_without_a_letter_is_estimated_and_said_to_be(lead):
    LienFactory(lead=lead, position=1, balance=Decimal("320000"))
    LienFactory(lead=lead, position=2, balance=Decimal("40000"))
    LienFactory(lead=lead, position=3, balance=Decimal("90000"), lien_type="judgment")
    sheet = sheet_for(lead, "300000")
    assert [j.amount for j in sheet.juniors] == [Decimal("4000.00"), Decimal("6000")]  # 10 %, capped at 6,000
    assert not any(j.from_letter for j in sheet.juniors)
    assert sum("is an estimate" in w for w in sheet.warnings) == 2
    assert junior_payoff_estimate(None) == Decimal("6000")


def test_cents_round_half_up(lead):
    LienFactory(lead=lead, position=1, balance=None)
    sheet = sheet_for(lead, "100000.25")
    assert sheet.commission == Decimal("6000.02")  # 6000.015
    assert sheet.first_shortfall is None  # no balance known, no shortfall claimed


# Expiry -------------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "dated", "expires"), [
    (DocumentKind.BANK_STATEMENTS, date(2026, 10, 31), date(2026, 11, 30)),
    (DocumentKind.PAY_STUBS, date(2026, 11, 1), date(2026, 12, 1)),
    (DocumentKind.FORM_4506C, date(2026, 8, 1), date(2026, 11, 29)),
    (DocumentKind.HARDSHIP_LETTER, date(2026, 8, 1), None),
])
def test_expiry_counts_from_the_documents_own_date(kind, dated, expires):
    assert expiry_for(kind, dated) == expires


def test_bank_statements_need_their_date_and_go_stale_after_30_days(lead, agent):
    with pytest.raises(ValidationError) as error:
        checklist_item_update(lead=lead, kind=DocumentKind.BANK_STATEMENTS, actor=agent,
                              status=DocumentStatus.RECEIVED)
    assert "30 days" in error.value.message_dict["dated_on"][0]
    checklist_item_update(lead=lead, kind=DocumentKind.BANK_STATEMENTS, actor=agent,
                          status=DocumentStatus.ACCEPTED, dated_on=TODAY - timedelta(days=31))
    row = next(r for r in package_checklist(lead=lead, today=TODAY) if r.kind == DocumentKind.BANK_STATEMENTS)
    assert row.is_expired and row.needs_action and not row.is_done
    fresh = next(r for r in package_checklist(lead=lead, today=TODAY - timedelta(days=2))
                 if r.kind == DocumentKind.BANK_STATEMENTS)
    assert not fresh.is_expired and fresh.expires_within_days == 1


def test_an_approval_letter_expires_on_its_own_date_not_a_rule(lead, agent):
    lien = LienFactory(lead=lead, position=1)
    approval_letter_record(lien=lien, issued_on=TODAY, expires_on=TODAY + timedelta(days=9), actor=agent)
    row = next(r for r in package_checklist(lead=lead, today=TODAY) if r.kind == DocumentKind.APPROVAL_LETTER)
    assert row.item.expires_on == TODAY + timedelta(days=9) and row.expires_within_days == 9
    # Changing its status later keeps the letter's date.
    checklist_item_update(lead=lead, lien=lien, kind=DocumentKind.APPROVAL_LETTER, actor=agent,
                          status=DocumentStatus.ACCEPTED)
    assert ChecklistItem.objects.get(lien=lien).expires_on == TODAY + timedelta(days=9)


def test_the_checklist_has_one_authorization_and_one_approval_per_lien(lead):
    LienFactory(lead=lead, position=1)
    LienFactory(lead=lead, position=2)
    kinds = [row.kind for row in package_checklist(lead=lead, today=TODAY)]
    assert kinds.count(DocumentKind.AUTHORIZATION) == 2 and kinds.count(DocumentKind.APPROVAL_LETTER) == 2
    assert kinds.count(DocumentKind.BANK_STATEMENTS) == 1


def test_a_per_lien_document_needs_its_lien_and_a_lead_document_refuses_one(lead, other_lead, agent):
    lien = LienFactory(lead=lead)
    with pytest.raises(ValidationError, match="which lien"):
        checklist_item_update(lead=lead, kind=DocumentKind.AUTHORIZATION, actor=agent, status="requested")
    with pytest.raises(ValidationError, match="whole file"):
        checklist_item_update(lead=lead, kind=DocumentKind.TAX_RETURNS, lien=lien, actor=agent, status="requested")
    with pytest.raises(ValidationError, match="not on this property"):
        checklist_item_update(lead=lead, kind=DocumentKind.AUTHORIZATION, lien=LienFactory(lead=other_lead),
                              actor=agent, status="requested")


# Uploads ------------------------------------------------------------------------------


@pytest.mark.parametrize(("head", "expected"), [
    (PDF, ("application/pdf", "pdf")),
    (JPEG, ("image/jpeg", "jpg")),
    (b"\x89PNG\r\n\x1a\n\x00\x00", ("image/png", "png")),
    (HEIC, ("image/heic", "heic")),
    (b"II*\x00\x08\x00", ("image/tiff", "tif")),
    (b"<html><script>alert(1)</script>", None),
    (b"MZ\x90\x00\x03", None),  # a Windows program
    (b"PK\x03\x04", None),  # a zip (or a .docx)
    (b"%!PS-Adobe", None),
])
def test_documents_are_recognised_by_content(head, expected):
    assert sniff_document(head) == expected


def test_an_upload_is_stored_under_our_name_and_marks_the_document_received(lead, agent):
    stored = document_upload(lead=lead, kind=DocumentKind.HARDSHIP_LETTER, actor=agent,
                             file=SimpleUploadedFile("../../etc/passwd.pdf", PDF, content_type="text/html"))
    path = document_path(stored)
    assert path.read_bytes() == PDF
    assert path.is_relative_to(Path(settings.MEDIA_ROOT) / "documents") and path.suffix == ".pdf"
    assert "passwd" not in str(path)
    assert (stored.original_name, stored.content_type, stored.size) == ("passwd.pdf", "application/pdf", len(PDF))
    assert stored.item.status == DocumentStatus.RECEIVED and stored.item.received_on == TODAY


@pytest.mark.parametrize(("name", "content", "message"), [
    ("statement.pdf", b"<html>not a pdf</html>", "not a PDF"),
    ("photo.jpg", b"MZ\x90\x00 program", "not a PDF"),
    ("empty.pdf", b"", "empty"),
])
def test_refused_uploads_leave_nothing_behind(lead, agent, name, content, message):
    with pytest.raises(ValidationError, match=message):
        document_upload(lead=lead, kind=DocumentKind.TAX_RETURNS, actor=agent,
                        file=SimpleUploadedFile(name, content))
    assert not DocumentUpload.objects.exists() and not ChecklistItem.objects.exists()
    assert not (Path(settings.MEDIA_ROOT) / "documents").exists()


def test_an_oversized_upload_is_refused_with_the_limit(lead, agent, settings):
    settings.LEADCRM_DOCUMENT_MAX_BYTES = 1024 * 1024
    big = SimpleUploadedFile("scan.pdf", PDF + b"0" * (1024 * 1024))
    with pytest.raises(ValidationError, match="the most a document may be is 1 MB"):
        document_upload(lead=lead, kind=DocumentKind.TAX_RETURNS, actor=agent, file=big)


def test_an_upload_refused_after_its_file_was_written_removes_the_file(lead, agent):
    # The checklist refuses a statement dated tomorrow once the bytes are on disk.
    with pytest.raises(ValidationError, match="future"):
        document_upload(lead=lead, kind=DocumentKind.BANK_STATEMENTS, actor=agent, dated_on=TODAY + timedelta(days=1),
                        file=SimpleUploadedFile("october.pdf", PDF))
    assert (Path(settings.MEDIA_ROOT) / "documents").exists()  # it was written...
    leftovers = list((Path(settings.MEDIA_ROOT) / "documents").rglob("*.*"))
    assert leftovers == [] and not DocumentUpload.objects.exists()  # ...and removed


def test_a_statement_without_its_date_is_refused_before_anything_is_written(lead, agent):
    with pytest.raises(ValidationError, match="30 days"):
        document_upload(lead=lead, kind=DocumentKind.BANK_STATEMENTS, actor=agent,
                        file=SimpleUploadedFile("october.pdf", PDF))
    assert not (Path(settings.MEDIA_ROOT) / "documents").exists()


def test_a_juniors_minimum_net_is_its_payoff_and_an_expired_letter_is_flagged(lead, agent):
    LienFactory(lead=lead, position=1, balance=Decimal("320000"))
    second = LienFactory(lead=lead, position=2, balance=Decimal("40000"))
    approval_letter_record(lien=second, issued_on=TODAY - timedelta(days=40), expires_on=TODAY - timedelta(days=10),
                           actor=agent, minimum_net_proceeds=Decimal("3500"))
    sheet = sheet_for(lead, "300000", today=TODAY)
    assert sheet.juniors[0].amount == Decimal("3500.00") and sheet.juniors[0].from_letter
    assert sheet.warnings == [
        "The 2nd lien's approval letter expired on Nov 8, 2026: its figures are shown, but ask for an extension."
    ]


def test_the_seller_nets_only_what_is_left_once_the_first_is_paid_in_full(lead):
    LienFactory(lead=lead, position=1, balance=Decimal("200000"))
    sheet = sheet_for(lead, "300000")  # 300,000 - 24,000 = 276,000 for a 200,000 balance
    assert (sheet.first_shortfall, sheet.seller_net) == (Decimal("0"), Decimal("76000.00"))
    assert sheet_for(lead, "150000").seller_net == Decimal("0")
