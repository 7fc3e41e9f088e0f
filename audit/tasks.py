"""Entry points of the django-q2 worker for the audit app (referenced by dotted path in
async_task and in the schedules that `setup_report_schedules` creates)."""

from __future__ import annotations

from audit.reports import services


def generate_report(report_id: int) -> str:
    return services.generate_report(report_id)


def generate_scheduled_report(kind: str) -> str:
    return services.generate_scheduled_report(kind)
