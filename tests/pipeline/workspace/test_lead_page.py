"""The lead page: what a number it may not call is labelled, the last conversation, the order
and folding of its sections for a phone, and where a refused log lands."""

import re
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
import time_machine
from django.urls import reverse

from compliance.gate import Finding
from compliance.models import RegistryKind, Verdict
from compliance.services import dnc_numbers_add, internal_dnc_add
from pipeline.outreach.services import outreach_log
from pipeline.workspace.lead_pages import NOT_CALLABLE_BECAUSE, OWNER_DECEASED, not_callable_because

from ...compliance.factories import DncSourceFactory
from ...leads.factories import ContactFactory, PhoneFactory
from .test_views import outreach_data

pytestmark = pytest.mark.django_db


def status_line(page: str, display: str) -> str:
    """The "callable now / why not" line under a number on the lead page."""
    row = page[page.index(f"</i> {display}</"):]
    row = row[row.index('<div class="phone-now'):]
    return row[:row.index("</div>")]


def test_a_number_the_gate_refuses_is_labelled_by_its_reason_not_not_now(lead, agent, client_as,
                                                                          national_registry):
    contact = lead.contacts.first()
    # the internal list: a second owner's number (their stop would cover the first owner's numbers too)
    PhoneFactory(contact=ContactFactory(lead=lead, position=2), number="+19185550221")
    PhoneFactory(contact=contact, number="+19185550222", position=3)  # the national registry
    PhoneFactory(contact=contact, number="+19185550223", position=4)  # a litigator list
    internal_dnc_add(phone_number="+19185550221", channel="call", homeowner_words="Don't call again.",
                     recorded_by=agent)
    dnc_numbers_add(source=national_registry, numbers=["9185550222"], as_of=national_registry.data_as_of)
    litigators = DncSourceFactory(name="Litigator Firewall", kind=RegistryKind.LITIGATOR)
    dnc_numbers_add(source=litigators, numbers=["9185550223"], as_of=litigators.data_as_of)

    page = client_as(agent).get(reverse("leads:detail", args=[lead.pk])).content.decode()
    numbers = ("(918) 555-0104", "(918) 555-0221", "(918) 555-0222", "(918) 555-0223")
    assert not any("Not now" in status_line(page, number) for number in numbers)
    assert "Callable now" in status_line(page, "(918) 555-0104")
    assert NOT_CALLABLE_BECAUSE["B1"] in status_line(page, "(918) 555-0221")
    assert "Do not contact" in status_line(page, "(918) 555-0221")
    assert "On a Do Not Call list" in status_line(page, "(918) 555-0222")
    assert "Litigator list" in status_line(page, "(918) 555-0223")


def test_after_hours_a_number_is_labelled_outside_calling_hours(lead, agent, client_as):
    with time_machine.travel(datetime(2026, 11, 19, 4, 30, tzinfo=UTC)):  # 10:30 p.m. in Tulsa
        page = client_as(agent).get(reverse("leads:detail", args=[lead.pk])).content.decode()
    assert "Outside calling hours" in status_line(page, "(918) 555-0104")
    assert "Not now" not in status_line(page, "(918) 555-0104")


def test_the_label_names_the_reason_that_lasts_longest():
    def phone(*rules, deceased=False):
        return SimpleNamespace(callable_now=False, contact=SimpleNamespace(deceased=deceased),
                               blocked_by=[Finding(rule, Verdict.BLOCK, "why") for rule in rules])

    assert not_callable_because(phone("D1", "B1")) == "Do not contact"  # the clock reopens; the request stays
    assert not_callable_because(phone("E1", "A5")) == "On a Do Not Call list"
    assert not_callable_because(phone("D1", "E3")) == "State holiday today"
    assert not_callable_because(phone("E2")) == "Attempt limit reached for now"
    assert not_callable_because(phone(deceased=True)) == OWNER_DECEASED
    assert not_callable_because(SimpleNamespace(callable_now=True)) == ""


def test_the_lead_page_shows_the_last_conversation_and_the_attempts_since(lead, agent, client_as):
    phone = lead.contacts.first().phones.first()
    outreach_log(lead=lead, channel="call", contact_point=phone, outcome="talked", actor=agent,
                 role_disclosed=True, notes="Behind three payments; wants the guide by mail.")
    with time_machine.travel(datetime(2026, 11, 18, 21, 0, tzinfo=UTC)):
        outreach_log(lead=lead, channel="call", contact_point=phone, outcome="no_answer", actor=agent,
                     role_disclosed=True)
    page = client_as(agent).get(reverse("leads:detail", args=[lead.pk])).content.decode()
    card = page[page.index('id="last-conversation"'):]
    card = card[:card.index("</details>") if "</details>" in card else None]
    assert "<strong>Talked</strong>" in card and "Behind three payments; wants the guide by mail." in card
    assert "Since then: 1 attempt, the latest" in card and "no answer" in card


def test_the_last_conversation_of_a_long_worked_lead_is_found_past_the_timelines_cut(lead, agent, client_as):
    from pipeline.outreach.services import lead_note_add
    from pipeline.workspace.selectors import TIMELINE_LIMIT

    phone = lead.contacts.first().phones.first()
    with time_machine.travel(datetime(2026, 11, 16, 21, 0, tzinfo=UTC)):
        outreach_log(lead=lead, channel="call", contact_point=phone, outcome="talked", actor=agent,
                     role_disclosed=True, notes="Wants to sell before the auction.")
    with time_machine.travel(datetime(2026, 11, 17, 21, 0, tzinfo=UTC)):
        outreach_log(lead=lead, channel="call", contact_point=phone, outcome="no_answer", actor=agent,
                     role_disclosed=True)
    with time_machine.travel(datetime(2026, 11, 18, 21, 0, tzinfo=UTC)):
        for n in range(TIMELINE_LIMIT + 1):  # a busy file: more notes than the timeline shows
            lead_note_add(lead=lead, author=agent, body=f"Note {n}")
    page = client_as(agent).get(reverse("leads:detail", args=[lead.pk])).content.decode()
    card = page[page.index('id="last-conversation"'):page.index('id="last-conversation"') + 1500]
    assert "Wants to sell before the auction." in card and "Not reached yet" not in card
    assert "Since then: 1 attempt, the latest" in card


def test_a_corrected_conversation_is_no_longer_the_last_one(lead, agent, client_as):
    phone = lead.contacts.first().phones.first()
    wrong = outreach_log(lead=lead, channel="call", contact_point=phone, outcome="talked", actor=agent,
                         role_disclosed=True, notes="Logged on the wrong lead.")
    outreach_log(lead=lead, channel="call", contact_point=phone, outcome="no_answer", actor=agent,
                 role_disclosed=True, corrects=wrong, occurred_at=wrong.occurred_at)
    page = client_as(agent).get(reverse("leads:detail", args=[lead.pk])).content.decode()
    card = page[page.index('id="last-conversation"'):page.index('id="last-conversation"') + 1500]
    assert "Not reached yet" in card and "Logged on the wrong lead." not in card
    assert "Tried: 1 attempt, the latest" in card


def test_on_a_phone_the_homeowner_and_numbers_come_first_and_the_rest_folds(lead, agent, client_as):
    """The sections' phone order is their order in the page (the structure tests check no
    stylesheet reorders them); all but the owners and the last conversation are <details>
    that app.js folds on a narrow screen, open in the page."""
    client = client_as(agent)
    page = client.get(reverse("leads:detail", args=[lead.pk])).content.decode()
    assert 'class="card mb-3" id="owners"' in page
    assert 'class="card mb-3" id="last-conversation"' in page
    assert '<details class="card mb-3 fold" id="log-outreach" open data-fold-narrow>' in page
    order = [page.index(f'id="{section}"') for section in ("owners", "last-conversation", "log-outreach", "follow-ups")]
    assert order == sorted(order)
    folded = re.findall(r'<details class="card mb-3 fold[^"]*"[^>]* open data-fold-narrow>\s*<summary', page)
    assert len(folded) >= 10  # script, follow-ups, timeline, equity, liens, hardship, property, ...
    assert page.count("<details") == page.count("</details>")
    assert "quick-call" not in page  # the numbers are in the owners' card, first
    assert 'id="outreach-refusal"' not in page
    # Working down the queue or correcting an entry, the log form stays open.
    attempt = outreach_log(lead=lead, channel="call", contact_point=lead.contacts.first().phones.first(),
                           outcome="no_answer", actor=agent, role_disclosed=True)
    for query in ({"queue": "1"}, {"correct": str(attempt.pk)}):
        page = client.get(reverse("leads:detail", args=[lead.pk]), query).content.decode()
        assert '<details class="card mb-3 fold" id="log-outreach" open>' in page


def test_a_refused_log_without_javascript_lands_on_its_reason(lead, agent, client_as, national_registry):
    dnc_numbers_add(source=national_registry, numbers=["9185550104"], as_of=national_registry.data_as_of)
    client = client_as(agent)
    page = client.get(reverse("leads:detail", args=[lead.pk])).content.decode()
    action = reverse("pipeline:outreach_log", args=[lead.pk])
    assert f'action="{action}#outreach-refusal"' in page
    refused = client.post(action, outreach_data(lead)).content.decode()
    refusal = '<div class="alert alert-danger refusal" id="outreach-refusal" role="alert" tabindex="-1"'
    assert refusal in refused


def test_the_rule_codes_on_the_lead_page_and_a_refusal_link_to_their_explanation(lead, agent, client_as,
                                                                                national_registry):
    dnc_numbers_add(source=national_registry, numbers=["9185550104"], as_of=national_registry.data_as_of)
    client = client_as(agent)
    rules_page = reverse("compliance:rules")
    page = client.get(reverse("leads:detail", args=[lead.pk])).content.decode()
    # The number's reason, under the number, names its rule as a link to the rule's entry.
    assert re.search(rf'<a href="{rules_page}#rule-A5" class="rule-code badge[^"]*" title="A5: ', page)
    refused = client.post(reverse("pipeline:outreach_log", args=[lead.pk]), outreach_data(lead)).content.decode()
    refusal = refused[refused.index('id="outreach-refusal"'):]
    assert re.search(rf'<a href="{rules_page}#rule-A5" class="rule-code badge text-bg-danger"', refusal)
