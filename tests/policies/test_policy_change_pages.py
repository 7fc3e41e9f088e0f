"""Policy change control on the pages and in the admin: the list of pending changes with their
decision for Security Architects and MRC, the change page with its dry run, the policy page's
pending changes, and the admin's read-only record with approve / reject actions."""

from __future__ import annotations

import json

import pytest

from audit.models import AuditEvent
from core.choices import Role
from policies import services
from policies.documents import to_document
from policies.models import Policy, PolicyChange
from tests.factories import ArtifactFactory, ModelVersionFactory, RegisteredModelFactory

pytestmark = pytest.mark.django_db

SCAN = "artifact.securityScan.status == 'PASSED'"


@pytest.fixture
def change(users):
    policy = Policy.objects.create(
        policy_id="scan",
        name="Security scan",
        severity="HIGH",
        risk_tiers=["MEDIUM", "HIGH"],
        environments=["staging", "production"],
        rules=[{"condition": SCAN, "message": "scan must pass"}],
    )
    version = ModelVersionFactory(
        model=RegisteredModelFactory(
            owner=users[Role.MODEL_OWNER], risk_tier="MEDIUM", name="fraud-scorer"
        ),
        version="2.0.0",
    )
    ArtifactFactory(version=version, scan_status="FAILED")
    proposed = services.replace_policy(
        policy,
        actor=users[Role.SECURITY_ARCHITECT],
        document={**to_document(policy), "enforcement": "WARN"},
    )
    assert isinstance(proposed, PolicyChange)
    return proposed


def test_pending_changes_listed_with_the_decision_for_a_second_person(client, users, change):
    client.force_login(users[Role.MRC])
    listing = client.get("/policy-changes/").content.decode()
    assert f"/policy-changes/{change.pk}/" in listing
    assert "enforcement lowered ENFORCE -&gt; WARN" in listing
    assert "Review and decide" in listing
    client.force_login(users[Role.SECURITY_ARCHITECT])  # the proposer
    assert "Review and decide" not in client.get("/policy-changes/").content.decode()
    approved = client.get("/policy-changes/?status=APPROVED").content.decode()
    assert f"/policy-changes/{change.pk}/" not in approved


def test_the_change_page_shows_the_dry_run_and_decides(client, users, change):
    client.force_login(users[Role.MRC])
    page = client.get(f"/policy-changes/{change.pk}/").content.decode()
    assert "fraud-scorer" in page and "let through" in page
    assert "Approve: it takes effect at once" in page
    client.force_login(users[Role.SECURITY_ARCHITECT])
    mine = client.get(f"/policy-changes/{change.pk}/").content.decode()
    assert "Approve: it takes effect at once" not in mine
    refused = client.post(f"/policy-changes/{change.pk}/approve/", {"comments": ""}, follow=True)
    assert "separation of duties" in refused.content.decode()
    assert AuditEvent.objects.filter(event_type="ACCESS_DENIED").exists()
    assert Policy.objects.get(policy_id="scan").enforcement == "ENFORCE"
    client.force_login(users[Role.MRC])
    client.post(f"/policy-changes/{change.pk}/reject/", {"comments": "keep it enforced"})
    assert PolicyChange.objects.get(pk=change.pk).status == "REJECTED"
    assert client.post(f"/policy-changes/{change.pk}/nope/", {}).status_code == 302


def test_another_owner_sees_no_version_of_others_in_the_dry_run(client, make_user, change):
    client.force_login(make_user(Role.MODEL_OWNER, username="other-owner"))
    page = client.get(f"/policy-changes/{change.pk}/").content.decode()
    assert "fraud-scorer" not in page


def test_the_policy_page_shows_its_pending_changes(client, users, change):
    client.force_login(users[Role.AUDITOR])
    page = client.get("/policies/scan/").content.decode()
    assert "Pending changes" in page and f"/policy-changes/{change.pk}/" in page


def test_the_admin_lists_read_only_and_decides_through_the_domain(client, users, change):
    client.force_login(users[Role.SECURITY_ARCHITECT])
    assert client.get(f"/admin/policies/policychange/{change.pk}/change/").status_code == 200
    client.post(
        "/admin/policies/policychange/", {"action": "approve", "_selected_action": [change.pk]}
    )
    assert PolicyChange.objects.get(pk=change.pk).status == "PROPOSED"  # the proposer: refused
    client.force_login(users[Role.MRC])
    client.post(
        "/admin/policies/policychange/", {"action": "approve", "_selected_action": [change.pk]}
    )
    assert PolicyChange.objects.get(pk=change.pk).status == "APPROVED"
    assert Policy.objects.get(policy_id="scan").enforcement == "WARN"


def test_a_relaxing_admin_edit_is_proposed(client, users, change):
    services.reject_policy_change(change, actor=users[Role.MRC])
    policy = Policy.objects.get(policy_id="scan")
    client.force_login(users[Role.SECURITY_ARCHITECT])
    document = {**to_document(policy), "status": "RETIRED"}
    response = client.post(
        f"/admin/policies/policy/{policy.pk}/change/", {"document": json.dumps(document)}
    )
    proposal = PolicyChange.objects.get(policy=policy, status="PROPOSED")
    assert response.status_code == 302
    assert response.url == f"/admin/policies/policychange/{proposal.pk}/change/"
    assert Policy.objects.get(pk=policy.pk).status == "ACTIVE"
    page = client.get(response.url).content.decode()
    assert "Not applied yet" in page and "changed successfully" not in page
