import json

from django import template

from core.access import is_allowed
from core.choices import Action

register = template.Library()


@register.filter
def may_export_evidence(user, model) -> bool:
    """{% if user|may_export_evidence:model %}: may the user download the evidence bundle of
    a version of `model`."""
    return is_allowed(user, Action.EXPORT_EVIDENCE, model=model)


@register.filter
def isotext(value) -> str:
    """'2026-11-25T05:07:51.49+00:00' -> '2026-11-25 05:07' (UTC timestamps of documents)."""
    if not value:
        return ""
    return str(value)[:16].replace("T", " ")


@register.filter
def pretty_json(value) -> str:
    """An event's details indented for reading (sorted keys, non-ASCII as written); empty
    details show as nothing."""
    if value in (None, {}, [], ""):
        return ""
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)


SUMMARY_KEYS = 3
SUMMARY_VALUE_CHARS = 40


@register.filter
def details_summary(value) -> str:
    """One line for a details object's <summary>: its first keys and short values
    ('comments: looks fine · role: MRC · …'), the whole object behind it."""
    if value in (None, {}, [], ""):
        return ""
    if not isinstance(value, dict):
        return _short(value)
    items = sorted(value.items())
    parts = [f"{key}: {_short(item)}" for key, item in items[:SUMMARY_KEYS]]
    if len(items) > SUMMARY_KEYS:
        parts.append(f"+{len(items) - SUMMARY_KEYS} more")
    return " · ".join(parts)


def _short(value) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= SUMMARY_VALUE_CHARS else text[: SUMMARY_VALUE_CHARS - 1] + "…"
