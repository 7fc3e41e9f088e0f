"""The reads of monitoring: the API's document, the page's data, and the policy context
`monitoring` (a constant number of queries for any number of versions)."""

from __future__ import annotations

import math
from datetime import datetime

from django.db.models import Max, OuterRef, Subquery
from django.utils import timezone

from evaluations.models import MonitoringBatch, MonitoringWindow
from evaluations.monitoring.services import window_bounds

#: The API and the page show at most this many windows (newest first).
MAX_WINDOWS = 366
LAST_BATCHES = 20
SECONDS_PER_DAY = 86400


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def window_document(window: MonitoringWindow) -> dict:
    start, end = window_bounds(window.start)
    return {
        "start": _iso(start),
        "end": _iso(end),
        "rows": window.rows,
        "batches": window.batches,
        "outcomeRows": window.outcome_rows,
        "computedAt": _iso(window.computed_at),
        "referenceRun": window.reference_run_id,
        "metrics": window.metrics,
        "notes": window.notes,
    }


def last_batch_at(version_id: int) -> datetime | None:
    return MonitoringBatch.objects.filter(version_id=version_id).aggregate(last=Max("received_at"))[
        "last"
    ]


def windows_of(version_id: int, limit: int = MAX_WINDOWS) -> list[MonitoringWindow]:
    return list(MonitoringWindow.objects.filter(version_id=version_id).order_by("-start")[:limit])


def monitoring_document(version_id: int) -> dict:
    """`{"version", "lastBatchAt", "windows": [...]}`, newest window first."""
    return {
        "version": version_id,
        "lastBatchAt": _iso(last_batch_at(version_id)),
        "windows": [window_document(w) for w in windows_of(version_id)],
    }


def last_batches(version_id: int, limit: int = LAST_BATCHES) -> list[MonitoringBatch]:
    return list(
        MonitoringBatch.objects.filter(version_id=version_id)
        .select_related("received_by")
        .order_by("-received_at", "-id")[:limit]
    )


def days_since(moment: datetime, now: datetime) -> int:
    """Whole days elapsed (0 on the day of the batch and the 24 hours after it)."""
    return max(0, math.floor((now - moment).total_seconds() / SECONDS_PER_DAY))


def monitoring_contexts_for(version_ids: list[int], *, now=None) -> dict[int, dict]:
    """Per version that has received a batch, the policy context `monitoring`:
    `{"metrics", "rows", "daysSinceLastBatch"}` from its latest computed window (`metrics` {} and
    `rows` 0 until one is computed). A version without batches is not a key: conditions see no
    `monitoring` at all. Two queries, whatever the number of versions."""
    ids = [int(pk) for pk in version_ids]
    if not ids:
        return {}
    now = now or timezone.now()
    last = dict(
        MonitoringBatch.objects.filter(version_id__in=ids)
        .order_by()
        .values("version_id")
        .annotate(last=Max("received_at"))
        .values_list("version_id", "last")
    )
    if not last:
        return {}
    newest = MonitoringWindow.objects.filter(version_id=OuterRef("version_id")).order_by("-start")
    windows = {
        version_id: (rows, metrics)
        for version_id, rows, metrics in MonitoringWindow.objects.filter(
            version_id__in=list(last), pk=Subquery(newest.values("pk")[:1])
        ).values_list("version_id", "rows", "metrics")
    }
    result = {}
    for version_id, moment in last.items():
        rows, metrics = windows.get(version_id, (0, {}))
        result[version_id] = {
            "metrics": dict(metrics or {}),
            "rows": int(rows),
            "daysSinceLastBatch": days_since(moment, now),
        }
    return result
