import django_filters
from django import forms

from audit.choices import EventType
from audit.models import AuditEvent
from core.filters import IdFilter
from registry.models import RegisteredModel

DATETIME_WIDGET = forms.DateTimeInput(attrs={"type": "datetime-local"})


class AuditEventFilterSet(django_filters.FilterSet):
    modelId = IdFilter(field_name="model_id", label="Model ID")
    versionId = IdFilter(field_name="version_id", label="Version ID")
    eventType = django_filters.ChoiceFilter(
        field_name="event_type", choices=EventType.choices, label="Event", empty_label="Any"
    )
    userId = django_filters.CharFilter(field_name="user_id", max_length=150, label="User")
    action = django_filters.CharFilter(field_name="action", max_length=60, label="Action")
    since = django_filters.IsoDateTimeFilter(
        field_name="timestamp", lookup_expr="gte", label="Since", widget=DATETIME_WIDGET
    )
    until = django_filters.IsoDateTimeFilter(
        field_name="timestamp", lookup_expr="lte", label="Until", widget=DATETIME_WIDGET
    )

    class Meta:
        model = AuditEvent
        fields: list[str] = []


def events_of_models_named(queryset, name: str):
    """The events about a model whose name contains `name` (any case): one subquery, since an
    event holds the model's id, not its name."""
    return queryset.filter(
        model_id__in=RegisteredModel.objects.filter(name__icontains=name).values("pk")
    )


class AuditTrailFilterSet(AuditEventFilterSet):
    """The audit trail page's filters: the API's, plus the model by name, and the person and
    action offered from lists (datalists the page fills) rather than typed blind. The page's
    field order puts what people look for first."""

    modelName = django_filters.CharFilter(
        max_length=200,
        label="Model name",
        method="filter_model_name",
        widget=forms.TextInput(attrs={"list": "audit-model-names", "placeholder": "any"}),
    )
    userId = django_filters.CharFilter(
        field_name="user_id",
        max_length=150,
        label="Person",
        widget=forms.TextInput(attrs={"list": "audit-people", "placeholder": "username"}),
    )
    action = django_filters.CharFilter(
        field_name="action",
        max_length=60,
        label="Action",
        widget=forms.TextInput(attrs={"list": "audit-actions", "placeholder": "any"}),
    )

    class Meta(AuditEventFilterSet.Meta):
        fields: list[str] = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        first = ["modelName", "userId", "action", "eventType", "since", "until"]
        self.filters = {
            name: self.filters[name]
            for name in [*first, *(n for n in self.filters if n not in first)]
        }

    def filter_model_name(self, queryset, name, value):
        return events_of_models_named(queryset, value.strip()) if value.strip() else queryset
