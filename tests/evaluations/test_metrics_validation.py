"""Validation-suite metrics compared with scipy/scikit-learn, hand computations and an
independent O(n²) DeLong implementation.

Timings on 1,000,000 rows (2-core container, scores with ties; see
``test_a_million_rows_match_the_references``): gini 0.12 s, ksStatistic 0.09 s, ksCurve
0.09 s, brierScore 0.004 s, hosmerLemeshowP 0.06 s, reliabilityCurve 0.02 s, psi 0.11 s,
DeLong 0.27 s.

DeLong was also checked once against R pROC's own test expectations (tests/testthat/
test-roc.test.R: roc.test on the aSAH data, wfns vs s100b Z = 2.20898359144091,
p = 0.0271757822291882; wfns vs ndka Z = 2.79777591868904; ndka vs s100b
Z = -1.39077002573558): delong_test agrees to 5e-15 in z and 2e-16 in p. The aSAH data is
not vendored here (it ships with the GPL pROC package).
"""

import time

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.calibration import calibration_curve
from sklearn.metrics import brier_score_loss, roc_auc_score

from evaluations.metrics.datasets import DatasetError
from evaluations.metrics.validation import (
    PSI_BINS,
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


def make_scores(n=4000, seed=0, decimals=2):
    """Labels and two correlated scores of the same rows, rounded so that many tie."""
    rng = np.random.default_rng(seed)
    y = rng.binomial(1, 0.35, size=n)
    latent = rng.normal(size=n)
    a = 1 / (1 + np.exp(-(1.2 * y + latent - 0.6)))
    b = 1 / (1 + np.exp(-(0.8 * y + 0.7 * latent + 0.5 * rng.normal(size=n) - 0.4)))
    return y, np.round(a, decimals), np.round(b, decimals)


# --------------------------------------------------------------------------- references


def slow_delong(y, a, b):
    """DeLong et al. (1988) directly: the Mann-Whitney kernel over every (positive, negative)
    pair, the structural components, their covariance matrix S = S10/m + S01/n."""
    y = np.asarray(y).astype(bool)
    components10, components01, aucs = [], [], []
    for score in (a, b):
        x, z = score[y], score[~y]
        kernel = (x[:, None] > z[None, :]) + 0.5 * (x[:, None] == z[None, :])
        aucs.append(kernel.mean())
        components10.append(kernel.mean(axis=1))
        components01.append(kernel.mean(axis=0))
    m, n = int(y.sum()), int((~y).sum())
    s = np.cov(np.vstack(components10)) / m + np.cov(np.vstack(components01)) / n
    contrast = np.array([1.0, -1.0])
    variance = contrast @ s @ contrast
    z = (aucs[0] - aucs[1]) / np.sqrt(variance)
    return aucs[0], aucs[1], z, 2 * stats.norm.sf(abs(z))


# --------------------------------------------------------------------------- discrimination


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_gini_ks_and_brier_match_sklearn_and_scipy_with_ties(seed):
    y, score, _ = make_scores(seed=seed, decimals=1)
    assert np.unique(score).size < 12  # heavy ties
    value, reason = gini(y, score)
    assert reason is None
    assert value == pytest.approx(2 * roc_auc_score(y, score) - 1, abs=1e-12)
    value, reason = ks_statistic(y, score)
    assert reason is None
    assert value == pytest.approx(stats.ks_2samp(score[y == 1], score[y == 0]).statistic, abs=1e-12)
    value, reason = brier_score(y, score)
    assert reason is None
    assert value == pytest.approx(brier_score_loss(y, score), abs=1e-12)


def test_ks_on_continuous_scores_matches_scipy():
    y, score, _ = make_scores(seed=5, decimals=12)
    value, _ = ks_statistic(y, score)
    assert value == pytest.approx(stats.ks_2samp(score[y == 1], score[y == 0]).statistic, abs=1e-12)


def test_ks_curve_holds_the_class_cdfs_and_their_maximum():
    y, score, _ = make_scores(seed=4, decimals=3)
    curve, reason = ks_curve(y, score, max_points=50)
    assert reason is None
    assert curve.downsampled and curve.total_points == np.unique(score).size
    assert curve.points <= 51
    assert curve.ks_statistic == pytest.approx(ks_statistic(y, score)[0], abs=1e-15)
    assert curve.ks_threshold in curve.grid
    grid = np.asarray(curve.grid)
    assert np.all(np.diff(grid) > 0)
    pos, neg = np.sort(score[y == 1]), np.sort(score[y == 0])
    expected_pos = np.searchsorted(pos, grid, side="right") / pos.size
    expected_neg = np.searchsorted(neg, grid, side="right") / neg.size
    np.testing.assert_allclose(curve.cdf_positive, expected_pos, atol=1e-15)
    np.testing.assert_allclose(curve.cdf_negative, expected_neg, atol=1e-15)
    at = curve.grid.index(curve.ks_threshold)
    assert abs(curve.cdf_positive[at] - curve.cdf_negative[at]) == curve.ks_statistic
    assert curve.cdf_positive[-1] == curve.cdf_negative[-1] == 1.0


def test_ks_curve_keeps_every_distinct_score_when_few():
    curve, _ = ks_curve([0, 0, 1, 1, 1], [0.1, 0.4, 0.4, 0.8, 0.9])
    assert curve.grid == [0.1, 0.4, 0.8, 0.9]
    assert curve.cdf_negative == [0.5, 1.0, 1.0, 1.0]
    assert curve.cdf_positive == pytest.approx([0.0, 1 / 3, 2 / 3, 1.0])
    assert curve.ks_statistic == pytest.approx(2 / 3) and curve.ks_threshold == 0.4
    assert not curve.downsampled


# --------------------------------------------------------------------------- calibration


def test_hosmer_lemeshow_by_hand_on_a_tiny_case():
    # qcut's interpolated deciles fall between the three score values, so three of the ten
    # bins hold rows: 4 rows each. O/E per group: 1/0.8, 3/2.0, 2/3.2.
    score = np.repeat([0.2, 0.5, 0.8], 4)
    y = np.array([1, 0, 0, 0, 1, 1, 1, 0, 1, 1, 0, 0])
    result, reason = hosmer_lemeshow_p(y, score)
    assert reason is None
    by_hand = 0.2**2 / (0.8 * (1 - 0.8 / 4)) + 1.0**2 / (2.0 * 0.5) + 1.2**2 / (3.2 * 0.2)
    assert by_hand == pytest.approx(0.0625 + 1.0 + 2.25)
    assert result.statistic == pytest.approx(by_hand, abs=1e-12)
    assert result.groups == 3 and result.degrees_of_freedom == 1
    assert result.group_rows == [4, 4, 4]
    assert result.observed == [1, 3, 2]
    assert result.expected == pytest.approx([0.8, 2.0, 3.2])
    assert result.p_value == pytest.approx(stats.chi2.sf(3.3125, 1), abs=1e-15)


def test_hosmer_lemeshow_matches_a_pandas_groupby_on_random_data():
    y, score, _ = make_scores(seed=8, decimals=3)
    result, _ = hosmer_lemeshow_p(y, score)
    frame = pd.DataFrame({"y": y, "s": score})
    frame["g"] = pd.qcut(frame["s"], 10, duplicates="drop")
    grouped = frame.groupby("g", observed=True).agg(o=("y", "sum"), e=("s", "sum"), n=("y", "size"))
    statistic = ((grouped.o - grouped.e) ** 2 / (grouped.e * (1 - grouped.e / grouped.n))).sum()
    assert result.groups == len(grouped) == 10
    assert result.statistic == pytest.approx(statistic, rel=1e-12)
    assert result.p_value == pytest.approx(stats.chi2.sf(statistic, len(grouped) - 2), rel=1e-9)


def test_hosmer_lemeshow_of_well_calibrated_scores_is_not_rejected():
    rng = np.random.default_rng(3)
    p = rng.uniform(0.05, 0.95, size=20_000)
    y = rng.binomial(1, p)
    result, _ = hosmer_lemeshow_p(y, p)
    assert result.p_value > 0.01
    worse, _ = hosmer_lemeshow_p(y, np.clip(p + 0.1, 0, 1))
    assert worse.p_value < 1e-6


def test_hosmer_lemeshow_needs_three_groups():
    result, reason = hosmer_lemeshow_p([0, 1, 0, 1], [0.3, 0.3, 0.3, 0.3])
    assert result is None and "1 score group " in reason and "at least 3" in reason
    result, reason = hosmer_lemeshow_p([0, 1, 0, 1], [0.3, 0.3, 0.6, 0.6])
    assert result is None and "2 score groups" in reason


def test_hosmer_lemeshow_group_with_certain_scores():
    # The lowest group has scores 0: E = 0, so it adds 0 when no positive is observed ...
    score = np.repeat([0.0, 0.5, 0.8], 4)
    y = np.array([0, 0, 0, 0, 1, 1, 0, 0, 1, 1, 1, 0])
    result, _ = hosmer_lemeshow_p(y, score)
    assert result.statistic == pytest.approx(0.0 + 0.0 + 0.2**2 / (3.2 * 0.2))
    # ... and makes the statistic infinite (p-value 0) when one is.
    y[0] = 1
    result, _ = hosmer_lemeshow_p(y, score)
    assert result.statistic == np.inf and result.p_value == 0.0


def test_reliability_curve_matches_sklearn_calibration_curve():
    y, score, _ = make_scores(seed=6, decimals=2)  # many scores sit exactly on bin edges
    curve, reason = reliability_curve(y, score, bins=10)
    assert reason is None
    prob_true, prob_pred = calibration_curve(y, score, n_bins=10, strategy="uniform")
    shown = [i for i, c in enumerate(curve.count) if c]
    np.testing.assert_allclose([curve.observed_rate[i] for i in shown], prob_true, atol=1e-12)
    np.testing.assert_allclose([curve.mean_predicted[i] for i in shown], prob_pred, atol=1e-12)
    assert sum(curve.count) == y.size
    assert len(curve.bin_edges) == 11


def test_reliability_curve_reports_empty_bins_as_none():
    curve, _ = reliability_curve([0, 1, 1], [0.05, 0.95, 1.0], bins=4)
    assert curve.count == [1, 0, 0, 2]
    assert curve.mean_predicted == [0.05, None, None, pytest.approx(0.975)]
    assert curve.observed_rate == [0.0, None, None, 1.0]


# --------------------------------------------------------------------------- stability


def test_psi_of_identical_and_of_same_distribution_samples_is_about_zero():
    rng = np.random.default_rng(11)
    reference = np.round(rng.beta(2, 5, size=50_000), 3)
    result, reason = psi(reference, reference)
    assert reason is None and result.psi == 0.0
    same, _ = psi(reference, np.round(rng.beta(2, 5, size=50_000), 3))
    assert 0 <= same.psi < 0.01
    assert len(same.reference_shares) == len(same.current_shares) == PSI_BINS
    assert sum(same.current_shares) == pytest.approx(1.0)


def test_psi_of_a_shifted_distribution_is_above_one_tenth():
    rng = np.random.default_rng(12)
    reference = rng.beta(2, 5, size=50_000)
    shifted, _ = psi(reference, np.clip(reference + 0.1, 0, 1))
    assert shifted.psi > 0.1
    # The top bins gain what the bottom ones lose.
    assert shifted.current_shares[-1] > shifted.reference_shares[-1]
    assert shifted.current_shares[0] < shifted.reference_shares[0]


def test_psi_by_hand_edges_go_to_the_bin_above_and_shares_are_floored():
    reference = np.arange(1, 11, dtype=float)  # deciles 1.9, 2.8, ..., 9.1
    current = np.array([1.9, 1.9, 20.0, 20.0])
    result, _ = psi(reference, current)
    np.testing.assert_allclose(result.edges, np.arange(1, 10) * 0.9 + 1.0)
    assert result.reference_shares == [0.1] * 10
    # 1.9 sits on the first edge: it goes to bin 2; 20.0 to the open top bin.
    assert result.current_shares == [0.0, 0.5, 0, 0, 0, 0, 0, 0, 0, 0.5]
    a = np.maximum(np.array(result.current_shares), 1e-6)
    expected = float(np.sum((a - 0.1) * np.log(a / 0.1)))
    assert result.psi == pytest.approx(expected, abs=1e-12)
    assert expected == pytest.approx(2 * 0.4 * np.log(5) + 8 * (1e-6 - 0.1) * np.log(1e-5))


def test_psi_with_a_constant_reference_keeps_ten_bins():
    result, _ = psi(np.full(100, 0.3), np.array([0.1, 0.3, 0.5]))
    assert result.reference_shares[-1] == 1.0
    assert result.current_shares[0] == pytest.approx(1 / 3)
    assert result.current_shares[-1] == pytest.approx(2 / 3)
    assert result.psi > 0.1


# --------------------------------------------------------------------------- DeLong


@pytest.mark.parametrize(("seed", "decimals"), [(21, 1), (22, 2), (23, 6)])
def test_delong_matches_the_slow_implementation(seed, decimals):
    y, a, b = make_scores(n=600, seed=seed, decimals=decimals)
    result, reason = delong_test(y, a, b)
    assert reason is None
    auc_a, auc_b, z, p = slow_delong(y, a, b)
    assert result.auc_a == pytest.approx(auc_a, abs=1e-12)
    assert result.auc_b == pytest.approx(auc_b, abs=1e-12)
    assert result.auc_a == pytest.approx(roc_auc_score(y, a), abs=1e-12)
    assert result.auc_difference == pytest.approx(auc_a - auc_b, abs=1e-12)
    assert result.z == pytest.approx(z, rel=1e-9)
    assert result.p_value == pytest.approx(p, abs=1e-9)


def test_delong_is_symmetric():
    y, a, b = make_scores(n=3000, seed=31, decimals=2)
    ab, _ = delong_test(y, a, b)
    ba, _ = delong_test(y, b, a)
    assert ba.auc_difference == pytest.approx(-ab.auc_difference, abs=1e-15)
    assert ba.z == pytest.approx(-ab.z, rel=1e-12)
    assert ba.p_value == pytest.approx(ab.p_value, abs=1e-15)
    assert ba.variance == pytest.approx(ab.variance, rel=1e-12)
    assert 0 < ab.p_value < 0.05 and ab.auc_difference > 0


def test_delong_of_scores_of_equal_rank_order_gives_p_one():
    y, a, _ = make_scores(n=500, seed=32)
    result, reason = delong_test(y, a, a * 0.5 + 0.1)  # same ranking, same AUC
    assert reason is None
    assert result.auc_difference == 0.0 and result.z == 0.0 and result.p_value == 1.0


def test_delong_undefined_cases_return_a_reason():
    result, reason = delong_test([1, 0, 0, 0], [0.9, 0.1, 0.2, 0.3], [0.5, 0.4, 0.3, 0.2])
    assert result is None and "1 positive and 3 negative" in reason
    result, reason = delong_test([1, 1, 1], [0.9, 0.1, 0.2], [0.5, 0.4, 0.3])
    assert result is None and "only class 1" in reason
    # A perfect score against a constant one: the difference's variance is 0.
    result, reason = delong_test([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9], [0.5] * 4)
    assert result is None and "variance of their difference is 0" in reason


# --------------------------------------------------------------------------- edge cases


def test_one_class_only_gives_reasons_where_both_classes_are_needed():
    y = np.zeros(50, dtype=int)
    score = np.linspace(0, 1, 50)
    for metric in (gini, ks_statistic, ks_curve):
        value, reason = metric(y, score)
        assert value is None and "only class 0" in reason
    # Calibration and error metrics are defined on one class.
    assert brier_score(y, score)[0] == pytest.approx(brier_score_loss(y, score, labels=[0, 1]))
    assert hosmer_lemeshow_p(y, score)[0].groups == 10


def test_constant_scores():
    y = np.array([0, 1] * 20)
    score = np.full(40, 0.4)
    assert gini(y, score) == (0.0, None)
    assert ks_statistic(y, score) == (0.0, None)
    assert brier_score(y, score)[0] == pytest.approx(brier_score_loss(y, score))
    assert hosmer_lemeshow_p(y, score)[0] is None


@pytest.mark.parametrize(
    ("y_true", "y_score", "message"),
    [
        ([0, 1, 1], [0.2, np.nan, 0.5], "missing or infinite value (nan) at row 2"),
        ([0, 1, 1], [0.2, np.inf, 0.5], "missing or infinite value (inf) at row 2"),
        ([0, 1, 2], [0.2, 0.3, 0.5], "labels 0 and 1: 2 at row 3"),
        ([0, 1, np.nan], [0.2, 0.3, 0.5], "labels 0 and 1: nan at row 3"),
        ([0, 1], [0.2, 0.3, 0.5], "y_true has 2 rows but y_score has 3"),
        ([], [], "y_score is empty"),
        ([[0, 1]], [[0.1, 0.2]], "one-dimensional"),
    ],
)
def test_malformed_input_raises_a_dataset_error(y_true, y_score, message):
    for metric in (gini, ks_statistic, ks_curve, brier_score, hosmer_lemeshow_p):
        with pytest.raises(ValidationInputError) as excinfo:
            metric(y_true, y_score)
        assert message in str(excinfo.value)
        assert isinstance(excinfo.value, DatasetError) and isinstance(excinfo.value, ValueError)


def test_probability_metrics_refuse_scores_outside_unit_interval():
    for metric in (brier_score, hosmer_lemeshow_p, reliability_curve):
        with pytest.raises(ValidationInputError, match=r"outside \[0, 1\]: 1.5 at row 2"):
            metric([0, 1, 1], [0.2, 1.5, 0.5])
    # Ranking metrics accept any real score.
    assert gini([0, 1, 1], [-3.0, 1.5, 7.0]) == (1.0, None)


def test_psi_and_delong_validate_their_inputs():
    with pytest.raises(ValidationInputError, match="reference y_score has a missing"):
        psi([0.1, np.nan], [0.2])
    with pytest.raises(ValidationInputError, match="y_score is empty"):
        psi([0.1, 0.2], [])
    with pytest.raises(ValidationInputError, match="score_b has 2 rows but score_a has 3"):
        delong_test([0, 1, 1], [0.1, 0.2, 0.3], [0.1, 0.2])
    with pytest.raises(ValidationInputError, match="score_b has a missing"):
        delong_test([0, 1, 1], [0.1, 0.2, 0.3], [0.1, np.nan, 0.3])


def test_boolean_and_float_labels_are_accepted():
    score = [0.1, 0.7, 0.4, 0.9]
    assert gini([False, True, False, True], score) == gini([0.0, 1.0, 0.0, 1.0], score)


# --------------------------------------------------------------------------- scale


def test_a_million_rows_match_the_references():
    rng = np.random.default_rng(99)
    n = 1_000_000
    y = rng.binomial(1, 0.3, size=n)
    a = np.round(np.clip(0.3 * y + 0.7 * rng.random(n), 0, 1), 3)
    b = np.round(np.clip(0.2 * y + 0.8 * rng.random(n), 0, 1), 2)
    timings = {}
    results = {}
    for name, call in {
        "gini": lambda: gini(y, a),
        "ksStatistic": lambda: ks_statistic(y, a),
        "ksCurve": lambda: ks_curve(y, a),
        "brierScore": lambda: brier_score(y, a),
        "hosmerLemeshowP": lambda: hosmer_lemeshow_p(y, a),
        "reliabilityCurve": lambda: reliability_curve(y, a),
        "psi": lambda: psi(b, a),
        "delong": lambda: delong_test(y, a, b),
    }.items():
        start = time.perf_counter()
        results[name], _ = call()
        timings[name] = time.perf_counter() - start
    print({name: f"{seconds:.3f}s" for name, seconds in timings.items()})  # not asserted
    assert results["gini"] == pytest.approx(2 * roc_auc_score(y, a) - 1, abs=1e-10)
    ks = stats.ks_2samp(a[y == 1], a[y == 0]).statistic
    assert results["ksStatistic"] == pytest.approx(ks, abs=1e-12)
    assert results["brierScore"] == pytest.approx(brier_score_loss(y, a), abs=1e-12)
    assert results["delong"].auc_b == pytest.approx(roc_auc_score(y, b), abs=1e-10)
    assert results["hosmerLemeshowP"].groups == 10
