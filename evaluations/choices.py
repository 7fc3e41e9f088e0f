from django.db import models


class Suite(models.TextChoices):
    PERFORMANCE = "performance", "Performance"
    BIAS = "bias", "Bias and fairness"
    ROBUSTNESS = "robustness", "Robustness and drift"
    SECURITY = "security", "Security (data checks and attacks on the model)"
    SMOKE = "smoke", "Smoke (the model loads and answers)"
    EXPLAINABILITY = "explainability", "Explainability (attributions, stability, faithfulness)"
    VALIDATION = "validation", "Validation (discrimination, calibration, stability)"


# Suites whose metrics need the model itself, queried on inputs the registry makes up
# (attacks, blends, perturbations): on a run with submitted predictions they are not measured.
MODEL_SUITES = (Suite.ROBUSTNESS, Suite.SECURITY, Suite.EXPLAINABILITY)
# Suites that read a reference dataset, and the one that reads a training sample.
REFERENCE_SUITES = (Suite.ROBUSTNESS, Suite.SECURITY, Suite.VALIDATION)
TRAINING_SUITES = (Suite.SECURITY,)


class RunStatus(models.TextChoices):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    PASSED = "PASSED"
    FAILED = "FAILED"
    # Finished, but not judged: a threshold that applies could not be evaluated (its metric was
    # not computed), or no threshold was judged at all. Never a pass.
    INCOMPLETE = "INCOMPLETE"
    ERROR = "ERROR"
    # Stopped before it finished because its version was retired: it has no outcome.
    CANCELLED = "CANCELLED"


# A finished run has an outcome and metrics that policies read; of these only PASSED is a pass.
FINISHED_STATUSES = (RunStatus.PASSED, RunStatus.FAILED, RunStatus.INCOMPLETE)
# Nothing more happens to a run in one of these (CANCELLED is never a pass: no metrics).
DONE_STATUSES = (*FINISHED_STATUSES, RunStatus.ERROR, RunStatus.CANCELLED)
# Runs a later run of the same suite may replace, shown to reviewers as replaced (not hidden).
NOT_PASSED_STATUSES = (RunStatus.FAILED, RunStatus.INCOMPLETE)
ACTIVE_STATUSES = (RunStatus.QUEUED, RunStatus.RUNNING)


class PredictionsSource(models.TextChoices):
    """Who computed the run's predictions (y_pred, y_score)."""

    REGISTRY = "REGISTRY", "computed by the registry from the model artifact"
    SUBMITTED = "SUBMITTED", "submitted with the dataset"


class ThresholdsSource(models.TextChoices):
    """Where the run's thresholds came from: never looser than the tier's, unless MRC."""

    TIER = "TIER", "the risk tier's defaults"
    STRICTER = "STRICTER", "stricter than the risk tier's defaults"
    MRC = "MRC", "relaxed by MRC"


class DatasetFormat(models.TextChoices):
    CSV = "csv", "CSV"
    PARQUET = "parquet", "Parquet"


class EvaluationAuditAction(models.TextChoices):
    """The `action` of EVALUATION_RUN audit events."""

    QUEUED = "EVALUATION_QUEUED"
    STARTED = "EVALUATION_STARTED"
    PASSED = "EVALUATION_PASSED"
    FAILED = "EVALUATION_FAILED"
    INCOMPLETE = "EVALUATION_INCOMPLETE"
    ERROR = "EVALUATION_ERROR"
    REQUEUED = "EVALUATION_REQUEUED"
    CANCELLED = "EVALUATION_CANCELLED"


OUTCOME_ACTIONS = {
    RunStatus.PASSED: EvaluationAuditAction.PASSED,
    RunStatus.FAILED: EvaluationAuditAction.FAILED,
    RunStatus.INCOMPLETE: EvaluationAuditAction.INCOMPLETE,
    RunStatus.ERROR: EvaluationAuditAction.ERROR,
}


# ---- monitoring deployed versions (evaluations/monitoring/) ---------------------------------


class BatchFormat(models.TextChoices):
    """How a monitoring batch was uploaded; every batch is stored as Parquet."""

    CSV = "csv", "CSV"
    PARQUET = "parquet", "Parquet"
    JSONL = "jsonl", "JSON lines"


class BatchStatus(models.TextChoices):
    """RECEIVED: stored, its window not yet computed with it; COMPUTED: its window counts it."""

    RECEIVED = "RECEIVED"
    COMPUTED = "COMPUTED"


class MonitoringAuditAction(models.TextChoices):
    """The `action` of the EVALUATION_RUN audit events monitoring writes."""

    BATCH_RECEIVED = "MONITORING_BATCH_RECEIVED"
    OUTCOMES_RECEIVED = "MONITORING_OUTCOMES_RECEIVED"
    WINDOW_COMPUTED = "MONITORING_WINDOW_COMPUTED"
