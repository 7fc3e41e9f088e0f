"""Performance metrics compared with scikit-learn (the oracle)."""

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
    roc_curve,
)

from evaluations.metrics import compute_performance, grouped_roc_auc, roc_curve_points, run_suite
from evaluations.metrics._common import MISSING_LABEL


def make_data(n=5000, seed=7, score_decimals=None):
    rng = np.random.default_rng(seed)
    group = rng.choice(["A", "B"], size=n, p=[0.6, 0.4])
    y_true = rng.binomial(1, 0.4, size=n)
    score = np.clip(0.35 * y_true + 0.65 * rng.random(n) - 0.15 * (group == "B"), 0.0, 1.0)
    if score_decimals is not None:
        score = np.round(score, score_decimals)
    y_pred = (score >= 0.5).astype(int)
    return pd.DataFrame(
        {
            "y_true": y_true,
            "y_pred": y_pred,
            "y_score": score,
            "group": group,
            "region": rng.choice(["north", "south", "east", "west"], size=n),
            "income": rng.normal(50_000, 12_000, size=n),
        }
    )


def sk_metrics(y_true, y_pred):
    return {
        "accuracy": accuracy_score(y_true, y_pred),
        "precision": precision_score(y_true, y_pred),
        "recall": recall_score(y_true, y_pred),
        "f1Score": f1_score(y_true, y_pred),
    }


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_metric_matches_sklearn(seed):
    df = make_data(seed=seed)
    metrics, notes = compute_performance(df)
    y_true, y_pred, score = df["y_true"], df["y_pred"], df["y_score"]
    for name, expected in sk_metrics(y_true, y_pred).items():
        assert metrics[name] == pytest.approx(expected, abs=1e-12), name
    assert metrics["rocAuc"] == pytest.approx(roc_auc_score(y_true, score), abs=1e-12)
    tn, fp, fn, tp = confusion_matrix(y_true, y_pred, labels=[0, 1]).ravel()
    assert metrics["confusionMatrix"] == {"tn": tn, "fp": fp, "fn": fn, "tp": tp}
    assert metrics["support"] == {
        "total": len(df),
        "positives": int(y_true.sum()),
        "negatives": int((y_true == 0).sum()),
        "predictedPositives": int(y_pred.sum()),
        "predictedNegatives": int((y_pred == 0).sum()),
    }
    assert metrics["unavailable"] == {}
    assert notes == []


def test_roc_auc_with_many_ties_matches_sklearn():
    df = make_data(seed=11, score_decimals=1)
    metrics, _ = compute_performance(df)
    assert metrics["rocAuc"] == pytest.approx(roc_auc_score(df["y_true"], df["y_score"]))


def test_roc_curve_equals_sklearn_when_small():
    df = make_data(n=3000, seed=4, score_decimals=2)
    metrics, _ = compute_performance(df)
    fpr, tpr, thr = roc_curve(df["y_true"], df["y_score"])
    curve = metrics["rocCurve"]
    assert len(fpr) <= 200
    assert curve["downsampled"] is False
    assert curve["points"] == curve["totalPoints"] == len(fpr)
    assert curve["fpr"] == pytest.approx(fpr.tolist())
    assert curve["tpr"] == pytest.approx(tpr.tolist())
    assert np.isinf(thr[0]) and curve["thresholds"][0] is None
    assert curve["thresholds"][1:] == pytest.approx(thr[1:].tolist())


@pytest.mark.parametrize("drop", [True, False])
def test_roc_curve_points_equal_sklearn(drop):
    df = make_data(n=2000, seed=5)
    y_true = df["y_true"].to_numpy()
    score = df["y_score"].to_numpy()
    fpr, tpr, thr = roc_curve_points(y_true, score, drop_intermediate=drop)
    sk_fpr, sk_tpr, sk_thr = roc_curve(y_true, score, drop_intermediate=drop)
    np.testing.assert_allclose(fpr, sk_fpr)
    np.testing.assert_allclose(tpr, sk_tpr)
    np.testing.assert_array_equal(thr, sk_thr)


def test_roc_curve_downsampled_to_at_most_200_points_of_sklearns_curve():
    df = make_data(n=50_000, seed=6)
    metrics, _ = compute_performance(df)
    curve = metrics["rocCurve"]
    fpr, tpr, _ = roc_curve(df["y_true"], df["y_score"])
    assert len(fpr) > 200
    assert curve["downsampled"] is True
    assert curve["totalPoints"] == len(fpr)
    assert 2 <= curve["points"] == len(curve["fpr"]) == len(curve["tpr"]) <= 200
    assert (curve["fpr"][0], curve["tpr"][0]) == (0.0, 0.0)
    assert (curve["fpr"][-1], curve["tpr"][-1]) == (1.0, 1.0)
    assert np.all(np.diff(curve["fpr"]) >= 0) and np.all(np.diff(curve["tpr"]) >= 0)
    sk_points = set(zip(fpr.tolist(), tpr.tolist(), strict=True))
    assert all(p in sk_points for p in zip(curve["fpr"], curve["tpr"], strict=True))
    # the AUC is computed on the full curve, not on the downsampled one
    assert metrics["rocAuc"] == pytest.approx(roc_auc_score(df["y_true"], df["y_score"]))


def test_one_class_only_rocauc_is_none_with_reason_and_rest_matches_sklearn():
    df = make_data(n=500, seed=8)
    df["y_true"] = 0
    with pytest.warns(UndefinedMetricWarning):
        expected = sk_metrics(df["y_true"], df["y_pred"])
    metrics, notes = compute_performance(df)
    for name, value in expected.items():
        assert metrics[name] == pytest.approx(value), name
    assert metrics["rocAuc"] is None
    assert metrics["rocCurve"] is None
    assert "only class 0" in metrics["unavailable"]["rocAuc"]
    assert any("recall is undefined" in n for n in notes)


def test_all_predictions_zero_precision_follows_sklearn_zero_division():
    df = make_data(n=500, seed=9)
    df["y_pred"] = 0
    with pytest.warns(UndefinedMetricWarning):
        sk_precision = precision_score(df["y_true"], df["y_pred"])
    sk_f1 = f1_score(df["y_true"], df["y_pred"])  # 2tp / (2tp + fp + fn) = 0 / fn: defined
    metrics, notes = compute_performance(df)
    assert metrics["precision"] == sk_precision == 0.0
    assert metrics["recall"] == recall_score(df["y_true"], df["y_pred"]) == 0.0
    assert metrics["f1Score"] == pytest.approx(sk_f1)
    assert any("precision is undefined" in n and "zero_division" in n for n in notes)
    assert metrics["rocAuc"] == pytest.approx(roc_auc_score(df["y_true"], df["y_score"]))


def test_no_positive_labels_nor_predictions_f1_matches_sklearn():
    df = pd.DataFrame({"y_true": [0, 0, 0], "y_pred": [0, 0, 0]})
    with pytest.warns(UndefinedMetricWarning):
        sk_f1 = f1_score(df["y_true"], df["y_pred"])
    metrics, notes = compute_performance(df)
    assert metrics["f1Score"] == sk_f1 == 0.0
    assert metrics["accuracy"] == 1.0
    assert any("f1Score is undefined" in n for n in notes)


def test_without_score_rocauc_is_none_with_reason():
    df = make_data(n=300, seed=10).drop(columns="y_score")
    metrics, notes = compute_performance(df)
    assert metrics["rocAuc"] is None and metrics["rocCurve"] is None
    assert "no y_score column" in metrics["unavailable"]["rocAuc"]
    assert any("rocAuc not computed" in n for n in notes)


def test_segments_match_sklearn_on_each_subset():
    df = make_data(n=4000, seed=12, score_decimals=2)
    metrics, _ = compute_performance(df, segment_columns=["region", "group"])
    for column in ("region", "group"):
        block = metrics["segments"][column]
        assert block["capped"] is False
        assert block["totalSegments"] == block["shownSegments"] == df[column].nunique()
        counts = [s["count"] for s in block["segments"]]
        assert counts == sorted(counts, reverse=True)
        assert sum(counts) == len(df)
        for seg in block["segments"]:
            sub = df[df[column] == seg["value"]]
            assert seg["count"] == len(sub)
            assert seg["positives"] == int(sub["y_true"].sum())
            for name, expected in sk_metrics(sub["y_true"], sub["y_pred"]).items():
                assert seg[name] == pytest.approx(expected), (column, seg["value"], name)
            assert seg["rocAuc"] == pytest.approx(roc_auc_score(sub["y_true"], sub["y_score"]))


def test_segment_with_one_class_and_missing_values():
    df = make_data(n=1000, seed=13)
    df["site"] = np.where(np.arange(len(df)) % 10 == 0, None, "main")
    df.loc[df["site"].isna(), "y_true"] = 1
    metrics, _ = compute_performance(df, segment_columns=["site"])
    segments = {s["value"]: s for s in metrics["segments"]["site"]["segments"]}
    assert set(segments) == {"main", MISSING_LABEL}
    missing = segments[MISSING_LABEL]
    assert missing["count"] == 100
    assert missing["rocAuc"] is None  # only class 1 in that segment
    sub = df[df["site"].isna()]
    assert missing["accuracy"] == pytest.approx(accuracy_score(sub["y_true"], sub["y_pred"]))


def test_segments_capped_at_50_with_note():
    df = make_data(n=6000, seed=14)
    rng = np.random.default_rng(14)
    df["store"] = rng.integers(0, 60, size=len(df))
    metrics, notes = compute_performance(df, segment_columns=["store"])
    block = metrics["segments"]["store"]
    assert block["capped"] is True
    assert block["totalSegments"] == 60
    assert block["shownSegments"] == len(block["segments"]) == 50
    sizes = df["store"].value_counts()
    shown = {s["value"] for s in block["segments"]}
    assert block["rowsInOmittedSegments"] == int(sizes[~sizes.index.isin(shown)].sum())
    assert min(s["count"] for s in block["segments"]) >= sizes[~sizes.index.isin(shown)].max()
    assert any("'store' has 60 distinct values" in n for n in notes)


def test_grouped_roc_auc_matches_sklearn_per_group_with_ties():
    rng = np.random.default_rng(15)
    n = 3000
    codes = rng.integers(0, 4, size=n)
    y = rng.integers(0, 2, size=n)
    score = np.round(rng.random(n) * 0.5 + 0.3 * y, 1)
    y[codes == 3] = 0
    auc = grouped_roc_auc(codes, 5, y, score)
    for g in range(3):
        assert auc[g] == pytest.approx(roc_auc_score(y[codes == g], score[codes == g]))
    assert np.isnan(auc[3]) and np.isnan(auc[4])  # one class only; empty group


def test_run_suite_performance_threshold_results():
    df = make_data(seed=16)
    result = run_suite("performance", df)
    expected = sk_metrics(df["y_true"], df["y_pred"])
    by_metric = {r["metric"]: r for r in result["thresholdResults"]}
    assert list(by_metric) == ["accuracy", "precision", "recall", "f1Score"]
    for name, threshold in (("accuracy", 0.85), ("precision", 0.8)):
        r = by_metric[name]
        assert r["threshold"] == threshold and r["direction"] == "min"
        assert r["passed"] is (expected[name] >= threshold)
    assert result["passed"] is all(r["passed"] for r in by_metric.values())
