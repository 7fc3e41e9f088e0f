"""The evaluation pages: the version page's panel, the run form, the run page with its charts,
the history, and the read-only admin."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.template.loader import render_to_string
from django.test import Client, RequestFactory

from core.choices import Role
from evaluations import services, tasks
from evaluations.charts import run_charts, suite_charts
from evaluations.choices import RunStatus
from evaluations.models import EvaluationRun
from evaluations.panels import version_panel
from tests.factories import ModelVersionFactory

pytestmark = pytest.mark.django_db


def make_frame(n: int = 500, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    y_true = rng.binomial(1, 0.45, size=n)
    score = np.clip(0.6 * y_true + 0.4 * rng.random(n), 0, 1)
    y_pred = (score >= 0.5).astype(int)
    gender = rng.choice(["F", "M", "X"], size=n)
    y_pred[(gender == "M") & (rng.random(n) < 0.3)] = 0
    return pd.DataFrame(
        {
            "y_true": y_true,
            "y_pred": y_pred,
            "y_score": score.round(5),
            "y_pred_adversarial": y_pred,
            "gender": gender,
            "region": rng.choice(["n", "s"], size=n),
            "tenure": rng.integers(0, 20, size=n),
        }
    )


def upload(frame: pd.DataFrame, name: str = "data.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, frame.to_csv(index=False).encode(), content_type="text/csv")


@pytest.fixture
def version(model):
    return ModelVersionFactory(model=model)


def finished_run(version, owner, suite: str) -> EvaluationRun:
    extra = {
        "performance": {"segment_columns": ["region"]},
        "bias": {"sensitive_features": ["gender", "region"]},
        "robustness": {"reference_dataset": upload(make_frame(seed=9), "reference.csv")},
        "security": {},
    }[suite]
    run = services.request_evaluation(
        version, actor=owner, suite=suite, dataset=upload(make_frame()), **extra
    )
    tasks.run_evaluation(run.pk)
    run.refresh_from_db()
    # The datasets carry their predictions: the attack metrics of robustness and security are
    # not measured, so those runs are INCOMPLETE.
    assert run.status in (RunStatus.PASSED, RunStatus.FAILED, RunStatus.INCOMPLETE), run.error
    return run


def page_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


# ---- charts ---------------------------------------------------------------------------------

EXPECTED_CHARTS = {
    "performance": {
        "Confusion matrix",
        "ROC curve",
        "Classification metrics",
        "Performance by region",
    },
    "bias": {
        "Selection rate by gender",
        "True and false positive rates by gender",
        "Selection rate by region",
    },
    "robustness": {
        "Drift test p-value per feature",
        "Population stability index per feature",
        "Reference vs current performance",
        "Clean vs adversarial accuracy",
    },
    "security": {"Findings by severity"},
}


@pytest.mark.parametrize("suite", list(EXPECTED_CHARTS))
def test_run_page_shows_results_and_charts(suite, version, owner):
    run = finished_run(version, owner, suite)
    titles = {title for title, _ in run_charts(run)}
    assert EXPECTED_CHARTS[suite] <= titles
    response = page_client(owner).get(f"/evaluations/{run.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count("<svg") >= len(EXPECTED_CHARTS[suite])
    assert 'id="evaluation-charts"' in html
    assert run.dataset_sha256 in html
    assert "evaluation-progress.js" not in html  # finished: nothing to poll
    if suite != "security":
        assert 'id="threshold-results"' in html
    if suite == "security":
        assert 'id="security-not-performed"' in html
        assert "membershipInference" in html and "not performed" in html
    if suite == "bias":
        assert "Fairness" in html and "worstFeature" not in html


def test_charts_tolerate_empty_or_partial_metrics():
    assert suite_charts("performance", {}) == []
    assert suite_charts("unknown", {"accuracy": 1}) == []
    charts = suite_charts("robustness", {"featureDrift": None, "adversarialAccuracy": None})
    assert charts == []
    partial = suite_charts("performance", {"accuracy": 0.9, "confusionMatrix": {"tn": 1}})
    assert [title for title, _ in partial] == ["Confusion matrix", "Classification metrics"]


def test_selection_rate_chart_draws_the_fairness_threshold(version, owner):
    run = finished_run(version, owner, "bias")
    svg = dict(run_charts(run))["Selection rate by gender"]
    assert "disparate impact threshold" in svg


# ---- a running run --------------------------------------------------------------------------


def test_a_running_run_shows_a_live_progress_bar(version, owner):
    run = services.request_evaluation(
        version, actor=owner, suite="performance", dataset=upload(make_frame())
    )
    EvaluationRun.objects.filter(pk=run.pk).update(
        status=RunStatus.RUNNING, progress=42, progress_message="segments of region"
    )
    html = page_client(owner).get(f"/evaluations/{run.pk}/").content.decode()
    assert '<progress max="100" value="42"' in html
    assert f'data-url="/api/v1/evaluations/{run.pk}/"' in html
    assert "segments of region" in html
    assert "js/evaluation-progress.js" in html
    assert 'id="evaluation-charts"' not in html


def test_an_errored_run_shows_its_error(version, owner, settings):
    run = services.request_evaluation(
        version, actor=owner, suite="performance", dataset=upload(make_frame())
    )
    (settings.MEDIA_ROOT / run.dataset.name).write_bytes(b"tampered")
    tasks.run_evaluation(run.pk)
    html = page_client(owner).get(f"/evaluations/{run.pk}/").content.decode()
    assert 'id="evaluation-error"' in html and "SHA-256" in html


# ---- who sees the pages ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "status"), [(Role.MRC, 200), (Role.AUDITOR, 200), (Role.SRE, 403)]
)
def test_run_page_access(role, status, version, owner, make_user):
    run = finished_run(version, owner, "performance")
    response = page_client(make_user(role, username="reader")).get(f"/evaluations/{run.pk}/")
    assert response.status_code == status


def test_other_owners_get_404_and_anonymous_is_sent_to_login(version, owner, make_user):
    run = finished_run(version, owner, "security")
    stranger = page_client(make_user(Role.MODEL_OWNER, username="oscar"))
    assert stranger.get(f"/evaluations/{run.pk}/").status_code == 404
    assert stranger.get(f"/versions/{version.pk}/evaluations/new/").status_code == 404
    assert Client().get(f"/evaluations/{run.pk}/").status_code == 302


# ---- the run form ---------------------------------------------------------------------------


def test_owner_runs_an_evaluation_from_the_form(version, owner):
    client = page_client(owner)
    assert client.get(f"/versions/{version.pk}/evaluations/new/").status_code == 200
    response = client.post(
        f"/versions/{version.pk}/evaluations/new/",
        {
            "suite": "bias",
            "dataset": upload(make_frame()),
            "sensitive_features": " gender , region ",
            "thresholds": "",
        },
    )
    run = EvaluationRun.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/evaluations/{run.pk}/"
    assert run.sensitive_features == ["gender", "region"]
    assert run.status == RunStatus.QUEUED


def test_form_errors_are_shown_next_to_their_field(version, owner):
    response = page_client(owner).post(
        f"/versions/{version.pk}/evaluations/new/",
        {
            "suite": "bias",
            "dataset": upload(make_frame()),
            "sensitive_features": "race",
            "thresholds": '{"biasThresholds": {"fairness": 1}}',
        },
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert "unknown sensitive feature column 'race'" in form.errors["sensitive_features"][0]
    assert "unknown metric 'fairness'" in form.errors["thresholds"][0]
    assert not EvaluationRun.objects.exists()


def test_reviewers_cannot_open_the_run_form(version, make_user):
    # MRC may run evaluations (independent validation); the other oversight roles may not.
    client = page_client(make_user(Role.SECURITY_ARCHITECT, username="sam"))
    response = client.get(f"/versions/{version.pk}/evaluations/new/")
    assert response.status_code == 403
    assert b"run evaluations" in response.content


# ---- the version page's panel ---------------------------------------------------------------


def _panel(version, user) -> str:
    request = RequestFactory().get(f"/versions/{version.pk}/")
    request.user = user
    return render_to_string(
        "evaluations/_version_panel.html",
        {"version": version, **version_panel(version, user)},
        request=request,
    )


def test_panel_for_the_owner_has_the_form_latest_results_and_history(
    version, owner, django_assert_max_num_queries
):
    finished_run(version, owner, "performance")
    latest = finished_run(version, owner, "performance")
    queued = services.request_evaluation(
        version, actor=owner, suite="security", dataset=upload(make_frame())
    )
    # One more each for the runs a later one replaced and the version's artifacts (the form's
    # model choice) than before issue 12 points 4-5.
    with django_assert_max_num_queries(10):
        html = _panel(version, owner)
    assert 'id="run-evaluation-form"' in html and 'enctype="multipart/form-data"' in html
    assert 'name="sensitive_features"' in html and 'name="thresholds"' in html
    assert f'href="/evaluations/{latest.pk}/"' in html
    assert f'id="evaluation-progress-{queued.pk}"' in html
    assert "js/evaluation-progress.js" in html
    assert html.count(">PASSED<") + html.count(">FAILED<") >= 3  # latest + 2 in history


def test_panel_for_a_reviewer_reads_but_cannot_run(version, owner, make_user):
    finished_run(version, owner, "performance")
    html = _panel(version, make_user(Role.AUDITOR, username="audrey"))
    assert 'id="evaluation-suites"' in html
    assert "run-evaluation-form" not in html


def test_panel_for_an_sre_says_why_nothing_is_shown(version, make_user):
    html = _panel(version, make_user(Role.SRE, username="sid"))
    assert "read evaluations" in html and "evaluation-suites" not in html


def test_history_page_filters_by_suite_and_status(version, owner):
    finished_run(version, owner, "performance")
    finished_run(version, owner, "security")
    client = page_client(owner)
    all_runs = client.get(f"/versions/{version.pk}/evaluations/")
    assert all_runs.status_code == 200 and len(all_runs.context["page"]) == 2
    security = client.get(f"/versions/{version.pk}/evaluations/?suite=security")
    assert [r.suite for r in security.context["page"]] == ["security"]


# ---- admin ----------------------------------------------------------------------------------


def test_admin_lists_runs_read_only_with_filters(version, owner, make_user):
    run = finished_run(version, owner, "performance")
    client = page_client(make_user(Role.MRC, username="mira"))
    listing = client.get("/admin/evaluations/evaluationrun/?suite__exact=performance")
    assert listing.status_code == 200
    assert b"performance" in listing.content
    change = client.get(f"/admin/evaluations/evaluationrun/{run.pk}/change/")
    assert change.status_code == 200
    assert b'name="_save"' not in change.content
    assert client.get("/admin/evaluations/evaluationrun/add/").status_code == 403
    assert client.post(f"/admin/evaluations/evaluationrun/{run.pk}/delete/").status_code == 403
