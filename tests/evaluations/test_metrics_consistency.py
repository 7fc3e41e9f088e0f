"""Individual fairness (consistency) against aif360 and known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.neighbors import NearestNeighbors

from evaluations.metrics.consistency import compute_consistency, consistency, standardize


def _aif360_formula(X: np.ndarray, y: np.ndarray, n_neighbors: int = 5) -> float:
    """aif360 0.6.1 ``BinaryLabelDatasetMetric.consistency``, line for line:

    X = self.dataset.features
    num_samples = X.shape[0]
    y = self.dataset.labels
    nbrs = NearestNeighbors(n_neighbors=n_neighbors, algorithm='ball_tree')
    nbrs.fit(X)
    _, indices = nbrs.kneighbors(X)
    consistency = 0.0
    for i in range(num_samples):
        consistency += np.abs(y[i] - np.mean(y[indices[i]]))
    consistency = 1.0 - consistency/num_samples
    return consistency
    """
    num_samples = X.shape[0]
    nbrs = NearestNeighbors(n_neighbors=n_neighbors, algorithm="ball_tree")
    nbrs.fit(X)
    _, indices = nbrs.kneighbors(X)
    total = 0.0
    for i in range(num_samples):
        total += np.abs(y[i] - np.mean(y[indices[i]]))
    return 1.0 - total / num_samples


def _small_case(seed: int = 3):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(300, 4)) * [1.0, 10.0, 0.1, 5.0] + [0.0, 3.0, -1.0, 100.0]
    y = (X[:, 0] + 0.1 * X[:, 1] + rng.normal(size=300) > 0).astype(float)
    return X, y


def test_equals_aif360_on_a_small_case():
    import logging

    logging.disable(logging.WARNING)  # aif360 warns at import about absent optional extras
    try:
        pytest.importorskip("aif360")
        from aif360.datasets import BinaryLabelDataset
        from aif360.metrics import BinaryLabelDatasetMetric
    finally:
        logging.disable(logging.NOTSET)
    X, y = _small_case()
    Z, _ = standardize(X)
    frame = pd.DataFrame(Z, columns=["a", "b", "c", "d"])
    frame["s"] = (X[:, 0] > 0).astype(float)
    frame["y"] = y
    dataset = BinaryLabelDataset(df=frame, label_names=["y"], protected_attribute_names=["s"])
    # aif360's features include the protected column; drop it to match the non-sensitive rule.
    dataset.features = dataset.features[:, :4]
    expected = BinaryLabelDatasetMetric(
        dataset, unprivileged_groups=[{"s": 0}], privileged_groups=[{"s": 1}]
    ).consistency()
    assert consistency(X, y) == pytest.approx(float(np.asarray(expected).item()), abs=1e-12)


def test_equals_aif360_source_formula():
    X, y = _small_case(4)
    Z, keep = standardize(X)
    assert keep.all()
    assert consistency(X, y) == pytest.approx(_aif360_formula(Z, y), abs=1e-12)


def test_z_scoring_uses_population_std_and_drops_constant_columns():
    X, y = _small_case(5)
    with_constant = np.column_stack([X, np.full(len(X), 7.0)])
    Z, keep = standardize(with_constant)
    assert keep.tolist() == [True, True, True, True, False]
    np.testing.assert_allclose(Z.std(axis=0), 1.0)
    np.testing.assert_allclose(Z, (X - X.mean(axis=0)) / X.std(axis=0, ddof=0))
    assert consistency(with_constant, y) == consistency(X, y)
    # The scale of a column does not matter once it is z-scored.
    assert consistency(X * [1000.0, 1.0, 1.0, 1.0], y) == pytest.approx(consistency(X, y))


def test_a_label_that_follows_well_separated_clusters_is_fully_consistent():
    rng = np.random.default_rng(0)
    centre = np.where(rng.random(1_000) < 0.5, -5.0, 5.0)
    X = np.column_stack([centre + rng.normal(size=1_000), rng.normal(size=(1_000, 2)) * 0.1])
    y = (X[:, 0] > 0).astype(int)
    assert consistency(X, y) == 1.0


def test_random_labels_are_about_half_consistent():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(4_000, 3))
    y = rng.integers(0, 2, size=4_000)
    # E|y - mean of self + 4 random labels| = 0.4 for fair coins, so consistency ~ 0.6.
    assert 0.5 <= consistency(X, y) <= 0.65


def test_compute_consistency_reads_the_named_columns_and_samples():
    rng = np.random.default_rng(2)
    n = 3_000
    frame = pd.DataFrame(
        {
            "x0": rng.normal(size=n),
            "x1": rng.normal(size=n) * 50,
            "flag": rng.random(n) < 0.5,
            "city": rng.choice(["a", "b"], size=n),
            "const": 1.0,
            "sex": rng.integers(0, 2, size=n),
        }
    )
    y = (frame["x0"] > 0).astype(int).to_numpy()
    columns = ["x0", "x1", "flag", "city", "const"]

    metrics, notes = compute_consistency(frame, y, feature_columns=columns)
    X = frame[["x0", "x1", "flag"]].to_numpy(dtype=float)
    assert metrics["consistency"] == pytest.approx(consistency(X, y), abs=1e-12)
    assert metrics["unavailable"] == {}
    method = metrics["methods"]["consistency"]
    assert method["sample"] == n
    assert method["parameters"]["columns"] == ["x0", "x1", "flag"]
    assert method["parameters"]["columnsLeftOut"] == ["city"]
    assert method["parameters"]["constantColumnsDropped"] == ["const"]
    assert any("city" in note for note in notes)

    sampled, _ = compute_consistency(frame, y, feature_columns=columns, sample=1_000, seed=7)
    again, _ = compute_consistency(frame, y, feature_columns=columns, sample=1_000, seed=7)
    assert sampled == again
    assert sampled["methods"]["consistency"]["sample"] == 1_000
    assert "sample of 1000" in sampled["methods"]["consistency"]["sampling"]
    assert 0.8 < sampled["consistency"] < 1.0


def test_rows_with_missing_values_are_left_out():
    X, y = _small_case(6)
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    frame.loc[[0, 5], "b"] = np.nan
    metrics, notes = compute_consistency(frame, y, feature_columns=["a", "b", "c", "d"])
    keep = np.ones(len(X), dtype=bool)
    keep[[0, 5]] = False
    assert metrics["consistency"] == pytest.approx(consistency(X[keep], y[keep]), abs=1e-12)
    assert metrics["methods"]["consistency"]["rowsExcluded"] == 2
    assert any("2 rows" in note for note in notes)


@pytest.mark.parametrize(
    ("frame", "y_pred", "columns", "reason"),
    [
        (pd.DataFrame({"a": [1.0, 2.0]}), None, ["a"], "y_pred"),
        (pd.DataFrame({"a": ["x"] * 9}), [0] * 9, ["a"], "no numeric"),
        (pd.DataFrame({"a": [1.0] * 9}), [0] * 9, ["a"], "constant"),
        (pd.DataFrame({"a": [1.0, 2.0, 3.0]}), [0, 1, 0], ["a"], "at least 5"),
        (pd.DataFrame({"a": [1.0, 2.0, 3.0]}), [0, 1], ["a"], "2 predicted labels"),
    ],
)
def test_unusable_input_gives_none_and_a_reason(frame, y_pred, columns, reason):
    metrics, notes = compute_consistency(frame, y_pred, feature_columns=columns)
    assert metrics["consistency"] is None
    assert reason in metrics["unavailable"]["consistency"]
    assert notes
