"""Every card's title is a heading, so a screen reader's list of headings (and its "next
heading" key) reaches each card of every page, not only the lead page and the dashboard.

A scan of the template files rather than of rendered pages: a card added to any template,
on a page no other test renders, is caught the day it is written."""

import re
from pathlib import Path

from django.conf import settings

TEMPLATES = Path(settings.BASE_DIR) / "templates"
# The class itself, not Bootstrap's card-header-tabs or card-header-pills of a nav in a header.
CARD_HEADER = re.compile(r'<(div|summary|header)\b[^>]*\bclass="(?:[^"]*\s)?card-header(?=[\s"{])[^>]*>')
# Mostly h2 (h3 under a card's own h2); h1 where the card is the whole page, as a confirmation.
HEADING = re.compile(r"<h[1-6]\b")


def card_headers(text: str):
    """Each card header's markup, from its opening tag to the end tag that closes it."""
    for opening in CARD_HEADER.finditer(text):
        tag, depth = opening.group(1), 0
        for mark in re.finditer(rf"<(/?){tag}\b[^>]*>", text[opening.start():]):
            depth += -1 if mark.group(1) else 1
            if depth == 0:
                yield opening.start(), text[opening.start():opening.start() + mark.end()]
                break
        else:
            yield opening.start(), text[opening.start():]


def headers_without_a_heading(text: str) -> list[tuple[int, str]]:
    return [(text.count("\n", 0, start) + 1, markup) for start, markup in card_headers(text)
            if not HEADING.search(markup)]


def test_every_card_header_in_every_template_holds_a_heading():
    untitled = [f"{path.relative_to(TEMPLATES)}:{line}: {' '.join(markup.split())[:100]}"
                for path in sorted(TEMPLATES.rglob("*.html"))
                for line, markup in headers_without_a_heading(path.read_text())]
    assert not untitled, f"{len(untitled)} card headers hold no heading:\n" + "\n".join(untitled)


def test_the_scan_reads_a_header_to_its_own_end_tag():
    # A heading after the header closes is not its heading; one nested deeper in it is.
    assert headers_without_a_heading('<div class="card-header"><span>Offers</span></div><h2>Net</h2>')
    assert not headers_without_a_heading(
        '<div class="card-header d-flex">\n  <div><h2 class="card-heading">Liens</h2></div>\n  <div>$</div>\n</div>')
    assert not headers_without_a_heading('<summary class="card-header"><h3 class="card-heading">Step 1</h3></summary>')
    assert headers_without_a_heading('<div class="card card-header-tabs"></div><div class="card-header">Fees</div>')
