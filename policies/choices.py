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
