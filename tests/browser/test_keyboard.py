"""By keyboard alone (Tab, Shift+Tab, Enter, Space and the arrow keys; no clicks): an agent
goes from the call queue to a lead, logs a call, is told it is logged and moves the stage;
a seller on a phone opens a document's panel and sends the file (the file dialog is the
one step a keyboard cannot drive: the file is set on the focused input). On each step the
focus is visible, and after each swap or result it is on what came back, never on <body>
(docs/testing.md#keyboard-only-runs)."""

import re

import pytest

from leads.models import Stage
from pipeline.models import ChecklistItem, DocumentKind, DocumentStatus, OutreachAttempt
from pipeline.seller.access import seller_link_create

# The live server reads committed rows (see conftest.py).
pytestmark = pytest.mark.django_db(transaction=True)

# The most Tabs from one control to the next a test waits for: the lead page's whole length.
MAX_TABS = 150

# Where the focus is and whether it shows: an outline or a box shadow on the focused element,
# or on the label that stands for it (an outcome pill's box is visually hidden). A focused
# element that is not rendered (hidden with its panel) does not show.
FOCUS = """() => {
    const element = document.activeElement;
    if (!element || element === document.body) return {where: "body", shown: false};
    const shows = node => {
        if (!node.getClientRects().length) return false;
        // A ring that fades in (Bootstrap's fields) is judged as it ends, not at its first
        // frame: the style read first starts the transition, which is then run to its end.
        const style = getComputedStyle(node);
        style.boxShadow;
        node.getAnimations().forEach(animation => animation.finish());
        return (style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0)
            || (style.boxShadow && style.boxShadow !== "none");
    };
    const labels = Array.from(element.labels || []);
    const text = (element.innerText || element.value || element.getAttribute("aria-label") || "").trim();
    // A date-and-time field's inner parts can hold the focus while the field itself does not
    // match :focus in headless Chromium: no style of the page's can show then; not judged.
    return {where: element.outerHTML.slice(0, 160), text: text.slice(0, 300),
            shown: !element.matches(":focus") || shows(element) || labels.some(shows)};
}"""


def focus(page) -> dict:
    return page.evaluate(FOCUS)


def assert_focus_shown(page, doing: str) -> dict:
    found = focus(page)
    assert found["where"] != "body", f"{doing}: the focus fell to <body>"
    assert found["shown"], f"{doing}: the focus does not show on {found['where']}"
    return found


def tab_to(page, selector: str, *, back: bool = False) -> None:
    """Tab (Shift+Tab with ``back``) until the focus is on ``selector`` (CSS), the focus showing
    at each stop; past the page's last control it rests on <body> once, then starts over."""
    for _ in range(MAX_TABS):
        page.keyboard.press("Shift+Tab" if back else "Tab")
        if focus(page)["where"] == "body":
            continue
        assert_focus_shown(page, f"tabbing to {selector}")
        if page.evaluate("selector => document.activeElement.matches(selector)", selector):
            return
    raise AssertionError(f"{MAX_TABS} Tabs did not reach {selector}")


def assert_focus_on_result(page, text: str, doing: str) -> None:
    """The focus is on what came back (or inside it), so it is what a screen reader reads next."""
    page.wait_for_function("text => document.activeElement !== document.body && (document.activeElement.closest("
                           "'[tabindex], a, button, input, select, textarea, summary') || document.activeElement)"
                           ".innerText.includes(text)", arg=text, timeout=10_000)
    assert_focus_shown(page, doing)


def test_an_agent_logs_a_call_and_moves_the_stage_by_keyboard_alone(page_as, lead, agent):
    page = page_as(agent)
    page.goto("/queue/")
    page.wait_for_selector(f"text={lead.property.street}")

    # given: the queue; Tab to the lead, Enter opens it
    tab_to(page, f"a[href^='/leads/{lead.pk}/']")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf"/leads/{lead.pk}/(\?|$)"))
    form = "form[data-outreach-form]"

    # when: the skip link, then the form's button with nothing chosen
    page.keyboard.press("Tab")
    assert "skip" in (focus(page)["where"] + focus(page)["text"]).lower(), focus(page)
    page.keyboard.press("Enter")
    tab_to(page, f"{form} button[type=submit]")
    page.keyboard.press("Enter")

    # then: the form comes back with its error, and the focus on it, not on <body>
    page.wait_for_selector(f"{form} .is-invalid")
    page.wait_for_function("() => document.activeElement !== document.body")
    assert_focus_shown(page, "after a submit with no outcome")
    assert page.evaluate(f"() => !!document.activeElement.closest('{form}')"), focus(page)

    # when: the notes first, back (Shift+Tab) to the outcome, the arrows to "Talked", the disclosure
    tab_to(page, f"{form} textarea[name=notes]")
    page.keyboard.type("Explained the short-sale process; sending the guide.")
    tab_to(page, f"{form} input[name=outcome]", back=True)
    if not page.evaluate("() => document.activeElement.checked"):
        page.keyboard.press("Space")
    for _ in range(12):
        if page.evaluate(f"() => document.querySelector('{form} input[name=outcome]:checked')?.value") == "talked":
            break
        page.keyboard.press("ArrowRight")
        assert_focus_shown(page, "choosing the outcome")
    tab_to(page, f"{form} input[name=role_disclosed]")
    page.keyboard.press("Space")
    assert page.is_checked(f"{form} input[name=role_disclosed]")
    tab_to(page, f"{form} button[type=submit]")
    page.keyboard.press("Enter")

    # then: logged, and the focus on the words that say so
    assert_focus_on_result(page, "Logged: Talked", "after logging the call")
    assert OutreachAttempt.objects.filter(lead=lead, outcome="talked", role_disclosed=True).exists()

    # when: the stage, picked with the arrow keys, and Move
    tab_to(page, "select[name=to_stage]")
    for _ in range(8):
        if page.input_value("select[name=to_stage]") == Stage.CONTACT:
            break
        page.keyboard.press("ArrowDown")
    assert page.input_value("select[name=to_stage]") == Stage.CONTACT
    tab_to(page, "form:has(select[name=to_stage]) button[type=submit]")
    page.keyboard.press("Enter")

    # then: moved, and told so
    assert_focus_on_result(page, f"Moved to {Stage.CONTACT.label}.", "after moving the stage")
    lead.refresh_from_db()
    assert lead.stage == Stage.CONTACT
    assert page.errors == []


def test_a_seller_sends_a_document_from_a_phone_by_keyboard_alone(browser, live_server, lead, agent, tmp_path):
    token = seller_link_create(lead=lead, actor=agent)
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                                  base_url=live_server.url)
    page = context.new_page()
    page.goto(f"/s/{token}/")
    page.wait_for_selector("text=Where your sale stands")
    letter = f"li.seller-doc:has(#file-{DocumentKind.HARDSHIP_LETTER})"

    # when: Tab to the letter's "Send this document", Enter opens its panel
    tab_to(page, f"{letter} summary")
    page.keyboard.press("Enter")
    assert page.evaluate(f"() => document.querySelector(\"{letter} details\").open")
    # then: the toggle keeps the focus, in view, so the panel can be closed again
    assert_focus_shown(page, "after opening the document's panel")

    # when: on to the file input; the file dialog is the one step not by keyboard
    tab_to(page, f"{letter} input[type=file]")
    pdf = tmp_path / "hardship.pdf"
    pdf.write_bytes(b"%PDF-1.4 hardship letter\n")
    page.locator(":focus").set_input_files(str(pdf))
    tab_to(page, f"{letter} button[type=submit]")
    page.keyboard.press("Enter")

    # then: sent, and the focus on the words that say so
    assert_focus_on_result(page, "reached your agent", "after sending the document")
    item = ChecklistItem.objects.get(lead=lead, kind=DocumentKind.HARDSHIP_LETTER)
    assert item.status == DocumentStatus.RECEIVED
    context.close()
