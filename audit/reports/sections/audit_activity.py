"""The audit trail's activity of the period."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count

from audit.choices import EventType
from audit.models import AuditEvent


def audit_activity(start: datetime, end: datetime) -> dict:
    rows = (
        AuditEvent.objects.filter(timestamp__gte=start, timestamp__lt=end)
        .values_list("event_type")
        .annotate(n=Count("id"))
        .order_by()
    )
    by_type = sorted(rows, key=lambda r: -r[1])
    refused = (
        AuditEvent.objects.filter(
            timestamp__gte=start, timestamp__lt=end, event_type=EventType.ACCESS_DENIED
        )
        .values_list("action")
        .annotate(n=Count("id"))
        .order_by("-n")
    )
    return {
        "total": sum(n for _t, n in by_type),
        "by_type": by_type,
        "refused": list(refused),
        "refused_total": sum(n for _a, n in refused),
    }
