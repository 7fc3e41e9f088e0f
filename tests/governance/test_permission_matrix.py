"""Every role against every action: the contract's "Who may do what" table.

The table below is the test: one row per action, one column per persona, each cell the answer
the contract promises. Every rule of core.access.RULES has at least one row (a test fails when
a new Action has none). A refusal (403) must also name the rule that refused it, leave an
ACCESS_DENIED audit event, and change nothing; a hidden object (404) or an anonymous call (401)
must change nothing either; an allowed write must change what it says.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile

from audit.choices import EventType
from audit.models import AuditEvent, Report
from audit.services import record_event
from core.access import RULES
from core.choices import Action, Role
from core.errors import Forbidden
from evaluations.models import EvaluationRun
from governance.choices import MRC_CHECKLIST
from governance.models import (
    Approval,
    RiskTierChangeRequest,
    StateTransition,
    TierChangeDecision,
    Webhook,
)
from governance.webhooks import save_webhook
from policies.choices import ExceptionStatus
from policies.models import ExceptionApproval, Policy, PolicyException
from registry import custody
from registry.choices import VersionState
from registry.models import Artifact, ModelVersion, RegisteredModel
from tests.factories import (
    PASSWORD,
    ApprovalFactory,
    ArtifactFactory,
    ModelVersionFactory,
    PolicyExceptionFactory,
    PolicyFactory,
    RegisteredModelFactory,
    RiskTierChangeRequestFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

# ---- the matrix ----------------------------------------------------------------------------
#
# Personas (columns). The target of every action is model A (owned by `owner`), its DRAFT
# version and that version's artifact, except for "aud+own", whose target is a model of its own:
# holding Model Owner and the object permission of an owner must not let an Auditor write.
PERSONAS = (
    "owner",  # Model Owner, owner of the target model
    "other",  # Model Owner, owner of another model only
    "mrc",  # MRC
    "secarch",  # Security Architect
    "sre",  # SRE
    "auditor",  # Auditor
    "exec",  # Executive
    "norole",  # authenticated, no role at all
    "anon",  # not authenticated
    "aud+own",  # Auditor and Model Owner, owner of its own target model
    "mrc+own",  # MRC and Model Owner, not the owner of the target model
    "scanner",  # Scanner: an outside scanning pipeline's service account
)

# Cells.
OK = "200"  # 200, and the answer is about the target
NEW = "201"  # 201, created
SEEN = "200 listed"  # 200 list that includes the target
MISS = "200 unlisted"  # 200 list that does not include the target
N401 = "401"  # not authenticated
N404 = "404"  # unknown or not visible to the caller
N405 = "405"  # the endpoint has no such method
ROLE = "403 role"  # 403, detail "... you need the role ..."
AUDR = "403 auditor"  # 403, detail "auditors never write ..."
OWNR = "403 owner"  # 403, detail "only the model's owner may ..."
STGE = "403 stage"  # 403, detail "a decision in <state> needs the role ..."
TIER = "403 tier"  # 403, detail "this <tier> risk exception now needs an approval by ..."
QUED = "202"  # 202, accepted and queued
NA = "n/a"  # no way in for this persona

# fmt: off
MATRIX: dict[str, tuple[str, ...]] = {
    #                      owner other mrc   secar sre   audit exec  norol anon  aud+o mrc+o scan
    "list models":        (SEEN, MISS, SEEN, SEEN, SEEN, SEEN, SEEN, MISS, N401, SEEN, SEEN, SEEN),
    "get model":          (OK,   N404, OK,   OK,   OK,   OK,   OK,   N404, N401, OK,   OK, OK),
    "register model":     (NEW,  NEW,  ROLE, ROLE, ROLE, AUDR, ROLE, ROLE, N401, AUDR, NEW, ROLE),
    "patch model":        (OK,   N404, ROLE, ROLE, ROLE, AUDR, ROLE, N404, N401, AUDR, OWNR, ROLE),
    "list versions":      (SEEN, MISS, SEEN, SEEN, SEEN, SEEN, SEEN, MISS, N401, SEEN, SEEN, SEEN),
    "list model versions": (OK,  N404, OK,   OK,   OK,   OK,   OK,   N404, N401, OK,   OK, OK),
    "get version":        (OK,   N404, OK,   OK,   OK,   OK,   OK,   N404, N401, OK,   OK, OK),
    "create version":     (NEW,  N404, ROLE, ROLE, ROLE, AUDR, ROLE, N404, N401, AUDR, OWNR, ROLE),
    "patch version":      (OK,   N404, ROLE, ROLE, ROLE, AUDR, ROLE, N404, N401, AUDR, OWNR, ROLE),
    "list artifacts":     (OK,   N404, OK,   OK,   OK,   OK,   OK,   N404, N401, OK,   OK, OK),
    "get artifact":       (OK,   N404, OK,   OK,   OK,   OK,   OK,   N404, N401, OK,   OK, OK),
    "add artifact":       (NEW,  N404, ROLE, ROLE, ROLE, AUDR, ROLE, N404, N401, AUDR, OWNR, ROLE),
    "patch artifact":     (OK,   N404, ROLE, ROLE, ROLE, AUDR, ROLE, N404, N401, AUDR, OWNR, ROLE),
    "record scan":        (ROLE, N404, ROLE, OK,   ROLE, AUDR, ROLE, N404, N401, AUDR, ROLE, OK),
    "download artifact":  (OK,   N404, OK,   OK,   OK,   OK,   OK,   N404, N401, OK,   OK,   OK),
    "list audit events":  (ROLE, ROLE, OK,   OK,   ROLE, OK,   OK,   ROLE, N401, OK,   OK, ROLE),
    "get audit event":    (ROLE, ROLE, OK,   OK,   ROLE, OK,   OK,   ROLE, N401, OK,   OK, ROLE),
    "verify audit chain": (ROLE, ROLE, OK,   OK,   ROLE, OK,   OK,   ROLE, N401, OK,   OK, ROLE),
    "delete audit event": (N405, N405, N405, N405, N405, N405, N405, N405, N401, N405, N405, N405),
    "me":                 (OK,   OK,   OK,   OK,   OK,   OK,   OK,   OK,   N401, OK,   OK, OK),
    "obtain token":       (OK,   OK,   OK,   OK,   OK,   OK,   OK,   OK,   OK,   OK,   OK, OK),
    # the workflow (the target version is first put in the state the step starts from)
    "submit":             (OK,   N404, ROLE, ROLE, ROLE, AUDR, ROLE, N404, N401, AUDR, OWNR, ROLE),
    "approve":            (ROLE, N404, OK,   STGE, ROLE, AUDR, ROLE, N404, N401, AUDR, OK, ROLE),
    "reject":             (ROLE, N404, OK,   STGE, ROLE, AUDR, ROLE, N404, N401, AUDR, OK, ROLE),
    "deploy":             (ROLE, N404, ROLE, ROLE, OK,   AUDR, ROLE, N404, N401, AUDR, ROLE, ROLE),
    "request production": (OK,   N404, ROLE, ROLE, ROLE, AUDR, ROLE, N404, N401, AUDR, OWNR, ROLE),
    "retire":             (OK,   N404, OK,   ROLE, ROLE, AUDR, ROLE, N404, N401, AUDR, OK, ROLE),
    "request tier change": (NEW, N404, NEW,  ROLE, ROLE, AUDR, ROLE, N404, N401, AUDR, NEW, ROLE),
    "approve tier change": (ROLE, N404, OK,  OK,   ROLE, AUDR, ROLE, N404, N401, AUDR, OK, ROLE),
    # policies, exceptions, evaluations, reports, evidence, webhooks
    "create policy":      (ROLE, ROLE, ROLE, NEW,  ROLE, AUDR, ROLE, ROLE, N401, AUDR, ROLE, ROLE),
    "patch policy":       (ROLE, ROLE, ROLE, OK,   ROLE, AUDR, ROLE, ROLE, N401, AUDR, ROLE, ROLE),
    "policy impact":      (OK,   OK,   OK,   OK,   OK,   OK,   OK,   ROLE, N401, OK,   OK, ROLE),
    "policy dry-run":     (OK,   OK,   OK,   OK,   OK,   OK,   OK,   ROLE, N401, OK,   OK, ROLE),
    "request exception":  (NEW,  N404, ROLE, ROLE, ROLE, AUDR, ROLE, N404, N401, AUDR, OWNR, ROLE),
    "approve exception":  (ROLE, N404, OK,   OK,   ROLE, AUDR, TIER, N404, N401, AUDR, OK, ROLE),
    "revoke exception":   (ROLE, N404, OK,   ROLE, ROLE, AUDR, ROLE, N404, N401, AUDR, OK, ROLE),
    "run evaluation":     (QUED, N404, QUED, ROLE, ROLE, AUDR, ROLE, N404, N401, AUDR, QUED, ROLE),
    "list evaluations":   (OK,   N404, OK,   OK,   ROLE, OK,   OK,   N404, N401, OK,   OK, ROLE),
    "generate report":    (ROLE, ROLE, QUED, ROLE, ROLE, QUED, ROLE, ROLE, N401, QUED, QUED, ROLE),
    "list reports":       (ROLE, ROLE, OK,   OK,   ROLE, OK,   OK,   ROLE, N401, OK,   OK, ROLE),
    "evidence bundle":    (OK,   N404, OK,   OK,   ROLE, OK,   OK,   N404, N401, OK,   OK, ROLE),
    "export audit":       (ROLE, ROLE, OK,   OK,   ROLE, OK,   OK,   ROLE, N401, OK,   OK, ROLE),
    "compliance summary": (OK,   OK,   OK,   OK,   OK,   OK,   OK,   ROLE, N401, OK,   OK, ROLE),
    # webhooks have no API: the admin calls governance.webhooks.save_webhook, called here
    # directly (a refusal is a Forbidden, shown as its 403; no anonymous way reaches it)
    "save webhook":       (ROLE, ROLE, NEW,  ROLE, ROLE, AUDR, ROLE, ROLE, NA,   AUDR, NEW, ROLE),
}
# fmt: on

# The rule each refusal must name, and the action code its ACCESS_DENIED event must carry.
REFUSAL_DETAIL = {
    ROLE: "you need the role",
    AUDR: "auditors never write",
    OWNR: "only the model's owner may",
    STGE: "needs the role",
    TIER: "now needs an approval by",
}
# The access rule (core.access.RULES) each row exercises, which is also the action code its
# ACCESS_DENIED event carries; None for rows that no rule governs (visibility, identity).
ACTION_OF = {
    "register model": Action.REGISTER_MODEL,
    "patch model": Action.CHANGE_MODEL,
    "create version": Action.ADD_VERSION,
    "patch version": Action.CHANGE_VERSION,
    "add artifact": Action.ADD_ARTIFACT,
    "patch artifact": Action.CHANGE_ARTIFACT,
    "record scan": Action.RECORD_SCAN,
    "download artifact": Action.DOWNLOAD_ARTIFACT,
    "list audit events": Action.VIEW_AUDIT,
    "get audit event": Action.VIEW_AUDIT,
    "verify audit chain": Action.VIEW_AUDIT,
    "submit": Action.SUBMIT_VERSION,
    "approve": Action.REVIEW_VERSION,
    "reject": Action.REVIEW_VERSION,
    "deploy": Action.DEPLOY_VERSION,
    "request production": Action.REQUEST_PRODUCTION,
    "retire": Action.RETIRE_VERSION,
    "request tier change": Action.REQUEST_TIER_CHANGE,
    "approve tier change": Action.DECIDE_TIER_CHANGE,
    "create policy": Action.WRITE_POLICY,
    "patch policy": Action.WRITE_POLICY,
    "policy impact": Action.READ_POLICIES,
    "policy dry-run": Action.READ_POLICIES,
    "request exception": Action.REQUEST_EXCEPTION,
    "approve exception": Action.DECIDE_EXCEPTION,
    "revoke exception": Action.REVOKE_EXCEPTION,
    "run evaluation": Action.RUN_EVALUATION,
    "list evaluations": Action.READ_EVALUATIONS,
    "generate report": Action.GENERATE_REPORT,
    "list reports": Action.READ_REPORTS,
    "evidence bundle": Action.EXPORT_EVIDENCE,
    "export audit": Action.EXPORT_AUDIT,
    "compliance summary": Action.READ_COMPLIANCE,
    "save webhook": Action.MANAGE_WEBHOOKS,
}
# Where a refusal is recorded under another code than the rule's (separation of duties names
# the step it refused).
# Where a refusal is recorded under another code than the row's rule: the read rule refuses
# before the write rule is asked (patching a policy reads it first; the audit export is
# refused as reading the audit trail, the same roles as EXPORT_AUDIT), and a stage or tier
# refusal names the decision step.
DENIED_CODE: dict[tuple[str, str], str] = {
    ("patch policy", "norole"): Action.READ_POLICIES,
    ("patch policy", "scanner"): Action.READ_POLICIES,
    **{("export audit", p): Action.VIEW_AUDIT for p in PERSONAS},
}

ROLES_OF = {
    "owner": [Role.MODEL_OWNER],
    "other": [Role.MODEL_OWNER],
    "mrc": [Role.MRC],
    "secarch": [Role.SECURITY_ARCHITECT],
    "sre": [Role.SRE],
    "auditor": [Role.AUDITOR],
    "exec": [Role.EXECUTIVE],
    "norole": [],
    "aud+own": [Role.AUDITOR, Role.MODEL_OWNER],
    "mrc+own": [Role.MRC, Role.MODEL_OWNER],
    "scanner": [Role.SCANNER],
}


# ---- the world each cell runs in -----------------------------------------------------------


@dataclass
class Target:
    model: RegisteredModel
    version: ModelVersion
    artifact: Artifact


@dataclass
class World:
    people: dict
    targets: dict  # persona -> Target
    event: AuditEvent
    policy: Policy

    def target_of(self, persona: str) -> Target:
        return self.targets.get(persona, self.targets["owner"])


def _target(owner, name: str) -> Target:
    model = RegisteredModelFactory(owner=owner, name=name)
    version = ModelVersionFactory(model=model, version="1.0.0")
    artifact = ArtifactFactory(version=version)
    return Target(model, version, artifact)


@pytest.fixture
def world(db) -> World:
    people = {
        persona: UserFactory(username=persona.replace("+", "_"), roles=roles)
        for persona, roles in ROLES_OF.items()
    }
    targets = {
        "owner": _target(people["owner"], "model-a"),
        "aud+own": _target(people["aud+own"], "model-b"),
    }
    _target(people["other"], "model-c")  # so "other" sees a non-empty list of its own
    event = record_event(EventType.MODEL_REGISTRY, "REGISTER_MODEL", user="owner", model_id=1)
    policy = PolicyFactory(policy_id="scan-required")
    return World(people=people, targets=targets, event=event, policy=policy)


# ---- the state each workflow or decision row starts from (set before the snapshot) ---------


def _in_state(state: str):
    def prepare(world: World, t: Target) -> dict:
        # Submitted by the owner, so a reviewer or an SRE meets no separation-of-duties rule.
        ModelVersion.objects.filter(pk=t.version.pk).update(state=state, submitted_by=t.model.owner)
        return {}

    return prepare


def _approved_for_staging(world: World, t: Target) -> dict:
    # With the MRC approval its MEDIUM tier needs (deploy checks the approvals).
    _in_state(VersionState.APPROVED_STAGING)(world, t)
    ApprovalFactory(version=t.version, cycle=t.version.review_cycle)
    return {}


# An MRC approval carries the whole checklist ticked.
TICKED = dict.fromkeys(MRC_CHECKLIST, True)


def _tier_change(world: World, t: Target) -> dict:
    return {"request": RiskTierChangeRequestFactory(model=t.model).pk}


def _exception(status: str):
    def prepare(world: World, t: Target) -> dict:
        made = PolicyExceptionFactory(policy=world.policy, version=t.version, status=status)
        return {"exception": made.pk}

    return prepare


HELD_BYTES = b"weights the registry holds"


def _held_artifact(world: World, t: Target) -> dict:
    # Made directly: the aud+own persona's target is owned by an Auditor, who may not add one.
    with custody.received(SimpleUploadedFile("weights.bin", HELD_BYTES)) as received:
        name, _ = custody.store(received)
    made = ArtifactFactory(
        version=t.version, held=True, storage_name=name, size=len(HELD_BYTES), uri=""
    )
    return {"held": made.pk}


PREPARE = {
    "download artifact": _held_artifact,
    "approve": _in_state(VersionState.MRC_REVIEW),
    "reject": _in_state(VersionState.MRC_REVIEW),
    "deploy": _approved_for_staging,
    "request production": _in_state(VersionState.STAGING),
    "retire": _in_state(VersionState.STAGING),
    "approve tier change": _tier_change,
    "approve exception": _exception(ExceptionStatus.REQUESTED),
    "revoke exception": _exception(ExceptionStatus.ACTIVE),
}


def _client(api, world: World, persona: str):
    return api(None if persona == "anon" else world.people[persona])


# ---- what each action sends ----------------------------------------------------------------


class DomainAnswer:
    """What an admin-only domain call answers, in the shape the cells are checked against."""

    def __init__(self, status_code: int, body: dict):
        self.status_code, self.body, self.content = status_code, body, str(body).encode()

    def json(self):
        return self.body


def _save_webhook(user) -> DomainAnswer:
    try:
        hook = save_webhook(
            Webhook(name="alerts"),
            actor=user,
            fields={"url": "https://hooks.example.com/a", "events": ["violation.opened"]},
        )
    except Forbidden as error:
        return DomainAnswer(403, {"detail": error.detail})
    return DomainAnswer(201, {"id": hook.pk})


def _dataset():
    return SimpleUploadedFile("d.csv", b"y_true,y_pred\n1,1\n0,0\n1,0\n0,1\n", "text/csv")


POLICY_DOCUMENT = {
    "policyId": "new-policy",
    "name": "New policy",
    "severity": "HIGH",
    "status": "DRAFT",
    "scope": {"riskTiers": ["MEDIUM"], "environments": ["staging"]},
    "rules": [{"condition": "size(artifacts) > 0", "message": "needs an artifact"}],
}
EXCEPTION_FORM = {
    "justification": "A known false positive.",
    "riskAssessment": "Low.",
    "mitigation": "Manual review.",
    "durationDays": 7,
    "monitoringPlan": "Weekly re-scan.",
    "reason": "TECHNICAL_LIMITATION",
    "remediationPlan": "Fix it.",
    "remediationDueDate": "2099-01-31",
}


def _request(client, action: str, world: World, persona: str, made: dict):
    t = world.target_of(persona)
    m, v, a = t.model.pk, t.version.pk, t.artifact.pk
    pid = world.policy.policy_id
    if action == "save webhook":
        return _save_webhook(world.people[persona])
    if action == "run evaluation":
        return client.post(
            f"/api/v1/versions/{v}/evaluations/",
            {"suite": "performance", "dataset": _dataset()},
            format="multipart",
        )
    comment = {"comments": "checked"}
    requests = {
        "submit": ("post", f"/api/v1/versions/{v}/submit/", comment),
        "approve": ("post", f"/api/v1/versions/{v}/approve/", {**comment, "checklist": TICKED}),
        "reject": ("post", f"/api/v1/versions/{v}/reject/", comment),
        "deploy": ("post", f"/api/v1/versions/{v}/deploy/", comment),
        "request production": ("post", f"/api/v1/versions/{v}/request-production/", comment),
        "retire": ("post", f"/api/v1/versions/{v}/retire/", comment),
        "request tier change": (
            "post",
            f"/api/v1/models/{m}/risk-tier-changes/",
            {"requestedTier": "HIGH", "justification": "It now decides on credit."},
        ),
        "approve tier change": (
            "post",
            f"/api/v1/risk-tier-changes/{made.get('request')}/approve/",
            comment,
        ),
        "create policy": ("post", "/api/v1/policies/", POLICY_DOCUMENT),
        "patch policy": ("patch", f"/api/v1/policies/{pid}/", {"name": "Renamed"}),
        "policy impact": ("get", f"/api/v1/policies/{pid}/impact/", None),
        "policy dry-run": ("post", "/api/v1/policies/dry-run/", POLICY_DOCUMENT),
        "request exception": (
            "post",
            "/api/v1/exceptions/",
            {"policy": pid, "version": v, **EXCEPTION_FORM},
        ),
        "approve exception": (
            "post",
            f"/api/v1/exceptions/{made.get('exception')}/approve/",
            comment,
        ),
        "revoke exception": (
            "post",
            f"/api/v1/exceptions/{made.get('exception')}/revoke/",
            comment,
        ),
        "list evaluations": ("get", f"/api/v1/versions/{v}/evaluations/", None),
        "generate report": ("post", "/api/v1/reports/", {"kind": "ANNUAL_AUDIT", "period": "2025"}),
        "list reports": ("get", "/api/v1/reports/", None),
        "evidence bundle": ("get", f"/api/v1/versions/{v}/evidence-bundle/", None),
        "export audit": ("get", "/api/v1/audit-events/export/", None),
        "compliance summary": ("get", "/api/v1/compliance/summary/", None),
        "list models": ("get", "/api/v1/models/", None),
        "get model": ("get", f"/api/v1/models/{m}/", None),
        "register model": ("post", "/api/v1/models/", {"name": "new-model", "riskTier": "MEDIUM"}),
        "patch model": ("patch", f"/api/v1/models/{m}/", {"description": "changed"}),
        "list versions": ("get", "/api/v1/versions/", None),
        "list model versions": ("get", f"/api/v1/models/{m}/versions/", None),
        "get version": ("get", f"/api/v1/versions/{v}/", None),
        "create version": ("post", f"/api/v1/models/{m}/versions/", {"version": "9.9.9"}),
        "patch version": ("patch", f"/api/v1/versions/{v}/", {"documentation": "changed"}),
        "list artifacts": ("get", f"/api/v1/versions/{v}/artifacts/", None),
        "get artifact": ("get", f"/api/v1/artifacts/{a}/", None),
        "add artifact": (
            "post",
            f"/api/v1/versions/{v}/artifacts/",
            {"name": "w.onnx", "type": "model", "uri": "s3://b/w.onnx", "sha256": "ab" * 32},
        ),
        "patch artifact": ("patch", f"/api/v1/artifacts/{a}/", {"name": "renamed.onnx"}),
        "record scan": (
            "patch",
            f"/api/v1/artifacts/{a}/",
            {"securityScan": {"status": "FAILED", "scanner": "trivy", "findings": ["CVE-1"]}},
        ),
        "download artifact": ("get", f"/api/v1/artifacts/{made.get('held')}/download/", None),
        "list audit events": ("get", "/api/v1/audit-events/", None),
        "get audit event": ("get", f"/api/v1/audit-events/{world.event.pk}/", None),
        "verify audit chain": ("get", "/api/v1/audit-events/verify/", None),
        "delete audit event": ("delete", f"/api/v1/audit-events/{world.event.pk}/", None),
        "me": ("get", "/api/v1/me/", None),
    }
    if action == "obtain token":
        username = "owner" if persona == "anon" else world.people[persona].username
        return client.post(
            "/api/v1/auth/token/", {"username": username, "password": PASSWORD}, format="json"
        )
    method, path, body = requests[action]
    if body is None:
        return getattr(client, method)(path)
    return getattr(client, method)(path, body, format="json")


def _snapshot():
    """Everything a write could touch, so a refused one can be shown to have changed nothing."""
    return {
        "models": sorted(
            RegisteredModel.objects.values_list(
                "pk", "name", "description", "tags", "risk_tier", "owner_id", "updated_at"
            )
        ),
        "versions": sorted(
            ModelVersion.objects.values_list(
                "pk", "version", "state", "description", "documentation", "tags", "updated_at"
            )
        ),
        "artifacts": sorted(
            Artifact.objects.values_list(
                "pk", "name", "uri", "sha256", "scan_status", "scan_scanner", "updated_at"
            )
        ),
        "history": (
            RegisteredModel.history.count(),
            ModelVersion.history.count(),
            Artifact.history.count(),
        ),
        "workflow": (
            StateTransition.objects.count(),
            Approval.objects.count(),
            sorted(RiskTierChangeRequest.objects.values_list("pk", "status")),
            TierChangeDecision.objects.count(),
        ),
        "policies": sorted(Policy.objects.values_list("pk", "policy_id", "name", "updated_at")),
        "exceptions": sorted(PolicyException.objects.values_list("pk", "status")),
        "exception approvals": ExceptionApproval.objects.count(),
        "runs": EvaluationRun.objects.count(),
        "reports": Report.objects.count(),
        "webhooks": Webhook.objects.count(),
    }


# What an allowed write of the later rows must change (a key of _snapshot).
EFFECT = {
    **dict.fromkeys(
        ["submit", "approve", "reject", "deploy", "request production", "retire"], "versions"
    ),
    "request tier change": "workflow",
    "approve tier change": "workflow",
    "create policy": "policies",
    "patch policy": "policies",
    "request exception": "exceptions",
    "approve exception": "exception approvals",
    "revoke exception": "exceptions",
    "run evaluation": "runs",
    "generate report": "reports",
    "save webhook": "webhooks",
}


def _denials():
    return list(
        AuditEvent.objects.filter(event_type=EventType.ACCESS_DENIED)
        .order_by("seq")
        .values_list("user_id", "action", "details")
    )


def _result_ids(body) -> set[int]:
    results = body["results"] if isinstance(body, dict) else body
    return {item["id"] for item in results}


CASES = [
    (action, persona)
    for action in MATRIX
    for persona in PERSONAS
    if MATRIX[action][PERSONAS.index(persona)] != NA
]


def test_matrix_covers_every_persona_and_every_access_rule():
    assert all(len(row) == len(PERSONAS) for row in MATRIX.values())
    assert set(ACTION_OF) <= set(MATRIX)
    # A refused cell must name the rule whose ACCESS_DENIED event it expects.
    refusing = {action for action, row in MATRIX.items() if set(row) & set(REFUSAL_DETAIL)}
    assert refusing <= set(ACTION_OF)
    # Every rule in the access table has a row: a new Action needs one here.
    missing = sorted(set(RULES) - set(ACTION_OF.values()))
    assert missing == [], f"actions in core.access.RULES with no row in MATRIX: {missing}"
    # Every writing row says what an allowed call changes (the registry rows check it inline).
    registry_writes = {"register model", "patch model", "create version", "patch version"}
    registry_writes |= {"add artifact", "patch artifact", "record scan"}
    writes = {row for row, action in ACTION_OF.items() if RULES[action].writes}
    # (EFFECT also has "generate report": not a write to the rules, so auditors may, yet it
    # adds a report row.)
    assert writes - registry_writes <= set(EFFECT)


@pytest.mark.parametrize(("action", "persona"), CASES, ids=[f"{a}|{p}" for a, p in CASES])
def test_permission_matrix(api, world, action, persona):
    expected = MATRIX[action][PERSONAS.index(persona)]
    target = world.target_of(persona)
    made = PREPARE[action](world, target) if action in PREPARE else {}
    before, denials_before = _snapshot(), _denials()

    response = _request(_client(api, world, persona), action, world, persona, made)

    status = int(expected.split()[0])
    assert response.status_code == status, (expected, response.content[:500])
    is_json = isinstance(response, DomainAnswer) or (
        not response.streaming and response.get("Content-Type", "").startswith("application/json")
    )
    body = response.json() if is_json else {}
    after, new_denials = _snapshot(), _denials()[len(denials_before) :]

    if expected in REFUSAL_DETAIL:
        assert REFUSAL_DETAIL[expected] in body["detail"], body
        username = world.people[persona].username
        code = DENIED_CODE.get((action, persona), ACTION_OF[action])
        assert [(u, a) for u, a, _ in new_denials] == [(username, code)]
        assert new_denials[0][2]["status"] == 403
        assert new_denials[0][2]["reason"] == body["detail"]
    if status >= 400:
        assert after == before, f"a refused {action} changed the registry"
        if expected not in REFUSAL_DETAIL:
            assert new_denials == [] or status == 404
        assert "detail" in body
        return

    # Allowed: the answer is about the target (or the list shows it, or hides it).
    if expected == SEEN:
        ids = _result_ids(body)
        wanted = {
            "list models": target.model.pk,
            "list versions": target.version.pk,
        }[action]
        assert wanted in ids
    elif expected == MISS:
        wanted = {"list models": target.model.pk, "list versions": target.version.pk}[action]
        assert wanted not in _result_ids(body)
    elif action in {"get model", "patch model"}:
        assert body["id"] == target.model.pk
    elif action in {"get version", "patch version"}:
        assert body["id"] == target.version.pk
    elif action in {"get artifact", "patch artifact", "record scan"}:
        assert body["id"] == target.artifact.pk
    elif action in {"list model versions"}:
        assert _result_ids(body) == {target.version.pk}
    elif action == "list artifacts":
        assert _result_ids(body) == {target.artifact.pk}
    elif action == "list audit events":
        assert world.event.pk in _result_ids(body)
    elif action == "get audit event":
        assert body["id"] == world.event.pk
    elif action == "verify audit chain":
        assert body["valid"] is True
    elif action == "me":
        user = world.people[persona]
        assert body == {
            "username": user.username,
            "email": user.email,
            "roles": sorted(ROLES_OF[persona]),
        }
    elif action == "obtain token":
        assert len(body["token"]) == 40

    # Reads change nothing; writes change exactly what they say.
    if action.startswith(("list", "get", "verify", "me", "obtain")):
        assert after["models"] == before["models"]
        assert after["versions"] == before["versions"]
        assert after["artifacts"] == before["artifacts"]
    elif action == "register model":
        created = RegisteredModel.objects.get(name="new-model")
        assert created.owner == world.people[persona]
        assert body["owner"] == world.people[persona].username
    elif action == "patch model":
        target.model.refresh_from_db()
        assert target.model.description == "changed"
    elif action == "create version":
        assert target.model.versions.filter(version="9.9.9").exists()
    elif action == "patch version":
        target.version.refresh_from_db()
        assert target.version.documentation == "changed"
    elif action == "add artifact":
        assert target.version.artifacts.filter(name="w.onnx").exists()
    elif action == "patch artifact":
        target.artifact.refresh_from_db()
        assert target.artifact.name == "renamed.onnx"
    elif action == "record scan":
        target.artifact.refresh_from_db()
        assert target.artifact.scan_status == "FAILED"
        assert target.artifact.scan_source in ("SCANNER", "SECURITY_ARCHITECT")
    elif action == "download artifact":
        assert b"".join(response.streaming_content) == HELD_BYTES
        assert after == before
    elif action in EFFECT:
        changed = {key for key in after if after[key] != before[key]}
        assert EFFECT[action] in changed, f"an allowed {action} left {EFFECT[action]} as it was"
    else:  # the remaining rows read
        assert after == before, f"{action} only reads, yet it changed the registry"
    assert new_denials == []


def test_auditor_who_owns_a_model_still_reads_it_but_never_writes(api, world):
    """The two-role persona, spelled out: the owner permission is present and still refused."""
    user = world.people["aud+own"]
    model = world.targets["aud+own"].model
    assert user.has_perm("registry.change_registeredmodel", model)
    response = api(user).patch(f"/api/v1/models/{model.pk}/", {"tags": {"a": "b"}}, format="json")
    assert response.status_code == 403
    assert "auditors never write" in response.json()["detail"]
    model.refresh_from_db()
    assert model.tags == {}


def test_no_persona_is_a_superuser(world):
    # A superuser would bypass the object permissions the matrix is about.
    assert not get_user_model().objects.filter(is_superuser=True).exists()
