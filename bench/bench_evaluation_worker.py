"""Benchmark of an evaluation run end to end, through the worker's task function.

    python bench/bench_evaluation_worker.py [--rows 1000000] [--repeat 1]

A CSV of N synthetic rows (labels, score, 3 string features, 2 numeric features) is uploaded
through the service the API calls (`request_evaluation`: read, parse, validate, hash, store,
queue) once for the performance suite and once for bias, then each queued run is computed by
`evaluations.tasks.run_evaluation` (read the stored file, check its SHA-256, parse, compute,
save metrics, audit event). A last scenario runs both tasks in one process, as one worker
would.

Everything runs against a throw-away SQLite database and MEDIA_ROOT in a temporary folder
(migrated at start). Every scenario runs in its own subprocess, so its peak RSS (`ru_maxrss`)
is its own; "RSS before" is measured after Django and the libraries are loaded.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SCENARIOS = {
    "upload performance": "request_evaluation: read + parse + validate + SHA-256 + store + queue",
    "upload bias": "the same for the bias suite (sensitive features sex, race)",
    "worker performance": "run_evaluation: load + SHA-256 check + compute (1 segment) + save",
    "worker bias": "run_evaluation: load + SHA-256 check + compute (sex, race) + save",
    "worker perf+bias": "both tasks one after the other in one worker process",
}


def rss_mib() -> float:
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return float("nan")


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def setup_django(workdir: Path) -> None:
    os.environ["DATABASE_URL"] = f"sqlite:///{workdir / 'bench.sqlite3'}"
    os.environ["DJANGO_MEDIA_ROOT"] = str(workdir / "media")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DJANGO_LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.conf import settings

    settings.EVALUATION_MAX_UPLOAD_BYTES = 1024**3
    settings.EVALUATION_MAX_ROWS = 10_000_000


def write_csv(path: Path, rows: int) -> None:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(1)
    sex = rng.choice(np.array(["F", "M"]), size=rows)
    y_true = rng.binomial(1, 0.4, size=rows).astype(np.int8)
    score = np.clip(0.45 * y_true + 0.55 * rng.random(rows) - 0.05 * (sex == "M"), 0.0, 1.0)
    pd.DataFrame(
        {
            "y_true": y_true,
            "y_pred": (score >= 0.5).astype(np.int8),
            "y_score": score.round(6),
            "sex": sex,
            "race": rng.choice(np.array(["r1", "r2", "r3", "r4", "r5"]), size=rows),
            "region": rng.choice(np.array(["north", "south", "east", "west"]), size=rows),
            "age": rng.integers(18, 90, size=rows),
            "income": rng.normal(50_000, 12_000, size=rows).round(2),
        }
    ).to_csv(path, index=False)


def prepare(workdir: Path) -> None:
    """Migrate the throw-away database and register an owner, a model and a version."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from core.roles import set_roles
    from registry import services as registry

    call_command("migrate", verbosity=0)
    owner = get_user_model().objects.create_user("bench-owner", password="bench-pass-1234")
    set_roles(owner, ["Model Owner"])
    model = registry.register_model(actor=owner, name="bench-model", risk_tier="MEDIUM")
    registry.create_version(model, actor=owner, version="1.0.0")


# ---- scenarios (each in a subprocess) -------------------------------------------------------


def _version_and_owner():
    from registry.models import ModelVersion

    version = ModelVersion.objects.select_related("model__owner").get(version="1.0.0")
    return version, version.model.owner


def upload(csv_path: Path, suite: str) -> dict:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from evaluations import services

    services.enqueue = lambda run_id: None  # the scenarios below run the task themselves
    version, owner = _version_and_owner()
    before = rss_mib()
    t0 = time.perf_counter()
    upload = SimpleUploadedFile("bench.csv", csv_path.read_bytes(), content_type="text/csv")
    read = time.perf_counter() - t0
    run = services.request_evaluation(
        version,
        actor=owner,
        suite=suite,
        dataset=upload,
        sensitive_features=["sex", "race"] if suite == "bias" else [],
        segment_columns=["region"] if suite == "performance" else [],
    )
    total = time.perf_counter() - t0
    return {
        "seconds": total,
        "stages": {"receive file": read, "check+store+queue": total - read},
        "rssBefore": before,
        "peakRss": peak_rss_mib(),
        "runId": run.pk,
    }


def work(run_ids: list[int]) -> dict:
    from evaluations import services, tasks
    from evaluations.models import EvaluationRun

    stages: dict[str, float] = {}

    def timed(name, fn):
        def wrapper(*args, **kwargs):
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                stages[name] = stages.get(name, 0.0) + time.perf_counter() - t

        return wrapper

    services._load_stored = timed("load+hash", services._load_stored)
    services.run_suite = timed("compute", services.run_suite)
    services.finish = timed("save", services.finish)
    EvaluationRun.objects.filter(pk__in=run_ids).update(
        status="QUEUED", attempts=0, progress=0, metrics=None
    )
    before = rss_mib()
    t0 = time.perf_counter()
    outcomes = [tasks.run_evaluation(run_id) for run_id in run_ids]
    total = time.perf_counter() - t0
    runs = EvaluationRun.objects.filter(pk__in=run_ids).values_list("suite", "status", "progress")
    return {
        "seconds": total,
        "stages": stages,
        "rssBefore": before,
        "peakRss": peak_rss_mib(),
        "outcomes": outcomes,
        "runs": [list(r) for r in runs],
    }


def child(args) -> None:
    workdir = Path(args.workdir)
    setup_django(workdir)
    if args.scenario.startswith("upload"):
        result = upload(workdir / "bench.csv", args.scenario.split()[1])
    else:
        result = work([int(i) for i in args.runs.split(",")])
    print(json.dumps(result))


def in_subprocess(workdir: Path, scenario: str, runs: list[int] | None = None) -> dict:
    cmd = [sys.executable, __file__, "--child", "--workdir", str(workdir), "--scenario", scenario]
    if runs:
        cmd += ["--runs", ",".join(map(str, runs))]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{scenario} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=1, help="timed worker runs (best kept)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    parser.add_argument("--scenario", help=argparse.SUPPRESS)
    parser.add_argument("--runs", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return

    import numpy as np
    import pandas as pd

    with tempfile.TemporaryDirectory(prefix="bench-evaluation-") as tmp:
        workdir = Path(tmp)
        t = time.perf_counter()
        write_csv(workdir / "bench.csv", args.rows)
        size = (workdir / "bench.csv").stat().st_size / 2**20
        setup_django(workdir)
        prepare(workdir)
        setup_seconds = time.perf_counter() - t

        load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
        print(f"evaluation worker benchmark: {args.rows:,} rows, CSV of {size:.0f} MiB")
        print(f"python {sys.version.split()[0]}, numpy {np.__version__}, pandas {pd.__version__}")
        print(f"{os.cpu_count()} CPUs, load average at start: {load}; SQLite, local MEDIA_ROOT")
        print(f"(data generation, migrate and setup: {setup_seconds:.1f} s, not timed below)")
        header = f"{'scenario':<20}{'wall s':>8}{'RSS before':>12}{'peak RSS':>10}  stages (s)"
        print(header)
        print("-" * (len(header) + 40))
        results = {}
        for name in ("upload performance", "upload bias"):
            results[name] = in_subprocess(workdir, name)
        perf_id = results["upload performance"]["runId"]
        bias_id = results["upload bias"]["runId"]
        plan = {
            "worker performance": [perf_id],
            "worker bias": [bias_id],
            "worker perf+bias": [perf_id, bias_id],
        }
        for name, ids in plan.items():
            tries = [in_subprocess(workdir, name, ids) for _ in range(max(1, args.repeat))]
            results[name] = min(tries, key=lambda r: r["seconds"])
            results[name]["worst"] = max(r["seconds"] for r in tries)
        for name, result in results.items():
            stages = ", ".join(f"{k} {v:.2f}" for k, v in result["stages"].items())
            print(
                f"{name:<20}{result['seconds']:>8.2f}{result['rssBefore']:>12.0f}"
                f"{result['peakRss']:>10.0f}  {stages}"
            )
        print()
        for name in plan:
            print(f"  {name}: runs {results[name]['runs']}")
        print("Memory in MiB: RSS before = after Django, libraries and the database are loaded;")
        print("peak RSS = ru_maxrss of the scenario's process.")
        for name, description in SCENARIOS.items():
            print(f"  {name}: {description}")
        print(f"load average at end: {', '.join(f'{v:.1f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
