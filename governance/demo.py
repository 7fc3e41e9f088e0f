"""Demo data: one user per role and a handful of models at every tier, built through the
services so that the audit trail and history are real. Safe to run again."""

from __future__ import annotations

import hashlib
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from core.choices import Role
from evaluations.demo import run_model_evaluations
from evaluations.monitoring_demo import seed_monitoring_traffic
from governance import demo_models, promotion, tier_changes
from governance.choices import REVIEW_CHECKLISTS
from governance.demo_models import DemoModel
from governance.users import create_or_update_user
from policies.demo import seed_monitoring_demo
from policies.documents import validate_document
from policies.management.commands.load_policies import read_documents
from policies.services import load_documents
from registry import artifacts, scan_jobs, services
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
    ("scanner", [Role.SCANNER]),
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


# Each model's versions: (number, the bank pipeline's scan result of its REFERENCE_ARTIFACTS).
DEMO_MODELS = [
    {
        "owner": "owner",
        "name": "fraud-detector",
        "description": "Scores card transactions for fraud in real time.",
        "assessment": _assessment(
            {"businessImpact": "HIGH", "financialImpact": "HIGH", "automationLevel": "HIGH"}
        ),
        "tags": {"team": "payments-risk", "domain": "fraud"},
        "versions": [("1.0.0", ScanStatus.PASSED), ("1.1.0", ScanStatus.PASSED)],
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


# The artifacts the registry does not hold, by version: (name, type, uri, findings), scanned by
# the bank's pipeline (the scan status of the version in DEMO_MODELS): serving images, and a
# forecasting model kept in the bank's object store. The versions with a model in
# governance/demo_models.py also hold it as an uploaded ONNX file, scanned by the registry.
REFERENCE_ARTIFACTS: dict[tuple[str, str], list[tuple[str, str, str, list[dict]]]] = {
    ("product-recommender", "0.9.0"): [
        (
            "product-recommender-0.9.0 image",
            "container",
            "registry.bank.example/growth/product-recommender@0.9.0",
            [{"id": "CVE-2026-1187", "severity": "HIGH", "package": "openssl"}],
        )
    ],
    ("product-recommender", "1.0.0"): [
        (
            "product-recommender-1.0.0 image",
            "container",
            "registry.bank.example/growth/product-recommender@1.0.0",
            [],
        )
    ],
    ("churn-predictor", "3.1.0"): [
        (
            "churn-predictor serving image",
            "container",
            "registry.bank.example/retention/churn-serving@3.1.0",
            [],
        )
    ],
    ("capacity-forecast", "1.0.0"): [
        (
            "capacity-forecast-1.0.0 model",
            "model",
            "s3://models/capacity-forecast/1.0.0/model.onnx",
            [],
        ),
        (
            "capacity-history-2025",
            "dataset",
            "s3://datasets/infra/capacity-history-2025.parquet",
            [],
        ),
    ],
}
# The version that also carries a pickled legacy weights file which runs a shell command when
# loaded: the registry's scanner fails it (CRITICAL) and the security policy returns it.
MALICIOUS_PICKLE_VERSION = ("fraud-detector", "1.1.0")

# The demo versions evaluated before their workflow runs, each with its runs' random seed (the
# attacks', resamples' and samples'). The registry runs their trained models itself
# (governance/demo_models.py).
EVALUATION_SEEDS = {
    ("fraud-detector", "1.0.0"): 11,
    ("fraud-detector", "1.1.0"): 12,
    ("credit-scoring", "2.3.0"): 21,
    ("product-recommender", "0.9.0"): 31,
    ("product-recommender", "1.0.0"): 32,
    ("churn-predictor", "3.1.0"): 41,
    ("ticket-router", "0.2.0"): 51,
}


def _add_artifacts(version, *, owner, scanner, scan: str) -> DemoModel | None:
    """The version's artifacts: its trained ONNX model uploaded and scanned by the registry
    (plus the malicious pickle, for the version that carries one), and the references the
    bank's pipeline scans. Returns the trained model, if the version has one."""
    key = (version.model.name, version.version)
    built = None
    if demo_models.has_model(*key):
        built = demo_models.build(*key)
        _upload(version, owner, f"{key[0]}-{key[1]}.onnx", built.onnx)
    if key == MALICIOUS_PICKLE_VERSION:
        _upload(version, owner, demo_models.MALICIOUS_PICKLE_NAME, demo_models.malicious_pickle())
    for name, type_, uri, findings in REFERENCE_ARTIFACTS.get(key, ()):
        artifact = artifacts.add_artifact(
            version,
            actor=owner,
            name=name,
            type=type_,
            uri=uri,
            sha256=hashlib.sha256(uri.encode()).hexdigest(),
        )
        # A reference: the bank's scanning pipeline reports its scan of those bytes.
        artifacts.update_artifact(
            artifact,
            actor=scanner,
            security_scan={"status": scan, "scanner": "trivy 0.58", "findings": findings},
        )
    return built


def _upload(version, owner, name: str, content: bytes) -> None:
    artifact = artifacts.add_artifact(
        version,
        actor=owner,
        name=name,
        type="model",
        upload=SimpleUploadedFile(name, content, "application/octet-stream"),
    )
    # The worker may not run yet while the demo is seeded: scan now, as it would. The scan it
    # was queued records the same result again when it runs.
    scan_jobs.scan_artifact(artifact.pk)


def _run_workflow(version, users, built: DemoModel | None = None) -> None:
    seed = EVALUATION_SEEDS.get((version.model.name, version.version))
    if seed is not None and built is not None:
        run_model_evaluations(version, actor=version.model.owner, model=built, seed=seed)
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
            built = _add_artifacts(version, owner=owner, scanner=users["scanner"], scan=scan)
            _run_workflow(version, users, built)
        created += 1
        if spec["name"] == "churn-predictor":
            tier_changes.request_tier_change(
                model,
                actor=owner,
                requested_tier="HIGH",
                justification="The model now drives automated retention offers to customers.",
            )
    # A week of production traffic for each PRODUCTION version (monitoring windows), before the
    # policy story below, whose fairness violation is to be the newest.
    seed_monitoring_traffic()
    seed_monitoring_demo(users)
    return {"users": users, "models_created": created}
