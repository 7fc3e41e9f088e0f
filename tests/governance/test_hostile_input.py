"""Hostile input: 4xx and never 5xx on bad input, and nothing written.

Malformed, deeply nested or huge JSON, wrong types, 1 MB strings, unknown ids, lone surrogates,
NUL characters, invalid UTF-8, wrong content types and junk query parameters, sent to every
endpoint that takes a body or an id. PostgreSQL refuses NUL and lone surrogates in text and
jsonb, so those must be refused before they reach the database (run this file on PostgreSQL
too).
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from urllib.parse import urlencode

import pytest
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token

from audit.models import AuditEvent
from audit.services import record_event
from core.choices import Role
from registry.models import Artifact, ModelVersion, RegisteredModel
from tests.factories import (
    PASSWORD,
    ArtifactFactory,
    ModelVersionFactory,
    RegisteredModelFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

MB = 1024 * 1024
HOLE = "__HOSTILE__"
KEY_HOLE = "__HOSTILE_KEY__"
ASSESSMENT = {
    "businessImpact": "LOW",
    "customerExposure": "LOW",
    "financialImpact": "LOW",
    "regulatoryScope": "LOW",
    "dataSensitivity": "LOW",
    "automationLevel": "LOW",
}


# ---- the endpoints that take a body, each with a body it accepts ---------------------------


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # formatted with model, version, artifact ids
    body: dict
    strings: tuple[tuple[str, ...], ...]  # paths to string values
    objects: tuple[tuple[str, ...], ...] = ()  # paths to values that must be objects
    dicts: tuple[tuple[str, ...], ...] = ((),)  # objects a hostile key can be put into
    authenticated: bool = True
    role: str = Role.MODEL_OWNER  # who sends it (the target's owner, or someone of this role)


ENDPOINTS = {
    "POST models": Endpoint(
        "POST",
        "/api/v1/models/",
        {"name": "brand-new", "description": "d", "riskTier": "MEDIUM", "tags": {"k": "v"}},
        strings=(("name",), ("description",), ("riskTier",), ("tags", "k")),
        objects=(("tags",),),
        dicts=((), ("tags",)),
    ),
    "POST models (assessment)": Endpoint(
        "POST",
        "/api/v1/models/",
        {"name": "assessed", "riskAssessment": dict(ASSESSMENT)},
        strings=(("riskAssessment", "businessImpact"),),
        objects=(("riskAssessment",),),
        dicts=(("riskAssessment",),),
    ),
    "PATCH model": Endpoint(
        "PATCH",
        "/api/v1/models/{model}/",
        {"name": "renamed", "description": "d2", "tags": {"k": "v2"}},
        strings=(("name",), ("description",), ("tags", "k")),
        objects=(("tags",),),
        dicts=((), ("tags",)),
    ),
    "POST versions": Endpoint(
        "POST",
        "/api/v1/models/{model}/versions/",
        {"version": "7.0", "description": "d", "documentation": {"use": "x"}, "tags": {"k": "v"}},
        strings=(("version",), ("description",), ("documentation", "use"), ("tags", "k")),
        objects=(("tags",),),
        dicts=((), ("tags",), ("documentation",)),
    ),
    "PATCH version": Endpoint(
        "PATCH",
        "/api/v1/versions/{version}/",
        {"description": "d3", "documentation": "# new", "tags": {"k": "v3"}},
        strings=(("description",), ("documentation",), ("tags", "k")),
        objects=(("tags",),),
        dicts=((), ("tags",)),
    ),
    "POST artifacts": Endpoint(
        "POST",
        "/api/v1/versions/{version}/artifacts/",
        {
            "name": "m.onnx",
            "type": "model",
            "uri": "s3://b/m.onnx",
            "sha256": "ab" * 32,
        },
        strings=(("name",), ("type",), ("uri",), ("sha256",)),
    ),
    "PATCH artifact": Endpoint(
        "PATCH",
        "/api/v1/artifacts/{artifact}/",
        {"uri": "s3://b/moved.onnx", "name": "moved.onnx"},
        strings=(("uri",), ("name",)),
    ),
    # A scan result comes from a Security Architect or a Scanner, never the owner.
    "PATCH artifact scan": Endpoint(
        "PATCH",
        "/api/v1/artifacts/{artifact}/",
        {"securityScan": {"status": "FAILED", "scanner": "grype", "findings": {"n": 1}}},
        strings=(("securityScan", "status"), ("securityScan", "scanner")),
        objects=(("securityScan",),),
        dicts=((), ("securityScan",), ("securityScan", "findings")),
        role=Role.SECURITY_ARCHITECT,
    ),
    "POST token": Endpoint(
        "POST",
        "/api/v1/auth/token/",
        {"username": "olivia", "password": PASSWORD},
        strings=(("username",), ("password",)),
        authenticated=False,
    ),
}


@dataclass
class Ids:
    model: int
    version: int
    artifact: int


@pytest.fixture
def ids(owner) -> Ids:
    model = RegisteredModelFactory(owner=owner, name="target-model")
    version = ModelVersionFactory(model=model, version="1.0")
    artifact = ArtifactFactory(version=version)
    for role in {e.role for e in ENDPOINTS.values()} - {Role.MODEL_OWNER}:
        UserFactory(username=_role_username(role), roles=[role])
    record_event("MODEL_REGISTRY", "REGISTER_MODEL", user=owner, model_id=model.pk)
    return Ids(model.pk, version.pk, artifact.pk)


def _snapshot():
    return {
        "counts": (
            RegisteredModel.objects.count(),
            ModelVersion.objects.count(),
            Artifact.objects.count(),
            AuditEvent.objects.count(),
            Token.objects.count(),
        ),
        "models": sorted(
            RegisteredModel.objects.values_list("pk", "name", "description", "tags", "updated_at")
        ),
        "versions": sorted(
            ModelVersion.objects.values_list(
                "pk", "version", "description", "documentation", "tags", "updated_at"
            )
        ),
        "artifacts": sorted(
            Artifact.objects.values_list("pk", "name", "uri", "scan_status", "updated_at")
        ),
    }


def _client(api, owner, endpoint: Endpoint):
    if not endpoint.authenticated:
        return api(None)
    if endpoint.role == Role.MODEL_OWNER:
        return api(owner)
    # Made by the `ids` fixture, before any snapshot is taken.
    return api(get_user_model().objects.get(username=_role_username(endpoint.role)))


def _role_username(role: str) -> str:
    return "hostile-" + role.lower().replace(" ", "-")


def _send(client, endpoint: Endpoint, ids: Ids, raw: bytes, content_type="application/json"):
    path = endpoint.path.format(model=ids.model, version=ids.version, artifact=ids.artifact)
    return client.generic(endpoint.method, path, data=raw, content_type=content_type)


def _refused(response, before, *, status: int | tuple[int, ...] | None = None) -> None:
    """4xx (the given one if the contract fixes it), a JSON body, and nothing written."""
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:300])
    if status is not None:
        allowed = status if isinstance(status, tuple) else (status,)
        assert response.status_code in allowed, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json")
    response.json()
    assert _snapshot() == before, "a refused request wrote something"


def _with(body: dict, path: tuple[str, ...], value) -> dict:
    body = copy.deepcopy(body)
    node = body
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return body


def _raw_value(endpoint: Endpoint, path: tuple[str, ...], literal: bytes) -> bytes:
    """The endpoint's valid body with the value at `path` replaced by raw JSON text."""
    body = json.dumps(_with(endpoint.body, path, HOLE)).encode()
    return body.replace(json.dumps(HOLE).encode(), literal)


def _raw_key(endpoint: Endpoint, where: tuple[str, ...], literal: bytes) -> bytes:
    """The endpoint's valid body with an extra key (raw JSON text) in the object at `where`."""
    body = copy.deepcopy(endpoint.body)
    node = body
    for key in where:
        node = node[key]
    node[KEY_HOLE] = "x"
    return json.dumps(body).encode().replace(json.dumps(KEY_HOLE).encode(), literal)


def _cases(kind: str):
    cases = []
    for name, endpoint in ENDPOINTS.items():
        paths = {
            "strings": endpoint.strings,
            # the parser refuses these whatever the field: a top-level and a nested string
            "probes": tuple(dict.fromkeys((endpoint.strings[0], endpoint.strings[-1]))),
            "objects": endpoint.objects,
            "dicts": endpoint.dicts,
        }[kind]
        cases.extend(pytest.param(name, p, id=f"{name}:{'.'.join(p) or '<top>'}") for p in paths)
    return cases


ENDPOINT_NAMES = list(ENDPOINTS)


# ---- controls: each base body is accepted, so the refusals below are about the hostile part --


@pytest.mark.parametrize("name", ENDPOINT_NAMES)
def test_the_valid_body_is_accepted(api, owner, ids, name):
    endpoint = ENDPOINTS[name]
    raw = json.dumps(endpoint.body).encode()
    response = _send(_client(api, owner, endpoint), endpoint, ids, raw)
    assert response.status_code in (200, 201), response.json()


@pytest.mark.parametrize("name", ENDPOINT_NAMES)
def test_a_valid_surrogate_pair_and_non_ascii_are_accepted(api, owner, ids, name):
    endpoint = ENDPOINTS[name]
    if not endpoint.authenticated:
        pytest.skip("a username with an emoji does not log in")
    paths = [p for p in endpoint.strings if p[-1] in ("description", "scanner", "k", "use")]
    if not paths:
        pytest.skip("no free-text field")
    path = paths[0]
    raw = _raw_value(endpoint, path, b'"caf\\u00e9 \\ud83d\\ude00 \xe6\x97\xa5\xe6\x9c\xac"')
    response = _send(_client(api, owner, endpoint), endpoint, ids, raw)
    assert response.status_code in (200, 201), response.json()


# ---- the whole body ------------------------------------------------------------------------

DEEP_ARRAYS = b"[" * 100_000 + b"]" * 100_000
DEEP_OBJECTS = b'{"a":' * 100_000 + b"1" + b"}" * 100_000
BODIES = {
    "truncated": b'{"name": ',
    "unquoted key": b"{name: 1}",
    "single quotes": b"{'name': 'x'}",
    "trailing comma": b'{"name": "x",}',
    "missing colon": b'{"name" "x"}',
    "unterminated string": b'{"name": "x}',
    "two documents": b'{"a": "b"}{"c": "d"}',
    "trailing junk": b'{"a": "b"} junk',
    "bare word": b"nul",
    "utf-8 bom": b'\xef\xbb\xbf{"name": "x"}',
    "raw control character": b'{"name": "a\x01b"}',
    "nul byte outside strings": b'{"name":\x00"x"}',
    "utf-16": '{"name": "x"}'.encode("utf-16"),
    "list": b"[]",
    "list of object": b'[{"name": "x", "riskTier": "LOW"}]',
    "number": b"1",
    "float": b"1.5",
    "string": b'"x"',
    "null": b"null",
    "true": b"true",
    "100000-deep arrays": DEEP_ARRAYS,
    "100000-deep objects": DEEP_OBJECTS,
    "100000-deep in a field": b'{"name": ' + DEEP_ARRAYS + b"}",
    "33-deep": b'{"tags": ' + b"[" * 33 + b"]" * 33 + b"}",
    "10 MB string": b'{"name": "' + b"a" * (10 * MB) + b'"}',
    "10 MB of whitespace": b" " * (10 * MB),
    "10 MB wide array": b"[" + b"0," * (5 * MB) + b"0]",
    "NaN": b'{"name": NaN}',
    "Infinity": b'{"name": Infinity}',
    "-Infinity": b'{"name": -Infinity}',
    "5000-digit integer": b'{"name": ' + b"9" * 5000 + b"}",
    "lone surrogate key": b'{"\\ud800": "x"}',
    "nul key": b'{"\\u0000": "x"}',
    "invalid utf-8": b'{"name": "\xff\xfe"}',
}


@pytest.mark.parametrize("name", ENDPOINT_NAMES)
@pytest.mark.parametrize("body", list(BODIES), ids=list(BODIES))
def test_hostile_bodies_are_400(api, owner, ids, name, body):
    endpoint = ENDPOINTS[name]
    before = _snapshot()
    response = _send(_client(api, owner, endpoint), endpoint, ids, BODIES[body])
    _refused(response, before, status=400)


# ---- one value at a time ------------------------------------------------------------------

HOSTILE_VALUES = {
    "NaN": b"NaN",
    "Infinity": b"Infinity",
    "-Infinity": b"-Infinity",
    "5000-digit integer": b"1" + b"0" * 4999,
    "lone high surrogate": b'"\\ud800"',
    "lone low surrogate": b'"a\\udfffb"',
    "reversed pair": b'"\\udc00\\ud800"',
    "NUL": b'"\\u0000"',
    "embedded NUL": b'"ab\\u0000cd"',
    "invalid utf-8": b'"\xff"',
    "overlong utf-8": b'"\xc0\xaf"',
    "utf-8 encoded surrogate": b'"\xed\xa0\x80"',
    "truncated utf-8": b'"\xe2\x82"',
    "40-deep array": b"[" * 40 + b"]" * 40,
    "100000-deep array": DEEP_ARRAYS,
    "100000-deep object": DEEP_OBJECTS,
}
WRONG_FOR_STRINGS = {
    "list": b'["x"]',
    "empty list": b"[]",
    "object": b'{"a": "b"}',
    "empty object": b"{}",
    "null": b"null",
    "true": b"true",
    "false": b"false",
    "nested list": b'[["x"]]',
}
WRONG_FOR_OBJECTS = {
    "list": b"[]",
    "list of object": b'[{"k": "v"}]',
    "string": b'"text"',
    "number": b"1",
    "true": b"true",
    "null": b"null",
}


@pytest.mark.parametrize(("name", "path"), _cases("probes"))
@pytest.mark.parametrize("value", list(HOSTILE_VALUES), ids=list(HOSTILE_VALUES))
def test_hostile_values_are_400(api, owner, ids, name, path, value):
    endpoint = ENDPOINTS[name]
    before = _snapshot()
    raw = _raw_value(endpoint, path, HOSTILE_VALUES[value])
    response = _send(_client(api, owner, endpoint), endpoint, ids, raw)
    _refused(response, before, status=400)


@pytest.mark.parametrize(("name", "path"), _cases("strings"))
def test_a_1_mb_string_in_any_field_is_400(api, owner, ids, name, path):
    endpoint = ENDPOINTS[name]
    before = _snapshot()
    raw = _raw_value(endpoint, path, b'"' + b"x" * MB + b'"')
    response = _send(_client(api, owner, endpoint), endpoint, ids, raw)
    _refused(response, before, status=400)
    if endpoint.authenticated:
        assert path[0] in response.json(), "the answer names the field"


@pytest.mark.parametrize(("name", "path"), _cases("strings"))
@pytest.mark.parametrize("value", list(WRONG_FOR_STRINGS), ids=list(WRONG_FOR_STRINGS))
def test_wrong_types_for_string_fields_are_400(api, owner, ids, name, path, value):
    if path == ("documentation",) and value in ("object", "empty object"):
        pytest.skip("documentation may also be an object of strings")
    endpoint = ENDPOINTS[name]
    before = _snapshot()
    raw = _raw_value(endpoint, path, WRONG_FOR_STRINGS[value])
    response = _send(_client(api, owner, endpoint), endpoint, ids, raw)
    _refused(response, before, status=400)
    if endpoint.authenticated:
        assert path[0] in response.json(), "the answer names the field"


@pytest.mark.parametrize(("name", "path"), _cases("objects"))
@pytest.mark.parametrize("value", list(WRONG_FOR_OBJECTS), ids=list(WRONG_FOR_OBJECTS))
def test_wrong_types_for_object_fields_are_400(api, owner, ids, name, path, value):
    endpoint = ENDPOINTS[name]
    before = _snapshot()
    raw = _raw_value(endpoint, path, WRONG_FOR_OBJECTS[value])
    response = _send(_client(api, owner, endpoint), endpoint, ids, raw)
    _refused(response, before, status=400)
    assert path[0] in response.json(), "the answer names the field"


@pytest.mark.parametrize(
    ("name", "path", "value"),
    [
        ("POST versions", ("documentation",), b"42"),
        ("POST versions", ("documentation",), b'["a"]'),
        ("POST versions", ("documentation",), b'{"a": 1}'),
        ("POST versions", ("documentation",), b'{"a": null}'),
        ("POST versions", ("documentation",), b'{"a": {"b": "c"}}'),
        ("POST versions", ("documentation",), b'"' + b"d" * MB + b'"'),
        ("POST versions", ("tags",), json.dumps({f"k{i}": "v" for i in range(10_000)}).encode()),
        ("POST versions", ("tags",), b'{"' + b"k" * MB + b'": "v"}'),
        ("POST versions", ("tags",), b'{"": "v"}'),
        ("POST models", ("riskAssessment",), b'{"businessImpact": 1}'),
        ("POST models", ("riskAssessment",), b"{}"),
        ("POST models", ("riskTier",), b'"<script>alert(1)</script>"'),
        ("PATCH artifact scan", ("securityScan",), b"{}"),
        ("PATCH artifact scan", ("securityScan", "scannedAt"), b'"garbage"'),
        ("PATCH artifact scan", ("securityScan", "scannedAt"), b'"2024-13-45T99:99:99Z"'),
        ("PATCH artifact scan", ("securityScan", "scannedAt"), b"5"),
        ("PATCH artifact scan", ("securityScan", "scannedAt"), b'"99999-01-01T00:00:00Z"'),
        ("POST artifacts", ("sha256",), b'"' + b"a" * 63 + b'\\u0430"'),
        ("POST artifacts", ("uri",), b'"no scheme"'),
        ("PATCH artifact scan", ("securityScan",), b'{"status": "PASSED", "extra": 1}'),
        ("PATCH version", ("documentation",), b"null"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_field_specific_bad_values_are_400(api, owner, ids, name, path, value):
    endpoint = ENDPOINTS[name]
    before = _snapshot()
    response = _send(
        _client(api, owner, endpoint), endpoint, ids, _raw_value(endpoint, path, value)
    )
    _refused(response, before, status=400)
    assert path[0] in response.json()


@pytest.mark.parametrize(("name", "path"), _cases("strings"))
def test_numbers_are_not_taken_for_strings(api, owner, ids, name, path):
    """A number where the contract wants a string is a wrong type, not a string to coerce
    (as `tags` values already are: {"a": 1} is refused)."""
    endpoint = ENDPOINTS[name]
    before = _snapshot()
    raw = _raw_value(endpoint, path, b"12345")
    response = _send(_client(api, owner, endpoint), endpoint, ids, raw)
    _refused(response, before, status=400)


@pytest.mark.parametrize(
    "findings",
    [b"1e400", b"-1e400", b'{"score": 1e999}', b"[1e400]"],
    ids=["1e400", "-1e400", "nested 1e999", "in a list"],
)
def test_numbers_overflowing_to_infinity_are_400(api, owner, ids, findings):
    """`1e400` is valid JSON syntax but parses to an infinite float, which is not JSON."""
    endpoint = ENDPOINTS["PATCH artifact scan"]
    before = _snapshot()
    raw = _raw_value(endpoint, ("securityScan", "findings"), findings)
    response = _send(_client(api, owner, endpoint), endpoint, ids, raw)
    _refused(response, before, status=400)


HOSTILE_KEYS = {
    "lone surrogate": b'"\\ud800"',
    "low surrogate": b'"k\\udc00"',
    "NUL": b'"\\u0000"',
    "embedded NUL": b'"k\\u0000k"',
    "invalid utf-8": b'"\xff"',
    "1 MB key": b'"' + b"k" * MB + b'"',
}


@pytest.mark.parametrize(("name", "where"), _cases("dicts"))
@pytest.mark.parametrize("key", list(HOSTILE_KEYS), ids=list(HOSTILE_KEYS))
def test_hostile_keys_are_400(api, owner, ids, name, where, key):
    if key == "1 MB key" and where[-1:] == ("findings",):
        pytest.skip("scan findings are free-form evidence, bounded only by the body size")
    endpoint = ENDPOINTS[name]
    before = _snapshot()
    raw = _raw_key(endpoint, where, HOSTILE_KEYS[key])
    response = _send(_client(api, owner, endpoint), endpoint, ids, raw)
    _refused(response, before, status=400)


# ---- content types ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ENDPOINT_NAMES)
@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/xml", "application/javascript", "image/png", "application/json5"],
)
def test_wrong_content_type_is_415(api, owner, ids, name, content_type):
    endpoint = ENDPOINTS[name]
    before = _snapshot()
    raw = json.dumps(endpoint.body).encode()
    response = _send(_client(api, owner, endpoint), endpoint, ids, raw, content_type=content_type)
    _refused(response, before, status=415)


MULTIPART_JUNK = {
    "junk without boundary": ("multipart/form-data", b"\x00\xff junk \r\n--"),
    "junk with boundary": ("multipart/form-data; boundary=xyz", b"\x00\xff junk \r\n--"),
    "bad boundary": ("multipart/form-data; boundary=" + "x" * 100, b"--"),
    "unterminated part": (
        "multipart/form-data; boundary=xyz",
        b'--xyz\r\nContent-Disposition: form-data; name="name"\r\n\r\nabc',
    ),
    "part without name": (
        "multipart/form-data; boundary=xyz",
        b"--xyz\r\nContent-Disposition: form-data\r\n\r\nabc\r\n--xyz--\r\n",
    ),
    "binary junk part": (
        "multipart/form-data; boundary=xyz",
        b'--xyz\r\nContent-Disposition: form-data; name="\xff\x00"\r\n\r\n\xff\xfe\r\n--xyz--\r\n',
    ),
}


@pytest.mark.parametrize("name", ENDPOINT_NAMES)
@pytest.mark.parametrize("junk", list(MULTIPART_JUNK), ids=list(MULTIPART_JUNK))
def test_multipart_junk_is_refused(api, owner, ids, name, junk):
    endpoint = ENDPOINTS[name]
    before = _snapshot()
    content_type, raw = MULTIPART_JUNK[junk]
    response = _send(_client(api, owner, endpoint), endpoint, ids, raw, content_type=content_type)
    _refused(response, before, status=(400, 415))


def _multipart(fields: dict[str, str]) -> tuple[str, bytes]:
    parts = [
        f'--xyz\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in fields.items()
    ]
    return "multipart/form-data; boundary=xyz", b"".join(parts) + b"--xyz--\r\n"


@pytest.mark.parametrize(
    ("name", "fields"),
    [
        ("POST versions", {"version": "8.0", "documentation": "doc\x00with NUL"}),
        ("PATCH version", {"documentation": "doc\x00with NUL"}),
        ("POST models", {"name": "n\x00ul", "riskTier": "MEDIUM"}),
        ("POST models", {"name": "nul-desc", "description": "a\x00b", "riskTier": "MEDIUM"}),
        (
            "POST artifacts",
            {"name": "a\x00", "type": "model", "uri": "s3://b/x", "sha256": "a" * 64},
        ),
        ("POST token", {"username": "olivia\x00", "password": PASSWORD}),
    ],
    ids=[
        "version documentation",
        "patch documentation",
        "model name",
        "description",
        "artifact name",
        "token username",
    ],
)
@pytest.mark.parametrize("encoding", ["multipart", "urlencoded"])
def test_nul_in_a_form_body_is_refused_too(api, owner, ids, name, fields, encoding):
    """A form body must not carry NUL past the JSON parser's check into the database (the
    contract's bodies are JSON; refusing forms outright with 415 is fine)."""
    endpoint = ENDPOINTS[name]
    before = _snapshot()
    if encoding == "multipart":
        content_type, raw = _multipart(fields)
    else:
        content_type, raw = "application/x-www-form-urlencoded", urlencode(fields).encode()
    response = _send(_client(api, owner, endpoint), endpoint, ids, raw, content_type=content_type)
    _refused(response, before)


# ---- unknown ids in every path with an id --------------------------------------------------

UNKNOWN_IDS = ["999999", "-1", "0", "abc", str(2**70), str(2**63), "1e3", "%00", "%2e%2e"]
ID_PATHS = [
    ("GET", "/api/v1/models/{}/"),
    ("PATCH", "/api/v1/models/{}/"),
    ("GET", "/api/v1/models/{}/versions/"),
    ("POST", "/api/v1/models/{}/versions/"),
    ("GET", "/api/v1/versions/{}/"),
    ("PATCH", "/api/v1/versions/{}/"),
    ("GET", "/api/v1/versions/{}/artifacts/"),
    ("POST", "/api/v1/versions/{}/artifacts/"),
    ("GET", "/api/v1/artifacts/{}/"),
    ("PATCH", "/api/v1/artifacts/{}/"),
    ("GET", "/api/v1/audit-events/{}/"),
]
VALID_BODY = {
    "/api/v1/models/{}/": {"description": "x"},
    "/api/v1/models/{}/versions/": {"version": "5.0"},
    "/api/v1/versions/{}/": {"documentation": "x"},
    "/api/v1/versions/{}/artifacts/": ENDPOINTS["POST artifacts"].body,
    "/api/v1/artifacts/{}/": {"securityScan": {"status": "PASSED"}},
}


@pytest.mark.parametrize(("method", "path"), ID_PATHS, ids=[f"{m} {p}" for m, p in ID_PATHS])
@pytest.mark.parametrize("unknown", UNKNOWN_IDS)
@pytest.mark.parametrize("who", ["owner", "MRC"])
def test_unknown_ids_are_404(api, users, ids, method, path, unknown, who):
    client = api(users["Model Owner" if who == "owner" else who])
    before = _snapshot()
    raw = json.dumps(VALID_BODY.get(path, {})).encode()
    response = client.generic(
        method, path.format(unknown), data=raw, content_type="application/json"
    )
    if who == "owner" and path.startswith("/api/v1/audit-events/"):
        assert response.status_code in (403, 404)  # the owner may not read the trail at all
        return
    assert response.status_code == 404, (response.status_code, response.content[:300])
    assert _snapshot() == before


# ---- methods an endpoint does not have -----------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PUT", "/api/v1/models/{model}/"),
        ("DELETE", "/api/v1/models/{model}/"),
        ("PUT", "/api/v1/versions/{version}/"),
        ("DELETE", "/api/v1/versions/{version}/"),
        ("POST", "/api/v1/versions/"),
        ("PUT", "/api/v1/artifacts/{artifact}/"),
        ("DELETE", "/api/v1/artifacts/{artifact}/"),
        ("POST", "/api/v1/audit-events/"),
        ("PUT", "/api/v1/audit-events/{event}/"),
        ("PATCH", "/api/v1/audit-events/{event}/"),
        ("DELETE", "/api/v1/audit-events/{event}/"),
        ("POST", "/api/v1/audit-events/verify/"),
        ("GET", "/api/v1/auth/token/"),
        ("POST", "/api/v1/me/"),
    ],
)
def test_methods_an_endpoint_does_not_have_are_405(api, users, ids, method, path):
    event = AuditEvent.objects.order_by("seq").last()
    path = path.format(model=ids.model, version=ids.version, artifact=ids.artifact, event=event.pk)
    for who in ("Model Owner", "MRC"):
        before = _snapshot()
        response = api(users[who]).generic(
            method, path, data=b'{"description": "x"}', content_type="application/json"
        )
        _refused(response, before, status=405)


# ---- junk in query parameters --------------------------------------------------------------

LISTS = [
    "/api/v1/models/",
    "/api/v1/versions/",
    "/api/v1/audit-events/",
    "/api/v1/models/{model}/versions/",
    "/api/v1/versions/{version}/artifacts/",
]
# NUL in any query value is a 400 before any view (tests/governance/test_no_5xx.py).
JUNK_PAGES = ["page=999", "page=0", "page=-1", "page=abc", "page=1e3", f"page={2**70}"]
JUNK_FILTERS = {
    "/api/v1/models/": [
        "riskTier=<script>alert(1)</script>",
        "riskTier=low",
        "riskTier=%00",
        "search=" + "s" * 5000,
    ],
    "/api/v1/versions/": [
        "riskTier=<script>",
        "state=garbage",
        "model=abc",
        "model=1e400",
        "model=NaN",
        "state=%00",
    ],
    "/api/v1/audit-events/": [
        "since=garbage",
        "until=garbage",
        "since=2024-13-45",
        "since=99999-01-01T00:00:00Z",
        "modelId=abc",
        "versionId=NaN",
        "modelId=Infinity",
        "eventType=<script>",
        "userId=" + "u" * 5000,
    ],
}
# NUL in a filter is a 400 before any view, and junk in the pages' filters is walked with
# every other query value of every page: tests/governance/test_no_5xx.py.
HUGE_NUMBER_FILTERS = {
    "/api/v1/versions/": [f"model={2**70}", f"model=-{2**70}"],
    "/api/v1/audit-events/": [f"modelId={2**70}", f"versionId={2**64}"],
}


def _list_path(path: str, ids: Ids) -> str:
    return path.format(model=ids.model, version=ids.version)


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize("query", JUNK_PAGES)
def test_junk_page_numbers_are_404(api, users, ids, path, query):
    response = api(users["MRC"]).get(f"{_list_path(path, ids)}?{query}")
    assert response.status_code == 404, (response.status_code, response.content[:300])
    assert "detail" in response.json()


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize(
    "query", ["pageSize=-1", "pageSize=abc", "pageSize=0", f"pageSize={10**30}"]
)
def test_junk_page_sizes_fall_back_to_the_default(api, users, ids, path, query):
    """DRF ignores a page size that is not a positive integer; it must not be a 5xx."""
    response = api(users["MRC"]).get(f"{_list_path(path, ids)}?{query}")
    assert response.status_code == 200, (response.status_code, response.content[:300])
    assert set(response.json()) == {"count", "next", "previous", "results"}


def test_page_size_is_capped_at_500(api, users, owner):
    RegisteredModel.objects.bulk_create(
        RegisteredModel(name=f"bulk-{i:03}", owner=owner, risk_tier="LOW", risk_tier_reason="r")
        for i in range(501)
    )
    body = api(users["MRC"]).get("/api/v1/models/?pageSize=100000").json()
    assert body["count"] == 501
    assert len(body["results"]) == 500
    assert body["next"] is not None


@pytest.mark.parametrize(
    ("path", "query"), [(p, q) for p, queries in JUNK_FILTERS.items() for q in queries]
)
def test_junk_filters_are_400(api, users, ids, path, query):
    response = api(users["MRC"]).get(f"{path}?{query}")
    assert response.status_code == 400, (response.status_code, response.content[:300])


@pytest.mark.parametrize(
    ("path", "query"), [(p, q) for p, queries in HUGE_NUMBER_FILTERS.items() for q in queries]
)
def test_out_of_range_numbers_in_a_filter_are_not_a_server_error(api, users, ids, path, query):
    response = api(users["MRC"]).get(f"{path}?{query}")
    assert response.status_code in (200, 400), (response.status_code, response.content[:300])
    if response.status_code == 200:
        assert response.json()["results"] == []


# ---- headers and cookies -------------------------------------------------------------------

JUNK_TOKENS = {
    "NUL": "Token abc\x00def",
    "1 MB": "Token " + "a" * MB,
    "latin-1": "Token caf\xe9",
    "three words": "Token a b",
    "no key": "Token",
    "unknown": "Token " + "0" * 40,
    "basic junk": "Basic %%%",
}


@pytest.mark.parametrize("header", list(JUNK_TOKENS), ids=list(JUNK_TOKENS))
@pytest.mark.parametrize("path", ["/api/v1/me/", "/api/v1/models/"])
def test_junk_tokens_are_401(client, db, header, path):
    response = client.get(path, HTTP_AUTHORIZATION=JUNK_TOKENS[header])
    assert response.status_code == 401, (response.status_code, response.content[:300])


JUNK_SESSION_KEYS = {
    "NUL": '"\\000\\000\\000\\000\\000\\000\\000\\000\\000\\000"',
    "1 KB": "s" * 1024,
    "latin-1": "caf\xe9caf\xe9caf\xe9",
}


@pytest.mark.parametrize("key", list(JUNK_SESSION_KEYS), ids=list(JUNK_SESSION_KEYS))
@pytest.mark.parametrize("path", ["/api/v1/me/", "/models/"])
def test_junk_session_cookies_are_anonymous(client, db, key, path):
    client.cookies["sessionid"] = JUNK_SESSION_KEYS[key]
    response = client.get(path)
    assert response.status_code in (302, 401, 403), (response.status_code, response.content[:300])


@pytest.mark.parametrize(
    "user_agent", ["agent\x00nul", "x" * 100_000, "caf\xe9"], ids=["NUL", "100 KB", "latin-1"]
)
def test_a_junk_user_agent_is_not_a_server_error(api, owner, user_agent):
    response = api(owner).post(
        "/api/v1/models/",
        {"name": "ua-model", "riskTier": "MEDIUM"},
        format="json",
        HTTP_USER_AGENT=user_agent,
    )
    assert response.status_code == 201, (response.status_code, response.content[:300])
    event = AuditEvent.objects.get(action="REGISTER_MODEL")
    assert "\x00" not in event.user_agent
    assert len(event.user_agent) <= 512


@pytest.mark.parametrize(
    "forwarded",
    ["garbage", "1.2.3.4\x00", "999.999.999.999", "::ffff:zz", "<script>", ",,,", "a" * 5000],
)
def test_a_junk_forwarded_for_header_neither_blocks_writes_nor_lands_in_the_trail(
    api, owner, settings, forwarded
):
    settings.AUDIT_TRUSTED_PROXY_COUNT = 1
    response = api(owner).post(
        "/api/v1/models/",
        {"name": "proxied", "riskTier": "MEDIUM"},
        format="json",
        HTTP_X_FORWARDED_FOR=forwarded,
        REMOTE_ADDR="10.0.0.1",
    )
    assert response.status_code == 201, (response.status_code, response.content[:300])
    event = AuditEvent.objects.get(action="REGISTER_MODEL")
    assert event.ip_address in (None, "10.0.0.1")
