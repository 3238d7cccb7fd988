"""Texting in a real browser: an agent texts a homeowner from the lead page, a worker hands it
to the local backend, the homeowner replies STOP (the local backend's "Play a reply", the path
Twilio's webhook takes), the timeline shows both, and the next text is refused under B1."""

import pytest

from compliance.models import InternalDncEntry
from pipeline.models import Message, MessageStatus

from ..compliance.factories import ConsentRecordFactory, ReassignedNumberCheckFactory

# The live server reads committed rows (see conftest.py).
pytestmark = pytest.mark.django_db(transaction=True)

FIRST_TEXT = "Hi, this is Ana Torres with Sunbelt Test Realty about your home. May I call you today?"


def test_an_agent_texts_the_homeowner_who_replies_stop_and_the_next_text_is_refused(page_as, lead, agent,
                                                                                      settings):
    from celery.contrib.testing.worker import start_worker

    from leadcrm.celery import app

    settings.LEADCRM_TELEPHONY = "local"
    phone = lead.contacts.first().phones.first()
    ConsentRecordFactory(phone=phone)
    ReassignedNumberCheckFactory(phone=phone)
    app.control.purge()  # nothing left on the test broker from an earlier run
    page = page_as(agent)

    # given: the lead page, its number's "Text" button filling the compose card
    page.goto(f"/leads/{lead.pk}/")
    with page.expect_response(lambda response: f"/leads/{lead.pk}/text/?phone={phone.pk}" in response.url):
        page.locator(f"#owners a:has-text('Text')[href*='phone={phone.pk}']").click()
    page.wait_for_selector("#text-homeowner[open] textarea[name=body]")
    page.wait_for_load_state("networkidle")
    page.fill("#text-compose textarea[name=body]", FIRST_TEXT)
    page.wait_for_selector("#text-compose .sms-counter:has-text('segment')")
    page.check("#text-compose input[name=role_disclosed]")
    page.wait_for_selector("#text-compose .verdict-allow, #text-compose .verdict-warn")

    # when: sent, and a worker hands it to the local backend while the timeline polls
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=20):
        page.click("#text-compose button:has-text('Check and send')")
        page.wait_for_selector("text=Text queued to")
        sent = Message.objects.get(lead=lead)
        page.wait_for_selector(f"#message-{sent.pk} .msg-badge:has-text('Delivered')", timeout=30_000)
    assert page.locator(f"#message-{sent.pk}").inner_text().count("Text sent") == 1
    sent.refresh_from_db()
    assert sent.status == MessageStatus.DELIVERED and sent.attempt is not None

    # when: the homeowner replies STOP through the local backend's inbound path
    page.goto("/messages/sent/")
    page.wait_for_selector("text=Local backend: nothing leaves this machine.")
    page.fill(f"#reply-{sent.pk}", "STOP")
    page.click(f"#sent-{sent.pk} button:has-text('Homeowner replies')")
    page.wait_for_url(f"**/leads/{lead.pk}/**")

    # then: the timeline shows both, and the number is on the internal list
    reply = Message.objects.get(lead=lead, direction="inbound")
    timeline = page.locator("#timeline").inner_text()
    assert FIRST_TEXT in timeline and "STOP: do not contact" in timeline
    assert page.locator(f"#message-{reply.pk}").is_visible()
    assert InternalDncEntry.objects.filter(phone_number=phone.number).exists()

    # then: the next text is refused, B1 cited, and nothing goes to the provider
    page.goto(f"/leads/{lead.pk}/text/?phone={phone.pk}")
    page.fill("textarea[name=body]", "Just one more question about the house. Ana, Sunbelt Test Realty")
    page.check("input[name=role_disclosed]")
    page.click("button:has-text('Check and send')")
    page.wait_for_selector("#text-refusal")
    refusal = page.locator("#text-refusal").inner_text()
    assert "Not sent" in refusal and "B1" in refusal
    assert Message.objects.filter(lead=lead, direction="outbound").count() == 1
    assert page.errors == []
