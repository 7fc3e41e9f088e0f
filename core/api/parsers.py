"""A JSON parser that answers every malformed body with 400 instead of a server error.

DRF's stock parser lets a deeply nested document raise RecursionError (a 500), and passes on
lone surrogates and NUL characters that PostgreSQL refuses later (another 500). This one caps
the body size and nesting depth, refuses NaN/Infinity, and checks every string once.
"""

from __future__ import annotations

import json

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser

from core.text import UNSTORABLE

MAX_DEPTH = 32


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


def check_structure(value, *, max_depth: int = MAX_DEPTH) -> None:
    """Walk the parsed document without recursion; refuse deep nesting and bad characters."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            if depth > max_depth:
                raise ParseError(f"JSON nested deeper than {max_depth} levels")
            for key, item in node.items():
                if UNSTORABLE.search(key):
                    raise ParseError("JSON keys may not contain NUL or unpaired surrogates")
                stack.append((item, depth + 1))
        elif isinstance(node, list):
            if depth > max_depth:
                raise ParseError(f"JSON nested deeper than {max_depth} levels")
            stack.extend((item, depth + 1) for item in node)
        elif isinstance(node, str) and UNSTORABLE.search(node):
            raise ParseError("JSON strings may not contain NUL characters or unpaired surrogates")


def loads(raw: bytes | str):
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as exc:
        raise ParseError(f"request body is not UTF-8: {exc.reason} at byte {exc.start}") from exc
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except RecursionError as exc:
        raise ParseError(f"JSON nested deeper than {MAX_DEPTH} levels") from exc
    except ValueError as exc:
        raise ParseError(f"JSON parse error - {exc}") from exc
    check_structure(value)
    return value


class StrictJSONParser(BaseParser):
    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise ParseError(f"request body larger than {limit} bytes")
        if not raw.strip():
            return {}
        return loads(raw)
