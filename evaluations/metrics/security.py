"""Security suite: input validation findings that can be checked from the data alone.

This suite never executes the model. Model inversion, membership inference, backdoor
detection and adversarial-input generation need the model itself and are listed under
``notPerformed`` in every result.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from ._common import RESERVED_COLUMNS, Y_PRED, Y_PRED_ADV, Y_SCORE, Y_TRUE, is_numeric_feature

__all__ = ["FORMULA_PREFIXES", "NOT_PERFORMED", "SEVERITIES", "compute_security"]

SEVERITIES = ("high", "medium", "low", "info")
#: Cell prefixes that spreadsheet software may evaluate as a formula (CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
#: A string column is "mostly numeric" when at least this share of its values parse.
NUMERIC_MAJORITY = 0.5
#: Duplicate-row shares above this are a medium finding, below it low.
DUPLICATE_MEDIUM_SHARE = 0.05

_NOT_PERFORMED_REASON = (
    "requires executing or querying the model; the registry did not run it on this run (the "
    "dataset carried its predictions, or the version has no ONNX model), so only the uploaded "
    "dataset was inspected"
)
NOT_PERFORMED = [
    {"check": "modelInversion", "reason": _NOT_PERFORMED_REASON},
    {"check": "membershipInference", "reason": _NOT_PERFORMED_REASON},
    {"check": "backdoorDetection", "reason": _NOT_PERFORMED_REASON},
    {"check": "hostileInputs", "reason": _NOT_PERFORMED_REASON},
]

Progress = Callable[[float, str], None]


def _finding(
    check: str, severity: str, column: str | None, count: int, message: str
) -> dict[str, Any]:
    return {
        "check": check,
        "severity": severity,
        "column": column,
        "count": int(count),
        "message": message,
    }


def _first(mask: np.ndarray) -> int:
    return int(np.argmax(mask)) + 1


def _example(series: pd.Series, mask: np.ndarray) -> str:
    value = series.iloc[int(np.argmax(mask))]
    if isinstance(value, np.generic):
        value = value.item()
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _is_text(series: pd.Series) -> bool:
    return pd.api.types.is_object_dtype(series.dtype) or pd.api.types.is_string_dtype(series.dtype)


def _parse_numbers(series: pd.Series) -> np.ndarray:
    """``pd.to_numeric(errors="coerce")`` as float64, parsing each distinct value once."""
    codes, uniques = pd.factorize(series)
    parsed = pd.to_numeric(pd.Series(uniques, dtype=object), errors="coerce")
    values = parsed.to_numpy(dtype=np.float64, na_value=np.nan)
    if values.size == 0:
        return np.full(len(series), np.nan)
    return np.where(codes >= 0, values[codes], np.nan)


def _column_findings(name: str, series: pd.Series, n: int) -> list[dict[str, Any]]:
    findings: list[dict[str, Any]] = []
    reserved = name in RESERVED_COLUMNS
    isna = series.isna().to_numpy()
    if isna.any():
        count = int(isna.sum())
        findings.append(
            _finding(
                "missing_values",
                "high" if reserved else "info",
                name,
                count,
                f"{count} missing values in {name!r} ({count / n:.2%} of rows), first at "
                f"row {_first(isna)}",
            )
        )

    numeric: np.ndarray | None = None
    if is_numeric_feature(series):
        numeric = series.to_numpy(dtype=np.float64, na_value=np.nan)
    elif _is_text(series):
        converted = _parse_numbers(series)
        parsed = ~np.isnan(converted)
        not_parsed = ~isna & ~parsed
        present = int((~isna).sum())
        if not_parsed.any() and (
            reserved or (present and parsed.sum() >= NUMERIC_MAJORITY * present)
        ):
            count = int(not_parsed.sum())
            findings.append(
                _finding(
                    "non_numeric_values",
                    "high" if reserved else "medium",
                    name,
                    count,
                    f"{count} non-numeric values in the numeric column {name!r}, e.g. "
                    f"{_example(series, not_parsed)} at row {_first(not_parsed)}",
                )
            )
        if parsed.any() and (reserved or parsed.sum() >= NUMERIC_MAJORITY * max(present, 1)):
            numeric = converted
        findings.extend(_formula_findings(name, series, parsed))

    if numeric is not None:
        infinite = np.isinf(numeric)
        if infinite.any():
            count = int(infinite.sum())
            findings.append(
                _finding(
                    "infinite_values",
                    "high" if reserved else "medium",
                    name,
                    count,
                    f"{count} infinite values in {name!r}, first at row {_first(infinite)}",
                )
            )
        if name in (Y_TRUE, Y_PRED, Y_PRED_ADV):
            bad = ~isna & ~((numeric == 0) | (numeric == 1))
            if bad.any():
                count = int(bad.sum())
                findings.append(
                    _finding(
                        "label_values",
                        "high",
                        name,
                        count,
                        f"{count} values of {name!r} are not 0 or 1, e.g. "
                        f"{_example(series, bad)} at row {_first(bad)}",
                    )
                )
        if name == Y_SCORE:
            bad = ~np.isnan(numeric) & ~((numeric >= 0) & (numeric <= 1))
            if bad.any():
                count = int(bad.sum())
                findings.append(
                    _finding(
                        "score_out_of_range",
                        "high",
                        name,
                        count,
                        f"{count} values of {Y_SCORE} are outside [0, 1], e.g. "
                        f"{_example(series, bad)} at row {_first(bad)}",
                    )
                )
    elif name in RESERVED_COLUMNS and not pd.api.types.is_bool_dtype(series.dtype):
        findings.append(
            _finding(
                "label_values" if name != Y_SCORE else "score_out_of_range",
                "high",
                name,
                int((~isna).sum()),
                f"{name!r} holds no numeric values",
            )
        )

    if n > 1 and series.nunique(dropna=False) <= 1:
        findings.append(
            _finding(
                "constant_column",
                "medium" if name == Y_TRUE else "low",
                name,
                n,
                f"{name!r} has a single value in all {n} rows"
                + ("; rocAuc and recall-type metrics are undefined" if name == Y_TRUE else ""),
            )
        )
    return findings


def _formula_findings(name: str, series: pd.Series, numeric: np.ndarray) -> list[dict[str, Any]]:
    try:
        starts = series.str.startswith(FORMULA_PREFIXES, na=False).to_numpy(dtype=bool)
    except AttributeError:  # an object column without any string values
        return []
    flagged = starts & ~numeric
    if not flagged.any():
        return []
    count = int(flagged.sum())
    return [
        _finding(
            "formula_injection",
            "medium",
            name,
            count,
            f"{count} values in {name!r} start with a spreadsheet formula prefix "
            f"(= + - @ tab CR), e.g. {_example(series, flagged)} at row {_first(flagged)}; "
            "they may run as formulas if the data is opened in a spreadsheet",
        )
    ]


def compute_security(
    data: pd.DataFrame, *, progress: Progress | None = None
) -> tuple[dict[str, Any], list[str]]:
    """Input-validation findings for a raw (unvalidated) dataset; returns ``(metrics, notes)``.

    Each finding is ``{check, severity, column, count, message}``; severities are
    ``high`` (labels/scores unusable), ``medium``, ``low`` and ``info``.
    """
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"expected a pandas DataFrame, got {type(data).__name__}")
    n = len(data)
    findings: list[dict[str, Any]] = []
    if n == 0:
        findings.append(_finding("empty_dataset", "high", None, 0, "the dataset has no rows"))
    for column in (Y_TRUE, Y_PRED):
        if column not in data.columns:
            findings.append(
                _finding(
                    "missing_required_column",
                    "high",
                    column,
                    0,
                    f"required column {column!r} is absent",
                )
            )
    if data.columns.has_duplicates:
        dups = sorted({str(c) for c in data.columns[data.columns.duplicated()]})
        findings.append(
            _finding(
                "duplicate_columns", "high", None, len(dups), f"duplicate column names: {dups}"
            )
        )
        data = data.loc[:, ~data.columns.duplicated()]
    columns = list(data.columns)
    for i, column in enumerate(columns):
        if n:
            findings.extend(_column_findings(str(column), data[column], n))
        if progress:
            progress(0.8 * (i + 1) / max(len(columns), 1), f"checked {column}")

    duplicate_share = 0.0
    if n:
        duplicates = int(data.duplicated().sum())
        duplicate_share = duplicates / n
        if duplicates:
            findings.append(
                _finding(
                    "duplicate_rows",
                    "medium" if duplicate_share > DUPLICATE_MEDIUM_SHARE else "low",
                    None,
                    duplicates,
                    f"{duplicates} rows ({duplicate_share:.2%}) repeat an earlier row",
                )
            )
    if progress:
        progress(1.0, "checked duplicate rows")

    order = {s: i for i, s in enumerate(SEVERITIES)}
    findings.sort(key=lambda f: order[f["severity"]])
    counts = {s: sum(1 for f in findings if f["severity"] == s) for s in SEVERITIES}
    metrics = {
        "findings": findings,
        "findingCounts": counts,
        "highSeverityFindings": counts["high"],
        "rowsChecked": n,
        "columnsChecked": len(columns),
        "duplicateRowShare": duplicate_share,
        "notPerformed": NOT_PERFORMED,
        "scope": (
            "Input validation of the uploaded dataset only (schema, ranges, duplicates, "
            "suspicious content). The model is not executed: model inversion, membership "
            "inference, backdoor detection and hostile-input attacks are not performed."
        ),
    }
    notes = [metrics["scope"]]
    return metrics, notes
