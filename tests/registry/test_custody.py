"""Custody (issue 12 point 1-3): the registry holds artifact bytes, hashes them itself, stores
them content-addressed and unchanged, scans them in the worker, and says who produced each
scan result. Through the API, the pages and the domain."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from audit.models import AuditEvent
from core.choices import Role
from policies.context import artifact_document
from registry import artifacts, custody, scan_jobs, scanning
from registry.models import Artifact
from tests.factories import ArtifactFactory, ModelVersionFactory
from tests.registry import scanning_samples as samples

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def onnx_bytes(tmp_path_factory) -> bytes:
    return samples.onnx_logistic_regression(tmp_path_factory.mktemp("onnx") / "m.onnx").read_bytes()


@pytest.fixture
def version(model):
    return ModelVersionFactory(model=model)


def upload(client, version, content: bytes, *, name="model.onnx", type="model", **extra):
    return client.post(
        f"/api/v1/versions/{version.pk}/artifacts/",
        {"file": SimpleUploadedFile(name, content), "name": name, "type": type, **extra},
        format="multipart",
    )


def stored_files() -> list[Path]:
    root = Path(custody.artifact_storage().location)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


# ---- upload ---------------------------------------------------------------------------------


def test_an_uploaded_onnx_model_is_held_hashed_stored_by_digest_and_read(
    api, owner, version, onnx_bytes
):
    response = upload(api(owner), version, onnx_bytes)
    assert response.status_code == 201, response.json()
    body = response.json()
    digest = hashlib.sha256(onnx_bytes).hexdigest()
    assert (body["held"], body["size"], body["sha256"], body["format"]) == (
        True,
        len(onnx_bytes),
        digest,
        "onnx",
    )
    assert body["uri"] == ""
    assert body["downloadUrl"].endswith(f"/api/v1/artifacts/{body['id']}/download/")
    assert [t["name"] for t in body["signature"]["inputs"]] == ["X"]
    assert body["signature"]["outputs"]
    assert body["securityScan"]["status"] == "PENDING"
    # Stored under its own digest, read-only, exactly the bytes sent.
    [path] = stored_files()
    assert path.name == digest and path.parent.name == digest[:2]
    assert path.read_bytes() == onnx_bytes
    assert not os.stat(path).st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    event = AuditEvent.objects.get(action="ADD_ARTIFACT")
    assert (event.details["held"], event.details["sha256"], event.details["size"]) == (
        True,
        digest,
        len(onnx_bytes),
    )
    assert Artifact.objects.get().executable


def test_the_same_bytes_twice_are_two_artifacts_and_one_stored_file(
    api, owner, version, onnx_bytes
):
    client = api(owner)
    assert upload(client, version, onnx_bytes).status_code == 201
    assert upload(client, version, onnx_bytes, name="copy.onnx").status_code == 201
    assert Artifact.objects.count() == 2
    assert len(stored_files()) == 1


def test_a_declared_sha256_that_differs_is_400_and_stores_nothing(api, owner, version, onnx_bytes):
    response = upload(api(owner), version, onnx_bytes, sha256="0" * 64)
    assert response.status_code == 400
    assert "nothing was stored" in response.json()["sha256"][0]
    assert not Artifact.objects.exists() and not stored_files()
    right = hashlib.sha256(onnx_bytes).hexdigest().upper()
    assert upload(api(owner), version, onnx_bytes, sha256=right).status_code == 201


def test_an_upload_over_the_limit_is_413_and_stores_nothing(
    api, owner, version, onnx_bytes, settings
):
    settings.ARTIFACT_MAX_BYTES = 100
    response = upload(api(owner), version, onnx_bytes)
    assert response.status_code == 413
    assert "ARTIFACT_MAX_BYTES" in response.json()["file"][0]
    assert not Artifact.objects.exists() and not stored_files()


@pytest.mark.parametrize(
    ("name", "content", "says"),
    [
        ("model.onnx", b"this is no model", "named like onnx"),
        ("model.onnx", b"", "empty"),
        ("weights.pkl", b"plain text", "named like pkl"),
        ("model.safetensors", b"\x00" * 16, "named like safetensors"),
    ],
)
def test_a_file_that_is_not_what_it_claims_is_400_naming_file(
    api, owner, version, name, content, says
):
    response = upload(api(owner), version, content, name=name)
    assert response.status_code == 400, response.json()
    assert says in " ".join(response.json()["file"])
    assert not Artifact.objects.exists() and not stored_files()


def test_a_truncated_onnx_model_is_refused(api, owner, version, onnx_bytes):
    response = upload(api(owner), version, onnx_bytes[: len(onnx_bytes) // 2])
    assert response.status_code == 400
    assert "file" in response.json()
    assert not stored_files()


def test_a_file_and_a_uri_together_is_400(api, owner, version, onnx_bytes):
    response = upload(api(owner), version, onnx_bytes, uri="s3://b/k")
    assert response.status_code == 400
    assert "uri" in response.json()


def test_held_bytes_never_change(api, owner, version, onnx_bytes):
    artifact_id = upload(api(owner), version, onnx_bytes).json()["id"]
    response = api(owner).patch(
        f"/api/v1/artifacts/{artifact_id}/", {"sha256": "1" * 64}, format="json"
    )
    assert response.status_code == 400
    assert "never change" in response.json()["sha256"][0]


def test_uploads_are_refused_once_the_version_is_frozen(api, owner, model, onnx_bytes):
    frozen = ModelVersionFactory(model=model, state="SUBMITTED")
    response = upload(api(owner), frozen, onnx_bytes)
    assert response.status_code == 409
    assert not stored_files()


def test_only_the_owner_uploads(api, users, make_user, version, onnx_bytes):
    assert upload(api(users[Role.MRC]), version, onnx_bytes).status_code == 403
    assert upload(api(make_user(Role.MODEL_OWNER)), version, onnx_bytes).status_code == 404
    assert not stored_files()


# ---- download -------------------------------------------------------------------------------


def test_download_streams_the_held_bytes_and_is_audited(api, users, make_user, version, onnx_bytes):
    artifact_id = upload(api(users[Role.MODEL_OWNER]), version, onnx_bytes).json()["id"]
    for reader in (users[Role.MODEL_OWNER], users[Role.AUDITOR], users[Role.SCANNER]):
        response = api(reader).get(f"/api/v1/artifacts/{artifact_id}/download/")
        assert response.status_code == 200
        assert b"".join(response.streaming_content) == onnx_bytes
        assert response["X-Content-SHA256"] == hashlib.sha256(onnx_bytes).hexdigest()
        assert "attachment" in response["Content-Disposition"]
    downloads = AuditEvent.objects.filter(action="DOWNLOAD_ARTIFACT")
    assert downloads.count() == 3
    assert {e.user_id for e in downloads} == {
        u.username for u in (users[Role.MODEL_OWNER], users[Role.AUDITOR], users[Role.SCANNER])
    }
    stranger = make_user(Role.MODEL_OWNER)
    assert api(stranger).get(f"/api/v1/artifacts/{artifact_id}/download/").status_code == 404


def test_a_reference_has_no_bytes_to_download(api, owner, version):
    reference = ArtifactFactory(version=version)
    response = api(owner).get(f"/api/v1/artifacts/{reference.pk}/download/")
    assert response.status_code == 409
    assert "does not hold" in response.json()["detail"]


# ---- the registry's scan, in the worker -------------------------------------------------------


def test_a_malicious_pickle_is_failed_by_the_registry_with_a_critical_finding(api, owner, version):
    body = upload(
        api(owner), version, samples.reduce_pickle(), name="weights.pkl", type="model"
    ).json()
    assert body["held"] and body["format"] == "pickle" and body["signature"] is None
    assert scan_jobs.scan_artifact(body["id"]) == "FAILED"
    scan = api(owner).get(f"/api/v1/artifacts/{body['id']}/").json()["securityScan"]
    assert (scan["status"], scan["source"], scan["scannedBy"]) == ("FAILED", "REGISTRY", "system")
    assert "modelscan" in scan["scanner"]
    assert any(f["severity"] == "CRITICAL" for f in scan["findings"])
    artifact = Artifact.objects.get(pk=body["id"])
    assert artifact.scan_rules_version == scanning.RULES_VERSION
    event = AuditEvent.objects.filter(action="UPDATE_ARTIFACT").latest("seq")
    assert event.user_id == "system"
    # The version page lists the findings by severity and code.
    page = page_client(owner).get(f"/versions/{version.pk}/")
    assert page.status_code == 200
    assert (
        "CRITICAL" in page.content.decode() and "PICKLE_DANGEROUS_GLOBAL" in page.content.decode()
    )


def test_a_clean_onnx_model_passes_and_is_not_rescanned_until_the_rules_change(
    api, owner, version, onnx_bytes
):
    artifact_id = upload(api(owner), version, onnx_bytes).json()["id"]
    assert list(scan_jobs.outdated().values_list("pk", flat=True)) == [artifact_id]
    assert scan_jobs.scan_artifact(artifact_id) == "PASSED"
    assert not scan_jobs.outdated().exists()
    Artifact.objects.filter(pk=artifact_id).update(scan_rules_version="older-rules")
    assert list(scan_jobs.outdated().values_list("pk", flat=True)) == [artifact_id]


def test_a_security_architects_result_is_not_overwritten_by_a_rescan(
    api, users, version, onnx_bytes
):
    artifact_id = upload(api(users[Role.MODEL_OWNER]), version, onnx_bytes).json()["id"]
    artifact = Artifact.objects.get(pk=artifact_id)
    artifacts.update_artifact(
        artifact,
        actor=users[Role.SECURITY_ARCHITECT],
        security_scan={"status": "FAILED", "scanner": "manual review", "findings": []},
    )
    assert not scan_jobs.outdated().exists()


def test_the_policy_context_says_who_scanned_held_bytes(api, users, version, onnx_bytes):
    artifact_id = upload(api(users[Role.MODEL_OWNER]), version, onnx_bytes).json()["id"]
    document = artifact_document(Artifact.objects.get(pk=artifact_id))
    assert (document["held"], document["executable"]) == (True, True)
    assert document["securityScan"]["source"] is None
    scan_jobs.scan_artifact(artifact_id)
    document = artifact_document(Artifact.objects.get(pk=artifact_id))
    assert document["securityScan"]["source"] == "REGISTRY"
    reference = artifact_document(ArtifactFactory(version=version))
    assert (reference["held"], reference["executable"]) == (False, False)


# ---- the pages --------------------------------------------------------------------------------


def page_client(user) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def csrf_token(client, url) -> str:
    client.get(url)
    return client.cookies["csrftoken"].value


def test_the_page_upload_holds_the_file_and_the_version_page_says_so(owner, version, onnx_bytes):
    client = page_client(owner)
    url = f"/versions/{version.pk}/artifacts/new/"
    form = client.get(url).content.decode()
    assert 'type="file"' in form and "Security scan" not in form
    token = csrf_token(client, url)
    response = client.post(
        url,
        {
            "csrfmiddlewaretoken": token,
            "name": "scorer.onnx",
            "type": "model",
            "file": SimpleUploadedFile("scorer.onnx", onnx_bytes),
        },
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["redirect"].startswith(f"/versions/{version.pk}/")
    page = client.get(f"/versions/{version.pk}/").content.decode()
    assert "Held" in page and "computed by the registry" in page
    assert "the registry&#x27;s scan is queued" in page or "scan is queued" in page
    artifact = Artifact.objects.get()
    assert f"/artifacts/{artifact.pk}/download/" in page
    download = client.get(f"/artifacts/{artifact.pk}/download/")
    assert b"".join(download.streaming_content) == onnx_bytes


def test_the_page_upload_checks_csrf_after_receiving_the_file(owner, version, onnx_bytes):
    client = page_client(owner)
    response = client.post(
        f"/versions/{version.pk}/artifacts/new/",
        {"name": "m.onnx", "type": "model", "file": SimpleUploadedFile("m.onnx", onnx_bytes)},
    )
    assert response.status_code == 403
    assert not Artifact.objects.exists()


def test_the_page_names_the_problem_of_a_refused_upload(owner, version, settings, onnx_bytes):
    client = page_client(owner)
    url = f"/versions/{version.pk}/artifacts/new/"
    token = csrf_token(client, url)
    wrong = client.post(
        url,
        {
            "csrfmiddlewaretoken": token,
            "name": "m.onnx",
            "type": "model",
            "file": SimpleUploadedFile("m.onnx", onnx_bytes),
            "sha256": "0" * 64,
        },
    )
    assert wrong.status_code == 200
    assert "nothing was stored" in wrong.content.decode()
    settings.ARTIFACT_MAX_BYTES = 10
    big = client.post(
        url,
        {
            "csrfmiddlewaretoken": token,
            "name": "m.onnx",
            "type": "model",
            "file": SimpleUploadedFile("m.onnx", onnx_bytes),
        },
        HTTP_ACCEPT="application/json",
    )
    assert big.status_code == 413
    assert "ARTIFACT_MAX_BYTES" in big.json()["file"][0]
    assert not Artifact.objects.exists() and not stored_files()


def test_a_reference_from_the_page_says_the_registry_does_not_hold_it(owner, version):
    client = page_client(owner)
    url = f"/versions/{version.pk}/artifacts/new/"
    token = csrf_token(client, url)
    response = client.post(
        url,
        {
            "csrfmiddlewaretoken": token,
            "name": "m.onnx",
            "type": "model",
            "uri": "s3://bucket/m.onnx",
            "sha256": "a" * 64,
        },
        follow=True,
    )
    page = response.content.decode()
    assert "Reference only" in page and "s3://bucket/m.onnx" in page
    assert not Artifact.objects.get().held


def test_a_truncated_upload_is_refused_and_stores_nothing(api, owner, version, onnx_bytes):
    """The body ends in the middle of the file (the client went away): no closing boundary."""
    boundary = "cut-here"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="name"\r\n\r\nm.onnx\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="type"\r\n\r\nmodel\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="m.onnx"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode() + onnx_bytes[: len(onnx_bytes) // 2]
    response = api(owner).generic(
        "POST",
        f"/api/v1/versions/{version.pk}/artifacts/",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
    )
    assert 400 <= response.status_code < 500, response.content
    assert not Artifact.objects.exists() and not stored_files()


def test_a_failed_write_after_storing_leaves_no_bytes(owner, version, onnx_bytes, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("the audit write failed")

    monkeypatch.setattr(artifacts, "_audit_added", broken)
    with pytest.raises(RuntimeError):
        artifacts.add_artifact(
            version,
            actor=owner,
            name="m.onnx",
            type="model",
            upload=SimpleUploadedFile("m.onnx", onnx_bytes),
        )
    assert not Artifact.objects.exists() and not stored_files()


def test_a_body_declared_over_the_limit_is_413_before_it_is_read(
    api, owner, version, onnx_bytes, settings
):
    settings.ARTIFACT_MAX_BYTES = 10
    boundary = "big"
    body = (
        (
            f"--{boundary}\r\n"
            'Content-Disposition: form-data; name="file"; filename="m.onnx"\r\n\r\n'
        ).encode()
        + b"x" * (1024 * 1024 + 100)
        + f"\r\n--{boundary}--\r\n".encode()
    )
    response = api(owner).generic(
        "POST",
        f"/api/v1/versions/{version.pk}/artifacts/",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
    )
    assert response.status_code == 413
    assert "ARTIFACT_MAX_BYTES" in response.json()["file"][0]
    assert not Artifact.objects.exists() and not stored_files()
