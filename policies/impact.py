"""Impact analysis and dry runs: which versions a policy covers and whether each passes now.

Set-based: the versions in scope, their models, owners and artifacts come in three queries,
then each version's context is built in memory and the compiled conditions run against it.
Only the versions the asker may see are listed: a Model Owner learns nothing of other owners'
models from a policy's impact or a dry run.
"""

from __future__ import annotations

from collections import defaultdict

from evaluations.monitoring.selectors import monitoring_contexts_for
from policies.condition_context import ROOT_NAMES
from policies.conditions import ConditionError, compile_condition, prepare_context
from policies.context import ARTIFACT_VALUES, VERSION_VALUES, build_context
from policies.gate import evaluation_documents_for, rule_outcome
from policies.models import Policy
from registry.choices import VersionState
from registry.models import Artifact, ModelVersion


def _names_read(policy: Policy) -> frozenset[str]:
    """The context names the policy's rules use; converting only those is the main saving."""
    names: set[str] = set()
    for rule in policy.rules:
        try:
            names |= compile_condition(rule["condition"]).names
        except ConditionError:
            return frozenset(ROOT_NAMES)  # judged (and failed) per rule, saying why
    return frozenset(names)


def versions_in_scope(policy: Policy, *, actor):
    """The non-retired versions in the policy's scope that `actor` may see."""
    return (
        ModelVersion.objects.visible_to(actor)
        .filter(model__risk_tier__in=policy.risk_tiers)
        .exclude(state=VersionState.RETIRED)
        .order_by("model__name", "version")
    )


def impact(policy: Policy, *, actor) -> list[dict]:
    """Every non-retired version in the policy's scope that `actor` may see, with `passed` for
    every environment of its scope, evaluated now and not stored (works the same for DRAFT
    policies: the dry run)."""
    in_scope = versions_in_scope(policy, actor=actor)
    # Plain rows, not model instances: building 10,000 objects would cost more than judging.
    versions = list(in_scope.values(*VERSION_VALUES))
    ids = [v["pk"] for v in versions]
    artifacts: dict[int, list[dict]] = defaultdict(list)
    for row in (
        Artifact.objects.filter(version__in=in_scope.values("pk"))
        .order_by("version_id", "created_at", "id")
        .values(*ARTIFACT_VALUES)
        .iterator(chunk_size=5000)
    ):
        artifacts[row["version_id"]].append(row)
    evaluations = evaluation_documents_for(ids)
    monitored = monitoring_contexts_for(ids)  # every version's at once, not one query each
    # A policy whose rules never read `environment` judges a version the same way in every
    # environment of its scope: evaluate it once.
    environments = list(policy.environments)
    if "environment" not in (names := _names_read(policy)):
        environments = environments[:1]
    rows = []
    for version in versions:
        failed_messages = []
        for environment in environments:
            context = build_context(
                version,
                environment=environment,
                artifacts=artifacts[version["pk"]],
                evaluations=evaluations.get(version["pk"], {}),
                monitoring=monitored.get(version["pk"]),
            )
            context = prepare_context({k: v for k, v in context.items() if k in names})
            for rule in policy.rules:
                outcome = rule_outcome(rule["condition"], context)
                if not outcome.passed:
                    where = environment if len(environments) > 1 else "/".join(policy.environments)
                    failed_messages.append(f"{where}: {rule['message']}")
        rows.append(
            {
                "version": version["pk"],
                "model": version["model_id"],
                "modelName": version["model__name"],
                "versionLabel": version["version"],
                "state": version["state"],
                "passed": not failed_messages,
                "failures": failed_messages,
            }
        )
    return rows
