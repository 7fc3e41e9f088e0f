"""Shapes of the exceptions, violations and compliance endpoints (camelCase, as the contract)."""

from __future__ import annotations

from rest_framework import serializers

from core.api.fields import MAX_TEXT, StrictInputSerializer, UsernameField
from policies.durations import MAX_DAYS
from policies.models import ExceptionApproval, PolicyException, Violation
from policies.waivers import required_roles


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer: no strings, booleans or fractions."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            raise serializers.ValidationError("must be a whole number")
        return super().to_internal_value(data)


class ExceptionRequestInput(StrictInputSerializer):
    policy = serializers.CharField(max_length=100, help_text="the policy's policyId")
    version = StrictIntegerField(min_value=1, max_value=2**31 - 1, help_text="the version's id")
    justification = serializers.CharField(max_length=MAX_TEXT)
    riskAssessment = serializers.CharField(max_length=MAX_TEXT, source="risk_assessment")
    mitigation = serializers.CharField(max_length=MAX_TEXT)
    durationDays = StrictIntegerField(min_value=1, max_value=MAX_DAYS, source="duration_days")
    monitoringPlan = serializers.CharField(max_length=MAX_TEXT, source="monitoring_plan")


class DecisionInput(StrictInputSerializer):
    comments = serializers.CharField(max_length=MAX_TEXT, allow_blank=True, default="")


class ExceptionApprovalOutput(serializers.ModelSerializer):
    user = UsernameField()
    at = serializers.DateTimeField(source="created_at")

    class Meta:
        model = ExceptionApproval
        fields = ["role", "user", "at", "comments"]


class ExceptionOutput(serializers.ModelSerializer):
    policy = serializers.CharField(source="policy.policy_id")
    version = serializers.IntegerField(source="version_id")
    model = serializers.IntegerField(source="version.model_id")
    riskTier = serializers.CharField(source="version.model.risk_tier")
    riskAssessment = serializers.CharField(source="risk_assessment")
    durationDays = serializers.IntegerField(source="duration_days")
    monitoringPlan = serializers.CharField(source="monitoring_plan")
    requestedBy = UsernameField(source="requested_by")
    createdAt = serializers.DateTimeField(source="created_at")
    activatedAt = serializers.DateTimeField(source="activated_at", allow_null=True)
    expiresAt = serializers.DateTimeField(source="expires_at", allow_null=True)
    endedAt = serializers.DateTimeField(source="ended_at", allow_null=True)
    endedBy = UsernameField(source="ended_by", allow_null=True)
    endComments = serializers.CharField(source="end_comments")
    requiredRoles = serializers.SerializerMethodField()
    approvals = ExceptionApprovalOutput(many=True)

    class Meta:
        model = PolicyException
        fields = [
            "id",
            "policy",
            "version",
            "model",
            "riskTier",
            "justification",
            "riskAssessment",
            "mitigation",
            "durationDays",
            "monitoringPlan",
            "status",
            "requestedBy",
            "createdAt",
            "activatedAt",
            "expiresAt",
            "endedAt",
            "endedBy",
            "endComments",
            "requiredRoles",
            "approvals",
        ]

    def get_requiredRoles(self, obj) -> list[str]:
        return list(required_roles(obj))


class ViolationOutput(serializers.ModelSerializer):
    policy = serializers.CharField(source="policy.policy_id")
    version = serializers.IntegerField(source="version_id")
    model = serializers.IntegerField(source="version.model_id")
    rule = serializers.IntegerField(source="rule_index")
    firstSeen = serializers.DateTimeField(source="first_seen")
    lastSeen = serializers.DateTimeField(source="last_seen")
    resolvedAt = serializers.DateTimeField(source="resolved_at", allow_null=True)

    class Meta:
        model = Violation
        fields = [
            "id",
            "policy",
            "severity",
            "version",
            "model",
            "environment",
            "rule",
            "condition",
            "message",
            "status",
            "firstSeen",
            "lastSeen",
            "resolvedAt",
            "resolution",
        ]
