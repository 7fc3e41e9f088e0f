"""Layout at 1,280 px in a real browser (issue 17): for every role of the demo, its home page,
approval dashboard, audit trail (or the refusal it gets), a version page and the other main
pages never run wider than the window; the navigation sits on one line; below 1,024 px it folds
behind a "Menu" toggle that opens without a script; the workflow diagram's labels are big enough
to read. Full-page screenshots go to test-artifacts/layout-<role>-<page>.png."""

from __future__ import annotations

from pathlib import Path

import pytest

from audit.choices import AuditAction, EventType
from audit.services import record_event
from core.choices import Role
from governance.choices import PromotionAction
from governance.models import StateTransition
from policies.choices import ExceptionStatus
from registry.choices import RiskTier, VersionState
from registry.models import ModelVersion
from tests.factories import (
    PASSWORD,
    ApprovalFactory,
    ArtifactFactory,
    ModelVersionFactory,
    PolicyEvaluationFactory,
    PolicyExceptionFactory,
    PolicyFactory,
    RegisteredModelFactory,
    RiskTierChangeRequestFactory,
    UserFactory,
    ViolationFactory,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(
        not Path("/usr/bin/chromium").exists(),
        reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)",
    ),
]

WIDTH = 1280
ROLES = ("owner", "mrc", "security", "sre", "auditor", "executive")
# The smallest text of the workflow diagram, as drawn on the page, in CSS pixels.
MIN_DIAGRAM_TEXT_PX = 11

SCROLL_WIDTH = "() => document.documentElement.scrollWidth"
NAV_ROWS = """() => new Set([...document.querySelectorAll('#main-nav a')]
  .map(a => Math.round(a.getBoundingClientRect().top))).size"""
NAV_CLIPPED = (
    "() => { const n = document.querySelector('#main-nav'); return n.scrollWidth - n.clientWidth; }"
)
WIDEST_ELEMENTS = """() => [...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
  .slice(0, 5)
  .map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))"""
SMALLEST_DIAGRAM_TEXT = """() => Math.min(
  ...[...document.querySelectorAll('#workflow-diagram text')]
  .map(t => t.getBoundingClientRect().height))"""


def expect(locator):
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def log_in(page, username: str) -> None:
    page.context.clear_cookies()
    page.goto("/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator(".who")).to_contain_text(username)


def in_state(version, state, **fields):
    ModelVersion.objects.filter(pk=version.pk).update(state=state, **fields)
    StateTransition.objects.create(
        version=version,
        from_state=VersionState.DRAFT,
        to_state=state,
        action=PromotionAction.SUBMIT,
        user=version.model.owner,
    )
    version.refresh_from_db()
    return version


def registry_with_a_history() -> dict:
    """The people of the demo (one per role, plus a second MRC member) and a registry with a
    version in every state, long names, an exception waiting for approval, a tier change
    request, failing policies, violations and audit events: what makes the pages wide."""
    people = {
        "owner": UserFactory(username="owner", roles=[Role.MODEL_OWNER]),
        "mrc": UserFactory(username="mrc", roles=[Role.MRC]),
        "mrc2": UserFactory(username="mrc2", roles=[Role.MRC]),
        "security": UserFactory(username="security", roles=[Role.SECURITY_ARCHITECT]),
        "sre": UserFactory(username="sre", roles=[Role.SRE]),
        "auditor": UserFactory(username="auditor", roles=[Role.AUDITOR]),
        "executive": UserFactory(username="executive", roles=[Role.EXECUTIVE]),
    }
    owner = people["owner"]
    policy = PolicyFactory(policy_id="security-scan-required-for-every-artifact")
    versions = {}
    for n, state in enumerate(VersionState.values):
        model = RegisteredModelFactory(
            owner=owner,
            name=f"credit-line-increase-propensity-{state.lower().replace('_', '-')}",
            risk_tier=(RiskTier.HIGH, RiskTier.MEDIUM, RiskTier.LOW)[n % 3],
        )
        version = ModelVersionFactory(model=model, version=f"2.{n}.0-rc.{n}+build.20261201")
        ArtifactFactory(version=version, name=f"{model.name}-weights-{n}.onnx")
        PolicyEvaluationFactory(version=version, policy=policy)
        versions[state] = in_state(version, state, submitted_by=owner, review_cycle=1)
    for state in (VersionState.APPROVED_STAGING, VersionState.STAGING):
        ApprovalFactory(version=versions[state], user=people["mrc"])
    ViolationFactory(version=versions[VersionState.PRODUCTION], policy=policy)
    PolicyExceptionFactory(
        version=versions[VersionState.PRODUCTION],
        policy=policy,
        status=ExceptionStatus.REQUESTED,
        activated_at=None,
        decided_at=None,
        expires_at=None,
    )
    RiskTierChangeRequestFactory(model=versions[VersionState.DRAFT].model)
    for version in versions.values():
        record_event(
            EventType.MODEL_REGISTRY,
            AuditAction.UPDATE_VERSION,
            user=owner,
            model_id=version.model_id,
            version_id=version.pk,
            details={
                "changes": {"description": ["a long description " * 8, "shorter"]},
                "tags": {"team": "retail-credit-risk", "region": "emea"},
            },
        )
    return {"people": people, "versions": versions}


def check(page, shoot, role: str, name: str, path: str, *, statuses=(200,), nav=True) -> None:
    response = page.goto(path)
    assert response is not None and response.status in statuses, (role, path, response.status)
    page.wait_for_load_state("networkidle")
    shoot(f"layout-{role}-{name}")
    width = page.evaluate(SCROLL_WIDTH)
    assert width <= WIDTH, (role, path, width, page.evaluate(WIDEST_ELEMENTS))
    if nav:  # the admin's pages have the admin's own header
        assert page.evaluate(NAV_ROWS) == 1, (role, path, "the navigation wraps")
        assert page.evaluate(NAV_CLIPPED) <= 0, (role, path, "the navigation is cut off")


def test_no_page_overflows_1280_px_for_any_role(page, shoot):
    built = registry_with_a_history()
    in_review = built["versions"][VersionState.SECURITY_REVIEW]
    in_production = built["versions"][VersionState.PRODUCTION]
    exception = in_production.policy_exceptions.first()

    for role in ROLES:
        log_in(page, role)
        check(page, shoot, role, "home", "/")
        check(page, shoot, role, "approvals", "/approvals/")
        # The trail's readers see it; the others get the refusal page, which must fit too.
        check(page, shoot, role, "audit", "/audit/", statuses=(200, 403))
        check(page, shoot, role, "version", f"/versions/{in_review.pk}/", statuses=(200, 404))
        check(
            page,
            shoot,
            role,
            "version-production",
            f"/versions/{in_production.pk}/",
            statuses=(200, 404),
        )
        check(page, shoot, role, "workflow", "/workflow/")
        check(page, shoot, role, "notifications", "/notifications/")
        check(page, shoot, role, "compliance", "/compliance/", statuses=(200, 403))
        check(page, shoot, role, "policies", "/policies/", statuses=(200, 403))
        check(
            page,
            shoot,
            role,
            "exception",
            f"/exceptions/{exception.pk}/",
            statuses=(200, 403, 404),
        )

    # The admin's audit event list.
    log_in(page, "auditor")
    check(page, shoot, "auditor", "admin-audit", "/admin/audit/auditevent/", nav=False)


def test_admin_version_inline_fits_with_the_admin_stylesheet(page, shoot):
    """A version's change page in the admin: its artifact inline (a 64-character digest) ran to
    1,359 px. static/css/admin.css breaks the digest; ModelVersionAdmin loads it (`Media`)."""
    built = registry_with_a_history()
    in_production = built["versions"][VersionState.PRODUCTION]
    log_in(page, "auditor")
    page.goto(f"/admin/registry/modelversion/{in_production.pk}/change/")
    assert page.locator('link[href*="css/admin.css"]').count() > 0
    page.wait_for_load_state("networkidle")
    shoot("layout-auditor-admin-version")
    width = page.evaluate(SCROLL_WIDTH)
    assert width <= WIDTH, (width, page.evaluate(WIDEST_ELEMENTS))


def test_navigation_folds_below_1024_px_and_opens_without_script(page, shoot):
    registry_with_a_history()
    log_in(page, "mrc")
    page.set_viewport_size({"width": 900, "height": 800})
    page.goto("/")
    nav = page.locator("#main-nav")
    expect(nav).to_be_hidden()
    toggle = page.locator("label.nav-toggle-label")
    expect(toggle).to_be_visible()
    assert page.evaluate(SCROLL_WIDTH) <= 900
    toggle.click()
    expect(nav).to_be_visible()
    expect(nav.get_by_role("link", name="Approvals")).to_be_visible()
    shoot("layout-mrc-menu-900")
    nav.get_by_role("link", name="Approvals").click()
    expect(page.get_by_role("heading", name="Approval dashboard")).to_be_visible()
    assert page.evaluate(SCROLL_WIDTH) <= 900


def test_workflow_diagram_labels_are_legible(page, shoot):
    registry_with_a_history()
    log_in(page, "owner")
    page.goto("/workflow/")
    diagram = page.locator("#workflow-diagram")
    expect(diagram).to_be_visible()
    for label in ("CHANGES_REQUIRED", "APPROVED_PRODUCTION", "reopen staging review"):
        expect(diagram.locator("text", has_text=label).first).to_be_visible()
    smallest = page.evaluate(SMALLEST_DIAGRAM_TEXT)
    assert smallest >= MIN_DIAGRAM_TEXT_PX, smallest
    shoot("layout-owner-workflow-diagram")
