"""The approval dashboard's figures, for any role: set-based queries, a constant number of them.

Everything here is read through `visible_to(user)`: the lists, and the metrics too (a Model
Owner's decision counts and review times are those of their own models)."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
from django.db.models import Count, Q

from core.roles import roles_of
from governance import separation
from governance.choices import Decision
from governance.models import Approval, StateTransition
from governance.routing import REVIEW_STATES
from registry.models import ModelVersion

RECENT = 20


def pending_reviews(user) -> list[ModelVersion]:
    """Versions waiting for a decision `user` may give: by the same rules the review actions
    enforce (governance.separation), applied to every candidate over its approvals preloaded in
    one query: a stage needing a role they hold, nothing separation of duties forbids them."""
    held = roles_of(user)
    candidates = list(
        ModelVersion.objects.visible_to(user)
        .filter(state__in=REVIEW_STATES)
        .select_related("model", "submitted_by", "production_requested_by")
        .order_by("updated_at")
    )
    if not candidates:
        return []
    approvals = defaultdict(list)
    rows = Approval.objects.filter(version__in=[v.pk for v in candidates]).values_list(
        "version_id", "environment", "cycle", "user_id", "role", "decision"
    )
    for version_id, *approval in rows:
        approvals[version_id].append(approval)
    return [
        version
        for version in candidates
        if separation.may_decide(
            separation.version_case(version, approvals[version.pk]),
            user.pk,
            held,
            approving=True,
        )
    ]


def my_requests(user):
    """What `user` submitted or asked production for, among the versions they may still see."""
    return (
        ModelVersion.objects.visible_to(user)
        .filter(Q(submitted_by=user) | Q(production_requested_by=user))
        .select_related("model")
        .order_by("-updated_at")[:RECENT]
    )


def recent_decisions(user):
    return (
        Approval.objects.visible_to(user)
        .select_related("version__model", "user")
        .order_by("-created_at", "-id")[:RECENT]
    )


def _stage_durations(user) -> dict[str, list[float]]:
    """Hours spent in each review stage: from entering it to the next transition."""
    rows = (
        StateTransition.objects.visible_to(user)
        .order_by("version_id", "timestamp", "id")
        .values_list("version_id", "to_state", "timestamp")
    )
    durations: dict[str, list[float]] = defaultdict(list)
    previous = None
    for version_id, to_state, timestamp in rows.iterator(chunk_size=5000):
        if previous and previous[0] == version_id and previous[1] in REVIEW_STATES:
            durations[previous[1]].append((timestamp - previous[2]).total_seconds() / 3600)
        previous = (version_id, to_state, timestamp)
    return durations


def review_metrics(user) -> dict:
    counts = (
        Approval.objects.visible_to(user)
        .values("stage", "decision")
        .annotate(n=Count("id"))
        .order_by()
    )
    by_stage = {stage: {"approved": 0, "rejected": 0} for stage in REVIEW_STATES}
    for row in counts:
        key = "approved" if row["decision"] == Decision.APPROVED else "rejected"
        by_stage.setdefault(row["stage"], {"approved": 0, "rejected": 0})[key] = row["n"]
    durations = _stage_durations(user)
    time_in_stage = {}
    for stage in REVIEW_STATES:
        values = np.array(durations.get(stage, []), dtype=float)
        time_in_stage[stage] = {
            "count": int(values.size),
            "medianHours": round(float(np.median(values)), 2) if values.size else None,
            "p90Hours": round(float(np.percentile(values, 90)), 2) if values.size else None,
        }
    approved = sum(s["approved"] for s in by_stage.values())
    rejected = sum(s["rejected"] for s in by_stage.values())
    return {
        "decisionsByStage": by_stage,
        "timeInStage": time_in_stage,
        "approvalRate": round(approved / (approved + rejected), 4) if approved + rejected else None,
        "approved": approved,
        "rejected": rejected,
    }


def dashboard_document(user) -> dict:
    def version_row(version):
        return {
            "id": version.pk,
            "model": version.model_id,
            "modelName": version.model.name,
            "version": version.version,
            "state": version.state,
            "riskTier": version.model.risk_tier,
            "updatedAt": version.updated_at.isoformat(),
        }

    return {
        "pending": [version_row(v) for v in pending_reviews(user)],
        "myRequests": [version_row(v) for v in my_requests(user)],
        "recentDecisions": [
            {
                "version": a.version_id,
                "modelName": a.version.model.name,
                "versionLabel": a.version.version,
                "stage": a.stage,
                "decision": a.decision,
                "user": a.user.username,
                "role": a.role,
                "comments": a.comments,
                "at": a.created_at.isoformat(),
            }
            for a in recent_decisions(user)
        ],
        "metrics": review_metrics(user),
    }
