"""Checking an evaluation request before it is queued: the files parse, the columns the suite
needs are there with usable values, the named columns exist, the thresholds are valid.

Every problem is collected under the name of the input it concerns (the API's camelCase field
names) and raised together as one django ValidationError, which the API answers with 400
`{"<field>": ["message", ...]}` and the page shows next to the form field.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from django.core.exceptions import ValidationError

from core.text import clean_text
from evaluations import conf
from evaluations.choices import (
    REFERENCE_SUITES,
    TRAINING_SUITES,
    DatasetFormat,
    PredictionsSource,
    Suite,
    ThresholdsSource,
)
from evaluations.metrics import (
    SUITES,
    DatasetError,
    ThresholdsError,
    load_dataset,
    read_bytes,
    sha256_digest,
    thresholds_for_tier,
    validate_dataset,
    validate_segment_columns,
    validate_sensitive_features,
    validate_thresholds,
)
from evaluations.metrics.thresholds import SUITE_SECTIONS, looser_than
from registry.execution import ExecutionError, input_plan, select_outputs

PARQUET_MAGIC = b"PAR1"
PARQUET_EXTENSIONS = (".parquet", ".pq")
MAX_NAMED_COLUMNS = 50
# A single tensor input's columns, in order (wide models have many features).
MAX_FEATURES = 2000
MAX_THRESHOLDS_TEXT = 20_000

# Field names, as the API calls them.
SUITE = "suite"
DATASET = "dataset"
REFERENCE = "referenceDataset"
SENSITIVE = "sensitiveFeatures"
SEGMENTS = "segmentColumns"
THRESHOLDS = "thresholds"
ARTIFACT = "artifact"
FEATURES = "features"
TRAINING = "trainingDataset"
EPSILON = "epsilon"
SEED = "seed"

# The robustness suite's perturbation bound, as a fraction of each feature's standard
# deviation (the contract's default), and the range a request may ask for.
DEFAULT_EPSILON = 0.1
MAX_EPSILON = 5.0
DEFAULT_SEED = 0
# The suites that sample, attack or resample: the ones a seed changes.
SEEDED_SUITES = (Suite.BIAS, Suite.ROBUSTNESS, Suite.SECURITY, Suite.EXPLAINABILITY)
MAX_SEED = 2**32 - 1

MODEL_ARTIFACT_TYPE = "model"
PREDICTION_COLUMNS = ("y_pred", "y_score")
RELAX_RULE = "only MRC may relax a threshold"


@dataclass
class PreparedDataset:
    name: str
    format: str
    content: bytes
    sha256: str
    rows: int
    columns: list[str]

    @property
    def size(self) -> int:
        return len(self.content)


@dataclass
class PreparedRun:
    suite: str
    dataset: PreparedDataset
    reference: PreparedDataset | None
    sensitive_features: list[str]
    segment_columns: list[str]
    thresholds: dict[str, dict[str, float]]
    thresholds_source: str
    thresholds_note: str
    predictions_source: str = PredictionsSource.SUBMITTED
    predictions_note: str = ""
    artifact: Any = None  # the registry.Artifact to run, for REGISTRY predictions
    features: list[str] = field(default_factory=list)
    training: PreparedDataset | None = None
    parameters: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Problems:
    errors: dict[str, list[str]] = field(default_factory=dict)

    def add(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(clean_text(message, 1000))

    def raise_if_any(self) -> None:
        if self.errors:
            raise ValidationError(self.errors)


def detect_format(name: str, head: bytes) -> str:
    """Parquet by its magic bytes or extension; everything else is read as CSV."""
    if head.startswith(PARQUET_MAGIC) or name.lower().endswith(PARQUET_EXTENSIONS):
        return DatasetFormat.PARQUET
    return DatasetFormat.CSV


def _upload_name(upload: Any, default: str) -> str:
    name = os.path.basename(str(getattr(upload, "name", "") or "")) or default
    return clean_text(name, 255)


def _read_upload(upload: Any, what: str, problems: _Problems, key: str) -> bytes | None:
    limit = conf.max_upload_bytes()
    size = getattr(upload, "size", None)
    try:
        if size is not None and size > limit:
            raise DatasetError(f"file too big: {size} bytes, over the limit of {limit} bytes")
        if hasattr(upload, "seek"):
            upload.seek(0)
        return read_bytes(upload, max_bytes=limit)
    except DatasetError as exc:
        problems.add(key, f"{what}{exc.message}")
        return None


def _parse(
    content: bytes, name: str, what: str, problems: _Problems, key: str
) -> tuple[pd.DataFrame | None, str]:
    fmt = detect_format(name, content[:4])
    try:
        frame = load_dataset(
            content,
            fmt=fmt,
            max_bytes=conf.max_upload_bytes(),
            max_rows=conf.max_rows(),
            validate=False,
        )
    except DatasetError as exc:
        problems.add(key, f"{what}{exc.message}")
        return None, fmt
    return frame, fmt


def _prepared(name: str, fmt: str, content: bytes, frame: pd.DataFrame) -> PreparedDataset:
    return PreparedDataset(
        name=name,
        format=fmt,
        content=content,
        sha256=sha256_digest(content),
        rows=len(frame),
        columns=[clean_text(c, 300) for c in frame.columns],
    )


def parse_names(values: Any) -> list[str]:
    """Column names from repeated form fields; surrounding spaces and empty entries dropped."""
    if values is None:
        return []
    if isinstance(values, str):
        values = [values]
    return [str(v).strip() for v in values if str(v).strip()]


def parse_thresholds(text: Any, risk_tier: str, problems: _Problems) -> dict:
    """The thresholds document: the risk tier's defaults, with the values given as JSON text
    (or a dict) in their place. A section or metric left out keeps the tier's value, so a run
    is never judged by fewer thresholds than its tier's by accident."""
    defaults = thresholds_for_tier(risk_tier)
    if text is None or (isinstance(text, str) and not text.strip()):
        return defaults
    if isinstance(text, dict):
        document: Any = text
    else:
        if len(str(text)) > MAX_THRESHOLDS_TEXT:
            problems.add(THRESHOLDS, f"longer than {MAX_THRESHOLDS_TEXT} characters")
            return {}
        try:
            document = json.loads(str(text), parse_constant=_refuse_constant)
        except (ValueError, RecursionError) as exc:
            problems.add(THRESHOLDS, f"not valid JSON: {exc}")
            return {}
    try:
        given = validate_thresholds(document)
    except ThresholdsError as exc:
        problems.add(THRESHOLDS, str(exc))
        return {}
    return {
        section: {**defaults.get(section, {}), **given.get(section, {})}
        for section in dict.fromkeys([*defaults, *given])
    }


def thresholds_source(
    document: dict, suite: str, risk_tier: str, *, may_relax: bool, problems: _Problems
) -> tuple[str, str]:
    """(TIER | STRICTER | MRC, the same in words) for the section of `document` that judges
    `suite`; a looser threshold is a problem naming its metric unless `may_relax` (MRC)."""
    section = SUITE_SECTIONS[suite]
    given = document.get(section, {})
    defaults = thresholds_for_tier(risk_tier).get(section, {})
    looser = looser_than(given, defaults, risk_tier)
    if looser and not may_relax:
        for _metric, message in looser:
            problems.add(THRESHOLDS, f"{message}; {RELAX_RULE}")
        return "", ""
    changed = [
        f"{metric} {value:g}" for metric, value in given.items() if defaults.get(metric) != value
    ]
    if looser:
        relaxed = ", ".join(message for _metric, message in looser)
        return ThresholdsSource.MRC, f"{risk_tier} defaults relaxed by MRC: {relaxed}"
    if changed:
        return ThresholdsSource.STRICTER, f"{risk_tier} defaults, stricter: {', '.join(changed)}"
    return ThresholdsSource.TIER, f"{risk_tier} defaults"


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows")


def _check_names(frame, names: list[str], key: str, problems: _Problems, check) -> list[str]:
    if len(names) > MAX_NAMED_COLUMNS:
        problems.add(key, f"at most {MAX_NAMED_COLUMNS} columns")
        return []
    if frame is None:
        return names
    try:
        return check(frame, names)
    except DatasetError as exc:
        problems.add(key, exc.message)
        return []


def _artifact_label(artifact) -> str:
    return f"artifact {artifact.pk} ({artifact.name})"


def _choose_artifact(artifacts: list, given: Any, problems: _Problems):
    """The artifact the request names (it must be one of this version's that the registry can
    run), or None when it names none or a wrong one (a problem then says why)."""
    if given in (None, ""):
        return None
    try:
        wanted = int(given)
    except (TypeError, ValueError):
        problems.add(ARTIFACT, f"{given!r} is not an artifact id")
        return None
    chosen = next((a for a in artifacts if a.pk == wanted), None)
    if chosen is None:
        problems.add(ARTIFACT, f"artifact {wanted} is not an artifact of this version")
    elif not chosen.executable:
        problems.add(
            ARTIFACT,
            f"{_artifact_label(chosen)} is not a model the registry can run: it must be held by "
            "the registry (uploaded as a file), in ONNX format, with a signature it could read",
        )
        return None
    return chosen


def default_model(artifacts: list):
    """The version's first executable artifact of type `model`, by creation, or None."""
    return next((a for a in artifacts if a.type == MODEL_ARTIFACT_TYPE and a.executable), None)


@dataclass
class _PredictionPlan:
    source: str = PredictionsSource.SUBMITTED
    note: str = ""
    artifact: Any = None


def _plan_predictions(
    frame: pd.DataFrame | None,
    *,
    suite: str,
    artifacts: list,
    given: Any,
    features: list[str],
    sensitive: list[str],
    problems: _Problems,
) -> _PredictionPlan:
    """Whether the registry computes the predictions (the dataset has no y_pred) and with
    which artifact, checking at once that the dataset's columns fit the model's inputs."""
    chosen = _choose_artifact(artifacts, given, problems)
    if frame is None:
        return _PredictionPlan()
    if suite == Suite.SMOKE:
        # The smoke suite measures the model itself: it always runs, whatever the dataset
        # carries, and a version without a model to run cannot be smoke-tested.
        model = chosen or (default_model(artifacts) if given in (None, "") else None)
        if model is None:
            if given in (None, ""):
                problems.add(
                    ARTIFACT,
                    "the smoke suite runs the model and this version has no model the "
                    "registry can run: upload the model as an ONNX file (artifact type 'model')",
                )
            return _PredictionPlan()
        return _registry_plan(model, frame, features, sensitive, problems)
    if "y_pred" in frame.columns:
        if features:
            problems.add(
                FEATURES,
                "features are fed to the model only when the registry computes the "
                "predictions, and this dataset carries y_pred",
            )
        model = chosen or default_model(artifacts)
        note = "the dataset carries y_pred, so its predictions were used as submitted"
        if model is not None:
            note += f"; {_artifact_label(model)} was not run"
        return _PredictionPlan(note=note)
    if "y_score" in frame.columns:
        problems.add(
            DATASET,
            "the dataset has y_score but no y_pred: include both, or neither to have the "
            "registry compute them by running the model",
        )
        return _PredictionPlan()
    model = chosen or (default_model(artifacts) if given in (None, "") else None)
    if model is None:
        if given not in (None, ""):
            return _PredictionPlan()  # the artifact problem is already said
        if suite == Suite.SECURITY:
            if features:
                problems.add(FEATURES, "there is no model to feed: the version has none to run")
            return _PredictionPlan(
                note="the dataset carries no predictions and the version has no model the "
                "registry can run: only the data was checked"
            )
        problems.add(
            DATASET,
            "the dataset has no y_pred column and this version has no model the registry can "
            "run: upload the model as an ONNX file (artifact type 'model'), or include y_pred "
            "(and y_score) in the dataset",
        )
        return _PredictionPlan()
    return _registry_plan(model, frame, features, sensitive, problems)


def _registry_plan(
    model, frame: pd.DataFrame, features: list[str], sensitive: list[str], problems: _Problems
) -> _PredictionPlan:
    """The registry runs `model`: the dataset's columns must fit its inputs now."""
    try:
        input_plan(
            model.signature,
            [str(c) for c in frame.columns],
            features=features or None,
            exclude=sensitive,
            dtypes=frame.dtypes,
        )
    except ExecutionError as exc:
        problems.add(
            FEATURES if features else DATASET,
            f"the dataset does not fit the inputs of {_artifact_label(model)}: {exc}",
        )
    try:
        select_outputs(model.signature)
    except ExecutionError as exc:
        problems.add(ARTIFACT, f"{_artifact_label(model)} cannot be evaluated: {exc}")
    return _PredictionPlan(
        source=PredictionsSource.REGISTRY,
        note=f"predictions computed by the registry from {_artifact_label(model)}",
        artifact=model,
    )


def _check_labels(frame: pd.DataFrame, has_predictions: bool, problems: _Problems) -> None:
    """The labels and scores of a dataset for a suite that judges predictions; without y_pred
    (the registry computes it) y_true is still required."""
    try:
        validate_dataset(frame, require_labels=has_predictions)
    except DatasetError as exc:
        problems.add(DATASET, exc.message)
        return
    if not has_predictions and "y_true" not in frame.columns:
        columns = ", ".join(str(c) for c in list(frame.columns)[:20])
        problems.add(DATASET, f"missing required column 'y_true' (columns found: {columns})")


def prepare_run(
    *,
    suite: Any,
    dataset: Any,
    risk_tier: str,
    reference_dataset: Any = None,
    sensitive_features: Any = (),
    segment_columns: Any = (),
    thresholds: Any = None,
    artifacts: list | tuple = (),
    artifact: Any = None,
    features: Any = (),
    may_relax_thresholds: bool = False,
    training_dataset: Any = None,
    epsilon: Any = None,
    seed: Any = None,
) -> PreparedRun:
    """Read and check everything a run needs; raise ValidationError naming each problem.

    `artifacts` are the version's (in creation order), of which `artifact` (an id) or the
    first executable `model` one is run when the dataset carries no predictions; `features`
    orders a single-tensor input's columns; `may_relax_thresholds` (MRC) allows thresholds
    looser than the tier's."""
    problems = _Problems()
    if suite not in SUITES:
        problems.add(SUITE, f"unknown suite {suite!r}; suites are {', '.join(SUITES)}")
    document = parse_thresholds(thresholds, risk_tier, problems)
    source, source_note = "", ""
    if suite in SUITES and document:
        source, source_note = thresholds_source(
            document, suite, risk_tier, may_relax=may_relax_thresholds, problems=problems
        )
    sensitive = parse_names(sensitive_features)
    segments = parse_names(segment_columns)
    feature_names = parse_names(features)
    if len(feature_names) > MAX_FEATURES:
        problems.add(FEATURES, f"at most {MAX_FEATURES} columns")
        feature_names = []
    if suite == Suite.BIAS and not sensitive:
        problems.add(
            SENSITIVE,
            "the bias suite needs at least one sensitive feature column (e.g. gender)",
        )

    frame = prepared = None
    if dataset is None:
        problems.add(DATASET, "no file was submitted")
    else:
        name = _upload_name(dataset, "dataset")
        content = _read_upload(dataset, "", problems, DATASET)
        if content is not None:
            frame, fmt = _parse(content, name, "", problems, DATASET)
            if frame is not None:
                if suite not in (Suite.SECURITY, Suite.SMOKE):
                    # The security suite reports unusable labels as findings instead; the
                    # smoke suite does not read labels.
                    _check_labels(frame, "y_pred" in frame.columns, problems)
                prepared = _prepared(name, fmt, content, frame)
    if (
        suite == Suite.VALIDATION
        and frame is not None
        and "y_pred" in frame.columns
        and "y_score" not in frame.columns
    ):
        problems.add(
            DATASET,
            "the validation suite judges scores: include y_score with y_pred, or neither to "
            "have the registry compute them by running the model",
        )
    sensitive = _check_names(frame, sensitive, SENSITIVE, problems, validate_sensitive_features)
    segments = _check_names(frame, segments, SEGMENTS, problems, validate_segment_columns)
    plan = _plan_predictions(
        frame,
        suite=suite,
        artifacts=list(artifacts),
        given=artifact,
        features=feature_names,
        sensitive=sensitive,
        problems=problems,
    )

    reference = None
    if reference_dataset is not None:
        if suite in SUITES and suite not in REFERENCE_SUITES:
            problems.add(
                REFERENCE,
                f"a reference dataset is used only by the {_suite_names(REFERENCE_SUITES)} suites",
            )
        else:
            what = "reference dataset: "
            name = _upload_name(reference_dataset, "reference")
            content = _read_upload(reference_dataset, what, problems, REFERENCE)
            if content is not None:
                ref_frame, fmt = _parse(content, name, what, problems, REFERENCE)
                if ref_frame is not None:
                    try:
                        validate_dataset(ref_frame, name="reference dataset", require_labels=False)
                    except DatasetError as exc:
                        problems.add(REFERENCE, exc.message)
                    reference = _prepared(name, fmt, content, ref_frame)
    training = _training_sample(training_dataset, suite, plan, sensitive, feature_names, problems)
    parameters = _parameters(suite, epsilon, seed, problems)
    if parameters.get("epsilon", DEFAULT_EPSILON) < DEFAULT_EPSILON:
        # A smaller bound is a weaker attack: a relaxation, like a looser threshold.
        weaker = (
            f"epsilon {parameters['epsilon']:g} is a weaker attack than the default "
            f"{DEFAULT_EPSILON:g}"
        )
        if not may_relax_thresholds:
            problems.add(EPSILON, f"{weaker}; {RELAX_RULE} or the attack")
        elif source:
            source = ThresholdsSource.MRC
            source_note = f"{source_note}; {weaker}, relaxed by MRC"
    problems.raise_if_any()
    return PreparedRun(
        suite=suite,
        dataset=prepared,
        reference=reference,
        sensitive_features=sensitive,
        segment_columns=segments,
        thresholds=document,
        thresholds_source=source,
        thresholds_note=source_note,
        predictions_source=plan.source,
        predictions_note=plan.note,
        artifact=plan.artifact,
        features=feature_names,
        training=training,
        parameters=parameters,
    )


def _suite_names(suites) -> str:
    names = [str(s) for s in suites]
    return ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else names[0]


def _training_sample(
    upload: Any,
    suite: Any,
    plan: _PredictionPlan,
    sensitive: list[str],
    features: list[str],
    problems: _Problems,
) -> PreparedDataset | None:
    """The security suite's sample of the training data (the members a membership attack
    tries to tell apart): the model's feature columns and y_true, checked against the model."""
    if upload is None:
        return None
    if suite in SUITES and suite not in TRAINING_SUITES:
        problems.add(TRAINING, "a training sample is used only by the security suite")
        return None
    what = "training sample: "
    name = _upload_name(upload, "training")
    content = _read_upload(upload, what, problems, TRAINING)
    if content is None:
        return None
    frame, fmt = _parse(content, name, what, problems, TRAINING)
    if frame is None:
        return None
    if "y_true" not in frame.columns:
        problems.add(TRAINING, f"{what}missing required column 'y_true'")
    else:
        try:
            validate_dataset(frame, name="training sample", require_labels=False)
        except DatasetError as exc:
            problems.add(TRAINING, exc.message)
    if plan.artifact is None:
        problems.add(
            TRAINING,
            "a training sample is used to attack the model the registry runs; this run has "
            "no such model (the dataset carries y_pred, or the version has no ONNX model)",
        )
    else:
        try:
            input_plan(
                plan.artifact.signature,
                [str(c) for c in frame.columns],
                features=features or None,
                exclude=sensitive,
                dtypes=frame.dtypes,
            )
        except ExecutionError as exc:
            problems.add(
                TRAINING,
                f"{what}it does not fit the inputs of {_artifact_label(plan.artifact)}: {exc}",
            )
    return _prepared(name, fmt, content, frame)


def _parameters(suite: Any, epsilon: Any, seed: Any, problems: _Problems) -> dict[str, Any]:
    """`seed` (every suite that samples: the same seed gives the same result) and, for the
    robustness suite, `epsilon` (the perturbation bound, a fraction of each feature's
    standard deviation)."""
    parameters: dict[str, Any] = {"seed": DEFAULT_SEED} if suite in SEEDED_SUITES else {}
    if seed not in (None, "") and suite in SUITES and suite not in SEEDED_SUITES:
        problems.add(SEED, f"a seed is used only by the {_suite_names(SEEDED_SUITES)} suites")
    elif seed not in (None, ""):
        try:
            value = int(str(seed).strip())
        except (TypeError, ValueError):
            problems.add(SEED, f"{seed!r} is not a whole number")
        else:
            if not 0 <= value <= MAX_SEED:
                problems.add(SEED, f"must be between 0 and {MAX_SEED}, got {value}")
            else:
                parameters["seed"] = value
    if suite == Suite.ROBUSTNESS:
        parameters["epsilon"] = DEFAULT_EPSILON
    if epsilon in (None, ""):
        return parameters
    if suite in SUITES and suite != Suite.ROBUSTNESS:
        problems.add(EPSILON, "epsilon is used only by the robustness suite")
        return parameters
    try:
        value = float(str(epsilon).strip())
    except (TypeError, ValueError):
        problems.add(EPSILON, f"{epsilon!r} is not a number")
        return parameters
    if not (math.isfinite(value) and 0 < value <= MAX_EPSILON):
        problems.add(
            EPSILON,
            f"must be above 0 and at most {MAX_EPSILON:g} (a fraction of each feature's "
            f"standard deviation), got {epsilon}",
        )
        return parameters
    parameters["epsilon"] = value
    return parameters
