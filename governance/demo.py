"""Demo data: one user per role and a handful of models at every tier, built through the
services so that the audit trail and history are real. Safe to run again."""

from __future__ import annotations

import hashlib
from pathlib import Path

from django.conf import settings

from core.choices import Role
from evaluations.demo import run_demo_evaluations
from governance import promotion, tier_changes
from governance.choices import REVIEW_CHECKLISTS
from governance.users import create_or_update_user
from policies.demo import seed_monitoring_demo
from policies.documents import validate_document
from policies.management.commands.load_policies import read_documents
from policies.services import load_documents
from registry import services
from registry.choices import ScanStatus
from registry.models import RegisteredModel

DEFAULT_POLICY_PACK = Path(settings.BASE_DIR) / "policies" / "packs" / "default.yaml"

DEMO_PASSWORD = "demo-pass-2026"

DEMO_USERS: list[tuple[str, list[str]]] = [
    ("owner", [Role.MODEL_OWNER]),
    ("owner2", [Role.MODEL_OWNER]),
    ("mrc", [Role.MRC]),
    ("mrc2", [Role.MRC]),
    ("security", [Role.SECURITY_ARCHITECT]),
    ("sre", [Role.SRE]),
    ("auditor", [Role.AUDITOR]),
    ("executive", [Role.EXECUTIVE]),
]


def _assessment(level_by_factor: dict[str, str]) -> dict[str, str]:
    base = {
        "businessImpact": "LOW",
        "customerExposure": "LOW",
        "financialImpact": "LOW",
        "regulatoryScope": "LOW",
        "dataSensitivity": "LOW",
        "automationLevel": "LOW",
    }
    return base | level_by_factor


DEMO_MODELS = [
    {
        "owner": "owner",
        "name": "fraud-detector",
        "description": "Scores card transactions for fraud in real time.",
        "assessment": _assessment(
            {"businessImpact": "HIGH", "financialImpact": "HIGH", "automationLevel": "HIGH"}
        ),
        "tags": {"team": "payments-risk", "domain": "fraud"},
        "versions": [("1.0.0", ScanStatus.PASSED), ("1.1.0", ScanStatus.PENDING)],
    },
    {
        "owner": "owner2",
        "name": "credit-scoring",
        "description": "Probability of default for retail loan applications.",
        "assessment": _assessment(
            {"regulatoryScope": "HIGH", "dataSensitivity": "HIGH", "customerExposure": "HIGH"}
        ),
        "tags": {"team": "lending", "regulation": "ECOA"},
        "versions": [("2.3.0", ScanStatus.PASSED)],
    },
    {
        "owner": "owner",
        "name": "product-recommender",
        "description": "Ranks products on the home page for signed-in customers.",
        "assessment": _assessment({"customerExposure": "MEDIUM", "businessImpact": "MEDIUM"}),
        "tags": {"team": "growth"},
        "versions": [("0.9.0", ScanStatus.FAILED), ("1.0.0", ScanStatus.PASSED)],
    },
    {
        "owner": "owner2",
        "name": "churn-predictor",
        "description": "Flags customers likely to leave within 90 days.",
        "assessment": _assessment({"dataSensitivity": "MEDIUM", "automationLevel": "MEDIUM"}),
        "tags": {"team": "retention"},
        "versions": [("3.1.0", ScanStatus.PASSED)],
    },
    {
        "owner": "owner",
        "name": "ticket-router",
        "description": "Routes internal IT support tickets to the right queue.",
        "assessment": _assessment({}),
        "tags": {"team": "it-ops"},
        "versions": [("0.2.0", ScanStatus.PASSED)],
    },
    {
        "owner": "owner2",
        "name": "capacity-forecast",
        "description": "Forecasts data-centre capacity for internal planning.",
        "assessment": _assessment({}),
        "tags": {"team": "infra"},
        "versions": [("1.0.0", ScanStatus.PASSED)],
    },
]

DOCUMENTATION = {
    "intendedUse": "Decision support as described in the model's description.",
    "trainingData": "Twelve months of production data, de-identified.",
    "evaluation": "Hold-out set of the most recent month; see evaluation runs.",
    "limitations": "Not validated outside the markets it was trained on.",
    "monitoring": "Weekly drift report; alert on 5 point accuracy drop.",
}


# What happens to each demo version after it is created, so every page has real data:
# (model, version) -> steps of (actor, action, comments).
WORKFLOW = {
    ("fraud-detector", "1.0.0"): [
        ("owner", "submit", "First production candidate."),
        ("mrc", "approve", "Validation report reviewed; risk appropriately assessed."),
        ("security", "approve", "Artifact scan clean; access controls in place."),
        ("sre", "deploy", ""),
        ("owner", "request-production", "Shadow run in staging met targets."),
        ("mrc", "approve", "Staging results reviewed."),
        ("security", "approve", "Production access reviewed."),
        ("sre", "deploy", ""),
    ],
    ("fraud-detector", "1.1.0"): [("owner", "submit", "Retrained on October data.")],
    ("product-recommender", "0.9.0"): [("owner", "submit", "Beta ranking model.")],
    ("product-recommender", "1.0.0"): [("owner", "submit", "Fixed base image.")],
    ("credit-scoring", "2.3.0"): [
        ("owner2", "submit", "Annual recalibration."),
        ("mrc", "approve", "Recalibration within tolerance."),
    ],
    ("churn-predictor", "3.1.0"): [
        ("owner2", "submit", "New features from the CRM."),
        ("mrc", "reject", "Business justification missing for the new features."),
        ("owner2", "submit", "Justification added to the documentation."),
        ("mrc2", "approve", "Justification is clear now."),
        ("sre", "deploy", ""),
    ],
    ("ticket-router", "0.2.0"): [
        ("owner", "submit", "Routing rules learned from 2025 tickets."),
        ("sre", "deploy", ""),
        ("owner", "request-production", ""),
        ("sre", "deploy", ""),
    ],
}


# Each demo version's evaluation data: (seed, skill, bias). A high skill passes the tier's
# performance thresholds; a bias of 0.9 fails the fairness thresholds.
EVALUATION_DATA = {
    ("fraud-detector", "1.0.0"): (11, 4.2, 0.0),
    ("fraud-detector", "1.1.0"): (12, 4.2, 0.0),
    ("credit-scoring", "2.3.0"): (21, 4.4, 0.0),
    ("product-recommender", "0.9.0"): (31, 3.4, 0.9),
    ("product-recommender", "1.0.0"): (32, 3.6, 0.0),
    ("churn-predictor", "3.1.0"): (41, 3.6, 0.0),
    ("ticket-router", "0.2.0"): (51, 3.4, 0.0),
}


def _run_workflow(version, users) -> None:
    data = EVALUATION_DATA.get((version.model.name, version.version))
    if data is not None:
        seed, skill, bias = data
        run_demo_evaluations(version, actor=version.model.owner, seed=seed, skill=skill, bias=bias)
    for actor, action, comments in WORKFLOW.get((version.model.name, version.version), []):
        version.refresh_from_db()
        service = promotion.ACTIONS[action]
        extra = _ticked_checklist(version, users[actor]) if action == "approve" else {}
        result = service(version, actor=users[actor], comments=comments, **extra)
        version = result.version


def _ticked_checklist(version, reviewer) -> dict:
    """The demo reviewers approve with every item of their role's checklist ticked (an
    approval without it is refused)."""
    role = promotion.review_role(version, reviewer)
    if role is None:
        return {}  # not theirs to approve: the action's own refusal says why
    checklist = REVIEW_CHECKLISTS[role]
    return {checklist.attribute: dict.fromkeys(checklist.items, True)}


def load_default_policies() -> None:
    load_documents([validate_document(d) for d in read_documents(DEFAULT_POLICY_PACK)])


def seed_demo(stdout=None) -> dict[str, object]:
    load_default_policies()
    users = {}
    for username, roles in DEMO_USERS:
        users[username], _ = create_or_update_user(
            username, password=DEMO_PASSWORD, email=f"{username}@example.com", roles=roles
        )
    created = 0
    for spec in DEMO_MODELS:
        if RegisteredModel.objects.filter(name=spec["name"]).exists():
            continue
        owner = users[spec["owner"]]
        model = services.register_model(
            actor=owner,
            name=spec["name"],
            description=spec["description"],
            risk_assessment=spec["assessment"],
            tags=spec["tags"],
        )
        for number, scan in spec["versions"]:
            version = services.create_version(
                model,
                actor=owner,
                version=number,
                description=f"Release {number} of {spec['name']}.",
                documentation=DOCUMENTATION,
                tags={"release": number},
            )
            digest = hashlib.sha256(f"{spec['name']}:{number}".encode()).hexdigest()
            services.add_artifact(
                version,
                actor=owner,
                name=f"{spec['name']}-{number}.onnx",
                type="model",
                uri=f"s3://models/{spec['name']}/{number}/model.onnx",
                sha256=digest,
                security_scan={"status": scan, "scanner": "trivy 0.58", "findings": []},
            )
            _run_workflow(version, users)
        created += 1
        if spec["name"] == "churn-predictor":
            tier_changes.request_tier_change(
                model,
                actor=owner,
                requested_tier="HIGH",
                justification="The model now drives automated retention offers to customers.",
            )
    seed_monitoring_demo(users)
    return {"users": users, "models_created": created}
