from __future__ import annotations

from rest_framework import serializers

from core.api.fields import StrictInputSerializer
from evaluations.choices import Suite
from evaluations.uploads import MAX_FEATURES, MAX_NAMED_COLUMNS, MAX_THRESHOLDS_TEXT

# ---- output -------------------------------------------------------------------------------


class EvaluationQueuedOutput(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField(help_text="always QUEUED")


class SuiteOutput(serializers.Serializer):
    key = serializers.CharField(
        help_text="performance, bias, robustness, security, smoke, explainability or validation"
    )
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
    optionalColumns = serializers.ListField(
        child=serializers.CharField(),
        help_text="y_pred / y_score: computed by the registry when absent and the version holds "
        "an executable ONNX model (predictionsSource REGISTRY); required otherwise",
    )
    needsSensitiveFeatures = serializers.BooleanField()
    usesReferenceDataset = serializers.BooleanField()
    usesTrainingDataset = serializers.BooleanField(
        help_text="the security suite's membership inference reads a training sample"
    )
    parameters = serializers.DictField(
        child=serializers.FloatField(),
        help_text="the run parameters the suite reads, with their defaults (epsilon: the "
        "robustness perturbation bound as a fraction of each feature's standard deviation; "
        "seed: the random seed of every sample, attack and resample)",
    )


# ---- input --------------------------------------------------------------------------------


class NameList(serializers.ListField):
    child = serializers.CharField(max_length=300)


class EvaluationCreateInput(StrictInputSerializer):
    """multipart/form-data. Files and column names are checked by the service, which names
    the field of each problem."""

    suite = serializers.ChoiceField(choices=Suite.choices)
    dataset = serializers.FileField(help_text="CSV (UTF-8, header row) or Parquet")
    reference_dataset = serializers.FileField(
        required=False,
        help_text="robustness: drift baseline; security: the clean reference STRIP's entropy "
        "cut is set on; validation: the population the score PSI is measured against",
    )
    training_dataset = serializers.FileField(
        required=False,
        help_text="security suite: a sample of the training data (the model's feature columns "
        "and y_true), the members a membership inference attack tries to recognise",
    )
    epsilon = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=40,
        help_text="robustness suite: the perturbation bound, a fraction of each feature's "
        "standard deviation, above 0 and at most 5 (default 0.1)",
    )
    seed = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=40,
        help_text="the random seed of the run's samples, attacks and resamples, 0 to "
        "4294967295 (default 0): the same seed on the same files and model gives the same result",
    )
    sensitive_features = NameList(
        required=False,
        default=list,
        max_length=MAX_NAMED_COLUMNS,
        help_text="repeat the field once per column name",
    )
    segment_columns = NameList(
        required=False,
        default=list,
        max_length=MAX_NAMED_COLUMNS,
        help_text="repeat the field once per column name (performance breakdown)",
    )
    thresholds = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=MAX_THRESHOLDS_TEXT,
        help_text="the thresholds document as JSON text: values in place of the model's risk "
        "tier's, never looser (only MRC may relax one); what it leaves out keeps the tier's",
    )
    artifact = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text="the artifact (of this version, an ONNX model the registry holds) that "
        "computes the predictions when the dataset has no y_pred; default: the version's "
        "first executable artifact of type model",
    )
    features = NameList(
        required=False,
        default=list,
        max_length=MAX_FEATURES,
        help_text="repeat the field once per column: the columns of the model's single tensor "
        "input, in order; default: every column but y_true and the sensitive features",
    )


# ---- monitoring deployed versions -------------------------------------------------------------


class MonitoringBatchInput(StrictInputSerializer):
    """multipart/form-data; the file's columns are checked by the service."""

    file = serializers.FileField(
        help_text="CSV (header row), Parquet or JSON lines: the model's input columns (those of "
        "the dataset of the version's latest finished evaluation run), y_score, optionally "
        "y_pred and recordId (to join outcomes later)"
    )
    batch_id = serializers.CharField(
        max_length=200,
        help_text="the client's idempotency key: the same batchId again answers 200 with the "
        "first batch and stores nothing",
    )


class MonitoringOutcomesInput(StrictInputSerializer):
    file = serializers.FileField(
        help_text="CSV, Parquet or JSON lines with exactly recordId and y_true (0/1), for "
        "records of this version's batches, each once"
    )


class MonitoringBatchOutput(serializers.Serializer):
    id = serializers.IntegerField()
    batchId = serializers.CharField()
    rows = serializers.IntegerField()
    status = serializers.CharField(
        help_text="RECEIVED (its window is being computed) or COMPUTED (its window counts it)"
    )
    receivedAt = serializers.DateTimeField()
    window = serializers.DateField(help_text="the UTC day the batch arrived on")


class MonitoringOutcomesOutput(serializers.Serializer):
    rows = serializers.IntegerField()
    batches = serializers.ListField(child=serializers.IntegerField())


class MonitoringWindowOutput(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    rows = serializers.IntegerField()
    batches = serializers.IntegerField()
    outcomeRows = serializers.IntegerField()
    computedAt = serializers.DateTimeField()
    referenceRun = serializers.IntegerField(
        allow_null=True, help_text="the evaluation run whose dataset drift is measured against"
    )
    metrics = serializers.DictField(
        help_text="scorePsi, scoreDriftPValue, featurePsi {column: psi}, featurePValue "
        "{column: p}, driftDetection, driftedFeatures, meanScore, outcomeRows and, with "
        "outcomes, accuracy, precision, recall, f1Score, rocAuc, and the bias metrics "
        "demographicParity, equalizedOdds, disparateImpact (docs/monitoring.md)"
    )
    notes = serializers.ListField(child=serializers.CharField())


class MonitoringOutput(serializers.Serializer):
    version = serializers.IntegerField(help_text="the version's id")
    lastBatchAt = serializers.DateTimeField(allow_null=True)
    windows = MonitoringWindowOutput(many=True, help_text="newest first")
