"""Which happenings raise which webhook events, with what payload, and the webhook admin (MRC and
superusers manage webhooks; the change is audited without the secret)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

# Registered by policies/admin/__init__.py (`from policies.admin import monitoring`); imported
# here too so this module's admin tests do not depend on that line.
import policies.admin.monitoring  # noqa: F401
from audit.models import AuditEvent
from core.choices import Role
from governance.choices import NotificationKind, WebhookEvent
from governance.models import Webhook, WebhookDelivery
from governance.notifications import notify
from policies import monitoring, waivers
from policies.models import Policy
from tests.factories import ArtifactFactory, ModelVersionFactory, RegisteredModelFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def listener(db):
    return Webhook.objects.create(
        name="all", url="http://127.0.0.1:9/hook", secret="x", events=list(WebhookEvent.values)
    )


def payloads(event):
    return [
        json.loads(body)
        for body in WebhookDelivery.objects.filter(event=event)
        .order_by("id")
        .values_list("body", flat=True)
    ]


@pytest.fixture
def policy(db):
    return Policy.objects.create(
        policy_id="scan",
        name="scan",
        severity="HIGH",
        risk_tiers=["LOW", "MEDIUM", "HIGH"],
        environments=["staging", "production"],
        rules=[{"condition": "artifact.securityScan.status == 'PASSED'", "message": "scan"}],
        allow_exceptions=True,
        max_duration="7d",
    )


def test_approval_requests_raise_approval_requested(api, users, listener, policy):
    owner = users[Role.MODEL_OWNER]
    model = RegisteredModelFactory(owner=owner, risk_tier="MEDIUM")
    version = ModelVersionFactory(model=model)
    ArtifactFactory(version=version, scan_status="PASSED")
    api(owner).post(f"/api/v1/versions/{version.pk}/submit/", {}, format="json")
    [review] = payloads(WebhookEvent.APPROVAL_REQUESTED)
    assert review["data"]["kind"] == "REVIEW_REQUESTED"
    assert review["data"]["version"]["id"] == version.pk
    assert review["data"]["version"]["model"]["name"] == model.name
    assert review["data"]["url"].endswith(f"/versions/{version.pk}/")

    waivers.request_exception(
        actor=owner,
        policy=policy,
        version=version,
        justification="j",
        risk_assessment="r",
        mitigation="m",
        duration_days=2,
        monitoring_plan="p",
    )
    asked = payloads(WebhookEvent.APPROVAL_REQUESTED)[1:]
    assert {p["data"]["kind"] for p in asked} == {"EXCEPTION_REQUESTED"}
    assert len(asked) == 2  # MRC and Security Architect, one request each


def test_violations_expiry_and_failures(users, listener, policy):
    owner = users[Role.MODEL_OWNER]
    model = RegisteredModelFactory(owner=owner, risk_tier="LOW")
    version = ModelVersionFactory(model=model, state="PRODUCTION", review_cycle=1)
    ArtifactFactory(version=version, scan_status="FAILED")
    monitoring.sweep()
    [opened] = payloads(WebhookEvent.VIOLATION_OPENED)
    data = opened["data"]
    assert (data["policyId"], data["severity"], data["rule"], data["environment"]) == (
        "scan",
        "HIGH",
        0,
        "production",
    )
    assert data["version"]["id"] == version.pk
    assert data["version"]["model"]["owner"] == owner.username

    exception = waivers.request_exception(
        actor=owner,
        policy=policy,
        version=version,
        justification="j",
        risk_assessment="r",
        mitigation="m",
        duration_days=2,
        monitoring_plan="p",
    )
    waivers.approve_exception(exception, actor=users[Role.MRC])
    exception.refresh_from_db()
    monitoring.sweep()
    [resolved] = payloads(WebhookEvent.VIOLATION_RESOLVED)
    assert resolved["data"]["resolution"] == f"covered by exception #{exception.pk}"
    waivers.remind_expiring_exceptions(now=exception.expires_at - timedelta(hours=1))
    [expiring] = payloads(WebhookEvent.EXCEPTION_EXPIRING)
    assert expiring["data"]["exception"] == exception.pk
    waivers.expire_exceptions(now=exception.expires_at)
    [expired] = payloads(WebhookEvent.EXCEPTION_EXPIRED)
    assert expired["data"]["policyId"] == "scan"
    assert len(payloads(WebhookEvent.VIOLATION_OPENED)) == 2  # the failure is back

    notify(
        [owner],
        kind=NotificationKind.EVALUATION_FAILED,
        message="fraud-detector 1.0.0: bias suite FAILED its thresholds",
        version=version,
    )
    [failed] = payloads(WebhookEvent.EVALUATION_FAILED)
    assert failed["data"]["message"].endswith("FAILED its thresholds")


def test_notifications_that_are_not_alerts_raise_nothing(users, listener):
    notify([users[Role.MRC]], kind=NotificationKind.DEPLOYED, message="deployed")
    assert not WebhookDelivery.objects.exists()


def test_mrc_manages_webhooks_in_the_admin_audited_without_the_secret(client, users, make_user):
    client.force_login(users[Role.MRC])
    form = {
        "name": "SIEM",
        "url": "https://siem.example.com/hooks",
        "secret": "top-secret-value",
        "events": ["violation.opened", "security.issue"],
        "active": "on",
    }
    response = client.post("/admin/governance/webhook/add/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    webhook = Webhook.objects.get()
    assert webhook.events == ["violation.opened", "security.issue"]
    assert webhook.created_by == users[Role.MRC]
    event = AuditEvent.objects.get(event_type="USER_ADMIN", action="CREATE_WEBHOOK")
    assert "top-secret-value" not in json.dumps(event.details)
    response = client.post(
        f"/admin/governance/webhook/{webhook.pk}/change/",
        {**form, "url": "ftp://ftp.example.com/y"},
    )
    assert response.status_code == 200  # the form again, with the error
    assert "must be http:// or https://" in response.content.decode()
    client.post(f"/admin/governance/webhook/{webhook.pk}/change/", {**form, "active": ""})
    webhook.refresh_from_db()
    assert webhook.active is False
    assert AuditEvent.objects.filter(action="UPDATE_WEBHOOK").count() == 1

    client.force_login(users[Role.AUDITOR])
    assert client.get("/admin/governance/webhook/").status_code == 403
    superuser = make_user(username="root", is_superuser=True, is_staff=True)
    client.force_login(superuser)
    assert client.get("/admin/governance/webhook/").status_code == 200
    assert client.get("/admin/governance/webhookdelivery/").status_code == 200
