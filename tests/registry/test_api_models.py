import pytest

from audit.models import AuditEvent
from registry.models import RegisteredModel

pytestmark = pytest.mark.django_db

ASSESSMENT = {
    "businessImpact": "LOW",
    "customerExposure": "MEDIUM",
    "financialImpact": "LOW",
    "regulatoryScope": "HIGH",
    "dataSensitivity": "HIGH",
    "automationLevel": "LOW",
}


def test_register_model_derives_tier_from_assessment_and_records_it(api, owner):
    response = api(owner).post(
        "/api/v1/models/",
        {
            "name": "credit-scoring",
            "description": "PD model",
            "riskAssessment": ASSESSMENT,
            "tags": {"team": "lending"},
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["riskTier"] == "HIGH"
    assert "Regulatory scope" in body["riskTierReason"]
    assert "Data sensitivity" in body["riskTierReason"]
    assert body["owner"] == "olivia"
    assert body["riskAssessment"] == ASSESSMENT
    assert body["tags"] == {"team": "lending"}
    assert set(body) >= {
        "id",
        "name",
        "description",
        "riskTier",
        "riskAssessment",
        "tags",
        "owner",
        "createdAt",
        "updatedAt",
    }
    event = AuditEvent.objects.get(action="REGISTER_MODEL")
    assert (event.user_id, event.model_id, event.details["riskTier"]) == (
        "olivia",
        body["id"],
        "HIGH",
    )


def test_register_with_stated_tier_only(api, owner):
    response = api(owner).post("/api/v1/models/", {"name": "m", "riskTier": "HIGH"}, format="json")
    assert response.status_code == 201
    assert response.json()["riskTier"] == "HIGH"
    assert response.json()["riskAssessment"] is None


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": "m"}, "riskTier"),
        ({"name": "m", "riskTier": "LOW", "riskAssessment": ASSESSMENT}, "riskTier"),
        ({"name": "m", "riskTier": "EXTREME"}, "riskTier"),
        ({"name": "m", "riskAssessment": {**ASSESSMENT, "vibes": "HIGH"}}, "riskAssessment"),
        ({"name": "m", "riskAssessment": {"businessImpact": "LOW"}}, "riskAssessment"),
        (
            {"name": "m", "riskAssessment": {**ASSESSMENT, "dataSensitivity": "huge"}},
            "riskAssessment",
        ),
        ({"name": "m", "riskTier": "LOW", "tags": {"a": 1}}, "tags"),
        ({"name": "m", "riskTier": "LOW", "tags": ["a"]}, "tags"),
        ({"name": "", "riskTier": "LOW"}, "name"),
        ({"name": "m", "riskTier": "LOW", "risk_tier": "LOW"}, "risk_tier"),
    ],
)
def test_register_refuses_bad_input_naming_the_field(api, owner, payload, field):
    response = api(owner).post("/api/v1/models/", payload, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not RegisteredModel.objects.exists()


def test_name_is_unique_case_insensitively(api, owner, model):
    response = api(owner).post(
        "/api/v1/models/", {"name": "FRAUD-detector", "riskTier": "MEDIUM"}, format="json"
    )
    assert response.status_code == 400
    assert "already registered" in response.json()["name"][0]


def test_patch_changes_description_and_tags_and_audits_the_change(api, owner, model):
    response = api(owner).patch(
        f"/api/v1/models/{model.pk}/", {"description": "new", "tags": {"x": "y"}}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["description"] == "new"
    event = AuditEvent.objects.get(action="UPDATE_MODEL")
    assert event.details["changes"]["description"] == {"from": "A model for tests.", "to": "new"}


def test_patch_cannot_change_the_tier_directly(api, owner, model):
    response = api(owner).patch(f"/api/v1/models/{model.pk}/", {"riskTier": "LOW"}, format="json")
    assert response.status_code == 400
    assert "risk tier change request" in response.json()["riskTier"][0]
    model.refresh_from_db()
    assert model.risk_tier == "MEDIUM"


def test_put_is_not_an_allowed_method(api, owner, model):
    response = api(owner).put(f"/api/v1/models/{model.pk}/", {"name": "x"}, format="json")
    assert response.status_code == 405


def test_list_filters(api, users, make_user):
    from tests.factories import RegisteredModelFactory

    RegisteredModelFactory(name="alpha-scorer", risk_tier="HIGH", owner=users["Model Owner"])
    RegisteredModelFactory(name="beta-ranker", risk_tier="LOW", description="ranks alpha things")
    client = api(users["MRC"])
    assert [m["name"] for m in client.get("/api/v1/models/?riskTier=HIGH").json()["results"]] == [
        "alpha-scorer"
    ]
    assert {m["name"] for m in client.get("/api/v1/models/?search=alpha").json()["results"]} == {
        "alpha-scorer",
        "beta-ranker",
    }
    by_owner = client.get("/api/v1/models/?owner=olivia").json()
    assert [m["name"] for m in by_owner["results"]] == ["alpha-scorer"]
    assert client.get("/api/v1/models/?riskTier=NOPE").status_code == 400


def test_owner_sees_only_own_models_and_others_are_404(api, owner, model):
    from tests.factories import RegisteredModelFactory

    other = RegisteredModelFactory(name="someone-elses")
    client = api(owner)
    assert [m["name"] for m in client.get("/api/v1/models/").json()["results"]] == [
        "fraud-detector"
    ]
    assert client.get(f"/api/v1/models/{other.pk}/").status_code == 404
    assert client.get("/api/v1/models/999999/").status_code == 404
    assert client.get("/api/v1/models/not-a-number/").status_code == 404
