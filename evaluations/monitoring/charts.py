"""The monitoring page's charts, as (title, svg) pairs like evaluations.charts: metric time
series over the windows with the default pack's threshold drawn, and the latest window's PSI
per feature. Built with core.charts (pure SVG)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from core import charts
from evaluations.charts import Chart
from evaluations.models import MonitoringWindow

#: The default pack's production-monitoring line for the score PSI (and the usual one for a
#: feature's PSI: above it, a major shift).
PSI_LIMIT = 0.2
#: The robustness suite's significance level for drift tests.
DRIFT_ALPHA = 0.05
# (metric, title, threshold, threshold label, y range): drawn when any window has the metric.
SERIES = (
    ("scorePsi", "Score PSI per day", PSI_LIMIT, "production-monitoring: under 0.2", None),
    ("driftDetection", "Smallest feature drift p-value per day", DRIFT_ALPHA, "0.05", (0, 1)),
    ("accuracy", "Accuracy per day (rows with outcomes)", None, None, (0, 1)),
    ("rocAuc", "ROC AUC per day (rows with outcomes)", None, None, (0, 1)),
    ("demographicParity", "Demographic parity difference per day", None, None, (0, 1)),
)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def monitoring_charts(windows: Sequence[MonitoringWindow]) -> list[Chart]:
    """Charts of the windows (any order; drawn oldest first)."""
    ordered = sorted(windows, key=lambda w: w.start)
    if not ordered:
        return []
    labels = [w.start.isoformat() for w in ordered]
    out: list[Chart] = []
    for key, title, threshold, label, bounds in SERIES:
        values = [_number((w.metrics or {}).get(key)) for w in ordered]
        if all(v is None for v in values):
            continue
        out.append(
            (
                title,
                charts.line_chart(
                    labels,
                    {key: values},
                    title=title,
                    threshold=threshold,
                    threshold_label=label,
                    y_min=bounds[0] if bounds else 0,
                    y_max=bounds[1] if bounds else None,
                    x_label="UTC day (batch arrival)",
                ),
            )
        )
    latest = ordered[-1].metrics or {}
    psi = {k: _number(v) for k, v in (latest.get("featurePsi") or {}).items()}
    if psi:
        title = f"PSI per feature on {ordered[-1].start.isoformat()}"
        out.append(
            (
                title,
                charts.bar_chart(
                    list(psi),
                    list(psi.values()),
                    title=title,
                    threshold=PSI_LIMIT,
                    threshold_label="0.2: a major shift",
                    pass_if="below",
                    horizontal=True,
                    value_label="PSI against the evaluation dataset",
                ),
            )
        )
    return out
