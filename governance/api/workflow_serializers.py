from __future__ import annotations

from rest_framework import serializers

from core.api.fields import MAX_TEXT, StrictInputSerializer
from governance.choices import MRC_CHECKLIST
from registry.choices import RiskTier


class ChecklistField(serializers.JSONField):
    """The guide's MRC review checklist: its five items, each true or false."""

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError(
                f"must be an object with the items {', '.join(MRC_CHECKLIST)}"
            )
        unknown = sorted(set(data) - set(MRC_CHECKLIST))
        if unknown:
            raise serializers.ValidationError(
                f"unknown item(s) {', '.join(unknown)}; the items are {', '.join(MRC_CHECKLIST)}"
            )
        for item, value in data.items():
            if not isinstance(value, bool):
                raise serializers.ValidationError(f"{item} must be true or false")
        return {item: data.get(item, False) for item in MRC_CHECKLIST}


class ActionInput(StrictInputSerializer):
    comments = serializers.CharField(max_length=MAX_TEXT, allow_blank=True, default="")


class ApproveInput(ActionInput):
    checklist = ChecklistField(required=False, default=None)


class TierChangeInput(StrictInputSerializer):
    requested_tier = serializers.ChoiceField(choices=RiskTier.choices)
    justification = serializers.CharField(max_length=MAX_TEXT)
