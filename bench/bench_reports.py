"""Reports and evidence bundles: speed at portfolio scale.

Targets (issue 7): a monthly compliance report over 1,000 models under 30 s; the evidence
bundle of a version with 1,000 audit events under 5 s.

    python bench/bench_reports.py            # scratch SQLite database under /tmp
    DATABASE_URL=postgres://.../empty_db python bench/bench_reports.py
    BENCH_MODELS=200 python bench/bench_reports.py --quick   # smaller, monthly + bundle only

Prints the time of each report kind (data + HTML + WeasyPrint PDF, as the worker runs it) with
its page count and size, and the time to build, and to verify, the evidence bundle.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DATABASE_URL", "sqlite:////tmp/bench_reports.sqlite3")
os.environ.setdefault("DJANGO_MEDIA_ROOT", tempfile.mkdtemp(prefix="bench-reports-"))

MODELS = int(os.environ.get("BENCH_MODELS", "1000"))
BUNDLE_EVENTS = int(os.environ.get("BENCH_BUNDLE_EVENTS", "1000"))
QUICK = "--quick" in sys.argv
TIERS = ("LOW", "MEDIUM", "HIGH")
LEVELS = ("LOW", "MEDIUM", "HIGH")
FACTORS = (
    "businessImpact",
    "customerExposure",
    "financialImpact",
    "regulatoryScope",
    "dataSensitivity",
    "automationLevel",
)


def append_events(rows: list[dict]) -> None:
    """Append events to the hash chain in bulk (as record_event would, one by one)."""
    from django.db import transaction
    from django.utils import timezone

    from audit.models import AuditChainHead, AuditEvent, chain_hash, event_content

    with transaction.atomic():
        head = AuditChainHead.objects.select_for_update().get(pk=1)
        seq, prev = head.seq, head.hash
        events = []
        now = timezone.now()
        for row in rows:
            seq += 1
            fields = {
                "seq": seq,
                "timestamp": now,
                "event_type": row["event_type"],
                "user_id": row.get("user_id", "bench"),
                "model_id": row.get("model_id"),
                "version_id": row.get("version_id"),
                "action": row["action"],
                "details": row.get("details", {}),
                "ip_address": "198.51.100.7",
                "user_agent": "bench/1.0",
                "session_id": "",
            }
            event = AuditEvent(**fields, prev_hash=prev)
            event.hash = chain_hash(prev, event_content(**fields))
            prev = event.hash
            events.append(event)
        AuditEvent.objects.bulk_create(events, batch_size=2000)
        AuditChainHead.objects.filter(pk=1).update(seq=seq, hash=prev)


def setup_data():
    import django
    from django.core.management import call_command

    if os.environ["DATABASE_URL"].startswith("sqlite:///"):
        Path(os.environ["DATABASE_URL"].removeprefix("sqlite:///")).unlink(missing_ok=True)
    django.setup()
    call_command("migrate", verbosity=0)
    from django.contrib.auth import get_user_model
    from simple_history.utils import bulk_create_with_history

    from registry.models import RegisteredModel

    if RegisteredModel.objects.exists():
        sys.exit("the benchmark needs an empty database (a fresh one per run on PostgreSQL)")

    from governance.demo import load_default_policies
    from governance.models import Approval, StateTransition
    from policies.gate import latest_revisions
    from policies.models import Policy, PolicyEvaluation
    from registry.models import Artifact, ModelVersion

    started = time.perf_counter()
    load_default_policies()
    users = get_user_model().objects
    owners = [users.create(username=f"owner-{i}") for i in range(20)]
    from core.roles import set_roles

    mrc = users.create(username="mrc-bench")
    set_roles(mrc, ["MRC"])
    security = users.create(username="security-bench")
    set_roles(security, ["Security Architect"])
    models = bulk_create_with_history(
        [
            RegisteredModel(
                name=f"model-{i:04d}",
                description="bench",
                owner=owners[i % len(owners)],
                risk_tier=TIERS[i % 3],
                # the tier is the highest factor: factor k is at the tier's level or below
                risk_assessment={f: LEVELS[min(i % 3, (i + k) % 3)] for k, f in enumerate(FACTORS)},
                risk_tier_reason="bench",
                tags={"team": f"t{i % 9}"},
            )
            for i in range(MODELS)
        ],
        RegisteredModel,
        batch_size=500,
    )
    models = list(RegisteredModel.objects.order_by("pk"))
    versions = ModelVersion.objects.bulk_create(
        [
            ModelVersion(
                model=model,
                version=f"1.{k}.0",
                created_by=model.owner,
                documentation={"intendedUse": "bench", "limitations": "bench"},
                state=("PRODUCTION", "MRC_REVIEW", "CHANGES_REQUIRED", "STAGING")[
                    (model.pk + k) % 4
                ],
            )
            for model in models
            for k in range(2)
        ],
        batch_size=1000,
    )
    versions = list(ModelVersion.objects.select_related("model").order_by("pk"))
    Artifact.objects.bulk_create(
        [
            Artifact(
                version=v,
                name=f"{v.model.name}-{v.version}.onnx",
                type="model",
                uri=f"s3://bench/{v.pk}",
                sha256=hashlib.sha256(str(v.pk).encode()).hexdigest(),
                scan_status="FAILED" if v.pk % 11 == 0 else "PASSED",
            )
            for v in versions
        ],
        batch_size=1000,
    )
    paths = {
        "PRODUCTION": [
            ("DRAFT", "SUBMITTED", "SUBMIT"),
            ("SUBMITTED", "MRC_REVIEW", "ROUTE_TO_REVIEW"),
            ("MRC_REVIEW", "APPROVED_STAGING", "APPROVE_STAGING"),
            ("APPROVED_STAGING", "STAGING", "DEPLOY_STAGING"),
            ("STAGING", "PRODUCTION_REVIEW", "REQUEST_PRODUCTION"),
            ("PRODUCTION_REVIEW", "APPROVED_PRODUCTION", "APPROVE_PRODUCTION"),
            ("APPROVED_PRODUCTION", "PRODUCTION", "DEPLOY_PRODUCTION"),
        ],
        "STAGING": [
            ("DRAFT", "SUBMITTED", "SUBMIT"),
            ("SUBMITTED", "MRC_REVIEW", "ROUTE_TO_REVIEW"),
            ("MRC_REVIEW", "APPROVED_STAGING", "APPROVE_STAGING"),
            ("APPROVED_STAGING", "STAGING", "DEPLOY_STAGING"),
        ],
        "MRC_REVIEW": [
            ("DRAFT", "SUBMITTED", "SUBMIT"),
            ("SUBMITTED", "MRC_REVIEW", "ROUTE_TO_REVIEW"),
        ],
        "CHANGES_REQUIRED": [
            ("DRAFT", "SUBMITTED", "SUBMIT"),
            ("SUBMITTED", "MRC_REVIEW", "ROUTE_TO_REVIEW"),
            ("MRC_REVIEW", "CHANGES_REQUIRED", "REJECT"),
        ],
    }
    StateTransition.objects.bulk_create(
        [
            StateTransition(
                version=v,
                from_state=a,
                to_state=b,
                action=act,
                user=v.model.owner,
                comments="bench",
            )
            for v in versions
            for a, b, act in paths[v.state]
        ],
        batch_size=2000,
    )
    approvals = []
    for v in versions:
        if v.state in ("PRODUCTION", "STAGING"):
            approvals.append(
                Approval(
                    version=v,
                    stage="MRC_REVIEW",
                    environment="staging",
                    cycle=1,
                    decision="APPROVED",
                    user=mrc,
                    role="MRC",
                    comments="ok",
                )
            )
        if v.state == "CHANGES_REQUIRED":
            approvals.append(
                Approval(
                    version=v,
                    stage="MRC_REVIEW",
                    environment="staging",
                    cycle=1,
                    decision="REJECTED",
                    user=mrc,
                    role="MRC",
                    comments=f"Missing validation evidence for {v.model.name}.",
                )
            )
        if v.state == "PRODUCTION":
            approvals.append(
                Approval(
                    version=v,
                    stage="PRODUCTION_REVIEW",
                    environment="production",
                    cycle=2,
                    decision="APPROVED",
                    user=mrc,
                    role="MRC",
                    comments="ok",
                )
            )
            if v.model.risk_tier == "HIGH" and v.pk % 5:
                approvals.append(
                    Approval(
                        version=v,
                        stage="PRODUCTION_REVIEW",
                        environment="production",
                        cycle=2,
                        decision="APPROVED",
                        user=security,
                        role="Security Architect",
                        comments="ok",
                    )
                )
    Approval.objects.bulk_create(approvals, batch_size=2000)
    policies = list(Policy.objects.all())
    revisions = latest_revisions(policies)
    PolicyEvaluation.objects.bulk_create(
        [
            PolicyEvaluation(
                version=v,
                policy=p,
                policy_revision=revisions[p.pk],
                environment="staging",
                enforcement=p.enforcement,
                trigger="SUBMIT",
                passed=not (p.policy_id == "security-scan-required" and v.pk % 11 == 0)
                and not (p.enforcement == "WARN" and v.pk % 3 == 0),
                rule_results=[
                    {
                        "index": 0,
                        "condition": "true",
                        "passed": True,
                        "message": "bench",
                        "exception": None,
                    }
                ],
            )
            for v in versions
            for p in policies
            if v.model.risk_tier in p.risk_tiers
        ],
        batch_size=2000,
    )
    append_events(
        [
            {
                "event_type": "MODEL_PROMOTION",
                "action": action,
                "model_id": v.model_id,
                "version_id": v.pk,
                "details": {"toState": to_state},
            }
            for v in versions
            for _from, to_state, action in paths[v.state]
        ]
    )
    # The bundle's version: 1,000 audit events of its own.
    target = versions[0]
    append_events(
        [
            {
                "event_type": "MODEL_REGISTRY",
                "action": "UPDATE_VERSION",
                "model_id": target.model_id,
                "version_id": target.pk,
                "details": {"n": i, "note": "bench " * 10},
            }
            for i in range(BUNDLE_EVENTS)
        ]
    )
    from audit.models import AuditEvent

    print(
        f"setup: {len(models)} models, {len(versions)} versions, "
        f"{PolicyEvaluation.objects.count()} policy evaluations, {len(approvals)} approvals, "
        f"{AuditEvent.objects.count()} audit events in {time.perf_counter() - started:.1f} s"
    )
    return target, mrc


def bench_report(kind: str, period: str, user) -> float:
    from audit.models import Report
    from audit.reports.periods import parse_period
    from audit.reports.services import generate_report

    parsed = parse_period(kind, period)
    report = Report.objects.create(
        kind=kind,
        period=period,
        period_start=parsed.start,
        period_end=parsed.end,
        requested_by=user,
    )
    started = time.perf_counter()
    generate_report(report.pk)
    seconds = time.perf_counter() - started
    report.refresh_from_db()
    assert report.status == "DONE", report.error
    print(
        f"{kind} {period}: {seconds:.2f} s for {MODELS} models, {report.pages} pages, "
        f"{report.size / 1024:.0f} KiB, sha256 {report.sha256[:16]}…"
    )
    return seconds


def bench_bundle(version, user) -> float:
    import io
    import zipfile

    from audit.evidence import export_evidence_bundle
    from audit.evidence_verify import verify_bundle

    started = time.perf_counter()
    bundle = export_evidence_bundle(version, actor=user)
    seconds = time.perf_counter() - started
    with zipfile.ZipFile(io.BytesIO(bundle.content)) as archive:
        events = len(archive.read("audit-trail.jsonl").splitlines())
    started = time.perf_counter()
    verdict = verify_bundle(io.BytesIO(bundle.content))
    verify_seconds = time.perf_counter() - started
    assert verdict.valid, verdict.problems
    print(
        f"evidence bundle: {seconds:.2f} s for a version with {events} audit events "
        f"({len(bundle.content) / 1024:.0f} KiB zip, {len(bundle.manifest['files'])} files); "
        f"verified against the chain in {verify_seconds:.2f} s"
    )
    return seconds


def main():
    version, mrc = setup_data()
    from django.utils import timezone

    now = timezone.now()
    month = f"{now.year}-{now.month:02d}"
    quarter = f"{now.year}-Q{(now.month - 1) // 3 + 1}"
    monthly = bench_report("MONTHLY_COMPLIANCE", month, mrc)
    if not QUICK:
        bench_report("QUARTERLY_RISK", quarter, mrc)
        bench_report("ANNUAL_AUDIT", str(now.year), mrc)
    bundle = bench_bundle(version, mrc)
    print(
        f"targets: monthly report under 30 s: {'OK' if monthly < 30 else 'MISSED'}; "
        f"evidence bundle under 5 s: {'OK' if bundle < 5 else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
