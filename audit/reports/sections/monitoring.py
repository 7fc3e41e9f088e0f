"""Continuous monitoring: violations and the recorded compliance snapshots."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Count, Q

from audit.reports.format import fmt_time
from audit.reports.sections import DETAIL_LIMIT
from core import charts
from policies.models import ComplianceSnapshot, Violation


def monitoring(start: datetime, end: datetime, *, retired=()) -> dict:
    """Violations found by continuous monitoring, and the recorded compliance snapshots.
    Violations of the `retired` policies (pks) are left out of the counts, and counted apart."""
    every = Violation.objects.filter(first_seen__lt=end)
    left_out = every.filter(policy__in=list(retired)).filter(
        Q(first_seen__gte=start) | Q(resolved_at__isnull=True) | Q(resolved_at__gte=start)
    )
    objects = Violation.objects.exclude(policy__in=list(retired))
    opened = objects.filter(first_seen__gte=start, first_seen__lt=end)
    resolved = objects.filter(resolved_at__gte=start, resolved_at__lt=end)
    open_at_end = objects.filter(first_seen__lt=end).filter(
        Q(resolved_at__isnull=True) | Q(resolved_at__gte=end)
    )
    severity_rank = {"CRITICAL": 0, "HIGH": 1, "MEDIUM": 2, "LOW": 3}
    by_severity = sorted(
        open_at_end.values_list("severity").annotate(n=Count("pk")).order_by(),
        key=lambda r: severity_rank.get(r[0], 9),
    )
    by_policy = list(
        opened.values_list("policy__policy_id")
        .annotate(n=Count("pk"), versions=Count("version", distinct=True))
        .order_by("-n", "policy__policy_id")
    )
    reasons = list(resolved.values_list("resolution").annotate(n=Count("pk")).order_by("-n"))
    details = [
        {
            "first_seen": fmt_time(v.first_seen),
            "model": v.version.model.name,
            "version": v.version.version,
            "policy": v.policy.policy_id,
            "severity": v.severity,
            "message": v.message,
            "status": "resolved" if v.resolved_at and v.resolved_at < end else "open",
            "resolution": v.resolution if v.resolved_at and v.resolved_at < end else "",
            "resolved_at": fmt_time(v.resolved_at) if v.resolved_at and v.resolved_at < end else "",
        }
        for v in opened.select_related("version__model", "policy").order_by("first_seen", "pk")[
            :DETAIL_LIMIT
        ]
    ]
    result = {
        "opened": opened.count(),
        "resolved": resolved.count(),
        "open_at_end": open_at_end.count(),
        "by_severity": by_severity,
        "by_policy": by_policy,
        "reasons": reasons,
        "details": details,
        "snapshots": None,
        "retired_left_out": left_out.count(),
    }
    rows = list(
        ComplianceSnapshot.objects.filter(
            date__gte=start.date(), date__lte=(end - timedelta(microseconds=1)).date()
        )
        .order_by("date")
        .values_list("date", "score", "active_violations")
    )
    result["snapshots"] = {
        "count": len(rows),
        "last": rows[-1] if rows else None,
        "chart": charts.line_chart(
            [d.isoformat() for d, _s, _v in rows],
            {"Recorded compliance score": [s for _d, s, _v in rows]},
            title="Compliance score recorded by continuous monitoring (daily, %)",
            y_min=0,
            y_max=100,
            height=260,
        )
        if len(rows) > 1
        else "",
    }
    return result
