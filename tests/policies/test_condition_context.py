"""The declared context of conditions: schema, typed samples, checking a real context."""

from __future__ import annotations

import copy

import pytest

from policies.condition_context import (
    ANY,
    EVALUATION_SUITES,
    ROOT_NAMES,
    SAMPLE_CONTEXT,
    context_problems,
    sample_contexts,
)
from policies.conditions import (
    COMPREHENSIONS,
    GLOBAL_FUNCTIONS,
    METHODS,
    compile_condition,
    evaluate_condition,
)


def test_the_declared_names():
    assert ROOT_NAMES == (
        "model",
        "version",
        "artifact",
        "artifacts",
        "evaluations",
        "environment",
        "monitoring",
    )


def test_the_sample_matches_the_declaration():
    assert context_problems(SAMPLE_CONTEXT) == []
    assert set(SAMPLE_CONTEXT) == set(ROOT_NAMES)
    assert set(SAMPLE_CONTEXT["evaluations"]) == set(EVALUATION_SUITES)
    assert SAMPLE_CONTEXT["artifacts"] == [SAMPLE_CONTEXT["artifact"]]


def test_samples_hold_every_path_a_condition_selects():
    paths = [
        ("evaluations", "performance", "metrics", "accuracy"),
        ("evaluations", "fairness", "status"),
        ("evaluations", ANY, "metrics", "f1"),
        ("model", "tags", "owner-team"),
        ("version", "documentation", "intendedUse"),
        ("artifact", "securityScan", "findings", ANY, "severity"),
    ]
    with_map, with_string = sample_contexts(paths)
    metrics = with_map["evaluations"]["performance"]["metrics"]
    assert metrics == {"accuracy": 0.5, "f1": 0.5}
    assert with_map["evaluations"]["bias"]["metrics"] == {"f1": 0.5}
    assert with_map["evaluations"]["fairness"]["status"] == "PASSED"
    assert with_map["model"]["tags"] == {"owner-team": "text"}
    assert with_map["version"]["documentation"] == {"intendedUse": "text"}
    assert with_string["version"]["documentation"] == "text"
    assert with_map["artifact"]["securityScan"]["findings"] == [{"severity": 0}]
    assert with_string["artifact"]["securityScan"]["findings"] == [{"severity": "text"}]


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda c: c.pop("model"), "model: is missing"),
        (lambda c: c["model"].update(riskTier="CRITICAL"), "model.riskTier: is 'CRITICAL'"),
        (lambda c: c["model"].update(owner=None), "model.owner: is null"),
        (lambda c: c["model"].update(extra=1), "model: has an undeclared field 'extra'"),
        (lambda c: c["version"].update(documentation=3), "version.documentation: is int"),
        (lambda c: c["version"]["tags"].update(x=1), "version.tags.x: is int"),
        (lambda c: c["artifacts"].append("x"), "artifacts[1]: is string"),
        (lambda c: c.update(environment="dev"), "environment: is 'dev'"),
        (lambda c: c.update(request={}), "request: is not a declared name"),
        (
            lambda c: c["artifact"]["securityScan"].pop("scannedAt"),
            "artifact.securityScan: has no field 'scannedAt'",
        ),
    ],
)
def test_context_problems(change, problem):
    context = copy.deepcopy(SAMPLE_CONTEXT)
    change(context)
    problems = context_problems(context)
    assert len(problems) == 1
    assert problems[0].startswith(problem)


def test_artifact_may_be_absent_and_documentation_may_be_a_string():
    context = copy.deepcopy(SAMPLE_CONTEXT)
    del context["artifact"]
    context["artifacts"] = []
    context["version"]["documentation"] = "# Model card"
    context["artifacts"] = []
    assert context_problems(context) == []


@pytest.mark.parametrize(
    "source",
    [
        "size('abc') == 3",
        "int('3') == 3",
        "uint(3) == 3u",
        "double(3) == 3.0",
        "string(3) == '3'",
        "bytes('a') == b'a'",
        "dyn(1) == 1",
        "type(1) == int && type('a') == string && type(1.0) == double && type(true) == bool",
        "type([]) == list && type({}) == map && type(null) == null_type && type(1u) == uint",
        "type(b'a') == bytes && type(type) == type",
        "timestamp('2024-01-01T00:00:00Z') < timestamp('2025-01-01T00:00:00Z')",
        "duration('1h') > duration('1m')",
        "'abc'.size() == 3 && 'abc'.contains('b') && 'abc'.startsWith('a')",
        "'abc'.endsWith('c') && 'abc'.matches('^a')",
        "timestamp('2024-03-02T04:05:06.007Z').getFullYear() == 2024",
        "timestamp('2024-03-02T04:05:06.007Z').getMonth() == 2",
        "timestamp('2024-03-02T04:05:06.007Z').getDate() == 2",
        "timestamp('2024-03-02T04:05:06.007Z').getDayOfMonth() == 1",
        "timestamp('2024-03-02T04:05:06.007Z').getDayOfYear() == 61",
        "timestamp('2024-03-02T04:05:06.007Z').getDayOfWeek() == 6",
        "timestamp('2024-03-02T04:05:06.007Z').getHours() == 4",
        "timestamp('2024-03-02T04:05:06.007Z').getMinutes() == 5",
        "timestamp('2024-03-02T04:05:06.007Z').getSeconds() == 6",
        "timestamp('2024-03-02T04:05:06.007Z').getMilliseconds() == 7",
        "[1, 2].all(x, x > 0) && [1, 2].exists(x, x > 1) && [1, 2].exists_one(x, x > 1)",
        "[1, 2].filter(x, x > 1) == [2]",
        "has({'a': 1}.a)",
    ],
)
def test_every_allowed_function_exists_in_the_library(source):
    assert evaluate_condition(compile_condition(source), SAMPLE_CONTEXT).passed is True


def test_the_function_lists_are_covered_above():
    covered = " ".join(test_every_allowed_function_exists_in_the_library.pytestmark[0].args[1])
    for name in GLOBAL_FUNCTIONS | METHODS | COMPREHENSIONS:
        assert f"{name}(" in covered, name
