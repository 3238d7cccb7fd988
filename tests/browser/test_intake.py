"""The seller form in a real browser: a homeowner fills it in on a phone-width page, ticks
the consent box and sends it; the agent it is routed to signs in, is told, and sees the lead
with the form's card and the consent on its page (docs/intake.md)."""

import pytest

from compliance.models import ConsentRecord
from leads.models import Lead, RoutingTarget
from pipeline.intake import spam
from pipeline.intake.services import default_consent_text, default_thank_you_text, seller_form_save
from pipeline.models import FormSubmission, Notification, SubmissionOutcome

from ..leads.factories import RoutingRuleFactory

# The live server reads committed rows (see conftest.py).
pytestmark = pytest.mark.django_db(transaction=True)


def test_a_homeowner_sends_the_form_from_a_phone_and_the_agent_sees_the_lead_and_consent(
        browser, live_server, page_as, agent, broker, brokerage, monkeypatch):
    # A person types for longer than this; the real limit (3 s) is tested in tests/pipeline/intake.
    monkeypatch.setattr(spam, "MIN_SECONDS", 0.3)
    RoutingRuleFactory(target=RoutingTarget.AGENT, agent=agent, zip_codes="741")
    form = seller_form_save(actor=broker, name="Website: short sale help", consent_text=default_consent_text(),
                            thank_you_text=default_thank_you_text(), allowed_origins="https://www.example.com")

    # given: the homeowner on a phone, no account
    context = browser.new_context(viewport={"width": 390, "height": 844}, base_url=live_server.url)
    phone = context.new_page()
    errors = []
    phone.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    phone.on("response", lambda response: errors.append(f"{response.status} {response.url}")
             if response.status >= 400 else None)
    phone.goto(f"/f/{form.key}/")
    assert phone.locator("#id_consent").is_checked() is False
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the phone

    # when: they fill it in, forget the phone, are told, add it, tick the box and send
    phone.fill("#id_first_name", "Maria")
    phone.fill("#id_last_name", "Garcia")
    phone.fill("#id_street", "1633 Elm Street")
    phone.fill("#id_city", "Tulsa")
    phone.fill("#id_state", "OK")
    phone.fill("#id_zip_code", "74130")
    phone.fill("#id_hardship", "Lost my job in March; the bank sent a letter.")
    phone.select_option("#id_behind", "3-5")
    phone.select_option("#id_best_time", "evening")
    phone.click("button:has-text('Send my details')")
    phone.wait_for_selector("text=Enter your mobile phone number")
    assert Lead.objects.count() == 0
    assert phone.input_value("#id_street") == "1633 Elm Street"
    phone.fill("#id_phone", "(918) 555-0131")
    phone.check("#id_consent")
    phone.click("button:has-text('Send my details')")
    phone.wait_for_selector("h1:has-text('Thank you')")
    assert errors == []
    context.close()

    lead = Lead.objects.get()
    assert lead.assigned_agent == agent
    assert FormSubmission.objects.filter(outcome=SubmissionOutcome.CREATED, lead=lead).exists()
    assert ConsentRecord.objects.get(lead=lead).consent_text == form.consent_text

    # then: the agent is told, and the lead page shows the form and the consent
    page = page_as(agent)
    note = Notification.objects.get(recipient=agent)
    assert note.title == "New lead from the seller form: 1633 Elm Street, Tulsa, OK 74130"
    page.goto(note.url)
    card = page.locator("#seller-form")
    card.wait_for()
    text = card.inner_text()
    assert "Consent to calls and texts, from the seller form" in text
    assert "(918) 555-0131" in text and "Sunbelt Test Realty" in text
    assert "Seller web form" in page.locator("body").inner_text()  # the lead's source
    assert "Lost my job in March" in page.locator("body").inner_text()
    assert page.errors == []
