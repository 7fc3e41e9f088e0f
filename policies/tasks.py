"""Jobs the worker runs on a schedule (django-q2 schedules created by migrations)."""

from __future__ import annotations

from policies.choices import MonitoringTrigger
from policies.compliance import take_snapshot
from policies.monitoring import summary, sweep


def scheduled_sweep() -> dict:
    """Every 15 minutes: the whole fleet, then today's compliance snapshot."""
    result = sweep(trigger=MonitoringTrigger.SCHEDULE)
    take_snapshot()
    return summary(result)
