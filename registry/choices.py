from django.db import models


class RiskTier(models.TextChoices):
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"


# The six factors of the guide's risk criteria table, in the guide's order (camelCase as in
# the contract's riskAssessment document), with the question each one asks.
RISK_FACTORS: dict[str, str] = {
    "businessImpact": "Business impact",
    "customerExposure": "Customer exposure",
    "financialImpact": "Financial impact",
    "regulatoryScope": "Regulatory scope",
    "dataSensitivity": "Data sensitivity",
    "automationLevel": "Automation level",
}

# What each level means for each factor, from the guide's table (shown in the questionnaire).
RISK_FACTOR_LEVELS: dict[str, dict[str, str]] = {
    "businessImpact": {"LOW": "Minimal", "MEDIUM": "Moderate", "HIGH": "Critical"},
    "customerExposure": {
        "LOW": "Internal only",
        "MEDIUM": "Customer-facing",
        "HIGH": "Direct customer impact",
    },
    "financialImpact": {"LOW": "< $10K", "MEDIUM": "$10K - $100K", "HIGH": "> $100K"},
    "regulatoryScope": {"LOW": "None", "MEDIUM": "Some regulations", "HIGH": "Heavily regulated"},
    "dataSensitivity": {
        "LOW": "Public data",
        "MEDIUM": "Internal data",
        "HIGH": "PII/Sensitive data",
    },
    "automationLevel": {
        "LOW": "Human oversight",
        "MEDIUM": "Semi-automated",
        "HIGH": "Fully automated",
    },
}


class VersionState(models.TextChoices):
    DRAFT = "DRAFT"
    SUBMITTED = "SUBMITTED"
    CHANGES_REQUIRED = "CHANGES_REQUIRED"
    MRC_REVIEW = "MRC_REVIEW"
    SECURITY_REVIEW = "SECURITY_REVIEW"
    APPROVED_STAGING = "APPROVED_STAGING"
    STAGING = "STAGING"
    PRODUCTION_REVIEW = "PRODUCTION_REVIEW"
    APPROVED_PRODUCTION = "APPROVED_PRODUCTION"
    PRODUCTION = "PRODUCTION"
    RETIRED = "RETIRED"


# Artifacts and documentation change only while the version is being worked on.
EDITABLE_STATES = frozenset({VersionState.DRAFT, VersionState.CHANGES_REQUIRED})


class ScanStatus(models.TextChoices):
    PASSED = "PASSED"
    FAILED = "FAILED"
    PENDING = "PENDING"


class ScanSource(models.TextChoices):
    """Who produced a scan result: never the party the scan judges."""

    REGISTRY = "REGISTRY"  # the registry's own scanner, in the worker
    SCANNER = "SCANNER"  # an outside scanning pipeline (the Scanner role)
    SECURITY_ARCHITECT = "SECURITY_ARCHITECT"


class ScanSeverity(models.TextChoices):
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"
    CRITICAL = "CRITICAL"


# Artifact types the product knows by name; others are accepted as given.
KNOWN_ARTIFACT_TYPES = ("model", "dataset", "code", "container", "config", "report", "other")


# The model card: its sections in the order the version form asks for them (camelCase as in
# the contract, which names them; the default policy pack reads them by these keys), each with
# its label and the question its help text asks. Documentation saved from the pages is an
# object of these sections, blank ones left out.
MODEL_CARD_SECTIONS: dict[str, dict[str, str]] = {
    "intendedUse": {
        "label": "Intended use",
        "help": "What the model decides or supports, for whom, and the uses it is not meant for.",
    },
    "trainingData": {
        "label": "Training data",
        "help": "Where the training data comes from, the period it covers, how it was "
        "prepared and what personal data it holds.",
    },
    "evaluation": {
        "label": "Evaluation",
        "help": "How the model was evaluated: data sets, metrics and the results that "
        "justify its use.",
    },
    "limitations": {
        "label": "Limitations",
        "help": "Where the model is known to perform poorly or has not been validated, and "
        "what its users must watch for.",
    },
    "monitoring": {
        "label": "Monitoring",
        "help": "What is watched once it is deployed (drift, accuracy, incidents), how often, "
        "and what triggers an alert.",
    },
    "fairnessStatement": {
        "label": "Fairness statement",
        "help": "Which groups were compared, the fairness metrics measured and how any "
        "disparity is handled.",
    },
}
