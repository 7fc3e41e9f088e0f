"""The quarterly risk report."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from audit.reports.format import pct
from audit.reports.periods import Period
from audit.reports.portfolio import NON_COMPLIANT, TIERS, Portfolio, approvals_between
from audit.reports.sections import TIER_COLORS
from audit.reports.sections.exceptions import exceptions, exceptions_used
from audit.reports.sections.failures import failure_summary
from audit.reports.sections.inventory import factor_table, tier_donut
from audit.reports.sections.monitoring import monitoring
from audit.reports.sections.recommendations import recommendations
from audit.reports.sections.tier_changes import tier_change_requests
from audit.reports.sections.trends import is_live, month_checkpoints, trend_charts
from core import charts
from governance.choices import Decision
from registry.choices import VersionState


def quarterly_risk(period: Period, until: datetime, portfolio: Portfolio) -> dict:
    live = is_live(period, until)
    snap = portfolio.snapshot(until, live=live)
    previous = portfolio.snapshot(period.start)
    failures = failure_summary(portfolio, period.start, until)
    checkpoints = [("Start of quarter", period.start), *month_checkpoints(period, until)]
    trend = trend_charts(portfolio, checkpoints, title_suffix="", live_at=until if live else None)
    # Per tier, now and at the start of the quarter.
    tier_rows = []
    versions, compliance, models = snap["versions"], snap["compliance"], snap["models"]
    failures_by_tier = Counter()
    for failure in portfolio.failures_between(period.start, until):
        model_id = portfolio.versions[failure["evaluation"].version_id][0]
        model = models.get(model_id)
        if model is not None:
            failures_by_tier[model.tier] += 1
    for tier in reversed(TIERS):
        tier_versions = [
            v for v, (m, _l, _s) in versions.items() if models.get(m) and models[m].tier == tier
        ]
        states = Counter(versions[v][2] for v in tier_versions)
        tier_rows.append(
            {
                "tier": tier,
                "models": snap["tiers"].get(tier, 0),
                "models_before": previous["tiers"].get(tier, 0),
                "versions": len(tier_versions),
                "production": states.get(VersionState.PRODUCTION, 0),
                "non_compliant": sum(
                    compliance[v].status == NON_COMPLIANT for v in tier_versions if v in compliance
                ),
                "score": pct(snap["score_by_tier"][tier]),
                "score_value": snap["score_by_tier"][tier],
                "score_before": pct(previous["score_by_tier"][tier]),
                "failures": failures_by_tier.get(tier, 0),
            }
        )
    factors = factor_table(models.values())
    factor_chart = charts.stacked_bar_chart(
        [row["factor"] for row in factors],
        {level: [row[level] for row in factors] for level in ("HIGH", "MEDIUM", "LOW")},
        title="Risk assessment factors across the portfolio (models per level)",
        colors=TIER_COLORS,
        horizontal=True,
        value_label="models",
    )
    # Monthly activity.
    months = []
    for month in period.months:
        if month.start >= until:
            break
        end = min(month.end, until)
        evaluations = portfolio.evaluations_between(month.start, end)
        transitions = portfolio.transitions_between(month.start, end)
        month_models = portfolio.models_at(end)
        before_models = portfolio.models_at(month.start)
        approvals = approvals_between(month.start, end)
        failed = sum(not e.passed for e in evaluations)
        months.append(
            {
                "label": month.name,
                "new_models": len(set(month_models) - set(before_models)),
                "evaluations": len(evaluations),
                "failed": failed,
                "failure_rate": pct(100 * failed / len(evaluations)) if evaluations else "n/a",
                "approved": sum(a.decision == Decision.APPROVED for a in approvals),
                "rejected": sum(a.decision == Decision.REJECTED for a in approvals),
                "to_production": sum(t[3] == VersionState.PRODUCTION for t in transitions),
                "tier_changes": len(portfolio.tier_changes(month.start, end)),
            }
        )
    activity_chart = charts.grouped_bar_chart(
        [m["label"] for m in months],
        {
            "Policy evaluations": [m["evaluations"] for m in months],
            "Failed": [m["failed"] for m in months],
            "Review decisions": [m["approved"] + m["rejected"] for m in months],
        },
        title="Activity per month",
        colors={
            "Policy evaluations": "#0072B2",
            "Failed": "#D55E00",
            "Review decisions": "#009E73",
        },
        height=280,
    )
    recs = recommendations(portfolio, snap, failures)
    strategic = strategic_findings(snap, previous, tier_rows, failures)
    requests = tier_change_requests(period.start, until)
    high_share = round(100 * snap["tiers"].get("HIGH", 0) / len(models), 1) if models else None
    high_share_before = (
        round(100 * previous["tiers"].get("HIGH", 0) / len(previous["models"]), 1)
        if previous["models"]
        else None
    )
    return {
        "summary": {
            "models": len(models),
            "models_before": len(previous["models"]),
            "tiers": snap["tiers"],
            "high_share": pct(high_share),
            "high_share_before": pct(high_share_before),
            "score": pct(snap["score"]),
            "score_value": snap["score"],
            "pairs": snap["pairs"],
            "complying_pairs": snap["complying_pairs"],
            "score_before": pct(previous["score"]),
            "failures": failures["failed"],
            "open": failures["open"],
            "tier_changes": len(portfolio.tier_changes(period.start, until)),
            "tier_requests": len(requests),
        },
        "tier_rows": tier_rows,
        "factors": factors,
        "factor_chart": factor_chart,
        "tier_donut": tier_donut(snap["tiers"], f"Models by risk tier, end of {period.title}"),
        "trend": trend,
        "months": months,
        "activity_chart": activity_chart,
        "failures": failures,
        "tier_changes": requests,
        "effective_tier_changes": portfolio.tier_changes(period.start, until),
        "exceptions": exceptions(
            period.start, until, exceptions_used(portfolio, period.start, until)
        ),
        "monitoring": monitoring(period.start, until, retired=portfolio.retired_policies),
        "recommendations": recs,
        "strategic": strategic,
    }


def strategic_findings(snap, previous, tier_rows, failures) -> list[str]:
    """Sentences comparing the quarter with the one before, each citing its figures."""
    lines = []
    before, now = previous["tiers"], snap["tiers"]
    total_before, total_now = sum(before.values()), sum(now.values())
    if total_now:
        share_now = 100 * now.get("HIGH", 0) / total_now
        share_before = 100 * before.get("HIGH", 0) / total_before if total_before else None
        if share_before is None:
            lines.append(
                f"HIGH-tier models are {share_now:.1f}% of the portfolio ({now.get('HIGH', 0)} "
                f"of {total_now}); there was no model at the start of the quarter."
            )
        elif abs(share_now - share_before) >= 0.05:
            direction = "rose" if share_now > share_before else "fell"
            lines.append(
                f"The HIGH-tier share {direction} from {share_before:.1f}% to {share_now:.1f}% "
                f"({before.get('HIGH', 0)} → {now.get('HIGH', 0)} models): review capacity for "
                "Security Architect reviews should follow it."
            )
        else:
            lines.append(
                f"The HIGH-tier share is unchanged at {share_now:.1f}% "
                f"({now.get('HIGH', 0)} of {total_now} models)."
            )
    # Tiers with deployed versions (the others have no score), when they differ.
    scored = [r for r in tier_rows if r["score_value"] is not None]
    if len(scored) > 1:
        worst = min(scored, key=lambda r: r["score_value"])
        best = max(scored, key=lambda r: r["score_value"])
        if worst["score_value"] < best["score_value"]:
            lines.append(
                f"The {worst['tier']} tier has the lowest policy compliance ({worst['score']} "
                f"of its deployed (version, policy) pairs comply, {worst['non_compliant']} "
                "non-compliant versions): focus remediation there."
            )
    if failures["by_policy"]:
        top = failures["by_policy"][0]
        if top["failures"]:
            lines.append(
                f"{top['policy']} caused the most failures this quarter ({top['failures']} "
                f"failed evaluations on {top['versions']} versions; {top['open']} still open)."
            )
    return lines
