"""The lead list's total and its Do-not-call column and filter."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from compliance.models import RegistryKind
from compliance.services import dnc_numbers_add, internal_dnc_add
from leadcrm.shared.pagination import capped_total, two_figures
from leads.models import Lead, PhoneStatus

from ...compliance.factories import DncSourceFactory
from ...leads.factories import ContactFactory, LeadFactory, PhoneFactory

pytestmark = pytest.mark.django_db


def lead_count_queries(captured) -> list[str]:
    return [query["sql"] for query in captured if "COUNT(" in query["sql"].upper()
            and "leads_lead" in query["sql"] and "GROUP BY" not in query["sql"].upper()]


def rows_of(page: str) -> set[int]:
    return {int(pk) for pk in re.findall(r'<tr data-href="/leads/(\d+)/">', page)}


def test_the_lead_list_says_how_many_leads_match(agent, team, client_as, monkeypatch):
    monkeypatch.setattr("pipeline.workspace.lead_pages.LIST_PAGE_SIZE", 2)
    for _ in range(3):
        LeadFactory(assigned_agent=agent, team=team)
    client = client_as(agent)
    first = client.get(reverse("leads:list")).content.decode()
    assert "3 leads" in first and "Showing 1–2 of 3 leads" in first
    last = client.get(reverse("leads:list"), {"page": "2"}).content.decode()
    assert "Showing 3–3 of 3 leads" in last


def test_the_lead_list_counts_no_further_than_a_thousand_leads(agent, team, client_as, monkeypatch):
    """A million-lead book costs the page no full count: the one COUNT it makes runs over a
    subquery cut at the cap, and a page with nothing after it needs none."""
    monkeypatch.setattr("pipeline.workspace.lead_pages.LIST_PAGE_SIZE", 2)
    for _ in range(3):
        LeadFactory(assigned_agent=agent, team=team)
    client = client_as(agent)
    with CaptureQueriesContext(connection) as captured:
        page = client.get(reverse("leads:list"), {"page": "1"})
    assert page.status_code == 200 and len(page.context["page"].object_list) == 2
    counts = lead_count_queries(captured)
    assert len(counts) == 1 and "LIMIT 1001" in counts[0]
    with CaptureQueriesContext(connection) as captured:
        client.get(reverse("leads:list"), {"page": "2"})
    assert lead_count_queries(captured) == []


def test_past_the_cap_the_total_says_more_than_and_never_a_wrong_exact_figure(agent, team, client_as,
                                                                              monkeypatch):
    monkeypatch.setattr("pipeline.workspace.lead_pages.LIST_PAGE_SIZE", 1)
    monkeypatch.setattr("leadcrm.shared.pagination.COUNT_CAP", 2)
    for _ in range(4):
        LeadFactory(assigned_agent=agent, team=team)
    page = client_as(agent).get(reverse("leads:list")).content.decode()
    assert "more than 2 leads" in page
    assert "4 leads" not in page and "of 2 leads" not in page
    total = capped_total(Lead.objects.all(), cap=2)
    assert total.capped and total.count == 2
    assert total.estimate is None or total.estimate > 2  # the planner's, shown only when larger


@pytest.mark.parametrize(("estimate", "shown"),
                         [(7, 7), (48_213, 48_000), (1_049, 1_000), (995_501, 1_000_000)])
def test_an_estimate_is_shown_to_two_significant_figures(estimate, shown):
    assert two_figures(estimate) == shown


@pytest.fixture
def dnc_book(agent, team, national_registry):
    """One lead of each kind the Do-not-call column tells apart."""
    def lead_with(*numbers, bad=()):
        lead = LeadFactory(assigned_agent=agent, team=team)
        contact = ContactFactory(lead=lead)
        for position, number in enumerate(numbers, start=1):
            PhoneFactory(contact=contact, number=number, position=position,
                         status=PhoneStatus.BAD if number in bad else PhoneStatus.GOOD)
        return lead

    book = {
        "clear": lead_with("+19185550201", "+19185550209", bad=("+19185550209",)),
        "some": lead_with("+19185550202", "+19185550203"),
        "all": lead_with("+19185550204"),
        "none": lead_with(),
        "stop": lead_with("+19185550206"),
        "litigator": lead_with("+19185550207"),
        "bad_listed": lead_with("+19185550208", "+19185550210", bad=("+19185550208",)),
    }
    litigators = DncSourceFactory(name="Litigator Firewall", kind=RegistryKind.LITIGATOR)
    dnc_numbers_add(source=national_registry, numbers=["9185550202", "9185550204", "9185550208"],
                    as_of=national_registry.data_as_of)
    dnc_numbers_add(source=litigators, numbers=["9185550207"], as_of=litigators.data_as_of)
    # A second owner's number: their stop covers their own numbers, not the first owner's (B1).
    PhoneFactory(contact=ContactFactory(lead=book["stop"], position=2), number="+19185550205")
    internal_dnc_add(phone_number="+19185550205", channel="call", homeowner_words="Stop calling me.",
                     recorded_by=agent)
    return book


def test_the_do_not_call_column_counts_each_leads_good_numbers_on_a_list(dnc_book, agent, client_as):
    page = client_as(agent).get(reverse("leads:list")).content.decode()

    def cell(lead):
        row = page[page.index(f'<tr data-href="/leads/{lead.pk}/">'):]
        row = row[:row.index("</tr>")]
        return re.findall(r'<td class="hide-sm small text-nowrap">(.*?)</td>', row, re.S)[0]

    assert '<span class="dnc-clear">Clear</span>' in cell(dnc_book["clear"])  # its bad number is not counted
    assert '<span class="dnc-some">1 of 2 listed</span>' in cell(dnc_book["some"])
    assert '<span class="dnc-all">All 1 listed</span>' in cell(dnc_book["all"])
    assert '<span class="dnc-none">No number</span>' in cell(dnc_book["none"])
    assert "Asked to stop" in cell(dnc_book["stop"]) and "1 of 2 listed" in cell(dnc_book["stop"])
    assert "All 1 listed" in cell(dnc_book["litigator"])
    assert '<span class="dnc-clear">Clear</span>' in cell(dnc_book["bad_listed"])
    assert "Asked to stop" not in cell(dnc_book["some"])


@pytest.mark.parametrize(("choice", "kinds"), [
    ("any", {"some", "all", "stop", "litigator"}),
    ("all", {"all", "litigator"}),
    ("clear", {"clear", "bad_listed"}),
    ("stop", {"stop"}),
    ("", {"clear", "some", "all", "none", "stop", "litigator", "bad_listed"}),
])
def test_the_do_not_call_filter_picks_the_rows_the_column_labels(choice, kinds, dnc_book, agent, client_as):
    page = client_as(agent).get(reverse("leads:list"), {"dnc": choice}).content.decode()
    assert rows_of(page) == {dnc_book[kind].pk for kind in kinds}
    labels = {"some": "1 of 2 listed", "all": "All 1 listed", "litigator": "All 1 listed", "clear": "Clear",
              "bad_listed": "Clear", "none": "No number", "stop": "Asked to stop"}
    for kind in kinds:
        assert labels[kind] in page
    assert f"{len(kinds)} lead" in page


def test_the_do_not_call_column_costs_one_query_whatever_the_rows(agent, team, client_as, national_registry):
    client = client_as(agent)

    def queries():
        client.get(reverse("leads:list"))  # the per-user choices cached
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("leads:list")).status_code == 200
        return len(captured)

    def add_leads(count, first):
        for index in range(count):
            lead = LeadFactory(assigned_agent=agent, team=team)
            contact = ContactFactory(lead=lead)
            PhoneFactory(contact=contact, number=f"+1918555{first + 2 * index:04d}")
            PhoneFactory(contact=contact, number=f"+1918555{first + 2 * index + 1:04d}", position=2)

    add_leads(3, 300)
    dnc_numbers_add(source=national_registry, numbers=["9185550300"], as_of=national_registry.data_as_of)
    few = queries()
    add_leads(30, 400)
    dnc_numbers_add(source=national_registry, numbers=[f"918555{n:04d}" for n in range(400, 460, 3)],
                    as_of=national_registry.data_as_of)
    internal_dnc_add(phone_number="+19185550401", channel="call", homeowner_words="Stop.", recorded_by=agent)
    assert queries() == few
