from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api.fields import StrictInputSerializer, UsernameField
from evaluations.choices import RunStatus, Suite
from evaluations.models import EvaluationRun
from evaluations.uploads import MAX_NAMED_COLUMNS, MAX_THRESHOLDS_TEXT

# ---- output -------------------------------------------------------------------------------


def dataset_document(run: EvaluationRun, prefix: str) -> dict | None:
    """`{name, format, sha256, size, rows, columns}` of the dataset or the reference dataset."""
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


@extend_schema_field({"type": "string", "description": "QUEUED, RUNNING, PASSED, FAILED or ERROR"})
class RunStatusText(serializers.CharField):
    """The status in lists. Only EvaluationRunOutput declares it as an enum, so the schema has
    one EvaluationRunOutputStatusEnum instead of a name collision among `status` enums."""


class EvaluationRunSummaryOutput(serializers.ModelSerializer):
    """A run in a list: everything but the metrics and notes (GET the run for those)."""

    version = serializers.IntegerField(source="version_id")
    status = RunStatusText()
    progressMessage = serializers.CharField(source="progress_message")
    thresholdResults = serializers.SerializerMethodField()
    dataset = serializers.SerializerMethodField()
    referenceDataset = serializers.SerializerMethodField()
    sensitiveFeatures = serializers.JSONField(source="sensitive_features")
    segmentColumns = serializers.JSONField(source="segment_columns")
    thresholdsSource = serializers.CharField(source="thresholds_source")
    requestedBy = UsernameField(source="requested_by")
    createdAt = serializers.DateTimeField(source="created_at")
    startedAt = serializers.DateTimeField(source="started_at", allow_null=True)
    finishedAt = serializers.DateTimeField(source="finished_at", allow_null=True)

    class Meta:
        model = EvaluationRun
        fields = [
            "id",
            "version",
            "suite",
            "status",
            "progress",
            "progressMessage",
            "thresholdResults",
            "error",
            "dataset",
            "referenceDataset",
            "sensitiveFeatures",
            "segmentColumns",
            "thresholdsSource",
            "requestedBy",
            "attempts",
            "createdAt",
            "startedAt",
            "finishedAt",
        ]

    @extend_schema_field(ThresholdResultSchema(many=True))
    def get_thresholdResults(self, run) -> list:
        return run.threshold_results or []

    @extend_schema_field(DatasetSchema(allow_null=True))
    def get_dataset(self, run) -> dict | None:
        return dataset_document(run, "dataset")

    @extend_schema_field(DatasetSchema(allow_null=True))
    def get_referenceDataset(self, run) -> dict | None:
        return dataset_document(run, "reference")


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
            "progressMessage",
            "metrics",
            "thresholdResults",
            "notes",
            "error",
            "dataset",
            "referenceDataset",
            "sensitiveFeatures",
            "segmentColumns",
            "thresholds",
            "thresholdsSource",
            "requestedBy",
            "attempts",
            "createdAt",
            "startedAt",
            "finishedAt",
        ]


class EvaluationQueuedOutput(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField(help_text="always QUEUED")


class SuiteOutput(serializers.Serializer):
    key = serializers.CharField(help_text="performance, bias, robustness or security")
    name = serializers.CharField()
    description = serializers.CharField()
    metrics = serializers.ListField(child=serializers.CharField())
    thresholdsSection = serializers.CharField(allow_null=True)
    thresholdDirections = serializers.DictField(child=serializers.CharField())
    defaultThresholds = serializers.DictField(
        child=serializers.DictField(child=serializers.FloatField()),
        help_text="per risk tier (LOW, MEDIUM, HIGH): metric -> threshold",
    )
    requiredColumns = serializers.ListField(child=serializers.CharField())
    optionalColumns = serializers.ListField(child=serializers.CharField())
    needsSensitiveFeatures = serializers.BooleanField()
    usesReferenceDataset = serializers.BooleanField()


# ---- input --------------------------------------------------------------------------------


class NameList(serializers.ListField):
    child = serializers.CharField(max_length=300)


class EvaluationCreateInput(StrictInputSerializer):
    """multipart/form-data. Files and column names are checked by the service, which names
    the field of each problem."""

    suite = serializers.ChoiceField(choices=Suite.choices)
    dataset = serializers.FileField(help_text="CSV (UTF-8, header row) or Parquet")
    referenceDataset = serializers.FileField(
        required=False, source="reference_dataset", help_text="robustness suite: drift baseline"
    )
    sensitiveFeatures = NameList(
        required=False,
        default=list,
        max_length=MAX_NAMED_COLUMNS,
        source="sensitive_features",
        help_text="repeat the field once per column name",
    )
    segmentColumns = NameList(
        required=False,
        default=list,
        max_length=MAX_NAMED_COLUMNS,
        source="segment_columns",
        help_text="repeat the field once per column name (performance breakdown)",
    )
    thresholds = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=MAX_THRESHOLDS_TEXT,
        help_text="the thresholds document as JSON text; default: the model's risk tier's",
    )
