"""Change control of policies through the API: a relaxing PUT/PATCH of an ACTIVE ENFORCE policy
answers 202 with a PROPOSED change; a second person (another Security Architect or an MRC
member, never the proposer) approves (then it takes effect) or rejects; tightening and edits of
other policies take effect at once; everything audited."""

from __future__ import annotations

import pytest

from audit.models import AuditEvent
from core.choices import Role
from governance.models import Notification
from policies.models import Policy, PolicyChange, PolicyException
from tests.factories import (
    ArtifactFactory,
    ModelVersionFactory,
    RegisteredModelFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

SCAN = "artifact.securityScan.status == 'PASSED'"
DOCUMENT = {
    "policyId": "scan",
    "name": "Security scan",
    "severity": "HIGH",
    "scope": {"riskTiers": ["MEDIUM", "HIGH"], "environments": ["staging", "production"]},
    "rules": [{"condition": SCAN, "message": "Security scan must pass"}],
    "exceptions": {"allowExceptions": True, "requireApproval": True, "maxDuration": "7d"},
}
URL = "/api/v1/policies/scan/"


@pytest.fixture
def policy(api, users):
    created = api(users[Role.SECURITY_ARCHITECT]).post("/api/v1/policies/", DOCUMENT, format="json")
    assert created.status_code == 201, created.json()
    return Policy.objects.get(policy_id="scan")


@pytest.fixture
def architect2(make_user):
    return make_user(Role.SECURITY_ARCHITECT, username="second_architect")


def propose(api, users, patch):
    response = api(users[Role.SECURITY_ARCHITECT]).patch(URL, patch, format="json")
    assert response.status_code == 202, response.json()
    return response.json()


def test_a_relaxing_patch_is_proposed_not_applied(api, users, policy):
    body = propose(api, users, {"enforcement": "WARN"})
    assert set(body) >= {"id", "status", "policyId", "proposedBy", "changes"}
    assert (body["status"], body["policyId"], body["proposedBy"]) == (
        "PROPOSED",
        "scan",
        users[Role.SECURITY_ARCHITECT].username,
    )
    assert body["changes"] == {"enforcement": {"from": "ENFORCE", "to": "WARN"}}
    assert body["relaxations"] == ["enforcement lowered ENFORCE -> WARN"]
    policy.refresh_from_db()
    assert policy.enforcement == "ENFORCE"  # nothing changed yet
    event = AuditEvent.objects.get(action="PROPOSE_POLICY_CHANGE")
    assert event.details["policyChange"] == body["id"]
    assert event.details["relaxations"] == body["relaxations"]
    # The deciders are told (MRC and the other roles' people, never the proposer).
    told = set(
        Notification.objects.filter(url=f"/policy-changes/{body['id']}/").values_list(
            "user__username", flat=True
        )
    )
    assert told == {users[Role.MRC].username}


def test_the_proposer_never_decides_their_own(api, users, policy):
    change = propose(api, users, {"status": "RETIRED"})
    refused = api(users[Role.SECURITY_ARCHITECT]).post(
        f"/api/v1/policy-changes/{change['id']}/approve/", {}, format="json"
    )
    assert refused.status_code == 403
    assert "separation of duties" in refused.json()["detail"]
    assert AuditEvent.objects.filter(
        event_type="ACCESS_DENIED", action="DECIDE_POLICY_CHANGE"
    ).exists()
    assert Policy.objects.get(pk=policy.pk).status == "ACTIVE"


@pytest.mark.parametrize("role", [Role.MODEL_OWNER, Role.AUDITOR, Role.EXECUTIVE, Role.SRE])
def test_only_architects_and_mrc_decide(api, users, policy, role):
    change = propose(api, users, {"status": "RETIRED"})
    for decision in ("approve", "reject"):
        refused = api(users[role]).post(
            f"/api/v1/policy-changes/{change['id']}/{decision}/", {}, format="json"
        )
        assert refused.status_code == 403, (role, refused.json())
    assert PolicyChange.objects.get(pk=change["id"]).status == "PROPOSED"


def test_a_second_architect_approves_and_the_change_takes_effect(api, users, policy, architect2):
    owner = users[Role.MODEL_OWNER]
    version = ModelVersionFactory(model=RegisteredModelFactory(owner=owner, risk_tier="MEDIUM"))
    ArtifactFactory(version=version, scan_status="PASSED")
    exception = PolicyException.objects.create(
        policy=policy,
        version=version,
        justification="j",
        risk_assessment="r",
        mitigation="m",
        duration_days=3,
        monitoring_plan="p",
        requested_by=owner,
        status="ACTIVE",
    )
    change = propose(api, users, {"status": "RETIRED"})
    approved = api(architect2).post(
        f"/api/v1/policy-changes/{change['id']}/approve/", {"comments": "ok"}, format="json"
    )
    assert approved.status_code == 200, approved.json()
    body = approved.json()
    assert (body["status"], body["decidedBy"], body["decisionRole"], body["comments"]) == (
        "APPROVED",
        "second_architect",
        "Security Architect",
        "ok",
    )
    policy.refresh_from_db()
    assert policy.status == "RETIRED"
    # Retiring by approval has retiring's consequences: its exceptions end.
    assert PolicyException.objects.get(pk=exception.pk).status == "REVOKED"
    update = AuditEvent.objects.get(action="UPDATE_POLICY")
    assert update.user_id == "second_architect"
    assert AuditEvent.objects.filter(action="APPROVE_POLICY_CHANGE").count() == 1
    again = api(users[Role.MRC]).post(
        f"/api/v1/policy-changes/{change['id']}/approve/", {}, format="json"
    )
    assert again.status_code == 409


def test_mrc_rejects_and_nothing_changes(api, users, policy):
    change = propose(api, users, {"scope": {"riskTiers": ["HIGH"]}})
    rejected = api(users[Role.MRC]).post(
        f"/api/v1/policy-changes/{change['id']}/reject/", {"comments": "no"}, format="json"
    )
    assert rejected.status_code == 200, rejected.json()
    assert rejected.json()["status"] == "REJECTED"
    assert Policy.objects.get(pk=policy.pk).risk_tiers == ["MEDIUM", "HIGH"]
    assert AuditEvent.objects.filter(action="REJECT_POLICY_CHANGE").exists()
    assert Notification.objects.filter(
        user=users[Role.SECURITY_ARCHITECT], message__contains="was rejected"
    ).exists()


def test_tightening_takes_effect_at_once_and_supersedes_a_waiting_proposal(api, users, policy):
    change = propose(api, users, {"enforcement": "WARN"})
    tightened = api(users[Role.SECURITY_ARCHITECT]).patch(
        URL, {"scope": {"riskTiers": ["LOW", "MEDIUM", "HIGH"]}}, format="json"
    )
    assert tightened.status_code == 200, tightened.json()
    assert tightened.json()["scope"]["riskTiers"] == ["LOW", "MEDIUM", "HIGH"]
    assert PolicyChange.objects.get(pk=change["id"]).status == "SUPERSEDED"
    assert AuditEvent.objects.filter(action="SUPERSEDE_POLICY_CHANGE").exists()
    late = api(users[Role.MRC]).post(
        f"/api/v1/policy-changes/{change['id']}/approve/", {}, format="json"
    )
    assert late.status_code == 409


def test_one_waiting_proposal_per_policy(api, users, policy):
    propose(api, users, {"enforcement": "WARN"})
    second = api(users[Role.SECURITY_ARCHITECT]).patch(URL, {"status": "RETIRED"}, format="json")
    assert second.status_code == 409
    assert "awaits a decision" in second.json()["detail"]
    assert AuditEvent.objects.filter(
        event_type="ACCESS_DENIED", action="PROPOSE_POLICY_CHANGE"
    ).exists()


def test_changes_to_policies_not_active_enforce_take_effect_at_once(api, users, policy):
    architect = api(users[Role.SECURITY_ARCHITECT])
    # Leaving DRAFT for WARN: not under change control (it was not ACTIVE ENFORCE).
    Policy.objects.filter(pk=policy.pk).update(enforcement="WARN")
    assert architect.patch(URL, {"enforcement": "DRY_RUN"}, format="json").status_code == 200
    assert architect.patch(URL, {"status": "RETIRED"}, format="json").status_code == 200
    assert not PolicyChange.objects.exists()


def test_a_put_that_relaxes_answers_202_too(api, users, policy):
    document = {**DOCUMENT, "rules": [{"condition": "true", "message": "always"}]}
    response = api(users[Role.SECURITY_ARCHITECT]).put(URL, document, format="json")
    assert response.status_code == 202, response.json()
    assert response.json()["relaxations"][0].startswith("rule 0 removed or its condition changed")


def test_list_filter_and_detail_with_the_dry_run(api, users, policy):
    owner = users[Role.MODEL_OWNER]
    failing = ModelVersionFactory(model=RegisteredModelFactory(owner=owner, risk_tier="MEDIUM"))
    ArtifactFactory(version=failing, scan_status="FAILED")
    passing = ModelVersionFactory(model=RegisteredModelFactory(owner=owner, risk_tier="HIGH"))
    ArtifactFactory(version=passing, scan_status="PASSED")
    change = propose(api, users, {"enforcement": "WARN"})
    mrc = api(users[Role.MRC])
    listed = mrc.get("/api/v1/policy-changes/?status=PROPOSED").json()
    assert [c["id"] for c in listed["results"]] == [change["id"]]
    assert mrc.get("/api/v1/policy-changes/?status=APPROVED").json()["count"] == 0
    assert mrc.get("/api/v1/policy-changes/?status=NOPE").status_code == 400
    detail = mrc.get(f"/api/v1/policy-changes/{change['id']}/").json()
    impact = detail["impact"]
    rows = {row["version"]: row for row in impact["versions"]}
    assert rows[failing.pk]["blockedNow"] and not rows[failing.pk]["blockedProposed"]
    assert rows[passing.pk]["passesNow"] and not rows[passing.pk]["blockedNow"]
    assert (impact["blockedNow"], impact["blockedProposed"], impact["unblocked"]) == (1, 0, 1)
    # Another owner sees the change but none of these versions in its dry run.
    other = UserFactory(roles=[Role.MODEL_OWNER], username="other-owner")
    theirs = api(other).get(f"/api/v1/policy-changes/{change['id']}/").json()
    assert theirs["impact"]["versions"] == []
    assert api(users[Role.SCANNER]).get("/api/v1/policy-changes/").status_code == 403


def test_the_list_runs_a_constant_number_of_queries(api, users, make_user):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from policies import services
    from policies.documents import to_document

    architect = users[Role.SECURITY_ARCHITECT]
    client = api(users[Role.MRC])

    def propose_for(n: int) -> None:
        for i in range(n):
            policy = Policy.objects.create(
                policy_id=f"p-{Policy.objects.count()}-{i}",
                name="p",
                severity="HIGH",
                risk_tiers=["LOW"],
                environments=["staging"],
                rules=[{"condition": SCAN, "message": "m"}],
            )
            services.replace_policy(
                policy, actor=architect, document={**to_document(policy), "status": "RETIRED"}
            )

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/api/v1/policy-changes/").status_code == 200
        return len(queries)

    count()  # warm: the reader's roles are cached on the user after the first request
    propose_for(2)
    few = count()
    propose_for(8)
    assert count() == few
