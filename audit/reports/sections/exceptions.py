"""Policy exceptions requested, granted, in force, ended and used."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count, Q

from audit.reports.format import fmt_time
from audit.reports.portfolio import Portfolio
from audit.reports.sections import DETAIL_LIMIT
from policies.models import PolicyException


def exceptions(start: datetime, end: datetime, used: int) -> dict:
    """Policy exceptions requested, granted, in force and ended in the period."""
    objects = PolicyException.objects
    requested = objects.filter(created_at__gte=start, created_at__lt=end)
    granted = objects.filter(activated_at__gte=start, activated_at__lt=end)
    in_force = objects.filter(activated_at__lt=end, expires_at__gt=end).filter(
        Q(ended_at__isnull=True) | Q(ended_at__gte=end)
    )
    ended = objects.filter(ended_at__gte=start, ended_at__lt=end)
    relevant = objects.filter(
        Q(created_at__gte=start, created_at__lt=end)
        | Q(activated_at__gte=start, activated_at__lt=end)
        | Q(ended_at__gte=start, ended_at__lt=end)
        | Q(pk__in=in_force.values("pk"))
    )
    rows = [
        {
            "id": e.pk,
            "policy": e.policy.policy_id,
            "model": e.version.model.name,
            "tier": e.version.model.risk_tier,
            "version": e.version.version,
            "status": e.status,
            "requested": fmt_time(e.created_at),
            "requested_by": e.requested_by.get_username(),
            "days": e.duration_days,
            "activated": fmt_time(e.activated_at) if e.activated_at else "",
            "expires": fmt_time(e.expires_at) if e.expires_at else "",
            "justification": e.justification,
        }
        for e in relevant.select_related("policy", "version__model", "requested_by").order_by(
            "created_at", "pk"
        )[:DETAIL_LIMIT]
    ]
    return {
        "requested": requested.count(),
        "granted": granted.count(),
        "in_force_at_end": in_force.count(),
        "ended": list(ended.values_list("status").annotate(n=Count("pk")).order_by()),
        "by_status": list(requested.values_list("status").annotate(n=Count("pk")).order_by()),
        "rows": rows,
        "used": used,
    }


def exceptions_used(portfolio: Portfolio, start: datetime, end: datetime) -> int:
    return sum(e.excepted and not e.passed for e in portfolio.evaluations_between(start, end))
