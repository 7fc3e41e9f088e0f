"""Load on the production server: N concurrent clients for S seconds, no 5xx allowed.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres python bench/bench_load.py \
        [--clients 64] [--seconds 60] [--workers 2] [--threads 4]

Starts gunicorn from this checkout exactly as bin/run does (config/gunicorn.py, DEBUG off) on
a fresh database of its own on the engine DATABASE_URL names (a SQLite file without it), then
CLIENTS threads each send requests on a fresh connection (as a load balancer does) to four
authenticated API lists and the login page. Printed: requests, requests/s, statuses, p50/p95/
p99 latency, and, on PostgreSQL, the peak number of connections to the database (sampled every
0.2 s), which must stay at most WEB_WORKERS x WEB_THREADS however many clients wait.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402

from tests.deploy.harness import Deployment  # noqa: E402
from tests.deploy.test_production_server import _connections_to  # noqa: E402

PASSWORD = "bench-load-pass-2026"
PATHS = ["/api/v1/models/", "/api/v1/versions/", "/api/v1/policies/", "/login/"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        deployment = Deployment.create(
            Path(tmp),
            "benchload",
            API_THROTTLE_READ="off",
            API_THROTTLE_WRITE="off",
            API_THROTTLE_ANON="off",
        )
        deployment.shell(
            "from governance.users import create_or_update_user, issue_token\n"
            "from tests.factories import RegisteredModelFactory, ModelVersionFactory\n"
            f"user, _ = create_or_update_user('olivia', password='{PASSWORD}',"
            " roles=['Model Owner'])\n"
            "for n in range(30):\n"
            "    ModelVersionFactory(model=RegisteredModelFactory(owner=user, name=f'm{n}'))\n"
            "print(issue_token(user).key)\n"
        )
        token = deployment.shell(
            "from rest_framework.authtoken.models import Token\n"
            "print(Token.objects.get(user__username='olivia').key)"
        ).split()[-1]
        try:
            server = deployment.web("web", workers=args.workers, threads=args.threads)
            run(deployment, server, token, args)
        finally:
            deployment.stop()


def run(deployment, server, token, args) -> None:
    statuses: Counter = Counter()
    latencies: list[float] = []
    errors: list[str] = []
    peak = [0]
    stop = time.monotonic() + args.seconds
    database = deployment.env["DATABASE_URL"].rsplit("/", 1)[-1]

    def client(n: int) -> None:
        i = n
        while time.monotonic() < stop:
            started = time.perf_counter()
            try:
                answer = server.get(PATHS[i % len(PATHS)], token, timeout=60)
                statuses[answer.status] += 1
                latencies.append(time.perf_counter() - started)
            except OSError as error:
                errors.append(repr(error))
            i += 1

    def watch() -> None:
        while time.monotonic() < stop:
            peak[0] = max(peak[0], _connections_to(database))
            time.sleep(0.2)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(args.clients)]
    if connection.vendor == "postgresql":
        threads.append(threading.Thread(target=watch))
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    total = sum(statuses.values())
    latencies.sort()

    def pct(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000

    print(
        f"{args.clients} clients x {args.seconds} s on {connection.vendor}, gunicorn "
        f"{args.workers} workers x {args.threads} threads"
    )
    print(f"requests {total} ({total / elapsed:.0f}/s), statuses {dict(statuses)}")
    print(f"5xx {sum(n for s, n in statuses.items() if s >= 500)}, connection errors {len(errors)}")
    print(f"latency p50 {pct(0.5):.0f} ms, p95 {pct(0.95):.0f} ms, p99 {pct(0.99):.0f} ms")
    if connection.vendor == "postgresql":
        print(f"peak connections to the database {peak[0]} (bound {args.workers * args.threads})")


if __name__ == "__main__":
    main()
