"""Visibility across owners: nothing lists or names a model, or anything under it, to a Model
Owner who may not see that model (the contract's "Visibility" section).

Two owners each own a model with a distinctive name, a version with a distinctive label, an
artifact, an evaluation run, a policy evaluation result, an exception, a violation, a tier
change request, an approval, a state transition, a notification and audit events, all with
distinctive ids. For every URL pattern that can mention a model (API and pages, enumerated from
the URL configuration), the other owner's response text holds none of owner 1's names, labels
or ids, and someone who may see owner 1's records does see them there, so the check proves
something. A URL pattern that is in neither the matrix nor the explicit "never mentions a
model" list fails `test_every_url_pattern_is_classified`.

Decided: the compliance summary (`/api/v1/compliance/summary/` and the figures and charts of
`/compliance/`) stays an aggregate over the whole portfolio for every role, as the contract says
("a Model Owner sees ... the compliance summary"): the score, counts by severity, tier and
policy and the daily trend name no model and no version. Everything on those pages that names
one (the violation list) is limited to what the reader may see.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from dataclasses import dataclass, field

import pytest
from django.contrib.auth.models import Group
from django.core.files.base import ContentFile
from django.db import connection
from django.db.models import ForeignKey
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from rest_framework.test import APIClient

from audit.choices import AuditAction, EventType
from audit.models import Report, ReportKind, ReportStatus
from audit.services import record_event
from core.access import RULES, is_allowed
from core.choices import SEE_ALL_MODELS_ROLES, Role
from core.visibility import VisibleQuerySet
from governance import dashboard
from governance.models import Notification, StateTransition
from policies.documents import to_document
from policies.impact import impact
from policies.models import ExceptionApproval, Policy, PolicyChange
from registry.choices import RiskTier, VersionState
from registry.models import ModelVersion, RegisteredModel
from tests.factories import (
    ApprovalFactory,
    ArtifactFactory,
    EvaluationRunFactory,
    ModelVersionFactory,
    NotificationFactory,
    PolicyEvaluationFactory,
    PolicyExceptionFactory,
    PolicyFactory,
    RegisteredModelFactory,
    RiskTierChangeRequestFactory,
    StateTransitionFactory,
    ViolationFactory,
)

pytestmark = pytest.mark.django_db

POLICY_ID = "scan-required"
# A proposed change of the shared policy: readable by everyone, its dry run names the versions
# the reader may see (not a side's record, so not looked for as an id).
CHANGE_PK = 7701


# ---- the world --------------------------------------------------------------------------------


@dataclass
class Side:
    """One owner's records; `ids` are their distinctive primary keys."""

    n: int
    owner: object
    ids: dict[str, int] = field(default_factory=dict)
    # Not distinctive numbers, so not looked for in answers: only used to build paths.
    event_pk: int = 0
    report_pk: int = 0

    @property
    def names(self) -> list[str]:
        return [f"secret-model-owner{self.n}", f"9.9.9-o{self.n}", f"secret-artifact-o{self.n}"]

    def leaks(self, text: str, *, asked: str = "") -> list[str]:
        """Which of this side's names, labels and ids `text` holds; an id the asker put in the
        URL (`asked`) is theirs already, so an echo of it (a filter form) is no leak."""
        found = [name for name in self.names if name in text]
        found += [
            f"{kind} id {pk}"
            for kind, pk in self.ids.items()
            if str(pk) not in asked and re.search(rf"(?<![0-9A-Za-z]){pk}(?![0-9A-Za-z])", text)
        ]
        return found


# Distinctive ids, so that a number in a response can only be this record's: 9KKNNN, KK the kind.
KINDS = [
    "model",
    "version",
    "artifact",
    "run",
    "evaluation",
    "exception",
    "violation",
    "tier_change",
    "approval",
    "transition",
    "notification",
]


def _pk(kind: str, n: int) -> int:
    return 900000 + (KINDS.index(kind) + 1) * 1000 + n


def build_side(n: int, owner, policy: Policy, mrc) -> Side:
    side = Side(n, owner)
    ids = side.ids
    model = RegisteredModelFactory(
        pk=_pk("model", n), owner=owner, name=f"secret-model-owner{n}", risk_tier=RiskTier.MEDIUM
    )
    version = ModelVersionFactory(pk=_pk("version", n), model=model, version=f"9.9.9-o{n}")
    # Deployed to staging, submitted by its owner: monitored, on the dashboards.
    ModelVersion.objects.filter(pk=version.pk).update(
        state=VersionState.STAGING, submitted_by=owner, review_cycle=1
    )
    version.refresh_from_db()
    ArtifactFactory(pk=_pk("artifact", n), version=version, name=f"secret-artifact-o{n}.onnx")
    EvaluationRunFactory(pk=_pk("run", n), version=version)
    PolicyEvaluationFactory(pk=_pk("evaluation", n), version=version, policy=policy)
    exception = PolicyExceptionFactory(pk=_pk("exception", n), version=version, policy=policy)
    ExceptionApproval.objects.create(exception=exception, role=Role.MRC, user=mrc)
    ViolationFactory(pk=_pk("violation", n), version=version, policy=policy)
    RiskTierChangeRequestFactory(pk=_pk("tier_change", n), model=model)
    ApprovalFactory(pk=_pk("approval", n), version=version, user=mrc)
    StateTransitionFactory(pk=_pk("transition", n), version=version)
    NotificationFactory(pk=_pk("notification", n), user=owner, version=version)
    event = record_event(
        EventType.MODEL_REGISTRY,
        AuditAction.REGISTER_MODEL,
        user=owner,
        model_id=model.pk,
        version_id=version.pk,
        details={"name": model.name},
    )
    # A generated report names the models it covers (here: its bytes do).
    report = Report.objects.create(
        kind=ReportKind.MONTHLY_COMPLIANCE,
        period="2026-11",
        period_start=timezone.now(),
        period_end=timezone.now(),
        status=ReportStatus.DONE,
    )
    report.file.save(
        f"report-{n}.pdf", ContentFile(f"%PDF-1.4 inventory: {model.name}".encode()), save=True
    )
    ids.update({kind: _pk(kind, n) for kind in KINDS})
    side.event_pk, side.report_pk = event.pk, report.pk
    return side


@dataclass
class World:
    one: Side
    two: Side
    users: dict


@pytest.fixture
def world(make_user) -> World:
    owner1 = make_user(Role.MODEL_OWNER, username="owen-one")
    owner2 = make_user(Role.MODEL_OWNER, username="owen-two")
    people = {
        role: make_user(role, username=role.lower().replace(" ", "-"))
        for role in (Role.MRC, Role.AUDITOR, Role.SRE)
    }
    policy = PolicyFactory(policy_id=POLICY_ID)
    one = build_side(1, owner1, policy, people[Role.MRC])
    two = build_side(2, owner2, policy, people[Role.MRC])
    PolicyChange.objects.create(
        pk=CHANGE_PK,
        policy=policy,
        proposed_by=make_user(Role.SECURITY_ARCHITECT, username="sa-proposer"),
        base_document=to_document(policy),
        document={**to_document(policy), "enforcement": "WARN"},
        changes={"enforcement": {"from": "ENFORCE", "to": "WARN"}},
        relaxations=["enforcement lowered ENFORCE -> WARN"],
    )
    return World(one, two, {"owner1": owner1, "owner2": owner2, **people})


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def text_of(response) -> str:
    """Everything a response says: its body (each file of a zip), and the name of a download."""
    body = b"".join(response.streaming_content) if response.streaming else response.content
    if response.get("Content-Type", "").startswith("application/zip"):
        with zipfile.ZipFile(io.BytesIO(body)) as bundle:
            body = b"\n".join(bundle.read(name) for name in bundle.namelist())
    return body.decode("utf-8", errors="replace") + response.get("Content-Disposition", "")


# ---- the matrix --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """A request that can mention a model. `path` holds owner 1's ids ({version}, ...).

    `viewer`: who may see owner 1's records there ("owner" is owner 1), and so must see one
    of their names or ids in the answer. A `write` is an action: the owner's request reaches the
    record (anything but 404), another owner's is a 404 that names nothing.
    """

    key: tuple[str, str]
    path: str
    method: str = "get"
    data: dict | None = None
    viewer: str = "owner"
    write: bool = False

    @property
    def names_a_record(self) -> bool:
        """Whether the path (before any query) holds an id of owner 1's records."""
        shared = ("{policy}", "{change}")
        path = self.path.split("?")[0]
        for name in shared:
            path = path.replace(name, "")
        return "{" in path

    @property
    def is_filtered(self) -> bool:
        return "{" in self.path.partition("?")[2]

    def url(self, side: Side) -> str:
        return self.path.format(
            **side.ids,
            policy=POLICY_ID,
            change=CHANGE_PK,
            event=side.event_pk,
            report=side.report_pk,
        )

    def send(self, client: APIClient, side: Side):
        url = self.url(side)
        if self.method == "get":
            return client.get(url)
        page_form = self.key[0] != "api"
        return client.post(url, self.data or {}, format="multipart" if page_form else "json")


DRY_RUN_DOCUMENT = {
    "policyId": "dry-scan",
    "name": "Dry scan",
    "severity": "HIGH",
    "status": "DRAFT",
    "scope": {"riskTiers": ["MEDIUM"], "environments": ["staging"]},
    "rules": [{"condition": "size(artifacts) > 5", "message": "needs more artifacts"}],
}
PAGE_DRY_RUN = {"document": json.dumps(DRY_RUN_DOCUMENT), "dry_run": "1"}


def api(name, path, **kwargs) -> Case:
    return Case(("api", name), f"/api/v1/{path}", **kwargs)


def page(name, path, **kwargs) -> Case:
    return Case(("page", name), f"/{path}", **kwargs)


READER = Role.AUDITOR  # reads everything: the viewer where owners may not read at all

MATRIX: list[Case] = [
    # registry
    api("model-list", "models/"),
    api("model-list", "models/?search=secret-model"),
    api("model-detail", "models/{model}/"),
    api("model-versions", "models/{model}/versions/"),
    api("version-list", "versions/"),
    api("version-list", "versions/?model={model}"),
    api("version-detail", "versions/{version}/"),
    api("version-artifacts", "versions/{version}/artifacts/"),
    api("artifact-detail", "artifacts/{artifact}/"),
    # The bytes: the owner reaches the record (a reference answers 409), another owner a 404.
    api("artifact-download", "artifacts/{artifact}/download/", write=True),
    page("model-list", "models/"),
    page("model-list", "models/?search=secret-model&q=secret-model"),
    page("model-detail", "models/{model}/"),
    page("version-create", "models/{model}/versions/new/"),
    page("version-detail", "versions/{version}/"),
    page("version-edit", "versions/{version}/edit/"),
    page("artifact-create", "versions/{version}/artifacts/new/"),
    page("artifact-download-page", "artifacts/{artifact}/download/", write=True),
    # workflow: actions, transitions, tier changes, dashboards, notifications
    *[
        api(f"api-version-{name}", f"versions/{{version}}/{name}/", method="post", write=True)
        for name in ("submit", "approve", "reject", "deploy", "request-production", "retire")
    ],
    api("api-version-transitions", "versions/{version}/transitions/"),
    api("api-model-tier-changes", "models/{model}/risk-tier-changes/"),
    api("risktierchange-detail", "risk-tier-changes/{tier_change}/"),
    api(
        "risktierchange-approve",
        "risk-tier-changes/{tier_change}/approve/",
        method="post",
        write=True,
    ),
    api(
        "risktierchange-reject",
        "risk-tier-changes/{tier_change}/reject/",
        method="post",
        write=True,
    ),
    api("api-dashboard", "approval-dashboard/"),
    api("api-inventory", "inventory/"),
    api("notification-list", "notifications/"),
    api("notification-read", "notifications/{notification}/read/", method="post"),
    page("home", ""),
    page("approvals", "approvals/"),
    page("approvals", "approvals/", viewer=Role.MRC),
    page("inventory", "inventory/"),
    page("notifications", "notifications/"),
    page("version-action", "versions/{version}/do/submit/", method="post", write=True),
    page("tier-change-request", "models/{model}/tier-change/"),
    page("tier-change-decide", "tier-changes/{tier_change}/approve/", method="post", write=True),
    # policies: impact, dry runs, results
    api("policy-impact", "policies/{policy}/impact/"),
    api("policy-dry-run", "policies/dry-run/", method="post", data=DRY_RUN_DOCUMENT),
    api("api-version-policy-evaluations", "versions/{version}/policy-evaluations/"),
    page("policy-detail", "policies/{policy}/"),
    page("policy-create", "policies/new/", method="post", data=PAGE_DRY_RUN),
    page("policy-edit", "policies/{policy}/edit/", method="post", data=PAGE_DRY_RUN),
    # exceptions, violations, compliance
    api("exception-list", "exceptions/"),
    api("exception-list", "exceptions/?version={version}"),
    api("exception-detail", "exceptions/{exception}/"),
    *[
        api(f"exception-{name}", f"exceptions/{{exception}}/{name}/", method="post", write=True)
        for name in ("approve", "reject", "revoke")
    ],
    api("violation-list", "violations/"),
    api("violation-list", "violations/?version={version}"),
    api("violation-detail", "violations/{violation}/"),
    page("exception-list", "exceptions/"),
    page("exception-detail", "exceptions/{exception}/"),
    page("exception-decide", "exceptions/{exception}/approve/", method="post", write=True),
    page("exception-request", "versions/{version}/request-exception/"),
    api("exception-reviews", "exceptions/{exception}/reviews/", method="post", write=True),
    page("exception-review", "exceptions/{exception}/review/", method="post", write=True),
    # policy change control: the dry run of a change names the versions the reader may see
    api("policychange-detail", "policy-changes/{change}/"),
    page("policy-change-detail", "policy-changes/{change}/"),
    page("compliance", "compliance/"),
    page("compliance", "compliance/?status=OPEN&version={version}"),
    # evaluations
    api("api-version-evaluations", "versions/{version}/evaluations/"),
    api("api-evaluation-list", "evaluations/"),
    api("api-evaluation-list", "evaluations/?model={model}"),
    api("api-evaluation-detail", "evaluations/{run}/"),
    page("evaluation-detail", "evaluations/{run}/"),
    page("evaluation-history", "versions/{version}/evaluations/"),
    page("evaluation-create", "versions/{version}/evaluations/new/"),
    # monitoring deployed versions
    api("api-version-monitoring", "versions/{version}/monitoring/"),
    api(
        "api-version-monitoring-batches",
        "versions/{version}/monitoring/batches/",
        method="post",
        write=True,
    ),
    api(
        "api-version-monitoring-outcomes",
        "versions/{version}/monitoring/outcomes/",
        method="post",
        write=True,
    ),
    page("version-monitoring", "versions/{version}/monitoring/"),
    # audit trail, reports and evidence: owners read their own evidence, never the trail
    api("auditevent-list", "audit-events/", viewer=READER),
    api("auditevent-list", "audit-events/?modelId={model}", viewer=READER),
    api("auditevent-detail", "audit-events/{event}/", viewer=READER),
    api("api-audit-export", "audit-events/export/", viewer=READER),
    api("api-report-download", "reports/{report}/download/", viewer=READER),
    api("api-version-evidence-bundle", "versions/{version}/evidence-bundle/"),
    page("audit-trail", "audit/", viewer=READER),
    page("audit-export-csv", "audit/export.csv", viewer=READER),
    page("audit-export-jsonl", "audit/export.jsonl", viewer=READER),
    page("report-download", "reports/{report}/download/", viewer=READER),
    page("version-evidence-bundle", "versions/{version}/evidence-bundle/"),
    # the admin (staff roles only; a Model Owner is sent to its login)
    Case(("admin", "*"), "/admin/registry/registeredmodel/", viewer=Role.MRC),
    Case(("admin", "*"), "/admin/registry/modelversion/", viewer=Role.MRC),
]

# URL patterns whose answers never name a model or anything under one, with the reason. Each
# with a path is requested by a reader of everything below, and must name nothing there either.
NEVER_MENTIONS: dict[tuple[str, str], tuple[str, str | None]] = {
    # Proposed policy changes: documents, findings and people, no model (their dry run is in
    # the detail). A decision answers with the detail only to a Security Architect or an MRC
    # member, who read every model; anyone else is refused before it.
    ("api", "policychange-list"): ("get", "/api/v1/policy-changes/"),
    ("page", "policy-change-list"): ("get", "/policy-changes/"),
    ("api", "policychange-approve"): ("post", None),
    ("api", "policychange-reject"): ("post", None),
    ("page", "policy-change-decide"): ("post", None),
    ("api", "api-root"): ("get", "/api/v1/"),
    ("api", "api-token"): ("post", None),  # credentials in, a token out
    ("api", "api-me"): ("get", "/api/v1/me/"),
    ("api", "api-schema"): ("get", "/api/v1/schema/"),
    ("api", "api-docs"): ("get", "/api/v1/docs/"),
    ("api", "api-evaluation-suites"): ("get", "/api/v1/evaluation-suites/"),
    # Aggregates over the whole portfolio (see the module docstring).
    ("api", "api-compliance-summary"): ("get", "/api/v1/compliance/summary/"),
    ("api", "auditevent-verify"): ("get", "/api/v1/audit-events/verify/"),
    # Single sign-on's redirects to and from the identity provider (404 while it is off).
    ("page", "oidc_authentication_init"): ("get", None),
    ("page", "oidc_authentication_callback"): ("get", None),
    ("page", "oidc_logout"): ("post", None),
    # Signed checkpoints of the chain: sequence numbers, hashes and signatures.
    ("api", "auditevent-checkpoints"): ("get", "/api/v1/audit-events/checkpoints/"),
    ("api", "notification-read-all"): ("post", "/api/v1/notifications/read-all/"),
    # Policies are everyone's reading; their documents name no model (impact does: above).
    ("api", "policy-list"): ("get", "/api/v1/policies/"),
    ("api", "policy-detail"): ("get", f"/api/v1/policies/{POLICY_ID}/"),
    ("page", "policy-list"): ("get", "/policies/"),
    # A report's record is its kind, period and checksum; its PDF is a download (above).
    ("api", "report-list"): ("get", "/api/v1/reports/"),
    ("api", "report-detail"): ("get", "/api/v1/reports/{report}/"),
    ("page", "reports"): ("get", "/reports/"),
    ("page", "login"): ("get", "/login/"),
    ("page", "logout"): ("post", None),
    ("page", "workflow"): ("get", "/workflow/"),
    ("page", "model-register"): ("get", "/models/register/"),
    ("page", "risk-tier-preview"): ("get", "/models/risk-tier-preview/"),
}


def _patterns(resolver: URLResolver, prefix: str = ""):
    for pattern in resolver.url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            if route == "admin/":
                yield ("admin", "*"), route
                continue
            yield from _patterns(pattern, route)
        elif isinstance(pattern, URLPattern):
            yield ("api" if route.startswith("api/v1/") else "page", pattern.name), route


def test_every_url_pattern_is_classified():
    """A new URL pattern must join the matrix or say why it never mentions a model."""
    keys = {key for key, _ in _patterns(get_resolver())}
    in_matrix = {case.key for case in MATRIX}
    assert not in_matrix & set(NEVER_MENTIONS), "classified twice"
    unclassified = keys - in_matrix - set(NEVER_MENTIONS)
    assert not unclassified, f"add these URL patterns to the visibility matrix: {unclassified}"
    assert not (in_matrix | set(NEVER_MENTIONS)) - keys, "stale entries"


def _id(case: Case) -> str:
    return f"{case.method.upper()} {case.path}"


@pytest.mark.parametrize("case", MATRIX, ids=_id)
def test_another_owner_learns_nothing_of_the_model(world, case):
    client = client_for(world.users["owner2"])
    url = case.url(world.one)
    response = case.send(client, world.one)
    assert response.status_code < 500, text_of(response)[:500]
    leaks = world.one.leaks(text_of(response), asked=url)
    assert leaks == [], (leaks, response.status_code, text_of(response)[:3000])
    if case.key[0] == "api" and case.method == "get":
        # The browsable API renders the same answer, and its forms, as HTML.
        browsable = client.get(url, HTTP_ACCEPT="text/html")
        leaks = world.one.leaks(text_of(browsable), asked=url)
        assert leaks == [], (leaks, text_of(browsable)[:3000])
    if case.names_a_record:
        assert response.status_code in (302, 403, 404), response.status_code
    elif case.viewer == "owner" and not case.is_filtered:
        # ... while the same list does show them their own (so it was not simply empty).
        assert response.status_code == 200, response.status_code
        assert world.two.leaks(text_of(response)), text_of(response)[:3000]


@pytest.mark.parametrize("case", MATRIX, ids=_id)
def test_who_may_see_the_model_sees_it_there(world, case):
    viewer = world.users["owner1" if case.viewer == "owner" else case.viewer]
    response = case.send(client_for(viewer), world.one)
    if case.write:
        assert response.status_code != 404, text_of(response)[:500]
        return
    assert response.status_code == 200, (response.status_code, text_of(response)[:500])
    assert world.one.leaks(text_of(response)), text_of(response)[:2000]


@pytest.mark.parametrize(
    ("key", "request_"),
    [(key, spec) for key, spec in NEVER_MENTIONS.items() if spec[1] is not None],
    ids=[str(key) for key, spec in NEVER_MENTIONS.items() if spec[1] is not None],
)
def test_pages_that_never_mention_a_model_name_none_even_to_readers_of_everything(
    world, key, request_
):
    method, path = request_
    client = client_for(world.users[READER])
    url = path.format(report=world.one.report_pk)
    response = client.get(url) if method == "get" else client.post(url, {}, format="json")
    assert response.status_code < 400, (response.status_code, text_of(response)[:500])
    assert world.one.leaks(text_of(response)) == []


# ---- the leaks this closes, one by one (each failed on the old code) --------------------------


def test_impact_and_dry_run_list_only_the_askers_versions(world):
    owner2 = world.users["owner2"]
    policy = Policy.objects.get(policy_id=POLICY_ID)
    rows = impact(policy, actor=owner2)
    assert [row["modelName"] for row in rows] == ["secret-model-owner2"]
    everything = impact(policy, actor=world.users[Role.MRC])
    assert {row["modelName"] for row in everything} == {
        "secret-model-owner1",
        "secret-model-owner2",
    }
    dry = client_for(owner2).post("/api/v1/policies/dry-run/", DRY_RUN_DOCUMENT, format="json")
    assert [row["versionLabel"] for row in dry.json()["versions"]] == ["9.9.9-o2"]


def test_my_requests_leave_out_versions_the_submitter_may_no_longer_see(world):
    """Someone who submitted a version and then lost sight of its model (ownership moved)
    finds it no more among their requests."""
    owner1 = world.users["owner1"]
    model = RegisteredModel.objects.get(pk=world.one.ids["model"])
    assert [v.version for v in dashboard.my_requests(owner1)] == ["9.9.9-o1"]
    # Ownership moves (as the admin moves it): what owner1 sees follows the owner column.
    RegisteredModel.objects.filter(pk=model.pk).update(owner=world.users["owner2"])
    owner1 = type(owner1).objects.get(pk=owner1.pk)  # as on the next request
    assert list(dashboard.my_requests(owner1)) == []
    assert world.one.leaks(json.dumps(dashboard.dashboard_document(owner1), default=str)) == []


def test_the_roles_that_see_every_model_are_those_granted_the_view_permission():
    """Visibility reads roles, not permissions (no query); the two must never drift apart."""
    granted = set(
        Group.objects.filter(
            permissions__codename="view_registeredmodel",
            permissions__content_type__app_label="registry",
        ).values_list("name", flat=True)
    )
    assert granted == set(SEE_ALL_MODELS_ROLES)


def test_a_user_without_any_role_sees_nothing(world, make_user):
    nobody = make_user(username="nobody")
    for queryset in (
        RegisteredModel.objects.visible_to(nobody),
        ModelVersion.objects.visible_to(nobody),
        StateTransition.objects.visible_to(nobody),
        Notification.objects.visible_to(nobody),
    ):
        assert not queryset.exists()
    assert impact(Policy.objects.get(policy_id=POLICY_ID), actor=nobody) == []


# ---- one mechanism ----------------------------------------------------------------------------


def _reaches_registered_model(model, depth: int = 4) -> bool:
    if model is RegisteredModel:
        return True
    if depth == 0:
        return False
    return any(
        _reaches_registered_model(f.related_model, depth - 1)
        for f in model._meta.get_fields()
        if isinstance(f, ForeignKey) and f.related_model is not None
    )


def _governed_models():
    from django.apps import apps

    for model in apps.get_models():
        if model.__name__.startswith("Historical") or model._meta.app_label not in (
            "registry",
            "governance",
            "policies",
            "evaluations",
        ):
            continue
        if _reaches_registered_model(model):
            yield model


def test_every_record_under_a_model_reads_through_the_one_visibility_queryset():
    governed = list(_governed_models())
    assert {m.__name__ for m in governed} >= {
        "RegisteredModel",
        "ModelVersion",
        "Artifact",
        "StateTransition",
        "Approval",
        "RiskTierChangeRequest",
        "TierChangeDecision",
        "PolicyEvaluation",
        "PolicyException",
        "ExceptionApproval",
        "Violation",
        "EvaluationRun",
    }
    for model in governed:
        queryset = model._default_manager.all()
        if model is Notification:  # its recipient's alone
            continue
        assert isinstance(queryset, VisibleQuerySet), model.__name__
        # The path leads to the registered model.
        target = model
        for part in filter(None, queryset.model_path.split("__")):
            target = target._meta.get_field(part).related_model
        assert target is RegisteredModel, model.__name__


def test_visible_to_an_action_is_the_access_rule_in_set_form(make_user, owner, model):
    """For every rule and every role, a model is in `visible_to(user, action)` exactly when the
    rule allows the user to act on it and they may see it."""
    theirs = RegisteredModelFactory(name="someone-elses")
    people = [owner, make_user(username="role-less")]
    people += [make_user(role, username=f"u-{role}".replace(" ", "-")) for role in Role]
    people.append(make_user(Role.MODEL_OWNER, Role.SRE, username="owner-and-sre"))
    superuser = make_user(username="root")
    superuser.is_superuser = True
    superuser.save()
    people.append(superuser)
    for action in RULES:
        for person in people:
            allowed = set(
                RegisteredModel.objects.visible_to(person, action).values_list("pk", flat=True)
            )
            visible = set(RegisteredModel.objects.visible_to(person).values_list("pk", flat=True))
            for candidate in (model, theirs):
                expected = candidate.pk in visible and is_allowed(person, action, model=candidate)
                assert (candidate.pk in allowed) == expected, (action, person.username, candidate)


def test_visibility_is_one_subquery_not_a_list_of_ids(world):
    owner = world.users["owner2"]
    sql = str(StateTransition.objects.visible_to(owner).query)
    # The owner column inside a subquery: no model id is ever spelled out in the SQL.
    assert '"owner_id" =' in sql and "IN (SELECT" in sql
    assert str(world.two.ids["model"]) not in sql


@pytest.mark.parametrize(
    ("url", "method"),
    [
        (f"/api/v1/policies/{POLICY_ID}/impact/", "get"),
        ("/api/v1/policies/dry-run/", "post"),
        ("/api/v1/approval-dashboard/", "get"),
        ("/api/v1/notifications/", "get"),
        ("/api/v1/violations/", "get"),
        ("/api/v1/evaluations/", "get"),
    ],
)
def test_filtered_lists_run_a_constant_number_of_queries(world, url, method):
    """Visibility is a subquery: more models (theirs and others') add rows, not queries."""
    owner, mrc = world.users["owner2"], world.users[Role.MRC]
    policy = Policy.objects.get(policy_id=POLICY_ID)

    def grow(n: int) -> None:
        for i in range(n):
            for who in (owner, world.users["owner1"]):
                model = RegisteredModelFactory(owner=who, name=f"grown-{who.pk}-{n}-{i}")
                version = ModelVersionFactory(model=model, submitted_by=who)
                ArtifactFactory(version=version)
                ApprovalFactory(version=version, user=mrc)
                StateTransitionFactory(version=version)
                ViolationFactory(version=version, policy=policy)
                EvaluationRunFactory(version=version)
                NotificationFactory(user=who, version=version)

    def count() -> int:
        client = client_for(owner)
        with CaptureQueriesContext(connection) as ctx:
            if method == "get":
                response = client.get(url)
            else:
                response = client.post(url, DRY_RUN_DOCUMENT, format="json")
        assert response.status_code == 200
        return len(ctx.captured_queries)

    count()  # warm the process-wide caches (content types) before counting
    few = count()
    grow(15)
    assert count() == few


def test_a_role_removed_takes_its_reach_with_it(world):
    mrc = world.users[Role.MRC]
    assert ModelVersion.objects.visible_to(mrc).count() == 2
    mrc.groups.remove(Group.objects.get(name=Role.MRC))
    mrc = type(mrc).objects.get(pk=mrc.pk)
    assert not ModelVersion.objects.visible_to(mrc).exists()
