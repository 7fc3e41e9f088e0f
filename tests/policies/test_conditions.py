"""Policy conditions: checks at save, evaluation, cache. No Django, no database."""

from __future__ import annotations

import copy
import threading
from typing import Any

import cel
import pytest

from policies import conditions
from policies.condition_context import SAMPLE_CONTEXT
from policies.conditions import (
    MAX_COMPREHENSION_NESTING,
    MAX_LENGTH,
    MAX_LITERAL_ITEMS,
    MAX_NESTING,
    MAX_OPERATORS,
    CompiledCondition,
    ConditionError,
    ConditionOutcome,
    PreparedContext,
    compile_condition,
    evaluate_condition,
    prepare_context,
)

SHIPPED = [
    "artifact.securityScan.status == 'PASSED'",
    "artifacts.all(a, a.securityScan.status == 'PASSED')",
    "size(version.documentation) > 0",
    "has(version.documentation.intendedUse)",
    "'performance' in evaluations && evaluations.performance.status == 'PASSED'",
    "evaluations.performance.metrics.accuracy >= 0.85",
    "evaluations.bias.metrics.demographicParity <= 0.1",
    "model.riskTier != 'HIGH' || 'owner-team' in model.tags",
    "environment == 'production'",
]

NAMES_HELP = (
    "a condition may use model, version, artifact, artifacts, evaluations, environment, monitoring"
)


def artifact(name: str = "model.onnx", type_: str = "model", status: str = "PASSED") -> dict:
    return {
        "name": name,
        "type": type_,
        "uri": f"s3://models/fraud/{name}",
        "sha256": "a" * 64,
        "securityScan": {
            "status": status,
            "scanner": "trivy",
            "findings": [],
            "scannedAt": "2024-05-01T10:00:00+00:00",
        },
    }


def make_context() -> dict[str, Any]:
    """A version every shipped condition passes on."""
    primary = artifact()
    return {
        "model": {
            "name": "fraud-detector",
            "riskTier": "HIGH",
            "owner": "alice",
            "tags": {"owner-team": "risk-ml"},
        },
        "version": {
            "version": "1.2.0",
            "state": "STAGING",
            "tags": {},
            "documentation": {"intendedUse": "card fraud scoring", "limitations": "EU only"},
        },
        "artifact": primary,
        "artifacts": [primary, artifact("tokenizer.json", "tokenizer")],
        "evaluations": {
            "performance": {"status": "PASSED", "metrics": {"accuracy": 0.91, "f1": 0.88}},
            "bias": {
                "status": "PASSED",
                "metrics": {"demographicParity": 0.04, "groups": {"female": 0.9}},
            },
        },
        "environment": "production",
    }


def evaluate(source: str, context: dict[str, Any]) -> ConditionOutcome:
    return evaluate_condition(compile_condition(source), context)


def refusal(source: Any) -> str:
    with pytest.raises(ConditionError) as caught:
        compile_condition(source)
    return str(caught.value)


@pytest.fixture
def library_not_called(monkeypatch):
    """Fail the test if the text reaches the CEL library."""

    def boom(*args, **kwargs):
        raise AssertionError("the condition reached the CEL library")

    monkeypatch.setattr(conditions.cel, "compile", boom)
    monkeypatch.setattr(conditions.cel, "evaluate", boom)


# ---------------------------------------------------------------------------
# The conditions we ship
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("source", SHIPPED)
def test_shipped_conditions_compile(source):
    compiled = compile_condition(source)
    assert isinstance(compiled, CompiledCondition)
    assert compiled.source == source


@pytest.mark.parametrize("source", SHIPPED)
def test_shipped_conditions_pass_on_a_good_version(source):
    assert evaluate(source, make_context()) == ConditionOutcome(True)


def _set(path: str, value: Any):
    """A change to the context: set the value at a dotted path ('' deletes the key)."""

    def change(context: dict) -> None:
        *parents, last = path.split(".")
        target = context
        for key in parents:
            target = target[int(key)] if isinstance(target, list) else target[key]
        if value is _DELETE:
            del target[last]
        else:
            target[last] = value

    return change


_DELETE = object()


@pytest.mark.parametrize(
    ("source", "change", "passed", "error"),
    [
        (SHIPPED[0], _set("artifact.securityScan.status", "FAILED"), False, None),
        (SHIPPED[0], _set("artifact.securityScan.status", "PENDING"), False, None),
        (
            SHIPPED[0],
            _set("artifact", _DELETE),
            False,
            "no such name: 'artifact' (the version has no artifacts)",
        ),
        (SHIPPED[1], _set("artifacts.1.securityScan.status", "FAILED"), False, None),
        (SHIPPED[1], _set("artifacts", []), True, None),
        (SHIPPED[2], _set("version.documentation", {}), False, None),
        (SHIPPED[2], _set("version.documentation", ""), False, None),
        (SHIPPED[2], _set("version.documentation", "# Model card"), True, None),
        (SHIPPED[3], _set("version.documentation.intendedUse", _DELETE), False, None),
        (SHIPPED[4], _set("evaluations.performance.status", "FAILED"), False, None),
        (SHIPPED[4], _set("evaluations.performance", _DELETE), False, None),
        (SHIPPED[5], _set("evaluations.performance.metrics.accuracy", 0.8), False, None),
        (SHIPPED[5], _set("evaluations.performance.metrics.accuracy", 0.85), True, None),
        (SHIPPED[5], _set("evaluations.performance.metrics.accuracy", 1), True, None),
        (
            SHIPPED[5],
            _set("evaluations.performance", _DELETE),
            False,
            "no such key: 'performance' in evaluations",
        ),
        (
            SHIPPED[5],
            _set("evaluations.performance.metrics", {}),
            False,
            "no such key: 'accuracy' in evaluations.performance.metrics",
        ),
        (SHIPPED[6], _set("evaluations.bias.metrics.demographicParity", 0.2), False, None),
        (
            SHIPPED[6],
            _set("evaluations.bias", _DELETE),
            False,
            "no such key: 'bias' in evaluations",
        ),
        (SHIPPED[7], _set("model.tags", {}), False, None),
        (SHIPPED[7], _set("model.riskTier", "LOW"), True, None),
        (SHIPPED[7], _set("model.tags", {"owner-team": ""}), True, None),
        (SHIPPED[8], _set("environment", "staging"), False, None),
    ],
)
def test_shipped_conditions_on_changed_versions(source, change, passed, error):
    context = make_context()
    change(context)
    assert evaluate(source, context) == ConditionOutcome(passed, error)


def test_has_on_documentation_given_as_a_string_fails_with_a_reason():
    context = make_context()
    context["version"]["documentation"] = "# Model card"
    outcome = evaluate("has(version.documentation.intendedUse)", context)
    assert outcome.passed is False
    assert outcome.error.startswith("type error: no such overload")


def test_a_null_metric_fails_with_a_reason():
    context = make_context()
    context["evaluations"]["performance"]["metrics"]["accuracy"] = None
    outcome = evaluate("evaluations.performance.metrics.accuracy >= 0.85", context)
    assert outcome.passed is False
    assert outcome.error.startswith("type error:")


# ---------------------------------------------------------------------------
# Limits, checked before the library sees the text
# ---------------------------------------------------------------------------


def test_length_limit(library_not_called):
    source = ("environment == 'production' || " * 2300)[:70_000]
    assert len(source) == 70_000
    assert refusal(source) == "condition is 70,000 characters; the limit is 4,096"


def test_a_58_kb_expression_is_refused_before_the_library(library_not_called):
    source = " || ".join(f"model.name == 'model-{i}'" for i in range(2500))[:58_000]
    assert refusal(source) == "condition is 58,000 characters; the limit is 4,096"


def test_a_condition_at_the_length_limit_is_accepted():
    source = "environment == 'production'" + " " * (MAX_LENGTH - 27)
    assert len(source) == MAX_LENGTH
    assert evaluate(source, make_context()).passed is True


def test_nesting_limit(library_not_called):
    source = "(" * 40 + "true" + ")" * 40
    assert refusal(source) == "condition nests 40 levels deep; the limit is 32"


def test_2000_nested_parentheses_are_refused_before_the_library(library_not_called):
    source = "(" * 2000 + "environment == 'production'" + ")" * 2000
    assert refusal(source) == "condition nests 2000 levels deep; the limit is 32"


def test_unbalanced_deep_nesting_is_refused_the_same_way(library_not_called):
    assert refusal("[" * 4000) == "condition nests 4000 levels deep; the limit is 32"


def test_nesting_at_the_limit_is_accepted():
    source = "(" * MAX_NESTING + "environment == 'production'" + ")" * MAX_NESTING
    assert evaluate(source, make_context()).passed is True


def test_brackets_inside_strings_do_not_count_as_nesting():
    source = "model.name != '" + "(" * 100 + "'"
    assert evaluate(source, make_context()).passed is True


def test_operator_limit(library_not_called):
    source = " + ".join(["1"] * 201) + " > 0"
    assert refusal(source) == f"condition has 201 operators; the limit is {MAX_OPERATORS}"


def test_operators_inside_strings_do_not_count():
    source = "model.name != '" + "+" * 500 + "'"
    assert evaluate(source, make_context()).passed is True


def test_empty_condition():
    assert refusal("   ") == "condition is empty"


@pytest.mark.parametrize("source", [None, 42, ["true"], {"condition": "true"}])
def test_a_condition_that_is_not_a_string(source):
    assert refusal(source).startswith("condition must be a string, not ")


def test_comprehension_nesting_limit():
    two = "artifacts.all(a, artifacts.exists(b, b.name == a.name))"
    assert evaluate(two, make_context()).passed is True
    three = "model.tags.all(k, artifacts.all(a, artifacts.exists(b, b.name == a.name)))"
    assert refusal(three) == (
        f"condition nests comprehensions 3 deep; the limit is {MAX_COMPREHENSION_NESTING}"
    )


def test_map_macro_is_refused():
    assert refusal("artifacts.map(a, a.name).size() > 0").startswith(
        "map() is not allowed in conditions"
    )


def test_literal_list_limit():
    allowed = "model.owner in [" + ", ".join(f"'u{i}'" for i in range(MAX_LITERAL_ITEMS)) + "]"
    assert evaluate(allowed, make_context()).passed is False
    too_many = "model.owner in [" + ", ".join(f"'u{i}'" for i in range(65)) + "]"
    assert refusal(too_many) == "a list in the condition has 65 items; the limit is 64"


def test_selecting_deeper_than_any_context_can_be_is_refused():
    source = "evaluations.performance.metrics" + ".a" * 70 + " == 0.5"
    assert refusal(source) == "condition selects more than 63 levels deep; the limit is 63"


# ---------------------------------------------------------------------------
# Syntax
# ---------------------------------------------------------------------------


def test_syntax_error_names_the_column():
    message = refusal("model.name == ")
    assert message.startswith("syntax error at column 15: ")
    assert "model.name" not in message  # the library echoes the source; we do not


def test_syntax_error_on_a_later_line():
    assert refusal("model.name == 'x' &&\n  model.owner ==").startswith(
        "syntax error at line 2, column 17: "
    )


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("model.name == 'abc", "syntax error at column 15: unterminated string"),
        ("model.name == 'é' && model.é", "syntax error at column 28: unexpected character 'é'"),
    ],
)
def test_our_tokenizer_errors(source, message):
    assert refusal(source) == message


def test_message_construction_is_refused():
    assert refusal("google.protobuf.Int32Value{value: 1} == 1").startswith("message construction")


def test_literals_of_every_kind_are_understood():
    source = (
        "model.name != '''x''' && model.name != r'\\d' && model.name != \"a\\\"b\" "
        "&& b'x' == b'x' && 0x10 == 16 && 1u == 1u && 1e3 == 1000.0 && .5 == 0.5 "
        "// a comment\n && model.tags['owner\\x2dteam'] == 'risk-ml'"
    )
    assert evaluate(source, make_context()) == ConditionOutcome(True)


# ---------------------------------------------------------------------------
# Names
# ---------------------------------------------------------------------------


def test_unknown_name():
    assert refusal("foo == 1") == f"unknown name 'foo': {NAMES_HELP}"


@pytest.mark.parametrize(
    ("source", "name"),
    [
        ("__import__('os').system('x')", "function '__import__'"),
        ("open('x')", "function 'open'"),
        ("open('/etc/passwd').size() > 0", "function 'open'"),
        ("eval('1') == 1", "function 'eval'"),
        ("exec('x')", "function 'exec'"),
        ("getattr(model, 'name') == 'x'", "function 'getattr'"),
        ("os.system('x')", "name 'os'"),
        ("model.name.format(1) == 'x'", "function 'format'"),
        ("bool('true')", "function 'bool'"),
        ("optional.of(1).hasValue()", "name 'optional'"),
        ("request.user == 'x'", "name 'request'"),
        ("self == 1", "name 'self'"),
    ],
)
def test_undeclared_names_and_functions_are_refused(source, name):
    assert refusal(source).startswith(f"unknown {name}: ")


def test_python_attribute_names_are_only_fields():
    # A record has fixed fields: a dunder is refused as a field that does not exist.
    assert refusal("model.__class__ == 'x'").startswith("model has no field '__class__'")
    # In a data map it is just a key, looked up like any other, never an attribute.
    outcome = evaluate("evaluations.performance.metrics.__class__ == 1.0", make_context())
    assert outcome == ConditionOutcome(
        False, "no such key: '__class__' in evaluations.performance.metrics"
    )


def test_names_inside_strings_are_not_names():
    source = "model.name != \"__import__('os').system('x')\" && model.name != 'foo'"
    assert evaluate(source, make_context()).passed is True


@pytest.mark.parametrize(
    "source",
    [
        "artifacts.all(a, a.securityScan.status == 'PASSED')",
        "artifacts.exists(x, x.type == 'model')",
        "artifacts.exists_one(x, x.type == 'model')",
        "artifacts.filter(x, x.type == 'model').size() == 1",
        "artifacts.filter(x, x.type == 'model').all(y, y.securityScan.status == 'PASSED')",
        "evaluations.all(k, evaluations[k].status == 'PASSED')",
        "model.tags.exists(k, k.startsWith('owner'))",
        "artifacts.all(a, artifacts.exists(b, b.name == a.name))",
        "artifacts.all(a, a.name != '') && artifacts.all(a, a.uri != '')",
    ],
)
def test_comprehension_variables_are_not_undeclared_names(source):
    assert evaluate(source, make_context()) == ConditionOutcome(True)


def test_a_comprehension_variable_outside_its_comprehension_is_unknown():
    assert refusal("artifacts.all(a, true) && a.type == 'model'") == (
        f"unknown name 'a': {NAMES_HELP}"
    )


def test_a_comprehension_variable_may_not_hide_a_declared_name():
    assert refusal("artifacts.all(model, model.type == 'model')") == (
        "'model' is already a name in conditions; choose another"
    )


def test_names_records_the_declared_names_used():
    compiled = compile_condition("artifacts.all(a, a.name != '') && environment == 'production'")
    assert compiled.names == frozenset({"artifacts", "environment"})


# ---------------------------------------------------------------------------
# Fields and values of the declared shapes
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (
            "artifact.securityScan.stauts == 'PASSED'",
            "artifact.securityScan has no field 'stauts'; "
            "its fields are status, scanner, findings, scannedAt, source",
        ),
        (
            "artifacts.all(a, a.securityScan.stauts == 'PASSED')",
            "a.securityScan has no field 'stauts'; "
            "its fields are status, scanner, findings, scannedAt, source",
        ),
        (
            "artifacts.securityScan.status == 'PASSED'",
            "artifacts is a list, it has no field 'securityScan': use "
            "artifacts.all(x, x.securityScan ...) or artifacts[0].securityScan",
        ),
        ("model.name.first == 'x'", "model.name is a string; it has no field 'first'"),
        ("model.tags.team.lead == 'x'", "model.tags.team is a string; it has no field 'lead'"),
        (
            "evaluations.all(k, k.status == 'PASSED')",
            "k is a string; it has no field 'status'",
        ),
        (
            "artifact.securityScan.status == 'PASS'",
            "artifact.securityScan.status is one of 'PASSED', 'FAILED', 'PENDING'; "
            "it is never 'PASS'",
        ),
        (
            "'prod' == environment",
            "environment is one of 'staging', 'production'; it is never 'prod'",
        ),
        (
            "model.riskTier in ['HIGH', 'CRITICAL']",
            "model.riskTier is one of 'LOW', 'MEDIUM', 'HIGH'; it is never 'CRITICAL'",
        ),
    ],
)
def test_fields_and_values_are_checked_against_the_declaration(source, message):
    assert refusal(source) == message


@pytest.mark.parametrize(
    "source",
    [
        "has(version.documentation.intendedUse)",
        "has(artifact.securityScan.scanner)",
        "evaluations.bias.metrics.demographicParity <= 0.1",
        "evaluations.fairness.status == 'PASSED'",
        "evaluations['performance'].metrics['f1'] >= 0.8",
        "evaluations.bias.metrics.groups.female >= 0.8",
        "model.tags['owner-team'] == 'risk-ml'",
        "version.documentation.intendedUse.size() > 10",
        "type(version.documentation) == string && version.documentation.startsWith('#')",
        "size(artifact.securityScan.findings) == 0",
        "artifact.securityScan.findings.all(f, f.severity != 'CRITICAL')",
        "artifact.securityScan.findings.filter(f, f.severity == 'HIGH').size() <= 3",
        "artifact.securityScan.scannedAt != null",
        "timestamp(artifact.securityScan.scannedAt) > timestamp('2024-01-01T00:00:00Z')",
        "artifacts.size() > 0 && artifacts[0].type == 'model'",
        "artifacts.exists(a, a.name.matches('^model\\\\.'))",
        "double(model.tags['replicas']) > 1.0 || true",
        "model.riskTier in ['HIGH', 'MEDIUM'] && model.owner.endsWith('e')",
        "!(environment == 'staging') ? model.riskTier != 'LOW' : true",
    ],
)
def test_valid_conditions_touching_optional_or_data_keys_are_accepted(source):
    compile_condition(source)


# ---------------------------------------------------------------------------
# Types
# ---------------------------------------------------------------------------


def test_adding_a_string_and_a_number_is_refused():
    assert refusal("'a' + 1") == (
        "type error: unsupported operation: string + int "
        "(CEL never converts types implicitly: use int(), double() or string())"
    )
    assert refusal("'a' + 1 == 'a1'").startswith("type error: unsupported operation: string + int")


def test_a_type_error_hidden_behind_short_circuiting_is_still_found():
    assert refusal("('a' + 1 == 2) || true").startswith(
        "type error in `('a' + 1 == 2)`: unsupported operation: string + int"
    )
    assert refusal("environment == 'production' ? true : 'a' + 1 == 2").startswith(
        "type error in `'a' + 1 == 2`: unsupported operation: string + int"
    )


def test_mixing_int_and_double_is_refused_with_a_hint():
    message = refusal("evaluations.performance.metrics.accuracy * 100 >= 85.0")
    assert message.startswith("type error: unsupported operation: double * int")
    assert message.endswith(
        "(CEL never mixes int and double: write 100.0 rather than 100, or use double(x))"
    )
    compile_condition("evaluations.performance.metrics.accuracy * 100.0 >= 85.0")


@pytest.mark.parametrize(
    ("source", "produced"),
    [
        ("model.name", "string"),
        ("size(version.documentation)", "int"),
        ("evaluations.performance.metrics.accuracy", "double"),
        ("evaluations", "map"),
        ("artifacts", "list"),
        ("1 + 2", "int"),
        ("artifact.securityScan.scanner", "string"),
        ("null", "null"),
    ],
)
def test_a_condition_must_produce_a_bool(source, produced):
    assert refusal(source) == f"condition must produce true or false, not {produced}"


def test_each_operand_must_produce_a_bool():
    assert refusal("environment == 'production' && model.name") == (
        "condition must produce true or false, but `model.name` (an operand of &&) produces string"
    )


def test_an_invalid_regular_expression_is_refused():
    assert refusal("model.name.matches('(')").startswith("invalid regular expression")


def test_a_function_applied_to_the_wrong_type_is_refused():
    assert refusal("model.riskTier.size() > 0 && environment.startsWith(1)").startswith(
        "type error in `environment.startsWith(1)`"
    )


# ---------------------------------------------------------------------------
# Evaluation never raises
# ---------------------------------------------------------------------------


def test_missing_names_at_evaluation_say_what_was_missing():
    context = make_context()
    del context["evaluations"]
    assert evaluate(SHIPPED[5], context) == ConditionOutcome(False, "no such name: 'evaluations'")
    assert evaluate(SHIPPED[0], {}) == ConditionOutcome(
        False, "no such name: 'artifact' (the version has no artifacts)"
    )


def test_missing_keys_inside_a_comprehension():
    context = make_context()
    del context["artifacts"][1]["securityScan"]
    outcome = evaluate(SHIPPED[1], context)
    assert outcome == ConditionOutcome(False, "no such key: 'securityScan' in a")


def test_missing_element():
    context = make_context()
    context["artifacts"] = []
    outcome = evaluate("artifacts[0].type == 'model'", context)
    assert outcome.passed is False
    assert outcome.error.startswith("no such element: index out of bounds")


def test_a_result_that_is_not_a_bool_fails():
    # Conditions that are not bool are refused at save; data can still surprise.
    compiled = compile_condition("evaluations.all(k, k != '')")
    sneaky = CompiledCondition(
        source="evaluations", names=frozenset(), _program=cel.compile("evaluations"), _tree=None
    )
    assert evaluate_condition(compiled, make_context()).passed is True
    assert evaluate_condition(sneaky, make_context()) == ConditionOutcome(
        False, "condition produced map, not true or false"
    )


class _Opaque:
    def __repr__(self) -> str:
        return "opaque"


@pytest.mark.parametrize(
    ("change", "error"),
    [
        (
            _set("model.owner", _Opaque()),
            "the context could not be used: model.owner is a _Opaque, not plain data",
        ),
        (
            _set("model.name", print),
            "the context could not be used: model.name is a builtin_function_or_method, "
            "not plain data",
        ),
        (
            _set("model.tags", {1: "x"}),
            "the context could not be used: model.tags has a key 1 that is not a string",
        ),
    ],
)
def test_a_context_that_is_not_plain_data_fails_every_rule(change, error):
    context = make_context()
    change(context)
    assert evaluate(SHIPPED[8], context) == ConditionOutcome(False, error)


def test_a_context_nested_too_deep_fails_instead_of_crashing():
    deep: Any = "leaf"
    for _ in range(10_000):
        deep = [deep]
    context = make_context()
    context["artifact"]["securityScan"]["findings"] = deep
    outcome = evaluate(SHIPPED[0], context)
    assert outcome.passed is False
    assert outcome.error.startswith("the context could not be used: artifact.securityScan.")
    assert outcome.error.endswith("… nests more than 64 levels deep")
    assert len(outcome.error) < 150


@pytest.mark.parametrize("context", [None, 42, "model", ["model"]])
def test_evaluation_never_raises_on_nonsense_contexts(context):
    outcome = evaluate_condition(compile_condition(SHIPPED[8]), context)
    assert outcome.passed is False
    assert outcome.error


def test_evaluation_never_raises_on_a_nonsense_condition():
    outcome = evaluate_condition("environment == 'production'", make_context())  # type: ignore[arg-type]
    assert outcome == ConditionOutcome(False, "evaluation failed: AttributeError")


def test_the_activation_holds_only_declared_names_as_plain_data():
    import os

    context = make_context()
    context["os"] = os
    context["model"]["tags"] = {"created": __import__("datetime").date(2024, 1, 2)}
    prepared = prepare_context(context)
    assert prepared.error is None
    assert set(prepared.values) == set(make_context())
    assert prepared.values["model"]["tags"] == {"created": "2024-01-02"}
    assert evaluate("model.tags.created.startsWith('2024')", context).passed is True


def test_metric_numbers_become_doubles():
    context = make_context()
    context["evaluations"]["performance"]["metrics"] = {"accuracy": 1, "nested": {"n": 2}}
    prepared = prepare_context(context)
    metrics = prepared.values["evaluations"]["performance"]["metrics"]
    assert metrics == {"accuracy": 1.0, "nested": {"n": 2.0}}
    assert isinstance(metrics["accuracy"], float)
    source = "evaluations.performance.metrics.accuracy * 100.0 >= 85.0"
    assert evaluate_condition(compile_condition(source), prepared).passed is True


def test_a_prepared_context_gives_the_same_outcomes_as_a_dict():
    context = make_context()
    prepared = prepare_context(context)
    assert isinstance(prepared, PreparedContext)
    for source in SHIPPED:
        compiled = compile_condition(source)
        assert evaluate_condition(compiled, prepared) == evaluate_condition(compiled, context)


def test_evaluating_from_many_threads():
    compiled = [compile_condition(source) for source in SHIPPED]
    prepared = prepare_context(make_context())
    failures: list[Any] = []

    def work() -> None:
        for _ in range(200):
            for condition in compiled:
                outcome = evaluate_condition(condition, prepared)
                if outcome != ConditionOutcome(True):
                    failures.append(outcome)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


# ---------------------------------------------------------------------------
# Cache
# ---------------------------------------------------------------------------


def test_compiled_conditions_are_cached_by_text():
    source = "model.owner == 'cache-test'"
    first = compile_condition(source)
    same_text = "".join(["model.owner == ", "'cache-test'"])
    assert same_text is not source
    assert compile_condition(same_text) is first


def test_the_cache_skips_the_work(monkeypatch):
    source = "model.owner == 'cache-skip-test'"
    compile_condition(source)
    calls = []
    monkeypatch.setattr(conditions, "_compile", lambda text: calls.append(text))
    compile_condition(source)
    assert calls == []


def test_refusals_are_not_cached_as_successes():
    for _ in range(2):
        with pytest.raises(ConditionError):
            compile_condition("'a' + 1")


def test_no_library_exception_escapes(monkeypatch):
    def explode(source):
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(conditions.cel, "compile", explode)
    message = refusal("model.owner == 'recursion-test'")
    assert message.startswith("syntax error")

    def broken(self, node, scope, depth):
        raise RuntimeError("bug")

    monkeypatch.undo()
    monkeypatch.setattr(conditions._Checker, "check", broken)
    assert refusal("model.owner == 'bug-test'") == "condition could not be checked: bug"


def test_sample_context_passes_the_type_checks():
    for source in SHIPPED:
        outcome = evaluate(source, copy.deepcopy(SAMPLE_CONTEXT))
        assert isinstance(outcome.passed, bool)
