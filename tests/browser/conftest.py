"""Browser tests: Playwright driving Debian's Chromium (/usr/bin/chromium, installed by
.ci/run; never `playwright install`) against pytest-django's live server.

A failing test leaves a screenshot of the page in var/e2e-failures/.

The live server reads committed rows, so these tests are transactional, and the database
is flushed after each, rows seeded by migrations too (the rules, the roles' groups). So
the browser story is one test, and ``make test`` runs this folder in a pytest session of
its own, on a freshly migrated test database.
"""

import os
import shutil
from pathlib import Path

import pytest
from django.conf import settings

from ..leadcrm.factories import PASSWORD
from .axe import AxeAudit

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
# around it are still plain synchronous ones.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FAILURES = Path(settings.VAR_DIR) / "e2e-failures"


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(f"CI needs Chromium at {CHROMIUM} for the browser tests (.ci/run installs it).")
        pytest.skip("Chromium is not installed (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        yield browser
        browser.close()


@pytest.fixture
def axe():
    """The pages and states a story checks with axe as it goes; ``axe.assert_clean()`` at its end."""
    return AxeAudit()


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


def pass_second_factor(page, user):
    """A broker's or team lead's second factor, through its pages (docs/security.md#second-factor):
    the first time, set up the app with a code computed as the app would, and go on past the
    recovery codes; later, one recovery code (an app's code may not be used twice in its
    30 seconds, and a story signs the same person in more than once)."""
    from django_otp.oath import totp
    from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
    from django_otp.plugins.otp_totp.models import TOTPDevice

    submit = "form:has(input[name=code]) button[type=submit]"  # not the menu's Sign out
    if "/setup/" in page.url:
        device = TOTPDevice.objects.get(user=user, confirmed=False)
        code = totp(device.bin_key, device.step, device.t0, device.digits, device.drift)
        page.fill("input[name=code]", f"{code:0{device.digits}d}")
        page.click(submit)
        page.wait_for_selector("text=Your recovery codes")
        page.click("text=I have saved them: continue")
        return
    device = StaticDevice.objects.get(user=user)
    token = StaticToken.objects.create(device=device, token=StaticToken.random_token())
    page.fill("input[name=code]", token.token)
    page.click(submit)


@pytest.fixture
def page_as(browser, live_server, request):
    """``page_as(user)``: a fresh browser signed in as ``user``; its page, at the dashboard."""
    contexts = []

    def sign_in(user, width=1280):
        context = browser.new_context(viewport={"width": width, "height": 900}, base_url=live_server.url)
        contexts.append(context)
        page = context.new_page()
        page.errors = []
        page.on("console", lambda message: page.errors.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: page.errors.append(str(error)))
        # A missing script, style or image says which one (the console only says "404").
        page.on("response", lambda response: page.errors.append(f"{response.status} {response.url}")
                if response.status >= 400 else None)
        page.goto("/accounts/login/")
        page.fill("input[name=username]", user.username)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state()
        if "/accounts/two-factor/" in page.url:
            pass_second_factor(page, user)
        page.wait_for_url(f"{live_server.url}/")
        return page

    yield sign_in
    failed = getattr(request.node, "report_call", None)
    for index, context in enumerate(contexts):
        if failed is not None and failed.failed:
            FAILURES.mkdir(parents=True, exist_ok=True)
            for page in context.pages:
                page.screenshot(path=str(FAILURES / f"{request.node.name}-{index}.png"), full_page=True)
        context.close()
