"""A refused attempt leaves an ACCESS_DENIED event, and the refused change is not written."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

from audit.choices import AuditAction, EventType
from audit.models import AuditEvent
from audit.services import verify_chain
from core.choices import Action, Role
from registry.models import Artifact, ModelVersion, RegisteredModel
from tests.factories import ModelVersionFactory

pytestmark = pytest.mark.django_db

IP = "203.0.113.99"
UA = "denied-tests/1.0"
SHA = "cd" * 32


def api_client(user) -> APIClient:
    client = APIClient(REMOTE_ADDR=IP, HTTP_USER_AGENT=UA)
    client.force_authenticate(user=user)
    return client


def denied() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(event_type=EventType.ACCESS_DENIED).order_by("seq"))


def test_mrc_posting_a_version_to_someones_model_is_refused_and_audited(users, model):
    response = api_client(users[Role.MRC]).post(
        f"/api/v1/models/{model.pk}/versions/", {"version": "9.9.9"}, format="json"
    )
    assert response.status_code == 403
    assert "Model Owner" in response.json()["detail"]
    assert not ModelVersion.objects.exists()
    assert not AuditEvent.objects.filter(action=AuditAction.CREATE_VERSION).exclude(
        event_type=EventType.ACCESS_DENIED
    )
    [event] = denied()
    assert event.action == Action.ADD_VERSION == "CREATE_VERSION"
    assert event.user_id == "mrc"
    assert event.model_id == model.pk
    assert event.version_id is None
    assert event.details == {"reason": response.json()["detail"], "status": 403}
    assert (event.ip_address, event.user_agent) == (IP, UA)
    assert verify_chain().valid


def test_another_owner_cannot_touch_a_model_they_do_not_own(make_user, model):
    intruder = make_user(Role.MODEL_OWNER, username="ivan")
    version = ModelVersionFactory(model=model)
    client = api_client(intruder)
    # Not even visible: the model answers 404, nothing is written.
    assert client.patch(f"/api/v1/models/{model.pk}/", {"description": "x"}).status_code == 404
    assert client.patch(f"/api/v1/versions/{version.pk}/", {"description": "x"}).status_code == 404
    model.refresh_from_db()
    version.refresh_from_db()
    assert model.description == "A model for tests."
    assert version.description == "A version for tests."
    assert not AuditEvent.objects.filter(event_type=EventType.MODEL_REGISTRY).exists()


def test_an_auditor_registering_a_model_is_refused_and_audited(users):
    response = api_client(users[Role.AUDITOR]).post(
        "/api/v1/models/", {"name": "sneaky", "riskTier": "LOW"}, format="json"
    )
    assert response.status_code == 403
    assert "auditors never write" in response.json()["detail"]
    assert not RegisteredModel.objects.exists()
    [event] = denied()
    assert (event.action, event.user_id, event.model_id) == ("REGISTER_MODEL", "auditor", None)
    assert event.details["status"] == 403
    assert "auditors never write" in event.details["reason"]


def test_sre_adding_an_artifact_is_refused_and_audited_with_the_version(users, model):
    version = ModelVersionFactory(model=model)
    response = api_client(users[Role.SRE]).post(
        f"/api/v1/versions/{version.pk}/artifacts/",
        {"name": "a.onnx", "type": "model", "uri": "s3://b/a.onnx", "sha256": SHA},
        format="json",
    )
    assert response.status_code == 403
    assert not Artifact.objects.exists()
    [event] = denied()
    assert event.action == "ADD_ARTIFACT"
    assert (event.user_id, event.model_id, event.version_id) == ("sre", model.pk, version.pk)


@pytest.mark.parametrize("role", [Role.MODEL_OWNER, Role.SRE])
def test_reading_the_audit_api_without_an_oversight_role_is_403_and_audited(users, role):
    before = AuditEvent.objects.count()
    response = api_client(users[role]).get("/api/v1/audit-events/")
    assert response.status_code == 403
    assert "read the audit trail" in response.json()["detail"]
    assert "results" not in response.json()
    assert AuditEvent.objects.count() == before + 1
    [event] = denied()
    assert event.action == Action.VIEW_AUDIT
    assert event.user_id == users[role].username
    assert event.details["status"] == 403
    assert (event.ip_address, event.user_agent) == (IP, UA)


def test_owner_verifying_the_chain_is_refused_and_audited(owner):
    response = api_client(owner).get("/api/v1/audit-events/verify/")
    assert response.status_code == 403
    assert "valid" not in response.json()
    [event] = denied()
    assert (event.action, event.user_id) == (Action.VIEW_AUDIT, "olivia")
    assert not AuditEvent.objects.filter(action=AuditAction.VERIFY_AUDIT).exclude(
        event_type=EventType.ACCESS_DENIED
    )


def test_anonymous_audit_api_is_401_before_any_rule_runs(db):
    response = APIClient().get("/api/v1/audit-events/")
    assert response.status_code == 401
    assert "WWW-Authenticate" in response
    assert not AuditEvent.objects.exists()


def test_owner_opening_the_audit_page_is_refused_and_audited(owner):
    client = Client(REMOTE_ADDR=IP, HTTP_USER_AGENT=UA)
    client.force_login(owner)
    response = client.get("/audit/")
    assert response.status_code == 403
    assert b"read the audit trail" in response.content
    [event] = denied()
    assert (event.action, event.user_id) == (Action.VIEW_AUDIT, "olivia")
    assert event.session_id
    assert event.session_id != client.session.session_key


def test_owner_exporting_the_audit_trail_is_refused_and_audited(owner):
    client = Client()
    client.force_login(owner)
    response = client.get("/audit/export.csv")
    assert response.status_code == 403
    assert not getattr(response, "streaming", False)
    assert [e.user_id for e in denied()] == ["olivia"]
    assert not AuditEvent.objects.filter(action=AuditAction.EXPORT_AUDIT).exists()


def test_a_refusal_inside_a_failed_write_still_leaves_an_intact_chain(users, owner, model):
    api_client(users[Role.EXECUTIVE]).patch(
        f"/api/v1/models/{model.pk}/", {"description": "exec edit"}, format="json"
    )
    api_client(owner).patch(f"/api/v1/models/{model.pk}/", {"description": "ok"}, format="json")
    model.refresh_from_db()
    assert model.description == "ok"
    refused, allowed = AuditEvent.objects.order_by("seq")
    assert (refused.event_type, refused.user_id) == (EventType.ACCESS_DENIED, "executive")
    assert (allowed.event_type, allowed.user_id) == (EventType.MODEL_REGISTRY, "olivia")
    assert allowed.details["changes"]["description"] == {"from": "A model for tests.", "to": "ok"}
    verdict = verify_chain()
    assert (verdict.valid, verdict.count) == (True, 2)
