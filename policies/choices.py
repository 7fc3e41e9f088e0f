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


class PolicyChangeStatus(models.TextChoices):
    """A proposed relaxation of an ACTIVE ENFORCE policy (policies.changes): PROPOSED until a
    second person decides; SUPERSEDED when another change of the policy took effect first."""

    PROPOSED = "PROPOSED"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    SUPERSEDED = "SUPERSEDED"


class PolicyChangeAction(models.TextChoices):
    """The audit actions of policy change control (event type POLICY_CHANGE)."""

    PROPOSE = "PROPOSE_POLICY_CHANGE"
    APPROVE = "APPROVE_POLICY_CHANGE"
    REJECT = "REJECT_POLICY_CHANGE"
    SUPERSEDE = "SUPERSEDE_POLICY_CHANGE"
    # The access rule name the refusals of a decision are recorded under.
    DECIDE = "DECIDE_POLICY_CHANGE"


# How strong each enforcement is: lowering it relaxes the policy.
ENFORCEMENT_RANK = {Enforcement.DRY_RUN: 0, Enforcement.WARN: 1, Enforcement.ENFORCE: 2}
SEVERITY_RANK = {Severity.LOW: 0, Severity.MEDIUM: 1, Severity.HIGH: 2, Severity.CRITICAL: 3}


class ExceptionReason(models.TextChoices):
    """The guide's "When to Request Exceptions"."""

    EMERGENCY_DEPLOYMENT = "EMERGENCY_DEPLOYMENT", "Emergency deployment"
    TECHNICAL_LIMITATION = "TECHNICAL_LIMITATION", "Technical limitation"
    BUSINESS_URGENCY = "BUSINESS_URGENCY", "Business urgency"
    REGULATORY_CHANGE = "REGULATORY_CHANGE", "Regulatory change"


class RemediationStatus(models.TextChoices):
    """Where the remediation plan of an exception stands, as its periodic review records it."""

    NOT_STARTED = "NOT_STARTED", "Not started"
    IN_PROGRESS = "IN_PROGRESS", "In progress"
    BLOCKED = "BLOCKED", "Blocked"
    COMPLETE = "COMPLETE", "Complete"


class ExceptionAuditAction(models.TextChoices):
    """Audit actions of an exception's periodic reviews (event type POLICY_EXCEPTION)."""

    REVIEW = "REVIEW"
    REVIEW_OVERDUE = "REVIEW_OVERDUE"


# Days between the periodic reviews of an ACTIVE exception, by its model's risk tier (the
# first is due this long after activation, each next one this long after the last review).
# The riskier the model, the closer the watch: weekly for HIGH, fortnightly for MEDIUM, monthly
# for LOW. Keys are registry.choices.RiskTier values.
EXCEPTION_REVIEW_INTERVAL_DAYS = {"LOW": 30, "MEDIUM": 14, "HIGH": 7}
