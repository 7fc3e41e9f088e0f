"""The names a policy condition sees, built for a version in a constant number of queries."""

from __future__ import annotations

from evaluations.monitoring.selectors import monitoring_contexts_for
from registry.models import Artifact, ModelVersion

MODEL_ARTIFACT_TYPE = "model"
# build_context's default for `monitoring`: read the version's own (one or two queries).
FETCH = object()


# The artifact fields a condition sees, for reading them as plain rows (impact, sweeps).
ARTIFACT_VALUES = (
    "version_id",
    "name",
    "type",
    "uri",
    "sha256",
    "scan_status",
    "scan_scanner",
    "scan_findings",
    "scanned_at",
    "scan_source",
    "held",
    "format",
    "signature",
)
VERSION_VALUES = (
    "pk",
    "version",
    "state",
    "tags",
    "documentation",
    "model_id",
    "model__name",
    "model__risk_tier",
    "model__tags",
    "model__owner__username",
)


def artifact_document(artifact: Artifact | dict) -> dict:
    """An artifact as conditions see it, from a model instance or an ARTIFACT_VALUES row."""
    row = (
        artifact
        if isinstance(artifact, dict)
        else {f: getattr(artifact, f) for f in ARTIFACT_VALUES}
    )
    return {
        "name": row["name"],
        "type": row["type"],
        "uri": row["uri"],
        "sha256": row["sha256"],
        "held": row["held"],
        "executable": bool(row["held"] and row["format"] == "onnx" and row["signature"]),
        "securityScan": {
            "status": row["scan_status"],
            "scanner": row["scan_scanner"] or None,
            "findings": row["scan_findings"],
            "scannedAt": row["scanned_at"].isoformat() if row["scanned_at"] else None,
            "source": row["scan_source"] or None,
        },
    }


def documentation_document(documentation: str | dict) -> str | dict:
    """`version.documentation` as conditions see it: the model card's sections with the blank
    ones left out (a section written as whitespace is a missing one, so `has()` means written),
    or the text as stored when the documentation was written as Markdown. A text has no
    sections: the default pack checks `type(version.documentation) == map` before reading one,
    and the gate fails any rule that reads a section of a text with the rule's own message."""
    if isinstance(documentation, dict):
        return {
            key: text
            for key, text in documentation.items()
            if not (isinstance(text, str) and not text.strip())
        }
    return documentation


def version_row(version: ModelVersion) -> dict:
    """A version as a VERSION_VALUES row (what `values(*VERSION_VALUES)` gives)."""
    model = version.model
    return {
        "pk": version.pk,
        "version": version.version,
        "state": version.state,
        "tags": version.tags,
        "documentation": version.documentation,
        "model_id": model.pk,
        "model__name": model.name,
        "model__risk_tier": model.risk_tier,
        "model__tags": model.tags,
        "model__owner__username": model.owner.username,
    }


def build_context(
    version: ModelVersion | dict,
    *,
    environment: str,
    artifacts: list[Artifact] | list[dict],
    evaluations: dict[str, dict],
    monitoring: dict | object | None = FETCH,
) -> dict:
    """`model`, `version`, `artifact`, `artifacts`, `evaluations`, `environment` as the contract
    names them, from a version (or its VERSION_VALUES row) and its artifacts (or their rows).
    `artifact` is the version's artifact of type `model`, else its first, and is left out when
    the version has none (a rule using it then fails saying so).

    `monitoring` (the latest monitoring window's `metrics`, `rows` and `daysSinceLastBatch`,
    evaluations.monitoring.selectors.monitoring_contexts_for) is read for the version unless
    the caller gives it (a sweep reads every version's at once); it is left out when the
    version has received no monitoring batch (None), so a rule reading it fails saying so."""
    row = version if isinstance(version, dict) else version_row(version)
    if monitoring is FETCH:
        monitoring = monitoring_contexts_for([row["pk"]]).get(row["pk"])
    documents = [artifact_document(a) for a in artifacts]
    context = {
        "model": {
            "name": row["model__name"],
            "riskTier": row["model__risk_tier"],
            "owner": row["model__owner__username"],
            "tags": dict(row["model__tags"] or {}),
        },
        "version": {
            "version": row["version"],
            "state": row["state"],
            "tags": dict(row["tags"] or {}),
            "documentation": documentation_document(row["documentation"]),
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
    if monitoring is not None:
        context["monitoring"] = monitoring
    return context
