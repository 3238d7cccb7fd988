"""Consent asked beside the words the homeowner sees, and the limits on one sender: posts
sent back to be fixed are capped too, the 429s are not logged without end, and an IPv6
client counts by its /64."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from compliance.models import ConsentRecord
from leads.models import Lead
from pipeline.intake import spam
from pipeline.intake.services import default_thank_you_text, seller_form_save
from pipeline.intake.views import TOO_MANY, WORDS_CHANGED
from pipeline.models import FormSubmission, SubmissionOutcome

from .conftest import HOMEOWNER_ADDRESS, SITE, form_url, post, sent

pytestmark = pytest.mark.django_db

NEW_WORDS = ("By ticking this box, I agree that Sunbelt Test Realty may call and text me, calls made by an automated "
             "system included, about my home. Agreeing is not a condition of any purchase. Reply STOP to stop.")


def consent_box(page: str) -> str:
    start = page.index('name="consent"')
    return page[page.rindex("<input", 0, start): page.index(">", start) + 1]


def hidden_fields(page: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)"', page))


def words_change(seller_form, broker):
    return seller_form_save(actor=broker, form=seller_form, name=seller_form.name, consent_text=NEW_WORDS,
                            thank_you_text=default_thank_you_text(), allowed_origins=SITE,
                            consent_covers_autodialer=True)


def _later(*, seconds):
    return time_machine.travel(timezone.now() + timedelta(seconds=seconds), tick=True)


# Consent on the confirmation page ----------------------------------------------------------


def test_the_confirmation_page_asks_for_consent_unticked_whatever_the_other_site_sent(seller_form):
    # given: the brokerage's own page ticked its (perhaps older) words
    client = Client(enforce_csrf_checks=True)
    page = post(seller_form, sent(consent="on"), seconds_ago=None, client=client).content.decode()

    # then: our page asks again, unticked, beside our words
    assert "Is this right?" in page
    assert "checked" not in consent_box(page)
    assert seller_form.consent_text in page
    assert "consent" not in hidden_fields(page)

    # when: the homeowner sends it without ticking our box
    with _later(seconds=2):
        confirmed = client.post(form_url(seller_form), hidden_fields(page), REMOTE_ADDR=HOMEOWNER_ADDRESS)

    # then: the lead, and no consent (the other site's tick is not ours to store)
    assert "Thank you" in confirmed.content.decode()
    assert Lead.objects.count() == 1
    assert ConsentRecord.objects.count() == 0
    assert FormSubmission.objects.get().consented is False


def test_a_box_ticked_on_the_confirmation_page_stores_the_words_shown_there(seller_form, broker):
    client = Client(enforce_csrf_checks=True)
    page = post(seller_form, sent(consent=None), seconds_ago=None, client=client).content.decode()

    with _later(seconds=2):
        client.post(form_url(seller_form), {**hidden_fields(page), "consent": "on"}, REMOTE_ADDR=HOMEOWNER_ADDRESS)

    assert ConsentRecord.objects.get().consent_text == seller_form.consent_text
    assert FormSubmission.objects.get().consented is True


def test_an_invalid_post_from_another_site_is_shown_again_with_the_box_unticked(seller_form):
    page = post(seller_form, sent(street="", consent="on"), seconds_ago=None).content.decode()

    assert "Enter the street address" in page
    assert "checked" not in consent_box(page)


def test_an_invalid_post_from_our_page_keeps_the_box_the_homeowner_ticked(seller_form):
    page = post(seller_form, sent(street="", consent="on")).content.decode()

    assert "checked" in consent_box(page)


# Words changed between the page and the post -----------------------------------------------


def test_words_changed_after_the_page_was_shown_are_asked_again_and_nothing_is_saved(seller_form, broker):
    # given: the page was shown with the old words, then the broker changed them
    client = Client(enforce_csrf_checks=True)
    data = {**sent(consent="on"), "started": spam.started_token(seller_form, now=timezone.now() - timedelta(seconds=30))}
    words_change(seller_form, broker)

    # when: the homeowner sends the form, box ticked beside the old words
    response = client.post(form_url(seller_form), data, REMOTE_ADDR=HOMEOWNER_ADDRESS)

    # then: asked again, unticked, beside the new words; nothing saved
    page = response.content.decode()
    assert response.status_code == 200
    assert WORDS_CHANGED.split(".")[0] in page
    assert NEW_WORDS in page and "checked" not in consent_box(page)
    assert 'value="1633 Elm Street"' in page
    assert Lead.objects.count() == 0 and ConsentRecord.objects.count() == 0
    submission = FormSubmission.objects.get()
    assert (submission.outcome, submission.invalid_fields) == (SubmissionOutcome.INVALID, "consent")

    # when: they tick it beside the new words and send it again (the page's fresh token)
    token = re.search(r'name="started" value="([^"]+)"', page).group(1)
    with _later(seconds=5):
        client.post(form_url(seller_form), {**data, "started": token}, REMOTE_ADDR=HOMEOWNER_ADDRESS)

    # then: the consent holds the words they saw
    record = ConsentRecord.objects.get()
    assert record.consent_text == NEW_WORDS and record.covers_autodialer is True


def test_words_changed_do_not_hold_back_a_form_sent_without_consent(seller_form, broker):
    data = {**sent(consent=None), "started": spam.started_token(seller_form, now=timezone.now() - timedelta(seconds=30))}
    words_change(seller_form, broker)

    response = Client().post(form_url(seller_form), data, REMOTE_ADDR=HOMEOWNER_ADDRESS)

    assert "Thank you" in response.content.decode()
    assert Lead.objects.count() == 1 and ConsentRecord.objects.count() == 0


def test_a_token_of_the_current_words_is_trusted_and_of_other_words_not(seller_form, broker):
    token = spam.started_token(seller_form, now=timezone.now() - timedelta(seconds=30))
    assert spam.started_read(seller_form, token).saw_words_of(seller_form)
    words_change(seller_form, broker)
    assert not spam.started_read(seller_form, token).saw_words_of(seller_form)


# The limits --------------------------------------------------------------------------------


def test_posts_sent_back_to_be_fixed_are_capped_under_their_own_limit(seller_form, settings):
    settings.LEADCRM_INTAKE_INVALID_PER_HOUR = 3
    for _ in range(3):
        assert post(seller_form, sent(street="")).status_code == 200

    refused = post(seller_form)  # even a good one, from that address, this hour

    assert refused.status_code == 429 and TOO_MANY in refused.content.decode()
    assert Lead.objects.count() == 0
    assert FormSubmission.objects.filter(outcome=SubmissionOutcome.INVALID).count() == 3
    assert post(seller_form, address="198.51.100.20").status_code == 200  # another address is not held back


def test_the_invalid_cap_is_higher_than_the_hourly_limit(seller_form):
    assert spam.invalid_per_hour() == 30 > spam.per_hour()
    for _ in range(spam.per_hour() + 1):  # a homeowner fixing several typos is not held back
        assert post(seller_form, sent(street="")).status_code == 200
    assert post(seller_form).status_code == 200


def test_a_sender_hammering_the_limit_writes_only_so_many_log_lines(seller_form, settings, monkeypatch):
    settings.LEADCRM_INTAKE_PER_HOUR = 1
    monkeypatch.setattr(spam, "REFUSALS_LOGGED_PER_HOUR", 2)
    assert post(seller_form).status_code == 200

    statuses = [post(seller_form, sent(street="")).status_code for _ in range(5)]

    assert statuses == [429] * 5
    assert FormSubmission.objects.filter(outcome=SubmissionOutcome.RATE_LIMITED).count() == 2


def test_an_ipv6_client_counts_by_its_64(seller_form, settings):
    settings.LEADCRM_INTAKE_PER_HOUR = 1
    assert post(seller_form, address="2001:db8:1:2::10").status_code == 200

    # another address of the same /64: held back
    assert post(seller_form, sent(street="9 Oak Ave", phone="918-555-0188"),
                address="2001:db8:1:2:ffff:ffff:ffff:1").status_code == 429
    # the next /64 is someone else
    assert post(seller_form, sent(street="9 Oak Ave", phone="918-555-0188"),
                address="2001:db8:1:3::10").status_code == 200


@pytest.mark.parametrize(("address", "group"), [
    ("203.0.113.7", "203.0.113.7"),
    ("::ffff:203.0.113.7", "203.0.113.7"),
    ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
    ("2001:DB8:1:2::1", "2001:db8:1:2::/64"),
    ("not an address", "not an address"),
])
def test_the_address_group(address, group):
    assert spam.address_group(address) == group


def test_an_ipv4_address_written_as_ipv6_is_that_ipv4_address(seller_form, settings):
    settings.LEADCRM_INTAKE_PER_HOUR = 1
    assert post(seller_form, address=HOMEOWNER_ADDRESS).status_code == 200
    assert post(seller_form, address=f"::ffff:{HOMEOWNER_ADDRESS}").status_code == 429
