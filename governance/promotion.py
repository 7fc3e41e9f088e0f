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
from core.domain import domain_action, record_refusal
from core.errors import Forbidden, Invalid, InvalidState
from core.roles import roles_of
from evaluations.services import cancel_runs_of_retired_version
from governance import separation
from governance.choices import (
    REVIEW_CHECKLISTS,
    Decision,
    Environment,
    NotificationKind,
    PromotionAction,
)
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
from registry.mlflow import sync as mlflow_sync
from registry.models import ModelVersion, RegisteredModel

S = VersionState


class ChecklistNotTicked(Invalid):
    """An approval without every item of the reviewer's checklist ticked (400). Unlike other
    bad input it is audited: a reviewer's attempt to approve without the assurance."""


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
    return separation.version_case(version, _approvals(version))


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


def _ticked(given: dict | None, items) -> bool:
    return isinstance(given, dict) and any(given.get(item) is True for item in items)


def attested_checklists(
    version: ModelVersion, role: str, given: dict[str, dict | None]
) -> dict[str, dict]:
    """The checklist an approval in `role` records, by its attribute (`checklist`,
    `security_checklist`; `given` is keyed the same): the role's own with every item ticked,
    or ChecklistNotTicked naming the items that are not (a reviewer who cannot tick them
    rejects). Another role's checklist with an item ticked is refused too: it is not this
    reviewer's to attest."""
    own = REVIEW_CHECKLISTS[role]
    mine = given.get(own.attribute)
    unticked = [
        item for item in own.items if not (isinstance(mine, dict) and mine.get(item) is True)
    ]
    if unticked:
        raise ChecklistNotTicked(
            f"approving as {role} needs every item of the {own.title} ticked; not ticked: "
            f"{', '.join(unticked)} (a reviewer who cannot tick them rejects)",
            field=own.field,
        ).about(action=Action.REVIEW_VERSION, model_id=version.model_id, version_id=version.pk)
    for other_role, other in REVIEW_CHECKLISTS.items():
        if other_role != role and _ticked(given.get(other.attribute), other.items):
            raise Invalid(
                f"{other.field} is the {other.title} of a {other_role} review; "
                f"you approve as {role} with {own.field}",
                field=other.field,
            )
    return {own.attribute: dict.fromkeys(own.items, True)}


def _record_decision(
    version: ModelVersion,
    actor,
    *,
    decision: str,
    comments: str,
    checklists: dict[str, dict | None],
    approving: bool,
) -> tuple[Approval, str, dict[str, dict]]:
    role, environment = _reviewing_role(version, actor, approving=approving)
    attested = attested_checklists(version, role, checklists) if approving else {}
    approval = Approval.objects.create(
        version=version,
        stage=version.state,
        environment=environment,
        cycle=version.review_cycle,
        decision=decision,
        user=actor,
        role=role,
        comments=comments,
        **attested,
    )
    return approval, role, attested


def approve_version(
    version: ModelVersion,
    *,
    actor,
    comments: str = "",
    checklist: dict | None = None,
    security_checklist: dict | None = None,
) -> StepResult:
    """Approve at the version's current review. An MRC approval carries the MRC checklist, a
    Security Architect's the four security review areas, every item ticked (400 naming the
    items otherwise, audited like any refused attempt)."""
    try:
        return _approve_version(
            version,
            actor=actor,
            comments=comments,
            checklists={"checklist": checklist, "security_checklist": security_checklist},
        )
    except ChecklistNotTicked as error:
        # After the rollback, as domain_action does for a refusal by role or state.
        record_refusal(actor, Action.REVIEW_VERSION, error)
        raise


@domain_action(Action.REVIEW_VERSION)
def _approve_version(
    version: ModelVersion, *, actor, comments: str, checklists: dict[str, dict | None]
) -> StepResult:
    authorize(actor, Action.REVIEW_VERSION, model=version.model, version_id=version.pk)
    version = _lock(version)
    stage = version.state
    _, role, attested = _record_decision(
        version,
        actor,
        decision=Decision.APPROVED,
        comments=comments,
        checklists=checklists,
        approving=True,
    )
    details = {
        "approver": actor.get_username(),
        "role": role,
        # The checklist under its published name, as the approval shows it.
        REVIEW_CHECKLISTS[role].field: attested[REVIEW_CHECKLISTS[role].attribute],
    }
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
    _, role, _ = _record_decision(
        version,
        actor,
        decision=Decision.REJECTED,
        comments=comments,
        checklists={},
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
    lacking = lacking_reviews(version)
    if lacking:
        raise InvalidState(
            f"approved under a lower risk tier: the model is {version.model.risk_tier} now, and "
            f"its way to {target} needs the review of {' and '.join(lacking)}, which this "
            "version's approvals lack",
            state=version.state,
        ).about(model_id=version.model_id, version_id=version.pk)
    _move(version, make, action=action, user=actor, comments=comments)
    mlflow_sync.version_deployed(version)  # an MLflow version: its aliases follow, on commit
    notify(
        _people_concerned(version),
        kind=NotificationKind.DEPLOYED,
        message=f"{_label(version)} was deployed to {target} by {actor.get_username()}",
        version=version,
    )
    return StepResult(version)


def _approvals(version: ModelVersion):
    return Approval.objects.filter(version=version).values_list(
        "environment", "cycle", "user_id", "role", "decision"
    )


def lacking_reviews(version: ModelVersion) -> tuple[str, ...]:
    """The roles whose approvals the model's tier now needs for the environment a version in
    APPROVED_STAGING / APPROVED_PRODUCTION is approved for, and its current cycle lacks."""
    return separation.remaining_roles(separation.approved_case(version, _approvals(version)))


REOPEN = {
    S.APPROVED_STAGING: lambda version: version.reopen_staging_review,
    S.APPROVED_PRODUCTION: lambda version: version.reopen_production_review,
}


def reopen_reviews(model: RegisteredModel, *, previous_tier: str, request_id: int) -> list[int]:
    """After an approved risk tier change: send the model's approved versions whose approvals
    do not satisfy the new tier back to the first review of their way (APPROVED_STAGING to
    MRC_REVIEW, APPROVED_PRODUCTION to PRODUCTION_REVIEW), a transition made by the system
    and audited, and tell their owners and the reviewers. The caller holds the transaction
    (the tier change's). Returns the ids of the versions sent back.

    Each return opens a new review cycle: the approvals were given against the old tier's
    requirements (its evaluation thresholds and policies), so the reviews start again under
    the new one, and a reviewer of the old cycle may review again."""
    reopened = []
    candidates = (
        ModelVersion.objects.select_related("model__owner")
        .select_for_update(of=("self",))
        .filter(model=model, state__in=tuple(REOPEN))
        .order_by("pk")
    )
    for version in candidates:
        lacking = lacking_reviews(version)
        if not lacking:
            continue
        approved_for = version.state
        version.review_cycle += 1
        comments = (
            f"Risk tier changed from {previous_tier} to {model.risk_tier} (request "
            f"#{request_id}); the approvals lack the review of {' and '.join(lacking)}"
        )
        _move(
            version,
            REOPEN[approved_for](version),
            action=PromotionAction.RETURN_TO_REVIEW,
            comments=comments,
            details={
                "approver": SYSTEM_USER,
                "request": request_id,
                "fromTier": previous_tier,
                "toTier": model.risk_tier,
                "lacking": list(lacking),
            },
        )
        notify(
            _people_concerned(version),
            kind=NotificationKind.TIER_CHANGE,
            message=f"{_label(version)} is back in {version.state}: {comments}",
            version=version,
        )
        _announce(version)
        reopened.append(version.pk)
    return reopened


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


def review_role(version: ModelVersion, user) -> str | None:
    """The role in which `user` may approve `version` now (which checklist their approval
    carries), or None when they may not approve it."""
    if version.state not in (*STAGING_STAGES, S.PRODUCTION_REVIEW) or not is_allowed(
        user, Action.REVIEW_VERSION, model=version.model
    ):
        return None
    try:
        role, _ = _reviewing_role(version, user, approving=True)
    except (Forbidden, InvalidState):
        return None
    return role


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
