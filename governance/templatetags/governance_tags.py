import json

from django import template

register = template.Library()


@register.filter
def as_json(value) -> str:
    """Compact, sorted JSON for showing a details object; empty objects show as nothing."""
    if value in (None, {}, [], ""):
        return ""
    return json.dumps(value, sort_keys=True, ensure_ascii=False)
