"""Policy documents changed in the period."""

from __future__ import annotations

from datetime import datetime

from audit.reports.format import fmt_time
from policies.models import Policy

POLICY_FIELDS = (
    "name",
    "description",
    "severity",
    "type",
    "status",
    "enforcement",
    "risk_tiers",
    "environments",
    "rules",
    "allow_exceptions",
    "require_approval",
    "max_duration",
)


def policy_history(start: datetime, end: datetime) -> list[dict]:
    """Every change of a policy in [start, end): when, who, what kind, which fields."""
    records = list(
        Policy.history.filter(history_date__lt=end)
        .select_related("history_user")
        .order_by("id", "history_date", "history_id")
    )
    changes = []
    previous = None
    for record in records:
        same_policy = previous is not None and previous.id == record.id
        if start <= record.history_date < end:
            if record.history_type == "+":
                changed = ["created"]
            elif record.history_type == "-":
                changed = ["deleted"]
            elif same_policy:
                changed = [f for f in POLICY_FIELDS if getattr(record, f) != getattr(previous, f)]
                changed = changed or ["saved without change"]
            else:
                changed = ["changed"]
            changes.append(
                {
                    "at": fmt_time(record.history_date),
                    "policy": record.policy_id,
                    "revision": record.history_id,
                    "type": {"+": "created", "~": "changed", "-": "deleted"}.get(
                        record.history_type, record.history_type
                    ),
                    "by": record.history_user.get_username() if record.history_user else "system",
                    "fields": ", ".join(changed),
                    "status": record.status,
                    "enforcement": record.enforcement,
                }
            )
        previous = record
    changes.sort(key=lambda c: (c["at"], c["revision"]))
    return changes
