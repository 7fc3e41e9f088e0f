"""Value axes: a nice tick step and the domain (with ticks) a chart's values need."""

from __future__ import annotations

import math
from collections.abc import Sequence


def _nice_step(span: float, target: int, integer: bool = False) -> float:
    raw = span / max(target, 1)
    if raw <= 0:
        return 1.0
    if integer and raw <= 1:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(raw))
    steps = (1, 2, 5, 10) if integer and magnitude < 10 else (1, 2, 2.5, 5, 10)
    for m in steps:
        if m * magnitude >= raw * 0.999:
            return m * magnitude
    return 10 * magnitude


def _all_integers(values: Sequence[float | None]) -> bool:
    return all(v == int(v) for v in values if v is not None)


def _domain(
    values: Sequence[float],
    *,
    include_zero: bool,
    fixed_min: float | None = None,
    fixed_max: float | None = None,
    target_ticks: int = 5,
    integer: bool = False,
) -> tuple[float, float, list[float]]:
    """Axis range and "nice" tick values covering ``values``."""
    data = [v for v in values if v is not None]
    lo = min(data) if data else 0.0
    hi = max(data) if data else 1.0
    if include_zero:
        lo, hi = min(lo, 0.0), max(hi, 0.0)
    if fixed_min is not None:
        lo = fixed_min
    if fixed_max is not None:
        hi = fixed_max
    if hi < lo:
        lo, hi = hi, lo
    if hi == lo:
        pad = abs(hi) * 0.1 or 1.0
        if fixed_max is None:
            hi += pad
        if fixed_min is None and not (include_zero and lo == 0):
            lo -= pad
        if hi == lo:
            hi = lo + 1.0
    step = _nice_step(hi - lo, target_ticks, integer)
    if fixed_min is None:
        lo = math.floor(lo / step + 1e-9) * step
    if fixed_max is None:
        hi = math.ceil(hi / step - 1e-9) * step
    first = math.ceil(lo / step - 1e-9)
    ticks = []
    k = first
    while k * step <= hi + step * 1e-9 and len(ticks) < 50:
        ticks.append(round(k * step, 12) + 0.0)
        k += 1
    return lo, hi, ticks
