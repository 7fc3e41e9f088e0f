"""Policy failures of the period and how they were resolved."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from audit.reports.format import fmt_time
from audit.reports.portfolio import Portfolio
from audit.reports.sections import DETAIL_LIMIT


def failure_summary(portfolio: Portfolio, start: datetime, end: datetime) -> dict:
    failures = portfolio.failures_between(start, end)
    evaluations = portfolio.evaluations_between(start, end)
    per_policy: dict[str, dict] = {}
    for evaluation in evaluations:
        row = per_policy.setdefault(
            evaluation.policy,
            {
                "policy": evaluation.policy,
                "severity": portfolio.policy_severity.get(evaluation.policy, ""),
                "evaluations": 0,
                "failures": 0,
                "versions": set(),
                "resolutions": Counter(),
            },
        )
        row["evaluations"] += 1
    for failure in failures:
        evaluation = failure["evaluation"]
        row = per_policy[evaluation.policy]
        row["failures"] += 1
        row["versions"].add(evaluation.version_id)
        row["resolutions"][failure["resolution"]] += 1
    rows = []
    for row in sorted(per_policy.values(), key=lambda r: (-r["failures"], r["policy"])):
        rows.append(
            row
            | {
                "versions": len(row["versions"]),
                "resolved": row["resolutions"]["resolved"],
                "open": row["resolutions"]["open"],
                "excepted": row["resolutions"]["covered by an exception"],
                "retired": row["resolutions"]["version retired"],
            }
        )
    names = {vid: (label, model_id) for vid, (model_id, label, _c) in portfolio.versions.items()}
    models = portfolio.models_at(portfolio.until)
    details = []
    for failure in failures[:DETAIL_LIMIT]:
        evaluation = failure["evaluation"]
        label, model_id = names.get(evaluation.version_id, ("?", None))
        model = models.get(model_id)
        details.append(
            {
                "at": fmt_time(evaluation.at),
                "model": model.name if model else f"model {model_id}",
                "version": label,
                "policy": evaluation.policy,
                "environment": evaluation.environment,
                "enforcement": evaluation.enforcement,
                "resolution": failure["resolution"],
                "resolved_at": fmt_time(failure["resolved_at"]) if failure["resolved_at"] else "",
            }
        )
    resolutions = Counter(f["resolution"] for f in failures)
    return {
        "evaluations": len(evaluations),
        "passed": sum(e.passed for e in evaluations),
        "failed": len(failures),
        "enforced_failed": sum(
            f["evaluation"].enforcement == "ENFORCE" and not f["evaluation"].excepted
            for f in failures
        ),
        "warnings": sum(f["evaluation"].enforcement == "WARN" for f in failures),
        "resolutions": dict(resolutions),
        "open": resolutions["open"],
        "resolved": resolutions["resolved"],
        "by_policy": rows,
        "details": details,
        "details_omitted": max(len(failures) - DETAIL_LIMIT, 0),
        "retired_left_out": portfolio.retired_left_out,
    }
