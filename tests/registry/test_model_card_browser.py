"""In a real browser, pages only: an owner registers a MEDIUM model, adds a version filling the
model card's boxes, reads on the version page what the staging gate would refuse (missing
sections, suites, scans), follows a link to write a missing section, and sees the sections
with their labels. Screenshots at 1280 px go to test-artifacts/; nothing may overflow.

Debian's chromium driven by Playwright against pytest-django's live server; skipped (saying
why) where either is missing. Nothing is downloaded.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from django.core.management import call_command

from core.choices import Role
from registry.choices import MODEL_CARD_SECTIONS
from registry.models import RegisteredModel
from tests.factories import PASSWORD, ModelVersionFactory, UserFactory

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
WIDTH = 1280

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"needs Debian's chromium at {CHROMIUM}"),
    pytest.mark.skipif(
        importlib.util.find_spec("playwright") is None, reason="needs the playwright package"
    ),
]

# Chromium reports a Content-Security-Policy violation on the console; any fails the test.
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (e) => {
  console.error("CSP violation: " + e.violatedDirective);
});
"""


@pytest.fixture
def page(monkeypatch, live_server):
    # The live server thread answers the browser; the test's ORM calls run beside Playwright's
    # event loop, which Django would otherwise refuse.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"]
        )
        context = browser.new_context(
            base_url=live_server.url, viewport={"width": WIDTH, "height": 900}
        )
        context.set_default_timeout(10_000)
        context.add_init_script(CSP_LISTENER)
        page = context.new_page()
        violations: list[str] = []
        page.on(
            "console",
            lambda m: violations.append(m.text) if "CSP violation" in m.text else None,
        )
        try:
            yield page
        finally:
            browser.close()
        assert violations == []


def expect(locator):
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def shoot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=path, full_page=True)
    return path


def overflowing(page) -> list[str]:
    """Elements wider than the window or sticking out of their card (none may)."""
    return page.evaluate(
        """(width) => {
          const out = [];
          if (document.documentElement.scrollWidth > width) out.push("page");
          for (const el of document.querySelectorAll(".card, .card *")) {
            const card = el.closest(".card") || el;
            const r = el.getBoundingClientRect(), c = card.getBoundingClientRect();
            if (r.width && (r.right > c.right + 1 || el.scrollWidth > el.clientWidth + 1)
                && getComputedStyle(el).overflowX !== "auto") {
              out.push((el.id || el.tagName) + ": " + (el.textContent || "").slice(0, 40));
            }
          }
          return out;
        }""",
        WIDTH,
    )


def test_a_page_only_owner_writes_a_model_card_and_sees_what_is_missing(page):
    call_command("load_policies", "policies/packs/default.yaml", verbosity=0)
    UserFactory(username="omar", roles=[Role.MODEL_OWNER])

    page.goto("/login/")
    page.get_by_label("Username").fill("omar")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()

    # Register a customer-facing model: MEDIUM by the questionnaire.
    page.goto("/models/")
    page.get_by_role("link", name="Register a model").first.click()
    page.get_by_label("Name").fill("churn-predictor")
    page.get_by_label("Description").fill("Churn within 90 days, for retention offers.")
    for factor in ("businessImpact", "financialImpact", "regulatoryScope", "dataSensitivity"):
        page.locator(f"#id_{factor}").select_option("LOW")
    page.locator("#id_customerExposure").select_option("MEDIUM")
    page.locator("#id_automationLevel").select_option("LOW")
    page.get_by_role("button", name="Register").click()
    expect(page.locator(".messages")).to_contain_text("MEDIUM risk")
    model = RegisteredModel.objects.get(name="churn-predictor")
    assert model.risk_tier == "MEDIUM"

    # Add a version, filling some of the model card's boxes.
    page.get_by_role("link", name="Add a version").click()
    page.get_by_label("Version").fill("1.0.0")
    labels = page.locator("#model-card label").all_inner_texts()
    assert labels == [section["label"] for section in MODEL_CARD_SECTIONS.values()]
    page.get_by_label("Intended use").fill("Ranks customers by churn risk for retention offers.")
    page.get_by_label("Training data").fill("24 months of de-identified account activity.")
    page.get_by_label("Limitations").fill("Not validated for business accounts.")
    page.get_by_label("Fairness statement").fill("Compared by age band; gap under 3 points.")
    shoot(page, "model-card-01-version-form")
    assert overflowing(page) == []
    page.get_by_role("button", name="Add version").click()
    expect(page.locator(".messages")).to_contain_text("Added version 1.0.0")

    version = model.versions.get()
    assert version.documentation == {
        "intendedUse": "Ranks customers by churn risk for retention offers.",
        "trainingData": "24 months of de-identified account activity.",
        "limitations": "Not validated for business accounts.",
        "fairnessStatement": "Compared by age band; gap under 3 points.",
    }

    # The readiness list says what the staging gate would refuse, in words.
    readiness = page.locator("#readiness")
    expect(readiness).to_contain_text("Readiness for staging")
    expect(readiness).to_contain_text("would fail the policy check now")
    expect(readiness).to_contain_text("missing model card section: evaluation")
    expect(readiness).to_contain_text("missing model card section: monitoring")
    expect(readiness).not_to_contain_text("missing model card section: limitations")
    expect(readiness).to_contain_text("The bias and fairness suite must have passed")
    expect(readiness).to_contain_text("Security scan must pass before deployment")
    expect(readiness).not_to_contain_text("type error")
    # The sections, with their labels, on the version page.
    card = page.locator("#model-card-sections")
    expect(card.locator("h3")).to_have_text(
        [section["label"] for section in MODEL_CARD_SECTIONS.values()]
    )
    expect(card).to_contain_text("Not validated for business accounts.")
    shoot(page, "model-card-02-version-readiness")
    assert overflowing(page) == []

    # Follow the link to the missing section, write it, and it leaves the list.
    readiness.get_by_role("link", name="write the “Monitoring” section").click()
    assert page.url.endswith(f"/versions/{version.pk}/edit/#id_monitoring")
    page.get_by_label("Monitoring").fill("Weekly drift report; alert on a 5 point drop.")
    shoot(page, "model-card-03-edit-form")
    assert overflowing(page) == []
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".messages")).to_contain_text("Saved.")
    expect(readiness).not_to_contain_text("missing model card section: monitoring")
    expect(readiness).to_contain_text("missing model card section: evaluation")
    expect(card).to_contain_text("Weekly drift report")

    # A version documented as text (through the API) shows its text beside the empty sections.
    text_version = ModelVersionFactory(
        model=model, version="0.9.0", documentation="## Intended use\nChurn scoring."
    )
    page.goto(f"/versions/{text_version.pk}/edit/")
    expect(page.locator("#free-text-notice")).to_contain_text("Policies read the model card's")
    expect(page.get_by_label("Free text (not read by policies)")).to_have_value(
        "## Intended use\nChurn scoring."
    )
    shoot(page, "model-card-04-free-text")
    assert overflowing(page) == []
