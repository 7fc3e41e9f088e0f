from django.db import models


class Suite(models.TextChoices):
    PERFORMANCE = "performance", "Performance"
    BIAS = "bias", "Bias and fairness"
    ROBUSTNESS = "robustness", "Robustness and drift"
    SECURITY = "security", "Security (input validation)"


class RunStatus(models.TextChoices):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    PASSED = "PASSED"
    FAILED = "FAILED"
    ERROR = "ERROR"
    # Stopped before it finished because its version was retired: it has no outcome.
    CANCELLED = "CANCELLED"


# A finished run has an outcome; only PASSED and FAILED runs carry metrics that policies read.
FINISHED_STATUSES = (RunStatus.PASSED, RunStatus.FAILED)
# Nothing more happens to a run in one of these (CANCELLED is never a pass: no metrics).
DONE_STATUSES = (RunStatus.PASSED, RunStatus.FAILED, RunStatus.ERROR, RunStatus.CANCELLED)
ACTIVE_STATUSES = (RunStatus.QUEUED, RunStatus.RUNNING)


class DatasetFormat(models.TextChoices):
    CSV = "csv", "CSV"
    PARQUET = "parquet", "Parquet"


class EvaluationAuditAction(models.TextChoices):
    """The `action` of EVALUATION_RUN audit events."""

    QUEUED = "EVALUATION_QUEUED"
    STARTED = "EVALUATION_STARTED"
    PASSED = "EVALUATION_PASSED"
    FAILED = "EVALUATION_FAILED"
    ERROR = "EVALUATION_ERROR"
    REQUEUED = "EVALUATION_REQUEUED"
    CANCELLED = "EVALUATION_CANCELLED"


OUTCOME_ACTIONS = {
    RunStatus.PASSED: EvaluationAuditAction.PASSED,
    RunStatus.FAILED: EvaluationAuditAction.FAILED,
    RunStatus.ERROR: EvaluationAuditAction.ERROR,
}
