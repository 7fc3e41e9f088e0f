"""Threshold documents: tiers, validation, directions (including equality)."""

import math

import pytest

from evaluations.metrics import (
    GUIDE_THRESHOLDS,
    ThresholdsError,
    evaluate_thresholds,
    overall_passed,
    thresholds_for_tier,
    validate_thresholds,
)
from evaluations.metrics.thresholds import CATALOGUE_THRESHOLDS, DIRECTIONS

GUIDE = {
    "performanceThresholds": {"accuracy": 0.85, "precision": 0.80, "recall": 0.80, "f1Score": 0.80},
    "biasThresholds": {"demographicParity": 0.1, "equalizedOdds": 0.1, "disparateImpact": 0.8},
    "robustnessThresholds": {"adversarialAccuracy": 0.70, "driftDetection": 0.05},
    "smokeThresholds": {"loads": 1, "validOutputs": 1, "deterministic": 1, "latencyP95Ms": 1000},
}


def test_medium_tier_is_the_guides_document_plus_the_catalogues():
    medium = thresholds_for_tier("MEDIUM")
    assert GUIDE == GUIDE_THRESHOLDS
    assert validate_thresholds(GUIDE) == GUIDE
    for section, entries in GUIDE.items():
        assert {m: medium[section][m] for m in entries} == entries
    added = {
        section: {m: v for m, v in entries.items() if m not in GUIDE.get(section, {})}
        for section, entries in medium.items()
    }
    assert {s: e for s, e in added.items() if e} == {
        section: {metric: values[1] for metric, values in metrics.items()}
        for section, metrics in CATALOGUE_THRESHOLDS.items()
    }


@pytest.mark.parametrize(("laxer", "stricter"), [("LOW", "MEDIUM"), ("MEDIUM", "HIGH")])
def test_tiers_get_stricter(laxer, stricter):
    lax, strict = thresholds_for_tier(laxer), thresholds_for_tier(stricter)
    for section, entries in lax.items():
        for metric, value in entries.items():
            other = strict[section][metric]
            if DIRECTIONS[metric] == "max":
                assert other <= value, metric
            else:  # min, and a higher significance level flags drift sooner
                assert other >= value, metric
    assert validate_thresholds(strict) == strict


def test_high_tier_adds_roc_auc_and_is_strictly_stricter_somewhere():
    high = thresholds_for_tier("high")
    assert high["performanceThresholds"]["rocAuc"] == 0.85
    assert high["biasThresholds"]["demographicParity"] < 0.1


def test_tier_copies_are_independent():
    first = thresholds_for_tier("LOW")
    first["performanceThresholds"]["accuracy"] = 0.0
    assert thresholds_for_tier("LOW")["performanceThresholds"]["accuracy"] == 0.8


def test_unknown_tier():
    with pytest.raises(ThresholdsError, match="unknown risk tier 'CRITICAL'"):
        thresholds_for_tier("CRITICAL")


def test_validator_normalises_and_allows_partial_documents():
    assert validate_thresholds({"biasThresholds": {"disparateImpact": 1}}) == {
        "biasThresholds": {"disparateImpact": 1.0}
    }
    assert validate_thresholds({}) == {}


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "the thresholds document must be an object, got list"),
        ({"fairness": {}}, "unknown thresholds section 'fairness'"),
        ({"biasThresholds": [0.1]}, "'biasThresholds' must be an object"),
        (
            {"performanceThresholds": {"auc": 0.7}},
            "unknown metric 'auc' in 'performanceThresholds'",
        ),
        (
            {"performanceThresholds": {"demographicParity": 0.1}},
            "unknown metric 'demographicParity' in 'performanceThresholds'",
        ),
        (
            {"performanceThresholds": {"accuracy": "0.9"}},
            "performanceThresholds.accuracy must be a number, got str '0.9'",
        ),
        (
            {"biasThresholds": {"equalizedOdds": True}},
            "biasThresholds.equalizedOdds must be a number, got bool True",
        ),
        (
            {"biasThresholds": {"equalizedOdds": None}},
            "biasThresholds.equalizedOdds must be a number, got NoneType None",
        ),
        (
            {"robustnessThresholds": {"driftDetection": 1.5}},
            "robustnessThresholds.driftDetection must be between 0 and 1, got 1.5",
        ),
        (
            {"performanceThresholds": {"recall": -0.1}},
            "performanceThresholds.recall must be between 0 and 1, got -0.1",
        ),
        (
            {"performanceThresholds": {"recall": math.nan}},
            "performanceThresholds.recall must be between 0 and 1, got nan",
        ),
    ],
)
def test_validator_errors_name_the_key(document, message):
    with pytest.raises(ThresholdsError) as exc:
        validate_thresholds(document)
    assert message in str(exc.value)


@pytest.mark.parametrize("metric", [m for m, d in DIRECTIONS.items() if d == "min"])
def test_min_direction_passes_at_or_above(metric):
    at, below, above = (
        evaluate_thresholds({metric: v}, {metric: 0.8}) for v in (0.8, 0.7999, 0.81)
    )
    assert at[0]["passed"] is True and at[0]["direction"] == "min"
    assert below[0]["passed"] is False
    assert above[0]["passed"] is True


@pytest.mark.parametrize("metric", ["demographicParity", "equalizedOdds"])
def test_max_direction_passes_at_or_below(metric):
    at, above, below = (
        evaluate_thresholds({metric: v}, {metric: 0.1}) for v in (0.1, 0.1001, 0.05)
    )
    assert at[0]["passed"] is True and at[0]["direction"] == "max"
    assert above[0]["passed"] is False
    assert below[0]["passed"] is True


def test_floating_point_equality_is_tolerated():
    difference = 0.4 - 0.3  # 0.10000000000000003, mathematically 0.1
    assert difference > 0.1
    [result] = evaluate_thresholds({"demographicParity": difference}, {"demographicParity": 0.1})
    assert result["passed"] is True
    [result] = evaluate_thresholds({"accuracy": 0.7 + 0.1 + 0.05}, {"accuracy": 0.85})
    assert result["passed"] is True


def test_significance_direction():
    section = {"driftDetection": 0.05}
    [equal] = evaluate_thresholds({"driftDetection": 0.05}, section)
    [below] = evaluate_thresholds({"driftDetection": 0.0499999}, section)
    [above] = evaluate_thresholds({"driftDetection": 0.3}, section)
    assert equal["direction"] == "significance"
    assert equal["passed"] is True  # p == alpha is not "below": no drift
    assert below["passed"] is False
    assert above["passed"] is True


def test_result_shape_and_order():
    results = evaluate_thresholds(
        {"accuracy": 0.9, "recall": 0.5}, {"recall": 0.8, "accuracy": 0.85}
    )
    assert [r["metric"] for r in results] == ["recall", "accuracy"]
    assert results[0] == {
        "metric": "recall",
        "value": 0.5,
        "threshold": 0.8,
        "direction": "min",
        "passed": False,
    }


def test_unavailable_metric_is_not_evaluated_and_does_not_fail():
    results = evaluate_thresholds(
        {"accuracy": 0.9, "rocAuc": None},
        {"accuracy": 0.85, "rocAuc": 0.7},
        {"rocAuc": "no y_score column"},
    )
    roc = results[1]
    assert roc["passed"] is None and roc["value"] is None
    assert "no y_score column" in roc["note"] and "INCOMPLETE" in roc["note"]
    assert overall_passed(results) is True
    results[0]["passed"] = False
    assert overall_passed(results) is False


def test_nan_value_is_unavailable():
    [result] = evaluate_thresholds({"accuracy": math.nan}, {"accuracy": 0.5})
    assert result["passed"] is None and result["value"] is None


def test_overall_passed_edge_cases():
    assert overall_passed([]) is True
    assert overall_passed([{"passed": None}]) is True
