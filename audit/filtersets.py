import django_filters
from django import forms

from audit.choices import EventType
from audit.models import AuditEvent
from core.filters import IdFilter

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
