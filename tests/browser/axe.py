"""axe-core in the browser story: the WCAG 2.0, 2.1 and 2.2 A and AA rules run on a page as
it stands, and any serious or critical violation fails (docs/testing.md#accessibility).

axe is the copy vendored beside this file, never a CDN or npm at test time. It goes in
through ``page.evaluate``, a DevTools call the page's Content Security Policy does not
govern: the story's contexts keep their policy, so a page's own violation of it still
shows as a console error.
"""

import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

AXE_VERSION = "4.14.1"
AXE_SOURCE = Path(__file__).parent / "vendor" / f"axe-core-{AXE_VERSION}" / "axe.min.js"
WCAG_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa")
FAILING_IMPACTS = ("serious", "critical")
# Enough of each rule to act on without burying the rest: the count says how many more.
SHOWN_PER_RULE = 8

# axe.run is started on every page before any is awaited: each tab has a renderer of its
# own, so a page at two widths takes about the time of one.
START_AXE = """tags => {
    window.__axeViolations = axe.run(document, {runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]})
        .then(result => result.violations.map(v => ({rule: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.map(n => ({selector: n.target.join(" "), summary: n.failureSummary || ""}))})));
}"""


@dataclass(frozen=True)
class Violation:
    rule: str
    impact: str
    help: str
    where: str  # the page (path, width, who) and its state
    selector: str
    summary: str


def axe_violations(*pages, where: str = "") -> list[Violation]:
    """The serious and critical violations of the WCAG A and AA rules on each page now."""
    for page in pages:
        # A button still easing into its hover colour, just clicked, is measured at its
        # end state, not half-way (a contrast of no colour the page ever rests on).
        page.evaluate("() => document.getAnimations().forEach(a => { try { a.finish(); } catch (e) {} })")
        if not page.evaluate("() => typeof window.axe === 'object'"):
            page.evaluate(AXE_SOURCE.read_text())
        page.evaluate(START_AXE, list(WCAG_TAGS))
    return [Violation(found["rule"], found["impact"], found["help"], page_state(page, where), node["selector"],
                      " ".join(node["summary"].split()))
            for page in pages
            for found in page.evaluate("() => window.__axeViolations") if found["impact"] in FAILING_IMPACTS
            for node in found["nodes"]]


def page_state(page, where: str = "") -> str:
    """"/leads/12/ @390 as agent, after a refused log": where a violation is."""
    url = urlsplit(page.url)
    return f"{url.path if url.scheme.startswith('http') else page.url} @{page.viewport_size['width']}" + (
        f" {where}" if where else "")


def violations_report(violations: list[Violation]) -> str:
    """By rule: each rule's help, then page, selector and what to fix for its first few nodes."""
    by_rule: dict[tuple[str, str, str], list[Violation]] = {}
    for violation in violations:
        by_rule.setdefault((violation.rule, violation.impact, violation.help), []).append(violation)
    lines = [f"axe {AXE_VERSION}: {len(violations)} serious or critical violations of WCAG 2.2 A/AA "
             f"({len(by_rule)} rules, {len({v.where for v in violations})} pages or states)"]
    for (rule, impact, help_), found in sorted(by_rule.items(), key=lambda item: -len(item[1])):
        pages = sorted({violation.where for violation in found})
        lines.append(f"\n{rule} [{impact}] {help_}: {len(found)} nodes on {len(pages)} pages or states")
        for violation in found[:SHOWN_PER_RULE]:
            lines.append(f"  {violation.where}  {violation.selector}\n      {violation.summary[:240]}")
        if len(found) > SHOWN_PER_RULE:
            lines.append(f"  ... and {len(found) - SHOWN_PER_RULE} more, on: {', '.join(pages)[:1000]}")
    return "\n".join(lines)


def assert_no_serious_axe_violations(page, where: str = "") -> None:
    """Fail, naming rule, page, selector and summary, on any serious or critical violation."""
    violations = axe_violations(page, where=where)
    assert not violations, violations_report(violations)


@dataclass
class AxeAudit:
    """The story's pages and states, checked as it goes; it fails once, at its end, with the
    whole list (one run says everything left to fix, not only the first page's)."""

    violations: list[Violation] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)

    def check(self, *pages, where: str = "") -> None:
        self.violations.extend(axe_violations(*pages, where=where))
        self.checked.extend(page_state(page, where) for page in pages)

    def assert_clean(self) -> None:
        assert not self.violations, violations_report(self.violations)


# Never followed: signing out; files (downloads, exports, prints, calendars, PDFs); the API
# itself, but its docs page is a page; the seller's link (the seller's own step opens it);
# the few links a GET acts on (turning the second factor off, revoking a key).
CRAWL_SKIP = re.compile(
    r"logout|/api/(?!docs/)|/static/|/media/|/healthz|/s/[^/]+/|/webhooks/|export|download|/print"
    r"|\.(csv|xlsx|pdf|ics|zip|json|png|jpe?g)(\?|$)|format=|/two-factor/(off|disable)|/revoke"
)


def path_pattern(path: str) -> str:
    """A page's path with its ids as N: one lead page stands for every lead page, and one
    admin object's change or history page for every model's (one template, filled from data;
    each model's list and add form are pages of their own: their fields differ)."""
    return re.sub(r"^/admin/\w+/\w+/N/", "/admin/*/*/N/", re.sub(r"\d+", "N", urlsplit(path).path))


def crawl(pages, start: str, *, skip=CRAWL_SKIP):
    """Load each same-origin page reachable by links from ``start`` into every one of ``pages``
    (one a width, sharing a sign-in), once per path pattern, and yield its path when all have
    it. Pages a GET may not open (POST only, 4xx) are passed over; a server error fails."""
    origin, seen, queue = None, set(), [start]
    while queue:
        url = queue.pop(0)
        if path_pattern(url) in seen:
            continue
        seen.add(path_pattern(url))
        responses = [page.goto(url, wait_until="commit") for page in pages]  # both load at once
        if any(response is None or response.status >= 400 for response in responses):
            assert all(response is None or response.status < 500 for response in responses), url
            continue
        for page in pages:
            page.wait_for_load_state("load")
            # What htmx loads after the page (the dashboard's panels) is part of it.
            page.wait_for_function("() => !document.querySelector('.htmx-request')")
        origin = origin or urlsplit(pages[0].url).netloc
        landed = path_pattern(pages[0].url)
        if landed != path_pattern(url) and landed in seen or urlsplit(pages[0].url).netloc != origin:
            continue  # a redirect to a page already checked, or away
        seen.add(landed)
        yield urlsplit(pages[0].url).path
        for page in pages:
            for link in page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)"):
                parts = urlsplit(link)
                if parts.netloc == origin and not skip.search(f"{parts.path}?{parts.query}"):
                    queue.append(parts.path + (f"?{parts.query}" if parts.query else ""))
