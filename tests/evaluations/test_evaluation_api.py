"""The evaluations API: suites, queueing a run by upload, validation, permissions, lists."""

from __future__ import annotations

import hashlib
import io
import json

import numpy as np
import pandas as pd
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_q.conf import Conf
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from audit.models import AuditEvent
from core.choices import Role
from evaluations.choices import RunStatus
from evaluations.metrics import GUIDE_THRESHOLDS, TIER_THRESHOLDS
from evaluations.models import EvaluationRun
from registry.choices import RiskTier
from tests.factories import ModelVersionFactory, RegisteredModelFactory

pytestmark = pytest.mark.django_db


# ---- data -----------------------------------------------------------------------------------


def make_frame(n: int = 600, seed: int = 1, *, biased: bool = False) -> pd.DataFrame:
    """A good classifier (about 95% accurate); `biased` makes group M selected far less."""
    rng = np.random.default_rng(seed)
    y_true = rng.binomial(1, 0.4, size=n)
    score = np.clip(0.7 * y_true + 0.3 * rng.random(n), 0, 1)
    y_pred = (score >= 0.5).astype(int)
    flip = rng.random(n) < 0.05
    y_pred[flip] = 1 - y_pred[flip]
    gender = rng.choice(["F", "M"], size=n)
    if biased:
        y_pred[(gender == "M") & (rng.random(n) < 0.6)] = 0
    adversarial = y_pred.copy()
    adv_flip = rng.random(n) < 0.1
    adversarial[adv_flip] = 1 - adversarial[adv_flip]
    return pd.DataFrame(
        {
            "y_true": y_true,
            "y_pred": y_pred,
            "y_score": score,
            "y_pred_adversarial": adversarial,
            "gender": gender,
            "region": rng.choice(["north", "south", "east"], size=n),
            "age": rng.normal(40, 10, size=n).round(1),
        }
    )


def csv_bytes(frame: pd.DataFrame | None = None, **kwargs) -> bytes:
    return (make_frame(**kwargs) if frame is None else frame).to_csv(index=False).encode()


def upload(content: bytes, name: str = "data.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="text/csv")


@pytest.fixture
def version(model):
    return ModelVersionFactory(model=model)


@pytest.fixture
def sync_worker(settings, monkeypatch):
    """django-q2 runs the task in the calling process (Q_CLUSTER["sync"])."""
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": True}
    monkeypatch.setattr(Conf, "SYNC", True)


def url_for(version) -> str:
    return f"/api/v1/versions/{version.pk}/evaluations/"


def post_run(client, version, **fields):
    fields.setdefault("suite", "performance")
    fields.setdefault("dataset", upload(csv_bytes()))
    return client.post(url_for(version), fields, format="multipart")


# ---- suites ---------------------------------------------------------------------------------


def test_suites_list_names_each_suite_with_metrics_and_tier_defaults(api, owner):
    response = api(owner).get("/api/v1/evaluation-suites/")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 7 and body["next"] is None
    suites = {s["key"]: s for s in body["results"]}
    assert set(suites) == {
        "performance",
        "bias",
        "robustness",
        "security",
        "smoke",
        "explainability",
        "validation",
    }
    for suite in suites.values():
        assert suite["description"] and suite["metrics"]
        assert set(suite["defaultThresholds"]) == {"LOW", "MEDIUM", "HIGH"}
    assert (
        suites["performance"]["defaultThresholds"]["MEDIUM"]
        == (GUIDE_THRESHOLDS["performanceThresholds"])
    )
    assert suites["bias"]["defaultThresholds"]["HIGH"] == TIER_THRESHOLDS["HIGH"]["biasThresholds"]
    assert "f1Score" in suites["performance"]["metrics"]
    assert suites["bias"]["needsSensitiveFeatures"] is True
    assert (
        suites["security"]["defaultThresholds"]["LOW"]
        == TIER_THRESHOLDS["LOW"]["securityThresholds"]
    )
    assert suites["security"]["defaultThresholds"]["LOW"]["highSeverityFindings"] == 0


def test_suites_need_authentication(api):
    assert api().get("/api/v1/evaluation-suites/").status_code == 401


# ---- the happy path, per suite --------------------------------------------------------------

CASES = {
    "performance": ({"segmentColumns": ["region"]}, {}, "PASSED"),
    "bias": ({"sensitiveFeatures": ["gender"]}, {"biased": True}, "FAILED"),
    # The dataset carries its own predictions: the registry did not run the model, so the
    # attack metrics (adversarialAccuracy aside, from y_pred_adversarial) are not measured and
    # the run is INCOMPLETE, never a pass.
    "robustness": ({}, {}, "INCOMPLETE"),
    "security": ({}, {}, "INCOMPLETE"),
}


@pytest.mark.parametrize("suite", list(CASES))
def test_upload_queues_a_run_that_the_worker_completes(
    suite, api, owner, version, sync_worker, django_capture_on_commit_callbacks
):
    extra, data_kwargs, expected = CASES[suite]
    content = csv_bytes(**data_kwargs)
    if suite == "robustness":
        extra = {**extra, "referenceDataset": upload(csv_bytes(seed=2), "reference.csv")}
    with django_capture_on_commit_callbacks(execute=True):
        response = post_run(api(owner), version, suite=suite, dataset=upload(content), **extra)
    assert response.status_code == 202, response.content
    body = response.json()
    assert body == {"id": body["id"], "status": "QUEUED"}
    assert response["Location"] == f"/api/v1/evaluations/{body['id']}/"

    run = api(owner).get(f"/api/v1/evaluations/{body['id']}/").json()
    assert run["status"] == expected, run["error"] or run["thresholdResults"]
    assert run["progress"] == 100
    assert run["suite"] == suite and run["version"] == version.pk
    assert run["dataset"]["sha256"] == hashlib.sha256(content).hexdigest()
    assert run["dataset"]["rows"] == 600
    assert run["dataset"]["columns"][:2] == ["y_true", "y_pred"]
    assert run["requestedBy"] == "olivia"
    assert run["startedAt"] and run["finishedAt"] and run["createdAt"]
    assert run["metrics"] and run["error"] == ""
    assert run["thresholds"] == TIER_THRESHOLDS["MEDIUM"]
    for result in run["thresholdResults"]:
        assert {"metric", "value", "threshold", "direction", "passed"} <= set(result)
    if suite == "robustness":
        assert run["referenceDataset"]["rows"] == 600
        assert run["metrics"]["driftDetection"] is not None
    else:
        assert run["referenceDataset"] is None
    if suite == "bias":
        assert run["sensitiveFeatures"] == ["gender"]
        assert any(r["passed"] is False for r in run["thresholdResults"])


def test_parquet_upload_is_accepted(
    api, owner, version, sync_worker, django_capture_on_commit_callbacks
):
    buffer = io.BytesIO()
    make_frame().to_parquet(buffer)
    with django_capture_on_commit_callbacks(execute=True):
        response = post_run(
            api(owner),
            version,
            dataset=SimpleUploadedFile("data.parquet", buffer.getvalue()),
        )
    assert response.status_code == 202, response.content
    run = EvaluationRun.objects.get()
    assert run.dataset_format == "parquet" and run.status == RunStatus.PASSED


def test_thresholds_default_to_the_models_risk_tier(api, owner, version):
    version.model.risk_tier = RiskTier.HIGH
    version.model.save()
    assert post_run(api(owner), version).status_code == 202
    run = EvaluationRun.objects.get()
    assert run.thresholds == TIER_THRESHOLDS["HIGH"]
    assert (run.thresholds_source, run.thresholds_note) == ("TIER", "HIGH defaults")


def test_stricter_thresholds_given_with_the_request_are_used(api, owner, version):
    document = {
        "performanceThresholds": {"accuracy": 0.99},
        "biasThresholds": {},
        "robustnessThresholds": {"driftDetection": 0.1},
    }
    response = post_run(api(owner), version, thresholds=json.dumps(document))
    assert response.status_code == 202
    run = EvaluationRun.objects.get()
    assert run.thresholds["performanceThresholds"] == {
        **GUIDE_THRESHOLDS["performanceThresholds"],
        "accuracy": 0.99,
    }
    assert (run.thresholds_source, run.thresholds_note) == (
        "STRICTER",
        "MEDIUM defaults, stricter: accuracy 0.99",
    )
    body = api(owner).get(f"/api/v1/evaluations/{run.pk}/").json()
    assert (body["thresholdsSource"], body["predictionsSource"]) == ("STRICTER", "SUBMITTED")


def test_what_the_thresholds_leave_out_keeps_the_tiers_value(api, owner, version):
    document = {"biasThresholds": {"demographicParity": 0.05}, "performanceThresholds": {}}
    assert post_run(api(owner), version, thresholds=json.dumps(document)).status_code == 202
    run = EvaluationRun.objects.get()
    assert run.thresholds["biasThresholds"] == {
        **TIER_THRESHOLDS["MEDIUM"]["biasThresholds"],
        "demographicParity": 0.05,
    }
    assert run.thresholds["performanceThresholds"] == GUIDE_THRESHOLDS["performanceThresholds"]
    assert run.thresholds_source == "TIER"  # the performance run is judged by the tier's


def test_queued_run_is_audited_and_its_file_kept_under_media_root(api, owner, version, settings):
    content = csv_bytes()
    response = post_run(api(owner), version, dataset=upload(content))
    run = EvaluationRun.objects.get(pk=response.json()["id"])
    assert run.status == RunStatus.QUEUED and run.progress == 0
    path = settings.MEDIA_ROOT / run.dataset.name
    assert path.read_bytes() == content
    event = AuditEvent.objects.get(event_type="EVALUATION_RUN")
    assert event.action == "EVALUATION_QUEUED"
    assert event.user_id == "olivia" and event.version_id == version.pk
    assert event.details["runId"] == run.pk
    assert event.details["suite"] == "performance"
    assert event.details["datasetSha256"] == hashlib.sha256(content).hexdigest()


# ---- validation -----------------------------------------------------------------------------


def _without(column: str) -> bytes:
    return csv_bytes(make_frame().drop(columns=[column]))


def _non_binary() -> bytes:
    frame = make_frame()
    frame.loc[3, "y_true"] = 2
    return csv_bytes(frame)


INVALID = {
    "missing y_true": (
        {"dataset": lambda: upload(_without("y_true"))},
        "dataset",
        "missing required column 'y_true'",
    ),
    "non-binary labels": (
        {"dataset": lambda: upload(_non_binary())},
        "dataset",
        "non-binary label in y_true: 2 at row 4",
    ),
    "thresholds not JSON": ({"thresholds": "{accuracy: 0.9"}, "thresholds", "not valid JSON"),
    "thresholds NaN": (
        {"thresholds": '{"performanceThresholds": {"accuracy": NaN}}'},
        "thresholds",
        "NaN",
    ),
    "thresholds unknown metric": (
        {"thresholds": '{"performanceThresholds": {"auc": 0.9}}'},
        "thresholds",
        "unknown metric 'auc'",
    ),
    "thresholds out of range": (
        {"thresholds": '{"biasThresholds": {"disparateImpact": 1.5}}'},
        "thresholds",
        "between 0 and 1",
    ),
    "thresholds not an object": ({"thresholds": "[1, 2]"}, "thresholds", "must be an object"),
    "unknown sensitive feature": (
        {"suite": "bias", "sensitiveFeatures": ["race"]},
        "sensitiveFeatures",
        "unknown sensitive feature column 'race'",
    ),
    "bias without sensitive feature": ({"suite": "bias"}, "sensitiveFeatures", "at least one"),
    "unknown segment column": (
        {"segmentColumns": ["country"]},
        "segmentColumns",
        "unknown segment column 'country'",
    ),
    "unknown suite": ({"suite": "fairness"}, "suite", "not a valid choice"),
    "reference for another suite": (
        {"referenceDataset": lambda: upload(csv_bytes(), "ref.csv")},
        "referenceDataset",
        "only by the robustness, security and validation suites",
    ),
    "bad reference": (
        {
            "suite": "robustness",
            "referenceDataset": lambda: upload(b"a,b\n1,2\n3,4,5,6\n", "ref.csv"),
        },
        "referenceDataset",
        "reference dataset: unparseable CSV",
    ),
    "not UTF-8": ({"dataset": lambda: upload(b"y_true,y_pred\n\xff\xfe,1\n")}, "dataset", "UTF-8"),
    "header only": ({"dataset": lambda: upload(b"y_true,y_pred\n")}, "dataset", "no data rows"),
    "empty file": ({"dataset": lambda: upload(b"")}, "dataset", "empty"),
    "no dataset": ({"dataset": None}, "dataset", "No file was submitted"),
    "not a file": ({"dataset": "y_true,y_pred\n1,1\n"}, "dataset", "not a file"),
    "unknown field": ({"comment": "hi"}, "comment", "unknown field"),
    "bad parquet": (
        {"dataset": lambda: SimpleUploadedFile("d.parquet", b"PAR1 not really")},
        "dataset",
        "unparseable Parquet",
    ),
}


@pytest.mark.parametrize("case", list(INVALID))
def test_invalid_upload_is_refused_naming_the_field(case, api, owner, version, settings):
    fields, field, message = INVALID[case]
    fields = {k: v() if callable(v) else v for k, v in fields.items()}
    fields = {k: v for k, v in fields.items() if v is not None}
    if case == "no dataset":
        response = api(owner).post(url_for(version), {"suite": "performance"}, format="multipart")
    else:
        response = post_run(api(owner), version, **fields)
    assert response.status_code == 400, response.content
    body = response.json()
    assert field in body, body
    assert any(message in text for text in body[field]), body
    assert not EvaluationRun.objects.exists()
    media = settings.MEDIA_ROOT
    assert not media.exists() or not any(p.is_file() for p in media.rglob("*"))


def test_too_big_a_file_is_refused(api, owner, version, settings):
    settings.EVALUATION_MAX_UPLOAD_BYTES = 1000
    response = post_run(api(owner), version)
    assert response.status_code == 400
    assert "file too big" in response.json()["dataset"][0]
    assert "over the limit of 1000 bytes" in response.json()["dataset"][0]


def test_too_many_rows_is_refused(api, owner, version, settings):
    settings.EVALUATION_MAX_ROWS = 100
    response = post_run(api(owner), version)
    assert response.status_code == 400
    assert "too many rows" in response.json()["dataset"][0]


def test_several_problems_are_reported_together(api, owner, version):
    response = post_run(
        api(owner),
        version,
        suite="bias",
        dataset=upload(_without("y_true")),
        sensitiveFeatures=["race"],
        thresholds="nope",
    )
    assert response.status_code == 400
    assert set(response.json()) == {"dataset", "sensitiveFeatures", "thresholds"}


def test_a_json_body_is_refused_with_415(api, owner, version):
    response = api(owner).post(
        url_for(version), {"suite": "performance", "dataset": "x"}, format="json"
    )
    assert response.status_code == 415
    assert not EvaluationRun.objects.exists()


def test_nul_characters_in_column_names_are_stored_safely(api, owner, version):
    frame = make_frame().rename(columns={"region": "reg\x00ion"})
    response = post_run(api(owner), version, dataset=upload(csv_bytes(frame)))
    assert response.status_code == 202
    assert "reg\ufffdion" in EvaluationRun.objects.get().dataset_columns


# ---- permissions ----------------------------------------------------------------------------


@pytest.fixture
def others(make_user):
    return {
        "other owner": make_user(Role.MODEL_OWNER, username="oscar"),
        "MRC": make_user(Role.MRC, username="mira"),
        "Auditor": make_user(Role.AUDITOR, username="audrey"),
        "Security Architect": make_user(Role.SECURITY_ARCHITECT, username="sam"),
        "Executive": make_user(Role.EXECUTIVE, username="eve"),
        "SRE": make_user(Role.SRE, username="sid"),
    }


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("owner", 202),
        ("other owner", 404),
        ("MRC", 202),  # independent validation (contract v1.1 "Roles")
        ("Auditor", 403),
        ("Security Architect", 403),
        ("Executive", 403),
        ("SRE", 403),
        ("anonymous", 401),
    ],
)
def test_who_may_run_an_evaluation(who, status, api, owner, others, version):
    user = {"owner": owner, "anonymous": None, **others}[who]
    response = post_run(api(user), version)
    assert response.status_code == status, response.content
    assert EvaluationRun.objects.exists() == (status == 202)
    if status == 403:
        assert "run evaluations" in response.json()["detail"]
        refusal = AuditEvent.objects.get(event_type="ACCESS_DENIED")
        assert refusal.action == "RUN_EVALUATION"
        assert refusal.version_id == version.pk and refusal.user_id == user.username


def test_a_retired_version_is_not_evaluated(api, owner, version):
    type(version).objects.filter(pk=version.pk).update(state="RETIRED")
    response = post_run(api(owner), version)
    assert response.status_code == 409
    assert response.json()["state"] == "RETIRED"


def test_unknown_version_is_404(api, owner):
    assert post_run(api(owner), type("V", (), {"pk": 999999})()).status_code == 404


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("owner", 200),
        ("MRC", 200),
        ("Auditor", 200),
        ("Security Architect", 200),
        ("Executive", 200),
        ("SRE", 403),
        ("other owner", 404),
        ("anonymous", 401),
    ],
)
def test_who_may_read_evaluations(who, status, api, owner, others, version):
    run_id = post_run(api(owner), version).json()["id"]
    user = {"owner": owner, "anonymous": None, **others}[who]
    client = api(user)
    assert client.get(f"/api/v1/evaluations/{run_id}/").status_code == status
    assert client.get(url_for(version)).status_code == status


def test_the_list_of_all_runs_shows_only_what_the_caller_may_read(api, owner, others, version):
    post_run(api(owner), version)
    theirs = ModelVersionFactory(model=RegisteredModelFactory(owner=others["other owner"]))
    post_run(api(others["other owner"]), theirs)
    mine = api(owner).get("/api/v1/evaluations/").json()
    assert [r["version"] for r in mine["results"]] == [version.pk]
    assert api(others["MRC"]).get("/api/v1/evaluations/").json()["count"] == 2
    assert api(others["SRE"]).get("/api/v1/evaluations/").status_code == 403
    filtered = api(others["MRC"]).get(f"/api/v1/evaluations/?version={theirs.pk}").json()
    assert [r["version"] for r in filtered["results"]] == [theirs.pk]


# ---- lists ----------------------------------------------------------------------------------


def _make_runs(version, requester, count: int, **fields) -> None:
    for i in range(count):
        EvaluationRun.objects.create(
            version=version,
            suite=fields.get("suite", ("performance", "bias")[i % 2]),
            status=fields.get("status", (RunStatus.PASSED, RunStatus.FAILED)[i % 2]),
            progress=100,
            metrics={"accuracy": 0.9},
            threshold_results=[{"metric": "accuracy", "value": 0.9, "passed": True}],
            dataset=f"evaluations/x/{i}.csv",
            dataset_name="d.csv",
            dataset_format="csv",
            dataset_sha256="0" * 64,
            dataset_size=10,
            dataset_rows=5,
            dataset_columns=["y_true", "y_pred"],
            requested_by=requester,
        )


def test_list_filters_by_suite_and_status_and_paginates(api, owner, version):
    _make_runs(version, owner, 6)
    client = api(owner)
    assert client.get(url_for(version)).json()["count"] == 6
    bias = client.get(url_for(version) + "?suite=bias").json()
    assert bias["count"] == 3 and {r["suite"] for r in bias["results"]} == {"bias"}
    failed = client.get(url_for(version) + "?status=FAILED").json()
    assert {r["status"] for r in failed["results"]} == {"FAILED"}
    page = client.get(url_for(version) + "?pageSize=4&page=2").json()
    assert len(page["results"]) == 2 and page["previous"]
    assert client.get(url_for(version) + "?status=DONE").status_code == 400
    assert "metrics" not in page["results"][0]


@pytest.mark.parametrize("reader", ["MRC", "owner"])
def test_list_runs_a_constant_number_of_queries(reader, owner, make_user, version):
    user = owner if reader == "owner" else make_user(Role.MRC, username="mira")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    for url in (url_for(version), "/api/v1/evaluations/"):
        client.get(url)  # warm-up: one-time lookups (content types) are not per row
    counts = []
    for total in (2, 40):
        _make_runs(version, owner, total - EvaluationRun.objects.count())
        for url in (url_for(version), "/api/v1/evaluations/"):
            with CaptureQueriesContext(connection) as ctx:
                response = client.get(url + "?pageSize=100")
            assert response.status_code == 200
            assert len(response.json()["results"]) == total
            counts.append(len(ctx.captured_queries))
    assert counts[:2] == counts[2:], counts
    assert max(counts) <= 12


def test_schema_documents_the_endpoints(api, owner):
    response = api(owner).get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    paths = json.loads(response.content)["paths"]
    assert "/api/v1/versions/{id}/evaluations/" in paths
    post = paths["/api/v1/versions/{id}/evaluations/"]["post"]
    assert "multipart/form-data" in post["requestBody"]["content"]
    assert "/api/v1/evaluations/{id}/" in paths
    assert "/api/v1/evaluation-suites/" in paths
