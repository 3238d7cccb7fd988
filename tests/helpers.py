"""Small helpers shared by tests (fixtures live in conftest.py)."""

from django.test import Client

# Django's own, kept before conftest.py wraps it (``force_login_verified``).
_django_force_login = Client.force_login


def force_login_password_only(client, user) -> None:
    """Sign ``client`` in as ``user`` as the password alone does: a broker or an admin user
    still owes the second factor. For the tests that prove it is asked for."""
    _django_force_login(client, user)


def force_login_verified(client, user, backend=None) -> None:
    """Django's ``force_login``, and for a user who needs the second factor, that factor
    passed too (an app device of theirs in the session): the suite's tests sign in with
    ``client.force_login`` and are about their pages, not about signing in
    (docs/security.md#second-factor)."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from leadcrm.accounts.roles import Role

    _django_force_login(client, user, backend)
    # Not user.role: that would fill the permission cache the first page is meant to fill.
    if user.is_staff or user.is_superuser or user.groups.filter(name=Role.BROKER.label).exists():
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or TOTPDevice.objects.create(
            user=user, name="Test suite", confirmed=True)
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()


def jobs(callbacks):
    """The on-commit callbacks that send work, without the rule cache's own refresh."""
    from compliance.rulebook import _clear

    return [callback for callback in callbacks if callback is not _clear]


def admin_list_rows(client, href) -> int:
    """The rows of an admin change list (the evidence a report's count links to), every page."""
    import html
    import re

    url = html.unescape(href)
    rows, page_number = 0, 1
    while True:
        response = client.get(url + ("&" if "?" in url else "?") + f"p={page_number}")
        assert response.status_code == 200, url
        page = response.content.decode()
        table = re.search(r'<table id="result_list">.*?<tbody>(.*?)</tbody>', page, re.S)
        found = table.group(1).count("<tr") if table else 0
        rows += found
        # The admin lists 100 a page: a full page may have a next one.
        if found < 100 or f"p={page_number + 1}" not in page:
            return rows
        page_number += 1


def rows_behind(client, href) -> int:
    """The rows of the list a count links to, every page, read as the client's user: the
    lead list, the pond, or an admin change list."""
    import html
    import re

    url = html.unescape(href)
    if url.startswith("/admin/"):
        return admin_list_rows(client, url)
    rows = 0
    while url:
        response = client.get(url)
        assert response.status_code == 200, url
        page = response.content.decode()
        if url.startswith("/leads/pond/"):
            body = re.search(r"<tbody>(.*?)</tbody>", page, re.S).group(1)
            rows += body.count("<tr") - body.count("The pond is empty")
            following = re.search(r'<a [^>]*href="(\?page=\d+)">More', page)
        else:
            rows += page.count('<tr data-href="/leads/')
            following = re.search(r'<a class="page-link" href="(\?[^"#]*page=\d+)">Next', page)
        url = (url.split("?")[0] + html.unescape(following.group(1))) if following else None
    return rows


def count_links(page: str) -> list[tuple[str, int, str]]:
    """Every count a page links (``data-count``): (href, count, the link's text); and it
    fails on a link whose whole text is a number without one (a count nobody checks)."""
    from html.parser import HTMLParser

    class Links(HTMLParser):
        def __init__(self):
            super().__init__()
            self.found, self.open = [], []

        def handle_starttag(self, tag, attrs):
            if tag == "a":
                self.open.append([dict(attrs), ""])

        def handle_data(self, data):
            for link in self.open:
                link[1] += data

        def handle_endtag(self, tag):
            if tag == "a" and self.open:
                self.found.append(self.open.pop())

    parser = Links()
    parser.feed(page)
    links = []
    for attrs, text in parser.found:
        text = " ".join(text.split())
        if "data-count" in attrs:
            links.append((attrs["href"], int(attrs["data-count"]), text))
        else:
            assert not text.replace(",", "").isdigit(), f"a count without data-count: {text} -> {attrs.get('href')}"
    return links


def api_key_for(user) -> str:
    """A working API key for ``user`` with every scope: the same one for the whole test (kept
    on the user object), as only its digest is stored."""
    from leadcrm.accounts.tokens import ALL_SCOPES
    from pipeline.api.services import api_token_create

    if getattr(user, "_test_api_key", None) is None:
        user._test_api_key = api_token_create(user=user, name="Test suite", scopes=ALL_SCOPES)[1]
    return user._test_api_key


def api_as(user):
    """An API client carrying ``user``'s token (``api_key_for``); with None, no token."""
    from rest_framework.test import APIClient

    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {api_key_for(user)}")
    return client
