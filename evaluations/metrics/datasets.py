"""Loading and validating evaluation datasets (CSV or Parquet) uploaded by model owners.

A dataset has the columns ``y_true`` and ``y_pred`` (binary labels, positive class 1),
optionally ``y_score`` (probability of class 1) and ``y_pred_adversarial`` (predictions on
perturbed inputs), plus any number of feature columns. Every problem is reported as a
:class:`DatasetError` whose message names the column, the offending value and its row.

Row numbers in messages are 1-based data rows: the CSV header line is not counted, so
"row 1" is the first line after the header.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, BinaryIO, Literal

import numpy as np
import pandas as pd

from ._common import RESERVED_COLUMNS, Y_PRED, Y_PRED_ADV, Y_SCORE, Y_TRUE

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_ROWS",
    "DatasetError",
    "load_dataset",
    "read_bytes",
    "sha256_digest",
    "validate_dataset",
    "validate_segment_columns",
    "validate_sensitive_features",
]

#: Default upload size limit (bytes).
DEFAULT_MAX_BYTES = 200 * 1024 * 1024
#: Default row limit.
DEFAULT_MAX_ROWS = 2_000_000

_HASH_CHUNK = 1024 * 1024
_MAX_COLUMNS_IN_MESSAGE = 20

Source = str | os.PathLike[str] | bytes | bytearray | memoryview | BinaryIO | Any


class DatasetError(ValueError):
    """The dataset cannot be used; the message names the problem for the model owner."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# --------------------------------------------------------------------------- bytes


def sha256_digest(source: Source) -> str:
    """Hex SHA-256 of the bytes of ``source`` (bytes, a path, or a binary file-like object).

    File-like objects are read from their current position to the end, in 1 MiB chunks;
    text file-likes are hashed as their UTF-8 encoding.
    """
    digest = hashlib.sha256()
    if isinstance(source, bytes | bytearray | memoryview):
        digest.update(source)
    elif isinstance(source, str | os.PathLike):
        with open(source, "rb") as fh:
            while chunk := fh.read(_HASH_CHUNK):
                digest.update(chunk)
    elif hasattr(source, "read"):
        while chunk := source.read(_HASH_CHUNK):
            digest.update(chunk.encode("utf-8") if isinstance(chunk, str) else chunk)
    else:
        raise TypeError(f"cannot hash a {type(source).__name__}")
    return digest.hexdigest()


def read_bytes(source: Source, *, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """Read all bytes of ``source``, refusing more than ``max_bytes``.

    ``source`` is bytes, a filesystem path (``str`` or ``PathLike``), or a file-like
    object (read from its current position).
    """
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
    elif isinstance(source, str | os.PathLike):
        path = Path(source)
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            raise DatasetError(f"file not found: {path.name}") from None
        if size > max_bytes:
            raise DatasetError(_too_big(size, max_bytes))
        data = path.read_bytes()
    elif hasattr(source, "read"):
        raw = source.read(max_bytes + 1)
        data = raw.encode("utf-8") if isinstance(raw, str) else bytes(raw)
        if len(data) > max_bytes:
            raise DatasetError(_too_big(len(data), max_bytes, streamed=True))
    else:
        raise TypeError(f"cannot read a dataset from a {type(source).__name__}")
    if len(data) > max_bytes:
        raise DatasetError(_too_big(len(data), max_bytes))
    return data


def _too_big(size: int, max_bytes: int, *, streamed: bool = False) -> str:
    shown = "more than the limit" if streamed else f"{size} bytes, over the limit"
    return f"file too big: {shown} of {max_bytes} bytes"


# --------------------------------------------------------------------------- loading


def load_dataset(
    file_like_or_path: Source,
    *,
    fmt: Literal["csv", "parquet"] = "csv",
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_rows: int = DEFAULT_MAX_ROWS,
    sensitive_features: Iterable[str] = (),
    validate: bool = True,
) -> pd.DataFrame:
    """Parse a CSV or Parquet dataset and validate it.

    Returns a DataFrame whose ``y_true``/``y_pred`` (and ``y_pred_adversarial``) columns are
    ``int8`` 0/1 and ``y_score`` is ``float64``. Raises :class:`DatasetError` naming the
    problem. ``validate=False`` only parses (the security suite inspects such raw data).
    """
    if fmt not in ("csv", "parquet"):
        raise DatasetError(f"unsupported format {fmt!r} (expected 'csv' or 'parquet')")
    data = read_bytes(file_like_or_path, max_bytes=max_bytes)
    if not data.strip():
        raise DatasetError("empty file: no header row and no data")
    df = _parse_csv(data, max_rows) if fmt == "csv" else _parse_parquet(data, max_rows)
    if len(df) == 0:
        raise DatasetError("dataset has no data rows (only a header)")
    if len(df) > max_rows:
        raise DatasetError(f"too many rows: more than {max_rows} (the limit is {max_rows})")
    if validate:
        df = validate_dataset(df, sensitive_features=sensitive_features)
    return df


def _parse_csv(data: bytes, max_rows: int) -> pd.DataFrame:
    try:
        header = pd.read_csv(
            io.BytesIO(data),
            header=None,
            nrows=1,
            dtype=str,
            keep_default_na=False,
            encoding="utf-8-sig",
        )
        names = [str(v) for v in header.iloc[0].tolist()] if len(header) else []
        seen: set[str] = set()
        for name in names:
            if name in seen:
                raise DatasetError(f"duplicate column name {name!r} in the CSV header")
            seen.add(name)
        frame = pd.read_csv(
            io.BytesIO(data), nrows=max_rows + 1, encoding="utf-8-sig", low_memory=False
        )
    except pd.errors.EmptyDataError:
        raise DatasetError("empty file: no header row and no data") from None
    except pd.errors.ParserError as exc:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DatasetError(f"unparseable CSV: {detail}") from None
    except UnicodeDecodeError as exc:
        raise DatasetError(
            f"unparseable CSV: not valid UTF-8 text (byte offset {exc.start})"
        ) from None
    # pandas takes rows with one field more than the header as "first column is the index",
    # shifting every column left; that is a malformed file, not data.
    if not frame.index.equals(pd.RangeIndex(len(frame))):
        raise DatasetError("unparseable CSV: rows have more fields than the header")
    return frame


def _parse_parquet(data: bytes, max_rows: int) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(io.BytesIO(data))
        if parquet.metadata.num_rows > max_rows:
            raise DatasetError(
                f"too many rows: {parquet.metadata.num_rows} (the limit is {max_rows})"
            )
        table = parquet.read()
    except (pa.ArrowException, OSError) as exc:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DatasetError(f"unparseable Parquet file: {detail}") from None
    return table.to_pandas()


# --------------------------------------------------------------------------- validation


def _prefix(name: str) -> str:
    return "" if name == "dataset" else f"{name}: "


def _columns_hint(columns: Iterable[Any]) -> str:
    cols = [str(c) for c in columns]
    shown = ", ".join(cols[:_MAX_COLUMNS_IN_MESSAGE])
    if len(cols) > _MAX_COLUMNS_IN_MESSAGE:
        shown += f", ... ({len(cols)} columns)"
    return shown or "none"


def _value_repr(value: Any) -> str:
    if isinstance(value, np.generic):
        value = value.item()
    return repr(value)


def _plain(series: pd.Series) -> pd.Series:
    """Categorical columns (e.g. Parquet dictionaries) as their values."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        return series.astype(series.cat.categories.dtype)
    return series


def _numeric(series: pd.Series) -> pd.Series:
    """pd.to_numeric(errors="coerce"), except that pandas raises OverflowError for the whole
    column when one value is an integer beyond float range (a 400-digit label, say); such a
    value becomes +-infinity, which no label or score may be, so it is refused by row."""
    try:
        return pd.to_numeric(series, errors="coerce")
    except OverflowError:
        return pd.Series([_float_or_nan(v) for v in series], index=series.index, dtype="float64")


def _float_or_nan(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")
    except OverflowError:
        return float("inf") if value > 0 else float("-inf")


def _binary_labels(df: pd.DataFrame, column: str, name: str) -> np.ndarray:
    series = _plain(df[column])
    missing = series.isna().to_numpy()
    if missing.any():
        pos = int(np.argmax(missing))
        raise DatasetError(
            f"{_prefix(name)}missing value in {column} at row {pos + 1} "
            f"({int(missing.sum())} rows missing); labels must be 0 or 1"
        )
    if pd.api.types.is_bool_dtype(series.dtype):
        return series.to_numpy(dtype=np.int8)
    if pd.api.types.is_numeric_dtype(series.dtype):
        values = series.to_numpy(dtype=np.float64)
    else:
        values = _numeric(series).to_numpy(dtype=np.float64)
    bad = ~((values == 0) | (values == 1))
    if bad.any():
        pos = int(np.argmax(bad))
        raise DatasetError(
            f"{_prefix(name)}non-binary label in {column}: {_value_repr(series.iloc[pos])} "
            f"at row {pos + 1} ({int(bad.sum())} rows); labels must be 0 or 1 "
            "(positive class 1)"
        )
    return values.astype(np.int8)


def _scores(df: pd.DataFrame, name: str) -> np.ndarray:
    series = _plain(df[Y_SCORE])
    if pd.api.types.is_numeric_dtype(series.dtype):
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        converted = _numeric(series)
        non_numeric = (converted.isna() & series.notna()).to_numpy()
        if non_numeric.any():
            pos = int(np.argmax(non_numeric))
            raise DatasetError(
                f"{_prefix(name)}non-numeric value in {Y_SCORE}: "
                f"{_value_repr(series.iloc[pos])} at row {pos + 1}; {Y_SCORE} must be the "
                "probability of class 1"
            )
        values = converted.to_numpy(dtype=np.float64, na_value=np.nan)
    missing = np.isnan(values)
    if missing.any():
        pos = int(np.argmax(missing))
        raise DatasetError(
            f"{_prefix(name)}missing value in {Y_SCORE} at row {pos + 1} "
            f"({int(missing.sum())} rows missing)"
        )
    outside = ~((values >= 0.0) & (values <= 1.0))
    if outside.any():
        pos = int(np.argmax(outside))
        raise DatasetError(
            f"{_prefix(name)}{Y_SCORE} outside [0, 1]: {_value_repr(values[pos])} at row "
            f"{pos + 1} ({int(outside.sum())} rows); {Y_SCORE} must be the probability of "
            "class 1"
        )
    return values


def _validate_names(columns: Iterable[Any], names: Iterable[str], kind: str) -> list[str]:
    if isinstance(names, str):
        names = [names]
    available = list(columns)
    known = set(available)
    result: list[str] = []
    for name in names:
        if not isinstance(name, str) or not name:
            raise DatasetError(f"{kind} names must be non-empty strings, got {name!r}")
        if name in RESERVED_COLUMNS:
            raise DatasetError(
                f"{kind} {name!r} is a reserved column "
                f"({', '.join(RESERVED_COLUMNS)}) and cannot be used here"
            )
        if name not in known:
            raise DatasetError(
                f"unknown {kind} {name!r} (columns found: {_columns_hint(available)})"
            )
        if name in result:
            raise DatasetError(f"{kind} {name!r} is listed twice")
        result.append(name)
    return result


def validate_sensitive_features(
    columns: pd.DataFrame | Iterable[Any], names: Iterable[str]
) -> list[str]:
    """Check sensitive feature column names against a DataFrame (or a list of columns).

    Raises :class:`DatasetError` for an unknown, reserved, duplicated or non-string name.
    """
    cols = columns.columns if isinstance(columns, pd.DataFrame) else columns
    return _validate_names(cols, names, "sensitive feature column")


def validate_segment_columns(
    columns: pd.DataFrame | Iterable[Any], names: Iterable[str]
) -> list[str]:
    """Check segment column names the same way as sensitive features."""
    cols = columns.columns if isinstance(columns, pd.DataFrame) else columns
    return _validate_names(cols, names, "segment column")


def validate_dataset(
    df: pd.DataFrame,
    *,
    sensitive_features: Iterable[str] = (),
    segment_columns: Iterable[str] = (),
    name: str = "dataset",
    require_labels: bool = True,
) -> pd.DataFrame:
    """Validate a parsed dataset and return it with normalised label/score dtypes.

    ``require_labels=False`` is for a reference dataset used only for drift: ``y_true`` and
    ``y_pred`` may then be absent, but are validated when present. The input is not
    modified; a shallow copy is returned.
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"expected a pandas DataFrame, got {type(df).__name__}")
    if len(df) == 0:
        raise DatasetError(f"{_prefix(name)}dataset has no data rows")
    if df.columns.has_duplicates:
        dup = df.columns[df.columns.duplicated()][0]
        raise DatasetError(f"{_prefix(name)}duplicate column name {dup!r}")
    out = df.copy(deep=False)
    label_columns = [Y_TRUE, Y_PRED]
    for column in label_columns:
        if column not in df.columns and require_labels:
            raise DatasetError(
                f"{_prefix(name)}missing required column {column!r} "
                f"(columns found: {_columns_hint(df.columns)})"
            )
    for column in (*label_columns, Y_PRED_ADV):
        if column in df.columns:
            out[column] = _binary_labels(df, column, name)
    if Y_SCORE in df.columns:
        out[Y_SCORE] = _scores(df, name)
    validate_sensitive_features(df, sensitive_features)
    validate_segment_columns(df, segment_columns)
    return out
