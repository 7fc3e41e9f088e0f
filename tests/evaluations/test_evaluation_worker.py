"""The worker's side: the task, progress, outcomes, audit events, notifications, stale runs,
and what policy conditions read (`latest_runs_for`)."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import numpy as np
import pandas as pd
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.utils import timezone
from django_q.models import Schedule
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score, roc_auc_score

from audit.models import AuditEvent
from evaluations import services, tasks
from evaluations.choices import RunStatus
from evaluations.models import EvaluationRun
from evaluations.selectors import latest_runs_for
from governance.models import Notification
from policies.condition_context import context_problems
from policies.conditions import compile_condition, evaluate_condition
from policies.context import build_context
from tests.factories import ModelVersionFactory

pytestmark = pytest.mark.django_db


def make_frame(n: int = 800, seed: int = 5, *, biased: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    y_true = rng.binomial(1, 0.4, size=n)
    score = np.clip(0.55 * y_true + 0.45 * rng.random(n), 0, 1)
    y_pred = (score >= 0.5).astype(int)
    flip = rng.random(n) < 0.04
    y_pred[flip] = 1 - y_pred[flip]
    gender = rng.choice(["F", "M"], size=n)
    if biased:
        y_pred[(gender == "M") & (rng.random(n) < 0.6)] = 0
    return pd.DataFrame(
        {
            "y_true": y_true,
            "y_pred": y_pred,
            "y_score": score.round(6),
            "gender": gender,
            "income": rng.normal(50_000, 12_000, size=n).round(2),
        }
    )


def csv_of(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode()


@pytest.fixture
def version(model):
    return ModelVersionFactory(model=model)


@pytest.fixture
def enqueued(monkeypatch):
    """Record what would be handed to django-q2 instead of queueing it."""
    calls: list[int] = []
    monkeypatch.setattr(services, "enqueue", calls.append)
    return calls


def queue(version, owner, suite="performance", frame=None, **kwargs) -> EvaluationRun:
    content = csv_of(make_frame() if frame is None else frame)
    return services.request_evaluation(
        version,
        actor=owner,
        suite=suite,
        dataset=SimpleUploadedFile("data.csv", content),
        **kwargs,
    )


# ---- the task -------------------------------------------------------------------------------


def test_queued_run_is_enqueued_after_commit(
    version, owner, enqueued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        run = queue(version, owner)
    assert enqueued == [run.pk]
    assert run.status == RunStatus.QUEUED


def test_status_goes_queued_running_passed_and_progress_reaches_100(
    version, owner, settings, monkeypatch
):
    settings.EVALUATION_PROGRESS_INTERVAL = 0
    run = queue(version, owner, segment_columns=["gender"])
    seen: list[tuple[str, int]] = []
    original = services.ProgressWriter.__call__

    def spy(self, percent, message, *, force=False):
        original(self, percent, message, force=force)
        row = EvaluationRun.objects.values_list("status", "progress").get(pk=self.run_id)
        seen.append(row)

    monkeypatch.setattr(services.ProgressWriter, "__call__", spy)
    assert tasks.run_evaluation(run.pk) == RunStatus.PASSED
    assert {status for status, _ in seen} == {RunStatus.RUNNING}
    progress = [p for _, p in seen]
    assert progress == sorted(progress) and len(progress) >= 5
    assert max(progress) < 100
    run.refresh_from_db()
    assert (run.status, run.progress, run.progress_message) == (RunStatus.PASSED, 100, "done")
    assert run.attempts == 1
    assert run.started_at <= run.finished_at and run.heartbeat_at == run.finished_at
    assert run.metrics["segments"]["gender"]["totalSegments"] == 2


def test_progress_writes_are_throttled(version, owner):
    run = queue(version, owner)
    EvaluationRun.objects.filter(pk=run.pk).update(status=RunStatus.RUNNING)
    now = [0.0]
    writer = services.ProgressWriter(run, interval=0.5, clock=lambda: now[0])
    for t, percent in [(0.0, 1), (0.1, 20), (0.2, 30), (0.6, 40), (0.7, 50), (1.2, 60)]:
        now[0] = t
        writer(percent, f"at {percent}")
    assert writer.writes == 3
    run.refresh_from_db()
    assert (run.progress, run.progress_message) == (60, "at 60")
    writer(10, "never backwards", force=True)
    run.refresh_from_db()
    assert run.progress == 60


def test_a_run_is_computed_once_even_if_the_task_is_delivered_twice(version, owner):
    run = queue(version, owner)
    assert tasks.run_evaluation(run.pk) == RunStatus.PASSED
    assert tasks.run_evaluation(run.pk) == "skipped"
    assert EvaluationRun.objects.get(pk=run.pk).attempts == 1
    assert AuditEvent.objects.filter(action="EVALUATION_STARTED").count() == 1


def test_stored_metrics_equal_scikit_learn_on_the_same_data(
    version, owner, api, sync_worker_on, django_capture_on_commit_callbacks
):
    frame = make_frame(n=2000, seed=11)
    content = csv_of(frame)
    with django_capture_on_commit_callbacks(execute=True):
        response = api(owner).post(
            f"/api/v1/versions/{version.pk}/evaluations/",
            {"suite": "performance", "dataset": SimpleUploadedFile("d.csv", content)},
            format="multipart",
        )
    assert response.status_code == 202
    run = EvaluationRun.objects.get(pk=response.json()["id"])
    assert run.status in (RunStatus.PASSED, RunStatus.FAILED)
    data = pd.read_csv(StringIO(content.decode()))
    y_true, y_pred = data["y_true"], data["y_pred"]
    assert run.metrics["accuracy"] == pytest.approx(accuracy_score(y_true, y_pred), abs=1e-12)
    assert run.metrics["f1Score"] == pytest.approx(f1_score(y_true, y_pred), abs=1e-12)
    assert run.metrics["precision"] == pytest.approx(precision_score(y_true, y_pred), abs=1e-12)
    assert run.metrics["recall"] == pytest.approx(recall_score(y_true, y_pred), abs=1e-12)
    assert run.metrics["rocAuc"] == pytest.approx(roc_auc_score(y_true, data["y_score"]), abs=1e-12)
    accuracy = next(r for r in run.threshold_results if r["metric"] == "accuracy")
    assert accuracy["value"] == run.metrics["accuracy"]


@pytest.fixture
def sync_worker_on(settings, monkeypatch):
    from django_q.conf import Conf

    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": True}
    monkeypatch.setattr(Conf, "SYNC", True)


# ---- outcomes: audit and notifications ------------------------------------------------------


def test_failed_thresholds_are_audited_and_notify_the_owner(version, owner):
    run = queue(
        version, owner, suite="bias", frame=make_frame(biased=True), sensitive_features=["gender"]
    )
    assert tasks.run_evaluation(run.pk) == RunStatus.FAILED
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED and run.failed_thresholds
    events = list(
        AuditEvent.objects.filter(event_type="EVALUATION_RUN")
        .order_by("seq")
        .values_list("action", "user_id")
    )
    assert events == [
        ("EVALUATION_QUEUED", "olivia"),
        ("EVALUATION_STARTED", "system"),
        ("EVALUATION_FAILED", "system"),
    ]
    outcome = AuditEvent.objects.get(action="EVALUATION_FAILED")
    assert outcome.details["runId"] == run.pk and outcome.details["suite"] == "bias"
    assert outcome.details["datasetSha256"] == run.dataset_sha256
    failed = {f["metric"] for f in outcome.details["failedThresholds"]}
    assert "demographicParity" in failed
    assert outcome.model_id == version.model_id and outcome.version_id == version.pk
    note = Notification.objects.get(user=owner)
    assert "bias evaluation FAILED" in note.message and "demographicParity" in note.message
    assert note.version_id == version.pk


def test_a_passing_run_notifies_nobody(version, owner):
    run = queue(version, owner)
    assert tasks.run_evaluation(run.pk) == RunStatus.PASSED
    assert not Notification.objects.exists()
    assert AuditEvent.objects.filter(action="EVALUATION_PASSED").count() == 1


def test_a_corrupt_stored_file_ends_in_error(version, owner, settings):
    run = queue(version, owner)
    (settings.MEDIA_ROOT / run.dataset.name).write_bytes(b"y_true,y_pred\n1,1\n0,1\n")
    assert tasks.run_evaluation(run.pk) == RunStatus.ERROR
    run.refresh_from_db()
    assert run.status == RunStatus.ERROR and run.finished_at
    assert "does not match the SHA-256 recorded at upload" in run.error
    event = AuditEvent.objects.get(action="EVALUATION_ERROR")
    assert "SHA-256" in event.details["error"]
    assert "could not be completed" in Notification.objects.get(user=owner).message


def test_a_missing_stored_file_ends_in_error(version, owner, settings):
    run = queue(version, owner)
    (settings.MEDIA_ROOT / run.dataset.name).unlink()
    assert tasks.run_evaluation(run.pk) == RunStatus.ERROR
    assert "cannot be read" in EvaluationRun.objects.get(pk=run.pk).error


def test_unusable_data_ends_in_error_with_the_dataset_message(version, owner, settings):
    run = queue(version, owner)
    bad = b"y_true,y_pred\n1,1\n7,0\n"
    (settings.MEDIA_ROOT / run.dataset.name).write_bytes(bad)
    EvaluationRun.objects.filter(pk=run.pk).update(
        dataset_sha256=services.digest(bad), dataset_rows=2
    )
    assert tasks.run_evaluation(run.pk) == RunStatus.ERROR
    assert "non-binary label in y_true: 7 at row 2" in EvaluationRun.objects.get(pk=run.pk).error


def test_an_unexpected_failure_ends_in_error_without_internals(version, owner, monkeypatch):
    run = queue(version, owner)

    def boom(*args, **kwargs):
        raise KeyError("secret internals")

    monkeypatch.setattr(services, "run_suite", boom)
    assert tasks.run_evaluation(run.pk) == RunStatus.ERROR
    error = EvaluationRun.objects.get(pk=run.pk).error
    assert error == "the evaluation failed unexpectedly (KeyError)"


# ---- stale runs -----------------------------------------------------------------------------


def _running(run: EvaluationRun, *, silent_for: int, attempts: int) -> None:
    beat = timezone.now() - timedelta(seconds=silent_for)
    EvaluationRun.objects.filter(pk=run.pk).update(
        status=RunStatus.RUNNING,
        started_at=beat,
        heartbeat_at=beat,
        attempts=attempts,
        progress=40,
    )


def test_a_stale_run_is_requeued_once_then_errors(
    version, owner, enqueued, settings, django_capture_on_commit_callbacks
):
    settings.EVALUATION_HEARTBEAT_TIMEOUT = 300
    run = queue(version, owner)
    enqueued.clear()
    _running(run, silent_for=600, attempts=1)
    with django_capture_on_commit_callbacks(execute=True):
        outcome = services.recover_stale_runs()
    assert outcome == {"requeued": [run.pk], "errored": []}
    assert enqueued == [run.pk]
    run.refresh_from_db()
    assert (run.status, run.progress, run.heartbeat_at) == (RunStatus.QUEUED, 0, None)
    assert "re-queued" in run.progress_message
    assert AuditEvent.objects.filter(action="EVALUATION_REQUEUED").count() == 1

    # The re-queued run is picked up again and its second worker dies too.
    assert services.claim(run.pk).attempts == 2
    _running(run, silent_for=600, attempts=2)
    assert services.recover_stale_runs() == {"requeued": [], "errored": [run.pk]}
    run.refresh_from_db()
    assert run.status == RunStatus.ERROR
    assert run.error.startswith("worker stopped responding")
    assert run.finished_at
    assert AuditEvent.objects.get(action="EVALUATION_ERROR").details["error"] == run.error
    assert Notification.objects.filter(user=owner).count() == 1


def test_runs_with_a_recent_heartbeat_or_not_running_are_left_alone(version, owner, settings):
    settings.EVALUATION_HEARTBEAT_TIMEOUT = 300
    fresh = queue(version, owner)
    _running(fresh, silent_for=30, attempts=1)
    queued = queue(version, owner)
    assert services.recover_stale_runs() == {"requeued": [], "errored": []}
    assert EvaluationRun.objects.get(pk=fresh.pk).status == RunStatus.RUNNING
    assert EvaluationRun.objects.get(pk=queued.pk).status == RunStatus.QUEUED


def test_a_worker_that_lost_its_run_does_not_overwrite_the_recovery(version, owner, settings):
    run = queue(version, owner)
    claimed = services.claim(run.pk)
    _running(run, silent_for=10_000, attempts=1)
    services.recover_stale_runs(requeue=False)
    result = {"metrics": {"accuracy": 1.0}, "thresholdResults": [], "passed": True, "notes": []}
    assert services.finish(claimed, result) == "dropped"
    assert EvaluationRun.objects.get(pk=run.pk).status == RunStatus.ERROR


def test_the_management_command_recovers_stale_runs(version, owner, enqueued):
    run = queue(version, owner)
    _running(run, silent_for=4000, attempts=2)
    out = StringIO()
    call_command("recover_stale_evaluations", "--timeout", "60", stdout=out)
    assert f"marked ERROR 1 run(s): {run.pk}" in out.getvalue()
    assert EvaluationRun.objects.get(pk=run.pk).status == RunStatus.ERROR


def test_the_recovery_is_scheduled_in_django_q():
    schedule = Schedule.objects.get(func="evaluations.tasks.recover_stale_runs")
    assert schedule.schedule_type == Schedule.MINUTES and schedule.minutes == 5
    assert schedule.repeats == -1


# ---- what policy conditions read ------------------------------------------------------------


def _finished(version, owner, suite, status, *, minutes_ago, accuracy=0.9) -> EvaluationRun:
    return EvaluationRun.objects.create(
        version=version,
        suite=suite,
        status=status,
        progress=100,
        metrics={"accuracy": accuracy, "byFeature": {"gender": {"demographicParity": 0.02}}},
        dataset="evaluations/x.csv",
        dataset_name="x.csv",
        dataset_format="csv",
        dataset_sha256="0" * 64,
        dataset_size=1,
        dataset_rows=1,
        requested_by=owner,
        finished_at=timezone.now() - timedelta(minutes=minutes_ago),
    )


def test_latest_runs_for_gives_the_latest_finished_run_per_suite(
    version, owner, model, django_assert_num_queries
):
    other = ModelVersionFactory(model=model)
    empty = ModelVersionFactory(model=model)
    _finished(version, owner, "performance", RunStatus.PASSED, minutes_ago=30, accuracy=0.95)
    newer_failed = _finished(
        version, owner, "performance", RunStatus.FAILED, minutes_ago=5, accuracy=0.7
    )
    _finished(version, owner, "performance", RunStatus.ERROR, minutes_ago=1)
    _finished(version, owner, "bias", RunStatus.PASSED, minutes_ago=10)
    running = _finished(other, owner, "bias", RunStatus.RUNNING, minutes_ago=0)
    running.finished_at = None
    running.save()
    _finished(other, owner, "security", RunStatus.PASSED, minutes_ago=3)

    with django_assert_num_queries(1):
        latest = latest_runs_for([version.pk, other.pk, empty.pk])
    assert set(latest) == {version.pk, other.pk, empty.pk}
    assert latest[empty.pk] == {}
    assert set(latest[version.pk]) == {"performance", "bias"}
    assert latest[version.pk]["performance"] == {
        "status": "FAILED",
        "metrics": newer_failed.metrics,
        "predictionsSource": "SUBMITTED",
        "thresholdsSource": "TIER",
        "artifactSha256": None,
        "datasets": 1,  # the factory's runs share one dataset digest
        "passedDatasets": 0,  # no PASSED run on the registry's predictions
    }
    assert latest[version.pk]["bias"]["status"] == "PASSED"
    assert set(latest[other.pk]) == {"security"}
    assert latest_runs_for([]) == {}


def test_latest_runs_fit_the_policy_condition_context(version, owner):
    _finished(version, owner, "performance", RunStatus.PASSED, minutes_ago=1, accuracy=0.93)
    context = build_context(
        version,
        environment="staging",
        artifacts=[],
        evaluations=latest_runs_for([version.pk])[version.pk],
    )
    assert context_problems(context) == []
    passing = compile_condition(
        'evaluations.performance.status == "PASSED" && '
        "evaluations.performance.metrics.accuracy >= 0.9 && "
        "evaluations.performance.metrics.byFeature.gender.demographicParity <= 0.1"
    )
    assert evaluate_condition(passing, context).passed
    missing = evaluate_condition(compile_condition('evaluations.bias.status == "PASSED"'), context)
    assert not missing.passed and "bias" in missing.error


def test_a_failing_notification_does_not_lose_the_outcome(version, owner, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("mail server on fire")

    monkeypatch.setattr(services, "notify", broken)
    run = queue(
        version, owner, suite="bias", frame=make_frame(biased=True), sensitive_features=["gender"]
    )
    assert tasks.run_evaluation(run.pk) == RunStatus.FAILED
    assert EvaluationRun.objects.get(pk=run.pk).status == RunStatus.FAILED
    assert AuditEvent.objects.filter(action="EVALUATION_FAILED").count() == 1
