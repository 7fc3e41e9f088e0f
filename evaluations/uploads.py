"""Checking an evaluation request before it is queued: the files parse, the columns the suite
needs are there with usable values, the named columns exist, the thresholds are valid.

Every problem is collected under the name of the input it concerns (the API's camelCase field
names) and raised together as one django ValidationError, which the API answers with 400
`{"<field>": ["message", ...]}` and the page shows next to the form field.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from django.core.exceptions import ValidationError

from core.text import clean_text
from evaluations import conf
from evaluations.choices import DatasetFormat, Suite
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

PARQUET_MAGIC = b"PAR1"
PARQUET_EXTENSIONS = (".parquet", ".pq")
MAX_NAMED_COLUMNS = 50
MAX_THRESHOLDS_TEXT = 20_000

# Field names, as the API calls them.
SUITE = "suite"
DATASET = "dataset"
REFERENCE = "referenceDataset"
SENSITIVE = "sensitiveFeatures"
SEGMENTS = "segmentColumns"
THRESHOLDS = "thresholds"


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


def parse_thresholds(text: Any, risk_tier: str, problems: _Problems) -> tuple[dict, str]:
    """The thresholds document given as JSON text, or the risk tier's defaults."""
    if text is None or (isinstance(text, str) and not text.strip()):
        return thresholds_for_tier(risk_tier), f"risk tier default ({risk_tier})"
    if isinstance(text, dict):
        document: Any = text
    else:
        if len(str(text)) > MAX_THRESHOLDS_TEXT:
            problems.add(THRESHOLDS, f"longer than {MAX_THRESHOLDS_TEXT} characters")
            return {}, ""
        try:
            document = json.loads(str(text), parse_constant=_refuse_constant)
        except (ValueError, RecursionError) as exc:
            problems.add(THRESHOLDS, f"not valid JSON: {exc}")
            return {}, ""
    try:
        given = validate_thresholds(document)
    except ThresholdsError as exc:
        problems.add(THRESHOLDS, str(exc))
        return {}, ""
    # A section left out is taken from the tier, so that a run is never judged by no threshold
    # by accident; an explicitly empty section still means "judge nothing" for that suite.
    defaults = thresholds_for_tier(risk_tier)
    missing = [section for section in defaults if section not in given]
    source = "supplied with the request"
    if missing:
        source += f" ({risk_tier} defaults for {', '.join(missing)})"
        given = {**given, **{section: defaults[section] for section in missing}}
    return given, source


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


def prepare_run(
    *,
    suite: Any,
    dataset: Any,
    risk_tier: str,
    reference_dataset: Any = None,
    sensitive_features: Any = (),
    segment_columns: Any = (),
    thresholds: Any = None,
) -> PreparedRun:
    """Read and check everything a run needs; raise ValidationError naming each problem."""
    problems = _Problems()
    if suite not in SUITES:
        problems.add(SUITE, f"unknown suite {suite!r}; suites are {', '.join(SUITES)}")
    document, source = parse_thresholds(thresholds, risk_tier, problems)
    sensitive = parse_names(sensitive_features)
    segments = parse_names(segment_columns)
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
                if suite != Suite.SECURITY:
                    # The security suite reports unusable labels as findings instead.
                    try:
                        validate_dataset(frame)
                    except DatasetError as exc:
                        problems.add(DATASET, exc.message)
                prepared = _prepared(name, fmt, content, frame)
    sensitive = _check_names(frame, sensitive, SENSITIVE, problems, validate_sensitive_features)
    segments = _check_names(frame, segments, SEGMENTS, problems, validate_segment_columns)

    reference = None
    if reference_dataset is not None:
        if suite in SUITES and suite != Suite.ROBUSTNESS:
            problems.add(REFERENCE, "a reference dataset is used only by the robustness suite")
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
    problems.raise_if_any()
    return PreparedRun(
        suite=suite,
        dataset=prepared,
        reference=reference,
        sensitive_features=sensitive,
        segment_columns=segments,
        thresholds=document,
        thresholds_source=source,
    )
