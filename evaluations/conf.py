"""Knobs of the evaluations feature, read from Django settings with these defaults.

EVALUATION_MAX_UPLOAD_BYTES   largest dataset (and reference dataset) accepted, 200 MiB
EVALUATION_MAX_ROWS           most data rows accepted, 2,000,000
EVALUATION_HEARTBEAT_TIMEOUT  seconds without a heartbeat after which a RUNNING run is stale, 300
EVALUATION_MAX_ATTEMPTS       a stale run is re-queued while it has had fewer attempts, 2
EVALUATION_PROGRESS_INTERVAL  seconds between two progress writes of a running task, 0.5
"""

from __future__ import annotations

from django.conf import settings

from evaluations.metrics import DEFAULT_MAX_BYTES, DEFAULT_MAX_ROWS


def max_upload_bytes() -> int:
    return int(getattr(settings, "EVALUATION_MAX_UPLOAD_BYTES", DEFAULT_MAX_BYTES))


def max_rows() -> int:
    return int(getattr(settings, "EVALUATION_MAX_ROWS", DEFAULT_MAX_ROWS))


def heartbeat_timeout() -> float:
    return float(getattr(settings, "EVALUATION_HEARTBEAT_TIMEOUT", 300))


def max_attempts() -> int:
    return int(getattr(settings, "EVALUATION_MAX_ATTEMPTS", 2))


def progress_interval() -> float:
    return float(getattr(settings, "EVALUATION_PROGRESS_INTERVAL", 0.5))
