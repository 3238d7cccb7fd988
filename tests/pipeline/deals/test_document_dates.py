"""The documents page marks a document's date as required exactly where the service
refuses to go on without it: an upload of a document that goes stale (pay stubs, bank
statements, the 4506-C), and such a document marked received or accepted."""

import html

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from pipeline.deals.documents import FRESHNESS_NEEDS_DATE, checklist_item_update
from pipeline.deals.forms import ChecklistItemForm, DocumentUploadForm
from pipeline.models import DocumentKind, DocumentStatus

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.7\nstatement\n"


def rows_of(client, lead):
    response = client.get(reverse("pipeline:documents", args=[lead.pk]))
    return {row.key: row for row in response.context["rows"]}, html.unescape(response.content.decode())


@pytest.mark.parametrize(("kind", "required"), [
    (DocumentKind.PAY_STUBS, True), (DocumentKind.BANK_STATEMENTS, True), (DocumentKind.FORM_4506C, True),
    (DocumentKind.HARDSHIP_LETTER, False), (DocumentKind.TAX_RETURNS, False),
])
def test_the_upload_form_requires_the_date_exactly_for_documents_that_go_stale(kind, required):
    assert DocumentUploadForm(kind=kind).fields["dated_on"].required is required


def test_the_page_marks_the_date_of_a_stale_document_as_required(lead, agent, client_as):
    rows, page = rows_of(client_as(agent), lead)
    upload_date = str(rows["pay_stubs-0"].upload_form["dated_on"])
    assert " required" in upload_date
    field_html = page[page.index('id="div_id_pay_stubs-0-up-dated_on"'):][:600]
    assert "Document's date" in field_html and 'class="asteriskField">*</span>' in field_html
    assert "Document's date (required to mark it received or accepted)" in page
    # A document that never goes stale asks for no date at all.
    assert "(required to mark it received" not in str(rows["hardship_letter-0"].status_form["dated_on"].label_tag())


def test_an_upload_without_the_date_is_refused_by_the_form_with_the_services_words(lead, agent, client_as):
    response = client_as(agent).post(reverse("pipeline:documents", args=[lead.pk]), {
        "action": "upload", "kind": "pay_stubs", "pay_stubs-0-up-file": SimpleUploadedFile("stubs.pdf", PDF)})
    assert response.status_code == 400 and not lead.checklist.exists()
    [form] = [row.upload_form for row in response.context["rows"] if row.key == "pay_stubs-0"]
    assert form.errors == {"dated_on": [FRESHNESS_NEEDS_DATE.format(kind="Pay stubs", days=30)]}


def test_marking_a_stale_document_in_hand_needs_its_date_unless_one_is_on_file(lead, agent):
    form = ChecklistItemForm({"status": DocumentStatus.ACCEPTED}, kind=DocumentKind.BANK_STATEMENTS)
    assert form.errors == {"dated_on": [FRESHNESS_NEEDS_DATE.format(kind="Bank statements (2 months)", days=30)]}
    # Asking for it, or marking it not needed, needs no date.
    assert ChecklistItemForm({"status": DocumentStatus.REQUESTED}, kind=DocumentKind.BANK_STATEMENTS).is_valid()
    assert ChecklistItemForm({"status": DocumentStatus.WAIVED}, kind=DocumentKind.BANK_STATEMENTS).is_valid()
    # The date already held is kept: the status alone may change.
    item = checklist_item_update(lead=lead, kind=DocumentKind.BANK_STATEMENTS, actor=agent,
                                 status=DocumentStatus.RECEIVED, dated_on=lead.created_at.date())
    assert ChecklistItemForm({"status": DocumentStatus.ACCEPTED}, kind=DocumentKind.BANK_STATEMENTS,
                             dated_on_file=item.dated_on).is_valid()


def test_changing_the_status_of_a_dated_document_keeps_its_date(lead, agent, client_as):
    checklist_item_update(lead=lead, kind=DocumentKind.BANK_STATEMENTS, actor=agent,
                          status=DocumentStatus.RECEIVED, dated_on=lead.created_at.date())
    response = client_as(agent).post(reverse("pipeline:documents", args=[lead.pk]), {
        "action": "status", "kind": "bank_statements", "bank_statements-0-status": "accepted"})
    assert response.status_code == 302
    assert lead.checklist.get(kind=DocumentKind.BANK_STATEMENTS).status == DocumentStatus.ACCEPTED
