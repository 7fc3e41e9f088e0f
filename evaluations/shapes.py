"""The published shapes of evaluation runs: the API and the evidence bundles write the same ones."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api.fields import UsernameField
from core.api.serializers import ModelOutputSerializer
from evaluations.choices import PredictionsSource, RunStatus
from evaluations.models import EvaluationRun


def dataset_document(run: EvaluationRun, prefix: str) -> dict | None:
    """`{name, format, sha256, size, rows, columns}` of the dataset, the reference dataset or
    the training sample."""
    if not getattr(run, f"{prefix}_sha256"):
        return None
    return {
        "name": getattr(run, f"{prefix}_name"),
        "format": getattr(run, f"{prefix}_format"),
        "sha256": getattr(run, f"{prefix}_sha256"),
        "size": getattr(run, f"{prefix}_size"),
        "rows": getattr(run, f"{prefix}_rows"),
        "columns": getattr(run, f"{prefix}_columns"),
    }


class DatasetSchema(serializers.Serializer):
    """Only for the schema: the shape DatasetOutput writes."""

    name = serializers.CharField()
    format = serializers.ChoiceField(choices=["csv", "parquet"])
    sha256 = serializers.CharField()
    # Null for a reference dataset whose size, rows or columns were not recorded.
    size = serializers.IntegerField(allow_null=True)
    rows = serializers.IntegerField(allow_null=True)
    columns = serializers.ListField(child=serializers.CharField(), allow_null=True)


class ThresholdResultSchema(serializers.Serializer):
    metric = serializers.CharField()
    value = serializers.FloatField(allow_null=True)
    threshold = serializers.FloatField()
    direction = serializers.ChoiceField(choices=["min", "max", "significance"])
    passed = serializers.BooleanField(allow_null=True)
    note = serializers.CharField(required=False)


@extend_schema_field(
    {
        "type": "string",
        "description": "QUEUED, RUNNING, PASSED, FAILED, INCOMPLETE (a threshold could not be "
        "judged, or none was: never a pass), ERROR or CANCELLED",
    }
)
class RunStatusText(serializers.CharField):
    """The status in lists. Only EvaluationRunOutput declares it as an enum, so the schema has
    one EvaluationRunOutputStatusEnum instead of a name collision among `status` enums."""


class EvaluationRunSummaryOutput(ModelOutputSerializer):
    """A run in a list: everything but the metrics and notes (GET the run for those)."""

    version = serializers.IntegerField(source="version_id")
    status = RunStatusText()
    progress_message = serializers.CharField()
    threshold_results = serializers.SerializerMethodField()
    dataset = serializers.SerializerMethodField()
    reference_dataset = serializers.SerializerMethodField()
    training_dataset = serializers.SerializerMethodField(
        help_text="the security suite's training sample (membership inference), or null"
    )
    parameters = serializers.JSONField(
        help_text="the run's parameters: seed (every sample, attack and resample) and, for "
        "robustness, epsilon (the perturbation bound as a fraction of each feature's standard "
        "deviation)"
    )
    sensitive_features = serializers.JSONField()
    segment_columns = serializers.JSONField()
    thresholds_source = serializers.CharField(
        help_text="TIER (the risk tier's defaults), STRICTER (stricter than them) or MRC "
        "(relaxed by MRC); empty for a run from before thresholds were a floor"
    )
    thresholds_note = serializers.CharField(help_text="the thresholds' source in words")
    predictions_source = serializers.ChoiceField(
        choices=PredictionsSource.values,
        help_text="REGISTRY: computed by running `artifact`; SUBMITTED: carried by the dataset",
    )
    predictions_note = serializers.CharField()
    artifact = serializers.IntegerField(source="artifact_id", allow_null=True)
    artifact_sha256 = serializers.CharField(
        allow_null=True, help_text="the SHA-256 of the model bytes the registry ran"
    )
    runtime = serializers.CharField(allow_null=True, help_text="e.g. onnxruntime 1.31.1")
    features = serializers.ListField(
        child=serializers.CharField(), help_text="the feature column order the request gave"
    )
    prediction_features = serializers.ListField(
        child=serializers.CharField(), help_text="the columns fed to the model, in feed order"
    )
    score_output = serializers.CharField(
        allow_null=True, help_text="the model output y_score was read from"
    )
    label_output = serializers.CharField(
        allow_null=True,
        help_text="the model output y_pred was read from; null: y_score >= 0.5",
    )
    requested_by = UsernameField()
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)

    class Meta:
        model = EvaluationRun
        fields = [
            "id",
            "version",
            "suite",
            "status",
            "progress",
            "progress_message",
            "threshold_results",
            "error",
            "dataset",
            "reference_dataset",
            "training_dataset",
            "parameters",
            "sensitive_features",
            "segment_columns",
            "thresholds_source",
            "thresholds_note",
            "predictions_source",
            "predictions_note",
            "artifact",
            "artifact_sha256",
            "runtime",
            "features",
            "prediction_features",
            "score_output",
            "label_output",
            "requested_by",
            "attempts",
            "created_at",
            "started_at",
            "finished_at",
        ]

    def to_representation(self, run):
        data = super().to_representation(run)
        # Empty provenance strings are published as null: there is no artifact, runtime...
        for key in ("artifactSha256", "runtime", "scoreOutput", "labelOutput"):
            if data.get(key) == "":
                data[key] = None
        return data

    @extend_schema_field(ThresholdResultSchema(many=True))
    def get_threshold_results(self, run) -> list:
        return run.threshold_results or []

    @extend_schema_field(DatasetSchema(allow_null=True))
    def get_dataset(self, run) -> dict | None:
        return dataset_document(run, "dataset")

    @extend_schema_field(DatasetSchema(allow_null=True))
    def get_reference_dataset(self, run) -> dict | None:
        return dataset_document(run, "reference")

    @extend_schema_field(DatasetSchema(allow_null=True))
    def get_training_dataset(self, run) -> dict | None:
        return dataset_document(run, "training")


class EvaluationRunOutput(EvaluationRunSummaryOutput):
    model = serializers.IntegerField(source="version.model_id")
    status = serializers.ChoiceField(choices=RunStatus.choices)
    metrics = serializers.JSONField(allow_null=True, help_text="null until the run finishes")
    notes = serializers.JSONField()
    thresholds = serializers.JSONField()

    class Meta(EvaluationRunSummaryOutput.Meta):
        fields = [
            "id",
            "model",
            "version",
            "suite",
            "status",
            "progress",
            "progress_message",
            "metrics",
            "threshold_results",
            "notes",
            "error",
            "dataset",
            "reference_dataset",
            "training_dataset",
            "parameters",
            "sensitive_features",
            "segment_columns",
            "thresholds",
            "thresholds_source",
            "thresholds_note",
            "predictions_source",
            "predictions_note",
            "artifact",
            "artifact_sha256",
            "runtime",
            "features",
            "prediction_features",
            "score_output",
            "label_output",
            "requested_by",
            "attempts",
            "created_at",
            "started_at",
            "finished_at",
        ]
