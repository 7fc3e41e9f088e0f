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
