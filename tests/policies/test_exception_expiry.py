"""An exception's life in production: excepted while active (enhanced monitoring keeps every
check), a reminder before it ends, and when it expires the failure is back: a violation opens,
the owner and MRC are alerted, and the dashboard shows it."""

from __future__ import annotations

import datetime
from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from core.choices import Role
from governance.models import Notification
from policies import monitoring, waivers
from policies.compliance import compliance_summary
from policies.models import Policy, PolicyEvaluation, PolicyException, Violation
from tests.factories import ArtifactFactory, ModelVersionFactory, RegisteredModelFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def policy(db):
    return Policy.objects.create(
        policy_id="security-scan-required",
        name="Security Vulnerability Scanning",
        severity="HIGH",
        risk_tiers=["LOW", "MEDIUM", "HIGH"],
        environments=["staging", "production"],
        rules=[
            {
                "condition": "artifact.securityScan.status == 'PASSED'",
                "message": "Security scan must pass before deployment",
            }
        ],
        allow_exceptions=True,
        max_duration="7d",
    )


@pytest.fixture
def version(users):
    model = RegisteredModelFactory(owner=users[Role.MODEL_OWNER], risk_tier="LOW")
    version = ModelVersionFactory(model=model, state="STAGING", review_cycle=1)
    ArtifactFactory(version=version, scan_status="FAILED")
    return version


def active_exception(users, policy, version, days=3) -> PolicyException:
    exception = waivers.request_exception(
        actor=users[Role.MODEL_OWNER],
        policy=policy,
        version=version,
        justification="j",
        risk_assessment="r",
        mitigation="m",
        duration_days=days,
        monitoring_plan="p",
        reason="TECHNICAL_LIMITATION",
        remediation_plan="fix it",
        remediation_due_date=datetime.date(2099, 1, 1),
    )
    waivers.approve_exception(exception, actor=users[Role.MRC])
    exception.refresh_from_db()
    assert exception.status == "ACTIVE"
    return exception


def test_expiry_brings_the_failure_back_with_alerts_and_on_the_dashboard(
    users, policy, version, client
):
    owner, mrc = users[Role.MODEL_OWNER], users[Role.MRC]
    monitoring.sweep()
    violation = Violation.objects.get()
    exception = active_exception(users, policy, version)

    # While active: the sweep resolves the violation as excepted; checks are kept every time.
    monitoring.sweep()
    violation.refresh_from_db()
    assert violation.status == "RESOLVED"
    assert violation.resolution == f"covered by exception #{exception.pk}"
    monitoring.enhanced_sweep()
    monitoring.enhanced_sweep()
    checks = PolicyEvaluation.objects.filter(version=version, trigger="MONITOR", excepted=True)
    assert checks.count() == 3
    assert all(c.rule_results[0]["exception"] == exception.pk for c in checks)
    assert compliance_summary()["activeViolations"] == 0
    assert compliance_summary()["complianceScore"] == 100.0

    # Nothing happens before it is due.
    assert waivers.expire_exceptions() == []
    # The reminder, once, within 48 hours of the end.
    soon = exception.expires_at - timedelta(hours=47)
    assert waivers.remind_expiring_exceptions(now=soon) == [exception.pk]
    assert waivers.remind_expiring_exceptions(now=soon) == []
    assert Notification.objects.filter(user=mrc, kind="EXCEPTION_EXPIRING").exists()

    later = exception.expires_at + timedelta(minutes=1)
    assert waivers.expire_exceptions(now=later) == [exception.pk]
    exception.refresh_from_db()
    assert exception.status == "EXPIRED"
    assert AuditEvent.objects.filter(
        event_type="POLICY_EXCEPTION", action="EXPIRE", user_id="system"
    ).exists()
    reopened = Violation.objects.open().get()
    assert reopened.pk != violation.pk
    assert reopened.first_seen == later
    for person in (owner, mrc):
        assert Notification.objects.filter(user=person, kind="EXCEPTION_EXPIRED").exists()
        assert Notification.objects.filter(user=person, kind="VIOLATION").exists()
    summary = compliance_summary()
    assert summary["activeViolations"] == 1
    assert summary["complianceScore"] == 0.0

    client.force_login(mrc)
    page = client.get("/compliance/").content.decode()
    assert "Security scan must pass before deployment" in page
    assert version.model.name in page
    detail = client.get(f"/exceptions/{exception.pk}/").content.decode()
    assert detail.count("EXCEPTED") >= 3  # the checks made while it was active
    assert "EXPIRED" in detail


def test_expire_is_idempotent_and_leaves_other_statuses_alone(users, policy, version):
    exception = active_exception(users, policy, version, days=1)
    now = timezone.now() + timedelta(days=2)
    assert waivers.expire_exceptions(now=now) == [exception.pk]
    assert waivers.expire_exceptions(now=now) == []
    assert waivers.remind_expiring_exceptions(now=now) == []


def test_weekly_review_digest_reaches_mrc(users, policy, version):
    active_exception(users, policy, version)
    assert waivers.review_digest() == 1
    assert Notification.objects.filter(user=users[Role.MRC], kind="EXCEPTION_REVIEW").exists()
