"""Filters shared by the API lists and the pages."""

import django_filters
from django.db.models import Q

from core.filters import IdFilter
from registry.choices import RiskTier, VersionState
from registry.models import ModelVersion, RegisteredModel


class RegisteredModelFilterSet(django_filters.FilterSet):
    riskTier = django_filters.ChoiceFilter(field_name="risk_tier", choices=RiskTier.choices)
    owner = django_filters.CharFilter(field_name="owner__username")
    search = django_filters.CharFilter(method="filter_search", max_length=200)

    class Meta:
        model = RegisteredModel
        fields: list[str] = []

    def filter_search(self, queryset, name, value):
        return queryset.filter(Q(name__icontains=value) | Q(description__icontains=value))


class ModelVersionFilterSet(django_filters.FilterSet):
    model = IdFilter(field_name="model_id")
    state = django_filters.ChoiceFilter(choices=VersionState.choices)
    riskTier = django_filters.ChoiceFilter(field_name="model__risk_tier", choices=RiskTier.choices)

    class Meta:
        model = ModelVersion
        fields: list[str] = []
