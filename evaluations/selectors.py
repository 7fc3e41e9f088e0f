"""Reads of the evaluations feature: for policy conditions, the API and the pages."""

from __future__ import annotations

import json

from django.db.models import Count, OuterRef, Subquery

from evaluations import access
from evaluations.choices import (
    FINISHED_STATUSES,
    NOT_PASSED_STATUSES,
    PredictionsSource,
    RunStatus,
)
from evaluations.metrics import thresholds_for_tier
from evaluations.models import EvaluationRun

HISTORY_PER_SUITE = 5
PANEL_RECENT = 40
REPLACED_PER_SUITE = 10


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
    """Per version id, its latest finished (PASSED, FAILED or INCOMPLETE) run per suite, as
    policy conditions see it under `evaluations`: {suite: {"status", "metrics",
    "predictionsSource", "thresholdsSource", "artifactSha256", "datasets", "passedDatasets"}},
    `datasets` being how many distinct dataset SHA-256 values that suite's finished runs on the
    version used, `passedDatasets` the same among its PASSED runs on registry predictions.
    Every id given is a key (an empty map when it has no finished run). One query."""
    ids = [int(pk) for pk in version_ids]
    result: dict[int, dict[str, dict]] = {pk: {} for pk in ids}
    if not ids:
        return result
    # How many distinct datasets the suite's finished runs used: a correlated subquery, so
    # the whole context stays one query.
    datasets = (
        EvaluationRun.objects.filter(
            version_id=OuterRef("version_id"),
            suite=OuterRef("suite"),
            status__in=FINISHED_STATUSES,
        )
        .order_by()
        .values("version_id")
        .annotate(count=Count("dataset_sha256", distinct=True))
        .values("count")
    )
    # The same among the PASSED runs whose predictions the registry computed: the evidence
    # "validated on several datasets" rests on (a failed run or the owner's predictions on a
    # second file are no such evidence).
    passed_datasets = (
        EvaluationRun.objects.filter(
            version_id=OuterRef("version_id"),
            suite=OuterRef("suite"),
            status=RunStatus.PASSED,
            predictions_source=PredictionsSource.REGISTRY,
        )
        .order_by()
        .values("version_id")
        .annotate(count=Count("dataset_sha256", distinct=True))
        .values("count")
    )
    rows = (
        latest_finished(EvaluationRun.objects.filter(version_id__in=ids))
        .annotate(datasets=Subquery(datasets[:1]), passed_datasets=Subquery(passed_datasets[:1]))
        .values_list(
            "version_id",
            "suite",
            "status",
            "metrics",
            "predictions_source",
            "thresholds_source",
            "artifact_sha256",
            "datasets",
            "passed_datasets",
        )
    )
    for row in rows:
        version_id, suite, status, metrics, predictions, thresholds, sha256, count, passed = row
        result[version_id][suite] = {
            "status": status,
            "metrics": metrics or {},
            "predictionsSource": predictions,
            "thresholdsSource": thresholds or None,
            "artifactSha256": sha256 or None,
            "datasets": count or 0,
            "passedDatasets": passed or 0,
        }
    return result


def replaced_runs(version) -> dict[str, list[tuple[EvaluationRun, EvaluationRun]]]:
    """Per suite, its FAILED or INCOMPLETE runs on `version` that a later finished run of the
    suite replaced, newest first, each with the run that replaced it (the next one to finish):
    reviewers see what was tried before the result a policy reads. One query."""
    finished = (
        version.evaluation_runs.filter(status__in=FINISHED_STATUSES)
        .only("id", "version_id", "suite", "status", "finished_at", "created_at")
        .order_by("finished_at", "id")
    )
    by_suite: dict[str, list[EvaluationRun]] = {}
    for run in finished:
        by_suite.setdefault(run.suite, []).append(run)
    replaced: dict[str, list[tuple[EvaluationRun, EvaluationRun]]] = {}
    for suite, runs in by_suite.items():
        pairs = [
            (run, runs[index + 1])
            for index, run in enumerate(runs[:-1])
            if run.status in NOT_PASSED_STATUSES
        ]
        replaced[suite] = list(reversed(pairs))
    return replaced


def readable_runs(user):
    """The runs `user` may read (the READ_EVALUATIONS rule): every run for the read-all roles,
    the runs of their own models for a Model Owner, none otherwise."""
    return EvaluationRun.objects.visible_to(user, access.READ_EVALUATIONS)


def runs_of_version(version):
    return version.evaluation_runs.select_related("requested_by").order_by("-created_at", "-id")


def default_thresholds_text(risk_tier: str) -> str:
    return json.dumps(thresholds_for_tier(risk_tier), indent=2)
