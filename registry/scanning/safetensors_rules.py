"""The registry's safetensors rule: the header must describe the file exactly.

safetensors holds no code (a JSON header, then raw tensor bytes), so the only risk is a header
that lies: offsets outside the file, overlapping or leaving gaps a loader would misread.
"""

from __future__ import annotations

import json
import struct
from math import prod
from pathlib import Path

from .onnx_rules import MAX_ELEMENTS
from .report import CRITICAL, HIGH, MEDIUM, Finding

DTYPE_SIZES = {
    "BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "F8_E8M0": 1,
    "I16": 2, "U16": 2, "F16": 2, "BF16": 2,
    "I32": 4, "U32": 4, "F32": 4,
    "I64": 8, "U64": 8, "F64": 8,
    "C64": 8,
}  # fmt: skip


def safetensors_findings(path: Path) -> list[Finding]:
    size = path.stat().st_size
    with path.open("rb") as handle:
        (header_length,) = struct.unpack("<Q", handle.read(8))
        header = json.loads(handle.read(header_length))
    data_length = size - 8 - header_length
    findings: list[Finding] = []
    spans = []
    for name, entry in sorted(header.items()):
        if name == "__metadata__":
            if not isinstance(entry, dict) or not all(isinstance(v, str) for v in entry.values()):
                findings.append(_invalid("its __metadata__ is not a map of strings"))
            continue
        problem = _entry_problem(entry)
        if problem:
            findings.append(_invalid(f"tensor {name!r} {problem}"))
            continue
        begin, end = entry["data_offsets"]
        spans.append((begin, end, name))
        elements = prod(entry["shape"])
        if elements > MAX_ELEMENTS:
            findings.append(
                Finding(
                    HIGH,
                    "SAFETENSORS_ABSURD_SHAPE",
                    f"Tensor {name!r} has {elements} elements, over the bound of {MAX_ELEMENTS}.",
                )
            )
        itemsize = DTYPE_SIZES.get(entry["dtype"])
        if itemsize is None:
            findings.append(
                Finding(
                    MEDIUM,
                    "SAFETENSORS_UNKNOWN_DTYPE",
                    f"Tensor {name!r} has dtype {entry['dtype']!r}, unknown to the registry; "
                    "its size was not checked.",
                )
            )
        elif end - begin != elements * itemsize:
            findings.append(
                _invalid(f"tensor {name!r} spans {end - begin} bytes, not {elements * itemsize}")
            )
    findings += _coverage_findings(spans, data_length)
    return findings


def _entry_problem(entry: object) -> str | None:
    if not isinstance(entry, dict):
        return "is not an object"
    dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
    if not isinstance(dtype, str):
        return "has no dtype"
    if not isinstance(shape, list) or not all(_natural(d) for d in shape):
        return f"has the shape {shape!r}"
    if not (
        isinstance(offsets, list)
        and len(offsets) == 2
        and all(_natural(o) for o in offsets)
        and offsets[0] <= offsets[1]
    ):
        return f"has the data offsets {offsets!r}"
    return None


def _natural(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _coverage_findings(spans: list[tuple[int, int, str]], data_length: int) -> list[Finding]:
    # Like the reference loader: the tensors tile the data section, in order, without gaps.
    expected = 0
    for begin, end, name in sorted(spans):
        if begin != expected:
            return [_invalid(f"tensor {name!r} starts at {begin}, expected {expected}")]
        expected = end
    if expected != data_length:
        return [_invalid(f"the tensors cover {expected} of {data_length} data bytes")]
    return []


def _invalid(problem: str) -> Finding:
    return Finding(CRITICAL, "SAFETENSORS_INVALID", f"The safetensors header is wrong: {problem}.")
