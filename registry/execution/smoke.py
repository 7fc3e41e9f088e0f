"""Small measurements the smoke suite takes of a model: latency per batch, determinism."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from registry.execution.model import ExecutableModel

SMOKE_BATCH_ROWS = 1_000


@dataclass(frozen=True)
class Latency:
    """Wall time of predict_frame on one batch (conversion, run and output checks), in ms."""

    batch_rows: int
    runs: int
    median_ms: float
    p95_ms: float
    max_ms: float


@dataclass(frozen=True)
class Determinism:
    rows: int
    identical: bool  # y_score bit for bit and y_pred equal on both runs
    max_abs_diff: float  # largest |y_score difference| between the runs
    pred_mismatches: int  # rows whose y_pred differs


def measure_latency(
    model: ExecutableModel,
    frame: pd.DataFrame,
    *,
    batch_rows: int = SMOKE_BATCH_ROWS,
    runs: int = 20,
    warmup: int = 2,
    features: Sequence[str] | None = None,
    exclude: Iterable[str] = (),
) -> Latency:
    """Time `runs` predictions of the first `batch_rows` rows (fewer if the frame is shorter).

    The first `warmup` runs are not counted: onnxruntime allocates its buffers on them.
    """
    if runs < 1:
        raise ValueError("runs must be at least 1")
    batch = _first_rows(frame, batch_rows)
    exclude = tuple(exclude)
    timings = []
    for i in range(warmup + runs):
        began = time.perf_counter()
        model.predict_frame(batch, features=features, exclude=exclude, batch_rows=len(batch))
        if i >= warmup:
            timings.append((time.perf_counter() - began) * 1000.0)
    ms = np.asarray(timings)
    return Latency(
        batch_rows=len(batch),
        runs=runs,
        median_ms=float(np.median(ms)),
        p95_ms=float(np.percentile(ms, 95)),
        max_ms=float(ms.max()),
    )


def check_determinism(
    model: ExecutableModel,
    frame: pd.DataFrame,
    *,
    batch_rows: int = SMOKE_BATCH_ROWS,
    features: Sequence[str] | None = None,
    exclude: Iterable[str] = (),
) -> Determinism:
    """Predict the same first `batch_rows` rows twice and compare the two results."""
    batch = _first_rows(frame, batch_rows)
    exclude = tuple(exclude)
    first, second = (
        model.predict_frame(batch, features=features, exclude=exclude, batch_rows=len(batch))
        for _ in range(2)
    )
    same_score = np.array_equal(first.y_score, second.y_score, equal_nan=True)
    mismatches = int(np.count_nonzero(first.y_pred != second.y_pred))
    diff = np.abs(first.y_score - second.y_score)
    return Determinism(
        rows=len(batch),
        identical=same_score and mismatches == 0,
        max_abs_diff=float(diff.max()) if len(diff) else 0.0,
        pred_mismatches=mismatches,
    )


def _first_rows(frame: pd.DataFrame, rows: int) -> pd.DataFrame:
    if rows < 1:
        raise ValueError("batch_rows must be at least 1")
    if frame.empty:
        raise ValueError("the dataset has no rows to measure the model on")
    return frame.iloc[:rows]
