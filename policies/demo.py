"""Demo data for continuous monitoring: a week of the demo registry's compliance story, told
through the real services so every figure on the compliance dashboard is computed, not typed.

Called by governance.demo.seed_demo once the demo models have walked the workflow. The story:
six days ago the first sweep; four days ago a new scan of churn-predictor 3.1.0 (in STAGING)
comes back FAILED — a security issue and a violation; three days ago its owner asks for an
exception, MRC and a Security Architect approve it, and the violation is excepted; yesterday
a Security Architect publishes a fairness-statement policy, and the sweep finds the deployed
fraud-detector 1.0.0 without one (an open violation); the owner of fraud-detector asks for an
exception to the pending scan of 1.1.0 (awaiting decisions).
After each step the day's compliance snapshot is taken, which gives the trend its points.
Safe to run again: once the story is told, it only refreshes today's snapshot.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from policies import compliance, monitoring, waivers
from policies import services as services_policies
from policies.choices import MonitoringTrigger
from policies.documents import validate_document
from policies.models import ComplianceSnapshot, Policy, PolicyException
from registry import artifacts
from registry.choices import ScanStatus
from registry.models import ModelVersion

SCAN_POLICY = "security-scan-required"
FAIRNESS_POLICY = {
    "policyId": "fairness-statement-required",
    "name": "Fairness statement for customer-facing production models",
    "description": "MEDIUM and HIGH risk models in production document their fairness review",
    "severity": "MEDIUM",
    "type": "COMPLIANCE",
    "scope": {"riskTiers": ["MEDIUM", "HIGH"], "environments": ["production"]},
    "rules": [
        {
            "condition": "has(version.documentation.fairnessStatement)",
            "message": "The model card must have a fairnessStatement section",
        }
    ],
    "exceptions": {"allowExceptions": True, "requireApproval": True, "maxDuration": "30d"},
}


def _version(model: str, number: str) -> ModelVersion | None:
    return (
        ModelVersion.objects.select_related("model__owner")
        .filter(model__name=model, version=number)
        .first()
    )


def _day(days_ago: int):
    return timezone.localdate() - timedelta(days=days_ago)


def seed_monitoring_demo(users: dict) -> dict[str, int]:
    policy = Policy.objects.filter(policy_id=SCAN_POLICY).first()
    churn = _version("churn-predictor", "3.1.0")
    fraud_next = _version("fraud-detector", "1.1.0")
    if (
        policy is None
        or churn is None
        or PolicyException.objects.exists()
        or ComplianceSnapshot.objects.exists()
    ):
        monitoring.sweep(trigger=MonitoringTrigger.SCHEDULE)
        compliance.take_snapshot()
        return {"exceptions": 0}

    monitoring.sweep(trigger=MonitoringTrigger.SCHEDULE)
    for days_ago in (6, 5):
        compliance.take_snapshot(_day(days_ago))

    # A new scan of the serving image of a version running in staging finds a critical
    # vulnerability.
    held = churn.artifacts.order_by("created_at", "id")
    artifact = held.filter(type="container").first() or held.first()
    # The scanning pipeline's new result raises the security issue (the monitoring hook of
    # registry.artifacts.update_artifact).
    artifacts.update_artifact(
        artifact,
        actor=users["scanner"],
        security_scan={
            "status": ScanStatus.FAILED,
            "scanner": "trivy 0.58",
            "findings": [{"id": "CVE-2026-4312", "severity": "CRITICAL", "package": "libxml2"}],
        },
    )
    monitoring.sweep(versions=[churn.pk], trigger=MonitoringTrigger.SCAN_RESULT)
    compliance.take_snapshot(_day(4))

    # Its owner asks for an exception while the base image is rebuilt; MRC and Security approve.
    exception = waivers.request_exception(
        actor=users["owner2"],
        policy=policy,
        version=churn,
        justification="Retention campaign launches this week; the rebuilt image needs 5 days "
        "of regression testing.",
        risk_assessment="CVE-2026-4312 needs crafted XML input; the model only reads internal "
        "CRM feature vectors.",
        mitigation="XML endpoints disabled at the gateway; WAF rule for the CVE signature.",
        duration_days=5,
        monitoring_plan="Daily re-scan; gateway logs reviewed by the SOC every morning.",
        reason="EMERGENCY_DEPLOYMENT",
        remediation_plan="Rebuild the base image without the vulnerable libxml2 and re-scan.",
        remediation_due_date=timezone.localdate() + timedelta(days=5),
    )
    waivers.approve_exception(
        exception, actor=users["mrc"], comments="Acceptable with the gateway mitigation."
    )
    waivers.approve_exception(
        exception, actor=users["security"], comments="WAF rule verified in staging."
    )
    monitoring.sweep(versions=[churn.pk], trigger=MonitoringTrigger.EXCEPTION)
    for days_ago in (3, 2):
        compliance.take_snapshot(_day(days_ago))

    # A Security Architect publishes a new policy; the sweep finds the deployed model it fails.
    new_policy = services_policies.create_policy(
        actor=users["security"],
        document=validate_document(FAIRNESS_POLICY),
    )
    monitoring.sweep(policy=new_policy, trigger=MonitoringTrigger.POLICY_CHANGE)

    created = 1
    if fraud_next is not None and policy.allow_exceptions:
        waivers.request_exception(
            actor=users["owner"],
            policy=policy,
            version=fraud_next,
            justification="legacy-weights.pkl is a leftover of the old training pipeline; the "
            "ONNX model the service runs does not load it.",
            risk_assessment="The serving image loads only the ONNX file; the pickle is never "
            "unpickled in production.",
            mitigation="Deploy behind the 1.0.0 canary; remove the pickle in 1.1.1.",
            duration_days=3,
            monitoring_plan="Re-scan of 1.1.1 before its submission; hourly error-rate watch.",
            reason="TECHNICAL_LIMITATION",
            remediation_plan="Remove legacy-weights.pkl in 1.1.1.",
            remediation_due_date=timezone.localdate() + timedelta(days=3),
        )
        created += 1
    compliance.take_snapshot(_day(1))
    monitoring.sweep(trigger=MonitoringTrigger.SCHEDULE)
    compliance.take_snapshot()
    return {"exceptions": created}
