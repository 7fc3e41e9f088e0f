"""The registry runs the model (issue 12 point 4): an evaluation dataset without predictions is
predicted by the version's ONNX model artifact, uploaded through the API, in the worker; the
run records where its predictions came from. Real models, trained here with scikit-learn and
exported with skl2onnx."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score, roc_auc_score

from evaluations import tasks
from evaluations.choices import RunStatus
from evaluations.models import EvaluationRun
from registry import custody
from registry.execution import RUNTIME_VERSION, ExecutableModel
from registry.models import Artifact
from tests.factories import ModelVersionFactory

pytestmark = pytest.mark.django_db

FEATURES = ["x1", "x2", "x3"]


# ---- a model and its data ---------------------------------------------------------------------


def feature_frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(n, 3)).round(4), columns=FEATURES)
    signal = 1.5 * frame["x1"] - frame["x2"] + 0.5 * frame["x3"]
    frame["y_true"] = (signal + rng.normal(scale=0.8, size=n) > 0).astype(int)
    frame["gender"] = rng.choice(["F", "M"], size=n)
    return frame


@pytest.fixture(scope="module")
def trained():
    """A logistic regression on x1..x3 and its ONNX export (one [N, 3] float input 'X',
    a label output and a probability output without ZipMap)."""
    from skl2onnx import to_onnx

    train = feature_frame(400, seed=0)
    classifier = LogisticRegression().fit(train[FEATURES].to_numpy(np.float32), train["y_true"])
    onnx = to_onnx(
        classifier,
        train[FEATURES].to_numpy(np.float32)[:1],
        options={id(classifier): {"zipmap": False}},
        target_opset={"": 17, "ai.onnx.ml": 3},
    )
    return classifier, onnx.SerializeToString()


def csv_upload(frame: pd.DataFrame, name: str = "eval.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, frame.to_csv(index=False).encode(), content_type="text/csv")


def upload_model(client, version, content: bytes, *, name="model.onnx", type="model") -> int:
    response = client.post(
        f"/api/v1/versions/{version.pk}/artifacts/",
        {"file": SimpleUploadedFile(name, content), "name": name, "type": type},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    return response.json()["id"]


def post_run(client, version, frame: pd.DataFrame, **fields):
    fields.setdefault("suite", "performance")
    return client.post(
        f"/api/v1/versions/{version.pk}/evaluations/",
        {"dataset": csv_upload(frame), **fields},
        format="multipart",
    )


def run_queued(response) -> EvaluationRun:
    """Run the queued run in this process, as the worker would."""
    assert response.status_code == 202, response.content
    run_id = response.json()["id"]
    tasks.run_evaluation(run_id)
    return EvaluationRun.objects.get(pk=run_id)


@pytest.fixture
def version(model):
    return ModelVersionFactory(model=model)


@pytest.fixture
def held_model(api, owner, version, trained) -> Artifact:
    return Artifact.objects.get(pk=upload_model(api(owner), version, trained[1]))


# ---- the registry computes the predictions ---------------------------------------------------


def test_metrics_are_sklearns_on_the_models_own_predictions(
    api, owner, version, trained, held_model
):
    classifier, content = trained
    frame = feature_frame(500, seed=7).drop(columns="gender")
    run = run_queued(post_run(api(owner), version, frame))
    assert run.status in (RunStatus.PASSED, RunStatus.FAILED), run.error

    own = ExecutableModel.load(content).predict_frame(frame)
    y_true = frame["y_true"]
    metrics = run.metrics
    assert metrics["accuracy"] == pytest.approx(accuracy_score(y_true, own.y_pred), abs=1e-12)
    assert metrics["precision"] == pytest.approx(precision_score(y_true, own.y_pred), abs=1e-12)
    assert metrics["recall"] == pytest.approx(recall_score(y_true, own.y_pred), abs=1e-12)
    assert metrics["f1Score"] == pytest.approx(f1_score(y_true, own.y_pred), abs=1e-12)
    assert metrics["rocAuc"] == pytest.approx(roc_auc_score(y_true, own.y_score), abs=1e-12)
    # ... which are the trained classifier's own predictions.
    features = frame[FEATURES].to_numpy(np.float32)
    assert (own.y_pred == classifier.predict(features)).all()
    sklearn_auc = roc_auc_score(y_true, classifier.predict_proba(features)[:, 1])
    assert metrics["rocAuc"] == pytest.approx(sklearn_auc, abs=1e-6)

    assert run.predictions_source == "REGISTRY"
    assert run.artifact_id == held_model.pk
    assert run.artifact_sha256 == hashlib.sha256(content).hexdigest()
    assert run.runtime == RUNTIME_VERSION
    assert run.prediction_features == FEATURES
    body = api(owner).get(f"/api/v1/evaluations/{run.pk}/").json()
    assert (body["predictionsSource"], body["artifact"], body["artifactSha256"]) == (
        "REGISTRY",
        held_model.pk,
        held_model.sha256,
    )
    assert body["runtime"] == RUNTIME_VERSION and body["predictionFeatures"] == FEATURES
    assert body["scoreOutput"] == "probabilities" and body["labelOutput"] == "label"
    listed = api(owner).get(f"/api/v1/versions/{version.pk}/evaluations/").json()
    assert listed["results"][0]["predictionsSource"] == "REGISTRY"


def test_the_run_page_says_the_registry_computed_the_predictions(api, owner, version, held_model):
    run = run_queued(post_run(api(owner), version, feature_frame(200, 3).drop(columns="gender")))
    client = Client()
    client.force_login(owner)
    html = client.get(f"/evaluations/{run.pk}/").content.decode()
    assert "Predictions computed by the registry from artifact model.onnx" in html
    assert held_model.sha256[:10] in html and RUNTIME_VERSION in html


def test_sensitive_features_are_not_fed_and_features_give_the_column_order(
    api, owner, version, held_model
):
    frame = feature_frame(300, seed=4)[["gender", "x3", "y_true", "x1", "x2"]]
    run = run_queued(
        post_run(
            api(owner),
            version,
            frame,
            suite="bias",
            sensitiveFeatures=["gender"],
            features=FEATURES,
        )
    )
    assert run.status in (RunStatus.PASSED, RunStatus.FAILED), run.error
    assert run.features == FEATURES and run.prediction_features == FEATURES
    assert run.metrics["feature"] == "gender"


def test_an_mrc_member_runs_the_model_and_the_run_shows_who(api, owner, users, version, held_model):
    mrc = users["MRC"]
    run = run_queued(post_run(api(mrc), version, feature_frame(200, 5).drop(columns="gender")))
    body = api(owner).get(f"/api/v1/evaluations/{run.pk}/").json()
    assert (body["requestedBy"], body["predictionsSource"]) == (mrc.username, "REGISTRY")


# ---- a dataset that does not fit ------------------------------------------------------------


def test_a_column_the_model_cannot_take_is_a_400_naming_it(api, owner, version, held_model):
    # gender is not a sensitive feature of a performance run, so it would be fed: a string
    # column for the model's float input.
    response = post_run(api(owner), version, feature_frame(100, 1))
    assert response.status_code == 400
    (message,) = response.json()["dataset"]
    assert "gender" in message and f"artifact {held_model.pk}" in message
    assert not EvaluationRun.objects.exists()


def test_features_naming_a_missing_column_is_a_400_under_features(api, owner, version, held_model):
    frame = feature_frame(100, 1).drop(columns="gender")
    response = post_run(api(owner), version, frame, features=["x1", "x2", "x9"])
    assert response.status_code == 400
    assert "x9" in response.json()["features"][0]


def test_a_missing_value_the_model_cannot_answer_ends_the_run_in_error_naming_it(
    api, owner, version, held_model
):
    frame = feature_frame(100, 2).drop(columns="gender")
    frame.loc[41, "x2"] = np.nan  # a float input takes NaN; the model's output is then NaN
    run = run_queued(post_run(api(owner), version, frame))
    assert run.status == RunStatus.ERROR
    assert f"artifact {held_model.pk}" in run.error and "row" in run.error
    assert run.metrics is None


def test_bytes_altered_in_storage_are_never_run(api, owner, version, held_model):
    frame = feature_frame(100, 2).drop(columns="gender")
    response = post_run(api(owner), version, frame)
    with custody.local_path(held_model) as path, open(path, "r+b") as handle:
        handle.seek(100)
        handle.write(b"\x00\x01\x02")
    run = run_queued(response)
    assert run.status == RunStatus.ERROR
    assert "no longer match its SHA-256" in run.error


def test_without_predictions_and_without_a_model_is_a_400_saying_what_to_do(api, owner, version):
    response = post_run(api(owner), version, feature_frame(100, 1).drop(columns="gender"))
    assert response.status_code == 400
    (message,) = response.json()["dataset"]
    assert "no y_pred" in message and "ONNX" in message and "include y_pred" in message


def test_a_model_given_by_reference_only_is_not_run(api, owner, version):
    response = api(owner).post(
        f"/api/v1/versions/{version.pk}/artifacts/",
        {"name": "model.onnx", "type": "model", "uri": "s3://b/model.onnx", "sha256": "a" * 64},
        format="json",
    )
    assert response.status_code == 201, response.content
    artifact_id = response.json()["id"]
    frame = feature_frame(100, 1).drop(columns="gender")
    assert "no y_pred" in post_run(api(owner), version, frame).json()["dataset"][0]
    named = post_run(api(owner), version, frame, artifact=artifact_id).json()
    assert "not a model the registry can run" in named["artifact"][0]


def test_an_artifact_of_another_version_is_refused(api, owner, model, version, trained):
    other = ModelVersionFactory(model=model)
    artifact_id = upload_model(api(owner), other, trained[1])
    frame = feature_frame(100, 1).drop(columns="gender")
    response = post_run(api(owner), version, frame, artifact=artifact_id)
    assert response.status_code == 400
    assert response.json()["artifact"] == [
        f"artifact {artifact_id} is not an artifact of this version"
    ]


def test_the_artifact_field_picks_one_of_several_models(api, owner, version, trained):
    first = upload_model(api(owner), version, trained[1], name="first.onnx")
    # A second, differently trained model (other bytes) of the same version.
    from skl2onnx import to_onnx

    train = feature_frame(200, seed=11)
    other = LogisticRegression(C=0.01).fit(train[FEATURES].to_numpy(np.float32), train["y_true"])
    second_bytes = to_onnx(
        other,
        train[FEATURES].to_numpy(np.float32)[:1],
        target_opset={"": 17, "ai.onnx.ml": 3},
    ).SerializeToString()
    second = upload_model(api(owner), version, second_bytes, name="second.onnx")
    frame = feature_frame(150, 6).drop(columns="gender")
    default = run_queued(post_run(api(owner), version, frame))
    chosen = run_queued(post_run(api(owner), version, frame, artifact=second))
    assert default.artifact_id == first  # the first executable model, by creation
    assert chosen.artifact_id == second
    assert chosen.artifact_sha256 == hashlib.sha256(second_bytes).hexdigest()


# ---- submitted predictions ------------------------------------------------------------------


def test_a_dataset_with_predictions_stays_submitted_and_says_the_model_was_not_run(
    api, owner, version, held_model
):
    frame = feature_frame(200, 8).drop(columns="gender")
    frame["y_pred"] = frame["y_true"]
    run = run_queued(post_run(api(owner), version, frame))
    assert run.status == RunStatus.PASSED
    assert (run.predictions_source, run.artifact_id, run.artifact_sha256) == ("SUBMITTED", None, "")
    assert f"artifact {held_model.pk} (model.onnx) was not run" in run.predictions_note
    body = api(owner).get(f"/api/v1/evaluations/{run.pk}/").json()
    assert (body["predictionsSource"], body["artifactSha256"]) == ("SUBMITTED", None)
    assert "was not run" in body["predictionsNote"]
    client = Client()
    client.force_login(owner)
    html = client.get(f"/evaluations/{run.pk}/").content.decode()
    assert f"Predictions submitted by {owner.username}" in html


# ---- pages and admin ------------------------------------------------------------------------


def test_the_form_offers_the_model_and_says_the_registry_computes_predictions(
    owner, version, held_model
):
    client = Client()
    client.force_login(owner)
    html = client.get(f"/versions/{version.pk}/evaluations/new/").content.decode()
    assert "the registry computes them" in html
    assert f'<option value="{held_model.pk}">' in html and 'name="features"' in html
    frame = feature_frame(120, 9).drop(columns="gender")
    response = client.post(
        f"/versions/{version.pk}/evaluations/new/",
        {"suite": "performance", "dataset": csv_upload(frame), "artifact": str(held_model.pk)},
    )
    assert response.status_code == 302
    run = EvaluationRun.objects.get()
    assert (run.predictions_source, run.artifact_id) == ("REGISTRY", held_model.pk)


def test_the_form_says_when_the_dataset_must_carry_predictions(owner, version):
    client = Client()
    client.force_login(owner)
    html = client.get(f"/versions/{version.pk}/evaluations/new/").content.decode()
    assert "this version has no model the registry can run" in html


def test_the_admin_shows_the_provenance(api, owner, version, held_model, make_user):
    run = run_queued(post_run(api(owner), version, feature_frame(100, 3).drop(columns="gender")))
    client = Client()
    client.force_login(make_user("MRC", username="mira", is_staff=True))
    response = client.get(f"/admin/evaluations/evaluationrun/{run.pk}/change/")
    assert response.status_code == 200
    html = response.content.decode()
    assert held_model.sha256 in html and RUNTIME_VERSION in html
    assert "computed by the registry from the model artifact" in html
