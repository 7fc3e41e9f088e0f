"""Impact analysis and dry runs: which versions a policy covers and whether each passes now.

Set-based: the versions in scope, their models, owners and artifacts come in three queries,
then each version's context is built in memory and the compiled conditions run against it.
"""

from __future__ import annotations

from collections import defaultdict

from policies.conditions import prepare_context
from policies.context import build_context
from policies.gate import evaluation_documents_for, rule_outcome
from policies.models import Policy
from registry.choices import VersionState
from registry.models import Artifact, ModelVersion


def versions_in_scope(policy: Policy):
    return (
        ModelVersion.objects.filter(model__risk_tier__in=policy.risk_tiers)
        .exclude(state=VersionState.RETIRED)
        .select_related("model__owner")
        .order_by("model__name", "version")
    )


def impact(policy: Policy) -> list[dict]:
    """Every non-retired version in the policy's scope, with `passed` for every environment of
    its scope, evaluated now and not stored (works the same for DRAFT policies: the dry run)."""
    versions = list(versions_in_scope(policy))
    artifacts: dict[int, list[Artifact]] = defaultdict(list)
    for artifact in Artifact.objects.filter(version__in=[v.pk for v in versions]).order_by(
        "version_id", "created_at", "id"
    ):
        artifacts[artifact.version_id].append(artifact)
    evaluations = evaluation_documents_for([v.pk for v in versions])
    rows = []
    for version in versions:
        failed_messages = []
        for environment in policy.environments:
            context = prepare_context(
                build_context(
                    version,
                    environment=environment,
                    artifacts=artifacts[version.pk],
                    evaluations=evaluations.get(version.pk, {}),
                )
            )
            for rule in policy.rules:
                outcome = rule_outcome(rule["condition"], context)
                if not outcome.passed:
                    failed_messages.append(f"{environment}: {rule['message']}")
        rows.append(
            {
                "version": version.pk,
                "model": version.model_id,
                "modelName": version.model.name,
                "versionLabel": version.version,
                "state": version.state,
                "passed": not failed_messages,
                "failures": failed_messages,
            }
        )
    return rows
