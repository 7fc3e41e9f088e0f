"""Filters of the evaluation run lists (API and pages)."""

import django_filters

from core.filters import IdFilter
from evaluations.choices import RunStatus, Suite
from evaluations.models import EvaluationRun


class EvaluationRunFilterSet(django_filters.FilterSet):
    suite = django_filters.ChoiceFilter(choices=Suite.choices)
    status = django_filters.ChoiceFilter(choices=RunStatus.choices)

    class Meta:
        model = EvaluationRun
        fields: list[str] = []


class AllEvaluationRunsFilterSet(EvaluationRunFilterSet):
    version = IdFilter(field_name="version_id")
    model = IdFilter(field_name="version__model_id")
