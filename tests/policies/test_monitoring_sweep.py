"""Continuous monitoring: the sweep opens violations for failures a new policy or a failed scan
reveals, follows them, resolves them when fixed, respects scope and enforcement, keeps only
changed results (every result under an exception), and runs in a constant number of queries."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_q.conf import Conf

from core.choices import Role
from governance.models import Notification
from policies import monitoring
from policies.models import MonitoringRun, Policy, PolicyEvaluation, Violation
from registry import artifacts as registry_artifacts
from tests.factories import ArtifactFactory, ModelVersionFactory, RegisteredModelFactory

pytestmark = pytest.mark.django_db

SCAN = "artifact.securityScan.status == 'PASSED'"
DOCS = "size(version.documentation) > 0"


def make_policy(policy_id="scan", rules=None, **fields) -> Policy:
    values = {
        "name": policy_id,
        "severity": "HIGH",
        "risk_tiers": ["LOW", "MEDIUM", "HIGH"],
        "environments": ["staging", "production"],
        "rules": rules or [{"condition": SCAN, "message": "Security scan must pass"}],
        "allow_exceptions": True,
        "max_duration": "7d",
        **fields,
    }
    return Policy.objects.create(policy_id=policy_id, **values)


def deployed(owner, scan="PASSED", state="STAGING", tier="MEDIUM", **version_fields):
    model = RegisteredModelFactory(owner=owner, risk_tier=tier)
    version = ModelVersionFactory(model=model, state=state, review_cycle=1, **version_fields)
    ArtifactFactory(version=version, scan_status=scan)
    return version


@pytest.fixture
def sync_worker(settings, monkeypatch):
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": True}
    monkeypatch.setattr(Conf, "SYNC", True)


def test_a_new_policy_opens_a_violation_and_a_fix_resolves_it(
    users, sync_worker, django_capture_on_commit_callbacks
):
    owner = users[Role.MODEL_OWNER]
    failing = deployed(owner, scan="FAILED")
    passing = deployed(owner, scan="PASSED", state="PRODUCTION")
    with django_capture_on_commit_callbacks(execute=True):
        policy = make_policy()
        monitoring.policy_changed(policy)  # the hook policies.services calls
    run = MonitoringRun.objects.get()
    assert (run.trigger, run.versions, run.pairs, run.violations_opened) == (
        "POLICY_CHANGE",
        2,
        2,
        1,
    )
    violation = Violation.objects.get()
    assert (violation.policy, violation.version, violation.rule_index) == (policy, failing, 0)
    assert (violation.severity, violation.status, violation.environment) == (
        "HIGH",
        "OPEN",
        "staging",
    )
    assert violation.first_seen == violation.last_seen
    assert violation.message == "Security scan must pass"
    stored = PolicyEvaluation.objects.filter(trigger="MONITOR")
    assert {(e.version_id, e.environment, e.passed) for e in stored} == {
        (failing.pk, "staging", False),
        (passing.pk, "production", True),
    }
    # the owner and the MRC are alerted
    assert Notification.objects.filter(user=owner, kind="VIOLATION", version=failing).exists()
    assert Notification.objects.filter(user=users[Role.MRC], kind="VIOLATION").exists()

    # seen again: last_seen moves, nothing new opened or stored
    again = monitoring.sweep(trigger="SCHEDULE")
    assert (len(again.opened), again.resolved, again.stored) == (0, 0, 0)
    violation.refresh_from_db()
    assert violation.last_seen > violation.first_seen
    assert Violation.objects.count() == 1

    # fixed: a new scan result of a deployed artifact resolves it at once
    artifact = failing.artifacts.get()
    with django_capture_on_commit_callbacks(execute=True):
        registry_artifacts.update_artifact(
            artifact,
            actor=users[Role.SCANNER],
            security_scan={"status": "PASSED", "scanner": "trivy"},
        )
        monitoring.scan_result_recorded(
            artifact, {"scan_status": {"from": "FAILED", "to": "PASSED"}}
        )  # what registry.artifacts.update_artifact sets off
    violation.refresh_from_db()
    assert (violation.status, violation.resolution) == ("RESOLVED", "the rule passes again")
    assert violation.resolved_at is not None
    latest = PolicyEvaluation.objects.filter(trigger="MONITOR", version=failing).first()
    assert latest.passed is True


def test_a_deployed_artifact_scan_turning_failed_is_a_security_issue_and_a_violation(
    users, sync_worker, django_capture_on_commit_callbacks
):
    owner = users[Role.MODEL_OWNER]
    make_policy()
    version = deployed(owner, scan="PASSED", state="PRODUCTION")
    monitoring.sweep()
    assert not Violation.objects.exists()
    artifact = version.artifacts.get()
    with django_capture_on_commit_callbacks(execute=True):
        registry_artifacts.update_artifact(
            artifact,
            actor=users[Role.SECURITY_ARCHITECT],
            security_scan={"status": "FAILED", "findings": [{"id": "CVE-2026-1"}]},
        )
        monitoring.scan_result_recorded(
            artifact, {"scan_status": {"from": "PASSED", "to": "FAILED"}}
        )
    violation = Violation.objects.get()
    assert (violation.version, violation.environment, violation.status) == (
        version,
        "production",
        "OPEN",
    )
    for role in (Role.MODEL_OWNER, Role.MRC, Role.SECURITY_ARCHITECT):
        assert Notification.objects.filter(user=users[role], kind="SECURITY_ISSUE").exists(), role
    assert MonitoringRun.objects.filter(trigger="SCAN_RESULT").exists()


def test_a_scan_result_on_a_version_not_deployed_is_left_to_the_gate(users):
    owner = users[Role.MODEL_OWNER]
    make_policy()
    version = deployed(owner, scan="PASSED", state="DRAFT")
    monitoring.scan_result_recorded(
        version.artifacts.get(), {"scan_status": {"from": "PASSED", "to": "FAILED"}}
    )
    assert not Notification.objects.filter(kind="SECURITY_ISSUE").exists()


def test_scope_environments_and_enforcement(users):
    owner = users[Role.MODEL_OWNER]
    staging_only = make_policy("staging-only", environments=["staging"])
    make_policy("high-only", risk_tiers=["HIGH"])
    make_policy("warned", enforcement="WARN", severity="LOW")
    trial = make_policy("trial", enforcement="DRY_RUN")
    make_policy("draft", status="DRAFT")
    in_staging = deployed(owner, scan="FAILED", state="APPROVED_STAGING")
    in_production = deployed(owner, scan="FAILED", state="PRODUCTION")
    deployed(owner, scan="FAILED", state="DRAFT")
    deployed(owner, scan="FAILED", state="MRC_REVIEW")
    deployed(owner, scan="FAILED", state="RETIRED")
    result = monitoring.sweep()
    assert result.run.versions == 2
    opened = {(v.policy.policy_id, v.version_id) for v in Violation.objects.all()}
    assert opened == {
        ("staging-only", in_staging.pk),
        ("warned", in_staging.pk),
        ("warned", in_production.pk),
    }
    assert Violation.objects.get(policy__policy_id="warned", version=in_staging).severity == "LOW"
    # DRY_RUN failures are recorded, never violations
    assert (
        PolicyEvaluation.objects.filter(policy=trial, trigger="MONITOR", passed=False).count() == 2
    )
    assert not PolicyEvaluation.objects.filter(policy=staging_only, version=in_production).exists()


def test_violations_leave_with_their_version_or_policy(users):
    owner = users[Role.MODEL_OWNER]
    policy = make_policy()
    other = make_policy("docs", rules=[{"condition": DOCS, "message": "Documentation needed"}])
    retiring = deployed(owner, scan="FAILED", documentation="")
    staying = deployed(owner, scan="FAILED", documentation="")
    monitoring.sweep()
    assert Violation.objects.open().count() == 4
    retiring.retire()
    retiring.save()
    monitoring.sweep()
    gone = Violation.objects.filter(version=retiring)
    assert set(gone.values_list("status", flat=True)) == {"RESOLVED"}
    assert "no longer monitored" in gone.first().resolution
    policy.status = "RETIRED"
    policy.save()
    monitoring.sweep(policy=policy, trigger="POLICY_CHANGE")
    assert Violation.objects.get(version=staying, policy=policy).status == "RESOLVED"
    assert Violation.objects.get(version=staying, policy=other).status == "OPEN"
    other.enforcement = "DRY_RUN"
    other.save()
    monitoring.sweep(policy=other)
    assert "DRY_RUN" in Violation.objects.get(version=staying, policy=other).resolution


def test_rules_are_followed_one_by_one(users):
    owner = users[Role.MODEL_OWNER]
    make_policy(
        rules=[
            {"condition": SCAN, "message": "scan"},
            {"condition": DOCS, "message": "docs"},
        ]
    )
    version = deployed(owner, scan="FAILED", documentation="")
    monitoring.sweep()
    assert sorted(Violation.objects.values_list("rule_index", flat=True)) == [0, 1]
    version.documentation = "# card"
    version.save()
    monitoring.sweep()
    assert dict(Violation.objects.values_list("rule_index", "status")) == {
        0: "OPEN",
        1: "RESOLVED",
    }


def test_only_changed_results_are_stored(users):
    owner = users[Role.MODEL_OWNER]
    policy = make_policy()
    version = deployed(owner, scan="PASSED")
    assert monitoring.sweep().stored == 1
    assert monitoring.sweep().stored == 0
    policy.rules = [{"condition": SCAN, "message": "reworded"}, {"condition": DOCS, "message": "d"}]
    policy.save()  # a new revision of the policy: judged and stored again
    assert monitoring.sweep().stored == 1
    assert monitoring.sweep(store_all=True).stored == 1
    assert PolicyEvaluation.objects.filter(version=version, trigger="MONITOR").count() == 3


def test_a_sweep_runs_a_constant_number_of_queries(users):
    owner = users[Role.MODEL_OWNER]
    make_policy()
    make_policy("docs", rules=[{"condition": DOCS, "message": "Documentation needed"}])
    make_policy("high", risk_tiers=["HIGH"], environments=["production"])

    def grow(n):
        for i in range(n):
            deployed(
                owner,
                scan="FAILED" if i % 2 else "PASSED",
                state=("STAGING", "PRODUCTION", "APPROVED_STAGING")[i % 3],
                tier=("LOW", "MEDIUM", "HIGH")[i % 3],
            )

    def measure():
        with CaptureQueriesContext(connection) as ctx:
            result = monitoring.sweep(now=timezone.now())
        return len(ctx.captured_queries), result

    grow(3)
    first_few, _ = measure()
    steady_few, _ = measure()
    grow(15)
    first_many, result = measure()
    steady_many, _ = measure()
    assert result.run.versions == 18
    assert len(result.opened) > 0
    # The first sweep of the few had no open violation to move on (one UPDATE fewer).
    assert first_many <= first_few + 1
    assert steady_many == steady_few
    assert first_many <= 30
