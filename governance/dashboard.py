"""The work queues and the approval dashboard's figures, for any role: set-based queries, a
constant number of them.

Everything here is read through `visible_to(user)`: the lists, and the metrics too (a Model
Owner's decision counts and review times are those of their own models). Who may decide what is
never re-derived here: each queue builds the decision's `separation.Case` from records preloaded
in one query and asks `separation.may_decide` (or `check_deployer`), the same rules the domain
actions enforce, so a queue lists exactly what its reader could act on.

- `pending_reviews`: versions in a review stage waiting for the reader's decision;
- `ready_to_deploy`: for an SRE, APPROVED_STAGING / APPROVED_PRODUCTION, oldest first;
- `pending_exceptions`, `pending_tier_changes`: requests waiting for the reader's approval
  (MRC, Security Architect, Executive);
- `waiting_for(version)`: whom a version waits for next, by role and by name."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from django.db.models import Count, Max, Prefetch, Q

from audit.choices import AuditAction, EventType
from audit.selectors import audit_events
from core.choices import Role
from core.errors import Forbidden
from core.roles import roles_of
from governance import separation
from governance.choices import Decision
from governance.models import Approval, RiskTierChangeRequest, StateTransition, TierChangeDecision
from governance.notifications import users_with_role
from governance.routing import REVIEW_STATES, ROUTES
from policies.choices import ExceptionStatus
from policies.models import ExceptionApproval, PolicyException
from registry.choices import VersionState
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
    approvals = _approvals_by_version(v.pk for v in candidates)
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


def _approvals_by_version(version_ids) -> dict[int, list[tuple]]:
    """The approval records of these versions, one query, as `separation.version_case` and
    `approved_case` read them: (environment, cycle, user_id, role, decision)."""
    approvals = defaultdict(list)
    rows = Approval.objects.filter(version__in=list(version_ids)).values_list(
        "version_id", "environment", "cycle", "user_id", "role", "decision"
    )
    for version_id, *approval in rows:
        approvals[version_id].append(tuple(approval))
    return approvals


def ready_to_deploy(user) -> list[ModelVersion]:
    """For an SRE: the versions approved for an environment and waiting to be deployed, oldest
    approval first (`waiting_since`, the time of the transition into the approved state). Left
    out: those separation of duties forbids the reader to deploy (their own submission or
    production request), and those whose approvals no longer satisfy the model's tier (deploy
    refuses them; an approved tier change sends them back to review)."""
    if Role.SRE not in roles_of(user):
        return []
    candidates = list(
        ModelVersion.objects.visible_to(user)
        .filter(state__in=tuple(separation.APPROVED_STATES))
        .select_related("model", "submitted_by", "production_requested_by")
        .annotate(waiting_since=Max("transitions__timestamp"))
        .order_by("waiting_since", "pk")
    )
    if not candidates:
        return []
    approvals = _approvals_by_version(v.pk for v in candidates)
    ready = []
    for version in candidates:
        try:
            separation.check_deployer(version, user, action="deploy")
        except Forbidden:
            continue
        case = separation.approved_case(version, approvals[version.pk])
        if not separation.remaining_roles(case):
            ready.append(version)
    return ready


# Every role some exception may need an approval from.
EXCEPTION_DECIDERS = frozenset().union(*separation.EXCEPTION_ROLES.values())
# Every role some tier's route asks a review of (governance/routing.py).
VERSION_REVIEWERS = frozenset(
    role for route in ROUTES.values() for role in (*route.staging, *route.production)
)


def pending_exceptions(user) -> list[PolicyException]:
    """Policy exceptions REQUESTED and waiting for an approval `user` may give: a role the
    model's tier needs that is not given yet and that they hold, and nothing separation of
    duties forbids them (not their own request, not their model or submission, one approval
    per person). Oldest request first."""
    held = roles_of(user)
    if not held & EXCEPTION_DECIDERS:
        return []
    candidates = (
        PolicyException.objects.visible_to(user)
        .filter(status=ExceptionStatus.REQUESTED)
        .select_related("policy", "version__model", "requested_by")
        .prefetch_related(
            Prefetch("approvals", queryset=ExceptionApproval.objects.order_by("created_at", "id"))
        )
        .order_by("created_at", "id")
    )
    waiting = []
    for exception in candidates:
        case = separation.exception_case(
            exception, [(a.user_id, a.role) for a in exception.approvals.all()]
        )
        if separation.may_decide(case, user.pk, held, approving=True):
            exception.remaining_roles = separation.remaining_roles(case)
            exception.deciding_role = separation.role_for(case, held, approving=True)
            waiting.append(exception)
    return waiting


def pending_tier_changes(user) -> list[RiskTierChangeRequest]:
    """Risk tier change requests waiting for an approval `user` may give (an MRC's always, a
    Security Architect's for a change to or from HIGH; never the requester's or the model
    owner's, one decision per person). Oldest first."""
    held = roles_of(user)
    if not held & {Role.MRC, Role.SECURITY_ARCHITECT}:
        return []
    candidates = (
        RiskTierChangeRequest.objects.visible_to(user)
        .open()
        .select_related("model", "requested_by")
        .prefetch_related(Prefetch("decisions", queryset=TierChangeDecision.objects.all()))
        .order_by("created_at", "id")
    )
    waiting = []
    for change in candidates:
        case = separation.tier_change_case(
            change, [(d.user_id, d.role, d.decision) for d in change.decisions.all()]
        )
        if separation.may_decide(case, user.pk, held, approving=True):
            change.remaining_roles = separation.remaining_roles(case)
            change.deciding_role = separation.role_for(case, held, approving=True)
            waiting.append(change)
    return waiting


# The states a submission is still on its way to production in: waiting for someone (a review,
# a deployment, the owner's production request from staging) or for changes.
OPEN_REQUEST_STATES = (
    VersionState.SUBMITTED,
    VersionState.CHANGES_REQUIRED,
    *REVIEW_STATES,
    *separation.APPROVED_STATES,
    VersionState.STAGING,
)


def my_requests(user):
    """What `user` submitted or asked production for and is still on its way (not yet in
    production, not retired), among the versions they may still see."""
    return (
        ModelVersion.objects.visible_to(user)
        .filter(Q(submitted_by=user) | Q(production_requested_by=user))
        .filter(state__in=OPEN_REQUEST_STATES)
        .select_related("model")
        .order_by("-updated_at")[:RECENT]
    )


@dataclass(frozen=True)
class Waiting:
    """Whom a version waits for: `roles` (in the order the step needs them), the `people` who
    may take the step now as (username, role) pairs, and a sentence saying it."""

    roles: tuple[str, ...]
    people: tuple[tuple[str, str], ...]
    summary: str

    def as_document(self) -> dict:
        return {
            "roles": list(self.roles),
            "people": [{"username": name, "role": role} for name, role in self.people],
            "summary": self.summary,
        }


def _eligible(roles, barred_ids) -> tuple[tuple[str, str], ...]:
    """Active people holding each role, without those barred (one query per role)."""
    barred = [pk for pk in barred_ids if pk is not None]
    people = []
    for role in roles:
        names = users_with_role(role, exclude_ids=barred).order_by("username")
        people.extend((name, role) for name in names.values_list("username", flat=True))
    return tuple(people)


def _sentence(action: str, roles, people) -> str:
    who = " or ".join(roles)
    if not people:
        return f"Waiting for {action} by {who}: nobody may take this step now (see an admin)."
    names = ", ".join(f"{name} ({role})" for name, role in people)
    return f"Waiting for {action} by {who}: {names}."


def waiting_for(version: ModelVersion) -> Waiting | None:
    """Whom `version` waits for next, by the same rules the actions apply: a review stage's
    missing approvals by people separation of duties allows; an approved version's SRE (not
    its submitter); the owner while it is a draft, needs changes or sits in staging. None when
    nobody is expected to act (SUBMITTED is the policy check's, PRODUCTION and RETIRED end)."""
    state = version.state
    owner = version.model.owner
    if state in REVIEW_STATES:
        approvals = _approvals_by_version([version.pk])[version.pk]
        case = separation.version_case(version, approvals)
        roles = separation.remaining_roles(case)
        barred = [user_id for user_id, _ in case.barred] + list(case.deciders)
        what = "production approval" if state == VersionState.PRODUCTION_REVIEW else "review"
        people = _eligible(roles, barred)
        return Waiting(roles, people, _sentence(what, roles, people))
    if state in separation.APPROVED_STATES:
        roles = (Role.SRE,)
        barred = [version.submitted_by_id, version.production_requested_by_id]
        target = "staging" if state == VersionState.APPROVED_STAGING else "production"
        people = _eligible(roles, barred)
        return Waiting(roles, people, _sentence(f"deployment to {target}", roles, people))
    owner_steps = {
        VersionState.DRAFT: "submission",
        VersionState.CHANGES_REQUIRED: "changes and a new submission",
        VersionState.STAGING: "a production request",
    }
    if state in owner_steps:
        people = ((owner.get_username(), Role.MODEL_OWNER),)
        roles = (Role.MODEL_OWNER,)
        return Waiting(roles, people, _sentence(owner_steps[state], roles, people))
    return None


# Routine session events: in the trail, but not "activity" anyone on a home page looks for.
SESSION_ACTIONS = (AuditAction.LOGIN, AuditAction.LOGOUT, AuditAction.SSO_CLAIMS)


def recent_activity(user, *, limit: int):
    """The latest audit events for a home page, without the routine session events (LOGIN,
    LOGOUT, SSO_CLAIMS stay in the trail). Only for the trail's readers (audit_events checks)."""
    return (
        audit_events(actor=user)
        .exclude(event_type=EventType.AUTHENTICATION, action__in=SESSION_ACTIONS)
        .order_by("-seq")[:limit]
    )


def needs_changes(user):
    """Versions of `user`'s own models sent back for changes (CHANGES_REQUIRED): the owner's
    queue. Oldest first."""
    return (
        ModelVersion.objects.visible_to(user)
        .filter(model__owner=user, state=VersionState.CHANGES_REQUIRED)
        .select_related("model")
        .order_by("updated_at", "pk")
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

    def ready_row(version):
        return version_row(version) | {"waitingSince": version.waiting_since.isoformat()}

    return {
        "pending": [version_row(v) for v in pending_reviews(user)],
        "readyToDeploy": [ready_row(v) for v in ready_to_deploy(user)],
        "pendingExceptions": [
            {
                "id": e.pk,
                "policy": e.policy.policy_id,
                "version": e.version_id,
                "modelName": e.version.model.name,
                "versionLabel": e.version.version,
                "riskTier": e.version.model.risk_tier,
                "requestedBy": e.requested_by.username,
                "yourRole": e.deciding_role,
                "awaiting": list(e.remaining_roles),
                "createdAt": e.created_at.isoformat(),
            }
            for e in pending_exceptions(user)
        ],
        "pendingTierChanges": [
            {
                "id": r.pk,
                "model": r.model_id,
                "modelName": r.model.name,
                "fromTier": r.from_tier,
                "requestedTier": r.requested_tier,
                "requestedBy": r.requested_by.username,
                "yourRole": r.deciding_role,
                "awaiting": list(r.remaining_roles),
                "createdAt": r.created_at.isoformat(),
            }
            for r in pending_tier_changes(user)
        ],
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
