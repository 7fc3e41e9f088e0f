"""Separation of duties and which role decides now: one rule book for every N-of-M decision.

A decision (a version's review, a risk tier change request, a policy exception) needs an
approval by each of some roles, each from a different person, and some people may never give
it. The rules of the contract:

- the model's owner and the version's submitter never approve (or reject) that version;
- one person gives at most one decision on a version's way to an environment (on a request,
  on an exception);
- only an SRE deploys, and never a version that person submitted or asked production for;
- nobody approves their own request of any kind.

A `Case` says, for one decision, which roles it needs, which are given, who already decided
and who is barred and why; `open_roles`, `role_for` and `separation_reason` answer from it,
pure functions with no query, so a list (the approval dashboard) applies exactly the rules the
domain actions enforce, over approvals preloaded in one query. The builders below
(`version_case`, `approved_case`, `tier_change_case`, `exception_case`) are the only places
that know which people and roles each kind of decision involves; `approved_case` is also what
`deploy` and an approved risk tier change read to find the reviews a version approved under a
lower tier lacks. Each separation refusal is a Forbidden whose
detail starts with "separation of duties".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from core.choices import Role
from core.errors import Forbidden
from governance.choices import Decision, Environment
from governance.routing import STAGE_ROLE, production_roles, staging_roles
from registry.choices import RiskTier, VersionState

# The approvals a policy exception needs, by the tier of the version's model (when the
# policy's document requires approval at all).
EXCEPTION_ROLES: dict[str, tuple[str, ...]] = {
    RiskTier.LOW: (Role.MRC,),
    RiskTier.MEDIUM: (Role.MRC, Role.SECURITY_ARCHITECT),
    RiskTier.HIGH: (Role.MRC, Role.SECURITY_ARCHITECT, Role.EXECUTIVE),
}


@dataclass(frozen=True)
class Case:
    """One decision as the rules see it.

    `given` are the roles already approved (they count towards the N of M; a rejection ends the
    decision so never counts), `deciders` the people who already decided either way, `barred`
    who may never decide, in the order their reasons are told (the first matching one is the
    answer), and `once` the reason a second decision by the same person is refused.
    """

    needed: tuple[str, ...]
    given: frozenset[str] = frozenset()
    deciders: frozenset[int] = frozenset()
    barred: tuple[tuple[int | None, str], ...] = ()
    once: str = ""
    # Whether approving skips the roles already given (production review, requests,
    # exceptions) or the stage's one role always decides (a staging review stage).
    counts_given: bool = True
    environment: str | None = field(default=None, compare=False)


def open_roles(case: Case, *, approving: bool) -> tuple[str, ...]:
    """The roles whose decision the case waits for: approving, those not given yet; rejecting,
    any needed role (a rejection by any of them ends it)."""
    if approving and case.counts_given:
        return tuple(role for role in case.needed if role not in case.given)
    return case.needed


def remaining_roles(case: Case) -> tuple[str, ...]:
    """The approvals still missing."""
    return open_roles(case, approving=True)


def role_for(case: Case, held: Iterable[str], *, approving: bool) -> str | None:
    """The role in which someone holding `held` would decide now (the first open one they
    hold, in the order the case needs them), or None."""
    held = set(held)
    return next((role for role in open_roles(case, approving=approving) if role in held), None)


def separation_reason(case: Case, actor_id: int) -> str | None:
    """Why separation of duties forbids `actor_id` this decision (without the "separation of
    duties: " prefix), or None."""
    for user_id, reason in case.barred:
        if user_id is not None and user_id == actor_id:
            return reason
    if actor_id in case.deciders:
        return case.once
    return None


def may_decide(case: Case, actor_id: int, held: Iterable[str], *, approving: bool) -> bool:
    return (
        separation_reason(case, actor_id) is None
        and role_for(case, held, approving=approving) is not None
    )


def refuse(detail: str, version=None, action: str | None = None, model_id=None) -> Forbidden:
    return Forbidden(f"separation of duties: {detail}").about(
        action=action,
        model_id=model_id or (version.model_id if version is not None else None),
        version_id=version.pk if version is not None else None,
    )


# ---- the kinds of decision -------------------------------------------------------------------

VERSION_ONCE = (
    "one person gives at most one approval on a version's way to an environment; "
    "you have already decided on this version"
)


def version_case(version, approvals: Iterable[tuple]) -> Case:
    """A version in a review state. `approvals` are the version's approval records as
    (environment, cycle, user_id, role, decision), any environment and cycle (those of the
    current step are picked here)."""
    if version.state in STAGE_ROLE:
        environment, needed, counts_given = Environment.STAGING, (STAGE_ROLE[version.state],), False
    elif version.state == VersionState.PRODUCTION_REVIEW:
        environment, counts_given = Environment.PRODUCTION, True
        needed = production_roles(version.model.risk_tier)
    else:
        raise ValueError(f"a version in {version.state} awaits no review decision")
    current = [
        (user_id, role, decision)
        for env, cycle, user_id, role, decision in approvals
        if env == environment and cycle == version.review_cycle
    ]
    return Case(
        needed=needed,
        given=frozenset(role for _, role, decision in current if decision == Decision.APPROVED),
        deciders=frozenset(user_id for user_id, _, _ in current),
        barred=(
            (version.model.owner_id, "the model's owner may not review its versions"),
            (version.submitted_by_id, "the person who submitted a version may not review it"),
            (
                version.production_requested_by_id,
                "nobody may approve their own request for production",
            ),
        ),
        once=VERSION_ONCE,
        counts_given=counts_given,
        environment=environment,
    )


# The approved states, and the environment whose approvals each one rests on.
APPROVED_STATES: dict[str, str] = {
    VersionState.APPROVED_STAGING: Environment.STAGING,
    VersionState.APPROVED_PRODUCTION: Environment.PRODUCTION,
}


def approved_case(version, approvals: Iterable[tuple]) -> Case:
    """A version approved for an environment, against its model's tier now: the roles that
    tier's way to the environment needs and those its current review cycle gave. What is
    still missing (`remaining_roles`) is what an approval under a lower tier lacks; deploy
    refuses it and an approved tier change sends the version back to review. `approvals` are
    as for `version_case`."""
    try:
        environment = APPROVED_STATES[version.state]
    except KeyError:
        raise ValueError(
            f"a version in {version.state} is not approved for an environment"
        ) from None
    tier = version.model.risk_tier
    needed = staging_roles(tier) if environment == Environment.STAGING else production_roles(tier)
    given = frozenset(
        role
        for env, cycle, _, role, decision in approvals
        if env == environment and cycle == version.review_cycle and decision == Decision.APPROVED
    )
    return Case(needed=needed, given=given, environment=environment)


def tier_change_roles(touches_high: bool) -> tuple[str, ...]:
    """An MRC approval always; a change to or from HIGH also a Security Architect's."""
    return (Role.MRC, Role.SECURITY_ARCHITECT) if touches_high else (Role.MRC,)


def tier_change_case(request, decisions: Iterable[tuple]) -> Case:
    """A risk tier change request; `decisions` its decisions as (user_id, role, decision).
    The requester never decides it: a request opened by an MRC member (MRC may ask for any
    model) needs the approval of another MRC member."""
    decisions = list(decisions)
    return Case(
        needed=tier_change_roles(request.touches_high),
        given=frozenset(role for _, role, decision in decisions if decision == Decision.APPROVED),
        deciders=frozenset(user_id for user_id, _, _ in decisions),
        barred=(
            (request.requested_by_id, "nobody approves their own request"),
            (request.model.owner_id, "the model's owner may not decide on its requests"),
        ),
        once="one person gives at most one decision on a request",
    )


def exception_roles(tier: str, *, require_approval: bool) -> tuple[str, ...]:
    """The approvals a policy exception needs by its model's tier; none when the policy's
    document says `requireApproval: false`."""
    return EXCEPTION_ROLES[tier] if require_approval else ()


def exception_case(exception, approvals: Iterable[tuple]) -> Case:
    """A policy exception; `approvals` its approvals as (user_id, role) (an exception's
    approval records are approvals only: a rejection ends it without one)."""
    approvals = list(approvals)
    version = exception.version
    return Case(
        needed=exception_roles(
            version.model.risk_tier, require_approval=exception.policy.require_approval
        ),
        given=frozenset(role for _, role in approvals),
        deciders=frozenset(user_id for user_id, _ in approvals),
        barred=(
            (exception.requested_by_id, "nobody decides on their own request"),
            (version.model.owner_id, "the model's owner may not decide on an exception for it"),
            (
                version.submitted_by_id,
                "the person who submitted the version may not decide on its exceptions",
            ),
        ),
        once="one person gives at most one approval on an exception",
    )


# ---- the checks the domain actions raise -------------------------------------------------------


def check_case(case: Case, actor, *, action: str | None, version=None, model_id=None) -> None:
    reason = separation_reason(case, actor.pk)
    if reason is not None:
        raise refuse(reason, version, action, model_id)


def check_deployer(version, actor, *, action: str) -> None:
    if actor.pk in (version.submitted_by_id, version.production_requested_by_id):
        raise refuse("an SRE never deploys a version they submitted", version, action)
