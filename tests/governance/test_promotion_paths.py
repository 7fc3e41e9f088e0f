"""The three tiers' full paths through the API, and every refusal the contract lists."""

import pytest

from audit.models import AuditEvent
from core.choices import Role
from governance.models import Approval, Notification, StateTransition
from tests.factories import ArtifactFactory, ModelVersionFactory, RegisteredModelFactory
from tests.governance.checklists import ticked_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(users, make_user):
    """The owner, two MRC members, a Security Architect, an SRE."""
    return {
        "owner": users[Role.MODEL_OWNER],
        "mrc": users[Role.MRC],
        "mrc2": make_user(Role.MRC, username="mrc_two"),
        "security": users[Role.SECURITY_ARCHITECT],
        "sre": users[Role.SRE],
        "auditor": users[Role.AUDITOR],
        "executive": users[Role.EXECUTIVE],
    }


def make_version(owner, tier):
    model = RegisteredModelFactory(owner=owner, risk_tier=tier)
    version = ModelVersionFactory(model=model)
    ArtifactFactory(version=version)
    return version


def act(api, user, version, action, **body):
    if action == "approve":  # as a reviewer approves: the role's whole checklist ticked
        body = {**ticked_for(user, version), **body}
    return api(user).post(f"/api/v1/versions/{version.pk}/{action}/", body, format="json")


def states(version):
    return list(
        StateTransition.objects.filter(version=version)
        .order_by("timestamp", "id")
        .values_list("to_state", flat=True)
    )


def test_low_tier_goes_straight_through_with_system_approvals(api, people):
    version = make_version(people["owner"], "LOW")
    response = act(api, people["owner"], version, "submit", comments="first release")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["state"] == "APPROVED_STAGING"
    assert body["policyEvaluation"]["environment"] == "staging"
    assert body["policyEvaluation"]["blocked"] is False
    assert act(api, people["sre"], version, "deploy").json()["state"] == "STAGING"
    assert act(api, people["owner"], version, "request-production").json()["state"] == (
        "APPROVED_PRODUCTION"
    )
    assert act(api, people["sre"], version, "deploy").json()["state"] == "PRODUCTION"
    assert states(version) == [
        "SUBMITTED",
        "APPROVED_STAGING",
        "STAGING",
        "APPROVED_PRODUCTION",
        "PRODUCTION",
    ]
    transitions = api(people["auditor"]).get(f"/api/v1/versions/{version.pk}/transitions/").json()
    first, second = transitions["results"][:2]
    assert (first["fromState"], first["toState"], first["action"], first["user"]) == (
        "DRAFT",
        "SUBMITTED",
        "SUBMIT",
        "olivia",
    )
    assert first["comments"] == "first release"
    assert (second["action"], second["user"]) == ("APPROVE_STAGING", "system")


def test_medium_tier_needs_mrc_for_staging_and_production(api, people):
    version = make_version(people["owner"], "MEDIUM")
    assert act(api, people["owner"], version, "submit").json()["state"] == "MRC_REVIEW"
    checklist = {
        "documentationComplete": True,
        "riskAssessmentAppropriate": True,
        "evaluationsMeetRequirements": True,
        "complianceSatisfied": True,
        "businessJustificationClear": True,
    }
    response = act(api, people["mrc"], version, "approve", comments="ok", checklist=checklist)
    assert response.status_code == 200, response.json()
    assert response.json()["state"] == "APPROVED_STAGING"
    approval = Approval.objects.get(version=version)
    assert (approval.stage, approval.role, approval.checklist) == ("MRC_REVIEW", "MRC", checklist)
    act(api, people["sre"], version, "deploy")
    assert act(api, people["owner"], version, "request-production").json()["state"] == (
        "PRODUCTION_REVIEW"
    )
    assert act(api, people["mrc"], version, "approve").json()["state"] == "APPROVED_PRODUCTION"
    assert act(api, people["sre"], version, "deploy").json()["state"] == "PRODUCTION"
    event = AuditEvent.objects.filter(action="APPROVE_STAGING", version_id=version.pk).get()
    assert event.event_type == "MODEL_PROMOTION"
    assert event.details["fromState"] == "MRC_REVIEW"
    assert event.details["toState"] == "APPROVED_STAGING"
    assert event.details["approver"] == "mrc"
    assert event.details["comments"] == "ok"


def test_high_tier_needs_mrc_then_security_then_both_for_production(api, people):
    version = make_version(people["owner"], "HIGH")
    assert act(api, people["owner"], version, "submit").json()["state"] == "MRC_REVIEW"
    assert act(api, people["security"], version, "approve").status_code == 403
    assert act(api, people["mrc"], version, "approve").json()["state"] == "SECURITY_REVIEW"
    assert act(api, people["mrc2"], version, "approve").status_code == 403
    assert act(api, people["security"], version, "approve").json()["state"] == "APPROVED_STAGING"
    act(api, people["sre"], version, "deploy")
    act(api, people["owner"], version, "request-production")
    first = act(api, people["security"], version, "approve")
    assert first.json()["state"] == "PRODUCTION_REVIEW"
    again = act(api, people["security"], version, "approve")
    assert again.status_code == 403
    assert act(api, people["mrc"], version, "approve").json()["state"] == "APPROVED_PRODUCTION"
    assert act(api, people["sre"], version, "deploy").json()["state"] == "PRODUCTION"


def test_rejections_send_back(api, people):
    version = make_version(people["owner"], "HIGH")
    act(api, people["owner"], version, "submit")
    act(api, people["mrc"], version, "approve")
    response = act(api, people["security"], version, "reject", comments="CVE in base image")
    assert response.json()["state"] == "CHANGES_REQUIRED"
    assert Notification.objects.filter(user=people["owner"], kind="REJECTED").exists()
    assert act(api, people["owner"], version, "submit").json()["state"] == "MRC_REVIEW"
    # a new review cycle: the same MRC member may review the resubmission
    assert act(api, people["mrc"], version, "approve").json()["state"] == "SECURITY_REVIEW"
    act(api, people["security"], version, "approve")
    act(api, people["sre"], version, "deploy")
    act(api, people["owner"], version, "request-production")
    rejected = act(api, people["mrc"], version, "reject", comments="not yet")
    assert rejected.json()["state"] == "STAGING"


@pytest.mark.parametrize(
    ("actor", "action", "state", "rule"),
    [
        ("owner", "approve", "MRC_REVIEW", "role MRC"),
        ("submitter", "approve", "MRC_REVIEW", "submitted"),
        ("mrc", "deploy", "APPROVED_STAGING", "role SRE"),
        ("owner", "deploy", "APPROVED_STAGING", "role SRE"),
        ("auditor", "approve", "MRC_REVIEW", "auditors never write"),
        ("executive", "approve", "MRC_REVIEW", "role"),
        ("sre", "approve", "MRC_REVIEW", "role"),
        ("mrc", "submit", "DRAFT", "Model Owner"),
        ("security", "approve", "MRC_REVIEW", "MRC"),
    ],
)
def test_refusals_are_403_naming_the_rule_and_audited(
    api, people, make_user, actor, action, state, rule
):
    submitter = make_user(Role.MODEL_OWNER, Role.MRC, username="dual")
    model = RegisteredModelFactory(owner=people["owner"], risk_tier="MEDIUM")
    version = ModelVersionFactory(model=model, state=state, submitted_by=submitter, review_cycle=1)
    person = submitter if actor == "submitter" else people[actor]
    response = act(api, person, version, action)
    assert response.status_code == 403
    assert rule in response.json()["detail"]
    version.refresh_from_db()
    assert version.state == state
    denied = AuditEvent.objects.get(event_type="ACCESS_DENIED", version_id=version.pk)
    assert denied.user_id == person.username
    assert rule in denied.details["reason"]


def test_owner_holding_mrc_never_reviews_own_model(api, make_user):
    owner_mrc = make_user(Role.MODEL_OWNER, Role.MRC, username="owner_mrc")
    version = make_version(owner_mrc, "MEDIUM")
    act(api, owner_mrc, version, "submit")
    response = act(api, owner_mrc, version, "approve")
    assert response.status_code == 403
    assert "separation of duties: the model's owner" in response.json()["detail"]


def test_sre_never_deploys_a_version_they_submitted(api, make_user, people):
    both = make_user(Role.MODEL_OWNER, Role.SRE, username="owner_sre")
    version = make_version(both, "LOW")
    act(api, both, version, "submit")
    response = act(api, both, version, "deploy")
    assert response.status_code == 403
    assert "separation of duties" in response.json()["detail"]


def test_one_person_one_approval_on_the_way_to_an_environment(api, make_user, people):
    both = make_user(Role.MRC, Role.SECURITY_ARCHITECT, username="both_roles")
    version = make_version(people["owner"], "HIGH")
    act(api, people["owner"], version, "submit")
    assert act(api, both, version, "approve").json()["state"] == "SECURITY_REVIEW"
    response = act(api, both, version, "approve")
    assert response.status_code == 403
    assert "at most one approval" in response.json()["detail"]


@pytest.mark.parametrize(
    ("state", "action", "actor"),
    [
        ("DRAFT", "approve", "mrc"),
        ("DRAFT", "deploy", "sre"),
        ("DRAFT", "request-production", "owner"),
        ("STAGING", "submit", "owner"),
        ("PRODUCTION", "deploy", "sre"),
        ("RETIRED", "retire", "owner"),
        ("APPROVED_STAGING", "approve", "mrc"),
    ],
)
def test_wrong_state_is_409_with_the_state(api, people, state, action, actor):
    model = RegisteredModelFactory(owner=people["owner"], risk_tier="MEDIUM")
    version = ModelVersionFactory(model=model, state=state)
    response = act(api, people[actor], version, action)
    assert response.status_code == 409, response.json()
    assert response.json()["state"] == state
    assert "detail" in response.json()


def test_retire_by_owner_or_mrc_only(api, people):
    version = make_version(people["owner"], "MEDIUM")
    assert act(api, people["sre"], version, "retire").status_code == 403
    assert act(api, people["mrc"], version, "retire").json()["state"] == "RETIRED"


def test_others_versions_are_404_for_owners(api, people, make_user):
    stranger = make_user(Role.MODEL_OWNER, username="stranger")
    version = make_version(people["owner"], "LOW")
    assert act(api, stranger, version, "submit").status_code == 404
    assert act(api, people["owner"], version, "submit").status_code == 200


def test_checklist_is_validated(api, people):
    version = make_version(people["owner"], "MEDIUM")
    act(api, people["owner"], version, "submit")
    bad = act(api, people["mrc"], version, "approve", checklist={"vibes": True})
    assert bad.status_code == 400
    assert "checklist" in bad.json()
    assert (
        act(
            api, people["mrc"], version, "approve", checklist={"complianceSatisfied": "yes"}
        ).status_code
        == 400
    )


def test_notifications_reach_reviewers_sre_and_owner(api, people):
    version = make_version(people["owner"], "MEDIUM")
    act(api, people["owner"], version, "submit")
    assert Notification.objects.filter(user=people["mrc"], kind="REVIEW_REQUESTED").exists()
    assert not Notification.objects.filter(user=people["owner"], kind="REVIEW_REQUESTED").exists()
    act(api, people["mrc"], version, "approve")
    assert Notification.objects.filter(user=people["sre"], kind="DEPLOY_REQUESTED").exists()
    assert Notification.objects.filter(user=people["owner"], kind="APPROVED").exists()
    listed = api(people["owner"]).get("/api/v1/notifications/?unread=true").json()
    assert listed["count"] >= 1
    marked = api(people["owner"]).post("/api/v1/notifications/read-all/").json()
    assert marked["marked"] == listed["count"]
