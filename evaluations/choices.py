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


# A finished run has an outcome; only PASSED and FAILED runs carry metrics that policies read.
FINISHED_STATUSES = (RunStatus.PASSED, RunStatus.FAILED)
DONE_STATUSES = (RunStatus.PASSED, RunStatus.FAILED, RunStatus.ERROR)
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


OUTCOME_ACTIONS = {
    RunStatus.PASSED: EvaluationAuditAction.PASSED,
    RunStatus.FAILED: EvaluationAuditAction.FAILED,
    RunStatus.ERROR: EvaluationAuditAction.ERROR,
}
