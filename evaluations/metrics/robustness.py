"""Robustness suite: data drift against a reference, degradation, edge cases, adversarial.

* Drift per feature: numeric features use the two-sample Kolmogorov-Smirnov test
  (``scipy.stats.ks_2samp``, default ``method="auto"``); other features (strings,
  booleans, categoricals) the chi-square test of the 2 x k contingency table of category
  counts (``scipy.stats.chi2_contingency``, default Yates correction when k = 2). Both use
  the non-missing, finite values; missing shares are reported beside the test.
* PSI: population stability index over reference-decile bins (numeric) or categories,
  ``sum((cur - ref) * ln(cur / ref))`` with empty-bin shares raised to ``PSI_EPSILON``.
* ``driftDetection`` = the smallest p-value over features; a feature drifts when its
  p-value is below the significance level ``alpha`` (no multiple-testing correction).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ._common import (
    Y_PRED,
    Y_PRED_ADV,
    Y_SCORE,
    Y_TRUE,
    as_float,
    feature_columns,
    is_numeric_feature,
)
from .datasets import validate_dataset
from .performance import binary_metrics, roc_auc

__all__ = [
    "DEFAULT_ALPHA",
    "MAX_CATEGORIES",
    "PSI_BINS",
    "PSI_EPSILON",
    "Z_EXTREME",
    "compute_robustness",
    "feature_drift",
    "population_stability_index",
]

DEFAULT_ALPHA = 0.05
PSI_BINS = 10
PSI_EPSILON = 1e-4
#: Without a reference, a value is extreme when its z-score within the dataset exceeds this.
Z_EXTREME = 4.0
#: Categorical features with more distinct values than this are not tested for drift.
MAX_CATEGORIES = 1000

Progress = Callable[[float, str], None]
_PERF_KEYS = ("accuracy", "precision", "recall", "f1Score")


def _shares(counts: np.ndarray, eps: float) -> np.ndarray:
    total = counts.sum()
    shares = counts / total if total else np.zeros(counts.shape)
    return np.maximum(shares, eps)


def _psi_from_counts(ref_counts: np.ndarray, cur_counts: np.ndarray, eps: float) -> float:
    p = _shares(ref_counts.astype(np.float64), eps)
    q = _shares(cur_counts.astype(np.float64), eps)
    return float(np.sum((q - p) * np.log(q / p)))


def population_stability_index(
    reference: np.ndarray | pd.Series,
    current: np.ndarray | pd.Series,
    *,
    categorical: bool = False,
    bins: int = PSI_BINS,
    eps: float = PSI_EPSILON,
) -> float | None:
    """PSI of ``current`` against ``reference`` (missing values ignored).

    Numeric: bins are the reference's ``bins``-quantiles (duplicate edges merged), right
    closed, open-ended at both sides. Categorical: one bin per category seen in either.
    """
    ref = pd.Series(reference).dropna()
    cur = pd.Series(current).dropna()
    if categorical:
        codes, uniques = pd.factorize(pd.concat([ref, cur], ignore_index=True).astype(object))
        k = len(uniques)
        ref_counts = np.bincount(codes[: len(ref)], minlength=k)
        cur_counts = np.bincount(codes[len(ref) :], minlength=k)
        return _psi_from_counts(ref_counts, cur_counts, eps) if k else None
    r = ref.to_numpy(dtype=np.float64)
    c = cur.to_numpy(dtype=np.float64)
    r = r[np.isfinite(r)]
    c = c[np.isfinite(c)]
    if r.size == 0 or c.size == 0:
        return None
    edges = np.unique(np.quantile(r, np.linspace(0.0, 1.0, bins + 1)[1:-1]))
    k = edges.size + 1
    ref_counts = np.bincount(np.searchsorted(edges, r, side="left"), minlength=k)
    cur_counts = np.bincount(np.searchsorted(edges, c, side="left"), minlength=k)
    return _psi_from_counts(ref_counts, cur_counts, eps)


def _missing_share(series: pd.Series) -> float:
    return float(series.isna().mean()) if len(series) else 0.0


def feature_drift(reference: pd.Series, current: pd.Series, alpha: float) -> dict[str, Any]:
    """Drift test, PSI and missing shares for one feature."""
    entry: dict[str, Any] = {
        "type": None,
        "test": None,
        "statistic": None,
        "pValue": None,
        "psi": None,
        "drifted": None,
        "referenceCount": int(reference.notna().sum()),
        "currentCount": int(current.notna().sum()),
        "referenceMissingShare": _missing_share(reference),
        "currentMissingShare": _missing_share(current),
    }
    ref_numeric, cur_numeric = is_numeric_feature(reference), is_numeric_feature(current)
    if ref_numeric != cur_numeric:
        entry["reason"] = "the column is numeric in one dataset and not in the other"
        return entry
    if ref_numeric:
        entry.update(type="numeric", test="ks")
        r = reference.to_numpy(dtype=np.float64, na_value=np.nan)
        c = current.to_numpy(dtype=np.float64, na_value=np.nan)
        r = r[np.isfinite(r)]
        c = c[np.isfinite(c)]
        if r.size == 0 or c.size == 0:
            entry["reason"] = "no finite values in the reference or the current dataset"
            return entry
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            result = stats.ks_2samp(r, c)
        entry["statistic"] = float(result.statistic)
        entry["pValue"] = float(result.pvalue)
        entry["psi"] = population_stability_index(r, c)
    else:
        entry.update(type="categorical", test="chi2")
        ref = reference.dropna().astype(object)
        cur = current.dropna().astype(object)
        if ref.empty or cur.empty:
            entry["reason"] = "no non-missing values in the reference or the current dataset"
            return entry
        codes, uniques = pd.factorize(pd.concat([ref, cur], ignore_index=True))
        k = len(uniques)
        if k > MAX_CATEGORIES:
            entry["reason"] = f"more than {MAX_CATEGORIES} distinct values; not tested"
            return entry
        table = np.vstack(
            [
                np.bincount(codes[: len(ref)], minlength=k),
                np.bincount(codes[len(ref) :], minlength=k),
            ]
        )
        if k == 1:
            entry["statistic"], entry["pValue"] = 0.0, 1.0
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                result = stats.chi2_contingency(table)
            entry["statistic"] = float(result.statistic)
            entry["pValue"] = float(result.pvalue)
        entry["psi"] = _psi_from_counts(table[0], table[1], PSI_EPSILON)
    p_value = entry["pValue"]
    entry["drifted"] = None if p_value is None else bool(p_value < alpha)
    return entry


def _subset_performance(
    mask: np.ndarray, y_true: np.ndarray, y_pred: np.ndarray
) -> dict[str, Any] | None:
    if not mask.any():
        return None
    metrics = binary_metrics(y_true[mask], y_pred[mask])
    return {k: metrics[k] for k in (*_PERF_KEYS, "confusionMatrix")}


def _edge_cases(
    df: pd.DataFrame, reference: pd.DataFrame | None, y_true: np.ndarray, y_pred: np.ndarray
) -> dict[str, Any]:
    n = len(df)
    features = feature_columns(df)
    missing_by_feature: dict[str, int] = {}
    missing_mask = np.zeros(n, dtype=bool)
    for column in features:
        isna = df[column].isna().to_numpy()
        count = int(isna.sum())
        if count:
            missing_by_feature[column] = count
            missing_mask |= isna

    extreme_by_feature: dict[str, int] = {}
    extreme_mask = np.zeros(n, dtype=bool)
    for column in features:
        if not is_numeric_feature(df[column]):
            continue
        x = df[column].to_numpy(dtype=np.float64, na_value=np.nan)
        if reference is not None:
            if column not in reference.columns or not is_numeric_feature(reference[column]):
                continue
            r = reference[column].to_numpy(dtype=np.float64, na_value=np.nan)
            r = r[np.isfinite(r)]
            if r.size == 0:
                continue
            flags = (x < r.min()) | (x > r.max())
        else:
            finite = x[np.isfinite(x)]
            if finite.size < 2:
                continue
            std = float(finite.std())
            if not std > 0:
                continue
            flags = np.abs(x - float(finite.mean())) > Z_EXTREME * std
        count = int(flags.sum())
        if count:
            extreme_by_feature[column] = count
            extreme_mask |= flags

    rule = (
        "outside the reference dataset's [min, max] range"
        if reference is not None
        else f"|z| > {Z_EXTREME:g} within the dataset (no reference supplied)"
    )
    return {
        "missingValues": {
            "count": int(missing_mask.sum()),
            "share": float(missing_mask.mean()),
            "byFeature": missing_by_feature,
            "performance": _subset_performance(missing_mask, y_true, y_pred),
        },
        "extremeValues": {
            "rule": rule,
            "count": int(extreme_mask.sum()),
            "share": float(extreme_mask.mean()),
            "byFeature": extreme_by_feature,
            "performance": _subset_performance(extreme_mask, y_true, y_pred),
        },
    }


def _degradation(
    df: pd.DataFrame, reference: pd.DataFrame, current: dict[str, Any]
) -> dict[str, Any]:
    ref_true = reference[Y_TRUE].to_numpy(dtype=np.int8)
    ref_pred = reference[Y_PRED].to_numpy(dtype=np.int8)
    ref_metrics = binary_metrics(ref_true, ref_pred)
    out: dict[str, Any] = {}
    for key in _PERF_KEYS:
        out[key] = {
            "reference": ref_metrics[key],
            "current": current[key],
            "delta": current[key] - ref_metrics[key],
        }
    if Y_SCORE in df.columns and Y_SCORE in reference.columns:
        ref_auc, _ = roc_auc(ref_true, reference[Y_SCORE].to_numpy(dtype=np.float64))
        cur_auc, _ = roc_auc(
            df[Y_TRUE].to_numpy(dtype=np.int8), df[Y_SCORE].to_numpy(dtype=np.float64)
        )
        out["rocAuc"] = {
            "reference": ref_auc,
            "current": cur_auc,
            "delta": None if ref_auc is None or cur_auc is None else cur_auc - ref_auc,
        }
    return out


def compute_robustness(
    data: pd.DataFrame,
    reference: pd.DataFrame | None = None,
    *,
    alpha: float = DEFAULT_ALPHA,
    progress: Progress | None = None,
    validated: bool = False,
) -> tuple[dict[str, Any], list[str]]:
    """Robustness metrics; returns ``(metrics, notes)``. ``alpha`` is the drift significance."""
    df = data if validated else validate_dataset(data)
    if reference is not None:
        reference = validate_dataset(reference, name="reference dataset", require_labels=False)
    y_true = df[Y_TRUE].to_numpy(dtype=np.int8)
    y_pred = df[Y_PRED].to_numpy(dtype=np.int8)
    current_perf = binary_metrics(y_true, y_pred)
    notes: list[str] = []
    unavailable: dict[str, str] = {}
    metrics: dict[str, Any] = {"referenceProvided": reference is not None, "driftAlpha": alpha}

    if reference is None:
        reason = "no reference dataset supplied; drift and degradation need one"
        metrics.update(driftDetection=None, driftedFeatures=[], featureDrift=None, degradation=None)
        unavailable["driftDetection"] = reason
        unavailable["degradation"] = reason
        notes.append(reason)
    else:
        features = feature_columns(df)
        shared = [c for c in features if c in reference.columns]
        only_current = [c for c in features if c not in reference.columns]
        only_reference = [c for c in feature_columns(reference) if c not in df.columns]
        if only_current:
            notes.append(f"features absent from the reference, not tested: {only_current}")
        if only_reference:
            notes.append(f"reference features absent from the dataset: {only_reference}")
        drift: dict[str, Any] = {}
        for i, column in enumerate(shared):
            drift[column] = feature_drift(reference[column], df[column], alpha)
            if "reason" in drift[column]:
                notes.append(f"drift of {column!r} not tested: {drift[column]['reason']}")
            if progress:
                progress(0.7 * (i + 1) / len(shared), f"drift of {column}")
        p_values = [e["pValue"] for e in drift.values() if e["pValue"] is not None]
        metrics["featureDrift"] = drift
        metrics["driftedFeatures"] = [c for c, e in drift.items() if e["drifted"]]
        if p_values:
            metrics["driftDetection"] = min(p_values)
        else:
            metrics["driftDetection"] = None
            unavailable["driftDetection"] = "no feature could be tested for drift"
            notes.append("driftDetection not computed: no feature could be tested for drift")
        if Y_TRUE in reference.columns and Y_PRED in reference.columns:
            metrics["degradation"] = _degradation(df, reference, current_perf)
        else:
            metrics["degradation"] = None
            unavailable["degradation"] = (
                f"the reference dataset has no {Y_TRUE}/{Y_PRED} columns; degradation needs "
                "labels and predictions in both datasets"
            )
            notes.append(f"degradation not computed: {unavailable['degradation']}")
    if progress:
        progress(0.75, "drift and degradation done")

    metrics["edgeCases"] = _edge_cases(df, reference, y_true, y_pred)
    if progress:
        progress(0.9, "edge cases done")

    metrics["cleanAccuracy"] = current_perf["accuracy"]
    if Y_PRED_ADV in df.columns:
        adversarial = df[Y_PRED_ADV].to_numpy(dtype=np.int8)
        adv_acc = float(np.mean(adversarial == y_true))
        metrics["adversarialAccuracy"] = adv_acc
        metrics["adversarialAccuracyDrop"] = current_perf["accuracy"] - adv_acc
        metrics["adversarialFlipRate"] = float(np.mean(adversarial != y_pred))
    else:
        reason = (
            f"no {Y_PRED_ADV} column: without the registry running the model, "
            "adversarialAccuracy needs the model's predictions on perturbed inputs"
        )
        metrics["adversarialAccuracy"] = None
        metrics["adversarialAccuracyDrop"] = None
        metrics["adversarialFlipRate"] = None
        unavailable["adversarialAccuracy"] = reason
        notes.append(f"adversarialAccuracy not computed: {reason}")
    metrics["unavailable"] = unavailable
    metrics["driftDetection"] = as_float(metrics["driftDetection"])
    return metrics, notes
