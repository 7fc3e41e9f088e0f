"""Choices every app shares: the contract's roles and actions."""

from django.db import models


class Role(models.TextChoices):
    """The contract's roles; each is a Django group of exactly this name."""

    MODEL_OWNER = "Model Owner"
    MRC = "MRC"
    SECURITY_ARCHITECT = "Security Architect"
    SRE = "SRE"
    AUDITOR = "Auditor"
    EXECUTIVE = "Executive"
    # A service account of an outside scanning pipeline: reads the registry (models, versions,
    # artifacts) and records security scan results, nothing else.
    SCANNER = "Scanner"


# Roles that read the whole registry (models, versions, audit, policies, evaluations, reports).
READ_ALL_ROLES = frozenset({Role.MRC, Role.SECURITY_ARCHITECT, Role.AUDITOR, Role.EXECUTIVE})

# The roles granted the role-wide view permission on registered models (governance migrations
# 0001 and 0006): they see every model; anyone else sees the models they own.
SEE_ALL_MODELS_ROLES = READ_ALL_ROLES | {Role.SRE, Role.SCANNER}


# Roles people hold; the Scanner is a pipeline's service account, which reads the registry and
# records scans and is given nothing meant for people (policies, compliance, dashboards).
PEOPLE_ROLES = tuple(role for role in Role if role != Role.SCANNER)


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
    RECORD_SCAN = "RECORD_SCAN", "record a security scan result"
    DOWNLOAD_ARTIFACT = "DOWNLOAD_ARTIFACT", "download an artifact's bytes"
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
