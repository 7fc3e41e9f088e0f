"""The compliance score and the figures of the compliance dashboard, and the daily snapshot that
keeps their trend. Every figure here is an aggregate over the whole registry."""

from __future__ import annotations

from datetime import date, timedelta

from django.db.models import Count
from django.utils import timezone

from governance.access import authorize
from governance.actions import domain_action
from governance.choices import Action, Environment
from policies.choices import Severity
from policies.models import ComplianceSnapshot, MonitoringRun, Policy, Violation
from policies.monitoring import MONITORED_STATES, VIOLATING
from registry.choices import RiskTier, VersionState
from registry.models import ModelVersion, RegisteredModel

# Deployed versions and the environment each runs in.
DEPLOYED_STATES = {
    VersionState.STAGING: Environment.STAGING,
    VersionState.PRODUCTION: Environment.PRODUCTION,
}
TREND_DAYS = 90

DEFINITION = (
    "Compliance score: the share of (deployed version, in-scope policy) pairs that comply. "
    "Deployed versions are those in STAGING or PRODUCTION. A version's in-scope policies are "
    "the ACTIVE policies with enforcement ENFORCE or WARN whose scope holds its model's risk "
    "tier and the environment it is deployed to (staging for STAGING, production for "
    "PRODUCTION). A pair complies when continuous monitoring has no open violation for it; a "
    "failure covered by an ACTIVE policy exception counts as complying (it is excepted, not "
    "violated). DRY_RUN policies are trials and are not counted. With no pair at all the score "
    "is 100. Figures as of the latest monitoring sweep (every 15 minutes, and at once when a "
    "policy changes or a deployed artifact gets a new scan result)."
)


def _scored_policies() -> list[Policy]:
    return list(Policy.objects.active().filter(enforcement__in=VIOLATING))


def score_figures() -> dict:
    """pairs, complying pairs and the score (percent, one decimal) — three queries."""
    policies = _scored_policies()
    deployed = (
        ModelVersion.objects.filter(state__in=list(DEPLOYED_STATES))
        .values_list("model__risk_tier", "state")
        .annotate(n=Count("id"))
        .order_by()
    )
    in_scope: dict[tuple[str, str], set[int]] = {}
    pairs = 0
    for tier, state, n in deployed:
        environment = DEPLOYED_STATES[state]
        ids = {p.pk for p in policies if tier in p.risk_tiers and environment in p.environments}
        in_scope[(tier, state)] = ids
        pairs += n * len(ids)
    violated = {
        (policy_id, version_id)
        for policy_id, version_id, tier, state in Violation.objects.open()
        .filter(version__state__in=list(DEPLOYED_STATES), policy__in=[p.pk for p in policies])
        .values_list("policy_id", "version_id", "version__model__risk_tier", "version__state")
        .distinct()
        if policy_id in in_scope.get((tier, state), ())
    }
    complying = pairs - len(violated)
    score = round(100.0 * complying / pairs, 1) if pairs else 100.0
    return {"pairs": pairs, "complyingPairs": complying, "complianceScore": score}


def violations_by_severity() -> dict[str, int]:
    counts = dict(
        Violation.objects.open().values_list("severity").annotate(n=Count("id")).order_by()
    )
    return {severity: counts.get(severity, 0) for severity in Severity.values}


def risk_distribution() -> dict[str, int]:
    """Registered models by risk tier."""
    counts = dict(
        RegisteredModel.objects.values_list("risk_tier").annotate(n=Count("id")).order_by()
    )
    return {tier: counts.get(tier, 0) for tier in RiskTier.values}


def trend(days: int = TREND_DAYS) -> list[dict]:
    since = timezone.localdate() - timedelta(days=days - 1)
    return [
        {"date": snapshot.date.isoformat(), "complianceScore": snapshot.score}
        for snapshot in ComplianceSnapshot.objects.filter(date__gte=since).order_by("date")
    ]


def compliance_summary() -> dict:
    """`GET /api/v1/compliance/summary/`: the contract's figures and what they mean."""
    figures = score_figures()
    by_severity = violations_by_severity()
    last_run = MonitoringRun.objects.order_by("-started_at", "-id").first()
    return {
        "complianceScore": figures["complianceScore"],
        "activeViolations": sum(by_severity.values()),
        "riskDistribution": risk_distribution(),
        "trend": trend(),
        "violationsBySeverity": by_severity,
        "pairs": figures["pairs"],
        "complyingPairs": figures["complyingPairs"],
        "monitoredVersions": ModelVersion.objects.filter(state__in=list(MONITORED_STATES)).count(),
        "lastSweepAt": last_run.finished_at.isoformat() if last_run else None,
        "definition": DEFINITION,
    }


def take_snapshot(day: date | None = None) -> ComplianceSnapshot:
    """Scheduled daily (and after every scheduled sweep): today's figures, kept for the trend;
    taken again the same day, it replaces that day's."""
    figures = score_figures()
    by_severity = violations_by_severity()
    snapshot, _ = ComplianceSnapshot.objects.update_or_create(
        date=day or timezone.localdate(),
        defaults={
            "score": figures["complianceScore"],
            "pairs": figures["pairs"],
            "complying_pairs": figures["complyingPairs"],
            "active_violations": sum(by_severity.values()),
            "violations_by_severity": by_severity,
            "risk_distribution": risk_distribution(),
            "taken_at": timezone.now(),
        },
    )
    return snapshot


def open_violations_by_policy() -> dict[str, int]:
    return dict(
        Violation.objects.open()
        .values_list("policy__policy_id")
        .annotate(n=Count("id"))
        .order_by("-n", "policy__policy_id")
    )


@domain_action(Action.READ_COMPLIANCE)
def read_compliance_summary(*, actor) -> dict:
    """The summary, for anyone holding a role (a Model Owner sees it too: it is aggregate)."""
    authorize(actor, Action.READ_COMPLIANCE)
    return compliance_summary()
