"""The names a policy condition may use, their declared shapes, and typed samples of them.

This module is the single source of truth for what a condition can see. ``conditions``
uses it at save time (to refuse unknown fields and to build the sample a condition is
type-checked against) and at evaluation time (to say what was missing). The code that
builds the real evaluation context can check its output with :func:`context_problems`.

Shapes at evaluation time::

    model        {name: string, riskTier: "LOW"|"MEDIUM"|"HIGH", owner: string,
                  tags: map(string, string)}
    version      {version: string, state: string, tags: map(string, string),
                  documentation: string | map(string, string)}
    artifact     {name, type, uri, sha256: string, held: bool (the registry holds the
                  bytes), executable: bool (an ONNX model the registry can run),
                  securityScan: {status: "PASSED"|"FAILED"|"PENDING", scanner: string|null,
                                 findings: any JSON, scannedAt: string|null,
                                 source: "REGISTRY"|"SCANNER"|"SECURITY_ARCHITECT"|null}}
                 (the version's artifact of type "model", else its first;
                  absent when the version has no artifacts)
    artifacts    list(artifact)
    evaluations  map(suite, {status: string, metrics: map(string, number|null|map),
                             predictionsSource: "REGISTRY"|"SUBMITTED",
                             thresholdsSource: "TIER"|"STRICTER"|"MRC"|null,
                             artifactSha256: string|null, datasets: int,
                             passedDatasets: int})
                 suites: "performance", "bias", "robustness", "security", "smoke",
                 "explainability", "validation"; each the latest
                 finished run (status PASSED, FAILED or INCOMPLETE: only PASSED is a pass);
                 datasets: how many distinct dataset SHA-256 values that suite's finished
                 runs on the version used; passedDatasets: the same among its PASSED runs
                 on predictions the registry computed
    environment  "staging" | "production"
    monitoring   {metrics: map(string, number|null|map|list), rows: int,
                  daysSinceLastBatch: int}
                 the version's latest monitoring window (its metrics: scorePsi, featurePsi,
                 driftDetection, accuracy, rocAuc, ... see docs/monitoring.md; {} and 0 rows
                 until the first window is computed) and the whole days since its last
                 batch arrived; absent when the version has received no batch, so a rule
                 reading it fails ("the version has received no monitoring batch")
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from evaluations.choices import Suite

# ---------------------------------------------------------------------------
# Schema nodes
# ---------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Scalar:
    """A string, number or bool; ``choices`` is the closed set of values, if there is one."""

    cel_type: str
    sample: Any
    choices: tuple[str, ...] = ()
    nullable: bool = False

    def describe(self) -> str:
        """'a string', 'one of 'LOW', 'MEDIUM', 'HIGH'', 'a string or null'."""
        if self.choices:
            text = "one of " + ", ".join(repr(choice) for choice in self.choices)
        else:
            text = f"a {self.cel_type}"
        return f"{text} or null" if self.nullable else text


@dataclass(frozen=True, eq=False)
class Record:
    """A map whose keys are fixed: selecting any other key is refused at save."""

    fields: Mapping[str, Schema]

    def describe(self) -> str:
        return "an object with fields " + ", ".join(self.fields)


@dataclass(frozen=True, eq=False)
class MapOf:
    """A map from strings to ``value``; its keys are data (tags, metrics, suites)."""

    value: Schema
    sample_keys: tuple[str, ...] = ()

    def describe(self) -> str:
        return "a map"


@dataclass(frozen=True, eq=False)
class ListOf:
    element: Schema

    def describe(self) -> str:
        return "a list"


@dataclass(frozen=True, eq=False)
class OneOf:
    """One of several shapes (``version.documentation`` is a string or a map)."""

    options: tuple[Schema, ...]

    def describe(self) -> str:
        return " or ".join(option.describe() for option in self.options)


@dataclass(frozen=True, eq=False)
class Dynamic:
    """Data whose shape is not declared (findings, metric values): not checked at save.

    ``bare`` is its sample when the condition does not look inside it; ``leaves`` are the
    samples (one per sample variant) of values found under keys the condition selects.
    """

    bare: Any
    leaves: tuple[Any, ...]
    description: str = "any JSON value"

    def describe(self) -> str:
        return self.description


Schema = Scalar | Record | MapOf | ListOf | OneOf | Dynamic


# ---------------------------------------------------------------------------
# The declared context
# ---------------------------------------------------------------------------

RISK_TIERS = ("LOW", "MEDIUM", "HIGH")
SCAN_STATUSES = ("PASSED", "FAILED", "PENDING")
SCAN_SOURCES = ("REGISTRY", "SCANNER", "SECURITY_ARCHITECT")
ENVIRONMENTS = ("staging", "production")
EVALUATION_SUITES = tuple(Suite.values)
PREDICTIONS_SOURCES = ("REGISTRY", "SUBMITTED")
THRESHOLDS_SOURCES = ("TIER", "STRICTER", "MRC")

STRING = Scalar("string", "text")
TAGS = MapOf(STRING)
METRIC = Dynamic(bare=0.5, leaves=(0.5,), description="a number, null or a map of metrics")
FINDINGS = Dynamic(bare=[], leaves=(0, "text"), description="any JSON value")

SECURITY_SCAN = Record(
    {
        "status": Scalar("string", "PASSED", choices=SCAN_STATUSES),
        "scanner": Scalar("string", "scanner", nullable=True),
        "findings": FINDINGS,
        "scannedAt": Scalar("string", "2024-01-01T00:00:00Z", nullable=True),
        "source": Scalar("string", "REGISTRY", choices=SCAN_SOURCES, nullable=True),
    }
)
ARTIFACT = Record(
    {
        "name": Scalar("string", "model.onnx"),
        "type": Scalar("string", "model"),
        "uri": Scalar("string", "s3://bucket/model.onnx"),
        "sha256": Scalar("string", "0" * 64),
        "held": Scalar("bool", True),
        "executable": Scalar("bool", True),
        "securityScan": SECURITY_SCAN,
    }
)
EVALUATION_RUN = Record(
    {
        "status": Scalar("string", "PASSED"),
        "metrics": MapOf(METRIC),
        "predictionsSource": Scalar("string", "REGISTRY", choices=PREDICTIONS_SOURCES),
        "thresholdsSource": Scalar("string", "TIER", choices=THRESHOLDS_SOURCES, nullable=True),
        "artifactSha256": Scalar("string", "0" * 64, nullable=True),
        "datasets": Scalar("int", 1),
        "passedDatasets": Scalar("int", 1),
    }
)
MODEL = Record(
    {
        "name": Scalar("string", "sample-model"),
        "riskTier": Scalar("string", "HIGH", choices=RISK_TIERS),
        "owner": Scalar("string", "alice"),
        "tags": TAGS,
    }
)
VERSION = Record(
    {
        "version": Scalar("string", "1.0.0"),
        "state": Scalar("string", "DRAFT"),
        "tags": TAGS,
        "documentation": OneOf((MapOf(STRING), STRING)),
    }
)

MONITORING = Record(
    {
        "metrics": MapOf(METRIC),
        "rows": Scalar("int", 1000),
        "daysSinceLastBatch": Scalar("int", 1),
    }
)

#: Every name a condition may use, with its declared shape.
ROOTS: Mapping[str, Schema] = {
    "model": MODEL,
    "version": VERSION,
    "artifact": ARTIFACT,
    "artifacts": ListOf(ARTIFACT),
    "evaluations": MapOf(EVALUATION_RUN, sample_keys=EVALUATION_SUITES),
    "environment": Scalar("string", "production", choices=ENVIRONMENTS),
    "monitoring": MONITORING,
}
ROOT_NAMES: tuple[str, ...] = tuple(ROOTS)

#: Names that may be absent from a real context, and what their absence means.
OPTIONAL_ROOTS: Mapping[str, str] = {
    "artifact": "the version has no artifacts",
    "monitoring": "the version has received no monitoring batch",
}


# ---------------------------------------------------------------------------
# Typed samples
# ---------------------------------------------------------------------------


class _AnyKey:
    """Path segment for a key or index that is not a literal (``tags[k]``, ``a`` in ``all``)."""

    def __repr__(self) -> str:
        return "ANY"


ANY: Any = _AnyKey()

Path = tuple[Any, ...]


@dataclass
class _Variants:
    count: int = 1

    def saw(self, n: int) -> None:
        self.count = max(self.count, n)


def _trie(paths: Iterable[Path]) -> dict[Any, dict[Any, Any]]:
    root: dict[Any, Any] = {}
    for path in paths:
        node = root
        for segment in path:
            node = node.setdefault(segment, {})
    return root


def _merge(*tries: Mapping[Any, Any]) -> dict[Any, Any]:
    merged: dict[Any, Any] = {}
    for trie in tries:
        for key, sub in trie.items():
            merged[key] = _merge(merged.get(key, {}), sub)
    return merged


def _sample(schema: Schema, trie: Mapping[Any, Any], variant: int, seen: _Variants) -> Any:
    if isinstance(schema, Scalar):
        return schema.sample
    if isinstance(schema, Record):
        return {
            name: _sample(sub, trie.get(name, {}), variant, seen)
            for name, sub in schema.fields.items()
        }
    if isinstance(schema, MapOf):
        keys = list(schema.sample_keys)
        keys += [key for key in trie if isinstance(key, str) and key not in keys]
        any_trie = trie.get(ANY, {})
        if ANY in trie and not keys:
            keys = ["key"]
        return {
            key: _sample(schema.value, _merge(trie.get(key, {}), any_trie), variant, seen)
            for key in keys
        }
    if isinstance(schema, ListOf):
        element = _merge(*(sub for key, sub in trie.items() if not isinstance(key, str)))
        return [_sample(schema.element, element, variant, seen)]
    if isinstance(schema, OneOf):
        seen.saw(len(schema.options))
        return _sample(schema.options[variant % len(schema.options)], trie, variant, seen)
    # Dynamic: build exactly what the condition looks at, with leaf samples below it.
    if not trie:
        return schema.bare
    return _dynamic(schema, trie, variant, seen)


def _dynamic(schema: Dynamic, trie: Mapping[Any, Any], variant: int, seen: _Variants) -> Any:
    if not trie:
        seen.saw(len(schema.leaves))
        return schema.leaves[variant % len(schema.leaves)]
    if any(isinstance(key, str) for key in trie):
        keys = [key for key in trie if isinstance(key, str)]
        any_trie = trie.get(ANY, {})
        return {
            key: _dynamic(schema, _merge(trie.get(key, {}), any_trie), variant, seen)
            for key in keys
        }
    element = _merge(*trie.values())
    return [_dynamic(schema, element, variant, seen)]


def sample_contexts(paths: Iterable[Path] = ()) -> list[dict[str, Any]]:
    """Typed samples of the whole context in which every path in ``paths`` exists.

    A path is ``(root, segment, ...)``: a segment is a key (str), a list index (int) or
    :data:`ANY`. Every declared field is present with a representative value; keys of
    data maps (tags, metrics, documentation, suites) are the ones the condition selects.
    Where a value may take several shapes (documentation is a string or a map) one
    sample is returned per shape.
    """
    trie = _trie(paths)
    seen = _Variants()
    first = {name: _sample(schema, trie.get(name, {}), 0, seen) for name, schema in ROOTS.items()}
    samples = [first]
    for variant in range(1, seen.count):
        samples.append(
            {
                name: _sample(schema, trie.get(name, {}), variant, seen)
                for name, schema in ROOTS.items()
            }
        )
    return samples


#: A typed sample of the context (every declared field, documentation as a map).
SAMPLE_CONTEXT: dict[str, Any] = sample_contexts()[0]


# ---------------------------------------------------------------------------
# Checking a real context against the declaration
# ---------------------------------------------------------------------------

_CEL_TYPE_OF: dict[type, str] = {
    bool: "bool",
    int: "int",
    float: "double",
    str: "string",
    type(None): "null",
    list: "list",
    dict: "map",
}


@dataclass
class _Problems:
    items: list[str] = field(default_factory=list)

    def add(self, where: str, text: str) -> None:
        self.items.append(f"{where}: {text}")


def _kind(value: Any) -> str:
    return _CEL_TYPE_OF.get(type(value), type(value).__name__)


def _fits(schema: Schema, value: Any) -> bool:
    problems = _Problems()
    _check(schema, value, "", problems)
    return not problems.items


def _check(schema: Schema, value: Any, where: str, problems: _Problems) -> None:
    if isinstance(schema, Dynamic):
        return
    if isinstance(schema, Scalar):
        if value is None:
            if not schema.nullable:
                problems.add(where, "is null")
            return
        expected = {"string": str, "double": (int, float), "int": int, "bool": bool}[
            schema.cel_type
        ]
        if not isinstance(value, expected) or (schema.cel_type != "bool" and value is True):
            problems.add(where, f"is {_kind(value)}, expected {schema.describe()}")
        elif schema.choices and value not in schema.choices:
            problems.add(where, f"is {value!r}, expected {schema.describe()}")
        return
    if isinstance(schema, OneOf):
        if not any(_fits(option, value) for option in schema.options):
            problems.add(where, f"is {_kind(value)}, expected {schema.describe()}")
        return
    if isinstance(schema, ListOf):
        if not isinstance(value, list | tuple):
            problems.add(where, f"is {_kind(value)}, expected a list")
            return
        for index, item in enumerate(value):
            _check(schema.element, item, f"{where}[{index}]", problems)
        return
    if not isinstance(value, Mapping):
        problems.add(where, f"is {_kind(value)}, expected {schema.describe()}")
        return
    if isinstance(schema, MapOf):
        for key, item in value.items():
            if not isinstance(key, str):
                problems.add(where, f"has a key {key!r} that is not a string")
                continue
            _check(schema.value, item, f"{where}.{key}", problems)
        return
    for name, sub in schema.fields.items():
        if name not in value:
            problems.add(where, f"has no field {name!r}")
        else:
            _check(sub, value[name], f"{where}.{name}", problems)
    for name in value:
        if name not in schema.fields:
            problems.add(where, f"has an undeclared field {name!r}")


def context_problems(context: Mapping[str, Any]) -> list[str]:
    """What in ``context`` does not match the declaration (empty when it all does).

    For tests of the code that builds evaluation contexts; evaluation does not need it.
    """
    problems = _Problems()
    for name, schema in ROOTS.items():
        if name not in context:
            if name not in OPTIONAL_ROOTS:
                problems.add(name, "is missing")
            continue
        _check(schema, context[name], name, problems)
    for name in context:
        if name not in ROOTS:
            problems.add(name, "is not a declared name")
    return problems.items
