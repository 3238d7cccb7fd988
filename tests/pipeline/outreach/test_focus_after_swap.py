"""What an htmx swap of the outreach, stage and text forms brings back marks where the focus
goes (data-focus-first, app.js) and what the live region says (data-announce): a failed
submit must not leave a keyboard or screen-reader user on <body> with nothing said."""

import re

import pytest
from django.urls import reverse

from compliance.services import internal_dnc_add

from ..workspace.test_views import outreach_data

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def marked(html: str) -> list[str]:
    """The opening tags that carry data-focus-first, in page order."""
    return re.findall(r"<[a-z]+ [^>]*\bdata-focus-first\b[^>]*>", html)


def test_a_failed_outreach_submit_focuses_its_error_summary_and_announces_it(lead, agent, client_as):
    # given a log without an outcome, sent with htmx (the form is swapped in place)
    response = client_as(agent).post(reverse("pipeline:outreach_log", args=[lead.pk]),
                                     outreach_data(lead, outcome=None), **HTMX)

    # then the first thing marked for the focus is the summary at the top of the form
    html = response.content.decode()
    first = marked(html)[0]
    assert 'id="outreach-problems"' in first and 'tabindex="-1"' in first
    assert 'data-announce="Not logged: 1 thing to correct."' in first
    assert html.index('id="outreach-problems"') < html.index('name="channel"')
    # and it links to the field in error: the outcome's first choice (radios have no label id)
    summary = html[html.index('id="outreach-problems"'):]
    summary = summary[:summary.index("</ul>")]
    assert re.search(r'<a href="#id_outcome_0">Outcome</a>: ', summary)


def test_a_refused_outreach_submit_focuses_the_refusal_which_is_an_alert(lead, agent, client_as):
    number = lead.contacts.first().phones.first()
    internal_dnc_add(phone_number=number.number, channel="call", homeowner_words="Stop calling.", recorded_by=agent)

    html = client_as(agent).post(reverse("pipeline:outreach_log", args=[lead.pk]), outreach_data(lead),
                                 **HTMX).content.decode()

    first = marked(html)[0]
    assert 'id="outreach-refusal"' in first and 'role="alert"' in first and 'tabindex="-1"' in first


def test_a_refused_stage_move_focuses_what_stopped_it(lead, agent, client_as):
    html = client_as(agent).post(reverse("pipeline:stage_change", args=[lead.pk]), {"to_stage": "contact"},
                                 **HTMX).content.decode()

    first = marked(html)[0]
    assert 'id="stage-problems"' in first and "Not moved" in first


def test_a_template_picked_puts_the_focus_in_the_text_and_says_so(lead, agent, client_as):
    html = client_as(agent).get(reverse("messaging:text_compose", args=[lead.pk]), **HTMX).content.decode()

    first = marked(html)[0]
    assert 'data-announce="Write the text."' in first
    assert html.index(first) < html.index('name="body"') < html.index("</div>", html.index(first) + len(first))
    # the page of its own (no htmx) does not grab the focus on load
    assert not marked(client_as(agent).get(reverse("messaging:text_compose", args=[lead.pk])).content.decode())


def test_every_page_has_the_polite_live_region_app_js_speaks_through(agent, client_as):
    html = client_as(agent).get(reverse("pipeline:dashboard")).content.decode()

    assert re.search(r'<div id="live-status" class="visually-hidden" role="status" aria-live="polite" '
                     r'aria-atomic="true"></div>', html)
