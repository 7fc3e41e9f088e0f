"""Prometheus metrics: django-prometheus's request, latency and database metrics, plus the
registry's own gauges, read from the database when scraped (so every web process reports the
same figures, and none keeps a count another would need).

Several gunicorn processes each count their own requests; with PROMETHEUS_MULTIPROC_DIR set
(bin/run sets it) prometheus_client sums them from files the processes share.
"""

from __future__ import annotations

import os

from django.db.models import Count, Min
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.signing import SignedPackage
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily

from audit.models import AuditChainHead
from evaluations.choices import RunStatus
from evaluations.models import EvaluationRun
from governance.routing import REVIEW_STATES
from policies.choices import Severity, ViolationStatus
from policies.models import Violation
from registry.choices import VersionState
from registry.models import ModelVersion


def _oldest_job_started(broker):
    """When the oldest job still waiting was queued (None when nothing waits)."""
    if broker.__class__.__name__ == "ORM":
        payload = (
            broker.get_connection()
            .filter(key=broker.list_key, lock__lte=timezone.now())
            .order_by("id")
            .values_list("payload", flat=True)
            .first()
        )
    else:  # Redis: jobs are pushed on the right and taken from the left
        payload = broker.connection.lindex(broker.list_key, 0)
    if payload is None:
        return None
    return SignedPackage.loads(payload).get("started")


class RegistryCollector:
    """The governance figures an operator watches: one query per family, at scrape time."""

    def collect(self):
        by_state = dict(
            ModelVersion.objects.values_list("state").annotate(n=Count("id")).order_by()
        )
        versions = GaugeMetricFamily(
            "registry_versions", "Model versions by lifecycle state", labels=["state"]
        )
        for state in VersionState.values:
            versions.add_metric([state], by_state.get(state, 0))
        yield versions

        reviews = GaugeMetricFamily(
            "registry_pending_reviews",
            "Versions waiting for a review decision, by review stage",
            labels=["stage"],
        )
        for stage in REVIEW_STATES:
            reviews.add_metric([str(stage)], by_state.get(stage, 0))
        yield reviews

        open_by_severity = dict(
            Violation.objects.filter(status=ViolationStatus.OPEN)
            .values_list("severity")
            .annotate(n=Count("id"))
            .order_by()
        )
        violations = GaugeMetricFamily(
            "registry_open_violations", "Open policy violations by severity", labels=["severity"]
        )
        for severity in Severity.values:
            violations.add_metric([severity], open_by_severity.get(severity, 0))
        yield violations

        runs = dict(
            EvaluationRun.objects.filter(status__in=[RunStatus.QUEUED, RunStatus.RUNNING])
            .values_list("status")
            .annotate(n=Count("id"))
            .order_by()
        )
        evaluations = GaugeMetricFamily(
            "registry_evaluations", "Evaluation runs queued or running", labels=["status"]
        )
        for status in (RunStatus.QUEUED, RunStatus.RUNNING):
            evaluations.add_metric([status], runs.get(status, 0))
        yield evaluations

        oldest_queued_run = EvaluationRun.objects.filter(status=RunStatus.QUEUED).aggregate(
            oldest=Min("created_at")
        )["oldest"]
        broker = get_broker()
        oldest_job = _oldest_job_started(broker)
        now = timezone.now()
        yield GaugeMetricFamily(
            "registry_job_queue_length",
            "Background jobs waiting in the broker",
            broker.queue_size(),
        )
        yield GaugeMetricFamily(
            "registry_job_queue_age_seconds",
            "Age of the oldest background job still waiting (0 when none waits)",
            (now - oldest_job).total_seconds() if oldest_job else 0,
        )
        yield GaugeMetricFamily(
            "registry_evaluation_queue_age_seconds",
            "Age of the oldest evaluation run still queued (0 when none is)",
            (now - oldest_queued_run).total_seconds() if oldest_queued_run else 0,
        )
        head = AuditChainHead.objects.filter(pk=1).values_list("seq", flat=True).first()
        yield GaugeMetricFamily(
            "registry_audit_chain_length", "Events in the audit hash chain", head or 0
        )


def exposition() -> bytes:
    """The text exposition of every metric, summed over the web processes when there are
    several."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        processes = CollectorRegistry()
        multiprocess.MultiProcessCollector(processes)
    else:
        processes = REGISTRY
    own = CollectorRegistry()
    own.register(RegistryCollector())
    return generate_latest(processes) + generate_latest(own)
