"""In a real browser: the owner uploads a dataset from the run form, the run page's progress bar
follows the worker (static/js/evaluation-progress.js polling the API with the session), and
the page reloads to the results and charts when the run finishes.

Debian's chromium driven by Playwright against pytest-django's live server; skipped (saying
why) where either is missing.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.choices import Role
from evaluations import tasks
from evaluations.choices import RunStatus
from evaluations.models import EvaluationRun
from tests.factories import PASSWORD, ModelVersionFactory, RegisteredModelFactory, UserFactory

CHROMIUM = Path("/usr/bin/chromium")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"needs Debian's chromium at {CHROMIUM}"),
    pytest.mark.skipif(
        importlib.util.find_spec("playwright") is None, reason="needs the playwright package"
    ),
]


@pytest.fixture
def page(monkeypatch, live_server, settings):
    # The live server thread answers the browser; the test's ORM calls run beside Playwright's
    # event loop, which Django would otherwise refuse.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"]
        )
        context = browser.new_context(
            base_url=live_server.url, viewport={"width": 1280, "height": 900}
        )
        context.set_default_timeout(10_000)
        try:
            yield context.new_page()
        finally:
            browser.close()


def expect(locator):
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def dataset(path: Path) -> Path:
    rng = np.random.default_rng(7)
    n = 400
    y_true = rng.binomial(1, 0.4, size=n)
    score = np.clip(0.7 * y_true + 0.3 * rng.random(n), 0, 1)
    pd.DataFrame(
        {
            "y_true": y_true,
            "y_pred": (score >= 0.5).astype(int),
            "y_score": score.round(4),
            "gender": rng.choice(["F", "M"], size=n),
        }
    ).to_csv(path, index=False)
    return path


def test_owner_runs_an_evaluation_and_watches_it_finish(page, tmp_path, monkeypatch):
    owner = UserFactory(username="olivia", roles=[Role.MODEL_OWNER])
    version = ModelVersionFactory(model=RegisteredModelFactory(owner=owner, name="churn"))
    monkeypatch.setattr("evaluations.services.enqueue", lambda run_id: None)  # no worker

    page.goto("/login/")
    page.get_by_label(re.compile("^Username", re.I)).fill("olivia")
    page.get_by_label(re.compile("^Password", re.I)).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator(".who")).to_contain_text("olivia")

    page.goto(f"/versions/{version.pk}/evaluations/new/")
    page.get_by_label(re.compile("^Suite", re.I)).select_option("performance")
    page.get_by_label(re.compile("^Dataset", re.I)).set_input_files(dataset(tmp_path / "d.csv"))
    page.get_by_role("button", name="Run evaluation").click()

    run = EvaluationRun.objects.get()
    expect(page).to_have_url(re.compile(rf"/evaluations/{run.pk}/$"))
    expect(page.locator(".messages")).to_contain_text("queued")
    bar = page.locator(f"#evaluation-progress-{run.pk} progress")
    expect(bar).to_have_attribute("value", "0")

    # The worker reports progress: the bar and the message follow without a reload.
    EvaluationRun.objects.filter(pk=run.pk).update(
        status=RunStatus.RUNNING, progress=55, progress_message="computed ROC curve"
    )
    expect(page.locator("[data-progress-message]")).to_have_text("computed ROC curve")
    assert bar.evaluate("el => el.value") == 55
    expect(page.locator("h1 [data-progress-status]")).to_have_text("RUNNING")

    # The worker finishes: the page reloads itself and shows the results.
    EvaluationRun.objects.filter(pk=run.pk).update(status=RunStatus.QUEUED)
    assert tasks.run_evaluation(run.pk) == RunStatus.PASSED
    expect(page.locator("#evaluation-charts")).to_be_visible()
    expect(page.locator("h1")).to_contain_text("PASSED")
    assert page.locator("#evaluation-charts svg").count() >= 3
    expect(page.locator("#evaluation-running")).to_have_count(0)
