"""The monthly compliance report."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from audit.reports.format import pct
from audit.reports.periods import Period
from audit.reports.portfolio import (
    COMPLIANT,
    NON_COMPLIANT,
    NOT_EVALUATED,
    Portfolio,
    approvals_between,
)
from audit.reports.sections import IN_REVIEW, STATUS_LABEL
from audit.reports.sections.exceptions import exceptions, exceptions_used
from audit.reports.sections.failures import failure_summary
from audit.reports.sections.inventory import inventory, tier_donut
from audit.reports.sections.monitoring import monitoring
from audit.reports.sections.recommendations import recommendations
from audit.reports.sections.tier_changes import tier_change_requests
from audit.reports.sections.trends import is_live, month_checkpoints, trend_charts
from core import charts
from governance.choices import Decision
from registry.choices import VersionState


def monthly_compliance(period: Period, until: datetime, portfolio: Portfolio) -> dict:
    live = is_live(period, until)
    snap = portfolio.snapshot(until, live=live)
    previous_end = period.start
    previous = portfolio.snapshot(previous_end)
    failures = failure_summary(portfolio, period.start, until)
    rows = inventory(portfolio, snap)
    statuses = Counter(e.status for e in snap["compliance"].values())
    states = Counter(state for _m, _l, state in snap["versions"].values())
    transitions = portfolio.transitions_between(period.start, until)
    approvals = approvals_between(period.start, until)
    new_models = sum(1 for model_id in snap["models"] if model_id not in previous["models"])
    trend = trend_charts(
        portfolio,
        month_checkpoints(period, until, months_before=5),
        title_suffix="",
        live_at=until if live else None,
    )
    recs = recommendations(portfolio, snap, failures)
    score_change = (
        None
        if snap["score"] is None or previous["score"] is None
        else round(snap["score"] - previous["score"], 1)
    )
    summary = {
        "models": len(snap["models"]),
        "new_models": new_models,
        "tiers": snap["tiers"],
        "versions": len(snap["versions"]),
        "active_versions": len(snap["versions"]) - states.get(VersionState.RETIRED, 0),
        "in_production": states.get(VersionState.PRODUCTION, 0),
        "in_staging": states.get(VersionState.STAGING, 0),
        "in_review": sum(states.get(s, 0) for s in IN_REVIEW),
        "score": pct(snap["score"]),
        "score_value": snap["score"],
        "pairs": snap["pairs"],
        "complying_pairs": snap["complying_pairs"],
        "previous_score": pct(previous["score"]),
        "score_change": score_change,
        "compliant": statuses.get(COMPLIANT, 0),
        "non_compliant": statuses.get(NON_COMPLIANT, 0),
        "not_evaluated": statuses.get(NOT_EVALUATED, 0),
        "evaluated": snap["evaluated"],
        "deployments": sum(
            t[3] in (VersionState.STAGING, VersionState.PRODUCTION) for t in transitions
        ),
        "to_production": sum(t[3] == VersionState.PRODUCTION for t in transitions),
        "approved": sum(a.decision == Decision.APPROVED for a in approvals),
        "rejected": sum(a.decision == Decision.REJECTED for a in approvals),
        "recommendations": len(recs["found"]),
    }
    return {
        "summary": summary,
        "inventory": rows,
        "states": sorted(states.items(), key=lambda kv: VersionState.values.index(kv[0])),
        "failures": failures,
        "monitoring": monitoring(period.start, until, retired=portfolio.retired_policies),
        "exceptions": exceptions(
            period.start, until, exceptions_used(portfolio, period.start, until)
        ),
        "tier_donut": tier_donut(snap["tiers"], f"Models by risk tier, {period.title}"),
        "status_chart": charts.bar_chart(
            [STATUS_LABEL[s] for s in (COMPLIANT, NON_COMPLIANT, NOT_EVALUATED)],
            [statuses.get(s, 0) for s in (COMPLIANT, NON_COMPLIANT, NOT_EVALUATED)],
            title="Versions by policy compliance at the end of the period",
            value_label="versions",
            width=640,
            height=240,
        ),
        "failure_chart": charts.bar_chart(
            [r["policy"] for r in failures["by_policy"]],
            [r["failures"] for r in failures["by_policy"]],
            title="Failed policy evaluations in the period, by policy",
            horizontal=True,
            value_label="failed evaluations",
            color="#D55E00",
        )
        if failures["by_policy"]
        else "",
        "trend": trend,
        "tier_changes": tier_change_requests(period.start, until),
        "effective_tier_changes": portfolio.tier_changes(period.start, until),
        "recommendations": recs,
    }
