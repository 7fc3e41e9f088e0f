"""Continuous monitoring's violations are on the audit trail: every violation a sweep opens or
resolves is an audit event (POLICY_VIOLATION / VIOLATION_OPENED, VIOLATION_RESOLVED) by the
system, written in the sweep's own transaction, and the chain stays valid."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit.choices import AuditAction, EventType
from audit.models import AuditEvent
from audit.services import verify_chain
from core.choices import Role
from policies import monitoring
from policies.models import Policy, Violation
from registry.models import ModelVersion
from tests.factories import ArtifactFactory, ModelVersionFactory, RegisteredModelFactory

pytestmark = pytest.mark.django_db

SCAN = "artifact.securityScan.status == 'PASSED'"
DOCS = "size(version.documentation) > 0"


def make_policy(policy_id: str, rules: list[dict], **fields) -> Policy:
    values = {
        "name": policy_id,
        "severity": "HIGH",
        "risk_tiers": ["LOW", "MEDIUM", "HIGH"],
        "environments": ["staging", "production"],
        "rules": rules,
        **fields,
    }
    return Policy.objects.create(policy_id=policy_id, **values)


def deployed(owner, *, scan: str, state: str = "STAGING", documentation=None):
    model = RegisteredModelFactory(owner=owner, risk_tier="MEDIUM")
    version = ModelVersionFactory(
        model=model, state=state, review_cycle=1, documentation=documentation or {}
    )
    ArtifactFactory(version=version, scan_status=scan)
    return version


def violation_events(action: str) -> list[AuditEvent]:
    return list(
        AuditEvent.objects.filter(event_type=EventType.POLICY_VIOLATION, action=action).order_by(
            "seq"
        )
    )


def test_opened_and_resolved_violations_are_audit_events_by_the_system(users):
    owner = users[Role.MODEL_OWNER]
    failing = deployed(owner, scan="FAILED", state="PRODUCTION")
    deployed(owner, scan="PASSED", documentation={"intendedUse": "x"})
    policy = make_policy(
        "scan-and-docs",
        [
            {"condition": SCAN, "message": "Scan must pass"},
            {"condition": DOCS, "message": "Documentation needed"},
        ],
    )
    result = monitoring.sweep(trigger="SCHEDULE")
    assert len(result.opened) == 2  # both rules fail on `failing`
    opened = violation_events(AuditAction.VIOLATION_OPENED)
    by_rule = {event.details["rule"]: event for event in opened}
    assert set(by_rule) == {0, 1}
    for violation in Violation.objects.filter(version=failing):
        event = by_rule[violation.rule_index]
        assert event.user_id == "system"
        assert (event.model_id, event.version_id) == (failing.model_id, failing.pk)
        assert event.details == {
            "violation": violation.pk,
            "policyId": "scan-and-docs",
            "rule": violation.rule_index,
            "environment": "production",
            "severity": "HIGH",
            "message": violation.message,
            "monitoringRun": result.run.pk,
            "trigger": "SCHEDULE",
        }

    # Seen again: nothing opened or resolved, nothing recorded.
    before = AuditEvent.objects.count()
    monitoring.sweep(trigger="SCHEDULE")
    assert AuditEvent.objects.count() == before

    # The policy loses its documentation rule: that violation is resolved (the scan one stays).
    policy.rules = [{"condition": SCAN, "message": "Scan must pass"}]
    policy.save()
    monitoring.sweep(trigger="POLICY_CHANGE")
    (resolved,) = violation_events(AuditAction.VIOLATION_RESOLVED)
    violation = Violation.objects.get(version=failing, rule_index=1)
    assert violation.status == "RESOLVED"
    assert resolved.user_id == "system"
    assert (resolved.model_id, resolved.version_id) == (failing.model_id, failing.pk)
    assert resolved.details["violation"] == violation.pk
    assert resolved.details["policyId"] == "scan-and-docs"
    assert resolved.details["rule"] == 1
    assert resolved.details["resolution"] == violation.resolution

    # The version leaves monitoring: the last one is resolved, out of scope.
    ModelVersion.objects.filter(pk=failing.pk).update(state="RETIRED")  # protected FSM field
    monitoring.sweep(trigger="SCHEDULE")
    resolved = violation_events(AuditAction.VIOLATION_RESOLVED)
    assert [e.details["rule"] for e in resolved] == [1, 0]
    assert "no longer monitored" in resolved[-1].details["resolution"]
    assert resolved[-1].version_id == failing.pk
    assert verify_chain().valid


def test_the_events_roll_back_with_the_sweep(users, monkeypatch):
    owner = users[Role.MODEL_OWNER]
    deployed(owner, scan="FAILED")
    make_policy("scan", [{"condition": SCAN, "message": "Scan must pass"}])

    def fail(*args, **kwargs):
        raise RuntimeError("alerting broke")

    monkeypatch.setattr(monitoring, "_alert_opened", fail)
    with pytest.raises(RuntimeError):
        monitoring.sweep()
    assert not Violation.objects.exists()
    assert not violation_events(AuditAction.VIOLATION_OPENED)
    assert verify_chain().valid


def test_many_violations_are_appended_in_a_constant_number_of_queries(users):
    owner = users[Role.MODEL_OWNER]
    make_policy("scan", [{"condition": SCAN, "message": "Scan must pass"}])

    def audit_queries(n: int) -> int:
        for _ in range(n):
            deployed(owner, scan="FAILED")
        with CaptureQueriesContext(connection) as ctx:
            result = monitoring.sweep(now=timezone.now())
        assert len(result.opened) == n
        return sum("audit_auditevent" in q["sql"] for q in ctx.captured_queries)

    few = audit_queries(2)
    many = audit_queries(40)  # under SQLite's bulk batch (999 parameters / 13 columns)
    assert few == many == 1
    assert len(violation_events(AuditAction.VIOLATION_OPENED)) == 42
    assert verify_chain().valid
