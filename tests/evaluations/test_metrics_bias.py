"""Bias metrics compared with fairlearn (the oracle)."""

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import (
    MetricFrame,
    count,
    demographic_parity_difference,
    demographic_parity_ratio,
    equalized_odds_difference,
    false_negative_rate,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)
from sklearn.metrics import accuracy_score

from evaluations.metrics import DatasetError, compute_bias, run_suite
from evaluations.metrics._common import MISSING_LABEL


def make_biased(n=6000, seed=21):
    """Group B is selected at a lower rate than group A (known bias)."""
    rng = np.random.default_rng(seed)
    sex = rng.choice(["A", "B"], size=n, p=[0.55, 0.45])
    race = rng.choice(["r1", "r2", "r3", "r4"], size=n, p=[0.4, 0.3, 0.2, 0.1])
    y_true = rng.binomial(1, 0.45, size=n)
    score = 0.4 * y_true + 0.6 * rng.random(n) - 0.2 * (sex == "B") - 0.05 * (race == "r4")
    y_pred = (score >= 0.45).astype(int)
    return pd.DataFrame({"y_true": y_true, "y_pred": y_pred, "sex": sex, "race": race})


def fairlearn_values(df, column, sensitive=None):
    sf = df[column] if sensitive is None else sensitive
    kwargs = {"sensitive_features": sf}
    return {
        "demographicParity": demographic_parity_difference(df["y_true"], df["y_pred"], **kwargs),
        "equalizedOdds": equalized_odds_difference(df["y_true"], df["y_pred"], **kwargs),
        "disparateImpact": demographic_parity_ratio(df["y_true"], df["y_pred"], **kwargs),
    }


def metric_frame(df, sensitive):
    return MetricFrame(
        metrics={
            "count": count,
            "selectionRate": selection_rate,
            "truePositiveRate": true_positive_rate,
            "falsePositiveRate": false_positive_rate,
            "falseNegativeRate": false_negative_rate,
            "accuracy": accuracy_score,
        },
        y_true=df["y_true"],
        y_pred=df["y_pred"],
        sensitive_features=sensitive,
    ).by_group


def assert_groups_match(groups, frame):
    assert sorted(map(str, (g["group"] for g in groups))) == sorted(map(str, frame.index))
    for g in groups:
        row = frame.loc[g["group"]]
        assert g["count"] == row["count"]
        for name in (
            "selectionRate",
            "truePositiveRate",
            "falsePositiveRate",
            "falseNegativeRate",
            "accuracy",
        ):
            assert g[name] == pytest.approx(row[name], abs=1e-12), (g["group"], name)


@pytest.mark.parametrize("seed", [21, 22])
def test_single_feature_matches_fairlearn_and_shows_the_known_bias(seed):
    df = make_biased(seed=seed)
    metrics, _ = compute_bias(df, ["sex"])
    for name, expected in fairlearn_values(df, "sex").items():
        assert metrics[name] == pytest.approx(expected, abs=1e-12), name
    assert_groups_match(metrics["groups"], metric_frame(df, df["sex"]))
    rates = {g["group"]: g["selectionRate"] for g in metrics["groups"]}
    assert rates["B"] < rates["A"]
    assert metrics["demographicParity"] > 0.1
    assert metrics["disparateImpact"] < 0.8
    assert metrics["sensitiveFeatures"] == ["sex"] and metrics["feature"] == "sex"
    assert "byFeature" not in metrics
    for g in metrics["groups"]:
        sub = df[df["sex"] == g["group"]]
        assert g["positives"] == int(sub["y_true"].sum())
        assert g["negatives"] == int((sub["y_true"] == 0).sum())


def test_two_features_by_feature_and_worst_at_top_level():
    df = make_biased(seed=23)
    metrics, _ = compute_bias(df, ["sex", "race"])
    assert metrics["sensitiveFeatures"] == ["sex", "race"]
    expected = {c: fairlearn_values(df, c) for c in ("sex", "race")}
    for column in ("sex", "race"):
        block = metrics["byFeature"][column]
        for name, value in expected[column].items():
            assert block[name] == pytest.approx(value, abs=1e-12), (column, name)
        assert_groups_match(block["groups"], metric_frame(df, df[column]))
    for name, pick in (("demographicParity", max), ("equalizedOdds", max)):
        worst = pick(expected, key=lambda c, n=name: expected[c][n])
        assert metrics[name] == pytest.approx(expected[worst][name])
        assert metrics["worstFeature"][name] == worst
    worst = min(expected, key=lambda c: expected[c]["disparateImpact"])
    assert metrics["disparateImpact"] == pytest.approx(expected[worst]["disparateImpact"])
    assert metrics["worstFeature"]["disparateImpact"] == worst


def test_group_without_positive_labels_rates_are_zero_like_fairlearn():
    df = make_biased(n=2000, seed=24)
    df.loc[df["race"] == "r4", "y_true"] = 0
    metrics, notes = compute_bias(df, ["race"])
    frame = metric_frame(df, df["race"])
    assert_groups_match(metrics["groups"], frame)
    r4 = next(g for g in metrics["groups"] if g["group"] == "r4")
    assert r4["positives"] == 0 and r4["truePositiveRate"] == 0.0
    assert metrics["equalizedOdds"] == pytest.approx(fairlearn_values(df, "race")["equalizedOdds"])
    assert any("'r4'" in n and "no positive labels" in n for n in notes)


def test_group_without_negative_labels_noted():
    df = make_biased(n=2000, seed=25)
    df.loc[df["race"] == "r2", "y_true"] = 1
    metrics, notes = compute_bias(df, ["race"])
    assert metrics["equalizedOdds"] == pytest.approx(fairlearn_values(df, "race")["equalizedOdds"])
    assert any("'r2'" in n and "no negative labels" in n for n in notes)


def test_missing_sensitive_values_form_their_own_group():
    df = make_biased(n=3000, seed=26)
    df["sex"] = df["sex"].astype(object)
    df.loc[df.index % 7 == 0, "sex"] = None
    with pytest.raises(ValueError, match="missing values"):
        demographic_parity_difference(df["y_true"], df["y_pred"], sensitive_features=df["sex"])
    filled = df["sex"].fillna(MISSING_LABEL)
    metrics, notes = compute_bias(df, ["sex"])
    for name, expected in fairlearn_values(df, "sex", filled).items():
        assert metrics[name] == pytest.approx(expected), name
    assert_groups_match(metrics["groups"], metric_frame(df, filled))
    assert [g["group"] for g in metrics["groups"]] == ["A", "B", MISSING_LABEL]  # missing last
    missing = metrics["groups"][-1]
    assert missing["count"] == int(df["sex"].isna().sum())
    assert any("form the group '<missing>'" in n for n in notes)


def test_missing_label_collision_is_refused():
    df = make_biased(n=100, seed=27)
    df["sex"] = df["sex"].astype(object)
    df.loc[0, "sex"] = None
    df.loc[1, "sex"] = MISSING_LABEL
    with pytest.raises(DatasetError, match="both missing values and the literal value"):
        compute_bias(df, ["sex"])


def test_empty_category_is_not_a_group_like_fairlearn():
    df = make_biased(n=2000, seed=28)
    df["race"] = pd.Categorical(df["race"], categories=["r1", "r2", "r3", "r4", "unused"])
    metrics, _ = compute_bias(df, ["race"])
    assert "unused" not in [g["group"] for g in metrics["groups"]]
    assert metrics["groupCount"] == 4
    for name, expected in fairlearn_values(df, "race").items():
        assert metrics[name] == pytest.approx(expected), name
    assert_groups_match(metrics["groups"], metric_frame(df, df["race"]))


def test_all_predictions_zero_ratio_is_none_where_fairlearn_gives_nan():
    df = make_biased(n=1000, seed=29)
    df["y_pred"] = 0
    expected = fairlearn_values(df, "sex")
    assert np.isnan(expected["disparateImpact"])
    metrics, _ = compute_bias(df, ["sex"])
    assert metrics["disparateImpact"] is None
    assert "no group" in metrics["unavailable"]["disparateImpact"]
    assert metrics["demographicParity"] == expected["demographicParity"] == 0.0
    assert metrics["equalizedOdds"] == pytest.approx(expected["equalizedOdds"])
    result = run_suite("bias", df, sensitive_features=["sex"])
    di = next(r for r in result["thresholdResults"] if r["metric"] == "disparateImpact")
    assert di["passed"] is None and di["value"] is None and "no group" in di["note"]


def test_all_predictions_zero_with_two_features_ratio_is_none():
    df = make_biased(n=500, seed=30)
    df["y_pred"] = 0
    metrics, _ = compute_bias(df, ["sex", "race"])
    assert metrics["disparateImpact"] is None
    assert metrics["worstFeature"]["disparateImpact"] is None
    assert "disparateImpact" in metrics["unavailable"]


def test_single_group_differences_are_zero_ratio_one():
    df = make_biased(n=500, seed=31)
    df["sex"] = "A"
    expected = fairlearn_values(df, "sex")
    metrics, notes = compute_bias(df, ["sex"])
    assert metrics["demographicParity"] == expected["demographicParity"] == 0.0
    assert metrics["equalizedOdds"] == expected["equalizedOdds"] == 0.0
    assert metrics["disparateImpact"] == expected["disparateImpact"] == 1.0
    assert any("single group" in n for n in notes)


def test_numeric_sensitive_feature_groups_are_numbers():
    df = make_biased(n=1500, seed=32)
    df["age_band"] = np.random.default_rng(32).integers(1, 4, size=len(df))
    metrics, _ = compute_bias(df, ["age_band"])
    assert [g["group"] for g in metrics["groups"]] == [1, 2, 3]
    for name, expected in fairlearn_values(df, "age_band").items():
        assert metrics[name] == pytest.approx(expected), name


def test_many_groups_table_is_capped_but_metrics_use_all_groups():
    df = make_biased(n=5000, seed=33)
    df["zip"] = np.random.default_rng(33).integers(0, 150, size=len(df))
    metrics, notes = compute_bias(df, ["zip"])
    assert metrics["groupCount"] == 150
    assert metrics["groupsCapped"] is True and len(metrics["groups"]) == 100
    assert metrics["demographicParity"] == pytest.approx(
        fairlearn_values(df, "zip")["demographicParity"]
    )
    assert any("lists the 100 largest" in n for n in notes)


def test_bias_needs_a_known_sensitive_feature():
    df = make_biased(n=100)
    with pytest.raises(DatasetError, match="at least one sensitive feature"):
        compute_bias(df, [])
    with pytest.raises(DatasetError, match="unknown sensitive feature column 'gender'"):
        compute_bias(df, ["gender"])
    with pytest.raises(DatasetError, match="at least one sensitive feature"):
        run_suite("bias", df)


def test_run_suite_bias_thresholds_directions():
    df = make_biased(seed=34)
    result = run_suite("bias", df, sensitive_features=["sex"])
    by_metric = {r["metric"]: r for r in result["thresholdResults"]}
    assert by_metric["demographicParity"]["direction"] == "max"
    assert by_metric["equalizedOdds"]["direction"] == "max"
    assert by_metric["disparateImpact"]["direction"] == "min"
    assert by_metric["demographicParity"]["passed"] is False  # the known bias
    assert by_metric["disparateImpact"]["passed"] is False
    assert result["passed"] is False
