"""The registry's own scans of the artifacts it holds, run in the worker.

Every held artifact is scanned when it is stored (queued when the upload commits) and again
whenever the scanner's rules change (`RULES_VERSION`, checked on a schedule), unless its current
result came from a Scanner or a Security Architect: a person's or a pipeline's finding is not
overwritten by a rescan under new rules. The result is recorded by `record_scan` as SYSTEM, so
it carries the source REGISTRY and is audited like any other.
"""

from __future__ import annotations

from django.db.models import Q

from core.access import SYSTEM
from registry import custody, scanning
from registry.artifacts import enqueue_scan, record_scan
from registry.choices import ScanSource
from registry.models import Artifact


def outdated():
    """Held artifacts never scanned by the current rules, whose result is the registry's own
    (or none yet)."""
    return (
        Artifact.objects.filter(held=True)
        .filter(Q(scan_source="") | Q(scan_source=ScanSource.REGISTRY))
        .exclude(scan_rules_version=scanning.RULES_VERSION)
    )


def scan_artifact(artifact_id: int) -> str:
    """Scan the held bytes and record the result; returns the status."""
    artifact = Artifact.objects.select_related("version__model").filter(pk=artifact_id).first()
    if artifact is None or not artifact.held:
        return "not held"
    with custody.local_path(artifact) as path:
        report = scanning.scan_file(path, filename=artifact.filename or artifact.name)
    record_scan(
        artifact,
        actor=SYSTEM,
        status=report.status,
        scanner=report.scanner,
        findings=[finding.as_dict() for finding in report.findings],
        rules_version=scanning.RULES_VERSION,
    )
    return report.status


def rescan_outdated() -> int:
    """Queue a scan of every held artifact the current rules have not judged."""
    ids = list(outdated().values_list("pk", flat=True))
    for artifact_id in ids:
        enqueue_scan(artifact_id)
    return len(ids)
