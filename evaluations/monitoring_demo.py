"""Demo data for monitoring: a week of production traffic for the demo's deployed versions.

For each version in PRODUCTION that has a finished evaluation run and no batch yet, an SRE
sends one batch a day for the last `days` days (through the service, as the API does): rows
drawn from the run's dataset with the scores the registry computed for them (the reference's
baseline), so the windows sit close to the evidence. The first such version drifts on its last
two days (its rows drawn towards high scores), so the monitoring page and the default pack's
production-monitoring policy have a real failure to show. The windows are computed at once.
"""

from __future__ import annotations

import io
from datetime import UTC, timedelta

import numpy as np
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from core.choices import Role
from evaluations.metrics._common import Y_SCORE
from evaluations.models import MonitoringBatch
from evaluations.monitoring import reference, services
from registry.choices import VersionState
from registry.models import ModelVersion

DAYS = 7
ROWS_PER_DAY = 2000
DRIFT_DAYS = 2


def _batch(base, rng, rows: int, drift: bool):
    weights = None
    if drift and Y_SCORE in base.columns:
        scores = base[Y_SCORE].to_numpy(dtype=np.float64)
        weights = np.exp(4 * scores)
        weights /= weights.sum()
    picked = rng.choice(len(base), size=rows, replace=True, p=weights)
    frame = base.iloc[picked].reset_index(drop=True)
    sink = io.BytesIO()
    frame.to_parquet(sink, index=False)
    return sink.getvalue()


def seed_monitoring_traffic(*, days: int = DAYS, rows: int = ROWS_PER_DAY, now=None) -> dict:
    """Send and compute the demo's week of traffic; returns {version label: batches sent}.
    Safe to run again (a version that has batches is left alone)."""
    sre = get_user_model().objects.filter(groups__name=Role.SRE).order_by("pk").first()
    if sre is None:
        return {}
    now = now or timezone.now()
    versions = (
        ModelVersion.objects.filter(state=VersionState.PRODUCTION)
        .exclude(pk__in=MonitoringBatch.objects.values("version_id"))
        .select_related("model")
        .order_by("pk")
    )
    sent: dict[str, int] = {}
    drifting = True
    for version in versions:
        run = reference.latest_finished_run(version.pk)
        if run is None:
            continue
        base, _ = reference.baseline(run)
        if Y_SCORE not in base.columns:
            continue
        rng = np.random.default_rng(version.pk)
        for back in range(days - 1, -1, -1):
            moment = now - timedelta(days=back)
            content = _batch(base, rng, rows, drift=drifting and back < DRIFT_DAYS)
            upload = SimpleUploadedFile(f"traffic-{moment:%Y-%m-%d}.parquet", content)
            services.record_batch(
                version,
                actor=sre,
                file=upload,
                batch_id=f"demo-{moment:%Y-%m-%d}",
                received_at=moment,
            )
            services.compute_window(version.pk, moment.astimezone(UTC).date())
        sent[f"{version.model.name} {version.version}"] = days
        drifting = False
    return sent
