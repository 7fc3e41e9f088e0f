"""The compliance score and the figures of the compliance dashboard, and the daily snapshot that
keeps their trend. Every figure here is an aggregate over the whole registry.

`compliance_score` is the one computation of the score: the dashboard, `GET
/api/v1/compliance/summary/`, the daily snapshot and every report call it, so two of them asked
at the same moment cannot disagree. Asked `at` a past moment it reads the same inputs as they
stood then (the versions', models' and policies' history records, the violations' open/resolve
times and the exceptions' windows), which is how a report of a past period states its score.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db.models import Count, Max, Q
from django.utils import timezone

from core.access import authorize
from core.choices import Action
from core.domain import domain_action
from governance.choices import Environment
from policies.choices import PolicyStatus, Severity
from policies.models import ComplianceSnapshot, MonitoringRun, Policy, PolicyException, Violation
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
    "PRODUCTION); DRAFT and RETIRED policies are not counted. A pair complies when continuous "
    "monitoring has no open violation for it; a failure covered by an ACTIVE policy exception "
    "in force counts as complying (it is excepted, not violated). DRY_RUN policies are trials "
    "and are not counted. With no pair at all the score is 100. Figures as of the latest "
    "monitoring sweep (every 15 minutes, and at once when a policy changes or a deployed "
    "artifact gets a new scan result). The dashboard, the API, the daily snapshots and the "
    "reports compute it the same way; a report of a past period states it as of the period's "
    "end."
)


def percent(part: int, whole: int) -> float | None:
    """part of whole in percent, one decimal; None when there is nothing to divide."""
    return round(100.0 * part / whole, 1) if whole else None


@dataclass(frozen=True)
class ComplianceScore:
    """The score at one moment, with what it is made of."""

    at: datetime
    pairs: int
    complying: int
    # risk tier -> (pairs, complying pairs) of the deployed versions of that tier's models
    by_tier: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def score(self) -> float:
        """Percent of complying pairs, one decimal; 100 with no pair (nothing fails)."""
        value = percent(self.complying, self.pairs)
        return 100.0 if value is None else value

    def tier_score(self, tier: str) -> float | None:
        """The same share within one risk tier; None when the tier has no deployed pair."""
        pairs, complying = self.by_tier.get(tier, (0, 0))
        return percent(complying, pairs)

    def figures(self) -> dict:
        return {
            "pairs": self.pairs,
            "complyingPairs": self.complying,
            "complianceScore": self.score,
        }


@dataclass(frozen=True)
class _ScoredPolicy:
    pk: int
    risk_tiers: tuple[str, ...]
    environments: tuple[str, ...]


POLICY_FIELDS = ("id", "status", "enforcement", "risk_tiers", "environments")


def _scored(rows) -> list[_ScoredPolicy]:
    """The policies the score counts: ACTIVE, ENFORCE or WARN (rows of POLICY_FIELDS, from
    the policies or their history)."""
    return [
        _ScoredPolicy(pk, tuple(tiers or ()), tuple(environments or ()))
        for pk, status, enforcement, tiers, environments in rows
        if status == PolicyStatus.ACTIVE and enforcement in VIOLATING
    ]


def _as_of(model, at: datetime, *fields: str) -> list[tuple]:
    """`fields` of every object of `model` as it stood at `at`: its newest history record
    before `at` (deleted ones left out); an object created before `at` without any history
    record (made before history was kept, or by a bulk insert) is taken as it is now."""
    records = model.history.filter(history_date__lt=at)
    newest = records.order_by().values("id").annotate(last=Max("history_id")).values("last")
    rows = list(
        model.history.filter(history_id__in=newest).exclude(history_type="-").values_list(*fields)
    )
    current = ["pk" if name == "id" else name for name in fields]
    rows += (
        model.objects.filter(created_at__lt=at)
        .exclude(pk__in=model.history.values("id"))
        .values_list(*current)
    )
    return rows


def _live_inputs(now: datetime):
    policies = _scored(
        Policy.objects.active().filter(enforcement__in=VIOLATING).values_list(*POLICY_FIELDS)
    )
    deployed = list(
        ModelVersion.objects.filter(state__in=list(DEPLOYED_STATES)).values_list(
            "pk", "model__risk_tier", "state"
        )
    )
    policy_ids = [p.pk for p in policies]
    violated = set(
        Violation.objects.open()
        .filter(version__state__in=list(DEPLOYED_STATES), policy__in=policy_ids)
        .values_list("version_id", "policy_id")
        .distinct()
    )
    excepted = set(
        PolicyException.objects.in_force(now)
        .filter(policy__in=policy_ids, version__state__in=list(DEPLOYED_STATES))
        .values_list("version_id", "policy_id")
    )
    return policies, deployed, violated, excepted


def _inputs_at(at: datetime):
    policies = _scored(_as_of(Policy, at, *POLICY_FIELDS))
    tiers = dict(_as_of(RegisteredModel, at, "id", "risk_tier"))
    deployed = [
        (version_id, tiers[model_id], state)
        for version_id, model_id, state in _as_of(ModelVersion, at, "id", "model_id", "state")
        if state in DEPLOYED_STATES and model_id in tiers
    ]
    # Pairs are matched against the deployed versions in Python (no list of version ids in
    # the query, so a fleet of any size fits the database's parameter limits).
    policy_ids = [p.pk for p in policies]
    violated = set(
        Violation.objects.filter(policy_id__in=policy_ids, first_seen__lt=at)
        .filter(Q(resolved_at__isnull=True) | Q(resolved_at__gte=at))
        .values_list("version_id", "policy_id")
        .distinct()
    )
    excepted = set(
        PolicyException.objects.filter(
            policy_id__in=policy_ids, activated_at__lt=at, expires_at__gt=at
        )
        .filter(Q(ended_at__isnull=True) | Q(ended_at__gte=at))
        .values_list("version_id", "policy_id")
    )
    return policies, deployed, violated, excepted


def compliance_score(*, at: datetime | None = None) -> ComplianceScore:
    """The compliance score (see DEFINITION) now, or as it stood at the moment `at`.

    Now, it reads the current rows; `at` a past moment, the newest history record of every
    version, model and policy before `at`, the violations open at `at` and the exceptions in
    force at `at`. A constant number of queries either way, whatever the size of the registry.
    """
    now = timezone.now()
    if at is None:
        moment = now
        policies, deployed, violated, excepted = _live_inputs(now)
    else:
        moment = at
        policies, deployed, violated, excepted = _inputs_at(at)
    # Which scored policies judge a version of a tier deployed in an environment.
    in_scope: dict[tuple[str, str], set[int]] = {}
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for version_id, tier, state in deployed:
        key = (tier, DEPLOYED_STATES[state])
        scope = in_scope.get(key)
        if scope is None:
            scope = in_scope[key] = {
                p.pk for p in policies if key[0] in p.risk_tiers and key[1] in p.environments
            }
        failing = sum(
            1
            for policy_id in scope
            if (version_id, policy_id) in violated and (version_id, policy_id) not in excepted
        )
        totals[tier][0] += len(scope)
        totals[tier][1] += len(scope) - failing
    by_tier = {tier: tuple(totals[tier]) for tier in RiskTier.values if tier in totals}
    return ComplianceScore(
        at=moment,
        pairs=sum(p for p, _c in by_tier.values()),
        complying=sum(c for _p, c in by_tier.values()),
        by_tier=by_tier,
    )


def score_figures() -> dict:
    """pairs, complying pairs and the score (percent, one decimal), now."""
    return compliance_score().figures()


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
