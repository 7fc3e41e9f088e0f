from django.core.management.base import BaseCommand
from django.utils import timezone

from audit.reports.schedules import setup_report_schedules


class Command(BaseCommand):
    help = (
        "Create (or repair) the django-q2 schedules that generate the monthly compliance, "
        "quarterly risk and annual audit reports. Safe to run again: it never duplicates them."
    )

    def handle(self, *args, **options):
        for name, created, next_run in setup_report_schedules(timezone.now()):
            verb = "created" if created else "up to date"
            self.stdout.write(f"{name}: {verb}, next run {next_run:%Y-%m-%d %H:%M} UTC")
