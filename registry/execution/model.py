"""An ONNX model the registry runs itself over an evaluation dataset, batch by batch."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import onnxruntime
import pandas as pd

from registry.execution.errors import ExecutionError
from registry.execution.inputs import InputPlan, input_plan
from registry.execution.loading import (
    ORT_ERRORS,
    ModelSource,
    default_threads,
    open_session,
    ort_message,
    parse_model,
    read_model_bytes,
    signature_of,
)
from registry.execution.outputs import OutputPlan, read_label, read_score, select_outputs

RUNTIME_VERSION = f"onnxruntime {onnxruntime.__version__}"
DEFAULT_BATCH_ROWS = 50_000
THRESHOLD = 0.5


@dataclass(frozen=True)
class Predictions:
    """What the model computed for every row, and where it came from."""

    y_score: np.ndarray  # float64, probability of class 1
    y_pred: np.ndarray  # int8 0/1: the label output when the model has one, else y_score >= 0.5
    label_output: str | None  # the output y_pred was read from; None: thresholded y_score
    score_output: str  # the output y_score was read from
    rows: int
    features: tuple[str, ...] = ()  # the dataset columns fed to the model, in feed order
    runtime: str = RUNTIME_VERSION


class ExecutableModel:
    """An onnxruntime session on one ONNX model, CPU only, with the model's signature."""

    def __init__(self, session: onnxruntime.InferenceSession, signature: dict, threads: int):
        self.session = session
        self.signature = signature
        self.threads = threads

    @classmethod
    def load(cls, source: ModelSource, *, threads: int | None = None) -> ExecutableModel:
        """Parse and open the model (a path, bytes or binary file); raises ModelLoadError."""
        if threads is not None and threads < 1:
            raise ValueError("threads must be at least 1")
        data = read_model_bytes(source)
        signature = signature_of(parse_model(data))
        threads = threads or default_threads()
        return cls(open_session(data, threads), signature, threads)

    def input_plan(
        self,
        frame: pd.DataFrame,
        *,
        features: Sequence[str] | None = None,
        exclude: Iterable[str] = (),
    ) -> InputPlan:
        return input_plan(
            self.signature,
            list(frame.columns),
            features=features,
            exclude=exclude,
            dtypes=frame.dtypes,
        )

    def output_plan(
        self, *, score_output: str | None = None, label_output: str | None = None
    ) -> OutputPlan:
        return select_outputs(self.signature, score_output=score_output, label_output=label_output)

    def predict_frame(
        self,
        frame: pd.DataFrame,
        *,
        features: Sequence[str] | None = None,
        exclude: Iterable[str] = (),
        batch_rows: int = DEFAULT_BATCH_ROWS,
        score_output: str | None = None,
        label_output: str | None = None,
    ) -> Predictions:
        """Run the model over every row of `frame`; see docs/execution.md for the rules.

        `exclude` names the columns that are never features of a single tensor input (the
        sensitive features); `features` lists that input's columns in order instead.
        """
        if not isinstance(frame, pd.DataFrame):
            raise TypeError("predict_frame needs a pandas DataFrame")
        if batch_rows < 1:
            raise ValueError("batch_rows must be at least 1")
        inputs = self.input_plan(frame, features=features, exclude=exclude)
        outputs = self.output_plan(score_output=score_output, label_output=label_output)
        rows = len(frame)
        # The model's fixed batch size, when it has one, overrides ours (last batch padded).
        step = inputs.batch_size or batch_rows
        y_score = np.empty(rows, dtype=np.float64)
        y_pred = np.empty(rows, dtype=np.int8)
        for start in range(0, rows, step):
            stop = min(start + step, rows)
            score, label = self._run(inputs, outputs, frame, start, stop)
            y_score[start:stop] = score
            y_pred[start:stop] = label if label is not None else score >= THRESHOLD
        return Predictions(
            y_score=y_score,
            y_pred=y_pred,
            label_output=outputs.label_output,
            score_output=outputs.score_output,
            rows=rows,
            features=inputs.columns,
        )

    def _run(
        self, inputs: InputPlan, outputs: OutputPlan, frame: pd.DataFrame, start: int, stop: int
    ) -> tuple[np.ndarray, np.ndarray | None]:
        feeds = inputs.arrays(frame, start, stop)
        rows = stop - start
        if inputs.batch_size and rows < inputs.batch_size:
            feeds = {name: _pad(array, inputs.batch_size) for name, array in feeds.items()}
        try:
            values = self.session.run(outputs.fetch, feeds)
        except ORT_ERRORS as exc:
            raise ExecutionError(
                f"onnxruntime failed on rows {start}-{stop - 1}: {ort_message(exc)}"
            ) from exc
        if inputs.batch_size:
            values = [v[:rows] for v in values]
        score = read_score(outputs, values[0], rows, start)
        label = read_label(outputs, values[1], rows, start) if outputs.label_output else None
        return score, label


def _pad(array: np.ndarray, size: int) -> np.ndarray:
    # Repeat the last row: the padded rows' predictions are cut off again after the run.
    return np.concatenate([array, np.repeat(array[-1:], size - len(array), axis=0)])


def read_signature(source: ModelSource) -> dict:
    """The model's signature, after checking that onnxruntime can load it (ModelLoadError)."""
    return ExecutableModel.load(source, threads=1).signature
