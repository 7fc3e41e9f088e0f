"""The demo's week of production traffic: daily windows close to the evidence, the first
version drifting on its last two days, and safe to run again."""

from __future__ import annotations

import pytest

from core.choices import Role
from evaluations.models import MonitoringBatch, MonitoringWindow
from evaluations.monitoring_demo import seed_monitoring_traffic
from tests.evaluations.test_monitoring_helpers import deployed_version
from tests.factories import RegisteredModelFactory

pytestmark = pytest.mark.django_db


def test_a_week_of_traffic_with_drift_at_the_end(users, owner):
    first = deployed_version(RegisteredModelFactory(owner=owner))
    second = deployed_version(RegisteredModelFactory(owner=owner))
    staging = deployed_version(RegisteredModelFactory(owner=owner), state="STAGING")
    sent = seed_monitoring_traffic(days=4, rows=1500)
    assert sorted(sent.values()) == [4, 4]
    assert not MonitoringBatch.objects.filter(version=staging).exists()
    assert set(MonitoringBatch.objects.values_list("received_by", flat=True)) == {
        users[Role.SRE].pk
    }
    windows = list(MonitoringWindow.objects.filter(version=first).order_by("start"))
    assert len(windows) == 4 and all(w.rows == 1500 for w in windows)
    assert [w.metrics["scorePsi"] > 0.2 for w in windows] == [False, False, True, True]
    steady = MonitoringWindow.objects.filter(version=second)
    assert steady.count() == 4 and all(w.metrics["scorePsi"] < 0.2 for w in steady)
    assert seed_monitoring_traffic(days=4) == {}
    assert MonitoringBatch.objects.count() == 8
