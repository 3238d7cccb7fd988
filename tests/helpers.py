"""Small helpers shared by tests (fixtures live in conftest.py)."""


def jobs(callbacks):
    """The on-commit callbacks that send work, without the rule cache's own refresh."""
    from compliance.rulebook import _clear

    return [callback for callback in callbacks if callback is not _clear]


def admin_list_rows(client, href) -> int:
    """The rows of an admin change list (the evidence a report's count links to), every page."""
    import html
    import re

    rows, url = 0, html.unescape(href)
    while url:
        response = client.get(url)
        assert response.status_code == 200, url
        page = response.content.decode()
        table = re.search(r'<table id="result_list">.*?<tbody>(.*?)</tbody>', page, re.S)
        rows += table.group(1).count("<tr") if table else 0
        following = re.search(r'<a href="(\?[^"]*p=\d+[^"]*)"[^>]*class="[^"]*end', page)
        url = (url.split("?")[0] + html.unescape(following.group(1))) if following else None
    return rows
