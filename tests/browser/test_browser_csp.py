"""The pages under the Content-Security-Policy, in a real browser: the demo's users log in
through the login page and visit the main pages, the API docs and the admin; the scripts that
were inline (report auto-refresh, "Go back") and the ones that fetch (risk tier preview) still
work, and the browser reports no violation and no script error (the page fixture fails a test
on any CSP violation)."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from audit.models import Report, ReportKind, ReportStatus
from evaluations.models import EvaluationRun
from governance.demo import seed_demo
from policies.models import Policy
from registry.choices import VersionState
from registry.models import ModelVersion

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(
        not Path("/usr/bin/chromium").exists(),
        reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)",
    ),
]

DEMO_PASSWORD = "demo-pass-2026"


def expect(locator):
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def watch_errors(page) -> list[str]:
    """Console errors and uncaught exceptions, less the browser's own favicon request and the
    status of a page itself (a deliberate 403 is checked where it is asked for)."""
    errors: list[str] = []

    def on_console(message):
        where = message.location.get("url", "")
        if message.type != "error" or where.endswith("/favicon.ico"):
            return
        if message.text.startswith("Failed to load resource") and where == page.url:
            return
        errors.append(f"{page.url}: {message.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: errors.append(f"{page.url}: {error}"))
    return errors


def log_in(page, username: str, password: str = DEMO_PASSWORD) -> None:
    page.goto("/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator(".who")).to_contain_text(username)


def visit(page, path: str) -> None:
    response = page.goto(path)
    assert response is not None and response.status == 200, path
    assert "script-src 'self'" in response.headers["content-security-policy"], path
    page.wait_for_load_state("networkidle")


def test_main_pages_docs_and_admin_run_without_violations(page, shoot):
    seed_demo()
    errors = watch_errors(page)
    version = ModelVersion.objects.filter(state=VersionState.PRODUCTION).first()
    run = EvaluationRun.objects.order_by("pk").first()
    policy = Policy.objects.order_by("pk").first()

    log_in(page, "mrc")
    for path in (
        "/",
        "/models/",
        f"/models/{version.model_id}/",
        f"/versions/{version.pk}/",
        "/policies/",
        f"/policies/{policy.policy_id}/",
        "/approvals/",
        "/compliance/",
        f"/evaluations/{run.pk}/",
        "/exceptions/",
        "/workflow/",
    ):
        visit(page, path)
    # Server-rendered SVG charts are shown (their root style attribute is allowed).
    visit(page, "/compliance/")
    chart = page.locator("svg[role=img]").first
    expect(chart).to_be_visible()
    assert chart.bounding_box()["width"] > 100
    shoot("csp-compliance")

    # Swagger UI: the package's inline script runs with the nonce and renders the operations.
    visit(page, "/api/v1/docs/")
    expect(page.locator(".swagger-ui .opblock").first).to_be_visible()
    shoot("csp-api-docs")

    page.context.clear_cookies()
    log_in(page, "auditor")
    visit(page, "/audit/")

    page.context.clear_cookies()
    get_user_model().objects.create_superuser("root", "root@example.com", DEMO_PASSWORD)
    log_in(page, "root")
    for path in (
        "/admin/",
        "/admin/registry/modelversion/",
        f"/admin/registry/modelversion/{version.pk}/change/",
        "/admin/audit/auditevent/",
        "/admin/audit/report/evidence-bundles/",
    ):
        visit(page, path)
    shoot("csp-admin")
    assert errors == []


def test_scripts_moved_out_of_the_pages_still_work(page):
    seed_demo()
    errors = watch_errors(page)

    # The risk tier preview asks the server as the questionnaire is answered (connect-src).
    log_in(page, "owner")
    visit(page, "/models/register/")
    selects = page.locator("#register-form select")
    for index in range(selects.count()):
        selects.nth(index).select_option(index=selects.nth(index).locator("option").count() - 1)
    expect(page.locator("#tier-preview-tier")).to_have_text(re.compile("LOW|MEDIUM|HIGH"))

    # "Go back" on a refused page (was a javascript: URL) returns to the page before: an owner
    # may not read the reports.
    visit(page, "/models/")
    response = page.goto("/reports/", referer=page.url)
    assert response.status == 403
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    page.locator("a[data-history-back]").click()
    expect(page).to_have_url(re.compile(r"/models/$"))
    # Arrived from elsewhere (no referrer from this site): the link goes to the dashboard.
    page.goto("/reports/")
    page.locator("a[data-history-back]").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()

    # The reports page reloads itself while a report is pending (was an inline script).
    now = timezone.now()
    Report.objects.create(
        kind=ReportKind.MONTHLY_COMPLIANCE,
        period=f"{now:%Y-%m}",
        period_start=now - timedelta(days=30),
        period_end=now,
        status=ReportStatus.QUEUED,
    )
    page.context.clear_cookies()
    log_in(page, "auditor")
    visit(page, "/reports/")
    with page.expect_navigation(timeout=8000):
        pass  # auto-refresh.js reloads after its 5 s interval
    assert errors == []
