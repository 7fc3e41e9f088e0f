"""An evaluation run: one suite computed by the background worker on an uploaded dataset.

The dataset (and the optional reference dataset) are kept under MEDIA_ROOT exactly as they were
uploaded, with their SHA-256, so a result can be traced back to the bytes it was computed from.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from core.visibility import VisibleQuerySet
from evaluations.choices import (
    ACTIVE_STATUSES,
    DONE_STATUSES,
    FINISHED_STATUSES,
    BatchFormat,
    BatchStatus,
    DatasetFormat,
    PredictionsSource,
    RunStatus,
    Suite,
    ThresholdsSource,
)
from registry.models import Artifact, ModelVersion


class EvaluationRunQuerySet(VisibleQuerySet):
    """`visible_to(user)`: runs of the versions `user` may see; `visible_to(user,
    Action.READ_EVALUATIONS)`: those they may also read (not SRE's, for instance)."""

    model_path = "version__model"

    def finished(self) -> EvaluationRunQuerySet:
        return self.filter(status__in=FINISHED_STATUSES)


class EvaluationRun(models.Model):
    version = models.ForeignKey(
        ModelVersion, on_delete=models.PROTECT, related_name="evaluation_runs"
    )
    suite = models.CharField(max_length=20, choices=Suite.choices)
    status = models.CharField(
        max_length=10, choices=RunStatus.choices, default=RunStatus.QUEUED, db_index=True
    )
    progress = models.PositiveSmallIntegerField(default=0)
    progress_message = models.CharField(max_length=300, blank=True)

    # The outcome, as the metric engine gives it (see docs/evaluations.md).
    metrics = models.JSONField(null=True, blank=True)
    threshold_results = models.JSONField(default=list, blank=True)
    notes = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)

    # What it was computed from.
    dataset = models.FileField(upload_to="evaluations/", max_length=300)
    dataset_name = models.CharField(max_length=255)
    dataset_format = models.CharField(max_length=10, choices=DatasetFormat.choices)
    dataset_sha256 = models.CharField(max_length=64)
    dataset_size = models.PositiveBigIntegerField()
    dataset_rows = models.PositiveIntegerField()
    dataset_columns = models.JSONField(default=list)
    reference_dataset = models.FileField(upload_to="evaluations/", max_length=300, blank=True)
    reference_name = models.CharField(max_length=255, blank=True)
    reference_format = models.CharField(max_length=10, choices=DatasetFormat.choices, blank=True)
    reference_sha256 = models.CharField(max_length=64, blank=True)
    reference_size = models.PositiveBigIntegerField(null=True, blank=True)
    reference_rows = models.PositiveIntegerField(null=True, blank=True)
    reference_columns = models.JSONField(null=True, blank=True)
    # A sample of the data the model was trained on (the security suite's members).
    training_dataset = models.FileField(upload_to="evaluations/", max_length=300, blank=True)
    training_name = models.CharField(max_length=255, blank=True)
    training_format = models.CharField(max_length=10, choices=DatasetFormat.choices, blank=True)
    training_sha256 = models.CharField(max_length=64, blank=True)
    training_size = models.PositiveBigIntegerField(null=True, blank=True)
    training_rows = models.PositiveIntegerField(null=True, blank=True)
    training_columns = models.JSONField(null=True, blank=True)
    # The run's parameters: {"seed": int, "epsilon": float} (epsilon for robustness). The same
    # parameters on the same files and model give the same result.
    parameters = models.JSONField(default=dict, blank=True)
    sensitive_features = models.JSONField(default=list, blank=True)
    segment_columns = models.JSONField(default=list, blank=True)
    thresholds = models.JSONField(default=dict, blank=True)
    # TIER, STRICTER or MRC (blank: a run from before thresholds were a floor whose document was
    # looser than its tier's, see migration 0004); thresholds_note says it in words.
    thresholds_source = models.CharField(
        max_length=10, choices=ThresholdsSource.choices, default=ThresholdsSource.TIER, blank=True
    )
    thresholds_note = models.CharField(max_length=500, blank=True)

    # Where the predictions came from. REGISTRY: the worker ran `artifact` (bytes checked
    # against artifact_sha256) with `runtime`, feeding it prediction_features and reading
    # score_output (and label_output, else y_score >= 0.5). `features` is the column order the
    # request gave for a single-tensor input (empty: the default rule).
    predictions_source = models.CharField(
        max_length=10, choices=PredictionsSource.choices, default=PredictionsSource.SUBMITTED
    )
    predictions_note = models.CharField(max_length=500, blank=True)
    artifact = models.ForeignKey(
        Artifact,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="evaluation_runs",
    )
    artifact_sha256 = models.CharField(max_length=64, blank=True)
    runtime = models.CharField(max_length=100, blank=True)
    features = models.JSONField(default=list, blank=True)
    prediction_features = models.JSONField(default=list, blank=True)
    score_output = models.CharField(max_length=300, blank=True)
    label_output = models.CharField(max_length=300, blank=True)

    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)

    objects = EvaluationRunQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["version", "suite", "status", "-finished_at"], name="evalrun_latest"
            ),
            models.Index(fields=["status", "heartbeat_at"], name="evalrun_heartbeat"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(progress__lte=100), name="evalrun_progress_at_most_100"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.suite} run #{self.pk} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def computed_by_registry(self) -> bool:
        return self.predictions_source == PredictionsSource.REGISTRY

    @property
    def is_done(self) -> bool:
        return self.status in DONE_STATUSES

    @property
    def failed_thresholds(self) -> list[dict]:
        return [r for r in self.threshold_results or [] if r.get("passed") is False]

    @property
    def unevaluated_thresholds(self) -> list[dict]:
        return [r for r in self.threshold_results or [] if r.get("passed") is None]


# ---- monitoring deployed versions (evaluations/monitoring/, docs/monitoring.md) -------------


class MonitoringQuerySet(VisibleQuerySet):
    model_path = "version__model"


class MonitoringBatch(models.Model):
    """One upload of production traffic for a version: its rows are stored as one Parquet file
    (the model's input columns, y_score, y_pred when given, recordId when given), never as rows
    in the database. `batch_id` is the client's idempotency key, unique per version."""

    version = models.ForeignKey(
        ModelVersion, on_delete=models.PROTECT, related_name="monitoring_batches"
    )
    batch_id = models.CharField(max_length=200)
    status = models.CharField(
        max_length=10, choices=BatchStatus.choices, default=BatchStatus.RECEIVED
    )
    rows = models.PositiveIntegerField()
    columns = models.JSONField(default=list)
    has_predictions = models.BooleanField(default=False)
    has_record_ids = models.BooleanField(default=False)
    # The upload as received (name, format, SHA-256 and size of its bytes) and where its rows
    # are kept (Parquet, with the SHA-256 of that file).
    file_name = models.CharField(max_length=255)
    file_format = models.CharField(max_length=10, choices=BatchFormat.choices)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField()
    stored = models.FileField(upload_to="monitoring/", max_length=300)
    stored_sha256 = models.CharField(max_length=64)
    # The UTC day the batch arrived on: its window.
    window_start = models.DateField(db_index=True)
    received_at = models.DateTimeField(db_index=True)
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    objects = MonitoringQuerySet.as_manager()

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["version", "batch_id"], name="monitoringbatch_one_per_batch_id"
            ),
        ]
        indexes = [
            models.Index(fields=["version", "window_start"], name="monbatch_window"),
            models.Index(fields=["status", "window_start"], name="monbatch_status"),
        ]

    def __str__(self) -> str:
        return f"batch {self.batch_id} of version #{self.version_id} ({self.rows} rows)"


class MonitoringOutcomes(models.Model):
    """Outcomes (y_true) that arrived later for the records of one batch, as a Parquet file of
    recordId and y_true; one upload naming records of several batches is kept as one row per
    batch, so a window reads only the outcomes of its own batches."""

    version = models.ForeignKey(
        ModelVersion, on_delete=models.PROTECT, related_name="monitoring_outcomes"
    )
    batch = models.ForeignKey(MonitoringBatch, on_delete=models.PROTECT, related_name="outcomes")
    rows = models.PositiveIntegerField()
    file_name = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64)
    stored = models.FileField(upload_to="monitoring/", max_length=300)
    stored_sha256 = models.CharField(max_length=64)
    received_at = models.DateTimeField(db_index=True)
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    objects = MonitoringQuerySet.as_manager()

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name_plural = "monitoring outcomes"

    def __str__(self) -> str:
        return f"{self.rows} outcomes for batch #{self.batch_id}"


class MonitoringWindow(models.Model):
    """The metrics of one UTC day of a version's production traffic (the batches that arrived
    that day), computed by the worker against the dataset of the version's latest finished
    evaluation run (`reference_run`)."""

    version = models.ForeignKey(
        ModelVersion, on_delete=models.PROTECT, related_name="monitoring_windows"
    )
    start = models.DateField()
    rows = models.PositiveIntegerField()
    batches = models.PositiveIntegerField()
    outcome_rows = models.PositiveIntegerField(default=0)
    metrics = models.JSONField(default=dict)
    notes = models.JSONField(default=list, blank=True)
    reference_run = models.ForeignKey(
        EvaluationRun, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # The newest batch (by id) and outcome upload the computation read: a slower computation
    # that read less never overwrites one that read more.
    last_batch = models.PositiveBigIntegerField(default=0)
    last_outcomes = models.PositiveBigIntegerField(default=0)
    computed_at = models.DateTimeField()
    seconds = models.FloatField(default=0.0)

    objects = MonitoringQuerySet.as_manager()

    class Meta:
        ordering = ["-start"]
        constraints = [
            models.UniqueConstraint(
                fields=["version", "start"], name="monitoringwindow_one_per_day"
            ),
        ]

    def __str__(self) -> str:
        return f"window {self.start} of version #{self.version_id}"
