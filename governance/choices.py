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


# The guide's MRC review checklist, recorded with an approval.
MRC_CHECKLIST = {
    "documentationComplete": "Model documentation complete and accurate",
    "riskAssessmentAppropriate": "Risk assessment appropriate for model type",
    "evaluationsMeetRequirements": "Evaluation results meet requirements",
    "complianceSatisfied": "Compliance requirements satisfied",
    "businessJustificationClear": "Business justification clear and valid",
}
