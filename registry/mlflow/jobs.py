"""Entry points of the django-q2 worker for the MLflow sync (dotted paths in async_task and in
the schedule registered by migration registry 0005)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.utils import timezone

from registry.mlflow import sync
from registry.mlflow.client import MlflowUnreachable, display_uri

logger = logging.getLogger(__name__)


def scheduled_sync() -> str:
    """Every few minutes: sync MLFLOW_TRACKING_URI when it is set and the sync is due (the
    interval after a success, the back-off after failures). An unreachable server is recorded
    (FAILED, audited, the next attempt pushed out) and returned, not raised: the back-off, not
    the worker's retry, decides when to try again."""
    address = getattr(settings, "MLFLOW_TRACKING_URI", "")
    if not address:
        return "MLFLOW_TRACKING_URI is not set: nothing to sync"
    run = sync.run_record(address)
    now = timezone.now()
    if run.next_attempt_at is not None and run.next_attempt_at > now:
        waiting = f"backing off after {run.attempts} failed syncs" if run.attempts else "not due"
        return f"{display_uri(address)}: {waiting} until {run.next_attempt_at.isoformat()}"
    try:
        report = sync.sync(address)
    except MlflowUnreachable as error:
        run.refresh_from_db()
        logger.warning("MLflow sync of %s failed: %s", display_uri(address), error)
        return (
            f"{display_uri(address)} unreachable ({error}); attempt {run.attempts}, next at "
            f"{run.next_attempt_at.isoformat()}"
        )
    except sync.SyncBusy as busy:
        return str(busy)
    return (
        f"{display_uri(address)}: {len(report.imported)} imported, {len(report.failed)} failed, "
        f"{report.written} written back, {len(report.moved)} moved aliases"
    )


def write_back(model_id: int) -> int:
    return sync.write_back(model_id)
