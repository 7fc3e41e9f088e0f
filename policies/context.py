"""The names a policy condition sees, built for a version in a constant number of queries."""

from __future__ import annotations

from registry.models import Artifact, ModelVersion

MODEL_ARTIFACT_TYPE = "model"


def artifact_document(artifact: Artifact) -> dict:
    return {
        "name": artifact.name,
        "type": artifact.type,
        "uri": artifact.uri,
        "sha256": artifact.sha256,
        "securityScan": {
            "status": artifact.scan_status,
            "scanner": artifact.scan_scanner or None,
            "findings": artifact.scan_findings,
            "scannedAt": artifact.scanned_at.isoformat() if artifact.scanned_at else None,
        },
    }


def build_context(
    version: ModelVersion,
    *,
    environment: str,
    artifacts: list[Artifact],
    evaluations: dict[str, dict],
) -> dict:
    """`model`, `version`, `artifact`, `artifacts`, `evaluations`, `environment` as the contract
    names them. `artifact` is the version's artifact of type `model`, else its first, and is
    left out when the version has none (a rule using it then fails saying so)."""
    model = version.model
    documents = [artifact_document(a) for a in artifacts]
    context = {
        "model": {
            "name": model.name,
            "riskTier": model.risk_tier,
            "owner": model.owner.username,
            "tags": dict(model.tags or {}),
        },
        "version": {
            "version": version.version,
            "state": version.state,
            "tags": dict(version.tags or {}),
            "documentation": version.documentation,
        },
        "artifacts": documents,
        "evaluations": evaluations,
        "environment": environment,
    }
    primary = next(
        (doc for doc in documents if doc["type"] == MODEL_ARTIFACT_TYPE),
        documents[0] if documents else None,
    )
    if primary is not None:
        context["artifact"] = primary
    return context
