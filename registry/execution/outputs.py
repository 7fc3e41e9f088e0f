"""Which model outputs give the probability of class 1 and the label, and reading them.

A binary classifier's score is, in order of preference: a float tensor ``[N, 2]`` (column 1),
``[N, 1]`` or ``[N]`` (a probability, or a regressor's output in [0, 1]); else a ZipMap
output (a sequence of maps class -> probability, key 1 or "1"). Its label output is an
integer, boolean or string tensor ``[N]``/``[N, 1]`` holding 0/1 (or "0"/"1").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from registry.execution.errors import OutputError

_FLOAT_TENSORS = ("tensor(float)", "tensor(double)", "tensor(float16)")
_LABEL_TENSORS = (
    "tensor(int64)",
    "tensor(int32)",
    "tensor(int16)",
    "tensor(int8)",
    "tensor(uint8)",
    "tensor(bool)",
    "tensor(string)",
)
_ZIPMAP = re.compile(r"^seq\(map\((int64|string),tensor\((float|double)\)\)\)$")
# A probability may miss [0, 1] by float rounding (a softmax summing to 1 + 1e-7).
_TOLERANCE = 1e-6
_ROLE = {"prob": "probability of class 1", "label": "label"}


@dataclass(frozen=True)
class OutputPlan:
    score_output: str
    zipmap: bool  # the score output is a sequence of maps, not a tensor
    label_output: str | None

    @property
    def fetch(self) -> list[str]:
        return [self.score_output] + ([self.label_output] if self.label_output else [])


def select_outputs(
    signature: dict, *, score_output: str | None = None, label_output: str | None = None
) -> OutputPlan:
    """Choose the score and label outputs from the signature, or raise OutputError.

    ``score_output``/``label_output`` name them explicitly when the choice is ambiguous.
    """
    outputs = signature.get("outputs") or []
    by_name = {spec["name"]: spec for spec in outputs}
    for name in (score_output, label_output):
        if name is not None and name not in by_name:
            raise OutputError(f"the model has no output '{name}'; it has {_describe(outputs)}")

    if score_output is not None:
        score = by_name[score_output]
        if not (_is_score_tensor(score) or _is_zipmap(score)):
            raise OutputError(f"output {_one(score)} is not a probability of class 1")
    else:
        tensors = [s for s in outputs if _is_score_tensor(s)]
        zipmaps = [s for s in outputs if _is_zipmap(s)]
        score = _pick(tensors, "prob") or _pick(zipmaps, "prob")
        if score is None:
            raise OutputError(
                "the model has no output giving the probability of class 1 (a float tensor "
                f"[N, 2], [N, 1] or [N], or a ZipMap); it has {_describe(outputs)}"
            )

    if label_output is not None:
        label = by_name[label_output]
        if not _is_label(label):
            raise OutputError(f"output {_one(label)} is not a label output (0/1)")
    else:
        label = _pick([s for s in outputs if _is_label(s)], "label")
    return OutputPlan(
        score_output=score["name"],
        zipmap=_is_zipmap(score),
        label_output=label["name"] if label else None,
    )


def _pick(candidates: list[dict], hint: str) -> dict | None:
    if len(candidates) <= 1:
        return candidates[0] if candidates else None
    hinted = [s for s in candidates if hint in s["name"].lower()]
    if len(hinted) == 1:
        return hinted[0]
    raise OutputError(
        f"the model has several outputs that could be its {_ROLE[hint]} "
        f"({', '.join(repr(s['name']) for s in candidates)}); name the one to use"
    )


def _is_score_tensor(spec: dict) -> bool:
    if spec["type"] not in _FLOAT_TENSORS:
        return False
    shape = spec["shape"]
    if shape is None or len(shape) == 1:
        return True
    return len(shape) == 2 and (shape[1] in (1, 2) or not isinstance(shape[1], int))


def _is_zipmap(spec: dict) -> bool:
    return bool(_ZIPMAP.match(spec["type"]))


def _is_label(spec: dict) -> bool:
    if spec["type"] not in _LABEL_TENSORS:
        return False
    shape = spec["shape"]
    return shape is None or len(shape) == 1 or (len(shape) == 2 and shape[1] in (1, None))


def read_score(plan: OutputPlan, value: object, rows: int, first_row: int) -> np.ndarray:
    """The probability of class 1 per row, float64, checked to lie in [0, 1]."""
    name = plan.score_output
    if plan.zipmap:
        score = _zipmap_class_1(name, value, rows)
    else:
        array = np.asarray(value)
        if array.ndim == 2 and array.shape[1] in (1, 2):
            array = array[:, array.shape[1] - 1]
        elif array.ndim != 1:
            raise OutputError(
                f"output '{name}' has shape {list(array.shape)}; a binary classifier gives "
                "[N, 2], [N, 1] or [N] (a model with more classes cannot be evaluated here)"
            )
        score = array.astype(np.float64)
    _check_rows(name, score, rows)
    bad = ~((score >= -_TOLERANCE) & (score <= 1 + _TOLERANCE))  # NaN is bad too
    if bad.any():
        row = int(np.argmax(bad))
        raise OutputError(
            f"output '{name}' gives {score[row].item()!r} for row {first_row + row}; a "
            "probability of class 1 lies between 0 and 1 (a model that outputs logits needs "
            "its Sigmoid or Softmax in the exported graph)"
        )
    return np.clip(score, 0.0, 1.0, out=score)


def _zipmap_class_1(name: str, value: object, rows: int) -> np.ndarray:
    if not isinstance(value, list) or (value and not isinstance(value[0], dict)):
        raise OutputError(f"output '{name}' is not a sequence of maps")
    if not value:
        return np.empty(0, dtype=np.float64)
    classes = list(value[0])
    if len(classes) > 2:
        raise OutputError(
            f"output '{name}' gives probabilities for {len(classes)} classes "
            f"({', '.join(map(repr, classes[:5]))}); the registry evaluates binary classifiers"
        )
    key = next((k for k in classes if k == 1 or k == "1"), None)
    if key is None:
        raise OutputError(
            f"output '{name}' has no class 1 (its classes are {', '.join(map(repr, classes))}); "
            "train the model with labels 0 and 1"
        )
    try:
        return np.fromiter((m[key] for m in value), dtype=np.float64, count=len(value))
    except (KeyError, TypeError) as exc:
        raise OutputError(f"output '{name}' does not give class {key!r} for every row") from exc


def read_label(plan: OutputPlan, value: object, rows: int, first_row: int) -> np.ndarray:
    """The label per row as int8 0/1; any other label is an OutputError."""
    name = plan.label_output
    array = np.asarray(value)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1:
        raise OutputError(f"output '{name}' has shape {list(array.shape)}, not [N]")
    _check_rows(name, array, rows)
    if array.dtype.kind == "b":
        return array.astype(np.int8)
    if array.dtype.kind in "iu":
        ones = array == 1
        bad = ~(ones | (array == 0))
    elif array.dtype.kind in "OUS":
        text = array.astype(str)
        ones = text == "1"
        bad = ~(ones | (text == "0"))
    else:
        raise OutputError(f"output '{name}' holds {array.dtype} labels, not 0/1")
    if bad.any():
        row = int(np.argmax(bad))
        raise OutputError(
            f"output '{name}' gives the label {array[row].item()!r} for row {first_row + row}; the "
            "registry evaluates binary classifiers with labels 0 and 1"
        )
    return ones.astype(np.int8)


def _check_rows(name: str, array: np.ndarray, rows: int) -> None:
    if len(array) != rows:
        raise OutputError(f"output '{name}' gives {len(array)} values for {rows} rows")


def _one(spec: dict) -> str:
    shape = "?" if spec["shape"] is None else spec["shape"]
    return f"'{spec['name']}' {spec['type']} {shape}".replace("None", "?")


def _describe(outputs: list[dict]) -> str:
    return "; ".join(_one(s) for s in outputs) if outputs else "no outputs"
