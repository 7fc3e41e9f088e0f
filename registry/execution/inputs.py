"""Which dataset columns feed which model input, checked before the model runs.

Two ways a dataset fits a model (docs/execution.md, "Input mapping"):

* named inputs: every model input is named like a column and takes that column (skl2onnx
  with one input per feature, ``initial_types=[("age", ...), ("income", ...)]``);
* one tensor input ``[N, k]``: it takes the columns in ``features``, in that order, or else
  every column except ``y_true``, the prediction columns and ``exclude`` (the sensitive
  features), in file order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from registry.execution.errors import InputMismatch

Y_TRUE = "y_true"
# Columns that are never features: the label, and predictions a dataset may still carry.
RESERVED_COLUMNS = (Y_TRUE, "y_pred", "y_score", "y_pred_adversarial")

# Tensor element types the registry can build from a column, and the numpy dtype it builds.
_INPUT_DTYPES: dict[str, type] = {
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(float16)": np.float16,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
    "tensor(int16)": np.int16,
    "tensor(int8)": np.int8,
    "tensor(uint64)": np.uint64,
    "tensor(uint32)": np.uint32,
    "tensor(uint16)": np.uint16,
    "tensor(uint8)": np.uint8,
    "tensor(bool)": np.bool_,
    "tensor(string)": np.object_,
}


@dataclass(frozen=True)
class Feed:
    """One model input and the columns that fill it, in order."""

    input_name: str
    input_type: str
    columns: tuple[str, ...]
    rank: int  # 1: the input is [N]; 2: it is [N, len(columns)]

    @property
    def dtype(self) -> type:
        return _INPUT_DTYPES[self.input_type]

    def array(self, rows: pd.DataFrame, first_row: int) -> np.ndarray:
        """This input's values for a slice of the dataset (``first_row`` for messages)."""
        sub = rows[list(self.columns)]
        dtype = self.dtype
        if dtype is np.object_:
            values = _strings(sub, self, first_row)
        elif np.issubdtype(dtype, np.floating):
            values = _floats(sub, dtype, self)
        else:
            values = _exact(sub, dtype, self, first_row)
        values = np.ascontiguousarray(values)
        return values.reshape(-1) if self.rank == 1 else values


@dataclass(frozen=True)
class InputPlan:
    feeds: tuple[Feed, ...]
    named: bool  # True: one input per column; False: one tensor input
    batch_size: int | None  # the model's fixed first dimension, when it has one

    @property
    def columns(self) -> tuple[str, ...]:
        """Every column the model reads, in feed order."""
        return tuple(c for feed in self.feeds for c in feed.columns)

    def arrays(self, frame: pd.DataFrame, start: int, stop: int) -> dict[str, np.ndarray]:
        # One slice of rows, converted input by input: only this batch is ever copied.
        rows = frame.iloc[start:stop]
        return {feed.input_name: feed.array(rows, start) for feed in self.feeds}


def input_plan(
    signature: dict,
    columns: Sequence[str],
    *,
    features: Sequence[str] | None = None,
    exclude: Iterable[str] = (),
    dtypes: Mapping[str, object] | None = None,
) -> InputPlan:
    """Map the dataset's columns onto the model's inputs, or raise InputMismatch.

    ``dtypes`` (e.g. ``frame.dtypes``) lets the plan refuse a non-numeric column for a
    numeric input before anything runs; without it only names and widths are checked.
    """
    inputs = signature.get("inputs") or []
    if not inputs:
        raise InputMismatch("the model declares no inputs")
    for spec in inputs:
        if spec["type"] not in _INPUT_DTYPES:
            raise InputMismatch(
                f"the model's input '{spec['name']}' is of type {spec['type']}; the registry "
                "can feed only numeric, boolean or string tensors"
            )
    columns = [str(c) for c in columns]
    if len(set(columns)) != len(columns):
        duplicated = sorted({c for c in columns if columns.count(c) > 1})
        raise InputMismatch(f"the dataset has duplicated columns: {', '.join(duplicated)}")
    exclude = {str(c) for c in exclude}

    named = _named(inputs, set(columns))
    if named:
        feeds = _named_feeds(inputs, features)
    elif len(inputs) == 1:
        feeds = (_tensor_feed(inputs[0], columns, features, exclude),)
    else:
        missing = [spec["name"] for spec in inputs if spec["name"] not in columns]
        raise InputMismatch(
            f"the model has {len(inputs)} inputs, each fed by the column of the same name; "
            f"the dataset has no column {_names(missing)}"
        )
    if dtypes is not None:
        for feed in feeds:
            _check_dtypes(feed, dtypes)
    return InputPlan(feeds=feeds, named=named, batch_size=_batch_size(inputs))


def _named(inputs: list[dict], columns: set[str]) -> bool:
    if not all(spec["name"] in columns for spec in inputs):
        return False
    # A single input named like a column but wider than one value is a feature tensor.
    return len(inputs) > 1 or _width(inputs[0]) in (1, None)


def _named_feeds(inputs: list[dict], features: Sequence[str] | None) -> tuple[Feed, ...]:
    names = [spec["name"] for spec in inputs]
    if features is not None and set(features) != set(names):
        raise InputMismatch(
            f"the model's inputs are named for the columns {_names(names)}; the features "
            f"given ({_names(list(features))}) must be exactly those"
        )
    feeds = []
    for spec in inputs:
        width, rank = _width(spec), _rank(spec)
        if rank not in (1, 2) or width not in (1, None):
            raise InputMismatch(
                f"the model's input '{spec['name']}' has shape {_shape(spec)}; an input fed by "
                "the column of the same name must take one value per row ([N] or [N, 1])"
            )
        feeds.append(Feed(spec["name"], spec["type"], (spec["name"],), rank))
    return tuple(feeds)


def _tensor_feed(
    spec: dict, columns: list[str], features: Sequence[str] | None, exclude: set[str]
) -> Feed:
    if features is not None:
        chosen = [str(c) for c in features]
        if len(set(chosen)) != len(chosen):
            raise InputMismatch("the features list names a column more than once")
        missing = [c for c in chosen if c not in columns]
        if missing:
            raise InputMismatch(f"the dataset has no feature column {_names(missing)}")
        if Y_TRUE in chosen:
            raise InputMismatch("y_true is the label; it cannot be a feature of the model")
    else:
        chosen = [c for c in columns if c not in RESERVED_COLUMNS and c not in exclude]
    if not chosen:
        raise InputMismatch(
            f"the dataset has no feature columns for the model's input '{spec['name']}'"
        )
    rank, width = _rank(spec), _width(spec)
    if rank not in (1, 2) or (rank == 1 and len(chosen) != 1):
        raise InputMismatch(
            f"the model's input '{spec['name']}' has shape {_shape(spec)}; the registry feeds "
            "a table of features ([N, k])"
        )
    if width is not None and width != len(chosen):
        raise InputMismatch(
            f"the model's input '{spec['name']}' takes {width} features per row; the dataset "
            f"gives {len(chosen)} ({_names(chosen, limit=8)})"
        )
    return Feed(spec["name"], spec["type"], tuple(chosen), rank)


def _check_dtypes(feed: Feed, dtypes: Mapping[str, object]) -> None:
    if feed.dtype is np.object_:
        return  # any column can be given as text
    for column in feed.columns:
        dtype = dtypes[column]
        if not (pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)):
            raise InputMismatch(
                f"column '{column}' is not numeric (it holds {dtype}); the model's input "
                f"'{feed.input_name}' takes {feed.input_type}"
            )


def _floats(sub: pd.DataFrame, dtype: type, feed: Feed) -> np.ndarray:
    try:
        return sub.to_numpy(dtype=dtype, na_value=np.nan)
    except (TypeError, ValueError) as exc:
        # Only reached when the plan was made without dtypes: name the culprit column.
        column = next(
            (c for c in feed.columns if not pd.api.types.is_numeric_dtype(sub[c].dtype)),
            feed.columns[0],
        )
        raise InputMismatch(
            f"column '{column}' is not numeric; the model's input '{feed.input_name}' takes "
            f"{feed.input_type}"
        ) from exc


def _strings(sub: pd.DataFrame, feed: Feed, first_row: int) -> np.ndarray:
    missing = sub.isna().to_numpy()
    if missing.any():
        row, col = np.argwhere(missing)[0]
        raise InputMismatch(
            f"column '{feed.columns[col]}' is empty in row {first_row + row}; the model's "
            f"input '{feed.input_name}' takes {feed.input_type} and has no missing value"
        )
    return sub.astype(str).to_numpy(dtype=np.object_)


def _exact(sub: pd.DataFrame, dtype: type, feed: Feed, first_row: int) -> np.ndarray:
    """Integer or boolean values, refusing missing and fractional ones instead of casting."""
    values = _floats(sub, np.float64, feed)
    bad = ~np.isfinite(values) | (values != np.round(values))
    if dtype is np.bool_:
        bad |= (values != 0) & (values != 1)
    else:
        info = np.iinfo(dtype)
        bad |= (values < info.min) | (values > info.max)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        value = values[row, col].item()
        raise InputMismatch(
            f"column '{feed.columns[col]}' holds {value!r} in row {first_row + row}; "
            f"the model's input '{feed.input_name}' takes {feed.input_type}"
        )
    return values.astype(dtype)


def _batch_size(inputs: list[dict]) -> int | None:
    fixed = {spec["shape"][0] for spec in inputs if spec["shape"] and _is_int(spec["shape"][0])}
    if len(fixed) > 1:
        raise InputMismatch(
            f"the model's inputs have different fixed batch sizes ({sorted(fixed)})"
        )
    size = fixed.pop() if fixed else None
    if size is not None and size < 1:
        raise InputMismatch(f"the model's inputs have a batch size of {size}")
    return size


def _rank(spec: dict) -> int:
    return 2 if spec["shape"] is None else len(spec["shape"])  # an unknown rank: try [N, k]


def _width(spec: dict) -> int | None:
    shape = spec["shape"]
    if shape is None:
        return None
    if len(shape) == 1:
        return 1
    if len(shape) == 2 and _is_int(shape[1]):
        return shape[1]
    return None


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _shape(spec: dict) -> str:
    if spec["shape"] is None:
        return "of unknown rank"
    return "[" + ", ".join("?" if d is None else str(d) for d in spec["shape"]) + "]"


def _names(names: list[str], limit: int = 5) -> str:
    quoted = [f"'{n}'" for n in names[:limit]]
    more = len(names) - limit
    return ", ".join(quoted) + (f" and {more} more" if more > 0 else "")
