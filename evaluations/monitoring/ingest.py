"""Parsing and checking a monitoring upload: a batch of production traffic, or outcomes.

Pure pandas/pyarrow, no Django: every problem is a DatasetError whose message names the column,
the value and its row (1-based data rows, the CSV header not counted). Files are parsed from
the uploaded file object (Django keeps a large upload in a temporary file), never read whole
into a bytes object.

A batch has exactly the reference's feature columns (the columns of the dataset of the
version's latest finished evaluation run, less y_true, y_pred, y_score, y_pred_adversarial),
`y_score`, optionally `y_pred` and `recordId`. A column the reference holds as numbers must
hold numbers; one it holds as text must not hold numbers only.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from evaluations.choices import BatchFormat
from evaluations.metrics import DatasetError, validate_dataset
from evaluations.metrics._common import (
    RESERVED_COLUMNS,
    Y_PRED,
    Y_SCORE,
    Y_TRUE,
    is_numeric_feature,
)

RECORD_ID = "recordId"
PARQUET_MAGIC = b"PAR1"
JSONL_EXTENSIONS = (".jsonl", ".ndjson", ".json")
PARQUET_EXTENSIONS = (".parquet", ".pq")
MAX_RECORD_ID = 200
MAX_NAMED = 10

# How a reference column's values are held.
NUMERIC, BOOLEAN, TEXT = "numeric", "boolean", "text"


@dataclass(frozen=True)
class Profile:
    """What a batch must look like: the reference's feature columns, in order, and the kind of
    values each holds."""

    features: tuple[str, ...]
    kinds: dict[str, str]


@dataclass
class ParsedBatch:
    frame: pd.DataFrame  # the features (reference order), y_score, y_pred?, recordId?
    format: str
    has_predictions: bool
    has_record_ids: bool

    @property
    def rows(self) -> int:
        return len(self.frame)


def kind_of(series: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(series.dtype):
        return BOOLEAN
    if is_numeric_feature(series):
        return NUMERIC
    return TEXT


def profile_of(reference: pd.DataFrame) -> Profile:
    """The profile of a reference dataset (every column but the reserved ones is a feature)."""
    features = tuple(str(c) for c in reference.columns if c not in RESERVED_COLUMNS)
    return Profile(features=features, kinds={c: kind_of(reference[c]) for c in features})


def detect_format(name: str, head: bytes) -> str:
    lowered = name.lower()
    if head.startswith(PARQUET_MAGIC) or lowered.endswith(PARQUET_EXTENSIONS):
        return BatchFormat.PARQUET
    if lowered.endswith(JSONL_EXTENSIONS) or head.lstrip()[:1] == b"{":
        return BatchFormat.JSONL
    return BatchFormat.CSV


def _names(values: Iterable[Any]) -> str:
    values = [str(v) for v in values]
    shown = ", ".join(repr(v) for v in values[:MAX_NAMED])
    return shown + (f" and {len(values) - MAX_NAMED} more" if len(values) > MAX_NAMED else "")


def _csv_header(handle: BinaryIO) -> list[str]:
    header = pd.read_csv(
        handle, header=None, nrows=1, dtype=str, keep_default_na=False, encoding="utf-8-sig"
    )
    handle.seek(0)
    return [str(v) for v in header.iloc[0].tolist()] if len(header) else []


def parse(handle: BinaryIO, *, name: str, max_rows: int) -> tuple[pd.DataFrame, str]:
    """The file's rows as a DataFrame and its format (csv, parquet, jsonl)."""
    head = handle.read(4)
    handle.seek(0)
    if not head.strip():
        raise DatasetError("empty file: no header row and no data")
    fmt = detect_format(name, head)
    try:
        if fmt == BatchFormat.PARQUET:
            parquet = pq.ParquetFile(handle)
            if parquet.metadata.num_rows > max_rows:
                raise DatasetError(
                    f"too many rows: {parquet.metadata.num_rows} (the limit is {max_rows})"
                )
            names = list(parquet.schema_arrow.names)
            frame = parquet.read().to_pandas()
        elif fmt == BatchFormat.JSONL:
            frame = pd.read_json(handle, lines=True, nrows=max_rows + 1, dtype=False)
            names = [str(c) for c in frame.columns]
        else:
            names = _csv_header(handle)
            frame = pd.read_csv(handle, nrows=max_rows + 1, encoding="utf-8-sig", low_memory=False)
            if not frame.index.equals(pd.RangeIndex(len(frame))):
                raise DatasetError("unparseable CSV: rows have more fields than the header")
    except pd.errors.EmptyDataError:
        raise DatasetError("empty file: no header row and no data") from None
    except pd.errors.ParserError as exc:
        raise DatasetError(f"unparseable CSV: {_first_line(exc)}") from None
    except UnicodeDecodeError as exc:
        raise DatasetError(f"not valid UTF-8 text (byte offset {exc.start})") from None
    except (pa.ArrowException, OSError) as exc:
        raise DatasetError(f"unparseable Parquet file: {_first_line(exc)}") from None
    except ValueError as exc:
        if fmt != BatchFormat.JSONL:
            raise
        raise DatasetError(f"unparseable JSON lines: {_first_line(exc)}") from None
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise DatasetError(f"duplicate column name(s): {_names(duplicated)}")
    if len(frame) == 0:
        raise DatasetError("the file has no data rows")
    if len(frame) > max_rows:
        raise DatasetError(f"too many rows: more than {max_rows} (the limit is {max_rows})")
    frame.columns = [str(c) for c in frame.columns]
    return frame, fmt


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _check_columns(frame: pd.DataFrame, profile: Profile) -> None:
    allowed = {*profile.features, Y_SCORE, Y_PRED, RECORD_ID}
    missing = [c for c in (*profile.features, Y_SCORE) if c not in frame.columns]
    extra = [c for c in frame.columns if c not in allowed]
    problems = []
    if missing:
        problems.append(f"missing column(s) {_names(missing)}")
    if extra:
        problems.append(f"unexpected column(s) {_names(extra)}")
    if problems:
        raise DatasetError(
            "; ".join(problems) + f" (a batch has the model's input columns "
            f"{_names(profile.features)}, {Y_SCORE}, optionally {Y_PRED} and {RECORD_ID})"
        )


def _first_bad(series: pd.Series, bad: np.ndarray) -> str:
    pos = int(np.argmax(bad))
    value = series.iloc[pos]
    if isinstance(value, np.generic):
        value = value.item()
    return f"{value!r} at row {pos + 1} ({int(bad.sum())} rows)"


def _check_kind(frame: pd.DataFrame, column: str, expected: str) -> pd.Series:
    series = frame[column]
    actual = kind_of(series)
    if actual == expected or series.isna().all():
        return series
    if expected == NUMERIC:
        converted = pd.to_numeric(series, errors="coerce")
        bad = (converted.isna() & series.notna()).to_numpy()
        if not bad.any() and actual != BOOLEAN:
            return converted
        detail = _first_bad(series, bad) if bad.any() else "true/false values"
        raise DatasetError(
            f"column {column!r} must hold numbers, as in the evaluation dataset: {detail}"
        )
    if expected == BOOLEAN:
        raise DatasetError(
            f"column {column!r} must hold true/false values, as in the evaluation dataset "
            f"(it holds {actual} values)"
        )
    raise DatasetError(
        f"column {column!r} must hold text (categories), as in the evaluation dataset; it "
        f"holds {actual} values only"
    )


def _record_ids(frame: pd.DataFrame) -> pd.Series:
    raw = frame[RECORD_ID]
    missing = raw.isna().to_numpy()
    if missing.any():
        raise DatasetError(
            f"missing {RECORD_ID} at row {int(np.argmax(missing)) + 1} "
            f"({int(missing.sum())} rows); every row needs its record id"
        )
    if pd.api.types.is_float_dtype(raw.dtype):
        whole = np.equal(np.mod(raw.to_numpy(), 1), 0)
        values = raw.astype("int64").astype(str) if whole.all() else raw.astype(str)
    else:
        values = raw.astype(str)
    values = values.str.strip()
    blank = (values == "").to_numpy()
    if blank.any():
        raise DatasetError(f"empty {RECORD_ID} at row {int(np.argmax(blank)) + 1}")
    long = (values.str.len() > MAX_RECORD_ID).to_numpy()
    if long.any():
        raise DatasetError(
            f"{RECORD_ID} longer than {MAX_RECORD_ID} characters at row {int(np.argmax(long)) + 1}"
        )
    duplicated = values.duplicated(keep=False).to_numpy()
    if duplicated.any():
        raise DatasetError(
            f"duplicate {RECORD_ID} {values.iloc[int(np.argmax(duplicated))]!r} "
            f"({int(values.duplicated().sum())} repeated rows); each record is sent once"
        )
    return values.astype(object)


def check_batch(frame: pd.DataFrame, profile: Profile, *, fmt: str) -> ParsedBatch:
    """The batch, normalised: features in the reference's order with its kinds, y_score as
    float64 in [0, 1], y_pred as int8 0/1, recordId as text. Raises DatasetError."""
    _check_columns(frame, profile)
    out: dict[str, Any] = {}
    for column in profile.features:
        out[column] = _check_kind(frame, column, profile.kinds[column])
    scored = validate_dataset(
        frame[[c for c in (Y_SCORE, Y_PRED) if c in frame.columns]], require_labels=False
    )
    out[Y_SCORE] = scored[Y_SCORE].to_numpy(dtype=np.float64)
    if Y_PRED in frame.columns:
        out[Y_PRED] = scored[Y_PRED].to_numpy(dtype=np.int8)
    if RECORD_ID in frame.columns:
        out[RECORD_ID] = _record_ids(frame)
    normalised = pd.DataFrame(out)
    return ParsedBatch(
        frame=normalised,
        format=fmt,
        has_predictions=Y_PRED in frame.columns,
        has_record_ids=RECORD_ID in frame.columns,
    )


def check_outcomes(frame: pd.DataFrame) -> pd.DataFrame:
    """Outcomes: exactly recordId and y_true (0/1), each record once."""
    expected = (RECORD_ID, Y_TRUE)
    missing = [c for c in expected if c not in frame.columns]
    extra = [c for c in frame.columns if c not in expected]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing column(s) {_names(missing)}")
        if extra:
            parts.append(f"unexpected column(s) {_names(extra)}")
        raise DatasetError("; ".join(parts) + f" (outcomes have {RECORD_ID} and {Y_TRUE})")
    labels = validate_dataset(frame[[Y_TRUE]], require_labels=False)[Y_TRUE]
    return pd.DataFrame({RECORD_ID: _record_ids(frame), Y_TRUE: labels.to_numpy(dtype=np.int8)})


# ---- the stored form ---------------------------------------------------------------------------


def to_parquet(frame: pd.DataFrame) -> bytes:
    """The frame as Parquet bytes (zstd), the form every batch and outcome file is kept in."""
    sink = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), sink, compression="zstd")
    return sink.getvalue()


def read_parquet(content: bytes | BinaryIO, columns: Sequence[str] | None = None) -> pd.DataFrame:
    source = io.BytesIO(content) if isinstance(content, bytes | bytearray) else content
    return pq.read_table(source, columns=list(columns) if columns else None).to_pandas()
