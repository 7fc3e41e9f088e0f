"""Artifacts on S3-compatible object storage (issue 14, "Scale out on existing engines"): the
registry's custody through django-storages against moto's standalone S3 server, a real HTTP
S3 emulator started here as its own process (no S3 service can be reached from this machine).
Uploads go through the API, the bytes are looked at in the bucket with boto3, and the scanner,
the model runner and the tamper check all read them back from the bucket."""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import tracemalloc
import urllib.request
import uuid

import boto3
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from config.storage import artifact_storage_settings
from core.errors import Invalid
from evaluations.choices import RunStatus
from registry import custody, scan_jobs
from registry.models import Artifact
from registry.storage import ArtifactS3Storage
from tests.evaluations import test_registry_predictions as predictions
from tests.factories import ArtifactFactory, ModelVersionFactory
from tests.registry import scanning_samples as samples

pytestmark = pytest.mark.django_db

# A logistic regression trained with scikit-learn and exported with skl2onnx, and its data.
trained = predictions.trained
feature_frame, post_run, run_queued = (
    predictions.feature_frame,
    predictions.post_run,
    predictions.run_queued,
)

KEY_ID, SECRET = "registry-test", "registry-test-secret"
REGION = "eu-west-1"
MiB = 1024 * 1024


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def s3_endpoint():
    """moto's S3 server in its own process (so memory measured here is the registry's)."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1).close()
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                raise RuntimeError(f"moto's S3 server did not start on port {port}") from None
            time.sleep(0.1)
    yield endpoint
    server.terminate()
    server.wait(timeout=10)


@pytest.fixture
def s3_env(s3_endpoint, monkeypatch):
    """The environment a deployment sets, a fresh bucket per test, and the bucket's client."""
    bucket = f"artifacts-{uuid.uuid4().hex[:12]}"
    values = {
        "ARTIFACT_STORAGE": "s3",
        "ARTIFACT_S3_BUCKET": bucket,
        "ARTIFACT_S3_PREFIX": "/registry/held/",
        "ARTIFACT_S3_ENDPOINT_URL": s3_endpoint,
        "ARTIFACT_S3_REGION": REGION,
        "ARTIFACT_S3_ACCESS_KEY_ID": KEY_ID,
        "ARTIFACT_S3_SECRET_ACCESS_KEY": SECRET,
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    client = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name=REGION,
        aws_access_key_id=KEY_ID,
        aws_secret_access_key=SECRET,
    )
    client.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    return bucket, client


@pytest.fixture
def bucket(s3_env, settings):
    """The "artifacts" storage built from that environment, as settings.py builds it. Changing
    STORAGES makes Django drop its cached storages (django.test.signals.storages_changed)."""
    settings.STORAGES = {**settings.STORAGES, "artifacts": artifact_storage_settings()}
    assert isinstance(custody.artifact_storage(), ArtifactS3Storage)
    return s3_env


def keys(bucket) -> list[str]:
    name, client = bucket
    listed = client.list_objects_v2(Bucket=name)
    return sorted(entry["Key"] for entry in listed.get("Contents", ()))


@pytest.fixture
def scratch(tmp_path, monkeypatch):
    """This test's own temporary folder, so the copies custody makes can be counted here
    whatever other processes on the machine leave in /tmp."""
    folder = tmp_path / "scratch"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def held_copies(folder) -> list[str]:
    return [n for n in os.listdir(folder) if n.startswith("held-")]


def key_for(digest: str) -> str:
    return f"registry/held/sha256/{digest[:2]}/{digest}"


@pytest.fixture(scope="module")
def onnx_bytes(tmp_path_factory) -> bytes:
    return samples.onnx_logistic_regression(tmp_path_factory.mktemp("onnx") / "m.onnx").read_bytes()


@pytest.fixture
def version(model):
    return ModelVersionFactory(model=model)


def upload(client, version, content: bytes, name="model.onnx"):
    response = client.post(
        f"/api/v1/versions/{version.pk}/artifacts/",
        {"file": SimpleUploadedFile(name, content), "name": name, "type": "model"},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    return response.json()


# ---- through the API ------------------------------------------------------------------------


def test_an_upload_lands_in_the_bucket_under_the_prefix_by_digest_and_downloads_back(
    api, owner, version, onnx_bytes, bucket
):
    body = upload(api(owner), version, onnx_bytes)
    digest = hashlib.sha256(onnx_bytes).hexdigest()
    assert (body["held"], body["sha256"], body["size"], body["format"]) == (
        True,
        digest,
        len(onnx_bytes),
        "onnx",
    )
    assert keys(bucket) == [key_for(digest)]
    name, client = bucket
    held = client.get_object(Bucket=name, Key=key_for(digest))
    assert held["Body"].read() == onnx_bytes
    assert held["ContentType"] == "application/octet-stream"

    response = api(owner).get(f"/api/v1/artifacts/{body['id']}/download/")
    assert response.status_code == 200
    assert response["X-Content-SHA256"] == digest
    assert response["Content-Length"] == str(len(onnx_bytes))
    assert b"".join(response.streaming_content) == onnx_bytes


def test_the_same_bytes_twice_are_two_artifacts_and_one_object(
    api, owner, version, onnx_bytes, bucket
):
    first = upload(api(owner), version, onnx_bytes, name="a.onnx")
    second = upload(api(owner), version, onnx_bytes, name="b.onnx")
    assert first["id"] != second["id"] and first["sha256"] == second["sha256"]
    assert keys(bucket) == [key_for(first["sha256"])]


def test_the_scanner_reads_held_bytes_from_the_bucket(
    api, owner, version, onnx_bytes, bucket, scratch
):
    clean = upload(api(owner), version, onnx_bytes)
    malicious = upload(api(owner), version, samples.reduce_pickle(), name="evil.pkl")
    assert scan_jobs.scan_artifact(clean["id"]) == "PASSED"
    assert scan_jobs.scan_artifact(malicious["id"]) == "FAILED"
    scanned = Artifact.objects.get(pk=malicious["id"])
    assert "registry" in scanned.scan_scanner and scanned.scan_findings
    # The local copies the scanner read are gone afterwards.
    assert held_copies(scratch) == []


def test_the_registry_runs_an_onnx_model_held_in_the_bucket(api, owner, version, trained, bucket):
    _, content = trained
    upload(api(owner), version, content)
    frame = feature_frame(200, seed=3).drop(columns="gender")
    run = run_queued(post_run(api(owner), version, frame))
    assert run.status in (RunStatus.PASSED, RunStatus.FAILED), run.error
    assert run.predictions_source == "REGISTRY"
    assert run.artifact_sha256 == hashlib.sha256(content).hexdigest()
    assert run.metrics["accuracy"] > 0.6


def test_an_object_overwritten_in_the_bucket_is_caught_and_never_run(
    api, owner, version, trained, bucket
):
    _, content = trained
    body = upload(api(owner), version, content)
    artifact = Artifact.objects.get(pk=body["id"])
    assert custody.read_verified(artifact) == content
    response = post_run(api(owner), version, feature_frame(100, seed=4).drop(columns="gender"))

    name, client = bucket
    tampered = content[:100] + b"\x00\x01\x02" + content[103:]
    client.put_object(Bucket=name, Key=key_for(artifact.sha256), Body=tampered)
    with pytest.raises(Invalid, match="no longer match its SHA-256"):
        custody.read_verified(artifact)
    run = run_queued(response)
    assert run.status == RunStatus.ERROR
    assert "no longer match its SHA-256" in run.error


def test_a_missing_object_is_file_not_found_and_leaves_no_local_copy(bucket, scratch):
    artifact = ArtifactFactory(held=True, storage_name="sha256/00/" + "0" * 64, uri="")
    with pytest.raises(FileNotFoundError):
        custody.open_held(artifact)
    with pytest.raises(FileNotFoundError), custody.local_path(artifact):
        pass
    assert held_copies(scratch) == []


# ---- streaming in bounded memory ------------------------------------------------------------


def test_64_mib_goes_up_and_comes_down_in_bounded_memory(api, owner, version, bucket, tmp_path):
    size = 64 * MiB
    path = tmp_path / "big.bin"
    hasher = hashlib.sha256()
    with open(path, "wb") as handle:
        for index in range(size // MiB):
            block = hashlib.sha256(str(index).encode()).digest() * (MiB // 32)
            hasher.update(block)
            handle.write(block)
    digest = hasher.hexdigest()
    received = custody.Received(str(path), "big.bin", digest, size)
    # The client and its service model are made once per process, not per upload.
    custody.artifact_storage().exists("warm-up")

    tracemalloc.start()
    try:
        name, stored = custody.store(received)
        _, upload_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        artifact = ArtifactFactory(
            version=version, held=True, storage_name=name, sha256=digest, size=size, uri=""
        )
        response = api(owner).get(f"/api/v1/artifacts/{artifact.pk}/download/")
        downloaded, read_back = 0, hashlib.sha256()
        for chunk in response.streaming_content:
            downloaded += len(chunk)
            read_back.update(chunk)
        response.close()
        _, download_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert stored and keys(bucket) == [key_for(digest)]
    # Sent as a multipart upload of 8 MiB parts (S3's ETag of a multipart object ends "-parts").
    bucket_name, client = bucket
    assert client.head_object(Bucket=bucket_name, Key=key_for(digest))["ETag"].endswith('-8"')
    assert (downloaded, read_back.hexdigest()) == (size, digest)
    print(f"\n64 MiB: upload peak {upload_peak / MiB:.1f} MiB, download {download_peak / MiB:.1f}")
    assert upload_peak < 16 * MiB
    assert download_peak < 8 * MiB


# ---- the settings -----------------------------------------------------------------------------


def test_the_file_system_stays_the_default(monkeypatch):
    for name in ("ARTIFACT_STORAGE", "ARTIFACT_STORAGE_BACKEND"):
        monkeypatch.delenv(name, raising=False)
    assert artifact_storage_settings() == {"BACKEND": "registry.storage.ArtifactFileStorage"}


def test_s3_without_a_bucket_stops_start_up(monkeypatch):
    monkeypatch.setenv("ARTIFACT_STORAGE", "s3")
    monkeypatch.delenv("ARTIFACT_S3_BUCKET", raising=False)
    with pytest.raises(RuntimeError, match="ARTIFACT_S3_BUCKET"):
        artifact_storage_settings()


def test_an_unknown_storage_kind_or_half_a_key_pair_stops_start_up(monkeypatch):
    monkeypatch.setenv("ARTIFACT_STORAGE", "ftp")
    with pytest.raises(RuntimeError, match="one of file, s3"):
        artifact_storage_settings()
    monkeypatch.setenv("ARTIFACT_STORAGE", "s3")
    monkeypatch.setenv("ARTIFACT_S3_BUCKET", "b")
    monkeypatch.setenv("ARTIFACT_S3_ACCESS_KEY_ID", "only-the-id")
    monkeypatch.delenv("ARTIFACT_S3_SECRET_ACCESS_KEY", raising=False)
    with pytest.raises(RuntimeError, match="go together"):
        artifact_storage_settings()


def test_without_registry_keys_boto3s_own_credentials_are_used(monkeypatch):
    monkeypatch.setenv("ARTIFACT_STORAGE", "s3")
    monkeypatch.setenv("ARTIFACT_S3_BUCKET", "bank-models")
    for name in (
        "ARTIFACT_S3_ACCESS_KEY_ID",
        "ARTIFACT_S3_SECRET_ACCESS_KEY",
        "ARTIFACT_S3_PREFIX",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "from-the-chain")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "chain-secret")
    config = artifact_storage_settings()
    assert config["BACKEND"] == "registry.storage.ArtifactS3Storage"
    assert "access_key" not in config["OPTIONS"]
    storage = ArtifactS3Storage(**config["OPTIONS"])
    assert (storage.bucket_name, storage.location, storage.file_overwrite) == (
        "bank-models",
        "",
        False,
    )
    credentials = storage._create_session().get_credentials()
    assert (credentials.access_key, credentials.secret_key) == ("from-the-chain", "chain-secret")
