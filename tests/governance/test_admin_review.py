"""Reviewers decide from the admin change page, through the same domain functions."""

import pytest
from django.core import mail

from audit.models import AuditEvent
from core.choices import Role
from governance.choices import MRC_CHECKLIST
from governance.notifications import send_notification_email
from tests.factories import ArtifactFactory, ModelVersionFactory, RegisteredModelFactory

pytestmark = pytest.mark.django_db


def version_in_review(owner, state="MRC_REVIEW"):
    model = RegisteredModelFactory(owner=owner, risk_tier="HIGH")
    version = ModelVersionFactory(model=model, state=state, review_cycle=1, submitted_by=owner)
    ArtifactFactory(version=version)
    return version


def test_mrc_approves_from_the_admin_change_page(client, users):
    version = version_in_review(users[Role.MODEL_OWNER])
    client.force_login(users[Role.MRC])
    page = client.get(f"/admin/registry/modelversion/{version.pk}/change/")
    assert page.status_code == 200
    assert "Your review decision" in page.content.decode()
    awaiting = client.get("/admin/registry/modelversion/?review=mine").content.decode()
    assert f"/admin/registry/modelversion/{version.pk}/change/" in awaiting
    response = client.post(
        f"/admin/registry/modelversion/{version.pk}/decide/approve/",
        {"comments": "from the admin", **dict.fromkeys(MRC_CHECKLIST, "on")},
    )
    assert response.status_code == 302
    version.refresh_from_db()
    assert version.state == "SECURITY_REVIEW"
    approval = version.approvals.get()
    assert approval.checklist == dict.fromkeys(MRC_CHECKLIST, True)
    assert approval.comments == "from the admin"


def test_admin_refusals_are_messages_and_audited(client, users):
    version = version_in_review(users[Role.MODEL_OWNER])
    client.force_login(users[Role.SECURITY_ARCHITECT])  # MRC_REVIEW is not theirs
    page = client.get(f"/admin/registry/modelversion/{version.pk}/change/").content.decode()
    assert "Your review decision" not in page
    response = client.post(
        f"/admin/registry/modelversion/{version.pk}/decide/approve/", {"comments": ""}, follow=True
    )
    assert "Refused: a decision in MRC_REVIEW needs the role MRC" in response.content.decode()
    version.refresh_from_db()
    assert version.state == "MRC_REVIEW"
    assert AuditEvent.objects.filter(event_type="ACCESS_DENIED", version_id=version.pk).exists()


def test_admin_rejects(client, users):
    version = version_in_review(users[Role.MODEL_OWNER], state="SECURITY_REVIEW")
    client.force_login(users[Role.SECURITY_ARCHITECT])
    client.post(
        f"/admin/registry/modelversion/{version.pk}/decide/reject/", {"comments": "CVE-2026-1"}
    )
    version.refresh_from_db()
    assert version.state == "CHANGES_REQUIRED"


def test_notification_email_task_sends_one_mail_per_recipient(settings):
    settings.SITE_URL = "https://registry.example.com"
    sent = send_notification_email(
        ["a@example.com", "b@example.com"], "m 1.0 awaits", "/versions/1/"
    )
    assert sent == 2
    assert [m.to for m in mail.outbox] == [["a@example.com"], ["b@example.com"]]
    assert "https://registry.example.com/versions/1/" in mail.outbox[0].body
    assert mail.outbox[0].subject == "[Model Registry] m 1.0 awaits"


def test_notifications_queue_email_after_commit(
    api, users, django_capture_on_commit_callbacks, monkeypatch
):
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "SYNC", True)  # run the worker's task in the test
    owner = users[Role.MODEL_OWNER]
    model = RegisteredModelFactory(owner=owner, risk_tier="MEDIUM")
    version = ModelVersionFactory(model=model)
    ArtifactFactory(version=version)
    with django_capture_on_commit_callbacks(execute=True):
        api(owner).post(f"/api/v1/versions/{version.pk}/submit/", {}, format="json")
    assert any(users[Role.MRC].email in m.to for m in mail.outbox)
