"""The public shapes, pinned: the OpenAPI schema as it stands is committed in
`openapi_snapshot.json`, and any change to a path, parameter, field name, type, nullability or
response shows up here as a failing diff.

A refactor of serializers (one base for camelCase, one serializer per shape) must leave this
test green; a change that means to alter the contract rewrites the snapshot on purpose with
`SCHEMA_SNAPSHOT_WRITE=1 pytest tests/governance/test_openapi_snapshot.py` and the diff is
reviewed with the change."""

from __future__ import annotations

import json
import os
from pathlib import Path

from drf_spectacular.generators import SchemaGenerator

SNAPSHOT = Path(__file__).with_name("openapi_snapshot.json")


def _portable(node):
    """Integer bounds come from the database backend (a PositiveIntegerField is int64 on
    SQLite, int32 on PostgreSQL); the shapes pinned here are the ones every backend shares."""
    if isinstance(node, dict):
        drop = {"maximum", "minimum", "format"} if node.get("type") == "integer" else set()
        return {k: _portable(v) for k, v in node.items() if k not in drop}
    if isinstance(node, list):
        return [_portable(v) for v in node]
    return node


def _current() -> dict:
    # Through JSON so that enums, lazy strings and tuples compare as the served schema does.
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return _portable(json.loads(json.dumps(schema, sort_keys=True, default=str)))


def test_the_schema_matches_the_committed_snapshot():
    current = _current()
    if os.environ.get("SCHEMA_SNAPSHOT_WRITE") == "1":
        SNAPSHOT.write_text(json.dumps(current, indent=1, sort_keys=True) + "\n")
    pinned = _portable(json.loads(SNAPSHOT.read_text()))
    changed_paths = sorted(set(pinned["paths"]) ^ set(current["paths"]))
    assert not changed_paths, f"paths added or removed: {changed_paths}"
    changed = sorted(
        name
        for name in set(pinned["components"]["schemas"]) | set(current["components"]["schemas"])
        if pinned["components"]["schemas"].get(name) != current["components"]["schemas"].get(name)
    )
    assert not changed, f"component schemas changed: {changed}"
    operations = sorted(
        path for path in pinned["paths"] if pinned["paths"][path] != current["paths"][path]
    )
    assert not operations, f"operations changed: {operations}"
    assert pinned == current
