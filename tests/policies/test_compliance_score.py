"""One compliance score: the dashboard, `GET /api/v1/compliance/summary/`, the daily snapshot
and the three reports state the same figure at the same moment, on a portfolio where they used
to disagree (the reports counted compliant versions among the evaluated ones, deployed or not;
the dashboard counted (deployed version, policy) pairs and missed an exception in force whose
violation the next sweep had not resolved yet). A report of a past period states the score as
it stood at the period's end, whatever changed since."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from django.utils import timezone
from pypdf import PdfReader

from audit.models import ReportKind
from audit.reports import services
from audit.reports.annual import annual_audit
from audit.reports.monthly import monthly_compliance
from audit.reports.periods import month_start, parse_period
from audit.reports.portfolio import Portfolio
from audit.reports.quarterly import quarterly_risk
from core.choices import Role
from policies import compliance, gate, monitoring
from policies.models import Policy, PolicyException, Violation
from tests.factories import ArtifactFactory, ModelVersionFactory, RegisteredModelFactory

pytestmark = pytest.mark.django_db

SCAN = "artifact.securityScan.status == 'PASSED'"
DOCS = "size(version.documentation) > 0"
ALL_TIERS = ["LOW", "MEDIUM", "HIGH"]
BOTH = ["staging", "production"]


class Clock:
    """timezone.now, settable: rows, history records, violations and audit events made while
    it is set carry its time, so a test can build last month's registry."""

    def __init__(self):
        self.at = None

    def __call__(self):
        return self.at or self.real()


@pytest.fixture
def clock(monkeypatch):
    ticking = Clock()
    ticking.real = timezone.now
    monkeypatch.setattr(timezone, "now", ticking)
    return ticking


def policy(policy_id, *, rule=SCAN, **fields) -> Policy:
    values = {
        "name": policy_id,
        "severity": "HIGH",
        "risk_tiers": ALL_TIERS,
        "environments": BOTH,
        "rules": [{"condition": rule, "message": f"{policy_id} fails"}],
        "allow_exceptions": True,
        "max_duration": "30d",
        **fields,
    }
    return Policy.objects.create(policy_id=policy_id, **values)


def version(owner, name, tier, state, *, scan="PASSED"):
    model = RegisteredModelFactory(owner=owner, name=name, risk_tier=tier)
    made = ModelVersionFactory(model=model, state=state, review_cycle=1)
    ArtifactFactory(version=made, scan_status=scan)
    return made


def build(users) -> dict:
    """Seven scored (deployed version, policy) pairs, one of them violated.

    Policies: scan (ENFORCE, every tier and environment), docs (WARN, MEDIUM/HIGH,
    production), high-prod (ENFORCE, HIGH, production); left out: trial (DRY_RUN) and
    draft (DRAFT).
    - A MEDIUM STAGING, scan passes: 1 pair.
    - B MEDIUM PRODUCTION, scan fails: 2 pairs, 1 violated (scan).
    - C HIGH PRODUCTION, scan fails; an exception to scan granted after the sweep: 3 pairs,
      none violated (the exception is in force, its violation not resolved yet).
    - D LOW STAGING: 1 pair.
    - E MEDIUM APPROVED_STAGING, scan fails (a violation), and F MEDIUM CHANGES_REQUIRED, its
      submit gate failed scan: not deployed, so not in the score (the old reports counted
      both as non-compliant versions).
    """
    owner = users[Role.MODEL_OWNER]
    scan = policy("scan")
    policy(
        "docs",
        rule=DOCS,
        enforcement="WARN",
        risk_tiers=["MEDIUM", "HIGH"],
        environments=["production"],
    )
    policy("high-prod", rule=DOCS, risk_tiers=["HIGH"], environments=["production"])
    policy("trial", enforcement="DRY_RUN")
    policy("draft", status="DRAFT")
    made = {
        "A": version(owner, "alpha", "MEDIUM", "STAGING"),
        "B": version(owner, "beta", "MEDIUM", "PRODUCTION", scan="FAILED"),
        "C": version(owner, "gamma", "HIGH", "PRODUCTION", scan="FAILED"),
        "D": version(owner, "delta", "LOW", "STAGING"),
        "E": version(owner, "epsilon", "MEDIUM", "APPROVED_STAGING", scan="FAILED"),
        "F": version(owner, "phi", "MEDIUM", "CHANGES_REQUIRED", scan="FAILED"),
    }
    gate.judge(made["F"], [scan], environment="staging", trigger="SUBMIT")
    monitoring.sweep()
    now = timezone.now()
    PolicyException.objects.create(
        policy=scan,
        version=made["C"],
        justification="Scanner false positive.",
        risk_assessment="Low.",
        mitigation="Re-scan.",
        duration_days=30,
        monitoring_plan="Weekly.",
        status="ACTIVE",
        requested_by=owner,
        activated_at=now,
        decided_at=now,
        expires_at=now + timedelta(days=30),
    )
    # The exception's violation is still open: the next sweep has not run yet.
    assert Violation.objects.open().filter(version=made["C"], policy=scan).exists()
    return made


def report_scores(moment) -> dict[str, dict]:
    """What each report's builder states for the period holding `moment` (data up to it)."""
    labels = {
        ReportKind.MONTHLY_COMPLIANCE: f"{moment.year}-{moment.month:02d}",
        ReportKind.QUARTERLY_RISK: f"{moment.year}-Q{(moment.month - 1) // 3 + 1}",
        ReportKind.ANNUAL_AUDIT: str(moment.year),
    }
    builders = {
        ReportKind.MONTHLY_COMPLIANCE: monthly_compliance,
        ReportKind.QUARTERLY_RISK: quarterly_risk,
        ReportKind.ANNUAL_AUDIT: annual_audit,
    }
    found = {}
    for kind, label in labels.items():
        period = parse_period(kind, label, check_future=False)
        until = period.data_end(moment)
        found[kind] = builders[kind](period, until, Portfolio(until))
    return found


def test_dashboard_api_snapshot_and_reports_state_one_score(users, api, client):
    build(users)
    score = compliance.compliance_score()
    assert (score.pairs, score.complying, score.score) == (7, 6, 85.7)
    assert score.by_tier == {"LOW": (1, 1), "MEDIUM": (3, 2), "HIGH": (3, 3)}

    summary = api(users[Role.EXECUTIVE]).get("/api/v1/compliance/summary/").json()
    assert (summary["complianceScore"], summary["pairs"], summary["complyingPairs"]) == (
        85.7,
        7,
        6,
    )
    client.force_login(users[Role.AUDITOR])
    assert '<p class="big" id="compliance-score">85.7%</p>' in (
        client.get("/compliance/").content.decode()
    )
    assert compliance.take_snapshot().score == 85.7

    reports = report_scores(timezone.now())
    for kind, data in reports.items():
        summary = data["summary"]
        assert (summary["score_value"], summary["pairs"], summary["complying_pairs"]) == (
            85.7,
            7,
            6,
        ), kind
        assert summary["score"] == "85.7%", kind
    # The quarterly report's tiers are the score's tiers.
    tiers = {r["tier"]: r["score"] for r in reports[ReportKind.QUARTERLY_RISK]["tier_rows"]}
    assert tiers == {"LOW": "100.0%", "MEDIUM": "66.7%", "HIGH": "100.0%"}
    # The last point of every trend is the same figure.
    for data in reports.values():
        assert data["trend"]["table"][-1]["score"] == "85.7%"
    # The versions' own statuses stay in the inventory, and still count what they count.
    monthly = reports[ReportKind.MONTHLY_COMPLIANCE]["summary"]
    assert (monthly["compliant"], monthly["non_compliant"]) == (2, 4)


def test_the_pdf_prints_that_score(users):
    build(users)
    now = timezone.now()
    report = services.request_report(
        ReportKind.MONTHLY_COMPLIANCE, f"{now.year}-{now.month:02d}", actor=users[Role.MRC]
    )
    assert services.generate_report(report.pk) == "DONE"
    report.refresh_from_db()
    with report.file.open("rb") as handle:
        pages = PdfReader(io.BytesIO(handle.read())).pages
    text = re.sub(r"\s+", " ", " ".join(page.extract_text() for page in pages))
    assert "85.7% policy compliance score" in text
    assert "6 of 7 (deployed version, policy) pairs comply" in text


def test_a_past_period_states_the_score_as_of_its_end(users, clock):
    """Built in the middle of last month; this month a version is retired, a model re-tiered,
    a policy retired, the exception revoked and the sweep run again. Last month's reports
    still say what the dashboard said then; this month's say what it says now."""
    real_now = timezone.now()
    last_month = month_start(real_now.year, real_now.month - 1)
    clock.at = last_month + timedelta(days=14)
    made = build(users)
    then = compliance.compliance_score()
    assert then.score == 85.7
    clock.at = None

    made["A"].retire()
    made["A"].save()
    model = made["D"].model
    model.risk_tier = "HIGH"  # D: a HIGH version in staging now, still judged by scan only
    model.save()
    docs = Policy.objects.get(policy_id="docs")
    docs.status = "RETIRED"
    docs.save()
    PolicyException.objects.filter(version=made["C"]).update(
        status="REVOKED", ended_at=timezone.now()
    )
    monitoring.sweep()
    now = compliance.compliance_score()
    # B: scan (violated); C: scan (violated again), high-prod; D: scan.
    assert (now.pairs, now.complying, now.score) == (4, 2, 50.0)

    end_of_last_month = month_start(real_now.year, real_now.month)
    as_of = compliance.compliance_score(at=end_of_last_month)
    assert (as_of.pairs, as_of.complying, as_of.by_tier) == (
        then.pairs,
        then.complying,
        then.by_tier,
    )
    period = parse_period(ReportKind.MONTHLY_COMPLIANCE, f"{last_month:%Y-%m}")
    past = monthly_compliance(period, period.end, Portfolio(period.end))
    assert past["summary"]["score_value"] == then.score == 85.7
    # Before the registry existed there was nothing to score.
    assert compliance.compliance_score(at=last_month).pairs == 0
    # This month's reports agree with the dashboard of today.
    for kind, data in report_scores(timezone.now()).items():
        assert data["summary"]["score_value"] == 50.0, kind
