"""Bias suite: group fairness metrics computed with numpy counts, matching fairlearn.

* ``demographicParity`` = ``fairlearn.metrics.demographic_parity_difference``:
  max - min of the per-group selection rate P(y_pred = 1 | group).
* ``equalizedOdds`` = ``fairlearn.metrics.equalized_odds_difference`` (``agg="worst_case"``):
  the larger of the between-group spreads of the true and false positive rates.
* ``disparateImpact`` = ``fairlearn.metrics.demographic_parity_ratio``:
  min / max of the per-group selection rates.

A group rate whose denominator is zero (e.g. a true positive rate in a group without
positive labels) is 0.0, as fairlearn computes it; it then enters ``equalizedOdds``.
Missing sensitive values (NaN/None/empty cell) form their own group ``"<missing>"``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd

from ._common import (
    MISSING_LABEL,
    Y_PRED,
    Y_TRUE,
    confusion_counts,
    factorize,
    safe_div,
)
from .datasets import DatasetError, validate_dataset, validate_sensitive_features

__all__ = ["MAX_GROUPS_LISTED", "compute_bias", "group_rates"]

#: The per-group table lists at most this many groups (the largest); metrics use all groups.
MAX_GROUPS_LISTED = 100
_MAX_NAMES_IN_NOTE = 10

Progress = Callable[[float, str], None]


def group_rates(
    y_true: np.ndarray, y_pred: np.ndarray, codes: np.ndarray, n_groups: int
) -> dict[str, np.ndarray]:
    """Per-group count, positives, negatives and fairlearn's rates (undefined -> 0.0)."""
    counts = confusion_counts(y_true, y_pred, codes, n_groups)
    tn, fp, fn, tp = (counts[:, i] for i in range(4))
    size = counts.sum(axis=1)
    positives = tp + fn
    negatives = tn + fp
    return {
        "count": size,
        "positives": positives,
        "negatives": negatives,
        "selectionRate": safe_div(tp + fp, size),
        "truePositiveRate": safe_div(tp, positives),
        "falsePositiveRate": safe_div(fp, negatives),
        "falseNegativeRate": safe_div(fn, positives),
        "accuracy": safe_div(tp + tn, size),
    }


def _names(labels: list[Any], idx: np.ndarray) -> str:
    shown = [repr(labels[i]) for i in idx[:_MAX_NAMES_IN_NOTE]]
    more = f" and {idx.size - _MAX_NAMES_IN_NOTE} more" if idx.size > _MAX_NAMES_IN_NOTE else ""
    return ", ".join(shown) + more


def _feature_bias(
    column: str, values: pd.Series, y_true: np.ndarray, y_pred: np.ndarray
) -> tuple[dict[str, Any], list[str]]:
    codes, labels = factorize(values)
    if labels.count(MISSING_LABEL) > 1:
        raise DatasetError(
            f"sensitive feature column {column!r} contains both missing values and the "
            f"literal value {MISSING_LABEL!r}, which is the label of the missing-value group"
        )
    n_groups = len(labels)
    r = group_rates(y_true, y_pred, codes, n_groups)
    sr, tpr, fpr = r["selectionRate"], r["truePositiveRate"], r["falsePositiveRate"]
    tpr_diff = float(tpr.max() - tpr.min())
    fpr_diff = float(fpr.max() - fpr.min())
    sr_max = float(sr.max())
    sr_min = float(sr.min())
    notes: list[str] = []
    unavailable: dict[str, str] = {}
    if sr_max > 0:
        disparate_impact: float | None = sr_min / sr_max
    else:
        disparate_impact = None
        unavailable["disparateImpact"] = (
            f"no group of {column!r} has a positive prediction; the selection-rate ratio "
            "0/0 is undefined"
        )
        notes.append(f"disparateImpact for {column!r} not computed: no positive predictions")
    if n_groups == 1:
        notes.append(
            f"sensitive feature {column!r} has a single group ({labels[0]!r}); between-group "
            "differences are 0 by definition"
        )
    no_pos = np.flatnonzero(r["positives"] == 0)
    if no_pos.size:
        notes.append(
            f"in {column!r}, group(s) {_names(labels, no_pos)} have no positive labels: their "
            "truePositiveRate and falseNegativeRate are undefined and reported as 0.0, as "
            "fairlearn does; this enters equalizedOdds"
        )
    no_neg = np.flatnonzero(r["negatives"] == 0)
    if no_neg.size:
        notes.append(
            f"in {column!r}, group(s) {_names(labels, no_neg)} have no negative labels: their "
            "falsePositiveRate is undefined and reported as 0.0, as fairlearn does; this "
            "enters equalizedOdds"
        )
    missing = [i for i, label in enumerate(labels) if label == MISSING_LABEL]
    if missing:
        notes.append(
            f"{int(r['count'][missing[0]])} rows with a missing {column!r} value form the "
            f"group {MISSING_LABEL!r}"
        )

    listed = np.arange(n_groups)
    capped = n_groups > MAX_GROUPS_LISTED
    if capped:
        listed = np.sort(np.argsort(-r["count"], kind="stable")[:MAX_GROUPS_LISTED])
        notes.append(
            f"sensitive feature {column!r} has {n_groups} groups; the group table lists the "
            f"{MAX_GROUPS_LISTED} largest, the metrics use all groups (consider binning it)"
        )
    groups = [
        {
            "group": labels[i],
            "count": int(r["count"][i]),
            "positives": int(r["positives"][i]),
            "negatives": int(r["negatives"][i]),
            "selectionRate": float(sr[i]),
            "truePositiveRate": float(tpr[i]),
            "falsePositiveRate": float(fpr[i]),
            "falseNegativeRate": float(r["falseNegativeRate"][i]),
            "accuracy": float(r["accuracy"][i]),
        }
        for i in listed
    ]
    block = {
        "demographicParity": sr_max - sr_min,
        "equalizedOdds": max(tpr_diff, fpr_diff),
        "disparateImpact": disparate_impact,
        "selectionRateMin": sr_min,
        "selectionRateMax": sr_max,
        "truePositiveRateDifference": tpr_diff,
        "falsePositiveRateDifference": fpr_diff,
        "groupCount": n_groups,
        "groupsCapped": capped,
        "groups": groups,
        "unavailable": unavailable,
    }
    return block, notes


def compute_bias(
    data: pd.DataFrame,
    sensitive_features: Iterable[str],
    *,
    progress: Progress | None = None,
    validated: bool = False,
) -> tuple[dict[str, Any], list[str]]:
    """Bias metrics per sensitive feature; returns ``(metrics, notes)``.

    One feature: its metrics and ``groups`` stand at the top level. Several features: each
    under ``metrics["byFeature"][column]``; the top level holds the worst value (max of the
    differences, min of the ratio) and ``worstFeature`` names the column it came from.
    """
    features = validate_sensitive_features(data, sensitive_features)
    if not features:
        raise DatasetError("the bias suite needs at least one sensitive feature column")
    df = data if validated else validate_dataset(data, sensitive_features=features)
    y_true = df[Y_TRUE].to_numpy(dtype=np.int8)
    y_pred = df[Y_PRED].to_numpy(dtype=np.int8)

    notes: list[str] = []
    blocks: dict[str, dict[str, Any]] = {}
    for i, column in enumerate(features):
        blocks[column], feature_notes = _feature_bias(column, df[column], y_true, y_pred)
        notes.extend(feature_notes)
        if progress:
            progress((i + 1) / len(features), f"bias metrics for {column}")

    if len(features) == 1:
        single = dict(blocks[features[0]])
        single["sensitiveFeatures"] = features
        single["feature"] = features[0]
        return single, notes

    metrics: dict[str, Any] = {"sensitiveFeatures": features}
    worst: dict[str, str | None] = {}
    unavailable: dict[str, str] = {}
    for name, pick in (("demographicParity", max), ("equalizedOdds", max)):
        column = pick(features, key=lambda c, n=name: blocks[c][n])
        metrics[name] = blocks[column][name]
        worst[name] = column
    defined = [c for c in features if blocks[c]["disparateImpact"] is not None]
    if defined:
        column = min(defined, key=lambda c: blocks[c]["disparateImpact"])
        metrics["disparateImpact"] = blocks[column]["disparateImpact"]
        worst["disparateImpact"] = column
    else:
        metrics["disparateImpact"] = None
        worst["disparateImpact"] = None
        unavailable["disparateImpact"] = (
            "no sensitive feature has a group with a positive prediction; the "
            "selection-rate ratio is undefined"
        )
    metrics["worstFeature"] = worst
    metrics["byFeature"] = blocks
    metrics["unavailable"] = unavailable
    return metrics, notes
