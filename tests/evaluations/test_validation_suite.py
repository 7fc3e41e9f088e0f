"""compute_validation: each value is the validation.py function it wraps; the reasons for a
missing reference / champion; the chart data's shapes; DeLong of identical models."""

import json
import time

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from evaluations.metrics._common import to_jsonable
from evaluations.metrics.validation import (
    ValidationInputError,
    brier_score,
    delong_test,
    gini,
    hosmer_lemeshow_p,
    ks_curve,
    ks_statistic,
    psi,
    reliability_curve,
)
from evaluations.metrics.validation_suite import (
    NO_CHAMPION,
    NO_REFERENCE,
    VALIDATION_METRICS,
    compute_validation,
)


def frame(n=3000, seed=0, shift=0.0, decimals=3):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    logit = 1.2 * (y - 0.5) + rng.normal(0, 1, n) + shift
    score = np.round(1 / (1 + np.exp(-logit)), decimals)
    return pd.DataFrame({"y_true": y, "y_score": score, "feature": rng.normal(size=n)})


@pytest.fixture
def data():
    return frame(seed=1), frame(seed=2, shift=0.3)


def champion_for(df, seed=5, noise=1.0):
    rng = np.random.default_rng(seed)
    s = np.clip(df["y_score"].to_numpy() + rng.normal(0, noise * 0.2, len(df)), 0, 1)
    return {"version": "1.0", "versionId": 3, "y_score": s}


def test_each_value_is_the_function_it_wraps(data):
    df, ref = data
    champ = champion_for(df)
    m, notes = compute_validation(df, ref, champion=champ)
    y, s = df["y_true"].to_numpy(), df["y_score"].to_numpy()
    assert m["gini"] == gini(y, s)[0]
    assert m["gini"] == pytest.approx(2 * roc_auc_score(y, s) - 1, abs=1e-12)
    assert m["ksStatistic"] == ks_statistic(y, s)[0]
    assert m["brierScore"] == brier_score(y, s)[0]
    hl = hosmer_lemeshow_p(y, s)[0]
    assert m["hosmerLemeshowP"] == hl.p_value
    assert m["hosmerLemeshow"]["statistic"] == hl.statistic
    assert m["hosmerLemeshow"]["dof"] == hl.degrees_of_freedom == hl.groups - 2
    assert m["hosmerLemeshow"]["groups"] == hl.groups
    p = psi(ref["y_score"], s)[0]
    assert m["psi"] == p.psi
    dl = delong_test(y, s, champ["y_score"])[0]
    cc = m["championChallenger"]
    assert cc["aucDifference"] == dl.auc_difference
    assert cc["pValue"] == dl.p_value
    assert cc["challengerRocAuc"] == pytest.approx(roc_auc_score(y, s), abs=1e-12)
    assert cc["championRocAuc"] == pytest.approx(roc_auc_score(y, champ["y_score"]), abs=1e-12)
    assert cc["aucDifference"] == pytest.approx(cc["challengerRocAuc"] - cc["championRocAuc"])
    assert cc["championVersion"] == "1.0" and cc["championVersionId"] == 3
    assert m["unavailable"] == {}
    assert notes == []
    for name in VALIDATION_METRICS:
        assert m["methods"][name]["reference"]
        assert m["methods"][name]["sample"] == len(df)
    assert "Sun & Xu 2014" in m["methods"]["championChallenger"]["reference"]
    assert m["methods"]["hosmerLemeshowP"]["parameters"]["groups"] == 10
    assert m["methods"]["psi"]["parameters"]["bins"] == 10
    json.dumps(to_jsonable(m), allow_nan=False)


def test_chart_data(data):
    df, ref = data
    m, _ = compute_validation(df, ref, champion=champion_for(df))
    y, s = df["y_true"].to_numpy(), df["y_score"].to_numpy()

    rel = m["reliabilityCurve"]
    expected = reliability_curve(y, s)[0]
    assert rel["meanPredicted"] == expected.mean_predicted
    assert rel["observedRate"] == expected.observed_rate
    assert rel["counts"] == expected.count
    assert len(rel["meanPredicted"]) == len(rel["observedRate"]) == len(rel["counts"]) == 10
    assert sum(rel["counts"]) == len(df)

    ks = m["ksCurve"]
    full = ks_curve(y, s)[0]
    assert full.total_points > 200  # the test exercises the downsampling
    n = len(ks["thresholds"])
    assert n <= 200
    assert len(ks["cdfPositive"]) == len(ks["cdfNegative"]) == n
    assert ks["at"] == full.ks_threshold
    i = ks["thresholds"].index(ks["at"])
    assert abs(ks["cdfPositive"][i] - ks["cdfNegative"][i]) == pytest.approx(m["ksStatistic"])

    bins = m["psiBins"]
    p = psi(ref["y_score"], s)[0]
    assert [b["bin"] for b in bins] == list(range(10))
    assert bins[0]["lower"] is None and bins[-1]["upper"] is None
    assert [b["upper"] for b in bins[:-1]] == p.edges
    assert [b["lower"] for b in bins[1:]] == p.edges
    assert [b["expectedShare"] for b in bins] == p.reference_shares
    assert [b["actualShare"] for b in bins] == p.current_shares
    assert sum(b["contribution"] for b in bins) == pytest.approx(m["psi"], rel=1e-12)

    curves = m["championChallenger"]["rocCurves"]
    for name in ("champion", "challenger"):
        assert 2 <= len(curves[name]["fpr"]) <= 200
        assert len(curves[name]["fpr"]) == len(curves[name]["tpr"])
        assert curves[name]["fpr"][0] == 0 and curves[name]["tpr"][-1] == 1


def test_identical_champion_gives_zero_difference_and_p_one(data):
    df, _ = data
    champ = {"version": "2.1", "versionId": 9, "y_score": df["y_score"].to_numpy().copy()}
    m, _ = compute_validation(df, None, champion=champ)
    cc = m["championChallenger"]
    assert cc["aucDifference"] == 0.0
    # delong_test defines identical rankings (variance 0, equal AUCs) as z = 0, p = 1 (pROC).
    assert cc["pValue"] == 1.0
    assert cc["rocCurves"]["champion"] == cc["rocCurves"]["challenger"]


def test_missing_reference_and_champion_reasons(data):
    df, ref = data
    for reference in (None, ref.drop(columns="y_score")):
        m, notes = compute_validation(df, reference)
        assert m["psi"] is None and m["psiBins"] is None
        assert m["unavailable"]["psi"] == NO_REFERENCE
        assert m["unavailable"]["psiBins"] == NO_REFERENCE
        assert m["championChallenger"] is None
        assert m["unavailable"]["championChallenger"] == NO_CHAMPION
        assert any("psi not computed" in n for n in notes)
        # the rest is still measured
        assert m["gini"] is not None and m["hosmerLemeshowP"] is not None
    m, _ = compute_validation(df, champion={"missing": "the champion model does not load"})
    assert m["unavailable"]["championChallenger"] == "the champion model does not load"
    assert NO_REFERENCE == "needs a reference dataset with the model's scores (referenceDataset)"
    assert NO_CHAMPION == "the model has no version in PRODUCTION to compare with"


def test_one_class_gives_none_and_reasons_not_exceptions():
    df = pd.DataFrame({"y_true": [1] * 50, "y_score": np.linspace(0.05, 0.95, 50)})
    champ = {"version": "1.0", "versionId": 3, "y_score": np.linspace(0.1, 0.9, 50)}
    m, notes = compute_validation(df, df, champion=champ)
    for name in ("gini", "ksStatistic", "championChallenger"):
        assert m[name] is None
        assert "only class 1" in m["unavailable"][name]
    assert m["ksCurve"] is None and "ksCurve" in m["unavailable"]
    # calibration and stability are defined with one class
    assert m["brierScore"] is not None
    assert m["hosmerLemeshowP"] is not None
    assert m["psi"] == pytest.approx(0.0)
    assert notes


def test_constant_scores_leave_hosmer_lemeshow_unavailable():
    df = pd.DataFrame({"y_true": [0, 1] * 50, "y_score": [0.5] * 100})
    m, _ = compute_validation(df)
    assert m["hosmerLemeshowP"] is None and m["hosmerLemeshow"] is None
    assert "at least 3 groups" in m["unavailable"]["hosmerLemeshowP"]
    assert m["gini"] == 0.0
    assert m["reliabilityCurve"]["counts"][5] == 0 and sum(m["reliabilityCurve"]["counts"]) == 100


def test_no_score_column_makes_every_metric_unavailable():
    df = pd.DataFrame({"y_true": [0, 1, 0, 1]})
    m, notes = compute_validation(df)
    assert len(notes) == len(VALIDATION_METRICS)
    for name in VALIDATION_METRICS:
        assert m[name] is None
        assert "no y_score column" in m["unavailable"][name]


def test_bad_champion_or_reference_scores_are_findings_bad_dataset_scores_raise(data):
    df, ref = data
    champ = {"version": "1.0", "versionId": 3, "y_score": np.full(len(df), np.nan)}
    bad_ref = ref.assign(y_score=np.nan)
    m, _ = compute_validation(df, bad_ref, champion=champ)
    assert m["championChallenger"] is None
    assert m["unavailable"]["championChallenger"].startswith("the champion's scores are unusable")
    assert m["psi"] is None
    assert m["unavailable"]["psi"].startswith("the reference dataset's scores are unusable")
    with pytest.raises(ValidationInputError):
        compute_validation(df.assign(y_score=1.5))


def test_progress_is_monotonic_and_ends_at_one(data):
    df, ref = data
    seen = []
    compute_validation(df, ref, champion=champion_for(df), progress=lambda f, m: seen.append(f))
    assert seen == sorted(seen) and seen[-1] == 1.0 and all(0 <= f <= 1 for f in seen)


def test_speed_on_200k_rows():
    df = frame(n=200_000, seed=3)
    ref = frame(n=200_000, seed=4)
    champ = champion_for(df)
    start = time.perf_counter()
    compute_validation(df, ref, champion=champ)
    assert time.perf_counter() - start < 5.0
