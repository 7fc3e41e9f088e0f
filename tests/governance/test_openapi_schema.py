"""The OpenAPI schema: it builds without a single warning and validates as OpenAPI 3
(production's `check --deploy` fails on warnings), the interactive docs are served from the
project, every operation documents the errors it can give in the shapes the exception handler
really returns, every value that can be null is nullable, and real answers of the API
conform to it (status, content type and body)."""

from __future__ import annotations

import inspect
import json

import pytest
import schemathesis
from django.core.exceptions import FieldDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import DataError, IntegrityError, close_old_connections
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, Phase, settings
from jsonschema import Draft7Validator
from rest_framework import exceptions as drf
from rest_framework import serializers
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from audit.api import report_views
from audit.api import serializers as audit_serializers
from core.api.exception_handler import exception_handler
from core.choices import Role
from core.errors import Forbidden, Invalid, InvalidState, NotFound
from evaluations import shapes as evaluation_shapes
from evaluations.api import serializers as evaluation_serializers
from governance import shapes as governance_shapes
from governance.api import workflow_serializers
from policies import shapes as policy_shapes
from policies.api import waiver_serializers
from registry import shapes as registry_shapes
from registry.api import serializers as registry_serializers
from tests.governance import test_no_5xx as walker

# The walker's fixtures: the demo data once for this module (every kind of object, nulls
# included, with real ids), and its settings (no rate limits).
world = walker.world
walker_settings = walker.walker_settings

UNSAFE = {"post", "put", "patch", "delete"}
OUTPUT_MODULES = [
    audit_serializers,
    evaluation_serializers,
    workflow_serializers,
    waiver_serializers,
    registry_serializers,
    report_views,
    evaluation_shapes,
    governance_shapes,
    policy_shapes,
    registry_shapes,
]


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def _resolve(schema: dict, node: dict) -> dict:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


def _to_json_schema(node):
    """OpenAPI 3.0 schema objects as JSON Schema: `nullable: true` becomes "or null"."""
    if isinstance(node, list):
        return [_to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {k: _to_json_schema(v) for k, v in node.items() if k != "nullable"}
    if node.get("nullable"):
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


def _validator(schema: dict, node: dict) -> Draft7Validator:
    components = {"schemas": _to_json_schema(schema["components"]["schemas"])}
    return Draft7Validator({"allOf": [_to_json_schema(node)], "components": components})


def _operations(schema: dict):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if method in UNSAFE | {"get"}:
                yield path, method, operation


# ---- the schema itself ---------------------------------------------------------------------


def test_schema_generates_without_warnings_and_validates(tmp_path):
    """`--validate` checks the document against the OpenAPI 3.0 specification's JSON schema."""
    call_command("spectacular", "--fail-on-warn", "--validate", "--file", str(tmp_path / "s.yml"))
    text = (tmp_path / "s.yml").read_text()
    for path in ("/api/v1/versions/{id}/submit/", "/api/v1/policies/{policyId}/impact/"):
        assert path in text


@pytest.mark.django_db
def test_docs_are_served_offline(client):
    docs = client.get("/api/v1/docs/").content.decode()
    assert "swagger-ui" in docs
    assert "cdn" not in docs.lower()
    assert client.get("/api/v1/schema/").status_code == 200


def test_every_operation_documents_its_errors(schema):
    for path, method, operation in _operations(schema):
        responses = operation["responses"]
        where = f"{method.upper()} {path}"
        expected = {"400", "404"}
        if {} not in operation.get("security", [{}]):
            expected |= {"401", "403", "429"}
        if method in UNSAFE:
            expected.add("409")
        if operation.get("requestBody"):
            expected.add("415")
        assert expected <= set(responses), (where, sorted(expected - set(responses)))
        for status, response in responses.items():
            if status.startswith("4"):
                assert response["description"], (where, status)
                body = response["content"]["application/json"]["schema"]
                assert body["$ref"].rsplit("/", 1)[1] in ("Error", "ValidationError", "Conflict")
        if "429" in responses:
            assert "Retry-After" in responses["429"]["headers"]
        if "401" in responses:
            assert "WWW-Authenticate" in responses["401"]["headers"]
    token = schema["paths"]["/api/v1/auth/token/"]["post"]["responses"]
    assert "401" not in token  # anyone may ask for a token
    assert token["400"]["description"] == "wrong username or password"  # a view's own words


def _handled(exc) -> tuple[int, dict]:
    response = exception_handler(exc, {})
    return response.status_code, response.data


@pytest.mark.parametrize(
    "exc",
    [
        Invalid("name is taken", field="name"),
        Invalid("the assessment and the tier disagree"),
        Forbidden("separation of duties: you submitted this version"),
        NotFound("no such policy"),
        InvalidState("not under review", state="DRAFT"),
        DjangoValidationError({"tags": ["too many"]}),
        DjangoValidationError("bad value"),
        IntegrityError("duplicate key"),
        DataError("value too long"),
        drf.ValidationError({"securityScan": {"status": ["not a choice"]}}),
        drf.ValidationError({"nonFieldErrors": ["send a JSON object"]}),
        drf.ValidationError(["a list of problems"]),
        drf.ParseError("JSON parse error"),
        drf.NotAuthenticated(),
        drf.AuthenticationFailed("Invalid token."),
        drf.PermissionDenied(),
        drf.NotFound(),
        drf.UnsupportedMediaType("text/plain"),
        drf.Throttled(wait=30),
    ],
    ids=lambda exc: type(exc).__name__,
)
def test_the_error_shapes_are_what_the_exception_handler_returns(schema, exc):
    status, body = _handled(exc)
    component = {400: "ValidationError", 409: "Conflict"}.get(status, "Error")
    errors = list(
        _validator(schema, {"$ref": f"#/components/schemas/{component}"}).iter_errors(body)
    )
    assert not errors, (status, body, [e.message for e in errors])


# ---- nullable values -----------------------------------------------------------------------


def _model_nullable(model, source: str) -> bool | None:
    """Whether the value at `source` (dotted) of a `model` row can be null; None if unknown."""
    nullable = False
    for part in source.split("."):
        try:
            field = model._meta.get_field(part)
        except FieldDoesNotExist:
            field = next((f for f in model._meta.concrete_fields if f.attname == part), None)
            if field is None:
                return None
        if field.one_to_many or field.many_to_many:
            return None  # a list: empty, never null
        nullable = nullable or field.null
        if field.is_relation:
            model = field.related_model
    return nullable


def _output_serializers():
    for module in OUTPUT_MODULES:
        for name, cls in vars(module).items():
            if (
                inspect.isclass(cls)
                and issubclass(cls, serializers.Serializer)
                and cls.__module__ == module.__name__
                and name.endswith(("Output", "Schema"))
            ):
                yield cls


def _is_nullable(schema: dict, prop: dict) -> bool:
    if prop.get("nullable"):
        return True
    alternatives = prop.get("oneOf", []) + prop.get("anyOf", [])
    return any(_resolve(schema, alt).get("enum") == [None] for alt in alternatives)


def _null_gaps(schema, cls, model, component: str) -> list[str]:
    props = schema["components"]["schemas"][component]["properties"]
    gaps = []
    for name, field in cls().fields.items():
        if isinstance(field, serializers.SerializerMethodField):
            method = getattr(cls, field.method_name)
            may_be_null = "None" in str(inspect.signature(method).return_annotation)
        elif isinstance(field, serializers.BaseSerializer) and field.source == "*":
            gaps += _null_gaps(schema, type(field), model, type(field).__name__)
            continue
        elif model is None or isinstance(field, serializers.ListSerializer):
            continue
        else:
            may_be_null = bool(_model_nullable(model, field.source))
        if may_be_null and not _is_nullable(schema, props[name]):
            gaps.append(f"{component}.{name}")
    return gaps


def test_every_value_that_can_be_null_is_nullable_in_the_schema(schema):
    """A model field with null=True behind an output field, or a method field that may return
    None, must say `nullable: true` (a schema-driven client would otherwise reject the answer).
    Serializers over plain documents are covered by the conformance test below and by hand."""
    gaps = []
    for cls in _output_serializers():
        if cls.__name__ in schema["components"]["schemas"]:
            model = getattr(getattr(cls, "Meta", None), "model", None)
            gaps += _null_gaps(schema, cls, model, cls.__name__)
    assert not gaps, f"not nullable in the schema but can be null: {gaps}"
    documents = schema["components"]["schemas"]
    for component, name in [
        ("ChainVerdictOutput", "firstInvalid"),
        ("DatasetSchema", "rows"),
        ("EvaluationRunOutput", "referenceDataset"),
        ("ReportOutput", "downloadUrl"),
        ("RuleResultOutput", "exception"),
    ]:
        assert _is_nullable(schema, documents[component]["properties"][name]), (component, name)


# ---- real answers conform ------------------------------------------------------------------


def _url(world, walker, path: str, **override) -> str:
    """The schema path with real values for its `{name}` placeholders (or the given ones)."""
    names = [part[1:-1] for part in path.split("/") if part.startswith("{")]
    template = path
    for name in names:
        template = template.replace("{" + name + "}", f"%({'pk' if name == 'id' else name})s")
    route = walker.Route(template, tuple("pk" if n == "id" else n for n in names), None, "")
    return route.fill({**world.valid(route), **override})


def _check(schema, path, method, response) -> list[str]:
    where = f"{method.upper()} {response.request['PATH_INFO']} -> {response.status_code}"
    documented = schema["paths"][path][method]["responses"]
    spec = documented.get(str(response.status_code))
    if spec is None:
        return [f"{where}: status not documented ({sorted(documented)})"]
    content_type = response.get("Content-Type", "").split(";")[0]
    if "content" not in spec:
        return []
    if content_type not in spec["content"]:
        return [f"{where}: {content_type} not documented ({sorted(spec['content'])})"]
    if content_type != "application/json":
        return []
    body = response.json()
    node = spec["content"][content_type].get("schema", {})
    return [
        f"{where}: {'/'.join(map(str, e.absolute_path))}: {e.message[:200]}"
        for e in _validator(schema, node).iter_errors(body)
    ]


def test_real_answers_conform_to_the_schema(schema, world, walker_settings, client):
    """Every GET of the API with real ids as MRC (who reads everything) and as the Model Owner,
    and a sample of errors (unknown ids, NUL in the query, anonymous, refused, wrong content
    type, a conflict), checked against the schema: status documented, content type
    documented, and the body valid, nulls included."""
    failures, checked = [], 0
    users = world.users
    for path, method, operation in _operations(schema):
        url = _url(world, walker, path)
        if method == "get":
            for who in (Role.MRC, Role.MODEL_OWNER):
                client.force_login(users[who])
                failures += _check(schema, path, method, client.get(url))
                checked += 1
            failures += _check(schema, path, method, client.get(url + "?page=99999"))
        client.logout()
        failures += _check(schema, path, method, client.generic(method.upper(), url))
        client.force_login(users[Role.AUDITOR])
        response = client.generic(method.upper(), url + "?q=%00", b"{}", "application/json")
        failures += _check(schema, path, method, response)
        if "{id}" in path:
            unknown = _url(world, walker, path, pk="999999")
            failures += _check(schema, path, method, client.generic(method.upper(), unknown))
        if method in UNSAFE:
            client.force_login(users[Role.MODEL_OWNER])
            body = b'{"notAField": 1}'
            response = client.generic(method.upper(), url, body, "application/json")
            failures += _check(schema, path, method, response)
            if operation.get("requestBody"):
                response = client.generic(method.upper(), url, b"x", "text/plain")
                failures += _check(schema, path, method, response)
        checked += 3
    assert checked > 150
    assert not failures, "\n".join(failures[:40])


# ---- schema-driven fuzzing -----------------------------------------------------------------

FUZZED = schemathesis.openapi.from_dict(
    json.loads(OpenApiJsonRenderer().render(SchemaGenerator().get_schema(public=True)))
)
FUZZED.app = get_wsgi_application()  # in-process: no server, the test's own database
FUZZ_CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture
def mrc_token(world, walker_settings, db):
    """A token of the demo data's MRC member (who may read everything). The WSGI handler,
    unlike the test client, closes the database connection when a request finishes, which
    inside the test's transaction would lose it: held open here as the test client does."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    token, _ = Token.objects.get_or_create(user=world.users[Role.MRC])
    yield {"Authorization": f"Token {token.key}"}
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@FUZZED.parametrize()
@settings(
    # Deterministic and bounded: schemathesis' coverage examples (missing, wrong-typed and
    # boundary values of every parameter and body field) plus 3 generated cases per operation,
    # about 3,000 requests over the 63 operations, 45-50 s on SQLite and on PostgreSQL.
    max_examples=3,
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_schema_driven_fuzzing_finds_no_conformance_failure(case, mrc_token):
    """Every answer to schema-generated requests is no 5xx and is what the schema says:
    a documented status, a documented content type and headers, a body that validates."""
    case.call_and_validate(headers=mrc_token, checks=FUZZ_CHECKS)
