"""The board, the lien stack, the documents and the offers pages, as their users use them."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from leads.models import Stage
from pipeline.deals.documents import document_upload
from pipeline.deals.lenders import milestone_record
from pipeline.models import DocumentStatus, LenderMilestone, Milestone, Offer, OfferStatus

from ...leads.factories import ContactFactory, LeadFactory, LienFactory
from ..factories import OfferFactory, StageChangeFactory

pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 18)
PDF = b"%PDF-1.7\nhardship\n"


def board_queries(client):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("pipeline:board"))
    assert response.status_code == 200
    return len(queries), response


# Board --------------------------------------------------------------------------------


def test_the_boards_queries_do_not_grow_with_the_leads(agent, team, client_as):
    client = client_as(agent)
    for stage in (Stage.LIST, Stage.CONTACT, Stage.NEGOTIATE):
        ContactFactory(lead=LeadFactory(assigned_agent=agent, team=team, stage=stage))
    board_queries(client)  # the session, the user, and the stage durations, cached from then on
    few, _ = board_queries(client)
    for index in range(40):
        ContactFactory(lead=LeadFactory(assigned_agent=agent, team=team, stage=list(Stage)[index % 5]))
    many, response = board_queries(client)
    assert many == few
    # session, user, permissions; lists and totals; five stages' top ids; cards, owners,
    # approvals' expiry; the unread notifications by the bell: a fixed number, not one per card
    assert many <= 17, many
    columns = response.context["columns"]
    assert [column.count for column in columns] == [9, 9, 8, 9, 8]
    assert all(len(column.cards) == column.count for column in columns)


def test_the_board_shows_counts_value_and_only_visible_leads(lead, other_lead, agent, client_as):
    LeadFactory(assigned_agent=agent, stage=Stage.LIST, score=90)
    response = client_as(agent).get(reverse("pipeline:board"))
    content = response.content.decode()
    assert lead.property.street in content and other_lead.property.street not in content
    list_column = response.context["columns"][0]
    assert (list_column.count, list_column.value) == (2, 600000)
    assert list_column.cards[0].score == 90  # highest score first


def test_the_board_cuts_each_column_and_links_to_the_rest(agent, client_as, monkeypatch):
    monkeypatch.setattr("pipeline.deals.selectors.BOARD_CARDS_PER_STAGE", 2)
    for _ in range(5):
        LeadFactory(assigned_agent=agent, stage=Stage.QUALIFY)
    response = client_as(agent).get(reverse("pipeline:board"))
    qualify = response.context["columns"][2]
    assert (qualify.count, len(qualify.cards), qualify.more) == (5, 2, 3)
    assert "and 3 more" in response.content.decode()


def test_the_board_filters_by_agent_for_a_team_lead(lead, team_lead, agent, team, client_as):
    from ...leadcrm.factories import AgentFactory

    colleague = AgentFactory()
    from leadcrm.accounts.services import team_member_set

    team_member_set(team=team, user=colleague)
    theirs = LeadFactory(assigned_agent=colleague, team=team)
    response = client_as(team_lead).get(reverse("pipeline:board"), {"assigned_agent": colleague.pk})
    content = response.content.decode()
    assert theirs.property.street in content and lead.property.street not in content


def test_a_drag_that_breaks_a_rule_is_refused_with_its_reason(lead, agent, client_as):
    response = client_as(agent).post(
        reverse("pipeline:board_move"), {"lead": lead.pk, "to_stage": Stage.CONTACT},
        HTTP_HX_REQUEST="true", HTTP_HX_CURRENT_URL="http://testserver/board/",
    )
    assert response.status_code == 200
    content = response.content.decode()
    assert "stays in List" in content and "reached the homeowner" in content
    lead.refresh_from_db()
    assert lead.stage == Stage.LIST


def closing_lead(agent):
    """In close since today, its offer accepted and its one lien approved."""
    from pipeline.deals.lenders import approval_letter_record

    lead = LeadFactory(assigned_agent=agent, stage=Stage.CLOSE)
    OfferFactory(lead=lead, status=OfferStatus.ACCEPTED)
    approval_letter_record(lien=LienFactory(lead=lead), issued_on=TODAY, expires_on=TODAY + timedelta(days=9),
                           actor=agent)
    return lead


def test_a_drag_that_meets_the_rules_moves_the_lead_and_redraws_the_board(agent, client_as):
    lead = closing_lead(agent)
    response = client_as(agent).post(
        reverse("pipeline:board_move"),
        {"lead": lead.pk, "to_stage": Stage.CLOSED, "closing_date": TODAY.isoformat()},
        HTTP_HX_REQUEST="true",
    )
    assert "moved to Closed (sold short)" in response.content.decode()
    lead.refresh_from_db()
    assert (lead.stage, lead.closing_date) == (Stage.CLOSED, TODAY)
    assert response.context["outcomes"]["closed"] == 1


def test_dead_from_the_board_needs_the_reason_picked(lead, agent, client_as):
    client = client_as(agent)
    response = client.post(reverse("pipeline:board_move"), {"lead": lead.pk, "to_stage": Stage.DEAD},
                           HTTP_HX_REQUEST="true")
    assert "Say why the lead is dead" in response.content.decode()
    client.post(reverse("pipeline:board_move"),
                {"lead": lead.pk, "to_stage": Stage.DEAD, "dead_reason": "not_interested"}, HTTP_HX_REQUEST="true")
    lead.refresh_from_db()
    assert lead.stage == Stage.DEAD


def test_without_javascript_the_card_form_moves_and_comes_back_with_a_message(agent, client_as):
    lead = LeadFactory(assigned_agent=agent, stage=Stage.QUALIFY)
    response = client_as(agent).post(
        reverse("pipeline:board_move"),
        {"lead": lead.pk, "to_stage": Stage.CONTACT, "next": "/board/?lead_type=pre_foreclosure_nod"},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == "/board/?lead_type=pre_foreclosure_nod"
    assert "moved to Contact" in response.content.decode()


def test_a_forged_lead_id_on_the_board_is_a_404_and_moves_nothing(other_lead, agent, client_as):
    response = client_as(agent).post(reverse("pipeline:board_move"), {"lead": other_lead.pk, "to_stage": "dead",
                                                                      "dead_reason": "other"})
    assert response.status_code == 404
    other_lead.refresh_from_db()
    assert other_lead.stage == Stage.LIST


def test_an_off_site_next_is_ignored(lead, agent, client_as):
    response = client_as(agent).post(reverse("pipeline:board_move"),
                                     {"lead": lead.pk, "to_stage": "dead", "next": "https://evil.example/"})
    assert response["Location"] == reverse("pipeline:board")


# Lien stack ---------------------------------------------------------------------------


def test_recording_a_step_on_a_lenders_file(lead, agent, client_as):
    lien = LienFactory(lead=lead)
    response = client_as(agent).post(reverse("pipeline:lenders", args=[lead.pk]), {
        "action": "milestone", "lien": lien.pk, f"lien{lien.pk}-kind": Milestone.VALUATION_COMPLETED,
        f"lien{lien.pk}-occurred_on": TODAY.isoformat(), f"lien{lien.pk}-amount": "287000",
    })
    assert response.status_code == 302 and response["Location"].endswith(f"#lien-{lien.pk}")
    milestone = LenderMilestone.objects.get()
    assert (milestone.kind, milestone.amount, milestone.recorded_by) == ("valuation_completed", Decimal("287000"), agent)


def test_a_lien_of_another_lead_posted_to_my_page_is_a_404(lead, other_lead, agent, client_as):
    theirs = LienFactory(lead=other_lead)
    response = client_as(agent).post(reverse("pipeline:lenders", args=[lead.pk]), {
        "action": "milestone", "lien": theirs.pk, f"lien{theirs.pk}-kind": Milestone.ACKNOWLEDGED,
        f"lien{theirs.pk}-occurred_on": TODAY.isoformat(),
    })
    assert response.status_code == 404 and not LenderMilestone.objects.exists()


def test_a_refused_form_comes_back_open_with_its_error(lead, agent, client_as):
    lien = LienFactory(lead=lead)
    response = client_as(agent).post(reverse("pipeline:lenders", args=[lead.pk]), {
        "action": "letter", "lien": lien.pk, f"lien{lien.pk}-issued_on": TODAY.isoformat(),
        f"lien{lien.pk}-expires_on": (TODAY - timedelta(days=3)).isoformat(), f"lien{lien.pk}-deficiency": "waived",
    })
    assert response.status_code == 400
    assert "cannot expire before it was issued" in response.content.decode()


def test_adding_a_lien_keeps_only_the_last_four_of_the_loan_number(lead, agent, client_as):
    client_as(agent).post(reverse("pipeline:lenders", args=[lead.pk]), {
        "action": "lien", "position": 2, "lien_type": "heloc", "lender": "Chase",
        "loan_number": "4401-2299-8812", "balance": "41000",
    })
    lien = lead.liens.get()
    assert (lien.loan_number_masked, lien.balance) == ("****8812", Decimal("41000"))
    lead.refresh_from_db()
    assert lead.lien_total == Decimal("41000")


def test_the_lien_stack_page_shows_every_lien_side_by_side(lead, agent, client_as):
    first, _second = LienFactory(lead=lead, lender="PennyMac"), LienFactory(lead=lead, position=2, lender="Chase")
    milestone_record(lien=first, kind=Milestone.PACKAGE_SUBMITTED, occurred_on=TODAY, actor=agent)
    content = client_as(agent).get(reverse("pipeline:lenders", args=[lead.pk])).content.decode()
    assert "Side by side" in content and "PennyMac" in content and "Chase" in content
    assert "Package submitted" in content


# Documents ----------------------------------------------------------------------------


def upload(client, lead, content, name="letter.pdf", kind="hardship_letter", **extra):
    key = f"{kind}-0-up"
    return client.post(reverse("pipeline:documents", args=[lead.pk]), {
        "action": "upload", "kind": kind, f"{key}-file": SimpleUploadedFile(name, content), **extra,
    })


def test_uploading_from_the_documents_page(lead, agent, client_as):
    response = upload(client_as(agent), lead, PDF)
    assert response.status_code == 302
    item = lead.checklist.get()
    assert item.status == DocumentStatus.RECEIVED and item.uploads.count() == 1


def test_a_file_that_is_not_a_document_is_refused_on_the_page(lead, agent, client_as):
    response = upload(client_as(agent), lead, b"<script>alert(1)</script>", name="letter.pdf")
    assert response.status_code == 400
    assert "not a PDF, JPEG, PNG, HEIC or TIFF" in response.content.decode()
    assert not lead.checklist.exists()


def test_uploading_to_another_agents_lead_is_a_404(other_lead, agent, client_as):
    assert upload(client_as(agent), other_lead, PDF).status_code == 404
    assert not other_lead.checklist.exists()


def test_documents_are_served_only_to_who_may_see_the_lead(lead, agent, other_agent, team_lead, client_as):
    stored = document_upload(lead=lead, kind="hardship_letter", actor=agent, file=SimpleUploadedFile("h.pdf", PDF))
    url = reverse("pipeline:document_download", args=[stored.pk])
    assert client_as(other_agent).get(url).status_code == 404
    response = client_as(team_lead).get(url)
    assert response.status_code == 200 and b"".join(response.streaming_content) == PDF
    assert response["Content-Type"] == "application/pdf"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]


def test_setting_a_status_needs_the_date_for_a_dated_document(lead, agent, client_as):
    key = "bank_statements-0"
    response = client_as(agent).post(reverse("pipeline:documents", args=[lead.pk]), {
        "action": "status", "kind": "bank_statements", f"{key}-status": "received",
    })
    assert response.status_code == 400 and "30 days" in response.content.decode()
    client_as(agent).post(reverse("pipeline:documents", args=[lead.pk]), {
        "action": "status", "kind": "bank_statements", f"{key}-status": "received",
        f"{key}-dated_on": "2026-11-01",
    })
    assert lead.checklist.get().expires_on == date(2026, 12, 1)


def test_an_unknown_document_kind_is_a_404(lead, agent, client_as):
    response = client_as(agent).post(reverse("pipeline:documents", args=[lead.pk]),
                                     {"action": "status", "kind": "../../secrets"})
    assert response.status_code == 404


# Offers -------------------------------------------------------------------------------


def test_adding_accepting_and_the_net_sheet(lead, agent, client_as):
    LienFactory(lead=lead, balance=Decimal("320000"))
    client = client_as(agent)
    response = client.post(reverse("pipeline:offers", args=[lead.pk]), {
        "action": "offer", "buyer_name": "K. Nguyen", "price": "280000", "financing": "fha",
        "buyer_proof": "pre_approval", "buyer_concessions": "0", "received_on": TODAY.isoformat(),
    })
    assert response.status_code == 302
    offer = Offer.objects.get()
    client.post(reverse("pipeline:offers", args=[lead.pk]), {"action": "status", "offer": offer.pk,
                                                            "status": OfferStatus.ACCEPTED})
    offer.refresh_from_db()
    assert offer.status == OfferStatus.ACCEPTED
    response = client.get(reverse("pipeline:offers", args=[lead.pk]))
    sheet = response.context["sheet"]
    assert sheet.price_source == "K. Nguyen's accepted offer"
    assert sheet.first.paid == Decimal("257600.00")  # 280,000 less 8 %, all to the one lien
    response = client.get(reverse("pipeline:offers", args=[lead.pk]),
                          {"price": "300000", "commission_percent": "5", "closing_cost_percent": "1.5"})
    assert response.context["sheet"].first.paid == Decimal("280500.00")


def test_an_offer_of_another_lead_cannot_be_accepted_from_my_page(lead, other_lead, agent, client_as):
    theirs = OfferFactory(lead=other_lead)
    response = client_as(agent).post(reverse("pipeline:offers", args=[lead.pk]),
                                     {"action": "status", "offer": theirs.pk, "status": "accepted"})
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == OfferStatus.PENDING


def test_a_second_acceptance_is_refused_with_a_message(lead, agent, client_as):
    first = OfferFactory(lead=lead, buyer_name="A", status=OfferStatus.ACCEPTED)
    second = OfferFactory(lead=lead)
    response = client_as(agent).post(reverse("pipeline:offers", args=[lead.pk]),
                                     {"action": "status", "offer": second.pk, "status": "accepted"}, follow=True)
    assert "A&#x27;s offer is the accepted one" in response.content.decode()
    assert Offer.objects.get(status=OfferStatus.ACCEPTED) == first


@pytest.mark.parametrize(("page", "action"), [
    ("pipeline:offers", "offer"), ("pipeline:offers", "status"), ("pipeline:documents", "upload"),
    ("pipeline:lenders", "milestone"), ("pipeline:lenders", "lien"),
])
def test_seeing_a_lead_is_not_enough_to_change_its_deal(lead, agent, client_as, page, action):
    agent.groups.clear()  # still the lead's agent, so the page shows; no longer allowed to write
    response = client_as(agent).post(reverse(page, args=[lead.pk]), {"action": action})
    assert response.status_code == 403


def test_the_lead_page_sums_up_the_deal(lead, agent, client_as):
    LienFactory(lead=lead)
    content = client_as(agent).get(reverse("leads:detail", args=[lead.pk])).content.decode()
    assert "The short sale" in content and "0 of 1 approved" in content and "to get" in content
    assert "Forecast closing" in content


def test_the_stage_history_says_how_long_each_stage_lasted(agent, client_as):
    from datetime import UTC, datetime

    lead = LeadFactory(assigned_agent=agent, stage=Stage.QUALIFY)
    StageChangeFactory(lead=lead, from_stage=Stage.LIST, to_stage=Stage.CONTACT,
                       changed_at=datetime(2026, 10, 1, tzinfo=UTC))
    StageChangeFactory(lead=lead, from_stage=Stage.CONTACT, to_stage=Stage.QUALIFY,
                       changed_at=datetime(2026, 10, 13, tzinfo=UTC))
    content = client_as(agent).get(reverse("leads:detail", args=[lead.pk])).content.decode()
    assert "12 days in contact" in content and "36 days in qualify so far" in content


def test_without_javascript_a_card_closes_with_its_date_and_dies_with_its_reason(agent, client_as):
    client = client_as(agent)
    lead = closing_lead(agent)
    page = client.get(reverse("pipeline:board")).content.decode()
    assert f'id="move-closed-{lead.pk}"' in page and f'id="move-reason-{lead.pk}"' in page
    client.post(reverse("pipeline:board_move"), {"lead": lead.pk, "to_stage": "closed",
                                                 "closing_date": TODAY.isoformat(), "dead_reason": ""})
    lead.refresh_from_db()
    assert (lead.stage, lead.closing_date) == (Stage.CLOSED, TODAY)
    other = LeadFactory(assigned_agent=agent)
    client.post(reverse("pipeline:board_move"), {"lead": other.pk, "to_stage": "dead", "dead_reason": "unreachable"})
    other.refresh_from_db()
    assert (other.stage, other.dead_reason) == (Stage.DEAD, "unreachable")


def test_after_an_htmx_redraw_the_card_forms_still_come_back_to_the_board(lead, agent, client_as):
    response = client_as(agent).post(
        reverse("pipeline:board_move"), {"lead": lead.pk, "to_stage": Stage.CONTACT},
        HTTP_HX_REQUEST="true", HTTP_HX_CURRENT_URL="http://testserver/board/?lead_type=pre_foreclosure_nod",
    )
    content = response.content.decode()
    assert 'name="next" value="/board/?lead_type=pre_foreclosure_nod"' in content
    assert "/board/move/" not in content.split('name="next" value="')[1].split('"')[0]


def test_the_board_card_shows_its_soonest_approval_expiry(agent, client_as):
    lead = closing_lead(agent)
    response = client_as(agent).get(reverse("pipeline:board"))
    card = next(card for card in response.context["columns"][4].cards if card.pk == lead.pk)
    assert card.approval_expires_on == TODAY + timedelta(days=9)
    assert "exp. Nov 27" in response.content.decode()


@pytest.mark.parametrize(("page", "data"), [
    ("pipeline:lenders", {"action": "milestone", "lien": "abc"}),
    ("pipeline:documents", {"action": "status", "kind": "authorization", "lien": "1.5"}),
    ("pipeline:offers", {"action": "status", "offer": "x", "status": "accepted"}),
])
def test_ids_that_are_not_numbers_are_a_404_not_an_error(lead, agent, client_as, page, data):
    assert client_as(agent).post(reverse(page, args=[lead.pk]), data).status_code == 404


def test_a_lien_of_another_lead_on_my_documents_page_is_a_404(lead, other_lead, agent, client_as):
    theirs = LienFactory(lead=other_lead)
    response = client_as(agent).post(reverse("pipeline:documents", args=[lead.pk]), {
        "action": "status", "kind": "authorization", "lien": theirs.pk, f"authorization-{theirs.pk}-status": "received",
    })
    assert response.status_code == 404 and not other_lead.checklist.exists()


def test_an_oversized_upload_through_the_page_says_the_limit(lead, agent, client_as, settings):
    settings.LEADCRM_DOCUMENT_MAX_BYTES = 1024
    response = upload(client_as(agent), lead, PDF + b"0" * 2048)
    assert response.status_code == 400 and "the most a document may be" in response.content.decode()


@pytest.mark.parametrize("model", ["lenderfile", "lendermilestone", "approvalletter", "checklistitem",
                                   "documentupload", "offer"])
def test_the_admin_scopes_the_deal_to_the_team_leads_leads(model, other_lead, other_agent, team_lead, client_as):
    from pipeline.deals.lenders import approval_letter_record, milestone_record

    lien = LienFactory(lead=other_lead)
    milestone = milestone_record(lien=lien, kind=Milestone.ACKNOWLEDGED, occurred_on=TODAY, actor=other_agent)
    letter = approval_letter_record(lien=lien, issued_on=TODAY, expires_on=TODAY, actor=other_agent)
    upload_row = document_upload(lead=other_lead, kind="hardship_letter", actor=other_agent,
                                 file=SimpleUploadedFile("h.pdf", PDF))
    offer = OfferFactory(lead=other_lead)
    row = {"lenderfile": milestone.lender_file, "lendermilestone": milestone, "approvalletter": letter,
           "checklistitem": upload_row.item, "documentupload": upload_row, "offer": offer}[model]
    client = client_as(team_lead)
    assert client.get(reverse(f"admin:pipeline_{model}_change", args=[row.pk])).status_code == 404
    listing = client.get(reverse(f"admin:pipeline_{model}_changelist"))
    assert listing.status_code == 200 and listing.context["cl"].result_count == 0
