"""The ``validation`` suite: quantitative validation of a scoring model on one dataset.

:func:`compute_validation` assembles the suite's metrics from the functions of
:mod:`.validation` (the definitions and their references live there): discrimination
(``gini``, ``ksStatistic``), calibration (``brierScore``, ``hosmerLemeshowP``), stability
(``psi`` of ``y_score`` against the reference dataset's) and champion/challenger (DeLong's test
of this version's rocAuc against the PRODUCTION version's on the same rows), plus the data of
their charts (``reliabilityCurve``, ``ksCurve``, ``psiBins``, ``championChallenger.rocCurves``).

A metric that is undefined on well-formed data (one class only, too few score groups, no
reference, no champion) is ``None`` and ``metrics["unavailable"][name]`` says why; malformed
scores of the dataset raise :class:`.validation.ValidationInputError` (a ``DatasetError``),
so the run fails with a message as for any other unusable dataset.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from ._common import Y_SCORE, Y_TRUE, as_float
from .performance import ROC_MAX_POINTS, downsample_curve, roc_curve_points
from .validation import (
    HL_GROUPS,
    PSI_BINS,
    PSI_SHARE_FLOOR,
    RELIABILITY_BINS,
    ValidationInputError,
    brier_score,
    delong_test,
    gini,
    hosmer_lemeshow_p,
    ks_curve,
    ks_statistic,
    psi,
    reliability_curve,
)

__all__ = [
    "KS_CHART_POINTS",
    "NO_CHAMPION",
    "NO_REFERENCE",
    "VALIDATION_METRICS",
    "compute_validation",
]

Progress = Callable[[float, str], Any]

#: The metrics the suite's thresholds can judge (``championChallenger`` is a block).
VALIDATION_METRICS = (
    "gini",
    "ksStatistic",
    "brierScore",
    "hosmerLemeshowP",
    "psi",
    "championChallenger",
)
#: ``ks_curve`` keeps this many evenly spaced points plus the maximum's: at most 200 in all.
KS_CHART_POINTS = 199
NO_REFERENCE = "needs a reference dataset with the model's scores (referenceDataset)"
NO_CHAMPION = "the model has no version in PRODUCTION to compare with"


def _no_scores_reason() -> str:
    return (
        f"no {Y_SCORE} column in the dataset; the validation metrics need the model's "
        "probability of class 1"
    )


def compute_validation(
    df: pd.DataFrame,
    reference: pd.DataFrame | None = None,
    *,
    champion: Mapping[str, Any] | None = None,
    progress: Progress | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """Validation metrics of ``df`` (``y_true`` and ``y_score``) and notes.

    ``reference``: the reference dataset; its ``y_score`` is PSI's expected distribution.
    ``champion``: ``{"version": "1.0", "versionId": 3, "y_score": array}`` with the
    PRODUCTION version's scores on the rows of ``df``, or ``{"missing": reason}`` when there is
    none (``None``: the default reason :data:`NO_CHAMPION`).
    """
    report = progress or (lambda fraction, message: None)
    metrics: dict[str, Any] = {name: None for name in VALIDATION_METRICS}
    metrics.update(hosmerLemeshow=None, reliabilityCurve=None, ksCurve=None, psiBins=None)
    unavailable: dict[str, str] = {}
    methods: dict[str, dict[str, Any]] = {}
    metrics["unavailable"] = unavailable
    metrics["methods"] = methods
    notes: list[str] = []

    def missing(name: str, reason: str, *charts: str) -> None:
        unavailable[name] = reason
        for chart in charts:
            unavailable[chart] = reason
        notes.append(f"{name} not computed: {reason}")

    if Y_TRUE not in df.columns:
        raise ValidationInputError(f"the dataset has no {Y_TRUE} column")
    if Y_SCORE not in df.columns:
        reason = _no_scores_reason()
        for name in VALIDATION_METRICS:
            missing(name, reason)
        for chart in ("hosmerLemeshow", "reliabilityCurve", "ksCurve", "psiBins"):
            unavailable[chart] = reason
        report(1.0, "no scores: nothing measured")
        return metrics, notes

    y_true = df[Y_TRUE].to_numpy()
    y_score = df[Y_SCORE].to_numpy(dtype=np.float64)
    n = int(y_score.size)
    report(0.0, "discrimination: gini and KS")

    value, reason = gini(y_true, y_score)
    metrics["gini"] = value
    if reason:
        missing("gini", reason)
    methods["gini"] = {
        "method": "Gini coefficient (accuracy ratio), 2 * rocAuc - 1, rocAuc as the "
        "performance suite's (trapezoidal, as scikit-learn)",
        "reference": "accuracy ratio AR = 2 AUC - 1 (Engelmann, Hayden & Tasche 2003)",
        "sample": n,
        "parameters": {},
    }

    value, reason = ks_statistic(y_true, y_score)
    metrics["ksStatistic"] = value
    if reason:
        missing("ksStatistic", reason)
    curve, reason = ks_curve(y_true, y_score, max_points=KS_CHART_POINTS)
    if curve is not None:
        metrics["ksCurve"] = {
            "thresholds": curve.grid,
            "cdfPositive": curve.cdf_positive,
            "cdfNegative": curve.cdf_negative,
            "at": curve.ks_threshold,
            "ksStatistic": curve.ks_statistic,
            "points": curve.points,
            "totalPoints": curve.total_points,
            "downsampled": curve.downsampled,
        }
    else:
        unavailable["ksCurve"] = reason or ""
    methods["ksStatistic"] = {
        "method": "two-sample Kolmogorov-Smirnov statistic sup_t |F1(t) - F0(t)| of y_score "
        "between the positive and the negative class (empirical CDFs at every observed score)",
        "reference": "Kolmogorov 1933, Smirnov 1948; equals scipy.stats.ks_2samp's statistic",
        "sample": n,
        "parameters": {"chartPoints": KS_CHART_POINTS + 1},
    }
    report(0.3, "calibration: Brier score and Hosmer-Lemeshow")

    value, _ = brier_score(y_true, y_score)
    metrics["brierScore"] = value
    methods["brierScore"] = {
        "method": "mean squared difference between y_score and y_true",
        "reference": "Brier 1950; equals sklearn.metrics.brier_score_loss",
        "sample": n,
        "parameters": {},
    }

    hl, reason = hosmer_lemeshow_p(y_true, y_score, groups=HL_GROUPS)
    if hl is not None:
        metrics["hosmerLemeshowP"] = hl.p_value
        metrics["hosmerLemeshow"] = {
            # An infinite statistic (a certain score that did not happen) is not JSON: None,
            # and the p-value 0 says it all.
            "statistic": as_float(hl.statistic),
            "dof": hl.degrees_of_freedom,
            "groups": hl.groups,
            "groupRows": hl.group_rows,
            "observed": hl.observed,
            "expected": hl.expected,
        }
    else:
        missing("hosmerLemeshowP", reason or "", "hosmerLemeshow")
    methods["hosmerLemeshowP"] = {
        "method": "Hosmer-Lemeshow goodness-of-fit test: groups by pandas.qcut(y_score, "
        f"{HL_GROUPS}, duplicates='drop'), statistic sum (O - E)^2 / (E (1 - E/n)) over the "
        "groups, chi-squared with groups - 2 degrees of freedom",
        "reference": "Hosmer & Lemeshow 1980; Applied Logistic Regression, section 5.2.2",
        "sample": n,
        "parameters": {"groups": HL_GROUPS, "groupsUsed": hl.groups if hl else None},
    }

    rel, _ = reliability_curve(y_true, y_score, bins=RELIABILITY_BINS)
    if rel is not None:
        metrics["reliabilityCurve"] = {
            "meanPredicted": rel.mean_predicted,
            "observedRate": rel.observed_rate,
            "counts": rel.count,
            "binEdges": rel.bin_edges,
        }
    methods["reliabilityCurve"] = {
        "method": "mean predicted probability against the observed rate of class 1 in "
        f"{RELIABILITY_BINS} uniform score bins on [0, 1]",
        "reference": "reliability diagram (Murphy & Winkler 1977); the non-empty bins equal "
        "sklearn.calibration.calibration_curve(strategy='uniform')",
        "sample": n,
        "parameters": {"bins": RELIABILITY_BINS},
    }
    report(0.5, "stability: PSI against the reference")

    _stability(metrics, methods, missing, reference, y_score)
    report(0.7, "champion/challenger")

    _champion_challenger(metrics, methods, missing, champion, y_true, y_score)
    report(1.0, "validation metrics computed")
    return metrics, notes


def _stability(
    metrics: dict[str, Any],
    methods: dict[str, dict[str, Any]],
    missing: Callable[..., None],
    reference: pd.DataFrame | None,
    y_score: np.ndarray,
) -> None:
    ref_scores = None
    if reference is not None and Y_SCORE in reference.columns:
        ref_scores = reference[Y_SCORE].to_numpy(dtype=np.float64)
    methods["psi"] = {
        "method": "population stability index of y_score against the reference's y_score: "
        f"bins at the reference's deciles (numpy.quantile, linear; a value on an edge goes "
        f"to the bin above), outer bins open, sum (a - e) ln(a / e) over the {PSI_BINS} bins, "
        f"shares floored at {PSI_SHARE_FLOOR:g}",
        "reference": "Siddiqi, Credit Risk Scorecards, 2006, ch. 8; Yurdakul 2018",
        "sample": int(y_score.size),
        "referenceSample": int(ref_scores.size) if ref_scores is not None else None,
        "parameters": {"bins": PSI_BINS, "shareFloor": PSI_SHARE_FLOOR},
    }
    if ref_scores is None:
        missing("psi", NO_REFERENCE, "psiBins")
        return
    try:
        result, _ = psi(ref_scores, y_score)
    except ValidationInputError as exc:
        # The reference is an optional input: bad reference scores leave PSI unmeasured
        # rather than failing the whole run.
        missing("psi", f"the reference dataset's scores are unusable: {exc}", "psiBins")
        return
    if result is None:  # psi() is defined for any non-empty samples; kept for safety
        missing("psi", NO_REFERENCE, "psiBins")
        return
    metrics["psi"] = result.psi
    edges = result.edges
    bins = []
    for i, (e_raw, a_raw) in enumerate(
        zip(result.reference_shares, result.current_shares, strict=True)
    ):
        e = max(e_raw, PSI_SHARE_FLOOR)
        a = max(a_raw, PSI_SHARE_FLOOR)
        bins.append(
            {
                "bin": i,
                "lower": edges[i - 1] if i > 0 else None,  # outer bins are open
                "upper": edges[i] if i < len(edges) else None,
                "expectedShare": e_raw,
                "actualShare": a_raw,
                "contribution": float((a - e) * np.log(a / e)),
            }
        )
    metrics["psiBins"] = bins


def _champion_challenger(
    metrics: dict[str, Any],
    methods: dict[str, dict[str, Any]],
    missing: Callable[..., None],
    champion: Mapping[str, Any] | None,
    y_true: np.ndarray,
    y_score: np.ndarray,
) -> None:
    methods["championChallenger"] = {
        "method": "two-sided DeLong test of H0: rocAuc(this version) = rocAuc(champion) on "
        "the same rows, both models run by the registry; aucDifference is this version's "
        "rocAuc minus the champion's",
        "reference": "DeLong, DeLong & Clarke-Pearson 1988, fast algorithm of Sun & Xu 2014",
        "sample": int(y_score.size),
        "parameters": {"rocCurvePoints": ROC_MAX_POINTS},
    }
    if champion is None or champion.get("y_score") is None:
        reason = (champion or {}).get("missing") or NO_CHAMPION
        missing("championChallenger", str(reason))
        return
    try:
        champion_scores = np.asarray(champion["y_score"], dtype=np.float64)
        result, reason = delong_test(y_true, y_score, champion_scores)
    except (ValidationInputError, TypeError, ValueError) as exc:
        # The champion's scores come from another model: a fault there is a finding about
        # the comparison, not an unusable dataset.
        missing("championChallenger", f"the champion's scores are unusable: {exc}")
        return
    if result is None:
        missing("championChallenger", reason or "")
        return
    positive = np.asarray(y_true, dtype=np.float64).astype(np.int8)
    curves = {}
    for name, scores in (("champion", champion_scores), ("challenger", y_score)):
        points = downsample_curve(*roc_curve_points(positive, scores))
        curves[name] = {"fpr": points["fpr"], "tpr": points["tpr"]}
    version = champion.get("version")
    version_id = champion.get("versionId")
    metrics["championChallenger"] = {
        "championVersion": str(version) if version is not None else None,
        "championVersionId": version_id,
        "aucDifference": result.auc_difference,
        "pValue": result.p_value,
        "championRocAuc": result.auc_b,
        "challengerRocAuc": result.auc_a,
        "z": result.z,
        "rocCurves": curves,
    }
    methods["championChallenger"]["parameters"]["championVersion"] = metrics["championChallenger"][
        "championVersion"
    ]
