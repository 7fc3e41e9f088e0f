"""The demo data tells a week of compliance: the dashboard shows real figures and a trend."""

from __future__ import annotations

import pytest

from governance.demo import seed_demo
from policies.compliance import compliance_summary
from policies.demo import seed_monitoring_demo
from policies.models import PolicyException, Violation

pytestmark = pytest.mark.django_db


def test_demo_monitoring_story(client):
    users = seed_demo()["users"]
    seed_monitoring_demo(users)  # a no-op refresh once governance.demo calls it itself
    summary = compliance_summary()
    assert len(summary["trend"]) == 7
    assert min(p["complianceScore"] for p in summary["trend"]) < 100
    assert 0 < summary["complianceScore"] < 100
    assert summary["activeViolations"] >= 1
    open_violation = Violation.objects.open().select_related("policy").first()
    assert open_violation.policy.policy_id == "fairness-statement-required"
    statuses = set(PolicyException.objects.values_list("status", flat=True))
    assert statuses == {"ACTIVE", "REQUESTED"}
    assert Violation.objects.filter(resolution__startswith="covered by exception").exists()
    again = seed_monitoring_demo(users)  # safe to run again
    assert again == {"exceptions": 0}
    assert PolicyException.objects.count() == 2
    client.force_login(users["executive"])
    page = client.get("/compliance/").content.decode()
    assert f"{summary['complianceScore']}%" in page
