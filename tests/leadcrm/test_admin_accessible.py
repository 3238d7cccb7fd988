"""The admin, the reports, the compliance pages and the API docs page as a screen reader and a
keyboard meet them: a language, named controls, scrolling tables the keyboard can reach, and no
link inside another control."""

import re

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

SCROLLING = re.compile(r'<div class="[^"]*(?:table-responsive|report-section)[^"]*"[^>]*>')


def scroll_boxes(page):
    return SCROLLING.findall(page)


def test_the_api_docs_page_has_a_language_our_colours_and_no_links_inside_its_buttons(client):
    page = client.get(reverse("api-docs")).content.decode()
    script = client.get(reverse("api-docs") + "?script=").content.decode()

    assert page.startswith("<!DOCTYPE html>") and '<html lang="en">' in page
    assert "css/api-docs.css" in page and "js/api-docs.js" in page
    assert "<style>" not in page  # the stock page's inline style moved to our file
    # Swagger puts a deep link inside each operation's expand button: off.
    assert '"deepLinking": false' in script


def test_every_admin_page_loads_the_stylesheet_and_script_that_size_and_name_its_controls(broker, client_as):
    page = client_as(broker).get(reverse("admin:index")).content.decode()

    assert "css/admin.css" in page and "js/admin.js" in page


def test_the_admin_search_box_carries_its_own_name(broker, client_as):
    page = client_as(broker).get(reverse("admin:compliance_dncnumber_changelist")).content.decode()

    searchbar = re.search(r'<input [^>]*id="searchbar"[^>]*>', page).group(0)
    assert 'aria-label="Search"' in searchbar


@pytest.mark.parametrize("url", [reverse("compliance:overview"), reverse("compliance:procedures"),
                                 reverse("reports:report", args=["funnel"])])
def test_a_table_that_scrolls_in_its_box_is_a_named_region_the_keyboard_reaches(url, broker, client_as):
    boxes = scroll_boxes(client_as(broker).get(url).content.decode())

    assert boxes, url
    for box in boxes:
        assert 'tabindex="0"' in box and 'role="region"' in box and re.search(r'aria-label="[^"]+"', box), box
