"""The published shapes of policy evaluations, exceptions and violations: the API and the evidence
bundles write the same ones."""

from rest_framework import serializers

from core.api.fields import UsernameField
from core.api.serializers import ModelOutputSerializer
from policies.models import ExceptionApproval, PolicyEvaluation, PolicyException, Violation
from policies.waivers import required_roles


class RuleResultOutput(serializers.Serializer):
    index = serializers.IntegerField()
    condition = serializers.CharField()
    passed = serializers.BooleanField()
    message = serializers.CharField()
    exception = serializers.IntegerField(allow_null=True)


class PolicyEvaluationOutput(ModelOutputSerializer):
    policy_id = serializers.CharField(source="policy.policy_id")
    severity = serializers.CharField(source="policy.severity")
    policy_revision = serializers.IntegerField(allow_null=True)
    evaluated_at = serializers.DateTimeField()
    rules = RuleResultOutput(source="rule_results", many=True)

    class Meta:
        model = PolicyEvaluation
        fields = [
            "id",
            "policy_id",
            "severity",
            "policy_revision",
            "environment",
            "enforcement",
            "trigger",
            "passed",
            "excepted",
            "evaluated_at",
            "rules",
        ]


def gate_document(gate) -> dict:
    """A gate run as the submit and request-production answers attach it."""
    return {
        "environment": gate.environment,
        "blocked": gate.blocked,
        "failures": gate.failures,
        "warnings": gate.warnings,
        "results": PolicyEvaluationOutput(gate.evaluations, many=True).data,
    }


class ExceptionApprovalOutput(ModelOutputSerializer):
    user = UsernameField()
    at = serializers.DateTimeField(source="created_at")

    class Meta:
        model = ExceptionApproval
        fields = ["role", "user", "at", "comments"]


class ExceptionOutput(ModelOutputSerializer):
    policy = serializers.CharField(source="policy.policy_id")
    version = serializers.IntegerField(source="version_id")
    model = serializers.IntegerField(source="version.model_id")
    risk_tier = serializers.CharField(source="version.model.risk_tier")
    risk_assessment = serializers.CharField()
    duration_days = serializers.IntegerField()
    monitoring_plan = serializers.CharField()
    requested_by = UsernameField()
    created_at = serializers.DateTimeField()
    activated_at = serializers.DateTimeField(allow_null=True)
    expires_at = serializers.DateTimeField(allow_null=True)
    ended_at = serializers.DateTimeField(allow_null=True)
    ended_by = UsernameField(allow_null=True)
    end_comments = serializers.CharField()
    required_roles = serializers.SerializerMethodField()
    approvals = ExceptionApprovalOutput(many=True)

    class Meta:
        model = PolicyException
        fields = [
            "id",
            "policy",
            "version",
            "model",
            "risk_tier",
            "justification",
            "risk_assessment",
            "mitigation",
            "duration_days",
            "monitoring_plan",
            "status",
            "requested_by",
            "created_at",
            "activated_at",
            "expires_at",
            "ended_at",
            "ended_by",
            "end_comments",
            "required_roles",
            "approvals",
        ]

    def get_required_roles(self, obj) -> list[str]:
        return list(required_roles(obj))


class ViolationOutput(ModelOutputSerializer):
    policy = serializers.CharField(source="policy.policy_id")
    version = serializers.IntegerField(source="version_id")
    model = serializers.IntegerField(source="version.model_id")
    rule = serializers.IntegerField(source="rule_index")
    first_seen = serializers.DateTimeField()
    last_seen = serializers.DateTimeField()
    resolved_at = serializers.DateTimeField(allow_null=True)

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
            "first_seen",
            "last_seen",
            "resolved_at",
            "resolution",
        ]
