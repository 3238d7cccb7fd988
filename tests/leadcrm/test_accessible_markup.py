"""Markup a screen reader depends on, on every page: icons hidden from it (they are the icon
font's private characters, read as noise), icon-only menu links named, and a skip link as
the first stop of the keyboard, pointing at the page's main region."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

ICON = re.compile(r'<i class="bi[^>]*>')
TEMPLATES = Path(settings.BASE_DIR) / "templates"


def test_every_icon_in_every_template_is_hidden_from_screen_readers():
    shown = [f"{path.relative_to(TEMPLATES)}: {tag}" for path in sorted(TEMPLATES.rglob("*.html"))
             for tag in ICON.findall(path.read_text()) if 'aria-hidden="true"' not in tag]
    assert not shown, "\n".join(shown)


@pytest.mark.django_db
def test_the_menu_names_its_icon_links_and_the_page_starts_with_a_skip_link(agent, lead, client_as):
    page = client_as(agent).get(reverse("pipeline:dashboard")).content.decode()

    body = page[page.index("<body"):]
    first_link = re.search(r"<a [^>]*>", body).group(0)
    assert 'href="#main"' in first_link and "visually-hidden-focusable" in first_link
    assert '<main class="container-xl py-4" id="main" tabindex="-1">' in page
    for name, url in (("Mail", reverse("pipeline:marketing")), ("Scripts", reverse("pipeline:scripts"))):
        link = re.search(rf'<a [^>]*href="{re.escape(url)}"[^>]*>', page).group(0)
        assert f'aria-label="{name}"' in link, link
    assert not [tag for tag in ICON.findall(page) if 'aria-hidden="true"' not in tag]
