"""Why the registry could not run a model; every message is written for the model owner."""

from __future__ import annotations


class ExecutionError(ValueError):
    """The registry could not compute predictions with the model."""


class ModelLoadError(ExecutionError):
    """The bytes are not an ONNX model onnxruntime can load (or one the registry refuses)."""


class InputMismatch(ExecutionError):
    """The dataset does not fit the model's inputs (a missing column, a width, a type)."""


class OutputError(ExecutionError):
    """The model's outputs give no usable probability of class 1 or label."""
