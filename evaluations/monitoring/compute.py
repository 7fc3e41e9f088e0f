"""The metrics of one monitoring window, from the suites' own metric code (no second copy).

- `scorePsi`: evaluations.metrics.validation.psi, the validation suite's PSI of y_score as the
  contract defines it (reference deciles, shares floored at 1e-6); `scoreDriftPValue` the
  two-sample KS test of y_score (robustness.feature_drift).
- per feature, robustness.feature_drift: the two-sample Kolmogorov-Smirnov test (numbers) or
  the chi-square test of the category counts (text, booleans), and its PSI: `featurePsi`,
  `featurePValue`, `driftDetection` (the smallest p-value), `driftedFeatures` (below alpha).
- where outcomes (y_true) arrived for some rows: over those rows, performance.binary_metrics
  (`accuracy`, `precision`, `recall`, `f1Score`), performance.roc_auc (`rocAuc`) and, when the
  version's bias run named sensitive features that the batch carries, bias.compute_bias
  (`demographicParity`, `equalizedOdds`, `disparateImpact`). Without y_pred in the batch the
  predicted label is y_score >= 0.5, the registry's own rule.

Everything is vectorised numpy/scipy over whole columns: nothing loops over rows.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd

from evaluations.metrics import binary_metrics, compute_bias, feature_drift, roc_auc
from evaluations.metrics._common import Y_PRED, Y_SCORE, Y_TRUE, as_float, to_jsonable
from evaluations.metrics.robustness import DEFAULT_ALPHA
from evaluations.metrics.validation import psi as score_psi

#: The registry's rule for a label from a score (registry.execution.THRESHOLD).
LABEL_THRESHOLD = 0.5
BIAS_KEYS = ("demographicParity", "equalizedOdds", "disparateImpact")
#: Features tested at once: the machine's cores, at most 4.
THREADS = min(4, os.cpu_count() or 1)


def window_metrics(
    batch: pd.DataFrame,
    reference: pd.DataFrame,
    *,
    features: Sequence[str],
    sensitive_features: Sequence[str] = (),
    alpha: float = DEFAULT_ALPHA,
) -> tuple[dict[str, Any], list[str]]:
    """`(metrics, notes)` of the window's rows `batch` against `reference`."""
    notes: list[str] = []
    metrics: dict[str, Any] = {"driftAlpha": alpha, "referenceRows": len(reference)}
    scores = batch[Y_SCORE].to_numpy(dtype=np.float64)
    metrics["meanScore"] = as_float(scores.mean()) if scores.size else None

    if Y_SCORE in reference.columns:
        result, _ = score_psi(reference[Y_SCORE].to_numpy(dtype=np.float64), scores)
        metrics["scorePsi"] = result.psi if result is not None else None
        metrics["scoreDriftPValue"] = feature_drift(reference[Y_SCORE], batch[Y_SCORE], alpha)[
            "pValue"
        ]
    else:
        metrics["scorePsi"] = metrics["scoreDriftPValue"] = None
        notes.append(
            "scorePsi not computed: the reference has no scores (the registry could not run "
            "the model on the evaluation dataset, and the dataset carries no y_score)"
        )

    psi: dict[str, float | None] = {}
    p_values: dict[str, float | None] = {}
    for column in features:
        if column not in reference.columns:
            notes.append(f"feature {column!r} is not in the reference: drift not tested")
    tested_columns = [c for c in features if c in reference.columns]
    # One feature per thread: the sorts and searches of the tests release the GIL.
    with ThreadPoolExecutor(max_workers=max(1, min(THREADS, len(tested_columns)))) as pool:
        entries = pool.map(lambda c: feature_drift(reference[c], batch[c], alpha), tested_columns)
        drift = dict(zip(tested_columns, entries, strict=True))
    for column, entry in drift.items():
        psi[column] = entry["psi"]
        p_values[column] = entry["pValue"]
        if "reason" in entry:
            notes.append(f"drift of {column!r} not tested: {entry['reason']}")
    metrics["featurePsi"] = psi
    metrics["featurePValue"] = p_values
    tested = [p for p in p_values.values() if p is not None]
    metrics["driftDetection"] = min(tested) if tested else None
    metrics["driftedFeatures"] = [c for c, p in p_values.items() if p is not None and p < alpha]

    metrics.update(_outcome_metrics(batch, sensitive_features, notes))
    return to_jsonable(metrics), notes


def _outcome_metrics(
    batch: pd.DataFrame, sensitive_features: Sequence[str], notes: list[str]
) -> dict[str, Any]:
    if Y_TRUE not in batch.columns:
        return {"outcomeRows": 0}
    truth = batch[Y_TRUE].to_numpy(dtype=np.float64, na_value=np.nan)
    known = ~np.isnan(truth)
    rows = int(known.sum())
    if not rows:
        return {"outcomeRows": 0}
    y_true = truth[known].astype(np.int8)
    y_score = batch[Y_SCORE].to_numpy(dtype=np.float64)[known]
    if Y_PRED in batch.columns:
        y_pred = batch[Y_PRED].to_numpy(dtype=np.float64, na_value=np.nan)[known]
        missing = np.isnan(y_pred)
        y_pred = np.where(missing, y_score >= LABEL_THRESHOLD, y_pred).astype(np.int8)
    else:
        y_pred = (y_score >= LABEL_THRESHOLD).astype(np.int8)
        notes.append(f"no {Y_PRED} in the batches: the label is {Y_SCORE} >= {LABEL_THRESHOLD}")
    performance = binary_metrics(y_true, y_pred)
    out: dict[str, Any] = {
        "outcomeRows": rows,
        **{key: performance[key] for key in ("accuracy", "precision", "recall", "f1Score")},
    }
    auc, reason = roc_auc(y_true, y_score)
    out["rocAuc"] = auc
    if reason:
        notes.append(f"rocAuc not computed: {reason}")
    present = [c for c in sensitive_features if c in batch.columns]
    if present:
        labelled = batch.loc[known, present].reset_index(drop=True)
        labelled[Y_TRUE] = y_true
        labelled[Y_PRED] = y_pred
        bias, bias_notes = compute_bias(labelled, present, validated=True)
        out.update({key: bias.get(key) for key in BIAS_KEYS})
        out["sensitiveFeatures"] = present
        notes.extend(bias_notes)
    return out
