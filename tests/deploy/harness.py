"""Real processes for the deployment tests: a migrated database of their own (PostgreSQL when
the suite runs on it, else a SQLite file), gunicorn web servers and django-q2 workers started
from this checkout exactly as bin/run starts them, and Redis on its local port.

The processes share nothing with the test process but the database server, Redis and the
files under the test's directory; the test talks to them over HTTP like a load balancer would.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import psycopg2
import redis
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
GUNICORN = str(Path(PYTHON).with_name("gunicorn"))
REDIS_URL = "redis://127.0.0.1:6379"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def worker_index() -> int:
    """0 for the lone or first pytest-xdist worker, 1 for gw1, ...: picks Redis database
    numbers and database names that two workers never share."""
    name = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return int(name.removeprefix("gw") or 0)


def fresh_database(tmp: Path, label: str) -> str:
    """The URL of an empty database of this test's own, on the engine the suite runs on."""
    if connection.vendor != "postgresql":
        return f"sqlite:///{tmp / f'{label}.sqlite3'}"
    settings = connection.settings_dict
    name = f"registry_deploy_{label}_{worker_index()}"
    admin = psycopg2.connect(
        dbname="postgres",
        user=settings["USER"],
        host=settings["HOST"] or "127.0.0.1",
        port=settings["PORT"] or 5432,
        password=settings["PASSWORD"] or None,
    )
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    auth = settings["USER"] + (f":{settings['PASSWORD']}" if settings["PASSWORD"] else "")
    return f"postgres://{auth}@{settings['HOST'] or '127.0.0.1'}:{settings['PORT'] or 5432}/{name}"


def redis_db(offset: int) -> str:
    """A Redis database of this worker's own (10 and up: the product never uses those), empty."""
    number = 10 + 2 * worker_index() + offset
    redis.Redis.from_url(f"{REDIS_URL}/{number}").flushdb()
    return f"{REDIS_URL}/{number}"


_collected: dict[str, Path] = {}


def collected_static(env: dict, base: Path) -> Path:
    """Static files collected once per test process (as bin/run does at each start): hashed
    names and a manifest, without which DEBUG-off pages cannot render."""
    if "root" not in _collected:
        root = base / "static"
        done = subprocess.run(
            [PYTHON, "manage.py", "collectstatic", "--noinput", "-v", "0"],
            cwd=ROOT,
            env={**env, "DJANGO_STATIC_ROOT": str(root)},
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        _collected["root"] = root
    return _collected["root"]


@dataclass
class Deployment:
    """The environment one deployment's processes share, and the processes it started."""

    tmp: Path
    env: dict
    processes: list = field(default_factory=list)

    @classmethod
    def create(cls, tmp: Path, label: str, **extra: str) -> Deployment:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("PYTEST", "DJANGO_", "PROMETHEUS_"))
            and key not in {"DATABASE_URL", "Q_REDIS_URL", "REDIS_URL", "CACHE_URL"}
        }
        env.update(
            DATABASE_URL=fresh_database(tmp, label),
            DJANGO_SETTINGS_MODULE="config.settings",
            DJANGO_DEBUG="0",
            DJANGO_SECRET_KEY=secrets.token_urlsafe(48),
            DJANGO_SECURE_SSL_REDIRECT="0",
            DJANGO_SECURE_COOKIES="0",
            DJANGO_HSTS_SECONDS="0",
            DJANGO_MEDIA_ROOT=str(tmp / "media"),
            DJANGO_LOG_LEVEL="WARNING",
            AUDIT_SIGNING_KEY_FILE=str(tmp / "audit-signing-key.pem"),
            PYTHONUNBUFFERED="1",
        )
        env.update(extra)
        env["DJANGO_STATIC_ROOT"] = str(collected_static(env, tmp.parent))
        deployment = cls(tmp, env)
        deployment.manage("migrate", "--noinput", "-v", "0")
        deployment.manage("audit_signing_key", "--create-if-missing", "--quiet")
        return deployment

    def manage(self, *args: str, timeout: int = 300) -> str:
        done = subprocess.run(
            [PYTHON, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert done.returncode == 0, f"manage.py {' '.join(args)} failed:\n{done.stderr[-3000:]}"
        return done.stdout

    def shell(self, code: str) -> str:
        return self.manage("shell", "-c", code)

    def _spawn(self, name: str, argv: list[str], env: dict) -> subprocess.Popen:
        log = open(self.tmp / f"{name}.log", "w")  # noqa: SIM115 (closed with the process)
        process = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        process.log_path = self.tmp / f"{name}.log"
        process.log_file = log
        self.processes.append(process)
        return process

    def web(self, name: str, *, workers: int = 2, threads: int = 4, **extra: str) -> Server:
        port = free_port()
        env = {
            **self.env,
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "WEB_WORKERS": str(workers),
            "WEB_THREADS": str(threads),
            **extra,
        }
        process = self._spawn(name, [GUNICORN, "-c", "config/gunicorn.py", "config.wsgi"], env)
        server = Server(f"http://127.0.0.1:{port}", process)
        server.wait_until_up()
        return server

    def worker(self, name: str, **extra: str) -> subprocess.Popen:
        return self._spawn(name, [PYTHON, "manage.py", "qcluster"], {**self.env, **extra})

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                # gunicorn stops at once; an idle qcluster can take its guard cycles to drain.
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            process.log_file.close()

    def logs(self) -> str:
        return "\n".join(
            f"== {p.log_path.name}\n{p.log_path.read_text()[-4000:]}" for p in self.processes
        )


@dataclass
class Response:
    status: int
    headers: dict
    body: bytes
    cookies: list = field(default_factory=list)

    def json(self):
        return json.loads(self.body)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def request(url: str, *, method="GET", data=None, headers=None, timeout=30) -> Response:
    """One HTTP request on a fresh connection (as each load-balanced request is); redirects
    are answers, not followed."""
    body = data
    headers = dict(headers or {})
    if isinstance(data, dict):
        body = json.dumps(data).encode()
        headers.setdefault("Content-Type", "application/json")
    req = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with _opener.open(req, timeout=timeout) as answer:
            return Response(
                answer.status,
                dict(answer.headers),
                answer.read(),
                answer.headers.get_all("Set-Cookie") or [],
            )
    except urllib.error.HTTPError as answer:
        return Response(
            answer.code,
            dict(answer.headers),
            answer.read(),
            answer.headers.get_all("Set-Cookie") or [],
        )


@dataclass
class Server:
    url: str
    process: subprocess.Popen

    def wait_until_up(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(
                    f"the web server exited:\n{self.process.log_path.read_text()[-4000:]}"
                )
            try:
                if request(f"{self.url}/healthz", timeout=2).status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.3)
        raise AssertionError(f"the web server did not answer /healthz within {timeout} s")

    def get(self, path: str, token: str | None = None, **kwargs) -> Response:
        headers = kwargs.pop("headers", {})
        if token:
            headers["Authorization"] = f"Token {token}"
        return request(self.url + path, headers=headers, **kwargs)

    def post(self, path: str, data, token: str | None = None, **kwargs) -> Response:
        return self.get(path, token, method="POST", data=data, **kwargs)


def wait_for(predicate, *, timeout: float, every: float = 0.5, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def multipart(fields: dict, files: dict) -> tuple[bytes, str]:
    """A multipart/form-data body: fields {name: value or [values]}, files {name: (filename,
    bytes)}."""
    boundary = secrets.token_hex(16)
    parts = []
    for name, value in fields.items():
        for item in value if isinstance(value, list) else [value]:
            parts.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                f"{item}\r\n".encode()
            )
    for name, (filename, content) in files.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
            f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'.encode()
            + content
            + b"\r\n"
        )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"
