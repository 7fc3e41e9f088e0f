"""Benchmark of evaluations.metrics on synthetic data (default: 1,000,000 rows).

    python bench/bench_evaluation_metrics.py [--rows N] [--no-tracemalloc]

Each scenario runs in a fresh subprocess so that its peak RSS (``ru_maxrss``) is its own.
Wall time is measured in a run without tracemalloc; the traced peak (bytes allocated by
Python and numpy/pandas, tracked by tracemalloc) in a second run, because tracing slows
allocation. Peak RSS includes the interpreter, the imported libraries (~150 MB) and the
synthetic data.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from evaluations.metrics import load_dataset, run_suite  # noqa: E402

SCENARIOS = {
    "perf+bias(1 feature)": "performance (1 segment column) + bias on sex",
    "perf+bias(2 features)": "performance (1 segment column) + bias on sex and race",
    "csv load+perf+bias(2)": "load_dataset(CSV bytes) + the previous scenario",
    "robustness": "robustness against a 1M-row reference (5 features)",
    "security": "security findings",
}


def make_frame(n: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    sex = rng.choice(np.array(["F", "M"]), size=n)
    race = rng.choice(np.array(["r1", "r2", "r3", "r4", "r5"]), size=n)
    y_true = rng.binomial(1, 0.4, size=n).astype(np.int8)
    score = np.clip(0.4 * y_true + 0.6 * rng.random(n) - 0.1 * (sex == "M"), 0.0, 1.0)
    return pd.DataFrame(
        {
            "y_true": y_true,
            "y_pred": (score >= 0.5).astype(np.int8),
            "y_score": score,
            "sex": sex,
            "race": race,
            "region": rng.choice(np.array(["north", "south", "east", "west"]), size=n),
            "age": rng.integers(18, 90, size=n),
            "income": rng.normal(50_000 + shift * 5_000, 12_000, size=n),
        }
    )


def rss_mib() -> float:
    """Current resident set size (Linux /proc), MiB."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return float("nan")


def run_once(name: str, df: pd.DataFrame | None, payload: bytes | None, reference, rows: int):
    stages: dict[str, float] = {}
    t0 = time.perf_counter()
    if payload is not None:
        df = load_dataset(payload, max_bytes=len(payload), max_rows=rows)
        stages["load_dataset"] = time.perf_counter() - t0
    if name.startswith(("perf", "csv")):
        t = time.perf_counter()
        run_suite("performance", df, segment_columns=["region"])
        stages["performance"] = time.perf_counter() - t
        features = ["sex"] if "1 feature" in name else ["sex", "race"]
        t = time.perf_counter()
        run_suite("bias", df, sensitive_features=features)
        stages["bias"] = time.perf_counter() - t
    elif name == "robustness":
        run_suite("robustness", df, reference=reference)
        stages["robustness"] = time.perf_counter() - t0
    else:
        run_suite("security", df)
        stages["security"] = time.perf_counter() - t0
    return time.perf_counter() - t0, stages


def run_scenario(name: str, rows: int, trace: bool, repeat: int) -> dict:
    df = make_frame(rows, seed=1)
    reference = make_frame(rows, seed=2, shift=0.1) if name == "robustness" else None
    payload = None
    if name.startswith("csv"):
        buffer = io.BytesIO()
        df.to_csv(buffer, index=False)
        payload = buffer.getvalue()
        df = None
    baseline = rss_mib()
    if trace:
        tracemalloc.start()
    runs = [run_once(name, df, payload, reference, rows) for _ in range(1 if trace else repeat)]
    traced = tracemalloc.get_traced_memory()[1] / 2**20 if trace else None
    if trace:
        tracemalloc.stop()
    best_seconds, best_stages = min(runs, key=lambda r: r[0])
    return {
        "scenario": name,
        "rows": rows,
        "seconds": best_seconds,
        "worstSeconds": max(r[0] for r in runs),
        "stages": best_stages,
        "baselineRssMiB": baseline,
        "peakRssMiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "tracedPeakMiB": traced,
        "csvMiB": len(payload) / 2**20 if payload is not None else None,
    }


def in_subprocess(name: str, rows: int, trace: bool, repeat: int) -> dict:
    cmd = [sys.executable, __file__, "--scenario", name, "--rows", str(rows)]
    cmd += ["--repeat", str(repeat)] + (["--trace"] if trace else [])
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per scenario")
    parser.add_argument("--scenario", help=argparse.SUPPRESS)
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--no-tracemalloc", action="store_true")
    args = parser.parse_args()
    if args.scenario:
        print(json.dumps(run_scenario(args.scenario, args.rows, args.trace, args.repeat)))
        return

    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(f"evaluations.metrics benchmark: {args.rows:,} rows, {os.cpu_count()} CPUs")
    print(f"python {sys.version.split()[0]}, numpy {np.__version__}, pandas {pd.__version__}")
    print(f"load average at start: {load}; best of {args.repeat} runs (worst in brackets)")
    header = (
        f"{'scenario':<24}{'wall s':>15}{'RSS before':>12}{'peak RSS':>10}{'traced':>8}"
        "  stages of the best run (s)"
    )
    print(header)
    print("-" * (len(header) + 20))
    for name in SCENARIOS:
        timed = in_subprocess(name, args.rows, trace=False, repeat=args.repeat)
        traced = (
            None if args.no_tracemalloc else in_subprocess(name, args.rows, trace=True, repeat=1)
        )
        stages = ", ".join(f"{k} {v:.2f}" for k, v in timed["stages"].items())
        traced_text = f"{traced['tracedPeakMiB']:.0f}" if traced else "-"
        wall = f"{timed['seconds']:.2f} ({timed['worstSeconds']:.2f})"
        print(
            f"{name:<24}{wall:>15}{timed['baselineRssMiB']:>12.0f}"
            f"{timed['peakRssMiB']:>10.0f}{traced_text:>8}  {stages}"
        )
        if timed["csvMiB"]:
            print(f"{'':<24}(input: a CSV of {timed['csvMiB']:.0f} MiB held in memory)")
    print()
    print("Memory in MiB. RSS before: after imports and synthetic data, before the timed runs;")
    print("peak RSS: ru_maxrss of the scenario's process; traced: tracemalloc peak of one run.")
    for name, description in SCENARIOS.items():
        print(f"  {name}: {description}")
    print(f"load average at end: {', '.join(f'{v:.1f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
