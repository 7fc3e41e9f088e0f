"""Shapes of the policy change control endpoints (camelCase, as the contract)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api.fields import UsernameField
from core.api.serializers import ModelOutputSerializer, OutputSerializer
from policies.models import PolicyChange


class PolicyChangeOutput(ModelOutputSerializer):
    """A proposed change: the contract's {id, status, policyId, proposedBy, changes} and why it
    counts as relaxing, the documents before and as proposed, and the decision."""

    # Plain strings in the schema: the status and role choice sets are published elsewhere
    # under these field names already.
    status = serializers.CharField(help_text="PROPOSED, APPROVED, REJECTED or SUPERSEDED")
    policy_id = serializers.CharField(source="policy.policy_id")
    proposed_by = UsernameField()
    created_at = serializers.DateTimeField()
    changes = serializers.JSONField()
    relaxations = serializers.ListField(child=serializers.CharField())
    base_document = serializers.JSONField()
    document = serializers.JSONField()
    decided_by = UsernameField(allow_null=True)
    decided_at = serializers.DateTimeField(allow_null=True)
    decision_role = serializers.CharField(help_text="the decider's role; empty until decided")

    class Meta:
        model = PolicyChange
        fields = [
            "id",
            "status",
            "policy_id",
            "proposed_by",
            "created_at",
            "changes",
            "relaxations",
            "base_document",
            "document",
            "decided_by",
            "decided_at",
            "decision_role",
            "comments",
        ]


class ImpactRowOutput(OutputSerializer):
    version = serializers.IntegerField()
    model = serializers.IntegerField()
    modelName = serializers.CharField()
    versionLabel = serializers.CharField()
    state = serializers.CharField()
    inScopeNow = serializers.BooleanField()
    inScopeProposed = serializers.BooleanField()
    passesNow = serializers.BooleanField(allow_null=True)
    passesProposed = serializers.BooleanField(allow_null=True)
    blockedNow = serializers.BooleanField()
    blockedProposed = serializers.BooleanField()


class ChangeImpactOutput(OutputSerializer):
    blockedNow = serializers.IntegerField()
    blockedProposed = serializers.IntegerField()
    unblocked = serializers.IntegerField()
    versions = ImpactRowOutput(many=True)


class PolicyChangeDetailOutput(PolicyChangeOutput):
    """With the dry run the approver decides on (versions limited to what the reader sees)."""

    impact = serializers.SerializerMethodField()

    class Meta(PolicyChangeOutput.Meta):
        fields = [*PolicyChangeOutput.Meta.fields, "impact"]

    @extend_schema_field(ChangeImpactOutput)
    def get_impact(self, obj) -> dict:
        return ChangeImpactOutput(self.context["impact"]).data
