"""Work queues for every role (issue 17): what waits for *me*, by the separation-of-duties rules
the actions enforce, on the approval dashboard (page and API) and the home page; and whom a
version waits for next, by name and role."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.choices import Role
from core.roles import roles_of
from governance import dashboard
from governance.choices import Decision, Environment, PromotionAction
from governance.models import StateTransition
from policies.choices import ExceptionStatus
from registry.choices import RiskTier, VersionState
from registry.models import ModelVersion
from tests.factories import (
    ApprovalFactory,
    ExceptionApprovalFactory,
    ModelVersionFactory,
    PolicyExceptionFactory,
    RegisteredModelFactory,
    RiskTierChangeRequestFactory,
    StateTransitionFactory,
)

pytestmark = pytest.mark.django_db


def in_state(version, state, *, entered_at=None, **fields):
    """Put `version` in `state` as the workflow would have (the transition into it, at
    `entered_at`), without running the workflow."""
    ModelVersion.objects.filter(pk=version.pk).update(state=state, **fields)
    transition = StateTransitionFactory(
        version=version,
        from_state=VersionState.DRAFT,
        to_state=state,
        action=PromotionAction.SUBMIT,
    )
    if entered_at is not None:
        StateTransition.objects.filter(pk=transition.pk).update(timestamp=entered_at)
    version.refresh_from_db()
    return version


def requested_exception(version, **kwargs):
    return PolicyExceptionFactory(
        version=version,
        status=ExceptionStatus.REQUESTED,
        activated_at=None,
        decided_at=None,
        expires_at=None,
        **kwargs,
    )


# ---- the SRE's queue: ready to deploy ---------------------------------------------------------


def test_sre_sees_the_approved_versions_oldest_first(api, users, make_user):
    sre, owner = users[Role.SRE], users[Role.MODEL_OWNER]
    now = timezone.now()
    low = RegisteredModelFactory(owner=owner, risk_tier=RiskTier.LOW)
    newer = in_state(
        ModelVersionFactory(model=low),
        VersionState.APPROVED_PRODUCTION,
        entered_at=now - timedelta(hours=1),
        submitted_by=owner,
    )
    older = in_state(
        ModelVersionFactory(model=low),
        VersionState.APPROVED_STAGING,
        entered_at=now - timedelta(days=2),
        submitted_by=owner,
    )
    in_state(ModelVersionFactory(model=low), VersionState.STAGING, submitted_by=owner)
    # An SRE never deploys what they submitted: not in their queue, in another SRE's.
    own = in_state(ModelVersionFactory(model=low), VersionState.APPROVED_STAGING, submitted_by=sre)
    # Approved under a lower tier: MEDIUM's way to staging needs an MRC approval it lacks.
    medium = RegisteredModelFactory(owner=owner, risk_tier=RiskTier.MEDIUM)
    lacking = in_state(
        ModelVersionFactory(model=medium), VersionState.APPROVED_STAGING, submitted_by=owner
    )
    reviewed = in_state(
        ModelVersionFactory(model=medium),
        VersionState.APPROVED_STAGING,
        entered_at=now - timedelta(hours=5),
        submitted_by=owner,
        review_cycle=1,
    )
    ApprovalFactory(version=reviewed, environment=Environment.STAGING, cycle=1)

    assert [v.pk for v in dashboard.ready_to_deploy(sre)] == [older.pk, reviewed.pk, newer.pk]
    assert lacking.pk not in {v.pk for v in dashboard.ready_to_deploy(sre)}
    other_sre = make_user(Role.SRE, username="sre2")
    assert own.pk in {v.pk for v in dashboard.ready_to_deploy(other_sre)}
    for role in (Role.MRC, Role.MODEL_OWNER, Role.AUDITOR, Role.EXECUTIVE):
        assert dashboard.ready_to_deploy(users[role]) == []

    body = api(sre).get("/api/v1/approval-dashboard/").json()
    assert [row["id"] for row in body["readyToDeploy"]] == [older.pk, reviewed.pk, newer.pk]
    assert body["readyToDeploy"][0]["state"] == VersionState.APPROVED_STAGING
    assert body["readyToDeploy"][0]["waitingSince"].startswith(
        (now - timedelta(days=2)).date().isoformat()
    )


def test_sre_pages_show_the_queue_instead_of_nothing_waits(client, users):
    sre, owner = users[Role.SRE], users[Role.MODEL_OWNER]
    model = RegisteredModelFactory(owner=owner, risk_tier=RiskTier.LOW, name="savings-propensity")
    version = in_state(
        ModelVersionFactory(model=model, version="1.0.0"),
        VersionState.APPROVED_STAGING,
        submitted_by=owner,
    )
    client.force_login(sre)
    for url in ("/approvals/", "/"):
        html = client.get(url).content.decode()
        assert 'id="ready-to-deploy"' in html, url
        assert f'href="/versions/{version.pk}/"' in html, url
        assert "savings-propensity" in html, url
    assert "Nothing waits for you now" not in client.get("/").content.decode()


# ---- exceptions waiting for MRC, Security Architect and Executive -----------------------------


def test_exceptions_wait_for_each_needed_role_never_for_the_barred(api, users, make_user):
    owner, mrc = users[Role.MODEL_OWNER], users[Role.MRC]
    security, executive = users[Role.SECURITY_ARCHITECT], users[Role.EXECUTIVE]
    high = ModelVersionFactory(model=RegisteredModelFactory(owner=owner, risk_tier=RiskTier.HIGH))
    low = ModelVersionFactory(model=RegisteredModelFactory(owner=owner, risk_tier=RiskTier.LOW))
    high_exception = requested_exception(high)
    low_exception = requested_exception(low)
    PolicyExceptionFactory(version=high)  # ACTIVE: waits for nobody

    def waiting(user):
        return [e.pk for e in dashboard.pending_exceptions(user)]

    assert waiting(mrc) == [high_exception.pk, low_exception.pk]
    assert waiting(security) == [high_exception.pk]  # LOW needs an MRC only
    assert waiting(executive) == [high_exception.pk]
    for role in (Role.MODEL_OWNER, Role.SRE, Role.AUDITOR):
        assert waiting(users[role]) == []

    # Once the MRC approved, the HIGH one waits for the other two roles, not for MRC members.
    ExceptionApprovalFactory(exception=high_exception, role=Role.MRC, user=mrc)
    mrc2 = make_user(Role.MRC, username="mrc2")
    assert waiting(mrc) == [low_exception.pk]
    assert waiting(mrc2) == [low_exception.pk]
    assert waiting(executive) == [high_exception.pk]
    # One approval per person: someone both MRC and Security Architect who approved a MEDIUM
    # exception as MRC is not asked again as Security Architect; a Security Architect is.
    both = make_user(Role.MRC, Role.SECURITY_ARCHITECT, username="both")
    medium = ModelVersionFactory(
        model=RegisteredModelFactory(owner=owner, risk_tier=RiskTier.MEDIUM)
    )
    medium_exception = requested_exception(medium)
    ExceptionApprovalFactory(exception=medium_exception, role=Role.MRC, user=both)
    assert medium_exception.pk not in waiting(both)
    assert medium_exception.pk in waiting(security)
    assert medium_exception.pk not in waiting(mrc2)

    # Never one's own request, nor one on a model one owns or a version one submitted.
    owner_mrc = make_user(Role.MODEL_OWNER, Role.MRC, username="owner_mrc")
    theirs = ModelVersionFactory(
        model=RegisteredModelFactory(owner=owner_mrc, risk_tier=RiskTier.LOW)
    )
    own_model = requested_exception(theirs, requested_by=mrc)
    mrc_request = requested_exception(low, policy=high_exception.policy, requested_by=mrc2)
    submitted = ModelVersionFactory(
        model=RegisteredModelFactory(owner=owner, risk_tier=RiskTier.LOW)
    )
    ModelVersion.objects.filter(pk=submitted.pk).update(submitted_by=mrc2)
    by_submitter = requested_exception(submitted)
    assert own_model.pk not in waiting(owner_mrc)
    assert own_model.pk in waiting(mrc2)
    assert mrc_request.pk not in waiting(mrc2)
    assert mrc_request.pk in waiting(owner_mrc)
    assert by_submitter.pk not in waiting(mrc2)
    assert by_submitter.pk in waiting(mrc)

    body = api(executive).get("/api/v1/approval-dashboard/").json()
    [row] = body["pendingExceptions"]
    assert row["id"] == high_exception.pk
    assert row["yourRole"] == Role.EXECUTIVE
    assert row["awaiting"] == [Role.SECURITY_ARCHITECT, Role.EXECUTIVE]
    assert row["modelName"] == high.model.name


def test_the_exception_queue_costs_the_same_queries_for_one_or_many(users):
    mrc, owner = users[Role.MRC], users[Role.MODEL_OWNER]
    model = RegisteredModelFactory(owner=owner, risk_tier=RiskTier.HIGH)
    requested_exception(ModelVersionFactory(model=model))
    roles_of(mrc)  # the reader's roles are read once per request, then cached on the user
    with CaptureQueriesContext(connection) as one:
        assert len(dashboard.pending_exceptions(mrc)) == 1
    for _ in range(4):
        exception = requested_exception(ModelVersionFactory(model=model))
        ExceptionApprovalFactory(exception=exception, role=Role.SECURITY_ARCHITECT)
    with CaptureQueriesContext(connection) as five:
        assert len(dashboard.pending_exceptions(mrc)) == 5
    assert len(five) == len(one)


def test_executive_approvals_page_lists_the_exception(client, users):
    owner, executive = users[Role.MODEL_OWNER], users[Role.EXECUTIVE]
    version = ModelVersionFactory(model=RegisteredModelFactory(owner=owner, risk_tier="HIGH"))
    exception = requested_exception(version)
    client.force_login(executive)
    html = client.get("/approvals/").content.decode()
    assert 'id="pending-exceptions"' in html
    assert f'href="/exceptions/{exception.pk}/"' in html
    assert 'id="pending-reviews"' not in html  # an Executive never reviews a version
    client.force_login(users[Role.AUDITOR])
    html = client.get("/approvals/").content.decode()
    assert 'id="pending-exceptions"' not in html
    assert 'id="nothing-waits"' in html
    client.force_login(users[Role.MRC])  # an empty queue of one's own is shown as empty
    html = client.get("/approvals/").content.decode()
    assert 'id="pending-reviews"' in html and "No version waits for your review." in html


# ---- risk tier changes ------------------------------------------------------------------------


def test_tier_changes_wait_for_mrc_and_for_security_when_high(users, make_user):
    owner, mrc = users[Role.MODEL_OWNER], users[Role.MRC]
    security = users[Role.SECURITY_ARCHITECT]
    to_high = RiskTierChangeRequestFactory(
        model=RegisteredModelFactory(owner=owner, risk_tier=RiskTier.MEDIUM)
    )
    to_low = RiskTierChangeRequestFactory(
        model=RegisteredModelFactory(owner=owner, risk_tier=RiskTier.MEDIUM),
        requested_tier=RiskTier.LOW,
    )
    assert [r.pk for r in dashboard.pending_tier_changes(mrc)] == [to_high.pk, to_low.pk]
    assert [r.pk for r in dashboard.pending_tier_changes(security)] == [to_high.pk]
    assert dashboard.pending_tier_changes(owner) == []
    assert dashboard.pending_tier_changes(users[Role.EXECUTIVE]) == []
    # An MRC member's own request waits for another MRC member.
    mrc2 = make_user(Role.MRC, username="mrc2")
    theirs = RiskTierChangeRequestFactory(
        model=RegisteredModelFactory(owner=owner, risk_tier=RiskTier.LOW),
        requested_tier=RiskTier.MEDIUM,
        requested_by=mrc2,
    )
    assert theirs.pk not in {r.pk for r in dashboard.pending_tier_changes(mrc2)}
    assert theirs.pk in {r.pk for r in dashboard.pending_tier_changes(mrc)}
    # Once decided by mrc, it waits no more for MRC members.
    to_high.decisions.create(user=mrc, role=Role.MRC, decision=Decision.APPROVED)
    assert to_high.pk not in {r.pk for r in dashboard.pending_tier_changes(mrc2)}
    assert to_high.pk in {r.pk for r in dashboard.pending_tier_changes(security)}


# ---- my open requests -------------------------------------------------------------------------


def test_my_requests_are_the_open_ones(users):
    owner = users[Role.MODEL_OWNER]
    model = RegisteredModelFactory(owner=owner, risk_tier=RiskTier.LOW)
    waiting = in_state(
        ModelVersionFactory(model=model), VersionState.MRC_REVIEW, submitted_by=owner
    )
    in_state(ModelVersionFactory(model=model), VersionState.PRODUCTION, submitted_by=owner)
    in_state(ModelVersionFactory(model=model), VersionState.RETIRED, submitted_by=owner)
    assert [v.pk for v in dashboard.my_requests(owner)] == [waiting.pk]


# ---- whom a version waits for -----------------------------------------------------------------


def test_next_step_names_the_people_and_roles(users, make_user):
    mrc, security, sre = users[Role.MRC], users[Role.SECURITY_ARCHITECT], users[Role.SRE]
    owner_mrc = make_user(Role.MODEL_OWNER, Role.MRC, username="owner_mrc")
    model = RegisteredModelFactory(owner=owner_mrc, risk_tier=RiskTier.HIGH)

    review = in_state(ModelVersionFactory(model=model), VersionState.MRC_REVIEW)
    waiting = dashboard.waiting_for(review)
    assert waiting.roles == (Role.MRC,)
    assert waiting.people == ((mrc.username, Role.MRC),)  # not the owner, an MRC member too
    assert mrc.username in waiting.summary and "MRC" in waiting.summary

    security_review = in_state(ModelVersionFactory(model=model), VersionState.SECURITY_REVIEW)
    assert dashboard.waiting_for(security_review).people == (
        (security.username, Role.SECURITY_ARCHITECT),
    )

    production = in_state(
        ModelVersionFactory(model=model),
        VersionState.PRODUCTION_REVIEW,
        review_cycle=1,
        production_requested_by=owner_mrc,
    )
    ApprovalFactory(
        version=production,
        user=mrc,
        stage=VersionState.PRODUCTION_REVIEW,
        environment=Environment.PRODUCTION,
        cycle=1,
    )
    waiting = dashboard.waiting_for(production)
    assert waiting.roles == (Role.SECURITY_ARCHITECT,)  # the MRC approval is in
    assert waiting.people == ((security.username, Role.SECURITY_ARCHITECT),)

    sre_submitter = make_user(Role.SRE, username="sre_submitter")
    approved = in_state(
        ModelVersionFactory(model=model), VersionState.APPROVED_STAGING, submitted_by=sre_submitter
    )
    waiting = dashboard.waiting_for(approved)
    assert waiting.people == ((sre.username, Role.SRE),)
    assert "deployment to staging" in waiting.summary

    sent_back = in_state(ModelVersionFactory(model=model), VersionState.CHANGES_REQUIRED)
    assert dashboard.waiting_for(sent_back).people == ((owner_mrc.username, Role.MODEL_OWNER),)

    assert dashboard.waiting_for(in_state(ModelVersionFactory(model=model), "PRODUCTION")) is None
    owned_by_mrc = in_state(
        ModelVersionFactory(model=RegisteredModelFactory(owner=mrc, risk_tier=RiskTier.HIGH)),
        VersionState.MRC_REVIEW,
    )
    assert dashboard.waiting_for(owned_by_mrc).people == ((owner_mrc.username, Role.MRC),)


def test_the_next_step_partial_says_whom_it_waits_for(users):
    model = RegisteredModelFactory(owner=users[Role.MODEL_OWNER], risk_tier=RiskTier.HIGH)
    review = in_state(ModelVersionFactory(model=model), VersionState.SECURITY_REVIEW)
    html = render_to_string(
        "governance/_waiting_for.html", {"waiting_for": dashboard.waiting_for(review)}
    )
    assert (
        "Waiting for review by Security Architect: security_architect (Security Architect)." in html
    )
    assert '<span class="person">security_architect</span>' in html
    assert render_to_string("governance/_waiting_for.html", {"waiting_for": None}).strip() == ""
