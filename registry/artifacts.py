"""Writes to artifacts: adding one (bytes the registry holds, or a reference), changing a
reference's identity, and recording a security scan result.

Evidence about an artifact is never written by the party it judges: a scan result is recorded
by the registry's own scanner (SYSTEM, in the worker), a Scanner service account or a Security
Architect (`Action.RECORD_SCAN`), and says which (`scan_source`, `scanned_by`). The owner adds
bytes or a reference; the registry hashes the bytes itself and scans them.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.utils import timezone
from django_q.conf import Conf
from django_q.tasks import async_task

from audit.choices import AuditAction, EventType
from audit.services import record_event
from core.access import SYSTEM, authorize
from core.choices import Action, Role
from core.domain import domain_action
from core.errors import Forbidden, Invalid, InvalidState
from core.roles import roles_of
from registry import custody
from registry.choices import ScanSource, ScanStatus
from registry.models import Artifact, ModelVersion
from registry.services import _changes, _locked_version, _require_editable
from registry.signals import artifact_changed

REFERENCE_FIELDS = ("name", "type", "uri", "sha256")
SCAN_FIELDS = (
    "scan_status",
    "scan_scanner",
    "scan_findings",
    "scanned_at",
    "scan_source",
    "scanned_by",
    "scan_rules_version",
)
logger = logging.getLogger(__name__)
SCAN_TASK = "registry.tasks.scan_artifact"  # registry/scan_jobs.py runs it
SCAN_RULE = (
    "a scan result is never self-attested: only the registry's scanner, a Scanner or a "
    "Security Architect may record one"
)


def scan_source_of(actor) -> str:
    """Which source a result recorded by `actor` carries (RECORD_SCAN has let them)."""
    if actor is SYSTEM:
        return ScanSource.REGISTRY
    return ScanSource.SCANNER if Role.SCANNER in roles_of(actor) else ScanSource.SECURITY_ARCHITECT


def _authorize_scan(actor, version: ModelVersion) -> None:
    try:
        authorize(actor, Action.RECORD_SCAN, model=version.model, version_id=version.pk)
    except Forbidden as error:
        error.detail = f"{SCAN_RULE} ({error.detail})"
        raise


def _scan_values(security_scan: dict[str, Any], *, actor, rules_version: str = "") -> dict:
    return {
        "scan_status": security_scan["status"],
        "scan_scanner": security_scan.get("scanner") or "",
        "scan_findings": security_scan.get("findings"),
        "scanned_at": security_scan.get("scannedAt") or timezone.now(),
        "scan_source": scan_source_of(actor),
        "scanned_by": None if actor is SYSTEM else actor,
        "scan_rules_version": rules_version,
    }


def queue_in_transaction() -> bool:
    """Whether a job can be queued inside the current transaction: with the ORM broker the job
    is a row in the same database, so queueing it with the change is one commit and never a
    change without its job (an outbox). Another broker (Redis) sees the job at once, before the
    change commits, so it is queued after the commit; so is a synchronous cluster (tests), which
    would run the job inside the caller's transaction."""
    return bool(Conf.ORM) and not Conf.SYNC


def enqueue_scan(artifact_id: int) -> None:
    """Hand the registry's scan of a held artifact to the worker. A broker failure leaves the
    scan PENDING; the schedule of `scan_jobs.rescan_outdated` picks it up."""
    try:
        async_task(SCAN_TASK, artifact_id, task_name=f"scan artifact {artifact_id}", group="scans")
    except Exception:
        logger.exception("could not queue the scan of artifact %s", artifact_id)


def _audit(action: str, artifact: Artifact, actor, details: dict) -> None:
    record_event(
        EventType.MODEL_REGISTRY,
        action,
        user=actor,
        model_id=artifact.version.model_id,
        version_id=artifact.version_id,
        details={"artifact": artifact.pk, **details},
    )


def _audit_added(artifact: Artifact, actor) -> None:
    details = {
        "name": artifact.name,
        "type": artifact.type,
        "held": artifact.held,
        "sha256": artifact.sha256,
        "securityScan": artifact.scan_status,
    }
    if artifact.held:
        details.update(size=artifact.size, format=artifact.format)
    _audit(AuditAction.ADD_ARTIFACT, artifact, actor, details)


@domain_action(Action.ADD_ARTIFACT)
def add_artifact(
    version: ModelVersion,
    *,
    actor,
    name: str,
    type: str,
    uri: str = "",
    sha256: str = "",
    upload=None,
    security_scan: dict[str, Any] | None = None,
) -> Artifact:
    """Add bytes the registry will hold (`upload`, optionally with the `sha256` the owner
    expects) or a reference to bytes it does not hold (`uri` and `sha256`)."""
    authorize(actor, Action.ADD_ARTIFACT, model=version.model, version_id=version.pk)
    if security_scan is not None:
        _authorize_scan(actor, version)
    version = _locked_version(version)
    _require_editable(version, "Artifacts")
    if upload is None:
        if not uri or not sha256:
            raise Invalid(
                "send the file, or a uri and sha256 of bytes the registry does not hold",
                field="file" if not uri else "sha256",
            )
        artifact = Artifact(version=version, name=name, type=type, uri=uri, sha256=sha256.lower())
        if security_scan is not None:
            for field, value in _scan_values(security_scan, actor=actor).items():
                setattr(artifact, field, value)
        artifact.save()
        _audit_added(artifact, actor)
        return artifact
    if uri:
        raise Invalid("an uploaded file is held by the registry: give no uri", field="uri")
    with custody.received(upload) as received:
        if received.size > custody.max_bytes():
            raise custody.too_large(received.size)
        if sha256 and sha256.lower() != received.sha256:
            raise Invalid(
                f"the file's SHA-256 is {received.sha256}, not the {sha256.lower()} given: the "
                "bytes are not the ones you meant, nothing was stored",
                field="sha256",
            )
        inspected = custody.inspect(received)
        storage_name, newly_stored = custody.store(received)
    try:
        # A savepoint, so that after a failed write the connection can still ask whether
        # another record holds these bytes before they are removed.
        with transaction.atomic():
            artifact = _create_held(version, name, type, received, inspected, storage_name)
            _audit_added(artifact, actor)
            pk = artifact.pk
            if queue_in_transaction():
                # The job row commits with the artifact, or neither does; a failure to queue
                # it removes the bytes like any other failure here.
                async_task(SCAN_TASK, pk, task_name=f"scan artifact {pk}", group="scans")
    except BaseException:
        if newly_stored and not Artifact.objects.filter(storage_name=storage_name).exists():
            custody.discard(storage_name)  # nothing half-stored: no record, no bytes
        raise
    if not queue_in_transaction():
        transaction.on_commit(lambda: enqueue_scan(pk))
    return artifact


def _create_held(version, name, type, received, inspected, storage_name) -> Artifact:
    return Artifact.objects.create(
        version=version,
        name=name,
        type=type,
        uri="",
        sha256=received.sha256,
        held=True,
        size=received.size,
        storage_name=storage_name,
        filename=received.filename[:255],
        format=inspected.format,
        signature=inspected.signature,
    )


@domain_action(Action.CHANGE_ARTIFACT)
def update_artifact(
    artifact: Artifact,
    *,
    actor,
    security_scan: dict[str, Any] | None = None,
    **identity: str,
) -> Artifact:
    """Change a reference's identity (name, type, uri, sha256; frozen once the version leaves
    DRAFT/CHANGES_REQUIRED, and a held artifact's bytes never change) and/or record a scan
    result (RECORD_SCAN, in any state: evidence about the same bytes, not a change to them)."""
    unknown = set(identity) - set(REFERENCE_FIELDS)
    if unknown:
        raise TypeError(f"unexpected fields {sorted(unknown)}")
    version = artifact.version
    if identity or security_scan is None:
        authorize(actor, Action.CHANGE_ARTIFACT, model=version.model, version_id=version.pk)
    if security_scan is not None:
        _authorize_scan(actor, version)
    # The artifact and its version locked and read in one query (the version's state decides
    # what may change; a concurrent transition waits for us or we for it).
    artifact = (
        Artifact.objects.select_related("version__model", "scanned_by")
        .select_for_update(of=("self", "version"))
        .get(pk=artifact.pk)
    )
    version = artifact.version
    if "sha256" in identity:
        identity["sha256"] = identity["sha256"].lower()
    if artifact.held and {"uri", "sha256"} & set(_changes(artifact, identity)):
        raise Invalid(
            "the registry holds this artifact's bytes, which never change: upload new bytes as "
            "a new artifact",
            field="sha256" if "sha256" in identity else "uri",
        )
    values: dict[str, Any] = dict(identity)
    if _changes(artifact, identity):
        _require_editable(version, "An artifact's name, type, uri and sha256")
    if security_scan is not None:
        values.update(_scan_values(security_scan, actor=actor))
    return _apply(artifact, values, actor=actor)


def _apply(artifact: Artifact, values: dict[str, Any], *, actor) -> Artifact:
    changes = _changes(artifact, values)
    if not changes:
        return artifact
    for field, value in values.items():
        setattr(artifact, field, value)
    artifact.save()
    if "scanned_by" in changes:
        who = changes["scanned_by"]
        changes["scanned_by"] = {
            side: getattr(user, "username", user) for side, user in who.items()
        }
    _audit(AuditAction.UPDATE_ARTIFACT, artifact, actor, {"changes": changes})
    artifact_changed.send(sender=Artifact, artifact=artifact, changes=changes)
    return artifact


@domain_action(Action.RECORD_SCAN)
def record_scan(
    artifact: Artifact,
    *,
    actor,
    status: str,
    scanner: str,
    findings: list[dict],
    rules_version: str = "",
) -> Artifact:
    """Record a scan result (the registry's own scanner calls this as SYSTEM)."""
    version = artifact.version
    _authorize_scan(actor, version)
    if status not in (ScanStatus.PASSED, ScanStatus.FAILED):
        raise Invalid(f"a scan result is PASSED or FAILED, not {status}", field="status")
    _locked_version(version)
    artifact = Artifact.objects.select_for_update().get(pk=artifact.pk)
    values = _scan_values(
        {"status": status, "scanner": scanner, "findings": findings},
        actor=actor,
        rules_version=rules_version,
    )
    return _apply(artifact, values, actor=actor)


@domain_action(Action.DOWNLOAD_ARTIFACT)
def record_download(artifact: Artifact, *, actor) -> Artifact:
    """Allow and audit a download of the held bytes (the caller streams them)."""
    version = artifact.version
    authorize(actor, Action.DOWNLOAD_ARTIFACT, model=version.model, version_id=version.pk)
    if not artifact.held:
        raise InvalidState(
            f"the registry does not hold this artifact's bytes: it is a reference to "
            f"{artifact.uri}",
            state="REFERENCE",
        ).about(action=Action.DOWNLOAD_ARTIFACT, model_id=version.model_id, version_id=version.pk)
    record_event(
        EventType.AUDIT_ACCESS,
        AuditAction.DOWNLOAD_ARTIFACT,
        user=actor,
        model_id=version.model_id,
        version_id=version.pk,
        details={"artifact": artifact.pk, "sha256": artifact.sha256, "size": artifact.size},
    )
    return artifact
