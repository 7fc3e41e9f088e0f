"""Monitoring deployed versions through the API: batches (idempotent, validated, nothing
half-stored), outcomes, windows computed by the worker, who may post and read."""

from __future__ import annotations

import pandas as pd
import pytest
from django.core.files.storage import default_storage

from audit.models import AuditEvent
from core.choices import Role
from evaluations.choices import BatchStatus, MonitoringAuditAction
from evaluations.models import MonitoringBatch, MonitoringOutcomes, MonitoringWindow
from tests.evaluations.test_monitoring_helpers import (
    batch_frame,
    csv_upload,
    deployed_version,
    jsonl_upload,
    monitoring_url,
    outcomes_url,
    parquet_upload,
    post_batch,
    run_sync,
)
from tests.factories import ModelVersionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def version(model):
    return deployed_version(model)


@pytest.fixture
def sync(settings, monkeypatch, django_capture_on_commit_callbacks):
    run_sync(settings, monkeypatch)
    return django_capture_on_commit_callbacks


def stored_files() -> set[str]:
    try:
        folders, _ = default_storage.listdir("monitoring")
    except FileNotFoundError:
        return set()
    names = set()
    for folder in folders:
        if folder.startswith("version-"):
            names |= {f"{folder}/{f}" for f in default_storage.listdir(f"monitoring/{folder}")[1]}
    return names


# ---- batches ------------------------------------------------------------------------------


@pytest.mark.parametrize("upload", [csv_upload, parquet_upload, jsonl_upload])
def test_a_batch_is_accepted_in_each_format_and_its_window_computed(
    api, owner, version, sync, upload
):
    with sync(execute=True):
        response = post_batch(api(owner), version, upload=upload(batch_frame(800)))
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["batchId"] == "b-1" and body["rows"] == 800 and body["status"] == "RECEIVED"
    batch = MonitoringBatch.objects.get(pk=body["id"])
    assert batch.status == BatchStatus.COMPUTED
    window = MonitoringWindow.objects.get(version=version)
    assert window.rows == 800 and window.batches == 1
    metrics = window.metrics
    assert 0 <= metrics["scorePsi"] < 0.2  # drawn like the reference
    assert set(metrics["featurePsi"]) == {"age", "region", "gender"}
    assert metrics["driftDetection"] > 0.001
    assert "accuracy" not in metrics  # no outcomes yet
    document = api(owner).get(monitoring_url(version)).json()
    assert document["lastBatchAt"].endswith("Z")
    (only,) = document["windows"]
    assert only["rows"] == 800 and only["metrics"]["scorePsi"] == metrics["scorePsi"]
    assert only["end"] > only["start"]
    assert AuditEvent.objects.filter(action=MonitoringAuditAction.BATCH_RECEIVED).count() == 1
    assert AuditEvent.objects.filter(action=MonitoringAuditAction.WINDOW_COMPUTED).count() == 1


def test_the_same_batch_id_answers_the_first_batch_and_stores_nothing(api, owner, version, sync):
    with sync(execute=True):
        first = post_batch(api(owner), version, batch_frame(500))
        files = stored_files()
        again = post_batch(api(owner), version, batch_frame(700, seed=9))
    assert first.status_code == 202 and again.status_code == 200
    assert again.json()["id"] == first.json()["id"] and again.json()["rows"] == 500
    assert MonitoringBatch.objects.count() == 1
    assert stored_files() == files


def test_a_shifted_batch_drifts(api, owner, version, sync):
    with sync(execute=True):
        post_batch(api(owner), version, batch_frame(2000, shift=1.0))
    metrics = MonitoringWindow.objects.get(version=version).metrics
    assert metrics["scorePsi"] > 0.2
    assert metrics["featurePsi"]["age"] > 0.2
    assert "age" in metrics["driftedFeatures"]
    assert metrics["featurePValue"]["age"] < 1e-6


def test_batches_of_one_day_share_a_window(api, owner, version, sync):
    with sync(execute=True):
        post_batch(api(owner), version, batch_frame(300, seed=1), batch_id="a")
        post_batch(api(owner), version, batch_frame(400, seed=2), batch_id="b")
    window = MonitoringWindow.objects.get(version=version)
    assert (window.rows, window.batches) == (700, 2)


def _refused(response, status: int, *words: str) -> None:
    assert response.status_code == status, response.content
    text = response.content.decode()
    for word in words:
        assert word in text, text


@pytest.mark.parametrize(
    "change, words",
    [
        (lambda f: f.drop(columns=["age"]), ["file", "missing column", "'age'"]),
        (lambda f: f.assign(extra=1), ["unexpected column", "'extra'"]),
        (lambda f: f.drop(columns=["y_score"]), ["missing column", "'y_score'"]),
        (lambda f: f.assign(age=["old", *f["age"][1:]]), ["'age'", "numbers", "row 1"]),
        (lambda f: f.assign(region=range(len(f))), ["'region'", "text"]),
        (lambda f: f.assign(y_score=[1.5, *f["y_score"][1:]]), ["y_score", "outside"]),
        (lambda f: f.assign(y_pred=[2, *f["y_pred"][1:]]), ["y_pred", "non-binary"]),
        (lambda f: f.assign(recordId=["x"] * len(f)), ["duplicate recordId", "'x'"]),
    ],
)
def test_a_bad_batch_is_refused_naming_the_problem_and_nothing_is_stored(
    api, owner, version, change, words
):
    response = post_batch(api(owner), version, change(batch_frame(50)))
    _refused(response, 400, *words)
    assert not MonitoringBatch.objects.exists()
    assert stored_files() == set()


def test_record_ids_sent_in_an_earlier_batch_are_refused(api, owner, version, sync):
    with sync(execute=True):
        post_batch(api(owner), version, batch_frame(50, seed=3), batch_id="a")
        again = post_batch(api(owner), version, batch_frame(60, seed=3), batch_id="b")
    _refused(again, 400, "earlier batch", "r3-0")
    assert MonitoringBatch.objects.count() == 1
    assert len(stored_files()) == 1


def test_a_file_that_is_not_a_table_is_refused(api, owner, version):
    upload = csv_upload(batch_frame(5))
    upload.file.seek(0)
    upload.file.write(b"\x00\x01garbage\n\xff")
    upload.file.seek(0)
    response = post_batch(api(owner), version, upload=upload)
    assert response.status_code == 400
    assert "file" in response.json()
    assert not MonitoringBatch.objects.exists()


def test_an_empty_batch_id_is_refused(api, owner, version):
    response = post_batch(api(owner), version, batch_id="   ")
    _refused(response, 400, "batchId")


@pytest.mark.parametrize("state", ["DRAFT", "PENDING_REVIEW", "APPROVED_PRODUCTION", "RETIRED"])
def test_a_version_not_deployed_takes_no_traffic(api, owner, model, state):
    version = deployed_version(model, state=state)
    response = post_batch(api(owner), version)
    _refused(response, 409, "STAGING or PRODUCTION")
    assert not MonitoringBatch.objects.exists()
    assert AuditEvent.objects.filter(event_type="ACCESS_DENIED", version_id=version.pk).exists()


def test_staging_takes_traffic(api, owner, model, sync):
    version = deployed_version(model, state="STAGING")
    with sync(execute=True):
        assert post_batch(api(owner), version).status_code == 202


def test_a_version_without_a_finished_evaluation_is_refused(api, owner, model):
    version = ModelVersionFactory(model=model)
    version.__class__.objects.filter(pk=version.pk).update(state="PRODUCTION")
    _refused(post_batch(api(owner), version), 409, "no finished evaluation run")


# ---- who may ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "role, allowed",
    [
        (Role.MODEL_OWNER, True),
        (Role.SRE, True),
        (Role.MRC, False),
        (Role.SECURITY_ARCHITECT, False),
        (Role.AUDITOR, False),
        (Role.EXECUTIVE, False),
        (Role.SCANNER, False),
    ],
)
def test_who_may_post_a_batch(api, users, version, sync, role, allowed):
    with sync(execute=True):
        response = post_batch(api(users[role]), version)
    if allowed:
        assert response.status_code == 202
    else:
        assert response.status_code in (403, 404)
        assert not MonitoringBatch.objects.exists()


def test_another_owner_cannot_post_or_read(api, make_user, version):
    other = make_user(Role.MODEL_OWNER, username="oscar")
    assert post_batch(api(other), version).status_code == 404
    assert api(other).get(monitoring_url(version)).status_code == 404


@pytest.mark.parametrize(
    "role, allowed",
    [
        (Role.MODEL_OWNER, True),
        (Role.SRE, True),
        (Role.MRC, True),
        (Role.AUDITOR, True),
        (Role.EXECUTIVE, True),
        (Role.SECURITY_ARCHITECT, True),
        (Role.SCANNER, False),
    ],
)
def test_who_may_read_monitoring(api, users, version, role, allowed):
    response = api(users[role]).get(monitoring_url(version))
    assert (response.status_code == 200) is allowed, response.content
    if allowed:
        assert response.json() == {"version": version.pk, "lastBatchAt": None, "windows": []}


# ---- outcomes -----------------------------------------------------------------------------


def post_outcomes(client, version, data: pd.DataFrame):
    return client.post(outcomes_url(version), {"file": csv_upload(data)}, format="multipart")


def test_outcomes_join_their_records_and_the_window_gains_accuracy_and_bias(
    api, owner, version, sync
):
    batch = batch_frame(1000, seed=4)
    with sync(execute=True):
        post_batch(api(owner), version, batch)
        truth = pd.DataFrame({"recordId": batch["recordId"][:600], "y_true": batch["y_pred"][:600]})
        truth.loc[:99, "y_true"] = 1 - truth.loc[:99, "y_true"]  # 100 of 600 wrong
        response = post_outcomes(api(owner), version, truth)
    assert response.status_code == 202, response.content
    assert response.json()["rows"] == 600
    metrics = MonitoringWindow.objects.get(version=version).metrics
    assert metrics["outcomeRows"] == 600
    assert metrics["accuracy"] == pytest.approx(500 / 600)
    assert 0 <= metrics["rocAuc"] <= 1
    assert metrics["sensitiveFeatures"] == ["gender"]
    assert 0 <= metrics["demographicParity"] <= 1
    assert MonitoringOutcomes.objects.get().rows == 600


def test_unknown_or_repeated_outcomes_are_refused_and_nothing_is_stored(api, owner, version, sync):
    batch = batch_frame(100, seed=6)
    with sync(execute=True):
        post_batch(api(owner), version, batch)
    unknown = pd.DataFrame({"recordId": ["r6-1", "nope"], "y_true": [1, 0]})
    _refused(post_outcomes(api(owner), version, unknown), 400, "unknown record id", "'nope'")
    assert not MonitoringOutcomes.objects.exists()
    good = pd.DataFrame({"recordId": ["r6-1", "r6-2"], "y_true": [1, 0]})
    with sync(execute=True):
        assert post_outcomes(api(owner), version, good).status_code == 202
    _refused(post_outcomes(api(owner), version, good), 400, "already have an outcome")
    twice = pd.DataFrame({"recordId": ["r6-3", "r6-3"], "y_true": [1, 0]})
    _refused(post_outcomes(api(owner), version, twice), 400, "duplicate recordId")
    labels = pd.DataFrame({"recordId": ["r6-4"], "y_true": [7]})
    _refused(post_outcomes(api(owner), version, labels), 400, "y_true")
    extra = pd.DataFrame({"recordId": ["r6-4"], "y_true": [1], "x": [1]})
    _refused(post_outcomes(api(owner), version, extra), 400, "unexpected column", "'x'")
    assert MonitoringOutcomes.objects.count() == 1
