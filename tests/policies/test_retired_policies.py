"""A RETIRED policy judges nothing any more: it leaves a version's current results and the
reports' counts, its open exceptions end (REVOKED, "policy retired", audited) and its open
violations are resolved — in the retirement's own transaction, whichever way the policy is
retired (API PUT or PATCH, the policy page, the admin, `load_policies`). Its results stay on
record: the evidence bundle still holds every evaluation it made.

Retiring an ACTIVE ENFORCE policy relaxes it (policies.changes): through the API, the page and
the admin it is proposed by one Security Architect and takes effect, with all the above, when a
second person (here an MRC member) approves it, through the same way in."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from django.core.management import call_command
from django.utils import timezone

from audit.evidence import POLICY_EVALUATIONS, export_evidence_bundle
from audit.models import AuditEvent, ReportKind
from audit.reports.monthly import monthly_compliance
from audit.reports.periods import parse_period
from audit.reports.portfolio import Portfolio
from core.choices import Role
from governance.models import Notification
from policies import compliance, monitoring, services, waivers
from policies.documents import to_document
from policies.models import Policy, PolicyChange, PolicyException, Violation
from tests.factories import ArtifactFactory, ModelVersionFactory, RegisteredModelFactory

pytestmark = pytest.mark.django_db

SCAN = "artifact.securityScan.status == 'PASSED'"
DOCS = "size(version.documentation) > 0"


def make_policy(policy_id, rule) -> Policy:
    return Policy.objects.create(
        policy_id=policy_id,
        name=policy_id,
        severity="HIGH",
        risk_tiers=["LOW", "MEDIUM", "HIGH"],
        environments=["staging", "production"],
        rules=[{"condition": rule, "message": f"{policy_id} fails"}],
        allow_exceptions=True,
        max_duration="30d",
    )


def request(users, policy, version) -> PolicyException:
    return waivers.request_exception(
        actor=users[Role.MODEL_OWNER],
        policy=policy,
        version=version,
        justification="Scanner false positive.",
        risk_assessment="Low.",
        mitigation="Re-scan next release.",
        duration_days=10,
        monitoring_plan="Weekly re-scan.",
    )


@pytest.fixture
def fleet(users):
    """Two LOW versions in staging whose scan failed: `excepted` holds an ACTIVE exception to
    scan, `waiting` a REQUESTED one; both fail scan (one open violation each), pass docs."""
    owner = users[Role.MODEL_OWNER]
    scan = make_policy("scan", SCAN)
    docs = make_policy("docs", DOCS)
    made = {}
    for name in ("excepted", "waiting"):
        model = RegisteredModelFactory(owner=owner, name=name, risk_tier="LOW")
        made[name] = ModelVersionFactory(model=model, state="STAGING", review_cycle=1)
        ArtifactFactory(version=made[name], scan_status="FAILED")
    monitoring.sweep()
    active = request(users, scan, made["excepted"])
    waivers.approve_exception(active, actor=users[Role.MRC], comments="Accepted.")
    requested = request(users, scan, made["waiting"])
    return {"scan": scan, "docs": docs, "active": active, "requested": requested, **made}


def proposed(policy) -> PolicyChange:
    """The retirement waits for its second person: nothing changed yet."""
    change = PolicyChange.objects.get(policy=policy, status="PROPOSED")
    assert Policy.objects.get(pk=policy.pk).status == "ACTIVE"
    return change


def approve_by_api(users, api, change):
    response = api(users[Role.MRC]).post(
        f"/api/v1/policy-changes/{change.pk}/approve/", {}, format="json"
    )
    assert response.status_code == 200, response.content


def retire_by_api_patch(users, api, client, policy, tmp_path):
    response = api(users[Role.SECURITY_ARCHITECT]).patch(
        f"/api/v1/policies/{policy.policy_id}/", {"status": "RETIRED"}, format="json"
    )
    assert response.status_code == 202, response.content
    approve_by_api(users, api, proposed(policy))


def retire_by_api_put(users, api, client, policy, tmp_path):
    document = {**to_document(policy), "status": "RETIRED"}
    response = api(users[Role.SECURITY_ARCHITECT]).put(
        f"/api/v1/policies/{policy.policy_id}/", document, format="json"
    )
    assert response.status_code == 202, response.content
    approve_by_api(users, api, proposed(policy))


def retire_on_the_page(users, api, client, policy, tmp_path):
    client.force_login(users[Role.SECURITY_ARCHITECT])
    document = {**to_document(policy), "status": "RETIRED"}
    response = client.post(
        f"/policies/{policy.policy_id}/edit/", {"document": json.dumps(document)}
    )
    assert response.status_code == 302
    change = proposed(policy)
    client.force_login(users[Role.MRC])
    decided = client.post(f"/policy-changes/{change.pk}/approve/", {"comments": ""})
    assert decided.status_code == 302


def retire_in_the_admin(users, api, client, policy, tmp_path):
    client.force_login(users[Role.SECURITY_ARCHITECT])
    document = {**to_document(policy), "status": "RETIRED"}
    response = client.post(
        f"/admin/policies/policy/{policy.pk}/change/", {"document": json.dumps(document)}
    )
    assert response.status_code == 302, response.content.decode()[:500]
    change = proposed(policy)
    client.force_login(users[Role.MRC])
    decided = client.post(
        "/admin/policies/policychange/",
        {"action": "approve", "_selected_action": [change.pk]},
    )
    assert decided.status_code == 302, decided.content.decode()[:500]


def retire_by_load_policies(users, api, client, policy, tmp_path):
    path = tmp_path / "retire.json"
    path.write_text(json.dumps({**to_document(policy), "status": "RETIRED"}))
    call_command("load_policies", str(path), verbosity=0)


def retire(users, policy, status="RETIRED") -> None:
    """Propose (a Security Architect) and approve (an MRC member) through the services."""
    change = services.replace_policy(
        policy,
        actor=users[Role.SECURITY_ARCHITECT],
        document={**to_document(policy), "status": status},
    )
    assert isinstance(change, PolicyChange)
    services.approve_policy_change(change, actor=users[Role.MRC])


WAYS = {
    "api-patch": retire_by_api_patch,
    "api-put": retire_by_api_put,
    "page": retire_on_the_page,
    "admin": retire_in_the_admin,
    "load_policies": retire_by_load_policies,
}


@pytest.mark.parametrize("way", list(WAYS))
def test_retiring_ends_its_exceptions_and_violations_at_once(
    way, users, api, client, fleet, tmp_path
):
    scan = fleet["scan"]
    assert Violation.objects.open().filter(policy=scan).count() == 2
    before = timezone.now()
    WAYS[way](users, api, client, scan, tmp_path)
    scan.refresh_from_db()
    assert scan.status == "RETIRED"
    # Ended by whoever made the retirement take effect: the approver (the operator's file load
    # is the system).
    by = None if way == "load_policies" else users[Role.MRC]
    for key, was in (("active", "ACTIVE"), ("requested", "REQUESTED")):
        exception = PolicyException.objects.get(pk=fleet[key].pk)
        assert exception.status == "REVOKED"
        assert exception.end_comments == "policy retired"
        assert exception.ended_by == by
        assert exception.ended_at >= before
        event = AuditEvent.objects.get(
            event_type="POLICY_EXCEPTION", action="REVOKE", details__exception=exception.pk
        )
        assert event.details["previousStatus"] == was
        assert event.details["reason"] == "policy retired"
        assert event.user_id == (by.username if by else "system")
        assert event.version_id == exception.version_id
    # The violations were resolved without waiting for the worker's sweep.
    resolved = Violation.objects.filter(policy=scan)
    assert set(resolved.values_list("status", flat=True)) == {"RESOLVED"}
    assert "no longer ACTIVE" in resolved.first().resolution
    assert Violation.objects.open().filter(policy=fleet["docs"]).count() == 0
    assert Notification.objects.filter(
        user=users[Role.MODEL_OWNER], message__contains="ended: the policy was retired"
    ).exists()


def test_a_failed_retirement_leaves_the_exceptions_as_they_were(users, api, fleet, monkeypatch):
    """One transaction: when the retirement fails after the exceptions were ended, nothing of
    it is kept."""

    def broken(policy):
        raise RuntimeError("the sweep could not be queued")

    change = services.replace_policy(
        fleet["scan"],
        actor=users[Role.SECURITY_ARCHITECT],
        document={**to_document(fleet["scan"]), "status": "RETIRED"},
    )
    monkeypatch.setattr(services, "policy_changed", broken)
    with pytest.raises(RuntimeError):
        services.approve_policy_change(change, actor=users[Role.MRC])
    assert PolicyChange.objects.get(pk=change.pk).status == "PROPOSED"
    assert Policy.objects.get(policy_id="scan").status == "ACTIVE"
    assert PolicyException.objects.get(pk=fleet["active"].pk).status == "ACTIVE"
    assert PolicyException.objects.get(pk=fleet["requested"].pk).status == "REQUESTED"
    assert Violation.objects.open().filter(policy=fleet["scan"]).count() == 2
    assert not AuditEvent.objects.filter(action="REVOKE").exists()


def test_only_a_retirement_ends_exceptions(users, fleet):
    """DRAFT (being reworked) resolves the violations — it judges nothing meanwhile — but
    keeps the exceptions for when it comes back."""
    retire(users, fleet["scan"], status="DRAFT")
    assert PolicyException.objects.get(pk=fleet["active"].pk).status == "ACTIVE"
    assert Violation.objects.open().filter(policy=fleet["scan"]).count() == 0


def test_current_results_leave_out_a_retired_policy_the_evidence_keeps_them(users, api, fleet):
    version = fleet["excepted"]
    auditor = api(users[Role.AUDITOR])
    url = f"/api/v1/versions/{version.pk}/policy-evaluations/"
    assert {r["policyId"] for r in auditor.get(url).json()["results"]} == {"scan", "docs"}
    retire_by_api_patch(users, api, None, fleet["scan"], None)
    assert {r["policyId"] for r in auditor.get(url).json()["results"]} == {"docs"}
    bundle = export_evidence_bundle(version, actor=users[Role.AUDITOR])
    with zipfile.ZipFile(io.BytesIO(bundle.content)) as archive:
        recorded = json.loads(archive.read(POLICY_EVALUATIONS))
    assert {row["policyId"] for row in recorded} == {"scan", "docs"}


def test_reports_leave_a_retired_policy_out_of_their_counts(users, fleet):
    def monthly():
        now = timezone.now()
        period = parse_period(ReportKind.MONTHLY_COMPLIANCE, f"{now.year}-{now.month:02d}")
        until = period.data_end(timezone.now())
        return monthly_compliance(period, until, Portfolio(until))

    before = monthly()
    assert {row["policy"] for row in before["failures"]["by_policy"]} == {"scan", "docs"}
    assert before["summary"]["non_compliant"] == 2  # both fail scan (the exception came later)
    assert before["summary"]["pairs"] == 4
    assert before["monitoring"]["opened"] == 2
    assert any("2 versions fail scan" in r.finding for r in before["recommendations"]["found"])

    retire(users, fleet["scan"])
    after = monthly()
    failures = after["failures"]
    assert [row["policy"] for row in failures["by_policy"]] == ["docs"]
    assert failures["failed"] == 0
    assert failures["evaluations"] == before["failures"]["evaluations"] - 2
    assert failures["retired_left_out"] == {"policies": ["scan"], "evaluations": 2}
    assert after["summary"]["non_compliant"] == 0
    assert after["summary"]["compliant"] == 2
    assert (after["summary"]["pairs"], after["summary"]["score_value"]) == (2, 100.0)
    assert after["summary"]["score_value"] == compliance.compliance_score().score
    assert after["monitoring"]["opened"] == 0
    assert after["monitoring"]["open_at_end"] == 0
    assert after["monitoring"]["retired_left_out"] == 2
    assert not any("fail scan" in r.finding for r in after["recommendations"]["found"])
