"""Shapes of the exceptions, violations and compliance endpoints (camelCase, as the contract)."""

from __future__ import annotations

from rest_framework import serializers

from core.api.fields import MAX_TEXT, StrictInputSerializer, UsernameField
from core.api.serializers import ModelOutputSerializer
from policies.choices import ExceptionReason, RemediationStatus
from policies.durations import MAX_DAYS
from policies.models import ExceptionReview
from policies.shapes import ExceptionOutput
from policies.waivers import review_is_overdue


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
    reason = serializers.ChoiceField(choices=ExceptionReason.choices)
    remediation_plan = serializers.CharField(max_length=MAX_TEXT)
    remediation_due_date = serializers.DateField(help_text="ISO date, today or later")


class DecisionInput(StrictInputSerializer):
    comments = serializers.CharField(max_length=MAX_TEXT, allow_blank=True, default="")


class ReviewInput(StrictInputSerializer):
    notes = serializers.CharField(max_length=MAX_TEXT)
    remediation_status = serializers.ChoiceField(choices=RemediationStatus.choices)
    remediation_progress = StrictIntegerField(
        min_value=0, max_value=100, help_text="percent of the remediation done"
    )


class ExceptionReviewOutput(ModelOutputSerializer):
    reviewer = UsernameField()
    at = serializers.DateTimeField(source="created_at")
    due_at = serializers.DateTimeField(allow_null=True)
    next_review_due = serializers.DateTimeField()

    class Meta:
        model = ExceptionReview
        fields = [
            "id",
            "reviewer",
            "role",
            "at",
            "notes",
            "remediation_status",
            "remediation_progress",
            "due_at",
            "late",
            "next_review_due",
        ]


class ExceptionWithReviewsOutput(ExceptionOutput):
    """The exception's published shape (policies.shapes.ExceptionOutput) with the guide's
    reason, the remediation plan and the periodic reviews."""

    reason = serializers.CharField()
    remediation_plan = serializers.CharField()
    remediation_due_date = serializers.DateField(allow_null=True)
    next_review_due = serializers.DateTimeField(allow_null=True)
    review_overdue = serializers.SerializerMethodField()
    reviews = ExceptionReviewOutput(many=True)

    class Meta(ExceptionOutput.Meta):
        fields = [
            *ExceptionOutput.Meta.fields,
            "reason",
            "remediation_plan",
            "remediation_due_date",
            "next_review_due",
            "review_overdue",
            "reviews",
        ]

    def get_review_overdue(self, obj) -> bool:
        return review_is_overdue(obj)
