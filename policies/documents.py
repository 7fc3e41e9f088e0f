"""The policy document of the guide, in and out: one shape for the API, files and the admin."""

from __future__ import annotations

from rest_framework import serializers

from core.api.fields import MAX_TEXT, StrictInputSerializer
from governance.choices import Environment
from policies.choices import Enforcement, PolicyStatus, PolicyType, Severity
from policies.conditions import ConditionError, compile_condition
from policies.durations import parse_duration
from policies.models import Policy
from registry.choices import RiskTier

MAX_RULES = 50
POLICY_ID_PATTERN = r"^[a-z0-9][a-z0-9._-]*$"
# Read-only keys a GET returns; accepted and ignored on input so an export imports unchanged.
READ_ONLY_KEYS = ("id", "revision", "createdAt", "updatedAt")


class ScopeInput(StrictInputSerializer):
    riskTiers = serializers.ListField(
        child=serializers.ChoiceField(choices=RiskTier.choices), allow_empty=False, max_length=3
    )
    environments = serializers.ListField(
        child=serializers.ChoiceField(choices=Environment.choices),
        allow_empty=False,
        max_length=2,
    )


class RuleInput(StrictInputSerializer):
    condition = serializers.CharField(trim_whitespace=False)
    message = serializers.CharField(max_length=1000)


class ExceptionsInput(StrictInputSerializer):
    allowExceptions = serializers.BooleanField(default=False)
    requireApproval = serializers.BooleanField(default=True)
    maxDuration = serializers.CharField(
        max_length=20, required=False, allow_blank=True, allow_null=True, default=""
    )

    def validate_maxDuration(self, value):
        if value:
            try:
                parse_duration(value)
            except ValueError as exc:
                raise serializers.ValidationError(str(exc)) from exc
        return value or ""


class PolicyDocumentInput(StrictInputSerializer):
    policyId = serializers.RegexField(
        POLICY_ID_PATTERN,
        max_length=100,
        error_messages={"invalid": "use lowercase letters, digits, '.', '_' and '-'"},
    )
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(max_length=MAX_TEXT, allow_blank=True, default="")
    severity = serializers.ChoiceField(choices=Severity.choices)
    type = serializers.ChoiceField(choices=PolicyType.choices, allow_null=True, default=None)
    status = serializers.ChoiceField(choices=PolicyStatus.choices, default=PolicyStatus.ACTIVE)
    enforcement = serializers.ChoiceField(choices=Enforcement.choices, default=Enforcement.ENFORCE)
    scope = ScopeInput()
    rules = RuleInput(many=True, allow_empty=False, max_length=MAX_RULES)
    exceptions = ExceptionsInput(required=False)

    def to_internal_value(self, data):
        if isinstance(data, dict):
            data = {key: value for key, value in data.items() if key not in READ_ONLY_KEYS}
        return super().to_internal_value(data)

    def validate_rules(self, rules):
        problems = []
        for index, rule in enumerate(rules):
            try:
                compile_condition(rule["condition"])
            except ConditionError as exc:
                problems.append(f"rule {index}: {exc}")
        if problems:
            raise serializers.ValidationError(problems)
        return rules


def to_fields(document: dict) -> dict:
    """A validated document as Policy field values."""
    exceptions = document.get("exceptions") or {}
    return {
        "policy_id": document["policyId"],
        "name": document["name"],
        "description": document.get("description", ""),
        "severity": document["severity"],
        "type": document.get("type"),
        "status": document.get("status", PolicyStatus.ACTIVE),
        "enforcement": document.get("enforcement", Enforcement.ENFORCE),
        "risk_tiers": list(document["scope"]["riskTiers"]),
        "environments": list(document["scope"]["environments"]),
        "rules": [
            {"condition": r["condition"], "message": r["message"]} for r in document["rules"]
        ],
        "allow_exceptions": exceptions.get("allowExceptions", False),
        "require_approval": exceptions.get("requireApproval", True),
        "max_duration": exceptions.get("maxDuration") or "",
    }


def to_document(policy: Policy) -> dict:
    """The guide's document shape (plus type, status, enforcement)."""
    return {
        "policyId": policy.policy_id,
        "name": policy.name,
        "description": policy.description,
        "severity": policy.severity,
        "type": policy.type,
        "status": policy.status,
        "enforcement": policy.enforcement,
        "scope": {"riskTiers": list(policy.risk_tiers), "environments": list(policy.environments)},
        "rules": [{"condition": r["condition"], "message": r["message"]} for r in policy.rules],
        "exceptions": {
            "allowExceptions": policy.allow_exceptions,
            "requireApproval": policy.require_approval,
            "maxDuration": policy.max_duration or None,
        },
    }


def validate_document(data) -> dict:
    serializer = PolicyDocumentInput(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data
