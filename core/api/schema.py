"""The API's error answers in the OpenAPI schema, added once to every operation.

Every error the API gives comes from one of a few places — the exception handler
(core/api/exception_handler.py), DRF's authentication, permissions, throttling, parsers and
content negotiation, and the request guard (core/request_guard.py) — and has one of three
shapes:

- `{"detail": "..."}`: 401, 403, 404, 415, 429, and a 400 that is not about one field;
- `{"<field>": ["message", ...]}`: a 400 naming the fields (nested for nested fields), with
  `nonFieldErrors` for a problem of the whole body;
- `{"detail": "...", "state": "..."}`: a 409 (a blocked request-production adds `failures`
  and `policyEvaluation`; a conflict with data saved meanwhile has no `state`).

Which errors an operation can give follows from what it is: any can be a 400 (a NUL in the
query, a filter value it refuses) and a 404 (an unknown object, page or ?format=); one that
needs authentication can be a 401 and a 403; a throttled one a 429; one with a body a 415; a
write a 409. So the postprocessing hook below adds them from those facts rather than every
view repeating them; a response a view documents itself keeps its description and gets the
shape when it had none.
"""

from __future__ import annotations

ERROR = "Error"
VALIDATION_ERROR = "ValidationError"
CONFLICT = "Conflict"
UNSAFE = {"post", "put", "patch", "delete"}
METHODS = UNSAFE | {"get", "head", "options", "trace"}

COMPONENTS = {
    ERROR: {
        "type": "object",
        "description": "An error: `detail` says what was wrong or which rule refused.",
        "properties": {"detail": {"type": "string"}},
        "required": ["detail"],
    },
    VALIDATION_ERROR: {
        "type": "object",
        "description": (
            'Invalid input: {"<field>": ["message", ...]} for each field at fault (an object '
            "for a nested field), `nonFieldErrors` for the body as a whole, or "
            '{"detail": "..."} for a request refused as a whole (e.g. a NUL in the query).'
        ),
        "properties": {
            "detail": {"type": "string"},
            "nonFieldErrors": {"type": "array", "items": {"type": "string"}},
        },
        "additionalProperties": {
            "oneOf": [{"type": "array", "items": {}}, {"type": "object"}],
        },
    },
    CONFLICT: {
        "type": "object",
        "description": (
            "Not possible in the object's current state (`state`, where the object has one), "
            "or in conflict with data saved meanwhile."
        ),
        "properties": {
            "detail": {"type": "string"},
            "state": {"type": "string"},
            "failures": {
                "type": "array",
                "items": {"type": "object"},
                "description": "request-production: the ENFORCE policies that failed",
            },
            "policyEvaluation": {
                "type": "object",
                "description": "request-production: the gate run that blocked it",
            },
        },
        "required": ["detail"],
    },
}

RETRY_AFTER = {
    "Retry-After": {
        "schema": {"type": "integer"},
        "description": "seconds to wait before trying again",
    }
}
WWW_AUTHENTICATE = {
    "WWW-Authenticate": {"schema": {"type": "string"}, "description": 'e.g. "Token"'}
}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _throttled_operations(generator) -> set[tuple[str, str]] | None:
    """(path, method) of the operations whose view has a throttle, or None when the generator
    does not say (then every operation is taken to be throttled, as DRF's default is)."""
    endpoints = getattr(generator, "endpoints", None)
    if not endpoints:
        return None
    throttled = set()
    for path, _regex, method, callback in endpoints:
        view = generator.create_view(callback, method)
        if view.get_throttles():
            throttled.add((generator.coerce_path(path, method, view), method.lower()))
    return throttled


def _standard_errors(path: str, method: str, operation: dict, throttled) -> dict[str, tuple]:
    """status -> (description, schema component, headers) of the errors this one can give."""
    has_id = "{" in path
    anonymous_ok = {} in operation.get("security", [{}])
    paginated = any(p.get("name") == "page" for p in operation.get("parameters", []))
    errors = {
        "400": ("invalid input", VALIDATION_ERROR, None),
        "404": (
            "no such object, or one you may not see"
            if has_id
            else "no such page (?page=)"
            if paginated
            else "an unknown ?format=",
            ERROR,
            None,
        ),
    }
    if not anonymous_ok:
        errors["401"] = ("not authenticated: no or an unknown token", ERROR, WWW_AUTHENTICATE)
        errors["403"] = ("authenticated but not allowed: detail names the rule", ERROR, None)
    if method in UNSAFE:
        errors["409"] = ("not possible in the current state", CONFLICT, None)
    body = operation.get("requestBody", {}).get("content", {})
    if body:
        errors["415"] = (f"the body is not {' or '.join(sorted(body))}", ERROR, None)
    if throttled is None or (path, method) in throttled:
        errors["429"] = ("too many requests: Retry-After says when to retry", ERROR, RETRY_AFTER)
    return errors


def add_error_responses(result, generator, request, public):
    """drf-spectacular postprocessing hook (SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"])."""
    result.setdefault("components", {}).setdefault("schemas", {}).update(COMPONENTS)
    throttled = _throttled_operations(generator)
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in METHODS:
                continue
            responses = operation.setdefault("responses", {})
            for status, (description, component, headers) in _standard_errors(
                path, method, operation, throttled
            ).items():
                response = responses.setdefault(status, {"description": description})
                if not response.get("description"):
                    response["description"] = description
                response.setdefault("content", {"application/json": {"schema": _ref(component)}})
                if headers:
                    response.setdefault("headers", headers)
            # Errors a view documents beyond these (e.g. 409 on a GET) get the shape too.
            for status, response in responses.items():
                if status.startswith(("4", "5")) and "content" not in response:
                    component = CONFLICT if status == "409" else ERROR
                    response["content"] = {"application/json": {"schema": _ref(component)}}
    return result
