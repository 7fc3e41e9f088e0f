"""Requesting, generating and reading compliance reports.

A request (MRC or Auditor, or a schedule) creates a QUEUED report and, once its transaction
commits, enqueues the django-q2 task that generates it (audit/tasks.py). Generation reads the
data of the period, renders the kind's template to PDF with WeasyPrint, stores the file with
its SHA-256, the generator version and the parameters used, and records an audit event (REPORT
/ GENERATE_REPORT, or GENERATE_REPORT_FAILED with the error).
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django_q.tasks import async_task

from audit.choices import EventType
from audit.models import CheckpointTrigger, Report, ReportKind, ReportStatus, ReportTrigger
from audit.reports.annual import annual_audit
from audit.reports.monthly import monthly_compliance
from audit.reports.pdf import generator_version, render_pdf
from audit.reports.periods import Period, PeriodError, last_complete_period, parse_period
from audit.reports.portfolio import Portfolio
from audit.reports.quarterly import quarterly_risk
from audit.reports.sections import DETAIL_LIMIT, STALE_REVIEW
from audit.services import (
    ChainBroken,
    chain_head,
    checkpoint_bundle,
    make_checkpoint,
    record_event,
    verify_chain,
)
from audit.signing import ALGORITHM
from core.access import SYSTEM, authorize
from core.choices import Action
from core.domain import domain_action
from core.errors import InvalidState, NotFound

logger = logging.getLogger(__name__)

__all__ = [
    "PeriodError",
    "ReportKind",
    "authorize_generate",
    "generate_report",
    "parse_period",
    "readable_reports",
    "request_report",
]

TASK = "audit.tasks.generate_report"
REQUEST_ACTION = "REQUEST_REPORT"
GENERATE_ACTION = "GENERATE_REPORT"
FAILED_ACTION = "GENERATE_REPORT_FAILED"
DOWNLOAD_ACTION = "DOWNLOAD_REPORT"

TEMPLATES = {
    ReportKind.MONTHLY_COMPLIANCE: "reports/monthly_compliance.html",
    ReportKind.QUARTERLY_RISK: "reports/quarterly_risk.html",
    ReportKind.ANNUAL_AUDIT: "reports/annual_audit.html",
}
BUILDERS = {
    ReportKind.MONTHLY_COMPLIANCE: monthly_compliance,
    ReportKind.QUARTERLY_RISK: quarterly_risk,
    ReportKind.ANNUAL_AUDIT: annual_audit,
}
TOC = {
    ReportKind.MONTHLY_COMPLIANCE: [
        ("summary", "1. Executive summary"),
        ("inventory", "2. Model inventory and compliance status"),
        ("violations", "3. Policy violations and their resolution"),
        ("risk", "4. Risk distribution and trends"),
        ("recommendations", "5. Recommendations"),
        ("method", "6. Method and data sources"),
    ],
    ReportKind.QUARTERLY_RISK: [
        ("summary", "1. Summary"),
        ("portfolio", "2. Portfolio risk analysis"),
        ("trends", "3. Trends by month"),
        ("tier-changes", "4. Risk tier changes"),
        ("exceptions", "5. Exceptions granted and used"),
        ("benchmark", "6. Comparison with the previous quarter"),
        ("recommendations", "7. Strategic recommendations"),
        ("method", "8. Method and data sources"),
    ],
    ReportKind.ANNUAL_AUDIT: [
        ("summary", "1. Summary of the year"),
        ("compliance", "2. Compliance over the year"),
        ("process", "3. Governance process effectiveness"),
        ("rejections", "4. Rejection reasons"),
        ("exceptions", "5. Exceptions and risk tier changes"),
        ("policy-changes", "6. Policy changes"),
        ("audit-trail", "7. Audit trail integrity"),
        ("improvement", "8. Improvement plan"),
        ("method", "9. Method and data sources"),
    ],
}
# A RUNNING report older than the worker's timeout was abandoned by a dead worker.
STALE_AFTER = timedelta(seconds=settings.Q_CLUSTER.get("timeout", 600) + 60)


# --------------------------------------------------------------------------------------------
# Access
# --------------------------------------------------------------------------------------------


@domain_action(Action.GENERATE_REPORT)
def authorize_generate(*, actor) -> None:
    authorize(actor, Action.GENERATE_REPORT)


@domain_action(Action.READ_REPORTS)
def readable_reports(*, actor):
    authorize(actor, Action.READ_REPORTS)
    return Report.objects.all()


@domain_action(Action.READ_REPORTS)
def report_for_download(pk: int, *, actor) -> Report:
    authorize(actor, Action.READ_REPORTS)
    report = Report.objects.filter(pk=pk).first()
    if report is None:
        raise NotFound("no such report")
    if not report.is_done:
        raise InvalidState(f"the report is {report.status}, there is no PDF", state=report.status)
    record_event(
        EventType.REPORT,
        DOWNLOAD_ACTION,
        user=actor,
        details={
            "reportId": report.pk,
            "kind": report.kind,
            "period": report.period,
            "sha256": report.sha256,
        },
    )
    return report


def requester_label(report: Report) -> str:
    if report.requested_by is not None:
        return report.requested_by.get_username()
    return "schedule" if report.trigger == ReportTrigger.SCHEDULE else "command line"


def download_name(report: Report) -> str:
    return f"{report.kind.lower().replace('_', '-')}-{report.period}-{report.pk}.pdf"


# --------------------------------------------------------------------------------------------
# Requesting
# --------------------------------------------------------------------------------------------


def enqueue(report_id: int) -> None:
    async_task(TASK, report_id, task_name=f"report {report_id}", group="reports")


def _in_flight(kind: str, period: str) -> Report | None:
    stale_before = timezone.now() - STALE_AFTER
    for report in Report.objects.filter(
        kind=kind, period=period, status__in=(ReportStatus.QUEUED, ReportStatus.RUNNING)
    ):
        if report.status == ReportStatus.QUEUED or (
            report.started_at and report.started_at > stale_before
        ):
            return report
    return None


@domain_action(Action.GENERATE_REPORT)
def request_report(
    kind: str, period: str, *, actor, trigger=ReportTrigger.ON_DEMAND, enqueue_new: bool = True
) -> Report:
    """Queue a report of `kind` for `period` (joins an identical one already queued).

    `actor` is a person or `core.access.SYSTEM` (the schedules, the command line): never
    skipped, the system is allowed this by the access rules and the event names it.
    `enqueue_new=False` is for a caller that generates the new report in its own process."""
    authorize(actor, Action.GENERATE_REPORT)
    parsed = parse_period(kind, period)
    existing = _in_flight(kind, period)
    report = existing or Report.objects.create(
        kind=kind,
        period=period,
        period_start=parsed.start,
        period_end=parsed.end,
        trigger=trigger,
        requested_by=None if actor is SYSTEM else actor,
    )
    record_event(
        EventType.REPORT,
        REQUEST_ACTION,
        user=actor,
        details={
            "reportId": report.pk,
            "kind": kind,
            "period": period,
            "trigger": trigger,
            "joinedQueued": existing is not None,
        },
    )
    if existing is None and enqueue_new:
        transaction.on_commit(lambda: enqueue(report.pk))
    return report


# --------------------------------------------------------------------------------------------
# Generating (in the worker)
# --------------------------------------------------------------------------------------------


def _claim(report_id: int) -> Report | None:
    with transaction.atomic():
        report = Report.objects.select_for_update().filter(pk=report_id).first()
        if report is None or report.status == ReportStatus.DONE:
            return None
        report.status = ReportStatus.RUNNING
        report.started_at = timezone.now()
        report.error = ""
        report.save(update_fields=["status", "started_at", "error"])
    return report


def checkpoint_fact(checkpoint, refused: str) -> str:
    """The cover's line on the signed checkpoint made for this report."""
    if checkpoint is None:
        return f"none: {refused}"
    return (
        f"#{checkpoint.number}: event #{checkpoint.seq}, {checkpoint.head_hash}, signed "
        f"{checkpoint.signed_at:%Y-%m-%d %H:%M:%S} UTC with the {ALGORITHM} key "
        f"{checkpoint.key_id} (key fingerprint, SHA-256 of the public key)"
    )


def build_context(report: Report, period: Period, now: datetime) -> dict:
    until = period.data_end(now)
    # Sign the head first, then verify up to a head at least as new (the new checkpoint
    # included): the cover names the head that was verified and the checkpoint that vouches
    # for it. Without the signing key this raises, and the report fails naming the setting.
    try:
        checkpoint, refused = make_checkpoint(CheckpointTrigger.REPORT), ""
    except ChainBroken as exc:
        checkpoint, refused = None, exc.detail
    verdict = verify_chain()
    head_seq, head_hash = verdict.head_seq, verdict.head_hash
    if not verdict.valid:
        head_seq, head_hash = chain_head()
    portfolio = Portfolio(until)
    data = BUILDERS[report.kind](period, until, portfolio)
    in_progress = period.in_progress(now)
    requested_by = requester_label(report)
    title = ReportKind(report.kind).label
    facts = [
        (
            "Period",
            f"{period.title} ({period.start:%Y-%m-%d} to "
            f"{(period.end - timedelta(seconds=1)):%Y-%m-%d}, UTC)",
        ),
        (
            "Data up to",
            f"{until:%Y-%m-%d %H:%M} UTC"
            + (" (the period is still running)" if in_progress else ""),
        ),
        ("Generated", f"{now:%Y-%m-%d %H:%M:%S} UTC"),
        ("Requested by", requested_by),
        ("Report", f"#{report.pk}"),
        (
            "Audit chain",
            f"head event #{head_seq}, {head_hash}; "
            + ("verified intact" if verdict.valid else f"BROKEN: {verdict.reason}"),
        ),
        ("Signed checkpoint", checkpoint_fact(checkpoint, refused)),
        ("Generator", generator_version()),
    ]
    return {
        "report": report,
        "period": period,
        "until": until,
        "in_progress": in_progress,
        "generated_at": now,
        "chain": {
            "valid": verdict.valid,
            "count": verdict.count,
            "reason": verdict.reason,
            "head_seq": head_seq,
            "head_hash": head_hash,
            "checkpoint": checkpoint_bundle(checkpoint) if checkpoint else None,
            "checkpoint_refused": refused,
        },
        "data": data,
        "doc": {
            "title": title,
            "subtitle": period.title,
            "reference": f"Report #{report.pk} · {report.kind} {report.period} · generated "
            f"{now:%Y-%m-%d %H:%M} UTC",
            "generator": generator_version(),
            "facts": facts,
            "note": "Figures are computed from the registry's records of the period (model "
            "history, state transitions, review decisions, policy evaluations, audit trail); "
            "section 'Method and data sources' says how. The SHA-256 of this file is stored "
            "with the report and in the audit trail.",
            "toc": [{"anchor": a, "title": t} for a, t in TOC[report.kind]],
        },
    }


def generate_report(report_id: int) -> str:
    """Generate the report (the worker's task). Never raises: an error is stored and audited."""
    report = _claim(report_id)
    if report is None:
        return "nothing to do"
    now = timezone.now()
    try:
        period = parse_period(report.kind, report.period, check_future=False)
        context = build_context(report, period, now)
        rendered = render_pdf(TEMPLATES[report.kind], context)
        digest = hashlib.sha256(rendered.content).hexdigest()
        report.file.save(download_name(report), ContentFile(rendered.content), save=False)
        report.sha256 = digest
        report.size = len(rendered.content)
        report.pages = rendered.pages
        report.generator_version = generator_version()
        report.parameters = {
            "kind": report.kind,
            "period": report.period,
            "periodStart": period.start.isoformat(),
            "periodEnd": period.end.isoformat(),
            "dataUntil": context["until"].isoformat(),
            "periodInProgress": context["in_progress"],
            "timezone": "UTC",
            "trigger": report.trigger,
            "auditChainHeadSeq": context["chain"]["head_seq"],
            "auditChainHead": context["chain"]["head_hash"],
            "auditChainValid": context["chain"]["valid"],
            "auditCheckpoint": context["chain"]["checkpoint"],
            "template": TEMPLATES[report.kind],
            "detailRowLimit": DETAIL_LIMIT,
            "staleReviewDays": STALE_REVIEW.days,
        }
        report.status = ReportStatus.DONE
        report.finished_at = timezone.now()
        with transaction.atomic():
            report.save()
            record_event(
                EventType.REPORT,
                GENERATE_ACTION,
                details={
                    "reportId": report.pk,
                    "kind": report.kind,
                    "period": report.period,
                    "sha256": digest,
                    "pages": rendered.pages,
                    "size": report.size,
                    "generatorVersion": report.generator_version,
                    "requestedBy": requester_label(report),
                    "seconds": round((report.finished_at - now).total_seconds(), 2),
                },
            )
    except Exception as exc:
        logger.exception("report %s failed", report_id)
        report.status = ReportStatus.ERROR
        report.error = f"{type(exc).__name__}: {exc}"[:2000]
        report.finished_at = timezone.now()
        report.save(update_fields=["status", "error", "finished_at"])
        record_event(
            EventType.REPORT,
            FAILED_ACTION,
            details={
                "reportId": report.pk,
                "kind": report.kind,
                "period": report.period,
                "error": report.error[:500],
            },
        )
    return report.status


def generate_scheduled_report(kind: str) -> str:
    """The schedules' task: the last complete period of `kind`, once (idempotent)."""
    period = last_complete_period(kind, timezone.now())
    if Report.objects.filter(
        kind=kind,
        period=period.label,
        trigger=ReportTrigger.SCHEDULE,
        status__in=(ReportStatus.DONE, ReportStatus.QUEUED, ReportStatus.RUNNING),
    ).exists():
        return f"{kind} {period.label}: already generated"
    with transaction.atomic():
        report = request_report(kind, period.label, actor=SYSTEM, trigger=ReportTrigger.SCHEDULE)
    if report.trigger != ReportTrigger.SCHEDULE:
        return f"{kind} {period.label}: joined report #{report.pk}"
    return f"{kind} {period.label}: queued report #{report.pk}"
