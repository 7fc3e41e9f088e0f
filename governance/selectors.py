"""Reads for the workflow's pages."""

from __future__ import annotations

from governance.choices import MRC_CHECKLIST
from governance.models import Approval, StateTransition
from governance.promotion import available_actions
from policies.selectors import latest_evaluations
from registry.choices import ScanStatus
from registry.models import ModelVersion


def readiness(version: ModelVersion, artifacts) -> list[dict]:
    """What an owner should check before submitting (the guide's "Check Readiness")."""
    documentation = version.documentation
    has_docs = bool(documentation.strip() if isinstance(documentation, str) else documentation)
    scans = [a.scan_status for a in artifacts]
    return [
        {"label": "At least one artifact", "ok": bool(artifacts)},
        {
            "label": "A model artifact",
            "ok": any(a.type == "model" for a in artifacts),
        },
        {"label": "Documentation written", "ok": has_docs},
        {
            "label": "Every artifact's security scan PASSED",
            "ok": bool(scans) and all(s == ScanStatus.PASSED for s in scans),
        },
    ]


def version_workflow(version: ModelVersion, user, artifacts) -> dict:
    return {
        "actions": available_actions(version, user),
        "timeline": StateTransition.objects.filter(version=version)
        .select_related("user")
        .order_by("timestamp", "id"),
        "approvals": Approval.objects.filter(version=version)
        .select_related("user")
        .order_by("created_at", "id"),
        "readiness": readiness(version, artifacts),
        "policy_evaluations": latest_evaluations(version),
        "checklist_items": MRC_CHECKLIST,
    }
