"""This registry against MLflow's model registry: the same workload through each REST API.

    .venv/bin/python bench/bench_vs_mlflow.py [--seconds 15] [--clients 1 8]
        [--skip-mlflow | --skip-ours]

Both servers run on this machine, 4 workers each, on a fresh SQLite database each:
- MLflow 3.17.2 (`mlflow server --backend-store-uri sqlite:///... --workers 4`), installed by
  this script into var/bench/mlflow-venv (never into the product's .venv) on first run;
- this registry under gunicorn with config/gunicorn.py exactly as bin/run starts it
  (WEB_WORKERS=4, DEBUG off, collected static, API throttles off), through
  tests/deploy/harness.Deployment.

Each client repeats one round of seven operations, each on a fresh connection (as a load
balancer sends them); writes are the first four, reads the last three:

  operation           this registry                          MLflow
  create model        POST /api/v1/models/                   registered-models/create
  create version      POST /api/v1/models/{id}/versions/     model-versions/create (s3 source)
  add artifact        POST /api/v1/versions/{id}/artifacts/  model-versions/set-tag
                      (multipart, a 64-byte file held and     (key "artifact.model", the
                      hashed by the registry)                 artifact's sha256: MLflow keeps
                                                              no artifact record of its own)
  record a scan       PATCH /api/v1/artifacts/{id}/          model-versions/set-tag
                      securityScan, as a Scanner account      (key "securityScan", PASSED)
  get the version     GET /api/v1/versions/{id}/             model-versions/get
  list versions       GET /api/v1/versions/?model={id}       model-versions/search name='..'
  page through models GET /api/v1/models/?page=1..3          registered-models/search,
                      (3 pages of 50 when there are)         3 pages of 50 by page_token

Ours does more per write (the owner's and the scanner's role checks, visibility, an audit event
in the hash chain for each change, the artifact's bytes stored by digest); none of it is turned
off here. Printed per system and client count: operations/s, write p95, read p95, errors; then
the ratio ours/MLflow. Takes about 2 x (start-up + len(clients) x seconds): ~2-3 minutes with
the defaults (first run adds MLflow's install, ~1-2 minutes).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from tests.deploy.harness import Deployment, free_port, multipart, request  # noqa: E402

MLFLOW_VERSION = "3.17.2"
MLFLOW_VENV = ROOT / "var" / "bench" / "mlflow-venv"
WORKERS = 4
PAGES = 3


def ensure_mlflow() -> Path:
    binary = MLFLOW_VENV / "bin" / "mlflow"
    python = MLFLOW_VENV / "bin" / "python"
    if binary.exists():
        done = subprocess.run(
            [str(python), "-c", "import mlflow; print(mlflow.__version__)"],
            capture_output=True,
            text=True,
        )
        if done.stdout.strip() == MLFLOW_VERSION:
            return binary
    MLFLOW_VENV.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "venv", str(MLFLOW_VENV)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", f"mlflow=={MLFLOW_VERSION}"], check=True
    )
    return binary


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.writes: list[float] = []
        self.reads: list[float] = []
        self.errors: list[str] = []

    def timed(self, kind: str, call):
        started = time.perf_counter()
        answer = call()
        elapsed = time.perf_counter() - started
        with self.lock:
            (self.writes if kind == "w" else self.reads).append(elapsed)
            if answer.status >= 400:
                self.errors.append(f"{answer.status} {answer.body[:200]!r}")
        return answer


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


# --- this registry ---------------------------------------------------------------------------


def ours_round(url: str, owner: str, scanner: str, stats: Stats, tag: str) -> None:
    def call(method, path, data=None, token=owner, headers=None):
        headers = {"Authorization": f"Token {token}", **(headers or {})}
        return request(url + path, method=method, data=data, headers=headers, timeout=60)

    model = stats.timed(
        "w",
        lambda: call(
            "POST", "/api/v1/models/", {"name": tag, "description": "bench", "riskTier": "MEDIUM"}
        ),
    ).json()
    version = stats.timed(
        "w",
        lambda: call(
            "POST",
            f"/api/v1/models/{model['id']}/versions/",
            {"version": "1.0.0", "description": "b"},
        ),
    ).json()
    body, content_type = multipart(
        {"name": "weights", "type": "model"}, {"file": ("weights.bin", tag.encode().ljust(64))}
    )
    artifact = stats.timed(
        "w",
        lambda: call(
            "POST",
            f"/api/v1/versions/{version['id']}/artifacts/",
            body,
            headers={"Content-Type": content_type},
        ),
    ).json()
    stats.timed(
        "w",
        lambda: call(
            "PATCH",
            f"/api/v1/artifacts/{artifact['id']}/",
            {"securityScan": {"status": "PASSED", "scanner": "bench-scanner 1.0"}},
            token=scanner,
        ),
    )
    stats.timed("r", lambda: call("GET", f"/api/v1/versions/{version['id']}/"))
    stats.timed("r", lambda: call("GET", f"/api/v1/versions/?model={model['id']}"))
    for page in range(1, PAGES + 1):
        answer = stats.timed("r", lambda p=page: call("GET", f"/api/v1/models/?page={p}"))
        if not answer.json().get("next"):
            break


def start_ours():
    tmp = Path(tempfile.mkdtemp(prefix="bench-vs-mlflow-"))
    deployment = Deployment.create(
        tmp,
        "benchmlflow",
        API_THROTTLE_READ="off",
        API_THROTTLE_WRITE="off",
        API_THROTTLE_ANON="off",
    )
    tokens = deployment.shell(
        "from governance.users import create_or_update_user, issue_token\n"
        "o, _ = create_or_update_user('bench-owner', password='bench-pass-2026-x',"
        " roles=['Model Owner'])\n"
        "s, _ = create_or_update_user('bench-scanner', password='bench-pass-2026-y',"
        " roles=['Scanner'])\n"
        "print(issue_token(o).key, issue_token(s).key)\n"
    ).split()[-2:]
    server = deployment.web("web", workers=WORKERS, threads=int(os.environ.get("WEB_THREADS", 4)))
    return deployment, server, tokens


# --- MLflow ----------------------------------------------------------------------------------


def mlflow_round(url: str, stats: Stats, tag: str) -> None:
    def call(method, path, data=None):
        return request(f"{url}/api/2.0/mlflow/{path}", method=method, data=data, timeout=60)

    stats.timed("w", lambda: call("POST", "registered-models/create", {"name": tag}))
    version = stats.timed(
        "w",
        lambda: call(
            "POST", "model-versions/create", {"name": tag, "source": f"s3://bench-artifacts/{tag}"}
        ),
    ).json()["model_version"]["version"]
    digest = hashlib.sha256(tag.encode().ljust(64)).hexdigest()
    stats.timed(
        "w",
        lambda: call(
            "POST",
            "model-versions/set-tag",
            {"name": tag, "version": version, "key": "artifact.model", "value": digest},
        ),
    )
    stats.timed(
        "w",
        lambda: call(
            "POST",
            "model-versions/set-tag",
            {"name": tag, "version": version, "key": "securityScan", "value": "PASSED"},
        ),
    )
    stats.timed("r", lambda: call("GET", f"model-versions/get?name={tag}&version={version}"))
    stats.timed("r", lambda: call("GET", f"model-versions/search?filter=name%3D%27{tag}%27"))
    token = ""
    for _ in range(PAGES):
        query = "max_results=50" + (f"&page_token={token}" if token else "")
        answer = stats.timed("r", lambda q=query: call("GET", f"registered-models/search?{q}"))
        token = answer.json().get("next_page_token", "")
        if not token:
            break


def start_mlflow():
    binary = ensure_mlflow()
    tmp = Path(tempfile.mkdtemp(prefix="bench-mlflow-"))
    port = free_port()
    log = open(tmp / "mlflow.log", "w")  # noqa: SIM115 (closed after the run)
    process = subprocess.Popen(
        [
            str(binary),
            "server",
            "--backend-store-uri",
            f"sqlite:///{tmp / 'mlflow.sqlite3'}",
            "--default-artifact-root",
            str(tmp / "artifacts"),
            "--workers",
            str(WORKERS),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"mlflow server exited:\n{(tmp / 'mlflow.log').read_text()[-3000:]}")
        try:
            if request(f"{url}/health", timeout=2).status == 200:
                return process, url, log
        except OSError:
            pass
        time.sleep(0.5)
    raise SystemExit("mlflow server did not answer /health within 180 s")


# --- driver ----------------------------------------------------------------------------------


def drive(one_round, clients: int, seconds: float, label: str) -> dict:
    # Untimed warm-up until a round takes under a second: uvicorn answers /health from its
    # parent while its workers still import MLflow (30 s on a loaded 2-core machine), which
    # would otherwise be measured as request latency.
    # A worker still starting may also drop the connection: retried for up to two minutes.
    deadline = time.monotonic() + 120
    for n in range(600):
        began = time.monotonic()
        try:
            one_round(Stats(), f"bench-{label}-warm-{secrets.token_hex(3)}-{n}")
        except (OSError, KeyError, ValueError):
            if time.monotonic() > deadline:
                raise
            time.sleep(1)
            continue
        if time.monotonic() - began < 1:
            break
    stats = Stats()
    stop = time.monotonic() + seconds
    run = secrets.token_hex(3)

    def client(n: int) -> None:
        i = 0
        while time.monotonic() < stop:
            try:
                one_round(stats, f"bench-{label}-{run}-{n}-{i}")
            except (OSError, KeyError, ValueError) as error:
                with stats.lock:
                    stats.errors.append(repr(error))
            i += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    ops = len(stats.writes) + len(stats.reads)
    return {
        "ops_s": ops / elapsed,
        "write_p95": pct(stats.writes, 0.95),
        "read_p95": pct(stats.reads, 0.95),
        "ops": ops,
        "errors": len(stats.errors),
        "first_error": stats.errors[0] if stats.errors else "",
    }


def show(system: str, clients: int, result: dict) -> None:
    print(
        f"{system:8} {clients:2} clients: {result['ops_s']:7.1f} ops/s  write p95 "
        f"{result['write_p95']:6.1f} ms  read p95 {result['read_p95']:6.1f} ms  "
        f"({result['ops']} ops, {result['errors']} errors) {result['first_error'][:160]}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--skip-mlflow", action="store_true")
    parser.add_argument("--skip-ours", action="store_true")
    args = parser.parse_args()
    results: dict = {}

    if not args.skip_mlflow:
        process, url, log = start_mlflow()
        try:
            for clients in args.clients:
                result = drive(lambda s, t: mlflow_round(url, s, t), clients, args.seconds, "m")
                results[("mlflow", clients)] = result
                show("mlflow", clients, result)
        finally:
            os.killpg(process.pid, 15)
            process.wait(timeout=30)
            log.close()

    if args.skip_ours:
        return
    deployment, server, (owner, scanner) = start_ours()
    try:
        for clients in args.clients:
            result = drive(
                lambda s, t: ours_round(server.url, owner, scanner, s, t),
                clients,
                args.seconds,
                "o",
            )
            results[("ours", clients)] = result
            show("registry", clients, result)
    finally:
        deployment.stop()

    for clients in args.clients:
        if ("mlflow", clients) in results:
            ratio = results[("ours", clients)]["ops_s"] / results[("mlflow", clients)]["ops_s"]
            print(f"ratio ours/mlflow at {clients} clients: {ratio:.2f}x ops/s")
    print(json.dumps({f"{k[0]}@{k[1]}": v for k, v in results.items()}, default=str))


if __name__ == "__main__":
    main()
