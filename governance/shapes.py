"""The published shapes of transitions, review decisions, tier changes and notifications: the API
and the evidence bundles write the same ones."""

from __future__ import annotations

from rest_framework import serializers

from core.api.fields import UsernameField
from core.api.serializers import ModelOutputSerializer
from governance.models import Approval, Notification, RiskTierChangeRequest, StateTransition
from governance.tier_changes import required_roles


class TransitionOutput(ModelOutputSerializer):
    from_state = serializers.CharField()
    to_state = serializers.CharField()
    user = serializers.SerializerMethodField()

    class Meta:
        model = StateTransition
        fields = ["id", "from_state", "to_state", "action", "user", "timestamp", "comments"]

    def get_user(self, obj) -> str:
        return obj.user.username if obj.user_id else "system"


class ApprovalOutput(ModelOutputSerializer):
    user = UsernameField()
    created_at = serializers.DateTimeField()

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
            "security_checklist",
            "created_at",
        ]


class TierDecisionOutput(serializers.Serializer):
    role = serializers.CharField()
    user = serializers.CharField(source="user.username")
    decision = serializers.CharField()
    comments = serializers.CharField()
    at = serializers.DateTimeField(source="created_at")


class TierChangeOutput(ModelOutputSerializer):
    model = serializers.IntegerField(source="model_id")
    from_tier = serializers.CharField()
    requested_tier = serializers.CharField()
    requested_by = UsernameField()
    created_at = serializers.DateTimeField()
    decided_at = serializers.DateTimeField(allow_null=True)
    required_roles = serializers.SerializerMethodField()
    decisions = TierDecisionOutput(many=True)

    class Meta:
        model = RiskTierChangeRequest
        fields = [
            "id",
            "model",
            "from_tier",
            "requested_tier",
            "justification",
            "status",
            "requested_by",
            "created_at",
            "decided_at",
            "required_roles",
            "decisions",
        ]

    def get_required_roles(self, obj) -> list[str]:
        return list(required_roles(obj))


class NotificationOutput(ModelOutputSerializer):
    created_at = serializers.DateTimeField()
    read_at = serializers.DateTimeField(allow_null=True)

    class Meta:
        model = Notification
        fields = ["id", "kind", "message", "url", "version", "created_at", "read_at"]
