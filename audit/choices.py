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
    POLICY_VIOLATION = "POLICY_VIOLATION", "Policy violation"
    REPORT = "REPORT", "Report"
    USER_ADMIN = "USER_ADMIN", "User administration"
    AUDIT_ACCESS = "AUDIT_ACCESS", "Audit trail access"
    ACCESS_DENIED = "ACCESS_DENIED", "Refused attempt"


class AuditAction(models.TextChoices):
    LOGIN = "LOGIN"
    LOGIN_FAILED = "LOGIN_FAILED"
    # What the identity provider asserted at a single-sign-on login, and the roles it gave.
    SSO_CLAIMS = "SSO_CLAIMS"
    LOGIN_LOCKED_OUT = "LOGIN_LOCKED_OUT"
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
    DOWNLOAD_ARTIFACT = "DOWNLOAD_ARTIFACT"
    EXPORT_AUDIT = "EXPORT_AUDIT"
    VERIFY_AUDIT = "VERIFY_AUDIT"
    ROTATE_SIGNING_KEY = "ROTATE_SIGNING_KEY"
    VIOLATION_OPENED = "VIOLATION_OPENED"
    VIOLATION_RESOLVED = "VIOLATION_RESOLVED"
