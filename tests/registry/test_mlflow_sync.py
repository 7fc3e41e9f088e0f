"""The MLflow sync (issue 15, "Governing an existing MLflow registry") against a real MLflow
tracking server: MLflow 3.17.2 in its own virtualenv (var/bench/mlflow-venv, installed here when
missing, the one bench/bench_vs_mlflow.py uses), `mlflow server` on a free loopback port with a
SQLite store and a local artifact destination it proxies (`--serve-artifacts`). Models, runs,
model files and versions are made through MLflow's own REST API; the registry reads them with
`sync_mlflow`, and what it writes back is read from MLflow again. No mock anywhere."""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
import requests
from django.core.management import CommandError, call_command
from django.utils import timezone
from django_q.conf import Conf

from audit.models import AuditEvent
from core.choices import Role
from governance.choices import Environment, NotificationKind
from governance.models import Notification
from governance.promotion import deploy_version
from governance.routing import production_roles, staging_roles
from registry import custody
from registry.mlflow import jobs, sync
from registry.mlflow.choices import SyncKind, SyncStatus
from registry.models import Artifact, MlflowSyncRecord, ModelVersion, RegisteredModel
from tests.factories import ApprovalFactory
from tests.registry import scanning_samples as samples

pytestmark = [pytest.mark.django_db, pytest.mark.xdist_group("mlflow-server")]

ROOT = Path(__file__).resolve().parents[2]
MLFLOW_VERSION = "3.17.2"
MLFLOW_VENV = ROOT / "var" / "bench" / "mlflow-venv"
API = "/api/2.0/mlflow"
PROXY = "/api/2.0/mlflow-artifacts/artifacts"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def ensure_mlflow() -> Path:
    """MLflow's own virtualenv (never the product's): made and installed on a fresh machine,
    kept in var/ for the next run."""
    python = MLFLOW_VENV / "bin" / "python"
    if python.exists():
        done = subprocess.run(
            [str(python), "-c", "import mlflow; print(mlflow.__version__)"],
            capture_output=True,
            text=True,
        )
        if done.stdout.strip() == MLFLOW_VERSION:
            return MLFLOW_VENV / "bin" / "mlflow"
    MLFLOW_VENV.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "venv", str(MLFLOW_VENV)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", f"mlflow=={MLFLOW_VERSION}"], check=True
    )
    return MLFLOW_VENV / "bin" / "mlflow"


@dataclass
class Mlflow:
    """The server, and the calls a team's scripts make to it (REST, as the mlflow client does)."""

    url: str
    artifacts: Path

    def call(self, method: str, endpoint: str, **body):
        kwargs = {"params": body} if method == "GET" else {"json": body}
        answer = requests.request(method, f"{self.url}{API}/{endpoint}", timeout=30, **kwargs)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def create_model(self, name: str, **tags: str) -> None:
        self.call(
            "POST",
            "registered-models/create",
            name=name,
            tags=[{"key": k, "value": v} for k, v in tags.items()],
        )

    def create_version(self, name: str, files: dict[str, bytes]) -> tuple[str, Path]:
        """A run holding `files` under model/, registered as the next version of `name`; the
        version and the folder the server keeps the files in."""
        run = self.call("POST", "runs/create", experiment_id="0")["run"]["info"]
        folder = f"0/{run['run_id']}/artifacts/model"
        for path, content in files.items():
            put = requests.put(f"{self.url}{PROXY}/{folder}/{path}", data=content, timeout=30)
            assert put.status_code == 200, put.text
        made = self.call(
            "POST",
            "model-versions/create",
            name=name,
            source=f"mlflow-artifacts:/{folder}",
            run_id=run["run_id"],
        )["model_version"]
        assert made["status"] == "READY"
        return made["version"], self.artifacts / folder

    def aliases(self, name: str) -> dict[str, str]:
        model = self.call("GET", "registered-models/get", name=name)["registered_model"]
        return {entry["alias"]: entry["version"] for entry in model.get("aliases", [])}

    def version_tags(self, name: str, version: str) -> dict[str, str]:
        found = self.call("GET", "model-versions/get", name=name, version=version)
        return {tag["key"]: tag["value"] for tag in found["model_version"].get("tags", [])}

    def set_alias(self, name: str, alias: str, version: str) -> None:
        self.call("POST", "registered-models/alias", name=name, alias=alias, version=version)


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory):
    binary = ensure_mlflow()
    root = tmp_path_factory.mktemp("mlflow-server")
    port = free_port()
    log_path = root / "mlflow.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [
                str(binary),
                "server",
                "--backend-store-uri",
                f"sqlite:///{root / 'mlflow.sqlite3'}",
                "--artifacts-destination",
                str(root / "artifacts"),
                "--serve-artifacts",
                "--workers",
                "1",
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
    deadline = time.monotonic() + 300
    try:
        while True:
            if process.poll() is not None:
                pytest.fail(f"mlflow server exited:\n{log_path.read_text()[-3000:]}")
            try:
                # /health answers from uvicorn's parent while the worker still imports: wait
                # for the registry API itself.
                probe = requests.get(f"{url}{API}/registered-models/search", timeout=5)
                if probe.status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                pytest.fail(
                    f"mlflow server did not answer in 300 s:\n{log_path.read_text()[-3000:]}"
                )
            time.sleep(0.5)
        yield Mlflow(url, root / "artifacts")
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


@pytest.fixture
def sync_worker(settings, monkeypatch):
    """django-q2 runs queued jobs at once, in this process (the scan, the write-back)."""
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": True}
    monkeypatch.setattr(Conf, "SYNC", True)


def onnx_bytes(seed: int = 0) -> bytes:
    """A small real model: a logistic regression exported with skl2onnx (another seed, other
    bytes)."""
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression

    features = np.random.RandomState(seed).rand(20, 3).astype(np.float32)
    labels = (features[:, 0] > 0.5).astype(int)
    classifier = LogisticRegression().fit(features, labels)
    model = to_onnx(classifier, features[:1], target_opset={"": 17, "ai.onnx.ml": 3})
    return model.SerializeToString()


MLMODEL = b"flavors:\n  onnx:\n    data: model.onnx\n    onnx_version: 1.17.0\n"


def records(name: str):
    return MlflowSyncRecord.objects.filter(mlflow_model=name)


def approve(version: ModelVersion, environment: str, state: str, people) -> ModelVersion:
    """The review path's outcome, reached without walking it (the workflow's own tests do):
    a new review cycle with an approval by each role the tier needs. The deployment itself
    below goes through the real domain function."""
    cycle = version.review_cycle + 1
    ModelVersion.objects.filter(pk=version.pk).update(state=state, review_cycle=cycle)
    tier = version.model.risk_tier
    roles = staging_roles(tier) if environment == Environment.STAGING else production_roles(tier)
    for role in roles:
        ApprovalFactory(
            version=version, environment=environment, cycle=cycle, role=role, user=people[role]
        )
    return ModelVersion.objects.select_related("model").get(pk=version.pk)


def test_sync_takes_custody_writes_back_deployments_and_reports_moved_aliases(
    mlflow_server,
    make_user,
    owner,
    users,
    sync_worker,
    django_capture_on_commit_callbacks,
    monkeypatch,
):
    mlflow = mlflow_server
    sam = make_user(Role.MODEL_OWNER, username="sam")
    onnx = onnx_bytes()
    evil = samples.reduce_pickle()
    mlflow.create_model("credit-scorer", owner=owner.username)
    v1, v1_folder = mlflow.create_version("credit-scorer", {"model.onnx": onnx, "MLmodel": MLMODEL})
    v2, _ = mlflow.create_version("credit-scorer", {"model.pkl": evil})
    mlflow.create_model("churn")  # no owner tag: --owner owns it
    mlflow.create_version("churn", {"model.onnx": onnx})
    mlflow.create_model("orphan", owner="nadia")  # nobody of that name here yet
    mlflow.create_version("orphan", {"model.onnx": onnx})

    # --- import: one model cannot be (its owner has no account): the command says so --------
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(CommandError, match="could not be imported"),
    ):
        call_command("sync_mlflow", "--tracking-uri", mlflow.url, "--owner", "sam")

    credit = RegisteredModel.objects.get(name="credit-scorer")
    assert (credit.owner, credit.risk_tier) == (owner, "HIGH")
    assert credit.tags == {"mlflow.model": "credit-scorer"}
    assert RegisteredModel.objects.get(name="churn").owner == sam
    assert not RegisteredModel.objects.filter(name="orphan").exists()
    orphan = records("orphan").get(kind=SyncKind.VERSION)
    assert orphan.status == SyncStatus.FAILED and "'nadia'" in orphan.last_error
    assert orphan.version is None

    first = credit.versions.get(version=v1)
    assert first.tags == {"mlflow.model": "credit-scorer", "mlflow.version": v1}
    assert first.state == "DRAFT"
    held = {a.name: a for a in first.artifacts.all()}
    assert set(held) == {"model.onnx", "MLmodel"}
    # Custody: the registry holds the bytes MLflow holds, hashed by itself, scanned by its own
    # scanner in the worker.
    on_server = (v1_folder / "model.onnx").read_bytes()
    assert (
        held["model.onnx"].held
        and held["model.onnx"].sha256 == hashlib.sha256(on_server).hexdigest()
    )
    with custody.open_held(held["model.onnx"]) as stored:
        assert stored.read() == on_server
    assert (held["model.onnx"].format, held["model.onnx"].type) == ("onnx", "model")
    assert held["model.onnx"].executable
    assert (held["model.onnx"].scan_status, held["model.onnx"].scan_source) == (
        "PASSED",
        "REGISTRY",
    )
    # MLflow's metadata file is held too, and the registry's rules cannot vouch for plain text.
    assert (held["MLmodel"].type, held["MLmodel"].scan_status) == ("config", "FAILED")
    pickle = Artifact.objects.get(version__model=credit, version__version=v2)
    assert (pickle.name, pickle.scan_status, pickle.scan_source) == (
        "model.pkl",
        "FAILED",
        "REGISTRY",
    )
    assert any(f["severity"] == "CRITICAL" for f in pickle.scan_findings)

    record = records("credit-scorer").get(kind=SyncKind.VERSION, mlflow_version=v1)
    assert record.status == SyncStatus.COMPLETE and record.version == first
    assert {f["path"]: f["sha256"] for f in record.files}["model.onnx"] == held["model.onnx"].sha256
    imported = AuditEvent.objects.get(action="MLFLOW_IMPORT_VERSION", version_id=first.pk)
    assert imported.user_id == "system"
    assert imported.details["source"].startswith("mlflow-artifacts:/")
    assert AuditEvent.objects.filter(action="ADD_ARTIFACT", version_id=first.pk).count() == 2
    refused = AuditEvent.objects.get(
        action="MLFLOW_IMPORT_FAILED", details__mlflowModel="orphan", details__mlflowVersion="1"
    )
    assert "nadia" in refused.details["reason"]
    run = MlflowSyncRecord.objects.get(kind=SyncKind.RUN)
    assert run.status == SyncStatus.FAILED and "orphan" in run.last_error
    # The registry's view, written back on each MLflow version.
    assert mlflow.version_tags("credit-scorer", v1) == {
        "governance.state": "DRAFT",
        "governance.riskTier": "HIGH",
    }
    assert mlflow.aliases("credit-scorer") == {}

    # --- again: nothing is imported twice; the failed one resumes once it can ---------------
    counts = (ModelVersion.objects.count(), Artifact.objects.count(), AuditEvent.objects.count())
    report = sync.sync(mlflow.url)
    assert report.imported == [] and list(report.failed) == ["orphan", "orphan/1"]
    assert ModelVersion.objects.count() == counts[0] and Artifact.objects.count() == counts[1]
    assert not AuditEvent.objects.filter(action="MLFLOW_IMPORT_VERSION", seq__gt=counts[2]).exists()
    make_user(Role.MODEL_OWNER, username="nadia")
    report = sync.sync(mlflow.url)
    assert report.imported == ["orphan/1"] and not report.failed
    assert RegisteredModel.objects.get(name="orphan").owner.username == "nadia"
    assert MlflowSyncRecord.objects.get(kind=SyncKind.RUN).status == SyncStatus.COMPLETE

    # --- deployed here: the alias follows in MLflow ------------------------------------------
    people = users
    first = approve(first, Environment.STAGING, "APPROVED_STAGING", people)
    with django_capture_on_commit_callbacks(execute=True):
        deploy_version(first, actor=users[Role.SRE])
    assert mlflow.aliases("credit-scorer") == {"staging": v1}
    assert mlflow.version_tags("credit-scorer", v1)["governance.state"] == "STAGING"
    written = AuditEvent.objects.filter(action="MLFLOW_WRITE_BACK", details__alias="staging")
    assert written.get().details["toVersion"] == v1

    first = approve(first, Environment.PRODUCTION, "APPROVED_PRODUCTION", people)
    with monkeypatch.context() as patched:
        # MLflow cannot be reached while the deployment commits: the deployment stands, the
        # write-back job fails, and the next sync writes what is pending (not a violation).
        patched.setattr(sync, "credentials_for", lambda uri: f"http://127.0.0.1:{free_port()}")
        with django_capture_on_commit_callbacks(execute=True):
            deploy_version(first, actor=users[Role.SRE])
    assert ModelVersion.objects.get(pk=first.pk).state == "PRODUCTION"
    assert mlflow.aliases("credit-scorer") == {"staging": v1}
    report = sync.sync(mlflow.url)
    assert report.moved == [] and report.written == 3  # two aliases and the state tag
    # On to production: it holds `production`, and `staging` (nothing else is there) is gone.
    assert mlflow.aliases("credit-scorer") == {"production": v1}
    assert mlflow.version_tags("credit-scorer", v1)["governance.state"] == "PRODUCTION"

    # --- moved in MLflow behind the registry's back: a violation here, reported once ---------
    mlflow.set_alias("credit-scorer", "production", v2)
    seq = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first()
    report = sync.sync(mlflow.url)
    assert report.moved == [
        {"model": "credit-scorer", "alias": "production", "found": v2, "expected": v1}
    ]
    moved = AuditEvent.objects.get(action="MLFLOW_ALIAS_MOVED", seq__gt=seq)
    second = credit.versions.get(version=v2)
    assert (moved.event_type, moved.version_id) == ("POLICY_VIOLATION", second.pk)
    assert moved.details["expectedVersion"] == v1
    alerted = Notification.objects.filter(kind=NotificationKind.VIOLATION, version=second)
    assert {n.user for n in alerted} == {owner, users[Role.MRC]}
    model_record = records("credit-scorer").get(kind=SyncKind.MODEL)
    assert model_record.alias_violations["production"]["found"] == v2
    # The registry writes aliases only when it deploys: it does not move this one back.
    assert mlflow.aliases("credit-scorer") == {"production": v2}
    assert sync.sync(mlflow.url).moved == []  # still open, not reported twice
    assert AuditEvent.objects.filter(action="MLFLOW_ALIAS_MOVED").count() == 1

    mlflow.set_alias("credit-scorer", "production", v1)  # the team puts it back
    sync.sync(mlflow.url)
    restored = AuditEvent.objects.get(action="MLFLOW_ALIAS_RESTORED")
    assert restored.details["alias"] == "production"
    model_record.refresh_from_db()
    assert model_record.alias_violations == {}


def test_a_version_that_cannot_be_taken_into_custody_is_not_recorded_complete(
    mlflow_server, owner, settings
):
    """A file that is not what its name says stops the whole version: no version, no artifact,
    none of its bytes kept, the record FAILED with the reason; fixed in MLflow, the next sync
    imports it."""
    mlflow = mlflow_server
    mlflow.create_model("half-broken", owner=owner.username)
    onnx = onnx_bytes(seed=7)
    _, folder = mlflow.create_version(
        "half-broken", {"a-weights.onnx": onnx, "b-model.onnx": b"this is not an ONNX model"}
    )
    sync.sync(mlflow.url, owner=owner)

    record = records("half-broken").get(kind=SyncKind.VERSION)
    assert record.status == SyncStatus.FAILED and record.version is None
    assert "b-model.onnx is named like onnx" in record.last_error
    model = RegisteredModel.objects.get(name="half-broken")
    assert not model.versions.exists()
    assert not Artifact.objects.filter(name__in=["a-weights.onnx", "b-model.onnx"]).exists()
    good = custody.storage_name_for(hashlib.sha256(onnx).hexdigest())
    assert not Artifact.objects.filter(storage_name=good).exists()
    assert not custody.artifact_storage().exists(good)  # nothing half-stored
    failed = AuditEvent.objects.get(
        action="MLFLOW_IMPORT_FAILED", details__mlflowModel="half-broken"
    )
    assert failed.details["attempts"] == 1

    (folder / "b-model.onnx").write_bytes(onnx)  # the team fixes the file in its store
    # The schedule's next sync (due 15 minutes after the last one) picks it up.
    settings.MLFLOW_TRACKING_URI = mlflow.url
    assert "not due until" in jobs.scheduled_sync()
    MlflowSyncRecord.objects.filter(kind=SyncKind.RUN).update(next_attempt_at=timezone.now())
    assert "imported" in jobs.scheduled_sync()
    record.refresh_from_db()
    assert record.status == SyncStatus.COMPLETE and record.attempts == 0
    assert sorted(record.version.artifacts.values_list("name", flat=True)) == [
        "a-weights.onnx",
        "b-model.onnx",
    ]


def test_an_unreachable_server_fails_clearly_records_nothing_complete_and_backs_off(
    settings, owner
):
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    with pytest.raises(CommandError, match=r"MLflow at http://127\.0\.0\.1:\d+ is unreachable"):
        call_command("sync_mlflow", "--tracking-uri", dead, "--owner", owner.username)
    run = MlflowSyncRecord.objects.get(kind=SyncKind.RUN)
    assert (run.status, run.attempts) == (SyncStatus.FAILED, 1)
    assert "no answer" in run.last_error
    assert not MlflowSyncRecord.objects.exclude(kind=SyncKind.RUN).exists()
    failed = AuditEvent.objects.get(action="MLFLOW_SYNC_FAILED")
    assert failed.details["attempts"] == 1

    # The schedule waits out the back-off, then tries again and waits twice as long.
    settings.MLFLOW_TRACKING_URI = dead
    assert "backing off" in jobs.scheduled_sync()
    assert AuditEvent.objects.filter(action="MLFLOW_SYNC_FAILED").count() == 1
    MlflowSyncRecord.objects.filter(pk=run.pk).update(next_attempt_at=timezone.now())
    began = timezone.now()
    assert "unreachable" in jobs.scheduled_sync()
    run.refresh_from_db()
    assert run.attempts == 2
    assert (
        began + timedelta(minutes=9) < run.next_attempt_at < timezone.now() + timedelta(minutes=11)
    )
    assert AuditEvent.objects.filter(action="MLFLOW_SYNC_FAILED").count() == 2


def test_bad_arguments_are_refused_by_name(owner):
    with pytest.raises(CommandError, match="not an MLflow tracking server address"):
        call_command("sync_mlflow", "--tracking-uri", "ftp://example.org")
    with pytest.raises(CommandError, match="--owner 'nobody'"):
        call_command("sync_mlflow", "--tracking-uri", "http://127.0.0.1:1", "--owner", "nobody")
    assert not MlflowSyncRecord.objects.exists()


def test_the_schedule_does_nothing_without_a_tracking_uri(settings):
    settings.MLFLOW_TRACKING_URI = ""
    assert jobs.scheduled_sync() == "MLFLOW_TRACKING_URI is not set: nothing to sync"
    assert not MlflowSyncRecord.objects.exists()


def test_the_admin_shows_the_sync_records_read_only(client, users):
    dead = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(CommandError):
        call_command("sync_mlflow", "--tracking-uri", dead)
    run = MlflowSyncRecord.objects.get(kind=SyncKind.RUN)
    client.force_login(users[Role.MRC])
    listing = client.get("/admin/registry/mlflowsyncrecord/?kind__exact=RUN")
    assert listing.status_code == 200
    assert "FAILED" in listing.content.decode() and "no answer from" in listing.content.decode()
    page = client.get(f"/admin/registry/mlflowsyncrecord/{run.pk}/change/")
    assert page.status_code == 200 and dead in page.content.decode()
    assert client.get("/admin/registry/mlflowsyncrecord/add/").status_code == 403
    assert client.post(f"/admin/registry/mlflowsyncrecord/{run.pk}/delete/").status_code == 403
    client.force_login(users[Role.MODEL_OWNER])
    assert client.get("/admin/registry/mlflowsyncrecord/").status_code == 302  # to the login
