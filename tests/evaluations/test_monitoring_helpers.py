"""Shared data for the monitoring tests: a deployed version with a finished evaluation run
whose dataset is stored, and batches drawn like it (or shifted)."""

from __future__ import annotations

import hashlib
import io

import numpy as np
import pandas as pd
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django_q.conf import Conf

from evaluations.choices import DatasetFormat, PredictionsSource, Suite
from registry.models import ModelVersion
from tests.factories import EvaluationRunFactory, ModelVersionFactory


def frame(n: int = 2000, seed: int = 0, *, shift: float = 0.0) -> pd.DataFrame:
    """Features age (numbers), region (text), y_score from them; `shift` moves age and the
    score (drift)."""
    rng = np.random.default_rng(seed)
    age = rng.normal(40 + shift * 10, 10, size=n).round(1)
    region = rng.choice(["north", "south", "east"], size=n)
    score = np.clip(rng.beta(2, 5, size=n) + shift * 0.3, 0, 1)
    return pd.DataFrame({"age": age, "region": region, "y_score": score})


def reference_frame(n: int = 2000, seed: int = 1) -> pd.DataFrame:
    data = frame(n, seed)
    rng = np.random.default_rng(seed + 100)
    data["y_true"] = rng.binomial(1, data["y_score"])
    data["y_pred"] = (data["y_score"] >= 0.5).astype(int)
    data["gender"] = rng.choice(["F", "M"], size=n)
    return data[["age", "region", "gender", "y_true", "y_pred", "y_score"]]


def deployed_version(model=None, *, state: str = "PRODUCTION", tier: str | None = None):
    version = ModelVersionFactory(**({"model": model} if model is not None else {}))
    if tier is not None:
        version.model.risk_tier = tier
        version.model.save(update_fields=["risk_tier"])
    ModelVersion.objects.filter(pk=version.pk).update(state=state)
    version.refresh_from_db()
    store_reference_run(version)
    return version


def store_reference_run(version, data: pd.DataFrame | None = None, **fields):
    data = reference_frame() if data is None else data
    content = data.to_csv(index=False).encode()
    name = default_storage.save(
        f"evaluations/version-{version.pk}/reference.csv", ContentFile(content)
    )
    return EvaluationRunFactory(
        version=version,
        suite=fields.pop("suite", Suite.BIAS),
        dataset=name,
        dataset_name="reference.csv",
        dataset_format=DatasetFormat.CSV,
        dataset_sha256=hashlib.sha256(content).hexdigest(),
        dataset_size=len(content),
        dataset_rows=len(data),
        dataset_columns=list(data.columns),
        predictions_source=PredictionsSource.SUBMITTED,
        sensitive_features=fields.pop("sensitive_features", ["gender"]),
        **fields,
    )


def batch_frame(n: int = 1000, seed: int = 5, *, shift: float = 0.0, ids: bool = True):
    data = frame(n, seed, shift=shift)
    data["gender"] = np.random.default_rng(seed).choice(["F", "M"], size=n)
    data["y_pred"] = (data["y_score"] >= 0.5).astype(int)
    if ids:
        data["recordId"] = [f"r{seed}-{i}" for i in range(n)]
    return data


def csv_upload(data: pd.DataFrame, name: str = "batch.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data.to_csv(index=False).encode(), "text/csv")


def parquet_upload(data: pd.DataFrame, name: str = "batch.parquet") -> SimpleUploadedFile:
    sink = io.BytesIO()
    data.to_parquet(sink, index=False)
    return SimpleUploadedFile(name, sink.getvalue(), "application/octet-stream")


def jsonl_upload(data: pd.DataFrame, name: str = "batch.jsonl") -> SimpleUploadedFile:
    text = data.to_json(orient="records", lines=True)
    return SimpleUploadedFile(name, text.encode(), "application/x-ndjson")


def batches_url(version) -> str:
    return f"/api/v1/versions/{version.pk}/monitoring/batches/"


def outcomes_url(version) -> str:
    return f"/api/v1/versions/{version.pk}/monitoring/outcomes/"


def monitoring_url(version) -> str:
    return f"/api/v1/versions/{version.pk}/monitoring/"


def post_batch(client, version, data=None, *, batch_id: str = "b-1", upload=None):
    upload = upload if upload is not None else csv_upload(batch_frame() if data is None else data)
    return client.post(
        batches_url(version), {"file": upload, "batchId": batch_id}, format="multipart"
    )


def run_sync(settings, monkeypatch) -> None:
    """django-q2 runs queued tasks in the calling process."""
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": True}
    monkeypatch.setattr(Conf, "SYNC", True)
