"""The contract's "Versions and artifacts" section, through the API."""

from __future__ import annotations

import hashlib
from datetime import datetime

import pytest

from audit.choices import EventType
from audit.models import AuditEvent
from registry.models import Artifact, ModelVersion
from tests.factories import ArtifactFactory, ModelVersionFactory, RegisteredModelFactory

pytestmark = pytest.mark.django_db

VERSION_FIELDS = {
    "id",
    "model",
    "version",
    "state",
    "description",
    "documentation",
    "tags",
    "artifacts",
    "createdBy",
    "createdAt",
}
SHA = hashlib.sha256(b"weights").hexdigest()


def _artifact_body(**overrides):
    body = {
        "name": "model.onnx",
        "type": "model",
        "uri": "s3://models/fraud/model.onnx",
        "sha256": SHA,
    }
    body.update(overrides)
    return body


def _is_iso_with_timezone(value: str) -> bool:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed.tzinfo is not None


def _denials():
    return AuditEvent.objects.filter(event_type=EventType.ACCESS_DENIED)


# ---- versions ------------------------------------------------------------------------------


def test_create_version_is_draft_with_the_contract_shape(api, owner, model):
    response = api(owner).post(
        f"/api/v1/models/{model.pk}/versions/",
        {"version": "1.0.0", "description": "first", "tags": {"framework": "xgboost"}},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert set(body) >= VERSION_FIELDS
    assert body["model"] == model.pk
    assert body["version"] == "1.0.0"
    assert body["state"] == "DRAFT"
    assert body["description"] == "first"
    assert body["documentation"] == ""
    assert body["tags"] == {"framework": "xgboost"}
    assert body["artifacts"] == []
    assert body["createdBy"] == "olivia"
    assert _is_iso_with_timezone(body["createdAt"])
    version = ModelVersion.objects.get(pk=body["id"])
    assert (version.model_id, version.state, version.created_by) == (model.pk, "DRAFT", owner)
    event = AuditEvent.objects.get(action="CREATE_VERSION")
    assert (event.user_id, event.model_id, event.version_id) == ("olivia", model.pk, version.pk)

    fetched = api(owner).get(f"/api/v1/versions/{body['id']}/")
    assert fetched.status_code == 200
    assert fetched.json() == body


def test_duplicate_version_string_of_the_same_model_is_400_naming_version(api, owner, model):
    ModelVersionFactory(model=model, version="1.0.0")
    response = api(owner).post(
        f"/api/v1/models/{model.pk}/versions/", {"version": "1.0.0"}, format="json"
    )
    assert response.status_code == 400
    assert "version" in response.json()
    assert model.versions.count() == 1


def test_the_same_version_string_on_another_model_is_fine(api, owner, model):
    other = RegisteredModelFactory(owner=owner, name="other-model")
    ModelVersionFactory(model=other, version="1.0.0")
    response = api(owner).post(
        f"/api/v1/models/{model.pk}/versions/", {"version": "1.0.0"}, format="json"
    )
    assert response.status_code == 201


@pytest.mark.parametrize(
    "documentation",
    [
        "# Model card\n\nIntended use: fraud scoring.",
        {"intendedUse": "fraud scoring", "limitations": "not for credit decisions"},
    ],
    ids=["markdown-string", "object-of-strings"],
)
def test_documentation_is_a_string_or_an_object_of_strings(api, owner, model, documentation):
    response = api(owner).post(
        f"/api/v1/models/{model.pk}/versions/",
        {"version": "2.0", "documentation": documentation},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["documentation"] == documentation
    assert ModelVersion.objects.get(pk=response.json()["id"]).documentation == documentation

    changed = documentation + "!" if isinstance(documentation, str) else {"summary": "short"}
    patched = api(owner).patch(
        f"/api/v1/versions/{response.json()['id']}/", {"documentation": changed}, format="json"
    )
    assert patched.status_code == 200, patched.json()
    assert patched.json()["documentation"] == changed


@pytest.mark.parametrize(
    "documentation",
    [["a", "b"], 42, {"section": 1}, {"section": {"nested": "x"}}, {"": "empty key"}],
)
def test_documentation_of_another_shape_is_400(api, owner, model, documentation):
    response = api(owner).post(
        f"/api/v1/models/{model.pk}/versions/",
        {"version": "2.0", "documentation": documentation},
        format="json",
    )
    assert response.status_code == 400
    assert "documentation" in response.json()
    assert not model.versions.exists()


@pytest.mark.parametrize("version", ["", "1.0/beta", "1.0 beta", "-1", "../1", "a" * 101])
def test_bad_version_strings_are_400(api, owner, model, version):
    response = api(owner).post(
        f"/api/v1/models/{model.pk}/versions/", {"version": version}, format="json"
    )
    assert response.status_code == 400
    assert "version" in response.json()


def test_version_list_filters_model_state_and_risk_tier(api, users, owner):
    high = RegisteredModelFactory(owner=owner, name="high-model", risk_tier="HIGH")
    low = RegisteredModelFactory(owner=owner, name="low-model", risk_tier="LOW")
    h_draft = ModelVersionFactory(model=high, version="1")
    h_submitted = ModelVersionFactory(model=high, version="2", state="SUBMITTED")
    l_draft = ModelVersionFactory(model=low, version="1")
    l_staging = ModelVersionFactory(model=low, version="2", state="STAGING")
    client = api(users["MRC"])

    def ids(query: str) -> set[int]:
        response = client.get(f"/api/v1/versions/{query}")
        assert response.status_code == 200, response.json()
        body = response.json()
        assert set(body) == {"count", "next", "previous", "results"}
        assert body["count"] == len(body["results"])
        return {v["id"] for v in body["results"]}

    everything = {h_draft.pk, h_submitted.pk, l_draft.pk, l_staging.pk}
    assert ids("") == everything
    assert ids(f"?model={high.pk}") == {h_draft.pk, h_submitted.pk}
    assert ids("?state=DRAFT") == {h_draft.pk, l_draft.pk}
    assert ids("?state=STAGING") == {l_staging.pk}
    assert ids("?riskTier=HIGH") == {h_draft.pk, h_submitted.pk}
    assert ids("?riskTier=MEDIUM") == set()
    assert ids(f"?model={low.pk}&state=DRAFT") == {l_draft.pk}
    assert ids(f"?model={low.pk}&riskTier=HIGH") == set()
    for junk in ("?state=NOPE", "?riskTier=EXTREME", "?model=abc"):
        assert client.get(f"/api/v1/versions/{junk}").status_code == 400, junk


def test_version_list_shows_each_version_with_its_artifacts(api, users, model):
    version = ModelVersionFactory(model=model)
    first = ArtifactFactory(version=version, name="a.onnx")
    second = ArtifactFactory(version=version, name="b.json", type="config")
    body = api(users["Auditor"]).get("/api/v1/versions/").json()
    [shown] = body["results"]
    assert [a["id"] for a in shown["artifacts"]] == [first.pk, second.pk]
    assert shown["artifacts"][1]["type"] == "config"


# ---- artifacts -----------------------------------------------------------------------------


def test_add_a_reference_artifact(api, owner, model):
    version = ModelVersionFactory(model=model)
    response = api(owner).post(
        f"/api/v1/versions/{version.pk}/artifacts/", _artifact_body(), format="json"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["version"] == version.pk
    assert (body["name"], body["type"], body["uri"], body["sha256"]) == (
        "model.onnx",
        "model",
        "s3://models/fraud/model.onnx",
        SHA,
    )
    assert (body["held"], body["size"], body["downloadUrl"], body["signature"]) == (
        False,
        None,
        None,
        None,
    )
    assert body["securityScan"] == {
        "status": "PENDING",
        "scanner": "",
        "findings": None,
        "source": None,
        "scannedBy": None,
        "scannedAt": None,
    }
    event = AuditEvent.objects.get(action="ADD_ARTIFACT")
    assert (event.version_id, event.details["sha256"], event.details["held"]) == (
        version.pk,
        SHA,
        False,
    )
    shown = api(owner).get(f"/api/v1/versions/{version.pk}/").json()
    assert [a["id"] for a in shown["artifacts"]] == [body["id"]]


def test_an_owner_may_not_attest_a_scan_of_their_own_artifact(api, owner, model):
    """The scan result is never self-attested: from the owner it is 403 naming the rule,
    audited, and nothing is stored."""
    version = ModelVersionFactory(model=model)
    before = _denials().count()
    response = api(owner).post(
        f"/api/v1/versions/{version.pk}/artifacts/",
        _artifact_body(securityScan={"status": "PASSED", "scanner": "trivy", "findings": []}),
        format="json",
    )
    assert response.status_code == 403
    assert "never self-attested" in response.json()["detail"]
    assert not Artifact.objects.exists()
    assert _denials().count() == before + 1
    artifact = ArtifactFactory(version=version, scan_status="FAILED")
    response = api(owner).patch(
        f"/api/v1/artifacts/{artifact.pk}/",
        {"securityScan": {"status": "PASSED", "scanner": "trivy"}},
        format="json",
    )
    assert response.status_code == 403
    artifact.refresh_from_db()
    assert artifact.scan_status == "FAILED"


def test_add_artifact_without_a_scan_is_pending(api, owner, model):
    version = ModelVersionFactory(model=model)
    body = _artifact_body()
    response = api(owner).post(f"/api/v1/versions/{version.pk}/artifacts/", body, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["securityScan"]["status"] == "PENDING"


def test_sha256_is_stored_in_lower_case(api, owner, model):
    version = ModelVersionFactory(model=model)
    response = api(owner).post(
        f"/api/v1/versions/{version.pk}/artifacts/",
        _artifact_body(sha256=SHA.upper()),
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["sha256"] == SHA


@pytest.mark.parametrize(
    "sha256",
    [
        "",
        "abc",
        SHA[:-1],
        SHA + "0",
        "g" * 64,
        " " + SHA[1:],
        SHA[:-1] + "\n",
        "sha256:" + SHA,
        hashlib.sha1(b"x").hexdigest(),
    ],
    ids=["empty", "short", "63", "65", "not-hex", "space", "newline", "prefixed", "sha1"],
)
def test_sha256_must_be_64_hex_characters(api, owner, model, sha256):
    version = ModelVersionFactory(model=model)
    response = api(owner).post(
        f"/api/v1/versions/{version.pk}/artifacts/", _artifact_body(sha256=sha256), format="json"
    )
    assert response.status_code == 400
    assert "sha256" in response.json()
    assert not Artifact.objects.exists()


@pytest.mark.parametrize(
    ("scan", "field"),
    [
        ({"status": "MAYBE"}, "securityScan"),
        ({"scanner": "trivy"}, "securityScan"),
        ({"status": "PASSED", "colour": "green"}, "securityScan"),
        ("PASSED", "securityScan"),
    ],
)
def test_bad_security_scan_is_400(api, owner, model, scan, field):
    version = ModelVersionFactory(model=model)
    response = api(owner).post(
        f"/api/v1/versions/{version.pk}/artifacts/",
        _artifact_body(securityScan=scan),
        format="json",
    )
    assert response.status_code == 400
    assert field in response.json()
    assert not Artifact.objects.exists()


def test_patch_artifact_with_a_new_scan_result(api, users, model):
    artifact = ArtifactFactory(version=ModelVersionFactory(model=model), scan_status="PENDING")
    response = api(users["Security Architect"]).patch(
        f"/api/v1/artifacts/{artifact.pk}/",
        {"securityScan": {"status": "FAILED", "scanner": "grype", "findings": {"high": 2}}},
        format="json",
    )
    assert response.status_code == 200, response.json()
    scan = response.json()["securityScan"]
    assert (scan["status"], scan["scanner"], scan["findings"]) == ("FAILED", "grype", {"high": 2})
    assert (scan["source"], scan["scannedBy"]) == (
        "SECURITY_ARCHITECT",
        users["Security Architect"].username,
    )
    assert _is_iso_with_timezone(scan["scannedAt"])
    artifact.refresh_from_db()
    assert (artifact.scan_status, artifact.scan_scanner) == ("FAILED", "grype")
    event = AuditEvent.objects.get(action="UPDATE_ARTIFACT")
    assert event.details["changes"]["scan_status"] == {"from": "PENDING", "to": "FAILED"}


def test_patch_artifact_identity_while_draft(api, owner, model):
    artifact = ArtifactFactory(version=ModelVersionFactory(model=model))
    response = api(owner).patch(
        f"/api/v1/artifacts/{artifact.pk}/",
        {"uri": "s3://models/moved.onnx", "sha256": SHA.upper()},
        format="json",
    )
    assert response.status_code == 200, response.json()
    artifact.refresh_from_db()
    assert (artifact.uri, artifact.sha256) == ("s3://models/moved.onnx", SHA)


def test_patch_artifact_validates_sha256_too(api, owner, model):
    artifact = ArtifactFactory(version=ModelVersionFactory(model=model))
    response = api(owner).patch(
        f"/api/v1/artifacts/{artifact.pk}/", {"sha256": "nope"}, format="json"
    )
    assert response.status_code == 400
    assert "sha256" in response.json()


# ---- editing is limited to DRAFT and CHANGES_REQUIRED --------------------------------------


@pytest.fixture
def submitted(model):
    version = ModelVersionFactory(model=model, state="SUBMITTED", documentation="# Frozen")
    artifact = ArtifactFactory(version=version, name="frozen.onnx", scan_status="PENDING")
    return version, artifact


def _assert_409_submitted(response, denials_before: int, version):
    assert response.status_code == 409, response.json()
    body = response.json()
    assert set(body) == {"detail", "state"}
    assert body["state"] == "SUBMITTED"
    assert body["detail"]
    denials = list(_denials().order_by("seq"))[denials_before:]
    assert len(denials) == 1
    assert denials[0].user_id == "olivia"
    assert denials[0].version_id == version.pk
    assert denials[0].details["status"] == 409
    assert denials[0].details["state"] == "SUBMITTED"


def test_documentation_of_a_submitted_version_is_409(api, owner, submitted):
    version, _ = submitted
    before = _denials().count()
    response = api(owner).patch(
        f"/api/v1/versions/{version.pk}/", {"documentation": "# Changed"}, format="json"
    )
    _assert_409_submitted(response, before, version)
    version.refresh_from_db()
    assert version.documentation == "# Frozen"


def test_adding_an_artifact_to_a_submitted_version_is_409(api, owner, submitted):
    version, _ = submitted
    before = _denials().count()
    response = api(owner).post(
        f"/api/v1/versions/{version.pk}/artifacts/", _artifact_body(), format="json"
    )
    _assert_409_submitted(response, before, version)
    assert version.artifacts.count() == 1


def test_a_new_scan_on_an_artifact_of_a_submitted_version_is_accepted(api, make_user, submitted):
    version, artifact = submitted
    scanner = make_user("Scanner")
    response = api(scanner).patch(
        f"/api/v1/artifacts/{artifact.pk}/",
        {"securityScan": {"status": "PASSED", "scanner": "trivy"}},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["securityScan"]["status"] == "PASSED"
    assert response.json()["securityScan"]["source"] == "SCANNER"
    artifact.refresh_from_db()
    assert artifact.scan_status == "PASSED"
    version.refresh_from_db()
    assert version.state == "SUBMITTED"


def test_changing_the_uri_of_an_artifact_of_a_submitted_version_is_409(api, owner, submitted):
    version, artifact = submitted
    before = _denials().count()
    response = api(owner).patch(
        f"/api/v1/artifacts/{artifact.pk}/",
        {"uri": "s3://elsewhere/frozen.onnx"},
        format="json",
    )
    _assert_409_submitted(response, before, version)
    artifact.refresh_from_db()
    assert artifact.uri == "s3://models/frozen.onnx"
    assert artifact.scan_status == "PENDING"


def test_resending_the_same_uri_of_a_submitted_artifact_is_not_a_change(api, owner, submitted):
    _, artifact = submitted
    response = api(owner).patch(
        f"/api/v1/artifacts/{artifact.pk}/",
        {"uri": artifact.uri, "sha256": artifact.sha256.upper()},
        format="json",
    )
    assert response.status_code == 200, response.json()


@pytest.mark.parametrize("state", ["DRAFT", "CHANGES_REQUIRED"])
def test_documentation_and_artifacts_change_while_editable(api, owner, model, state):
    version = ModelVersionFactory(model=model, state=state)
    client = api(owner)
    assert (
        client.patch(
            f"/api/v1/versions/{version.pk}/", {"documentation": {"a": "b"}}, format="json"
        ).status_code
        == 200
    )
    assert (
        client.post(
            f"/api/v1/versions/{version.pk}/artifacts/", _artifact_body(), format="json"
        ).status_code
        == 201
    )


@pytest.mark.parametrize(
    "state",
    [
        "MRC_REVIEW",
        "SECURITY_REVIEW",
        "APPROVED_STAGING",
        "STAGING",
        "PRODUCTION_REVIEW",
        "APPROVED_PRODUCTION",
        "PRODUCTION",
        "RETIRED",
    ],
)
def test_documentation_and_artifacts_are_frozen_in_every_other_state(api, owner, model, state):
    version = ModelVersionFactory(model=model, state=state)
    client = api(owner)
    patched = client.patch(f"/api/v1/versions/{version.pk}/", {"documentation": "x"}, format="json")
    added = client.post(
        f"/api/v1/versions/{version.pk}/artifacts/", _artifact_body(), format="json"
    )
    for response in (patched, added):
        assert response.status_code == 409
        assert response.json()["state"] == state
    assert not version.artifacts.exists()
