"""The inventory at a point in time (`GET /api/v1/inventory/?at=`), computed from the record.

A history is built through the real domain functions under a settable clock (timezone.now,
as tests/policies/test_compliance_score.py does): every row, history record and audit event
made while the clock is set carries its time. Then the inventory is asked for instants before,
between and after the steps, and must answer what the record said then, not the state now.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from core.choices import Role
from core.errors import Invalid
from governance import inventory, promotion, tier_changes
from governance.inventory import build_inventory, inventory_at, parse_at
from policies import monitoring
from policies.choices import ExceptionStatus
from policies.documents import validate_document
from policies.models import Policy, PolicyEvaluation, PolicyException
from policies.services import load_documents
from registry.models import ModelVersion, RegisteredModel
from tests.factories import (
    ArtifactFactory,
    ExceptionApprovalFactory,
    ModelVersionFactory,
    PolicyExceptionFactory,
    RegisteredModelFactory,
)
from tests.governance.checklists import approve_kwargs_for
from tests.querycounts import MANY, Upto, assert_constant_queries, token_client

pytestmark = pytest.mark.django_db

URL = "/api/v1/inventory/"
CARD = {"intendedUse": "Credit decisions.", "limitations": "Retail only."}


def day(month: int, d: int, hour: int = 9) -> datetime:
    return datetime(2026, month, d, hour, 0, tzinfo=UTC)


class Clock:
    """timezone.now, settable; unset, the real time."""

    def __init__(self, real):
        self.real, self.at = real, None

    def __call__(self):
        return self.at or self.real()


@pytest.fixture
def clock(monkeypatch):
    ticking = Clock(timezone.now)
    monkeypatch.setattr(timezone, "now", ticking)
    return ticking


def policy_document(condition_message: str = "No monitoring plan in the card") -> list[dict]:
    return [
        {
            "policyId": "scan-required",
            "name": "Security scan",
            "severity": "HIGH",
            "scope": {
                "riskTiers": ["LOW", "MEDIUM", "HIGH"],
                "environments": ["staging", "production"],
            },
            "rules": [
                {
                    "condition": "artifacts.all(a, a.securityScan.status == 'PASSED')",
                    "message": "Scan must pass",
                }
            ],
        },
        {
            "policyId": "card-monitoring",
            "name": "Monitoring plan in the model card",
            "severity": "MEDIUM",
            "enforcement": "WARN",
            "scope": {
                "riskTiers": ["LOW", "MEDIUM", "HIGH"],
                "environments": ["staging", "production"],
            },
            "rules": [
                {"condition": "has(version.documentation.monitoring)", "message": condition_message}
            ],
            "exceptions": {"allowExceptions": True, "maxDuration": "90d"},
        },
    ]


def request_exception(version, policy_id: str, mrc) -> PolicyException:
    """A REQUESTED exception with its MRC approval, made at the clock's time (built with the
    factories: how it is requested is the exceptions workflow's business, not this test's)."""
    exception = PolicyExceptionFactory(
        version=version,
        policy=Policy.objects.get(policy_id=policy_id),
        status=ExceptionStatus.REQUESTED,
        activated_at=None,
        decided_at=None,
        expires_at=None,
    )
    ExceptionApprovalFactory(exception=exception, role=Role.MRC, user=mrc)
    return exception


def activate(exception: PolicyException, security) -> None:
    """The last approval, and the exception ACTIVE from the clock's time for its duration."""
    ExceptionApprovalFactory(exception=exception, role=Role.SECURITY_ARCHITECT, user=security)
    now = timezone.now()
    exception.status = ExceptionStatus.ACTIVE
    exception.activated_at = exception.decided_at = now
    exception.expires_at = now + timedelta(days=exception.duration_days)
    exception.save()


def step(action, version, user, comments=""):
    version.refresh_from_db()
    extra = approve_kwargs_for(user, version) if action == "approve" else {}
    return promotion.ACTIONS[action](version, actor=user, comments=comments, **extra).version


@pytest.fixture
def history(clock, users, make_user):
    """credit-scorer (MEDIUM) 1.0.0 goes to production in January and February; an exception
    to card-monitoring is active through March (30 days from 2 March); the model is re-tiered
    HIGH in April; the policy gets a second revision in May and a sweep judges 1.0.0 under it;
    1.1.0 is drafted in March and submitted in June; late-model is registered in May.
    The clock stops on 1 July."""
    owner, mrc, security, sre = (
        users[Role.MODEL_OWNER],
        users[Role.MRC],
        users[Role.SECURITY_ARCHITECT],
        users[Role.SRE],
    )
    clock.at = day(1, 5)
    load_documents([validate_document(d) for d in policy_document()])
    clock.at = day(1, 10)
    model = RegisteredModelFactory(owner=owner, name="credit-scorer", risk_tier="MEDIUM")
    v1 = ModelVersionFactory(model=model, version="1.0.0", documentation=CARD)
    ArtifactFactory(version=v1)
    clock.at = day(1, 12)
    step("submit", v1, owner, "first release")
    clock.at = day(1, 13)
    step("approve", v1, mrc, "Validated.")
    clock.at = day(1, 14)
    step("deploy", v1, sre)
    clock.at = day(2, 1)
    step("request-production", v1, owner)
    clock.at = day(2, 2)
    step("approve", v1, mrc, "Fine for production.")
    clock.at = day(2, 3)
    step("deploy", v1, sre)
    # An exception to the WARN policy its card fails: requested on 1 March, approved by MRC
    # then, by Security on 2 March, when it became ACTIVE for 30 days.
    clock.at = day(3, 1)
    exception = request_exception(v1, "card-monitoring", mrc)
    clock.at = day(3, 2)
    activate(exception, security)
    clock.at = day(3, 20)
    v2 = ModelVersionFactory(model=model, version="1.1.0", documentation=CARD)
    ArtifactFactory(version=v2)
    # Re-tiered HIGH in April (MRC and a Security Architect decide a change to HIGH).
    clock.at = day(4, 15)
    request = tier_changes.request_tier_change(
        model, actor=owner, requested_tier="HIGH", justification="Now decides limits too."
    )
    tier_changes.approve_tier_change(request, actor=mrc)
    clock.at = day(4, 16)
    tier_changes.approve_tier_change(request, actor=security)
    # A second revision of card-monitoring; a sweep judges 1.0.0 under it.
    clock.at = day(5, 1)
    RegisteredModelFactory(owner=owner, name="late-model", risk_tier="LOW")
    clock.at = day(5, 10)
    load_documents([validate_document(d) for d in policy_document("Plan the monitoring")])
    clock.at = day(5, 11)
    monitoring.sweep(versions=[v1.pk], store_all=True)
    clock.at = day(6, 1)
    step("submit", v2, owner)
    clock.at = day(7, 1)
    return {"model": model, "v1": v1, "v2": v2, "exception": exception, "users": users}


def model_named(answer, name):
    return next(m for m in answer["models"] if m["name"] == name)


def version_labelled(model, label):
    return next(v for v in model["versions"] if v["version"] == label)


def get(user, at: str | None = None):
    client = token_client(user)
    return client.get(URL, {"at": at} if at is not None else {})


def test_on_31_march_production_approved_by_mrc_under_an_active_exception(history):
    auditor = history["users"][Role.AUDITOR]
    response = get(auditor, "2026-03-31T23:59:59Z")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["at"] == "2026-03-31T23:59:59Z"
    assert [m["name"] for m in body["models"]] == ["credit-scorer"]  # late-model: not yet
    model = body["models"][0]
    assert (model["riskTier"], model["owner"]) == ("MEDIUM", "olivia")  # HIGH only in April
    v1, v2 = version_labelled(model, "1.0.0"), version_labelled(model, "1.1.0")
    assert (v1["state"], v1["since"]) == ("PRODUCTION", "2026-02-03T09:00:00Z")
    assert (v2["state"], v2["since"]) == ("DRAFT", "2026-03-20T09:00:00Z")
    assert v2["approvals"] == v2["policyEvaluations"] == v2["activeExceptions"] == []
    assert [
        (a["stage"], a["environment"], a["user"], a["role"], a["at"]) for a in v1["approvals"]
    ] == [
        ("MRC_REVIEW", "staging", "mrc", "MRC", "2026-01-13T09:00:00Z"),
        ("PRODUCTION_REVIEW", "production", "mrc", "MRC", "2026-02-02T09:00:00Z"),
    ]
    assert {a["decision"] for a in v1["approvals"]} == {"APPROVED"}
    # The evaluations in force: the production gate's (per policy and environment), judged
    # by the first revision of each policy.
    first_revision = Policy.history.filter(policy_id="card-monitoring").earliest("history_id")
    in_force = {(e["policyId"], e["environment"]): e for e in v1["policyEvaluations"]}
    assert set(in_force) == {
        ("card-monitoring", "production"),
        ("card-monitoring", "staging"),
        ("scan-required", "production"),
        ("scan-required", "staging"),
    }
    monitoring_prod = in_force[("card-monitoring", "production")]
    assert monitoring_prod["policyRevision"] == first_revision.history_id
    assert monitoring_prod["evaluatedAt"] == "2026-02-01T09:00:00Z"
    assert (monitoring_prod["passed"], monitoring_prod["enforcement"]) == (False, "WARN")
    assert in_force[("scan-required", "staging")]["evaluatedAt"] == "2026-01-12T09:00:00Z"
    assert in_force[("scan-required", "production")]["passed"] is True
    [exception] = v1["activeExceptions"]
    assert exception["id"] == history["exception"].pk
    assert exception["policy"] == "card-monitoring"
    assert (exception["activatedAt"], exception["expiresAt"]) == (
        "2026-03-02T09:00:00Z",
        "2026-04-01T09:00:00Z",
    )
    assert exception["requestedBy"] == "olivia"
    assert [(a["role"], a["user"]) for a in exception["approvals"]] == [
        ("MRC", "mrc"),
        ("Security Architect", "security_architect"),
    ]
    assert body["auditHead"]["timestamp"] <= "2026-03-31T23:59:59Z"


def test_each_instant_answers_what_the_record_said_then(history):
    auditor = history["users"][Role.AUDITOR]

    def v1_at(at):
        body = get(auditor, at).json()
        return version_labelled(model_named(body, "credit-scorer"), "1.0.0"), body

    # Before anything: no model at all.
    assert get(auditor, "2026-01-01T00:00:00Z").json()["models"] == []
    # Registered, not yet submitted: DRAFT, nothing judged or approved.
    v1, _ = v1_at("2026-01-11T00:00:00Z")
    assert (v1["state"], v1["approvals"], v1["policyEvaluations"]) == ("DRAFT", [], [])
    # An event exactly at `at` has happened at `at` (inclusive).
    v1, _ = v1_at("2026-01-13T09:00:00Z")
    assert v1["state"] == "APPROVED_STAGING"
    assert len(v1["approvals"]) == 1
    v1, _ = v1_at("2026-01-13T08:59:59.999999Z")
    assert (v1["state"], v1["approvals"]) == ("MRC_REVIEW", [])
    assert {e["environment"] for e in v1["policyEvaluations"]} == {"staging"}
    v1, _ = v1_at("2026-02-01T12:00:00Z")
    assert v1["state"] == "PRODUCTION_REVIEW"
    # The exception: not yet on 1 March (requested, not approved), in force from 2 March,
    # past its expiry on 1 April even though nothing has marked it EXPIRED.
    assert v1_at("2026-03-01T12:00:00Z")[0]["activeExceptions"] == []
    assert len(v1_at("2026-03-02T09:00:00Z")[0]["activeExceptions"]) == 1
    assert v1_at("2026-04-01T09:00:00Z")[0]["activeExceptions"] == []
    # The tier: MEDIUM until the second approval of the change on 16 April, HIGH after.
    _, body = v1_at("2026-04-15T12:00:00Z")
    assert model_named(body, "credit-scorer")["riskTier"] == "MEDIUM"
    _, body = v1_at("2026-04-16T09:00:00Z")
    assert model_named(body, "credit-scorer")["riskTier"] == "HIGH"
    # late-model appears on 1 May; the sweep of 11 May judged under the second revision.
    v1, body = v1_at("2026-05-11T09:00:00Z")
    assert {m["name"] for m in body["models"]} == {"credit-scorer", "late-model"}
    second_revision = Policy.history.filter(policy_id="card-monitoring").latest("history_id")
    monitoring_prod = next(
        e
        for e in v1["policyEvaluations"]
        if (e["policyId"], e["environment"]) == ("card-monitoring", "production")
    )
    assert monitoring_prod["policyRevision"] == second_revision.history_id
    assert monitoring_prod["trigger"] == "MONITOR"
    assert monitoring_prod["evaluatedAt"] == "2026-05-11T09:00:00Z"
    # And now (default): today's states, computed from the record all the same.
    now = get(auditor).json()
    model = model_named(now, "credit-scorer")
    assert model["riskTier"] == "HIGH"
    assert (
        version_labelled(model, "1.1.0")["state"]
        == ModelVersion.objects.get(pk=history["v2"].pk).state
    )


def test_the_answer_is_the_records_not_the_current_rows(history):
    """Current rows changed behind the record's back (a raw update) do not change a past
    answer: the state comes from the transitions, the tier from the model's history."""
    RegisteredModel.objects.filter(pk=history["model"].pk).update(risk_tier="LOW")
    ModelVersion.objects.filter(pk=history["v1"].pk).update(state="RETIRED")
    answer = build_inventory(day(3, 31))
    [model] = answer.models
    assert model.risk_tier == "MEDIUM"
    assert model.versions[0].state == "PRODUCTION"
    assert answer.version_count == 2
    assert answer.tiers() == {"MEDIUM": 1}


def test_a_retired_policy_judges_nothing_from_its_retirement_on(history, clock):
    policy = Policy.objects.get(policy_id="scan-required")
    clock.at = day(7, 2)
    documents = policy_document("Plan the monitoring")
    documents[0]["status"] = "RETIRED"
    load_documents([validate_document(d) for d in documents])
    clock.at = None
    before = build_inventory(day(7, 1, 12)).models[0].versions[0]
    after = build_inventory(day(7, 3)).models[0].versions[0]
    assert "scan-required" in {e.policy_id for e in before.policy_evaluations}
    assert "scan-required" not in {e.policy_id for e in after.policy_evaluations}
    assert PolicyEvaluation.objects.filter(policy=policy).exists()  # still on record


def test_visibility_applies(history, make_user):
    owner2 = make_user(Role.MODEL_OWNER, username="other-owner")
    RegisteredModelFactory(owner=owner2, name="other-model")
    users = history["users"]
    mine = get(users[Role.MODEL_OWNER]).json()
    assert {m["name"] for m in mine["models"]} == {"credit-scorer", "late-model"}
    theirs = get(owner2).json()
    assert [m["name"] for m in theirs["models"]] == ["other-model"]
    assert "credit-scorer" not in str(theirs)
    every = get(users[Role.SRE]).json()
    assert {m["name"] for m in every["models"]} == {"credit-scorer", "late-model", "other-model"}


def test_who_may_not_read_it(history, make_user, api):
    from audit.models import AuditEvent

    scanner = history["users"][Role.SCANNER]
    response = get(scanner)
    assert response.status_code == 403
    assert "role" in response.json()["detail"]
    assert AuditEvent.objects.filter(event_type="ACCESS_DENIED", user_id="scanner").exists()
    assert api().get(URL).status_code == 401
    nobody = make_user(username="nobody")
    assert get(nobody).status_code == 403


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("yesterday", "not an ISO 8601"),
        ("2026-13-01T00:00:00Z", "not an ISO 8601"),
        ("2026-03-31T23:59:59", "timezone"),
        ("2026-03-31", "timezone"),
        ("2999-01-01T00:00:00Z", "future"),
        ("9999-12-31T23:59:59-23:59", "out of range"),
        ("x" * 500, "not an ISO 8601"),
    ],
)
def test_a_bad_at_is_a_400_naming_it(history, value, says):
    response = get(history["users"][Role.AUDITOR], value)
    assert response.status_code == 400, response.content
    body = response.json()
    assert list(body) == ["at"], body
    assert says in body["at"][0], body


def test_a_nul_in_at_is_refused_by_the_request_guard_before_the_view(history):
    response = get(history["users"][Role.AUDITOR], "2026-03-31T00:00:00Z\x00")
    assert response.status_code == 400
    assert "NUL" in response.json()["detail"]
    with pytest.raises(Invalid) as refused:
        parse_at("2026-03-31T00:00:00Z\x00", now=day(6, 1))
    assert refused.value.field == "at"


def test_an_offset_is_honoured_and_an_unencoded_plus_is_read_as_one(history):
    auditor = history["users"][Role.AUDITOR]
    # 2026-01-13T10:30+02:00 is 08:30 UTC: before the MRC approval at 09:00 UTC.
    for raw in ("2026-01-13T10:30:00+02:00", "2026-01-13T10:30:00 02:00"):
        body = get(auditor, raw).json()
        assert body["at"] == "2026-01-13T08:30:00Z"
        v1 = version_labelled(model_named(body, "credit-scorer"), "1.0.0")
        assert v1["state"] == "MRC_REVIEW"


def test_parse_at_rules():
    now = datetime(2026, 6, 1, tzinfo=UTC)
    assert parse_at(None, now=now) == now
    assert parse_at("  ", now=now) == now
    assert parse_at("2026-05-31T12:00", naive_is_utc=True, now=now) == datetime(
        2026, 5, 31, 12, tzinfo=UTC
    )
    assert parse_at("2026-06-01T00:00:00Z", now=now) == now  # now itself is not the future


def test_the_queries_do_not_grow_with_the_models(db, users, clock):
    """FEW and MANY models, each with a version that went through submit and approval and
    holds an active exception: the same number of queries (tests/querycounts.py)."""
    owner, mrc, security = users[Role.MODEL_OWNER], users[Role.MRC], users[Role.SECURITY_ARCHITECT]
    clock.at = day(1, 5)
    load_documents([validate_document(d) for d in policy_document()])
    policy = Policy.objects.get(policy_id="card-monitoring")

    def make_one(n: int) -> None:
        clock.at = day(1, 10) + timedelta(minutes=n)
        model = RegisteredModelFactory(owner=owner, name=f"m-{n:03d}")
        version = ModelVersionFactory(model=model, version="1.0.0", documentation=CARD)
        ArtifactFactory(version=version)
        step("submit", version, owner)
        step("approve", version, mrc)
        activate(request_exception(version, policy.policy_id, mrc), security)
        clock.at = None

    client = token_client(users[Role.AUDITOR])
    url = f"{URL}?at=2026-01-20T00:00:00Z"
    assert_constant_queries(client, url, Upto(make_one), rows=lambda n: None, ceiling=20)
    models = client.get(url).json()["models"]
    assert len(models) == MANY
    assert all(
        m["versions"][0]["approvals"]
        and m["versions"][0]["policyEvaluations"]
        and m["versions"][0]["activeExceptions"]
        for m in models
    )


def test_inventory_at_is_the_domain_entry(history):
    answer = inventory_at(day(3, 31), actor=history["users"][Role.MRC])
    assert isinstance(answer, inventory.Inventory)
    assert [m.name for m in answer.models] == ["credit-scorer"]


def test_the_annual_reports_inventory_is_the_one_as_of_its_data_end(history, clock):
    """The annual audit report's inventory (its model and version counts and the tier donut)
    is this inventory at the last instant of its data: here a year whose data ends on
    1 April, when credit-scorer was still MEDIUM and late-model not registered."""
    from audit.reports.annual import annual_audit
    from audit.reports.periods import parse_period
    from audit.reports.portfolio import Portfolio

    until = day(4, 1)
    clock.at = day(4, 1)
    period = parse_period("ANNUAL_AUDIT", "2026", now=until)
    data = annual_audit(period, until, Portfolio(until))
    clock.at = None
    inventory = data["inventory"]
    assert inventory.at == until - timedelta(microseconds=1)
    assert [(m.name, m.risk_tier) for m in inventory.models] == [("credit-scorer", "MEDIUM")]
    assert (data["summary"]["models"], data["summary"]["versions"]) == (1, 2)
    assert data["summary"]["new_models"] == 1
    assert [v.state for v in inventory.models[0].versions] == ["PRODUCTION", "DRAFT"]
    assert "MEDIUM" in data["tier_donut"]


def test_the_answers_conform_to_the_published_schema(history):
    """The 200 (with approvals, evaluations, an exception and the audit head) and the 400 are
    valid against the OpenAPI schema the API publishes."""
    from drf_spectacular.generators import SchemaGenerator

    from tests.governance.test_openapi_schema import _validator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    responses = schema["paths"][URL]["get"]["responses"]
    auditor = history["users"][Role.AUDITOR]
    for at, status in (("2026-03-31T23:59:59Z", 200), (None, 200), ("2026-03-31", 400)):
        response = get(auditor, at)
        assert response.status_code == status
        node = responses[str(status)]["content"]["application/json"]["schema"]
        errors = [e.message for e in _validator(schema, node).iter_errors(response.json())]
        assert errors == [], errors
