"""Exceptions as the guide describes them: the request's reason and remediation plan, periodic
reviews of an ACTIVE exception by tier (by an approver-role person, with the remediation's
progress), overdue reviews escalated by the scheduled job, and the dashboard's count."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from core.choices import Role
from governance.models import Notification
from policies import waivers
from policies.choices import EXCEPTION_REVIEW_INTERVAL_DAYS
from policies.models import ExceptionReview, Policy, PolicyException
from policies.selectors import overdue_exception_review_count, overdue_exception_reviews
from tests.factories import (
    ArtifactFactory,
    ModelVersionFactory,
    PolicyExceptionFactory,
    RegisteredModelFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

SCAN_RULE = {"condition": "artifact.securityScan.status == 'PASSED'", "message": "scan must pass"}
FORM = {
    "justification": "Critical fix must ship this week.",
    "riskAssessment": "The CVE is in an unused layer.",
    "mitigation": "Network isolation.",
    "durationDays": 7,
    "monitoringPlan": "Daily re-scan.",
    "reason": "EMERGENCY_DEPLOYMENT",
    "remediationPlan": "Rebuild the image without the layer.",
    "remediationDueDate": "2099-01-31",
}
REVIEW = {
    "notes": "Rebuild under way.",
    "remediationStatus": "IN_PROGRESS",
    "remediationProgress": 40,
}


@pytest.fixture
def policy(db):
    return Policy.objects.create(
        policy_id="scan",
        name="Scan",
        severity="HIGH",
        risk_tiers=["LOW", "MEDIUM", "HIGH"],
        environments=["staging", "production"],
        rules=[SCAN_RULE],
        allow_exceptions=True,
        max_duration="7d",
    )


def version_of(owner, tier="LOW"):
    version = ModelVersionFactory(model=RegisteredModelFactory(owner=owner, risk_tier=tier))
    ArtifactFactory(version=version, scan_status="FAILED")
    return version


def active(users, policy, tier="LOW", **fields) -> PolicyException:
    version = version_of(users[Role.MODEL_OWNER], tier)
    values = {
        "reason": "TECHNICAL_LIMITATION",
        "remediation_plan": "Replace the dependency.",
        "remediation_due_date": date(2099, 1, 1),
        "next_review_due": timezone.now() + timedelta(days=EXCEPTION_REVIEW_INTERVAL_DAYS[tier]),
        **fields,
    }
    return PolicyExceptionFactory(policy=policy, version=version, **values)


def test_the_request_takes_the_reason_and_the_remediation_plan(api, users, policy):
    owner = users[Role.MODEL_OWNER]
    version = version_of(owner)
    body = {"policy": "scan", "version": version.pk, **FORM}
    created = api(owner).post("/api/v1/exceptions/", body, format="json")
    assert created.status_code == 201, created.json()
    data = created.json()
    assert (data["reason"], data["remediationPlan"], data["remediationDueDate"]) == (
        "EMERGENCY_DEPLOYMENT",
        "Rebuild the image without the layer.",
        "2099-01-31",
    )
    assert data["reviews"] == [] and data["reviewOverdue"] is False
    event = AuditEvent.objects.get(action="REQUEST")
    assert event.details["reason"] == "EMERGENCY_DEPLOYMENT"
    assert event.details["remediationDueDate"] == "2099-01-31"
    # Activation (LOW: one MRC approval) sets the first review one LOW interval later.
    approved = api(users[Role.MRC]).post(
        f"/api/v1/exceptions/{data['id']}/approve/", {}, format="json"
    )
    exception = PolicyException.objects.get(pk=data["id"])
    assert exception.status == "ACTIVE"
    assert exception.next_review_due - exception.activated_at == timedelta(days=30)
    assert approved.json()["nextReviewDue"] is not None


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"reason": None}, "reason"),
        ({"reason": "BORED"}, "reason"),
        ({"remediationPlan": ""}, "remediationPlan"),
        ({"remediationDueDate": "yesterday"}, "remediationDueDate"),
        ({"remediationDueDate": "2001-01-01"}, "remediationDueDate"),
    ],
)
def test_bad_or_missing_reason_and_plan_are_refused(api, users, policy, change, field):
    owner = users[Role.MODEL_OWNER]
    body = {"policy": "scan", "version": version_of(owner).pk, **FORM, **change}
    if change.get("reason", "") is None:
        del body["reason"]
    response = api(owner).post("/api/v1/exceptions/", body, format="json")
    assert response.status_code == 400, response.json()
    assert field in str(response.json())
    assert not PolicyException.objects.exists()


def test_an_approver_records_a_review_and_the_next_falls_due_by_tier(api, users, policy):
    exception = active(users, policy, tier="HIGH")
    url = f"/api/v1/exceptions/{exception.pk}/reviews/"
    response = api(users[Role.EXECUTIVE]).post(url, REVIEW, format="json")
    assert response.status_code == 201, response.json()
    review = response.json()
    assert (review["reviewer"], review["role"], review["remediationProgress"]) == (
        "executive",
        "Executive",
        40,
    )
    assert review["late"] is False
    exception.refresh_from_db()
    stored = ExceptionReview.objects.get()
    assert stored.next_review_due == exception.next_review_due
    # HIGH: weekly, from the review.
    assert abs(exception.next_review_due - stored.created_at - timedelta(days=7)) < timedelta(
        seconds=5
    )
    detail = api(users[Role.MODEL_OWNER]).get(f"/api/v1/exceptions/{exception.pk}/").json()
    assert [r["id"] for r in detail["reviews"]] == [review["id"]]
    event = AuditEvent.objects.get(action="REVIEW")
    assert (event.details["remediationStatus"], event.details["remediationProgress"]) == (
        "IN_PROGRESS",
        40,
    )
    assert Notification.objects.filter(
        user=users[Role.MODEL_OWNER], message__contains="reviewed by executive"
    ).exists()


def test_a_late_review_is_marked_late(api, users, policy):
    exception = active(users, policy, next_review_due=timezone.now() - timedelta(days=2))
    response = api(users[Role.MRC]).post(
        f"/api/v1/exceptions/{exception.pk}/reviews/", REVIEW, format="json"
    )
    assert response.status_code == 201
    assert response.json()["late"] is True


def test_who_may_not_review(api, users, policy):
    exception = active(users, policy, tier="LOW")
    url = f"/api/v1/exceptions/{exception.pk}/reviews/"
    # LOW: MRC reviews; a Security Architect is not an approver role of a LOW exception.
    assert api(users[Role.SECURITY_ARCHITECT]).post(url, REVIEW, format="json").status_code == 403
    for role in (Role.AUDITOR, Role.SRE, Role.MODEL_OWNER):
        assert api(users[role]).post(url, REVIEW, format="json").status_code == 403, role
    # The requester is never their own reviewer, even holding an approver role.
    both = UserFactory(roles=[Role.MODEL_OWNER, Role.MRC], username="owner-and-mrc")
    mine = active({Role.MODEL_OWNER: both}, policy)
    refused = api(both).post(f"/api/v1/exceptions/{mine.pk}/reviews/", REVIEW, format="json")
    assert refused.status_code == 403
    assert "separation of duties" in refused.json()["detail"]
    assert AuditEvent.objects.filter(event_type="ACCESS_DENIED").count() >= 5
    assert not ExceptionReview.objects.exists()


def test_review_input_is_checked(api, users, policy):
    exception = active(users, policy)
    url = f"/api/v1/exceptions/{exception.pk}/reviews/"
    mrc = api(users[Role.MRC])
    for bad in (
        {**REVIEW, "remediationProgress": 101},
        {**REVIEW, "remediationProgress": "40"},
        {**REVIEW, "remediationStatus": "DONE"},
        {**REVIEW, "notes": ""},
        {**REVIEW, "remediationStatus": "COMPLETE"},  # 40% is not complete
        {**REVIEW, "remediationStatus": "NOT_STARTED"},
        {**REVIEW, "extra": 1},
    ):
        response = mrc.post(url, bad, format="json")
        assert response.status_code == 400, (bad, response.json())
    done = mrc.post(
        url, {**REVIEW, "remediationStatus": "COMPLETE", "remediationProgress": 100}, format="json"
    )
    assert done.status_code == 201
    assert ExceptionReview.objects.count() == 1


def test_only_an_active_exception_is_reviewed(api, users, policy):
    exception = active(users, policy, status="REQUESTED")
    response = api(users[Role.MRC]).post(
        f"/api/v1/exceptions/{exception.pk}/reviews/", REVIEW, format="json"
    )
    assert response.status_code == 409
    other_owner = UserFactory(roles=[Role.MODEL_OWNER], username="someone-else")
    hidden = api(other_owner).post(
        f"/api/v1/exceptions/{exception.pk}/reviews/", REVIEW, format="json"
    )
    assert hidden.status_code == 404


def test_overdue_reviews_escalate_once_per_due_date_and_count_on_the_dashboard(users, policy):
    now = timezone.now()
    overdue = active(users, policy, tier="MEDIUM", next_review_due=now - timedelta(hours=1))
    active(users, policy, tier="MEDIUM")  # not due yet
    owner, mrc, architect = (
        users[Role.MODEL_OWNER],
        users[Role.MRC],
        users[Role.SECURITY_ARCHITECT],
    )
    assert overdue_exception_review_count(user=mrc) == 1
    assert overdue_exception_review_count(user=owner) == 1
    stranger = UserFactory(roles=[Role.MODEL_OWNER], username="stranger")
    assert overdue_exception_review_count(user=stranger) == 0
    assert [e.pk for e in overdue_exception_reviews(user=mrc)] == [overdue.pk]

    assert waivers.escalate_overdue_reviews(now=now) == [overdue.pk]
    told = set(
        Notification.objects.filter(
            kind="EXCEPTION_REVIEW", message__contains="OVERDUE"
        ).values_list("user__username", flat=True)
    )
    # MEDIUM: its approver roles (MRC and Security Architect), the owner and the requester.
    assert told == {mrc.username, architect.username, owner.username}
    assert AuditEvent.objects.filter(action="REVIEW_OVERDUE").count() == 1
    # The next run does not tell them again for the same due date ...
    assert waivers.escalate_overdue_reviews(now=now + timedelta(hours=1)) == []
    # ... a review clears it, and the next due date, once missed, escalates again.
    waivers.record_review(
        overdue, actor=mrc, notes="ok", remediation_status="IN_PROGRESS", remediation_progress=50
    )
    assert overdue_exception_review_count(user=mrc) == 0
    later = timezone.now() + timedelta(days=15)
    assert sorted(waivers.escalate_overdue_reviews(now=later)) == sorted(
        PolicyException.objects.values_list("pk", flat=True)
    )


def test_the_escalation_is_scheduled(db):
    from django_q.models import Schedule

    schedule = Schedule.objects.get(name="exceptions: escalate overdue reviews")
    assert (schedule.func, schedule.schedule_type) == (
        "policies.waivers.escalate_overdue_reviews",
        "H",
    )


def test_review_on_the_page(client, users, policy):
    exception = active(users, policy)
    client.force_login(users[Role.MODEL_OWNER])
    page = client.get(f"/exceptions/{exception.pk}/").content.decode()
    assert "Technical limitation" in page and "Replace the dependency." in page
    assert "Record the review" not in page  # the owner does not review
    client.force_login(users[Role.MRC])
    assert "Record the review" in client.get(f"/exceptions/{exception.pk}/").content.decode()
    bad = client.post(
        f"/exceptions/{exception.pk}/review/",
        {"notes": "x", "remediation_status": "COMPLETE", "remediation_progress": "10"},
    )
    assert bad.status_code == 200
    assert "COMPLETE exactly when" in bad.content.decode()
    done = client.post(
        f"/exceptions/{exception.pk}/review/",
        {"notes": "Half done", "remediation_status": "IN_PROGRESS", "remediation_progress": "50"},
    )
    assert done.status_code == 302
    page = client.get(f"/exceptions/{exception.pk}/").content.decode()
    assert "Half done" in page and "50%" in page
    listing = client.get("/exceptions/").content.decode()
    assert "Technical limitation" in listing


def test_the_migration_gives_active_exceptions_a_first_review_and_invents_no_reason(users, policy):
    """policies/migrations/0007: an ACTIVE exception's first review is due one interval after
    its activation, or one interval from now when that date has passed; nothing else changes
    and an older request keeps an empty reason ("not recorded")."""
    import importlib

    from django.apps import apps

    migration = importlib.import_module(
        "policies.migrations.0007_exception_reviews_and_policy_changes"
    )
    now = timezone.now()
    recent = active(users, policy, tier="HIGH", activated_at=now - timedelta(days=2), reason="")
    old = active(users, policy, tier="LOW", activated_at=now - timedelta(days=60), reason="")
    waiting = active(users, policy, status="REQUESTED", reason="")
    PolicyException.objects.update(next_review_due=None)
    migration.first_reviews(apps, None)
    recent.refresh_from_db()
    old.refresh_from_db()
    waiting.refresh_from_db()
    assert recent.next_review_due == recent.activated_at + timedelta(days=7)
    assert timedelta(days=30) <= old.next_review_due - now < timedelta(days=30, minutes=1)
    assert waiting.next_review_due is None
    assert {e.reason for e in PolicyException.objects.all()} == {""}


def test_the_lists_filter_overdue_reviews(api, client, users, policy):
    overdue = active(users, policy, next_review_due=timezone.now() - timedelta(hours=3))
    on_time = active(users, policy)
    mrc = api(users[Role.MRC])
    listed = mrc.get("/api/v1/exceptions/?reviewOverdue=true").json()
    assert [e["id"] for e in listed["results"]] == [overdue.pk]
    assert listed["results"][0]["reviewOverdue"] is True
    rest = mrc.get("/api/v1/exceptions/?reviewOverdue=false").json()
    assert [e["id"] for e in rest["results"]] == [on_time.pk]
    client.force_login(users[Role.MRC])
    page = client.get("/exceptions/?reviewOverdue=true").content.decode()
    assert f"/exceptions/{overdue.pk}/" in page and f"/exceptions/{on_time.pk}/" not in page
    assert "overdue" in page
