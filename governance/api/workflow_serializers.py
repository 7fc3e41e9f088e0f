from __future__ import annotations

from rest_framework import serializers

from core.api.fields import MAX_TEXT, StrictInputSerializer
from governance.choices import MRC_CHECKLIST, SECURITY_CHECKLIST
from registry.choices import RiskTier


class ChecklistField(serializers.JSONField):
    """A review checklist: an object of its items, each true or false (an item left out is not
    ticked). Whether every item must be ticked is the domain's rule (governance/promotion.py),
    which answers 400 naming the items not ticked."""

    def __init__(self, items: dict[str, str], **kwargs):
        self.items = items
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        names = ", ".join(self.items)
        if not isinstance(data, dict):
            raise serializers.ValidationError(f"must be an object with the items {names}")
        unknown = sorted(set(data) - set(self.items))
        if unknown:
            raise serializers.ValidationError(
                f"unknown item(s) {', '.join(unknown)}; the items are {names}"
            )
        for item, value in data.items():
            if not isinstance(value, bool):
                raise serializers.ValidationError(f"{item} must be true or false")
        return {item: data.get(item, False) for item in self.items}


class ActionInput(StrictInputSerializer):
    comments = serializers.CharField(max_length=MAX_TEXT, allow_blank=True, default="")


class ApproveInput(ActionInput):
    """An MRC approval carries `checklist`, a Security Architect's `securityChecklist`, each
    with every item true."""

    checklist = ChecklistField(
        MRC_CHECKLIST,
        required=False,
        default=None,
        help_text="The MRC review checklist, every item true for an MRC approval: "
        + ", ".join(MRC_CHECKLIST),
    )
    security_checklist = ChecklistField(
        SECURITY_CHECKLIST,
        required=False,
        default=None,
        help_text="The guide's security review areas, every one true for a Security "
        "Architect's approval: " + ", ".join(SECURITY_CHECKLIST),
    )


class TierChangeInput(StrictInputSerializer):
    requested_tier = serializers.ChoiceField(choices=RiskTier.choices)
    justification = serializers.CharField(max_length=MAX_TEXT)
