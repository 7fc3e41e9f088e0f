"""The policy context `monitoring` and the default pack's monitoring requirement: a computed
window judges the version's policies at once (continuous monitoring), failures open violations
and alerts; a version that never reported has no `monitoring`."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from evaluations.models import MonitoringBatch
from evaluations.monitoring.selectors import monitoring_contexts_for
from governance.models import Notification
from policies import monitoring as continuous
from policies.condition_context import context_problems
from policies.context import build_context
from policies.gate import dry_run_gate
from policies.models import Violation
from tests.evaluations.test_monitoring_helpers import (
    batch_frame,
    deployed_version,
    post_batch,
    run_sync,
)
from tests.factories import RegisteredModelFactory

pytestmark = pytest.mark.django_db

PACK = "policies/packs/default.yaml"
POLICY = "production-monitoring"


@pytest.fixture
def sync(settings, monkeypatch, django_capture_on_commit_callbacks):
    run_sync(settings, monkeypatch)
    return django_capture_on_commit_callbacks


@pytest.fixture
def pack():
    call_command("load_policies", PACK, verbosity=0)


def open_rules(version) -> dict[int, str]:
    return dict(
        Violation.objects.open()
        .filter(version=version, policy__policy_id=POLICY)
        .values_list("rule_index", "message")
    )


def test_a_drifted_window_opens_a_violation_and_alerts_the_owner(api, owner, model, pack, sync):
    version = deployed_version(model, tier="HIGH")
    with sync(execute=True):
        response = post_batch(api(owner), version, batch_frame(2000, shift=1.0))
    assert response.status_code == 202
    rules = open_rules(version)
    assert set(rules) == {1}  # reported today, but the scores drifted
    assert "score PSI under 0.2" in rules[1]
    assert Notification.objects.filter(user=owner, kind="VIOLATION").exists()


def test_a_window_close_to_the_reference_passes_and_resolves(api, owner, model, pack, sync):
    version = deployed_version(model, tier="MEDIUM")
    continuous.sweep()
    assert set(open_rules(version)) == {0, 1}
    assert "(the version has received no monitoring batch)" in open_rules(version)[0]
    with sync(execute=True):
        post_batch(api(owner), version, batch_frame(2000))
    assert open_rules(version) == {}


def test_a_version_silent_for_more_than_seven_days_fails(api, owner, model, pack, sync):
    version = deployed_version(model, tier="HIGH")
    with sync(execute=True):
        post_batch(api(owner), version, batch_frame(2000))
    assert open_rules(version) == {}
    MonitoringBatch.objects.update(received_at=timezone.now() - timedelta(days=8))
    continuous.sweep()
    assert set(open_rules(version)) == {0}


def test_low_tier_and_versions_on_their_way_to_production_are_not_held_to_it(owner, pack):
    low = deployed_version(RegisteredModelFactory(owner=owner), tier="LOW")
    staging = deployed_version(RegisteredModelFactory(owner=owner), state="STAGING", tier="HIGH")
    continuous.sweep()
    assert open_rules(low) == {} and open_rules(staging) == {}
    gate = dry_run_gate(staging, environment="production")
    (judged,) = [e for e in gate.evaluations if e.policy.policy_id == POLICY]
    assert judged.passed


def test_the_context_is_declared_and_absent_without_batches(api, owner, model, sync):
    version = deployed_version(model)
    context = build_context(version, environment="production", artifacts=[], evaluations={})
    assert "monitoring" not in context
    with sync(execute=True):
        post_batch(api(owner), version, batch_frame(500))
    context = build_context(version, environment="production", artifacts=[], evaluations={})
    assert context["monitoring"]["rows"] == 500
    assert context["monitoring"]["daysSinceLastBatch"] == 0
    assert context["monitoring"]["metrics"]["scorePsi"] < 0.2
    assert context_problems(context) == []


def test_the_contexts_of_many_versions_take_two_queries(api, owner, model, sync):
    versions = [deployed_version(model) for _ in range(4)]
    with sync(execute=True):
        for i, version in enumerate(versions[:3]):
            post_batch(api(owner), version, batch_frame(100, seed=i), batch_id=f"b{i}")
    with CaptureQueriesContext(connection) as ctx:
        found = monitoring_contexts_for([v.pk for v in versions])
    assert len(ctx.captured_queries) == 2
    assert set(found) == {v.pk for v in versions[:3]}
