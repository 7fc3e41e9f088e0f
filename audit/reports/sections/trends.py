"""Month-end checkpoints of a period and the trend charts drawn from them."""

from __future__ import annotations

from datetime import datetime

from audit.reports.format import pct
from audit.reports.periods import Period, month_start
from audit.reports.portfolio import TIERS, Portfolio
from audit.reports.sections import TIER_COLORS
from core import charts


def month_checkpoints(period: Period, until: datetime, months_before: int = 0) -> list[tuple]:
    """(label, moment) at the end of each month of the period (and `months_before` earlier
    months), never later than `until`."""
    first = month_start(period.start.year, period.start.month - months_before)
    points = []
    cursor = first
    while cursor < period.end:
        following = month_start(cursor.year, cursor.month + 1)
        moment = min(following, until)
        if cursor < until:
            points.append((cursor.strftime("%b %Y"), moment))
        cursor = following
    return points


def is_live(period: Period, until: datetime) -> bool:
    """The report's data ends now (its period is still running): its figures at `until` are
    the live ones, the same the dashboard shows at this moment."""
    return until < period.end


def trend_charts(
    portfolio: Portfolio,
    checkpoints: list[tuple],
    *,
    title_suffix: str,
    live_at: datetime | None = None,
) -> dict:
    """The portfolio at each checkpoint; the one at `live_at` (now) is scored live."""
    snaps = [
        (label, portfolio.snapshot(moment, live=moment == live_at)) for label, moment in checkpoints
    ]
    labels = [label for label, _s in snaps]
    tier_chart = charts.stacked_bar_chart(
        labels,
        {tier: [s["tiers"].get(tier, 0) for _l, s in snaps] for tier in TIERS},
        title=f"Models by risk tier at each month end{title_suffix}",
        colors=TIER_COLORS,
        value_label="models",
        height=300,
    )
    series = {"All tiers": [s["score"] for _l, s in snaps]}
    for tier in reversed(TIERS):
        series[f"{tier} tier"] = [s["score_by_tier"][tier] for _l, s in snaps]
    compliance_chart = charts.line_chart(
        labels,
        series,
        title=f"Policy compliance score at each month end (%){title_suffix}",
        y_min=0,
        y_max=100,
        y_label="% compliant",
        height=280,
        colors={"All tiers": "#0072B2", **{f"{t} tier": TIER_COLORS[t] for t in TIERS}},
    )
    table = [
        {
            "label": label,
            "tiers": [s["tiers"].get(t, 0) for t in reversed(TIERS)],
            "models": sum(s["tiers"].values()),
            "versions": len(s["versions"]),
            "evaluated": s["evaluated"],
            "non_compliant": s["non_compliant"],
            "score": pct(s["score"]),
            "pairs": s["pairs"],
            "complying_pairs": s["complying_pairs"],
        }
        for label, s in snaps
    ]
    return {"tier_chart": tier_chart, "compliance_chart": compliance_chart, "table": table}
