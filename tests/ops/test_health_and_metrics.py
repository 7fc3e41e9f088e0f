"""/healthz, /readyz and /metrics (ops/): what each says, who may read the metrics, and that the
registry's own gauges are counted from the data."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from evaluations.choices import RunStatus
from ops.heartbeat import beat
from ops.models import WorkerHeartbeat
from policies.choices import Severity, ViolationStatus
from registry.choices import VersionState
from tests.factories import EvaluationRunFactory, ModelVersionFactory, ViolationFactory

pytestmark = pytest.mark.django_db


def test_healthz_answers_without_touching_the_database(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz", HTTP_HOST="10.1.2.3")  # a load balancer asks by IP
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_is_ready_with_a_fresh_worker_heartbeat(client):
    beat()
    response = client.get("/readyz", HTTP_HOST="10.1.2.3")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert set(body["checks"]) == {"database", "broker", "storage", "worker"}
    assert all(check["ok"] for check in body["checks"].values())


def test_readyz_is_503_naming_the_worker_when_no_worker_beats(client):
    response = client.get("/readyz")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["worker"] == {
        "ok": False,
        "detail": "no background worker has ever beaten",
        "ms": checks["worker"]["ms"],
    }
    assert checks["database"]["ok"] and checks["broker"]["ok"]


def test_readyz_is_503_when_the_newest_heartbeat_is_older_than_a_minute(client):
    row = beat()
    WorkerHeartbeat.objects.filter(pk=row.pk).update(beat_at=timezone.now() - timedelta(seconds=75))
    response = client.get("/readyz")
    assert response.status_code == 503
    assert "s old" in response.json()["checks"]["worker"]["detail"]


def test_a_beat_updates_its_own_row_and_forgets_long_gone_workers():
    first = beat()
    WorkerHeartbeat.objects.create(
        name="gone:1",
        host="gone",
        pid=1,
        cluster="x",
        started_at=timezone.now() - timedelta(days=3),
        beat_at=timezone.now() - timedelta(days=2),
    )
    second = beat()
    assert second.pk == first.pk and second.beat_at >= first.beat_at
    assert list(WorkerHeartbeat.objects.values_list("name", flat=True)) == [first.name]


def _families(response) -> dict:
    return {f.name: f for f in text_string_to_metric_families(response.content.decode())}


def _samples(family) -> dict:
    return {tuple(sorted(s.labels.items())): s.value for s in family.samples}


def test_metrics_count_versions_reviews_violations_runs_and_the_chain(client):
    ModelVersionFactory.create_batch(2, state=VersionState.DRAFT)
    in_review = ModelVersionFactory(state=VersionState.MRC_REVIEW)
    ViolationFactory(version=in_review, severity=Severity.CRITICAL)
    ViolationFactory(version=in_review, severity=Severity.CRITICAL, rule_index=1)
    ViolationFactory(version=in_review, severity=Severity.LOW, status=ViolationStatus.RESOLVED)
    EvaluationRunFactory(version=in_review, status=RunStatus.QUEUED)
    EvaluationRunFactory(version=in_review, status=RunStatus.RUNNING)
    EvaluationRunFactory(version=in_review, status=RunStatus.PASSED)

    response = client.get("/metrics", HTTP_HOST="10.1.2.3")  # Prometheus scrapes by address
    assert response.status_code == 200
    families = _families(response)
    versions = _samples(families["registry_versions"])
    # The factories' versions plus those their violations and runs made for themselves.
    assert versions[(("state", "MRC_REVIEW"),)] == 1
    assert versions[(("state", "DRAFT"),)] >= 2
    assert _samples(families["registry_pending_reviews"])[(("stage", "MRC_REVIEW"),)] == 1
    violations = _samples(families["registry_open_violations"])
    assert violations[(("severity", "CRITICAL"),)] == 2
    assert violations[(("severity", "LOW"),)] == 0
    runs = _samples(families["registry_evaluations"])
    assert runs == {(("status", "QUEUED"),): 1, (("status", "RUNNING"),): 1}
    assert families["registry_evaluation_queue_age_seconds"].samples[0].value >= 0
    assert families["registry_audit_chain_length"].samples[0].value >= 0
    assert "registry_job_queue_length" in families
    # django-prometheus's own: requests, and on PostgreSQL (its wrapped engine) queries.
    assert "django_http_requests_total_by_method" in families
    assert ("django_db_execute" in families) == (connection.vendor == "postgresql")


def test_metrics_are_refused_from_elsewhere_without_the_token(client, settings):
    settings.METRICS_ALLOWED_IPS = ["10.0.0.9"]
    settings.METRICS_TOKEN = "scrape-secret-123"
    refused = client.get("/metrics")
    assert refused.status_code == 403
    assert "METRICS_TOKEN" in refused.json()["detail"]
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    allowed = client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-secret-123")
    assert allowed.status_code == 200
    assert b"registry_versions" in allowed.content


def test_metrics_are_refused_when_no_token_is_set_and_the_address_is_not_listed(client, settings):
    settings.METRICS_ALLOWED_IPS = []
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 403


def test_a_load_balancer_can_leave_the_worker_out_of_readiness(client):
    """No worker beats: /readyz is 503, /readyz?skip=worker is 200 (web hosts that can serve
    stay in the pool)."""
    assert client.get("/readyz").status_code == 503
    answer = client.get("/readyz?skip=worker")
    assert answer.status_code == 200
    assert set(answer.json()["checks"]) == {"database", "broker", "storage"}


def test_a_failing_check_names_the_error_type_only(client, monkeypatch):
    from ops import health

    def broken():
        raise OSError("cannot reach db-primary.internal:5432 as registry_admin")

    monkeypatch.setitem(health.CHECKS, "database", broken)
    answer = client.get("/readyz?skip=worker")
    assert answer.status_code == 503
    detail = answer.json()["checks"]["database"]["detail"]
    assert detail == "OSError (details in the log)"
    assert "db-primary" not in answer.content.decode()


def test_a_forwarded_address_never_opens_the_metrics(client, settings):
    """Reached directly, a web host must not believe X-Forwarded-For: 127.0.0.1."""
    settings.AUDIT_TRUSTED_PROXY_COUNT = 1
    settings.METRICS_ALLOWED_IPS = ["127.0.0.1"]
    settings.METRICS_TOKEN = ""
    refused = client.get("/metrics", REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR="127.0.0.1")
    assert refused.status_code == 403
