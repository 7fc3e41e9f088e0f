"""Performance suite: binary classification metrics computed with numpy counts.

Definitions are scikit-learn's (``pos_label=1``): accuracy, precision, recall, F1, ROC AUC,
confusion matrix and ROC curve. Undefined precision/recall/F1 (a zero denominator) are
0.0 as with scikit-learn's default ``zero_division``, and a note says so.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from ._common import (
    Y_PRED,
    Y_SCORE,
    Y_TRUE,
    confusion_counts,
    factorize,
    rates_from_counts,
    safe_div,
)
from .datasets import validate_dataset

__all__ = [
    "MAX_SEGMENTS",
    "ROC_MAX_POINTS",
    "binary_metrics",
    "compute_performance",
    "downsample_curve",
    "grouped_roc_auc",
    "roc_auc",
    "roc_curve_points",
]

#: The ROC curve in the result has at most this many points.
ROC_MAX_POINTS = 200
#: At most this many segments are reported per segment column (the largest ones).
MAX_SEGMENTS = 50

Progress = Callable[[float, str], None]


def binary_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, Any]:
    """accuracy, precision, recall, f1Score, the confusion matrix and support counts."""
    counts = confusion_counts(y_true, y_pred)
    rates = rates_from_counts(counts)
    tn, fp, fn, tp = (int(v) for v in counts[0])
    result: dict[str, Any] = {name: float(values[0]) for name, values in rates.items()}
    result["confusionMatrix"] = {"tn": tn, "fp": fp, "fn": fn, "tp": tp}
    result["support"] = {
        "total": tn + fp + fn + tp,
        "positives": tp + fn,
        "negatives": tn + fp,
        "predictedPositives": tp + fp,
        "predictedNegatives": tn + fn,
    }
    return result


def zero_division_notes(confusion: dict[str, int], where: str = "") -> list[str]:
    """Notes for metrics whose denominator is zero (reported as 0.0 like scikit-learn)."""
    tp, fp, fn = confusion["tp"], confusion["fp"], confusion["fn"]
    suffix = f" {where}" if where else ""
    notes = []
    if tp + fp == 0:
        notes.append(
            f"precision is undefined{suffix} (no positive predictions); reported as 0.0 "
            "as scikit-learn does with its default zero_division"
        )
    if tp + fn == 0:
        notes.append(
            f"recall is undefined{suffix} (no positive labels in y_true); reported as 0.0 "
            "as scikit-learn does with its default zero_division"
        )
    if 2 * tp + fp + fn == 0:
        notes.append(
            f"f1Score is undefined{suffix} (no positive labels or predictions); reported as "
            "0.0 as scikit-learn does with its default zero_division"
        )
    return notes


def _binary_clf_curve(
    y_true: np.ndarray, y_score: np.ndarray, score_order: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cumulative false/true positives per distinct score threshold (scikit-learn's)."""
    if score_order is None:
        score_order = np.argsort(y_score, kind="stable")
    order = score_order[::-1]
    score = y_score[order]
    truth = y_true[order].astype(np.int64)
    distinct = np.flatnonzero(np.diff(score))
    idx = np.r_[distinct, truth.size - 1]
    tps = np.cumsum(truth)[idx]
    fps = 1 + idx - tps
    return fps, tps, score[idx]


def roc_curve_points(
    y_true: np.ndarray,
    y_score: np.ndarray,
    *,
    drop_intermediate: bool = True,
    score_order: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``fpr, tpr, thresholds`` exactly as ``sklearn.metrics.roc_curve`` (first threshold inf).

    Needs both classes in ``y_true``. ``score_order``: a stable ascending argsort of scores.
    """
    fps, tps, thresholds = _binary_clf_curve(y_true, y_score, score_order)
    if drop_intermediate and fps.size > 2:
        keep = np.flatnonzero(np.r_[True, np.logical_or(np.diff(fps, 2), np.diff(tps, 2)), True])
        fps, tps, thresholds = fps[keep], tps[keep], thresholds[keep]
    fps = np.r_[0, fps]
    tps = np.r_[0, tps]
    thresholds = np.r_[np.inf, thresholds]
    return safe_div(fps, fps[-1]), safe_div(tps, tps[-1]), thresholds


def downsample_curve(
    fpr: np.ndarray, tpr: np.ndarray, thresholds: np.ndarray, max_points: int = ROC_MAX_POINTS
) -> dict[str, Any]:
    """At most ``max_points`` evenly spaced curve points, always keeping both ends."""
    total = int(fpr.size)
    if total > max_points:
        keep = np.unique(np.round(np.linspace(0, total - 1, max_points)).astype(np.int64))
        fpr, tpr, thresholds = fpr[keep], tpr[keep], thresholds[keep]
    return {
        "fpr": fpr.tolist(),
        "tpr": tpr.tolist(),
        "thresholds": [None if not np.isfinite(t) else float(t) for t in thresholds],
        "points": int(fpr.size),
        "totalPoints": total,
        "downsampled": total > max_points,
    }


def roc_auc(y_true: np.ndarray, y_score: np.ndarray | None) -> tuple[float | None, str | None]:
    """ROC AUC (trapezoidal, as scikit-learn) or ``(None, reason)``."""
    reason = _auc_unavailable_reason(y_true, y_score)
    if reason is not None:
        return None, reason
    fpr, tpr, _ = roc_curve_points(y_true, y_score, drop_intermediate=True)
    return float(np.trapezoid(tpr, fpr)), None


def _auc_unavailable_reason(y_true: np.ndarray, y_score: np.ndarray | None) -> str | None:
    if y_score is None:
        return f"no {Y_SCORE} column in the dataset; rocAuc needs the probability of class 1"
    positives = int(y_true.sum())
    if positives == 0 or positives == y_true.size:
        only = 1 if positives else 0
        return f"{Y_TRUE} contains only class {only}; rocAuc needs both classes"
    return None


def grouped_roc_auc(
    codes: np.ndarray,
    n_groups: int,
    y_true: np.ndarray,
    y_score: np.ndarray,
    score_order: np.ndarray | None = None,
) -> np.ndarray:
    """ROC AUC per group via the Mann-Whitney rank statistic (ties count one half).

    Returns NaN for groups without both classes. One sort, no loop over groups;
    ``score_order`` (an ascending argsort of ``y_score``) lets several columns share it.
    """
    n = codes.size
    if score_order is None:
        score_order = np.argsort(y_score, kind="stable")
    order = score_order[np.argsort(codes[score_order], kind="stable")]
    g = codes[order]
    s = y_score[order]
    y = y_true[order].astype(np.int64)
    change = np.empty(n, dtype=bool)
    change[0] = True
    np.not_equal(g[1:], g[:-1], out=change[1:])
    change[1:] |= s[1:] != s[:-1]
    starts = np.flatnonzero(change)
    ends = np.r_[starts[1:], n]
    group_sizes = np.bincount(codes, minlength=n_groups)
    group_starts = np.cumsum(group_sizes) - group_sizes
    run_group = g[starts]
    avg_rank = (starts + ends - 1) / 2.0 - group_starts[run_group] + 1.0
    positives_in_run = np.add.reduceat(y, starts)
    rank_sum = np.bincount(run_group, weights=avg_rank * positives_in_run, minlength=n_groups)
    n_pos = np.bincount(codes, weights=y_true.astype(np.float64), minlength=n_groups)
    n_neg = group_sizes - n_pos
    u = rank_sum - n_pos * (n_pos + 1) / 2.0
    auc = safe_div(u, n_pos * n_neg, default=np.nan)
    return auc


def _segments(
    column: str,
    values: pd.Series,
    y_true: np.ndarray,
    y_pred: np.ndarray,
    y_score: np.ndarray | None,
    max_segments: int,
    score_order: np.ndarray | None,
) -> tuple[dict[str, Any], list[str]]:
    codes, labels = factorize(values)
    n_groups = len(labels)
    counts = confusion_counts(y_true, y_pred, codes, n_groups)
    size = counts.sum(axis=1)
    rates = rates_from_counts(counts)
    auc = (
        grouped_roc_auc(codes, n_groups, y_true, y_score, score_order)
        if y_score is not None
        else np.full(n_groups, np.nan)
    )
    order = np.argsort(-size, kind="stable")
    shown = order[:max_segments]
    segments = [
        {
            "value": labels[i],
            "count": int(size[i]),
            "positives": int(counts[i, 2] + counts[i, 3]),
            "accuracy": float(rates["accuracy"][i]),
            "precision": float(rates["precision"][i]),
            "recall": float(rates["recall"][i]),
            "f1Score": float(rates["f1Score"][i]),
            "rocAuc": float(auc[i]) if np.isfinite(auc[i]) else None,
        }
        for i in shown
    ]
    capped = n_groups > max_segments
    notes = []
    if capped:
        notes.append(
            f"segment column {column!r} has {n_groups} distinct values; only the "
            f"{max_segments} largest segments are reported"
        )
    block = {
        "segments": segments,
        "totalSegments": n_groups,
        "shownSegments": len(segments),
        "capped": capped,
        "rowsInOmittedSegments": int(size[order[max_segments:]].sum()),
    }
    return block, notes


def compute_performance(
    data: pd.DataFrame,
    *,
    segment_columns: tuple[str, ...] | list[str] = (),
    max_segments: int = MAX_SEGMENTS,
    progress: Progress | None = None,
    validated: bool = False,
) -> tuple[dict[str, Any], list[str]]:
    """Performance metrics of ``data``; returns ``(metrics, notes)``.

    ``metrics["unavailable"]`` maps a metric that could not be computed to the reason.
    """
    df = data if validated else validate_dataset(data, segment_columns=segment_columns)
    segment_columns = list(segment_columns)
    y_true = df[Y_TRUE].to_numpy(dtype=np.int8)
    y_pred = df[Y_PRED].to_numpy(dtype=np.int8)
    y_score = df[Y_SCORE].to_numpy(dtype=np.float64) if Y_SCORE in df.columns else None

    metrics = binary_metrics(y_true, y_pred)
    notes = zero_division_notes(metrics["confusionMatrix"])
    unavailable: dict[str, str] = {}
    if progress:
        progress(0.3, "computed confusion matrix and rates")

    score_order = np.argsort(y_score, kind="stable") if y_score is not None else None
    reason = _auc_unavailable_reason(y_true, y_score)
    if reason is None:
        fpr, tpr, thresholds = roc_curve_points(y_true, y_score, score_order=score_order)
        metrics["rocAuc"] = float(np.trapezoid(tpr, fpr))
        metrics["rocCurve"] = downsample_curve(fpr, tpr, thresholds)
    else:
        metrics["rocAuc"] = None
        metrics["rocCurve"] = None
        unavailable["rocAuc"] = reason
        unavailable["rocCurve"] = reason
        notes.append(f"rocAuc not computed: {reason}")
    if progress:
        progress(0.6, "computed ROC curve")

    segments: dict[str, Any] = {}
    for i, column in enumerate(segment_columns):
        block, seg_notes = _segments(
            column, df[column], y_true, y_pred, y_score, max_segments, score_order
        )
        segments[column] = block
        notes.extend(seg_notes)
        if progress:
            progress(0.6 + 0.4 * (i + 1) / len(segment_columns), f"segments of {column}")
    metrics["segments"] = segments
    metrics["unavailable"] = unavailable
    return metrics, notes
