"""What each suite is, what it needs and produces, and its default thresholds per risk tier:
the body of GET /api/v1/evaluation-suites/ and the help text of the "Run evaluation" form."""

from __future__ import annotations

from evaluations.choices import Suite
from evaluations.metrics import SUITES, TIER_THRESHOLDS
from evaluations.metrics.thresholds import DIRECTIONS, SUITE_SECTIONS

DESCRIPTIONS = {
    Suite.PERFORMANCE: (
        "Classification quality of the model's predictions against the true labels "
        "(binary, positive class 1), as scikit-learn defines it; optional per-segment "
        "breakdown."
    ),
    Suite.BIAS: (
        "Group fairness of the predictions across each sensitive feature, as fairlearn "
        "defines it: selection rates and error rates per group and their spread."
    ),
    Suite.ROBUSTNESS: (
        "Data drift of each feature against a reference dataset (Kolmogorov-Smirnov or "
        "chi-square test, PSI), degradation against the reference, edge cases, and accuracy "
        "on adversarial inputs the owner supplies in y_pred_adversarial."
    ),
    Suite.SECURITY: (
        "Input validation of the uploaded dataset: schema, label and score ranges, missing "
        "and infinite values, formula injection, duplicates. The model is not executed, so "
        "model inversion, membership inference, backdoor and adversarial attacks are not "
        "performed."
    ),
    Suite.SMOKE: (
        "The registry runs the version's executable (ONNX) model on the dataset: it loads, "
        "every score is a finite probability of class 1, the same input twice gives the "
        "same output, and the 95th percentile latency of a batch of 1,000 rows. Labels are "
        "not needed; a version without such a model cannot be smoke-tested."
    ),
}

METRICS = {
    Suite.PERFORMANCE: [
        "accuracy",
        "precision",
        "recall",
        "f1Score",
        "rocAuc",
        "confusionMatrix",
        "support",
        "rocCurve",
        "segments",
    ],
    Suite.BIAS: [
        "demographicParity",
        "equalizedOdds",
        "disparateImpact",
        "selectionRateMin",
        "selectionRateMax",
        "truePositiveRateDifference",
        "falsePositiveRateDifference",
        "groups",
        "byFeature",
    ],
    Suite.ROBUSTNESS: [
        "driftDetection",
        "driftedFeatures",
        "featureDrift",
        "degradation",
        "edgeCases",
        "adversarialAccuracy",
        "cleanAccuracy",
        "adversarialAccuracyDrop",
        "adversarialFlipRate",
    ],
    Suite.SECURITY: [
        "highSeverityFindings",
        "findings",
        "findingCounts",
        "rowsChecked",
        "columnsChecked",
        "duplicateRowShare",
        "notPerformed",
    ],
    Suite.SMOKE: [
        "loads",
        "validOutputs",
        "deterministic",
        "latencyP95Ms",
        "latency",
        "determinism",
        "rows",
    ],
}

# y_pred (and y_score) are optional everywhere: without them the registry computes them by
# running the version's executable (ONNX) model artifact; a dataset without them and without
# such a model is refused at request time, naming the dataset.
INPUTS = {
    Suite.PERFORMANCE: {
        "requiredColumns": ["y_true"],
        "optionalColumns": ["y_pred", "y_score"],
        "needsSensitiveFeatures": False,
        "usesReferenceDataset": False,
    },
    Suite.BIAS: {
        "requiredColumns": ["y_true"],
        "optionalColumns": ["y_pred", "y_score"],
        "needsSensitiveFeatures": True,
        "usesReferenceDataset": False,
    },
    Suite.ROBUSTNESS: {
        "requiredColumns": ["y_true"],
        "optionalColumns": ["y_pred", "y_score", "y_pred_adversarial"],
        "needsSensitiveFeatures": False,
        "usesReferenceDataset": True,
    },
    Suite.SECURITY: {
        "requiredColumns": [],
        "optionalColumns": ["y_true", "y_pred", "y_score", "y_pred_adversarial"],
        "needsSensitiveFeatures": False,
        "usesReferenceDataset": False,
    },
    # The model's input columns only: the registry always runs the model (submitted
    # predictions are not used), so the version needs an executable model artifact.
    Suite.SMOKE: {
        "requiredColumns": [],
        "optionalColumns": ["y_true", "y_pred", "y_score"],
        "needsSensitiveFeatures": False,
        "usesReferenceDataset": False,
    },
}

SECURITY_THRESHOLD = {"highSeverityFindings": 0}


def default_thresholds(suite: str) -> dict[str, dict[str, float]]:
    """Per tier, the thresholds the suite is judged by when the request gives none."""
    section = SUITE_SECTIONS.get(suite)
    if section is None:
        return {tier: dict(SECURITY_THRESHOLD) for tier in TIER_THRESHOLDS}
    return {tier: dict(document.get(section, {})) for tier, document in TIER_THRESHOLDS.items()}


def threshold_directions(suite: str) -> dict[str, str]:
    section = SUITE_SECTIONS.get(suite)
    if section is None:
        return {"highSeverityFindings": "max"}
    metrics = {m for tier in TIER_THRESHOLDS.values() for m in tier.get(section, {})}
    return {m: DIRECTIONS[m] for m in DIRECTIONS if m in metrics}


def suite_documents() -> list[dict]:
    return [
        {
            "key": key,
            "name": Suite(key).label,
            "description": DESCRIPTIONS[key],
            "metrics": METRICS[key],
            "thresholdsSection": SUITE_SECTIONS.get(key),
            "thresholdDirections": threshold_directions(key),
            "defaultThresholds": default_thresholds(key),
            **INPUTS[key],
        }
        for key in SUITES
    ]
