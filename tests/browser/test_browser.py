"""An agent, a team lead and a broker at work in a real browser (issue 9)."""

from pathlib import Path

import pytest
from django.utils import timezone

from compliance.services import internal_dnc_add
from leadcrm.accounts.services import team_member_set
from leads.models import Lead, Stage
from pipeline.models import OutreachAttempt

from ..factories import AgentFactory, ContactFactory, LeadFactory, PhoneFactory

# The live server reads committed rows; the rule tables seeded by migrations come back after each flush.
# One test, the steps in turn (see conftest.py: why one, and why it runs first).
pytestmark = pytest.mark.django_db(transaction=True)


def step_an_agent_works_the_queue_and_logs_a_compliant_call_with_the_role_disclosure(page_as, lead, agent):
    page = page_as(agent)
    page.click("text=Call queue")
    page.wait_for_selector(f"text={lead.property.street}")
    page.goto(f"/leads/{lead.pk}/")
    page.check("input[name=outcome][value=talked]")
    page.check("input[name=role_disclosed]")
    page.fill("textarea[name=notes]", "Explained the short-sale process; sending the guide.")
    page.locator("button:has-text('Check and log')").first.click()
    page.wait_for_selector("text=Logged: Talked")
    assert OutreachAttempt.objects.filter(lead=lead, outcome="talked", role_disclosed=True).exists()
    assert page.errors == []


def step_an_agent_is_stopped_on_a_do_not_call_number_with_the_reason_shown(page_as, lead, agent):
    number = lead.contacts.first().phones.first()
    internal_dnc_add(phone_number=number.number, channel="call", homeowner_words="Take me off your list.",
                     recorded_by=agent, lead=lead)
    page = page_as(agent)
    page.goto(f"/leads/{lead.pk}/")
    # A number on the internal list is not picked for the agent; they pick it on purpose.
    page.select_option("select[name=phone]", str(lead.contacts.first().phones.first().pk))
    page.check("input[name=outcome][value=no_answer]")
    page.check("input[name=role_disclosed]")
    page.locator("button:has-text('Check and log')").first.click()
    page.wait_for_selector("text=Not logged")
    assert "internal" in page.content().lower()
    assert not OutreachAttempt.objects.filter(lead=lead).exists()


def step_an_agent_moves_a_lead_to_contact_after_talking(page_as, lead, agent):
    from pipeline.services import outreach_log

    outreach_log(lead=lead, channel="call", contact_point=lead.contacts.first().phones.first(), outcome="talked",
                 actor=agent, role_disclosed=True, purpose="short_sale_listing", notes="Talked.")
    page = page_as(agent)
    page.goto(f"/leads/{lead.pk}/stage/")
    page.select_option("select[name=to_stage]", Stage.CONTACT)
    page.locator("form button[type=submit]").last.click()
    page.wait_for_url(f"**/leads/{lead.pk}/")
    lead.refresh_from_db()
    assert lead.stage == Stage.CONTACT


def step_a_team_lead_assigns_a_lead_from_its_page(page_as, lead, team, team_lead):
    colleague = AgentFactory(first_name="Ben", last_name="Okafor")
    team_member_set(team=team, user=colleague)
    page = page_as(team_lead)
    page.goto(f"/leads/{lead.pk}/")
    form = page.locator("form[data-route-form]")
    form.locator("select[name=how]").select_option("agent")
    form.locator("select[name=agent]").select_option(str(colleague.pk))
    form.locator("input[name=reason]").fill("Ben speaks Spanish")
    form.locator("button:has-text('Assign')").click()
    page.wait_for_selector("text=Ben speaks Spanish")
    assert Lead.objects.get(pk=lead.pk).assigned_agent == colleague


def step_a_broker_opens_the_reports_and_the_chart_draws(page_as, broker, agent, team):
    for _ in range(3):
        LeadFactory(assigned_agent=agent, team=team)
    page = page_as(broker)
    page.goto(f"/admin/reports/funnel/?from={timezone.localdate():%Y-%m-%d}")
    page.wait_for_selector("canvas[data-chart]")
    drawn = page.evaluate("() => typeof Chart !== 'undefined' && Chart.getChart(document.querySelector('canvas')) !== undefined")
    assert drawn
    assert "Reached Contact" in page.content()
    assert page.errors == []


def step_the_agents_pages_fit_a_phone(page_as, lead, agent):
    PhoneFactory(contact=ContactFactory(lead=lead), number="+19185550155")
    page = page_as(agent, width=390)
    for path in ("/", "/leads/", f"/leads/{lead.pk}/", "/queue/", "/notifications/", "/settings/", "/leads/pond/"):
        page.goto(path)
        overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"{path} is {overflow}px wider than a phone"
    assert page.errors == []


def step_every_page_passes_the_content_security_policy(page_as, lead, broker, agent):
    # No inline script or style, no CDN: a violation is a console error in Chromium.
    paths = ["/", "/leads/", f"/leads/{lead.pk}/", "/queue/", "/board/", "/notifications/", "/settings/",
             "/leads/pond/", "/leads/workload/", "/leads/routing/", "/marketing/", "/scripts/", "/compliance/",
             "/compliance/registries/", f"/leads/{lead.pk}/documents/", f"/leads/{lead.pk}/lenders/",
             "/admin/", "/admin/leads/lead/", f"/admin/leads/lead/{lead.pk}/change/", "/admin/reports/funnel/",
             "/api/docs/", "/api/leads/"]
    page = page_as(broker)
    for path in paths:
        response = page.goto(path)
        page.wait_for_load_state("networkidle")
        assert response.ok, path
        assert "Content-Security-Policy" in response.headers or "content-security-policy" in response.headers, path
        assert page.errors == [], f"{path}: {page.errors}"


def step_an_agent_imports_the_sample_list_and_watches_the_progress_bar(page_as, agent):
    """The shared PropStream sample, uploaded, its columns confirmed, run by a real Celery
    worker on the test broker while the page polls: the bar gives way to the summary."""
    from celery.contrib.testing.worker import start_worker

    from leadcrm.celery import app
    from leads.models import ImportJob, Lead

    sample = Path(__file__).resolve().parents[1] / "fixtures" / "samples" / "propstream_export_sample.csv"
    app.control.purge()  # nothing left on the test broker from an earlier run
    page = page_as(agent)
    page.goto("/leads/imports/")
    page.set_input_files("input[name=file]", str(sample))
    page.fill("input[name=list_name]", "PropStream NOD pull")
    page.locator("form[enctype] button[type=submit], form[enctype] button:not([type])").first.click()
    page.wait_for_selector("text=Start the import")
    page.click("text=Start the import")
    page.wait_for_selector("#import-progress")
    job = ImportJob.objects.order_by("-pk").first()
    assert job.rows_total == 40 and job.status != "done"  # nobody has run it yet: the bar is showing
    assert page.locator("#import-progress progress").is_visible()
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=20):
        # No reload: htmx polls the progress every second until the job is done.
        page.wait_for_selector("text=Imported 40 rows", timeout=60_000)
    assert Lead.objects.filter(assigned_agent=agent).count() >= 40
    assert page.errors == []


def step_a_seller_opens_their_status_page_on_a_phone_and_sends_a_document(page_as, browser, live_server, lead,
                                                                          agent, tmp_path):
    """Issue 10: the agent makes the link; the homeowner, signed in to nothing, opens it
    on a phone and uploads a PDF through the real CSRF check."""
    from django.conf import settings

    from pipeline.models import ChecklistItem, DocumentKind, DocumentStatus

    page = page_as(agent)
    page.goto(f"/leads/{lead.pk}/")
    page.locator("#seller").get_by_role("button", name="Make their link").click()
    url = page.input_value("#seller-new-url")
    assert "/s/" in url and page.errors == []

    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    seller = phone.new_page()
    errors = []
    seller.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    seller.on("response", lambda response: errors.append(f"{response.status} {response.url}")
              if response.status >= 400 else None)
    seller.goto(live_server.url + url[url.index("/s/"):])  # LEADCRM_BASE_URL is not the live server's
    seller.wait_for_selector("text=Where your sale stands")
    overflow = seller.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"the seller's page is {overflow}px wider than a phone"
    shots = Path(settings.VAR_DIR) / "e2e-shots"
    shots.mkdir(parents=True, exist_ok=True)
    seller.screenshot(path=str(shots / "seller-status-phone.png"), full_page=True)
    letter = seller.locator("li.seller-doc", has_text="Your hardship letter")
    letter.locator("summary").click()
    pdf = tmp_path / "hardship.pdf"
    pdf.write_bytes(b"%PDF-1.4 hardship letter\n")
    letter.locator("input[type=file]").set_input_files(str(pdf))
    letter.get_by_role("button", name="Send it to your agent").click()
    seller.wait_for_selector("text=reached your agent")
    assert errors == [], errors
    item = ChecklistItem.objects.get(lead=lead, kind=DocumentKind.HARDSHIP_LETTER)
    assert item.status == DocumentStatus.RECEIVED
    phone.close()


def test_a_day_at_the_brokerage_in_chromium(page_as, browser, live_server, lead, other_lead, team, agent, team_lead,
                                            broker, tmp_path):
    """An agent imports the sample list and watches the progress bar; one works the queue and logs a call with the role disclosure, is stopped on a
    do-not-call number with the reason, moves a lead; a team lead assigns one; a broker's
    report draws its chart; the pages fit a phone and pass the Content Security Policy; a
    seller opens their status page on a phone and sends a document."""
    step_an_agent_imports_the_sample_list_and_watches_the_progress_bar(page_as, other_lead.assigned_agent)
    step_an_agent_works_the_queue_and_logs_a_compliant_call_with_the_role_disclosure(page_as, lead, agent)
    step_an_agent_moves_a_lead_to_contact_after_talking(page_as, lead, agent)
    blocked = LeadFactory(assigned_agent=agent, team=team)
    PhoneFactory(contact=ContactFactory(lead=blocked), number="+19185550190")
    step_an_agent_is_stopped_on_a_do_not_call_number_with_the_reason_shown(page_as, blocked, agent)
    step_a_team_lead_assigns_a_lead_from_its_page(page_as, lead, team, team_lead)
    step_a_broker_opens_the_reports_and_the_chart_draws(page_as, broker, agent, team)
    step_the_agents_pages_fit_a_phone(page_as, other_lead, other_lead.assigned_agent)
    step_every_page_passes_the_content_security_policy(page_as, lead, broker, agent)
    # The team lead gave ``lead`` to someone else: the seller's step works on the other agent's lead.
    step_a_seller_opens_their_status_page_on_a_phone_and_sends_a_document(
        page_as, browser, live_server, other_lead, other_lead.assigned_agent, tmp_path)
