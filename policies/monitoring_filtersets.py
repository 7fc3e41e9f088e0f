"""Filters of exceptions and violations, shared by the API and the pages."""

import django_filters

from core.filters import IdFilter
from policies.choices import ExceptionStatus, Severity, ViolationStatus
from policies.models import PolicyException, Violation


class ExceptionFilterSet(django_filters.FilterSet):
    version = IdFilter(field_name="version_id", label="Version id")
    policy = django_filters.CharFilter(
        field_name="policy__policy_id", max_length=100, label="Policy id"
    )
    status = django_filters.ChoiceFilter(choices=ExceptionStatus.choices)

    class Meta:
        model = PolicyException
        fields: list[str] = []


class ViolationFilterSet(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=ViolationStatus.choices)
    severity = django_filters.ChoiceFilter(choices=Severity.choices)
    policy = django_filters.CharFilter(
        field_name="policy__policy_id", max_length=100, label="Policy id"
    )
    version = IdFilter(field_name="version_id", label="Version id")

    class Meta:
        model = Violation
        fields: list[str] = []
