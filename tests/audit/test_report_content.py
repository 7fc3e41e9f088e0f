"""What the PDFs say, read back with pypdf and checked against the data they were made from:
the model inventory, the compliance figures, the failures and their resolution, the tier
changes, the review decisions and rejection reasons, the policy changes, and that a report of a
past period shows that period, not today."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from django.utils import timezone
from pypdf import PdfReader

from audit.models import AuditEvent, Report
from audit.reports import monthly, services
from audit.reports.periods import month_start
from core.choices import Role
from governance import promotion, tier_changes
from governance.models import Approval, StateTransition
from policies.documents import validate_document
from policies.models import (
    ComplianceSnapshot,
    ExceptionApproval,
    Policy,
    PolicyEvaluation,
    PolicyException,
    Violation,
)
from policies.services import load_documents
from registry.models import ModelVersion, RegisteredModel
from tests.factories import ArtifactFactory, ModelVersionFactory, RegisteredModelFactory
from tests.governance.checklists import approve_kwargs_for

pytestmark = pytest.mark.django_db

CARD = {"intendedUse": "Decisions.", "limitations": "Retail only.", "monitoring": "Weekly."}
POLICIES = [
    {
        "policyId": "security-scan-required",
        "name": "Security scan",
        "severity": "HIGH",
        "scope": {"riskTiers": ["MEDIUM", "HIGH"], "environments": ["staging", "production"]},
        "rules": [
            {"condition": "artifact.securityScan.status == 'PASSED'", "message": "Scan must pass"}
        ],
    },
    {
        "policyId": "documentation-complete",
        "name": "Documentation",
        "severity": "MEDIUM",
        "scope": {
            "riskTiers": ["LOW", "MEDIUM", "HIGH"],
            "environments": ["staging", "production"],
        },
        "rules": [{"condition": "size(version.documentation) > 0", "message": "No documentation"}],
    },
    {
        "policyId": "card-sections",
        "name": "Model card sections",
        "severity": "MEDIUM",
        "enforcement": "WARN",
        "scope": {"riskTiers": ["MEDIUM", "HIGH"], "environments": ["staging", "production"]},
        "rules": [
            {"condition": "has(version.documentation.monitoring)", "message": "No monitoring"}
        ],
    },
]


def make(owner, name, tier, version, *, scan="PASSED", documentation=None):
    model = RegisteredModelFactory(owner=owner, name=name, risk_tier=tier)
    created = ModelVersionFactory(model=model, version=version, documentation=documentation or CARD)
    ArtifactFactory(version=created, scan_status=scan)
    return created


def step(action, version, user, comments=""):
    version.refresh_from_db()
    extra = approve_kwargs_for(user, version) if action == "approve" else {}
    return promotion.ACTIONS[action](version, actor=user, comments=comments, **extra).version


@pytest.fixture
def portfolio(users):
    """Five models of this month:
    alpha-credit HIGH, reviewed by MRC and Security, deployed to staging: compliant;
    beta-churn MEDIUM, its scan failed: non-compliant (security-scan-required), CHANGES_REQUIRED;
    gamma-router LOW, straight through: compliant;
    delta-draft MEDIUM, never submitted: not evaluated;
    epsilon-pricing MEDIUM, rejected by MRC; its card lacks monitoring (a WARN policy fails):
    compliant with a warning.
    """
    load_documents([validate_document(d) for d in POLICIES])
    owner = users[Role.MODEL_OWNER]
    alpha = make(owner, "alpha-credit", "HIGH", "1.0.0")
    step("submit", alpha, owner, "first release")
    step("approve", alpha, users[Role.MRC], "Validated.")
    step("approve", alpha, users[Role.SECURITY_ARCHITECT], "Access reviewed.")
    step("deploy", alpha, users[Role.SRE])
    beta = make(owner, "beta-churn", "MEDIUM", "2.0.0", scan="FAILED")
    step("submit", beta, owner)
    gamma = make(owner, "gamma-router", "LOW", "0.1.0")
    step("submit", gamma, owner)
    make(owner, "delta-draft", "MEDIUM", "0.0.1")
    epsilon = make(owner, "epsilon-pricing", "MEDIUM", "1.0.0", documentation="# Pricing")
    step("submit", epsilon, owner)
    step("reject", epsilon, users[Role.MRC], "Back-test results missing.")
    return {"alpha": alpha, "beta": beta, "gamma": gamma, "epsilon": epsilon}


def generate(kind: str, period: str, user) -> tuple[Report, str]:
    report = services.request_report(kind, period, actor=user)
    assert services.generate_report(report.pk) == "DONE", Report.objects.get(pk=report.pk).error
    report.refresh_from_db()
    with report.file.open("rb") as handle:
        reader = PdfReader(io.BytesIO(handle.read()))
    assert len(reader.pages) == report.pages
    text = " ".join(page.extract_text() for page in reader.pages)
    # One line: table cells and paragraphs wrap anywhere (also after a hyphen).
    return report, re.sub(r"\s+", " ", text).replace("- ", "-")


def this_month() -> str:
    now = timezone.now()
    return f"{now.year}-{now.month:02d}"


def test_monthly_report_states_the_data_of_the_month(users, portfolio):
    report, text = generate("MONTHLY_COMPLIANCE", this_month(), users[Role.MRC])
    assert "Monthly compliance report" in text and "Contents" in text
    assert re.search(r"Page 3 of \d+", text)  # page numbers in the footer
    for name in ("alpha-credit", "beta-churn", "gamma-router", "delta-draft", "epsilon-pricing"):
        assert name in text
    # The score is the dashboard's: alpha-credit, the only deployed version, and its three
    # in-scope policies, none violated. The versions' statuses: 4 evaluated, 3 compliant;
    # delta-draft never evaluated.
    assert "100.0% policy compliance score" in text
    assert "3 of 3 (deployed version, policy) pairs comply" in text
    assert "3 compliant" in text and "1 non-compliant" in text and "1 not yet evaluated" in text
    assert "5 models" in text and "5 versions" in text
    # The failures of the month, by policy, computed from the evaluations themselves.
    month_evaluations = PolicyEvaluation.objects.all()
    failed = month_evaluations.filter(passed=False).count()
    assert f"{month_evaluations.count()} policy evaluations ran" in text
    assert f"{month_evaluations.filter(passed=True).count()} passed and {failed} failed" in text
    assert "security-scan-required" in text and "card-sections" in text
    # Reviewers: 2 approvals by MRC/Security for alpha, 1 rejection of epsilon.
    assert "Reviewers gave 2 approvals and 1 rejection;" in text
    # Recommendations, each traceable to a count.
    assert "1 version fails security-scan-required" in text
    assert "beta-churn 2.0.0" in text
    assert "Derived from:" in text
    # Every feature the sections read is part of the registry: none is "not recorded yet".
    assert "not recorded yet" not in text
    assert report.parameters["auditChainHead"] in text.replace(" ", "")


def test_quarterly_report_shows_risk_and_tier_changes(users, portfolio):
    gamma_model = RegisteredModel.objects.get(name="gamma-router")
    request = tier_changes.request_tier_change(
        gamma_model,
        actor=users[Role.MODEL_OWNER],
        requested_tier="MEDIUM",
        justification="Now used for customer tickets.",
    )
    tier_changes.approve_tier_change(request, actor=users[Role.MRC], comments="Agreed.")
    now = timezone.now()
    _report, text = generate(
        "QUARTERLY_RISK", f"{now.year}-Q{(now.month - 1) // 3 + 1}", users[Role.AUDITOR]
    )
    assert "Quarterly risk assessment" in text
    assert "Now used for customer tickets." in text and "Agreed." in text
    assert "gamma-router" in text and "LOW → MEDIUM" in text
    # Tier distribution at the end of the quarter: 1 HIGH, 4 MEDIUM, 0 LOW.
    assert "1 HIGH, 4 MEDIUM and 0 LOW risk" in text
    assert "20.0%" in text  # share of HIGH-tier models
    assert "Business impact" in text and "Automation level" in text
    assert "Industry benchmarks: not recorded" in text


def test_annual_report_shows_process_effectiveness(users, portfolio):
    policy = Policy.objects.get(policy_id="card-sections")
    policy.enforcement = "ENFORCE"
    policy.save()
    _report, text = generate("ANNUAL_AUDIT", str(timezone.now().year), users[Role.MRC])
    assert "Annual audit report" in text
    assert "Back-test results missing." in text  # the rejection's reason
    stages = {
        stage: Approval.objects.filter(stage=stage).count()
        for stage in ("MRC_REVIEW", "SECURITY_REVIEW")
    }
    assert stages == {"MRC_REVIEW": 2, "SECURITY_REVIEW": 1}
    assert "MRC_REVIEW 1 1 50.0%" in text
    assert "SECURITY_REVIEW 1 0 100.0%" in text
    assert f"Reviewers gave {Approval.objects.count()} decisions" in text
    # Policy changes from the history: three created, one changed (enforcement).
    assert text.count("created") >= 3
    assert "enforcement" in text and "card-sections" in text
    assert f"{Policy.history.count()} policy changes" in text or "4 policy changes" in text


def test_a_past_month_shows_that_month_not_today(users, portfolio):
    """An old model, reviewed last month and raised to HIGH this month: last month's report
    holds it at its old tier and nothing of this month."""
    now = timezone.now()
    last_month = month_start(now.year, now.month - 1)
    moment = last_month + timedelta(days=3)
    owner = users[Role.MODEL_OWNER]
    old = make(owner, "omega-legacy", "MEDIUM", "0.9.0", scan="FAILED")
    step("submit", old, owner)
    model = old.model
    RegisteredModel.objects.filter(pk=model.pk).update(created_at=moment)
    RegisteredModel.history.filter(id=model.pk).update(history_date=moment)
    ModelVersion.objects.filter(pk=old.pk).update(created_at=moment)
    StateTransition.objects.filter(version=old).update(timestamp=moment)
    PolicyEvaluation.objects.filter(version=old).update(evaluated_at=moment)
    model.refresh_from_db()
    model.risk_tier = "HIGH"
    model.save()  # a history record of today

    report, text = generate(
        "MONTHLY_COMPLIANCE", f"{last_month.year}-{last_month.month:02d}", users[Role.MRC]
    )
    assert "omega-legacy" in text
    for name in ("alpha-credit", "beta-churn", "gamma-router", "delta-draft"):
        assert name not in text
    assert "0 HIGH, 1 MEDIUM, 0 LOW" in text
    # Its only evaluated version fails an enforced policy but was never deployed: the score
    # (deployed pairs only) has nothing to count, as the dashboard would have said then.
    assert "0 of 0 (deployed version, policy) pairs comply" in text
    assert "1 version fails security-scan-required" in text
    assert report.parameters["periodInProgress"] is False


def test_exceptions_violations_and_snapshots(users, portfolio):
    """The policy exceptions, monitoring violations and compliance snapshots of the period are
    in the report, and the version's exceptions in its evidence bundle."""
    now = timezone.now()
    beta = portfolio["beta"]
    policy = Policy.objects.get(policy_id="security-scan-required")
    exception = PolicyException.objects.create(
        policy=policy,
        version=beta,
        justification="Scanner false positive on a test fixture.",
        risk_assessment="Low: the flagged file is not shipped.",
        mitigation="Fixture removed in the next release.",
        duration_days=7,
        monitoring_plan="Re-scan weekly.",
        status="ACTIVE",
        requested_by=users[Role.MODEL_OWNER],
        activated_at=now,
        expires_at=now + timedelta(days=7),
    )
    ExceptionApproval.objects.create(
        exception=exception, role="MRC", user=users[Role.MRC], comments="Accepted."
    )
    Violation.objects.create(
        policy=policy,
        version=portfolio["alpha"],
        rule_index=0,
        condition="artifact.securityScan.status == 'PASSED'",
        message="Scan must pass (re-scan found a CVE)",
        severity="HIGH",
        environment="staging",
        first_seen=now,
        last_seen=now,
    )
    for days, score in ((1, 80.0), (0, 75.0)):
        ComplianceSnapshot.objects.create(
            date=(now - timedelta(days=days)).date(),
            score=score,
            pairs=8,
            complying_pairs=6,
            active_violations=1,
            taken_at=now,
        )
    _report, text = generate("MONTHLY_COMPLIANCE", this_month(), users[Role.MRC])
    assert "not recorded yet" not in text
    assert "1 exception was requested in the period and 1 granted" in text
    assert "Scanner false positive on a test fixture." in text
    assert "Continuous monitoring opened 1 violation in the period" in text
    assert "re-scan found a CVE" in text
    assert "score 75.0% with 1 active violation" in text

    from audit.evidence import export_evidence_bundle

    bundle = export_evidence_bundle(beta, actor=users[Role.AUDITOR])
    with __import__("zipfile").ZipFile(io.BytesIO(bundle.content)) as archive:
        exceptions = __import__("json").loads(archive.read("exceptions.json"))
    [recorded] = exceptions
    assert recorded["policy"] == "security-scan-required" and recorded["status"] == "ACTIVE"
    assert recorded["approvals"][0]["user"] == users[Role.MRC].username


def test_a_failing_section_fails_the_report(users, portfolio, monkeypatch):
    """A section that raises is a bug: the report job fails loudly (ERROR, the error stored
    and audited), it never becomes a PDF with an error printed in a section."""

    def broken(*args, **kwargs):
        raise ValueError("section exploded")

    monkeypatch.setattr(monthly, "monitoring", broken)
    report = services.request_report("MONTHLY_COMPLIANCE", this_month(), actor=users[Role.MRC])
    assert services.generate_report(report.pk) == "ERROR"
    report.refresh_from_db()
    assert report.status == "ERROR"
    assert report.error == "ValueError: section exploded"
    assert not report.file and not report.sha256
    failed = AuditEvent.objects.filter(action=services.FAILED_ACTION).get()
    assert failed.details["reportId"] == report.pk
    assert failed.details["error"] == "ValueError: section exploded"
