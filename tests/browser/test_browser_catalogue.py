"""In a real browser: a model owner runs the catalogue's suites that attack and explain the model
the registry holds, from the run form (training sample, reference dataset, epsilon and seed
fields), and reads each run page: its metrics, the way each was measured, its charts, nothing
wider than 1280 px. Screenshots: test-artifacts/catalogue-*.png."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from skl2onnx import to_onnx
from sklearn.ensemble import GradientBoostingClassifier

from core.choices import Role
from evaluations import tasks
from evaluations.choices import PredictionsSource
from evaluations.models import EvaluationRun
from registry import artifacts, scan_jobs
from tests.browser.test_browser_owner_flow import expect, field, log_in
from tests.factories import ModelVersionFactory, RegisteredModelFactory, UserFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

FEATURES = ["f1", "f2", "f3", "f4", "f5"]


def population(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(n, 5)).round(4), columns=FEATURES)
    signal = 2 * frame["f1"] - frame["f2"] + 0.5 * frame["f3"]
    frame["y_true"] = (signal + rng.normal(scale=0.5, size=n) > 0).astype(int)
    frame["gender"] = rng.choice(["F", "M"], size=n)
    return frame


@pytest.fixture
def version():
    owner = UserFactory(username="olivia", roles=[Role.MODEL_OWNER])
    model = RegisteredModelFactory(owner=owner, name="limit-setter", risk_tier="HIGH")
    version = ModelVersionFactory(model=model)
    train = population(1500, seed=1)
    X = train[FEATURES].to_numpy(np.float32)
    clf = GradientBoostingClassifier(n_estimators=30, random_state=0).fit(X, train["y_true"])
    onx = to_onnx(clf, X[:1], options={id(clf): {"zipmap": False}}, target_opset=17)
    artifact = artifacts.add_artifact(
        version,
        actor=owner,
        name="limit-setter.onnx",
        type="model",
        upload=SimpleUploadedFile("limit-setter.onnx", onx.SerializeToString()),
    )
    scan_jobs.scan_artifact(artifact.pk)
    return version


def run_from_form(page, version, tmp_path, suite: str, files: dict, **fields) -> EvaluationRun:
    page.goto(f"/versions/{version.pk}/evaluations/new/")
    field(page, "Suite").select_option(suite)
    for label, frame in files.items():
        path = tmp_path / f"{suite}-{label.replace(' ', '-')}.csv"
        frame.to_csv(path, index=False)
        field(page, label).set_input_files(path)
    for label, value in fields.items():
        field(page, label).fill(value)
    page.get_by_role("button", name="Run evaluation").click()
    run = EvaluationRun.objects.filter(suite=suite).latest("id")
    tasks.run_evaluation(run.pk)  # the worker, in this process
    page.reload()
    run.refresh_from_db()
    return run


def fits_1280(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 1280, f"{page.url} is {width} px wide"


def test_owner_runs_the_catalogue_and_reads_how_each_metric_was_measured(
    page, version, tmp_path, shoot, monkeypatch
):
    monkeypatch.setattr("evaluations.services.enqueue", lambda run_id: None)  # no worker
    log_in(page, "olivia")
    data = population(800, seed=2)
    features = {"Features": ", ".join(FEATURES)}

    security = run_from_form(
        page,
        version,
        tmp_path,
        "security",
        {"Dataset": data, "Training sample": population(1500, seed=1).drop(columns="gender")},
        **{"Sensitive features": "gender", "Random seed": "5"},
        **features,
    )
    assert security.predictions_source == PredictionsSource.REGISTRY
    assert security.training_rows == 1500 and security.parameters == {"seed": 5}
    expect(page.locator("#security-attacks")).to_contain_text("membershipInferenceAdvantage")
    expect(page.locator("#evaluation-methods")).to_contain_text("MembershipInferenceBlackBox")
    expect(page.locator("#evaluation-training")).to_contain_text("1500 rows")
    expect(
        page.locator("#evaluation-charts figure[aria-label='Membership inference attack']")
    ).to_have_count(1)
    expect(page.locator("#evaluation-charts")).to_contain_text("STRIP entropy")
    fits_1280(page)
    shoot("catalogue-01-security")

    robustness = run_from_form(
        page,
        version,
        tmp_path,
        "robustness",
        {"Dataset": data, "Reference dataset": population(800, seed=3)},
        **{"Perturbation bound (epsilon)": "0.2"},
        **features,
    )
    assert robustness.parameters == {"seed": 0, "epsilon": 0.2}
    expect(page.locator("#robustness-attack")).to_contain_text("adversarialAccuracy")
    expect(page.locator("#evaluation-charts")).to_contain_text("Accuracy against perturbation")
    expect(page.locator("#evaluation-methods")).to_contain_text("HopSkipJump")
    fits_1280(page)
    shoot("catalogue-02-robustness")

    explainability = run_from_form(
        page, version, tmp_path, "explainability", {"Dataset": data}, **features
    )
    importance = explainability.metrics["featureImportance"]
    assert max(importance, key=importance.get) == "f1"
    expect(page.locator("#explainability-metrics")).to_contain_text("explanationFaithfulness")
    expect(page.locator("#evaluation-charts")).to_contain_text("Feature importance")
    fits_1280(page)
    shoot("catalogue-03-explainability")

    validation = run_from_form(
        page,
        version,
        tmp_path,
        "validation",
        {"Dataset": data, "Reference dataset": population(800, seed=4)},
        **features,
    )
    assert validation.metrics["gini"] > 0.5
    expect(page.locator("#validation-champion")).to_contain_text("no other version in PRODUCTION")
    for title in ("Calibration (reliability)", "KS: cumulative", "PSI per score bin"):
        expect(page.locator("#evaluation-charts")).to_contain_text(title)
    fits_1280(page)
    shoot("catalogue-04-validation")
