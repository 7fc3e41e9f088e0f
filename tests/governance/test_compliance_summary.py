"""The compliance summary (API and dashboard page): the score's definition applied to real data,
the violations list, the daily snapshot and who may read them."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from core.choices import PEOPLE_ROLES, Role
from policies import compliance, monitoring
from policies.models import ComplianceSnapshot, Policy
from tests.factories import ArtifactFactory, ModelVersionFactory, RegisteredModelFactory

pytestmark = pytest.mark.django_db

SCAN = "artifact.securityScan.status == 'PASSED'"


def make_policy(policy_id, **fields):
    values = {
        "name": policy_id,
        "severity": "HIGH",
        "risk_tiers": ["LOW", "MEDIUM", "HIGH"],
        "environments": ["staging", "production"],
        "rules": [{"condition": SCAN, "message": f"{policy_id}: scan must pass"}],
        "allow_exceptions": True,
        "max_duration": "7d",
        **fields,
    }
    return Policy.objects.create(policy_id=policy_id, **values)


def deployed(owner, *, scan, state="STAGING", tier="MEDIUM"):
    model = RegisteredModelFactory(owner=owner, risk_tier=tier)
    version = ModelVersionFactory(model=model, state=state, review_cycle=1)
    ArtifactFactory(version=version, scan_status=scan)
    return version


@pytest.fixture
def fleet(users, make_user):
    """4 deployed versions x 2 scored policies (+1 WARN policy scoped to HIGH only):
    one version fails both scored policies, one is only approved (not counted)."""
    owner = users[Role.MODEL_OWNER]
    make_policy("scan-a")
    make_policy("scan-b", severity="CRITICAL", environments=["production"])
    make_policy("scan-warn", enforcement="WARN", severity="LOW", risk_tiers=["HIGH"])
    make_policy("scan-trial", enforcement="DRY_RUN")
    other = make_user(Role.MODEL_OWNER, username="otto")
    versions = {
        "ok-staging": deployed(owner, scan="PASSED"),
        "ok-production": deployed(owner, scan="PASSED", state="PRODUCTION", tier="LOW"),
        "bad-production": deployed(other, scan="FAILED", state="PRODUCTION", tier="HIGH"),
        "ok-production-2": deployed(other, scan="PASSED", state="PRODUCTION"),
        "approved-only": deployed(owner, scan="FAILED", state="APPROVED_STAGING"),
    }
    monitoring.sweep()
    return versions


def test_score_follows_its_definition(fleet):
    figures = compliance.score_figures()
    # pairs: ok-staging: scan-a (staging) = 1; ok-production: scan-a, scan-b = 2;
    # bad-production: scan-a, scan-b, scan-warn = 3; ok-production-2: scan-a, scan-b = 2.
    assert figures["pairs"] == 8
    # bad-production violates all three of its pairs.
    assert figures["complyingPairs"] == 5
    assert figures["complianceScore"] == 62.5


def test_summary_api_answers_every_role(api, users, fleet):
    for role in PEOPLE_ROLES:
        response = api(users[role]).get("/api/v1/compliance/summary/")
        assert response.status_code == 200, role
    assert api(users[Role.SCANNER]).get("/api/v1/compliance/summary/").status_code == 403
    body = api(users[Role.MODEL_OWNER]).get("/api/v1/compliance/summary/").json()
    assert body["complianceScore"] == 62.5
    # open violations: bad-production x3 and approved-only (scan-a, staging) x1
    assert body["activeViolations"] == 4
    assert body["violationsBySeverity"] == {"LOW": 1, "MEDIUM": 0, "HIGH": 2, "CRITICAL": 1}
    assert body["riskDistribution"] == {"LOW": 1, "MEDIUM": 3, "HIGH": 1}
    assert body["trend"] == []
    assert "excepted" in body["definition"] and "STAGING or PRODUCTION" in body["definition"]
    assert api().get("/api/v1/compliance/summary/").status_code == 401


def test_no_role_no_summary(api, client, make_user, fleet):
    nobody = make_user(username="nobody")
    response = api(nobody).get("/api/v1/compliance/summary/")
    assert response.status_code == 403
    client.force_login(nobody)
    assert client.get("/compliance/").status_code == 403
    assert 'href="/compliance/"' not in client.get("/exceptions/").content.decode()
    assert (
        AuditEvent.objects.filter(action="READ_COMPLIANCE", event_type="ACCESS_DENIED").count() == 2
    )


def test_snapshots_keep_the_trend(api, users, fleet):
    today = timezone.localdate()
    for days_ago, score in ((2, 90.0), (1, 75.0)):
        ComplianceSnapshot.objects.create(
            date=today - timedelta(days=days_ago),
            score=score,
            pairs=8,
            complying_pairs=int(score * 8 / 100),
            active_violations=1,
            taken_at=timezone.now(),
        )
    snapshot = compliance.take_snapshot()
    assert (snapshot.date, snapshot.score, snapshot.active_violations) == (today, 62.5, 4)
    compliance.take_snapshot()  # the same day again replaces it
    assert ComplianceSnapshot.objects.filter(date=today).count() == 1
    trend = api(users[Role.EXECUTIVE]).get("/api/v1/compliance/summary/").json()["trend"]
    assert trend == [
        {"date": (today - timedelta(days=2)).isoformat(), "complianceScore": 90.0},
        {"date": (today - timedelta(days=1)).isoformat(), "complianceScore": 75.0},
        {"date": today.isoformat(), "complianceScore": 62.5},
    ]
    assert isinstance(date.fromisoformat(trend[0]["date"]), date)


def test_dashboard_page_shows_figures_definition_and_charts(client, users, fleet):
    ComplianceSnapshot.objects.create(
        date=timezone.localdate() - timedelta(days=1),
        score=80.0,
        pairs=5,
        complying_pairs=4,
        active_violations=1,
        taken_at=timezone.now(),
    )
    compliance.take_snapshot()
    client.force_login(users[Role.AUDITOR])
    page = client.get("/compliance/").content.decode()
    assert "62.5%" in page
    assert compliance.DEFINITION[:60] in page
    assert page.count("<svg") >= 3  # severity bars, risk donut, trend line
    assert "scan-b: scan must pass" in page
    assert 'href="/compliance/"' in page  # the nav entry
    # a Model Owner sees the figures, and only violations of their own models in the table
    client.force_login(users[Role.MODEL_OWNER])
    page = client.get("/compliance/").content.decode()
    assert "62.5%" in page
    assert fleet["bad-production"].model.name not in page
    assert fleet["approved-only"].model.name in page
    resolved = client.get("/compliance/?status=RESOLVED").content.decode()
    assert "No violations match" in resolved


def test_violations_api(api, users, fleet):
    auditor = api(users[Role.AUDITOR])
    body = auditor.get("/api/v1/violations/").json()
    assert body["count"] == 4
    row = body["results"][0]
    assert set(row) >= {
        "id",
        "policy",
        "severity",
        "version",
        "model",
        "rule",
        "message",
        "status",
        "firstSeen",
        "lastSeen",
        "resolvedAt",
    }
    bad = fleet["bad-production"]
    assert auditor.get(f"/api/v1/violations/?version={bad.pk}").json()["count"] == 3
    assert auditor.get("/api/v1/violations/?severity=CRITICAL").json()["count"] == 1
    assert auditor.get("/api/v1/violations/?policy=scan-a").json()["count"] == 2
    assert auditor.get("/api/v1/violations/?status=RESOLVED").json()["count"] == 0
    assert auditor.get("/api/v1/violations/?severity=SEVERE").status_code == 400
    assert len(auditor.get("/api/v1/violations/?pageSize=1").json()["results"]) == 1
    # an owner sees the violations of their own models only
    assert api(users[Role.MODEL_OWNER]).get("/api/v1/violations/").json()["count"] == 1
    assert auditor.post("/api/v1/violations/", {}).status_code == 405
    assert api().get("/api/v1/violations/").status_code == 401
