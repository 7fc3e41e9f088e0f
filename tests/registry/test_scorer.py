"""The Scorer: the model as a function of a float matrix, for attacks and attributions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType, Int64TensorType, StringTensorType
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

from registry.execution import ExecutableModel, ExecutionError, InputMismatch, Scorer

ROWS = 400


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(rng.normal(size=(ROWS, 3)), columns=["a", "b", "c"])
    frame["y_true"] = (frame["a"] - frame["b"] + rng.logistic(size=ROWS) > 0).astype(int)
    return frame


@pytest.fixture(scope="module")
def boosted(data):
    X = data[["a", "b", "c"]].to_numpy(np.float32)
    clf = GradientBoostingClassifier(n_estimators=15, random_state=0).fit(X, data["y_true"])
    onx = convert_sklearn(
        clf,
        initial_types=[("x", FloatTensorType([None, 3]))],
        options={id(clf): {"zipmap": False}},
    )
    return clf, ExecutableModel.load(onx.SerializeToString())


def test_scores_and_labels_equal_the_estimators(data, boosted):
    clf, model = boosted
    scorer = Scorer.for_frame(model, data)
    X = scorer.matrix(data)

    assert scorer.features == ("a", "b", "c")
    expected = clf.predict_proba(X)[:, 1]
    np.testing.assert_allclose(scorer.score(X, batch_rows=64), expected, atol=1e-5)
    np.testing.assert_array_equal(scorer.predict(X), clf.predict(X))
    proba = scorer.predict_proba(X[:5])
    assert proba.shape == (5, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    # Every row asked about is counted, whatever the batching: 400 + 400 + 5.
    assert (scorer.calls, scorer.rows_scored) == (3, 2 * ROWS + 5)


def test_one_row_and_a_wrong_width(data, boosted):
    _, model = boosted
    scorer = Scorer.for_frame(model, data)
    assert scorer.score(np.zeros(3)).shape == (1,)
    with pytest.raises(ExecutionError, match="rows of 3 features"):
        scorer.score(np.zeros((2, 4)))


def test_integer_inputs_take_rounded_values():
    rng = np.random.default_rng(1)
    X = rng.integers(0, 5, size=(200, 2))
    y = (X[:, 0] > 2).astype(int)
    clf = LogisticRegression().fit(X, y)
    onx = convert_sklearn(clf, initial_types=[("x", Int64TensorType([None, 2]))])
    model = ExecutableModel.load(onx.SerializeToString())
    frame = pd.DataFrame(X, columns=["p", "q"])
    scorer = Scorer.for_frame(model, frame)
    jittered = X + 0.2
    np.testing.assert_allclose(scorer.score(jittered), clf.predict_proba(X)[:, 1], atol=1e-5)


def test_text_inputs_cannot_be_perturbed():
    frame = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "color": ["r", "g", "r", "g"]})
    y = [0, 1, 0, 1]
    prep = ColumnTransformer([("cat", OneHotEncoder(), ["color"])], remainder="passthrough")
    pipe = Pipeline([("prep", prep), ("clf", LogisticRegression())]).fit(frame, y)
    onx = convert_sklearn(
        pipe,
        initial_types=[("a", FloatTensorType([None, 1])), ("color", StringTensorType([None, 1]))],
    )
    model = ExecutableModel.load(onx.SerializeToString())
    with pytest.raises(InputMismatch, match="'color' takes text"):
        Scorer.for_frame(model, frame)
