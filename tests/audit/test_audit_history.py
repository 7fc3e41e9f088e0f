"""django-simple-history keeps a row per change of models, versions and artifacts, beside the
audit events, and the admin shows it to the oversight roles."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

from audit.models import AuditEvent
from core.choices import Role
from registry import services
from registry.models import Artifact, ModelVersion, RegisteredModel

pytestmark = pytest.mark.django_db

SHA = "0f" * 32


def api_client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=user)
    return client


def ok(response) -> dict:
    assert response.status_code in (200, 201), response.content
    return response.json()


@pytest.fixture
def lifecycle(owner, make_user) -> dict:
    """Create and then change a model, a version and an artifact through the API."""
    client = api_client(owner)
    model = ok(client.post("/api/v1/models/", {"name": "hist", "riskTier": "HIGH"}, format="json"))
    ok(client.patch(f"/api/v1/models/{model['id']}/", {"description": "d2"}, format="json"))
    version = ok(
        client.post(f"/api/v1/models/{model['id']}/versions/", {"version": "1.0.0"}, format="json")
    )
    ok(client.patch(f"/api/v1/versions/{version['id']}/", {"tags": {"k": "v"}}, format="json"))
    artifact = ok(
        client.post(
            f"/api/v1/versions/{version['id']}/artifacts/",
            {"name": "h.onnx", "type": "model", "uri": "s3://b/h.onnx", "sha256": SHA},
            format="json",
        )
    )
    # The scan result comes from a scanning pipeline, never from the owner.
    ok(
        api_client(make_user("Scanner", username="pipeline")).patch(
            f"/api/v1/artifacts/{artifact['id']}/",
            {"securityScan": {"status": "PASSED", "scanner": "trivy"}},
            format="json",
        )
    )
    return {
        "model": RegisteredModel.objects.get(pk=model["id"]),
        "version": ModelVersion.objects.get(pk=version["id"]),
        "artifact": Artifact.objects.get(pk=artifact["id"]),
    }


def test_a_model_has_a_history_row_per_change_by_the_person_who_made_it(lifecycle, owner):
    rows = list(lifecycle["model"].history.order_by("history_date", "history_id"))
    assert [row.history_type for row in rows] == ["+", "~"]
    assert [row.description for row in rows] == ["", "d2"]
    assert all(row.history_user_id == owner.pk for row in rows)
    delta = rows[1].diff_against(rows[0])
    assert "description" in delta.changed_fields
    assert "name" not in delta.changed_fields


def test_a_version_has_a_history_row_per_change(lifecycle, owner):
    rows = list(lifecycle["version"].history.order_by("history_date", "history_id"))
    assert [row.history_type for row in rows] == ["+", "~"]
    assert [row.tags for row in rows] == [{}, {"k": "v"}]
    assert [row.state for row in rows] == ["DRAFT", "DRAFT"]
    assert all(row.history_user_id == owner.pk for row in rows)


def test_an_artifact_has_a_history_row_per_change(lifecycle, owner):
    rows = list(lifecycle["artifact"].history.order_by("history_date", "history_id"))
    assert [row.history_type for row in rows] == ["+", "~"]
    assert [row.scan_status for row in rows] == ["PENDING", "PASSED"]
    assert rows[1].scan_scanner == "trivy"
    # Added by the owner, its scan recorded by the pipeline: each row names who.
    assert rows[0].history_user_id == owner.pk
    assert rows[1].history_user.username == "pipeline"
    assert rows[1].scan_source == "SCANNER"


def test_history_rows_and_audit_events_tell_the_same_story(lifecycle):
    history_changes = (
        lifecycle["model"].history.count()
        + lifecycle["version"].history.count()
        + lifecycle["artifact"].history.count()
    )
    assert history_changes == AuditEvent.objects.filter(event_type="MODEL_REGISTRY").count() == 6


def test_a_change_outside_a_request_is_recorded_without_a_user(owner):
    model = services.register_model(actor=owner, name="batch", risk_tier="MEDIUM")
    services.update_model(model, actor=owner, description="nightly")
    rows = list(model.history.order_by("history_date", "history_id"))
    assert [(row.history_type, row.description) for row in rows] == [("+", ""), ("~", "nightly")]
    assert [row.history_user_id for row in rows] == [None, None]


def test_a_refused_change_leaves_no_history(users, lifecycle):
    model = lifecycle["model"]
    response = api_client(users[Role.MRC]).patch(
        f"/api/v1/models/{model.pk}/", {"description": "mrc"}, format="json"
    )
    assert response.status_code == 403
    assert model.history.count() == 2


def test_an_unchanged_patch_writes_neither_history_nor_event(owner, lifecycle):
    model = lifecycle["model"]
    events = AuditEvent.objects.count()
    ok(api_client(owner).patch(f"/api/v1/models/{model.pk}/", {"description": "d2"}, format="json"))
    assert model.history.count() == 2
    assert AuditEvent.objects.count() == events


@pytest.mark.parametrize("kind", ["registeredmodel", "modelversion", "artifact"])
def test_admin_history_pages_load_for_a_staff_mrc_user(users, lifecycle, kind):
    mrc = users[Role.MRC]
    assert mrc.is_staff
    client = Client()
    client.force_login(mrc)
    obj = {"registeredmodel": "model", "modelversion": "version", "artifact": "artifact"}[kind]
    target = lifecycle[obj]
    response = client.get(f"/admin/registry/{kind}/{target.pk}/history/")
    assert response.status_code == 200
    listed = list(response.context["page_obj"].object_list)
    assert len(listed) == 2
    assert {record.history_type for record in listed} == {"+", "~"}
    assert b"olivia" in response.content


def test_admin_history_page_of_a_model_shows_its_changes(users, lifecycle):
    client = Client()
    client.force_login(users[Role.MRC])
    model = lifecycle["model"]
    response = client.get(f"/admin/registry/registeredmodel/{model.pk}/history/")
    assert response.status_code == 200
    content = response.content.decode()
    assert "Created" in content
    assert "Changed" in content
    assert str(model) in content


def test_admin_history_page_is_not_for_non_staff(owner, lifecycle):
    client = Client()
    client.force_login(owner)
    response = client.get(f"/admin/registry/registeredmodel/{lifecycle['model'].pk}/history/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
