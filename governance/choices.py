from dataclasses import dataclass

from django.db import models

from core.choices import Role


class PromotionAction(models.TextChoices):
    """The `action` of promotion transitions and their MODEL_PROMOTION audit events."""

    SUBMIT = "SUBMIT"
    POLICY_CHECK_FAILED = "POLICY_CHECK_FAILED"
    ROUTE_TO_REVIEW = "ROUTE_TO_REVIEW"
    APPROVE_STAGING = "APPROVE_STAGING"
    # The system sends an approved version back to review: its model's new risk tier needs
    # reviews its approvals lack.
    RETURN_TO_REVIEW = "RETURN_TO_REVIEW"
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

# The guide's four security review areas, attested by a Security Architect's approval.
SECURITY_CHECKLIST = {
    "vulnerabilityAssessment": "Vulnerability assessment: checked for security vulnerabilities",
    "accessControls": "Access controls: appropriate access controls verified",
    "dataProtection": "Data protection: data protection measures ensured",
    "threatAnalysis": "Threat analysis: potential security threats assessed",
}


@dataclass(frozen=True)
class ReviewChecklist:
    """The checklist a reviewer of one role ticks to approve: its name in the API (`field`)
    and on the Approval record and the domain functions' keywords (`attribute`), its title
    and its items (name: label)."""

    field: str
    attribute: str
    title: str
    items: dict[str, str]


# Which checklist each reviewing role must tick in full to approve (a reviewer who cannot tick
# every item rejects). Other roles approve nothing in the promotion workflow.
REVIEW_CHECKLISTS: dict[str, ReviewChecklist] = {
    Role.MRC: ReviewChecklist("checklist", "checklist", "MRC review checklist", MRC_CHECKLIST),
    Role.SECURITY_ARCHITECT: ReviewChecklist(
        "securityChecklist", "security_checklist", "Security review areas", SECURITY_CHECKLIST
    ),
}


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
