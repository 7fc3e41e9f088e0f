"""Benchmark of registry.execution: a 200-tree gradient-boosted model over 1,000,000 rows.

    python bench/bench_predict.py [--rows N] [--features K] [--batch-rows B] [--threads T]
                                  [--zipmap]

The model is sklearn's GradientBoostingClassifier(n_estimators=200, max_depth=3), trained on
--train-rows generated rows (the tree count and depth, not the training set, decide the
prediction cost) and converted by skl2onnx. The prediction pass runs in a fresh subprocess so
that its peak RSS (``ru_maxrss``) is its own: the interpreter, the libraries, the generated
dataset (float64 features, int8 y_true) and the output arrays. Timed: ExecutableModel.load,
and predict_frame over every row. The parent checks y_score against sklearn's predict_proba
on the first chunk of rows.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

CHUNK = 100_000
SEED = 20261202
CHECK_ROWS = 10_000


def generate(rows: int, features: int) -> pd.DataFrame:
    """The same rows for the same (rows, features), written chunk by chunk into one array per
    column, so that generating adds no copy of the dataset to the peak."""
    weights = np.random.default_rng(SEED).normal(size=features)
    data = {f"f{i}": np.empty(rows) for i in range(features)}
    y_true = np.empty(rows, dtype=np.int8)
    for chunk, start in enumerate(range(0, rows, CHUNK)):
        rng = np.random.default_rng(SEED + 1 + chunk)
        x = rng.normal(size=(min(CHUNK, rows - start), features))
        logit = x @ weights + 0.5 * np.sin(3 * x[:, 0]) + rng.logistic(size=len(x))
        y_true[start : start + len(x)] = logit > 0
        for i in range(features):
            data[f"f{i}"][start : start + len(x)] = x[:, i]
    data["y_true"] = y_true
    return pd.DataFrame(data, copy=False)


def current_rss_mib() -> float:
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


def build_model(path: Path, features: int, train_rows: int, zipmap: bool):
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType
    from sklearn.ensemble import GradientBoostingClassifier

    train = generate(train_rows, features)
    x = train.drop(columns="y_true").to_numpy(np.float32)
    clf = GradientBoostingClassifier(n_estimators=200, max_depth=3, random_state=0)
    clf.fit(x, train["y_true"].to_numpy())
    onnx_model = convert_sklearn(
        clf,
        initial_types=[("features", FloatTensorType([None, features]))],
        options={id(clf): {"zipmap": zipmap}},
    )
    path.write_bytes(onnx_model.SerializeToString())
    return clf


def child(args: argparse.Namespace) -> None:
    from registry.execution import RUNTIME_VERSION, ExecutableModel

    rss_imports = current_rss_mib()
    frame = generate(args.rows, args.features)
    rss_data = current_rss_mib()
    began = time.perf_counter()
    model = ExecutableModel.load(args.child, threads=args.threads)
    loaded = time.perf_counter()
    predictions = model.predict_frame(frame, batch_rows=args.batch_rows)
    done = time.perf_counter()
    np.save(args.scores, predictions.y_score[:CHECK_ROWS])
    print(
        json.dumps(
            {
                "runtime": RUNTIME_VERSION,
                "threads": model.threads,
                "rows": predictions.rows,
                "score_output": predictions.score_output,
                "label_output": predictions.label_output,
                "load_s": loaded - began,
                "predict_s": done - loaded,
                "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "rss_after_imports_mib": rss_imports,
                "rss_before_predict_mib": rss_data,
                "dataset_mib": frame.memory_usage(deep=True).sum() / 2**20,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--features", type=int, default=20)
    parser.add_argument("--train-rows", type=int, default=20_000)
    parser.add_argument("--batch-rows", type=int, default=50_000)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--zipmap", action="store_true", help="keep skl2onnx's ZipMap output")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--scores", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return

    with tempfile.TemporaryDirectory() as tmp:
        model_path, scores_path = Path(tmp) / "model.onnx", Path(tmp) / "scores.npy"
        began = time.perf_counter()
        clf = build_model(model_path, args.features, args.train_rows, args.zipmap)
        print(
            f"trained GradientBoostingClassifier(200 trees, depth 3) on {args.train_rows:,} "
            f"rows in {time.perf_counter() - began:.1f} s; ONNX {model_path.stat().st_size:,} B"
        )
        command = [
            sys.executable,
            __file__,
            "--child",
            str(model_path),
            "--scores",
            str(scores_path),
            "--rows",
            str(args.rows),
            "--features",
            str(args.features),
            "--batch-rows",
            str(args.batch_rows),
        ]
        if args.threads:
            command += ["--threads", str(args.threads)]
        out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        result = json.loads(out.strip().splitlines()[-1])
        first = generate(min(args.rows, CHUNK), args.features)
        first = first.drop(columns="y_true").to_numpy(np.float32)[:CHECK_ROWS]
        expected = clf.predict_proba(first)[:, 1]
        got = np.load(scores_path)
        result["max_abs_diff_vs_sklearn"] = float(np.abs(got - expected[: len(got)]).max())

    print(json.dumps(result, indent=2))
    print(
        f"{result['rows']:,} rows x {args.features} features: predict {result['predict_s']:.2f} s "
        f"({result['rows'] / result['predict_s']:,.0f} rows/s, {result['threads']} threads, "
        f"batches of {args.batch_rows:,}), load {result['load_s']:.3f} s, "
        f"peak RSS {result['peak_rss_mib']:.0f} MiB"
    )


if __name__ == "__main__":
    main()
