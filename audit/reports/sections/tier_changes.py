"""Risk tier change requests of the period and those still waiting."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q

from audit.reports.format import fmt_time
from governance.models import RiskTierChangeRequest


def tier_change_requests(start: datetime, end: datetime) -> list[dict]:
    """Risk tier change requests made or decided in [start, end), as they stood at `end`."""
    ids = list(
        RiskTierChangeRequest.objects.filter(
            Q(created_at__gte=start, created_at__lt=end)
            | Q(decided_at__gte=start, decided_at__lt=end)
        ).values_list("pk", flat=True)
    )
    rows = []
    for request in (
        RiskTierChangeRequest.objects.filter(pk__in=ids)
        .select_related("model", "requested_by")
        .prefetch_related("decisions__user")
        .order_by("created_at", "id")
    ):
        status = request.status
        if request.decided_at and request.decided_at >= end:
            status = "REQUESTED"
        rows.append(
            {
                "model": request.model.name,
                "from": request.from_tier,
                "to": request.requested_tier,
                "status": status,
                "requested_by": request.requested_by.get_username(),
                "requested_at": fmt_time(request.created_at),
                "decided_at": fmt_time(request.decided_at) if status != "REQUESTED" else "",
                "justification": request.justification,
                "decisions": [
                    f"{d.decision} by {d.user.get_username()} ({d.role})"
                    + (f": {d.comments}" if d.comments else "")
                    for d in request.decisions.all()
                    if d.created_at < end
                ],
            }
        )
    return rows


def open_tier_requests(moment: datetime) -> list[RiskTierChangeRequest]:
    return [
        r
        for r in RiskTierChangeRequest.objects.filter(created_at__lt=moment).select_related("model")
        if r.decided_at is None or r.decided_at >= moment
    ]
