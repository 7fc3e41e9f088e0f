"""The MLflow sync: import an MLflow registry's models and versions into custody, keep their
governance state here, and write the registry's decisions back to MLflow.

Import. Each MLflow registered model becomes a registered model of the same name (tag
`mlflow.model`), owned by the user its MLflow `owner` tag names, else by the sync's default
owner, at risk tier HIGH until assessed; each READY MLflow version becomes a version (tags
`mlflow.model`, `mlflow.version`) whose files, every file of MLflow's model directory read
through the server's artifact proxy, are held artifacts: downloaded, then stored, hashed and
scanned by the registry exactly as an upload (`registry.artifacts.add_artifact`; the worker's
scan is queued when it commits). A version is imported in one transaction with its files, its
sync record marked COMPLETE and its audit event, or not at all: a failure leaves the record
FAILED with the reason (audited) and the next sync tries again. Done versions are not imported
twice.

Write-back. The registry writes the tags `governance.state` and `governance.riskTier` on each
imported MLflow version, and the aliases `staging` / `production` only as a consequence of a
deployment here (governance/promotion.py calls `version_deployed`): `staging` names the version
deployed to staging (STAGING, PRODUCTION_REVIEW, APPROVED_PRODUCTION), `production` the one in
PRODUCTION (the latest deployed when there are several); a version leaving those states (retired,
or on to production) loses it at the next write-back. Every write is audited.

Moved aliases. An alias found in MLflow pointing elsewhere than the registry's deployments say
(moved, set or removed behind the registry's back) is a violation here: audited
(POLICY_VIOLATION / MLFLOW_ALIAS_MOVED), the owner and the MRC alerted, kept on the model's
sync record until MLflow agrees again (MLFLOW_ALIAS_RESTORED). The registry does not move it
back: aliases are written only when a version is deployed here.
"""

from __future__ import annotations

import logging
import os
import tempfile
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files import File
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django_q.tasks import async_task

from audit import context as request_context
from audit.choices import EventType
from audit.services import SYSTEM_USER, record_event
from core.choices import Role
from core.errors import DomainError, Invalid
from governance.choices import NotificationKind, PromotionAction
from governance.models import StateTransition
from governance.notifications import Alert, notify_many, users_with_role
from registry import custody
from registry.artifacts import add_artifact
from registry.choices import KNOWN_ARTIFACT_TYPES, RiskTier
from registry.mlflow.choices import (
    ALIAS_STATES,
    BACKOFF_BASE_MINUTES,
    BACKOFF_MAX_MINUTES,
    MLFLOW_READY,
    MODEL_TAG,
    OWNER_TAG,
    PRODUCTION_ALIAS,
    STALE_RUN_MINUTES,
    STATE_TAG,
    SYNC_INTERVAL_MINUTES,
    TIER_TAG,
    VERSION_TAG,
    MlflowAuditAction,
    SyncKind,
    SyncStatus,
)
from registry.mlflow.client import (
    MlflowClient,
    MlflowError,
    MlflowUnreachable,
    check_tracking_uri,
    display_uri,
)
from registry.models import MlflowSyncRecord, ModelVersion, RegisteredModel
from registry.scanning import sniff_format
from registry.services import create_version, register_model

logger = logging.getLogger(__name__)
A = MlflowAuditAction
WRITE_BACK_TASK = "registry.mlflow.jobs.write_back"
MODEL_TYPE, CONFIG_TYPE = "model", "config"
assert {MODEL_TYPE, CONFIG_TYPE} <= set(KNOWN_ARTIFACT_TYPES)
DEPLOY_ACTIONS = {
    "staging": PromotionAction.DEPLOY_STAGING,
    PRODUCTION_ALIAS: PromotionAction.DEPLOY_PRODUCTION,
}


class SyncBusy(Exception):
    """Another sync of the same tracking server is under way."""


@dataclass
class SyncReport:
    tracking_uri: str
    models: int = 0
    versions: int = 0
    imported: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    pending: dict[str, str] = field(default_factory=dict)
    written: int = 0
    moved: list[dict[str, Any]] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.imported or self.failed or self.written or self.moved)

    def document(self) -> dict[str, Any]:
        return {
            "trackingUri": self.tracking_uri,
            "models": self.models,
            "versions": self.versions,
            "imported": self.imported,
            "failed": self.failed,
            "pending": self.pending,
            "written": self.written,
            "moved": self.moved,
        }


def _audit(
    action: str, *, model_id=None, version_id=None, event_type=EventType.MODEL_REGISTRY, **details
):
    record_event(
        event_type,
        action,
        user=SYSTEM_USER,
        model_id=model_id,
        version_id=version_id,
        details=details,
    )


@contextmanager
def _job_context():
    """Audit events of a sync started outside the worker (the command) carry one request id,
    and are the system's."""
    if request_context.current() is not None:
        yield
        return
    with request_context.bound(
        request_context.RequestContext(job=True, request_id=f"mlflow-sync-{uuid.uuid4().hex[:16]}")
    ):
        yield


def credentials_for(tracking_uri: str) -> str:
    """The address to call for a recorded (credential-free) tracking URI: the configured
    MLFLOW_TRACKING_URI when it is that server (it may carry credentials), else the URI."""
    configured = getattr(settings, "MLFLOW_TRACKING_URI", "")
    if configured and display_uri(configured) == tracking_uri:
        return configured
    return tracking_uri


# --- the run record and its back-off ---------------------------------------------------------


def run_record(tracking_uri: str) -> MlflowSyncRecord:
    record, _ = MlflowSyncRecord.objects.get_or_create(
        tracking_uri=display_uri(tracking_uri),
        kind=SyncKind.RUN,
        mlflow_model="",
        mlflow_version="",
    )
    return record


def backoff(failures: int) -> timedelta:
    """How long the scheduled sync waits after `failures` failures in a row."""
    return timedelta(
        minutes=min(BACKOFF_BASE_MINUTES * 2 ** max(failures - 1, 0), BACKOFF_MAX_MINUTES)
    )


def _start_run(uri: str) -> MlflowSyncRecord:
    now = timezone.now()
    with transaction.atomic():
        run = run_record(uri)
        run = MlflowSyncRecord.objects.select_for_update().get(pk=run.pk)
        if (
            run.status == SyncStatus.RUNNING
            and run.last_synced_at
            and run.last_synced_at > now - timedelta(minutes=STALE_RUN_MINUTES)
        ):
            raise SyncBusy(
                f"a sync of {uri} has been running since {run.last_synced_at:%Y-%m-%d %H:%M:%S} UTC"
            )
        run.status = SyncStatus.RUNNING
        run.last_synced_at = now
        run.finished_at = None
        run.save()
    return run


def _finish_run(run: MlflowSyncRecord, report: SyncReport, error: str = "") -> None:
    now = timezone.now()
    with transaction.atomic():
        run.finished_at = now
        if error:
            run.status = SyncStatus.FAILED
            run.attempts += 1
            run.last_error = error
            run.next_attempt_at = now + backoff(run.attempts)
        else:
            run.status = SyncStatus.FAILED if report.failed else SyncStatus.COMPLETE
            run.attempts = 0
            run.last_error = (
                f"{len(report.failed)} failed: "
                + "; ".join(f"{k}: {v}" for k, v in report.failed.items())
                if report.failed
                else ""
            )[:5000]
            run.next_attempt_at = now + timedelta(minutes=SYNC_INTERVAL_MINUTES)
        run.save()
        if error:
            _audit(
                A.MLFLOW_SYNC_FAILED,
                error=error,
                attempts=run.attempts,
                nextAttemptAt=run.next_attempt_at.isoformat(),
                **report.document(),
            )
        elif report.changed:
            _audit(A.MLFLOW_SYNC, **report.document())


# --- sync ------------------------------------------------------------------------------------


def sync(tracking_uri: str, *, owner=None, client: MlflowClient | None = None) -> SyncReport:
    """Import every MLflow registered model and version not yet here, write the tags and any
    pending aliases back, and report moved aliases. `owner` owns the models whose MLflow
    `owner` tag names nobody. Raises MlflowUnreachable when the server cannot be reached (the
    run is recorded FAILED with its back-off; versions imported before it stay COMPLETE, the one
    under way is not), SyncBusy when another sync of the server runs."""
    address = check_tracking_uri(tracking_uri)
    uri = display_uri(address)
    client = client or MlflowClient(address)
    report = SyncReport(uri)
    with _job_context():
        run = _start_run(uri)
        try:
            for summary in client.registered_models():
                report.models += 1
                try:
                    _sync_model(client, uri, summary["name"], owner, report)
                except MlflowError as error:  # this model only (deleted meanwhile, say)
                    report.failed[summary["name"]] = str(error)
        except MlflowUnreachable as error:
            _finish_run(run, report, error=str(error))
            raise
        except BaseException as error:
            _finish_run(run, report, error=f"{type(error).__name__}: {error}")
            raise
        _finish_run(run, report)
    return report


def _record(uri: str, kind: str, name: str, version: str = "") -> MlflowSyncRecord:
    record, _ = MlflowSyncRecord.objects.get_or_create(
        tracking_uri=uri, kind=kind, mlflow_model=name, mlflow_version=version
    )
    return record


def _fail(record: MlflowSyncRecord, message: str, report: SyncReport, *, model=None) -> None:
    """Record a failed import (after its transaction rolled back) and audit it."""
    key = (
        f"{record.mlflow_model}/{record.mlflow_version}"
        if record.mlflow_version
        else record.mlflow_model
    )
    report.failed[key] = message
    with transaction.atomic():
        record.status = SyncStatus.FAILED
        record.attempts += 1
        record.last_error = message[:5000]
        record.last_synced_at = timezone.now()
        record.save()
        _audit(
            A.MLFLOW_IMPORT_FAILED,
            model_id=getattr(model, "pk", None),
            trackingUri=record.tracking_uri,
            mlflowModel=record.mlflow_model,
            mlflowVersion=record.mlflow_version,
            reason=message,
            attempts=record.attempts,
        )


def _sync_model(client: MlflowClient, uri: str, name: str, owner, report: SyncReport) -> None:
    detail = client.registered_model(name)
    versions = client.model_versions(name)
    report.versions += len(versions)
    model_record = _record(uri, SyncKind.MODEL, name)
    version_records = {
        str(mv["version"]): _record(uri, SyncKind.VERSION, name, str(mv["version"]))
        for mv in versions
    }
    try:
        model = _model_for(model_record, detail, owner)
    except DomainError as error:
        _fail(model_record, error.detail, report)
        for record in version_records.values():
            if record.status != SyncStatus.COMPLETE:
                _fail(record, f"the model was not imported: {error.detail}", report)
        return
    for mv in sorted(versions, key=lambda mv: int(mv["version"])):
        record = version_records[str(mv["version"])]
        if record.status == SyncStatus.COMPLETE:
            continue
        try:
            _import_version(client, record, model, mv, report)
        except MlflowUnreachable as error:
            _fail(record, str(error), report, model=model)
            raise
        except (MlflowError, DomainError) as error:
            _fail(record, getattr(error, "detail", None) or str(error), report, model=model)
    model_record.refresh_from_db()
    reconcile(client, model_record, detail, report)


def _owner_of(detail: dict, default_owner) -> tuple[Any, str]:
    tags = {tag["key"]: tag["value"] for tag in detail.get("tags", [])}
    named = tags.get(OWNER_TAG, "").strip()
    if named:
        user = get_user_model().objects.filter(username=named, is_active=True).first()
        if user is None:
            raise Invalid(
                f"MLflow's owner tag of {detail['name']!r} names {named!r}, who has no active "
                "account here: create it, or correct the tag"
            )
        return user, "owner tag"
    if default_owner is None:
        raise Invalid(
            f"{detail['name']!r} has no owner tag in MLflow and no default owner was given "
            "(sync_mlflow --owner USERNAME)"
        )
    return default_owner, "--owner"


def _model_for(model_record: MlflowSyncRecord, detail: dict, default_owner) -> RegisteredModel:
    """The registered model of an MLflow model: the one imported before, or a new one."""
    name = detail["name"]
    if model_record.model_id is not None:
        return model_record.model
    existing = RegisteredModel.objects.filter(name__iexact=name).first()
    if existing is not None:
        if existing.tags.get(MODEL_TAG) != name:
            raise Invalid(
                f"a model named {existing.name!r} is already registered here and was not "
                "imported from MLflow: rename one of them"
            )
        model = existing
        how = "found"
    else:
        user, how = _owner_of(detail, default_owner)
        # Its own transaction (domain_action's), so that a refusal stays on the record.
        model = register_model(
            actor=user,
            name=name,
            description=detail.get("description", ""),
            risk_tier=RiskTier.HIGH,
            tags={MODEL_TAG: name},
            tier_reason="HIGH: imported from MLflow, until assessed",
        )
    with transaction.atomic():
        model_record.model = model
        model_record.status = SyncStatus.COMPLETE
        model_record.attempts = 0
        model_record.last_error = ""
        model_record.last_synced_at = model_record.imported_at = timezone.now()
        model_record.save()
        _audit(
            A.MLFLOW_IMPORT_MODEL,
            model_id=model.pk,
            trackingUri=model_record.tracking_uri,
            mlflowModel=name,
            owner=model.owner.get_username(),
            ownerFrom=how,
            riskTier=model.risk_tier,
        )
    return model


def _artifact_type(path: str) -> str:
    return MODEL_TYPE if sniff_format(path) else CONFIG_TYPE


def _import_version(
    client: MlflowClient,
    record: MlflowSyncRecord,
    model: RegisteredModel,
    mv: dict,
    report: SyncReport,
) -> None:
    key = f"{record.mlflow_model}/{record.mlflow_version}"
    if mv.get("status", MLFLOW_READY) != MLFLOW_READY:
        report.pending[key] = f"MLflow has it {mv.get('status')}"
        record.status = SyncStatus.PENDING
        record.last_error = f"MLflow has it {mv.get('status')}: imported once READY"
        record.last_synced_at = timezone.now()
        record.save()
        return
    source = client.download_uri(record.mlflow_model, record.mlflow_version)
    proxied = client.proxied_path(source)
    if proxied is None:
        raise MlflowError(
            f"the files of {key} are at {source!r}, which the tracking server does not serve: "
            "run it with --serve-artifacts and an artifact root it proxies (mlflow-artifacts:/)",
            status=400,
        )
    remote = client.list_files(proxied)
    if not remote:
        raise MlflowError(f"MLflow lists no files at {source}", status=404)
    with tempfile.TemporaryDirectory(prefix="mlflow-import-") as folder:
        downloaded = []
        for n, remote_file in enumerate(remote):
            local = os.path.join(folder, str(n))
            got = client.download(
                f"{proxied}/{remote_file.path}", local, max_bytes=custody.max_bytes()
            )
            if remote_file.size is not None and got.size != remote_file.size:
                raise MlflowUnreachable(
                    f"{remote_file.path} of {key} arrived with {got.size} bytes, MLflow lists "
                    f"{remote_file.size}"
                )
            downloaded.append((remote_file, got))
        try:
            _commit_version(record, model, mv, source, downloaded, report)
        except BaseException:
            _discard_unreferenced(got.sha256 for _, got in downloaded)
            raise


def _commit_version(record, model, mv, source, downloaded, report) -> None:
    owner = model.owner
    with transaction.atomic():
        version = create_version(
            model,
            actor=owner,
            version=record.mlflow_version,
            description=mv.get("description", "") or "",
            tags={MODEL_TAG: record.mlflow_model, VERSION_TAG: record.mlflow_version},
        )
        files = []
        for remote_file, got in downloaded:
            with open(got.path, "rb") as handle:
                artifact = add_artifact(
                    version,
                    actor=owner,
                    name=remote_file.path[:200],
                    type=_artifact_type(got.path),
                    upload=File(handle, name=os.path.basename(remote_file.path)),
                    sha256=got.sha256,
                )
            files.append(
                {
                    "path": remote_file.path,
                    "size": got.size,
                    "sha256": artifact.sha256,
                    "artifact": artifact.pk,
                }
            )
        record.model = model
        record.version = version
        record.source = source[:2000]
        record.files = files
        record.status = SyncStatus.COMPLETE
        record.attempts = 0
        record.last_error = ""
        record.last_synced_at = record.imported_at = timezone.now()
        record.save()
        _audit(
            A.MLFLOW_IMPORT_VERSION,
            model_id=model.pk,
            version_id=version.pk,
            trackingUri=record.tracking_uri,
            mlflowModel=record.mlflow_model,
            mlflowVersion=record.mlflow_version,
            runId=mv.get("run_id", ""),
            source=source,
            files=files,
        )
    report.imported.append(f"{record.mlflow_model}/{record.mlflow_version}")


def _discard_unreferenced(digests) -> None:
    """After a failed import: remove bytes it stored that no artifact record holds."""
    from registry.models import Artifact

    for digest in set(digests):
        name = custody.storage_name_for(digest)
        try:
            if not Artifact.objects.filter(
                storage_name=name
            ).exists() and custody.artifact_storage().exists(name):
                custody.discard(name)
        except Exception:  # cleaning up must not hide the import's own error
            logger.exception("could not remove the unreferenced bytes %s", name)


# --- write-back and moved aliases ------------------------------------------------------------


def _imported(record: MlflowSyncRecord) -> list[MlflowSyncRecord]:
    return list(
        MlflowSyncRecord.objects.filter(
            tracking_uri=record.tracking_uri,
            kind=SyncKind.VERSION,
            mlflow_model=record.mlflow_model,
            status=SyncStatus.COMPLETE,
            version__isnull=False,
        ).select_related("version__model")
    )


def desired_aliases(records: list[MlflowSyncRecord]) -> dict[str, str]:
    """{alias: MLflow version} as the registry's deployments say: for each governed alias, the
    imported version in its states that was deployed last."""
    by_version = {record.version_id: record for record in records}
    desired: dict[str, str] = {}
    for alias, states in ALIAS_STATES.items():
        holders = [r.version_id for r in records if r.version.state in states]
        if not holders:
            continue
        last = (
            StateTransition.objects.filter(version_id__in=holders, action=DEPLOY_ACTIONS[alias])
            .order_by("-timestamp", "-pk")
            .values_list("version_id", flat=True)
            .first()
        )
        chosen = by_version.get(last) or max(
            (by_version[pk] for pk in holders), key=lambda r: int(r.mlflow_version)
        )
        desired[alias] = chosen.mlflow_version
    return desired


def reconcile(
    client: MlflowClient, model_record: MlflowSyncRecord, detail: dict | None, report: SyncReport
) -> None:
    """Write the tags and pending aliases of one MLflow model back; report moved aliases."""
    name = model_record.mlflow_model
    detail = detail if detail is not None else client.registered_model(name)
    records = _imported(model_record)
    for record in records:
        _write_tags(client, record, report)
    model = model_record.model
    if model is None:
        return
    actual = {
        entry["alias"]: str(entry["version"])
        for entry in detail.get("aliases", [])
        if entry.get("alias") in ALIAS_STATES
    }
    desired = desired_aliases(records)
    written = dict(model_record.aliases_written)
    by_mlflow_version = {record.mlflow_version: record for record in records}
    for alias in ALIAS_STATES:
        found, wanted, last = actual.get(alias), desired.get(alias), written.get(alias)
        if found not in (last, wanted):
            _report_moved(model_record, model, alias, found, wanted, by_mlflow_version, report)
        if wanted != last:
            if wanted is not None:
                client.set_alias(name, alias, wanted)
            elif found is not None:
                client.delete_alias(name, alias)
            with transaction.atomic():
                if wanted is None:
                    written.pop(alias, None)
                else:
                    written[alias] = wanted
                model_record.aliases_written = written
                model_record.save(update_fields=["aliases_written", "updated_at"])
                target = by_mlflow_version.get(wanted or last)
                _audit(
                    A.MLFLOW_WRITE_BACK,
                    model_id=model.pk,
                    version_id=target.version_id if target else None,
                    trackingUri=model_record.tracking_uri,
                    mlflowModel=name,
                    alias=alias,
                    fromVersion=found,
                    toVersion=wanted,
                )
            report.written += 1
            found = wanted
        if found == wanted and alias in model_record.alias_violations:
            _report_restored(model_record, model, alias, found)


def _write_tags(client: MlflowClient, record: MlflowSyncRecord, report: SyncReport) -> None:
    version = record.version
    wanted = {STATE_TAG: version.state, TIER_TAG: version.model.risk_tier}
    if record.tags_written == wanted:
        return
    for key, value in wanted.items():
        if record.tags_written.get(key) != value:
            client.set_version_tag(record.mlflow_model, record.mlflow_version, key, value)
    with transaction.atomic():
        before = record.tags_written
        record.tags_written = wanted
        record.save(update_fields=["tags_written", "updated_at"])
        _audit(
            A.MLFLOW_WRITE_BACK,
            model_id=version.model_id,
            version_id=version.pk,
            trackingUri=record.tracking_uri,
            mlflowModel=record.mlflow_model,
            mlflowVersion=record.mlflow_version,
            tags=wanted,
            previousTags=before,
        )
    report.written += 1


def _report_moved(model_record, model, alias, found, wanted, by_mlflow_version, report) -> None:
    seen = model_record.alias_violations.get(alias)
    if seen is not None and seen.get("found") == found and seen.get("expected") == wanted:
        return  # reported already; still open
    subject = by_mlflow_version.get(found) or by_mlflow_version.get(wanted)
    version = subject.version if subject else None
    where = f"version {found}" if found is not None else "no version (removed)"
    expected = f"version {wanted}" if wanted is not None else "no version"
    message = (
        f"MLflow alias {alias!r} of {model.name} points to {where} behind the registry's back: "
        f"its deployments here say {expected}"
    )
    with transaction.atomic():
        violations = dict(model_record.alias_violations)
        violations[alias] = {
            "found": found,
            "expected": wanted,
            "since": timezone.now().isoformat(),
        }
        model_record.alias_violations = violations
        model_record.save(update_fields=["alias_violations", "updated_at"])
        _audit(
            A.MLFLOW_ALIAS_MOVED,
            event_type=EventType.POLICY_VIOLATION,
            model_id=model.pk,
            version_id=version.pk if version else None,
            trackingUri=model_record.tracking_uri,
            mlflowModel=model_record.mlflow_model,
            alias=alias,
            foundVersion=found,
            expectedVersion=wanted,
            message=message,
        )
        people = [model.owner, *users_with_role(Role.MRC)]
        notify_many(
            [
                Alert(
                    people,
                    NotificationKind.VIOLATION,
                    message,
                    version=version,
                    url=None if version else reverse("model-detail", args=[model.pk]),
                )
            ]
        )
    report.moved.append({"model": model.name, "alias": alias, "found": found, "expected": wanted})


def _report_restored(model_record, model, alias, found) -> None:
    with transaction.atomic():
        violations = dict(model_record.alias_violations)
        opened = violations.pop(alias)
        model_record.alias_violations = violations
        model_record.save(update_fields=["alias_violations", "updated_at"])
        _audit(
            A.MLFLOW_ALIAS_RESTORED,
            event_type=EventType.POLICY_VIOLATION,
            model_id=model.pk,
            trackingUri=model_record.tracking_uri,
            mlflowModel=model_record.mlflow_model,
            alias=alias,
            version=found,
            openedAt=opened.get("since"),
        )


def write_back(model_id: int) -> int:
    """Write one model's tags and aliases back to each MLflow server it came from (the job the
    deploy hook queues). Raises MlflowUnreachable when a server cannot be reached: the scheduled
    sync writes what is still pending. Returns the number of writes."""
    written = 0
    with _job_context():
        for model_record in MlflowSyncRecord.objects.filter(
            kind=SyncKind.MODEL, model_id=model_id
        ).select_related("model"):
            client = MlflowClient(credentials_for(model_record.tracking_uri))
            report = SyncReport(model_record.tracking_uri)
            reconcile(client, model_record, None, report)
            written += report.written
    return written


def enqueue_write_back(model_id: int) -> None:
    try:
        async_task(
            WRITE_BACK_TASK, model_id, task_name=f"mlflow write-back {model_id}", group="mlflow"
        )
    except Exception:
        logger.exception("could not queue the MLflow write-back of model %s", model_id)


def version_deployed(version: ModelVersion) -> None:
    """The workflow's hook, inside the deploy's transaction: a version imported from MLflow gets
    its aliases and tags written back once the deployment commits."""
    if MODEL_TAG not in (version.tags or {}):
        return
    model_id = version.model_id
    transaction.on_commit(lambda: enqueue_write_back(model_id))
