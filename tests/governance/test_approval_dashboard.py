import pytest

from core.choices import Role
from tests.factories import ArtifactFactory, ModelVersionFactory, RegisteredModelFactory
from tests.governance.checklists import ticked

pytestmark = pytest.mark.django_db


def submit_and_approve(api, owner, mrc, tier="MEDIUM"):
    model = RegisteredModelFactory(owner=owner, risk_tier=tier)
    version = ModelVersionFactory(model=model)
    ArtifactFactory(version=version)
    api(owner).post(f"/api/v1/versions/{version.pk}/submit/", {}, format="json")
    if mrc is not None:
        api(mrc).post(f"/api/v1/versions/{version.pk}/approve/", ticked(Role.MRC), format="json")
    return version


def test_pending_for_me_respects_roles_and_separation_of_duties(api, users, make_user):
    owner, mrc = users[Role.MODEL_OWNER], users[Role.MRC]
    waiting = submit_and_approve(api, owner, None)
    owner_mrc = make_user(Role.MODEL_OWNER, Role.MRC, username="owner_mrc")
    own = submit_and_approve(api, owner_mrc, None)
    mine = api(mrc).get("/api/v1/approval-dashboard/").json()
    assert {row["id"] for row in mine["pending"]} == {waiting.pk, own.pk}
    theirs = api(owner_mrc).get("/api/v1/approval-dashboard/").json()
    assert {row["id"] for row in theirs["pending"]} == {waiting.pk}  # not their own
    security = api(users[Role.SECURITY_ARCHITECT]).get("/api/v1/approval-dashboard/").json()
    assert security["pending"] == []  # MEDIUM never needs a security review
    assert {
        row["id"] for row in api(owner).get("/api/v1/approval-dashboard/").json()["myRequests"]
    } == {waiting.pk}


def test_metrics_count_decisions_and_time_in_stage(api, users):
    owner, mrc = users[Role.MODEL_OWNER], users[Role.MRC]
    submit_and_approve(api, owner, mrc)
    rejected = submit_and_approve(api, owner, None)
    api(mrc).post(f"/api/v1/versions/{rejected.pk}/reject/", {"comments": "no"}, format="json")
    metrics = api(users[Role.AUDITOR]).get("/api/v1/approval-dashboard/").json()["metrics"]
    assert metrics["decisionsByStage"]["MRC_REVIEW"] == {"approved": 1, "rejected": 1}
    assert metrics["approvalRate"] == 0.5
    assert metrics["timeInStage"]["MRC_REVIEW"]["count"] == 2
    assert metrics["timeInStage"]["MRC_REVIEW"]["medianHours"] >= 0


def test_dashboard_page_renders_chart_and_pending(client, users):
    owner, mrc = users[Role.MODEL_OWNER], users[Role.MRC]
    from rest_framework.test import APIClient

    api_client = APIClient()
    api_client.force_authenticate(owner)
    version = ModelVersionFactory(model=RegisteredModelFactory(owner=owner, risk_tier="MEDIUM"))
    api_client.post(f"/api/v1/versions/{version.pk}/submit/", {}, format="json")
    client.force_login(mrc)
    page = client.get("/approvals/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "<svg" in html
    assert f'href="/versions/{version.pk}/"' in html
