"""The model inventory as of a moment, the tier distribution and the risk factor table."""

from __future__ import annotations

from collections import Counter, defaultdict

from audit.reports.portfolio import (
    COMPLIANT,
    NON_COMPLIANT,
    NOT_EVALUATED,
    TIER_ORDER,
    TIERS,
    Portfolio,
)
from audit.reports.sections import STATUS_LABEL, TIER_COLORS
from core import charts
from registry.choices import RISK_FACTORS


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


def tier_donut(tiers: dict, title: str) -> str:
    return charts.donut_chart(
        list(reversed(TIERS)),
        [tiers.get(t, 0) for t in reversed(TIERS)],
        title=title,
        colors=TIER_COLORS,
        center_label="models",
        height=230,
    )


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
