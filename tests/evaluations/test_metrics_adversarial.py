"""Robustness suite, model-level metrics: HopSkipJump (ART 1.20.1) and Gaussian noise.

Known answers come from logistic regressions, where the smallest L-inf perturbation (in units
of each feature's standard deviation) that flips row i is exactly
|logit_i| / sum_j |w_j| std_j.
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pandas as pd
import pytest
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType
from sklearn.linear_model import LogisticRegression

from evaluations.metrics.adversarial import (
    DEFAULT_SAMPLE,
    EPSILON_GRID,
    compute_model_robustness,
)
from registry.execution import ExecutableModel, ExecutionError, Scorer

COLUMNS = ["a", "b", "c", "k"]  # k is constant: never perturbed


def _scorer(clf, X: np.ndarray) -> Scorer:
    d = X.shape[1]
    onx = convert_sklearn(
        clf,
        initial_types=[("x", FloatTensorType([None, d]))],
        options={id(clf): {"zipmap": False}},
    )
    model = ExecutableModel.load(onx.SerializeToString())
    return Scorer.for_frame(model, pd.DataFrame(X, columns=COLUMNS[:d]))


def _exact_distance(clf, X: np.ndarray) -> np.ndarray:
    """Smallest L-inf distance to the decision boundary in z-scored space (per row)."""
    std = X.std(axis=0)
    return np.abs(clf.decision_function(X)) / np.sum(np.abs(clf.coef_[0]) * std)


def _curve(metrics) -> dict[float, dict]:
    return {row["epsilon"]: row for row in metrics["perturbationCurve"]}


@pytest.fixture(scope="module")
def robust():
    """Two clusters 8 std-units of x_a apart: every row is far from the boundary."""
    rng = np.random.default_rng(0)
    n = 60
    y = np.repeat([0, 1], n // 2)
    X = np.column_stack(
        [
            np.where(y == 1, 4.0, -4.0) + rng.uniform(-1, 1, n),
            rng.normal(0, 1, n),
            rng.normal(5, 3, n),
            np.full(n, 2.0),
        ]
    )
    clf = LogisticRegression(C=0.1).fit(X, y)
    y_true = y.copy()
    y_true[[0, 45]] = 1 - y_true[[0, 45]]  # two rows the model misclassifies
    scorer = _scorer(clf, X)
    metrics, notes = compute_model_robustness(scorer, X, y_true, epsilon=0.1, sample=n)
    return clf, X, y_true, metrics, notes


@pytest.fixture(scope="module")
def thin():
    """The boundary runs through the data, on three features at once: a perturbation of 0.3
    std in each moves a row by 0.9 std along the normal, so about 40% of rows can be flipped."""
    rng = np.random.default_rng(1)
    n = 60
    scale = np.array([1.0, 2.0, 5.0])
    X = rng.normal(size=(n, 3)) * scale
    y = ((X / scale).sum(axis=1) > 0).astype(int)
    clf = LogisticRegression(C=1e4, max_iter=1000).fit(X, y)
    scorer = _scorer(clf, X)
    progress = []
    metrics, notes = compute_model_robustness(
        scorer, X, y, epsilon=0.3, sample=n, seed=3, progress=lambda f, m: progress.append(f)
    )
    return clf, X, y, scorer, metrics, notes, progress


def test_a_model_robust_by_construction_keeps_its_accuracy(robust):
    clf, X, y_true, metrics, _ = robust
    correct = clf.predict(X) == y_true
    # The margin condition: every correctly classified row is further than epsilon (and than
    # the largest epsilon of the curve) from the boundary in every L-inf direction.
    assert _exact_distance(clf, X)[correct].min() > max(EPSILON_GRID)
    assert metrics["cleanAccuracy"] == pytest.approx(correct.mean())
    assert metrics["cleanAccuracy"] == pytest.approx(58 / 60)
    assert metrics["adversarialAccuracy"] == metrics["cleanAccuracy"]
    assert metrics["adversarialAccuracyDrop"] == 0.0
    assert metrics["noiseAccuracy"] == metrics["cleanAccuracy"]
    assert all(
        row["adversarialAccuracy"] == metrics["cleanAccuracy"]
        for row in metrics["perturbationCurve"]
    )
    assert metrics["unavailable"] == {}


def test_examples_found_beyond_epsilon_do_not_count(robust):
    clf, X, y_true, *_ = robust
    scorer = _scorer(clf, X)
    # Every boundary lies between 0.75 and 1.3 std away: the attack reaches all of them within
    # 3 std, and none of them counts at 0.4 or below.
    metrics, _ = compute_model_robustness(scorer, X, y_true, epsilon=3.0, sample=20, seed=2)
    curve = _curve(metrics)
    assert metrics["adversarialAccuracy"] == 0.0
    assert curve[0.4]["adversarialAccuracy"] == metrics["cleanAccuracy"] > 0.9


def test_a_thin_margin_model_is_fooled_and_never_beyond_epsilon(thin):
    clf, X, y, _, metrics, _, _ = thin
    correct = clf.predict(X) == y
    exact = _exact_distance(clf, X)
    clean = metrics["cleanAccuracy"]
    assert clean == pytest.approx(correct.mean())
    assert metrics["adversarialAccuracy"] < clean - 0.2
    assert metrics["adversarialAccuracyDrop"] == pytest.approx(
        clean - metrics["adversarialAccuracy"]
    )
    for e, row in _curve(metrics).items():
        # The bound: only rows whose boundary lies within e (float32 slack) can count as fooled,
        # so the attack's accuracy is never below the exact accuracy within the ball.
        may_fool = correct & (exact <= e * (1 + 1e-3) + 1e-6)
        assert row["adversarialAccuracy"] >= clean - may_fool.mean() - 1e-12, e
        # And the attack is close to optimal: it finds the rows clearly inside the ball.
        must_fool = correct & (exact <= 0.8 * e)
        assert row["adversarialAccuracy"] <= clean - must_fool.mean() + 2 / len(X), e


def test_the_curve_is_non_increasing_and_holds_the_requested_epsilon(thin):
    metrics = thin[4]
    curve = metrics["perturbationCurve"]
    assert [row["epsilon"] for row in curve] == sorted({*EPSILON_GRID, 0.3})
    adversarial = [row["adversarialAccuracy"] for row in curve]
    assert all(b <= a for a, b in itertools.pairwise(adversarial))
    at = _curve(metrics)
    assert at[0.0]["adversarialAccuracy"] == metrics["cleanAccuracy"]
    assert at[0.0]["noiseAccuracy"] == metrics["cleanAccuracy"]
    assert at[0.3]["adversarialAccuracy"] == metrics["adversarialAccuracy"]
    assert at[0.3]["noiseAccuracy"] == metrics["noiseAccuracy"]
    # Noise of the same scale hurts far less than the worst case.
    assert metrics["noiseAccuracy"] > metrics["adversarialAccuracy"]


def test_methods_report_the_attack_and_its_measured_queries(thin):
    metrics = thin[4]
    adv = metrics["methods"]["adversarialAccuracy"]
    assert adv["method"] == "HopSkipJump (Chen et al. 2020), decision-based black-box"
    assert adv["library"] == "adversarial-robustness-toolbox 1.20.1"
    assert (adv["sample"], adv["seed"]) == (60, 3)
    p = adv["parameters"]
    assert p["epsilon"] == 0.3 and p["norm"] == "inf"
    assert {"maxIter", "maxEval", "initEval", "maxQueriesPerRow"} <= set(p)
    assert p["rowsAttacked"] > 0 and p["queries"] > 0
    assert p["queriesPerRow"] == pytest.approx(p["queries"] / p["rowsAttacked"])
    drop = metrics["cleanAccuracy"] - metrics["adversarialAccuracy"]
    assert p["rowsFooled"] == round(drop * 60)
    noise = metrics["methods"]["noiseAccuracy"]
    assert noise["method"] == "Gaussian noise"
    assert (noise["sample"], noise["seed"], noise["parameters"]["epsilon"]) == (60, 3, 0.3)


def test_progress_is_reported_from_start_to_end(thin):
    progress = thin[6]
    assert progress[-1] == 1.0
    assert all(0.0 <= f <= 1.0 for f in progress)
    assert progress == sorted(progress)


def test_the_same_seed_gives_the_same_result(thin):
    _, X, y, scorer, *_ = thin
    first = compute_model_robustness(scorer, X, y, epsilon=0.1, sample=25, seed=7)
    second = compute_model_robustness(scorer, X, y, epsilon=0.1, sample=25, seed=7)
    assert first == second


def test_epsilon_zero_changes_nothing(thin):
    _, X, y, scorer, *_ = thin
    metrics, _ = compute_model_robustness(scorer, X, y, epsilon=0.0, sample=25)
    assert metrics["noiseAccuracy"] == metrics["cleanAccuracy"]
    assert metrics["adversarialAccuracy"] == metrics["cleanAccuracy"]
    assert metrics["adversarialAccuracyDrop"] == 0.0


def test_queries_grow_linearly_with_the_sample(thin):
    _, X, y, scorer, *_ = thin
    small, _ = compute_model_robustness(scorer, X, y, sample=15, seed=1)
    large, _ = compute_model_robustness(scorer, X, y, sample=30, seed=1)
    q_small = small["methods"]["adversarialAccuracy"]["parameters"]["queries"]
    q_large = large["methods"]["adversarialAccuracy"]["parameters"]["queries"]
    assert 1.4 < q_large / q_small < 2.8


def test_the_default_sample_and_a_seeded_subsample(thin):
    _, X, y, scorer, *_ = thin
    assert DEFAULT_SAMPLE == 200
    metrics, notes = compute_model_robustness(scorer, X, y, sample=10)
    assert metrics["methods"]["noiseAccuracy"]["sample"] == 10
    assert any("seeded sample of 10 rows" in note for note in notes)


def test_one_row_and_one_class_still_give_accuracies(thin):
    clf, X, y, scorer, *_ = thin
    metrics, _ = compute_model_robustness(scorer, X[:1], y[:1])
    # One row has no spread: nothing can be perturbed, accuracy is that row's.
    expected = float(clf.predict(X[:1])[0] == y[0])
    assert metrics["cleanAccuracy"] == expected
    assert metrics["adversarialAccuracy"] == expected
    assert metrics["noiseAccuracy"] == expected
    ones = y == 1
    metrics, notes = compute_model_robustness(scorer, X[ones], y[ones], sample=12)
    assert metrics["cleanAccuracy"] == 1.0
    assert 0.0 <= metrics["adversarialAccuracy"] <= 1.0
    assert any("one class only" in note for note in notes)


def test_rows_with_missing_values_are_not_sampled(thin):
    _, X, y, scorer, *_ = thin
    X = X[:12].copy()
    X[0, 1] = np.nan
    metrics, notes = compute_model_robustness(scorer, X, y[:12])
    assert metrics["methods"]["adversarialAccuracy"]["sample"] == 11
    assert any("1 rows with a missing" in note for note in notes)


def test_empty_input_and_a_failing_model_give_reasons_not_exceptions(thin):
    _, X, y, scorer, *_ = thin
    names = ("adversarialAccuracy", "noiseAccuracy", "cleanAccuracy")
    metrics, notes = compute_model_robustness(scorer, X[:0], y[:0])
    assert all(metrics[name] is None for name in names)
    assert "no rows" in metrics["unavailable"]["adversarialAccuracy"]
    assert metrics["perturbationCurve"] is None and notes

    # The scorer refuses a matrix of the wrong width with an ExecutionError.
    metrics, _ = compute_model_robustness(scorer, X[:, :2], y)
    assert all(metrics[name] is None for name in names)
    assert "could not be queried" in metrics["unavailable"]["noiseAccuracy"]

    metrics, _ = compute_model_robustness(scorer, X, None)
    assert "y_true" in metrics["unavailable"]["adversarialAccuracy"]


class _Refuses:
    """A model that answers clean inputs and refuses any perturbed one."""

    def __init__(self, scorer: Scorer, clean: np.ndarray):
        self.scorer, self.clean = scorer, clean
        self.rows_scored = 0

    def predict(self, X):
        X = np.asarray(X)
        if not all((row == self.clean).all(axis=1).any() for row in X):
            raise ExecutionError("onnxruntime failed: refused")
        self.rows_scored += len(X)
        return self.scorer.predict(X)


def test_a_model_failing_on_perturbed_inputs_keeps_clean_accuracy(thin):
    _, X, y, scorer, *_ = thin
    metrics, notes = compute_model_robustness(_Refuses(scorer, X[:10]), X[:10], y[:10])
    assert metrics["cleanAccuracy"] is not None
    assert metrics["noiseAccuracy"] is None and metrics["adversarialAccuracy"] is None
    assert "noisy inputs" in metrics["unavailable"]["noiseAccuracy"]
    assert "during the attack" in metrics["unavailable"]["adversarialAccuracy"]
    assert metrics["unavailable"]["adversarialAccuracyDrop"]
    assert metrics["perturbationCurve"] is None
    assert len(notes) == 2


def test_no_art_warnings_escape(thin):
    _, X, y, scorer, *_ = thin
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        compute_model_robustness(scorer, X, y, sample=5)
    assert not [w for w in caught if "PyTorch" in str(w.message) or "art" in w.filename]
