"""Entry points of the django-q2 worker (referenced by dotted path in async_task and in the
schedules registered by migrations 0002 and 0007)."""

from __future__ import annotations

from evaluations import services
from evaluations.monitoring import services as monitoring


def run_evaluation(run_id: int) -> str:
    return services.run_evaluation(run_id)


def recover_stale_runs() -> dict[str, list[int]]:
    return services.recover_stale_runs()


def compute_monitoring_window(version_id: int, day: str) -> dict:
    """Queued when a batch or outcomes arrive: the window of that UTC day."""
    return monitoring.run_window_job(version_id, day)


def compute_pending_monitoring_windows() -> dict:
    """Daily (migration 0007): every window with a batch not yet counted."""
    return monitoring.compute_pending()
