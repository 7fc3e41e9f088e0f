"""Entry points of the django-q2 worker for the registry (dotted paths in async_task and in the
schedule registered by migration 0004)."""

from __future__ import annotations

from registry import scan_jobs


def scan_artifact(artifact_id: int) -> str:
    return scan_jobs.scan_artifact(artifact_id)


def rescan_outdated() -> int:
    return scan_jobs.rescan_outdated()
