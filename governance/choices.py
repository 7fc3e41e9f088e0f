from django.db import models


class Role(models.TextChoices):
    """The contract's roles; each is a Django group of exactly this name."""

    MODEL_OWNER = "Model Owner"
    MRC = "MRC"
    SECURITY_ARCHITECT = "Security Architect"
    SRE = "SRE"
    AUDITOR = "Auditor"
    EXECUTIVE = "Executive"


# Roles that read the whole registry (models, versions, audit, policies, evaluations, reports).
READ_ALL_ROLES = frozenset({Role.MRC, Role.SECURITY_ARCHITECT, Role.AUDITOR, Role.EXECUTIVE})
# Roles that may use the Django admin (the MRC team and auditors, and the other oversight roles).
STAFF_ROLES = READ_ALL_ROLES


class Action(models.TextChoices):
    """Everything a person can attempt; the access rules below are keyed by these."""

    REGISTER_MODEL = "REGISTER_MODEL", "register a model"
    CHANGE_MODEL = "UPDATE_MODEL", "change a model"
    ADD_VERSION = "CREATE_VERSION", "add a version"
    CHANGE_VERSION = "UPDATE_VERSION", "change a version's documentation"
    ADD_ARTIFACT = "ADD_ARTIFACT", "add an artifact"
    CHANGE_ARTIFACT = "UPDATE_ARTIFACT", "change an artifact"
    VIEW_AUDIT = "VIEW_AUDIT", "read the audit trail"
    EXPORT_AUDIT = "EXPORT_AUDIT", "export the audit trail"
    SUBMIT_VERSION = "SUBMIT", "submit a version for approval"
    REVIEW_VERSION = "REVIEW", "approve or reject a version"
    DEPLOY_VERSION = "DEPLOY", "deploy a version"
    REQUEST_PRODUCTION = "REQUEST_PRODUCTION", "request production"
    RETIRE_VERSION = "RETIRE", "retire a version"
    REQUEST_TIER_CHANGE = "REQUEST_TIER_CHANGE", "request a risk tier change"
    DECIDE_TIER_CHANGE = "DECIDE_TIER_CHANGE", "approve or reject a risk tier change"
    READ_POLICIES = "READ_POLICIES", "read policies"
    RUN_EVALUATION = "RUN_EVALUATION", "run evaluations"
    READ_EVALUATIONS = "READ_EVALUATIONS", "read evaluations"
    WRITE_POLICY = "WRITE_POLICY", "write policies"
    GENERATE_REPORT = "GENERATE_REPORT", "generate reports"
    READ_REPORTS = "READ_REPORTS", "read reports"
    EXPORT_EVIDENCE = "EXPORT_EVIDENCE", "export a version's evidence bundle"
    REQUEST_EXCEPTION = "REQUEST_EXCEPTION", "request a policy exception"
    DECIDE_EXCEPTION = "DECIDE_EXCEPTION", "approve or reject a policy exception"
    REVOKE_EXCEPTION = "REVOKE_EXCEPTION", "revoke a policy exception"
    READ_COMPLIANCE = "READ_COMPLIANCE", "read the compliance summary"
    MANAGE_WEBHOOKS = "MANAGE_WEBHOOKS", "manage outgoing webhooks"


class PromotionAction(models.TextChoices):
    """The `action` of promotion transitions and their MODEL_PROMOTION audit events."""

    SUBMIT = "SUBMIT"
    POLICY_CHECK_FAILED = "POLICY_CHECK_FAILED"
    ROUTE_TO_REVIEW = "ROUTE_TO_REVIEW"
    APPROVE_STAGING = "APPROVE_STAGING"
    REJECT = "REJECT"
    DEPLOY_STAGING = "DEPLOY_STAGING"
    REQUEST_PRODUCTION = "REQUEST_PRODUCTION"
    PRODUCTION_BLOCKED = "PRODUCTION_BLOCKED"
    APPROVE_PRODUCTION = "APPROVE_PRODUCTION"
    REJECT_PRODUCTION = "REJECT_PRODUCTION"
    DEPLOY_PRODUCTION = "DEPLOY_PRODUCTION"
    RETIRE = "RETIRE"


class Environment(models.TextChoices):
    STAGING = "staging"
    PRODUCTION = "production"


class Decision(models.TextChoices):
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"


class TierChangeStatus(models.TextChoices):
    REQUESTED = "REQUESTED"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"


class NotificationKind(models.TextChoices):
    REVIEW_REQUESTED = "REVIEW_REQUESTED", "awaits your review"
    DEPLOY_REQUESTED = "DEPLOY_REQUESTED", "awaits deployment"
    APPROVED = "APPROVED", "approved"
    REJECTED = "REJECTED", "rejected"
    CHANGES_REQUIRED = "CHANGES_REQUIRED", "changes required"
    DEPLOYED = "DEPLOYED", "deployed"
    TIER_CHANGE = "TIER_CHANGE", "risk tier change"
    EXCEPTION_REQUESTED = "EXCEPTION_REQUESTED", "policy exception awaits your decision"
    EXCEPTION_DECIDED = "EXCEPTION_DECIDED", "policy exception decided"
    EXCEPTION_EXPIRING = "EXCEPTION_EXPIRING", "policy exception expiring soon"
    EXCEPTION_EXPIRED = "EXCEPTION_EXPIRED", "policy exception expired"
    VIOLATION = "VIOLATION", "policy violation"
    EVALUATION_FAILED = "EVALUATION_FAILED", "evaluation failed"
    SECURITY_ISSUE = "SECURITY_ISSUE", "security issue"
    EXCEPTION_REVIEW = "EXCEPTION_REVIEW", "policy exception review"


# The guide's MRC review checklist, recorded with an approval.
MRC_CHECKLIST = {
    "documentationComplete": "Model documentation complete and accurate",
    "riskAssessmentAppropriate": "Risk assessment appropriate for model type",
    "evaluationsMeetRequirements": "Evaluation results meet requirements",
    "complianceSatisfied": "Compliance requirements satisfied",
    "businessJustificationClear": "Business justification clear and valid",
}


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


class WebhookEvent(models.TextChoices):
    """What an outgoing webhook can subscribe to; the value is the payload's `event`."""

    VIOLATION_OPENED = "violation.opened", "policy violation opened"
    VIOLATION_RESOLVED = "violation.resolved", "policy violation resolved"
    APPROVAL_REQUESTED = "approval.requested", "approval requested"
    EVALUATION_FAILED = "evaluation.failed", "evaluation failed"
    SECURITY_ISSUE = "security.issue", "security issue"
    EXCEPTION_EXPIRING = "exception.expiring", "policy exception expiring soon"
    EXCEPTION_EXPIRED = "exception.expired", "policy exception expired"


class DeliveryStatus(models.TextChoices):
    PENDING = "PENDING"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"


class MonitoringTrigger(models.TextChoices):
    """Why a continuous-monitoring sweep ran."""

    SCHEDULE = "SCHEDULE"
    ENHANCED = "ENHANCED"
    POLICY_CHANGE = "POLICY_CHANGE"
    SCAN_RESULT = "SCAN_RESULT"
    EXCEPTION = "EXCEPTION"
    MANUAL = "MANUAL"
