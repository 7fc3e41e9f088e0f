"""Entry points of the django-q2 worker for the audit app (referenced by dotted path in
async_task, in the schedules that `setup_report_schedules` creates and in the checkpoint
schedule of migration 0007)."""

from __future__ import annotations

from audit import services as audit_services
from audit.reports import services


def generate_report(report_id: int) -> str:
    return services.generate_report(report_id)


def generate_scheduled_report(kind: str) -> str:
    return services.generate_scheduled_report(kind)


def scheduled_checkpoint() -> str:
    return audit_services.scheduled_checkpoint()
