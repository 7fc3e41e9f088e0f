"""Running an uploaded ONNX model over an evaluation dataset (onnxruntime, CPU only).

Pure domain code: stdlib and third-party imports only, nothing from another project app.
See docs/execution.md.
"""

from registry.execution.errors import ExecutionError, InputMismatch, ModelLoadError, OutputError
from registry.execution.inputs import RESERVED_COLUMNS, Feed, InputPlan, input_plan
from registry.execution.model import (
    DEFAULT_BATCH_ROWS,
    RUNTIME_VERSION,
    THRESHOLD,
    ExecutableModel,
    Predictions,
    read_signature,
)
from registry.execution.outputs import OutputPlan, select_outputs
from registry.execution.scorer import Scorer
from registry.execution.smoke import (
    SMOKE_BATCH_ROWS,
    Determinism,
    Latency,
    check_determinism,
    measure_latency,
)

__all__ = [
    "DEFAULT_BATCH_ROWS",
    "RESERVED_COLUMNS",
    "RUNTIME_VERSION",
    "SMOKE_BATCH_ROWS",
    "THRESHOLD",
    "Determinism",
    "ExecutableModel",
    "ExecutionError",
    "Feed",
    "InputMismatch",
    "InputPlan",
    "Latency",
    "ModelLoadError",
    "OutputError",
    "OutputPlan",
    "Predictions",
    "Scorer",
    "check_determinism",
    "input_plan",
    "measure_latency",
    "read_signature",
    "select_outputs",
]
