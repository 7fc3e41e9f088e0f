"""Thresholds are a floor, INCOMPLETE is never a pass, history shows what a later run replaced,
and the policy context says where a run's predictions and thresholds came from (issue 12
point 5, and the policy part of point 4)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.utils import timezone

from evaluations import services, tasks
from evaluations.choices import RunStatus
from evaluations.metrics.thresholds import is_looser, looser_than
from evaluations.models import EvaluationRun
from evaluations.panels import version_panel
from evaluations.selectors import latest_runs_for
from policies.gate import dry_run_gate
from registry.choices import RiskTier
from tests.evaluations.test_evaluation_api import csv_bytes, make_frame, post_run, upload
from tests.factories import (
    ArtifactFactory,
    EvaluationRunFactory,
    ModelVersionFactory,
    RegisteredModelFactory,
)

pytestmark = pytest.mark.django_db

PACK = "policies/packs/default.yaml"


@pytest.fixture
def version(model):
    return ModelVersionFactory(model=model)


def thresholds(document: dict) -> str:
    return json.dumps(document)


# ---- stricter, looser -----------------------------------------------------------------------


def test_a_looser_threshold_is_a_400_naming_the_metric_for_the_owner(api, owner, version):
    response = post_run(
        api(owner), version, thresholds=thresholds({"performanceThresholds": {"accuracy": 0.1}})
    )
    assert response.status_code == 400
    assert response.json() == {
        "thresholds": [
            "accuracy: 0.1 is looser than the MEDIUM default 0.85 (at or above); only MRC may "
            "relax a threshold"
        ]
    }
    assert not EvaluationRun.objects.exists()


def test_mrc_may_relax_a_threshold_and_the_run_says_so(api, users, version):
    mrc = users["MRC"]
    document = {"performanceThresholds": {"accuracy": 0.1, "recall": 0.9}}
    response = post_run(api(mrc), version, thresholds=thresholds(document))
    assert response.status_code == 202, response.content
    run = EvaluationRun.objects.get()
    assert run.thresholds["performanceThresholds"]["accuracy"] == 0.1
    assert run.thresholds_source == "MRC"
    assert "relaxed by MRC" in run.thresholds_note and "accuracy: 0.1" in run.thresholds_note
    body = api(mrc).get(f"/api/v1/evaluations/{run.pk}/").json()
    assert (body["thresholdsSource"], body["requestedBy"]) == ("MRC", mrc.username)


def test_stricter_thresholds_are_stricter(api, owner, version):
    document = {"performanceThresholds": {"accuracy": 0.9, "rocAuc": 0.8}}
    assert post_run(api(owner), version, thresholds=thresholds(document)).status_code == 202
    run = EvaluationRun.objects.get()
    assert run.thresholds_source == "STRICTER"
    assert run.thresholds_note == "MEDIUM defaults, stricter: accuracy 0.9, rocAuc 0.8"


def test_only_the_section_that_judges_the_run_is_compared(api, owner, version):
    # A looser bias value does not loosen a performance run.
    document = {"biasThresholds": {"demographicParity": 0.5}}
    assert post_run(api(owner), version, thresholds=thresholds(document)).status_code == 202
    assert EvaluationRun.objects.get().thresholds_source == "TIER"
    bias = post_run(
        api(owner),
        version,
        suite="bias",
        sensitiveFeatures=["gender"],
        thresholds=thresholds(document),
    )
    assert bias.status_code == 400
    assert (
        "demographicParity: 0.5 is looser than the MEDIUM default 0.1 (at or below)"
        in (bias.json()["thresholds"][0])
    )


@pytest.mark.parametrize(
    ("metric", "value", "looser"),
    [
        ("accuracy", 0.84, True),
        ("accuracy", 0.85, False),
        ("demographicParity", 0.11, True),
        ("demographicParity", 0.05, False),
        # A significance level: a higher one flags drift on weaker evidence, so it is stricter.
        ("driftDetection", 0.01, True),
        ("driftDetection", 0.10, False),
    ],
)
def test_directions_of_stricter(metric, value, looser):
    defaults = {"accuracy": 0.85, "demographicParity": 0.1, "driftDetection": 0.05}
    assert bool(looser_than({metric: value}, defaults, "MEDIUM")) is looser
    direction = {"accuracy": "min", "demographicParity": "max", "driftDetection": "significance"}
    assert is_looser(direction[metric], value, defaults[metric]) is looser


# ---- INCOMPLETE -----------------------------------------------------------------------------


def test_a_robustness_run_that_measures_nothing_is_incomplete_and_fails_the_high_policy(
    api, owner, make_user
):
    call_command("load_policies", PACK, verbosity=0)
    model = RegisteredModelFactory(owner=owner, risk_tier=RiskTier.HIGH)
    version = ModelVersionFactory(model=model)
    ArtifactFactory(version=version)
    frame = make_frame().drop(columns="y_pred_adversarial")
    response = post_run(api(owner), version, suite="robustness", dataset=upload(csv_bytes(frame)))
    assert response.status_code == 202
    run = EvaluationRun.objects.get()
    assert tasks.run_evaluation(run.pk) == RunStatus.INCOMPLETE
    run.refresh_from_db()
    assert {r["metric"] for r in run.unevaluated_thresholds} == {
        "adversarialAccuracy",
        "driftDetection",
        "noiseAccuracy",
    }
    assert api(owner).get(f"/api/v1/evaluations/{run.pk}/").json()["status"] == "INCOMPLETE"
    assert latest_runs_for([version.pk])[version.pk]["robustness"]["status"] == "INCOMPLETE"

    gate = dry_run_gate(version, environment="staging")
    high = next(e for e in gate.evaluations if e.policy.policy_id == "evaluation-requirements-high")
    assert not high.passed
    failed = [r["message"] for r in high.rule_results if not r["passed"]]
    assert any("robustness suite must have passed" in m and "incomplete" in m for m in failed)


def test_an_incomplete_run_is_audited_and_the_owner_told(api, owner, version):
    from audit.models import AuditEvent
    from governance.models import Notification

    frame = make_frame().drop(columns="y_pred_adversarial")
    post_run(api(owner), version, suite="robustness", dataset=upload(csv_bytes(frame)))
    run = EvaluationRun.objects.get()
    tasks.run_evaluation(run.pk)
    event = AuditEvent.objects.get(action="EVALUATION_INCOMPLETE")
    assert set(event.details["unevaluatedThresholds"]) == {
        "adversarialAccuracy",
        "driftDetection",
        "noiseAccuracy",
    }
    assert Notification.objects.filter(user=owner, message__contains="INCOMPLETE").exists()


def test_a_run_that_judged_no_threshold_is_incomplete(version, owner):
    run = EvaluationRunFactory(version=version, status=RunStatus.RUNNING, attempts=1)
    assert services.finish(run, {"thresholdResults": [], "metrics": {}}) == RunStatus.INCOMPLETE


def test_a_failed_threshold_wins_over_one_not_judged(version, owner):
    results = [
        {"metric": "accuracy", "passed": False, "value": 0.5, "threshold": 0.85},
        {"metric": "rocAuc", "passed": None, "value": None, "threshold": 0.85},
    ]
    assert services.outcome_status(results) == RunStatus.FAILED
    assert services.outcome_status(results[1:]) == RunStatus.INCOMPLETE
    assert services.outcome_status([{**results[0], "passed": True}]) == RunStatus.PASSED


# ---- the policy context and the default pack -------------------------------------------------


REQUIRED_SUITES = {
    "MEDIUM": ("performance", "bias", "robustness", "security"),
    "HIGH": ("performance", "bias", "robustness", "security", "explainability", "validation"),
}


def passing_runs(version, *, source: str) -> None:
    tier = version.model.risk_tier
    for suite in REQUIRED_SUITES[tier]:
        EvaluationRunFactory(
            version=version,
            suite=suite,
            predictions_source=source,
            artifact_sha256="a" * 64 if source == "REGISTRY" else "",
            metrics={"accuracy": 0.95, "demographicParity": 0.01},
        )
    if tier == "HIGH":
        # "Extensive validation with multiple datasets": a second dataset for each.
        for suite in ("performance", "validation"):
            EvaluationRunFactory(
                version=version,
                suite=suite,
                predictions_source=source,
                artifact_sha256="a" * 64 if source == "REGISTRY" else "",
                dataset_sha256="b" * 64,
                metrics={"accuracy": 0.95},
            )


def evaluation_policy(version, tier: str):
    gate = dry_run_gate(version, environment="staging")
    policy_id = f"evaluation-requirements-{tier.lower()}"
    return next(e for e in gate.evaluations if e.policy.policy_id == policy_id)


@pytest.mark.parametrize("tier", ["MEDIUM", "HIGH"])
def test_submitted_predictions_fail_the_evaluation_policy_and_registry_ones_pass(owner, tier):
    call_command("load_policies", PACK, verbosity=0)
    model = RegisteredModelFactory(owner=owner, risk_tier=tier)
    submitted = ModelVersionFactory(model=model)
    passing_runs(submitted, source="SUBMITTED")
    policy = evaluation_policy(submitted, tier)
    assert not policy.passed
    failed = [r["message"] for r in policy.rule_results if not r["passed"]]
    # HIGH: the two-datasets rules count only runs on the registry's predictions too.
    assert len(failed) == len(REQUIRED_SUITES[tier]) + (2 if tier == "HIGH" else 0)
    assert all(
        "registry computed" in m
        or "registry running" in m
        or "by the registry" in m
        or "on the registry's predictions" in m
        for m in failed
    )

    registry = ModelVersionFactory(model=model)
    passing_runs(registry, source="REGISTRY")
    assert evaluation_policy(registry, tier).passed


def test_the_context_carries_provenance_and_the_number_of_datasets(version, owner):
    now = timezone.now()
    for minutes, digest in ((30, "1" * 64), (20, "2" * 64), (10, "2" * 64)):
        EvaluationRunFactory(
            version=version,
            suite="performance",
            status=RunStatus.FAILED,
            dataset_sha256=digest,
            finished_at=now - timedelta(minutes=minutes),
        )
    EvaluationRunFactory(
        version=version,
        suite="performance",
        status=RunStatus.ERROR,
        dataset_sha256="3" * 64,
        finished_at=now,
    )
    latest = EvaluationRunFactory(
        version=version,
        suite="performance",
        predictions_source="REGISTRY",
        thresholds_source="STRICTER",
        artifact_sha256="f" * 64,
        dataset_sha256="2" * 64,
        finished_at=now - timedelta(minutes=1),
    )
    document = latest_runs_for([version.pk])[version.pk]["performance"]
    assert document == {
        "status": "PASSED",
        "metrics": latest.metrics,
        "predictionsSource": "REGISTRY",
        "thresholdsSource": "STRICTER",
        "artifactSha256": "f" * 64,
        "datasets": 2,  # 1..., 2...; the ERROR run's dataset does not count
        "passedDatasets": 1,  # only the latest run passed on the registry's predictions
    }


# ---- history --------------------------------------------------------------------------------


def test_the_list_has_every_run_newest_first(api, owner, version):
    now = timezone.now()
    runs = [
        EvaluationRunFactory(version=version, suite=suite, status=status)
        for suite, status in (
            ("performance", RunStatus.FAILED),
            ("performance", RunStatus.PASSED),
            ("bias", RunStatus.ERROR),
            ("security", RunStatus.INCOMPLETE),
        )
    ]
    for index, run in enumerate(runs):
        EvaluationRun.objects.filter(pk=run.pk).update(
            created_at=now - timedelta(minutes=10 - index)
        )
    listed = api(owner).get(f"/api/v1/versions/{version.pk}/evaluations/").json()
    assert [r["id"] for r in listed["results"]] == [r.pk for r in reversed(runs)]


def test_the_panel_shows_a_failed_or_incomplete_run_a_later_one_replaced(version, owner):
    now = timezone.now()

    def finished(status, minutes_ago):
        return EvaluationRunFactory(
            version=version,
            suite="performance",
            status=status,
            finished_at=now - timedelta(minutes=minutes_ago),
        )

    failed = finished(RunStatus.FAILED, 40)
    incomplete = finished(RunStatus.INCOMPLETE, 30)
    passed = finished(RunStatus.PASSED, 20)
    last_failed = finished(RunStatus.FAILED, 10)
    later = [finished(RunStatus.PASSED, 9 - extra) for extra in range(6)]  # out of the history
    request = RequestFactory().get(f"/versions/{version.pk}/")
    request.user = owner
    html = render_to_string(
        "evaluations/_version_panel.html",
        {"version": version, **version_panel(version, owner)},
        request=request,
    )
    start = html.index('data-replaced-runs="performance"')
    block = html[start : html.index("</td>", start)]

    def entry(run, replaced_by) -> str:
        return (
            f'<a href="/evaluations/{run.pk}/">#{run.pk}</a> '
            f'<span class="scan scan-{"PENDING" if run.status == "INCOMPLETE" else "FAILED"}" '
            f'data-progress-status data-run="{run.pk}">{run.status}</span>\n replaced by run '
            f'<a href="/evaluations/{replaced_by.pk}/">#{replaced_by.pk}</a>'
        )

    # Newest first; a passed run is not listed as replaced, only as the replacement.
    assert entry(last_failed, later[0]) in block
    assert block.index(entry(last_failed, later[0])) < block.index(entry(incomplete, passed))
    assert block.index(entry(incomplete, passed)) < block.index(entry(failed, incomplete))
    assert f'data-run="{passed.pk}">PASSED' not in block


def test_a_failed_run_on_a_second_dataset_is_not_a_second_validation(owner):
    call_command("load_policies", PACK, verbosity=0)
    model = RegisteredModelFactory(owner=owner, risk_tier="HIGH")
    version = ModelVersionFactory(model=model)
    for suite in REQUIRED_SUITES["HIGH"]:
        EvaluationRunFactory(
            version=version,
            suite=suite,
            predictions_source="REGISTRY",
            artifact_sha256="a" * 64,
            metrics={"accuracy": 0.95, "demographicParity": 0.01},
        )
    for suite in ("performance", "validation"):
        # Older than the passing runs (the latest run still passes), on another file.
        EvaluationRunFactory(
            version=version,
            suite=suite,
            status="FAILED",
            predictions_source="REGISTRY",
            artifact_sha256="a" * 64,
            dataset_sha256="c" * 64,
            finished_at=timezone.now() - timedelta(days=1),
        )
    context = latest_runs_for([version.pk])[version.pk]
    assert (context["validation"]["datasets"], context["validation"]["passedDatasets"]) == (2, 1)
    policy = evaluation_policy(version, "HIGH")
    failed = [r["message"] for r in policy.rule_results if not r["passed"]]
    assert failed == [
        "The performance suite must have passed, on the registry's predictions, on at least "
        "two different datasets",
        "The validation suite must have passed, on the registry's predictions, on at least "
        "two different datasets",
    ]
