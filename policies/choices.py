from django.db import models


class Severity(models.TextChoices):
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"
    CRITICAL = "CRITICAL"


class PolicyType(models.TextChoices):
    SECURITY = "SECURITY"
    COMPLIANCE = "COMPLIANCE"
    QUALITY = "QUALITY"
    OPERATIONAL = "OPERATIONAL"


class PolicyStatus(models.TextChoices):
    ACTIVE = "ACTIVE"
    DRAFT = "DRAFT"
    RETIRED = "RETIRED"


class Enforcement(models.TextChoices):
    ENFORCE = "ENFORCE"
    WARN = "WARN"
    DRY_RUN = "DRY_RUN"


class EvaluationTrigger(models.TextChoices):
    SUBMIT = "SUBMIT"
    REQUEST_PRODUCTION = "REQUEST_PRODUCTION"
    MONITOR = "MONITOR"
    DRY_RUN = "DRY_RUN"


class ExceptionStatus(models.TextChoices):
    """A policy exception: REQUESTED until every approval its model's tier needs is in."""

    REQUESTED = "REQUESTED"
    ACTIVE = "ACTIVE"
    EXPIRED = "EXPIRED"
    REJECTED = "REJECTED"
    REVOKED = "REVOKED"


class ViolationStatus(models.TextChoices):
    OPEN = "OPEN"
    RESOLVED = "RESOLVED"


class MonitoringTrigger(models.TextChoices):
    """Why a continuous-monitoring sweep ran."""

    SCHEDULE = "SCHEDULE"
    ENHANCED = "ENHANCED"
    POLICY_CHANGE = "POLICY_CHANGE"
    SCAN_RESULT = "SCAN_RESULT"
    EXCEPTION = "EXCEPTION"
    MANUAL = "MANUAL"
