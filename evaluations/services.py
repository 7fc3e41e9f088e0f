"""Writes of the evaluations feature: queue a run, run it (in the worker), recover stale runs,
cancel the runs of a version being retired.

Like registry/services.py: the access rule, the state check, the change and its audit event in
one transaction (`domain_action` records refusals). The heavy part, reading and checking the
uploaded files, happens before that transaction so the database is not held while a large file
is parsed.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django_q.tasks import async_task

from audit.choices import EventType
from audit.services import record_event
from core.choices import Role
from core.domain import domain_action
from core.errors import DomainError, InvalidState
from core.roles import has_role
from core.text import clean_json, clean_text
from evaluations import conf
from evaluations.access import READ_EVALUATIONS, RUN_EVALUATION, authorize_read, authorize_run
from evaluations.choices import (
    ACTIVE_STATUSES,
    MODEL_SUITES,
    OUTCOME_ACTIONS,
    EvaluationAuditAction,
    PredictionsSource,
    RunStatus,
    Suite,
)
from evaluations.metrics import DatasetError, ThresholdsError, load_dataset, run_suite
from evaluations.metrics import sha256_digest as digest
from evaluations.metrics.suites import ModelInputs
from evaluations.models import EvaluationRun
from evaluations.uploads import PreparedDataset, PreparedRun, default_model, prepare_run
from governance.choices import NotificationKind
from governance.notifications import notify
from registry import custody
from registry.choices import VersionState
from registry.execution import ExecutableModel, ExecutionError, Scorer
from registry.models import ModelVersion

logger = logging.getLogger(__name__)

TASK = "evaluations.tasks.run_evaluation"
# NotificationKind.EVALUATION_FAILED where governance.choices has it (being added), else the
# closest existing kind.
FAILED_NOTIFICATION_KIND = getattr(
    NotificationKind, "EVALUATION_FAILED", NotificationKind.CHANGES_REQUIRED
)
STALE_ERROR = "worker stopped responding"
# Progress shares: reading the files, then the metric engine, then saving the result.
LOAD_SHARE, ENGINE_SHARE = 10, 88


# ---- queueing -------------------------------------------------------------------------------


def _require_runnable(version: ModelVersion) -> None:
    if version.state == VersionState.RETIRED:
        raise InvalidState(
            "a RETIRED version is not evaluated any more", state=version.state
        ).about(action=RUN_EVALUATION, model_id=version.model_id, version_id=version.pk)


@domain_action(READ_EVALUATIONS)
def check_may_read(version: ModelVersion | None = None, *, actor) -> None:
    """Refuse (403, audited) reading the evaluations of `version`, or any evaluations."""
    authorize_read(actor, version)


@domain_action(RUN_EVALUATION)
def check_may_run(version: ModelVersion, *, actor) -> None:
    authorize_run(actor, version)
    _require_runnable(version)


def request_evaluation(
    version: ModelVersion,
    *,
    actor,
    suite: str,
    dataset,
    reference_dataset=None,
    sensitive_features=(),
    segment_columns=(),
    thresholds: Any = None,
    artifact: Any = None,
    features=(),
    training_dataset=None,
    epsilon: Any = None,
    seed: Any = None,
) -> EvaluationRun:
    """Check the request, store the files and queue the run; the worker computes it.

    A dataset without y_pred is predicted by the registry with `artifact` (an id of one of the
    version's artifacts) or the version's executable `model` artifact; `features` orders a
    single tensor input's columns. Thresholds looser than the tier's are refused unless the
    actor is MRC.

    Raises Forbidden (403), InvalidState (409) or django ValidationError (400, by field).
    """
    check_may_run(version, actor=actor)
    prepared = prepare_run(
        suite=suite,
        dataset=dataset,
        risk_tier=version.model.risk_tier,
        reference_dataset=reference_dataset,
        sensitive_features=sensitive_features,
        segment_columns=segment_columns,
        thresholds=thresholds,
        artifacts=list(version.artifacts.order_by("created_at", "id")),
        artifact=artifact,
        features=features,
        may_relax_thresholds=has_role(actor, Role.MRC),
        training_dataset=training_dataset,
        epsilon=epsilon,
        seed=seed,
    )
    stored = _store_files(version, prepared)
    try:
        return _queue_run(version, actor=actor, prepared=prepared, stored=stored)
    except BaseException:
        for name in stored.values():
            default_storage.delete(name)
        raise


def _store_files(version: ModelVersion, prepared: PreparedRun) -> dict[str, str]:
    folder = f"evaluations/version-{version.pk}/{uuid.uuid4().hex}"
    stored: dict[str, str] = {}
    for role, item in (
        ("dataset", prepared.dataset),
        ("reference", prepared.reference),
        ("training", prepared.training),
    ):
        if item is not None:
            stored[role] = default_storage.save(
                f"{folder}/{role}.{item.format}", ContentFile(item.content)
            )
    return stored


def _dataset_fields(prefix: str, item: PreparedDataset | None, name: str | None) -> dict:
    if item is None:
        return {}
    return {
        prefix if prefix == "dataset" else f"{prefix}_dataset": name,
        f"{prefix}_name": item.name,
        f"{prefix}_format": item.format,
        f"{prefix}_sha256": item.sha256,
        f"{prefix}_size": item.size,
        f"{prefix}_rows": item.rows,
        f"{prefix}_columns": item.columns,
    }


@domain_action(RUN_EVALUATION)
def _queue_run(
    version: ModelVersion, *, actor, prepared: PreparedRun, stored: dict[str, str]
) -> EvaluationRun:
    authorize_run(actor, version)
    version = ModelVersion.objects.select_related("model").get(pk=version.pk)
    _require_runnable(version)
    run = EvaluationRun.objects.create(
        version=version,
        suite=prepared.suite,
        status=RunStatus.QUEUED,
        progress_message="waiting for a worker",
        sensitive_features=prepared.sensitive_features,
        segment_columns=prepared.segment_columns,
        thresholds=prepared.thresholds,
        thresholds_source=prepared.thresholds_source,
        thresholds_note=prepared.thresholds_note,
        predictions_source=prepared.predictions_source,
        predictions_note=clean_text(prepared.predictions_note, 500),
        artifact=prepared.artifact,
        artifact_sha256=prepared.artifact.sha256 if prepared.artifact is not None else "",
        features=prepared.features,
        parameters=prepared.parameters,
        requested_by=actor,
        **_dataset_fields("dataset", prepared.dataset, stored.get("dataset")),
        **_dataset_fields("reference", prepared.reference, stored.get("reference")),
        **_dataset_fields("training", prepared.training, stored.get("training")),
    )
    _audit(run, EvaluationAuditAction.QUEUED, user=actor)
    run_id = run.pk
    transaction.on_commit(lambda: enqueue(run_id))
    return run


def enqueue(run_id: int) -> None:
    """Hand the run to the django-q2 worker. A broker failure leaves the run QUEUED."""
    try:
        async_task(TASK, run_id, task_name=f"evaluation run {run_id}", group="evaluations")
    except Exception:
        logger.exception("could not queue evaluation run %s", run_id)


def _audit(run: EvaluationRun, action: str, *, user=None, **extra) -> None:
    details = {
        "runId": run.pk,
        "suite": run.suite,
        "datasetSha256": run.dataset_sha256,
        "datasetRows": run.dataset_rows,
        "attempt": run.attempts,
    }
    if run.reference_sha256:
        details["referenceSha256"] = run.reference_sha256
    if run.training_sha256:
        details["trainingSha256"] = run.training_sha256
    if run.parameters:
        details["parameters"] = run.parameters
    if run.sensitive_features:
        details["sensitiveFeatures"] = run.sensitive_features
    details["predictionsSource"] = run.predictions_source
    if run.artifact_id is not None:
        details["artifactId"] = run.artifact_id
        details["artifactSha256"] = run.artifact_sha256
    details["thresholdsSource"] = run.thresholds_source
    details.update(extra)
    record_event(
        EventType.EVALUATION_RUN,
        action,
        user=user,
        model_id=run.version.model_id,
        version_id=run.version_id,
        details=details,
    )


# ---- running (in the worker) ------------------------------------------------------------------


class RunStopped(Exception):
    """The run is not this worker's attempt any more (cancelled, or recovered as stale): the
    work in progress is abandoned at the next progress checkpoint."""


class ProgressWriter:
    """The progress callback: one cheap UPDATE at most every `interval` seconds.

    It writes only while the run is still this attempt's (RUNNING with the same attempt
    count). When that UPDATE finds no such row, the run was cancelled (its version retired) or
    recovered as stale, and the writer raises RunStopped so the worker stops computing it.
    """

    def __init__(self, run: EvaluationRun, *, interval: float | None = None, clock=time.monotonic):
        self.run_id = run.pk
        self.attempt = run.attempts
        self.interval = conf.progress_interval() if interval is None else interval
        self.clock = clock
        self.last_write: float | None = None
        self.last_percent = 0
        self.writes = 0

    def __call__(self, percent: float, message: str, *, force: bool = False) -> None:
        value = max(self.last_percent, min(99, int(percent)))
        self.last_percent = value
        now = self.clock()
        if not force and self.last_write is not None and now - self.last_write < self.interval:
            return
        self.last_write = now
        self.writes += 1
        still_ours = EvaluationRun.objects.filter(
            pk=self.run_id, status=RunStatus.RUNNING, attempts=self.attempt
        ).update(
            progress=value,
            progress_message=clean_text(message, 300),
            heartbeat_at=timezone.now(),
        )
        if not still_ours:
            raise RunStopped(f"evaluation run {self.run_id} is not this worker's any more")

    def engine(self) -> Callable[[int, str], None]:
        """The callback for run_suite: its 0-100 mapped into this run's engine share."""

        def report(percent: int, message: str) -> None:
            self(LOAD_SHARE + ENGINE_SHARE * percent / 100, message)

        return report


def claim(run_id: int) -> EvaluationRun | None:
    """Move a QUEUED run to RUNNING for this worker; None when it is not QUEUED any more
    (another worker has it, it is finished or cancelled), so a task delivered twice runs once,
    or when its version is RETIRED (then the run is cancelled, not run).

    The version's row is locked first, as retire_version locks it before cancelling the
    version's runs: a retirement and a claim are serialised, so either the retirement sees the
    run RUNNING and cancels it (the worker stops at its next progress checkpoint), or the claim
    sees the version RETIRED; the conditional UPDATE keeps a second delivery from claiming."""
    now = timezone.now()
    version_id = (
        EvaluationRun.objects.filter(pk=run_id).values_list("version_id", flat=True).first()
    )
    if version_id is None:
        return None
    with transaction.atomic():
        version = ModelVersion.objects.select_for_update().get(pk=version_id)
        if version.state == VersionState.RETIRED:
            _cancel(
                EvaluationRun.objects.filter(pk=run_id, status=RunStatus.QUEUED),
                reason="the version was retired before a worker picked the run up",
            )
            return None
        claimed = EvaluationRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(
            status=RunStatus.RUNNING,
            progress=0,
            progress_message="starting",
            started_at=now,
            heartbeat_at=now,
            attempts=F("attempts") + 1,
        )
        if not claimed:
            return None
        run = EvaluationRun.objects.select_related("version__model__owner", "requested_by").get(
            pk=run_id
        )
        _audit(run, EvaluationAuditAction.STARTED)
    return run


class StoredFileError(DatasetError):
    pass


class PredictionError(DatasetError):
    """The registry could not compute the run's predictions: the artifact's bytes, the model
    or the dataset's fit to its inputs. The message names the artifact, column or input."""


def _load_stored(run: EvaluationRun, which: str):
    if which == "dataset":
        field, sha, fmt, what = run.dataset, run.dataset_sha256, run.dataset_format, ""
    elif which == "training":
        field, sha, fmt = run.training_dataset, run.training_sha256, run.training_format
        what = "training sample: "
    else:
        field, sha, fmt = run.reference_dataset, run.reference_sha256, run.reference_format
        what = "reference dataset: "
    try:
        with default_storage.open(field.name, "rb") as handle:
            content = handle.read()
    except (FileNotFoundError, OSError) as exc:
        raise StoredFileError(
            f"{what}the stored file cannot be read ({exc.strerror or exc})"
        ) from None
    actual = digest(content)
    if actual != sha:
        raise StoredFileError(
            f"{what}the stored file does not match the SHA-256 recorded at upload "
            f"({sha[:12]}..., now {actual[:12]}...); it was altered or damaged"
        )
    return load_dataset(
        content,
        fmt=fmt,
        max_bytes=max(conf.max_upload_bytes(), len(content)),
        max_rows=max(
            conf.max_rows(),
            run.dataset_rows or 0,
            run.reference_rows or 0,
            run.training_rows or 0,
        ),
        validate=False,
    )


def execute(run: EvaluationRun, progress: ProgressWriter) -> dict[str, Any]:
    """Load the stored file(s) and compute the suite; raises DatasetError for bad data.

    On a REGISTRY run the worker runs the model over the dataset (and over the reference, so
    the scores drift is judged on are the registry's too), hands the suites that query the
    model a Scorer, and, for the validation suite, runs the model's PRODUCTION version (the
    champion) over the same rows."""
    progress(1, "reading the dataset", force=True)
    data = _load_stored(run, "dataset")
    reference = training = None
    if run.reference_dataset:
        progress(3, "reading the reference dataset")
        reference = _load_stored(run, "reference")
    if run.training_dataset:
        progress(4, "reading the training sample")
        training = _load_stored(run, "training")
    model = None
    inputs = ModelInputs()
    if run.suite == Suite.SMOKE:
        # The smoke suite runs the model itself (loading it is one of its checks); a run
        # without a model to run is judged on no metric: INCOMPLETE.
        if run.predictions_source == PredictionsSource.REGISTRY:
            model = _model_bytes(run, progress)
    elif run.predictions_source == PredictionsSource.REGISTRY:
        executable = predict(run, data, progress)
        inputs.registry = True
        inputs.model_features = tuple(run.prediction_features)
        if reference is not None:
            inputs.reference_note = _predict_reference(run, executable, reference)
        if run.suite in MODEL_SUITES:
            inputs.scorer, inputs.unavailable = _scorer(run, executable, data)
        if run.suite == Suite.VALIDATION:
            progress(8, "running the champion (the model's PRODUCTION version)")
            inputs.champion = champion_scores(run, data)
    else:
        inputs.unavailable = NOT_RUN_BY_REGISTRY
    inputs.training = training
    inputs.epsilon = (run.parameters or {}).get("epsilon")
    inputs.seed = int((run.parameters or {}).get("seed") or 0)
    progress(LOAD_SHARE, f"dataset loaded: {len(data)} rows")
    result = run_suite(
        run.suite,
        data,
        reference=reference,
        sensitive_features=run.sensitive_features,
        segment_columns=run.segment_columns,
        thresholds=run.thresholds or None,
        progress=progress.engine(),
        model=model,
        features=run.features or None,
        inputs=inputs,
    )
    if model is not None:
        metrics = result.get("metrics") or {}
        run.runtime = metrics.get("runtime") or ""
        run.prediction_features = list(metrics.get("features") or [])
        run.score_output = metrics.get("scoreOutput") or ""
        run.label_output = metrics.get("labelOutput") or ""
    return result


NOT_RUN_BY_REGISTRY = (
    "the dataset carried its own predictions, so the registry did not run the model: metrics "
    "that query the model (attacks, perturbations, attributions) exist only on runs whose "
    "predictions the registry computes from the version's ONNX model"
)


def _scorer(run: EvaluationRun, executable: ExecutableModel, data) -> tuple[Scorer | None, str]:
    try:
        return (
            Scorer.for_frame(
                executable, data, features=run.features or None, exclude=run.sensitive_features
            ),
            "",
        )
    except ExecutionError as exc:
        return None, f"the registry cannot query this model on made-up inputs: {exc}"


def _predict_reference(run: EvaluationRun, executable: ExecutableModel, reference) -> str:
    """Replace the reference's y_score/y_pred with the model's own, when the reference has
    the model's inputs; otherwise drop them. Returns a note saying which."""
    try:
        predictions = executable.predict_frame(
            reference, features=run.features or None, exclude=run.sensitive_features
        )
    except ExecutionError as exc:
        # Never the owner's scores on a run the registry vouches for: without its own, the
        # metrics that compare scores with the reference's (PSI, degradation) are not measured.
        reference.drop(columns=["y_score", "y_pred"], errors="ignore", inplace=True)
        return (
            "the registry could not run the model on the reference dataset, so the metrics "
            f"that compare its scores (PSI, degradation) were not measured ({exc})"
        )
    reference["y_score"] = predictions.y_score
    reference["y_pred"] = predictions.y_pred
    return "the reference dataset's scores were computed by the registry with the same model"


def champion_scores(run: EvaluationRun, data) -> dict[str, Any]:
    """The scores of the model's version in PRODUCTION on `data`, for champion-challenger, or
    ``{"missing": reason}``. The champion's own model artifact is run (its bytes checked
    against the custody record), fed this run's feature columns when it takes them, else the
    default rule (every column but the labels and the sensitive features)."""
    champion = (
        ModelVersion.objects.filter(model_id=run.version.model_id, state=VersionState.PRODUCTION)
        .exclude(pk=run.version_id)
        .order_by("-updated_at", "-id")
        .first()
    )
    if champion is None:
        return {"missing": "the model has no other version in PRODUCTION to compare with"}
    artifacts = list(champion.artifacts.order_by("created_at", "id"))
    artifact = default_model(artifacts)
    label = f"the champion {champion.version}"
    if artifact is None:
        return {"missing": f"{label} has no ONNX model the registry can run"}
    try:
        content = custody.read_verified(artifact)
        champion_model = ExecutableModel.load(content)
        try:
            # The columns this run feeds its own model, when the champion takes the same.
            predictions = champion_model.predict_frame(
                data, features=run.features or None, exclude=run.sensitive_features
            )
        except ExecutionError:
            predictions = champion_model.predict_frame(data, exclude=run.sensitive_features)
    except (DomainError, OSError) as exc:
        return {"missing": f"{label}'s model cannot be read: {exc}"}
    except ExecutionError as exc:
        return {"missing": f"{label}'s model cannot be run on this dataset: {exc}"}
    return {
        "version": champion.version,
        "versionId": champion.pk,
        "artifactId": artifact.pk,
        "artifactSha256": artifact.sha256,
        "y_score": predictions.y_score,
    }


def _model_bytes(run: EvaluationRun, progress: ProgressWriter) -> bytes:
    """The run's artifact's bytes, checked against the custody record and against the
    SHA-256 it had when the run was queued; raises PredictionError."""
    artifact = run.artifact
    label = f"artifact {run.artifact_id}"
    if artifact is None:
        raise PredictionError(f"{label} is gone: nothing was run")
    progress(6, f"running the model ({label})", force=True)
    try:
        content = custody.read_verified(artifact)
    except DomainError as exc:
        raise PredictionError(str(exc)) from None
    except (FileNotFoundError, OSError) as exc:
        raise PredictionError(
            f"the stored bytes of {label} cannot be read ({exc.strerror or exc})"
        ) from None
    if artifact.sha256 != run.artifact_sha256:
        raise PredictionError(
            f"{label} now records SHA-256 {artifact.sha256}, not the {run.artifact_sha256} "
            "it had when the run was queued: nothing was run"
        )
    return content


def predict(run: EvaluationRun, data, progress: ProgressWriter) -> ExecutableModel:
    """Run the run's artifact over `data` and add its y_score and y_pred columns to `data`
    itself (batched inside predict_frame: the dataset is never copied). The provenance is set
    on `run` for finish() to store."""
    content = _model_bytes(run, progress)
    label = f"artifact {run.artifact_id}"
    try:
        model = ExecutableModel.load(content)
        del content
        predictions = model.predict_frame(
            data, features=run.features or None, exclude=run.sensitive_features
        )
    except ExecutionError as exc:
        raise PredictionError(f"the registry could not run {label} on the dataset: {exc}") from None
    data["y_score"] = predictions.y_score
    data["y_pred"] = predictions.y_pred
    run.runtime = predictions.runtime
    run.prediction_features = list(predictions.features)
    run.score_output = predictions.score_output
    run.label_output = predictions.label_output or ""
    return model


def run_evaluation(run_id: int) -> str:
    """The worker's task: claim the run, compute it, store the outcome. Returns the status."""
    run = claim(run_id)
    if run is None:
        logger.info("evaluation run %s is not QUEUED any more; nothing to do", run_id)
        return "skipped"
    progress = ProgressWriter(run)
    try:
        result = execute(run, progress)
    except RunStopped:
        return _stopped(run)
    except (DatasetError, ThresholdsError) as exc:
        return finish_error(run, str(exc))
    except MemoryError:
        return finish_error(run, "the dataset is too large to evaluate in the worker's memory")
    except Exception as exc:
        logger.exception("evaluation run %s failed", run_id)
        return finish_error(run, f"the evaluation failed unexpectedly ({type(exc).__name__})")
    try:
        return finish(run, result)
    except Exception as exc:
        logger.exception("could not store the result of evaluation run %s", run_id)
        return finish_error(run, f"the result could not be stored ({type(exc).__name__})")


def _stopped(run: EvaluationRun) -> str:
    """What the worker answers for a run taken from it mid-way: it stores nothing."""
    status = EvaluationRun.objects.filter(pk=run.pk).values_list("status", flat=True).first()
    if status == RunStatus.CANCELLED:
        logger.info("evaluation run %s was cancelled while running; stopped", run.pk)
        return RunStatus.CANCELLED
    logger.warning("evaluation run %s was taken from this worker; stopped", run.pk)
    return "dropped"


def _outcome_message(run: EvaluationRun, reason: str) -> str:
    version = run.version
    text = f"{version.model.name} {version.version}: the {run.suite} evaluation {reason}"
    return clean_text(text, 500)


def _describe_failures(results: list[dict]) -> str:
    parts = []
    for r in results:
        sign = ">=" if r.get("direction") in ("min", "significance") else "<="
        value = r.get("value")
        shown = f"{value:.3g}" if isinstance(value, int | float) else "n/a"
        parts.append(f"{r['metric']} {shown} (needs {sign} {r.get('threshold')})")
    return ", ".join(parts)


def outcome_status(results: list[dict]) -> str:
    """FAILED when a threshold failed; else INCOMPLETE when one could not be judged or none
    was judged at all; else PASSED. A failure says more than a gap, so it wins."""
    judged = [r for r in results if r.get("passed") is not None]
    if any(r.get("passed") is False for r in judged):
        return RunStatus.FAILED
    if not judged or len(judged) < len(results):
        return RunStatus.INCOMPLETE
    return RunStatus.PASSED


def _describe_unjudged(run: EvaluationRun) -> str:
    missing = [r["metric"] for r in run.unevaluated_thresholds]
    if missing:
        return f"is INCOMPLETE: not judged ({', '.join(missing)} could not be computed)"
    return "is INCOMPLETE: no threshold was judged"


def finish(run: EvaluationRun, result: dict[str, Any]) -> str:
    results = clean_json(result.get("thresholdResults") or [])
    status = outcome_status(results)
    now = timezone.now()
    with transaction.atomic():
        updated = EvaluationRun.objects.filter(
            pk=run.pk, status=RunStatus.RUNNING, attempts=run.attempts
        ).update(
            status=status,
            progress=100,
            progress_message="done",
            metrics=clean_json(result.get("metrics") or {}),
            threshold_results=results,
            notes=clean_json(result.get("notes") or []),
            error="",
            finished_at=now,
            heartbeat_at=now,
            runtime=run.runtime,
            prediction_features=run.prediction_features,
            score_output=run.score_output,
            label_output=run.label_output,
        )
        if not updated:
            return _stopped(run)
        run.refresh_from_db()
        failed = run.failed_thresholds
        _audit(
            run,
            OUTCOME_ACTIONS[status],
            failedThresholds=[
                {k: r.get(k) for k in ("metric", "value", "threshold", "direction")} for r in failed
            ],
            unevaluatedThresholds=[r["metric"] for r in run.unevaluated_thresholds],
        )
        if status == RunStatus.FAILED:
            _notify_owner(run, f"FAILED its thresholds: {_describe_failures(failed)}")
        elif status == RunStatus.INCOMPLETE:
            _notify_owner(run, _describe_unjudged(run))
    return status


def finish_error(run: EvaluationRun, reason: str, *, only_if_running: bool = True) -> str:
    reason = clean_text(reason, 5000)
    now = timezone.now()
    with transaction.atomic():
        queryset = EvaluationRun.objects.filter(pk=run.pk)
        if only_if_running:
            queryset = queryset.filter(status=RunStatus.RUNNING, attempts=run.attempts)
        updated = queryset.update(
            status=RunStatus.ERROR,
            error=reason,
            progress_message="stopped with an error",
            finished_at=now,
            heartbeat_at=now,
        )
        if not updated:
            return "dropped"
        run.refresh_from_db()
        _audit(run, EvaluationAuditAction.ERROR, error=reason)
        _notify_owner(run, f"could not be completed: {reason}")
    return RunStatus.ERROR


def _notify_owner(run: EvaluationRun, reason: str) -> None:
    """Tell the owner (and the requester); a failure to notify never loses the outcome."""
    version = run.version
    try:
        with transaction.atomic():
            notify(
                [version.model.owner, run.requested_by],
                kind=FAILED_NOTIFICATION_KIND,
                message=_outcome_message(run, reason),
                version=version,
            )
    except Exception:
        logger.exception("could not notify the owner of evaluation run %s", run.pk)


# ---- cancelling ------------------------------------------------------------------------------


def _cancel(runs, *, reason: str, user=None) -> list[int]:
    """End every run of `runs` (a queryset of QUEUED or RUNNING runs, locked here) CANCELLED,
    each with its EVALUATION_CANCELLED audit event; returns their ids. Call it in a
    transaction."""
    now = timezone.now()
    cancelled = []
    locked = runs.select_for_update(of=("self",)).select_related("version__model").order_by("id")
    for run in locked:
        was = run.status
        updated = EvaluationRun.objects.filter(pk=run.pk, status=was).update(
            status=RunStatus.CANCELLED,
            progress_message=clean_text(f"cancelled: {reason}", 300),
            finished_at=now,
            heartbeat_at=now,
        )
        if updated:
            run.status = RunStatus.CANCELLED
            _audit(
                run, EvaluationAuditAction.CANCELLED, user=user, previousStatus=was, reason=reason
            )
            cancelled.append(run.pk)
    return cancelled


def cancel_runs_of_retired_version(version: ModelVersion, *, actor) -> list[int]:
    """The version is being retired (governance.promotion.retire_version, inside its
    transaction, the version's row locked): its QUEUED runs end CANCELLED instead of being run,
    and its RUNNING ones end CANCELLED at once, their worker stopping at its next progress
    checkpoint (ProgressWriter) and storing nothing. Each is audited. Returns their ids."""
    return _cancel(
        EvaluationRun.objects.filter(version=version, status__in=ACTIVE_STATUSES),
        reason="the version was retired",
        user=actor,
    )


# ---- stale runs -----------------------------------------------------------------------------


def recover_stale_runs(
    *, timeout: float | None = None, requeue: bool = True, now=None
) -> dict[str, list[int]]:
    """RUNNING runs without a heartbeat for `timeout` seconds: their worker died (killed, out of
    memory, past the cluster's timeout). Each is re-queued once (while attempts < the maximum),
    otherwise it ends in ERROR ("worker stopped responding"). Returns the ids of both."""
    timeout = conf.heartbeat_timeout() if timeout is None else timeout
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=timeout)
    stale = (
        EvaluationRun.objects.filter(status=RunStatus.RUNNING)
        .filter(Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started_at__lt=cutoff))
        .select_related("version__model__owner", "requested_by")
        .order_by("id")
    )
    outcome: dict[str, list[int]] = {"requeued": [], "errored": []}
    for run in stale:
        silent = int((now - (run.heartbeat_at or run.started_at)).total_seconds())
        if requeue and run.attempts < conf.max_attempts():
            with transaction.atomic():
                updated = EvaluationRun.objects.filter(
                    pk=run.pk, status=RunStatus.RUNNING, attempts=run.attempts
                ).update(
                    status=RunStatus.QUEUED,
                    progress=0,
                    progress_message=f"re-queued: the worker stopped responding ({silent} s "
                    "without a heartbeat)",
                    heartbeat_at=None,
                )
                if updated:
                    _audit(run, EvaluationAuditAction.REQUEUED, silentSeconds=silent)
                    run_id = run.pk
                    transaction.on_commit(lambda run_id=run_id: enqueue(run_id))
                    outcome["requeued"].append(run.pk)
        else:
            reason = (
                f"{STALE_ERROR}: no heartbeat for {silent} s (attempt {run.attempts} of "
                f"{conf.max_attempts()})"
            )
            if finish_error(run, reason) == RunStatus.ERROR:
                outcome["errored"].append(run.pk)
    return outcome
