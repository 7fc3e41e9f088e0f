"""Evaluation metrics computed by the platform from an uploaded dataset.

Pure functions over pandas/numpy, free of Django. The worker calls :func:`run_suite`; its
result is JSON-serialisable (NaN and infinities become ``None``). See docs/evaluations.md.
"""

from .bias import compute_bias, group_rates
from .datasets import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_ROWS,
    DatasetError,
    load_dataset,
    read_bytes,
    sha256_digest,
    validate_dataset,
    validate_segment_columns,
    validate_sensitive_features,
)
from .performance import (
    binary_metrics,
    compute_performance,
    grouped_roc_auc,
    roc_auc,
    roc_curve_points,
)
from .robustness import compute_robustness, feature_drift, population_stability_index
from .security import compute_security
from .suites import SUITES, run_suite
from .thresholds import (
    GUIDE_THRESHOLDS,
    TIER_THRESHOLDS,
    ThresholdsError,
    evaluate_thresholds,
    overall_passed,
    thresholds_for_tier,
    validate_thresholds,
)

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_ROWS",
    "GUIDE_THRESHOLDS",
    "SUITES",
    "TIER_THRESHOLDS",
    "DatasetError",
    "ThresholdsError",
    "binary_metrics",
    "compute_bias",
    "compute_performance",
    "compute_robustness",
    "compute_security",
    "evaluate_thresholds",
    "feature_drift",
    "group_rates",
    "grouped_roc_auc",
    "load_dataset",
    "overall_passed",
    "population_stability_index",
    "read_bytes",
    "roc_auc",
    "roc_curve_points",
    "run_suite",
    "sha256_digest",
    "thresholds_for_tier",
    "validate_dataset",
    "validate_segment_columns",
    "validate_sensitive_features",
    "validate_thresholds",
]
