"""The charts of one evaluation run, as (title, svg) pairs, for the run page and for reports.

Built with core/charts/ (pure SVG, no JavaScript), so the same markup works in a page
(`{{ svg|safe }}`) and in a WeasyPrint PDF.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core import charts

MAX_CATEGORIES = 30
PSI_MAJOR_SHIFT = 0.25
PERFORMANCE_KEYS = ("accuracy", "precision", "recall", "f1Score", "rocAuc")

Chart = tuple[str, str]


def run_charts(run) -> list[Chart]:
    """Charts of a stored EvaluationRun (none until it has metrics)."""
    return suite_charts(run.suite, run.metrics or {}, thresholds=run.thresholds or {})


def suite_charts(
    suite: str, metrics: Mapping[str, Any], *, thresholds: Mapping[str, Any] | None = None
) -> list[Chart]:
    """Charts of a suite's metrics (the engine's `metrics` document)."""
    if not metrics:
        return []
    thresholds = thresholds or {}
    builders = {
        "performance": _performance,
        "bias": _bias,
        "robustness": _robustness,
        "security": _security,
    }
    builder = builders.get(suite)
    return builder(metrics, thresholds) if builder else []


def _section(thresholds: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    section = thresholds.get(name)
    return section if isinstance(section, Mapping) else {}


def _chart(title: str, svg: str) -> Chart:
    return (title, svg)


# ---- performance ----------------------------------------------------------------------------


def _performance(metrics: Mapping[str, Any], thresholds: Mapping[str, Any]) -> list[Chart]:
    out: list[Chart] = []
    cm = metrics.get("confusionMatrix") or {}
    if cm:
        title = "Confusion matrix"
        out.append(
            _chart(
                title,
                charts.confusion_matrix_chart(
                    cm.get("tn"), cm.get("fp"), cm.get("fn"), cm.get("tp"), title=title
                ),
            )
        )
    curve = metrics.get("rocCurve")
    if isinstance(curve, Mapping) and curve.get("fpr"):
        title = "ROC curve"
        out.append(
            _chart(
                title,
                charts.roc_curve_chart(
                    curve.get("fpr") or [],
                    curve.get("tpr") or [],
                    auc=metrics.get("rocAuc"),
                    title=title,
                ),
            )
        )
    keys = [k for k in PERFORMANCE_KEYS if metrics.get(k) is not None]
    if keys:
        title = "Classification metrics"
        out.append(
            _chart(
                title,
                charts.bar_chart(
                    keys, [metrics.get(k) for k in keys], title=title, value_format="percent"
                ),
            )
        )
    for column, block in (metrics.get("segments") or {}).items():
        segments = (block or {}).get("segments") or []
        if not segments:
            continue
        shown = segments[:MAX_CATEGORIES]
        title = f"Performance by {column}"
        out.append(
            _chart(
                title,
                charts.grouped_bar_chart(
                    [s.get("value") for s in shown],
                    {
                        "accuracy": [s.get("accuracy") for s in shown],
                        "f1Score": [s.get("f1Score") for s in shown],
                    },
                    title=title,
                    value_format="percent",
                    horizontal=len(shown) > 8,
                ),
            )
        )
    return out


# ---- bias -----------------------------------------------------------------------------------


def bias_blocks(metrics: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    """(feature, block) for each sensitive feature: `byFeature` with several, else the top."""
    by_feature = metrics.get("byFeature")
    if isinstance(by_feature, Mapping) and by_feature:
        return [(str(name), block) for name, block in by_feature.items()]
    if metrics.get("groups") is not None:
        return [(str(metrics.get("feature") or "sensitive feature"), metrics)]
    return []


def _bias(metrics: Mapping[str, Any], thresholds: Mapping[str, Any]) -> list[Chart]:
    out: list[Chart] = []
    ratio = _section(thresholds, "biasThresholds").get("disparateImpact")
    for feature, block in bias_blocks(metrics):
        groups = (block.get("groups") or [])[:MAX_CATEGORIES]
        if not groups:
            continue
        labels = [g.get("group") for g in groups]
        highest = block.get("selectionRateMax")
        threshold = label = None
        if isinstance(ratio, int | float) and isinstance(highest, int | float):
            threshold = ratio * highest
            label = f"{ratio:g} x the highest rate (disparate impact threshold)"
        title = f"Selection rate by {feature}"
        out.append(
            _chart(
                title,
                charts.bar_chart(
                    labels,
                    [g.get("selectionRate") for g in groups],
                    title=title,
                    value_format="percent",
                    threshold=threshold,
                    threshold_label=label,
                    pass_if="above" if threshold is not None else None,
                    horizontal=len(groups) > 8,
                ),
            )
        )
        title = f"True and false positive rates by {feature}"
        out.append(
            _chart(
                title,
                charts.grouped_bar_chart(
                    labels,
                    {
                        "true positive rate": [g.get("truePositiveRate") for g in groups],
                        "false positive rate": [g.get("falsePositiveRate") for g in groups],
                    },
                    title=title,
                    value_format="percent",
                    horizontal=len(groups) > 8,
                ),
            )
        )
    return out


# ---- robustness -----------------------------------------------------------------------------


def _robustness(metrics: Mapping[str, Any], thresholds: Mapping[str, Any]) -> list[Chart]:
    out: list[Chart] = []
    drift = metrics.get("featureDrift") or {}
    tested = [(name, entry) for name, entry in drift.items() if isinstance(entry, Mapping)]
    tested = tested[: MAX_CATEGORIES * 2]
    if tested:
        names = [name for name, _ in tested]
        alpha = metrics.get("driftAlpha")
        title = "Drift test p-value per feature"
        out.append(
            _chart(
                title,
                charts.bar_chart(
                    names,
                    [entry.get("pValue") for _, entry in tested],
                    title=title,
                    threshold=alpha if isinstance(alpha, int | float) else None,
                    threshold_label=f"significance level {alpha:g}"
                    if isinstance(alpha, int | float)
                    else None,
                    pass_if="above" if isinstance(alpha, int | float) else None,
                    horizontal=True,
                    value_label="p-value (below the level: drift)",
                ),
            )
        )
        title = "Population stability index per feature"
        out.append(
            _chart(
                title,
                charts.bar_chart(
                    names,
                    [entry.get("psi") for _, entry in tested],
                    title=title,
                    threshold=PSI_MAJOR_SHIFT,
                    threshold_label=f"{PSI_MAJOR_SHIFT:g}: major shift (for information)",
                    pass_if="below",
                    horizontal=True,
                    value_label="PSI",
                ),
            )
        )
    degradation = metrics.get("degradation")
    if isinstance(degradation, Mapping) and degradation:
        keys = [k for k in PERFORMANCE_KEYS if isinstance(degradation.get(k), Mapping)]
        title = "Reference vs current performance"
        out.append(
            _chart(
                title,
                charts.grouped_bar_chart(
                    keys,
                    {
                        "reference": [degradation[k].get("reference") for k in keys],
                        "current": [degradation[k].get("current") for k in keys],
                    },
                    title=title,
                    value_format="percent",
                ),
            )
        )
    adversarial = metrics.get("adversarialAccuracy")
    if adversarial is not None:
        limit = _section(thresholds, "robustnessThresholds").get("adversarialAccuracy")
        title = "Clean vs adversarial accuracy"
        out.append(
            _chart(
                title,
                charts.bar_chart(
                    ["clean accuracy", "adversarial accuracy"],
                    [metrics.get("cleanAccuracy"), adversarial],
                    title=title,
                    value_format="percent",
                    threshold=limit if isinstance(limit, int | float) else None,
                    threshold_label="adversarialAccuracy threshold"
                    if isinstance(limit, int | float)
                    else None,
                    pass_if="above" if isinstance(limit, int | float) else None,
                ),
            )
        )
    return out


# ---- security -------------------------------------------------------------------------------


def _security(metrics: Mapping[str, Any], thresholds: Mapping[str, Any]) -> list[Chart]:
    counts = metrics.get("findingCounts") or {}
    if not counts:
        return []
    severities = [s for s in ("high", "medium", "low", "info") if s in counts]
    title = "Findings by severity"
    return [
        _chart(
            title,
            charts.bar_chart(
                severities,
                [counts.get(s) for s in severities],
                title=title,
                value_label="findings",
            ),
        )
    ]
