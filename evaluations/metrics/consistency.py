"""Bias suite, individual fairness: ``consistency`` (similar rows get similar predictions).

Definition (Zemel et al., 2013, "Learning Fair Representations", ICML), exactly as AI Fairness
360 0.6.1 computes it in ``aif360.metrics.BinaryLabelDatasetMetric.consistency``::

    consistency = 1 - (1/n) * sum_i | y_i - mean(y_j for j in kNN(x_i)) |

where kNN(x_i) are the ``n_neighbors`` = 5 nearest rows to x_i by Euclidean distance, x_i itself
included (it is its own nearest neighbour), found by scikit-learn's
``NearestNeighbors(n_neighbors=5, algorithm="ball_tree")`` fitted on, and queried with, the same
rows, as aif360 does. The same algorithm is used (not brute force) because it decides which of
several equally distant rows (duplicates are common in tabular data) count as neighbours, and so
the value.

The features (the registry's choice, which aif360 leaves to its caller): the model's non-sensitive
feature columns, each z-scored with its mean and population standard deviation (ddof=0) over the
rows used, so that no column dominates the distance through its unit. Columns with zero standard
deviation carry no distance and are dropped (z-scoring them would divide by zero). Boolean
columns count as 0/1. Columns that are neither numeric nor boolean (text, categories) are left
out, and the notes name them: a distance over them is not defined without an encoding the model
owner did not choose. Rows with a missing value in a used column are left out (a distance to a
missing value is not defined) and counted in the method block.

Large datasets: at most ``CONSISTENCY_SAMPLE`` rows (a seeded uniform draw without replacement)
are both the query rows and the rows their neighbours are searched among, so the cost is bounded
whatever the dataset's size. The ball-tree search grows faster than linearly with many
informative columns (measured on this 2-core machine: 20,000 rows of 20 independent Gaussian
columns 8 s, of 8 columns 3 s; 10,000 rows of 20 columns 1.3 s), hence the default of 10,000:
the mean over 10,000 rows has a standard error below 0.005.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.neighbors import NearestNeighbors

from ._common import library_version

__all__ = [
    "CONSISTENCY_NEIGHBORS",
    "CONSISTENCY_SAMPLE",
    "compute_consistency",
    "consistency",
    "standardize",
]

#: Neighbours per row, the row itself included (aif360's default).
CONSISTENCY_NEIGHBORS = 5
#: Rows used at most (query rows and the neighbour pool alike); a seeded sample above it.
CONSISTENCY_SAMPLE = 10_000


def standardize(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each column z-scored (mean, population std); zero-std columns dropped.

    Returns the standardized matrix and the boolean mask of the columns kept.
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"expected a 2-D matrix, got shape {X.shape}")
    mean = X.mean(axis=0)
    std = X.std(axis=0)  # ddof=0: the population standard deviation
    keep = std > 0
    return (X[:, keep] - mean[keep]) / std[keep], keep


def consistency(
    X_nonsensitive: np.ndarray,
    y_pred: np.ndarray,
    *,
    n_neighbors: int = CONSISTENCY_NEIGHBORS,
    standardized: bool = False,
) -> float:
    """aif360's consistency of the labels `y_pred` over the rows of `X_nonsensitive`.

    The columns are z-scored first (zero-std columns dropped) unless `standardized` says the
    caller already did. Raises ``ValueError`` for fewer rows than `n_neighbors`, no column with
    any spread, or missing values (``compute_consistency`` turns these into reasons).
    """
    X = np.asarray(X_nonsensitive, dtype=np.float64)
    y = np.asarray(y_pred, dtype=np.float64).reshape(-1)
    if X.ndim != 2 or len(X) != len(y):
        raise ValueError(f"features of shape {X.shape} do not match {len(y)} predictions")
    if not np.isfinite(X).all() or not np.isfinite(y).all():
        raise ValueError("features and predictions must be finite")
    if len(X) < n_neighbors:
        raise ValueError(f"needs at least {n_neighbors} rows, got {len(X)}")
    if not standardized:
        X, _ = standardize(X)
    if X.shape[1] == 0:
        raise ValueError("no feature column varies")
    nbrs = NearestNeighbors(n_neighbors=n_neighbors, algorithm="ball_tree")
    nbrs.fit(X)
    _, indices = nbrs.kneighbors(X)
    # aif360 loops over rows; this is the same sum, vectorised.
    return float(1.0 - np.abs(y - y[indices].mean(axis=1)).mean())


def _numeric(series: pd.Series) -> np.ndarray | None:
    """The column as float64 (booleans as 0/1), or None when it is text or categories."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return series.astype("float64").to_numpy(dtype=np.float64, na_value=np.nan)
    if pd.api.types.is_numeric_dtype(dtype):
        return series.to_numpy(dtype=np.float64, na_value=np.nan)
    return None


def compute_consistency(
    frame: pd.DataFrame,
    y_pred: Any,
    *,
    feature_columns: Sequence[str],
    sample: int = CONSISTENCY_SAMPLE,
    seed: int = 0,
    n_neighbors: int = CONSISTENCY_NEIGHBORS,
) -> tuple[dict[str, Any], list[str]]:
    """``consistency`` of `y_pred` over the non-sensitive model features `feature_columns`.

    `feature_columns` are the model's feature columns of `frame` minus the sensitive ones (the
    caller decides which). Returns ``({"consistency": float | None, "methods": {...},
    "unavailable": {...}}, notes)``; never raises for unusable input.
    """
    notes: list[str] = []
    unavailable: dict[str, str] = {}
    method: dict[str, Any] = {
        "method": "individual fairness (consistency): 1 - mean over rows of |y_pred - mean "
        "y_pred of its nearest neighbours, itself included|, Euclidean distance over the "
        "non-sensitive feature columns, each z-scored (mean, population standard deviation)",
        "reference": "Zemel et al. 2013; aif360 0.6.1 BinaryLabelDatasetMetric.consistency",
        "library": library_version("scikit-learn"),
        "seed": seed,
        "parameters": {"nNeighbors": n_neighbors, "algorithm": "ball_tree"},
    }
    metrics: dict[str, Any] = {
        "consistency": None,
        "methods": {"consistency": method},
        "unavailable": unavailable,
    }

    def give_up(reason: str) -> tuple[dict[str, Any], list[str]]:
        unavailable["consistency"] = reason
        notes.append(f"consistency not computed: {reason}")
        return metrics, notes

    if y_pred is None:
        return give_up("needs the model's predicted labels (y_pred)")
    try:
        y = np.asarray(y_pred, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        return give_up("the predicted labels (y_pred) are not numbers")
    if len(y) != len(frame):
        return give_up(f"{len(y)} predicted labels for {len(frame)} rows")

    columns, left_out = [], []
    values = []
    for name in feature_columns:
        if name not in frame.columns:
            left_out.append(str(name))
            continue
        column = _numeric(frame[name])
        if column is None:
            left_out.append(str(name))
        else:
            columns.append(str(name))
            values.append(column)
    if left_out:
        notes.append(
            "consistency leaves out feature columns that are not numeric or boolean (a "
            "distance over text or categories is not defined): " + ", ".join(left_out)
        )
    method["parameters"]["columnsLeftOut"] = left_out
    if not columns:
        return give_up("no numeric non-sensitive feature column to measure similarity on")
    X = np.column_stack(values)

    complete = np.isfinite(X).all(axis=1) & np.isfinite(y)
    excluded = int((~complete).sum())
    method["rowsExcluded"] = excluded
    if excluded:
        notes.append(
            f"consistency leaves out {excluded} rows with a missing value in a feature column "
            "or the prediction"
        )
    rows = np.flatnonzero(complete)
    if len(rows) > sample:
        rng = np.random.default_rng(seed)
        rows = np.sort(rng.choice(rows, size=sample, replace=False))
        method["sampling"] = (
            f"a seeded uniform sample of {sample} of {int(complete.sum())} rows: the query "
            "rows and the rows their neighbours are searched among"
        )
    method["sample"] = len(rows)
    if len(rows) < n_neighbors:
        return give_up(f"needs at least {n_neighbors} complete rows, got {len(rows)}")

    Z, keep = standardize(X[rows])
    dropped = [c for c, k in zip(columns, keep, strict=True) if not k]
    method["parameters"]["columns"] = [c for c, k in zip(columns, keep, strict=True) if k]
    method["parameters"]["constantColumnsDropped"] = dropped
    if Z.shape[1] == 0:
        return give_up("every non-sensitive feature column is constant, so no row is nearer")
    metrics["consistency"] = consistency(Z, y[rows], n_neighbors=n_neighbors, standardized=True)
    return metrics, notes
