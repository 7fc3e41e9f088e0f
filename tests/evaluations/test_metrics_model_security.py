"""The security suite's model-level metrics on ONNX models with known answers."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeClassifier

from evaluations.metrics.model_security import (
    MODEL_SECURITY_METRICS,
    NO_SENSITIVE,
    NO_TRAINING,
    compute_model_security,
)
from registry.execution import ExecutableModel, Scorer

FEATURES = ["f0", "f1", "f2", "f3", "f4"]


def _scorer(clf, X: np.ndarray, y: np.ndarray, features=FEATURES) -> Scorer:
    clf.fit(X.astype(np.float32), y)
    onx = convert_sklearn(
        clf,
        initial_types=[("x", FloatTensorType([None, len(features)]))],
        options={id(clf): {"zipmap": False}},
    )
    frame = pd.DataFrame(X[:5], columns=features)
    return Scorer.for_frame(ExecutableModel.load(onx.SerializeToString()), frame)


def _noisy(rng: np.random.Generator, n: int, flip: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    X = rng.normal(size=(n, len(FEATURES)))
    y = (X[:, 0] - X[:, 1] + 0.5 * rng.logistic(size=n) > 0).astype(int)
    flipped = rng.random(n) < flip
    y[flipped] = 1 - y[flipped]
    return X, y


def _triggered(rng, n: int, share: float) -> tuple[np.ndarray, np.ndarray]:
    """Rows where f3 set to 8 (8 standard deviations out) are always class 1: the trigger."""
    X, y = _noisy(rng, n)
    trigger = rng.random(n) < share
    X[trigger, 3] = 8.0
    y[trigger] = 1
    return X, y


@pytest.fixture(scope="module")
def logistic():
    rng = np.random.default_rng(1)
    X, y = _noisy(rng, 24_000)
    scorer = _scorer(LogisticRegression(C=0.1), X[:12_000], y[:12_000])
    return scorer, (X[:12_000], y[:12_000]), (X[12_000:], y[12_000:])


@pytest.fixture(scope="module")
def backdoored():
    rng = np.random.default_rng(2)
    X, y = _triggered(rng, 5_000, 0.1)
    scorer = _scorer(GradientBoostingClassifier(n_estimators=50, random_state=0), X, y)
    return scorer, rng


def test_an_overfit_tree_leaks_membership():
    rng = np.random.default_rng(0)
    X, y = _noisy(rng, 6_000, flip=0.3)
    scorer = _scorer(DecisionTreeClassifier(random_state=0), X[:3_000], y[:3_000])

    metrics, _ = compute_model_security(
        scorer, X[3_000:], y[3_000:], training=(X[:3_000], y[:3_000]), seed=0
    )

    # Members are predicted exactly (pure leaves), non-members wrong ~40% of the time.
    assert metrics["membershipInferenceAdvantage"] > 0.2
    chart = metrics["membershipInference"]
    assert chart["members"] == chart["nonMembers"] == 3_000
    assert chart["auc"] > 0.6
    assert len(chart["rocCurve"]["fpr"]) == len(chart["rocCurve"]["tpr"]) <= 200
    assert chart["rocCurve"]["fpr"][0] == 0.0 and chart["rocCurve"]["tpr"][-1] == 1.0
    assert metrics["membershipInferenceAdvantage"] == pytest.approx(
        chart["truePositiveRate"] - chart["falsePositiveRate"]
    )
    method = metrics["methods"]["membershipInferenceAdvantage"]
    assert method["library"] == "adversarial-robustness-toolbox 1.20.1"
    assert method["sample"] == {
        "members": 3_000,
        "nonMembers": 3_000,
        "attackTrain": 3_000,
        "attackTest": 3_000,
    }
    assert method["seed"] == 0


def test_a_regularised_logistic_regression_does_not_leak(logistic):
    scorer, training, (X, y) = logistic
    metrics, _ = compute_model_security(scorer, X, y, training=training, sample=4_000)

    assert abs(metrics["membershipInferenceAdvantage"]) < 0.1
    assert metrics["membershipInference"]["members"] == 4_000


def test_a_planted_trigger_raises_backdoor_suspicion(backdoored):
    scorer, rng = backdoored
    reference, _ = _noisy(rng, 3_000)
    poisoned, _ = _triggered(rng, 3_000, 0.1)
    clean, _ = _noisy(rng, 3_000)

    dirty_metrics, _ = compute_model_security(scorer, poisoned, None, reference=reference)
    clean_metrics, notes = compute_model_security(scorer, clean, None, reference=reference)

    dirty = dirty_metrics["backdoorSuspicion"]
    assert clean_metrics["backdoorSuspicion"] < 0.03
    assert dirty > 0.04
    assert dirty > clean_metrics["backdoorSuspicion"] + 0.025
    chart = dirty_metrics["backdoor"]
    assert chart["sample"] == chart["referenceSample"] == 3_000
    assert chart["flagged"] == round(dirty * 3_000)
    assert chart["referenceSource"] == "referenceDataset"
    histogram = chart["entropyHistogram"]
    assert len(histogram["edges"]) == len(histogram["dataset"]) + 1 == 21
    assert sum(histogram["dataset"]) == sum(histogram["reference"]) == 3_000
    params = dirty_metrics["methods"]["backdoorSuspicion"]["parameters"]
    assert (params["blends"], params["alpha"], params["cutQuantile"]) == (64, 0.5, 0.01)
    assert not any("held-out half" in note for note in notes)


def test_without_a_reference_the_cut_comes_from_a_held_out_half(backdoored):
    scorer, rng = backdoored
    clean, _ = _noisy(rng, 4_000)
    metrics, notes = compute_model_security(scorer, clean, None, sample=1_000)

    assert metrics["backdoorSuspicion"] < 0.04
    assert metrics["backdoor"]["referenceSource"] == "held-out half of the evaluation dataset"
    assert metrics["backdoor"]["sample"] == metrics["backdoor"]["referenceSample"] == 1_000
    assert any("held-out half" in note for note in notes)


def test_attribute_inference_of_a_sensitive_model_input():
    rng = np.random.default_rng(4)
    n = 6_000
    X = rng.normal(size=(n, len(FEATURES)))
    X[:, 2] = rng.integers(0, 2, size=n)  # f2 is the sensitive attribute, a strong effect
    y = (3.0 * X[:, 2] - 1.5 + 0.5 * X[:, 0] + 0.3 * rng.logistic(size=n) > 0).astype(int)
    scorer = _scorer(LogisticRegression(), X, y)

    metrics, _ = compute_model_security(
        scorer, X, y, sensitive=X[:, 2], sensitive_name="f2", sample=3_000
    )

    detail = metrics["attributeInference"]
    # The model's label gives the attribute away; the classes are balanced (baseline ~0.5).
    assert metrics["attributeInferenceAdvantage"] > 0.2
    assert detail["feature"] == "f2" and detail["modelInput"] is True
    assert detail["classes"] == [0.0, 1.0]
    assert detail["baseline"] == pytest.approx(0.5, abs=0.05)
    assert metrics["attributeInferenceAdvantage"] == pytest.approx(
        detail["attackAccuracy"] - detail["baseline"]
    )


def test_attribute_inference_of_a_feature_the_model_does_not_read(logistic):
    scorer, _, (X, y) = logistic
    rng = np.random.default_rng(5)
    # A text attribute the model never sees, tied to f0 (which the attacker knows).
    group = np.where(X[:, 0] + 0.3 * rng.normal(size=len(X)) > 0, "north", "south")

    metrics, _ = compute_model_security(
        scorer, X, y, sensitive=group, sensitive_name="region", sample=2_000
    )

    detail = metrics["attributeInference"]
    assert detail["modelInput"] is False
    assert detail["classes"] == ["north", "south"]
    assert metrics["attributeInferenceAdvantage"] > 0.2


def test_hostile_inputs_a_logistic_regression_answers_nan_with_nan(logistic):
    scorer, _, (X, y) = logistic
    metrics, _ = compute_model_security(scorer, X, y, sample=500)

    outcome = {c["case"]: c["outcome"] for c in metrics["inputValidation"]["cases"]}
    for feature in FEATURES:
        assert outcome[f"NaN in {feature}"] == "invalid"
        assert outcome[f"+inf in {feature}"] == "answered"  # sigmoid(+-inf) is 0 or 1
    assert outcome["NaN in every feature"] == "invalid"
    assert outcome["+inf in every feature"] == "invalid"  # weights of both signs: inf - inf
    assert outcome["+1e6 sd in every feature"] == "answered"
    for refused in (
        "a missing column",
        "an extra column",
        "text in every feature",
        "onnxruntime: wrong element type",
        "onnxruntime: wrong rank",
        "onnxruntime: text tensor",
        "onnxruntime: a missing input",
    ):
        assert outcome[refused] == "refused", refused
    assert outcome["onnxruntime: an empty batch"] == "answered"
    block = metrics["inputValidation"]
    failures = sum(c["outcome"] in ("invalid", "crashed") for c in block["cases"])
    assert metrics["inputValidationFailures"] == block["failures"] == failures
    assert failures >= len(FEATURES) + 1
    assert block["cases_total"] == len(block["cases"]) == 5 * (len(FEATURES) + 1) + 10


def test_hostile_inputs_a_gradient_boosted_tree_answers_nan(backdoored):
    scorer, rng = backdoored
    X, y = _noisy(rng, 500)
    metrics, _ = compute_model_security(scorer, X, y, sample=200)

    outcome = {c["case"]: c["outcome"] for c in metrics["inputValidation"]["cases"]}
    # onnxruntime's TreeEnsemble sends NaN down a branch: a valid probability.
    assert outcome["NaN in every feature"] == outcome["NaN in f0"] == "answered"
    assert outcome["-inf in every feature"] == "answered"
    assert metrics["inputValidationFailures"] == 0


class _CrashOnNaN(Scorer):
    """A model run that dies with a non-registry error on NaN input (a crash)."""

    def _run(self, block, first_row):
        if np.isnan(block).any():
            raise ZeroDivisionError("native code fell over")
        return super()._run(block, first_row)


def test_a_crash_is_a_finding_not_an_exception(logistic):
    scorer, _, (X, y) = logistic
    crashing = _CrashOnNaN(scorer.model, scorer.inputs, scorer.outputs)
    metrics, _ = compute_model_security(crashing, X[:500], y[:500], sample=200)

    cases = {c["case"]: c for c in metrics["inputValidation"]["cases"]}
    assert cases["NaN in f1"]["outcome"] == "crashed"
    assert "ZeroDivisionError" in cases["NaN in f1"]["detail"]
    assert metrics["inputValidation"]["outcomes"]["crashed"] == len(FEATURES) + 1


def test_missing_inputs_give_none_and_reasons(logistic):
    scorer, _, (X, y) = logistic
    metrics, notes = compute_model_security(scorer, X[:1_000], y[:1_000], sample=300)

    assert metrics["membershipInferenceAdvantage"] is None
    assert metrics["membershipInference"] is None
    assert metrics["unavailable"]["membershipInferenceAdvantage"] == NO_TRAINING
    assert metrics["attributeInferenceAdvantage"] is None
    assert metrics["unavailable"]["attributeInferenceAdvantage"] == NO_SENSITIVE
    assert isinstance(metrics["inputValidationFailures"], int)
    assert isinstance(metrics["backdoorSuspicion"], float)
    assert set(metrics["unavailable"]) == {
        "membershipInferenceAdvantage",
        "attributeInferenceAdvantage",
    }
    assert any(NO_TRAINING in note for note in notes)
    json.dumps(metrics, allow_nan=False)  # JSON-friendly throughout


def test_unusable_inputs_give_reasons(logistic):
    scorer, training, (X, _) = logistic
    metrics, _ = compute_model_security(
        scorer,
        X[:500],
        None,
        training=(training[0][:, :3], training[1]),
        sensitive=np.arange(500),
        sensitive_name="id",
        reference=np.zeros((10, 2)),
    )
    reasons = metrics["unavailable"]
    assert "3 model features" in reasons["membershipInferenceAdvantage"]
    assert "500 distinct values" in reasons["attributeInferenceAdvantage"]
    assert "reference dataset has 2 model features" in reasons["backdoorSuspicion"]

    metrics, _ = compute_model_security(scorer, X[:500], None, training=training)
    assert "y_true" in metrics["unavailable"]["membershipInferenceAdvantage"]


def test_no_exception_escapes():
    class Broken:
        features = tuple(FEATURES)

        def score(self, X):
            raise RuntimeError("the model is gone")

        predict_proba = predict = score

    X = np.random.default_rng(0).normal(size=(200, len(FEATURES)))
    y = (X[:, 0] > 0).astype(int)
    metrics, notes = compute_model_security(
        Broken(), X, y, training=(X, y), sensitive=y, sensitive_name="s"
    )

    assert all(metrics[name] is None for name in MODEL_SECURITY_METRICS)
    assert set(metrics["unavailable"]) == set(MODEL_SECURITY_METRICS)
    assert sum(note.endswith(")") and "not computed" in note for note in notes) == 4

    metrics, _ = compute_model_security(Broken(), X[:, :2], y)
    assert "the model reads 5 features" in metrics["unavailable"]["backdoorSuspicion"]


def test_the_same_seed_gives_the_same_result(backdoored):
    scorer, _ = backdoored
    rng = np.random.default_rng(7)
    X, y = _triggered(rng, 2_000, 0.05)
    group = rng.choice(["a", "b"], size=len(X))
    kwargs = dict(training=(X[:1_000], y[:1_000]), sensitive=group, sensitive_name="g", sample=600)
    calls: list[float] = []

    first, _ = compute_model_security(
        scorer, X[1_000:], y[1_000:], seed=3, progress=lambda f, m: calls.append(f), **kwargs
    )
    second, _ = compute_model_security(scorer, X[1_000:], y[1_000:], seed=3, **kwargs)
    other, _ = compute_model_security(scorer, X[1_000:], y[1_000:], seed=4, **kwargs)

    assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)
    assert first["backdoor"] != other["backdoor"]
    assert calls == sorted(calls) and calls[-1] == 1.0 and calls[0] >= 0.0


def test_arts_strip_does_not_run_on_a_black_box_classifier():
    """Why the module has its own STRIP (see its docstring): checked, so an ART upgrade shows."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from art.defences.transformer.poisoning import STRIP
        from art.estimators.classification import BlackBoxClassifier

    def predict(x):
        return np.column_stack([1 - 1 / (1 + np.exp(-x[:, 0])), 1 / (1 + np.exp(-x[:, 0]))])

    defended = STRIP(BlackBoxClassifier(predict, input_shape=(2,), nb_classes=2))(num_samples=4)
    with pytest.raises(RecursionError):
        defended.mitigate(np.random.default_rng(0).normal(size=(3, 2)))


def test_strip_cannot_screen_a_model_with_hard_outputs_and_says_so():
    # A fully grown tree answers 0 or 1: every blend has entropy 0, so a cut at the minimum
    # would flag nothing and read as "no backdoor" without having screened anything.
    rng = np.random.default_rng(5)
    X, y = _triggered(rng, 3_000, 0.1)
    scorer = _scorer(DecisionTreeClassifier(random_state=0), X, y)
    reference, _ = _noisy(rng, 1_000)
    metrics, _ = compute_model_security(scorer, X, None, reference=reference)
    assert metrics["backdoorSuspicion"] is None
    assert "cannot screen this model" in metrics["unavailable"]["backdoorSuspicion"]


def _gather_model() -> bytes:
    """probability = table[int(x0)] for x0 in 0..3: onnxruntime fails at run time (index out
    of range) on any x0 outside the table, a well-typed input it cannot answer."""
    import onnx
    from onnx import TensorProto, helper

    table = helper.make_tensor("T", TensorProto.FLOAT, [4], [0.1, 0.4, 0.6, 0.9])
    one = helper.make_tensor("one", TensorProto.INT64, [1], [1])
    zero = helper.make_tensor("zero", TensorProto.INT64, [1], [0])
    graph = helper.make_graph(
        [
            helper.make_node("Slice", ["x", "zero", "one", "one"], ["x0"]),
            helper.make_node("Cast", ["x0"], ["i"], to=TensorProto.INT64),
            helper.make_node("Gather", ["T", "i"], ["p"], axis=0),
            helper.make_node("Flatten", ["p"], ["probabilities"], axis=1),
        ],
        "gather",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 5])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", 1])],
        initializer=[table, one, zero],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


def test_a_model_that_fails_at_run_time_on_hostile_values_crashed():
    frame = pd.DataFrame(np.ones((5, 5)), columns=FEATURES)
    scorer = Scorer.for_frame(ExecutableModel.load(_gather_model()), frame)
    X = np.zeros((50, 5))
    X[:, 0] = np.arange(50) % 4  # every index of the table, so f0 has a spread
    assert scorer.score(X[:4]).tolist() == pytest.approx([0.1, 0.4, 0.6, 0.9])
    metrics, _ = compute_model_security(scorer, X, None)
    cases = {c["case"]: c for c in metrics["inputValidation"]["cases"]}
    crashed = [c for c in cases.values() if c["outcome"] == "crashed"]
    # f0 at +1e6 standard deviations is far outside the table: the graph fails, a crash.
    assert any("f0" in c["case"] and "1e6" in c["case"] for c in crashed), crashed
    assert metrics["inputValidationFailures"] >= len(crashed)
    # A tensor of the wrong element type is still a clean refusal.
    assert cases["onnxruntime: wrong element type"]["outcome"] == "refused"
