"""Validation suite: quantitative validation of scoring models (discrimination, calibration,
stability, champion/challenger), as the API contract's v1.1 ``validation`` suite defines it.

Every function takes 1-D arrays (``y_true`` 0/1 with positive class 1, ``y_score`` the score
of class 1) and returns ``(result, reason)``, like :func:`.performance.roc_auc`: ``result`` is
``None`` exactly when the metric is undefined on well-formed data (one class only, too few
groups, ...) and ``reason`` then says why. Malformed input (empty, lengths differ, labels not
0/1, NaN or infinite scores, probabilities outside [0, 1] where a probability is required)
raises :class:`ValidationInputError`, a :class:`.datasets.DatasetError`, so a run fails with a
message for the model owner as for any other bad dataset.

Everything is vectorised numpy/scipy: one or two sorts per call, nothing loops over rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ._common import safe_div
from .datasets import DatasetError
from .performance import roc_auc

__all__ = [
    "HL_GROUPS",
    "KS_CURVE_MAX_POINTS",
    "PSI_BINS",
    "PSI_SHARE_FLOOR",
    "RELIABILITY_BINS",
    "DeLongResult",
    "HosmerLemeshowResult",
    "KsCurve",
    "PsiResult",
    "ReliabilityCurve",
    "ValidationInputError",
    "brier_score",
    "delong_test",
    "gini",
    "hosmer_lemeshow_p",
    "ks_curve",
    "ks_statistic",
    "psi",
    "reliability_curve",
]

#: Hosmer-Lemeshow groups: deciles of the score (``pandas.qcut(y_score, 10)``).
HL_GROUPS = 10
#: PSI bins: deciles of the reference scores.
PSI_BINS = 10
#: Bin shares are floored at this before PSI's logarithm (an empty bin is not infinite).
PSI_SHARE_FLOOR = 1e-6
#: Bins of the reliability (calibration) curve, uniform on [0, 1].
RELIABILITY_BINS = 10
#: The KS curve in the result has at most this many points (plus the point of the maximum).
KS_CURVE_MAX_POINTS = 200


class ValidationInputError(DatasetError):
    """The arrays given to a validation metric are malformed; the message says how."""


# --------------------------------------------------------------------------- input checks


def _scores(values: Any, name: str, *, probability: bool = False) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise ValidationInputError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if arr.size == 0:
        raise ValidationInputError(f"{name} is empty")
    bad = ~np.isfinite(arr)
    if bad.any():
        pos = int(np.argmax(bad))
        raise ValidationInputError(
            f"{name} has a missing or infinite value ({arr[pos].item()!r}) at row {pos + 1} "
            f"({int(bad.sum())} rows)"
        )
    if probability:
        outside = (arr < 0.0) | (arr > 1.0)
        if outside.any():
            pos = int(np.argmax(outside))
            raise ValidationInputError(
                f"{name} outside [0, 1]: {arr[pos].item()!r} at row {pos + 1} "
                f"({int(outside.sum())} rows); it must be the probability of class 1"
            )
    return arr


def _labels(values: Any, size: int) -> np.ndarray:
    raw = np.asarray(values)
    if raw.ndim != 1:
        raise ValidationInputError(f"y_true must be one-dimensional, got shape {raw.shape}")
    if raw.size != size:
        raise ValidationInputError(f"y_true has {raw.size} rows but y_score has {size}")
    if raw.dtype == np.bool_:
        return raw.astype(np.int8)
    try:
        arr = raw.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise ValidationInputError("y_true must hold the labels 0 and 1") from exc
    bad = (arr != 0.0) & (arr != 1.0)  # NaN is neither
    if bad.any():
        pos = int(np.argmax(bad))
        raise ValidationInputError(
            f"y_true must hold the labels 0 and 1: {raw[pos].item()!r} at row {pos + 1} "
            f"({int(bad.sum())} rows)"
        )
    return arr.astype(np.int8)


def _binary(
    y_true: Any, y_score: Any, *, probability: bool = False, name: str = "y_score"
) -> tuple[np.ndarray, np.ndarray]:
    score = _scores(y_score, name, probability=probability)
    return _labels(y_true, score.size), score


def _one_class_reason(y_true: np.ndarray, metric: str) -> str | None:
    positives = int(y_true.sum())
    if positives == 0 or positives == y_true.size:
        only = 1 if positives else 0
        return f"y_true contains only class {only}; {metric} needs both classes"
    return None


# --------------------------------------------------------------------------- discrimination


def gini(y_true: Any, y_score: Any) -> tuple[float | None, str | None]:
    """Gini coefficient (accuracy ratio) ``2 · rocAuc - 1``, rocAuc as the performance suite's.

    ``None`` with a reason when ``y_true`` has one class only.
    """
    y, s = _binary(y_true, y_score)
    auc, reason = roc_auc(y, s)
    if auc is None:
        return None, f"gini is 2 * rocAuc - 1: {reason}"
    return 2.0 * auc - 1.0, None


def _class_cdfs(y: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct scores and, at each, the empirical CDFs ``P(score <= t)`` of both classes."""
    order = np.argsort(s, kind="stable")
    sorted_s = s[order]
    cum_pos = np.cumsum(y[order], dtype=np.int64)
    # The CDF at a distinct value counts every row up to the last of its ties.
    last = np.r_[np.flatnonzero(sorted_s[1:] != sorted_s[:-1]), s.size - 1]
    positives = cum_pos[-1]
    negatives = s.size - positives
    pos_cdf = cum_pos[last] / positives
    neg_cdf = (last + 1 - cum_pos[last]) / negatives
    return sorted_s[last], pos_cdf, neg_cdf


def ks_statistic(y_true: Any, y_score: Any) -> tuple[float | None, str | None]:
    """Two-sample Kolmogorov-Smirnov statistic ``sup_t |F₁(t) - F₀(t)|`` of ``y_score``
    between the positive and the negative class.

    Equal to ``scipy.stats.ks_2samp(scores_pos, scores_neg).statistic``: both evaluate the
    empirical CDFs (right-continuous) at every observed score. ``None`` with one class only.
    """
    y, s = _binary(y_true, y_score)
    reason = _one_class_reason(y, "ksStatistic")
    if reason is not None:
        return None, reason
    _, pos_cdf, neg_cdf = _class_cdfs(y, s)
    return float(np.max(np.abs(pos_cdf - neg_cdf))), None


@dataclass(frozen=True)
class KsCurve:
    """Both classes' empirical CDFs on a grid of scores, for the KS chart.

    ``grid`` is ascending observed scores (every distinct score, or at most
    :data:`KS_CURVE_MAX_POINTS` evenly spaced ones plus the maximum's); ``ks_threshold`` is
    the score at which ``|cdf_positive - cdf_negative|`` is largest (the first such score).
    """

    grid: list[float]
    cdf_positive: list[float]
    cdf_negative: list[float]
    ks_statistic: float
    ks_threshold: float
    points: int
    total_points: int
    downsampled: bool


def ks_curve(
    y_true: Any, y_score: Any, *, max_points: int = KS_CURVE_MAX_POINTS
) -> tuple[KsCurve | None, str | None]:
    """The two class CDFs of ``y_score`` and where they are furthest apart (:class:`KsCurve`)."""
    y, s = _binary(y_true, y_score)
    reason = _one_class_reason(y, "ksCurve")
    if reason is not None:
        return None, reason
    grid, pos_cdf, neg_cdf = _class_cdfs(y, s)
    gap = np.abs(pos_cdf - neg_cdf)
    best = int(np.argmax(gap))
    total = int(grid.size)
    keep = np.arange(total)
    if total > max_points:
        keep = np.unique(np.r_[np.round(np.linspace(0, total - 1, max_points)), best])
        keep = keep.astype(np.int64)
    curve = KsCurve(
        grid=grid[keep].tolist(),
        cdf_positive=pos_cdf[keep].tolist(),
        cdf_negative=neg_cdf[keep].tolist(),
        ks_statistic=float(gap[best]),
        ks_threshold=float(grid[best]),
        points=int(keep.size),
        total_points=total,
        downsampled=total > max_points,
    )
    return curve, None


# --------------------------------------------------------------------------- calibration


def brier_score(y_true: Any, y_score: Any) -> tuple[float | None, str | None]:
    """Brier score ``mean((y_score - y_true)²)`` (Brier, 1950), as
    ``sklearn.metrics.brier_score_loss``. Defined with one class too; never ``None``."""
    y, s = _binary(y_true, y_score, probability=True)
    return float(np.mean(np.square(s - y))), None


@dataclass(frozen=True)
class HosmerLemeshowResult:
    """The Hosmer-Lemeshow test: statistic, χ² p-value and the groups it used.

    ``groups`` counts the non-empty score groups; ``degrees_of_freedom`` is ``groups - 2``.
    Per group: rows, observed positives and expected positives (summed scores).
    """

    statistic: float
    p_value: float
    groups: int
    degrees_of_freedom: int
    group_rows: list[int]
    observed: list[int]
    expected: list[float]


def _too_few_groups_reason(n_groups: int, asked: int) -> str:
    return (
        f"y_score falls into {n_groups} score group{'s' if n_groups != 1 else ''} "
        f"(pandas.qcut into {asked}, duplicate edges dropped); hosmerLemeshowP needs "
        "at least 3 groups for a positive number of degrees of freedom"
    )


def hosmer_lemeshow_p(
    y_true: Any, y_score: Any, *, groups: int = HL_GROUPS
) -> tuple[HosmerLemeshowResult | None, str | None]:
    """Hosmer-Lemeshow goodness-of-fit test (Hosmer & Lemeshow, 1980; *Applied Logistic
    Regression*, §5.2.2) with the contract's grouping.

    Rows are grouped by ``pandas.qcut(y_score, groups, duplicates="drop")``; over the
    non-empty groups ``C = Σ (O - E)² / (E · (1 - E/n))`` (O observed positives, E summed
    scores, n rows of the group) is referred to χ² with ``groups - 2`` degrees of freedom.

    Decisions: fewer than 3 non-empty groups (few distinct scores; constant scores give one)
    leave no degree of freedom: ``None`` with a reason. A group whose scores are all 0 or all
    1 has ``E · (1 - E/n) = 0``: it adds 0 when ``O == E`` and makes the statistic infinite
    (p-value 0) otherwise — the model called certain what did not happen. One class only is
    fine: calibration is still testable.
    """
    y, s = _binary(y_true, y_score, probability=True)
    raw_codes = np.asarray(pd.qcut(s, groups, labels=False, duplicates="drop"), dtype=np.float64)
    if np.isnan(raw_codes).any():
        # A constant score leaves a single edge, from which pandas makes no bin at all.
        return None, _too_few_groups_reason(1, groups)
    codes = raw_codes.astype(np.int64)
    width = int(codes.max()) + 1
    rows = np.bincount(codes, minlength=width)
    observed = np.bincount(codes, weights=y.astype(np.float64), minlength=width)
    expected = np.bincount(codes, weights=s, minlength=width)
    used = rows > 0  # a quantile bin can be empty when interpolated edges fall between values
    rows, observed, expected = rows[used], observed[used], expected[used]
    n_groups = int(rows.size)
    if n_groups < 3:
        return None, _too_few_groups_reason(n_groups, groups)
    variance = expected * (1.0 - expected / rows)
    squared = np.square(observed - expected)
    terms = safe_div(squared, variance)
    degenerate = variance <= 0.0
    terms[degenerate & (squared > 0.0)] = np.inf
    statistic = float(terms.sum())
    dof = n_groups - 2
    result = HosmerLemeshowResult(
        statistic=statistic,
        p_value=float(stats.chi2.sf(statistic, dof)),
        groups=n_groups,
        degrees_of_freedom=dof,
        group_rows=rows.astype(np.int64).tolist(),
        observed=observed.astype(np.int64).tolist(),
        expected=expected.tolist(),
    )
    return result, None


@dataclass(frozen=True)
class ReliabilityCurve:
    """Mean predicted probability against the observed rate of class 1 per score bin.

    ``bin_edges`` has ``bins + 1`` uniform edges on [0, 1]; per bin ``count`` rows,
    ``mean_predicted`` and ``observed_rate`` (``None`` for an empty bin).
    """

    bin_edges: list[float]
    count: list[int]
    mean_predicted: list[float | None]
    observed_rate: list[float | None]


def reliability_curve(
    y_true: Any, y_score: Any, bins: int = RELIABILITY_BINS
) -> tuple[ReliabilityCurve | None, str | None]:
    """Reliability diagram data with uniform bins, binned as
    ``sklearn.calibration.calibration_curve(strategy="uniform")`` does (a score on an inner
    edge falls in the lower bin; 1.0 in the last): its non-empty bins are the same points.
    Defined for any non-empty data; never ``None``."""
    if bins < 1:
        raise ValueError("bins must be at least 1")
    y, s = _binary(y_true, y_score, probability=True)
    edges = np.linspace(0.0, 1.0, bins + 1)
    codes = np.searchsorted(edges[1:-1], s, side="left")
    count = np.bincount(codes, minlength=bins)
    score_sum = np.bincount(codes, weights=s, minlength=bins)
    positives = np.bincount(codes, weights=y.astype(np.float64), minlength=bins)
    mean_pred = safe_div(score_sum, count, default=np.nan)
    rate = safe_div(positives, count, default=np.nan)
    curve = ReliabilityCurve(
        bin_edges=edges.tolist(),
        count=count.astype(np.int64).tolist(),
        mean_predicted=[float(v) if c else None for v, c in zip(mean_pred, count, strict=True)],
        observed_rate=[float(v) if c else None for v, c in zip(rate, count, strict=True)],
    )
    return curve, None


# --------------------------------------------------------------------------- stability


@dataclass(frozen=True)
class PsiResult:
    """Population stability index and the bins behind it (for the chart).

    ``edges`` are the reference's 9 inner decile edges (repeated edges kept, so there are
    always 10 bins; a bin between equal edges is empty in both samples and adds 0). The
    shares are the raw ones (each list sums to 1); PSI floors them at
    :data:`PSI_SHARE_FLOOR`.
    """

    psi: float
    edges: list[float]
    reference_shares: list[float]
    current_shares: list[float]
    reference_count: int
    current_count: int


def psi(reference_scores: Any, scores: Any) -> tuple[PsiResult | None, str | None]:
    """PSI of ``scores`` against ``reference_scores``, as the contract defines it.

    Bin edges ``numpy.quantile(reference, [0.1, …, 0.9])`` (linear interpolation); a value
    on an edge goes to the bin above it (``numpy.searchsorted(edges, x, side="right")``);
    the outer bins are open. ``PSI = Σ (a - e) · ln(a / e)`` over the 10 bins, ``a`` the
    current and ``e`` the reference share, both floored at :data:`PSI_SHARE_FLOOR`
    (Siddiqi, *Credit Risk Scorecards*, 2006, ch. 8; Yurdakul, 2018). Defined for any
    non-empty samples (a constant reference puts every reference row in the top bin); never
    ``None``.
    """
    ref = _scores(reference_scores, "reference y_score")
    cur = _scores(scores, "y_score")
    edges = np.quantile(ref, np.arange(1, PSI_BINS) / PSI_BINS, method="linear")
    ref_counts = np.bincount(np.searchsorted(edges, ref, side="right"), minlength=PSI_BINS)
    cur_counts = np.bincount(np.searchsorted(edges, cur, side="right"), minlength=PSI_BINS)
    e_raw = ref_counts / ref.size
    a_raw = cur_counts / cur.size
    e = np.maximum(e_raw, PSI_SHARE_FLOOR)
    a = np.maximum(a_raw, PSI_SHARE_FLOOR)
    result = PsiResult(
        psi=float(np.sum((a - e) * np.log(a / e))),
        edges=edges.tolist(),
        reference_shares=e_raw.tolist(),
        current_shares=a_raw.tolist(),
        reference_count=int(ref.size),
        current_count=int(cur.size),
    )
    return result, None


# --------------------------------------------------------------------------- champion/challenger


@dataclass(frozen=True)
class DeLongResult:
    """DeLong's test of ``H₀: AUC_a = AUC_b`` for two scores of the same rows.

    ``auc_difference`` is ``auc_a - auc_b``; ``z`` its ratio to the standard error, and
    ``p_value`` two-sided. ``variance`` is the estimated variance of the difference.
    """

    auc_a: float
    auc_b: float
    auc_difference: float
    variance: float
    z: float
    p_value: float


def _midranks_sorted(sorted_values: np.ndarray) -> np.ndarray:
    """1-based midranks of an ascending array: tied values share their average rank."""
    n = sorted_values.size
    starts = np.flatnonzero(np.r_[True, sorted_values[1:] != sorted_values[:-1]])
    ends = np.r_[starts[1:], n]
    return np.repeat((starts + ends + 1) / 2.0, ends - starts)


def _placements(positive: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sun & Xu's structural components ``V10`` (per positive row) and ``V01`` (per negative).

    ``V10_i = (Tz_i - Tx_i) / n`` and ``V01_j = 1 - (Tz_j - Ty_j) / m``: Tz the midrank in
    all rows, Tx/Ty the midrank within the row's class, m positives, n negatives — the mean
    Mann-Whitney kernel ψ(x, y) = 1[y < x] + ½·1[y = x] of a row against the other class.
    One sort per score: the class subsequences of the sorted rows are sorted already.
    """
    order = np.argsort(score, kind="stable")
    sorted_score = score[order]
    pos_sorted = positive[order]
    m = int(positive.sum())
    n = positive.size - m
    tz = np.empty(score.size)
    tz[order] = _midranks_sorted(sorted_score)
    within = np.empty(score.size)
    within[order[pos_sorted]] = _midranks_sorted(sorted_score[pos_sorted])
    within[order[~pos_sorted]] = _midranks_sorted(sorted_score[~pos_sorted])
    v10 = (tz[positive] - within[positive]) / n
    v01 = 1.0 - (tz[~positive] - within[~positive]) / m
    return v10, v01


def delong_test(y_true: Any, score_a: Any, score_b: Any) -> tuple[DeLongResult | None, str | None]:
    """Two-sided DeLong test for the difference of two correlated ROC AUCs on the same rows
    (DeLong, DeLong & Clarke-Pearson, *Biometrics* 44, 1988), computed with the O(N log N)
    midrank algorithm of Sun & Xu (*IEEE Signal Processing Letters* 21(11), 2014).

    ``Var(AUC_a - AUC_b) = Var(V10_a - V10_b)/m + Var(V01_a - V01_b)/n`` (sample variances,
    ``ddof=1``, as pROC), ``z = (AUC_a - AUC_b) / √Var``, ``p = 2·Φ(-|z|)``.

    ``None`` with a reason: one class only, or fewer than 2 rows of a class (no sample
    variance). When the variance is 0 (the two scores rank the rows alike, e.g. identical
    models) and the AUCs are equal, ``z = 0`` and ``p = 1`` as in pROC; a zero variance with
    different AUCs (e.g. a perfect score against a constant one) has no finite z: ``None``.
    """
    y, a = _binary(y_true, score_a, name="score_a")
    b = _scores(score_b, "score_b")
    if b.size != a.size:
        raise ValidationInputError(f"score_b has {b.size} rows but score_a has {a.size}")
    reason = _one_class_reason(y, "the DeLong test")
    if reason is not None:
        return None, reason
    positive = y.astype(bool)
    m = int(positive.sum())
    n = positive.size - m
    if m < 2 or n < 2:
        return None, (
            f"y_true has {m} positive and {n} negative rows; the DeLong test needs at least "
            "2 of each to estimate the variance"
        )
    v10_a, v01_a = _placements(positive, a)
    v10_b, v01_b = _placements(positive, b)
    auc_a = float(v10_a.mean())
    auc_b = float(v10_b.mean())
    diff = auc_a - auc_b
    variance = float(np.var(v10_a - v10_b, ddof=1) / m + np.var(v01_a - v01_b, ddof=1) / n)
    if variance <= 0.0:
        if diff == 0.0:
            z = 0.0
        else:
            return None, (
                f"the AUCs differ ({auc_a:.6g} vs {auc_b:.6g}) but the variance of their "
                "difference is 0; the DeLong z statistic is not finite"
            )
    else:
        z = diff / np.sqrt(variance)
    p_value = float(2.0 * stats.norm.sf(abs(z)))
    result = DeLongResult(
        auc_a=auc_a,
        auc_b=auc_b,
        auc_difference=diff,
        variance=variance,
        z=float(z),
        p_value=min(p_value, 1.0),
    )
    return result, None
