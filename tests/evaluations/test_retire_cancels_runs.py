"""Retiring a version cancels its evaluation runs: a QUEUED one is never run, a RUNNING one
stops at its next progress checkpoint and stores nothing; both end CANCELLED (audited, shown by
the API and the pages, never a pass). The worker, picking up a run whose version is retired or
that is not QUEUED any more, does nothing — also when the retirement and the pick-up race."""

from __future__ import annotations

import threading
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connections, transaction

from audit.models import AuditEvent
from core.choices import Role
from evaluations import services, tasks
from evaluations.choices import RunStatus
from evaluations.models import EvaluationRun
from evaluations.selectors import latest_runs_for
from governance import promotion
from registry.models import ModelVersion
from tests.evaluations.test_evaluation_worker import csv_of, make_frame
from tests.factories import ModelVersionFactory, RegisteredModelFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def version(model):
    return ModelVersionFactory(model=model)


@pytest.fixture(autouse=True)
def enqueued(monkeypatch):
    """What would be handed to django-q2; the tests call the worker's task themselves."""
    calls: list[int] = []
    monkeypatch.setattr(services, "enqueue", calls.append)
    return calls


def queue(version, owner, suite="performance") -> EvaluationRun:
    return services.request_evaluation(
        version,
        actor=owner,
        suite=suite,
        dataset=SimpleUploadedFile("data.csv", csv_of(make_frame())),
    )


def cancellations(run) -> list[AuditEvent]:
    return list(
        AuditEvent.objects.filter(
            event_type="EVALUATION_RUN", action="EVALUATION_CANCELLED", details__runId=run.pk
        )
    )


def test_retiring_cancels_queued_and_running_runs_and_keeps_finished_ones(version, owner):
    finished = queue(version, owner)
    assert tasks.run_evaluation(finished.pk) == RunStatus.PASSED
    queued = queue(version, owner)
    running = queue(version, owner, suite="security")
    assert services.claim(running.pk) is not None

    promotion.retire_version(version, actor=owner, comments="replaced by 2.0")

    for run, was in ((queued, "QUEUED"), (running, "RUNNING")):
        run.refresh_from_db()
        assert run.status == RunStatus.CANCELLED
        assert run.finished_at is not None and run.metrics is None
        assert "the version was retired" in run.progress_message
        [event] = cancellations(run)
        assert event.user_id == owner.username
        assert event.version_id == version.pk
        assert event.details["previousStatus"] == was
        assert event.details["reason"] == "the version was retired"
    finished.refresh_from_db()
    assert finished.status == RunStatus.PASSED and not cancellations(finished)


def test_the_worker_does_nothing_with_a_cancelled_run(version, owner):
    run = queue(version, owner)
    promotion.retire_version(version, actor=owner)
    assert tasks.run_evaluation(run.pk) == "skipped"
    run.refresh_from_db()
    assert (run.status, run.attempts, run.started_at) == (RunStatus.CANCELLED, 0, None)
    assert not AuditEvent.objects.filter(action="EVALUATION_STARTED").exists()
    assert len(cancellations(run)) == 1


def test_the_worker_cancels_a_queued_run_of_a_retired_version(version, owner):
    """A run still QUEUED although its version is RETIRED (queued while the retirement was
    being written, or the version retired another way): the worker cancels it, never runs it."""
    run = queue(version, owner)
    ModelVersion.objects.filter(pk=version.pk).update(state="RETIRED")
    assert tasks.run_evaluation(run.pk) == "skipped"
    run.refresh_from_db()
    assert (run.status, run.attempts, run.metrics) == (RunStatus.CANCELLED, 0, None)
    [event] = cancellations(run)
    assert event.user_id == "system"
    assert "before a worker picked the run up" in event.details["reason"]


def test_a_running_run_stops_at_its_next_progress_checkpoint(version, owner, settings, monkeypatch):
    settings.EVALUATION_PROGRESS_INTERVAL = 0  # every checkpoint writes (and checks)
    run = queue(version, owner)
    computed = []
    original = services.run_suite

    def retired_mid_way(*args, progress, **kwargs):
        progress(0, "started")
        promotion.retire_version(ModelVersion.objects.get(pk=version.pk), actor=owner)
        computed.append(True)
        return original(*args, progress=progress, **kwargs)

    monkeypatch.setattr(services, "run_suite", retired_mid_way)
    assert tasks.run_evaluation(run.pk) == RunStatus.CANCELLED
    run.refresh_from_db()
    assert computed == [True]
    assert run.status == RunStatus.CANCELLED
    assert run.metrics is None and run.threshold_results == [] and run.progress < 100
    assert not AuditEvent.objects.filter(
        action__in=["EVALUATION_PASSED", "EVALUATION_FAILED", "EVALUATION_ERROR"]
    ).exists()
    assert len(cancellations(run)) == 1


def test_a_result_finished_after_the_cancellation_is_not_stored(version, owner):
    """Between its last checkpoint and storing the result: the result is dropped."""
    run = queue(version, owner)
    claimed = services.claim(run.pk)
    promotion.retire_version(version, actor=owner)
    result = {"passed": True, "metrics": {"accuracy": 0.9}, "thresholdResults": []}
    assert services.finish(claimed, result) == RunStatus.CANCELLED
    run.refresh_from_db()
    assert (run.status, run.metrics) == (RunStatus.CANCELLED, None)


def test_cancelled_counts_nowhere_as_passed_and_is_shown(version, owner, api, client):
    run = queue(version, owner)
    promotion.retire_version(version, actor=owner)
    assert latest_runs_for([version.pk]) == {version.pk: {}}
    assert not EvaluationRun.objects.finished().exists()
    body = api(owner).get(f"/api/v1/evaluations/{run.pk}/").json()
    assert body["status"] == "CANCELLED" and body["metrics"] is None
    listed = api(owner).get(f"/api/v1/versions/{version.pk}/evaluations/?status=CANCELLED")
    assert [r["id"] for r in listed.json()["results"]] == [run.pk]
    client.force_login(owner)
    page = client.get(f"/evaluations/{run.pk}/").content.decode()
    assert 'id="evaluation-cancelled"' in page and ">CANCELLED</span>" in page
    assert 'id="threshold-results"' not in page
    history = client.get(f"/versions/{version.pk}/evaluations/").content.decode()
    assert ">CANCELLED</span>" in history


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_retirement_and_a_pick_up_racing_never_run_the_run(monkeypatch):
    """The retirement holds the version's row while it cancels; the worker's claim waits for
    that lock and then finds the version RETIRED and the run CANCELLED: it does nothing."""
    monkeypatch.setattr(services, "enqueue", lambda run_id: None)
    owner = UserFactory(username="retire_race_owner", roles=[Role.MODEL_OWNER])
    version = ModelVersionFactory(model=RegisteredModelFactory(owner=owner))
    run = queue(version, owner)
    retiring, claimed = threading.Event(), []

    def retire():
        try:
            with transaction.atomic():
                promotion.retire_version(version, actor=owner)
                retiring.set()
                time.sleep(0.5)  # the worker's pick-up arrives meanwhile
        finally:
            connections.close_all()

    def pick_up():
        try:
            retiring.wait(5)
            claimed.append(services.claim(run.pk))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=retire), threading.Thread(target=pick_up)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert claimed == [None]
    run.refresh_from_db()
    assert (run.status, run.attempts) == (RunStatus.CANCELLED, 0)
    assert not AuditEvent.objects.filter(action="EVALUATION_STARTED").exists()
