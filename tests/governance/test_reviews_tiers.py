"""Reviews checked against the model's tier now (issue 12, "reviews that mean something").

`deploy` refuses (409, naming the reviews it lacks) a version approved under a lower tier; an
approved risk tier change sends the model's approved versions whose approvals fall short of
the new tier back to review, a system transition, audited, owners and reviewers told. MRC may
ask to re-tier any model, decided by another MRC member (and a Security Architect to or from
HIGH). A LOW tier is never stated alone at registration.
"""

import pytest

from audit.models import AuditEvent
from core.choices import Role
from core.errors import Invalid
from governance import separation
from governance.models import Notification, StateTransition
from registry import services
from registry.models import ModelVersion, RegisteredModel
from tests.factories import ApprovalFactory, ArtifactFactory, ModelVersionFactory
from tests.governance.checklists import ticked

pytestmark = pytest.mark.django_db

ALL_LOW = dict.fromkeys(
    [
        "businessImpact",
        "customerExposure",
        "financialImpact",
        "regulatoryScope",
        "dataSensitivity",
        "automationLevel",
    ],
    "LOW",
)


def act(api, user, version, action, **body):
    return api(user).post(f"/api/v1/versions/{version.pk}/{action}/", body, format="json")


def change_tier(api, requester, deciders, model, tier):
    made = api(requester).post(
        f"/api/v1/models/{model.pk}/risk-tier-changes/",
        {"requestedTier": tier, "justification": "re-assessed"},
        format="json",
    )
    assert made.status_code == 201, made.json()
    for person in deciders:
        decided = api(person).post(f"/api/v1/risk-tier-changes/{made.json()['id']}/approve/")
        assert decided.status_code == 200, decided.json()
    return decided.json()


def approved_for_staging(api, users, model):
    """A version of `model` (MEDIUM) approved for staging by the MRC through the API."""
    version = ModelVersionFactory(model=model)
    ArtifactFactory(version=version)
    assert act(api, users[Role.MODEL_OWNER], version, "submit").json()["state"] == "MRC_REVIEW"
    approved = act(api, users[Role.MRC], version, "approve", **ticked(Role.MRC))
    assert approved.json()["state"] == "APPROVED_STAGING"
    return version


# ---- deploy checks the approvals against the tier now --------------------------------------


def test_deploy_refuses_a_version_approved_under_a_lower_tier(api, users, model):
    version = approved_for_staging(api, users, model)
    # The tier rose without the workflow seeing it (a record from before this check).
    RegisteredModel.objects.filter(pk=model.pk).update(risk_tier="HIGH")
    response = act(api, users[Role.SRE], version, "deploy")
    assert response.status_code == 409
    body = response.json()
    assert body["state"] == "APPROVED_STAGING"
    assert "Security Architect" in body["detail"]
    assert "lower risk tier" in body["detail"]
    version.refresh_from_db()
    assert version.state == "APPROVED_STAGING"
    refusal = AuditEvent.objects.get(event_type="ACCESS_DENIED", version_id=version.pk)
    assert refusal.details["status"] == 409


def test_deploy_goes_through_when_the_approvals_satisfy_the_tier(api, users, model):
    version = approved_for_staging(api, users, model)
    assert act(api, users[Role.SRE], version, "deploy").json()["state"] == "STAGING"


def test_approvals_of_an_earlier_cycle_do_not_count(api, users, model):
    version = ModelVersionFactory(model=model, state="APPROVED_STAGING", review_cycle=2)
    ApprovalFactory(version=version, cycle=1)
    response = act(api, users[Role.SRE], version, "deploy")
    assert response.status_code == 409
    assert "MRC" in response.json()["detail"]


def test_the_approved_case_names_what_a_tier_needs_and_what_was_given(model):
    version = ModelVersionFactory(model=model, state="APPROVED_PRODUCTION", review_cycle=3)
    approvals = [
        ("production", 3, 7, Role.MRC, "APPROVED"),
        ("production", 2, 8, Role.SECURITY_ARCHITECT, "APPROVED"),  # an earlier cycle
        ("staging", 3, 9, Role.SECURITY_ARCHITECT, "APPROVED"),  # the other environment
    ]
    assert separation.remaining_roles(separation.approved_case(version, approvals)) == ()
    model.risk_tier = "HIGH"
    case = separation.approved_case(version, approvals)
    assert separation.remaining_roles(case) == (Role.SECURITY_ARCHITECT,)
    model.risk_tier = "LOW"
    assert separation.approved_case(version, []).needed == ()
    with pytest.raises(ValueError, match="not approved"):
        separation.approved_case(ModelVersionFactory(model=model, state="STAGING"), [])


# ---- an approved tier change sends approved versions back to review -------------------------


def test_raising_the_tier_returns_approved_versions_to_review(api, users, model, make_user):
    staged = approved_for_staging(api, users, model)
    production = approved_for_staging(api, users, model)
    act(api, users[Role.SRE], production, "deploy")
    act(api, users[Role.MODEL_OWNER], production, "request-production")
    mrc2 = make_user(Role.MRC, username="mrc_two")
    approved = act(api, mrc2, production, "approve", **ticked(Role.MRC))
    assert approved.json()["state"] == "APPROVED_PRODUCTION"
    running = approved_for_staging(api, users, model)
    act(api, users[Role.SRE], running, "deploy")
    Notification.objects.all().delete()

    change_tier(
        api,
        users[Role.MODEL_OWNER],
        [users[Role.MRC], users[Role.SECURITY_ARCHITECT]],
        model,
        "HIGH",
    )

    states = dict(
        ModelVersion.objects.filter(model=model).values_list("pk", "state").order_by("pk")
    )
    assert states == {
        staged.pk: "MRC_REVIEW",
        production.pk: "PRODUCTION_REVIEW",
        running.pk: "STAGING",  # deployed: judged again at its next request
    }
    back = StateTransition.objects.filter(version=staged).order_by("id").last()
    assert (back.from_state, back.to_state, back.action, back.user) == (
        "APPROVED_STAGING",
        "MRC_REVIEW",
        "RETURN_TO_REVIEW",
        None,
    )
    assert "Security Architect" in back.comments
    event = AuditEvent.objects.get(action="RETURN_TO_REVIEW", version_id=staged.pk)
    assert event.event_type == "MODEL_PROMOTION"
    assert event.user_id == "system"
    assert event.details["lacking"] == [Role.SECURITY_ARCHITECT]
    assert (event.details["fromTier"], event.details["toTier"]) == ("MEDIUM", "HIGH")
    owner_told = Notification.objects.filter(
        user=users[Role.MODEL_OWNER], kind="TIER_CHANGE", version=staged
    )
    assert owner_told.exists()
    assert Notification.objects.filter(
        user=users[Role.MRC], kind="REVIEW_REQUESTED", version=staged
    ).exists()
    assert Notification.objects.filter(
        user=users[Role.SECURITY_ARCHITECT], kind="REVIEW_REQUESTED", version=production
    ).exists()

    # A new review cycle: the whole HIGH route again, the earlier reviewer included.
    staged.refresh_from_db()
    assert staged.review_cycle == 2
    assert act(api, users[Role.MRC], staged, "approve", **ticked(Role.MRC)).json()["state"] == (
        "SECURITY_REVIEW"
    )
    architect = users[Role.SECURITY_ARCHITECT]
    done = act(api, architect, staged, "approve", **ticked(Role.SECURITY_ARCHITECT))
    assert done.json()["state"] == "APPROVED_STAGING"
    assert act(api, users[Role.SRE], staged, "deploy").json()["state"] == "STAGING"


def test_lowering_the_tier_leaves_approved_versions_approved(api, users, model):
    version = approved_for_staging(api, users, model)
    change_tier(api, users[Role.MODEL_OWNER], [users[Role.MRC]], model, "LOW")
    version.refresh_from_db()
    assert version.state == "APPROVED_STAGING"
    assert not StateTransition.objects.filter(action="RETURN_TO_REVIEW").exists()


def test_a_system_approved_low_version_returns_when_the_model_becomes_medium(api, users):
    owner = users[Role.MODEL_OWNER]
    created = api(owner).post(
        "/api/v1/models/", {"name": "low-one", "riskAssessment": ALL_LOW}, format="json"
    )
    model = RegisteredModel.objects.get(pk=created.json()["id"])
    version = ModelVersionFactory(model=model)
    ArtifactFactory(version=version)
    assert act(api, owner, version, "submit").json()["state"] == "APPROVED_STAGING"
    change_tier(api, owner, [users[Role.MRC]], model, "MEDIUM")
    version.refresh_from_db()
    assert version.state == "MRC_REVIEW"


# ---- MRC re-tiers any model ----------------------------------------------------------------


def test_mrc_opens_a_tier_change_decided_by_another_mrc_member(api, users, model, make_user):
    mrc, mrc2 = users[Role.MRC], make_user(Role.MRC, username="mrc_two")
    made = api(mrc).post(
        f"/api/v1/models/{model.pk}/risk-tier-changes/",
        {"requestedTier": "HIGH", "justification": "drives automated credit decisions"},
        format="json",
    )
    assert made.status_code == 201
    assert made.json()["requestedBy"] == "mrc"
    assert made.json()["requiredRoles"] == [Role.MRC, Role.SECURITY_ARCHITECT]
    request_id = made.json()["id"]
    own = api(mrc).post(f"/api/v1/risk-tier-changes/{request_id}/approve/")
    assert own.status_code == 403
    assert "own request" in own.json()["detail"]
    owner = api(users[Role.MODEL_OWNER]).post(f"/api/v1/risk-tier-changes/{request_id}/approve/")
    assert owner.status_code == 403
    assert api(mrc2).post(f"/api/v1/risk-tier-changes/{request_id}/approve/").json()["status"] == (
        "REQUESTED"
    )  # to HIGH: a Security Architect too
    architect = users[Role.SECURITY_ARCHITECT]
    done = api(architect).post(f"/api/v1/risk-tier-changes/{request_id}/approve/").json()
    assert done["status"] == "APPROVED"
    model.refresh_from_db()
    assert model.risk_tier == "HIGH"


def test_the_model_page_offers_mrc_a_tier_change_request(client, users, model):
    client.force_login(users[Role.MRC])
    page = client.get(f"/models/{model.pk}/").content.decode()
    assert f"/models/{model.pk}/tier-change/" in page
    response = client.post(
        f"/models/{model.pk}/tier-change/",
        {"requested_tier": "HIGH", "justification": "re-tiering by the risk team"},
    )
    assert response.status_code == 302
    assert model.tier_change_requests.get().requested_by == users[Role.MRC]
    client.force_login(users[Role.AUDITOR])
    assert (
        f"/models/{model.pk}/tier-change/"
        not in client.get(f"/models/{model.pk}/").content.decode()
    )


# ---- LOW is never stated alone -------------------------------------------------------------


def test_a_low_tier_stated_alone_is_400_naming_the_risk_assessment(api, owner):
    response = api(owner).post("/api/v1/models/", {"name": "m", "riskTier": "LOW"}, format="json")
    assert response.status_code == 400
    assert "six factors LOW" in response.json()["riskAssessment"][0]
    assert not RegisteredModel.objects.exists()


def test_a_low_tier_follows_from_an_all_low_assessment(api, owner):
    response = api(owner).post(
        "/api/v1/models/",
        {"name": "m", "riskTier": "LOW", "riskAssessment": ALL_LOW},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["riskTier"] == "LOW"
    one_medium = {**ALL_LOW, "dataSensitivity": "MEDIUM"}
    refused = api(owner).post(
        "/api/v1/models/",
        {"name": "n", "riskTier": "LOW", "riskAssessment": one_medium},
        format="json",
    )
    assert refused.status_code == 400
    assert "riskTier" in refused.json()


@pytest.mark.parametrize("tier", ["MEDIUM", "HIGH"])
def test_medium_and_high_may_still_be_stated_alone(api, owner, tier):
    response = api(owner).post("/api/v1/models/", {"name": "m", "riskTier": tier}, format="json")
    assert response.status_code == 201
    assert response.json()["riskTier"] == tier


def test_the_rule_is_the_domains(owner):
    with pytest.raises(Invalid) as refused:
        services.register_model(actor=owner, name="m", risk_tier="LOW")
    assert refused.value.field == "riskAssessment"
    assert services.decide_tier(None, ALL_LOW).tier == "LOW"


def test_update_cannot_state_low_and_restating_the_tier_changes_nothing(api, owner):
    created = (
        api(owner)
        .post("/api/v1/models/", {"name": "low-one", "riskAssessment": ALL_LOW}, format="json")
        .json()
    )
    same = api(owner).patch(f"/api/v1/models/{created['id']}/", {"riskTier": "LOW"}, format="json")
    assert same.status_code == 200
    assert same.json()["riskAssessment"] == ALL_LOW
    medium = api(owner).post(
        "/api/v1/models/", {"name": "med", "riskTier": "MEDIUM"}, format="json"
    )
    lowered = api(owner).patch(
        f"/api/v1/models/{medium.json()['id']}/", {"riskTier": "LOW"}, format="json"
    )
    assert lowered.status_code == 400
    assert "risk tier change request" in lowered.json()["riskTier"][0]
