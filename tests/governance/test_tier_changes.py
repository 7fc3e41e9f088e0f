import pytest

from audit.models import AuditEvent
from core.choices import Role
from tests.factories import ModelVersionFactory, RegisteredModelFactory
from tests.governance.checklists import ticked

pytestmark = pytest.mark.django_db


def request_change(api, user, model, tier, justification="new use case"):
    return api(user).post(
        f"/api/v1/models/{model.pk}/risk-tier-changes/",
        {"requestedTier": tier, "justification": justification},
        format="json",
    )


def decide(api, user, request_id, decision):
    return api(user).post(f"/api/v1/risk-tier-changes/{request_id}/{decision}/", {}, format="json")


def test_medium_to_low_needs_only_mrc(api, users, model):
    created = request_change(api, users[Role.MODEL_OWNER], model, "LOW")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["fromTier"], body["requestedTier"], body["status"]) == (
        "MEDIUM",
        "LOW",
        "REQUESTED",
    )
    assert body["requiredRoles"] == ["MRC"]
    model.refresh_from_db()
    assert model.risk_tier == "MEDIUM"  # not before approval
    approved = decide(api, users[Role.MRC], body["id"], "approve")
    assert approved.json()["status"] == "APPROVED"
    model.refresh_from_db()
    assert model.risk_tier == "LOW"
    assert "request #" in model.risk_tier_reason
    assert AuditEvent.objects.filter(event_type="RISK_TIER_CHANGE", action="APPLY").exists()
    fetched = api(users[Role.AUDITOR]).get(f"/api/v1/risk-tier-changes/{body['id']}/").json()
    assert fetched["decisions"][0]["user"] == "mrc"


def test_to_high_needs_mrc_and_security_each_a_different_person(api, users, make_user, model):
    both = make_user(Role.MRC, Role.SECURITY_ARCHITECT, username="both")
    body = request_change(api, users[Role.MODEL_OWNER], model, "HIGH").json()
    assert body["requiredRoles"] == ["MRC", "Security Architect"]
    assert decide(api, both, body["id"], "approve").json()["status"] == "REQUESTED"
    second = decide(api, both, body["id"], "approve")
    assert second.status_code == 403
    model.refresh_from_db()
    assert model.risk_tier == "MEDIUM"
    assert decide(api, users[Role.SECURITY_ARCHITECT], body["id"], "approve").json()["status"] == (
        "APPROVED"
    )
    model.refresh_from_db()
    assert model.risk_tier == "HIGH"


def test_refusals(api, users, make_user, model):
    owner = users[Role.MODEL_OWNER]
    assert request_change(api, owner, model, "MEDIUM").status_code == 400  # already MEDIUM
    assert request_change(api, users[Role.AUDITOR], model, "LOW").status_code == 403
    body = request_change(api, owner, model, "LOW").json()
    assert request_change(api, owner, model, "HIGH").status_code == 409  # one open at a time
    owner_mrc = make_user(Role.MODEL_OWNER, Role.MRC, username="owner_mrc")
    own_model = RegisteredModelFactory(owner=owner_mrc)
    own = request_change(api, owner_mrc, own_model, "LOW").json()
    refused = decide(api, owner_mrc, own["id"], "approve")
    assert refused.status_code == 403
    assert "own request" in refused.json()["detail"]
    assert decide(api, users[Role.AUDITOR], body["id"], "approve").status_code == 403
    assert decide(api, users[Role.MRC], body["id"], "reject").json()["status"] == "REJECTED"
    assert decide(api, users[Role.MRC], body["id"], "approve").status_code == 409


def test_tier_change_reroutes_versions_under_review(api, users, model):
    version = ModelVersionFactory(model=model, state="MRC_REVIEW", review_cycle=1)
    body = request_change(api, users[Role.MODEL_OWNER], model, "HIGH").json()
    decide(api, users[Role.MRC], body["id"], "approve")
    decide(api, users[Role.SECURITY_ARCHITECT], body["id"], "approve")
    # now HIGH: the MRC approval leads to security review rather than straight to staging
    response = api(users[Role.MRC]).post(
        f"/api/v1/versions/{version.pk}/approve/", ticked(Role.MRC), format="json"
    )
    assert response.json()["state"] == "SECURITY_REVIEW"
