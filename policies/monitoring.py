"""Continuous compliance monitoring: re-evaluate every ACTIVE policy on every version approved
for or deployed to staging or production, keep the results, and open, follow and resolve
violations.

`sweep` is set-based like impact analysis: the versions (plain rows), their artifacts, their
evaluation runs, the exceptions in force, the policies' revisions, the previous results and the
open violations each come in one query, whatever the number of versions; then every version's
context is prepared once and every policy in scope judged in memory (a condition shared by
several policies is evaluated once per version); results and violations are written in bulk.
Queries grow only with the chunks of bulk writes, so the cost is linear in versions.

What is stored: a PolicyEvaluation (trigger MONITOR) for a pair (version, policy) whose result
differs from the previous monitoring result (passed, excepted, failing rules, policy revision),
and for every pair of a version under an exception in force ("enhanced monitoring": its
exception's page lists every check). A sweep itself is recorded as a MonitoringRun.

Violations: a failed rule of an ENFORCE or WARN policy not covered by an exception opens a
Violation (DRY_RUN policies are trials: recorded, never violations); every later sweep that
still sees it moves `last_seen`; it is RESOLVED when the rule passes, an exception covers it,
or the pair leaves monitoring (version retired or moved back, policy no longer ACTIVE or in
scope). Opening alerts the model's owner (one notification per version), the MRC (one summary
per sweep) and the `violation.opened` webhooks (one event per violation). Every violation
opened or resolved is an audit event (POLICY_VIOLATION / VIOLATION_OPENED or
VIOLATION_RESOLVED, by `system`), written in the sweep's transaction with one bulk append.

Environments: a version in APPROVED_STAGING or STAGING is judged for `staging`, one in
APPROVED_PRODUCTION or PRODUCTION for `production`, by the policies whose scope holds that
environment and its model's risk tier.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone
from django_q.tasks import async_task

from audit.choices import AuditAction, EventType
from audit.services import SYSTEM_USER, NewEvent, record_events
from core.choices import Role
from evaluations.monitoring.selectors import monitoring_contexts_for
from evaluations.monitoring.signals import window_computed
from governance import webhooks
from governance.choices import Environment, NotificationKind, WebhookEvent
from governance.notifications import Alert, absolute, notify, notify_many, users_with_role
from policies.choices import (
    Enforcement,
    EvaluationTrigger,
    MonitoringTrigger,
    PolicyStatus,
    ViolationStatus,
)
from policies.condition_context import ROOT_NAMES
from policies.conditions import (
    ConditionError,
    ConditionOutcome,
    compile_condition,
    prepare_context,
)
from policies.context import ARTIFACT_VALUES, VERSION_VALUES, build_context
from policies.gate import (
    covering_exceptions_for,
    evaluation_documents_for,
    latest_revisions,
    rule_outcome,
    rule_result,
)
from policies.models import MonitoringRun, Policy, PolicyEvaluation, PolicyException, Violation
from registry.choices import ScanStatus, VersionState
from registry.models import Artifact, ModelVersion

logger = logging.getLogger(__name__)

S = VersionState
# Monitored states and the environment each is judged for.
MONITORED_STATES: dict[str, str] = {
    S.APPROVED_STAGING: Environment.STAGING,
    S.STAGING: Environment.STAGING,
    S.APPROVED_PRODUCTION: Environment.PRODUCTION,
    S.PRODUCTION: Environment.PRODUCTION,
}
# Enforcements whose failures are violations (DRY_RUN policies are only recorded).
VIOLATING = (Enforcement.ENFORCE, Enforcement.WARN)
SWEEP_TASK = "policies.monitoring.run_sweep"
CHUNK = 2000
BATCH = 1000

RESOLVED_PASSING = "the rule passes again"
RESOLVED_OUT_OF_SCOPE = (
    "no longer monitored: the version left staging/production or the policy is no longer "
    "ACTIVE or in scope"
)


RESOLVED_DRY_RUN = "the policy is DRY_RUN now: its failures are recorded, not violations"


def _resolved_excepted(exception_id: int) -> str:
    return f"covered by exception #{exception_id}"


@dataclass
class SweepResult:
    run: MonitoringRun
    opened: list[Violation] = field(default_factory=list)
    resolved: int = 0
    stored: int = 0


def _chunks(items: Sequence, size: int = CHUNK):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _names_read(policies: Iterable[Policy]) -> frozenset[str]:
    names: set[str] = set()
    for policy in policies:
        for rule in policy.rules:
            try:
                names |= compile_condition(rule["condition"]).names
            except ConditionError:
                return frozenset(ROOT_NAMES)
    return frozenset(names)


def _signature(passed: bool, excepted: bool, revision, results: list[dict]) -> tuple:
    return (passed, excepted, revision, tuple(bool(r["passed"]) for r in results))


def _rule_results(policy: Policy, prepared, memo: dict[str, ConditionOutcome]) -> list[dict]:
    """The policy's rule results for one version, as the gate records them; a condition
    several policies share is evaluated once per version (`memo`)."""
    results = []
    for index, rule in enumerate(policy.rules):
        condition = rule["condition"]
        outcome = memo.get(condition)
        if outcome is None:
            outcome = memo[condition] = rule_outcome(condition, prepared)
        # The gate's own result shape: the rule's words, the engine's account kept apart.
        results.append(rule_result(policy, index, rule, outcome))
    return results


def _previous_results(version_qs, policy_ids: list[int]) -> dict[tuple[int, int, str], tuple]:
    """The latest MONITOR result per (version, policy, environment), as a signature."""
    latest = (
        PolicyEvaluation.objects.filter(
            trigger=EvaluationTrigger.MONITOR, version__in=version_qs, policy__in=policy_ids
        )
        .values("version_id", "policy_id", "environment")
        .annotate(last=Max("id"))
        .values("last")
    )
    rows = PolicyEvaluation.objects.filter(id__in=latest).values_list(
        "version_id",
        "policy_id",
        "environment",
        "passed",
        "excepted",
        "policy_revision",
        "rule_results",
    )
    return {
        (v, p, env): _signature(passed, excepted, revision, results or [])
        for v, p, env, passed, excepted, revision, results in rows.iterator(chunk_size=5000)
    }


def sweep(
    *,
    policy: Policy | None = None,
    versions: Iterable[int] | None = None,
    trigger: str = MonitoringTrigger.MANUAL,
    now=None,
    store_all: bool = False,
) -> SweepResult:
    """Judge the ACTIVE policies (or only `policy`) on the monitored versions (or only
    `versions`), store the results and open, follow and resolve violations; returns what it
    did. `store_all` keeps every result, not only the changed ones."""
    arguments = {
        "policy": policy,
        "versions": list(versions) if versions is not None else None,
        "trigger": trigger,
        "now": now,
        "store_all": store_all,
    }
    try:
        return _sweep(**arguments)
    except IntegrityError:
        # A sweep running at the same time opened one of our violations first (one OPEN
        # violation per rule is a constraint): judge again against what it wrote.
        logger.info("concurrent sweep opened the same violation; sweeping again")
        return _sweep(**arguments)


def _sweep(*, policy, versions, trigger, now, store_all) -> SweepResult:
    started = timezone.now()
    now = now or started
    version_ids = sorted(set(versions)) if versions is not None else None
    if policy is not None:
        policies = [policy] if policy.status == PolicyStatus.ACTIVE else []
    else:
        policies = list(Policy.objects.active())
    policy_ids = [p.pk for p in policies]

    version_qs = ModelVersion.objects.filter(state__in=list(MONITORED_STATES))
    if version_ids is not None:
        version_qs = version_qs.filter(pk__in=version_ids)

    # Which policies judge a version of a tier in an environment, and the names they read.
    scoped: dict[tuple[str, str], list[Policy]] = {}
    names: dict[tuple[str, str], frozenset[str]] = {}
    for tier in {t for p in policies for t in p.risk_tiers}:
        for environment in set(MONITORED_STATES.values()):
            chosen = [p for p in policies if tier in p.risk_tiers and environment in p.environments]
            if chosen:
                scoped[(tier, environment)] = chosen
                names[(tier, environment)] = _names_read(chosen)

    rows = list(version_qs.values(*VERSION_VALUES, "model__owner_id")) if scoped else []
    ids = [row["pk"] for row in rows]
    artifacts: dict[int, list[dict]] = defaultdict(list)
    evaluations: dict[int, dict] = {}
    monitored: dict[int, dict] = {}
    covered: dict[tuple[int, int], int] = {}
    previous: dict[tuple[int, int, str], tuple] = {}
    revisions: dict[int, int] = {}
    if rows:
        for row in (
            Artifact.objects.filter(version__in=version_qs)
            .order_by("version_id", "created_at", "id")
            .values(*ARTIFACT_VALUES)
            .iterator(chunk_size=5000)
        ):
            artifacts[row["version_id"]].append(row)
        if any("evaluations" in n for n in names.values()):
            evaluations = evaluation_documents_for(ids)
        if any("monitoring" in n for n in names.values()):
            monitored = monitoring_contexts_for(ids, now=now)
        covered = covering_exceptions_for(version_qs, policies, now=now)
        revisions = latest_revisions(policies)
        if not store_all:
            previous = _previous_results(version_qs, policy_ids)
    under_exception: set[int] = set()
    if rows and not store_all:
        under_exception = set(
            PolicyException.objects.in_force(now)
            .filter(version__in=version_qs)
            .values_list("version_id", flat=True)
        )

    open_qs = Violation.objects.open()
    if version_ids is not None:
        open_qs = open_qs.filter(version_id__in=version_ids)
    if policy is not None:
        open_qs = open_qs.filter(policy=policy)
    open_by_key: dict[tuple[int, int, int], int] = {}
    open_rows: dict[int, tuple] = {}  # pk -> what its audit event names if it is resolved
    for pk, v, p, index, model_id, policy_name, environment in open_qs.values_list(
        "pk",
        "version_id",
        "policy_id",
        "rule_index",
        "version__model_id",
        "policy__policy_id",
        "environment",
    ):
        open_by_key[(v, p, index)] = pk
        open_rows[pk] = (model_id, v, policy_name, index, environment)

    to_store: list[PolicyEvaluation] = []
    failing: dict[tuple[int, int, int], tuple[dict, Policy, str, dict]] = {}
    outcome_of: dict[tuple[int, int], str] = {}  # (version, policy) -> passed/excepted
    pairs = 0
    for row in rows:
        environment = MONITORED_STATES[row["state"]]
        key = (row["model__risk_tier"], environment)
        judged_by = scoped.get(key)
        if not judged_by:
            continue
        context = build_context(
            row,
            environment=environment,
            artifacts=artifacts.get(row["pk"], []),
            evaluations=evaluations.get(row["pk"], {}),
            monitoring=monitored.get(row["pk"]),
        )
        prepared = prepare_context({k: v for k, v in context.items() if k in names[key]})
        memo: dict[str, ConditionOutcome] = {}
        for policy_obj in judged_by:
            pairs += 1
            results = _rule_results(policy_obj, prepared, memo)
            passed = all(r["passed"] for r in results)
            exception_id = None if passed else covered.get((row["pk"], policy_obj.pk))
            if exception_id is not None:
                for result in results:
                    if not result["passed"]:
                        result["exception"] = exception_id
            revision = revisions.get(policy_obj.pk)
            signature = _signature(passed, exception_id is not None, revision, results)
            pair_key = (row["pk"], policy_obj.pk, environment)
            if store_all or row["pk"] in under_exception or previous.get(pair_key) != signature:
                to_store.append(
                    PolicyEvaluation(
                        version_id=row["pk"],
                        policy=policy_obj,
                        policy_revision=revision,
                        environment=environment,
                        enforcement=policy_obj.enforcement,
                        trigger=EvaluationTrigger.MONITOR,
                        passed=passed,
                        excepted=exception_id is not None,
                        rule_results=results,
                    )
                )
            if passed:
                outcome_of[(row["pk"], policy_obj.pk)] = RESOLVED_PASSING
            elif exception_id is not None:
                outcome_of[(row["pk"], policy_obj.pk)] = _resolved_excepted(exception_id)
            elif policy_obj.enforcement in VIOLATING:
                for result in results:
                    if not result["passed"]:
                        failing[(row["pk"], policy_obj.pk, result["index"])] = (
                            result,
                            policy_obj,
                            environment,
                            row,
                        )
                    else:
                        # A rule of a failing policy that passes resolves its own violation.
                        outcome_of.setdefault((row["pk"], policy_obj.pk), RESOLVED_PASSING)
            else:
                outcome_of[(row["pk"], policy_obj.pk)] = RESOLVED_DRY_RUN

    # Violations: still failing -> last_seen; new failures -> open; the rest -> resolved.
    still_open = [pk for key, pk in open_by_key.items() if key in failing]
    resolutions: dict[str, list[int]] = defaultdict(list)
    for (version_id, policy_id, index), pk in open_by_key.items():
        if (version_id, policy_id, index) in failing:
            continue
        reason = outcome_of.get((version_id, policy_id), RESOLVED_OUT_OF_SCOPE)
        resolutions[reason].append(pk)
    new = [
        Violation(
            policy=policy_obj,
            version_id=version_id,
            rule_index=index,
            condition=result["condition"],
            message=result["message"],
            severity=policy_obj.severity,
            environment=environment,
            first_seen=now,
            last_seen=now,
        )
        for (version_id, _, index), (result, policy_obj, environment, _) in failing.items()
        if (version_id, policy_obj.pk, index) not in open_by_key
    ]
    resolved_ids = [pk for pks in resolutions.values() for pk in pks]
    with transaction.atomic():
        for chunk in _chunks(still_open):
            Violation.objects.filter(pk__in=chunk).update(last_seen=now)
        for reason, pks in resolutions.items():
            for chunk in _chunks(pks):
                Violation.objects.filter(pk__in=chunk, status=ViolationStatus.OPEN).update(
                    status=ViolationStatus.RESOLVED, resolved_at=now, resolution=reason
                )
        opened = Violation.objects.bulk_create(new, batch_size=BATCH)
        PolicyEvaluation.objects.bulk_create(to_store, batch_size=BATCH)
        run = MonitoringRun.objects.create(
            trigger=trigger,
            policy=policy,
            started_at=started,
            finished_at=timezone.now(),
            versions=len(rows),
            pairs=pairs,
            evaluations_stored=len(to_store),
            violations_opened=len(opened),
            violations_resolved=len(resolved_ids),
        )
        _audit_violations(opened, resolutions, open_rows, {row["pk"]: row for row in rows}, run)
        _alert_opened(opened, {row["pk"]: row for row in rows})
        _alert_resolved(resolved_ids)
    return SweepResult(run=run, opened=opened, resolved=len(resolved_ids), stored=len(to_store))


def _audit_violations(
    opened: list[Violation],
    resolutions: dict[str, list[int]],
    open_rows: dict[int, tuple],
    rows: dict[int, dict],
    run: MonitoringRun,
) -> None:
    """One audit event per violation opened or resolved, appended in one go (one lock of the
    chain's head and one bulk insert, whatever their number)."""
    events = [
        NewEvent(
            EventType.POLICY_VIOLATION,
            AuditAction.VIOLATION_OPENED,
            user=SYSTEM_USER,
            model_id=rows[v.version_id]["model_id"],
            version_id=v.version_id,
            details={
                "violation": v.pk,
                "policyId": v.policy.policy_id,
                "rule": v.rule_index,
                "environment": v.environment,
                "severity": v.severity,
                "message": v.message,
                "monitoringRun": run.pk,
                "trigger": run.trigger,
            },
        )
        for v in opened
    ]
    for reason, pks in resolutions.items():
        for pk in pks:
            model_id, version_id, policy_id, rule, environment = open_rows[pk]
            events.append(
                NewEvent(
                    EventType.POLICY_VIOLATION,
                    AuditAction.VIOLATION_RESOLVED,
                    user=SYSTEM_USER,
                    model_id=model_id,
                    version_id=version_id,
                    details={
                        "violation": pk,
                        "policyId": policy_id,
                        "rule": rule,
                        "environment": environment,
                        "resolution": reason,
                        "monitoringRun": run.pk,
                        "trigger": run.trigger,
                    },
                )
            )
    record_events(events)


def _violation_document(violation: Violation, row: dict) -> dict:
    return {
        "violation": violation.pk,
        "policyId": violation.policy.policy_id,
        "severity": violation.severity,
        "rule": violation.rule_index,
        "condition": violation.condition,
        "message": violation.message,
        "environment": violation.environment,
        "firstSeen": violation.first_seen.isoformat(),
        "version": {
            "id": row["pk"],
            "version": row["version"],
            "state": row["state"],
            "model": {
                "id": row["model_id"],
                "name": row["model__name"],
                "riskTier": row["model__risk_tier"],
                "owner": row["model__owner__username"],
            },
        },
        "url": absolute(reverse("compliance")),
    }


def _alert_opened(opened: list[Violation], rows: dict[int, dict]) -> None:
    if not opened:
        return
    by_version: dict[int, list[Violation]] = defaultdict(list)
    for violation in opened:
        by_version[violation.version_id].append(violation)
    versions = {}
    for chunk in _chunks(list(by_version)):
        versions.update(
            ModelVersion.objects.select_related("model__owner").in_bulk(chunk, field_name="pk")
        )
    alerts = []
    for version_id, found in by_version.items():
        version = versions[version_id]
        policies = sorted({v.policy.policy_id for v in found})
        alerts.append(
            Alert(
                [version.model.owner],
                NotificationKind.VIOLATION,
                f"{version.model.name} {version.version}: {len(found)} policy violation(s) "
                f"opened ({', '.join(policies)})",
                version=version,
            )
        )
    compliance_url = reverse("compliance")
    alerts.append(
        Alert(
            users_with_role(Role.MRC),
            NotificationKind.VIOLATION,
            f"Monitoring opened {len(opened)} policy violation(s) on {len(by_version)} version(s)",
            url=compliance_url,
        )
    )
    notify_many(alerts)
    webhooks.emit_many(
        WebhookEvent.VIOLATION_OPENED,
        (_violation_document(v, rows[v.version_id]) for v in opened),
    )


def _alert_resolved(resolved_ids: list[int]) -> None:
    if not resolved_ids or not webhooks.subscribers(WebhookEvent.VIOLATION_RESOLVED):
        return
    resolved = []
    for chunk in _chunks(resolved_ids):
        resolved.extend(
            Violation.objects.filter(pk__in=chunk).select_related("policy", "version__model__owner")
        )
    webhooks.emit_many(
        WebhookEvent.VIOLATION_RESOLVED,
        (
            {
                "violation": v.pk,
                "policyId": v.policy.policy_id,
                "severity": v.severity,
                "rule": v.rule_index,
                "message": v.message,
                "resolution": v.resolution,
                "resolvedAt": v.resolved_at.isoformat() if v.resolved_at else None,
                "version": {
                    "id": v.version_id,
                    "version": v.version.version,
                    "model": {"id": v.version.model_id, "name": v.version.model.name},
                },
            }
            for v in resolved
        ),
    )


# ---- when it runs --------------------------------------------------------------------------


def queue_sweep(
    *,
    policy_id: int | None = None,
    version_ids: list[int] | None = None,
    trigger: str = MonitoringTrigger.MANUAL,
) -> None:
    """Run a sweep in the worker once the current transaction commits."""
    transaction.on_commit(
        lambda: async_task(
            SWEEP_TASK,
            policy_id=policy_id,
            version_ids=version_ids,
            trigger=str(trigger),
            task_name=f"monitoring: {trigger}",
        )
    )


def run_sweep(
    *,
    policy_id: int | None = None,
    version_ids: list[int] | None = None,
    trigger: str = MonitoringTrigger.MANUAL,
) -> dict:
    """Worker task behind queue_sweep."""
    policy = None
    if policy_id is not None:
        policy = Policy.objects.filter(pk=policy_id).first()
        if policy is None:
            return {"skipped": "policy gone"}
    result = sweep(policy=policy, versions=version_ids, trigger=trigger)
    return summary(result)


def summary(result: SweepResult) -> dict:
    return {
        "versions": result.run.versions,
        "pairs": result.run.pairs,
        "stored": result.stored,
        "opened": len(result.opened),
        "resolved": result.resolved,
    }


def enhanced_sweep() -> dict:
    """Scheduled (every 5 minutes): enhanced monitoring of the versions under an exception in
    force; every result is kept, for the exception's page."""
    ids = list(PolicyException.objects.in_force().values_list("version_id", flat=True).distinct())
    if not ids:
        return {"versions": 0}
    return summary(sweep(versions=ids, trigger=MonitoringTrigger.ENHANCED, store_all=True))


def policy_changed(policy: Policy) -> None:
    """Hook for policies.services: a policy was created or changed; sweep it at once (after
    commit). A policy no longer ACTIVE resolves its open violations."""
    queue_sweep(policy_id=policy.pk, trigger=MonitoringTrigger.POLICY_CHANGE)


# The trigger of a sweep after a monitoring window (policies.choices gains it; until then the
# nearest one, a result that came in).
WINDOW_TRIGGER = getattr(MonitoringTrigger, "MONITORING_WINDOW", MonitoringTrigger.SCAN_RESULT)


def on_window_computed(sender, *, version_id: int, **kwargs) -> None:
    """Receiver of evaluations.monitoring.signals.window_computed, sent in the worker after a
    monitoring window's transaction commits: judge the version's policies at once, so a
    policy reading `monitoring` opens (and alerts) or resolves its violations within the
    batch's job."""
    sweep(versions=[version_id], trigger=WINDOW_TRIGGER)


# Connected here (this module is imported by PoliciesConfig.ready), as evaluations, below
# policies, announces the window instead of importing this module.
window_computed.connect(on_window_computed, dispatch_uid="policies.monitoring_window")


def on_artifact_changed(sender, *, artifact: Artifact, changes: dict, **kwargs) -> None:
    """Receiver of registry.signals.artifact_changed (connected in PoliciesConfig.ready)."""
    scan_result_recorded(artifact, changes)


def scan_result_recorded(artifact: Artifact, changes: dict) -> None:
    """Sent on by registry.services.update_artifact: a monitored version's artifact got a new
    scan result. Re-check the version at once (after commit); a scan turning FAILED is a
    security issue: the owner, MRC and Security Architects are alerted (and webhooks)."""
    if not {"scan_status", "scanned_at", "scan_findings"} & set(changes):
        return
    version = artifact.version
    if version.state not in MONITORED_STATES:
        return
    queue_sweep(version_ids=[version.pk], trigger=MonitoringTrigger.SCAN_RESULT)
    status = changes.get("scan_status")
    if status is None or status["to"] != ScanStatus.FAILED or status["from"] == ScanStatus.FAILED:
        return
    model = version.model
    people = [
        model.owner,
        *users_with_role(Role.MRC),
        *users_with_role(Role.SECURITY_ARCHITECT),
    ]
    notify(
        people,
        kind=NotificationKind.SECURITY_ISSUE,
        message=f"Security issue: {model.name} {version.version} ({version.state}) — the scan "
        f"of artifact {artifact.name} is now FAILED",
        version=version,
        details={
            "artifact": {
                "id": artifact.pk,
                "name": artifact.name,
                "type": artifact.type,
                "sha256": artifact.sha256,
                "scanner": artifact.scan_scanner or None,
                "findings": artifact.scan_findings,
            },
            "previousStatus": status["from"],
        },
    )
