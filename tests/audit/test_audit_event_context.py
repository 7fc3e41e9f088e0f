"""Every create/change writes one event in the guide's structure, with the request's context.

The context (IP address, user agent, session) is bound by `AuditContextMiddleware`, so these
tests go through Django's test clients with REMOTE_ADDR and HTTP_USER_AGENT set, exactly as a
browser or an API client would arrive.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

import pytest
from django.test import Client
from rest_framework.test import APIClient

from audit.choices import AuditAction, EventType
from audit.context import session_fingerprint
from audit.models import AuditEvent
from audit.services import record_event
from core.choices import Role
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

IP = "203.0.113.7"
UA = "registry-tests/1.0 (audit context)"
PAGE_IP = "198.51.100.23"
PAGE_UA = "Mozilla/5.0 (X11; Linux x86_64) registry-page-test"
SHA = "ab" * 32

# The guide's audit log structure, as the API names it.
GUIDE_KEYS = {
    "timestamp",
    "eventType",
    "userId",
    "modelId",
    "versionId",
    "action",
    "details",
    "ipAddress",
    "userAgent",
    "sessionId",
}


def api_client(user, **meta) -> APIClient:
    client = APIClient(REMOTE_ADDR=IP, HTTP_USER_AGENT=UA, **meta)
    client.force_authenticate(user=user)
    return client


def created(response) -> dict:
    assert response.status_code in (200, 201), response.content
    return response.json()


def test_every_registry_write_through_the_api_records_one_complete_event(owner, users):
    client = api_client(owner)
    model = created(
        client.post(
            "/api/v1/models/",
            {"name": "churn", "riskTier": "MEDIUM", "tags": {"team": "crm"}},
            format="json",
        )
    )
    created(client.patch(f"/api/v1/models/{model['id']}/", {"description": "v2"}, format="json"))
    version = created(
        client.post(
            f"/api/v1/models/{model['id']}/versions/",
            {"version": "1.0.0", "documentation": "# card"},
            format="json",
        )
    )
    created(
        client.patch(
            f"/api/v1/versions/{version['id']}/", {"description": "first cut"}, format="json"
        )
    )
    artifact = created(
        client.post(
            f"/api/v1/versions/{version['id']}/artifacts/",
            {"name": "churn.onnx", "type": "model", "uri": "s3://m/churn.onnx", "sha256": SHA},
            format="json",
        )
    )
    created(
        client.patch(
            f"/api/v1/artifacts/{artifact['id']}/", {"name": "churn-v2.onnx"}, format="json"
        )
    )

    events = list(AuditEvent.objects.order_by("seq"))
    assert [(e.event_type, e.action) for e in events] == [
        (EventType.MODEL_REGISTRY, AuditAction.REGISTER_MODEL),
        (EventType.MODEL_REGISTRY, AuditAction.UPDATE_MODEL),
        (EventType.MODEL_REGISTRY, AuditAction.CREATE_VERSION),
        (EventType.MODEL_REGISTRY, AuditAction.UPDATE_VERSION),
        (EventType.MODEL_REGISTRY, AuditAction.ADD_ARTIFACT),
        (EventType.MODEL_REGISTRY, AuditAction.UPDATE_ARTIFACT),
    ]
    assert [e.version_id for e in events] == [None, None] + [version["id"]] * 4
    for event in events:
        assert event.user_id == "olivia"
        assert event.model_id == model["id"]
        assert event.ip_address == IP
        assert event.user_agent == UA
        # Token / forced authentication carries no session.
        assert event.session_id == ""
        assert event.timestamp is not None
    assert events[0].details["name"] == "churn"
    assert events[0].details["riskTier"] == "MEDIUM"
    assert events[1].details == {"changes": {"description": {"from": "", "to": "v2"}}}
    assert events[2].details == {"version": "1.0.0", "state": "DRAFT"}
    assert events[3].details["changes"]["description"]["to"] == "first cut"
    assert events[4].details["artifact"] == artifact["id"]
    assert events[4].details["sha256"] == SHA
    assert events[5].details["changes"]["name"] == {"from": "churn.onnx", "to": "churn-v2.onnx"}

    # The same events, read back through the API, carry the guide's structure.
    body = api_client(users[Role.AUDITOR]).get(f"/api/v1/audit-events/?modelId={model['id']}")
    results = body.json()["results"]
    assert [r["id"] for r in results] == [e.id for e in events]
    for result, event in zip(results, events, strict=True):
        assert set(result) >= GUIDE_KEYS
        assert result["eventType"] == "MODEL_REGISTRY"
        assert result["action"] == event.action
        assert result["userId"] == "olivia"
        assert result["modelId"] == model["id"]
        assert result["versionId"] == event.version_id
        assert result["details"] == event.details
        assert result["ipAddress"] == IP
        assert result["userAgent"] == UA
        assert result["sessionId"] == ""
        assert datetime.fromisoformat(result["timestamp"].replace("Z", "+00:00")) == (
            event.timestamp
        )


def test_a_page_request_in_a_logged_in_session_records_a_session_fingerprint(owner, model):
    client = Client(REMOTE_ADDR=PAGE_IP, HTTP_USER_AGENT=PAGE_UA)
    response = client.post("/login/", {"username": "olivia", "password": PASSWORD})
    assert response.status_code == 302
    response = client.post(
        f"/models/{model.pk}/versions/new/",
        {"version": "2.0.0", "description": "page", "documentation": "# card", "tags": "a=b"},
    )
    assert response.status_code == 302, response.content

    session_key = client.session.session_key
    assert session_key
    login = AuditEvent.objects.get(action=AuditAction.LOGIN)
    event = AuditEvent.objects.get(action=AuditAction.CREATE_VERSION)
    assert (event.user_id, event.model_id) == ("olivia", model.pk)
    assert event.version_id == model.versions.get(version="2.0.0").pk
    assert event.details == {"version": "2.0.0", "state": "DRAFT"}
    assert event.ip_address == PAGE_IP
    assert event.user_agent == PAGE_UA
    # A non-empty, stable, non-reversible id of the session -- never the raw session key.
    assert event.session_id
    assert event.session_id != session_key
    assert session_key not in event.session_id
    assert event.session_id == session_fingerprint(session_key)
    assert event.session_id == hashlib.sha256(session_key.encode()).hexdigest()[:32]
    # The login event names the same session (the key after login's rotation).
    assert login.session_id == event.session_id
    assert (login.ip_address, login.user_agent) == (PAGE_IP, PAGE_UA)


def test_two_sessions_of_the_same_user_get_different_session_ids(owner, model):
    ids = []
    for number in range(2):
        client = Client(REMOTE_ADDR=PAGE_IP, HTTP_USER_AGENT=PAGE_UA)
        # Through the login page: Client.login() calls authenticate() without a request,
        # which django-axes refuses.
        login = client.post("/login/", {"username": "olivia", "password": PASSWORD})
        assert login.status_code == 302
        response = client.post(
            f"/models/{model.pk}/versions/new/",
            {"version": f"3.{number}.0", "documentation": "", "tags": ""},
        )
        assert response.status_code == 302
        ids.append(AuditEvent.objects.get(details__version=f"3.{number}.0").session_id)
    assert all(ids)
    assert ids[0] != ids[1]


def test_forwarded_for_is_ignored_unless_a_proxy_is_trusted(owner, settings):
    spoofed = {"HTTP_X_FORWARDED_FOR": "192.0.2.99"}
    created(api_client(owner, **spoofed).post("/api/v1/models/", {"name": "a", "riskTier": "HIGH"}))
    assert AuditEvent.objects.get(details__name="a").ip_address == IP

    settings.AUDIT_TRUSTED_PROXY_COUNT = 1
    chain = {"HTTP_X_FORWARDED_FOR": "192.0.2.99, 192.0.2.10"}
    created(api_client(owner, **chain).post("/api/v1/models/", {"name": "b", "riskTier": "MEDIUM"}))
    # Behind one trusted proxy the client is the last hop the proxy appended.
    assert AuditEvent.objects.get(details__name="b").ip_address == "192.0.2.10"


def test_an_overlong_user_agent_is_cut_to_the_column_size(owner):
    client = APIClient(REMOTE_ADDR=IP, HTTP_USER_AGENT="x" * 2000)
    client.force_authenticate(user=owner)
    created(client.post("/api/v1/models/", {"name": "ua", "riskTier": "MEDIUM"}, format="json"))
    assert AuditEvent.objects.get(action=AuditAction.REGISTER_MODEL).user_agent == "x" * 512


def test_an_event_outside_a_request_is_the_systems_and_has_no_request_context():
    event = record_event(EventType.USER_ADMIN, AuditAction.CREATE_USER, details={"k": "v"})
    event.refresh_from_db()
    assert event.user_id == "system"
    assert event.ip_address is None
    assert event.user_agent == ""
    assert event.session_id == ""
    assert event.details == {"k": "v"}
