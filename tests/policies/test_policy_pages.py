import json

import pytest
from django.core.management import call_command

from core.choices import Role
from policies.models import Policy, PolicyChange

pytestmark = pytest.mark.django_db


@pytest.fixture
def pack():
    call_command("load_policies", "policies/packs/default.yaml", verbosity=0)


def test_policy_list_filters_and_detail_shows_impact_and_history(client, users, pack):
    client.force_login(users[Role.MODEL_OWNER])
    page = client.get("/policies/?severity=CRITICAL").content.decode()
    assert "evaluation-requirements-high" in page
    assert "security-scan-required" not in page
    page = client.get("/policies/?riskTier=LOW&environment=production").content.decode()
    assert "documentation-complete" in page
    assert "model-card-sections" not in page
    detail = client.get("/policies/security-scan-required/").content.decode()
    assert "artifact.securityScan.status == &#x27;PASSED&#x27;" in detail
    assert "Impact now" in detail
    assert "History" in detail
    assert "New policy" not in client.get("/policies/").content.decode()


def test_security_architect_edits_and_dry_runs_through_the_page(client, users, pack):
    client.force_login(users[Role.SECURITY_ARCHITECT])
    policy = Policy.objects.get(policy_id="documentation-complete")
    document = json.loads(
        client.get(f"/policies/{policy.policy_id}/edit/").context["form"].initial["document"]
    )
    document["status"] = "DRAFT"
    dry = client.post(
        f"/policies/{policy.policy_id}/edit/", {"document": json.dumps(document), "dry_run": "1"}
    )
    assert dry.status_code == 200
    assert "Dry run" in dry.content.decode()
    policy.refresh_from_db()
    assert policy.status == "ACTIVE"
    # Taking an ACTIVE ENFORCE policy to DRAFT relaxes it: proposed, decided by a second person.
    saved = client.post(f"/policies/{policy.policy_id}/edit/", {"document": json.dumps(document)})
    assert saved.status_code == 302
    change = PolicyChange.objects.get(policy=policy)
    assert saved.url == f"/policy-changes/{change.pk}/"
    policy.refresh_from_db()
    assert policy.status == "ACTIVE"
    client.force_login(users[Role.MRC])
    decided = client.post(f"/policy-changes/{change.pk}/approve/", {"comments": "rework it"})
    assert decided.status_code == 302
    policy.refresh_from_db()
    assert policy.status == "DRAFT"
    client.force_login(users[Role.SECURITY_ARCHITECT])
    broken = {**document, "rules": [{"condition": "version.nope == 1", "message": "x"}]}
    refused = client.post(f"/policies/{policy.policy_id}/edit/", {"document": json.dumps(broken)})
    assert "rule 0" in refused.content.decode()


def test_owner_cannot_post_the_editor(client, users, pack):
    client.force_login(users[Role.MODEL_OWNER])
    document = json.dumps({"policyId": "x"})
    response = client.post("/policies/new/", {"document": document})
    assert response.status_code == 200  # form error: invalid document, nothing saved
    assert not Policy.objects.filter(policy_id="x").exists()


def test_admin_creates_a_policy_through_the_same_validation(client, users):
    client.force_login(users[Role.SECURITY_ARCHITECT])
    document = {
        "policyId": "admin-made",
        "name": "Made in the admin",
        "severity": "LOW",
        "scope": {"riskTiers": ["LOW"], "environments": ["staging"]},
        "rules": [{"condition": "size(version.documentation) > 0", "message": "docs"}],
    }
    bad = client.post(
        "/admin/policies/policy/add/", {"document": json.dumps({**document, "severity": "HUGE"})}
    )
    assert bad.status_code == 200
    assert not Policy.objects.exists()
    good = client.post("/admin/policies/policy/add/", {"document": json.dumps(document)})
    assert good.status_code == 302, good.content.decode()[:500]
    assert Policy.objects.get(policy_id="admin-made").created_by == users[Role.SECURITY_ARCHITECT]
    client.force_login(users[Role.AUDITOR])
    assert client.get("/admin/policies/policy/add/").status_code == 403
