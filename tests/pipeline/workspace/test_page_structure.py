"""What a screen reader and a keyboard find on the lead page and the dashboard: one h1 and
an h2 for each card, no level skipped; no link inside a card's fold toggle (a control in a
control); the sections in the page in the order they are seen, with no stylesheet
reordering them; the dashboard's late "Call now" panel holding its room meanwhile; and a
card's edit form titled as the page on its own, as a card when swapped into the lead page."""

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from ...leads.factories import ContactFactory, LienFactory, PhoneFactory

pytestmark = pytest.mark.django_db

STYLESHEET = Path(settings.BASE_DIR) / "static" / "css" / "app.css"
LEAD_PAGE_CARDS = ["Owners", "Last conversation", "Equity", "Liens", "Hardship", "Log outreach",
                   "Text the homeowner", "Follow-ups", "Property", "Pre-foreclosure", "Timeline",
                   "Who works it", "The short sale", "The seller's side", "Move stage"]
DASHBOARD_PANELS = ["Call now", "My follow-ups", "Recent outreach", "Leads by stage"]


class Headings(HTMLParser):
    """Each heading of a page as (level, its text)."""

    def __init__(self):
        super().__init__()
        self.found, self._open = [], None

    def handle_starttag(self, tag, attrs):
        if re.fullmatch(r"h[1-6]", tag):
            self._open = [int(tag[1]), ""]

    def handle_data(self, data):
        if self._open:
            self._open[1] += data

    def handle_endtag(self, tag):
        if self._open and tag == f"h{self._open[0]}":
            self.found.append((self._open[0], " ".join(self._open[1].split())))
            self._open = None


def headings(page: str) -> list[tuple[int, str]]:
    parser = Headings()
    parser.feed(page)
    return parser.found


def assert_outline(page: str, expected_h2: list[str]) -> None:
    found = headings(page)
    assert [level for level, _ in found].count(1) == 1, found
    h2 = [text for level, text in found if level == 2]
    assert not [name for name in expected_h2 if name not in h2], h2
    levels = [level for level, _ in found]
    assert all(later <= earlier + 1 for earlier, later in zip(levels, levels[1:], strict=False)), found


def reordered_classes() -> set[str]:
    """The classes a rule of ours moves with ``order``, and Bootstrap's order utilities."""
    css = re.sub(r"/\*.*?\*/", "", STYLESHEET.read_text(), flags=re.S)
    moved = set()
    for selector, body in re.findall(r"([^{}]+)\{([^{}]*)\}", css):
        if re.search(r"(^|[;\s])order\s*:", body):
            moved.update(re.findall(r"\.([\w-]+)", selector))
    return moved


def page_classes(page: str) -> set[str]:
    return {name for value in re.findall(r'class="([^"]*)"', page) for name in value.split()}


def test_every_card_of_the_lead_page_is_a_second_level_heading(lead, agent, client_as):
    LienFactory(lead=lead)
    page = client_as(agent).get(reverse("leads:detail", args=[lead.pk])).content.decode()
    assert_outline(page, LEAD_PAGE_CARDS)
    # Every card title is one, folding or not, the consent and records card among them.
    headers = re.findall(r'<(?:summary|div) class="card-header[^"]*">\s*(<[^>]*>)', page)
    assert '<h2 class="card-heading"><i class="bi bi-patch-check" aria-hidden="true"></i> Consent and records</h2>' in page
    assert len(headers) >= len(LEAD_PAGE_CARDS)
    for header in headers:
        assert header.startswith("<h2 "), header


def test_no_link_or_button_sits_inside_a_cards_fold_toggle(lead, agent, client_as):
    LienFactory(lead=lead)
    page = client_as(agent).get(reverse("leads:detail", args=[lead.pk])).content.decode()
    summaries = re.findall(r"<summary\b[^>]*>(.*?)</summary>", page, flags=re.S)
    assert len(summaries) >= 10
    assert not [inside for inside in summaries if re.search(r"<(a|button|input|select|textarea)\b", inside)]
    # The links that were there are still on the page, inside their cards.
    liens = page[page.index('id="liens"'):page.index('id="hardship"')]
    assert reverse("pipeline:lenders", args=[lead.pk]) in liens and "Lien stack and lender files" in liens
    seller = page[page.index('id="seller"'):]
    assert reverse("pipeline:seller_preview", args=[lead.pk]) in seller


def test_the_lead_page_is_in_the_order_it_is_seen_with_nothing_reordered(lead, agent, client_as):
    PhoneFactory(contact=ContactFactory(lead=lead, position=2), number="+19185550161")
    page = client_as(agent).get(reverse("leads:detail", args=[lead.pk])).content.decode()
    # The call first (the homeowner, the last talk, the log form, the follow-ups), then the record.
    sections = ["owners", "last-conversation", "log-outreach", "timeline"]
    places = [page.index(f'id="{section}"') for section in sections]
    assert places == sorted(places), sections
    moved = page_classes(page) & reordered_classes()
    assert not moved, f"reordered by the stylesheet, so Tab no longer follows the screen: {moved}"
    assert not [name for name in page_classes(page) if re.fullmatch(r"order(-\w+)?-\d", name)]


def test_each_dashboard_panel_is_a_heading_and_nothing_is_reordered(agent, client_as):
    page = client_as(agent).get(reverse("pipeline:dashboard")).content.decode()
    assert_outline(page, DASHBOARD_PANELS)
    classes = page_classes(page)
    assert not classes & reordered_classes()
    assert not [name for name in classes if re.fullmatch(r"order(-\w+)?-\d", name)]
    assert page.index("Call now") < page.index(">Leads by stage<") < page.index("Recent outreach")


def test_the_dashboard_holds_the_call_now_panels_room_until_it_arrives(agent, client_as):
    page = client_as(agent).get(reverse("pipeline:dashboard")).content.decode()
    panel = page[page.index('id="queue-panel"'):]
    panel = panel[:panel.index("</div>")]
    assert 'class="p-3 mb-0 small muted queue-panel-pending"' in panel
    css = STYLESHEET.read_text()
    heights = re.findall(r"\.queue-panel-pending\s*\{\s*min-height:\s*(\d+)rem", css)
    assert heights and min(int(rem) for rem in heights) >= 60  # eight queue entries, about 122 px each


def test_a_cards_edit_form_is_the_pages_h1_alone_and_a_card_h2_swapped_into_the_lead_page(lead, agent, client_as):
    client = client_as(agent)
    url = reverse("pipeline:edit_property", args=[lead.pk])
    alone = headings(client.get(url).content.decode())
    assert [level for level, _ in alone].count(1) == 1 and alone[0][0] == 1, alone
    swapped = headings(client.get(url, HTTP_HX_REQUEST="true").content.decode())
    assert [level for level, _ in swapped] == [2], swapped
    assert swapped[0][1] == alone[0][1]
