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


def test_every_admin_page_loads_the_stylesheet_and_script_that_size_and_name_its_controls(broker, client_as):
    page = client_as(broker).get(reverse("admin:index")).content.decode()

    assert "css/admin.css" in page and "js/admin.js" in page


def test_the_admin_search_box_carries_its_own_name(broker, client_as):
    page = client_as(broker).get(reverse("admin:compliance_dncnumber_changelist")).content.decode()

    searchbar = re.search(r'<input [^>]*id="searchbar"[^>]*>', page).group(0)
    assert 'aria-label="Search"' in searchbar
