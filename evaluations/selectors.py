"""Reads of the evaluations feature: for policy conditions, the API and the pages."""

from __future__ import annotations

import json

from django.db.models import OuterRef, Subquery

from evaluations import access
from evaluations.choices import FINISHED_STATUSES
from evaluations.metrics import thresholds_for_tier
from evaluations.models import EvaluationRun

HISTORY_PER_SUITE = 5
PANEL_RECENT = 40


def latest_finished(queryset=None):
    """Of `queryset` (default all runs), the latest PASSED or FAILED run per version and suite:
    one query, whatever the number of versions."""
    finished = EvaluationRun.objects.filter(status__in=FINISHED_STATUSES)
    newest = finished.filter(version_id=OuterRef("version_id"), suite=OuterRef("suite")).order_by(
        "-finished_at", "-id"
    )
    base = finished if queryset is None else queryset.filter(status__in=FINISHED_STATUSES)
    return base.filter(pk=Subquery(newest.values("pk")[:1]))


def latest_runs_for(version_ids: list[int]) -> dict[int, dict[str, dict]]:
    """Per version id, its latest finished (PASSED or FAILED) run per suite, as policy
    conditions see it under `evaluations`: {suite: {"status", "metrics"}}. Every id given is
    a key (an empty map when it has no finished run). One query."""
    ids = [int(pk) for pk in version_ids]
    result: dict[int, dict[str, dict]] = {pk: {} for pk in ids}
    if not ids:
        return result
    rows = latest_finished(EvaluationRun.objects.filter(version_id__in=ids)).values_list(
        "version_id", "suite", "status", "metrics"
    )
    for version_id, suite, status, metrics in rows:
        result[version_id][suite] = {"status": status, "metrics": metrics or {}}
    return result


def readable_runs(user):
    """The runs `user` may read (the READ_EVALUATIONS rule): every run for the read-all roles,
    the runs of their own models for a Model Owner, none otherwise."""
    return EvaluationRun.objects.visible_to(user, access.READ_EVALUATIONS)


def runs_of_version(version):
    return version.evaluation_runs.select_related("requested_by").order_by("-created_at", "-id")


def default_thresholds_text(risk_tier: str) -> str:
    return json.dumps(thresholds_for_tier(risk_tier), indent=2)
