"""The exception pages: the guide's request form, the list, the detail with its approvals and the
decision buttons, all through the same domain functions as the API."""

from __future__ import annotations

import pytest

from core.choices import Role
from policies import waivers
from policies.models import Policy, PolicyException
from tests.factories import ArtifactFactory, ModelVersionFactory, RegisteredModelFactory

pytestmark = pytest.mark.django_db

FORM = {
    "justification": "Urgent fix",
    "risk_assessment": "Low exploitability",
    "mitigation": "Isolated network",
    "duration_days": "5",
    "monitoring_plan": "Daily re-scan",
    "reason": "TECHNICAL_LIMITATION",
    "remediation_plan": "Replace the scanner-flagged dependency",
    "remediation_due_date": "2099-01-31",
}


@pytest.fixture
def policy(db):
    return Policy.objects.create(
        policy_id="security-scan-required",
        name="Security Vulnerability Scanning",
        severity="HIGH",
        risk_tiers=["MEDIUM", "HIGH"],
        environments=["staging", "production"],
        rules=[{"condition": "artifact.securityScan.status == 'PASSED'", "message": "scan"}],
        allow_exceptions=True,
        max_duration="7d",
    )


@pytest.fixture
def version(users):
    model = RegisteredModelFactory(owner=users[Role.MODEL_OWNER], risk_tier="MEDIUM")
    version = ModelVersionFactory(model=model)
    ArtifactFactory(version=version, scan_status="FAILED")
    return version


def test_request_through_the_form_then_decide_on_the_page(client, users, policy, version):
    owner = users[Role.MODEL_OWNER]
    client.force_login(owner)
    url = f"/versions/{version.pk}/request-exception/"
    form = client.get(url)
    assert form.status_code == 200
    assert "security-scan-required" in form.content.decode()
    too_long = client.post(url, {**FORM, "policy": policy.policy_id, "duration_days": "9"})
    assert "at most 7d" in too_long.content.decode()
    response = client.post(url, {**FORM, "policy": policy.policy_id})
    exception = PolicyException.objects.get()
    assert response.status_code == 302
    assert response.url == f"/exceptions/{exception.pk}/"
    assert (exception.status, exception.duration_days, exception.requested_by) == (
        "REQUESTED",
        5,
        owner,
    )
    page = client.get(response.url).content.decode()
    assert "Urgent fix" in page and "Daily re-scan" in page
    assert 'action="/exceptions/' not in page  # the owner decides nothing

    assert waivers.awaiting_decision(owner) == []
    assert waivers.awaiting_decision(users[Role.MRC]) == [exception]
    assert waivers.awaiting_decision(users[Role.EXECUTIVE]) == []
    client.force_login(users[Role.MRC])
    page = client.get(f"/exceptions/{exception.pk}/").content.decode()
    assert f'action="/exceptions/{exception.pk}/approve/"' in page
    assert f'action="/exceptions/{exception.pk}/revoke/"' in page
    client.post(f"/exceptions/{exception.pk}/approve/", {"comments": "ok"})
    client.force_login(users[Role.SECURITY_ARCHITECT])
    client.post(f"/exceptions/{exception.pk}/approve/", {"comments": "fine"})
    exception.refresh_from_db()
    assert exception.status == "ACTIVE"
    listing = client.get("/exceptions/?status=ACTIVE").content.decode()
    assert f"#{exception.pk}" in listing

    # refusals come back as messages, never errors
    response = client.post(f"/exceptions/{exception.pk}/revoke/", {}, follow=True)
    assert "Refused" in response.content.decode()
    response = client.post(f"/exceptions/{exception.pk}/frobnicate/", {}, follow=True)
    assert "not known" in response.content.decode()


def test_others_cannot_see_or_request(client, users, make_user, policy, version):
    stranger = make_user(Role.MODEL_OWNER, username="stranger")
    client.force_login(stranger)
    assert client.get(f"/versions/{version.pk}/request-exception/").status_code == 404
    client.force_login(users[Role.MRC])
    response = client.post(
        f"/versions/{version.pk}/request-exception/",
        {**FORM, "policy": policy.policy_id},
        follow=True,
    )
    assert "Refused" in response.content.decode()
    assert not PolicyException.objects.exists()
    client.logout()
    assert client.get("/exceptions/").status_code == 302
