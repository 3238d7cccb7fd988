"""The call queue asks the gate about a chunk of leads at once: its queries do not grow with
the leads it asks about (docs/compliance-rules.md#batched-reads).

Frozen at Wednesday 18 November 2026, 20:00 UTC (2 p.m. in Tulsa, noon in Seattle).
"""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from compliance.models import Channel
from compliance.services import agent_list_import, dnc_numbers_add, internal_dnc_add, registry_version_record
from leads.models import Phone
from pipeline.outreach.queue import SCAN_CHUNK, call_queue

from ...compliance.factories import EstablishedRelationshipFactory, RevocationReviewFactory
from ...leads.factories import ContactFactory, LeadFactory, PhoneFactory, PropertyFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _rulebook_held(monkeypatch):
    # The rule tables stay in memory for the test: a reload is no query of the queue's.
    monkeypatch.setattr("compliance.rulebook.TTL_SECONDS", 3600)


def held_leads(agent, team, registry, count, *, start):
    """Leads whose numbers the gate refuses though no flag on the phone says so (listed since
    the phones were flagged), each meeting another list on the way: every read of the gate."""
    numbers = []
    for i in range(start, start + count):
        washington = i % 4 == 0
        area_code = "206" if washington else "918"
        lead = LeadFactory(assigned_agent=agent, team=team, score=90 - i % 50,
                           property=PropertyFactory(state="WA", zip_code="98101") if washington else
                           PropertyFactory(state="OK", zip_code="74103"))
        owner = ContactFactory(lead=lead, mailing_state=lead.property.state, mailing_zip=lead.property.zip_code)
        for position in (1, 2):
            number = f"+1{area_code}55{position}{i:04d}"
            PhoneFactory(contact=owner, number=number, position=position)
            numbers.append(number)
        if i % 5 == 0:
            # Over long ago: read, and no help (C1).
            EstablishedRelationshipFactory(lead=lead, phone_number=number, recorded_by=agent,
                                           started_on=timezone.localdate() - timedelta(days=400))
        if i % 7 == 0:
            RevocationReviewFactory(lead=lead, phone_number=number, raised_by=agent)
    dnc_numbers_add(source=registry, numbers=[n[2:] for n in numbers], as_of=timezone.localdate())
    for number in numbers[::9]:
        internal_dnc_add(phone_number=number, channel=Channel.CALL, homeowner_words="Stop.", recorded_by=agent,
                         cover_owner=False)
    agent_list_import(agent=agent, text="\n".join(n for n in numbers[::3] if n.startswith("+1206")))
    # Listed after the phones were last flagged: only the gate knows.
    Phone.objects.filter(number__in=numbers).update(on_dnc_list=False)
    return numbers


def panel_queries(client) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse("pipeline:queue"), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    return len(captured), response.content.decode()


def test_the_queue_panel_asks_about_more_leads_with_the_same_queries(agent, team, national_registry, client_as):
    registry_version_record(source=national_registry, area_codes=["206"],
                            version_date=timezone.localdate() - timedelta(days=2))
    client = client_as(agent)
    panel_queries(client)  # the rule tables, places and session, read once
    nobody, _ = panel_queries(client)  # the panel, and one read of candidates that finds none
    held_leads(agent, team, national_registry, 3, start=0)
    few, page = panel_queries(client)
    assert call_queue(user=agent).scanned == 3 and "tel:" not in page
    held_leads(agent, team, national_registry, SCAN_CHUNK - 3, start=3)
    full_chunk, _ = panel_queries(client)
    assert call_queue(user=agent).scanned == SCAN_CHUNK
    assert full_chunk == few  # three leads asked about or a full chunk: the same reads
    held_leads(agent, team, national_registry, SCAN_CHUNK, start=SCAN_CHUNK)
    two_chunks, _ = panel_queries(client)
    assert call_queue(user=agent).scanned == 2 * SCAN_CHUNK
    # A chunk costs the same reads (its candidates, their owners and phones, the gate's
    # lists) whatever the numbers in it: the second adds what the first did.
    assert two_chunks - full_chunk == full_chunk - nobody


def test_a_callable_number_is_found_among_refused_ones_in_the_same_reads(agent, team, national_registry):
    held_leads(agent, team, national_registry, 10, start=0)
    callable_one = LeadFactory(assigned_agent=agent, team=team, score=1)
    PhoneFactory(contact=ContactFactory(lead=callable_one), number="+19185559001")
    queue = call_queue(user=agent)
    assert [entry.lead for entry in queue.entries] == [callable_one]
    assert queue.scanned == 11 and queue.held_back == 10
