"""Top-level entry point: run one evaluation suite and evaluate its thresholds."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from registry.execution import ExecutionError

from ._common import RESERVED_COLUMNS, Y_PRED, Y_PRED_ADV, Y_TRUE, to_jsonable
from .adversarial import compute_model_robustness
from .bias import compute_bias
from .consistency import compute_consistency
from .datasets import validate_dataset, validate_segment_columns, validate_sensitive_features
from .explainability import compute_explainability
from .model_security import compute_model_security
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
from .validation_suite import compute_validation

__all__ = ["DEFAULT_TIER", "SUITES", "ModelInputs", "run_suite"]

SUITES = (
    "performance",
    "bias",
    "robustness",
    "security",
    "smoke",
    "explainability",
    "validation",
)
#: Thresholds used when ``run_suite`` gets ``thresholds=None`` (the guide's document).
DEFAULT_TIER = "MEDIUM"
DEFAULT_EPSILON = 0.1
LEGACY_SECURITY_SECTION = {"highSeverityFindings": 0}
NO_MODEL = (
    "the registry did not run a model: metrics that query the model exist only on runs whose "
    "predictions the registry computes from the version's executable (ONNX) model"
)


@dataclass
class ModelInputs:
    """What the suites that query the model get besides the dataset.

    ``scorer`` is the registry-run model (None on a run with submitted predictions, and then
    ``unavailable`` says why); ``training`` the training sample (security's members);
    ``champion`` the PRODUCTION version's scores on the same rows, or ``{"missing": reason}``
    (validation); ``epsilon`` and ``seed`` the run's parameters."""

    scorer: Any = None
    unavailable: str = ""
    training: pd.DataFrame | None = None
    champion: dict[str, Any] | None = None
    reference_note: str = ""
    epsilon: float | None = None
    seed: int = 0
    # True when the registry ran the model over the dataset (a REGISTRY run); the columns it
    # fed, in order.
    registry: bool = False
    model_features: tuple[str, ...] = ()

    @property
    def reason(self) -> str:
        return self.unavailable or NO_MODEL


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
    inputs: ModelInputs | None = None,
) -> dict[str, Any]:
    """Run ``suite`` on ``data`` and return a JSON-serialisable result.

    ``{"metrics": {...}, "thresholdResults": [...], "passed": bool, "notes": [...]}``.
    ``thresholds`` is a thresholds document (validated here); ``None`` uses the MEDIUM
    tier, which is the guide's document plus the catalogue's. Only the suite's own section is
    evaluated. ``passed`` is True when every threshold result whose ``passed`` is not None is
    True. ``model`` (the ONNX bytes the registry runs, fed ``features`` in order) is used only
    by the smoke suite, which needs no labels; ``inputs`` carries the registry-run model as a
    Scorer and what the model-level metrics read (see ModelInputs).
    Raises ``DatasetError`` for unusable data and ``ThresholdsError`` for a bad document.
    """
    if suite not in SUITES:
        raise ValueError(f"unknown suite {suite!r} (expected one of: {', '.join(SUITES)})")
    for label, frame in (("data", data), ("reference", reference)):
        if frame is not None and not isinstance(frame, pd.DataFrame):
            raise TypeError(f"{label} must be a pandas DataFrame, got {type(frame).__name__}")
    inputs = inputs or ModelInputs()
    report = _Progress(progress)
    report(0, f"starting the {suite} suite")
    document = (
        validate_thresholds(thresholds)
        if thresholds is not None
        else thresholds_for_tier(DEFAULT_TIER)
    )
    sensitive = validate_sensitive_features(data, sensitive_features)
    segments = validate_segment_columns(data, segment_columns)
    section = document.get(SUITE_SECTIONS[suite], {})
    if suite == "security" and not section:
        # A document from before the security suite had a section still judges what it
        # always did: no high-severity data finding.
        section = dict(LEGACY_SECURITY_SECTION)

    if suite == "security":
        metrics, notes = compute_security(data, progress=report.scaled(5, 20))
        _security_attacks(metrics, notes, data, reference, sensitive, inputs, report)
    elif suite == "smoke":
        metrics, notes = compute_smoke(
            data,
            model,
            features=features,
            exclude=sensitive,
            progress=report.scaled(5, 95),
        )
    else:
        df = validate_dataset(data, sensitive_features=sensitive, segment_columns=segments)
        report(10, "dataset validated")
        if suite == "performance":
            metrics, notes = compute_performance(
                df, segment_columns=segments, progress=report.scaled(10, 95), validated=True
            )
        elif suite == "bias":
            metrics, notes = compute_bias(
                df, sensitive, progress=report.scaled(10, 70), validated=True
            )
            _consistency(metrics, notes, df, sensitive, inputs, report)
        elif suite == "robustness":
            alpha = section.get("driftDetection", DEFAULT_ALPHA)
            metrics, notes = compute_robustness(
                df, reference, alpha=alpha, progress=report.scaled(10, 40), validated=True
            )
            _attacks(metrics, notes, df, inputs, report)
        elif suite == "explainability":
            metrics, notes = _explainability(df, inputs, report)
        else:
            metrics, notes = compute_validation(
                df,
                reference,
                champion=inputs.champion or {"missing": inputs.reason},
                progress=report.scaled(10, 95),
            )
    if inputs.reference_note and reference is not None:
        notes.append(inputs.reference_note)
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


def _merge(metrics: dict[str, Any], notes: list[str], extra: dict[str, Any], more: list[str]):
    """Add a model-level block's metrics to the suite's: its `unavailable` reasons and its
    `methods` join the suite's own."""
    extra = dict(extra)
    unavailable = metrics.setdefault("unavailable", {})
    unavailable.update(extra.pop("unavailable", None) or {})
    methods = metrics.setdefault("methods", {})
    methods.update(extra.pop("methods", None) or {})
    for name, value in extra.items():
        metrics[name] = value
        if value is not None:
            unavailable.pop(name, None)
    notes.extend(more)


def _not_measured(metrics: dict[str, Any], names: Iterable[str], reason: str) -> None:
    unavailable = metrics.setdefault("unavailable", {})
    for name in names:
        metrics[name] = None
        unavailable[name] = reason


def _labels(df: pd.DataFrame) -> np.ndarray:
    return df[Y_TRUE].to_numpy(dtype=np.int8)


def _consistency(metrics, notes, df, sensitive, inputs: ModelInputs, report) -> None:
    # Neighbours are sought over the columns the model reads (less the sensitive ones) when
    # the registry ran it, else over every feature column of the dataset.
    if inputs.model_features:
        columns = [c for c in inputs.model_features if c not in sensitive]
    else:
        columns = [c for c in df.columns if c not in RESERVED_COLUMNS and c not in sensitive]
    extra, more = compute_consistency(
        df, df[Y_PRED].to_numpy(dtype=np.int8), feature_columns=columns, seed=inputs.seed
    )
    _merge(metrics, notes, extra, more)
    report(95, "individual fairness (consistency) done")


def _attacks(metrics, notes, df, inputs: ModelInputs, report) -> None:
    names = ("adversarialAccuracy", "noiseAccuracy")
    if inputs.scorer is None:
        _not_measured(metrics, ("noiseAccuracy",), inputs.reason)
        if inputs.registry:
            # The registry ran the model but cannot attack it: owner-made adversarial
            # predictions are not evidence on a REGISTRY run.
            for name in ("adversarialAccuracyDrop", "adversarialFlipRate"):
                metrics[name] = None
            _not_measured(metrics, ("adversarialAccuracy",), inputs.reason)
        elif metrics.get("adversarialAccuracy") is None:
            _not_measured(
                metrics,
                ("adversarialAccuracy",),
                f"no {Y_PRED_ADV} column and {inputs.reason}",
            )
        return
    if Y_PRED_ADV in df.columns:
        notes.append(
            f"the dataset's {Y_PRED_ADV} column was not used: the registry attacked the model "
            "itself"
        )
        for name in ("adversarialFlipRate",):
            metrics.pop(name, None)
    # The data-only engine's note that adversarialAccuracy was not computed: it is now.
    notes[:] = [note for note in notes if not note.startswith("adversarialAccuracy not computed")]
    scorer = inputs.scorer
    extra, more = compute_model_robustness(
        scorer,
        scorer.matrix(df),
        _labels(df),
        epsilon=inputs.epsilon if inputs.epsilon is not None else DEFAULT_EPSILON,
        seed=inputs.seed,
        progress=report.scaled(40, 95),
    )
    for name in names:
        extra.setdefault(name, None)
    _merge(metrics, notes, extra, more)


def _security_attacks(metrics, notes, data, reference, sensitive, inputs, report) -> None:
    names = (
        "membershipInferenceAdvantage",
        "attributeInferenceAdvantage",
        "inputValidationFailures",
        "backdoorSuspicion",
    )
    if inputs.scorer is None:
        _not_measured(metrics, names, inputs.reason)
        return
    scorer = inputs.scorer
    # Labels that are not 0/1 are a data finding above; the attacks that need labels then
    # say they have none.
    labels = _binary_labels(data)
    training = None
    if inputs.training is not None:
        training_labels = _binary_labels(inputs.training)
        training = (
            (scorer.matrix(inputs.training), training_labels)
            if training_labels is not None
            else None
        )
        if training is None:
            notes.append("the training sample's y_true is not 0/1 on every row: not used")
    clean = None
    if reference is not None:
        try:
            clean = scorer.matrix(reference)
        except (KeyError, ExecutionError) as exc:
            notes.append(
                "the reference dataset cannot be fed to the model, so STRIP's clean reference "
                f"is a held-out half of the dataset instead ({exc})"
            )
    first = sensitive[0] if sensitive else None
    extra, more = compute_model_security(
        scorer,
        scorer.matrix(data),
        labels,
        training=training,
        sensitive=data[first].to_numpy() if first else None,
        sensitive_name=first,
        reference=clean,
        seed=inputs.seed,
        progress=report.scaled(20, 95),
    )
    for name in names:
        extra.setdefault(name, None)
    _merge(metrics, notes, extra, more)
    metrics["notPerformed"] = []
    # The data checks' own note says the model was not run: here it was.
    notes[:] = [note for note in notes if note != metrics.get("scope")]
    metrics["scope"] = (
        "Input validation of the uploaded dataset, and attacks on the model the registry "
        "ran: membership and attribute inference, hostile inputs, STRIP backdoor screening."
    )


def _binary_labels(frame: pd.DataFrame) -> np.ndarray | None:
    """y_true as int8 when every value is 0 or 1 (numbers or their text), else None."""
    if Y_TRUE not in frame.columns:
        return None
    values = pd.to_numeric(frame[Y_TRUE], errors="coerce").to_numpy(dtype=np.float64)
    if not np.all(np.isin(values, (0.0, 1.0))):
        return None
    return values.astype(np.int8)


def _explainability(df, inputs: ModelInputs, report) -> tuple[dict[str, Any], list[str]]:
    names = ("featureImportance", "explanationStability", "explanationFaithfulness")
    metrics: dict[str, Any] = {"rows": len(df)}
    notes: list[str] = []
    if inputs.scorer is None:
        _not_measured(metrics, names, inputs.reason)
        notes.append(inputs.reason)
        return metrics, notes
    scorer = inputs.scorer
    extra, more = compute_explainability(
        scorer, scorer.matrix(df), _labels(df), seed=inputs.seed, progress=report.scaled(10, 95)
    )
    for name in names:
        extra.setdefault(name, None)
    _merge(metrics, notes, extra, more)
    return metrics, notes
