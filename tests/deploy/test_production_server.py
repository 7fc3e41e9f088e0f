"""The server `make run` starts, as production runs it: gunicorn with DEBUG off. Static files
and the API docs' scripts are served (hashed, compressed); probes answer; every request's log
line is JSON with its id; and under 64 concurrent clients no request fails with a 5xx, the
database connections staying within WEB_WORKERS x WEB_THREADS (+ the worker's)."""

from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter

import psycopg2
import pytest
from django.db import connection

from tests.deploy.harness import Deployment, wait_for

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    # One worker runs the whole module: its processes are started once, not once per worker.
    pytest.mark.xdist_group("deploy-production"),
]
PASSWORD = "production-pass-2026"
WORKERS, THREADS = 2, 4
CLIENTS, SECONDS = 64, 15


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    deployment = Deployment.create(
        tmp_path_factory.mktemp("production"),
        "production",
        DJANGO_LOG_LEVEL="INFO",
        API_THROTTLE_READ="off",
        API_THROTTLE_WRITE="off",
        API_THROTTLE_ANON="off",
    )
    deployment.shell(
        "from governance.users import create_or_update_user\n"
        f"create_or_update_user('olivia', password='{PASSWORD}', roles=['Model Owner'])\n"
    )
    try:
        deployment.server = deployment.web("web", workers=WORKERS, threads=THREADS)
        yield deployment
    finally:
        deployment.stop()


@pytest.fixture(scope="module")
def token(deployment):
    answer = deployment.server.post(
        "/api/v1/auth/token/", {"username": "olivia", "password": PASSWORD}
    )
    assert answer.status == 200, answer.body
    return answer.json()["token"]


def test_pages_and_static_files_are_served_with_debug_off(deployment):
    server = deployment.server
    page = server.get("/login/")
    assert page.status == 200
    (css,) = re.findall(r'href="(/static/css/app\.[0-9a-f]{12}\.css)"', page.body.decode())
    styles = server.get(css, headers={"Accept-Encoding": "gzip"})
    assert styles.status == 200
    assert styles.headers["Content-Encoding"] == "gzip"
    assert "immutable" in styles.headers["Cache-Control"]


def test_the_api_docs_and_their_scripts_work_with_debug_off(deployment):
    server = deployment.server
    docs = server.get("/api/v1/docs/")
    assert docs.status == 200
    scripts = re.findall(r'src="(/static/[^"]+\.js)"', docs.body.decode())
    assert scripts
    for script in scripts:
        assert server.get(script).status == 200, script


def test_probes_answer_and_ready_waits_for_a_worker(deployment):
    server = deployment.server
    assert server.get("/healthz", headers={"Host": "10.9.8.7"}).status == 200
    not_ready = server.get("/readyz")
    assert not_ready.status == 503
    assert not_ready.json()["checks"]["worker"]["ok"] is False
    deployment.worker("worker")
    ready = wait_for(
        lambda: server.get("/readyz").status == 200, timeout=60, what="/readyz to turn ready"
    )
    assert ready


def test_each_request_logs_one_json_line_with_its_id(deployment, token):
    server = deployment.server
    answer = server.get("/api/v1/models/", token, headers={"X-Request-ID": "req-json-log-0042"})
    assert answer.status == 200 and answer.headers["X-Request-ID"] == "req-json-log-0042"

    def logged():
        for line in deployment.processes[0].log_path.read_text().splitlines():
            if "req-json-log-0042" in line:
                return json.loads(line)
        return None

    line = wait_for(logged, timeout=10, what="the request's log line")
    assert line["logger"] == "registry.request"
    assert (line["method"], line["path"], line["status"], line["user"]) == (
        "GET",
        "/api/v1/models/",
        200,
        "olivia",
    )


def _connections_to(database: str) -> int:
    settings = connection.settings_dict
    probe = psycopg2.connect(
        dbname="postgres", user=settings["USER"], host=settings["HOST"] or "127.0.0.1"
    )
    try:
        with probe.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s", [database])
            return cursor.fetchone()[0]
    finally:
        probe.close()


def test_64_concurrent_clients_get_no_server_error(deployment, token):
    server = deployment.server
    statuses: Counter = Counter()
    errors: list[str] = []
    peak = [0]
    stop = time.monotonic() + SECONDS
    paths = ["/api/v1/models/", "/api/v1/versions/", "/api/v1/policies/", "/login/"]

    def client(n: int) -> None:
        i = n
        while time.monotonic() < stop:
            try:
                answer = server.get(paths[i % len(paths)], token, timeout=60)
                statuses[answer.status] += 1
            except OSError as error:  # a refused or dropped connection is a failure too
                errors.append(repr(error))
            i += 1

    database = deployment.env["DATABASE_URL"].rsplit("/", 1)[-1]
    on_postgres = connection.vendor == "postgresql"

    def watch() -> None:
        while time.monotonic() < stop:
            peak[0] = max(peak[0], _connections_to(database))
            time.sleep(0.2)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    if on_postgres:
        threads.append(threading.Thread(target=watch))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    total = sum(statuses.values())
    assert total > CLIENTS, statuses
    assert not errors, errors[:5]
    assert not [s for s in statuses if s >= 500], statuses
    assert set(statuses) == {200}, statuses
    if on_postgres:
        # One connection per gunicorn thread at most, plus the worker's (cluster processes and
        # its heartbeat), however many clients wait.
        assert 0 < peak[0] <= WORKERS * THREADS + 6, peak[0]
