import django_filters

from audit.choices import EventType
from audit.models import AuditEvent


class AuditEventFilterSet(django_filters.FilterSet):
    modelId = django_filters.NumberFilter(field_name="model_id")
    versionId = django_filters.NumberFilter(field_name="version_id")
    eventType = django_filters.ChoiceFilter(field_name="event_type", choices=EventType.choices)
    userId = django_filters.CharFilter(field_name="user_id", max_length=150)
    action = django_filters.CharFilter(field_name="action", max_length=60)
    since = django_filters.IsoDateTimeFilter(field_name="timestamp", lookup_expr="gte")
    until = django_filters.IsoDateTimeFilter(field_name="timestamp", lookup_expr="lte")

    class Meta:
        model = AuditEvent
        fields: list[str] = []
