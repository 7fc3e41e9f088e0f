"""The promotion workflow in a real browser: an owner submits a version from its page, an MRC
member approves it from the same page with the checklist, and the dashboard counts it."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.choices import Role
from governance.choices import MRC_CHECKLIST
from registry import artifacts, services
from tests.factories import PASSWORD, UserFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(
        not Path("/usr/bin/chromium").exists(),
        reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)",
    ),
]


def expect(locator):
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def log_in(page, username: str) -> None:
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()


def log_out(page) -> None:
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()


def medium_version(owner):
    model = services.register_model(
        actor=owner, name="churn-predictor", description="Churn in 90 days.", risk_tier="MEDIUM"
    )
    version = services.create_version(
        model, actor=owner, version="3.1.0", documentation="Intended use: retention offers."
    )
    artifact = artifacts.add_artifact(
        version,
        actor=owner,
        name="churn.onnx",
        type="model",
        uri="s3://models/churn.onnx",
        sha256="a" * 64,
    )
    # The bank's scanning pipeline reports its scan of the referenced bytes.
    artifacts.update_artifact(
        artifact,
        actor=UserFactory(username="pipeline", roles=[Role.SCANNER]),
        security_scan={"status": "PASSED", "scanner": "trivy"},
    )
    return version


def test_owner_submits_and_mrc_approves_from_the_pages(page, shoot):
    owner = UserFactory(username="olivia", roles=[Role.MODEL_OWNER])
    UserFactory(username="maria", roles=[Role.MRC])
    version = medium_version(owner)

    log_in(page, "olivia")
    page.goto(f"/versions/{version.pk}/")
    readiness = page.locator(".readiness")
    # No policy is loaded here: the dry run of the staging gate has nothing to refuse.
    expect(readiness).to_contain_text("passes every enforced policy for staging")
    page.get_by_label("Comments for the reviewers").fill("Ready for MRC review.")
    shoot("10-version-ready-to-submit")
    page.get_by_role("button", name="Submit for approval").click()
    expect(page.locator(".messages")).to_contain_text("MRC_REVIEW")
    expect(page.locator("#timeline")).to_contain_text("SUBMIT by olivia")
    expect(page.locator("#timeline")).to_contain_text("Ready for MRC review.")
    expect(page.get_by_role("button", name="Approve")).to_have_count(0)  # not hers to approve
    log_out(page)

    log_in(page, "maria")
    expect(page.locator("#bell .badge")).to_have_text("1")
    page.get_by_role("link", name="Approvals").click()
    pending = page.locator("#pending-table")
    expect(pending).to_contain_text("churn-predictor")
    pending.get_by_role("link", name="3.1.0").click()
    for label in MRC_CHECKLIST.values():  # approving needs every item ticked
        page.get_by_label(label).check()
    page.get_by_label("Comments", exact=True).fill("Risk assessed; fine for staging.")
    shoot("11-mrc-review-form")
    page.get_by_role("button", name="Approve").click()
    expect(page.locator(".messages")).to_contain_text("APPROVED_STAGING")
    decisions = page.locator("table", has_text="Review decisions").or_(
        page.locator("section", has_text="Review decisions").locator("table")
    )
    expect(decisions.first).to_contain_text("APPROVED")
    expect(decisions.first).to_contain_text("maria (MRC)")
    expect(page.locator("#timeline")).to_contain_text("APPROVE_STAGING by maria")
    shoot("12-version-approved")

    page.get_by_role("link", name="Approvals").click()
    expect(page.locator("#pending-reviews")).to_contain_text("No version waits for your review.")
    expect(page.locator("figure svg").first).to_be_visible()
    expect(page.get_by_text("Approval rate:")).to_contain_text("100%")
    shoot("13-approval-dashboard")
