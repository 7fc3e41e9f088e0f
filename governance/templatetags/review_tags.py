"""The review form's checklist: the one of the role the viewer would approve in now."""

from django import template

from governance.choices import REVIEW_CHECKLISTS, ReviewChecklist
from governance.promotion import review_role

register = template.Library()


@register.simple_tag
def review_checklist(version, user) -> ReviewChecklist | None:
    """The MRC checklist for an MRC reviewer, the security review areas for a Security
    Architect, None for anyone who may not approve the version now."""
    role = review_role(version, user)
    return REVIEW_CHECKLISTS.get(role) if role else None
