"""The model as a function of a float matrix: what attacks, attributions and perturbation tests
query.

predict_frame reads a dataset; the catalogue's model-level suites instead ask the model about
rows they make up (adversarial examples, noisy or blended copies, permuted columns). A
``Scorer`` fixes which columns the model reads, in which order, and answers ``score(X)`` for
any ``(n, d)`` float matrix in those columns, batched, counting the rows it was asked about
(an attack's query budget is then a measured figure, not a claim).

Only models whose every input is numeric or boolean can be queried this way: a perturbation of
a text column is not defined, so ``Scorer.for_frame`` raises ``InputMismatch`` naming it.
Integer and boolean inputs take the perturbed value rounded (booleans: above one half).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from registry.execution.errors import ExecutionError, InputMismatch
from registry.execution.inputs import InputPlan
from registry.execution.loading import ORT_ERRORS, ort_message
from registry.execution.model import DEFAULT_BATCH_ROWS, THRESHOLD, ExecutableModel
from registry.execution.outputs import OutputPlan, read_label, read_score

__all__ = ["Scorer"]


class Scorer:
    """``score(X)`` and ``predict(X)`` of one model over matrices in ``features`` order."""

    def __init__(self, model: ExecutableModel, inputs: InputPlan, outputs: OutputPlan):
        for feed in inputs.feeds:
            if feed.dtype is np.object_:
                raise InputMismatch(
                    f"the model's input '{feed.input_name}' takes text; the registry can "
                    "perturb only numeric inputs"
                )
        self.model = model
        self.inputs = inputs
        self.outputs = outputs
        self.features: tuple[str, ...] = inputs.columns
        # Column positions of each feed inside the matrix.
        position = {name: i for i, name in enumerate(self.features)}
        self._slices = [
            (feed, np.asarray([position[c] for c in feed.columns], dtype=np.intp))
            for feed in inputs.feeds
        ]
        self.calls = 0
        self.rows_scored = 0

    @classmethod
    def for_frame(
        cls,
        model: ExecutableModel,
        frame: pd.DataFrame,
        *,
        features: Sequence[str] | None = None,
        exclude: Iterable[str] = (),
    ) -> Scorer:
        """The scorer reading the columns of `frame` that predict_frame would feed."""
        inputs = model.input_plan(frame, features=features, exclude=exclude)
        return cls(model, inputs, model.output_plan())

    def matrix(self, frame: pd.DataFrame) -> np.ndarray:
        """The model's columns of `frame` as a float64 ``(n, d)`` matrix."""
        try:
            return frame[list(self.features)].to_numpy(dtype=np.float64, copy=True)
        except (TypeError, ValueError) as exc:
            raise InputMismatch(f"the model's columns are not all numeric: {exc}") from None

    def score(self, X: np.ndarray, *, batch_rows: int = DEFAULT_BATCH_ROWS) -> np.ndarray:
        """The probability of class 1 for every row of `X` (float64)."""
        return self._predict(X, batch_rows)[0]

    def predict(self, X: np.ndarray, *, batch_rows: int = DEFAULT_BATCH_ROWS) -> np.ndarray:
        """The label of every row of `X` (int8 0/1): the label output, else score >= 0.5."""
        score, label = self._predict(X, batch_rows)
        return label if label is not None else (score >= THRESHOLD).astype(np.int8)

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """``(n, 2)`` class probabilities, the shape ART's and scikit-learn's tools expect."""
        score = self.score(X)
        return np.column_stack([1.0 - score, score])

    def _predict(self, X: np.ndarray, batch_rows: int) -> tuple[np.ndarray, np.ndarray | None]:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim == 1:
            X = X.reshape(1, -1)
        if X.ndim != 2 or X.shape[1] != len(self.features):
            raise ExecutionError(
                f"the scorer takes rows of {len(self.features)} features; got shape {X.shape}"
            )
        rows = len(X)
        step = self.inputs.batch_size or batch_rows
        score = np.empty(rows, dtype=np.float64)
        label = np.empty(rows, dtype=np.int8) if self.outputs.label_output else None
        for start in range(0, rows, step):
            stop = min(start + step, rows)
            s, lab = self._run(X[start:stop], start)
            score[start:stop] = s
            if label is not None:
                label[start:stop] = lab
        self.calls += 1
        self.rows_scored += rows
        return score, label

    def _run(self, block: np.ndarray, first_row: int) -> tuple[np.ndarray, np.ndarray | None]:
        rows = len(block)
        feeds = {}
        for feed, columns in self._slices:
            values = block[:, columns]
            dtype = feed.dtype
            if dtype is np.bool_:
                values = values > 0.5
            elif not np.issubdtype(dtype, np.floating):
                values = np.rint(values)
            values = np.ascontiguousarray(values.astype(dtype, copy=False))
            if feed.rank == 1:
                values = values.reshape(-1)
            if self.inputs.batch_size and rows < self.inputs.batch_size:
                pad = self.inputs.batch_size - rows
                values = np.concatenate([values, np.repeat(values[-1:], pad, axis=0)])
            feeds[feed.input_name] = values
        try:
            outputs = self.model.session.run(self.outputs.fetch, feeds)
        except ORT_ERRORS as exc:
            raise ExecutionError(f"onnxruntime failed: {ort_message(exc)}") from exc
        if self.inputs.batch_size:
            outputs = [v[:rows] for v in outputs]
        score = read_score(self.outputs, outputs[0], rows, first_row)
        label = (
            read_label(self.outputs, outputs[1], rows, first_row)
            if self.outputs.label_output
            else None
        )
        return score, label
