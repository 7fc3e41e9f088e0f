"""run_suite: progress, JSON output, threshold plumbing, purity."""

import json

import numpy as np
import pandas as pd
import pytest

from evaluations.metrics import SUITES, DatasetError, ThresholdsError, run_suite
from evaluations.metrics._common import to_jsonable


def make_data(n=1500, seed=81):
    rng = np.random.default_rng(seed)
    sex = rng.choice(["F", "M"], size=n)
    y_true = rng.binomial(1, 0.4, size=n)
    score = np.clip(0.4 * y_true + 0.6 * rng.random(n) - 0.1 * (sex == "M"), 0, 1)
    return pd.DataFrame(
        {
            "y_true": y_true,
            "y_pred": (score >= 0.5).astype(int),
            "y_score": score,
            "sex": sex,
            "region": rng.choice(["a", "b", "c"], size=n),
            "x": rng.normal(size=n),
        }
    )


def kwargs_for(suite, df):
    return {
        "reference": make_data(seed=82) if suite == "robustness" else None,
        "sensitive_features": ["sex"],
        "segment_columns": ["region"] if suite == "performance" else (),
    }


@pytest.mark.parametrize("suite", SUITES)
def test_progress_is_monotonic_and_reaches_100(suite):
    df = make_data()
    calls = []
    run_suite(suite, df, progress=lambda p, m: calls.append((p, m)), **kwargs_for(suite, df))
    percents = [p for p, _ in calls]
    assert percents[0] == 0 and percents[-1] == 100
    assert percents == sorted(percents)
    assert all(isinstance(p, int) and 0 <= p <= 100 for p in percents)
    assert all(isinstance(m, str) and m for _, m in calls)
    assert len(calls) >= 3


@pytest.mark.parametrize("suite", SUITES)
def test_result_is_strict_json(suite):
    df = make_data()
    result = run_suite(suite, df, **kwargs_for(suite, df))
    assert set(result) == {"metrics", "thresholdResults", "passed", "notes"}
    assert isinstance(result["passed"], bool)
    text = json.dumps(result, allow_nan=False)
    assert json.loads(text) == result
    for r in result["thresholdResults"]:
        assert {"metric", "value", "threshold", "direction", "passed"} <= set(r)
        assert r["direction"] in ("min", "max", "significance")


@pytest.mark.parametrize("suite", SUITES)
def test_inputs_are_not_mutated(suite):
    df = make_data()
    before = df.copy()
    kwargs = kwargs_for(suite, df)
    run_suite(suite, df, **kwargs)
    pd.testing.assert_frame_equal(df, before)


def test_only_the_suites_section_is_evaluated():
    doc = {
        "performanceThresholds": {"accuracy": 0.5, "rocAuc": 0.5},
        "biasThresholds": {"demographicParity": 0.5},
    }
    result = run_suite("performance", make_data(), thresholds=doc)
    assert [r["metric"] for r in result["thresholdResults"]] == ["accuracy", "rocAuc"]
    assert result["passed"] is True


def test_missing_section_evaluates_nothing_and_says_so():
    result = run_suite("bias", make_data(), sensitive_features=["sex"], thresholds={})
    assert result["thresholdResults"] == [] and result["passed"] is True
    assert any("no biasThresholds given" in n for n in result["notes"])


def test_perfect_predictions_pass_performance():
    df = make_data()
    df["y_pred"] = df["y_true"]
    assert run_suite("performance", df)["passed"] is True


def test_unevaluated_rocauc_threshold_noted():
    df = make_data().drop(columns="y_score")
    result = run_suite("performance", df, thresholds={"performanceThresholds": {"rocAuc": 0.7}})
    [roc] = result["thresholdResults"]
    # The engine's `passed` counts judged thresholds only; the worker makes such a run
    # INCOMPLETE (evaluations.services.outcome_status), and the note says so.
    assert roc["passed"] is None and result["passed"] is True
    assert any("INCOMPLETE" in n for n in result["notes"])


def test_errors():
    df = make_data()
    with pytest.raises(ValueError, match="unknown suite 'speed'"):
        run_suite("speed", df)
    with pytest.raises(ThresholdsError, match="unknown thresholds section"):
        run_suite("performance", df, thresholds={"perf": {}})
    bad = df.assign(y_true=df["y_true"] + 1)
    with pytest.raises(DatasetError, match="non-binary label in y_true"):
        run_suite("performance", bad)
    with pytest.raises(DatasetError, match="unknown segment column 'city'"):
        run_suite("performance", df, segment_columns=["city"])
    with pytest.raises(DatasetError, match="unknown sensitive feature column 'race'"):
        run_suite("bias", df, sensitive_features=["race"])


def test_to_jsonable_turns_nan_and_inf_into_none():
    value = {
        "a": np.float64("nan"),
        "b": [np.inf, -np.inf, np.int64(3), np.bool_(True)],
        "c": np.array([0.5, np.nan]),
        1: (np.float32(0.25),),
    }
    assert to_jsonable(value) == {
        "a": None,
        "b": [None, None, 3, True],
        "c": [0.5, None],
        "1": [0.25],
    }


def test_data_must_be_a_dataframe():
    with pytest.raises(TypeError, match="data must be a pandas DataFrame"):
        run_suite("performance", {"y_true": [1], "y_pred": [1]})
    with pytest.raises(TypeError, match="reference must be a pandas DataFrame"):
        run_suite("robustness", make_data(), reference=[1, 2])
