"""The public seller form: the whole path from a homeowner's post to a routed lead, its
consent honoured by the gate, dedupe, and every refusal (docs/intake.md)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from compliance.models import Channel, ConsentRecord, EstablishedRelationship, Purpose, Verdict
from compliance.services import dnc_numbers_add, outreach_check
from leadcrm.accounts.services import automation_user
from leads.models import Contact, HardshipRecord, Lead, LeadSource, Phone, PhoneType, Property
from pipeline.intake.services import NO_PHONE, seller_form_rotate_key
from pipeline.intake.views import TOO_FAST, TOO_MANY
from pipeline.models import FormSubmission, Notification, NotificationKind, SubmissionOutcome

from ...leads.imports.test_imports import HEADER, run
from .conftest import HOMEOWNER_ADDRESS, SITE, form_url, post, sent

pytestmark = pytest.mark.django_db


def rows() -> tuple[int, ...]:
    return (Lead.objects.count(), Property.objects.count(), Contact.objects.count(), Phone.objects.count(),
            HardshipRecord.objects.count(), ConsentRecord.objects.count(), EstablishedRelationship.objects.count())


def test_a_homeowners_post_becomes_a_lead_with_their_phones_words_and_consent(seller_form, broker):
    response = post(seller_form, sent(other_phone="918-555-0177"))

    assert response.status_code == 200
    assert "Thank you" in response.content.decode()
    lead = Lead.objects.select_related("property").get()
    assert (lead.source, lead.property.street, lead.property.zip_code) == (LeadSource.WEB_FORM, "1633 Elm Street",
                                                                          "74130")
    assert lead.lead_type == "inbound"  # they reached out
    assert lead.assigned_agent == broker  # no routing rule took it: the form's owner works it
    owner = lead.contacts.get()
    assert (owner.first_name, owner.last_name) == ("Maria", "Garcia")
    assert sorted(Phone.objects.values_list("number", flat=True)) == ["+19185550131", "+19185550177"]
    assert owner.emails.get().address == "maria@example.com"
    words = HardshipRecord.objects.get(lead=lead).narrative
    assert "Lost my job in March" in words and "3 to 5 months behind" in words and "Evenings" in words
    submission = FormSubmission.objects.get()
    assert (submission.outcome, submission.lead, submission.consented) == (SubmissionOutcome.CREATED, lead, True)


def test_consent_is_stored_word_for_word_per_number_with_its_proof(seller_form, broker):
    post(seller_form, sent(other_phone="918-555-0177"))

    records = ConsentRecord.objects.order_by("phone_number")
    assert [record.phone_number for record in records] == ["+19185550131", "+19185550177"]
    record = records[0]
    assert record.consent_text == seller_form.consent_text
    assert "Sunbelt Test Realty" in record.consent_text
    assert (record.covers_sms, record.covers_autodialer, record.covers_prerecorded) == (True, False, False)
    # Written by the system, not credited to a person: the homeowner ticked the box themselves.
    assert record.recorded_by == automation_user() and record.recorded_by != broker
    assert f"“{seller_form.name}”" in record.method
    owner = record.lead.contacts.get()
    mobile, other = (owner.phones.get(number=number) for number in ("+19185550131", "+19185550177"))
    assert (mobile.phone_type, other.phone_type) == (PhoneType.MOBILE, PhoneType.UNKNOWN)
    assert mobile.raw != mobile.number  # what the homeowner typed is kept beside the E.164 form
    assert HOMEOWNER_ADDRESS in record.proof_note and "iPhone" in record.proof_note
    assert form_url(seller_form) in record.proof_note and f"{SITE}/short-sale-help" in record.proof_note
    inquiry = EstablishedRelationship.objects.get(phone_number="+19185550131")
    assert inquiry.kind == "inquiry" and inquiry.formed_with_brokerage


def test_the_gate_honours_the_forms_consent_for_a_number_on_the_national_registry(
        seller_form, broker, national_registry):
    # given: the homeowner's number is on the national Do Not Call registry
    dnc_numbers_add(source=national_registry, numbers=["918,5550131"], as_of=national_registry.data_as_of)
    post(seller_form)
    lead = Lead.objects.get()
    phone = Phone.objects.get(number="+19185550131")
    assert phone.on_dnc_list  # flagged as it came in

    # when: the agent calls and texts it
    call = outreach_check(lead=lead, contact_point=phone, channel=Channel.CALL, purpose=Purpose.LISTING,
                          actor=broker, role_disclosed=True)
    text = outreach_check(lead=lead, contact_point=phone, channel=Channel.SMS, purpose=Purpose.LISTING,
                          actor=broker, role_disclosed=True, message="Hi Maria, it is Dana about your home.")

    # then: the inquiry with consent allows the call (C1 instead of A5), the consent the text (D5)
    assert call.verdict != Verdict.BLOCK and "A5" not in call.rule_ids and "C1" in call.rule_ids
    assert text.verdict != Verdict.BLOCK and "D5" not in text.rule_ids
    assert text.evidence["consent"]["id"] == ConsentRecord.objects.get(phone_number="+19185550131").pk


def test_without_the_box_ticked_nothing_is_consented_and_the_gate_refuses(seller_form, broker, national_registry):
    dnc_numbers_add(source=national_registry, numbers=["918,5550131"], as_of=national_registry.data_as_of)
    post(seller_form, sent(consent=None))
    lead = Lead.objects.get()
    phone = Phone.objects.get(number="+19185550131")

    assert ConsentRecord.objects.count() == 0 and EstablishedRelationship.objects.count() == 0
    assert FormSubmission.objects.get().consented is False
    call = outreach_check(lead=lead, contact_point=phone, channel=Channel.CALL, purpose=Purpose.LISTING,
                          actor=broker, role_disclosed=True)
    text = outreach_check(lead=lead, contact_point=phone, channel=Channel.SMS, purpose=Purpose.LISTING,
                          actor=broker, role_disclosed=True, message="Hi Maria, it is Dana about your home.")
    assert call.verdict == Verdict.BLOCK and call.rule_ids == ["A5"]
    assert text.verdict == Verdict.BLOCK and "D5" in text.rule_ids


def test_a_form_lead_for_an_imported_house_is_added_to_that_lead(seller_form, broker):
    # given: the house came in on a list, with another owner's number
    row = ("1633 Elm St,,Tulsa,OK,74130,Tulsa,,Maria,Garcia,1633 Elm St,Tulsa,OK,74130,,180000,,,,,,,,,,"
           "9185550199,,,")
    run(broker, f"{HEADER}\n{row}\n".encode())
    imported = Lead.objects.get()
    before = Notification.objects.order_by("-pk").values_list("pk", flat=True).first() or 0

    # when: the homeowner sends the form for it
    response = post(seller_form)

    # then: one lead, the new number on it, the submission logged as matched
    assert response.status_code == 200
    assert Lead.objects.get() == imported
    assert set(Phone.objects.filter(contact__lead=imported).values_list("number", flat=True)) == {
        "+19185550199", "+19185550131"}
    submission = FormSubmission.objects.get()
    assert (submission.outcome, submission.lead) == (SubmissionOutcome.MATCHED, imported)
    assert ConsentRecord.objects.get().lead == imported
    # not a new lead: whoever works it hears the homeowner wrote in again
    assert not Notification.objects.filter(kind=NotificationKind.NEW_LEAD).exclude(pk__lte=before).exists()
    assert Notification.objects.filter(kind=NotificationKind.REPLY, lead=imported).exists()


@pytest.mark.parametrize(("missing", "field", "message"), [
    ({"street": ""}, "street", "Enter the street address of the house."),
    ({"phone": "", "other_phone": ""}, "phone", NO_PHONE),
    ({"zip_code": "", "city": ""}, "zip_code", "Enter the ZIP code (or the city and the state) of the house."),
    ({"phone": "555"}, "phone", "not a US phone number"),
])
def test_a_missing_address_or_phone_reshows_the_form_with_nothing_saved(seller_form, missing, field, message):
    response = post(seller_form, sent(**missing))

    assert response.status_code == 200
    page = response.content.decode()
    assert message in page
    assert 'value="Maria"' in page  # what they typed is kept
    assert rows() == (0, 0, 0, 0, 0, 0, 0)
    submission = FormSubmission.objects.get()
    assert submission.outcome == SubmissionOutcome.INVALID and field.split("_")[0] in submission.invalid_fields
    assert submission.lead is None


def test_a_filled_honeypot_is_thanked_and_nothing_is_kept(seller_form):
    response = post(seller_form, sent(website="http://cheap-pills.example"))

    assert response.status_code == 200 and "Thank you" in response.content.decode()
    assert rows() == (0, 0, 0, 0, 0, 0, 0)
    submission = FormSubmission.objects.get()
    assert (submission.outcome, submission.lead, submission.invalid_fields) == (SubmissionOutcome.SPAM, None, "")
    assert HOMEOWNER_ADDRESS not in submission.address_hash and len(submission.address_hash) == 64


def test_a_form_sent_back_within_a_second_is_refused_as_too_fast(seller_form):
    response = post(seller_form, seconds_ago=0.5)

    assert response.status_code == 200
    assert TOO_FAST.split(".")[0] in response.content.decode()
    assert rows() == (0, 0, 0, 0, 0, 0, 0)
    assert FormSubmission.objects.get().outcome == SubmissionOutcome.TOO_FAST


def test_a_plain_html_post_is_confirmed_on_our_page_with_one_click(seller_form):
    # given: the plain HTML form on the brokerage's site: no token, no CSRF
    client = Client(enforce_csrf_checks=True)
    response = post(seller_form, seconds_ago=None, client=client, HTTP_REFERER=f"{SITE}/contact")

    # then: our page shows what was sent, and nothing is saved yet
    assert response.status_code == 200
    page = response.content.decode()
    assert "Is this right?" in page and "1633 Elm Street" in page and seller_form.consent_text in page
    assert Lead.objects.count() == 0 and FormSubmission.objects.count() == 0

    # when: the homeowner clicks "Yes, send it" (the page's own fields, its fresh token)
    fields = dict(re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)"', page))
    assert fields["started"] and fields["street"] == "1633 Elm Street"
    fields["consent"] = "on"
    with _later(seconds=2):
        confirmed = client.post(form_url(seller_form), fields, REMOTE_ADDR=HOMEOWNER_ADDRESS)
    assert confirmed.status_code == 200 and "Thank you" in confirmed.content.decode()
    assert Lead.objects.count() == 1 and ConsentRecord.objects.count() == 1


def _later(*, seconds):
    return time_machine.travel(timezone.now() + timedelta(seconds=seconds), tick=True)


def test_too_many_posts_from_one_address_are_a_429(seller_form, settings):
    settings.LEADCRM_INTAKE_PER_HOUR = 2
    assert post(seller_form).status_code == 200
    assert post(seller_form, sent(street="9 Oak Ave", phone="918-555-0188")).status_code == 200

    refused = post(seller_form, sent(street="11 Pine Rd", phone="918-555-0189"))

    assert refused.status_code == 429
    assert TOO_MANY in refused.content.decode()
    assert Lead.objects.count() == 2
    assert FormSubmission.objects.filter(outcome=SubmissionOutcome.RATE_LIMITED).count() == 1
    # Another address is not held back.
    assert post(seller_form, sent(street="11 Pine Rd", phone="918-555-0189"), address="198.51.100.20"
                ).status_code == 200


def test_the_day_limit_counts_spam_too(seller_form, settings):
    settings.LEADCRM_INTAKE_PER_DAY = 2
    post(seller_form, sent(website="spam"))
    post(seller_form, sent(website="spam"))
    assert post(seller_form).status_code == 429
    assert Lead.objects.count() == 0


def test_a_wrong_inactive_or_replaced_key_is_a_404(seller_form, client):
    assert client.get("/f/not-a-real-key/").status_code == 404
    assert client.post("/f/not-a-real-key/", sent()).status_code == 404
    old = form_url(seller_form)
    seller_form_rotate_key(form=seller_form)
    assert client.get(old).status_code == 404
    assert client.get(form_url(seller_form)).status_code == 200
    seller_form.is_active = False
    seller_form.save()
    assert client.get(form_url(seller_form)).status_code == 404
    assert FormSubmission.objects.count() == 0


def test_the_form_may_be_framed_by_its_own_sites_only(seller_form, client):
    response = client.get(form_url(seller_form))

    assert response.status_code == 200
    assert "X-Frame-Options" not in response.headers
    policy = response.headers["Content-Security-Policy"]
    assert f"frame-ancestors 'self' {SITE};" in policy or policy.endswith(f"frame-ancestors 'self' {SITE}")
    assert "script-src 'self'" in policy
    assert response.headers["Cache-Control"] == "no-store"
    # Every other page keeps refusing frames.
    other = client.get(reverse("login"))
    assert other.headers["X-Frame-Options"] == "DENY" and "frame-ancestors 'none'" in other.headers[
        "Content-Security-Policy"]


def test_the_form_shows_the_consent_box_unticked_with_the_forms_words(seller_form, client):
    page = client.get(form_url(seller_form)).content.decode()
    box = page[page.index('name="consent"') - 80: page.index('name="consent"') + 80]
    assert "checked" not in box
    assert seller_form.consent_text in page
    assert 'name="website"' in page and 'name="started"' in page


def test_every_problem_is_named_at_once(seller_form):
    response = post(seller_form, sent(phone="", zip_code="ABCDE", first_name="", last_name=""))

    page = response.content.decode()
    assert NO_PHONE in page and "A ZIP code has five digits" in page and "Tell us your first name" in page
    assert set(FormSubmission.objects.get().invalid_fields.split(",")) == {"first_name", "phone", "zip_code"}
    assert rows() == (0, 0, 0, 0, 0, 0, 0)


def test_the_same_form_sent_twice_is_one_lead_with_one_of_each_number(seller_form):
    assert post(seller_form).status_code == 200
    assert post(seller_form).status_code == 200  # a double click, or sent again a day later

    lead = Lead.objects.get()
    assert Phone.objects.filter(contact__lead=lead).count() == 1
    assert lead.contacts.count() == 1
    assert [s.outcome for s in FormSubmission.objects.order_by("pk")] == [SubmissionOutcome.CREATED,
                                                                          SubmissionOutcome.MATCHED]
