"""Reviews that mean something: an approval carries its reviewer's whole checklist.

An MRC approval needs the guide's five MRC checklist items ticked, a Security Architect's the
four security review areas; otherwise 400 naming what is not ticked, audited, nothing
changed. Rejecting needs neither. The same rule holds through the API, the pages and the
admin, and the record (Approval, its audit event, the published shape) keeps what was
attested.
"""

import pytest

from audit.models import AuditEvent
from core.choices import Action, Role
from governance.choices import MRC_CHECKLIST, REVIEW_CHECKLISTS, SECURITY_CHECKLIST
from governance.models import Approval
from governance.shapes import ApprovalOutput
from tests.factories import (
    ApprovalFactory,
    ArtifactFactory,
    ModelVersionFactory,
    RegisteredModelFactory,
)
from tests.governance.checklists import ticked

pytestmark = pytest.mark.django_db


def in_review(owner, state="MRC_REVIEW", tier="HIGH"):
    model = RegisteredModelFactory(owner=owner, risk_tier=tier)
    version = ModelVersionFactory(model=model, state=state, review_cycle=1, submitted_by=owner)
    ArtifactFactory(version=version)
    return version


def approve(api, user, version, **body):
    return api(user).post(f"/api/v1/versions/{version.pk}/approve/", body, format="json")


def refusals(version):
    return AuditEvent.objects.filter(event_type="ACCESS_DENIED", version_id=version.pk)


# ---- the API -------------------------------------------------------------------------------


def test_an_mrc_approval_with_an_item_unticked_is_400_naming_it_and_audited(api, users):
    version = in_review(users[Role.MODEL_OWNER])
    partial = {**dict.fromkeys(MRC_CHECKLIST, True), "complianceSatisfied": False}
    response = approve(api, users[Role.MRC], version, checklist=partial)
    assert response.status_code == 400
    message = response.json()["checklist"][0]
    assert "not ticked: complianceSatisfied" in message
    assert "documentationComplete" not in message
    assert "rejects" in message
    version.refresh_from_db()
    assert version.state == "MRC_REVIEW"
    assert not Approval.objects.filter(version=version).exists()
    refusal = refusals(version).get()
    assert refusal.action == Action.REVIEW_VERSION
    assert refusal.details["status"] == 400
    assert "complianceSatisfied" in refusal.details["reason"]


def test_an_mrc_approval_without_a_checklist_names_all_five_items(api, users):
    version = in_review(users[Role.MODEL_OWNER])
    response = approve(api, users[Role.MRC], version, comments="looks fine")
    assert response.status_code == 400
    message = response.json()["checklist"][0]
    assert all(item in message for item in MRC_CHECKLIST)


def test_an_mrc_approval_with_every_item_ticked_is_recorded(api, users):
    version = in_review(users[Role.MODEL_OWNER])
    response = approve(api, users[Role.MRC], version, **ticked(Role.MRC))
    assert response.status_code == 200, response.json()
    assert response.json()["state"] == "SECURITY_REVIEW"
    approval = Approval.objects.get(version=version)
    assert approval.checklist == dict.fromkeys(MRC_CHECKLIST, True)
    assert approval.security_checklist is None
    event = AuditEvent.objects.get(action="APPROVE_STAGING", version_id=version.pk)
    assert event.details["checklist"] == dict.fromkeys(MRC_CHECKLIST, True)


def test_a_security_architect_approves_only_with_the_four_review_areas(api, users):
    version = in_review(users[Role.MODEL_OWNER], state="SECURITY_REVIEW")
    architect = users[Role.SECURITY_ARCHITECT]
    response = approve(api, architect, version, comments="scan clean")
    assert response.status_code == 400
    message = response.json()["securityChecklist"][0]
    assert all(area in message for area in SECURITY_CHECKLIST)
    half = {"vulnerabilityAssessment": True, "accessControls": True}
    message = approve(api, architect, version, securityChecklist=half).json()["securityChecklist"]
    assert "not ticked: dataProtection, threatAnalysis" in message[0]
    assert refusals(version).count() == 2
    response = approve(api, architect, version, **ticked(Role.SECURITY_ARCHITECT))
    assert response.status_code == 200, response.json()
    assert response.json()["state"] == "APPROVED_STAGING"
    approval = Approval.objects.get(version=version)
    assert approval.security_checklist == dict.fromkeys(SECURITY_CHECKLIST, True)
    assert approval.checklist is None
    shape = ApprovalOutput(approval).data
    assert shape["securityChecklist"] == dict.fromkeys(SECURITY_CHECKLIST, True)
    assert shape["checklist"] is None
    event = AuditEvent.objects.get(action="APPROVE_STAGING", version_id=version.pk)
    assert event.details["securityChecklist"] == dict.fromkeys(SECURITY_CHECKLIST, True)


def test_each_role_attests_its_own_checklist_only(api, users):
    version = in_review(users[Role.MODEL_OWNER], state="SECURITY_REVIEW")
    both = {**ticked(Role.SECURITY_ARCHITECT), **ticked(Role.MRC)}
    response = approve(api, users[Role.SECURITY_ARCHITECT], version, **both)
    assert response.status_code == 400
    assert "you approve as Security Architect" in response.json()["checklist"][0]
    assert version.approvals.count() == 0


def test_production_review_asks_each_reviewer_for_their_roles_checklist(api, users, make_user):
    version = in_review(users[Role.MODEL_OWNER], state="PRODUCTION_REVIEW")
    mrc, architect = users[Role.MRC], users[Role.SECURITY_ARCHITECT]
    assert "checklist" in approve(api, mrc, version, **ticked(Role.SECURITY_ARCHITECT)).json()
    assert approve(api, mrc, version, **ticked(Role.MRC)).json()["state"] == "PRODUCTION_REVIEW"
    assert "securityChecklist" in approve(api, architect, version, **ticked(Role.MRC)).json()
    done = approve(api, architect, version, **ticked(Role.SECURITY_ARCHITECT)).json()
    assert done["state"] == "APPROVED_PRODUCTION"
    by_role = {a.role: a for a in version.approvals.all()}
    assert by_role[Role.MRC].checklist == dict.fromkeys(MRC_CHECKLIST, True)
    assert by_role[Role.SECURITY_ARCHITECT].security_checklist == dict.fromkeys(
        SECURITY_CHECKLIST, True
    )


def test_a_reject_needs_no_checklist(api, users):
    version = in_review(users[Role.MODEL_OWNER])
    response = api(users[Role.MRC]).post(
        f"/api/v1/versions/{version.pk}/reject/", {"comments": "no validation report"}
    )
    assert response.status_code == 200
    assert response.json()["state"] == "CHANGES_REQUIRED"


def test_the_role_is_checked_before_the_checklist(api, users):
    version = in_review(users[Role.MODEL_OWNER])
    response = approve(api, users[Role.SECURITY_ARCHITECT], version, **ticked(Role.MRC))
    assert response.status_code == 403  # MRC_REVIEW is not theirs, whatever they tick


@pytest.mark.parametrize(
    "body",
    [
        {"securityChecklist": {"vibes": True}},
        {"securityChecklist": {"threatAnalysis": "yes"}},
        {"securityChecklist": ["threatAnalysis"]},
        {"securityChecklist": "all"},
    ],
)
def test_a_malformed_security_checklist_is_400(api, users, body):
    version = in_review(users[Role.MODEL_OWNER], state="SECURITY_REVIEW")
    response = approve(api, users[Role.SECURITY_ARCHITECT], version, **body)
    assert response.status_code == 400
    assert "securityChecklist" in response.json()


# ---- the pages -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "role", "shown", "hidden"),
    [
        ("MRC_REVIEW", Role.MRC, MRC_CHECKLIST, SECURITY_CHECKLIST),
        ("SECURITY_REVIEW", Role.SECURITY_ARCHITECT, SECURITY_CHECKLIST, MRC_CHECKLIST),
        ("PRODUCTION_REVIEW", Role.MRC, MRC_CHECKLIST, SECURITY_CHECKLIST),
        ("PRODUCTION_REVIEW", Role.SECURITY_ARCHITECT, SECURITY_CHECKLIST, MRC_CHECKLIST),
    ],
)
def test_the_review_form_shows_the_reviewers_checklist(client, users, state, role, shown, hidden):
    version = in_review(users[Role.MODEL_OWNER], state=state)
    client.force_login(users[role])
    page = client.get(f"/versions/{version.pk}/").content.decode()
    assert 'id="review-form"' in page
    assert REVIEW_CHECKLISTS[role].title in page
    for item, label in shown.items():
        assert f'name="{item}"' in page
        assert label in page
    for item in hidden:
        assert f'name="{item}"' not in page


def test_nobody_who_may_not_review_sees_a_checklist(client, users):
    version = in_review(users[Role.MODEL_OWNER])
    for person in (users[Role.MODEL_OWNER], users[Role.AUDITOR], users[Role.SECURITY_ARCHITECT]):
        client.force_login(person)
        page = client.get(f"/versions/{version.pk}/").content.decode()
        assert 'id="review-form"' not in page
        assert 'name="documentationComplete"' not in page


def test_a_page_approval_with_an_item_unticked_is_refused_with_a_message(client, users):
    version = in_review(users[Role.MODEL_OWNER], state="SECURITY_REVIEW")
    client.force_login(users[Role.SECURITY_ARCHITECT])
    form = {"comments": "ok", "vulnerabilityAssessment": "on", "accessControls": "on"}
    page = client.post(f"/versions/{version.pk}/do/approve/", form, follow=True)
    text = page.content.decode()
    assert "Refused: approving as Security Architect needs every item" in text
    assert "dataProtection, threatAnalysis" in text
    version.refresh_from_db()
    assert version.state == "SECURITY_REVIEW"
    form.update(dataProtection="on", threatAnalysis="on")
    client.post(f"/versions/{version.pk}/do/approve/", form)
    version.refresh_from_db()
    assert version.state == "APPROVED_STAGING"
    assert version.approvals.get().security_checklist == dict.fromkeys(SECURITY_CHECKLIST, True)


def test_a_page_reject_needs_no_checklist(client, users):
    version = in_review(users[Role.MODEL_OWNER])
    client.force_login(users[Role.MRC])
    client.post(f"/versions/{version.pk}/do/reject/", {"comments": "missing report"})
    version.refresh_from_db()
    assert version.state == "CHANGES_REQUIRED"


# ---- the admin -----------------------------------------------------------------------------


def test_an_admin_approval_with_an_item_unticked_is_refused(client, users):
    version = in_review(users[Role.MODEL_OWNER])
    client.force_login(users[Role.MRC])
    response = client.post(
        f"/admin/registry/modelversion/{version.pk}/decide/approve/",
        {"comments": "from the admin", "documentationComplete": "on"},
        follow=True,
    )
    assert "Refused: approving as MRC needs every item" in response.content.decode()
    version.refresh_from_db()
    assert version.state == "MRC_REVIEW"
    assert refusals(version).exists()


def test_the_approval_admin_shows_what_was_attested(client, users, make_user):
    version = in_review(users[Role.MODEL_OWNER], state="APPROVED_STAGING")
    ApprovalFactory(version=version, checklist=dict.fromkeys(MRC_CHECKLIST, True))
    ApprovalFactory(
        version=version,
        stage="SECURITY_REVIEW",
        role=Role.SECURITY_ARCHITECT,
        user=users[Role.SECURITY_ARCHITECT],
        security_checklist=dict.fromkeys(SECURITY_CHECKLIST, True),
    )
    client.force_login(make_user(Role.AUDITOR, username="inspector", is_staff=True))
    listing = client.get("/admin/governance/approval/").content.decode()
    assert "MRC review checklist: 5/5 ticked" in listing
    assert "Security review areas: 4/4 ticked" in listing
