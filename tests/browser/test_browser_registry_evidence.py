"""Issue 12's walk, in a real browser, pages only: an owner registers a LOW model from the
questionnaire, writes the model card, uploads the ONNX model (the registry holds, hashes and
scans it), runs the performance suite on a dataset without predictions (the registry runs the
model), sees the dry-run readiness turn green, submits, and the version reaches production
(LOW is approved by the system; an SRE deploys). The worker's jobs are run here, as the worker
would run them, between page loads.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from skl2onnx import to_onnx
from sklearn.linear_model import LogisticRegression

from core.choices import Role
from evaluations import services as evaluation_services
from evaluations.models import EvaluationRun
from governance.demo import load_default_policies
from registry import scan_jobs
from registry.choices import RISK_FACTORS
from registry.models import Artifact, ModelVersion
from tests.browser.test_browser_owner_flow import expect, field, log_in, table_row
from tests.factories import UserFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(
        not Path("/usr/bin/chromium").exists(),
        reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)",
    ),
]

MODEL_NAME = "branch-footfall"
FEATURES = ("visits", "weekday", "rain")


def model_and_dataset(tmp_path: Path) -> tuple[Path, Path]:
    """A logistic regression over three features, as ONNX (one float tensor input), and an
    evaluation dataset of those features and y_true only: no predictions."""
    rng = np.random.default_rng(12)
    x = rng.normal(size=(600, 3)).astype(np.float32)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(int)
    classifier = LogisticRegression().fit(x[:400], y[:400])
    onnx = to_onnx(classifier, x[:1], options={id(classifier): {"zipmap": False}}, target_opset=17)
    model_file = tmp_path / "footfall.onnx"
    model_file.write_bytes(onnx.SerializeToString())
    dataset = tmp_path / "holdout.csv"
    lines = [",".join((*FEATURES, "y_true"))]
    for row, label in zip(x[400:], y[400:], strict=True):
        lines.append(",".join(f"{v:.6f}" for v in row) + f",{label}")
    dataset.write_text("\n".join(lines) + "\n")
    return model_file, dataset


def run_queued_evaluations() -> None:
    for run in EvaluationRun.objects.filter(status="QUEUED"):
        evaluation_services.run_evaluation(run.pk)


def test_a_page_only_owner_takes_a_held_model_to_production(page, shoot, tmp_path):
    load_default_policies()
    UserFactory(username="olivia", roles=[Role.MODEL_OWNER])
    UserFactory(username="sam", roles=[Role.SRE])
    model_file, dataset = model_and_dataset(tmp_path)

    # Register a LOW model: LOW is never stated, it comes from an all-LOW assessment.
    log_in(page, "olivia")
    page.get_by_role("link", name="Register a model").click()
    field(page, "Name").fill(MODEL_NAME)
    for label in RISK_FACTORS.values():
        field(page, label).select_option(index=1)  # the first level: LOW
    page.get_by_role("button", name="Register").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(MODEL_NAME)
    expect(page.locator(".tier-LOW").first).to_be_visible()

    # A version with its model card.
    page.get_by_role("link", name=re.compile("Add a version", re.IGNORECASE)).first.click()
    field(page, "Version").fill("1.0.0")
    field(page, "Intended use").fill("Staffing forecasts for branches; advisory only.")
    field(page, "Training data").fill("Branch visits 2023-2025, no personal data.")
    field(page, "Limitations").fill("Not for branches opened in the last 6 months.")
    page.get_by_role("button", name="Add version").click()
    expect(page.locator(".messages")).to_contain_text("Added version 1.0.0.")
    version = ModelVersion.objects.get(model__name=MODEL_NAME)

    # Upload the model file; the registry scans it.
    page.get_by_role("link", name="Add an artifact").first.click()
    field(page, "Name").fill("footfall.onnx")
    page.locator("input[type=file]").set_input_files(str(model_file))
    page.get_by_role("button", name="Add artifact").click()
    expect(page.locator(".messages")).to_contain_text("Added artifact footfall.onnx")
    held = Artifact.objects.get(version=version)
    assert held.held and held.executable
    assert scan_jobs.scan_artifact(held.pk) == "PASSED"
    page.reload()
    cells = table_row(page, "artifact-table", "footfall.onnx").locator("td")
    expect(cells.nth(1)).to_contain_text("Held")
    expect(cells.nth(3)).to_contain_text("PASSED")
    expect(cells.nth(3)).to_contain_text("by the registry")

    # Before the suite runs, readiness says what is missing.
    expect(page.locator(".readiness")).to_contain_text("performance")
    shoot("20-readiness-before-the-suite")

    # Run the performance suite on a dataset without predictions: the registry runs the model.
    page.locator("details.run-evaluation").evaluate("d => { d.open = true; }")
    field(page, "Suite").select_option("performance")
    field(page, "Dataset").set_input_files(str(dataset))
    page.locator("#run-evaluation-button").click()
    run_queued_evaluations()
    run = EvaluationRun.objects.get(version=version, suite="performance")
    assert (run.status, run.predictions_source, run.artifact_sha256) == (
        "PASSED",
        "REGISTRY",
        held.sha256,
    )
    page.goto(f"/evaluations/{run.pk}/")
    expect(page.locator("body")).to_contain_text("PASSED")
    expect(page.locator("body")).to_contain_text("computed by the registry")
    shoot("21-run-on-the-registrys-predictions")

    # LOW also needs the smoke suite: the model loads and answers, deterministically, fast.
    page.goto(f"/versions/{version.pk}/")
    page.locator("details.run-evaluation").evaluate("d => { d.open = true; }")
    field(page, "Suite").select_option("smoke")
    field(page, "Dataset").set_input_files(str(dataset))
    page.locator("#run-evaluation-button").click()
    run_queued_evaluations()
    smoke = EvaluationRun.objects.get(version=version, suite="smoke")
    assert (smoke.status, smoke.predictions_source) == ("PASSED", "REGISTRY")

    # Readiness is green; submit; LOW is approved by the system.
    page.goto(f"/versions/{version.pk}/")
    expect(page.locator(".readiness")).to_contain_text("passes every enforced policy")
    shoot("22-readiness-green")
    page.get_by_role("button", name="Submit for approval").click()
    expect(page.locator(".messages")).to_contain_text("APPROVED_STAGING")
    page.get_by_role("button", name="Log out").click()

    # The SRE deploys to staging.
    log_in(page, "sam")
    page.goto(f"/versions/{version.pk}/")
    page.get_by_role("button", name="Deploy to staging").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("STAGING")
    page.get_by_role("button", name="Log out").click()

    # The owner asks for production; LOW is approved by the system again; the SRE deploys.
    log_in(page, "olivia")
    page.goto(f"/versions/{version.pk}/")
    page.get_by_role("button", name="Request production").click()
    expect(page.locator(".messages")).to_contain_text("APPROVED_PRODUCTION")
    page.get_by_role("button", name="Log out").click()
    log_in(page, "sam")
    page.goto(f"/versions/{version.pk}/")
    page.get_by_role("button", name="Deploy to production").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("PRODUCTION")
    shoot("23-in-production")
    version.refresh_from_db()
    assert version.state == "PRODUCTION"
