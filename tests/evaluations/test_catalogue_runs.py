"""The evaluation catalogue through the API, the worker and the run page (issue 13): the
suites that query the model (robustness's attack, security's attacks, explainability), the
validation suite with its champion, the run's parameters and its training sample, and the
refusals of what a suite does not read. Real models: a logistic regression and a gradient
boosted model trained here and exported with skl2onnx, run by the registry."""

from __future__ import annotations

import numpy as np
import pytest
from django.test import Client

from evaluations.choices import PredictionsSource, RunStatus
from evaluations.models import EvaluationRun
from registry.choices import VersionState
from registry.models import ModelVersion
from tests.evaluations.test_registry_predictions import (
    FEATURES,
    csv_upload,
    feature_frame,
    post_run,
    run_queued,
    upload_model,
)
from tests.factories import ModelVersionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def boosted_onnx() -> bytes:
    """A gradient boosted model on x1..x3 (no ZipMap): it answers NaN inputs with a valid
    probability, as tree ensembles do."""
    from skl2onnx import to_onnx
    from sklearn.ensemble import GradientBoostingClassifier

    train = feature_frame(1500, seed=0)
    X = train[FEATURES].to_numpy(np.float32)
    classifier = GradientBoostingClassifier(n_estimators=30, random_state=0).fit(X, train["y_true"])
    onx = to_onnx(
        classifier,
        X[:1],
        options={id(classifier): {"zipmap": False}},
        target_opset={"": 17, "ai.onnx.ml": 3},
    )
    return onx.SerializeToString()


@pytest.fixture
def version(model):
    return ModelVersionFactory(model=model)


@pytest.fixture
def held(api, owner, version, boosted_onnx) -> int:
    return upload_model(api(owner), version, boosted_onnx)


def data(n=600, seed=21):
    return feature_frame(n, seed=seed)


def test_the_suites_endpoint_lists_the_whole_catalogue(api, owner):
    body = api(owner).get("/api/v1/evaluation-suites/").json()
    suites = {s["key"]: s for s in body["results"]}
    assert set(suites) == {
        "performance",
        "bias",
        "robustness",
        "security",
        "smoke",
        "explainability",
        "validation",
    }
    security = suites["security"]
    assert security["thresholdsSection"] == "securityThresholds"
    assert security["usesTrainingDataset"] is True
    assert security["thresholdDirections"]["membershipInferenceAdvantage"] == "max"
    assert security["defaultThresholds"]["HIGH"]["membershipInferenceAdvantage"] == 0.05
    assert suites["robustness"]["parameters"] == {"epsilon": 0.1, "seed": 0}
    validation = suites["validation"]
    assert validation["thresholdDirections"] == {
        "gini": "min",
        "ksStatistic": "min",
        "hosmerLemeshowP": "min",
        "brierScore": "max",
        "psi": "max",
    }
    assert suites["explainability"]["defaultThresholds"]["HIGH"] == {
        "explanationStability": 0.8,
        "explanationFaithfulness": 0.01,
    }
    assert suites["bias"]["defaultThresholds"]["MEDIUM"]["consistency"] == 0.8


WIDE = ["w1", "w2", "w3", "w4", "w5"]


def wide_frame(n: int, seed: int):
    """Five features, of which w1 weighs most in the label and w5 not at all."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(n, 5)).round(4), columns=WIDE)
    signal = 2.0 * frame["w1"] - frame["w2"] + 0.5 * frame["w3"] + 0.25 * frame["w4"]
    frame["y_true"] = (signal + rng.normal(scale=0.5, size=n) > 0).astype(int)
    return frame


@pytest.fixture(scope="module")
def wide_onnx() -> bytes:
    from skl2onnx import to_onnx
    from sklearn.ensemble import GradientBoostingClassifier

    train = wide_frame(2000, seed=1)
    X = train[WIDE].to_numpy(np.float32)
    classifier = GradientBoostingClassifier(n_estimators=40, random_state=0).fit(X, train["y_true"])
    onx = to_onnx(
        classifier,
        X[:1],
        options={id(classifier): {"zipmap": False}},
        target_opset={"": 17, "ai.onnx.ml": 3},
    )
    return onx.SerializeToString()


def test_explainability_attributes_the_registry_run_model_and_repeats_with_its_seed(
    api, owner, model, wide_onnx
):
    version = ModelVersionFactory(model=model)
    upload_model(api(owner), version, wide_onnx)
    frame = wide_frame(800, seed=2)
    first = run_queued(post_run(api(owner), version, frame, suite="explainability", seed="7"))
    again = run_queued(post_run(api(owner), version, frame, suite="explainability", seed="7"))

    assert first.predictions_source == PredictionsSource.REGISTRY
    assert first.status == RunStatus.PASSED, (first.threshold_results, first.metrics)
    metrics = first.metrics
    importance = metrics["featureImportance"]
    assert set(importance) == set(WIDE)
    assert max(importance, key=importance.get) == "w1"
    assert metrics["explanationFaithfulness"] > 0
    assert metrics["explanationStability"] >= 0.8
    assert metrics["methods"]["featureImportance"]["seed"] == 7
    assert first.parameters == {"seed": 7}
    assert again.metrics["featureImportance"] == importance
    assert again.metrics["explanationStability"] == metrics["explanationStability"]


def test_explainability_on_submitted_predictions_measures_nothing_and_is_incomplete(
    api, owner, version
):
    frame = data().drop(columns="gender")
    frame["y_pred"] = (frame["x1"] > 0).astype(int)
    frame["y_score"] = (frame["x1"] > 0).astype(float)
    run = run_queued(post_run(api(owner), version, frame, suite="explainability"))

    assert run.status == RunStatus.INCOMPLETE
    assert run.metrics["explanationStability"] is None
    assert "did not run the model" in run.metrics["unavailable"]["explanationStability"]


def test_validation_compares_with_the_models_version_in_production(
    api, owner, model, version, held, boosted_onnx
):
    from sklearn.linear_model import LogisticRegression

    # The champion: a weaker model (x1 only) on another version, in PRODUCTION.
    champion = ModelVersionFactory(model=model, version="0.9.0")
    train = feature_frame(400, seed=3)
    weak = LogisticRegression().fit(train[["x1"]].to_numpy(np.float32), train["y_true"])
    upload_model(api(owner), champion, _three_inputs_one_used(weak))
    ModelVersion.objects.filter(pk=champion.pk).update(state=VersionState.PRODUCTION)

    # gender is in the files but no model's input: the run names the features, and the
    # champion is fed the same columns.
    frame = data(1500, seed=5)
    reference = data(1500, seed=6)
    run = run_queued(
        post_run(
            api(owner),
            version,
            frame,
            suite="validation",
            referenceDataset=csv_upload(reference),
            features=FEATURES,
        )
    )
    metrics = run.metrics
    assert run.status in (RunStatus.PASSED, RunStatus.FAILED), run.notes
    cc = metrics["championChallenger"]
    assert cc["championVersion"] == "0.9.0"
    assert cc["championVersionId"] == champion.pk
    assert cc["aucDifference"] > 0  # three features beat one
    assert 0 <= cc["pValue"] <= 1
    assert metrics["psi"] is not None and metrics["psi"] < 0.1  # two samples of one population
    assert 0 < metrics["gini"] <= 1
    assert len(metrics["reliabilityCurve"]["meanPredicted"]) > 1


def _three_inputs_one_used(classifier) -> bytes:
    """A model taking [N, 3] that reads only the first column (x1): the same input as the
    challenger's, so both run on the same rows."""
    import onnx
    from onnx import TensorProto, helper

    w = float(classifier.coef_[0][0])
    b = float(classifier.intercept_[0])
    weights = helper.make_tensor("W", TensorProto.FLOAT, [3, 1], [w, 0.0, 0.0])
    bias = helper.make_tensor("B", TensorProto.FLOAT, [1], [b])
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["X", "W"], ["z"]),
            helper.make_node("Add", ["z", "B"], ["logit"]),
            helper.make_node("Sigmoid", ["logit"], ["probabilities"]),
        ],
        "champion",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, ["N", 3])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", 1])],
        initializer=[weights, bias],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


def test_validation_without_a_champion_says_so_and_is_incomplete_only_if_judged(
    api, owner, version, held
):
    frame = data(800, seed=8).drop(columns="gender")
    run = run_queued(post_run(api(owner), version, frame, suite="validation"))
    metrics = run.metrics
    assert metrics["championChallenger"] is None
    assert "no other version in PRODUCTION" in metrics["unavailable"]["championChallenger"]
    # No reference: psi is not measured, so its threshold is not judged.
    assert metrics["psi"] is None
    assert run.status in (RunStatus.INCOMPLETE, RunStatus.FAILED)
    assert any(r["metric"] == "psi" and r["passed"] is None for r in run.threshold_results)


def test_security_attacks_the_model_with_the_training_sample(api, owner, version, held):
    frame = data(800, seed=9)
    training = feature_frame(1500, seed=0).drop(columns="gender")  # the members
    run = run_queued(
        post_run(
            api(owner),
            version,
            frame,
            suite="security",
            sensitiveFeatures=["gender"],
            trainingDataset=csv_upload(training, "train.csv"),
        )
    )
    metrics = run.metrics
    assert run.training_sha256 and run.training_rows == 1500
    assert metrics["membershipInferenceAdvantage"] is not None
    assert metrics["attributeInferenceAdvantage"] is not None
    assert metrics["inputValidationFailures"] == 0  # trees answer NaN inputs validly
    assert metrics["backdoorSuspicion"] is not None
    assert metrics["notPerformed"] == []
    body = api(owner).get(f"/api/v1/evaluations/{run.pk}/").json()
    assert body["trainingDataset"]["rows"] == 1500
    assert body["parameters"] == {"seed": 0}


def test_security_without_a_training_sample_cannot_judge_membership(api, owner, version, held):
    frame = data(500, seed=10).drop(columns="gender")
    run = run_queued(post_run(api(owner), version, frame, suite="security"))
    assert run.metrics["membershipInferenceAdvantage"] is None
    assert "trainingDataset" in run.metrics["unavailable"]["membershipInferenceAdvantage"]
    assert run.status == RunStatus.INCOMPLETE


def test_robustness_attacks_within_the_requested_epsilon(api, owner, version, held):
    frame = data(400, seed=12).drop(columns="gender")
    run = run_queued(post_run(api(owner), version, frame, suite="robustness", epsilon="0.2"))
    metrics = run.metrics
    assert run.parameters == {"seed": 0, "epsilon": 0.2}
    assert metrics["adversarialAccuracy"] is not None
    assert metrics["noiseAccuracy"] is not None
    assert metrics["adversarialAccuracy"] <= metrics["cleanAccuracy"]
    assert metrics["methods"]["adversarialAccuracy"]["parameters"]["epsilon"] == 0.2
    assert any(p["epsilon"] == 0.2 for p in metrics["perturbationCurve"])


@pytest.mark.parametrize(
    "fields, key, text",
    [
        ({"suite": "performance", "epsilon": "0.1"}, "epsilon", "only by the robustness"),
        ({"suite": "robustness", "epsilon": "abc"}, "epsilon", "not a number"),
        ({"suite": "robustness", "epsilon": "0"}, "epsilon", "above 0"),
        ({"suite": "robustness", "epsilon": "nan"}, "epsilon", "above 0"),
        ({"suite": "robustness", "epsilon": "0.05"}, "epsilon", "only MRC may relax"),
        ({"suite": "robustness", "seed": "-1"}, "seed", "between 0"),
        ({"suite": "robustness", "seed": "1.5"}, "seed", "whole number"),
        ({"suite": "performance", "seed": "3"}, "seed", "only by the bias, robustness"),
    ],
)
def test_bad_parameters_are_a_400_naming_them(api, owner, version, held, fields, key, text):
    response = post_run(api(owner), version, data(100).drop(columns="gender"), **fields)
    assert response.status_code == 400, response.content
    assert text in " ".join(response.json()[key])
    assert not EvaluationRun.objects.exists()


def test_mrc_may_weaken_the_attack_and_the_run_says_so(api, users, version, held):
    frame = data(200).drop(columns="gender")
    run = run_queued(
        post_run(api(users["MRC"]), version, frame, suite="robustness", epsilon="0.05")
    )
    assert run.parameters["epsilon"] == 0.05
    assert run.thresholds_source == "MRC"
    assert "weaker attack than the default 0.1, relaxed by MRC" in run.thresholds_note


def test_a_training_sample_is_refused_where_it_is_not_read_or_does_not_fit(
    api, owner, version, held
):
    frame = data(100).drop(columns="gender")
    response = post_run(
        api(owner), version, frame, suite="performance", trainingDataset=csv_upload(frame)
    )
    assert response.status_code == 400
    assert "only by the security suite" in response.json()["trainingDataset"][0]

    no_labels = frame.drop(columns="y_true")
    response = post_run(
        api(owner), version, frame, suite="security", trainingDataset=csv_upload(no_labels)
    )
    assert "y_true" in response.json()["trainingDataset"][0]

    missing = frame.drop(columns="x3")
    response = post_run(
        api(owner), version, frame, suite="security", trainingDataset=csv_upload(missing)
    )
    assert "does not fit the inputs" in " ".join(response.json()["trainingDataset"])
    assert not EvaluationRun.objects.exists()


def test_a_reference_dataset_is_refused_by_a_suite_that_does_not_read_one(
    api, owner, version, held
):
    frame = data(100).drop(columns="gender")
    response = post_run(
        api(owner), version, frame, suite="explainability", referenceDataset=csv_upload(frame)
    )
    assert response.status_code == 400
    assert "robustness, security and validation" in response.json()["referenceDataset"][0]


def test_the_run_page_says_how_each_metric_was_measured(api, owner, version, held):
    frame = data().drop(columns="gender")
    run = run_queued(post_run(api(owner), version, frame, suite="robustness", seed="3"))
    client = Client()
    client.force_login(owner)
    page = client.get(f"/evaluations/{run.pk}/").content.decode()
    assert "How it was measured" in page
    assert "HopSkipJump" in page
    assert "seed=3" in page
    assert "Accuracy against perturbation size" in page


def test_consistency_seeks_neighbours_over_the_columns_the_model_reads(api, owner, version, held):
    frame = data(600, seed=13)
    frame["account_id"] = np.arange(len(frame))  # in the file, not a model input
    run = run_queued(
        post_run(
            api(owner),
            version,
            frame,
            suite="bias",
            sensitiveFeatures=["gender"],
            features=FEATURES,
        )
    )
    assert run.predictions_source == PredictionsSource.REGISTRY
    assert run.metrics["consistency"] is not None
    assert run.metrics["methods"]["consistency"]["parameters"]["columns"] == FEATURES


def test_psi_is_never_computed_from_the_owners_reference_scores(api, owner, version, held):
    frame = data(800, seed=14).drop(columns="gender")
    reference = data(800, seed=15).drop(columns=["gender", "x3"])  # the model cannot run on it
    reference["y_score"] = 0.5  # the owner's scores: must not be used
    run = run_queued(
        post_run(
            api(owner), version, frame, suite="validation", referenceDataset=csv_upload(reference)
        )
    )
    assert run.metrics["psi"] is None
    assert any("could not run the model on the reference" in n for n in run.notes)
    assert run.status != RunStatus.PASSED


def test_labels_that_are_not_0_1_are_a_finding_not_a_crashed_security_run(
    api, owner, version, held
):
    frame = data(400, seed=16).drop(columns="gender")
    frame["y_true"] = np.where(frame["y_true"] == 1, "yes", "no")
    training = feature_frame(800, seed=0).drop(columns="gender")
    run = run_queued(
        post_run(
            api(owner),
            version,
            frame,
            suite="security",
            trainingDataset=csv_upload(training, "train.csv"),
        )
    )
    assert run.status == RunStatus.FAILED, run.error  # a high-severity label finding
    assert run.metrics["membershipInferenceAdvantage"] is None
    assert run.metrics["backdoorSuspicion"] is not None
