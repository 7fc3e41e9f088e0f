from django.db import models


class EventType(models.TextChoices):
    AUTHENTICATION = "AUTHENTICATION", "Authentication"
    MODEL_REGISTRY = "MODEL_REGISTRY", "Model registry change"
    MODEL_PROMOTION = "MODEL_PROMOTION", "Model promotion"
    RISK_TIER_CHANGE = "RISK_TIER_CHANGE", "Risk tier change"
    POLICY_CHANGE = "POLICY_CHANGE", "Policy change"
    POLICY_EVALUATION = "POLICY_EVALUATION", "Policy evaluation"
    EVALUATION_RUN = "EVALUATION_RUN", "Evaluation run"
    POLICY_EXCEPTION = "POLICY_EXCEPTION", "Policy exception"
    REPORT = "REPORT", "Report"
    USER_ADMIN = "USER_ADMIN", "User administration"
    AUDIT_ACCESS = "AUDIT_ACCESS", "Audit trail access"
    ACCESS_DENIED = "ACCESS_DENIED", "Refused attempt"


class AuditAction(models.TextChoices):
    LOGIN = "LOGIN"
    LOGIN_FAILED = "LOGIN_FAILED"
    LOGOUT = "LOGOUT"
    TOKEN_ISSUED = "TOKEN_ISSUED"
    CREATE_USER = "CREATE_USER"
    UPDATE_USER = "UPDATE_USER"
    REGISTER_MODEL = "REGISTER_MODEL"
    UPDATE_MODEL = "UPDATE_MODEL"
    CREATE_VERSION = "CREATE_VERSION"
    UPDATE_VERSION = "UPDATE_VERSION"
    ADD_ARTIFACT = "ADD_ARTIFACT"
    UPDATE_ARTIFACT = "UPDATE_ARTIFACT"
    EXPORT_AUDIT = "EXPORT_AUDIT"
    VERIFY_AUDIT = "VERIFY_AUDIT"
