"""Entry points of the django-q2 worker (referenced by dotted path in async_task and in the
schedule registered by migration 0002)."""

from __future__ import annotations

from evaluations import services


def run_evaluation(run_id: int) -> str:
    return services.run_evaluation(run_id)


def recover_stale_runs() -> dict[str, list[int]]:
    return services.recover_stale_runs()
