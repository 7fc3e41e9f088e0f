"""What a version's production traffic is compared with: the dataset of its latest finished
evaluation run (PASSED, FAILED or INCOMPLETE), the evidence it was approved on.

Its feature columns (every column but y_true, y_pred, y_score, y_pred_adversarial) are the
columns a batch must carry. Its scores are the registry's own when the run's predictions were
the registry's (the run's model artifact is run over the dataset once, and the result kept in
storage beside the batches, `monitoring/baselines/`), else the dataset's y_score.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict

import pandas as pd
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from core.errors import DomainError
from evaluations import conf
from evaluations.choices import FINISHED_STATUSES, PredictionsSource, Suite
from evaluations.metrics import DatasetError, load_dataset, sha256_digest
from evaluations.metrics._common import RESERVED_COLUMNS, Y_SCORE
from evaluations.models import EvaluationRun
from evaluations.monitoring.ingest import Profile, profile_of, read_parquet, to_parquet
from registry import custody
from registry.execution import ExecutableModel, ExecutionError

logger = logging.getLogger(__name__)

BASELINE_FOLDER = "monitoring/baselines"
_CACHE_SIZE = 4
_cache: OrderedDict[tuple, object] = OrderedDict()
_lock = threading.Lock()


def latest_finished_run(version_id: int) -> EvaluationRun | None:
    return (
        EvaluationRun.objects.filter(version_id=version_id, status__in=FINISHED_STATUSES)
        .select_related("artifact")
        .order_by("-finished_at", "-id")
        .first()
    )


def sensitive_features(version_id: int, run: EvaluationRun) -> list[str]:
    """The sensitive features bias is measured on: the reference run's, else those of the
    version's latest finished bias run."""
    if run.sensitive_features:
        return list(run.sensitive_features)
    named = (
        EvaluationRun.objects.filter(
            version_id=version_id, suite=Suite.BIAS, status__in=FINISHED_STATUSES
        )
        .order_by("-finished_at", "-id")
        .values_list("sensitive_features", flat=True)
        .first()
    )
    return list(named or [])


def _cached(key: tuple, build):
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    value = build()
    with _lock:
        _cache[key] = value
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return value


def _dataset(run: EvaluationRun) -> pd.DataFrame:
    try:
        with default_storage.open(run.dataset.name, "rb") as handle:
            content = handle.read()
    except (FileNotFoundError, OSError) as exc:
        raise DatasetError(
            f"the dataset of evaluation run {run.pk} cannot be read ({exc.strerror or exc})"
        ) from None
    if sha256_digest(content) != run.dataset_sha256:
        raise DatasetError(
            f"the dataset of evaluation run {run.pk} does not match the SHA-256 recorded at "
            "upload; it was altered or damaged"
        )
    return load_dataset(
        content,
        fmt=run.dataset_format,
        max_bytes=max(conf.max_upload_bytes(), len(content)),
        max_rows=max(conf.max_rows(), run.dataset_rows or 0),
        validate=False,
    )


def profile(run: EvaluationRun) -> Profile:
    """The columns (and kinds of values) a batch must have. Raises DatasetError when the
    reference dataset cannot be read."""
    return _cached(("profile", run.pk, run.dataset_sha256), lambda: profile_of(_dataset(run)))


def baseline(run: EvaluationRun) -> tuple[pd.DataFrame, str]:
    """The reference's features and scores (when there are any), and a note on where the
    scores came from."""
    return _cached(("baseline", run.pk, run.dataset_sha256), lambda: _baseline(run))


def _baseline_name(run: EvaluationRun) -> str:
    return f"{BASELINE_FOLDER}/run-{run.pk}-{run.dataset_sha256[:16]}.parquet"


def _baseline(run: EvaluationRun) -> tuple[pd.DataFrame, str]:
    name = _baseline_name(run)
    registry = run.predictions_source == PredictionsSource.REGISTRY
    source = "the registry's own scores" if registry else "the scores of the dataset"
    if default_storage.exists(name):
        with default_storage.open(name, "rb") as handle:
            frame = read_parquet(handle.read())
        return frame, f"reference: evaluation run {run.pk}, {source}"
    data = _dataset(run)
    features = [c for c in data.columns if c not in RESERVED_COLUMNS]
    frame = data[features].copy()
    note = f"reference: evaluation run {run.pk}, {source}"
    if registry:
        scores, problem = _registry_scores(run, data)
        if scores is not None:
            frame[Y_SCORE] = scores
        else:
            note = f"reference: evaluation run {run.pk}, without scores ({problem})"
    elif Y_SCORE in data.columns:
        frame[Y_SCORE] = pd.to_numeric(data[Y_SCORE], errors="coerce")
    else:
        note = f"reference: evaluation run {run.pk}, whose dataset has no {Y_SCORE}"
    try:
        default_storage.save(name, ContentFile(to_parquet(frame)))
    except OSError:
        logger.exception("could not keep the monitoring baseline of run %s", run.pk)
    return frame, note


def _registry_scores(run: EvaluationRun, data: pd.DataFrame):
    """The run's model's scores on its dataset, or (None, why not). Never the owner's scores
    on a run the registry vouches for."""
    artifact = run.artifact
    if artifact is None:
        return None, "the run's model artifact is gone"
    try:
        model = ExecutableModel.load(custody.read_verified(artifact))
        predictions = model.predict_frame(
            data, features=run.features or None, exclude=run.sensitive_features
        )
    except (DomainError, OSError) as exc:
        return None, f"the model artifact cannot be read: {exc}"
    except ExecutionError as exc:
        return None, f"the model cannot be run on the dataset: {exc}"
    return predictions.y_score, ""
