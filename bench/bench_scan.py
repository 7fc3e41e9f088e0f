"""Benchmark of the artifact scanner on a ~200 MB pickle.

    .venv/bin/python bench/bench_scan.py            # 200 MB
    .venv/bin/python bench/bench_scan.py --mb 50    # another size

Writes a protocol 5 pickle of a dict holding one big float32 array (in-band: one BYTEARRAY8
opcode), a small sklearn model and some plain objects, and a joblib file of the same dict
(raw array bytes that the registry frames and cuts out before modelscan), and a pickle of many
small objects (the per-opcode cost: the registry's framing and modelscan's pickletools pass
each walk every opcode in Python), and an ONNX model of the same size (one initializer).
Each file is scanned
in its own subprocess, so the peak RSS (VmHWM) is the scan's own; "before" is measured
after the libraries are imported. Prints the status, wall seconds and peak RSS.
"""

from __future__ import annotations

import argparse
import pickle
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import joblib
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from registry.scanning import RULES_VERSION, scan_file  # noqa: E402


def payload(megabytes: int) -> dict:
    from sklearn.linear_model import LogisticRegression

    features = np.random.RandomState(0).rand(50, 4)
    model = LogisticRegression().fit(features, (features[:, 0] > 0.5).astype(int))
    count = megabytes * 1024 * 1024 // 4
    return {
        "embedding": np.random.RandomState(1).rand(count).astype(np.float32),
        "model": model,
        "vocabulary": {f"token-{i}": i for i in range(1000)},
        "config": {"layers": [64, 32], "dropout": 0.1, "name": "bench"},
    }


def onnx_model(path: Path, megabytes: int) -> None:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    count = megabytes * 1024 * 1024 // 4
    weight = numpy_helper.from_array(np.ones((1, count), np.float32), "W")
    graph = helper.make_graph(
        [helper.make_node("Add", ["X", "W"], ["Y"])],
        "bench",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, count])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [1, count])],
        initializer=[weight],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)


def peak_rss_mb() -> float:
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over a fork and exec, so a child started by
    # the process that built the 200 MB data would report the parent's peak.
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def time_scan(path: Path, filename: str) -> None:
    import registry.scanning.scan  # noqa: F401 - the libraries, loaded before "before"

    before = peak_rss_mb()
    started = time.perf_counter()
    report = scan_file(path, filename=filename)
    seconds = time.perf_counter() - started
    size = path.stat().st_size / 1024 / 1024
    print(
        f"{filename:14} {size:7.1f} MB  {report.status:6}  {seconds:6.2f} s  "
        f"peak RSS {peak_rss_mb():7.1f} MB (before: {before:.1f} MB)  "
        f"findings: {[f.code for f in report.findings]}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=200)
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the third pickle")
    parser.add_argument("--scan", nargs=2, metavar=("PATH", "FILENAME"), help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.scan:
        time_scan(Path(options.scan[0]), options.scan[1])
        return
    print(f"rules version {RULES_VERSION}")
    with tempfile.TemporaryDirectory() as folder:
        value = payload(options.mb)
        pickled = Path(folder, "pickle")
        with pickled.open("wb") as handle:
            pickle.dump(value, handle, protocol=5)
        dumped = Path(folder, "joblib")
        joblib.dump(value, dumped)
        del value
        rows = Path(folder, "rows")
        with rows.open("wb") as handle:
            table = [(i, float(i), f"row-{i}") for i in range(options.rows)]
            pickle.dump({"rows": table}, handle, protocol=4)
            del table
        exported = Path(folder, "onnx")
        onnx_model(exported, options.mb)
        scans = (
            (pickled, "model.pkl"),
            (dumped, "model.joblib"),
            (rows, "rows.pkl"),
            (exported, "model.onnx"),
        )
        for path, filename in scans:
            command = [sys.executable, __file__, "--scan", str(path), filename]
            subprocess.run(command, check=True)


if __name__ == "__main__":
    main()
