"""The one rule book of N-of-M decisions (governance.separation): which roles a decision needs,
which are given, in which role an actor decides now, and why separation of duties refuses.

Pure functions over plain stand-ins (the builders read attributes only), so every row of the
table is one call and no query."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from core.choices import Role
from core.errors import Forbidden
from governance import separation
from governance.choices import Decision, Environment
from registry.choices import RiskTier, VersionState
from tests.factories import ModelVersionFactory, PolicyFactory, RegisteredModelFactory

MRC, SA, EXEC = Role.MRC, Role.SECURITY_ARCHITECT, Role.EXECUTIVE
OWNER, SUBMITTER, REQUESTER = 1, 2, 3
ALICE, BOB = 10, 11  # two reviewers with no other part in the decision


def _version(state, tier, *, cycle=1):
    return SimpleNamespace(
        state=state,
        review_cycle=cycle,
        model=SimpleNamespace(risk_tier=tier),
        model_id=7,
        pk=70,
        submitted_by_id=SUBMITTER,
        production_requested_by_id=REQUESTER if state == VersionState.PRODUCTION_REVIEW else None,
    )


def _with_owner(obj):
    obj.model.owner_id = OWNER
    return obj


def _approval(user, role, decision=Decision.APPROVED, env=Environment.PRODUCTION, cycle=1):
    return (env, cycle, user, role, decision)


PR, MRC_R, SEC_R = (
    VersionState.PRODUCTION_REVIEW,
    VersionState.MRC_REVIEW,
    VersionState.SECURITY_REVIEW,
)


@pytest.mark.parametrize(
    ("state", "tier", "approvals", "actor", "held", "approving", "role", "reason"),
    [
        # staging: the stage's one role decides, whatever was approved before
        (MRC_R, RiskTier.MEDIUM, [], ALICE, {MRC}, True, MRC, None),
        (MRC_R, RiskTier.HIGH, [], ALICE, {SA}, True, None, None),
        (
            SEC_R,
            RiskTier.HIGH,
            [_approval(ALICE, MRC, env=Environment.STAGING)],
            BOB,
            {SA},
            True,
            SA,
            None,
        ),
        # the MRC who approved the MRC stage may not decide the security stage too
        (
            SEC_R,
            RiskTier.HIGH,
            [_approval(ALICE, MRC, env=Environment.STAGING)],
            ALICE,
            {MRC, SA},
            True,
            SA,
            separation.VERSION_ONCE,
        ),
        # production: the roles not given yet, in the route's order
        (PR, RiskTier.HIGH, [], ALICE, {MRC, SA}, True, MRC, None),
        (PR, RiskTier.HIGH, [_approval(BOB, MRC)], ALICE, {MRC, SA}, True, SA, None),
        (PR, RiskTier.HIGH, [_approval(BOB, MRC)], ALICE, {MRC}, True, None, None),
        # rejecting: any needed role, given or not
        (PR, RiskTier.HIGH, [_approval(BOB, MRC)], ALICE, {MRC}, False, MRC, None),
        # an approval of an earlier cycle or of staging does not count
        (PR, RiskTier.MEDIUM, [_approval(BOB, MRC, cycle=0)], ALICE, {MRC}, True, MRC, None),
        (PR, RiskTier.MEDIUM, [_approval(ALICE, MRC, cycle=0)], ALICE, {MRC}, True, MRC, None),
        (
            PR,
            RiskTier.MEDIUM,
            [_approval(ALICE, MRC, env=Environment.STAGING)],
            ALICE,
            {MRC},
            True,
            MRC,
            None,
        ),
        # a rejection gives no role but counts as the person's one decision
        (
            PR,
            RiskTier.HIGH,
            [_approval(ALICE, SA, Decision.REJECTED)],
            ALICE,
            {MRC},
            True,
            MRC,
            separation.VERSION_ONCE,
        ),
        # the people concerned never review, in the order the reasons are told
        (
            PR,
            RiskTier.MEDIUM,
            [],
            OWNER,
            {MRC},
            True,
            MRC,
            "the model's owner may not review its versions",
        ),
        (
            PR,
            RiskTier.MEDIUM,
            [],
            SUBMITTER,
            {MRC},
            True,
            MRC,
            "the person who submitted a version may not review it",
        ),
        (
            PR,
            RiskTier.MEDIUM,
            [],
            REQUESTER,
            {MRC},
            True,
            MRC,
            "nobody may approve their own request for production",
        ),
    ],
)
def test_version_review(state, tier, approvals, actor, held, approving, role, reason):
    case = separation.version_case(_with_owner(_version(state, tier)), approvals)
    assert separation.role_for(case, held, approving=approving) == role
    assert separation.separation_reason(case, actor) == reason
    assert separation.may_decide(case, actor, held, approving=approving) == (
        role is not None and reason is None
    )


def test_a_version_out_of_review_has_no_case():
    with pytest.raises(ValueError):
        separation.version_case(_with_owner(_version(VersionState.STAGING, RiskTier.HIGH)), [])


def test_production_review_waits_for_the_missing_roles():
    version = _with_owner(_version(PR, RiskTier.HIGH))
    assert separation.remaining_roles(separation.version_case(version, [])) == (MRC, SA)
    given = separation.version_case(version, [_approval(ALICE, MRC)])
    assert separation.remaining_roles(given) == (SA,)
    assert separation.open_roles(given, approving=False) == (MRC, SA)
    both = separation.version_case(version, [_approval(ALICE, MRC), _approval(BOB, SA)])
    assert separation.remaining_roles(both) == ()


def _tier_request(from_high: bool):
    return SimpleNamespace(
        touches_high=from_high, requested_by_id=REQUESTER, model=SimpleNamespace(owner_id=OWNER)
    )


@pytest.mark.parametrize(
    ("touches_high", "decisions", "actor", "held", "approving", "role", "reason"),
    [
        (False, [], ALICE, {MRC}, True, MRC, None),
        (False, [], ALICE, {SA}, True, None, None),
        (True, [], ALICE, {SA}, True, SA, None),
        (True, [(BOB, MRC, Decision.APPROVED)], ALICE, {MRC, SA}, True, SA, None),
        (True, [(BOB, MRC, Decision.APPROVED)], ALICE, {MRC}, True, None, None),
        (
            True,
            [(ALICE, MRC, Decision.APPROVED)],
            ALICE,
            {MRC, SA},
            True,
            SA,
            "one person gives at most one decision on a request",
        ),
        (False, [], REQUESTER, {MRC}, True, MRC, "nobody approves their own request"),
        (False, [], OWNER, {MRC}, False, MRC, "the model's owner may not decide on its requests"),
    ],
)
def test_tier_change(touches_high, decisions, actor, held, approving, role, reason):
    case = separation.tier_change_case(_tier_request(touches_high), decisions)
    assert separation.role_for(case, held, approving=approving) == role
    assert separation.separation_reason(case, actor) == reason


def _exception(tier, *, require_approval=True):
    return SimpleNamespace(
        requested_by_id=REQUESTER,
        policy=SimpleNamespace(require_approval=require_approval),
        version=SimpleNamespace(
            model=SimpleNamespace(risk_tier=tier, owner_id=OWNER), submitted_by_id=SUBMITTER
        ),
    )


@pytest.mark.parametrize(
    ("tier", "approvals", "actor", "held", "approving", "role", "reason"),
    [
        (RiskTier.LOW, [], ALICE, {MRC}, True, MRC, None),
        (RiskTier.LOW, [], ALICE, {SA, EXEC}, True, None, None),
        (RiskTier.MEDIUM, [(BOB, MRC)], ALICE, {MRC, SA}, True, SA, None),
        (RiskTier.HIGH, [(BOB, MRC), (12, SA)], ALICE, {MRC, SA, EXEC}, True, EXEC, None),
        (RiskTier.HIGH, [(BOB, MRC)], ALICE, {MRC}, True, None, None),
        (RiskTier.HIGH, [(BOB, MRC)], ALICE, {MRC}, False, MRC, None),
        (
            RiskTier.HIGH,
            [(ALICE, MRC)],
            ALICE,
            {SA},
            True,
            SA,
            "one person gives at most one approval on an exception",
        ),
        (RiskTier.MEDIUM, [], REQUESTER, {MRC}, True, MRC, "nobody decides on their own request"),
        (
            RiskTier.MEDIUM,
            [],
            OWNER,
            {MRC},
            True,
            MRC,
            "the model's owner may not decide on an exception for it",
        ),
        (
            RiskTier.MEDIUM,
            [],
            SUBMITTER,
            {MRC},
            True,
            MRC,
            "the person who submitted the version may not decide on its exceptions",
        ),
    ],
)
def test_policy_exception(tier, approvals, actor, held, approving, role, reason):
    case = separation.exception_case(_exception(tier), approvals)
    assert separation.role_for(case, held, approving=approving) == role
    assert separation.separation_reason(case, actor) == reason


def test_an_exception_to_a_policy_requiring_no_approval_needs_nobody():
    case = separation.exception_case(_exception(RiskTier.HIGH, require_approval=False), [])
    assert case.needed == ()
    assert separation.role_for(case, {MRC, SA, EXEC}, approving=True) is None
    assert separation.exception_roles(RiskTier.HIGH, require_approval=False) == ()
    assert separation.exception_roles(RiskTier.MEDIUM, require_approval=True) == (MRC, SA)


def test_a_refusal_names_the_rule_and_what_it_was_aimed_at():
    case = separation.tier_change_case(_tier_request(False), [])
    with pytest.raises(Forbidden) as refused:
        separation.check_case(case, SimpleNamespace(pk=REQUESTER), action="decide", model_id=7)
    assert refused.value.detail == "separation of duties: nobody approves their own request"
    assert (refused.value.action, refused.value.model_id) == ("decide", 7)


@pytest.mark.django_db
def test_the_exception_form_announces_the_approvals_of_the_rule_book(client, users):
    """The request page names the approvals by the model's tier and the offered policies whose
    document asks for none (it used to hard-code the matrix for every policy)."""
    owner = users[Role.MODEL_OWNER]
    version = ModelVersionFactory(model=RegisteredModelFactory(owner=owner, risk_tier="HIGH"))
    for policy_id, require_approval in (("needs-approval", True), ("self-service", False)):
        PolicyFactory(
            policy_id=policy_id,
            risk_tiers=["HIGH"],
            allow_exceptions=True,
            require_approval=require_approval,
        )
    client.force_login(owner)
    page = client.get(f"/versions/{version.pk}/request-exception/")
    assert page.context["approval_roles"] == (MRC, SA, EXEC)
    assert page.context["without_approval"] == ["self-service"]
    text = page.content.decode()
    assert "by MRC, Security Architect and Executive, each a different person" in text
    assert "an exception to self-service needs no approval" in text
