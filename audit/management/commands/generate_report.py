from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from audit.models import Report, ReportKind, ReportStatus, ReportTrigger
from audit.reports.periods import PeriodError, parse_period
from audit.reports.services import generate_report


class Command(BaseCommand):
    help = (
        "Generate a report now, in this process (the worker does it for requests from the "
        "pages and the API): KIND is MONTHLY_COMPLIANCE, QUARTERLY_RISK or ANNUAL_AUDIT, "
        "PERIOD 2026-10, 2026-Q3 or 2026."
    )

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=ReportKind.values)
        parser.add_argument("period")
        parser.add_argument("--output", help="also copy the PDF to this path")

    def handle(self, *args, **options):
        try:
            period = parse_period(options["kind"], options["period"])
        except PeriodError as exc:
            raise CommandError(str(exc)) from exc
        with transaction.atomic():
            report = Report.objects.create(
                kind=options["kind"],
                period=options["period"],
                period_start=period.start,
                period_end=period.end,
                trigger=ReportTrigger.ON_DEMAND,
            )
        generate_report(report.pk)
        report.refresh_from_db()
        if report.status != ReportStatus.DONE:
            raise CommandError(f"report #{report.pk} failed: {report.error}")
        if options["output"]:
            with report.file.open("rb") as source, open(options["output"], "wb") as target:
                target.write(source.read())
        self.stdout.write(
            f"report #{report.pk}: {report.pages} pages, {report.size} bytes, "
            f"sha256 {report.sha256}" + (f" -> {options['output']}" if options["output"] else "")
        )
