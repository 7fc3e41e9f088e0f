"""Names of the MLflow sync: its records' kinds and states, the audit actions it writes, and the
MLflow tags and aliases it reads and writes."""

from django.db import models

from audit.choices import AuditAction
from registry.choices import VersionState

S = VersionState


class SyncKind(models.TextChoices):
    """What a sync record follows: one sync of a tracking server (the last one's status and the
    back-off), one MLflow registered model (its aliases), one MLflow model version."""

    RUN = "RUN"
    MODEL = "MODEL"
    VERSION = "VERSION"


class SyncStatus(models.TextChoices):
    PENDING = "PENDING"  # seen, not imported yet (or MLflow has not finished registering it)
    RUNNING = "RUNNING"  # a sync of the server is under way
    COMPLETE = "COMPLETE"  # imported in full (a version: record, files held, audited)
    FAILED = "FAILED"  # the last attempt failed; `last_error` says why, the next sync retries


# The `action` of the sync's audit events (MODEL_REGISTRY, POLICY_VIOLATION): the MLFLOW_*
# members of the audit trail's own choices, so its filters offer them.
MlflowAuditAction = AuditAction


# Tags the sync puts on what it made here, and the MLflow tag that names a model's owner.
MODEL_TAG = "mlflow.model"
VERSION_TAG = "mlflow.version"
OWNER_TAG = "owner"
# Tags the registry writes on each imported MLflow model version.
STATE_TAG = "governance.state"
TIER_TAG = "governance.riskTier"

STAGING_ALIAS = "staging"
PRODUCTION_ALIAS = "production"
# The aliases the registry governs, and the states in which a version holds each: a version
# deployed to staging stays there while its production review runs.
ALIAS_STATES: dict[str, frozenset[str]] = {
    STAGING_ALIAS: frozenset({S.STAGING, S.PRODUCTION_REVIEW, S.APPROVED_PRODUCTION}),
    PRODUCTION_ALIAS: frozenset({S.PRODUCTION}),
}

# MLflow's status of a model version whose files are in place.
MLFLOW_READY = "READY"

# The scheduled sync (every SCHEDULE_MINUTES): after a success the next one is due
# SYNC_INTERVAL_MINUTES later; after the n-th failure in a row, BACKOFF_BASE_MINUTES * 2**(n-1)
# later, at most BACKOFF_MAX_MINUTES. A RUNNING sync older than STALE_RUN_MINUTES is taken
# for one that died.
SCHEDULE_MINUTES = 5
SYNC_INTERVAL_MINUTES = 15
BACKOFF_BASE_MINUTES = 5
BACKOFF_MAX_MINUTES = 240
STALE_RUN_MINUTES = 60
