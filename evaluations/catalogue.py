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
        "Input validation of the uploaded dataset (schema, label and score ranges, missing "
        "and infinite values, formula injection, duplicates) and, when the registry runs the "
        "model, attacks on it: membership inference (needs a training sample), attribute "
        "inference (model inversion) of the first sensitive feature, hostile inputs (NaN, "
        "infinities, extreme values, wrong types, missing inputs) and STRIP backdoor "
        "screening against a clean reference (the reference dataset, else half the dataset)."
    ),
    Suite.SMOKE: (
        "The registry runs the version's executable (ONNX) model on the dataset: it loads, "
        "every score is a finite probability of class 1, the same input twice gives the "
        "same output, and the 95th percentile latency of a batch of 1,000 rows. Labels are "
        "not needed; a version without such a model cannot be smoke-tested."
    ),
    Suite.EXPLAINABILITY: (
        "Model-agnostic attributions of the model the registry runs: global feature "
        "importance (mean absolute attribution), its stability across bootstrap resamples "
        "(Spearman) and its faithfulness (the rocAuc drop when the top three features are "
        "replaced by their means, against three other features)."
    ),
    Suite.VALIDATION: (
        "Quantitative validation of a scoring model: discriminatory power (Gini, KS), "
        "calibration (Brier score, Hosmer-Lemeshow test, reliability curve), stability (PSI "
        "of the scores against the reference dataset) and champion-challenger against the "
        "model's version in PRODUCTION (DeLong test), both models run by the registry."
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
        "consistency",
        "groups",
        "byFeature",
        "methods",
    ],
    Suite.ROBUSTNESS: [
        "driftDetection",
        "driftedFeatures",
        "featureDrift",
        "degradation",
        "edgeCases",
        "adversarialAccuracy",
        "noiseAccuracy",
        "cleanAccuracy",
        "adversarialAccuracyDrop",
        "adversarialFlipRate",
        "perturbationCurve",
        "methods",
    ],
    Suite.SECURITY: [
        "highSeverityFindings",
        "membershipInferenceAdvantage",
        "attributeInferenceAdvantage",
        "inputValidationFailures",
        "backdoorSuspicion",
        "findings",
        "findingCounts",
        "rowsChecked",
        "columnsChecked",
        "duplicateRowShare",
        "membershipInference",
        "attributeInference",
        "inputValidation",
        "backdoor",
        "methods",
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
    Suite.EXPLAINABILITY: [
        "featureImportance",
        "explanationStability",
        "explanationFaithfulness",
        "attributions",
        "methods",
    ],
    Suite.VALIDATION: [
        "gini",
        "ksStatistic",
        "brierScore",
        "hosmerLemeshowP",
        "psi",
        "championChallenger",
        "hosmerLemeshow",
        "reliabilityCurve",
        "ksCurve",
        "psiBins",
        "methods",
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
        "usesReferenceDataset": True,
        "usesTrainingDataset": True,
    },
    # The model's input columns only: the registry always runs the model (submitted
    # predictions are not used), so the version needs an executable model artifact.
    Suite.SMOKE: {
        "requiredColumns": [],
        "optionalColumns": ["y_true", "y_pred", "y_score"],
        "needsSensitiveFeatures": False,
        "usesReferenceDataset": False,
    },
    Suite.EXPLAINABILITY: {
        "requiredColumns": ["y_true"],
        "optionalColumns": ["y_pred", "y_score"],
        "needsSensitiveFeatures": False,
        "usesReferenceDataset": False,
    },
    # y_score is required when the dataset carries its own predictions (y_pred).
    Suite.VALIDATION: {
        "requiredColumns": ["y_true"],
        "optionalColumns": ["y_pred", "y_score"],
        "needsSensitiveFeatures": False,
        "usesReferenceDataset": True,
    },
}

# What the catalogue's headline metrics mean, where the run page shows them (with why a value
# is missing when it is).
MEANINGS = {
    Suite.SECURITY: [
        (
            "membershipInferenceAdvantage",
            "How much better than chance an attacker who sees only the model's scores tells "
            "training rows from others (attack TPR - FPR; 0 means no leak).",
        ),
        (
            "attributeInferenceAdvantage",
            "How much better than guessing the majority class an attacker infers the first "
            "sensitive feature from the other features and the model's output.",
        ),
        (
            "inputValidationFailures",
            "Hostile inputs (NaN, infinities, extreme values, wrong types, missing inputs) the "
            "model answered with an invalid output or crashed on; a clean refusal is not a "
            "failure.",
        ),
        (
            "backdoorSuspicion",
            "Share of inputs STRIP flags as carrying a trigger: their prediction barely moves "
            "when blended with clean inputs. The cut flags 1% of clean data, so ~0.01 is clean.",
        ),
    ],
    Suite.EXPLAINABILITY: [
        (
            "explanationStability",
            "Mean Spearman rank correlation of the global importances across 5 bootstrap "
            "resamples (1: the ranking does not depend on the sample).",
        ),
        (
            "explanationFaithfulness",
            "rocAuc lost when the 3 most important features are replaced by their means, "
            "minus the loss for 3 other features (above 0: the explanation points at what the "
            "model uses).",
        ),
    ],
    Suite.VALIDATION: [
        ("gini", "Discriminatory power, 2·rocAuc - 1 (0: none, 1: perfect)."),
        (
            "ksStatistic",
            "Largest gap between the cumulative score distributions of the two classes.",
        ),
        ("brierScore", "Mean squared error of the scores as probabilities (lower is better)."),
        (
            "hosmerLemeshowP",
            "p-value of the Hosmer-Lemeshow calibration test over score deciles (low: the "
            "scores are not calibrated).",
        ),
        (
            "psi",
            "Population stability of the scores against the reference dataset (below 0.1 "
            "stable, above 0.25 a major shift).",
        ),
    ],
}

# Form fields a suite reads besides the dataset: the run's parameters.
PARAMETERS = {
    Suite.ROBUSTNESS: {"epsilon": 0.1, "seed": 0},
    Suite.SECURITY: {"seed": 0},
    Suite.EXPLAINABILITY: {"seed": 0},
    Suite.BIAS: {"seed": 0},
}


def default_thresholds(suite: str) -> dict[str, dict[str, float]]:
    """Per tier, the thresholds the suite is judged by when the request gives none."""
    section = SUITE_SECTIONS[suite]
    return {tier: dict(document.get(section, {})) for tier, document in TIER_THRESHOLDS.items()}


def threshold_directions(suite: str) -> dict[str, str]:
    section = SUITE_SECTIONS[suite]
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
            "usesTrainingDataset": False,
            **INPUTS[key],
            "parameters": PARAMETERS.get(key, {}),
        }
        for key in SUITES
    ]
