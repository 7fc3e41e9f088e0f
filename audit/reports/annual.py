"""The annual audit report."""

from __future__ import annotations

import statistics
from collections import Counter
from datetime import datetime, timedelta

from audit.reports.format import fmt_time, hours_text, pct
from audit.reports.periods import Period
from audit.reports.portfolio import Portfolio, approvals_between
from audit.reports.sections import DETAIL_LIMIT
from audit.reports.sections.audit_activity import audit_activity
from audit.reports.sections.exceptions import exceptions, exceptions_used
from audit.reports.sections.failures import failure_summary
from audit.reports.sections.inventory import tier_donut
from audit.reports.sections.monitoring import monitoring
from audit.reports.sections.policy_changes import policy_history
from audit.reports.sections.recommendations import recommendations
from audit.reports.sections.tier_changes import tier_change_requests
from audit.reports.sections.trends import is_live, month_checkpoints, trend_charts
from core import charts
from governance.choices import MRC_CHECKLIST, Decision
from governance.inventory import Inventory, build_inventory
from governance.routing import REVIEW_STATES
from registry.choices import VersionState

# The report's data ends before `until`; the inventory's instant is inclusive, so the period's
# last instant is one microsecond (the finest time the database keeps) before it.
LAST_INSTANT = timedelta(microseconds=1)


def inventory_as_of(until: datetime) -> Inventory:
    """The model inventory as of the period's end (or now, for the year still running): the
    point-in-time inventory the API and the Inventory page show, over every model."""
    return build_inventory(until - LAST_INSTANT)


def annual_audit(period: Period, until: datetime, portfolio: Portfolio) -> dict:
    live = is_live(period, until)
    snap = portfolio.snapshot(until, live=live)
    inventory = inventory_as_of(until)
    previous = portfolio.snapshot(period.start)
    failures = failure_summary(portfolio, period.start, until)
    checkpoints = month_checkpoints(period, until)
    trend = trend_charts(portfolio, checkpoints, title_suffix="", live_at=until if live else None)
    # Evaluations per month, passed and failed.
    labels, passed, failed = [], [], []
    for month in period.months:
        if month.start >= until:
            break
        evaluations = portfolio.evaluations_between(month.start, min(month.end, until))
        labels.append(month.name[:3])
        passed.append(sum(e.passed for e in evaluations))
        failed.append(sum(not e.passed for e in evaluations))
    evaluation_chart = charts.stacked_bar_chart(
        labels,
        {"Passed": passed, "Failed": failed},
        title="Policy evaluations per month",
        colors={"Passed": "#0072B2", "Failed": "#D55E00"},
        value_label="evaluations",
        height=300,
    )
    # Governance process: decisions per stage, time in stage, rejection reasons.
    approvals = approvals_between(period.start, until)
    stages = []
    for stage in REVIEW_STATES:
        at_stage = [a for a in approvals if a.stage == stage]
        approved = sum(a.decision == Decision.APPROVED for a in at_stage)
        rejected = len(at_stage) - approved
        stages.append(
            {
                "stage": stage,
                "approved": approved,
                "rejected": rejected,
                "rate": pct(100 * approved / len(at_stage)) if at_stage else "n/a",
            }
        )
    durations = portfolio.stage_durations(period.start, until)
    times = []
    for stage in REVIEW_STATES:
        hours = sorted(h for h, _o in durations.get(stage, []))
        times.append(
            {
                "stage": stage,
                "count": len(hours),
                "median": hours_text(statistics.median(hours)) if hours else "—",
                "p90": hours_text(hours[min(len(hours) - 1, int(0.9 * len(hours)))])
                if hours
                else "—",
                "max": hours_text(hours[-1]) if hours else "—",
                "median_hours": statistics.median(hours) if hours else None,
            }
        )
    decision_chart = charts.grouped_bar_chart(
        [s["stage"] for s in stages],
        {"Approved": [s["approved"] for s in stages], "Rejected": [s["rejected"] for s in stages]},
        title="Review decisions per stage",
        colors={"Approved": "#009E73", "Rejected": "#D55E00"},
        value_label="decisions",
        height=280,
    )
    time_chart = charts.bar_chart(
        [t["stage"] for t in times],
        [round(t["median_hours"], 2) if t["median_hours"] is not None else None for t in times],
        title="Median time in each review stage (hours)",
        value_label="hours",
        height=260,
    )
    rejections = [
        {
            "at": fmt_time(a.created_at),
            "model": a.version.model.name,
            "version": a.version.version,
            "stage": a.stage,
            "by": f"{a.user.get_username()} ({a.role})",
            "comments": a.comments or "(no comment given)",
        }
        for a in approvals
        if a.decision == Decision.REJECTED
    ]
    checklist_gaps = Counter()
    checklists = 0
    for a in approvals:
        if a.decision == Decision.APPROVED and isinstance(a.checklist, dict):
            checklists += 1
            for item in MRC_CHECKLIST:
                if not a.checklist.get(item):
                    checklist_gaps[item] += 1
    lead_times = lead_times_to_production(portfolio, period.start, until)
    policy_changes = policy_history(period.start, until)
    audit = audit_activity(period.start, until)
    recs = recommendations(portfolio, snap, failures)
    total_decisions = sum(s["approved"] + s["rejected"] for s in stages)
    total_approved = sum(s["approved"] for s in stages)
    return {
        "summary": {
            "models": len(inventory.models),
            "models_before": len(previous["models"]),
            "new_models": len({m.id for m in inventory.models} - set(previous["models"])),
            "versions": inventory.version_count,
            "score": pct(snap["score"]),
            "score_value": snap["score"],
            "pairs": snap["pairs"],
            "complying_pairs": snap["complying_pairs"],
            "score_before": pct(previous["score"]),
            "evaluations": failures["evaluations"],
            "failed": failures["failed"],
            "open": failures["open"],
            "resolved": failures["resolved"],
            "decisions": total_decisions,
            "approval_rate": pct(100 * total_approved / total_decisions)
            if total_decisions
            else "n/a",
            "rejections": len(rejections),
            "policy_changes": len(policy_changes),
            "to_production": sum(
                t[3] == VersionState.PRODUCTION
                for t in portfolio.transitions_between(period.start, until)
            ),
            "audit_events": audit["total"],
            "refused": audit["refused_total"],
        },
        "trend": trend,
        "evaluation_chart": evaluation_chart,
        "failures": failures,
        "stages": stages,
        "times": times,
        "decision_chart": decision_chart,
        "time_chart": time_chart,
        "rejections": rejections[:DETAIL_LIMIT],
        "rejections_omitted": max(len(rejections) - DETAIL_LIMIT, 0),
        "checklist": [
            {"item": label, "missing": checklist_gaps.get(key, 0)}
            for key, label in MRC_CHECKLIST.items()
        ],
        "checklists": checklists,
        "lead_times": lead_times,
        "policy_changes": policy_changes[:DETAIL_LIMIT],
        "policy_changes_omitted": max(len(policy_changes) - DETAIL_LIMIT, 0),
        "audit": audit,
        "exceptions": exceptions(
            period.start, until, exceptions_used(portfolio, period.start, until)
        ),
        "monitoring": monitoring(period.start, until, retired=portfolio.retired_policies),
        "tier_changes": tier_change_requests(period.start, until),
        "effective_tier_changes": portfolio.tier_changes(period.start, until),
        "recommendations": recs,
        "inventory": inventory,
        "tier_donut": tier_donut(inventory.tiers(), f"Models by risk tier, end of {period.title}"),
    }


def lead_times_to_production(portfolio: Portfolio, start: datetime, end: datetime) -> dict:
    """From first submission to production, for versions that reached production in the
    window."""
    first_submit: dict[int, datetime] = {}
    values = []
    for version_id, timestamp, _from, to_state, action, _user in portfolio.transitions:
        if action == "SUBMIT" and version_id not in first_submit:
            first_submit[version_id] = timestamp
        if to_state == VersionState.PRODUCTION and start <= timestamp < end:
            submitted = first_submit.get(version_id)
            if submitted is not None:
                values.append((timestamp - submitted).total_seconds() / 3600)
    values.sort()
    return {
        "count": len(values),
        "median": hours_text(statistics.median(values)) if values else "—",
        "max": hours_text(values[-1]) if values else "—",
    }
