"""What each report says, computed from the data of its period (see portfolio.py for how the
registry is read as of a moment). Every figure a report prints comes from here, and every
recommendation carries the count it is derived from and the rule that found it."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Count, Q

from audit.choices import EventType
from audit.models import AuditEvent
from audit.reports.periods import Period, month_start
from audit.reports.portfolio import (
    COMPLIANT,
    NON_COMPLIANT,
    NOT_EVALUATED,
    TIER_ORDER,
    TIERS,
    Portfolio,
    approvals_between,
    production_approvals_before,
)
from core import charts
from evaluations.models import EvaluationRun
from governance.choices import MRC_CHECKLIST, Decision
from governance.models import RiskTierChangeRequest
from governance.routing import REVIEW_STATES, production_roles
from policies.models import ComplianceSnapshot, Policy, PolicyException, Violation
from registry.choices import RISK_FACTORS, VersionState
from registry.models import Artifact

TIER_COLORS = {"LOW": "#009E73", "MEDIUM": "#E69F00", "HIGH": "#D55E00"}
STATUS_LABEL = {
    COMPLIANT: "Compliant",
    NON_COMPLIANT: "Non-compliant",
    NOT_EVALUATED: "Not evaluated",
}
STALE_REVIEW = timedelta(days=7)
DETAIL_LIMIT = 300
DEPLOYED = (VersionState.STAGING, VersionState.PRODUCTION)
IN_REVIEW = (*REVIEW_STATES, VersionState.SUBMITTED)


def pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}%"


def fmt_time(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "—"


def hours_text(hours: float | None) -> str:
    if hours is None:
        return "—"
    if hours < 1:
        return f"{hours * 60:.0f} min"
    if hours < 48:
        return f"{hours:.1f} h"
    return f"{hours / 24:.1f} days"


def plural(n: int, word: str, words: str | None = None) -> str:
    return f"{n} {word if n == 1 else (words or word + 's')}"


def verb(n: int, singular: str, plural_form: str) -> str:
    return singular if n == 1 else plural_form


@dataclass
class Recommendation:
    finding: str
    count: int
    action: str
    basis: str
    items: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------------------------
# Pieces shared by the reports
# --------------------------------------------------------------------------------------------


def inventory(portfolio: Portfolio, snap: dict) -> list[dict]:
    """One row per model at the snapshot: tier, owner, versions with state and compliance."""
    models, versions, compliance = snap["models"], snap["versions"], snap["compliance"]
    portfolio.load_usernames(m.owner_id for m in models.values())
    by_model = defaultdict(list)
    for version_id, (model_id, label, state) in versions.items():
        entry = compliance.get(version_id)
        by_model[model_id].append(
            {
                "id": version_id,
                "label": label,
                "state": state,
                "status": entry.status if entry else None,
                "failing": sorted(entry.failing) if entry else [],
                "warnings": sorted(entry.warnings) if entry else [],
            }
        )
    rows = []
    for model in sorted(models.values(), key=lambda m: (TIER_ORDER.get(m.tier, 9), m.name)):
        model_versions = sorted(by_model.get(model.id, []), key=lambda v: v["id"])
        statuses = [v["status"] for v in model_versions if v["status"]]
        if NON_COMPLIANT in statuses:
            overall = NON_COMPLIANT
        elif COMPLIANT in statuses:
            overall = COMPLIANT
        else:
            overall = NOT_EVALUATED
        rows.append(
            {
                "name": model.name,
                "tier": model.tier,
                "owner": portfolio.username(model.owner_id),
                "assessed": bool(model.assessment),
                "versions": model_versions,
                "status": overall,
                "status_label": STATUS_LABEL[overall],
            }
        )
    return rows


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


def monitoring(start: datetime, end: datetime, *, retired=()) -> dict:
    """Violations found by continuous monitoring, and the recorded compliance snapshots.
    Violations of the `retired` policies (pks) are left out of the counts, and counted apart."""
    every = Violation.objects.filter(first_seen__lt=end)
    left_out = every.filter(policy__in=list(retired)).filter(
        Q(first_seen__gte=start) | Q(resolved_at__isnull=True) | Q(resolved_at__gte=start)
    )
    objects = Violation.objects.exclude(policy__in=list(retired))
    opened = objects.filter(first_seen__gte=start, first_seen__lt=end)
    resolved = objects.filter(resolved_at__gte=start, resolved_at__lt=end)
    open_at_end = objects.filter(first_seen__lt=end).filter(
        Q(resolved_at__isnull=True) | Q(resolved_at__gte=end)
    )
    severity_rank = {"CRITICAL": 0, "HIGH": 1, "MEDIUM": 2, "LOW": 3}
    by_severity = sorted(
        open_at_end.values_list("severity").annotate(n=Count("pk")).order_by(),
        key=lambda r: severity_rank.get(r[0], 9),
    )
    by_policy = list(
        opened.values_list("policy__policy_id")
        .annotate(n=Count("pk"), versions=Count("version", distinct=True))
        .order_by("-n", "policy__policy_id")
    )
    reasons = list(resolved.values_list("resolution").annotate(n=Count("pk")).order_by("-n"))
    details = [
        {
            "first_seen": fmt_time(v.first_seen),
            "model": v.version.model.name,
            "version": v.version.version,
            "policy": v.policy.policy_id,
            "severity": v.severity,
            "message": v.message,
            "status": "resolved" if v.resolved_at and v.resolved_at < end else "open",
            "resolution": v.resolution if v.resolved_at and v.resolved_at < end else "",
            "resolved_at": fmt_time(v.resolved_at) if v.resolved_at and v.resolved_at < end else "",
        }
        for v in opened.select_related("version__model", "policy").order_by("first_seen", "pk")[
            :DETAIL_LIMIT
        ]
    ]
    result = {
        "opened": opened.count(),
        "resolved": resolved.count(),
        "open_at_end": open_at_end.count(),
        "by_severity": by_severity,
        "by_policy": by_policy,
        "reasons": reasons,
        "details": details,
        "snapshots": None,
        "retired_left_out": left_out.count(),
    }
    rows = list(
        ComplianceSnapshot.objects.filter(
            date__gte=start.date(), date__lte=(end - timedelta(microseconds=1)).date()
        )
        .order_by("date")
        .values_list("date", "score", "active_violations")
    )
    result["snapshots"] = {
        "count": len(rows),
        "last": rows[-1] if rows else None,
        "chart": charts.line_chart(
            [d.isoformat() for d, _s, _v in rows],
            {"Recorded compliance score": [s for _d, s, _v in rows]},
            title="Compliance score recorded by continuous monitoring (daily, %)",
            y_min=0,
            y_max=100,
            height=260,
        )
        if len(rows) > 1
        else "",
    }
    return result


def exceptions(start: datetime, end: datetime, used: int) -> dict:
    """Policy exceptions requested, granted, in force and ended in the period."""
    objects = PolicyException.objects
    requested = objects.filter(created_at__gte=start, created_at__lt=end)
    granted = objects.filter(activated_at__gte=start, activated_at__lt=end)
    in_force = objects.filter(activated_at__lt=end, expires_at__gt=end).filter(
        Q(ended_at__isnull=True) | Q(ended_at__gte=end)
    )
    ended = objects.filter(ended_at__gte=start, ended_at__lt=end)
    relevant = objects.filter(
        Q(created_at__gte=start, created_at__lt=end)
        | Q(activated_at__gte=start, activated_at__lt=end)
        | Q(ended_at__gte=start, ended_at__lt=end)
        | Q(pk__in=in_force.values("pk"))
    )
    rows = [
        {
            "id": e.pk,
            "policy": e.policy.policy_id,
            "model": e.version.model.name,
            "tier": e.version.model.risk_tier,
            "version": e.version.version,
            "status": e.status,
            "requested": fmt_time(e.created_at),
            "requested_by": e.requested_by.get_username(),
            "days": e.duration_days,
            "activated": fmt_time(e.activated_at) if e.activated_at else "",
            "expires": fmt_time(e.expires_at) if e.expires_at else "",
            "justification": e.justification,
        }
        for e in relevant.select_related("policy", "version__model", "requested_by").order_by(
            "created_at", "pk"
        )[:DETAIL_LIMIT]
    ]
    return {
        "requested": requested.count(),
        "granted": granted.count(),
        "in_force_at_end": in_force.count(),
        "ended": list(ended.values_list("status").annotate(n=Count("pk")).order_by()),
        "by_status": list(requested.values_list("status").annotate(n=Count("pk")).order_by()),
        "rows": rows,
        "used": used,
    }


def exceptions_used(portfolio: Portfolio, start: datetime, end: datetime) -> int:
    return sum(e.excepted and not e.passed for e in portfolio.evaluations_between(start, end))


def tier_change_requests(start: datetime, end: datetime) -> list[dict]:
    """Risk tier change requests made or decided in [start, end), as they stood at `end`."""
    ids = list(
        RiskTierChangeRequest.objects.filter(
            Q(created_at__gte=start, created_at__lt=end)
            | Q(decided_at__gte=start, decided_at__lt=end)
        ).values_list("pk", flat=True)
    )
    rows = []
    for request in (
        RiskTierChangeRequest.objects.filter(pk__in=ids)
        .select_related("model", "requested_by")
        .prefetch_related("decisions__user")
        .order_by("created_at", "id")
    ):
        status = request.status
        if request.decided_at and request.decided_at >= end:
            status = "REQUESTED"
        rows.append(
            {
                "model": request.model.name,
                "from": request.from_tier,
                "to": request.requested_tier,
                "status": status,
                "requested_by": request.requested_by.get_username(),
                "requested_at": fmt_time(request.created_at),
                "decided_at": fmt_time(request.decided_at) if status != "REQUESTED" else "",
                "justification": request.justification,
                "decisions": [
                    f"{d.decision} by {d.user.get_username()} ({d.role})"
                    + (f": {d.comments}" if d.comments else "")
                    for d in request.decisions.all()
                    if d.created_at < end
                ],
            }
        )
    return rows


def open_tier_requests(moment: datetime) -> list[RiskTierChangeRequest]:
    return [
        r
        for r in RiskTierChangeRequest.objects.filter(created_at__lt=moment).select_related("model")
        if r.decided_at is None or r.decided_at >= moment
    ]


def audit_activity(start: datetime, end: datetime) -> dict:
    rows = (
        AuditEvent.objects.filter(timestamp__gte=start, timestamp__lt=end)
        .values_list("event_type")
        .annotate(n=Count("id"))
        .order_by()
    )
    by_type = sorted(rows, key=lambda r: -r[1])
    refused = (
        AuditEvent.objects.filter(
            timestamp__gte=start, timestamp__lt=end, event_type=EventType.ACCESS_DENIED
        )
        .values_list("action")
        .annotate(n=Count("id"))
        .order_by("-n")
    )
    return {
        "total": sum(n for _t, n in by_type),
        "by_type": by_type,
        "refused": list(refused),
        "refused_total": sum(n for _a, n in refused),
    }


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


def tier_donut(tiers: dict, title: str) -> str:
    return charts.donut_chart(
        list(reversed(TIERS)),
        [tiers.get(t, 0) for t in reversed(TIERS)],
        title=title,
        colors=TIER_COLORS,
        center_label="models",
        height=230,
    )


# --------------------------------------------------------------------------------------------
# Recommendations: each rule counts something in the data; a rule with nothing found is
# listed among the checks that found no gap.
# --------------------------------------------------------------------------------------------


def recommendations(portfolio: Portfolio, snap: dict, failures: dict) -> dict:
    moment = snap["moment"]
    models, versions, compliance = snap["models"], snap["versions"], snap["compliance"]
    found: list[Recommendation] = []
    clear: list[str] = []

    def name_of(version_id):
        model_id, label, _state = versions[version_id]
        model = models.get(model_id)
        return f"{model.name if model else model_id} {label}"

    # 1. Open enforced failures per policy at the end of the period.
    failing_by_policy = defaultdict(list)
    for version_id, entry in compliance.items():
        for policy in entry.failing:
            failing_by_policy[policy].append(version_id)
    for policy, version_ids in sorted(failing_by_policy.items(), key=lambda kv: -len(kv[1])):
        deployed = [v for v in version_ids if versions[v][2] in DEPLOYED]
        found.append(
            Recommendation(
                finding=f"{plural(len(version_ids), 'version')} "
                f"{verb(len(version_ids), 'fails', 'fail')} {policy}"
                + (f", {len(deployed)} of them deployed" if deployed else ""),
                count=len(version_ids),
                action="Remediate the failing rules and re-submit, or request a time-limited "
                "exception with a mitigation plan.",
                basis=f"latest ENFORCE evaluation of {policy} failed and is not excepted, "
                f"as of {fmt_time(moment)} UTC",
                items=sorted(name_of(v) for v in version_ids)[:8],
            )
        )
    if not failing_by_policy:
        clear.append("no version fails an enforced policy at the end of the period")

    # 2. Production versions without the production reviews their model's tier needs now.
    approved = production_approvals_before(moment)
    missing_review = defaultdict(list)
    for version_id, (model_id, _label, state) in versions.items():
        model = models.get(model_id)
        if state != VersionState.PRODUCTION or model is None:
            continue
        missing = set(production_roles(model.tier)) - approved.get(version_id, set())
        if missing:
            missing_review[model.tier].append((version_id, sorted(missing)))
    for tier in TIERS[::-1]:
        entries = missing_review.get(tier)
        if not entries:
            continue
        model_ids = {versions[v][0] for v, _m in entries}
        roles = sorted({r for _v, missing in entries for r in missing})
        found.append(
            Recommendation(
                finding=f"{plural(len(model_ids), tier + ' model')} "
                f"{verb(len(model_ids), 'runs', 'run')} a production version "
                f"that no {' or '.join(roles)} reviewed for production",
                count=len(model_ids),
                action="Hold a production review at the current tier (the tier was raised "
                "after the version was approved, or it was approved at a lower tier).",
                basis=f"versions in PRODUCTION whose production approvals lack a role that "
                f"{tier} requires ({', '.join(production_roles(tier))})",
                items=sorted(name_of(v) for v, _m in entries)[:8],
            )
        )
    if not missing_review:
        clear.append("every production version had the production reviews its tier requires")

    # 3. Versions waiting in review for more than a week.
    stale = []
    for version_id, (_m, _l, state) in versions.items():
        if state in IN_REVIEW:
            entered = portfolio.entered_at(version_id, state, moment)
            if entered is not None and moment - entered > STALE_REVIEW:
                stale.append((version_id, state, (moment - entered).days))
    if stale:
        found.append(
            Recommendation(
                finding=f"{plural(len(stale), 'version')} waited more than "
                f"{STALE_REVIEW.days} days in review",
                count=len(stale),
                action="Assign reviewers or reject with comments; long queues delay remediation.",
                basis=f"state SUBMITTED/MRC_REVIEW/SECURITY_REVIEW/PRODUCTION_REVIEW for more "
                f"than {STALE_REVIEW.days} days at {fmt_time(moment)} UTC",
                items=[f"{name_of(v)}: {s}, {d} days" for v, s, d in sorted(stale)[:8]],
            )
        )
    else:
        clear.append(f"no version waited more than {STALE_REVIEW.days} days in review")

    # 4. Versions that went past submission with no policy result at all.
    unevaluated = [
        v
        for v, entry in compliance.items()
        if entry.status == NOT_EVALUATED and versions[v][2] not in (VersionState.DRAFT,)
    ]
    if unevaluated:
        found.append(
            Recommendation(
                finding=f"{plural(len(unevaluated), 'version')} advanced past DRAFT without "
                "any policy result",
                count=len(unevaluated),
                action="Extend policy scope to these tiers and environments so that every "
                "promotion is checked.",
                basis="no evaluation of any ENFORCE or WARN policy before the end of the period",
                items=sorted(name_of(v) for v in unevaluated)[:8],
            )
        )
    else:
        clear.append("every submitted version was judged by at least one policy")

    # 5. Models whose tier was stated without the risk assessment.
    unassessed = sorted(m.name for m in models.values() if not m.assessment)
    if unassessed:
        found.append(
            Recommendation(
                finding=f"{plural(len(unassessed), 'model')} "
                f"{verb(len(unassessed), 'carries', 'carry')} a risk tier stated without "
                "a risk assessment",
                count=len(unassessed),
                action="Complete the six-factor risk assessment so the tier is derived, "
                "not declared.",
                basis="riskAssessment empty in the model's record at the end of the period",
                items=unassessed[:8],
            )
        )
    else:
        clear.append("every model's tier is derived from a risk assessment")

    # 6. Artifacts of deployed versions whose security scan did not pass (current scans).

    deployed_ids = [v for v, (_m, _l, s) in versions.items() if s in DEPLOYED]
    bad_scans = list(
        Artifact.objects.filter(version_id__in=deployed_ids)
        .exclude(scan_status="PASSED")
        .values_list("version_id", "name", "scan_status")
    )
    if bad_scans:
        found.append(
            Recommendation(
                finding=f"{plural(len(bad_scans), 'artifact')} of deployed versions "
                f"{verb(len(bad_scans), 'has', 'have')} a security scan that did not pass",
                count=len(bad_scans),
                action="Re-scan the artifacts and retire or patch the versions whose scan fails.",
                basis="artifact scan status FAILED or PENDING on versions in STAGING or PRODUCTION",
                items=[f"{name_of(v)}: {n} ({s})" for v, n, s in bad_scans[:8]],
            )
        )
    else:
        clear.append("every artifact of a deployed version passed its security scan")

    # 7. Risk tier change requests waiting for a decision.
    waiting = open_tier_requests(moment)
    if waiting:
        found.append(
            Recommendation(
                finding=f"{plural(len(waiting), 'risk tier change request')} "
                f"{verb(len(waiting), 'awaits', 'await')} a decision",
                count=len(waiting),
                action="Decide tier changes promptly: until then the model is reviewed at "
                "its old tier.",
                basis="requests open (not approved or rejected) at the end of the period",
                items=[
                    f"{r.model.name}: {r.from_tier} → {r.requested_tier}, requested "
                    f"{fmt_time(r.created_at)}"
                    for r in waiting[:8]
                ],
            )
        )
    else:
        clear.append("no risk tier change request awaits a decision")

    # 8. Deployed versions without a passing evaluation run.
    passed_versions = set(
        EvaluationRun.objects.filter(
            version_id__in=deployed_ids, status="PASSED", created_at__lt=moment
        ).values_list("version_id", flat=True)
    )
    without = [v for v in deployed_ids if v not in passed_versions]
    if without:
        found.append(
            Recommendation(
                finding=f"{plural(len(without), 'deployed version')} "
                f"{verb(len(without), 'has', 'have')} no passing evaluation run",
                count=len(without),
                action="Run the performance, bias and robustness suites on deployed "
                "versions and record the results.",
                basis="no evaluation run with status PASSED before the end of the period",
                items=sorted(name_of(v) for v in without)[:8],
            )
        )
    else:
        clear.append("every deployed version has a passing evaluation run")

    return {"found": found, "clear": clear}


# --------------------------------------------------------------------------------------------
# The three reports
# --------------------------------------------------------------------------------------------


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


def factor_table(models) -> list[dict]:
    counts = {factor: Counter() for factor in RISK_FACTORS}
    for model in models:
        for factor in RISK_FACTORS:
            level = (model.assessment or {}).get(factor)
            counts[factor][level or "not assessed"] += 1
    return [
        {
            "factor": label,
            "HIGH": counts[f]["HIGH"],
            "MEDIUM": counts[f]["MEDIUM"],
            "LOW": counts[f]["LOW"],
            "none": counts[f]["not assessed"],
        }
        for f, label in RISK_FACTORS.items()
    ]


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


def annual_audit(period: Period, until: datetime, portfolio: Portfolio) -> dict:
    live = is_live(period, until)
    snap = portfolio.snapshot(until, live=live)
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
            "models": len(snap["models"]),
            "models_before": len(previous["models"]),
            "new_models": len(set(snap["models"]) - set(previous["models"])),
            "versions": len(snap["versions"]),
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
        "tier_donut": tier_donut(snap["tiers"], f"Models by risk tier, end of {period.title}"),
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


POLICY_FIELDS = (
    "name",
    "description",
    "severity",
    "type",
    "status",
    "enforcement",
    "risk_tiers",
    "environments",
    "rules",
    "allow_exceptions",
    "require_approval",
    "max_duration",
)


def policy_history(start: datetime, end: datetime) -> list[dict]:
    """Every change of a policy in [start, end): when, who, what kind, which fields."""
    records = list(
        Policy.history.filter(history_date__lt=end)
        .select_related("history_user")
        .order_by("id", "history_date", "history_id")
    )
    changes = []
    previous = None
    for record in records:
        same_policy = previous is not None and previous.id == record.id
        if start <= record.history_date < end:
            if record.history_type == "+":
                changed = ["created"]
            elif record.history_type == "-":
                changed = ["deleted"]
            elif same_policy:
                changed = [f for f in POLICY_FIELDS if getattr(record, f) != getattr(previous, f)]
                changed = changed or ["saved without change"]
            else:
                changed = ["changed"]
            changes.append(
                {
                    "at": fmt_time(record.history_date),
                    "policy": record.policy_id,
                    "revision": record.history_id,
                    "type": {"+": "created", "~": "changed", "-": "deleted"}.get(
                        record.history_type, record.history_type
                    ),
                    "by": record.history_user.get_username() if record.history_user else "system",
                    "fields": ", ".join(changed),
                    "status": record.status,
                    "enforcement": record.enforcement,
                }
            )
        previous = record
    changes.sort(key=lambda c: (c["at"], c["revision"]))
    return changes
