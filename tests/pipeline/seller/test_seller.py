"""The seller's side (issue 10): the private status page, its link, uploads, the guide,
and what the seller was told."""

import re
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from leads.models import Stage
from pipeline.deals.documents import checklist_item_update
from pipeline.models import (
    BriefingTopic,
    ChecklistItem,
    DocumentKind,
    DocumentStatus,
    DocumentUpload,
    GuideSection,
    Milestone,
    Notification,
    NotificationKind,
    SellerEvent,
    SellerEventKind,
    SellerLink,
)
from pipeline.outreach.services import lead_note_add
from pipeline.seller.access import PHONE_CHECK_TRIES, seller_link_create, seller_link_open, seller_link_revoke
from pipeline.seller.briefings import seller_briefings_set
from pipeline.seller.guide import guide_pdf
from pipeline.seller.status import seller_document_upload
from pipeline.seller.views import MISSES_PER_HOUR

from ...leads.factories import HardshipFactory, LienFactory
from ..factories import LenderMilestoneFactory

PDF = b"%PDF-1.7\n1 0 obj << >> endobj\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64
SENTINEL_NOTE = "Seller sounded evasive about the HELOC (internal)"


def page_url(token):
    return reverse("pipeline:seller_page", args=[token])


@pytest.fixture
def lien(lead):
    return LienFactory(lead=lead, lender="Mr. Cooper", loan_number_masked="****8831")


@pytest.fixture
def token(lead, agent, lien):
    return seller_link_create(lead=lead, actor=agent)


def seller_client(address="203.0.113.9"):
    return Client(REMOTE_ADDR=address)


# The link: scoping, expiry, revocation ------------------------------------------------------


def test_the_link_opens_its_own_lead_and_nothing_else(lead, other_lead, agent, other_agent, token):
    other_token = seller_link_create(lead=other_lead, actor=other_agent)
    mine = seller_client().get(page_url(token))
    theirs = seller_client().get(page_url(other_token))
    assert mine.status_code == theirs.status_code == 200
    assert lead.property.street in mine.content.decode()
    assert other_lead.property.street not in mine.content.decode()
    assert other_lead.property.street in theirs.content.decode()


@pytest.mark.parametrize("guess", ["", "x", "A" * 43, "A" * 500, "../../admin/"])
def test_a_guessed_token_is_a_polite_dead_end(token, lead, guess):
    response = seller_client().get(f"/s/{guess}/") if guess else seller_client().get("/s/%20/")
    assert response.status_code == 404
    page = response.content.decode()
    if "/" not in guess:  # a path with slashes is not a seller page at all: the site's own 404
        assert "This link isn" in page
    assert lead.property.street not in page


def test_only_a_hash_of_the_token_is_kept(lead, token):
    link = SellerLink.objects.get(lead=lead)
    assert token not in link.token_hash
    assert len(token) >= 40  # 32 random bytes


def test_an_expired_link_shows_nothing(lead, agent, lien):
    token = seller_link_create(lead=lead, actor=agent, days=7)
    with time_machine.travel(timezone.now() + timedelta(days=7, minutes=1)):
        response = seller_client().get(page_url(token))
    assert response.status_code == 404
    assert lead.property.street not in response.content.decode()


def test_a_revoked_link_shows_nothing_and_is_on_the_timeline(lead, agent, token):
    assert seller_link_revoke(lead=lead, actor=agent)
    assert seller_client().get(page_url(token)).status_code == 404
    kinds = list(SellerEvent.objects.filter(lead=lead).values_list("kind", flat=True))
    assert SellerEventKind.LINK_REVOKED in kinds and SellerEventKind.LINK_CREATED in kinds


def test_a_new_link_replaces_the_old_one(lead, agent, token):
    newer = seller_link_create(lead=lead, actor=agent)
    assert seller_client().get(page_url(token)).status_code == 404
    assert seller_client().get(page_url(newer)).status_code == 200
    assert SellerLink.objects.filter(lead=lead).count() == 1


def test_link_length_is_one_of_the_offered_choices(lead, agent):
    with pytest.raises(ValidationError):
        seller_link_create(lead=lead, actor=agent, days=3650)


def test_pages_are_private_no_store_no_referrer(token):
    response = seller_client().get(page_url(token))
    assert "no-store" in response["Cache-Control"]
    assert response["Referrer-Policy"] == "same-origin"
    assert "noindex" in response["X-Robots-Tag"]


def test_an_address_guessing_too_often_is_refused_but_a_good_link_still_opens(token, lead):
    # A carrier's address is shared by many phones: the guesser must not lock sellers out.
    client = seller_client("198.51.100.7")
    for attempt in range(MISSES_PER_HOUR):
        assert client.get(f"/s/guess{attempt}/").status_code == 404
    refused = client.get("/s/one-more-guess-abcdef/")
    assert refused.status_code == 429 and lead.property.street not in refused.content.decode()
    assert client.get(page_url(token)).status_code == 200


# What the page shows, and never shows ---------------------------------------------------


def test_the_page_shows_the_stage_lenders_documents_and_agent(lead, agent, lien, token):
    agent.phone = "+19185550199"
    agent.license_number = "SA-7781"
    agent.save()
    LenderMilestoneFactory(lender_file__lien=lien, kind=Milestone.AUTHORIZATION_RECEIVED,
                           occurred_on=timezone.localdate() - timedelta(days=3))
    page = seller_client().get(page_url(token)).content.decode()
    assert "Getting started" in page
    assert "Mr. Cooper" in page and "Authorization received" in page and "Package submitted" in page
    assert "Your hardship letter" in page and "Dated within the last 30 days." in page  # pay stubs
    assert "Ana Torres" in page and "tel:+19185550199" in page
    assert "licensed real estate agent" in page and "cannot promise its outcome" in page
    assert "What to expect" in page and "What a short sale is" in page


def test_the_page_never_shows_loan_numbers_notes_phones_hardship_or_compliance(lead, agent, lien, token):
    lead_note_add(lead=lead, author=agent, body=SENTINEL_NOTE)
    HardshipFactory(lead=lead, narrative="Laid off from the refinery in March")
    page = seller_client().get(page_url(token)).content.decode()
    for secret in ("8831", "****", SENTINEL_NOTE, "refinery", "+19185550104", "918-555-0104", "(918) 555-0104",
                   "DNC", "check #", "compliance", "motivation"):
        assert secret not in page, secret


def test_the_forecast_is_a_range_not_a_promise(lead, agent, token):
    lead.stage = Stage.NEGOTIATE
    lead.save()
    page = seller_client().get(page_url(token)).content.decode()
    assert "With your lenders" in page
    # No history yet: typical figures, and the page says so (tests/pipeline/deals/test_forecast.py
    # has the brokerage's own record).
    assert "going by typical short-sale timelines" in page and "may close between" in page
    assert "not a promise" in page


def test_the_page_is_a_handful_of_queries(token, django_assert_max_num_queries):
    seller_client().get(page_url(token))  # the session and the rulebook, once
    with django_assert_max_num_queries(25):
        assert seller_client().get(page_url(token)).status_code == 200


# The second factor ----------------------------------------------------------------------


@pytest.fixture
def guarded_token(lead, agent, lien):
    return seller_link_create(lead=lead, actor=agent, asks_phone_digits=True)


def test_the_second_factor_asks_for_the_last_four_digits(lead, guarded_token):
    client = seller_client()
    asked = client.get(page_url(guarded_token)).content.decode()
    assert "last four digits" in asked and lead.property.street not in asked
    wrong = client.post(reverse("pipeline:seller_check", args=[guarded_token]), {"digits": "9999"})
    assert "do not match" in wrong.content.decode()
    right = client.post(reverse("pipeline:seller_check", args=[guarded_token]), {"digits": "0104"})
    assert right.status_code == 302
    assert lead.property.street in client.get(page_url(guarded_token)).content.decode()
    # Another browser must answer again.
    assert lead.property.street not in seller_client().get(page_url(guarded_token)).content.decode()


def test_only_a_good_numbers_digits_open_the_page(lead, agent):
    from leads.models import PhoneStatus

    from ...leads.factories import PhoneFactory

    PhoneFactory(contact=lead.contacts.first(), number="+19185550177", status=PhoneStatus.WRONG_PARTY)
    token = seller_link_create(lead=lead, actor=agent, asks_phone_digits=True)
    client = seller_client()
    client.post(reverse("pipeline:seller_check", args=[token]), {"digits": "0177"})
    assert lead.property.street not in client.get(page_url(token)).content.decode()


def test_fifteen_wrong_tries_revoke_the_link(lead, agent, guarded_token):
    client = seller_client()
    for hour in range(3):
        with time_machine.travel(timezone.now() + timedelta(hours=hour, minutes=hour)):
            for _ in range(PHONE_CHECK_TRIES):
                client.post(reverse("pipeline:seller_check", args=[guarded_token]), {"digits": "1111"})
    assert SellerLink.objects.get(lead=lead).revoked_at is not None
    assert seller_client().get(page_url(guarded_token)).status_code == 404
    assert Notification.objects.filter(recipient=agent, title__contains="revoked").exists()


def test_five_wrong_tries_lock_the_page_and_tell_the_agent(lead, agent, guarded_token):
    client = seller_client()
    for _ in range(PHONE_CHECK_TRIES):
        client.post(reverse("pipeline:seller_check", args=[guarded_token]), {"digits": "1111"})
    locked = client.post(reverse("pipeline:seller_check", args=[guarded_token]), {"digits": "0104"})
    assert locked.status_code == 403 and "Too many tries" in locked.content.decode()
    assert SellerEvent.objects.filter(lead=lead, kind=SellerEventKind.LOCKED).count() == 1
    assert Notification.objects.filter(recipient=agent, kind=NotificationKind.SELLER, lead=lead).exists()
    with time_machine.travel(timezone.now() + timedelta(minutes=61)):
        client.post(reverse("pipeline:seller_check", args=[guarded_token]), {"digits": "0104"})
        assert lead.property.street in client.get(page_url(guarded_token)).content.decode()


def test_the_second_factor_needs_a_phone_on_file(lead, agent):
    lead.contacts.first().phones.all().delete()
    with pytest.raises(ValidationError):
        seller_link_create(lead=lead, actor=agent, asks_phone_digits=True)


# Uploads --------------------------------------------------------------------------------


def upload(client, token, document, content=PDF, name="statement.pdf", **extra):
    return client.post(reverse("pipeline:seller_upload", args=[token]),
                       {"document": document, "file": SimpleUploadedFile(name, content), **extra})


def test_an_upload_lands_in_its_checklist_item_and_tells_the_agent(lead, agent, lien, token):
    client = seller_client()
    response = upload(client, token, f"{DocumentKind.AUTHORIZATION}:{lien.pk}", name="auth.pdf")
    assert response.status_code == 302
    item = ChecklistItem.objects.get(lead=lead, kind=DocumentKind.AUTHORIZATION, lien=lien)
    assert item.status == DocumentStatus.RECEIVED
    stored = DocumentUpload.objects.get(item=item)
    assert stored.from_seller and stored.uploaded_by is None
    assert SellerEvent.objects.filter(lead=lead, kind=SellerEventKind.UPLOAD, upload=stored).exists()
    note = Notification.objects.get(recipient=agent, kind=NotificationKind.SELLER, lead=lead)
    assert lead.property.street_line in note.title and "Permission" in note.body
    assert "Thank you" in client.get(page_url(token)).content.decode()


def test_a_failure_after_the_document_is_stored_leaves_no_file_behind(lead, token, settings, monkeypatch):
    # the upload's own savepoint succeeded; telling the agent then fails and rolls it back
    def broken(*args, **kwargs):
        raise RuntimeError("notification store down")

    monkeypatch.setattr("pipeline.seller.status.seller_agent_notify", broken)
    with pytest.raises(RuntimeError):
        seller_document_upload(link=SellerLink.objects.get(lead=lead), key=DocumentKind.HARDSHIP_LETTER,
                               file=SimpleUploadedFile("letter.pdf", PDF))
    assert not DocumentUpload.objects.exists()
    media = Path(settings.MEDIA_ROOT)
    assert not [p for p in media.rglob("*") if p.is_file()]


def test_several_pages_at_once_and_more_later_make_one_notification(lead, agent, token):
    client = seller_client()
    client.post(reverse("pipeline:seller_upload", args=[token]), {
        "document": DocumentKind.HARDSHIP_LETTER,
        "file": [SimpleUploadedFile("page1.jpg", JPEG), SimpleUploadedFile("page2.jpg", JPEG)]})
    upload(client, token, DocumentKind.HARDSHIP_LETTER, name="page3.pdf")  # received: more pages still welcome
    assert DocumentUpload.objects.filter(item__lead=lead, from_seller=True).count() == 3
    assert Notification.objects.filter(recipient=agent, kind=NotificationKind.SELLER).count() == 1
    assert "Send more pages or a better copy" in client.get(page_url(token)).content.decode()


def test_an_impossible_date_is_a_message_not_an_error(lead, token):
    response = upload(seller_client(), token, DocumentKind.BANK_STATEMENTS, dated_on="2026-02-31")
    assert response.status_code == 302
    assert not DocumentUpload.objects.exists()


def test_a_closed_file_takes_no_uploads(lead, token):
    lead.stage = Stage.DEAD
    lead.save()
    upload(seller_client(), token, DocumentKind.HARDSHIP_LETTER)
    assert not DocumentUpload.objects.exists()
    page = seller_client().get(page_url(token)).content.decode()
    assert "This file is closed" in page and "Send this document" not in page


def test_link_previews_and_head_requests_are_not_visits(lead, token):
    seller_client().get(page_url(token), HTTP_USER_AGENT="facebookexternalhit/1.1")
    seller_client().head(page_url(token))
    assert not SellerEvent.objects.filter(lead=lead, kind=SellerEventKind.VISIT).exists()


def test_a_dated_document_needs_its_date(lead, token):
    client = seller_client()
    upload(client, token, DocumentKind.PAY_STUBS, name="stub.pdf")
    assert not DocumentUpload.objects.filter(item__lead=lead).exists()
    upload(client, token, DocumentKind.BANK_STATEMENTS, dated_on=str(timezone.localdate() - timedelta(days=5)))
    item = ChecklistItem.objects.get(lead=lead, kind=DocumentKind.BANK_STATEMENTS)
    assert item.status == DocumentStatus.RECEIVED and item.expires_on is not None


@pytest.mark.parametrize(("content", "name"), [(b"<html><script>alert(1)</script>", "stub.pdf"),
                                               (b"MZ\x90\x00", "photo.jpg"), (b"", "empty.pdf")])
def test_uploads_are_checked_by_content(lead, token, content, name):
    response = upload(seller_client(), token, DocumentKind.HARDSHIP_LETTER, content=content, name=name)
    assert response.status_code == 302
    assert not DocumentUpload.objects.filter(item__lead=lead).exists()


def test_uploads_are_size_limited(lead, token, settings):
    settings.LEADCRM_DOCUMENT_MAX_BYTES = 1024
    upload(seller_client(), token, DocumentKind.HARDSHIP_LETTER, content=PDF + b"0" * 2048)
    assert not DocumentUpload.objects.filter(item__lead=lead).exists()


def test_an_upload_cannot_reach_another_leads_lien_or_an_agents_document(lead, other_lead, token):
    foreign_lien = LienFactory(lead=other_lead)
    client = seller_client()
    upload(client, token, f"{DocumentKind.AUTHORIZATION}:{foreign_lien.pk}")
    upload(client, token, DocumentKind.PURCHASE_CONTRACT)
    upload(client, token, "../../etc/passwd")
    assert not DocumentUpload.objects.exists()


def test_an_accepted_document_is_not_overwritten(lead, agent, token):
    checklist_item_update(lead=lead, kind=DocumentKind.HARDSHIP_LETTER, actor=agent, status=DocumentStatus.ACCEPTED)
    upload(seller_client(), token, DocumentKind.HARDSHIP_LETTER)
    assert ChecklistItem.objects.get(lead=lead, kind=DocumentKind.HARDSHIP_LETTER).status == DocumentStatus.ACCEPTED
    assert not DocumentUpload.objects.exists()


# The visit log --------------------------------------------------------------------------


def test_visits_are_logged_once_per_half_hour_and_shown_on_the_timeline(lead, agent, token, client_as):
    client = seller_client()
    client.get(page_url(token))
    client.get(page_url(token))
    assert SellerEvent.objects.filter(lead=lead, kind=SellerEventKind.VISIT).count() == 1
    with time_machine.travel(timezone.now() + timedelta(minutes=31)):
        client.get(page_url(token))
    assert SellerEvent.objects.filter(lead=lead, kind=SellerEventKind.VISIT).count() == 2
    page = client_as(agent).get(reverse("leads:detail", args=[lead.pk])).content.decode()
    assert "Seller opened the status page" in page
    assert "Last visit" in page


def test_the_guide_pdf_on_the_page_is_logged(lead, token):
    response = seller_client().get(reverse("pipeline:seller_guide_pdf", args=[token]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert SellerEvent.objects.filter(lead=lead, kind=SellerEventKind.GUIDE).exists()


# The agent's side -----------------------------------------------------------------------


def test_the_owner_makes_a_link_shown_once_on_the_lead_page(lead, agent, client_as):
    client = client_as(agent)
    response = client.post(reverse("pipeline:seller_link", args=[lead.pk]), {"days": "30"})
    assert response.status_code == 302
    page = client.get(reverse("leads:detail", args=[lead.pk])).content.decode()
    assert "/s/" in page and "shown once" in page
    url = page.split('id="seller-new-url" value="')[1].split('"')[0]
    assert seller_link_open(url.rsplit("/s/", 1)[1].strip("/")) is not None
    again = client.get(reverse("leads:detail", args=[lead.pk])).content.decode()
    assert "shown once" not in again


@pytest.mark.parametrize("who", ["other_agent", "anonymous"])
def test_nobody_else_makes_or_revokes_a_link(who, lead, other_agent, client_as):
    client = client_as(other_agent if who == "other_agent" else None)
    for data in ({"days": "30"}, {"action": "revoke"}):
        response = client.post(reverse("pipeline:seller_link", args=[lead.pk]), data)
        assert response.status_code in (302, 404)
        if who == "other_agent":
            assert response.status_code == 404
    assert not SellerLink.objects.filter(lead=lead).exists()


def test_the_preview_shows_the_page_and_logs_nothing(lead, agent, team_lead, other_agent, token, client_as):
    for user in (agent, team_lead):
        response = client_as(user).get(reverse("pipeline:seller_preview", args=[lead.pk]))
        assert response.status_code == 200 and "Preview: what the homeowner sees" in response.content.decode()
    assert client_as(other_agent).get(reverse("pipeline:seller_preview", args=[lead.pk])).status_code == 404
    assert not SellerEvent.objects.filter(lead=lead, kind=SellerEventKind.VISIT).exists()


# What the seller was told, and the qualify stage's warning ----------------------------


def test_briefings_are_recorded_with_their_days_and_unset(lead, agent, client_as):
    client = client_as(agent)
    day = timezone.localdate() - timedelta(days=2)
    client.post(reverse("pipeline:briefing", args=[lead.pk]),
                {"told_timeline": "on", "on_timeline": day.isoformat(), "told_deficiency": "on"})
    told = {b.topic: b.told_on for b in lead.briefings.all()}
    assert told == {BriefingTopic.TIMELINE: day, BriefingTopic.DEFICIENCY: timezone.localdate()}
    client.post(reverse("pipeline:briefing", args=[lead.pk]), {"told_timeline": "on", "on_timeline": day.isoformat()})
    assert list(lead.briefings.values_list("topic", flat=True)) == [BriefingTopic.TIMELINE]


def test_a_briefing_cannot_be_in_the_future(lead, agent):
    with pytest.raises(ValidationError):
        seller_briefings_set(lead=lead, actor=agent, told={BriefingTopic.PRICING: timezone.localdate() + timedelta(days=1)})


def test_another_agent_cannot_record_briefings(lead, other_agent, client_as):
    response = client_as(other_agent).post(reverse("pipeline:briefing", args=[lead.pk]), {"told_timeline": "on"})
    assert response.status_code == 404
    assert not lead.briefings.exists()


def _ready_for_qualify(lead, agent):
    HardshipFactory(lead=lead)
    LienFactory(lead=lead)
    lead.stage = Stage.CONTACT
    lead.save()


def test_entering_qualify_warns_when_the_seller_was_told_nothing(lead, agent, client_as):
    _ready_for_qualify(lead, agent)
    client = client_as(agent)
    client.post(reverse("pipeline:stage_change", args=[lead.pk]), {"to_stage": Stage.QUALIFY, "note": ""})
    lead.refresh_from_db()
    assert lead.stage == Stage.QUALIFY  # a warning, not a refusal
    page = client.get(reverse("leads:detail", args=[lead.pk])).content.decode()
    assert "Nothing is recorded yet of what the seller has been told" in page
    assert "Nothing recorded yet" in page  # the card's warning stays while it is empty
    seller_briefings_set(lead=lead, actor=agent, told={BriefingTopic.TIMELINE: timezone.localdate()})
    assert "Nothing recorded yet" not in client.get(reverse("leads:detail", args=[lead.pk])).content.decode()


# The guide ------------------------------------------------------------------------------


def test_the_guide_the_brokerage_starts_with_passes_the_language_rule(db):
    sections = list(GuideSection.objects.all())
    assert len(sections) >= 6
    for section in sections:
        section.full_clean()  # F6: raises on a prohibited promise
    text = " ".join(section.body for section in sections)
    for topic in ("60 to 180 days", "documents", "deficiency", "tax professional", "credit", "Only your lenders decide"):
        assert topic in text


@pytest.mark.parametrize("promise", ["We will save your home.", "Your lender will approve it.",
                                     "Guaranteed results.", "Most sales close in 30 days."])
def test_a_guide_edit_with_a_prohibited_promise_is_refused(db, promise):
    section = GuideSection(title="Our promise", body=promise)
    with pytest.raises(ValidationError) as refused:
        section.full_clean()
    assert refused.value.error_dict or refused.value.messages


def test_the_guide_edit_in_the_admin_is_checked(broker, client_as):
    client = client_as(broker)
    response = client.post(reverse("admin:pipeline_guidesection_add"),
                           {"position": 99, "title": "Why us", "body": "We can stop the foreclosure."})
    assert response.status_code == 200
    assert not GuideSection.objects.filter(title="Why us").exists()


def test_the_guide_pdf_carries_the_agent(agent, client_as):
    response = client_as(agent).get(reverse("pipeline:guide_pdf"))
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    assert client_as(agent).get(reverse("pipeline:guide")).status_code == 200
    assert guide_pdf(agent=None).startswith(b"%PDF")


# The agent's photo ----------------------------------------------------------------------


def test_the_agents_photo_is_checked_and_shown_through_the_sellers_link(lead, agent, token, client_as):
    client = client_as(agent)
    client.post(reverse("pipeline:my_photo"), {"photo": SimpleUploadedFile("me.png", b"<svg onload=alert(1)>")})
    assert seller_client().get(reverse("pipeline:seller_agent_photo", args=[token])).status_code == 404
    client.post(reverse("pipeline:my_photo"), {"photo": SimpleUploadedFile("me.jpg", JPEG)})
    photo = seller_client().get(reverse("pipeline:seller_agent_photo", args=[token]))
    assert photo.status_code == 200 and photo["Content-Type"] == "image/jpeg"
    assert b"".join(photo.streaming_content) == JPEG
    assert "seller_agent_photo" not in seller_client().get(page_url(token)).content.decode()
    assert f"/s/{token}/agent-photo/" in seller_client().get(page_url(token)).content.decode()
    assert seller_client().get("/s/not-a-token/agent-photo/").status_code == 404


def test_a_board_move_into_qualify_warns_too(lead, agent, client_as):
    _ready_for_qualify(lead, agent)
    response = client_as(agent).post(reverse("pipeline:board_move"), {"lead": lead.pk, "to_stage": Stage.QUALIFY},
                                     HTTP_HX_REQUEST="true", HTTP_HX_CURRENT_URL="http://testserver/board/")
    lead.refresh_from_db()
    assert lead.stage == Stage.QUALIFY
    assert "alert-warning" in response.content.decode()
    assert "Nothing is recorded yet of what the seller has been told" in response.content.decode()


def test_the_logs_never_keep_a_sellers_token(token):
    import logging

    from leadcrm.shared.security import SecretPathFilter

    for message, args in (("Not Found: %s", (f"/s/{token}/upload/",)),
                          ('"%s" %s %s', (f"GET /s/{token}/ HTTP/1.1", "200", "5120")),
                          (f"Forbidden: /s/{token}/check/", ())):
        record = logging.LogRecord("django.request", logging.WARNING, __file__, 1, message, args, None)
        assert SecretPathFilter().filter(record)
        assert token not in record.getMessage() and "/s/…" in record.getMessage()


def test_gunicorns_access_log_masks_the_token(token):
    from types import SimpleNamespace

    from gunicorn.config import Config

    from leadcrm.shared.security import GunicornLogger

    logger = GunicornLogger(Config())
    request = SimpleNamespace(method="GET", path=f"/s/{token}/", query="", uri=f"/s/{token}/", version=(1, 1),
                              headers=[("REFERER", f"https://crm.example.com/s/{token}/")])
    response = SimpleNamespace(status="200 OK", sent=10, headers=[], response_length=10)
    environ = {"REQUEST_METHOD": "GET", "RAW_URI": f"/s/{token}/", "SERVER_PROTOCOL": "HTTP/1.1",
               "HTTP_REFERER": f"https://crm.example.com/s/{token}/", "REMOTE_ADDR": "203.0.113.9"}
    from datetime import timedelta as _timedelta

    atoms = logger.atoms(response, request, environ, _timedelta(milliseconds=5))
    assert all(token not in str(value) for value in atoms.values())
    assert "/s/…" in atoms["r"]


# Keyboard and screen reader ------------------------------------------------------------------


def test_send_this_document_keeps_its_toggle_when_open(lead, token):
    """The summary is the only way to close the upload form again and holds the focus once
    pressed: hidden when open, the focus was lost and the form could not be closed."""
    page = seller_client().get(page_url(token)).content.decode()

    assert '<details class="seller-send">' in page
    summary = re.search(r'<details class="seller-send">\s*(?:\{#.*?#\}\s*)?<summary class="btn[^"]*">', page)
    assert summary, "each upload form opens from a <summary> button"
    css = (Path(__file__).resolve().parents[3] / "static/css/seller.css").read_text()
    hidden = re.findall(r"\.seller-send\[open\]\s*>\s*summary[^{]*\{[^}]*\}", css)
    assert hidden and not [rule for rule in hidden if re.search(r"display:\s*none|visibility:\s*hidden", rule)]


def test_an_upload_comes_back_focused_on_its_result_in_the_documents_card(lead, token):
    client = seller_client()
    response = upload(client, token, DocumentKind.HARDSHIP_LETTER, name="letter.pdf")

    assert response["Location"].endswith("#upload-result")
    page = client.get(page_url(token)).content.decode()
    documents = page[page.index('id="documents"'):]
    result = re.search(r'<div class="seller-result" id="upload-result" tabindex="-1" autofocus>\s*<div class="alert '
                       r'alert-success" role="status">Thank you: letter.pdf', documents)
    assert result, "the result sits in the documents card, focusable, so the browser focuses it"
    assert page.count('id="upload-result"') == 1
