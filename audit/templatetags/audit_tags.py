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
