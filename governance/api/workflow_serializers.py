from __future__ import annotations

from rest_framework import serializers

from core.api.fields import MAX_TEXT, StrictInputSerializer, UsernameField
from governance.choices import MRC_CHECKLIST
from governance.models import Approval, Notification, RiskTierChangeRequest, StateTransition
from governance.tier_changes import required_roles
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


class TransitionOutput(serializers.ModelSerializer):
    fromState = serializers.CharField(source="from_state")
    toState = serializers.CharField(source="to_state")
    user = serializers.SerializerMethodField()

    class Meta:
        model = StateTransition
        fields = ["id", "fromState", "toState", "action", "user", "timestamp", "comments"]

    def get_user(self, obj) -> str:
        return obj.user.username if obj.user_id else "system"


class ApprovalOutput(serializers.ModelSerializer):
    user = UsernameField()
    createdAt = serializers.DateTimeField(source="created_at")

    class Meta:
        model = Approval
        fields = [
            "id",
            "version",
            "stage",
            "environment",
            "cycle",
            "decision",
            "user",
            "role",
            "comments",
            "checklist",
            "createdAt",
        ]


class TierChangeInput(StrictInputSerializer):
    requestedTier = serializers.ChoiceField(choices=RiskTier.choices, source="requested_tier")
    justification = serializers.CharField(max_length=MAX_TEXT)


class TierDecisionOutput(serializers.Serializer):
    role = serializers.CharField()
    user = serializers.CharField(source="user.username")
    decision = serializers.CharField()
    comments = serializers.CharField()
    at = serializers.DateTimeField(source="created_at")


class TierChangeOutput(serializers.ModelSerializer):
    model = serializers.IntegerField(source="model_id")
    fromTier = serializers.CharField(source="from_tier")
    requestedTier = serializers.CharField(source="requested_tier")
    requestedBy = UsernameField(source="requested_by")
    createdAt = serializers.DateTimeField(source="created_at")
    decidedAt = serializers.DateTimeField(source="decided_at", allow_null=True)
    requiredRoles = serializers.SerializerMethodField()
    decisions = TierDecisionOutput(many=True)

    class Meta:
        model = RiskTierChangeRequest
        fields = [
            "id",
            "model",
            "fromTier",
            "requestedTier",
            "justification",
            "status",
            "requestedBy",
            "createdAt",
            "decidedAt",
            "requiredRoles",
            "decisions",
        ]

    def get_requiredRoles(self, obj) -> list[str]:
        return list(required_roles(obj))


class NotificationOutput(serializers.ModelSerializer):
    createdAt = serializers.DateTimeField(source="created_at")
    readAt = serializers.DateTimeField(source="read_at", allow_null=True)

    class Meta:
        model = Notification
        fields = ["id", "kind", "message", "url", "version", "createdAt", "readAt"]
