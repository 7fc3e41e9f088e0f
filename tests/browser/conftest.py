"""Browser tests: Debian's chromium driven by Playwright against pytest-django's live server.

Nothing is downloaded: the browser is /usr/bin/chromium, and the tests skip (saying why) when it
or the Playwright package is missing. Screenshots go to test-artifacts/ (git-ignored), one per
key step, plus one named after any test that fails.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
VIEWPORT = {"width": 1280, "height": 800}
TIMEOUT_MS = 10_000


def browser_unavailable() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if not CHROMIUM.exists():
        return f"needs Debian's chromium at {CHROMIUM} (apt-get install chromium)"
    if importlib.util.find_spec("playwright") is None:
        return "needs the playwright Python package (pip install -r requirements.txt)"
    return None


_FAILED = pytest.StashKey[bool]()

# Chromium reports each violation on the console ("Refused to ... Content Security Policy") and
# as a securitypolicyviolation event; the listener turns the event into a console line too, so
# that report-only or future console wording changes are still caught.
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (e) => {
  console.error("CSP violation: " + e.violatedDirective + " blocked " + (e.blockedURI || "inline"));
});
"""


def _collect_csp(message, page, violations: list[str]) -> None:
    if message.type == "error" and (
        "Content Security Policy" in message.text or message.text.startswith("CSP violation")
    ):
        violations.append(f"{page.url}: {message.text}")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Remember whether the test body failed, for the page fixture's failure screenshot."""
    report = yield
    if report.when == "call":
        item.stash[_FAILED] = report.failed
    return report


@pytest.fixture(scope="session")
def screenshots_dir() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def page(request, monkeypatch, live_server, screenshots_dir):
    """A fresh browser page whose relative URLs go to the live server."""
    reason = browser_unavailable()
    if reason:
        pytest.skip(reason)
    # Playwright's sync API keeps an event loop running in this thread, so Django would refuse
    # the test's ORM calls while the browser is open (SynchronousOnlyOperation). Nothing here is
    # really asynchronous (the live server answers from its own thread), and the setting is
    # undone after the test rather than left on for the rest of the session.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    failure_shot = screenshots_dir / f"FAILED-{request.node.name}.png"
    failure_shot.unlink(missing_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(base_url=live_server.url, viewport=VIEWPORT)
        context.set_default_timeout(TIMEOUT_MS)
        # Every page must obey the Content-Security-Policy: a violation (an inline script or
        # handler left without the nonce, a blocked resource) fails the test that met it.
        context.add_init_script(CSP_LISTENER)
        page = context.new_page()
        violations: list[str] = []
        page.on("console", lambda message: _collect_csp(message, page, violations))
        try:
            yield page
        finally:
            if request.node.stash.get(_FAILED, False):
                page.screenshot(path=failure_shot, full_page=True)
            context.close()
            browser.close()
        if not request.node.stash.get(_FAILED, False):
            assert violations == [], "Content-Security-Policy violations"


@pytest.fixture
def shoot(page, screenshots_dir):
    """shoot("name") saves a full-page screenshot as test-artifacts/name.png."""

    def save(name: str) -> Path:
        path = screenshots_dir / f"{name}.png"
        page.screenshot(path=path, full_page=True)
        return path

    return save
