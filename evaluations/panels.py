"""The evaluation panel of the version page: page context built from the selectors. It holds
the run form, so it sits with the pages, above the domain."""

from __future__ import annotations

from collections import OrderedDict

from evaluations import access, catalogue
from evaluations.choices import ACTIVE_STATUSES, Suite
from evaluations.forms import RunEvaluationForm
from evaluations.metrics import SUITES
from evaluations.selectors import (
    HISTORY_PER_SUITE,
    PANEL_RECENT,
    REPLACED_PER_SUITE,
    default_thresholds_text,
    latest_finished,
    replaced_runs,
    runs_of_version,
)
from registry.choices import VersionState


def version_panel(version, user, *, form: RunEvaluationForm | None = None) -> dict:
    """The context of templates/evaluations/_version_panel.html, under one key."""
    can_read = access.may_read(user, version.model)
    panel: dict = {"can_read": can_read, "can_run": False}
    if not can_read:
        panel["refusal"] = access.read_refusal(user, version.model)
        return {"evaluation_panel": panel}
    recent = list(runs_of_version(version).defer("metrics", "notes")[:PANEL_RECENT])
    latest = {
        run.suite: run
        for run in latest_finished(version.evaluation_runs.all())
        .select_related("requested_by")
        .defer("metrics", "notes")
    }
    history: OrderedDict[str, list] = OrderedDict((suite, []) for suite in SUITES)
    for run in recent:
        if len(history[run.suite]) < HISTORY_PER_SUITE:
            history[run.suite].append(run)
    replaced = replaced_runs(version)
    can_run = access.may_run(user, version.model) and version.state != VersionState.RETIRED
    artifacts = list(version.artifacts.order_by("created_at", "id")) if can_run else []
    panel.update(
        {
            "can_run": can_run,
            "suites": [
                {
                    "key": suite,
                    "label": Suite(suite).label,
                    "latest": latest.get(suite),
                    "history": history[suite],
                    "replaced": replaced.get(suite, [])[:REPLACED_PER_SUITE],
                    "replaced_more": max(0, len(replaced.get(suite, [])) - REPLACED_PER_SUITE),
                }
                for suite in SUITES
            ],
            "active": [run for run in recent if run.status in ACTIVE_STATUSES],
            "run_count": len(recent),
            "form": (form or RunEvaluationForm(artifacts=artifacts)) if can_run else None,
            "default_thresholds": default_thresholds_text(version.model.risk_tier),
            "risk_tier": version.model.risk_tier,
            "descriptions": catalogue.DESCRIPTIONS,
        }
    )
    return {"evaluation_panel": panel}
