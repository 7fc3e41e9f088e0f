"""The charts of one evaluation run, as (title, svg) pairs, for the run page and for reports.

Built with core/charts/ (pure SVG, no JavaScript), so the same markup works in a page
(`{{ svg|safe }}`) and in a WeasyPrint PDF.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from core import charts
from core.charts.xy import xy_chart

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
        "explainability": _explainability,
        "validation": _validation,
    }
    builder = builders.get(suite)
    return builder(metrics, thresholds) if builder else []


def _section(thresholds: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    section = thresholds.get(name)
    return section if isinstance(section, Mapping) else {}


def _chart(title: str, svg: str) -> Chart:
    return (title, svg)


def _number(value: Any) -> float | None:
    """A finite float, or None (chart data may hold None, NaN or strings)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _limit(thresholds: Mapping[str, Any], section: str, name: str) -> float | None:
    return _number(_section(thresholds, section).get(name))


def _rows(value: Any) -> list[Mapping[str, Any]]:
    """The mappings of a list of records (anything else in it is skipped)."""
    if not isinstance(value, list | tuple):
        return []
    return [row for row in value if isinstance(row, Mapping)]


def _curve(block: Any, x_key: str, y_key: str) -> tuple[list[Any], list[Any]] | None:
    """``(xs, ys)`` of a curve block, or None when it has no points."""
    if not isinstance(block, Mapping):
        return None
    xs, ys = block.get(x_key), block.get(y_key)
    if not isinstance(xs, list | tuple) or not isinstance(ys, list | tuple) or not xs:
        return None
    return list(xs), list(ys)


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
    out.extend(_perturbation(metrics, thresholds))
    return out


def _perturbation(metrics: Mapping[str, Any], thresholds: Mapping[str, Any]) -> list[Chart]:
    rows = _rows(metrics.get("perturbationCurve"))
    rows = [row for row in rows if _number(row.get("epsilon")) is not None]
    if not rows:
        return []
    rows.sort(key=lambda row: _number(row.get("epsilon")))
    eps = [row.get("epsilon") for row in rows]
    marks = []
    for name in ("adversarialAccuracy", "noiseAccuracy"):
        limit = _limit(thresholds, "robustnessThresholds", name)
        if limit is not None:
            marks.append((limit, f"{name} threshold {limit:g}"))
    title = "Accuracy against perturbation size"
    return [
        _chart(
            title,
            xy_chart(
                {
                    "adversarial accuracy": (eps, [row.get("adversarialAccuracy") for row in rows]),
                    "accuracy under Gaussian noise": (
                        eps,
                        [row.get("noiseAccuracy") for row in rows],
                    ),
                },
                title=title,
                x_label="epsilon (fraction of each feature's standard deviation)",
                y_label="accuracy",
                y_min=0.0,
                y_max=1.0,
                y_format="percent",
                thresholds=marks,
            ),
        )
    ]


# ---- security -------------------------------------------------------------------------------


def _security(metrics: Mapping[str, Any], thresholds: Mapping[str, Any]) -> list[Chart]:
    out: list[Chart] = []
    counts = metrics.get("findingCounts") or {}
    if isinstance(counts, Mapping) and counts:
        severities = [s for s in ("high", "medium", "low", "info") if s in counts]
        title = "Findings by severity"
        out.append(
            _chart(
                title,
                charts.bar_chart(
                    severities,
                    [counts.get(s) for s in severities],
                    title=title,
                    value_label="findings",
                ),
            )
        )
    membership = metrics.get("membershipInference")
    curve = _curve(
        membership.get("rocCurve") if isinstance(membership, Mapping) else None, "fpr", "tpr"
    )
    if curve is not None:
        title = "Membership inference attack"
        out.append(
            _chart(
                title,
                # The chance diagonal is the attack that cannot tell members: no leak.
                charts.roc_curve_chart(
                    curve[0], curve[1], auc=_number(membership.get("auc")), title=title
                ),
            )
        )
    out.extend(_strip_entropy(metrics.get("backdoor")))
    return out


def _shares(counts: Any) -> list[float | None]:
    """Counts as shares of their total, so that samples of different sizes compare."""
    values = [_number(c) for c in counts] if isinstance(counts, list | tuple) else []
    total = sum(v for v in values if v is not None)
    return [v / total if v is not None and total > 0 else None for v in values]


def _strip_entropy(backdoor: Any) -> list[Chart]:
    if not isinstance(backdoor, Mapping):
        return []
    histogram = backdoor.get("entropyHistogram")
    if not isinstance(histogram, Mapping):
        return []
    edges = histogram.get("edges")
    if not isinstance(edges, list | tuple) or len(edges) < 2:
        return []
    series = {}
    for key, name in (("dataset", "dataset"), ("reference", "clean reference")):
        shares = _shares(histogram.get(key))
        if any(v is not None for v in shares):
            series[name] = (list(edges), shares)
    if not series:
        return []
    cut = _number(backdoor.get("entropyCut"))
    marks = (
        [(cut, f"entropy cut {cut:.3g}: below it an input is flagged")] if cut is not None else []
    )
    title = "STRIP entropy"
    return [
        _chart(
            title,
            xy_chart(
                series,
                title=title,
                x_label="mean entropy of the prediction over blends (low: a possible trigger)",
                y_label="share of inputs",
                y_format="percent",
                markers=marks,
                step=True,
            ),
        )
    ]


# ---- explainability -------------------------------------------------------------------------


def _explainability(metrics: Mapping[str, Any], thresholds: Mapping[str, Any]) -> list[Chart]:
    pairs = [
        (row.get("feature"), _number(row.get("importance")))
        for row in _rows(metrics.get("attributions"))
    ]
    if not pairs:
        importance = metrics.get("featureImportance")
        if isinstance(importance, Mapping):
            pairs = [(name, _number(value)) for name, value in importance.items()]
    pairs = [(str(name), value) for name, value in pairs if name is not None]
    if not pairs:
        return []
    # Most important first; a missing importance sorts last.
    pairs.sort(key=lambda p: (p[1] is None, -(p[1] or 0.0)))
    shown = pairs[: MAX_CATEGORIES * 2]
    method = (metrics.get("methods") or {}).get("featureImportance")
    label = "mean |attribution|"
    if isinstance(method, Mapping) and method.get("method"):
        label += f" ({method.get('method')})"
    title = "Feature importance"
    return [
        _chart(
            title,
            charts.bar_chart(
                [name for name, _ in shown],
                [value for _, value in shown],
                title=title,
                horizontal=True,
                value_label=label,
            ),
        )
    ]


# ---- validation -----------------------------------------------------------------------------


def _validation(metrics: Mapping[str, Any], thresholds: Mapping[str, Any]) -> list[Chart]:
    out: list[Chart] = []
    out.extend(_reliability(metrics.get("reliabilityCurve")))
    out.extend(_ks(metrics.get("ksCurve"), thresholds))
    out.extend(_psi_bins(metrics, thresholds))
    out.extend(_champion(metrics.get("championChallenger")))
    return out


def _reliability(block: Any) -> list[Chart]:
    curve = _curve(block, "meanPredicted", "observedRate")
    if curve is None:
        return []
    # Empty bins have no point; the curve joins the bins that have rows.
    pairs = [(x, y) for x, y in zip(*curve, strict=False) if _number(x) is not None]
    pairs = [(x, y) for x, y in pairs if _number(y) is not None]
    if not pairs:
        return []
    title = "Calibration (reliability)"
    return [
        _chart(
            title,
            xy_chart(
                {"model": ([x for x, _ in pairs], [y for _, y in pairs])},
                title=title,
                x_label="mean predicted probability (score bin)",
                y_label="observed rate of class 1",
                x_min=0.0,
                x_max=1.0,
                y_min=0.0,
                y_max=1.0,
                diagonal="perfect calibration",
                square=True,
                width=460,
            ),
        )
    ]


def _ks(block: Any, thresholds: Mapping[str, Any]) -> list[Chart]:
    curve = _curve(block, "thresholds", "cdfPositive")
    if curve is None:
        return []
    xs, positive = curve
    negative = block.get("cdfNegative")
    negative = list(negative) if isinstance(negative, list | tuple) else []
    gaps = []
    at = _number(block.get("at"))
    if at is not None:
        # The point of the maximum is in the curve (ks_curve keeps it); else the nearest.
        candidates = [(abs(x - at), i) for i, x in enumerate(map(_number, xs)) if x is not None]
        if candidates:
            i = min(candidates)[1]
            lo = _number(positive[i]) if i < len(positive) else None
            hi = _number(negative[i]) if i < len(negative) else None
            if lo is not None and hi is not None:
                gap = abs(hi - lo)
                label = f"KS = {gap:.3f} at score {at:.3g}"
                limit = _limit(thresholds, "validationThresholds", "ksStatistic")
                if limit is not None:
                    label += f" (threshold {limit:g})"
                gaps.append((xs[i], lo, hi, label))
    title = "KS: cumulative score distributions by class"
    return [
        _chart(
            title,
            xy_chart(
                {
                    "class 1 (y_true = 1)": (xs, positive),
                    "class 0 (y_true = 0)": (xs, negative),
                },
                title=title,
                x_label="score (y_score)",
                y_label="cumulative share of class",
                y_min=0.0,
                y_max=1.0,
                y_format="percent",
                gaps=gaps,
            ),
        )
    ]


def _bin_label(row: Mapping[str, Any]) -> str:
    lower, upper = _number(row.get("lower")), _number(row.get("upper"))
    if lower is None and upper is None:
        return f"bin {row.get('bin')}"
    if lower is None:
        return f"< {upper:.3g}"
    if upper is None:
        return f">= {lower:.3g}"
    return f"{lower:.3g} to {upper:.3g}"


def _psi_bins(metrics: Mapping[str, Any], thresholds: Mapping[str, Any]) -> list[Chart]:
    rows = _rows(metrics.get("psiBins"))
    if not rows:
        return []
    labels = [_bin_label(row) for row in rows]
    value = _number(metrics.get("psi"))
    limit = _limit(thresholds, "validationThresholds", "psi")
    summary = f"PSI = {value:.3g}" if value is not None else "PSI"
    if limit is not None:
        summary += f", threshold {limit:g}"
    title = "PSI per score bin"
    out = [
        _chart(
            title,
            charts.grouped_bar_chart(
                labels,
                {
                    "reference (expected)": [row.get("expectedShare") for row in rows],
                    "this dataset (actual)": [row.get("actualShare") for row in rows],
                },
                title=title,
                value_format="percent",
                value_label=f"share of rows per reference score decile ({summary})",
                show_values=False,
                horizontal=True,
            ),
        )
    ]
    title = "PSI contribution per score bin"
    out.append(
        _chart(
            title,
            charts.bar_chart(
                labels,
                [row.get("contribution") for row in rows],
                title=title,
                horizontal=True,
                value_label=f"(a - e) ln(a / e); the bins sum to the PSI ({summary})",
            ),
        )
    )
    return out


def _champion(block: Any) -> list[Chart]:
    if not isinstance(block, Mapping):
        return []
    curves = block.get("rocCurves")
    if not isinstance(curves, Mapping):
        return []
    version = block.get("championVersion")
    names = {
        "challenger": ("this version (challenger)", block.get("challengerRocAuc")),
        "champion": (
            f"champion {version}" if version is not None else "champion",
            block.get("championRocAuc"),
        ),
    }
    series = {}
    for key, (name, auc) in names.items():
        curve = _curve(curves.get(key), "fpr", "tpr")
        if curve is None:
            continue
        auc_value = _number(auc)
        series[f"{name}, AUC {auc_value:.3f}" if auc_value is not None else name] = curve
    if not series:
        return []
    title = "Champion vs challenger"
    return [
        _chart(
            title,
            xy_chart(
                series,
                title=title,
                x_label="False positive rate",
                y_label="True positive rate",
                x_min=0.0,
                x_max=1.0,
                y_min=0.0,
                y_max=1.0,
                diagonal="chance (AUC = 0.5)",
                square=True,
                width=460,
            ),
        )
    ]
