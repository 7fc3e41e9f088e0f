"""The monitoring page of a version (charts with thresholds, windows, batches, open
violations, the upload form) and the read-only admin of batches, outcomes and windows."""

from __future__ import annotations

import pytest

from core.choices import Role
from evaluations.models import MonitoringBatch, MonitoringWindow
from tests.evaluations.test_monitoring_helpers import (
    batch_frame,
    csv_upload,
    deployed_version,
    post_batch,
    run_sync,
)
from tests.factories import PolicyFactory, ViolationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def sync(settings, monkeypatch, django_capture_on_commit_callbacks):
    run_sync(settings, monkeypatch)
    return django_capture_on_commit_callbacks


@pytest.fixture
def version(model):
    return deployed_version(model)


def page_url(version) -> str:
    return f"/versions/{version.pk}/monitoring/"


def test_the_page_shows_charts_with_the_threshold_batches_and_violations(
    client, api, owner, version, sync
):
    with sync(execute=True):
        post_batch(api(owner), version, batch_frame(1500, shift=1.0), batch_id="nightly-7")
    policy = PolicyFactory(policy_id="production-monitoring")
    ViolationFactory(
        version=version, policy=policy, rule_index=1, message="scores drifted from approval"
    )
    client.force_login(owner)
    response = client.get(page_url(version))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="monitoring-charts"' in html and "<svg" in html
    assert "Score PSI per day" in html and "production-monitoring: under 0.2" in html
    assert "PSI per feature" in html
    assert "nightly-7" in html and "1500" in html
    assert "scores drifted from approval" in html
    psi = MonitoringWindow.objects.get(version=version).metrics["scorePsi"]
    assert f"{psi:.3f}" in html
    assert 'id="monitoring-upload-form"' in html


def test_the_page_uploads_a_batch_and_shows_a_bad_file_s_problem(client, owner, version, sync):
    client.force_login(owner)
    bad = batch_frame(20).drop(columns=["age"])
    response = client.post(page_url(version), {"file": csv_upload(bad), "batch_id": "p-1"})
    assert response.status_code == 200
    assert "missing column" in response.content.decode()
    assert not MonitoringBatch.objects.exists()
    with sync(execute=True):
        response = client.post(
            page_url(version), {"file": csv_upload(batch_frame(30)), "batch_id": "p-1"}
        )
    assert response.status_code == 302
    assert MonitoringBatch.objects.get().rows == 30
    assert "Batch p-1 received" in client.get(page_url(version)).content.decode()


@pytest.mark.parametrize(
    "role, status, form",
    [
        (Role.SRE, 200, True),
        (Role.MRC, 200, False),
        (Role.AUDITOR, 200, False),
        (Role.EXECUTIVE, 200, False),
    ],
)
def test_who_sees_the_page_and_its_form(client, users, version, role, status, form):
    client.force_login(users[role])
    response = client.get(page_url(version))
    assert response.status_code == status
    assert ('id="monitoring-upload-form"' in response.content.decode()) is form


def test_another_owner_gets_404(client, make_user, version):
    client.force_login(make_user(Role.MODEL_OWNER, username="oscar"))
    assert client.get(page_url(version)).status_code == 404


def test_a_retired_version_shows_its_history_without_a_form(client, owner, model):
    version = deployed_version(model, state="RETIRED")
    client.force_login(owner)
    html = client.get(page_url(version)).content.decode()
    assert "only a version in STAGING or PRODUCTION takes traffic" in html
    assert 'id="monitoring-upload-form"' not in html


def test_the_admin_lists_batches_and_windows_read_only(client, users, api, owner, version, sync):
    with sync(execute=True):
        post_batch(api(owner), version, batch_frame(100), batch_id="adm-1")
    client.force_login(users[Role.MRC])
    batch = MonitoringBatch.objects.get()
    window = MonitoringWindow.objects.get()
    listing = client.get("/admin/evaluations/monitoringbatch/")
    assert listing.status_code == 200 and "adm-1" in listing.content.decode()
    assert client.get(f"/admin/evaluations/monitoringbatch/{batch.pk}/change/").status_code == 200
    windows = client.get("/admin/evaluations/monitoringwindow/")
    assert windows.status_code == 200
    assert client.get(f"/admin/evaluations/monitoringwindow/{window.pk}/change/").status_code == 200
    assert client.get("/admin/evaluations/monitoringoutcomes/").status_code == 200
    assert client.get("/admin/evaluations/monitoringbatch/add/").status_code == 403
    deleted = client.post(f"/admin/evaluations/monitoringbatch/{batch.pk}/delete/", {"post": "yes"})
    assert deleted.status_code == 403
    assert MonitoringBatch.objects.filter(pk=batch.pk).exists()
