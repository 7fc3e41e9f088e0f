"""Approving in tests as reviewers do: with every item of their role's checklist ticked."""

from __future__ import annotations

from governance.choices import REVIEW_CHECKLISTS
from governance.promotion import review_role
from registry.models import ModelVersion


def ticked(role: str) -> dict:
    """The API body part of an approval in `role`: its checklist, every item true."""
    checklist = REVIEW_CHECKLISTS[role]
    return {checklist.field: dict.fromkeys(checklist.items, True)}


def ticked_kwargs(role: str) -> dict:
    """The same, as promotion.approve_version takes it."""
    checklist = REVIEW_CHECKLISTS[role]
    return {checklist.attribute: dict.fromkeys(checklist.items, True)}


def approve_kwargs_for(user, version) -> dict:
    """ticked_for, as promotion.approve_version takes it."""
    current = ModelVersion.objects.select_related("model").get(pk=version.pk)
    role = review_role(current, user)
    return ticked_kwargs(role) if role else {}


def ticked_for(user, version) -> dict:
    """The whole checklist of the role `user` would approve `version` in now; nothing when
    they may not approve it (the refusal under test then comes before any checklist)."""
    current = ModelVersion.objects.select_related("model").get(pk=version.pk)
    role = review_role(current, user)
    return ticked(role) if role else {}
