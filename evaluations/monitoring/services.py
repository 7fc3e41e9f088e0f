"""The writes of monitoring: record a batch of production traffic, record outcomes, compute a
window (in the worker), and the daily catch-up.

Who may send traffic: an SRE for any model (they run production) and the model's owner for
their own (their serving pipeline posts with their token); nobody else, auditors never. Who
may read it: whoever reads the version's evaluations (the oversight roles, the owner) and SRE.
Both are composed from the access table of core.access (see `record_refusal`), so a change to
its rules changes these.

Like evaluations.services: the file is parsed and checked before the transaction, the Parquet
file is stored, then the row, its audit event and the queued job are written in one
transaction (the version's row locked, so one batchId and one record id are stored once); a
failure removes the stored file: nothing is half-stored.
"""

from __future__ import annotations

import io
import logging
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django_q.tasks import async_task

from audit.choices import EventType
from audit.services import SYSTEM_USER, record_event
from core.access import refusal
from core.choices import Action
from core.domain import domain_action
from core.errors import Forbidden, InvalidState
from core.text import clean_text
from evaluations import conf
from evaluations.choices import BatchStatus, MonitoringAuditAction
from evaluations.metrics import DatasetError, sha256_digest
from evaluations.metrics._common import Y_TRUE
from evaluations.models import MonitoringBatch, MonitoringOutcomes, MonitoringWindow
from evaluations.monitoring import compute, ingest, reference
from evaluations.monitoring.ingest import RECORD_ID
from evaluations.monitoring.signals import window_computed
from registry.choices import VersionState
from registry.models import ModelVersion

logger = logging.getLogger(__name__)

# The audited names of the two actions (core.choices.Action has no member for them yet).
RECORD_MONITORING = "RECORD_MONITORING"
READ_MONITORING = "READ_MONITORING"
# Versions whose traffic is taken: deployed ones.
MONITORED_STATES = (VersionState.STAGING, VersionState.PRODUCTION)
WINDOW_TASK = "evaluations.tasks.compute_monitoring_window"
FILE, BATCH_ID = "file", "batchId"
MAX_BATCH_ID = 200
MAX_LISTED = 10
# The column of a stored outcomes file that holds its record's row in its batch.
ROW = "row"


# ---- who may ----------------------------------------------------------------------------------


def record_refusal(user, model) -> str | None:
    """Why `user` may not send `model`'s production traffic, or None: SRE on any model (the
    deploy rule), the owner on their own (the change-model rule)."""
    if refusal(user, Action.DEPLOY_VERSION, model=model) is None:
        return None
    if refusal(user, Action.CHANGE_MODEL, model=model) is None:
        return None
    if user is None or not getattr(user, "is_authenticated", False):
        return "you must be logged in to record production traffic"
    return "to record production traffic you need the role SRE, or Model Owner on a model you own"


def read_refusal(user, model) -> str | None:
    """Why `user` may not read `model`'s monitoring, or None: the readers of its evaluations
    and SRE."""
    reason = refusal(user, Action.READ_EVALUATIONS, model=model)
    if reason is None or refusal(user, Action.DEPLOY_VERSION, model=model) is None:
        return None
    return reason.replace("read evaluations", "read monitoring")


def may_record(user, model) -> bool:
    return record_refusal(user, model) is None


def may_read(user, model) -> bool:
    return read_refusal(user, model) is None


def _authorize(reason: str | None, action: str, version: ModelVersion) -> None:
    if reason is not None:
        raise Forbidden(reason).about(
            action=action, model_id=version.model_id, version_id=version.pk
        )


@domain_action(READ_MONITORING)
def check_may_read(version: ModelVersion, *, actor) -> None:
    _authorize(read_refusal(actor, version.model), READ_MONITORING, version)


def _require_deployed(version: ModelVersion) -> None:
    if version.state not in MONITORED_STATES:
        raise InvalidState(
            f"only a version in STAGING or PRODUCTION takes production traffic; this one is "
            f"{version.state}",
            state=version.state,
        ).about(action=RECORD_MONITORING, model_id=version.model_id, version_id=version.pk)


@domain_action(RECORD_MONITORING)
def check_may_record(version: ModelVersion, *, actor) -> None:
    """Refuse (403 or 409, audited) sending traffic for `version`."""
    _authorize(record_refusal(actor, version.model), RECORD_MONITORING, version)
    _require_deployed(version)


def _reference_run(version: ModelVersion):
    run = reference.latest_finished_run(version.pk)
    if run is None:
        raise InvalidState(
            "the version has no finished evaluation run: its traffic is compared with the "
            "dataset of its latest finished run, so run an evaluation first",
            state=version.state,
        ).about(action=RECORD_MONITORING, model_id=version.model_id, version_id=version.pk)
    return run


# ---- reading an upload ------------------------------------------------------------------------


def _invalid(field: str, message: str) -> ValidationError:
    return ValidationError({field: [clean_text(message, 1000)]})


def _parse_upload(upload: Any) -> tuple[pd.DataFrame, str, str, str, int]:
    """(frame, format, name, sha256, size) of an uploaded file; ValidationError on `file`."""
    if upload is None or not hasattr(upload, "read"):
        raise _invalid(FILE, "a file is required (CSV, Parquet or JSON lines)")
    limit = conf.max_upload_bytes()
    size = getattr(upload, "size", None)
    if size is not None and size > limit:
        raise _invalid(FILE, f"file too big: {size} bytes, over the limit of {limit} bytes")
    name = clean_text(str(getattr(upload, "name", "") or "batch"), 255)
    handle = getattr(upload, "file", upload)
    try:
        handle.seek(0)
        digest = sha256_digest(handle)
        handle.seek(0)
        frame, fmt = ingest.parse(handle, name=name, max_rows=conf.max_rows())
    except DatasetError as exc:
        raise _invalid(FILE, exc.message) from None
    return frame, fmt, name, digest, int(size if size is not None else 0)


def _clean_batch_id(value: Any) -> str:
    text = "" if value is None else str(value).strip()
    if not text:
        raise _invalid(BATCH_ID, "batchId is required: the client's key for this batch")
    if len(text) > MAX_BATCH_ID or not text.isprintable():
        raise _invalid(BATCH_ID, f"batchId must be printable text of at most {MAX_BATCH_ID} chars")
    return text


def _listed(values: Iterable[Any]) -> str:
    values = list(values)
    shown = ", ".join(repr(v) for v in values[:MAX_LISTED])
    return shown + (f" and {len(values) - MAX_LISTED} more" if len(values) > MAX_LISTED else "")


def _store(folder: str, content: bytes) -> tuple[str, str]:
    name = default_storage.save(f"{folder}/{uuid.uuid4().hex}.parquet", ContentFile(content))
    return name, sha256_digest(content)


def _stored_bytes(name: str, sha: str) -> bytes:
    with default_storage.open(name, "rb") as handle:
        content = handle.read()
    if sha256_digest(content) != sha:
        raise DatasetError(
            f"the stored monitoring file {name} does not match its SHA-256; it was altered"
        )
    return content


def _read_stored(name: str, sha: str, columns=None) -> pd.DataFrame:
    return ingest.read_parquet(_stored_bytes(name, sha), columns)


def _read_table(name: str, sha: str, columns=None) -> pa.Table:
    return pq.read_table(io.BytesIO(_stored_bytes(name, sha)), columns=columns)


# ---- recording a batch ------------------------------------------------------------------------


@dataclass
class Recorded:
    batch: MonitoringBatch
    created: bool


def record_batch(
    version: ModelVersion, *, actor, file: Any, batch_id: Any, received_at: datetime | None = None
) -> Recorded:
    """Store a batch of `version`'s production traffic and queue its window's computation.

    `received_at` (default now) is for backfills and the demo's week of traffic; the API and
    the page never give it.

    The same `batch_id` again returns the first batch (`created` False) and stores nothing.
    Raises Forbidden (403), InvalidState (409: not deployed, no evaluation to compare with)
    or ValidationError (400, by field: `file`, `batchId`).
    """
    check_may_record(version, actor=actor)
    key = _clean_batch_id(batch_id)
    existing = MonitoringBatch.objects.filter(version=version, batch_id=key).first()
    if existing is not None:
        return Recorded(existing, False)
    run = _reference_run(version)
    try:
        profile = reference.profile(run)
    except DatasetError as exc:
        raise InvalidState(
            f"the evaluation dataset this traffic is compared with cannot be used: {exc.message}",
            state=version.state,
        ) from None
    frame, fmt, name, digest, size = _parse_upload(file)
    try:
        parsed = ingest.check_batch(frame, profile, fmt=fmt)
    except DatasetError as exc:
        raise _invalid(FILE, exc.message) from None
    del frame
    stored, stored_sha = _store(f"monitoring/version-{version.pk}", ingest.to_parquet(parsed.frame))
    try:
        return _create_batch(
            version,
            actor=actor,
            key=key,
            parsed=parsed,
            name=name,
            digest=digest,
            size=size,
            stored=stored,
            stored_sha=stored_sha,
            run_id=run.pk,
            received_at=received_at,
        )
    except BaseException:
        default_storage.delete(stored)
        raise


def _record_ids_of(version_id: int) -> pd.DataFrame:
    """Every record id of the version's batches, with its batch and its row there: one column
    read per file."""
    parts = []
    for pk, stored, sha in MonitoringBatch.objects.filter(
        version_id=version_id, has_record_ids=True
    ).values_list("pk", "stored", "stored_sha256"):
        ids = _read_stored(stored, sha, [RECORD_ID])[RECORD_ID]
        parts.append(
            pd.DataFrame({RECORD_ID: ids.astype(object), "batch": pk, ROW: np.arange(len(ids))})
        )
    if not parts:
        return pd.DataFrame(
            {RECORD_ID: pd.Series([], dtype=object), "batch": [], ROW: pd.Series([], dtype=int)}
        )
    return pd.concat(parts, ignore_index=True)


@domain_action(RECORD_MONITORING)
def _create_batch(
    version: ModelVersion,
    *,
    actor,
    key: str,
    parsed: ingest.ParsedBatch,
    name: str,
    digest: str,
    size: int,
    stored: str,
    stored_sha: str,
    run_id: int,
    received_at: datetime | None,
) -> Recorded:
    version = ModelVersion.objects.select_for_update().select_related("model").get(pk=version.pk)
    _authorize(record_refusal(actor, version.model), RECORD_MONITORING, version)
    _require_deployed(version)
    existing = MonitoringBatch.objects.filter(version=version, batch_id=key).first()
    if existing is not None:  # the same batch sent twice at once: the first one stands
        default_storage.delete(stored)
        return Recorded(existing, False)
    if parsed.has_record_ids:
        known = _record_ids_of(version.pk)[RECORD_ID]
        repeated = parsed.frame[RECORD_ID][parsed.frame[RECORD_ID].isin(known)]
        if len(repeated):
            raise _invalid(
                FILE,
                f"{len(repeated)} record id(s) were sent in an earlier batch of this version: "
                f"{_listed(repeated)}; each record is sent once",
            )
    now = received_at or timezone.now()
    batch = MonitoringBatch.objects.create(
        version=version,
        batch_id=key,
        rows=parsed.rows,
        columns=[str(c) for c in parsed.frame.columns],
        has_predictions=parsed.has_predictions,
        has_record_ids=parsed.has_record_ids,
        file_name=name,
        file_format=parsed.format,
        sha256=digest,
        size=size,
        stored=stored,
        stored_sha256=stored_sha,
        window_start=now.astimezone(UTC).date(),
        received_at=now,
        received_by=actor,
    )
    record_event(
        EventType.EVALUATION_RUN,
        MonitoringAuditAction.BATCH_RECEIVED,
        user=actor,
        model_id=version.model_id,
        version_id=version.pk,
        details={
            "batch": batch.pk,
            "batchId": key,
            "rows": batch.rows,
            "sha256": digest,
            "format": batch.file_format,
            "window": batch.window_start.isoformat(),
            "referenceRun": run_id,
        },
    )
    queue_window(version.pk, batch.window_start)
    return Recorded(batch, True)


# ---- recording outcomes -----------------------------------------------------------------------


def record_outcomes(version: ModelVersion, *, actor, file: Any) -> list[MonitoringOutcomes]:
    """Store outcomes (recordId, y_true) for records of `version`'s batches and queue the
    windows they belong to. Unknown record ids, or ones that already have an outcome: 400,
    nothing stored."""
    check_may_record(version, actor=actor)
    frame, _fmt, name, digest, _size = _parse_upload(file)
    try:
        outcomes = ingest.check_outcomes(frame)
    except DatasetError as exc:
        raise _invalid(FILE, exc.message) from None
    stored: list[str] = []
    try:
        return _create_outcomes(
            version, actor=actor, outcomes=outcomes, name=name, digest=digest, stored=stored
        )
    except BaseException:
        for path in stored:
            default_storage.delete(path)
        raise


@domain_action(RECORD_MONITORING)
def _create_outcomes(
    version: ModelVersion,
    *,
    actor,
    outcomes: pd.DataFrame,
    name: str,
    digest: str,
    stored: list[str],
) -> list[MonitoringOutcomes]:
    version = ModelVersion.objects.select_for_update().select_related("model").get(pk=version.pk)
    _authorize(record_refusal(actor, version.model), RECORD_MONITORING, version)
    _require_deployed(version)
    index = _record_ids_of(version.pk)
    joined = outcomes.merge(index, on=RECORD_ID, how="left")
    unknown = joined.loc[joined["batch"].isna(), RECORD_ID]
    if len(unknown):
        raise _invalid(
            FILE,
            f"{len(unknown)} unknown record id(s): {_listed(unknown)} (no batch of this "
            "version carried them)",
        )
    already = _outcome_ids_of(version.pk)
    repeated = joined.loc[joined[RECORD_ID].isin(already), RECORD_ID]
    if len(repeated):
        raise _invalid(
            FILE,
            f"{len(repeated)} record id(s) already have an outcome: {_listed(repeated)}; each "
            "outcome is sent once",
        )
    now = timezone.now()
    created = []
    for batch_pk, part in joined.groupby("batch", sort=True):
        part = part.assign(**{ROW: part[ROW].astype("int64")})
        content = ingest.to_parquet(part[[RECORD_ID, Y_TRUE, ROW]].reset_index(drop=True))
        path, sha = _store(f"monitoring/version-{version.pk}", content)
        stored.append(path)
        created.append(
            MonitoringOutcomes(
                version=version,
                batch_id=int(batch_pk),
                rows=len(part),
                file_name=name,
                sha256=digest,
                stored=path,
                stored_sha256=sha,
                received_at=now,
                received_by=actor,
            )
        )
    created = MonitoringOutcomes.objects.bulk_create(created)
    days = sorted(
        set(
            MonitoringBatch.objects.filter(pk__in=[o.batch_id for o in created]).values_list(
                "window_start", flat=True
            )
        )
    )
    record_event(
        EventType.EVALUATION_RUN,
        MonitoringAuditAction.OUTCOMES_RECEIVED,
        user=actor,
        model_id=version.model_id,
        version_id=version.pk,
        details={
            "rows": len(joined),
            "sha256": digest,
            "batches": sorted(o.batch_id for o in created),
            "windows": [d.isoformat() for d in days],
        },
    )
    for day in days:
        queue_window(version.pk, day)
    return created


def _outcome_ids_of(version_id: int) -> pd.Series:
    parts = [
        _read_stored(stored, sha, [RECORD_ID])[RECORD_ID]
        for stored, sha in MonitoringOutcomes.objects.filter(version_id=version_id).values_list(
            "stored", "stored_sha256"
        )
    ]
    return pd.concat(parts, ignore_index=True) if parts else pd.Series([], dtype=object)


# ---- computing a window (in the worker) -------------------------------------------------------


def queue_window(version_id: int, day: date) -> None:
    """Compute the window once the current transaction commits (a broker failure leaves the
    batch RECEIVED: the daily job computes it)."""

    def send() -> None:
        try:
            async_task(
                WINDOW_TASK,
                version_id,
                day.isoformat(),
                task_name=f"monitoring window {version_id} {day.isoformat()}",
                group="monitoring",
            )
        except Exception:
            logger.exception("could not queue monitoring window %s %s", version_id, day)

    transaction.on_commit(send)


def window_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return start, start + timedelta(days=1)


def load_window(version_id: int, day: date) -> tuple[pd.DataFrame, list[int], int]:
    """The window's rows (its batches in arrival order, y_true set where outcomes came, by
    the row each outcome's record has in its batch), the batch ids and the newest outcome
    upload's id. The files are joined as Arrow tables (a batch without y_pred has it null)."""
    batches = list(
        MonitoringBatch.objects.filter(version_id=version_id, window_start=day)
        .order_by("id")
        .values_list("pk", "rows", "stored", "stored_sha256", "columns")
    )
    tables = [
        _read_table(stored, sha, [c for c in columns if c != RECORD_ID])
        for _, _, stored, sha, columns in batches
    ]
    table = (
        tables[0] if len(tables) == 1 else pa.concat_tables(tables, promote_options="permissive")
    )
    del tables
    frame = table.to_pandas()
    del table
    offsets, start = {}, 0
    for pk, rows, *_ in batches:
        offsets[pk] = start
        start += rows
    outcomes = list(
        MonitoringOutcomes.objects.filter(batch__in=list(offsets)).values_list(
            "pk", "batch_id", "stored", "stored_sha256"
        )
    )
    if outcomes:
        truth = np.full(len(frame), np.nan)
        for _, batch_pk, stored, sha in outcomes:
            part = _read_stored(stored, sha, [ROW, Y_TRUE])
            truth[offsets[batch_pk] + part[ROW].to_numpy(dtype=np.int64)] = part[Y_TRUE]
        frame[Y_TRUE] = truth
    return frame, [pk for pk, *_ in batches], max((pk for pk, *_ in outcomes), default=0)


def compute_window(version_id: int, day: date) -> MonitoringWindow | None:
    """Compute (or recompute) the window of `version_id` on the UTC day `day` and store it;
    then announce it (`window_computed`) once committed. None when it has no batch."""
    if not MonitoringBatch.objects.filter(version_id=version_id, window_start=day).exists():
        return None
    started = time.monotonic()
    run = reference.latest_finished_run(version_id)
    frame, batch_ids, last_outcomes = load_window(version_id, day)
    notes: list[str] = []
    if run is None:
        metrics: dict[str, Any] = {}
        notes.append("the version has no finished evaluation run to compare with")
    else:
        base, note = reference.baseline(run)
        notes.append(note)
        features = [c for c in base.columns if c in frame.columns and c != "y_score"]
        metrics, more = compute.window_metrics(
            frame,
            base,
            features=features,
            sensitive_features=reference.sensitive_features(version_id, run),
        )
        notes.extend(more)
    return _store_window(
        version_id,
        day,
        rows=len(frame),
        batch_ids=batch_ids,
        last_outcomes=last_outcomes,
        metrics=metrics,
        notes=notes,
        run_id=run.pk if run is not None else None,
        seconds=time.monotonic() - started,
        outcome_rows=int(metrics.get("outcomeRows") or 0),
    )


def _store_window(
    version_id: int,
    day: date,
    *,
    rows: int,
    batch_ids: list[int],
    last_outcomes: int,
    metrics: dict,
    notes: list[str],
    run_id: int | None,
    seconds: float,
    outcome_rows: int,
) -> MonitoringWindow:
    last_batch = max(batch_ids)
    with transaction.atomic():
        version = ModelVersion.objects.select_for_update().get(pk=version_id)
        window = MonitoringWindow.objects.filter(version_id=version_id, start=day).first()
        if window is not None and (window.last_batch, window.last_outcomes) > (
            last_batch,
            last_outcomes,
        ):
            return window  # a computation that read more already stored its result
        fields = {
            "rows": rows,
            "batches": len(batch_ids),
            "outcome_rows": outcome_rows,
            "metrics": metrics,
            "notes": [clean_text(n, 500) for n in notes],
            "reference_run_id": run_id,
            "last_batch": last_batch,
            "last_outcomes": last_outcomes,
            "computed_at": timezone.now(),
            "seconds": round(seconds, 3),
        }
        window, _ = MonitoringWindow.objects.update_or_create(
            version_id=version_id, start=day, defaults=fields
        )
        MonitoringBatch.objects.filter(pk__in=batch_ids).update(status=BatchStatus.COMPUTED)
        record_event(
            EventType.EVALUATION_RUN,
            MonitoringAuditAction.WINDOW_COMPUTED,
            user=SYSTEM_USER,
            model_id=version.model_id,
            version_id=version_id,
            details={
                "window": day.isoformat(),
                "rows": rows,
                "batches": len(batch_ids),
                "outcomeRows": outcome_rows,
                "referenceRun": run_id,
                "scorePsi": metrics.get("scorePsi"),
            },
        )
        transaction.on_commit(lambda: _announce(version_id, day))
    return window


def _announce(version_id: int, day: date) -> None:
    """Tell the layers above (continuous monitoring) that the window is stored; their failure
    is logged, never undoes the window."""
    for receiver, result in window_computed.send_robust(
        sender=MonitoringWindow, version_id=version_id, start=day
    ):
        if isinstance(result, Exception):
            logger.error(
                "after monitoring window %s %s: %s failed: %r", version_id, day, receiver, result
            )


def run_window_job(version_id: int, day_iso: str) -> dict:
    """The worker's task behind queue_window."""
    day = date.fromisoformat(day_iso)
    try:
        window = compute_window(version_id, day)
    except DatasetError as exc:
        logger.warning("monitoring window %s %s not computed: %s", version_id, day, exc)
        return {"error": str(exc)}
    if window is None:
        return {"skipped": "no batch"}
    return {"window": window.pk, "rows": window.rows, "seconds": window.seconds}


def compute_pending() -> dict:
    """Daily (and whenever asked): compute every window holding a batch its stored window
    has not counted yet (a job lost with its broker, a worker that died)."""
    pending = sorted(
        set(
            MonitoringBatch.objects.filter(status=BatchStatus.RECEIVED).values_list(
                "version_id", "window_start"
            )
        )
    )
    done, failed = [], []
    for version_id, day in pending:
        try:
            compute_window(version_id, day)
            done.append(f"{version_id}:{day.isoformat()}")
        except Exception:
            logger.exception("monitoring window %s %s not computed", version_id, day)
            failed.append(f"{version_id}:{day.isoformat()}")
    return {"computed": done, "failed": failed}
