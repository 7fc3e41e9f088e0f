"""Reading policies and their results (every role may read policies)."""

from __future__ import annotations

from governance.access import authorize
from governance.actions import domain_action
from governance.choices import Action
from policies.models import Policy, PolicyEvaluation
from registry.models import ModelVersion


@domain_action(Action.READ_POLICIES)
def readable_policies(*, actor):
    authorize(actor, Action.READ_POLICIES)
    return Policy.objects.all()


def latest_evaluations(version: ModelVersion) -> list[PolicyEvaluation]:
    """The latest evaluation of every policy (per environment) on the version."""
    seen, latest = set(), []
    for evaluation in version.policy_evaluations.select_related("policy").order_by(
        "-evaluated_at", "-id"
    ):
        key = (evaluation.policy_id, evaluation.environment)
        if key not in seen:
            seen.add(key)
            latest.append(evaluation)
    return latest
