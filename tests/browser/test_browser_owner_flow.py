"""The pages as people use them, in a real browser: a Model Owner registers a model and adds a
version and an artifact; an Auditor reads the registry and verifies the audit chain.

`serialized_rollback` reloads the rows the migrations create (the role groups and the audit
chain head) that the flush after each live-server test empties.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from core.choices import Role
from registry import scan_jobs, services
from registry.choices import RISK_FACTORS
from registry.models import Artifact, RegisteredModel
from tests.factories import PASSWORD, UserFactory
from tests.registry import scanning_samples as samples

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(
        not Path("/usr/bin/chromium").exists(),
        reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)",
    ),
]

MODEL_NAME = "credit-default-scorer"
SHA256 = hashlib.sha256(b"credit-default-scorer 1.0.0").hexdigest()


def expect(locator):
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def log_in(page, username: str, shoot=None) -> None:
    page.goto("/")  # anonymous: sent to the login form
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    if shoot:
        shoot("01-login")
    field(page, "Username").fill(username)
    field(page, "Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    expect(page.locator(".who")).to_contain_text(username)


def field(page, label: str):
    """The form control labelled `label` (case aside; required fields end with " *")."""
    return page.get_by_label(re.compile(rf"^{re.escape(label)}( \*)?$", re.IGNORECASE))


def nav(page):
    return page.get_by_role("navigation", name="Main")


def table_row(page, table_id: str, text: str):
    return page.locator(f"#{table_id} tbody tr").filter(has_text=text)


def test_model_owner_registers_a_model_and_adds_a_version_and_an_artifact(page, shoot, tmp_path):
    onnx_file = samples.onnx_logistic_regression(tmp_path / "scorer.onnx")
    onnx_sha = hashlib.sha256(onnx_file.read_bytes()).hexdigest()
    UserFactory(username="olivia", roles=[Role.MODEL_OWNER])

    log_in(page, "olivia", shoot)
    expect(page.locator(".who")).to_contain_text("Model Owner")

    # Register a model, watching the server-derived tier preview.
    nav(page).get_by_role("link", name="Register a model").click()
    expect(page.get_by_role("heading", name="Register a model")).to_be_visible()
    field(page, "Name").fill(MODEL_NAME)
    field(page, "Description").fill("Scores the probability of default on retail loans.")
    field(page, "Tags").fill("team=credit-risk\nregion=eu")

    tier = page.locator("#tier-preview-tier")
    reason = page.locator("#tier-preview-reason")
    expect(tier).to_have_text("—")

    labels = list(RISK_FACTORS.values())
    for label in labels[:-1]:
        field(page, label).select_option("LOW")
    # One factor still unanswered: no tier yet, and the reason names only that one.
    expect(reason).not_to_contain_text(re.compile("business", re.IGNORECASE))
    expect(reason).to_contain_text(re.compile("automation", re.IGNORECASE))
    expect(tier).to_have_text("—")

    field(page, labels[-1]).select_option("LOW")
    expect(tier).to_have_text("LOW")
    expect(tier).to_have_class(re.compile(r"\btier-LOW\b"))

    field(page, "Customer exposure").select_option("HIGH")
    expect(tier).to_have_text("HIGH")
    expect(tier).to_have_class(re.compile(r"\btier-HIGH\b"))
    expect(reason).to_have_text(
        "HIGH: the highest level of any risk factor (factor at HIGH: Customer exposure)"
    )
    field(page, "Data sensitivity").select_option("MEDIUM")
    expect(reason).to_have_text(
        "HIGH: the highest level of any risk factor (factor at HIGH: Customer exposure)"
    )
    shoot("02-register-form-with-preview")

    page.get_by_role("button", name="Register").click()

    # The model's page: tier, reason, the answers and the tags.
    expect(page.get_by_role("heading", level=1)).to_have_text(f"{MODEL_NAME} HIGH")
    expect(page.locator(".messages")).to_have_text(f"Registered {MODEL_NAME} as HIGH risk.")
    expect(page.get_by_text("factor at HIGH: Customer exposure")).to_be_visible()
    risk = page.locator("section.card").filter(has=page.get_by_role("heading", name="Risk"))
    expect(risk.locator("tr").filter(has_text="Customer exposure")).to_contain_text("HIGH")
    expect(risk.locator("tr").filter(has_text="Data sensitivity")).to_contain_text("MEDIUM")
    expect(risk.locator("tr").filter(has_text="Automation level")).to_contain_text("LOW")
    expect(page.locator(".tag")).to_have_text(["team=credit-risk", "region=eu"])
    expect(page.locator("#version-table tbody")).to_have_text("No versions yet.")
    shoot("03-model-detail")

    model = RegisteredModel.objects.get(name=MODEL_NAME)
    assert (model.risk_tier, model.owner.username) == ("HIGH", "olivia")
    assert model.risk_assessment["customerExposure"] == "HIGH"

    # The model list shows it.
    nav(page).get_by_role("link", name="Models", exact=True).click()
    expect(page.get_by_role("heading", name="Models")).to_be_visible()
    row = table_row(page, "model-table", MODEL_NAME)
    expect(row).to_have_count(1)
    expect(row.locator("td")).to_have_text(
        [re.compile(MODEL_NAME), "HIGH", "olivia", "0", re.compile(r"\d{4}-\d\d-\d\d")]
    )
    expect(row).to_contain_text("Scores the probability of default")

    # Add a version.
    row.get_by_role("link", name=MODEL_NAME).click()
    page.get_by_role("link", name="Add a version").click()
    expect(page.get_by_role("heading", name=f"Add a version of {MODEL_NAME}")).to_be_visible()
    field(page, "Version").fill("1.0.0")
    field(page, "Description").fill("First release, trained on 2020-2024 loans.")
    # The model card: one box per section (registry.choices.MODEL_CARD_SECTIONS).
    field(page, "Intended use").fill("Pre-screening of loan applications.")
    field(page, "Tags").fill("dataset=loans-2024")
    page.get_by_role("button", name="Add version").click()

    expect(page.locator(".messages")).to_have_text("Added version 1.0.0.")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"{MODEL_NAME} 1.0.0 DRAFT")
    expect(page.locator(".doc")).to_contain_text("Pre-screening of loan applications.")
    expect(page.locator("#artifact-table tbody")).to_contain_text("No artifacts yet.")

    # Upload the model file: the registry holds it, hashes it and scans it.
    page.get_by_role("link", name="Add an artifact").first.click()
    expect(page.get_by_role("heading", name="Add an artifact to")).to_be_visible()
    expect(page.get_by_text("Security scan")).to_have_count(0)  # never the owner's to give
    expect(field(page, "Type")).to_have_value("model")
    field(page, "Name").fill("scorer.onnx")
    page.locator("input[type=file]").set_input_files(str(onnx_file))
    page.get_by_role("button", name="Add artifact").click()

    # Back on the version's page, with the artifact held and its scan queued.
    expect(page.locator(".messages")).to_contain_text("Added artifact scorer.onnx")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"{MODEL_NAME} 1.0.0 DRAFT")
    artifact = table_row(page, "artifact-table", "scorer.onnx")
    expect(artifact).to_have_count(1)
    cells = artifact.locator("td")
    expect(cells.nth(0)).to_contain_text("Runs in the registry: 1 input")
    expect(cells.nth(1)).to_contain_text("Held")
    expect(cells.nth(2)).to_contain_text(onnx_sha[:16])
    expect(cells.nth(2)).to_have_attribute("title", onnx_sha)
    expect(cells.nth(2)).to_contain_text("computed by the registry")
    expect(cells.nth(3)).to_contain_text("PENDING")
    expect(cells.nth(3)).to_contain_text("scan is queued")

    # The worker scans it (run here as the worker would); the page says who scanned.
    held = Artifact.objects.get(name="scorer.onnx")
    assert scan_jobs.scan_artifact(held.pk) == "PASSED"
    page.reload()
    cells = table_row(page, "artifact-table", "scorer.onnx").locator("td")
    expect(cells.nth(3)).to_contain_text("PASSED")
    expect(cells.nth(3)).to_contain_text("by the registry")
    shoot("04-version-detail-with-artifact")

    # The model's page counts the version's artifact.
    page.get_by_role("link", name=MODEL_NAME).click()
    version_row = table_row(page, "version-table", "1.0.0")
    expect(version_row.locator("td").nth(1)).to_have_text("DRAFT")
    expect(version_row.locator("td").nth(2)).to_have_text("1")


def seed_registry():
    """A model with one version, registered through the services (so audited)."""
    owner = UserFactory(username="olivia", roles=[Role.MODEL_OWNER])
    UserFactory(username="audrey", roles=[Role.AUDITOR])
    model = services.register_model(
        actor=owner,
        name="churn-predictor",
        description="Predicts customer churn.",
        risk_assessment={**dict.fromkeys(RISK_FACTORS, "LOW"), "financialImpact": "MEDIUM"},
    )
    services.create_version(model, actor=owner, version="0.1.0")


def test_auditor_reads_the_registry_and_verifies_the_audit_chain(page, shoot):
    seed_registry()

    log_in(page, "audrey")
    expect(page.locator(".who")).to_contain_text("Auditor")
    expect(nav(page).get_by_role("link", name="Register a model")).to_have_count(0)

    nav(page).get_by_role("link", name="Models", exact=True).click()
    row = table_row(page, "model-table", "churn-predictor")
    expect(row.locator("td")).to_have_text(
        [re.compile("churn-predictor"), "MEDIUM", "olivia", "1", re.compile(r"\d{4}-")]
    )
    # Read-only: no way to register from here.
    expect(page.get_by_role("link", name=re.compile("Register"))).to_have_count(0)

    row.get_by_role("link", name="churn-predictor").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("churn-predictor MEDIUM")
    expect(page.get_by_role("link", name="Add a version")).to_have_count(0)

    nav(page).get_by_role("link", name="Audit trail").click()
    expect(page.get_by_role("heading", name="Audit trail")).to_be_visible()
    events = page.locator("main table tbody tr")
    register = events.filter(has_text="REGISTER_MODEL")
    expect(register).to_have_count(1)
    expect(register).to_contain_text("olivia")
    expect(events.filter(has_text="CREATE_VERSION")).to_have_count(1)
    expect(events.filter(has_text="LOGIN").filter(has_text="audrey")).to_have_count(1)

    page.get_by_role("link", name="Verify the chain").click()
    verdict = page.locator(".notice")
    expect(verdict).to_contain_text("The chain is intact: 3 events")
    expect(verdict).to_have_class(re.compile(r"\bok\b"))
    # Verifying is itself recorded.
    expect(events.filter(has_text="VERIFY_AUDIT")).to_have_count(1)
    shoot("05-audit-trail-verified")


def test_verifying_the_chain_keeps_every_event_listed(page):
    seed_registry()
    log_in(page, "audrey")
    nav(page).get_by_role("link", name="Audit trail").click()
    page.get_by_role("link", name="Verify the chain").click()
    expect(page.locator(".notice")).to_contain_text("The chain is intact: 3 events")
    events = page.locator("main table tbody tr")
    expect(events.locator("td:first-child")).to_have_text(["4", "3", "2", "1"], timeout=1000)
