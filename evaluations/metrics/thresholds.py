"""Threshold documents: defaults per risk tier, validation and evaluation.

A threshold passes when the metric value is

* at or above it (``direction="min"``) for accuracy, precision, recall, f1Score, rocAuc,
  disparateImpact and adversarialAccuracy;
* at or below it (``direction="max"``) for demographicParity and equalizedOdds;
* the smoke suite's ``loads``, ``validOutputs`` and ``deterministic`` are booleans judged
  ``min`` (true counts as 1, so a threshold of 1 passes when true) and ``latencyP95Ms``, in
  milliseconds, is ``max`` and the one threshold not bounded by 1 (any number from 0 up);
* ``driftDetection`` is a significance level (``direction="significance"``): a feature
  drifts when its p-value is below it; the metric value is the smallest p-value, so the
  threshold passes when that value is at or above the level, i.e. when no feature drifts.

Stricter and looser (``looser_than``): a run's thresholds may be stricter than the tier's,
never looser (only MRC may relax one, checked by the caller). Stricter is a higher value for
``min`` metrics, a lower one for ``max`` metrics, and a **higher** significance level for
``driftDetection``: a higher level flags a feature as drifting on weaker evidence (a p-value of
0.07 drifts at 0.10 and not at 0.05), so it demands more stability; the HIGH tier's 0.10 is
stricter than MEDIUM's 0.05.

"At or above"/"at or below" allow an absolute tolerance of ``TOLERANCE`` (1e-12) so that
a value mathematically equal to the threshold is not failed by floating-point rounding
(``0.4 - 0.3`` is ``0.10000000000000003``). The significance comparison is exact, to agree
with the per-feature drift flags.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from typing import Any

__all__ = [
    "DIRECTIONS",
    "GUIDE_THRESHOLDS",
    "SECTIONS",
    "SMOKE_THRESHOLDS",
    "TIER_THRESHOLDS",
    "TOLERANCE",
    "ThresholdsError",
    "describe_direction",
    "evaluate_thresholds",
    "looser_than",
    "overall_passed",
    "thresholds_for_tier",
    "validate_thresholds",
]

TOLERANCE = 1e-12

#: Metric name -> direction.
DIRECTIONS: dict[str, str] = {
    "accuracy": "min",
    "precision": "min",
    "recall": "min",
    "f1Score": "min",
    "rocAuc": "min",
    "disparateImpact": "min",
    "adversarialAccuracy": "min",
    "demographicParity": "max",
    "equalizedOdds": "max",
    "driftDetection": "significance",
    "loads": "min",
    "validOutputs": "min",
    "deterministic": "min",
    "latencyP95Ms": "max",
    # The evaluation catalogue (contract v1.1 "Suites added").
    "consistency": "min",
    "noiseAccuracy": "min",
    "highSeverityFindings": "max",
    "membershipInferenceAdvantage": "max",
    "attributeInferenceAdvantage": "max",
    "inputValidationFailures": "max",
    "backdoorSuspicion": "max",
    "explanationStability": "min",
    "explanationFaithfulness": "min",
    "gini": "min",
    "ksStatistic": "min",
    "hosmerLemeshowP": "min",
    "brierScore": "max",
    "psi": "max",
}

#: Thresholds that are a quantity rather than a share: any finite number from 0 up.
UNBOUNDED = frozenset({"latencyP95Ms", "highSeverityFindings", "inputValidationFailures"})

#: Section -> metrics allowed in it (and the suite it applies to).
SECTIONS: dict[str, tuple[str, ...]] = {
    "performanceThresholds": ("accuracy", "precision", "recall", "f1Score", "rocAuc"),
    "biasThresholds": ("demographicParity", "equalizedOdds", "disparateImpact", "consistency"),
    "robustnessThresholds": ("adversarialAccuracy", "driftDetection", "noiseAccuracy"),
    "smokeThresholds": ("loads", "validOutputs", "deterministic", "latencyP95Ms"),
    "securityThresholds": (
        "highSeverityFindings",
        "membershipInferenceAdvantage",
        "attributeInferenceAdvantage",
        "inputValidationFailures",
        "backdoorSuspicion",
    ),
    "explainabilityThresholds": ("explanationStability", "explanationFaithfulness"),
    "validationThresholds": ("gini", "ksStatistic", "hosmerLemeshowP", "brierScore", "psi"),
}
SUITE_SECTIONS = {
    "performance": "performanceThresholds",
    "bias": "biasThresholds",
    "robustness": "robustnessThresholds",
    "smoke": "smokeThresholds",
    "security": "securityThresholds",
    "explainability": "explainabilityThresholds",
    "validation": "validationThresholds",
}

# The same for every tier: a model that loads, answers with probabilities, is deterministic
# and predicts 1,000 rows within a second is fit to be judged at all.
SMOKE_THRESHOLDS: dict[str, float] = {
    "loads": 1,
    "validOutputs": 1,
    "deterministic": 1,
    "latencyP95Ms": 1000,
}

#: The governance guide's document; it is also the MEDIUM tier.
GUIDE_THRESHOLDS: dict[str, dict[str, float]] = {
    "performanceThresholds": {"accuracy": 0.85, "precision": 0.80, "recall": 0.80, "f1Score": 0.80},
    "biasThresholds": {"demographicParity": 0.1, "equalizedOdds": 0.1, "disparateImpact": 0.8},
    "robustnessThresholds": {"adversarialAccuracy": 0.70, "driftDetection": 0.05},
    "smokeThresholds": dict(SMOKE_THRESHOLDS),
}

# The catalogue's thresholds per tier (LOW, MEDIUM, HIGH); the guide's document names none of
# them, so MEDIUM's are ours, and LOW's and HIGH's a step either side. Justifications in
# docs/evaluations.md ("Default thresholds of the catalogue").
CATALOGUE_THRESHOLDS: dict[str, dict[str, tuple[float, float, float]]] = {
    "biasThresholds": {"consistency": (0.70, 0.80, 0.85)},
    "robustnessThresholds": {"noiseAccuracy": (0.75, 0.80, 0.85)},
    "securityThresholds": {
        # A data-quality finding of high severity (unusable labels or scores) fails any tier.
        "highSeverityFindings": (0, 0, 0),
        "membershipInferenceAdvantage": (0.20, 0.10, 0.05),
        "attributeInferenceAdvantage": (0.20, 0.10, 0.05),
        "inputValidationFailures": (3, 0, 0),
        # STRIP's cut flags 1% of clean inputs by construction: a clean dataset scores ~0.01.
        "backdoorSuspicion": (0.05, 0.03, 0.025),
    },
    "explainabilityThresholds": {
        "explanationStability": (0.60, 0.70, 0.80),
        "explanationFaithfulness": (0.0, 0.0, 0.01),
    },
    "validationThresholds": {
        "gini": (0.30, 0.40, 0.50),
        "ksStatistic": (0.20, 0.30, 0.35),
        "hosmerLemeshowP": (0.01, 0.05, 0.05),
        "brierScore": (0.25, 0.20, 0.15),
        "psi": (0.25, 0.20, 0.10),
    },
}


CATALOGUE_TIERS = ("LOW", "MEDIUM", "HIGH")

TIER_THRESHOLDS: dict[str, dict[str, dict[str, float]]] = {
    "LOW": {
        "performanceThresholds": {
            "accuracy": 0.80,
            "precision": 0.75,
            "recall": 0.75,
            "f1Score": 0.75,
        },
        "biasThresholds": {
            "demographicParity": 0.15,
            "equalizedOdds": 0.15,
            "disparateImpact": 0.8,
        },
        "robustnessThresholds": {"adversarialAccuracy": 0.60, "driftDetection": 0.01},
        "smokeThresholds": dict(SMOKE_THRESHOLDS),
    },
    "MEDIUM": copy.deepcopy(GUIDE_THRESHOLDS),
    "HIGH": {
        "performanceThresholds": {
            "accuracy": 0.90,
            "precision": 0.85,
            "recall": 0.85,
            "f1Score": 0.85,
            "rocAuc": 0.85,
        },
        "biasThresholds": {
            "demographicParity": 0.05,
            "equalizedOdds": 0.05,
            "disparateImpact": 0.9,
        },
        # adversarialAccuracy as MEDIUM's (the guide's 0.70): it is a worst-case black-box
        # attack within 0.1 standard deviation of every feature at once (docs/catalogue.md),
        # which well-fitted models on a nearly separable population pass at 0.72-0.77; HIGH is
        # stricter on noiseAccuracy and drift.
        "robustnessThresholds": {"adversarialAccuracy": 0.70, "driftDetection": 0.10},
        "smokeThresholds": dict(SMOKE_THRESHOLDS),
    },
}


for _index, _tier in enumerate(CATALOGUE_TIERS):
    for _section, _metrics in CATALOGUE_THRESHOLDS.items():
        TIER_THRESHOLDS[_tier].setdefault(_section, {}).update(
            {metric: float(values[_index]) for metric, values in _metrics.items()}
        )


class ThresholdsError(ValueError):
    """A user-supplied thresholds document is invalid; the message names the key."""


def thresholds_for_tier(tier: str) -> dict[str, dict[str, float]]:
    """A fresh copy of the default thresholds of a risk tier (``LOW``, ``MEDIUM``, ``HIGH``)."""
    key = str(tier).upper()
    if key not in TIER_THRESHOLDS:
        raise ThresholdsError(
            f"unknown risk tier {tier!r} (expected one of: {', '.join(TIER_THRESHOLDS)})"
        )
    return copy.deepcopy(TIER_THRESHOLDS[key])


def validate_thresholds(document: Any) -> dict[str, dict[str, float]]:
    """Validate a thresholds document and return a normalised copy (values as floats).

    Sections and metrics may be omitted (only those present are checked and evaluated).
    Raises :class:`ThresholdsError` naming the unknown section or metric, or the key whose
    value is not a number or lies outside [0, 1] (below 0 or infinite for ``latencyP95Ms``).
    """
    if not isinstance(document, Mapping):
        raise ThresholdsError(
            f"the thresholds document must be an object, got {type(document).__name__}"
        )
    result: dict[str, dict[str, float]] = {}
    for section, entries in document.items():
        if section not in SECTIONS:
            raise ThresholdsError(
                f"unknown thresholds section {section!r} (expected one of: {', '.join(SECTIONS)})"
            )
        if not isinstance(entries, Mapping):
            raise ThresholdsError(
                f"{section!r} must be an object of metric: number, got {type(entries).__name__}"
            )
        result[section] = {}
        for metric, value in entries.items():
            key = f"{section}.{metric}"
            if metric not in SECTIONS[section]:
                raise ThresholdsError(
                    f"unknown metric {metric!r} in {section!r} "
                    f"(expected one of: {', '.join(SECTIONS[section])})"
                )
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ThresholdsError(
                    f"{key} must be a number, got {type(value).__name__} {value!r}"
                )
            number = float(value)
            if metric in UNBOUNDED:
                if not math.isfinite(number) or number < 0.0:
                    raise ThresholdsError(
                        f"{key} must be a finite number of 0 or more, got {value!r}"
                    )
            elif not math.isfinite(number) or not 0.0 <= number <= 1.0:
                raise ThresholdsError(f"{key} must be between 0 and 1, got {value!r}")
            result[section][metric] = number
    return result


def describe_direction(direction: str) -> str:
    """How a threshold of `direction` is met, in words."""
    return {"min": "at or above", "max": "at or below"}.get(
        direction, "a significance level: no p-value below it"
    )


def is_looser(direction: str, value: float, default: float) -> bool:
    """Whether the threshold `value` demands less than `default` (see the module's docstring)."""
    if direction == "min":
        return value < default - TOLERANCE
    if direction == "max":
        return value > default + TOLERANCE
    return value < default  # significance: a lower level flags drift on stronger evidence only


def looser_than(
    section: Mapping[str, float], defaults: Mapping[str, float], tier: str
) -> list[tuple[str, str]]:
    """`(metric, message)` for each threshold of `section` looser than the tier's `defaults`,
    e.g. ``accuracy: 0.1 is looser than the MEDIUM default 0.8 (at or above)``."""
    found = []
    for metric, default in defaults.items():
        if metric not in section:
            continue
        value = section[metric]
        direction = DIRECTIONS[metric]
        if is_looser(direction, float(value), float(default)):
            found.append(
                (
                    metric,
                    f"{metric}: {value:g} is looser than the {tier} default {default:g} "
                    f"({describe_direction(direction)})",
                )
            )
    return found


def _passes(direction: str, value: float, threshold: float) -> bool:
    if direction == "min":
        return value >= threshold - TOLERANCE
    if direction == "max":
        return value <= threshold + TOLERANCE
    return value >= threshold  # significance: passes when no p-value is below the level


def evaluate_thresholds(
    metrics: Mapping[str, Any],
    section: Mapping[str, float],
    unavailable: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """One result per threshold in ``section``, in the section's order.

    ``{"metric", "value", "threshold", "direction", "passed"}`` (a boolean metric's value
    is 1.0 or 0.0); when the metric value is ``None`` (not computable) ``passed`` is
    ``None`` and ``note`` gives the reason.
    """
    unavailable = unavailable or {}
    results = []
    for metric, threshold in section.items():
        direction = DIRECTIONS[metric]
        value = metrics.get(metric)
        if isinstance(value, bool):
            # A check (the smoke suite's): true counts as 1, and the result's value is a
            # number like every other threshold result's.
            value = float(value)
        entry: dict[str, Any] = {
            "metric": metric,
            "value": value,
            "threshold": threshold,
            "direction": direction,
        }
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            entry["value"] = None
            entry["passed"] = None
            reason = unavailable.get(metric, "the metric could not be computed from the data")
            entry["note"] = (
                f"not evaluated: {reason}. A threshold that could not be judged makes the run "
                "INCOMPLETE, which is never a pass"
            )
        else:
            entry["passed"] = _passes(direction, float(value), float(threshold))
        results.append(entry)
    return results


def overall_passed(results: list[Mapping[str, Any]]) -> bool:
    """True when every threshold result whose ``passed`` is not ``None`` is ``True``."""
    return all(r["passed"] for r in results if r["passed"] is not None)
