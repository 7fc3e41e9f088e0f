from rest_framework import serializers

from policies.models import PolicyEvaluation


class RuleResultOutput(serializers.Serializer):
    index = serializers.IntegerField()
    condition = serializers.CharField()
    passed = serializers.BooleanField()
    message = serializers.CharField()
    exception = serializers.IntegerField(allow_null=True)


class PolicyEvaluationOutput(serializers.ModelSerializer):
    policyId = serializers.CharField(source="policy.policy_id")
    severity = serializers.CharField(source="policy.severity")
    policyRevision = serializers.IntegerField(source="policy_revision", allow_null=True)
    evaluatedAt = serializers.DateTimeField(source="evaluated_at")
    rules = RuleResultOutput(source="rule_results", many=True)

    class Meta:
        model = PolicyEvaluation
        fields = [
            "id",
            "policyId",
            "severity",
            "policyRevision",
            "environment",
            "enforcement",
            "trigger",
            "passed",
            "excepted",
            "evaluatedAt",
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
