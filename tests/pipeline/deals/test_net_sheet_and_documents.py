"""The net sheet's arithmetic and warnings; the package's expiry dates and upload refusals."""

import re
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from leads.services import lien_create
from pipeline.deals.documents import (
    checklist_item_update,
    document_upload,
    expiry_for,
    package_checklist,
    sniff_document,
)
from pipeline.deals.lenders import approval_letter_record, latest_letters
from pipeline.deals.offers import junior_payoff_estimate, net_sheet
from pipeline.models import ChecklistItem, DocumentKind, DocumentStatus, DocumentUpload

from ...leads.factories import LienFactory

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


def rows_sum_to_the_price(sheet) -> bool:
    """Price (+ the seller's contribution) = costs + every lien's share + the seller's net."""
    return sheet.price + sheet.seller_contribution == (
        sheet.commission + sheet.closing_costs + sheet.buyer_concessions + sheet.paid_to_liens + sheet.seller_net)


def test_a_first_paid_in_full_leaves_the_rest_to_the_heloc_not_to_the_seller(lead):
    """The demo's 2069 Laurel St at $205,000, worked by hand:

    commission 6 % = 12,300; closing costs 2 % = 4,100; left for the liens 205,000 - 16,400 = 188,600.
    Payoffs 149,793 + 67,500 = 217,293 > 188,600: a short sale, 28,693 short in all.
    The HELOC (no letter) is first given its estimated settlement, min(10 % x 67,500, 6,000) = 6,000;
    the first takes min(149,793, 188,600 - 6,000 = 182,600) = 149,793, paid in full; the
    32,807 still left tops the HELOC up to 6,000 + 32,807 = 38,807 of its 67,500: short 28,693.
    The seller nets 0 (the sheet used to say 32,807, as if the HELOC took only 6,000).
    """
    LienFactory(lead=lead, position=1, balance=Decimal("149793"), lender="NewRez / Shellpoint")
    LienFactory(lead=lead, position=2, balance=Decimal("67500"), lien_type="heloc", lender="Mr. Cooper")
    sheet = sheet_for(lead, "205000")
    assert sheet.seller_net == Decimal("0")
    first, heloc = sheet.liens
    assert sheet.available == Decimal("188600.00")
    assert (first.payoff, first.paid, first.shortfall) == (Decimal("149793.00"), Decimal("149793.00"), Decimal("0"))
    assert (heloc.payoff, heloc.paid, heloc.shortfall) == (Decimal("67500.00"), Decimal("38807.00"),
                                                           Decimal("28693.00"))
    assert sheet.seller_net == Decimal("0") and sheet.is_short_sale and sheet.total_shortfall == Decimal("28693.00")
    assert sheet.verdict.startswith("A short sale: the 2nd HELOC (Mr. Cooper) is $28,693 short, so the seller "
                                    "nets nothing.")
    assert rows_sum_to_the_price(sheet)
    # Topped up beyond it, the HELOC's paid figure no longer rests on the estimate.
    assert not any("estimate" in warning for warning in sheet.warnings)


def test_the_issues_figures_with_3000_of_seller_paid_costs(lead):
    # 205,000 - 12,300 - 4,100 - 3,000 = 185,600 for the liens (the old sheet's "net to the
    # first lien $179,600" once the HELOC's 6,000 came off). The first takes its 149,793;
    # the HELOC 6,000 + 29,807 = 35,807, short 67,500 - 35,807 = 31,693. The seller: 0, not 29,807.
    LienFactory(lead=lead, position=1, balance=Decimal("149793"))
    LienFactory(lead=lead, position=2, balance=Decimal("67500"), lien_type="heloc")
    sheet = sheet_for(lead, "205000", buyer_concessions=Decimal("3000"))
    assert [(share.paid, share.shortfall) for share in sheet.liens] == [
        (Decimal("149793.00"), Decimal("0")), (Decimal("35807.00"), Decimal("31693.00"))]
    assert sheet.seller_net == Decimal("0") and rows_sum_to_the_price(sheet)


def test_a_sale_paying_every_lien_is_not_a_short_sale_and_the_seller_nets_the_rest(lead, agent):
    # 260,000 - 20,800 = 239,200 for 149,793 + 67,500 = 217,293 of payoffs: 21,907 to the seller.
    first = LienFactory(lead=lead, position=1, balance=Decimal("149793"))
    heloc = LienFactory(lead=lead, position=2, balance=Decimal("67500"), lien_type="heloc")
    # Letters bind only a short sale: neither the HELOC's settlement nor the contribution applies.
    approval_letter_record(lien=heloc, issued_on=TODAY, expires_on=TODAY + timedelta(days=30), actor=agent,
                           junior_payoff=Decimal("5000"))
    approval_letter_record(lien=first, issued_on=TODAY, expires_on=TODAY + timedelta(days=30), actor=agent,
                           seller_contribution=Decimal("2000"), minimum_net_proceeds=Decimal("200000"))
    sheet = sheet_for(lead, "260000")
    assert [share.paid for share in sheet.liens] == [Decimal("149793.00"), Decimal("67500.00")]
    assert sheet.pays_every_lien and not sheet.is_short_sale
    assert sheet.seller_net == Decimal("21907.00") and sheet.contributions == []
    assert sheet.verdict == ("This sale pays every lien in full: it is not a short sale. The seller nets $21,907 "
                             "after the costs and the payoffs.")
    assert sheet.warnings == []


def test_net_sheet_arithmetic_by_hand(lead, agent):
    first = LienFactory(lead=lead, position=1, balance=Decimal("320000"))
    second = LienFactory(lead=lead, position=2, balance=Decimal("40000"), lender="Chase")
    approval_letter_record(lien=second, issued_on=TODAY, expires_on=TODAY + timedelta(days=30), actor=agent,
                           junior_payoff=Decimal("4500"))
    sheet = sheet_for(lead, "300000", buyer_concessions=Decimal("3000"))
    # 300,000 - 18,000 commission - 6,000 closing - 3,000 concessions = 273,000 for the liens;
    # the 2nd takes the 4,500 its letter accepts, the first the other 268,500.
    assert (sheet.commission, sheet.closing_costs, sheet.available) == (
        Decimal("18000.00"), Decimal("6000.00"), Decimal("273000.00"))
    assert sheet.liens[1].settlement == Decimal("4500.00") and sheet.liens[1].settlement_from_letter
    assert (sheet.first.lien, sheet.first.paid, sheet.first.shortfall) == (first, Decimal("268500.00"),
                                                                           Decimal("51500.00"))
    assert sheet.liens[1].shortfall == Decimal("35500.00")  # 40,000 - 4,500
    assert sheet.total_shortfall == Decimal("87000.00") and sheet.seller_net == Decimal("0")
    assert sheet.warnings == []
    assert rows_sum_to_the_price(sheet)


def test_a_seller_contribution_in_the_first_letter_comes_in_as_its_own_row(lead, agent):
    first = LienFactory(lead=lead, position=1, balance=Decimal("320000"))
    approval_letter_record(lien=first, issued_on=TODAY, expires_on=TODAY + timedelta(days=30), actor=agent,
                           seller_contribution=Decimal("2000"))
    sheet = sheet_for(lead, "250000")
    assert [(c.lien, c.amount) for c in sheet.contributions] == [(first, Decimal("2000.00"))]
    assert sheet.first.paid == Decimal("232000.00")  # 250,000 - 20,000 + 2,000
    assert rows_sum_to_the_price(sheet)


def test_the_seller_brings_only_what_the_liens_are_short_not_all_the_letter_asks(lead, agent):
    # 110,000 less 6 % (6,600) and 2 % (2,200) leaves 101,200 for liens of 100,000 and 5,000:
    # 3,800 short. The first lien's letter asks the seller for 10,000, but 3,800 pays every
    # lien in full; bringing 10,000 would have the seller "net" 6,200 of their own money.
    first = LienFactory(lead=lead, position=1, balance=Decimal("100000"))
    LienFactory(lead=lead, position=2, balance=Decimal("5000"))
    approval_letter_record(lien=first, issued_on=TODAY, expires_on=TODAY + timedelta(days=30), actor=agent,
                           seller_contribution=Decimal("10000"))
    sheet = sheet_for(lead, "110000")
    assert [(c.lien, c.amount, c.asked) for c in sheet.contributions] == [
        (first, Decimal("3800.00"), Decimal("10000.00"))]
    assert [share.paid for share in sheet.liens] == [Decimal("100000.00"), Decimal("5000.00")]
    assert sheet.seller_net == Decimal("0") and sheet.pays_every_lien
    assert sheet.verdict.startswith("This sale pays every lien in full once the seller brings $3,800 to closing")
    assert rows_sum_to_the_price(sheet)


def test_warnings_below_minimum_net_and_over_the_junior_allowance(lead, agent):
    first = LienFactory(lead=lead, position=1, balance=Decimal("320000"))
    second = LienFactory(lead=lead, position=2, balance=Decimal("40000"))
    approval_letter_record(lien=first, issued_on=TODAY, expires_on=TODAY + timedelta(days=30), actor=agent,
                           approved_price=Decimal("290000"), minimum_net_proceeds=Decimal("265000"),
                           junior_lien_allowance=Decimal("3000"), allowed_closing_costs=Decimal("20000"))
    approval_letter_record(lien=second, issued_on=TODAY, expires_on=TODAY + timedelta(days=30), actor=agent,
                           junior_payoff=Decimal("6000"))
    sheet = sheet_for(lead, "280000")
    # 280,000 - 16,800 - 5,600 = 257,600; the 2nd 6,000, the first 251,600
    assert sheet.first.paid == Decimal("251600.00")
    assert sheet.warnings == [
        "The first lien nets $251,600, $13,400 below the $265,000 minimum in its approval letter.",
        "The junior liens are paid $6,000 in all, more than the $3,000 the first lien allows them.",
        "Commissions, closing costs and concessions come to $22,400, more than the $20,000 of settlement "
        "charges the first lien allows.",
        "The price is below the $290,000 the first lien approved.",
    ]


def test_a_junior_without_a_letter_is_estimated_and_said_to_be(lead):
    LienFactory(lead=lead, position=1, balance=Decimal("320000"))
    LienFactory(lead=lead, position=2, balance=Decimal("40000"))
    LienFactory(lead=lead, position=3, balance=Decimal("90000"), lien_type="judgment")
    sheet = sheet_for(lead, "300000")
    # 276,000 for the liens: 4,000 (10 % of 40,000) to the 2nd, 6,000 (capped) to the 3rd, 266,000 to the first.
    assert [j.settlement for j in sheet.juniors] == [Decimal("4000.00"), Decimal("6000")]
    assert [j.paid for j in sheet.liens] == [Decimal("266000.00"), Decimal("4000.00"), Decimal("6000")]
    assert not any(j.settlement_from_letter for j in sheet.juniors)
    assert sum("is an estimate" in w for w in sheet.warnings) == 2
    assert junior_payoff_estimate(None) == Decimal("6000")


def test_an_unknown_balance_takes_what_reaches_it_and_its_shortfall_is_unknown(lead):
    LienFactory(lead=lead, position=1, balance=Decimal("100000"))
    LienFactory(lead=lead, position=2, balance=None, lien_type="heloc")
    sheet = sheet_for(lead, "200000")
    # 184,000 for the liens: the HELOC's 6,000 estimate, the first's 100,000, then the
    # HELOC takes the other 78,000, since nobody knows what it is owed.
    assert [share.paid for share in sheet.liens] == [Decimal("100000.00"), Decimal("84000.00")]
    assert sheet.liens[1].shortfall is None and sheet.seller_net == Decimal("0")
    assert not sheet.pays_every_lien and not sheet.is_short_sale
    assert "unknown: the balance of the 2nd HELOC (Mr. Cooper) is missing" in sheet.verdict
    assert any("balance is unknown" in warning for warning in sheet.warnings)


def test_costs_above_the_price_leave_the_seller_to_bring_the_difference(lead):
    LienFactory(lead=lead, position=1, balance=Decimal("50000"))
    sheet = sheet_for(lead, "10000", buyer_concessions=Decimal("12000"))
    # 10,000 - 600 - 200 - 12,000 = -2,800: the lien gets nothing, the seller brings 2,800.
    assert sheet.first.paid == Decimal("0") and sheet.seller_net == Decimal("-2800.00")
    assert "the seller would have to bring $2,800" in sheet.warnings[0]
    assert rows_sum_to_the_price(sheet)


def test_the_offers_page_shows_each_liens_payoff_paid_and_shortfall_under_a_caption_that_agrees(
        lead, agent, client_as):
    LienFactory(lead=lead, position=1, balance=Decimal("149793"), lender="NewRez")
    LienFactory(lead=lead, position=2, balance=Decimal("67500"), lien_type="heloc", lender="Mr. Cooper")
    page = client_as(agent).get(reverse("pipeline:offers", args=[lead.pk]), {"price": "205000"})
    html = " ".join(page.content.decode().split())
    assert "A short sale: the 2nd HELOC (Mr. Cooper) is $28,693 short, so the seller nets nothing." in html
    assert re.search(r'id="lien-share-1">.*?\$149,793</td> <td class="text-end">\$149,793</td> '
                     r'<td class="text-end">\$0</td>', html)
    assert re.search(r'id="lien-share-2">.*?\$67,500</td> <td class="text-end">\$38,807</td> '
                     r'<td class="text-end negative">\$28,693</td>', html)
    assert re.search(r'id="seller-net"><td>Seller nets</td><td class="text-end">\$0</td>', html)
    assert "In a short sale the seller nets nothing: what is left after the costs and the junior" not in html
    # At a price that pays both, the page says it is not a short sale.
    page = client_as(agent).get(reverse("pipeline:offers", args=[lead.pk]), {"price": "260000"})
    html = " ".join(page.content.decode().split())
    assert "This sale pays every lien in full: it is not a short sale. The seller nets $21,907" in html
    assert re.search(r'id="seller-net"><td>Seller nets</td><td class="text-end">\$21,907</td>', html)


def test_the_lead_pages_figure_at_the_estimated_value_is_the_net_sheets_shortfall(lead, agent, client_as):
    # Value 300,000, 8 % selling costs: 276,000 for 250,000 + 60,000 of liens, 34,000 short.
    # The net sheet at the same value: the HELOC's 6,000, the first's 250,000, 20,000 more to the
    # HELOC (26,000 of 60,000): short 34,000 in all, the seller nets 0.
    lien_create(lead=lead, position=1, balance=Decimal("250000"))
    lien_create(lead=lead, position=2, balance=Decimal("60000"), lien_type="heloc")
    sheet = client_as(agent).get(reverse("pipeline:offers", args=[lead.pk])).context["sheet"]
    assert sheet.price_source == "the estimated value (no offer yet)"
    assert (sheet.total_shortfall, sheet.seller_net) == (Decimal("34000.00"), Decimal("0"))
    html = " ".join(client_as(agent).get(reverse("leads:detail", args=[lead.pk])).content.decode().split())
    assert re.search(r'id="sale-at-value"><div class="section-title">Short if sold</div>'
                     r'<div class="fs-5 num negative">\$34,000</div>.*?the seller nets \$0', html)


def test_cents_round_half_up(lead):
    LienFactory(lead=lead, position=1, balance=None)
    sheet = sheet_for(lead, "100000.25")
    assert sheet.commission == Decimal("6000.02")  # 6000.015
    assert sheet.first.shortfall is None  # no balance known, no shortfall claimed


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
    with default_storage.open(stored.stored_file, "rb") as kept:
        assert kept.read() == PDF
    assert stored.stored_file.startswith("documents/") and stored.stored_file.endswith(".pdf")
    assert "passwd" not in stored.stored_file
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
    assert sheet.juniors[0].settlement == Decimal("3500.00") and sheet.juniors[0].settlement_from_letter
    assert sheet.juniors[0].paid == Decimal("3500.00")
    assert sheet.warnings == [
        "The 2nd lien's approval letter expired on Nov 8, 2026: its figures are shown, but ask for an extension."
    ]


def test_the_seller_nets_only_what_is_left_once_the_first_is_paid_in_full(lead):
    LienFactory(lead=lead, position=1, balance=Decimal("200000"))
    sheet = sheet_for(lead, "300000")  # 300,000 - 24,000 = 276,000 for a 200,000 balance
    assert (sheet.first.shortfall, sheet.seller_net) == (Decimal("0"), Decimal("76000.00"))
    short = sheet_for(lead, "150000")  # 138,000 for the same 200,000
    assert (short.first.paid, short.first.shortfall, short.seller_net) == (
        Decimal("138000.00"), Decimal("62000.00"), Decimal("0"))
