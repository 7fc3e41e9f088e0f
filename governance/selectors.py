"""Reads for the workflow's pages."""

from __future__ import annotations

from evaluations.choices import Suite
from governance import dashboard
from governance.choices import MRC_CHECKLIST, Environment
from governance.models import Approval, StateTransition
from governance.promotion import available_actions
from policies.choices import Enforcement
from policies.conditions import ConditionError, compile_condition
from policies.gate import dry_run_gate
from policies.selectors import latest_evaluations
from registry.choices import MODEL_CARD_SECTIONS
from registry.models import ModelVersion

# The step each readiness check prepares, and the environment whose gate that step runs.
READINESS_STEPS = (
    ("submit", Environment.STAGING, "Submit for approval"),
    ("request-production", Environment.PRODUCTION, "Request production"),
)


def _fix(condition: str) -> dict | None:
    """Where a failed rule's condition says to fix it: a model card section, an evaluation
    suite, or the artifacts (what the condition selects, not its wording)."""
    try:
        paths = compile_condition(condition).paths
    except ConditionError:
        return None
    for path in sorted(paths, key=len, reverse=True):
        root, rest = path[0], path[1:]
        if root == "version" and rest[:1] == ("documentation",):
            section = rest[1] if len(rest) > 1 and isinstance(rest[1], str) else None
            label = MODEL_CARD_SECTIONS.get(section, {}).get("label") if section else None
            return {"kind": "documentation", "section": section, "label": label}
        if root == "evaluations" and rest and isinstance(rest[0], str):
            suite = rest[0]
            label = Suite(suite).label if suite in Suite.values else suite
            return {"kind": "evaluation", "suite": suite, "label": label}
        if root in ("artifact", "artifacts"):
            return {"kind": "artifact"}
    return None


def readiness(version: ModelVersion, actions: list[str]) -> dict | None:
    """What the next promotion step's gate would say now, for the owner before they take it:
    a dry run of the real gate (the same ACTIVE policies, context and exceptions; nothing is
    recorded), so "ready" means the step passes the ENFORCE policies. None when the user has
    no submit or request-production step to take.

    Each in-scope ENFORCE or WARN policy is an item, passing or not; each failed rule says in
    its own words what is missing and where to fix it (`fix`: the model card section, the
    evaluation suite to run, or the artifacts). DRY_RUN policies decide nothing and are left
    out, as are rules that pass.
    """
    step = next((s for s in READINESS_STEPS if s[0] in actions), None)
    if step is None:
        return None
    action, environment, label = step
    gate = dry_run_gate(version, environment=environment)
    items = []
    for evaluation in gate.evaluations:
        if evaluation.enforcement == Enforcement.DRY_RUN:
            continue
        failed = [r for r in evaluation.rule_results if not r["passed"]]
        items.append(
            {
                "policy_id": evaluation.policy.policy_id,
                "name": evaluation.policy.name,
                "enforcement": evaluation.enforcement,
                "ok": evaluation.passed or evaluation.excepted,
                "excepted": evaluation.excepted,
                "blocks": evaluation.blocks,
                "missing": [
                    {
                        "message": r["message"],
                        "exception": r["exception"],
                        "fix": _fix(r["condition"]),
                    }
                    for r in failed
                ],
            }
        )
    items.sort(key=lambda item: (item["ok"], not item["blocks"], item["name"]))
    return {
        "action": action,
        "step": label,
        "environment": environment,
        "ready": not gate.blocked,
        "items": items,
        "blocking": sum(1 for item in items if item["blocks"]),
        "documentation_is_text": isinstance(version.documentation, str)
        and bool(version.documentation.strip()),
        "editable": version.is_editable,
    }


def version_workflow(version: ModelVersion, user) -> dict:
    actions = available_actions(version, user)
    return {
        "actions": actions,
        "timeline": StateTransition.objects.filter(version=version)
        .select_related("user")
        .order_by("timestamp", "id"),
        "approvals": Approval.objects.filter(version=version)
        .select_related("user")
        .order_by("created_at", "id"),
        "readiness": readiness(version, actions),
        "policy_evaluations": latest_evaluations(version),
        "checklist_items": MRC_CHECKLIST,
        "waiting_for": dashboard.waiting_for(version),
    }
