"""Recommendations: each rule counts something in the data; a rule with nothing found is
listed among the checks that found no gap."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from audit.reports.format import fmt_time, plural, verb
from audit.reports.portfolio import NOT_EVALUATED, TIERS, Portfolio, production_approvals_before
from audit.reports.sections import DEPLOYED, IN_REVIEW, STALE_REVIEW
from audit.reports.sections.tier_changes import open_tier_requests
from evaluations.models import EvaluationRun
from governance.routing import production_roles
from registry.choices import VersionState
from registry.models import Artifact


@dataclass
class Recommendation:
    finding: str
    count: int
    action: str
    basis: str
    items: list[str] = field(default_factory=list)


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
