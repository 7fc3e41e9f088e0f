"""Policy exceptions through the API: the request form, approvals by tier, separation of duties,
rejection and revocation, and an ACTIVE exception letting a blocked submit pass as excepted."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils.dateparse import parse_datetime
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from audit.models import AuditEvent
from core.choices import Role
from policies.forms.waivers import ExceptionRequestForm
from policies.gate import covering_exceptions
from policies.models import Policy, PolicyException
from tests.factories import ArtifactFactory, ModelVersionFactory, RegisteredModelFactory

pytestmark = pytest.mark.django_db

SCAN_RULE = {
    "condition": "artifact.securityScan.status == 'PASSED'",
    "message": "Security scan must pass before deployment",
}
FORM = {
    "justification": "Critical fraud pattern fix must ship this week.",
    "riskAssessment": "The flagged CVE is in an unused image layer.",
    "mitigation": "Network isolation; the layer is removed in the next build.",
    "durationDays": 7,
    "monitoringPlan": "Daily scan re-run and SOC watch on the endpoint.",
    "reason": "EMERGENCY_DEPLOYMENT",
    "remediationPlan": "Rebuild the image without the flagged layer.",
    "remediationDueDate": "2099-01-31",
}


def make_policy(**fields) -> Policy:
    values = {
        "policy_id": "security-scan-required",
        "name": "Security Vulnerability Scanning",
        "severity": "HIGH",
        "risk_tiers": ["LOW", "MEDIUM", "HIGH"],
        "environments": ["staging", "production"],
        "rules": [SCAN_RULE],
        "allow_exceptions": True,
        "require_approval": True,
        "max_duration": "7d",
        **fields,
    }
    return Policy.objects.create(**values)


def failing_version(owner, tier="MEDIUM", state="DRAFT", name=None):
    model = RegisteredModelFactory(owner=owner, risk_tier=tier, **({"name": name} if name else {}))
    version = ModelVersionFactory(model=model, state=state)
    ArtifactFactory(version=version, scan_status="FAILED")
    return version


def request(api, user, version, policy="security-scan-required", **changes):
    body = {"policy": policy, "version": version.pk, **FORM, **changes}
    return api(user).post("/api/v1/exceptions/", body, format="json")


def decide(api, user, exception_id, decision, comments=""):
    return api(user).post(
        f"/api/v1/exceptions/{exception_id}/{decision}/", {"comments": comments}, format="json"
    )


@pytest.fixture
def policy(db):
    return make_policy()


def test_an_exception_walks_its_approval_chain_and_makes_a_blocked_submit_pass(api, users, policy):
    owner = users[Role.MODEL_OWNER]
    version = failing_version(owner)
    blocked = api(owner).post(f"/api/v1/versions/{version.pk}/submit/", {}, format="json").json()
    assert blocked["state"] == "CHANGES_REQUIRED"

    created = request(api, owner, version)
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["status"] == "REQUESTED"
    assert body["requiredRoles"] == ["MRC", "Security Architect"]
    assert (body["policy"], body["version"], body["model"]) == (
        "security-scan-required",
        version.pk,
        version.model_id,
    )
    assert body["requestedBy"] == owner.username
    assert body["expiresAt"] is None
    for key, value in FORM.items():
        assert body[key] == value
    exception_id = body["id"]
    # Approvers were asked (in-app), never the owner.
    assert users[Role.MRC].notifications.filter(kind="EXCEPTION_REQUESTED").exists()
    assert not owner.notifications.filter(kind="EXCEPTION_REQUESTED").exists()

    first = decide(api, users[Role.MRC], exception_id, "approve", "Acceptable for a week.")
    assert first.status_code == 200, first.json()
    assert first.json()["status"] == "REQUESTED"
    assert [(a["role"], a["user"]) for a in first.json()["approvals"]] == [("MRC", "mrc")]
    # Still REQUESTED: the submit is still blocked.
    again = api(owner).post(f"/api/v1/versions/{version.pk}/submit/", {}, format="json").json()
    assert again["state"] == "CHANGES_REQUIRED"

    second = decide(api, users[Role.SECURITY_ARCHITECT], exception_id, "approve", "Layer unused.")
    body = second.json()
    assert body["status"] == "ACTIVE"
    approvals = body["approvals"]
    assert [(a["role"], a["user"], a["comments"]) for a in approvals] == [
        ("MRC", "mrc", "Acceptable for a week."),
        ("Security Architect", "security_architect", "Layer unused."),
    ]
    assert all(parse_datetime(a["at"]) for a in approvals)
    activated = parse_datetime(body["activatedAt"])
    assert parse_datetime(body["expiresAt"]) - activated == timedelta(days=7)

    passed = api(owner).post(f"/api/v1/versions/{version.pk}/submit/", {}, format="json").json()
    assert passed["state"] == "MRC_REVIEW"
    result = passed["policyEvaluation"]["results"][0]
    assert (result["passed"], result["excepted"]) == (False, True)
    assert result["rules"][0]["exception"] == exception_id
    assert passed["policyEvaluation"]["failures"] == []
    listed = api(owner).get(f"/api/v1/versions/{version.pk}/policy-evaluations/").json()
    assert listed["results"][0]["rules"][0]["exception"] == exception_id

    actions = list(
        AuditEvent.objects.filter(event_type="POLICY_EXCEPTION", version_id=version.pk)
        .order_by("seq")
        .values_list("action", flat=True)
    )
    assert actions == ["REQUEST", "APPROVE", "APPROVE", "ACTIVATE"]
    approve = AuditEvent.objects.filter(event_type="POLICY_EXCEPTION", action="APPROVE").first()
    assert approve.details["exception"] == exception_id
    assert approve.details["role"] == "MRC"
    fetched = api(users[Role.AUDITOR]).get(f"/api/v1/exceptions/{exception_id}/").json()
    assert fetched == body


@pytest.mark.parametrize(
    ("tier", "roles"),
    [
        ("LOW", ["MRC"]),
        ("MEDIUM", ["MRC", "Security Architect"]),
        ("HIGH", ["MRC", "Security Architect", "Executive"]),
    ],
)
def test_approvals_needed_by_tier(api, users, policy, tier, roles):
    version = failing_version(users[Role.MODEL_OWNER], tier=tier)
    body = request(api, users[Role.MODEL_OWNER], version).json()
    assert body["requiredRoles"] == roles
    by_role = {
        "MRC": users[Role.MRC],
        "Security Architect": users[Role.SECURITY_ARCHITECT],
        "Executive": users[Role.EXECUTIVE],
    }
    for index, role in enumerate(roles):
        answer = decide(api, by_role[role], body["id"], "approve").json()
        expected = "ACTIVE" if index == len(roles) - 1 else "REQUESTED"
        assert answer["status"] == expected, (role, answer)


def test_an_executive_alone_cannot_approve_before_it_is_needed(api, users, policy):
    version = failing_version(users[Role.MODEL_OWNER], tier="MEDIUM")
    body = request(api, users[Role.MODEL_OWNER], version).json()
    refused = decide(api, users[Role.EXECUTIVE], body["id"], "approve")
    assert refused.status_code == 403
    assert "MRC or Security Architect" in refused.json()["detail"]


def test_each_approval_by_a_different_person(api, users, make_user, policy):
    version = failing_version(users[Role.MODEL_OWNER], tier="HIGH")
    body = request(api, users[Role.MODEL_OWNER], version).json()
    both = make_user(Role.MRC, Role.SECURITY_ARCHITECT, Role.EXECUTIVE, username="all_hats")
    assert decide(api, both, body["id"], "approve").json()["status"] == "REQUESTED"
    twice = decide(api, both, body["id"], "approve")
    assert twice.status_code == 403
    assert twice.json()["detail"].startswith("separation of duties")
    assert PolicyException.objects.get(pk=body["id"]).approvals.count() == 1
    assert AuditEvent.objects.filter(
        event_type="ACCESS_DENIED", action="DECIDE_EXCEPTION", version_id=version.pk
    ).exists()


def test_requester_owner_and_submitter_never_decide(api, users, make_user, policy):
    owner_mrc = make_user(Role.MODEL_OWNER, Role.MRC, Role.SECURITY_ARCHITECT, username="om")
    own = failing_version(owner_mrc)
    body = request(api, owner_mrc, own).json()
    for decision in ("approve", "reject"):
        refused = decide(api, owner_mrc, body["id"], decision)
        assert refused.status_code == 403
        assert refused.json()["detail"].startswith("separation of duties")
    # the version's submitter (an MRC member who is not the owner) never decides either
    submitter = make_user(Role.MRC, username="submitter")
    version = failing_version(users[Role.MODEL_OWNER])
    version.submitted_by = submitter
    version.save()
    body = request(api, users[Role.MODEL_OWNER], version).json()
    refused = decide(api, submitter, body["id"], "approve")
    assert refused.status_code == 403
    assert "submitted" in refused.json()["detail"]


@pytest.mark.parametrize("role", [Role.AUDITOR, Role.SRE, Role.MODEL_OWNER])
def test_roles_that_never_decide(api, users, make_user, policy, role):
    version = failing_version(users[Role.MODEL_OWNER])
    body = request(api, users[Role.MODEL_OWNER], version).json()
    someone = users[role] if role != Role.MODEL_OWNER else make_user(role, username="other")
    answer = decide(api, someone, body["id"], "approve")
    # Another Model Owner does not even see the exception.
    assert answer.status_code == (404 if role == Role.MODEL_OWNER else 403)
    assert PolicyException.objects.get(pk=body["id"]).status == "REQUESTED"


def test_request_refusals(api, users, make_user, policy):
    owner = users[Role.MODEL_OWNER]
    version = failing_version(owner)
    strict = make_policy(policy_id="no-exceptions", allow_exceptions=False)
    answer = request(api, owner, version, policy=strict.policy_id)
    assert answer.status_code == 400
    assert "allows no exceptions" in answer.json()["policy"][0]
    too_long = request(api, owner, version, durationDays=8)
    assert too_long.status_code == 400
    assert "at most 7d" in too_long.json()["durationDays"][0]
    assert request(api, owner, version, policy="nope").status_code == 400
    assert request(api, owner, version, durationDays="7").status_code == 400
    assert request(api, owner, version, durationDays=0).status_code == 400
    assert request(api, owner, version, durationDays=True).status_code == 400
    assert request(api, owner, version, justification="  ").status_code == 400
    assert request(api, owner, version, severity="LOW").status_code == 400  # unknown key
    body = {k: v for k, v in FORM.items() if k != "mitigation"}
    missing = api(owner).post(
        "/api/v1/exceptions/", {"policy": policy.policy_id, "version": version.pk, **body}
    )
    assert "mitigation" in missing.json()
    # only the owner requests; others' versions are invisible to another owner
    assert request(api, users[Role.MRC], version).status_code == 403
    assert request(api, users[Role.AUDITOR], version).status_code == 403
    assert (
        request(api, make_user(Role.MODEL_OWNER, username="stranger"), version).status_code == 404
    )
    assert request(api, None, version).status_code == 401
    huge = api(owner).post("/api/v1/exceptions/", {"policy": policy.policy_id, "version": 10**12})
    assert huge.status_code == 400
    assert not PolicyException.objects.exists()
    # one open exception per policy and version
    assert request(api, owner, version).status_code == 201
    duplicate = request(api, owner, version)
    assert duplicate.status_code == 409
    assert duplicate.json()["state"] == "REQUESTED"


@pytest.mark.parametrize(
    ("max_duration", "allowed", "refused"), [("48h", 2, 3), ("2w", 14, 15), ("36h", None, 2)]
)
def test_max_duration_units(api, users, max_duration, allowed, refused):
    make_policy(max_duration=max_duration)
    version = failing_version(users[Role.MODEL_OWNER])
    assert request(api, users[Role.MODEL_OWNER], version, durationDays=refused).status_code == 400
    if allowed is not None:
        ok = request(api, users[Role.MODEL_OWNER], version, durationDays=allowed)
        assert ok.status_code == 201, ok.json()


def test_policy_out_of_the_models_tier_or_retired_is_refused(api, users):
    make_policy(risk_tiers=["HIGH"])
    make_policy(policy_id="retired", status="RETIRED")
    version = failing_version(users[Role.MODEL_OWNER], tier="LOW")
    answer = request(api, users[Role.MODEL_OWNER], version)
    assert answer.status_code == 400
    assert "does not apply to LOW" in answer.json()["policy"][0]
    assert request(api, users[Role.MODEL_OWNER], version, policy="retired").status_code == 400


def test_a_draft_policy_is_not_excepted_and_the_page_offers_only_what_the_domain_accepts(
    api, users
):
    """One rule (policies.waivers.requestable_policies) for the request page and the API."""
    make_policy(policy_id="draft-policy", status="DRAFT")
    make_policy(policy_id="active-policy")
    version = failing_version(users[Role.MODEL_OWNER])
    answer = request(api, users[Role.MODEL_OWNER], version, policy="draft-policy")
    assert answer.status_code == 400
    assert "ACTIVE policies only" in answer.json()["policy"][0]
    offered = ExceptionRequestForm(version=version).fields["policy"].queryset
    assert [p.policy_id for p in offered] == ["active-policy"]
    assert request(api, users[Role.MODEL_OWNER], version, policy="active-policy").status_code == 201


def test_a_policy_without_required_approval_activates_at_once(api, users):
    make_policy(require_approval=False)
    version = failing_version(users[Role.MODEL_OWNER])
    body = request(api, users[Role.MODEL_OWNER], version).json()
    assert (body["status"], body["requiredRoles"]) == ("ACTIVE", [])
    assert body["expiresAt"] is not None


def test_reject_and_revoke(api, users, policy):
    owner = users[Role.MODEL_OWNER]
    version = failing_version(owner, tier="LOW")
    body = request(api, owner, version).json()
    rejected = decide(api, users[Role.MRC], body["id"], "reject", "Fix the image instead.")
    assert rejected.json()["status"] == "REJECTED"
    assert (rejected.json()["endedBy"], rejected.json()["endComments"]) == (
        "mrc",
        "Fix the image instead.",
    )
    late = decide(api, users[Role.MRC], body["id"], "approve")
    assert late.status_code == 409
    assert late.json()["state"] == "REJECTED"
    assert decide(api, users[Role.MRC], body["id"], "revoke").status_code == 409
    assert owner.notifications.filter(kind="EXCEPTION_DECIDED").exists()

    # a new request once the first is closed; active, then revoked by MRC: blocked again
    body = request(api, owner, version).json()
    assert decide(api, users[Role.MRC], body["id"], "approve").json()["status"] == "ACTIVE"
    assert decide(api, users[Role.SECURITY_ARCHITECT], body["id"], "revoke").status_code == 403
    assert decide(api, users[Role.AUDITOR], body["id"], "revoke").status_code == 403
    revoked = decide(api, users[Role.MRC], body["id"], "revoke", "Risk re-assessed.")
    assert revoked.json()["status"] == "REVOKED"
    answer = api(owner).post(f"/api/v1/versions/{version.pk}/submit/", {}, format="json").json()
    assert answer["state"] == "CHANGES_REQUIRED"
    actions = set(
        AuditEvent.objects.filter(event_type="POLICY_EXCEPTION").values_list("action", flat=True)
    )
    assert {"REQUEST", "REJECT", "APPROVE", "ACTIVATE", "REVOKE"} <= actions


def test_revoke_a_request_before_it_is_decided(api, users, policy):
    version = failing_version(users[Role.MODEL_OWNER])
    body = request(api, users[Role.MODEL_OWNER], version).json()
    assert decide(api, users[Role.MRC], body["id"], "revoke").json()["status"] == "REVOKED"


def test_an_expired_exception_covers_nothing_even_before_the_job(api, users, policy):
    version = failing_version(users[Role.MODEL_OWNER], tier="LOW")
    body = request(api, users[Role.MODEL_OWNER], version).json()
    decide(api, users[Role.MRC], body["id"], "approve")
    assert covering_exceptions(version, [policy]) == {policy.pk: body["id"]}
    exception = PolicyException.objects.get(pk=body["id"])
    exception.expires_at = exception.activated_at - timedelta(seconds=1)
    exception.save()
    assert covering_exceptions(version, [policy]) == {}
    answer = api(users[Role.MODEL_OWNER]).post(f"/api/v1/versions/{version.pk}/submit/", {})
    assert answer.json()["state"] == "CHANGES_REQUIRED"


def test_list_filters_visibility_and_pagination(api, users, make_user, policy):
    owner = users[Role.MODEL_OWNER]
    other = make_user(Role.MODEL_OWNER, username="otto")
    mine = [failing_version(owner) for _ in range(3)]
    theirs = failing_version(other)
    for version in mine:
        request(api, owner, version)
    theirs_body = request(api, other, theirs).json()
    decide(api, users[Role.MRC], theirs_body["id"], "reject")
    assert api(owner).get("/api/v1/exceptions/").json()["count"] == 3
    assert api(other).get("/api/v1/exceptions/").json()["count"] == 1
    assert api(owner).get(f"/api/v1/exceptions/{theirs_body['id']}/").status_code == 404
    auditor = api(users[Role.AUDITOR])
    assert auditor.get("/api/v1/exceptions/").json()["count"] == 4
    assert auditor.get("/api/v1/exceptions/?status=REJECTED").json()["count"] == 1
    assert auditor.get(f"/api/v1/exceptions/?version={mine[0].pk}").json()["count"] == 1
    assert auditor.get("/api/v1/exceptions/?policy=security-scan-required").json()["count"] == 4
    assert auditor.get("/api/v1/exceptions/?policy=other").json()["count"] == 0
    page = auditor.get("/api/v1/exceptions/?pageSize=2").json()
    assert set(page) == {"count", "next", "previous", "results"}
    assert len(page["results"]) == 2
    assert auditor.get("/api/v1/exceptions/?status=MAYBE").status_code == 400
    assert auditor.get("/api/v1/exceptions/?version=abc").status_code == 400
    assert api().get("/api/v1/exceptions/").status_code == 401
    assert auditor.delete(f"/api/v1/exceptions/{theirs_body['id']}/").status_code == 405


def test_list_runs_a_constant_number_of_queries(api, users, policy):
    owner = users[Role.MODEL_OWNER]
    # Token auth: every request loads its user afresh, as in production.
    reader = APIClient()
    token = Token.objects.get_or_create(user=users[Role.AUDITOR])[0]
    reader.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")

    def grow(n):
        while PolicyException.objects.count() < n:
            version = failing_version(owner, tier="HIGH")
            body = request(api, owner, version).json()
            decide(api, users[Role.MRC], body["id"], "approve")

    def measure(expected):
        with CaptureQueriesContext(connection) as ctx:
            body = reader.get("/api/v1/exceptions/").json()
        assert len(body["results"]) == expected
        return len(ctx.captured_queries)

    grow(2)
    few = measure(2)
    grow(8)
    assert measure(8) == few <= 10


@pytest.mark.parametrize(
    "body",
    [
        [],
        "a string",
        None,
        {"policy": ["security-scan-required"], "version": 1},
        {"policy": "security-scan-required", "version": "1; DROP TABLE x"},
        {"policy": "security-scan-required", "version": 1.5},
        {"policy": "security-scan-required", "version": -1},
        {"policy": "x" * 5000, "version": 1},
        {"policy": "security-scan-required", "version": 1, "durationDays": 10**30},
        {"policy": "security-scan-required", "version": 1, "justification": {"a": 1}},
        {"policy": "security-scan-required", "version": 1, "mitigation": "x" * 30_000},
    ],
)
def test_hostile_request_bodies_are_400(api, users, policy, body):
    response = api(users[Role.MODEL_OWNER]).post("/api/v1/exceptions/", body, format="json")
    assert response.status_code == 400, response.content[:300]
    assert not PolicyException.objects.exists()


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("post", "/api/v1/exceptions/999999/approve/", 404),
        ("post", "/api/v1/exceptions/999999999999999999999/approve/", 404),
        ("get", "/api/v1/exceptions/abc/", 404),
        ("get", "/api/v1/exceptions/?version=99999999999999999999999", 400),
        ("get", "/api/v1/exceptions/?page=abc", 404),
        ("get", "/api/v1/violations/?version=-1", 400),
        ("put", "/api/v1/exceptions/", 405),
        ("post", "/api/v1/compliance/summary/", 405),
    ],
)
def test_unknown_ids_junk_filters_and_methods(api, users, method, path, expected):
    response = getattr(api(users[Role.MRC]), method)(path, {}, format="json")
    assert response.status_code == expected


def test_decision_bodies_are_strict(api, users, policy):
    version = failing_version(users[Role.MODEL_OWNER])
    body = request(api, users[Role.MODEL_OWNER], version).json()
    url = f"/api/v1/exceptions/{body['id']}/approve/"
    client = api(users[Role.MRC])
    assert client.post(url, {"comments": 5}, format="json").status_code == 400
    assert client.post(url, {"comment": "typo"}, format="json").status_code == 400
    assert client.post(url, ["x"], format="json").status_code == 400
    assert PolicyException.objects.get().approvals.count() == 0
