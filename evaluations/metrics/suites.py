"""Top-level entry point: run one evaluation suite and evaluate its thresholds."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

from ._common import to_jsonable
from .bias import compute_bias
from .datasets import validate_dataset, validate_segment_columns, validate_sensitive_features
from .performance import compute_performance
from .robustness import DEFAULT_ALPHA, compute_robustness
from .security import compute_security
from .smoke import compute_smoke
from .thresholds import (
    SUITE_SECTIONS,
    evaluate_thresholds,
    overall_passed,
    thresholds_for_tier,
    validate_thresholds,
)

__all__ = ["DEFAULT_TIER", "SUITES", "run_suite"]

SUITES = ("performance", "bias", "robustness", "security", "smoke")
#: Thresholds used when ``run_suite`` gets ``thresholds=None`` (the guide's document).
DEFAULT_TIER = "MEDIUM"


class _Progress:
    """Calls the user's callback with monotonic integer percentages in [0, 100]."""

    def __init__(self, callback: Callable[[int, str], Any] | None) -> None:
        self.callback = callback
        self.last = -1

    def __call__(self, percent: float, message: str) -> None:
        if self.callback is None:
            return
        value = max(self.last, min(100, max(0, int(percent))))
        self.last = value
        self.callback(value, message)

    def scaled(self, low: float, high: float) -> Callable[[float, str], None]:
        def report(fraction: float, message: str) -> None:
            self(low + (high - low) * fraction, message)

        return report


def run_suite(
    suite: str,
    data: pd.DataFrame,
    *,
    reference: pd.DataFrame | None = None,
    sensitive_features: Iterable[str] = (),
    segment_columns: Iterable[str] = (),
    thresholds: Mapping[str, Any] | None = None,
    progress: Callable[[int, str], Any] | None = None,
    model: bytes | None = None,
    features: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Run ``suite`` on ``data`` and return a JSON-serialisable result.

    ``{"metrics": {...}, "thresholdResults": [...], "passed": bool, "notes": [...]}``.
    ``thresholds`` is a thresholds document (validated here); ``None`` uses the MEDIUM
    tier, which is the guide's document. Only the suite's own section is evaluated.
    ``passed`` is True when every threshold result whose ``passed`` is not None is True.
    ``model`` (the ONNX bytes the registry runs, fed ``features`` in order) is used only by
    the smoke suite, which needs no labels.
    Raises ``DatasetError`` for unusable data and ``ThresholdsError`` for a bad document.
    """
    if suite not in SUITES:
        raise ValueError(f"unknown suite {suite!r} (expected one of: {', '.join(SUITES)})")
    for label, frame in (("data", data), ("reference", reference)):
        if frame is not None and not isinstance(frame, pd.DataFrame):
            raise TypeError(f"{label} must be a pandas DataFrame, got {type(frame).__name__}")
    report = _Progress(progress)
    report(0, f"starting the {suite} suite")
    document = (
        validate_thresholds(thresholds)
        if thresholds is not None
        else thresholds_for_tier(DEFAULT_TIER)
    )
    sensitive = validate_sensitive_features(data, sensitive_features)
    segments = validate_segment_columns(data, segment_columns)

    if suite == "security":
        metrics, notes = compute_security(data, progress=report.scaled(5, 95))
        count = metrics["highSeverityFindings"]
        results: list[dict[str, Any]] = [
            {
                "metric": "highSeverityFindings",
                "value": count,
                "threshold": 0,
                "direction": "max",
                "passed": count == 0,
            }
        ]
    elif suite == "smoke":
        section = document.get(SUITE_SECTIONS[suite], {})
        metrics, notes = compute_smoke(
            data,
            model,
            features=features,
            exclude=sensitive,
            progress=report.scaled(5, 95),
        )
        results = evaluate_thresholds(metrics, section, metrics.get("unavailable"))
        if not section:
            notes.append(f"no {SUITE_SECTIONS[suite]} given; no threshold was evaluated")
    else:
        df = validate_dataset(data, sensitive_features=sensitive, segment_columns=segments)
        report(10, "dataset validated")
        section = document.get(SUITE_SECTIONS[suite], {})
        if suite == "performance":
            metrics, notes = compute_performance(
                df, segment_columns=segments, progress=report.scaled(10, 95), validated=True
            )
        elif suite == "bias":
            metrics, notes = compute_bias(
                df, sensitive, progress=report.scaled(10, 95), validated=True
            )
        else:
            alpha = section.get("driftDetection", DEFAULT_ALPHA)
            metrics, notes = compute_robustness(
                df, reference, alpha=alpha, progress=report.scaled(10, 95), validated=True
            )
        results = evaluate_thresholds(metrics, section, metrics.get("unavailable"))
        if not section:
            notes.append(f"no {SUITE_SECTIONS[suite]} given; no threshold was evaluated")

    unevaluated = [r["metric"] for r in results if r["passed"] is None]
    if unevaluated:
        notes.append(
            f"thresholds not evaluated because the metric could not be computed: "
            f"{', '.join(unevaluated)}; the run is INCOMPLETE (never a pass) unless a threshold "
            "failed"
        )
    report(100, f"{suite} suite done")
    return to_jsonable(
        {
            "metrics": metrics,
            "thresholdResults": results,
            "passed": overall_passed(results),
            "notes": notes,
        }
    )
