import json

from django import template

register = template.Library()


@register.filter
def as_json(value) -> str:
    """Compact, sorted JSON for showing a details object; empty objects show as nothing."""
    if value in (None, {}, [], ""):
        return ""
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


@register.filter
def lookup(mapping, key):
    """`mapping[key]`, or None when `mapping` is not a mapping or has no such key (a metric's
    value or reason by its name, in a loop over names)."""
    if isinstance(mapping, dict):
        return mapping.get(key)
    return None


@register.filter
def plain(value) -> str:
    """A number, or an object of counts as "members 2000, nonMembers 2000": a method's sample
    in words, for the run page."""
    if isinstance(value, dict):
        return ", ".join(f"{key} {item}" for key, item in value.items())
    if value is None or value == "":
        return "\u2013"  # an en dash: no value
    return str(value)
