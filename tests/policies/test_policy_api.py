import copy

import pytest

from audit.models import AuditEvent
from core.choices import PEOPLE_ROLES, Role
from policies.models import Policy, PolicyEvaluation
from tests.factories import ArtifactFactory, ModelVersionFactory, RegisteredModelFactory

pytestmark = pytest.mark.django_db

GUIDE_POLICY = {
    "policyId": "security-scan-required",
    "name": "Security Vulnerability Scanning",
    "description": "All model artifacts must pass security vulnerability scanning",
    "severity": "HIGH",
    "scope": {"riskTiers": ["MEDIUM", "HIGH"], "environments": ["staging", "production"]},
    "rules": [
        {
            "condition": "artifact.securityScan.status == 'PASSED'",
            "message": "Security scan must pass before deployment",
        }
    ],
    "exceptions": {"allowExceptions": True, "requireApproval": True, "maxDuration": "7d"},
}


def post_policy(api, user, document):
    return api(user).post("/api/v1/policies/", document, format="json")


def guide_fields(document):
    return {key: document[key] for key in GUIDE_POLICY}


def test_guide_document_posts_and_round_trips_unchanged(api, users):
    created = post_policy(api, users[Role.SECURITY_ARCHITECT], GUIDE_POLICY)
    assert created.status_code == 201, created.json()
    fetched = api(users[Role.AUDITOR]).get("/api/v1/policies/security-scan-required/").json()
    assert guide_fields(fetched) == GUIDE_POLICY
    assert (fetched["status"], fetched["enforcement"], fetched["type"]) == (
        "ACTIVE",
        "ENFORCE",
        None,
    )
    # exported and imported again: unchanged, and no new history
    revisions = Policy.history.count()
    again = api(users[Role.SECURITY_ARCHITECT]).put(
        "/api/v1/policies/security-scan-required/", fetched, format="json"
    )
    assert again.status_code == 200, again.json()
    assert again.json() == fetched
    assert Policy.history.count() == revisions
    assert AuditEvent.objects.filter(event_type="POLICY_CHANGE", action="CREATE_POLICY").exists()


def test_only_security_architects_write_but_everyone_reads(api, users):
    for role in (Role.MODEL_OWNER, Role.MRC, Role.AUDITOR, Role.EXECUTIVE, Role.SRE):
        response = post_policy(api, users[role], GUIDE_POLICY)
        assert response.status_code == 403, role
    post_policy(api, users[Role.SECURITY_ARCHITECT], GUIDE_POLICY)
    for role in PEOPLE_ROLES:
        listed = api(users[role]).get("/api/v1/policies/")
        assert listed.status_code == 200
        assert listed.json()["count"] == 1
    # The Scanner service account reads the registry and records scans, nothing else.
    assert api(users[Role.SCANNER]).get("/api/v1/policies/").status_code == 403
    patched = api(users[Role.MRC]).patch(
        "/api/v1/policies/security-scan-required/", {"status": "DRAFT"}, format="json"
    )
    assert patched.status_code == 403
    assert api().get("/api/v1/policies/").status_code == 401


@pytest.mark.parametrize(
    ("condition", "words"),
    [
        ("artifact.securityScan.status ==", "syntax"),
        ("'a' + 1 == 'a1'", "type"),
        ("__import__('os').system('x')", "__import__"),
        ("foo.bar == 1", "unknown name 'foo'"),
        ("(" * 2000 + "true" + ")" * 2000, "nest"),
        ("true || " * 9000 + "true", "characters"),
        ("model.name", "true or false"),
    ],
)
def test_broken_and_hostile_conditions_are_400_naming_the_rule(api, users, condition, words):
    document = copy.deepcopy(GUIDE_POLICY)
    document["rules"].append({"condition": condition, "message": "bad"})
    response = post_policy(api, users[Role.SECURITY_ARCHITECT], document)
    assert response.status_code == 400
    problems = " ".join(response.json()["rules"])
    assert "rule 1:" in problems
    assert words in problems
    assert not Policy.objects.exists()


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"severity": "SEVERE"}, "severity"),
        ({"scope": {"riskTiers": ["EXTREME"]}}, "scope"),
        ({"scope": {"environments": ["qa"]}}, "scope"),
        ({"exceptions": {"maxDuration": "a week"}}, "exceptions"),
        ({"rules": []}, "rules"),
        ({"policyId": "Has Spaces"}, "policyId"),
        ({"enforcement": "SOMETIMES"}, "enforcement"),
    ],
)
def test_bad_documents_are_400(api, users, patch, field):
    document = {**copy.deepcopy(GUIDE_POLICY), **patch}
    response = post_policy(api, users[Role.SECURITY_ARCHITECT], document)
    assert response.status_code == 400
    assert field in response.json()


def make_policy(api, users, **changes):
    document = {**copy.deepcopy(GUIDE_POLICY), **changes}
    response = post_policy(api, users[Role.SECURITY_ARCHITECT], document)
    assert response.status_code == 201, response.json()
    return response.json()


def version_with_scan(owner, status, tier="MEDIUM"):
    model = RegisteredModelFactory(owner=owner, risk_tier=tier)
    version = ModelVersionFactory(model=model)
    ArtifactFactory(version=version, scan_status=status)
    return version


def test_failing_scan_sends_medium_version_to_changes_required(api, users, client):
    make_policy(api, users)
    owner = users[Role.MODEL_OWNER]
    version = version_with_scan(owner, "FAILED")
    response = api(owner).post(f"/api/v1/versions/{version.pk}/submit/", {}, format="json")
    body = response.json()
    assert body["state"] == "CHANGES_REQUIRED"
    failure = body["policyEvaluation"]["failures"][0]
    assert failure["policyId"] == "security-scan-required"
    assert failure["messages"] == ["Security scan must pass before deployment"]
    result = body["policyEvaluation"]["results"][0]
    assert result["rules"][0]["passed"] is False
    assert result["rules"][0]["exception"] is None
    client.force_login(owner)
    page = client.get(f"/versions/{version.pk}/").content.decode()
    assert "Security scan must pass before deployment" in page
    assert "CHANGES_REQUIRED" in page
    evaluations = api(owner).get(f"/api/v1/versions/{version.pk}/policy-evaluations/").json()
    row = evaluations["results"][0]
    assert set(row) >= {"policyId", "environment", "enforcement", "passed", "evaluatedAt", "rules"}
    assert (row["policyId"], row["environment"], row["passed"]) == (
        "security-scan-required",
        "staging",
        False,
    )
    assert AuditEvent.objects.filter(event_type="POLICY_EVALUATION", version_id=version.pk).exists()


def test_passing_scan_goes_to_review_and_low_tier_is_out_of_scope(api, users):
    make_policy(api, users)
    owner = users[Role.MODEL_OWNER]
    passing = version_with_scan(owner, "PASSED")
    response = api(owner).post(f"/api/v1/versions/{passing.pk}/submit/", {}, format="json")
    assert response.json()["state"] == "MRC_REVIEW"
    low = version_with_scan(owner, "FAILED", tier="LOW")
    response = api(owner).post(f"/api/v1/versions/{low.pk}/submit/", {}, format="json")
    assert response.json()["state"] == "APPROVED_STAGING"
    assert response.json()["policyEvaluation"]["results"] == []


def test_warn_shows_but_does_not_block_and_dry_run_is_recorded_only(api, users):
    make_policy(api, users, enforcement="WARN")
    make_policy(api, users, policyId="scan-dry-run", enforcement="DRY_RUN")
    owner = users[Role.MODEL_OWNER]
    version = version_with_scan(owner, "FAILED")
    body = api(owner).post(f"/api/v1/versions/{version.pk}/submit/", {}, format="json").json()
    assert body["state"] == "MRC_REVIEW"
    assert [w["policyId"] for w in body["policyEvaluation"]["warnings"]] == [
        "security-scan-required"
    ]
    assert body["policyEvaluation"]["failures"] == []
    recorded = PolicyEvaluation.objects.filter(version=version)
    assert {(e.policy.policy_id, e.enforcement, e.passed) for e in recorded} == {
        ("security-scan-required", "WARN", False),
        ("scan-dry-run", "DRY_RUN", False),
    }


def test_draft_and_retired_policies_are_not_evaluated(api, users):
    make_policy(api, users, status="DRAFT")
    owner = users[Role.MODEL_OWNER]
    version = version_with_scan(owner, "FAILED")
    body = api(owner).post(f"/api/v1/versions/{version.pk}/submit/", {}, format="json").json()
    assert body["state"] == "MRC_REVIEW"


def test_request_production_blocked_is_409_with_failures(api, users):
    make_policy(api, users, scope={"riskTiers": ["MEDIUM"], "environments": ["production"]})
    owner = users[Role.MODEL_OWNER]
    model = RegisteredModelFactory(owner=owner, risk_tier="MEDIUM")
    version = ModelVersionFactory(model=model, state="STAGING", review_cycle=1)
    ArtifactFactory(version=version, scan_status="FAILED")
    response = api(owner).post(
        f"/api/v1/versions/{version.pk}/request-production/", {}, format="json"
    )
    assert response.status_code == 409
    body = response.json()
    assert body["state"] == "STAGING"
    assert body["failures"][0]["policyId"] == "security-scan-required"
    version.refresh_from_db()
    assert version.state == "STAGING"
    assert PolicyEvaluation.objects.filter(version=version, environment="production").exists()


def test_missing_name_fails_the_rule_with_a_message(api, users):
    make_policy(api, users)
    owner = users[Role.MODEL_OWNER]
    model = RegisteredModelFactory(owner=owner, risk_tier="MEDIUM")
    version = ModelVersionFactory(model=model)  # no artifacts at all
    body = api(owner).post(f"/api/v1/versions/{version.pk}/submit/", {}, format="json").json()
    assert body["state"] == "CHANGES_REQUIRED"
    message = body["policyEvaluation"]["failures"][0]["messages"][0]
    assert "artifact" in message


def test_impact_lists_versions_in_scope_with_pass_fail(api, users):
    make_policy(api, users)
    owner = users[Role.MODEL_OWNER]
    passing = version_with_scan(owner, "PASSED")
    failing = version_with_scan(owner, "FAILED", tier="HIGH")
    version_with_scan(owner, "FAILED", tier="LOW")  # out of scope
    body = api(users[Role.MRC]).get("/api/v1/policies/security-scan-required/impact/").json()
    assert body["policyId"] == "security-scan-required"
    rows = {row["version"]: row for row in body["versions"]}
    assert set(rows) == {passing.pk, failing.pk}
    assert rows[passing.pk]["passed"] is True
    assert rows[failing.pk]["passed"] is False
    assert set(rows[failing.pk]) >= {"version", "model", "state", "passed"}


def test_dry_run_of_an_unsaved_document(api, users):
    owner = users[Role.MODEL_OWNER]
    failing = version_with_scan(owner, "FAILED")
    response = api(users[Role.SECURITY_ARCHITECT]).post(
        "/api/v1/policies/dry-run/", {**GUIDE_POLICY, "status": "DRAFT"}, format="json"
    )
    assert response.status_code == 200
    assert [row["version"] for row in response.json()["versions"] if not row["passed"]] == [
        failing.pk
    ]
    assert not Policy.objects.exists()


def test_patch_merges_into_the_document(api, users):
    make_policy(api, users)
    response = api(users[Role.SECURITY_ARCHITECT]).patch(
        "/api/v1/policies/security-scan-required/",
        # A tightening (a relaxing patch of an ACTIVE ENFORCE policy waits for a second person:
        # tests/policies/test_policy_change_api.py).
        {"severity": "CRITICAL", "scope": {"riskTiers": ["LOW", "MEDIUM", "HIGH"]}},
        format="json",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["severity"] == "CRITICAL"
    assert body["scope"] == {
        "riskTiers": ["LOW", "MEDIUM", "HIGH"],
        "environments": ["staging", "production"],
    }
    assert Policy.history.count() == 2
