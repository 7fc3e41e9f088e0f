"""Policy engine speed: the gate for one version and impact analysis over many versions.

Targets (issue 4): 20 policies of 3 rules for one version, context included, well under 20 ms;
impact of one policy over 10,000 versions well under 10 s.

    python bench/bench_policy_gate.py            # scratch SQLite database under /tmp
    DATABASE_URL=postgres://... python bench/bench_policy_gate.py
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DATABASE_URL", "sqlite:////tmp/bench_policy_gate.sqlite3")

VERSIONS = int(os.environ.get("BENCH_VERSIONS", "10000"))
POLICIES = 20


def setup_data():
    import django
    from django.core.management import call_command

    if os.environ["DATABASE_URL"].startswith("sqlite:///"):
        Path(os.environ["DATABASE_URL"].removeprefix("sqlite:///")).unlink(missing_ok=True)
    django.setup()
    call_command("migrate", verbosity=0)
    from django.contrib.auth import get_user_model

    from policies.models import Policy
    from registry.models import Artifact, ModelVersion, RegisteredModel

    owner = get_user_model().objects.create(username="bench-owner")
    models = RegisteredModel.objects.bulk_create(
        RegisteredModel(
            name=f"model-{i}",
            owner=owner,
            risk_tier=("LOW", "MEDIUM", "HIGH")[i % 3],
            risk_tier_reason="bench",
            tags={"team": f"t{i % 7}"},
        )
        for i in range(VERSIONS // 2)
    )
    versions = ModelVersion.objects.bulk_create(
        ModelVersion(
            model=models[i % len(models)],
            version=f"1.{i}",
            created_by=owner,
            documentation={"intendedUse": "x", "limitations": "y"} if i % 4 else "",
            tags={"release": str(i)},
        )
        for i in range(VERSIONS)
    )
    Artifact.objects.bulk_create(
        Artifact(
            version=v,
            name=f"a{v.pk}-{k}",
            type="model" if k == 0 else "dataset",
            uri=f"s3://b/{v.pk}/{k}",
            sha256="a" * 64,
            scan_status="FAILED" if (v.pk + k) % 9 == 0 else "PASSED",
        )
        for v in versions
        for k in range(2)
    )
    conditions = [
        "artifact.securityScan.status == 'PASSED'",
        "artifacts.all(a, a.securityScan.status == 'PASSED')",
        "size(version.documentation) > 0",
        "has(version.documentation.intendedUse)",
        "model.riskTier != 'HIGH' || 'team' in model.tags",
        "environment == 'staging' || has(version.documentation.limitations)",
    ]
    for p in range(POLICIES):
        Policy.objects.create(
            policy_id=f"bench-{p}",
            name=f"Bench {p}",
            severity="HIGH",
            risk_tiers=["LOW", "MEDIUM", "HIGH"],
            environments=["staging", "production"],
            rules=[
                {"condition": conditions[(p + r) % len(conditions)], "message": f"rule {r}"}
                for r in range(3)
            ],
        )
    return versions


def bench_gate():
    from policies.gate import judge
    from policies.models import Policy
    from registry.models import ModelVersion

    policies = list(Policy.objects.all())
    ids = list(ModelVersion.objects.values_list("pk", flat=True)[:200])
    timings = []
    for pk in ids:
        version = ModelVersion.objects.select_related("model__owner").get(pk=pk)
        start = time.perf_counter()
        judge(version, policies, environment="production", trigger="DRY_RUN", save=False)
        timings.append((time.perf_counter() - start) * 1000)
    timings.sort()
    print(
        f"gate, {len(policies)} policies x 3 rules, one version (context query + build + "
        f"evaluate, not saved): median {statistics.median(timings):.2f} ms, "
        f"p95 {timings[int(len(timings) * 0.95)]:.2f} ms over {len(timings)} versions"
    )


def bench_impact():
    from django.contrib.auth import get_user_model

    from core.choices import Role
    from core.roles import set_roles
    from policies.impact import impact
    from policies.models import Policy

    policy = Policy.objects.get(policy_id="bench-0")
    # A read-all reader: the impact lists only what its asker may see.
    reader, _ = get_user_model().objects.get_or_create(username="bench-mrc")
    set_roles(reader, [Role.MRC])
    start = time.perf_counter()
    rows = impact(policy, actor=reader)
    elapsed = time.perf_counter() - start
    failing = sum(1 for r in rows if not r["passed"])
    print(
        f"impact of one policy ({len(policy.rules)} rules, 2 environments) over {len(rows)} "
        f"versions: {elapsed:.2f} s ({failing} failing)"
    )


if __name__ == "__main__":
    started = time.perf_counter()
    setup_data()
    print(f"data: {VERSIONS} versions, {POLICIES} policies ({time.perf_counter() - started:.1f} s)")
    bench_gate()
    bench_impact()
