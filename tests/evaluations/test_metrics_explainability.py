"""The explainability suite's metrics: the Shapley estimator against exact values, and known
answers on ONNX models."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pandas as pd
import pytest
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeClassifier

from evaluations.metrics.explainability import (
    EXPLAINABILITY_METRICS,
    compute_explainability,
    shapley_values,
)
from registry.execution import ExecutableModel, ExecutionError, Scorer


def _scorer(clf, X: np.ndarray, y: np.ndarray) -> Scorer:
    d = X.shape[1]
    clf.fit(X.astype(np.float32), y)
    onx = convert_sklearn(
        clf,
        initial_types=[("x", FloatTensorType([None, d]))],
        options={id(clf): {"zipmap": False}},
    )
    frame = pd.DataFrame(X[:5], columns=[f"f{i}" for i in range(d)])
    return Scorer.for_frame(ExecutableModel.load(onx.SerializeToString()), frame)


def _toy(x: np.ndarray) -> np.ndarray:
    """A 3-feature score with an interaction, so Shapley values are not just main effects."""
    return 1.0 / (1.0 + np.exp(-(x[:, 0] + 2.0 * x[:, 1] * x[:, 2] - 0.5 * x[:, 2])))


def _exact(f, X: np.ndarray, background: np.ndarray) -> np.ndarray:
    """Interventional Shapley values by enumerating every coalition:
    phi_j = sum_S |S|!(d-|S|-1)!/d! [v(S + j) - v(S)], v(S) = mean_z f(x_S, z_rest)."""
    n, d = X.shape
    phi = np.zeros((n, d))
    for i, x in enumerate(X):

        def v(S, x=x):
            points = background.copy()
            points[:, list(S)] = x[list(S)]
            return f(points).mean()

        for j in range(d):
            rest = [k for k in range(d) if k != j]
            for size in range(d):
                for S in itertools.combinations(rest, size):
                    w = math.factorial(size) * math.factorial(d - size - 1) / math.factorial(d)
                    phi[i, j] += w * (v((*S, j)) - v(S))
    return phi


def test_estimator_converges_to_exact_shapley_values():
    rng = np.random.default_rng(0)
    background = rng.normal(size=(12, 3))
    X = rng.normal(size=(6, 3))
    exact = _exact(_toy, X, background)
    estimate = shapley_values(_toy, X, background, permutations=60_000, rng=rng)
    # Monte Carlo error: about 0.002 at 60,000 draws per row.
    np.testing.assert_allclose(estimate, exact, atol=0.006)
    # Efficiency: the values of a row sum to f(x) minus the background's mean score.
    np.testing.assert_allclose(exact.sum(axis=1), _toy(X) - _toy(background).mean(), atol=1e-12)


def test_exact_enumeration_is_what_shap_computes():
    shap = pytest.importorskip("shap")
    rng = np.random.default_rng(1)
    background = rng.normal(size=(8, 3))
    X = rng.normal(size=(4, 3))
    masker = shap.maskers.Independent(background, max_samples=len(background))
    expected = shap.explainers.Exact(_toy, masker)(X).values
    np.testing.assert_allclose(_exact(_toy, X, background), expected, atol=1e-10)


@pytest.fixture(scope="module")
def three_of_ten():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(6_000, 10))
    y = (X[:, 0] - X[:, 1] + 0.7 * X[:, 2] + 0.5 * rng.logistic(size=6_000) > 0).astype(int)
    scorer = _scorer(GradientBoostingClassifier(n_estimators=40, random_state=0), X, y)
    return scorer, X, y


def test_a_model_using_one_feature_ranks_it_first_and_the_others_zero():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(3_000, 6))
    y = (X[:, 3] > 0.2).astype(int)
    scorer = _scorer(DecisionTreeClassifier(max_depth=3, random_state=0), X, y)

    metrics, _ = compute_explainability(scorer, X, y, sample=300, seed=0)

    importance = metrics["featureImportance"]
    assert next(iter(importance)) == "f3"
    assert importance["f3"] > 0.3
    assert all(importance[f"f{j}"] == 0.0 for j in (0, 1, 2, 4, 5))
    # The tree reads f3 alone, so every resample ranks it first and ties the rest.
    assert metrics["explanationStability"] == pytest.approx(1.0)
    assert metrics["unavailable"] == {}


def test_faithfulness_and_stability_on_a_model_using_three_of_ten_features(three_of_ten):
    scorer, X, y = three_of_ten

    metrics, notes = compute_explainability(scorer, X, y, sample=400, seed=0)

    assert set(metrics["faithfulness"]["topFeatures"]) == {"f0", "f1", "f2"}
    assert metrics["explanationFaithfulness"] > 0.2
    assert metrics["faithfulness"]["topDrop"] > max(metrics["faithfulness"]["otherDrops"])
    assert len(metrics["faithfulness"]["otherDrops"]) == 5
    assert metrics["explanationStability"] > 0.5
    assert len(metrics["stability"]["correlations"]) == 10
    bars = metrics["attributions"]
    assert [b["feature"] for b in bars[:3]] == list(metrics["featureImportance"])[:3]
    assert [b["importance"] for b in bars] == sorted((b["importance"] for b in bars), reverse=True)
    assert notes == []
    json.dumps(metrics)  # JSON-friendly throughout
    method = metrics["methods"]["featureImportance"]
    assert method["sample"] == 400
    assert method["parameters"]["backgroundSize"] == 200
    assert method["parameters"]["permutations"] == 16
    # Six explanations of 400 rows x 16 orders x 11 chain points, and 7 faithfulness blocks.
    assert method["parameters"]["modelRowsScored"] == 6 * 400 * 16 * 11 + 7 * 6_000


def test_stability_is_near_one_for_a_model_with_clearly_ordered_features():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(4_000, 5))
    y = (X @ np.array([3.0, -2.0, 1.2, 0.6, 0.25]) + rng.logistic(size=4_000) > 0).astype(int)
    scorer = _scorer(LogisticRegression(), X, y)

    metrics, _ = compute_explainability(scorer, X, y, sample=300, seed=1)

    assert list(metrics["featureImportance"]) == ["f0", "f1", "f2", "f3", "f4"]
    assert metrics["explanationStability"] > 0.95


def test_the_same_seed_gives_the_same_result(three_of_ten):
    scorer, X, y = three_of_ten
    first, _ = compute_explainability(scorer, X, y, sample=100, seed=5)
    again, _ = compute_explainability(scorer, X, y, sample=100, seed=5)
    other, _ = compute_explainability(scorer, X, y, sample=100, seed=6)
    assert first == again
    assert first["featureImportance"] != other["featureImportance"]


def test_progress_is_reported_in_order(three_of_ten):
    scorer, X, y = three_of_ten
    seen = []
    compute_explainability(scorer, X, y, sample=100, progress=lambda f, m: seen.append(f))
    assert seen == sorted(seen)
    assert seen[0] >= 0.0 and seen[-1] == 1.0
    assert len(seen) >= 8


def test_one_class_or_missing_labels_leave_faithfulness_unavailable(three_of_ten):
    scorer, X, _ = three_of_ten
    metrics, notes = compute_explainability(scorer, X, np.ones(len(X)), sample=100)
    assert metrics["featureImportance"] is not None
    assert metrics["explanationStability"] is not None
    assert metrics["explanationFaithfulness"] is None
    assert "both classes" in metrics["unavailable"]["explanationFaithfulness"]
    assert any("explanationFaithfulness" in n for n in notes)

    metrics, _ = compute_explainability(scorer, X, None, sample=50)
    assert "y_true" in metrics["unavailable"]["explanationFaithfulness"]
    metrics, _ = compute_explainability(scorer, X, np.full(len(X), 2), sample=50)
    assert "0 or 1" in metrics["unavailable"]["explanationFaithfulness"]


def test_three_features_are_too_few_for_faithfulness():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(1_000, 3))
    y = (X[:, 0] > 0).astype(int)
    scorer = _scorer(LogisticRegression(), X, y)
    metrics, _ = compute_explainability(scorer, X, y, sample=50)
    assert metrics["explanationFaithfulness"] is None
    assert "at least 4 model features" in metrics["unavailable"]["explanationFaithfulness"]
    assert next(iter(metrics["featureImportance"])) == "f0"


def test_four_features_compare_the_top_three_with_the_one_left():
    rng = np.random.default_rng(6)
    X = rng.normal(size=(2_000, 4))
    y = (X[:, 0] + X[:, 1] + X[:, 2] + 0.3 * rng.logistic(size=2_000) > 0).astype(int)
    scorer = _scorer(LogisticRegression(), X, y)
    metrics, _ = compute_explainability(scorer, X, y, sample=100)
    assert metrics["faithfulness"]["otherFeatures"] == [["f3"]]
    assert metrics["explanationFaithfulness"] > 0.2


class _Refusing:
    """A scorer whose model fails every query."""

    features = ("a", "b", "c", "d")
    rows_scored = 0

    def score(self, X):
        raise ExecutionError("onnxruntime failed: broken model")


class _NaN(_Refusing):
    def score(self, X):
        return np.full(len(X), np.nan)


@pytest.mark.parametrize(("scorer", "reason"), [(_Refusing(), "broken"), (_NaN(), "non-finite")])
def test_a_failing_model_gives_none_and_reasons(scorer, reason):
    X = np.random.default_rng(7).normal(size=(50, 4))
    metrics, notes = compute_explainability(scorer, X, np.arange(50) % 2)
    for name in EXPLAINABILITY_METRICS:
        assert metrics[name] is None
        assert reason in metrics["unavailable"][name]
    assert metrics["attributions"] is None
    assert len(notes) == 3


def test_rows_with_missing_values_are_left_out(three_of_ten):
    scorer, X, y = three_of_ten
    X = X[:500].copy()
    X[:10, 4] = np.nan
    metrics, notes = compute_explainability(scorer, X, y[:500], sample=100)
    assert metrics["methods"]["featureImportance"]["parameters"]["rowsExcluded"] == 10
    assert metrics["methods"]["explanationFaithfulness"]["sample"] == 490
    assert any("10 rows" in n for n in notes)
    assert metrics["explanationFaithfulness"] is not None
