"""The story's axe check catches what it is there to catch: a page with a nameless button
fails, naming the rule, the page and the element; a page without one passes."""

import pytest

from .axe import AxeAudit, assert_no_serious_axe_violations, crawl, path_pattern

PAGE = """<!doctype html><html lang="en"><head><title>Harness</title></head>
<body><main><h1>Harness</h1>{}</main></body></html>"""


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    yield context.new_page()
    context.close()


def test_a_nameless_button_fails_with_rule_page_and_selector(page):
    page.set_content(PAGE.format('<button class="icon-only"><i class="bi bi-x" aria-hidden="true"></i></button>'))
    with pytest.raises(AssertionError) as failure:
        assert_no_serious_axe_violations(page, where="a test page")
    report = str(failure.value)
    assert "button-name [critical] Buttons must have discernible text: 1 nodes" in report
    assert "about:blank @390 a test page  button\n" in report
    assert "Element does not have inner text that is visible to screen readers" in report


def test_a_named_button_passes_and_the_audit_keeps_what_it_checked(page):
    page.set_content(PAGE.format('<button><i class="bi bi-x" aria-hidden="true"></i> Close</button>'))
    assert_no_serious_axe_violations(page)
    audit = AxeAudit()
    audit.check(page, where="a clean page")
    audit.assert_clean()
    assert audit.checked == ["about:blank @390 a clean page"]


def test_one_page_stands_for_each_pattern():
    assert path_pattern("/leads/12/") == path_pattern("/leads/398/") == "/leads/N/"
    assert path_pattern("/admin/leads/lien/5/change/") == path_pattern("/admin/pipeline/offer/9/change/")
    assert path_pattern("/admin/leads/lien/add/") != path_pattern("/admin/pipeline/offer/add/")
    assert callable(crawl)
