"""Liveness and readiness. /healthz says the process answers (no I/O). /readyz says whether it
can do its work: the database answers, the job broker answers, the artifact storage answers,
and a background worker has beaten within WORKER_MAX_AGE. Each check is one cheap round trip;
a failing check names itself and why, never a traceback."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import timedelta

from django.db import connection
from django.utils import timezone
from django_q.brokers import get_broker

from ops.heartbeat import latest_beat

WORKER_MAX_AGE = timedelta(minutes=1)
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    ms: float


def _timed(name: str, probe) -> Check:
    started = time.perf_counter()
    try:
        ok, detail = probe()
    except Exception as error:  # a readiness probe reports a failure, it does not raise one
        # The answer is unauthenticated: the exception's type only (its message can name hosts,
        # users and buckets); the whole of it goes to the log.
        log.warning("readiness check %s failed", name, exc_info=True)
        ok, detail = False, f"{type(error).__name__} (details in the log)"
    return Check(name, ok, detail, round((time.perf_counter() - started) * 1000, 1))


def _database():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return True, connection.vendor


def _broker():
    broker = get_broker()
    if not broker.ping():
        return False, f"{broker.info()} does not answer"
    return True, broker.info()


def _storage():
    # Imported here: the storage is configured per deployment and may be remote.
    from registry.custody import artifact_storage

    storage = artifact_storage()
    storage.exists("readyz-probe")
    return True, type(storage).__name__


def _worker():
    beat = latest_beat()
    if beat is None:
        return False, "no background worker has ever beaten"
    age = timezone.now() - beat
    if age > WORKER_MAX_AGE:
        return False, f"the newest worker heartbeat is {int(age.total_seconds())} s old"
    return True, f"last heartbeat {age.total_seconds():.0f} s ago"


CHECKS = {"database": _database, "broker": _broker, "storage": _storage, "worker": _worker}


def readiness(skip: set[str] = frozenset()) -> list[Check]:
    """Every check but those in `skip` (a load balancer skips "worker": web hosts that can
    serve stay in the pool when the workers are down)."""
    return [_timed(name, probe) for name, probe in CHECKS.items() if name not in skip]
