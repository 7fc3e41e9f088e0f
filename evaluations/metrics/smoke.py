"""The smoke suite: the model loads and answers on the dataset.

``loads`` (onnxruntime opens the model), ``validOutputs`` (the model answers every row of the
dataset and every score is a finite probability of class 1), ``deterministic`` (the same first
batch predicted twice gives the same y_score bit for bit and the same y_pred) and
``latencyP95Ms`` (95th percentile wall time of predicting one batch of 1,000 rows).

These measure the model itself, so they exist only when the registry runs it: without model
bytes every metric is ``None`` with its reason (the run is INCOMPLETE, never a pass). A metric
that cannot be measured because an earlier one failed (no latency of a model that does not
load) is ``None`` too; the earlier failure already fails the run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import pandas as pd

from registry.execution import (
    RUNTIME_VERSION,
    SMOKE_BATCH_ROWS,
    ExecutableModel,
    ExecutionError,
    check_determinism,
    measure_latency,
)

__all__ = ["LATENCY_RUNS", "SMOKE_METRICS", "compute_smoke"]

SMOKE_METRICS = ("loads", "validOutputs", "deterministic", "latencyP95Ms")
#: Timed predictions of the batch (after two warm-up runs) the 95th percentile is taken over.
LATENCY_RUNS = 20
NO_MODEL = (
    "the registry did not run a model: smoke metrics exist only on runs whose predictions the "
    "registry computes from the version's executable (ONNX) model"
)


def compute_smoke(
    data: pd.DataFrame,
    model: bytes | None,
    *,
    features: Sequence[str] | None = None,
    exclude: Iterable[str] = (),
    progress: Callable[[float, str], Any] | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """Smoke metrics of the ONNX `model` (its bytes) on `data`, and notes."""
    report = progress or (lambda fraction, message: None)
    exclude = tuple(exclude)
    features = list(features) if features else None
    metrics: dict[str, Any] = {name: None for name in SMOKE_METRICS}
    unavailable: dict[str, str] = {}
    metrics["unavailable"] = unavailable
    metrics["rows"] = len(data)
    notes: list[str] = []
    if model is None:
        unavailable.update(dict.fromkeys(SMOKE_METRICS, NO_MODEL))
        notes.append(NO_MODEL)
        report(1.0, "no model to run: nothing measured")
        return metrics, notes

    report(0.0, "loading the model")
    try:
        executable = ExecutableModel.load(model)
    except ExecutionError as exc:
        metrics["loads"] = False
        metrics["loadError"] = str(exc)
        _after_failure(unavailable, ("validOutputs", "deterministic", "latencyP95Ms"), "load")
        notes.append(f"the model does not load: {exc}")
        report(1.0, "the model does not load")
        return metrics, notes
    metrics["loads"] = True
    metrics["runtime"] = RUNTIME_VERSION

    report(0.1, f"predicting {len(data)} rows")
    try:
        predictions = executable.predict_frame(data, features=features, exclude=exclude)
    except ExecutionError as exc:
        metrics["validOutputs"] = False
        metrics["outputError"] = str(exc)
        _after_failure(unavailable, ("deterministic", "latencyP95Ms"), "give valid outputs")
        notes.append(f"the model does not answer every row with a probability: {exc}")
        report(1.0, "the model's outputs are not valid")
        return metrics, notes
    # predict_frame refuses NaN, infinities and scores outside [0, 1]: every score it returns
    # is a finite probability.
    metrics["validOutputs"] = True
    metrics["scoreOutput"] = predictions.score_output
    metrics["labelOutput"] = predictions.label_output
    metrics["features"] = list(predictions.features)

    report(0.4, "predicting the same rows twice")
    determinism = check_determinism(
        executable, data, batch_rows=SMOKE_BATCH_ROWS, features=features, exclude=exclude
    )
    metrics["deterministic"] = determinism.identical
    metrics["determinism"] = {
        "rows": determinism.rows,
        "maxAbsDiff": determinism.max_abs_diff,
        "predMismatches": determinism.pred_mismatches,
    }

    report(0.5, "timing batches of the dataset")
    latency = measure_latency(
        executable,
        data,
        batch_rows=SMOKE_BATCH_ROWS,
        runs=LATENCY_RUNS,
        features=features,
        exclude=exclude,
    )
    metrics["latencyP95Ms"] = latency.p95_ms
    metrics["latency"] = {
        "batchRows": latency.batch_rows,
        "runs": latency.runs,
        "medianMs": latency.median_ms,
        "p95Ms": latency.p95_ms,
        "maxMs": latency.max_ms,
    }
    if latency.batch_rows < SMOKE_BATCH_ROWS:
        notes.append(
            f"the dataset has {latency.batch_rows} rows, fewer than a batch of "
            f"{SMOKE_BATCH_ROWS}: latency was timed on all of them"
        )
    report(1.0, "smoke checks done")
    return metrics, notes


def _after_failure(unavailable: dict[str, str], names: Iterable[str], what: str) -> None:
    for name in names:
        unavailable[name] = f"not measured: the model does not {what}"
