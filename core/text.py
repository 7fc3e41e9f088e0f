"""Make user-derived text safe to store: PostgreSQL refuses NUL and lone surrogates in text and
jsonb, and column names, group labels and file names all come from uploaded data."""

from __future__ import annotations

import re
from typing import Any

# NUL and lone surrogates: what PostgreSQL cannot store (the JSON parser refuses them too).
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def clean_text(value: Any, max_length: int | None = None) -> str:
    text = UNSTORABLE.sub("\ufffd", str(value))
    if max_length is not None and len(text) > max_length:
        text = text[: max_length - 1] + "\u2026"
    return text


def clean_json(value: Any) -> Any:
    """A copy of a JSON value with every string (keys too) passed through clean_text."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_text(k): clean_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean_json(v) for v in value]
    return value
