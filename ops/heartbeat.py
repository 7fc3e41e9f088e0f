"""The background worker's heartbeat: each worker process django-q2 spawns starts a thread that
stamps its row in the database every HEARTBEAT_SECONDS. The database (not a cache) holds it so
that every web process on every host sees every worker, with or without Redis."""

from __future__ import annotations

import logging
import multiprocessing
import os
import socket
import threading
from datetime import timedelta

from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import timezone

from ops.models import WorkerHeartbeat

log = logging.getLogger(__name__)
HEARTBEAT_SECONDS = 10
# Rows of workers gone for this long are removed by the next beat of any worker.
FORGET_AFTER = timedelta(days=1)
_started = threading.Event()


def beat(*, started_at=None) -> WorkerHeartbeat:
    now = timezone.now()
    host, pid = socket.gethostname()[:150], os.getpid()
    row, _ = WorkerHeartbeat.objects.update_or_create(
        name=f"{host}:{pid}",
        defaults={
            "host": host,
            "pid": pid,
            "cluster": settings.Q_CLUSTER.get("name", ""),
            "beat_at": now,
        },
        create_defaults={
            "host": host,
            "pid": pid,
            "cluster": settings.Q_CLUSTER.get("name", ""),
            "beat_at": now,
            "started_at": started_at or now,
        },
    )
    WorkerHeartbeat.objects.filter(beat_at__lt=now - FORGET_AFTER).delete()
    return row


def latest_beat():
    return WorkerHeartbeat.objects.order_by("-beat_at").values_list("beat_at", flat=True).first()


def _run(stop: threading.Event) -> None:
    started_at = timezone.now()
    while not stop.is_set():
        try:
            close_old_connections()
            beat(started_at=started_at)
        except Exception:  # a database blip must not kill the thread; /readyz will tell
            log.exception("worker heartbeat failed")
        finally:
            # One short connection per beat: the thread never holds a slot between beats.
            connection.close()
        stop.wait(HEARTBEAT_SECONDS)


def on_worker_spawned(sender, proc_name=None, **kwargs) -> None:
    """post_spawn: runs in each new worker process (once per process). A job run synchronously
    (async_task(sync=True), as tests do) sends it in the caller's own process: no thread there."""
    if _started.is_set() or multiprocessing.parent_process() is None:
        return
    _started.set()
    threading.Thread(
        target=_run, args=(threading.Event(),), name="worker-heartbeat", daemon=True
    ).start()
