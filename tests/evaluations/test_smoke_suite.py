"""The smoke suite (issue 13, LOW tier): the registry runs the version's ONNX model on the
dataset and checks that it loads, answers every row with a finite probability, gives the same
output twice for the same input, and predicts a batch of 1,000 rows in time. Real models: a
logistic regression trained here and exported with skl2onnx, and graphs built with
onnx.helper that answer with raw values or at random."""

from __future__ import annotations

import numpy as np
import pytest
from django.core.management import call_command
from django.test import Client

from evaluations.catalogue import suite_documents
from evaluations.choices import RunStatus
from evaluations.metrics.thresholds import (
    ThresholdsError,
    looser_than,
    thresholds_for_tier,
    validate_thresholds,
)
from evaluations.models import EvaluationRun
from policies.gate import dry_run_gate
from registry.execution import RUNTIME_VERSION
from tests.evaluations.test_registry_predictions import (
    FEATURES,
    feature_frame,
    post_run,
    run_queued,
    upload_model,
)
from tests.factories import EvaluationRunFactory, ModelVersionFactory, RegisteredModelFactory

pytestmark = pytest.mark.django_db

PACK = "policies/packs/default.yaml"


def graph_model(node) -> bytes:
    """An ONNX model with one float input X [N, 3] and one float output `probabilities`
    [N, 1] computed by `node` (a function of the graph's input name and output name)."""
    import onnx
    from onnx import TensorProto, helper

    nodes, initializers = node("X", "probabilities")
    graph = helper.make_graph(
        nodes,
        "smoke-test",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, ["N", 3])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", 1])],
        initializer=initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


def raw_values(source: str, target: str):
    """X @ [1, 1, 1]ᵀ + 5: an unbounded score, mostly above 1 (no Sigmoid in the graph)."""
    from onnx import TensorProto, helper

    weights = helper.make_tensor("W", TensorProto.FLOAT, [3, 1], [1.0, 1.0, 1.0])
    bias = helper.make_tensor("B", TensorProto.FLOAT, [1], [5.0])
    return (
        [
            helper.make_node("MatMul", [source, "W"], ["raw"]),
            helper.make_node("Add", ["raw", "B"], [target]),
        ],
        [weights, bias],
    )


def random_scores(source: str, target: str):
    """A uniform random number in [0, 1) per row: valid probabilities, never the same twice."""
    from onnx import TensorProto, helper

    weights = helper.make_tensor("W", TensorProto.FLOAT, [3, 1], [1.0, 1.0, 1.0])
    return (
        [
            helper.make_node("MatMul", [source, "W"], ["shaped"]),
            helper.make_node("RandomUniformLike", ["shaped"], [target]),
        ],
        [weights],
    )


@pytest.fixture(scope="module")
def classifier_onnx() -> bytes:
    """A logistic regression on x1..x3 exported with skl2onnx (input 'X' [N, 3], outputs
    'label' and 'probabilities', no ZipMap)."""
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression

    train = feature_frame(400, seed=0)
    features = train[FEATURES].to_numpy(np.float32)
    classifier = LogisticRegression().fit(features, train["y_true"])
    onnx = to_onnx(
        classifier,
        features[:1],
        options={id(classifier): {"zipmap": False}},
        target_opset={"": 17, "ai.onnx.ml": 3},
    )
    return onnx.SerializeToString()


@pytest.fixture
def version(model):
    return ModelVersionFactory(model=model)


def smoke_run(api, owner, version, content: bytes, rows: int = 1500) -> EvaluationRun:
    upload_model(api(owner), version, content)
    frame = feature_frame(rows, seed=11).drop(columns=["gender", "y_true"])
    return run_queued(post_run(api(owner), version, frame, suite="smoke"))


# ---- the metrics ------------------------------------------------------------------------------


def test_a_good_model_passes_the_smoke_suite(api, owner, version, classifier_onnx):
    run = smoke_run(api, owner, version, classifier_onnx)
    assert run.status == RunStatus.PASSED, (run.error, run.threshold_results)
    metrics = run.metrics
    assert (metrics["loads"], metrics["validOutputs"], metrics["deterministic"]) == (
        True,
        True,
        True,
    )
    assert metrics["latencyP95Ms"] > 0
    assert metrics["latency"]["batchRows"] == 1000 and metrics["latency"]["runs"] == 20
    assert metrics["latency"]["medianMs"] <= metrics["latencyP95Ms"] <= metrics["latency"]["maxMs"]
    assert metrics["determinism"] == {"rows": 1000, "maxAbsDiff": 0.0, "predMismatches": 0}
    assert metrics["rows"] == 1500
    assert {r["metric"]: (r["value"], r["passed"]) for r in run.threshold_results} == {
        "loads": (1.0, True),
        "validOutputs": (1.0, True),
        "deterministic": (1.0, True),
        "latencyP95Ms": (metrics["latencyP95Ms"], True),
    }
    # The registry ran the model: the run says with what, fed which columns.
    assert run.predictions_source == "REGISTRY"
    assert run.runtime == RUNTIME_VERSION and run.prediction_features == FEATURES
    assert run.score_output == "probabilities"

    client = Client()
    client.force_login(owner)
    html = client.get(f"/evaluations/{run.pk}/").content.decode()
    assert 'id="smoke-metrics"' in html
    assert "every score is a finite probability" in html and "1000 rows predicted twice" in html


def test_a_model_answering_with_raw_values_fails_valid_outputs(api, owner, version):
    run = smoke_run(api, owner, version, graph_model(raw_values))
    assert run.status == RunStatus.FAILED, run.error
    assert run.metrics["loads"] is True and run.metrics["validOutputs"] is False
    assert "between 0 and 1" in run.metrics["outputError"]
    # Nothing further is measured on a model that does not answer with probabilities.
    assert run.metrics["deterministic"] is None and run.metrics["latencyP95Ms"] is None
    failed = {r["metric"]: r["value"] for r in run.threshold_results if r["passed"] is False}
    assert failed == {"validOutputs": 0.0}


def test_a_model_answering_at_random_fails_deterministic(api, owner, version):
    run = smoke_run(api, owner, version, graph_model(random_scores))
    assert run.status == RunStatus.FAILED, run.error
    assert run.metrics["validOutputs"] is True and run.metrics["deterministic"] is False
    assert run.metrics["determinism"]["maxAbsDiff"] > 0
    failed = {r["metric"] for r in run.threshold_results if r["passed"] is False}
    assert failed == {"deterministic"}


def test_a_smoke_run_without_a_model_is_a_400_naming_the_artifact(api, owner, version):
    frame = feature_frame(100, seed=2).drop(columns="gender")
    response = post_run(api(owner), version, frame, suite="smoke")
    assert response.status_code == 400
    (message,) = response.json()["artifact"]
    assert "smoke suite runs the model" in message
    assert not EvaluationRun.objects.exists()


def test_the_smoke_suite_runs_the_model_even_when_the_dataset_carries_predictions(
    api, owner, version, classifier_onnx
):
    upload_model(api(owner), version, classifier_onnx)
    frame = feature_frame(300, seed=3).drop(columns="gender")
    frame["y_pred"], frame["y_score"] = 1, 0.9
    run = run_queued(post_run(api(owner), version, frame, suite="smoke", features=FEATURES))
    assert run.status == RunStatus.PASSED, run.error
    assert run.predictions_source == "REGISTRY" and run.metrics["latency"]["batchRows"] == 300


# ---- thresholds and the catalogue ----------------------------------------------------------


def test_smoke_thresholds_are_the_same_for_every_tier_and_latency_is_not_bounded_by_one():
    for tier in ("LOW", "MEDIUM", "HIGH"):
        assert thresholds_for_tier(tier)["smokeThresholds"] == {
            "loads": 1,
            "validOutputs": 1,
            "deterministic": 1,
            "latencyP95Ms": 1000,
        }
    assert validate_thresholds({"smokeThresholds": {"latencyP95Ms": 250}}) == {
        "smokeThresholds": {"latencyP95Ms": 250.0}
    }
    with pytest.raises(ThresholdsError, match="latencyP95Ms must be a finite number of 0"):
        validate_thresholds({"smokeThresholds": {"latencyP95Ms": -1}})
    with pytest.raises(ThresholdsError, match="loads must be between 0 and 1"):
        validate_thresholds({"smokeThresholds": {"loads": 2}})
    defaults = thresholds_for_tier("LOW")["smokeThresholds"]
    assert looser_than({"latencyP95Ms": 250}, defaults, "LOW") == []
    ((metric, message),) = looser_than({"latencyP95Ms": 5000}, defaults, "LOW")
    assert metric == "latencyP95Ms" and "(at or below)" in message


def test_a_looser_latency_is_a_400_for_the_owner(api, owner, version, classifier_onnx):
    upload_model(api(owner), version, classifier_onnx)
    frame = feature_frame(100, seed=2).drop(columns="gender")
    response = post_run(
        api(owner),
        version,
        frame,
        suite="smoke",
        thresholds='{"smokeThresholds": {"latencyP95Ms": 5000}}',
    )
    assert response.status_code == 400
    assert "latencyP95Ms: 5000 is looser" in response.json()["thresholds"][0]


def test_the_catalogue_describes_the_smoke_suite():
    (smoke,) = [s for s in suite_documents() if s["key"] == "smoke"]
    assert smoke["thresholdsSection"] == "smokeThresholds"
    assert smoke["thresholdDirections"] == {
        "loads": "min",
        "validOutputs": "min",
        "deterministic": "min",
        "latencyP95Ms": "max",
    }
    assert smoke["defaultThresholds"]["LOW"]["latencyP95Ms"] == 1000
    assert smoke["requiredColumns"] == []


# ---- the LOW tier's evaluation policy ------------------------------------------------------


def low_policy(version):
    gate = dry_run_gate(version, environment="staging")
    return next(e for e in gate.evaluations if e.policy.policy_id == "evaluation-requirements-low")


def test_the_low_policy_needs_a_passed_smoke_run_on_the_registrys_model(owner):
    call_command("load_policies", PACK, verbosity=0)
    model = RegisteredModelFactory(owner=owner, risk_tier="LOW")
    version = ModelVersionFactory(model=model)
    EvaluationRunFactory(version=version, suite="performance", predictions_source="REGISTRY")
    policy = low_policy(version)
    assert not policy.passed
    failed = [r["message"] for r in policy.rule_results if not r["passed"]]
    assert any("smoke suite must have passed" in m for m in failed)

    EvaluationRunFactory(version=version, suite="smoke", predictions_source="SUBMITTED")
    failed = [r["message"] for r in low_policy(version).rule_results if not r["passed"]]
    assert failed == ["The smoke suite must be run on the model artifact by the registry"]

    EvaluationRunFactory(
        version=version, suite="smoke", predictions_source="REGISTRY", artifact_sha256="a" * 64
    )
    assert low_policy(version).passed
