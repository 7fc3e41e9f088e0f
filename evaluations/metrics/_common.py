"""Shared helpers: column names, safe division, confusion counts, JSON cleaning.

Everything here is vectorised numpy; nothing loops over rows.
"""

from __future__ import annotations

import importlib.metadata
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

Y_TRUE = "y_true"
Y_PRED = "y_pred"
Y_SCORE = "y_score"
Y_PRED_ADV = "y_pred_adversarial"
#: Columns with a fixed meaning; every other column is a feature.
RESERVED_COLUMNS = (Y_TRUE, Y_PRED, Y_SCORE, Y_PRED_ADV)
#: Label used for a missing (NaN/None) value when values become groups or segments.
MISSING_LABEL = "<missing>"


def library_version(package: str) -> str:
    """ "name version" of an installed distribution, for a metric's method record."""
    try:
        return f"{package} {importlib.metadata.version(package)}"
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover
        return package


def safe_div(num: Any, den: Any, default: float = 0.0) -> np.ndarray:
    """Element-wise ``num / den`` with ``default`` where ``den == 0`` (no RuntimeWarning)."""
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    out = np.full(np.broadcast(num, den).shape, default, dtype=np.float64)
    np.divide(num, den, out=out, where=den != 0)
    return out


def confusion_counts(
    y_true: np.ndarray, y_pred: np.ndarray, codes: np.ndarray | None = None, n_groups: int = 1
) -> np.ndarray:
    """Return an ``(n_groups, 4)`` int64 array of ``tn, fp, fn, tp`` per group.

    ``y_true``/``y_pred`` hold 0/1; ``codes`` are group codes in ``[0, n_groups)``.
    """
    cell = y_true.astype(np.int64) * 2 + y_pred.astype(np.int64)
    if codes is None:
        return np.bincount(cell, minlength=4).reshape(1, 4)
    flat = codes.astype(np.int64) * 4 + cell
    return np.bincount(flat, minlength=n_groups * 4).reshape(n_groups, 4)


def rates_from_counts(counts: np.ndarray) -> dict[str, np.ndarray]:
    """Binary metrics (positive class 1) from ``(n, 4)`` confusion counts.

    Undefined ratios follow scikit-learn's default ``zero_division`` behaviour: 0.0.
    ``f1Score`` is ``2tp / (2tp + fp + fn)`` exactly as scikit-learn computes it.
    """
    tn, fp, fn, tp = (counts[:, i].astype(np.float64) for i in range(4))
    total = tn + fp + fn + tp
    return {
        "accuracy": safe_div(tp + tn, total),
        "precision": safe_div(tp, tp + fp),
        "recall": safe_div(tp, tp + fn),
        "f1Score": safe_div(2 * tp, 2 * tp + fp + fn),
    }


def factorize(values: pd.Series, *, sort: bool = True) -> tuple[np.ndarray, list[Any]]:
    """Codes and JSON-friendly labels for a column; missing values form one group.

    Unused categories of a categorical column are not returned (only observed values).
    """
    if isinstance(values.dtype, pd.CategoricalDtype):
        values = values.astype(object)
    try:
        codes, uniques = pd.factorize(values, sort=sort, use_na_sentinel=False)
    except TypeError:  # mixed, unorderable types
        codes, uniques = pd.factorize(values, sort=False, use_na_sentinel=False)
    labels = [json_label(v) for v in uniques]
    return np.asarray(codes, dtype=np.int64), labels


def json_label(value: Any) -> Any:
    """A JSON-friendly representation of a group/segment value."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return MISSING_LABEL
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    return str(value)


def to_jsonable(obj: Any) -> Any:
    """Recursively convert to plain JSON types; NaN and +/-inf become ``None``."""
    if obj is None or isinstance(obj, bool | str):
        return obj
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, int | np.integer):
        return int(obj)
    if isinstance(obj, float | np.floating):
        value = float(obj)
        return value if math.isfinite(value) else None
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [to_jsonable(v) for v in obj.tolist()]
    if obj is pd.NA or obj is pd.NaT:
        return None
    return str(obj)


def as_float(value: Any) -> float | None:
    """A plain float, or ``None`` for NaN/inf/None."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def feature_columns(df: pd.DataFrame) -> list[str]:
    """Every column that is not one of the reserved label/score columns."""
    return [c for c in df.columns if c not in RESERVED_COLUMNS]


def is_numeric_feature(series: pd.Series) -> bool:
    """Numeric (int/float) and not boolean; booleans are treated as categories."""
    return pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(
        series.dtype
    )
