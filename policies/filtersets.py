import django_filters
from django.db.models import Q
from django.utils import timezone

from core.filters import IdFilter
from governance.choices import Environment
from policies.choices import (
    Enforcement,
    ExceptionStatus,
    PolicyChangeStatus,
    PolicyStatus,
    PolicyType,
    Severity,
    ViolationStatus,
)
from policies.models import Policy, PolicyChange, PolicyException, Violation
from registry.choices import RiskTier


class PolicyFilterSet(django_filters.FilterSet):
    severity = django_filters.ChoiceFilter(choices=Severity.choices)
    type = django_filters.ChoiceFilter(choices=PolicyType.choices)
    status = django_filters.ChoiceFilter(choices=PolicyStatus.choices)
    enforcement = django_filters.ChoiceFilter(choices=Enforcement.choices)
    riskTier = django_filters.ChoiceFilter(choices=RiskTier.choices, method="filter_tier")
    environment = django_filters.ChoiceFilter(
        choices=Environment.choices, method="filter_environment"
    )
    search = django_filters.CharFilter(method="filter_search", max_length=200)

    class Meta:
        model = Policy
        fields: list[str] = []

    # Scope lists are JSON; membership is filtered by primary keys computed in Python so the
    # same filter works on SQLite and PostgreSQL.
    def filter_tier(self, queryset, name, value):
        ids = [p.pk for p in queryset.only("pk", "risk_tiers") if value in p.risk_tiers]
        return queryset.filter(pk__in=ids)

    def filter_environment(self, queryset, name, value):
        ids = [p.pk for p in queryset.only("pk", "environments") if value in p.environments]
        return queryset.filter(pk__in=ids)

    def filter_search(self, queryset, name, value):
        return queryset.filter(
            Q(policy_id__icontains=value)
            | Q(name__icontains=value)
            | Q(description__icontains=value)
        )


class ExceptionFilterSet(django_filters.FilterSet):
    version = IdFilter(field_name="version_id", label="Version id")
    policy = django_filters.CharFilter(
        field_name="policy__policy_id", max_length=100, label="Policy id"
    )
    status = django_filters.ChoiceFilter(choices=ExceptionStatus.choices)
    reviewOverdue = django_filters.BooleanFilter(
        method="filter_review_overdue", label="Review overdue"
    )

    class Meta:
        model = PolicyException
        fields: list[str] = []

    def filter_review_overdue(self, queryset, name, value):
        """In force with the periodic review past due (true), or not (false)."""
        now = timezone.now()
        overdue = Q(status=ExceptionStatus.ACTIVE, expires_at__gt=now, next_review_due__lt=now)
        return queryset.filter(overdue) if value else queryset.exclude(overdue)


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


class PolicyChangeFilterSet(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=PolicyChangeStatus.choices)
    policy = django_filters.CharFilter(
        field_name="policy__policy_id", max_length=100, label="Policy id"
    )

    class Meta:
        model = PolicyChange
        fields: list[str] = []
