"""The promotion workflow: one domain function per action of the contract.

Each checks the role, the object permission, separation of duties and the state; makes the
transition in one transaction with the version's row locked; writes the approval record, the
transition and the MODEL_PROMOTION audit event; and queues the notifications. API views, page
views and admin actions call these functions and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass

from audit.choices import EventType
from audit.services import SYSTEM_USER, record_event
from core.access import authorize, is_allowed
from core.choices import Action
from core.domain import domain_action
from core.errors import Forbidden, InvalidState
from core.roles import roles_of
from evaluations.services import cancel_runs_of_retired_version
from governance import separation
from governance.choices import Decision, Environment, NotificationKind, PromotionAction
from governance.models import Approval, StateTransition
from governance.notifications import notify, users_with_role
from governance.routing import (
    STAGE_ROLE,
    STAGING_STAGES,
    next_production_state,
    next_staging_state,
    production_roles,
)
from policies.choices import EvaluationTrigger
from policies.gate import GateOutcome, evaluate_gate
from registry.choices import VersionState
from registry.models import ModelVersion

S = VersionState


@dataclass
class StepResult:
    version: ModelVersion
    gate: GateOutcome | None = None

    @property
    def blocked(self) -> bool:
        return self.gate is not None and self.gate.blocked


def _lock(version: ModelVersion) -> ModelVersion:
    """Lock the version's row and check nobody moved it since the caller read it.

    Two decisions racing on one version: the second waits for the lock, then finds the state
    it was deciding on gone and gets 409 instead of making a second transition.
    """
    locked = (
        ModelVersion.objects.select_related("model__owner")
        .select_for_update(of=("self",))
        .get(pk=version.pk)
    )
    if locked.state != version.state:
        raise InvalidState(
            f"the version moved from {version.state} to {locked.state} while your request was "
            "being made; reload it and decide again",
            state=locked.state,
        ).about(model_id=locked.model_id, version_id=locked.pk)
    return locked


def _wrong_state(version: ModelVersion, what: str, allowed: tuple[str, ...]) -> InvalidState:
    return InvalidState(
        f"cannot {what} a version in {version.state}; possible only from {', '.join(allowed)}",
        state=version.state,
    ).about(model_id=version.model_id, version_id=version.pk)


def _move(
    version: ModelVersion,
    make_transition,
    *,
    action: str,
    user=None,
    comments: str = "",
    details: dict | None = None,
) -> StateTransition:
    from_state = version.state
    make_transition()
    version.save()
    transition = StateTransition.objects.create(
        version=version,
        from_state=from_state,
        to_state=version.state,
        action=action,
        user=user,
        comments=comments,
    )
    record_event(
        EventType.MODEL_PROMOTION,
        action,
        user=user or SYSTEM_USER,
        model_id=version.model_id,
        version_id=version.pk,
        details={
            "fromState": from_state,
            "toState": version.state,
            "comments": comments,
            **(details or {}),
        },
    )
    return transition


def _label(version: ModelVersion) -> str:
    return f"{version.model.name} {version.version}"


def _people_concerned(version: ModelVersion):
    return [version.model.owner, version.submitted_by, version.production_requested_by]


def _announce(version: ModelVersion) -> None:
    """Tell the people the version now waits for."""
    excluded = {version.model.owner_id, version.submitted_by_id, version.production_requested_by_id}
    excluded.discard(None)
    state = version.state
    if state in STAGING_STAGES:
        reviewers = users_with_role(STAGE_ROLE[state], exclude_ids=excluded)
        message = f"{_label(version)} awaits your review ({state})"
        notify(reviewers, kind=NotificationKind.REVIEW_REQUESTED, message=message, version=version)
    elif state == S.PRODUCTION_REVIEW:
        for role in production_roles(version.model.risk_tier):
            notify(
                users_with_role(role, exclude_ids=excluded),
                kind=NotificationKind.REVIEW_REQUESTED,
                message=f"{_label(version)} awaits your production review (as {role})",
                version=version,
            )
    elif state in (S.APPROVED_STAGING, S.APPROVED_PRODUCTION):
        target = "staging" if state == S.APPROVED_STAGING else "production"
        notify(
            users_with_role("SRE", exclude_ids=excluded),
            kind=NotificationKind.DEPLOY_REQUESTED,
            message=f"{_label(version)} is approved for {target} and awaits deployment",
            version=version,
        )
        notify(
            _people_concerned(version),
            kind=NotificationKind.APPROVED,
            message=f"{_label(version)} was approved for {target}",
            version=version,
        )


@domain_action(Action.SUBMIT_VERSION)
def submit_version(version: ModelVersion, *, actor, comments: str = "") -> StepResult:
    """DRAFT/CHANGES_REQUIRED → SUBMITTED, then the staging policy gate routes it on by tier."""
    authorize(actor, Action.SUBMIT_VERSION, model=version.model, version_id=version.pk)
    version = _lock(version)
    if version.state not in (S.DRAFT, S.CHANGES_REQUIRED):
        raise _wrong_state(version, "submit", (S.DRAFT, S.CHANGES_REQUIRED))
    version.review_cycle += 1
    version.submitted_by = actor
    version.production_requested_by = None
    _move(version, version.submit, action=PromotionAction.SUBMIT, user=actor, comments=comments)
    gate = evaluate_gate(
        version, environment=Environment.STAGING, trigger=EvaluationTrigger.SUBMIT, actor=actor
    )
    if gate.blocked:
        failed = ", ".join(f["policyId"] for f in gate.failures)
        _move(
            version,
            version.fail_policy_check,
            action=PromotionAction.POLICY_CHECK_FAILED,
            comments=f"Policy evaluation failed: {failed}",
            details={"failures": gate.failures},
        )
        notify(
            _people_concerned(version),
            kind=NotificationKind.CHANGES_REQUIRED,
            message=f"{_label(version)} needs changes: policies failed ({failed})",
            version=version,
        )
        return StepResult(version, gate)
    following = next_staging_state(version.model.risk_tier)
    automatic = following == S.APPROVED_STAGING
    _move(
        version,
        lambda: version.route_after_submit(following),
        action=PromotionAction.APPROVE_STAGING if automatic else PromotionAction.ROUTE_TO_REVIEW,
        comments=f"Automatic approval for {version.model.risk_tier} risk" if automatic else "",
        details={"approver": SYSTEM_USER} if automatic else {},
    )
    _announce(version)
    return StepResult(version, gate)


def _case(version: ModelVersion) -> separation.Case:
    """The version's review decision as the rules see it, from its approval records."""
    approvals = Approval.objects.filter(version=version).values_list(
        "environment", "cycle", "user_id", "role", "decision"
    )
    return separation.version_case(version, approvals)


def _reviewing_role(version: ModelVersion, actor, *, approving: bool) -> tuple[str, str]:
    """The role in which `actor` decides at the version's current stage, and the environment;
    then separation of duties (the role is told first: it is what most refusals are about)."""
    if version.state not in (*STAGING_STAGES, S.PRODUCTION_REVIEW):
        raise _wrong_state(
            version, "approve or reject", (S.MRC_REVIEW, S.SECURITY_REVIEW, S.PRODUCTION_REVIEW)
        )
    case = _case(version)
    role = separation.role_for(case, roles_of(actor), approving=approving)
    if role is None:
        if version.state in STAGING_STAGES:
            raise Forbidden(f"a decision in {version.state} needs the role {case.needed[0]}").about(
                model_id=version.model_id, version_id=version.pk
            )
        needed = separation.open_roles(case, approving=approving)
        raise Forbidden(
            f"production review of this {version.model.risk_tier} version now needs an "
            f"approval by {' or '.join(needed) or 'nobody'}"
        ).about(model_id=version.model_id, version_id=version.pk)
    separation.check_case(case, actor, action=Action.REVIEW_VERSION, version=version)
    return role, case.environment


def _record_decision(
    version: ModelVersion,
    actor,
    *,
    decision: str,
    comments: str,
    checklist: dict | None,
    approving: bool,
) -> tuple[Approval, str]:
    role, environment = _reviewing_role(version, actor, approving=approving)
    approval = Approval.objects.create(
        version=version,
        stage=version.state,
        environment=environment,
        cycle=version.review_cycle,
        decision=decision,
        user=actor,
        role=role,
        comments=comments,
        checklist=checklist,
    )
    return approval, role


@domain_action(Action.REVIEW_VERSION)
def approve_version(
    version: ModelVersion, *, actor, comments: str = "", checklist: dict | None = None
) -> StepResult:
    authorize(actor, Action.REVIEW_VERSION, model=version.model, version_id=version.pk)
    version = _lock(version)
    stage = version.state
    _, role = _record_decision(
        version,
        actor,
        decision=Decision.APPROVED,
        comments=comments,
        checklist=checklist,
        approving=True,
    )
    details = {"approver": actor.get_username(), "role": role, "checklist": checklist}
    if stage in STAGING_STAGES:
        following = next_staging_state(version.model.risk_tier, after=stage)
        if stage == S.MRC_REVIEW:
            make = lambda: version.approve_mrc_review(following)  # noqa: E731
        else:
            make = version.approve_security_review
        _move(
            version,
            make,
            action=PromotionAction.APPROVE_STAGING,
            user=actor,
            comments=comments,
            details=details,
        )
        _announce(version)
        return StepResult(version)
    remaining = list(separation.remaining_roles(_case(version)))
    if remaining:
        record_event(
            EventType.MODEL_PROMOTION,
            PromotionAction.APPROVE_PRODUCTION,
            user=actor,
            model_id=version.model_id,
            version_id=version.pk,
            details={
                "fromState": stage,
                "toState": stage,
                "comments": comments,
                "awaiting": remaining,
                **details,
            },
        )
        return StepResult(version)
    _move(
        version,
        version.approve_for_production,
        action=PromotionAction.APPROVE_PRODUCTION,
        user=actor,
        comments=comments,
        details=details,
    )
    _announce(version)
    return StepResult(version)


@domain_action(Action.REVIEW_VERSION)
def reject_version(version: ModelVersion, *, actor, comments: str = "") -> StepResult:
    authorize(actor, Action.REVIEW_VERSION, model=version.model, version_id=version.pk)
    version = _lock(version)
    stage = version.state
    _, role = _record_decision(
        version,
        actor,
        decision=Decision.REJECTED,
        comments=comments,
        checklist=None,
        approving=False,
    )
    details = {"approver": actor.get_username(), "role": role, "decision": Decision.REJECTED}
    if stage in STAGING_STAGES:
        _move(
            version,
            version.require_changes,
            action=PromotionAction.REJECT,
            user=actor,
            comments=comments,
            details=details,
        )
        kind, outcome = NotificationKind.REJECTED, "was rejected: changes required"
    else:
        _move(
            version,
            version.return_to_staging,
            action=PromotionAction.REJECT_PRODUCTION,
            user=actor,
            comments=comments,
            details=details,
        )
        kind, outcome = NotificationKind.REJECTED, "was refused production and is back in STAGING"
    notify(
        _people_concerned(version),
        kind=kind,
        message=f"{_label(version)} {outcome} ({role}: {comments or 'no comment'})",
        version=version,
    )
    return StepResult(version)


@domain_action(Action.DEPLOY_VERSION)
def deploy_version(version: ModelVersion, *, actor, comments: str = "") -> StepResult:
    authorize(actor, Action.DEPLOY_VERSION, model=version.model, version_id=version.pk)
    version = _lock(version)
    if version.state == S.APPROVED_STAGING:
        make, action, target = version.deploy_to_staging, PromotionAction.DEPLOY_STAGING, "staging"
    elif version.state == S.APPROVED_PRODUCTION:
        make, action = version.deploy_to_production, PromotionAction.DEPLOY_PRODUCTION
        target = "production"
    else:
        raise _wrong_state(version, "deploy", (S.APPROVED_STAGING, S.APPROVED_PRODUCTION))
    separation.check_deployer(version, actor, action=Action.DEPLOY_VERSION)
    _move(version, make, action=action, user=actor, comments=comments)
    notify(
        _people_concerned(version),
        kind=NotificationKind.DEPLOYED,
        message=f"{_label(version)} was deployed to {target} by {actor.get_username()}",
        version=version,
    )
    return StepResult(version)


@domain_action(Action.REQUEST_PRODUCTION)
def request_production(version: ModelVersion, *, actor, comments: str = "") -> StepResult:
    """STAGING → PRODUCTION_REVIEW (MEDIUM, HIGH) or APPROVED_PRODUCTION (LOW), after the
    production policy gate. On an enforced failure the version stays in STAGING and the
    result says blocked (the API answers 409 with the failures)."""
    authorize(actor, Action.REQUEST_PRODUCTION, model=version.model, version_id=version.pk)
    version = _lock(version)
    if version.state != S.STAGING:
        raise _wrong_state(version, "request production for", (S.STAGING,))
    gate = evaluate_gate(
        version,
        environment=Environment.PRODUCTION,
        trigger=EvaluationTrigger.REQUEST_PRODUCTION,
        actor=actor,
    )
    if gate.blocked:
        record_event(
            EventType.MODEL_PROMOTION,
            PromotionAction.PRODUCTION_BLOCKED,
            user=actor,
            model_id=version.model_id,
            version_id=version.pk,
            details={
                "fromState": S.STAGING,
                "toState": S.STAGING,
                "comments": comments,
                "failures": gate.failures,
            },
        )
        return StepResult(version, gate)
    version.review_cycle += 1
    version.production_requested_by = actor
    following = next_production_state(version.model.risk_tier)
    if following == S.APPROVED_PRODUCTION:
        action = PromotionAction.APPROVE_PRODUCTION
        details = {"approver": SYSTEM_USER, "requestedBy": actor.get_username()}
        comments = comments or f"Automatic approval for {version.model.risk_tier} risk"
    else:
        action, details = PromotionAction.REQUEST_PRODUCTION, {}
    _move(
        version,
        lambda: version.advance_to_production(following),
        action=action,
        user=actor,
        comments=comments,
        details=details,
    )
    _announce(version)
    return StepResult(version, gate)


@domain_action(Action.RETIRE_VERSION)
def retire_version(version: ModelVersion, *, actor, comments: str = "") -> StepResult:
    authorize(actor, Action.RETIRE_VERSION, model=version.model, version_id=version.pk)
    version = _lock(version)
    if version.state == S.RETIRED:
        raise InvalidState("the version is already RETIRED", state=version.state).about(
            model_id=version.model_id, version_id=version.pk
        )
    _move(version, version.retire, action=PromotionAction.RETIRE, user=actor, comments=comments)
    # A retired version is not evaluated any more: its queued and running evaluation runs are
    # cancelled in this transaction, under the version's row lock (the worker's claim takes the
    # same lock). The workflow sits above evaluations in the layers (.importlinter).
    cancel_runs_of_retired_version(version, actor=actor)
    return StepResult(version)


def available_actions(version: ModelVersion, user) -> list[str]:
    """The actions `user` could take on `version` now (for showing buttons); the domain
    functions above still decide when one is attempted."""
    model = version.model
    state = version.state
    actions = []
    if state in (S.DRAFT, S.CHANGES_REQUIRED) and is_allowed(
        user, Action.SUBMIT_VERSION, model=model
    ):
        actions.append("submit")
    if state in (*STAGING_STAGES, S.PRODUCTION_REVIEW) and is_allowed(
        user, Action.REVIEW_VERSION, model=model
    ):
        for name, approving in (("approve", True), ("reject", False)):
            try:
                _reviewing_role(version, user, approving=approving)
            except (Forbidden, InvalidState):
                continue
            actions.append(name)
    if state in (S.APPROVED_STAGING, S.APPROVED_PRODUCTION) and is_allowed(
        user, Action.DEPLOY_VERSION, model=model
    ):
        try:
            separation.check_deployer(version, user, action="deploy")
            actions.append("deploy")
        except Forbidden:
            pass
    if state == S.STAGING and is_allowed(user, Action.REQUEST_PRODUCTION, model=model):
        actions.append("request-production")
    if state != S.RETIRED and is_allowed(user, Action.RETIRE_VERSION, model=model):
        actions.append("retire")
    return actions


# The actions by their API name, for the ways in that dispatch on it (pages, demo data).
ACTIONS = {
    "submit": submit_version,
    "approve": approve_version,
    "reject": reject_version,
    "deploy": deploy_version,
    "request-production": request_production,
    "retire": retire_version,
}
