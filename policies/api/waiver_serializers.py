"""Shapes of the exceptions, violations and compliance endpoints (camelCase, as the contract)."""

from __future__ import annotations

from rest_framework import serializers

from core.api.fields import MAX_TEXT, StrictInputSerializer
from policies.durations import MAX_DAYS


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
    risk_assessment = serializers.CharField(max_length=MAX_TEXT)
    mitigation = serializers.CharField(max_length=MAX_TEXT)
    duration_days = StrictIntegerField(min_value=1, max_value=MAX_DAYS)
    monitoring_plan = serializers.CharField(max_length=MAX_TEXT)


class DecisionInput(StrictInputSerializer):
    comments = serializers.CharField(max_length=MAX_TEXT, allow_blank=True, default="")
