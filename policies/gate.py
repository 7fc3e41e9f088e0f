"""The automated gate: evaluate every active policy in scope for a version and record it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import Max, QuerySet

from audit.choices import EventType
from audit.services import record_event
from evaluations.selectors import latest_runs_for
from policies.choices import Enforcement, EvaluationTrigger
from policies.conditions import (
    ConditionError,
    ConditionOutcome,
    PreparedContext,
    compile_condition,
    evaluate_condition,
    prepare_context,
)
from policies.context import build_context
from policies.models import Policy, PolicyEvaluation, PolicyException
from registry.models import ModelVersion


@dataclass
class GateOutcome:
    environment: str
    evaluations: list[PolicyEvaluation] = field(default_factory=list)

    @property
    def blocked(self) -> bool:
        return any(evaluation.blocks for evaluation in self.evaluations)

    @property
    def failures(self) -> list[dict]:
        """Enforced failures that block, each with its failed rules' messages."""
        return [
            {
                "policyId": evaluation.policy.policy_id,
                "severity": evaluation.policy.severity,
                "messages": [r["message"] for r in evaluation.rule_results if not r["passed"]],
            }
            for evaluation in self.evaluations
            if evaluation.blocks
        ]

    @property
    def warnings(self) -> list[dict]:
        return [
            {
                "policyId": evaluation.policy.policy_id,
                "messages": [r["message"] for r in evaluation.rule_results if not r["passed"]],
            }
            for evaluation in self.evaluations
            if not evaluation.passed and evaluation.enforcement == Enforcement.WARN
        ]

    def summary(self) -> dict:
        return {
            "environment": self.environment,
            "blocked": self.blocked,
            "policies": {
                e.policy.policy_id: {
                    "passed": e.passed,
                    "excepted": e.excepted,
                    "enforcement": e.enforcement,
                }
                for e in self.evaluations
            },
        }


def covering_exceptions_for(
    version_ids: Iterable[int] | QuerySet, policies: Iterable[Policy], *, now=None
) -> dict[tuple[int, int], int]:
    """(version pk, policy pk) -> id of the exception in force for that pair, in one query.

    In force: ACTIVE and not yet past its `expiresAt`, so an exception whose expiry job has not
    run yet already stops covering at the minute it expires.
    """
    policy_ids = [policy.pk for policy in policies if policy.pk is not None]
    if not policy_ids:
        return {}
    rows = (
        PolicyException.objects.in_force(now)
        .filter(version__in=version_ids, policy__in=policy_ids)
        .values_list("version_id", "policy_id", "pk")
    )
    return {(version_id, policy_id): pk for version_id, policy_id, pk in rows}


def covering_exceptions(version: ModelVersion, policies: Iterable[Policy]) -> dict[int, int]:
    """Policy pk -> id of the active exception that covers its failure on this version.

    This is the one place where exceptions enter policy evaluation (the monitoring sweep asks
    covering_exceptions_for, its set-based twin): an ACTIVE, unexpired exception for the
    (policy, version) pair makes that policy's failure pass as excepted.
    """
    covered = covering_exceptions_for([version.pk], policies)
    return {policy_id: exception_id for (_, policy_id), exception_id in covered.items()}


def rule_outcome(condition: str, context: PreparedContext) -> ConditionOutcome:
    """Evaluate a stored rule; one that no longer compiles fails, saying why (never raises)."""
    try:
        compiled = compile_condition(condition)
    except ConditionError as exc:
        return ConditionOutcome(passed=False, error=f"the condition no longer compiles: {exc}")
    return evaluate_condition(compiled, context)


#: How much of the engine's account of a failed evaluation is kept, for the record.
MAX_REASON = 300


def rule_result(policy: Policy, index: int, rule: dict, outcome: ConditionOutcome) -> dict:
    """One rule's result as it is stored.

    `message` is the rule's own words, what is missing ("missing model card section:
    limitations"). A condition that could not be evaluated on this version's data (a type
    error, a missing key, no such overload: documentation written as text where the rule
    reads a section) has already failed the rule (conditions never pass on an error); the
    engine's account of why goes to `reason`, for the record, and never into the message a
    user reads. Only a name the version lacks is added to the message, in words ("the
    version has no artifacts"), as the contract asks. `reason` is stored with the result,
    not published (the API's rule shape is unchanged).
    """
    reason = outcome.error
    if reason and len(reason) > MAX_REASON:
        reason = reason[: MAX_REASON - 1] + "…"
    message = rule.get("message") or f"rule {index} of {policy.policy_id}"
    if outcome.missing:
        message = f"{message} ({outcome.missing})"
    return {
        "index": index,
        "condition": rule["condition"],
        "passed": outcome.passed,
        "message": message,
        "exception": None,
        "reason": reason,
    }


def rule_results(policy: Policy, context: PreparedContext) -> list[dict]:
    return [
        rule_result(policy, index, rule, rule_outcome(rule["condition"], context))
        for index, rule in enumerate(policy.rules)
    ]


def latest_revisions(policies: list[Policy]) -> dict[int, int]:
    rows = (
        Policy.history.filter(id__in=[p.pk for p in policies])
        .values("id")
        .annotate(revision=Max("history_id"))
    )
    return {row["id"]: row["revision"] for row in rows}


def evaluation_documents_for(version_ids: list[int]) -> dict[int, dict[str, dict]]:
    """Per version: its latest evaluation run per suite, as conditions see them.

    A version without finished runs maps to an empty map, so a rule that reads `evaluations`
    fails and says what is missing.
    """

    return latest_runs_for(version_ids)


def judge(
    version: ModelVersion,
    policies: list[Policy],
    *,
    environment: str,
    trigger: str,
    save: bool = True,
) -> list[PolicyEvaluation]:
    """Evaluate `policies` on `version`; store the results unless `save` is False."""
    context = prepare_context(
        build_context(
            version,
            environment=environment,
            artifacts=list(version.artifacts.all()),
            evaluations=evaluation_documents_for([version.pk]).get(version.pk, {}),
        )
    )
    excepted_by = covering_exceptions(version, policies) if policies else {}
    revisions = latest_revisions(policies) if save and policies else {}
    evaluations = []
    for policy in policies:
        results = rule_results(policy, context)
        passed = all(r["passed"] for r in results)
        exception_id = None if passed else excepted_by.get(policy.pk)
        if exception_id is not None:
            for result in results:
                if not result["passed"]:
                    result["exception"] = exception_id
        evaluations.append(
            PolicyEvaluation(
                version=version,
                policy=policy,
                policy_revision=revisions.get(policy.pk),
                environment=environment,
                enforcement=policy.enforcement,
                trigger=trigger,
                passed=passed,
                excepted=exception_id is not None,
                rule_results=results,
            )
        )
    if save and evaluations:
        PolicyEvaluation.objects.bulk_create(evaluations)
    return evaluations


def gate_policies(version: ModelVersion, *, environment: str) -> list[Policy]:
    """The policies the gate judges for a step: every ACTIVE policy scoped to the version's
    tier and `environment`."""
    return Policy.objects.active().in_scope(tier=version.model.risk_tier, environment=environment)


def evaluate_gate(version: ModelVersion, *, environment: str, trigger: str, actor) -> GateOutcome:
    """Run the gate for a promotion step: every ACTIVE policy scoped to the version's tier and
    `environment`. ENFORCE failures not covered by an exception block; WARN failures are
    shown; DRY_RUN results are recorded only."""
    outcome = GateOutcome(
        environment=environment,
        evaluations=judge(
            version,
            gate_policies(version, environment=environment),
            environment=environment,
            trigger=trigger,
        ),
    )
    record_event(
        EventType.POLICY_EVALUATION,
        trigger,
        user=actor,
        model_id=version.model_id,
        version_id=version.pk,
        details=outcome.summary(),
    )
    return outcome


def dry_run_gate(version: ModelVersion, *, environment: str) -> GateOutcome:
    """The gate of a promotion step judged now and recorded nowhere (no result, no audit
    event): the same policies, context and exceptions as `evaluate_gate`, so an outcome that
    is not `blocked` means the step would pass the ENFORCE policies as the version is now."""
    return GateOutcome(
        environment=environment,
        evaluations=judge(
            version,
            gate_policies(version, environment=environment),
            environment=environment,
            trigger=EvaluationTrigger.DRY_RUN,
            save=False,
        ),
    )
