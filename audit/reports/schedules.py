"""The report schedules (django-q2): monthly, quarterly and yearly, each generating the last
complete period shortly after it ends. Created or updated idempotently by name."""

from __future__ import annotations

from datetime import datetime

from django_q.models import Schedule

from audit.models import ReportKind
from audit.reports.periods import month_start

FUNC = "audit.tasks.generate_scheduled_report"
RUN_HOUR = 2  # UTC, after the period has closed
SCHEDULES = [
    ("reports: monthly compliance", ReportKind.MONTHLY_COMPLIANCE, Schedule.MONTHLY, 1),
    ("reports: quarterly risk", ReportKind.QUARTERLY_RISK, Schedule.QUARTERLY, 3),
    ("reports: annual audit", ReportKind.ANNUAL_AUDIT, Schedule.YEARLY, 12),
]


def next_period_start(now: datetime, months: int) -> datetime:
    """The first day of the next month, quarter or year after `now`, at RUN_HOUR UTC."""
    if months == 1:
        start = month_start(now.year, now.month + 1)
    elif months == 3:
        start = month_start(now.year, 3 * ((now.month - 1) // 3) + 4)
    else:
        start = month_start(now.year + 1, 1)
    return start.replace(hour=RUN_HOUR)


def setup_report_schedules(now: datetime) -> list[tuple[str, bool, datetime]]:
    """Create the schedules that are missing, fix the ones that drifted; keep each existing
    schedule's next run unless it no longer exists or is in the past."""
    results = []
    for name, kind, schedule_type, months in SCHEDULES:
        wanted_next = next_period_start(now, months)
        schedule = Schedule.objects.filter(name=name).first()
        created = schedule is None
        if created:
            schedule = Schedule(name=name)
        schedule.func = FUNC
        schedule.args = repr(str(kind))
        schedule.kwargs = None
        schedule.schedule_type = schedule_type
        schedule.repeats = -1
        if created or schedule.next_run is None or schedule.next_run < now:
            schedule.next_run = wanted_next
        schedule.save()
        results.append((name, created, schedule.next_run))
    return results
