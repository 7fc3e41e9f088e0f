"""A version's evidence bundle: one zip a regulator can take away and check.

The zip holds `manifest.json` (the SHA-256 of every other file, who exported it and when, and
the audit chain's head at that moment), `audit-checkpoint.json` (a checkpoint of that head
signed at that moment with the registry's Ed25519 key, and the public key), a PDF summary, the
documentation, the review decisions, the state transitions, the risk tier changes of the model,
the evaluation runs, the policy evidence (each evaluation with the exact policy revision that
judged it) and the audit trail excerpt as JSON lines, each event with its place in the hash
chain.

The export itself is an audit event (AUDIT_ACCESS / EXPORT_EVIDENCE) written after the bundle
is built; it names the SHA-256 of the manifest and of the zip file itself, so the chain vouches
for every byte of the bundle (the manifest alone vouches for every file in it).
`verify_evidence_bundle` (audit/evidence_verify.py) checks a bundle file, offline too: the
checkpoint's signature (against the registry's public key given with --public-key) vouches for
the head the excerpt ends at, without trusting the database it came from.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db.models import Prefetch, Q
from django.utils import timezone
from django.utils.text import slugify

from audit.choices import EventType
from audit.models import AuditCheckpoint, AuditEvent, CheckpointTrigger, canonical_timestamp
from audit.reports.pdf import generator_version, render_pdf
from audit.services import (
    ChainBroken,
    actor_name,
    checkpoint_bundle,
    make_checkpoint,
    record_event,
)
from core.access import authorize
from core.choices import Action
from core.domain import domain_action
from evaluations.charts import run_charts
from evaluations.metrics import SUITES
from evaluations.models import EvaluationRun
from evaluations.selectors import latest_finished
from evaluations.shapes import EvaluationRunOutput
from governance.choices import Decision
from governance.models import RiskTierChangeRequest
from governance.shapes import ApprovalOutput, TierChangeOutput, TransitionOutput
from policies.documents import to_document
from policies.models import ExceptionApproval, Policy, PolicyEvaluation, PolicyException, Violation
from policies.selectors import latest_evaluations
from policies.shapes import ExceptionOutput, PolicyEvaluationOutput, ViolationOutput
from registry.models import Artifact, ModelVersion
from registry.shapes import ModelOutput, VersionRecordOutput

EXPORT_ACTION = "EXPORT_EVIDENCE"
# 1: the first format (no signature); 2: with audit-checkpoint.json; 3: every document in the
# API's own shape (registry/shapes.py and its siblings), docs/evidence-bundle.md.
BUNDLE_FORMAT = "model-registry-evidence-bundle/3"
LEGACY_FORMAT = "model-registry-evidence-bundle/1"
MANIFEST = "manifest.json"
SUMMARY = "summary.pdf"
AUDIT_EXCERPT = "audit-trail.jsonl"
CHECKPOINT_FILE = "audit-checkpoint.json"
POLICY_EVALUATIONS = "policy-evidence/evaluations.json"
POLICY_DIR = "policy-evidence/policies/"
EVALUATION_CHARTS_DIR = "evaluation-charts/"
EXCERPT_CHUNK = 2000

README = """Evidence bundle of {model} {version} (model id {model_id}, version id {version_id})
Exported by {exported_by} at {exported_at} from the model registry.

manifest.json           SHA-256 of every other file; who exported the bundle and when; the
                        audit chain's head (sequence number and hash) at that moment.
audit-checkpoint.json   That head, signed by the registry (Ed25519) when the bundle was made,
                        with the public key; the excerpt's last events lead up to it.
summary.pdf             A readable summary of everything below.
version.json            The version, its model and its artifacts (with their SHA-256 and scans).
documentation.*         The version's documentation exactly as stored (.md text or .json card).
approvals.json          Every review decision: stage, environment, cycle, decision, reviewer,
                        role, comments and the MRC checklist.
transitions.json        Every state change, oldest first (user "system" for automatic steps).
risk-tier-changes.json  The model's risk tier change requests and their decisions.
evaluations.json        The version's evaluation runs: metrics, thresholds, dataset digests,
                        and how each metric was measured (method, sample, seed, library).
evaluation-charts/      The charts of the latest finished run of each suite (SVG), as the run
                        page draws them: run-<id>-<n>-<title>.svg.
exceptions.json         Policy exceptions concerning the version (when the registry records them).
policy-evidence/        evaluations.json: every policy evaluation of the version with its rule
                        results; policies/<policyId>@<revision>.json: the exact policy document
                        of each revision that judged it; violations.json: what continuous
                        monitoring found on the version.
audit-trail.jsonl       The audit events of the version (and the model's own events), one JSON
                        object a line, with seq, prevHash and hash: each hash is
                        SHA-256(prevHash + "\\n" + canonical JSON of the event), so the lines can be
                        checked against the registry's chain.

To check the bundle: python manage.py verify_evidence_bundle THIS_FILE.zip
(with the registry's database at hand it also checks the excerpt against the stored chain and
that this export was recorded; --offline checks the files, the excerpt's own hashes and the
checkpoint's signature only). Give --public-key FILE, the registry's public key as you received
it from the registry (`manage.py audit_signing_key` prints it), to check that the checkpoint
was signed by the registry and not by whoever handed you the bundle.
"""


def _json_bytes(document) -> bytes:
    return (
        json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n"
    ).encode()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _iso(value: datetime | None) -> str | None:
    return canonical_timestamp(value) if value else None


def _username(user) -> str | None:
    return user.get_username() if user is not None else None


@dataclass(frozen=True)
class EvidenceBundle:
    content: bytes
    filename: str
    manifest: dict
    manifest_sha256: str
    sha256: str
    event: AuditEvent


# --------------------------------------------------------------------------------------------
# The documents
# --------------------------------------------------------------------------------------------


# Each document is the object's published shape (the serializers the API answers with), so a
# bundle and the API never disagree on a name or a timestamp's form; a bundle adds only what
# the record needs beyond the API (named in each function).


def version_document(version: ModelVersion) -> dict:
    """The model and the version (with its artifacts), as the API shows them; the version also
    names who submitted it, who asked for production and its review cycle."""
    return {
        "model": ModelOutput(version.model).data,
        "version": VersionRecordOutput(version).data,
    }


def approval_documents(approvals) -> list[dict]:
    return ApprovalOutput(approvals, many=True).data


def transition_documents(transitions) -> list[dict]:
    return TransitionOutput(transitions, many=True).data


def tier_change_documents(requests) -> list[dict]:
    return TierChangeOutput(requests, many=True).data


def evaluation_runs(version: ModelVersion) -> list[dict]:
    """The version's evaluation runs, oldest first, each as GET /evaluations/{id}/ shows it."""
    runs = (
        EvaluationRun.objects.filter(version=version)
        .select_related("requested_by", "version")
        .order_by("created_at", "id")
    )
    return EvaluationRunOutput(runs, many=True).data


def evaluation_charts(version: ModelVersion) -> list[dict]:
    """The charts of the version's latest finished run of each suite, drawn by the run page's
    own chart code: `{"runId", "suite", "title", "file", "svg"}`, suites in catalogue order."""
    runs = latest_finished(version.evaluation_runs.all()).order_by("suite")
    charts = []
    for run in sorted(runs, key=lambda r: SUITES.index(r.suite) if r.suite in SUITES else 99):
        for index, (title, svg) in enumerate(run_charts(run), start=1):
            charts.append(
                {
                    "runId": run.pk,
                    "suite": run.suite,
                    "title": title,
                    "file": f"{EVALUATION_CHARTS_DIR}run-{run.pk}-{index:02d}-{slugify(title)}.svg",
                    "svg": svg,
                }
            )
    return charts


def exception_documents(version: ModelVersion) -> list[dict]:
    """Policy exceptions concerning the version, with their approvals."""
    exceptions = (
        PolicyException.objects.filter(version=version)
        .select_related("policy", "requested_by", "ended_by", "version__model")
        .prefetch_related(
            Prefetch("approvals", ExceptionApproval.objects.select_related("user").order_by("pk"))
        )
        .order_by("pk")
    )
    return ExceptionOutput(exceptions, many=True).data


def violation_documents(version: ModelVersion) -> list[dict]:
    """Violations continuous monitoring found on the version."""
    violations = (
        Violation.objects.filter(version=version).select_related("policy", "version").order_by("pk")
    )
    return ViolationOutput(violations, many=True).data


def policy_evidence(version: ModelVersion) -> tuple[list[dict], dict[str, bytes]]:
    """Every evaluation of the version and the policy documents of the revisions that judged."""
    evaluations = list(
        PolicyEvaluation.objects.filter(version=version)
        .select_related("policy")
        .order_by("evaluated_at", "id")
    )
    latest_ids = {e.pk for e in latest_evaluations(version)}
    revision_ids = {e.policy_revision for e in evaluations if e.policy_revision is not None}
    revisions = {
        record.history_id: record
        for record in Policy.history.filter(history_id__in=revision_ids).select_related(
            "history_user"
        )
    }
    files: dict[str, bytes] = {}
    documents = []
    for evaluation in evaluations:
        record = revisions.get(evaluation.policy_revision)
        policy_file = None
        if record is not None:
            policy_file = f"{POLICY_DIR}{evaluation.policy.policy_id}@{record.history_id}.json"
            if policy_file not in files:
                files[policy_file] = _json_bytes(
                    {
                        "policyId": record.policy_id,
                        "revision": record.history_id,
                        "revisionDate": _iso(record.history_date),
                        "revisionBy": _username(record.history_user),
                        "changeType": {"+": "created", "~": "changed", "-": "deleted"}.get(
                            record.history_type, record.history_type
                        ),
                        "document": to_document(record),
                    }
                )
        documents.append(
            {
                **PolicyEvaluationOutput(evaluation).data,
                # Beyond the API: the file of the revision that judged, whether it blocked,
                # and whether it is the latest evaluation of its policy and environment.
                "policyDocument": policy_file,
                "blocks": evaluation.blocks,
                "latest": evaluation.pk in latest_ids,
            }
        )
    return documents, files


def excerpt_queryset(version: ModelVersion, head_seq: int):
    """The version's events and the model's own (version-less) events, up to the head."""
    return AuditEvent.objects.filter(
        Q(version_id=version.pk) | Q(model_id=version.model_id, version_id__isnull=True),
        seq__lte=head_seq,
    ).order_by("seq")


def audit_excerpt(version: ModelVersion, head_seq: int) -> tuple[bytes, dict]:
    buffer = io.StringIO()
    by_type: dict[str, Counter] = {}
    count, first, last = 0, None, None
    for event in excerpt_queryset(version, head_seq).iterator(chunk_size=EXCERPT_CHUNK):
        buffer.write(json.dumps(event.document(), sort_keys=True) + "\n")
        by_type.setdefault(event.event_type, Counter())[event.action] += 1
        count += 1
        first = first or event
        last = event
    summary = {
        "count": count,
        "first_seq": first.seq if first else None,
        "last_seq": last.seq if last else None,
        "first_at": first.timestamp.strftime("%Y-%m-%d %H:%M UTC") if first else None,
        "last_at": last.timestamp.strftime("%Y-%m-%d %H:%M UTC") if last else None,
        "by_type": [
            (event_type, sum(actions.values()), sorted(actions))
            for event_type, actions in sorted(by_type.items())
        ],
    }
    return buffer.getvalue().encode(), summary


# --------------------------------------------------------------------------------------------
# Building and exporting
# --------------------------------------------------------------------------------------------


@domain_action(Action.EXPORT_EVIDENCE)
def authorize_export(version: ModelVersion, *, actor) -> None:
    authorize(actor, Action.EXPORT_EVIDENCE, model=version.model, version_id=version.pk)


@domain_action(Action.EXPORT_EVIDENCE)
def sign_head_for_export(version: ModelVersion, *, actor) -> AuditCheckpoint:
    """A checkpoint of the head, made now for this bundle. A chain that no longer verifies is
    not signed: the export is refused (409, audited) rather than handed out unvouched."""
    try:
        return make_checkpoint(CheckpointTrigger.EVIDENCE_BUNDLE)
    except ChainBroken as error:
        raise error.about(
            action=EXPORT_ACTION, model_id=version.model_id, version_id=version.pk
        ) from None


def build_files(
    version: ModelVersion, *, exported_by: str, exported_at: datetime, checkpoint: AuditCheckpoint
):
    """The bundle's files (path -> bytes), without the manifest and the summary; and the
    summary's context. The excerpt ends at the head `checkpoint` signs."""
    head_seq, head_hash = checkpoint.seq, checkpoint.head_hash
    artifacts = list(version.artifacts.order_by("created_at", "id"))
    approvals = list(version.approvals.select_related("user").order_by("created_at", "id"))
    transitions = list(version.transitions.select_related("user").order_by("timestamp", "id"))
    tier_changes = list(
        RiskTierChangeRequest.objects.filter(model=version.model)
        .select_related("requested_by")
        .prefetch_related("decisions__user")
        .order_by("created_at", "id")
    )
    evaluations, policy_files = policy_evidence(version)
    runs = evaluation_runs(version)
    exceptions = exception_documents(version)
    violations = violation_documents(version)
    excerpt, audit_summary = audit_excerpt(version, head_seq)

    files: dict[str, bytes] = {
        "README.txt": README.format(
            model=version.model.name,
            version=version.version,
            model_id=version.model_id,
            version_id=version.pk,
            exported_by=exported_by,
            exported_at=_iso(exported_at),
        ).encode(),
        "version.json": _json_bytes(version_document(version)),
    }
    documentation = version.documentation
    if isinstance(documentation, str):
        documentation_file = "documentation.md"
        files[documentation_file] = documentation.encode()
    else:
        documentation_file = "documentation.json"
        files[documentation_file] = _json_bytes(documentation)
    files["approvals.json"] = _json_bytes(approval_documents(approvals))
    files["transitions.json"] = _json_bytes(transition_documents(transitions))
    files["risk-tier-changes.json"] = _json_bytes(tier_change_documents(tier_changes))
    files["evaluations.json"] = _json_bytes(runs)
    charts = evaluation_charts(version)
    for chart in charts:
        files[chart["file"]] = chart["svg"].encode()
    files["exceptions.json"] = _json_bytes(exceptions)
    files[POLICY_EVALUATIONS] = _json_bytes(evaluations)
    files["policy-evidence/violations.json"] = _json_bytes(violations)
    files.update(sorted(policy_files.items()))
    files[AUDIT_EXCERPT] = excerpt
    files[CHECKPOINT_FILE] = _json_bytes(checkpoint_bundle(checkpoint))

    latest = latest_evaluations(version)
    context = {
        "model": version.model,
        "version": version,
        "artifacts": artifacts,
        "approvals": approvals,
        "transitions": transitions,
        "latest_policy": sorted(latest, key=lambda e: (e.policy.policy_id, e.environment)),
        "evaluation_runs": [
            run | {"finishedText": (run.get("finishedAt") or "")[:16].replace("T", " ")}
            for run in runs
        ],
        "evaluation_charts": charts,
        "exceptions": exceptions,
        "violations": violations,
        "documentation_file": documentation_file,
        "documentation_sections": list(documentation) if isinstance(documentation, dict) else [],
        "audit": audit_summary,
        "head_seq": head_seq,
        "exported_at_text": exported_at.strftime("%Y-%m-%d %H:%M:%S UTC"),
        "counts": {
            "approvals": len(approvals),
            "approved": sum(a.decision == Decision.APPROVED for a in approvals),
            "rejected": sum(a.decision == Decision.REJECTED for a in approvals),
            "transitions": len(transitions),
            "policy_evaluations": len(evaluations),
            "policy_failed": sum(not e["passed"] for e in evaluations),
            "audit_events": audit_summary["count"],
        },
        "file_digests": [(name, sha256_hex(data)) for name, data in files.items()],
        "doc": {
            "title": "Evidence bundle",
            "subtitle": f"{version.model.name} {version.version}",
            "reference": f"Version id {version.pk} · exported {exported_at:%Y-%m-%d %H:%M} UTC",
            "generator": generator_version(),
            "facts": [
                ("Model", f"{version.model.name} (id {version.model_id})"),
                ("Version", f"{version.version} (id {version.pk}), state {version.state}"),
                ("Risk tier", version.model.risk_tier),
                ("Owner", version.model.owner.get_username()),
                ("Exported by", exported_by),
                ("Exported at", exported_at.strftime("%Y-%m-%d %H:%M:%S UTC")),
                ("Audit chain head at export", f"event #{head_seq}, {head_hash}"),
                (
                    "Signed checkpoint",
                    f"#{checkpoint.number} of event #{checkpoint.seq}, signed "
                    f"{checkpoint.signed_at:%Y-%m-%d %H:%M:%S} UTC with the Ed25519 key "
                    f"{checkpoint.key_id} ({CHECKPOINT_FILE})",
                ),
                ("Generator", generator_version()),
            ],
            "note": "Every file of the bundle is listed with its SHA-256 in manifest.json. "
            "The export is recorded in the registry's audit trail with the manifest's SHA-256; "
            "the audit chain's head is signed by the registry in audit-checkpoint.json.",
            "toc": [],
        },
    }
    return files, context


def _zip(files: dict[str, bytes], moment: datetime) -> bytes:
    stamp = moment.astimezone(UTC).timetuple()[:6]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)
    return buffer.getvalue()


def export_evidence_bundle(version: ModelVersion, *, actor) -> EvidenceBundle:
    """Build the bundle for `actor` (who must be allowed to export it) and audit the export."""
    authorize_export(version, actor=actor)
    version = (
        ModelVersion.objects.select_related(
            "model__owner", "created_by", "submitted_by", "production_requested_by"
        )
        .prefetch_related(
            Prefetch(
                "artifacts",
                Artifact.objects.select_related("scanned_by").order_by("created_at", "id"),
            )
        )
        .get(pk=version.pk)
    )
    exported_by = actor_name(actor)
    exported_at = timezone.now()
    checkpoint = sign_head_for_export(version, actor=actor)
    head = (checkpoint.seq, checkpoint.head_hash)
    files, context = build_files(
        version, exported_by=exported_by, exported_at=exported_at, checkpoint=checkpoint
    )
    files[SUMMARY] = render_pdf("reports/evidence_summary.html", context).content
    manifest = {
        "format": BUNDLE_FORMAT,
        "hashAlgorithm": "sha256",
        "files": {name: sha256_hex(data) for name, data in sorted(files.items())},
        "exportedBy": exported_by,
        "exportedAt": _iso(exported_at),
        "auditChainHead": head[1],
        "auditChainHeadSeq": head[0],
        "auditCheckpoint": {
            "file": CHECKPOINT_FILE,
            "number": checkpoint.number,
            "seq": checkpoint.seq,
            "keyId": checkpoint.key_id,
        },
        "model": {
            "id": version.model_id,
            "name": version.model.name,
            "riskTier": version.model.risk_tier,
        },
        "version": {"id": version.pk, "version": version.version, "state": version.state},
        "generator": generator_version(),
    }
    manifest_bytes = _json_bytes(manifest)
    manifest_sha = sha256_hex(manifest_bytes)
    content = _zip({MANIFEST: manifest_bytes, **files}, exported_at)
    event = record_event(
        EventType.AUDIT_ACCESS,
        EXPORT_ACTION,
        user=actor,
        model_id=version.model_id,
        version_id=version.pk,
        details={
            "manifestSha256": manifest_sha,
            "bundleSha256": sha256_hex(content),
            "bundleBytes": len(content),
            "files": len(manifest["files"]),
            "auditChainHeadSeq": head[0],
            "auditCheckpoint": checkpoint.number,
            "auditEvents": context["counts"]["audit_events"],
        },
    )
    filename = (
        f"evidence-{slugify(version.model.name) or 'model'}-{slugify(version.version) or 'v'}"
        f"-{version.pk}-{exported_at:%Y%m%dT%H%M%SZ}.zip"
    )
    return EvidenceBundle(
        content=content,
        filename=filename,
        manifest=manifest,
        manifest_sha256=manifest_sha,
        sha256=event.details["bundleSha256"],
        event=event,
    )
