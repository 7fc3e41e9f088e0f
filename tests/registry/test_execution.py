"""registry.execution: real models trained here (scikit-learn -> skl2onnx -> onnxruntime), and
small hand-built ONNX graphs for the output shapes skl2onnx does not produce."""

from __future__ import annotations

import io
import pickle

import numpy as np
import onnx
import pandas as pd
import pytest
from onnx import TensorProto, helper, numpy_helper
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType, StringTensorType
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from registry.execution import (
    RUNTIME_VERSION,
    ExecutableModel,
    ExecutionError,
    InputMismatch,
    ModelLoadError,
    OutputError,
    Predictions,
    check_determinism,
    input_plan,
    measure_latency,
    read_signature,
    select_outputs,
)

ROWS = 600


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    frame = pd.DataFrame(
        {
            "a": rng.normal(size=ROWS).astype(np.float32),
            "sex": rng.choice(["F", "M"], size=ROWS),
            "b": rng.normal(size=ROWS).astype(np.float32),
            "c": rng.normal(size=ROWS).astype(np.float32),
            "color": rng.choice(["red", "green", "blue"], size=ROWS),
        }
    )
    logit = 1.5 * frame["a"] - frame["b"] + 0.5 * frame["c"] + (frame["color"] == "red")
    frame["y_true"] = (logit + rng.logistic(size=ROWS) > 0).astype(np.int8)
    return frame


def _onnx(estimator, initial_types, zipmap=True) -> bytes:
    options = {id(estimator): {"zipmap": zipmap}}
    return convert_sklearn(
        estimator, initial_types=initial_types, options=options
    ).SerializeToString()


def _abc(frame: pd.DataFrame, order=("a", "b", "c")) -> np.ndarray:
    return frame[list(order)].to_numpy(np.float32)


@pytest.fixture(scope="module")
def logistic(data):
    return LogisticRegression().fit(_abc(data), data["y_true"])


@pytest.fixture(scope="module")
def logistic_onnx(logistic) -> dict[bool, bytes]:
    types = [("input", FloatTensorType([None, 3]))]
    return {zipmap: _onnx(logistic, types, zipmap) for zipmap in (True, False)}


def _graph_model(nodes, inputs, outputs, initializers=(), ir_version=10) -> bytes:
    graph = helper.make_graph(nodes, "g", inputs, outputs, list(initializers))
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=ir_version
    )
    return model.SerializeToString()


def _sigmoid_model(shape_out=(None, 1), batch=None, out_name="score") -> bytes:
    """x [N, 3] -> sigmoid(x @ w): a 'regressor' whose output lies in [0, 1]."""
    w = numpy_helper.from_array(np.array([[1.0], [-1.0], [0.5]], np.float32), "w")
    nodes = [helper.make_node("MatMul", ["x", "w"], ["z"])]
    if len(shape_out) == 1:
        flat = helper.make_tensor("flat", TensorProto.INT64, [1], [-1])
        nodes.append(helper.make_node("Sigmoid", ["z"], ["s"]))
        nodes.append(helper.make_node("Constant", [], ["flat_shape"], value=flat))
        nodes.append(helper.make_node("Reshape", ["s", "flat_shape"], [out_name]))
    else:
        nodes.append(helper.make_node("Sigmoid", ["z"], [out_name]))
    return _graph_model(
        nodes,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, 3])],
        [helper.make_tensor_value_info(out_name, TensorProto.FLOAT, list(shape_out))],
        [w],
    )


def _sigmoid(frame) -> np.ndarray:
    z = _abc(frame) @ np.array([1.0, -1.0, 0.5], np.float32)
    return 1 / (1 + np.exp(-z.astype(np.float64)))


# --- real models ----------------------------------------------------------------------------


@pytest.mark.parametrize("zipmap", [True, False])
def test_logistic_regression_matches_sklearn(data, logistic, logistic_onnx, zipmap):
    model = ExecutableModel.load(logistic_onnx[zipmap])
    predictions = model.predict_frame(data, exclude=["sex", "color"])

    expected = logistic.predict_proba(_abc(data))[:, 1]
    np.testing.assert_allclose(predictions.y_score, expected, atol=1e-5)
    np.testing.assert_array_equal(predictions.y_pred, logistic.predict(_abc(data)))
    assert predictions.y_score.dtype == np.float64 and predictions.y_pred.dtype == np.int8
    assert predictions.features == ("a", "b", "c")
    assert predictions.rows == ROWS
    assert predictions.runtime == RUNTIME_VERSION
    if zipmap:
        assert (predictions.score_output, predictions.label_output) == (
            "output_probability",
            "output_label",
        )
    else:
        assert (predictions.score_output, predictions.label_output) == ("probabilities", "label")


def test_signature_form(logistic_onnx):
    assert read_signature(logistic_onnx[True]) == {
        "inputs": [{"name": "input", "type": "tensor(float)", "shape": [None, 3]}],
        "outputs": [
            {"name": "output_label", "type": "tensor(int64)", "shape": [None]},
            {"name": "output_probability", "type": "seq(map(int64,tensor(float)))", "shape": None},
        ],
    }


def test_read_signature_from_path_and_file(tmp_path, logistic_onnx):
    path = tmp_path / "model.onnx"
    path.write_bytes(logistic_onnx[False])
    from_path = read_signature(path)
    assert from_path == read_signature(str(path)) == read_signature(io.BytesIO(path.read_bytes()))
    assert [o["name"] for o in from_path["outputs"]] == ["label", "probabilities"]


@pytest.fixture(scope="module")
def pipeline(data):
    prep = ColumnTransformer(
        [("num", StandardScaler(), ["a", "b", "c"]), ("cat", OneHotEncoder(), ["color"])]
    )
    return Pipeline([("prep", prep), ("clf", LogisticRegression())]).fit(data, data["y_true"])


@pytest.fixture(scope="module")
def pipeline_onnx(pipeline) -> bytes:
    types = [(c, FloatTensorType([None, 1])) for c in ("a", "b", "c")]
    types.append(("color", StringTensorType([None, 1])))
    return convert_sklearn(pipeline, initial_types=types).SerializeToString()


def test_named_inputs_take_their_columns(data, pipeline, pipeline_onnx):
    model = ExecutableModel.load(pipeline_onnx)
    # Columns in another order than the inputs, with extra columns the model does not read.
    shuffled = data[["color", "y_true", "c", "sex", "b", "a"]]
    predictions = model.predict_frame(shuffled, batch_rows=128)

    np.testing.assert_allclose(predictions.y_score, pipeline.predict_proba(data)[:, 1], atol=1e-5)
    np.testing.assert_array_equal(predictions.y_pred, pipeline.predict(data))
    assert predictions.features == ("a", "b", "c", "color")


def test_named_input_without_its_column(data, pipeline_onnx):
    model = ExecutableModel.load(pipeline_onnx)
    with pytest.raises(InputMismatch, match="no column 'b'"):
        model.predict_frame(data.drop(columns="b"))


def test_named_inputs_refuse_other_features(data, pipeline_onnx):
    model = ExecutableModel.load(pipeline_onnx)
    with pytest.raises(InputMismatch, match="must be exactly those"):
        model.predict_frame(data, features=["a", "b"])


@pytest.fixture(scope="module")
def boosted(data):
    clf = GradientBoostingClassifier(n_estimators=30, max_depth=3, random_state=0)
    return clf.fit(_abc(data), data["y_true"])


def test_gradient_boosting_matches_sklearn(data, boosted):
    raw = _onnx(boosted, [("features", FloatTensorType([None, 3]))], zipmap=False)
    predictions = ExecutableModel.load(raw, threads=1).predict_frame(data, exclude=["sex", "color"])

    np.testing.assert_allclose(
        predictions.y_score, boosted.predict_proba(_abc(data))[:, 1], atol=1e-5
    )
    np.testing.assert_array_equal(predictions.y_pred, boosted.predict(_abc(data)))


def test_features_order_is_respected(data):
    order = ("c", "a", "b")
    clf = LogisticRegression().fit(_abc(data, order), data["y_true"])
    model = ExecutableModel.load(_onnx(clf, [("input", FloatTensorType([None, 3]))], False))
    expected = clf.predict_proba(_abc(data, order))[:, 1]

    given = model.predict_frame(data, features=list(order))
    np.testing.assert_allclose(given.y_score, expected, atol=1e-5)
    assert given.features == order
    # Without the list the file order (a, b, c) is fed, which is not what the model learnt.
    file_order = model.predict_frame(data, exclude=["sex", "color"])
    assert not np.allclose(file_order.y_score, expected, atol=1e-3)


def test_batches_give_the_same_result_as_one_batch(data, logistic_onnx):
    model = ExecutableModel.load(logistic_onnx[True])
    whole = model.predict_frame(data, exclude=["sex", "color"], batch_rows=ROWS)
    batched = model.predict_frame(data, exclude=["sex", "color"], batch_rows=7)
    np.testing.assert_array_equal(whole.y_score, batched.y_score)
    np.testing.assert_array_equal(whole.y_pred, batched.y_pred)


def test_string_labels(data):
    labels = data["y_true"].astype(str)  # "0" / "1": ZipMap keyed by strings, string labels
    clf = LogisticRegression().fit(_abc(data), labels)
    raw = _onnx(clf, [("input", FloatTensorType([None, 3]))], zipmap=True)
    model = ExecutableModel.load(raw)
    types = {o["name"]: o["type"] for o in model.signature["outputs"]}
    assert types == {
        "output_label": "tensor(string)",
        "output_probability": "seq(map(string,tensor(float)))",
    }

    predictions = model.predict_frame(data[["a", "b", "c"]])
    np.testing.assert_allclose(predictions.y_score, clf.predict_proba(_abc(data))[:, 1], atol=1e-5)
    np.testing.assert_array_equal(predictions.y_pred, clf.predict(_abc(data)).astype(np.int8))


def test_labels_other_than_0_and_1(data):
    clf = LogisticRegression().fit(_abc(data), data["y_true"] + 1)  # classes 1 and 2
    raw = _onnx(clf, [("input", FloatTensorType([None, 3]))], zipmap=False)
    with pytest.raises(OutputError, match="output 'label' gives the label 2"):
        ExecutableModel.load(raw).predict_frame(data[["a", "b", "c"]])


def test_multiclass_model_is_refused(data):
    classes = np.digitize(data["a"], [-0.5, 0.5])  # 0, 1, 2
    clf = LogisticRegression().fit(_abc(data), classes)
    raw = _onnx(clf, [("input", FloatTensorType([None, 3]))], zipmap=False)
    with pytest.raises(OutputError, match="probabilities") as caught:
        ExecutableModel.load(raw).predict_frame(data[["a", "b", "c"]])
    assert "'label' tensor(int64)" in str(caught.value)  # the outputs are named


# --- input mismatches -----------------------------------------------------------------------


def test_width_mismatch(data, logistic_onnx):
    model = ExecutableModel.load(logistic_onnx[False])
    with pytest.raises(InputMismatch, match=r"takes 3 features per row; the dataset gives 4"):
        model.predict_frame(data.drop(columns=["sex", "color"]).assign(d=1.0))


def test_non_numeric_column_for_a_float_input(data, logistic_onnx):
    model = ExecutableModel.load(logistic_onnx[False])
    with pytest.raises(InputMismatch, match="column 'color' is not numeric"):
        model.predict_frame(data, features=["a", "color", "c"])


def test_missing_feature_column(data, logistic_onnx):
    model = ExecutableModel.load(logistic_onnx[False])
    with pytest.raises(InputMismatch, match="no feature column 'z'"):
        model.predict_frame(data, features=["a", "b", "z"])


def test_label_is_never_a_feature(data, logistic_onnx):
    model = ExecutableModel.load(logistic_onnx[False])
    with pytest.raises(InputMismatch, match="y_true is the label"):
        model.predict_frame(data, features=["a", "b", "y_true"])


def test_input_plan_defaults_to_file_order_without_label_and_excluded():
    signature = {"inputs": [{"name": "x", "type": "tensor(float)", "shape": ["N", None]}]}
    columns = ["y_true", "age", "sex", "income", "y_score", "tenure"]
    plan = input_plan(signature, columns, exclude=["sex"])
    assert plan.columns == ("age", "income", "tenure")
    assert not plan.named and plan.batch_size is None


def test_integer_input_refuses_fractions():
    signature = {"inputs": [{"name": "x", "type": "tensor(int64)", "shape": [None, 2]}]}
    frame = pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.5]})
    plan = input_plan(signature, frame.columns, dtypes=frame.dtypes)
    with pytest.raises(InputMismatch, match=r"column 'b' holds 4.5 in row 1"):
        plan.arrays(frame, 0, 2)
    np.testing.assert_array_equal(plan.arrays(frame.iloc[:1], 0, 1)["x"], [[1, 3]])


def test_plan_without_dtypes_still_names_a_text_column(data):
    signature = {"inputs": [{"name": "x", "type": "tensor(float)", "shape": [None, 2]}]}
    plan = input_plan(signature, data.columns, features=["a", "sex"])
    with pytest.raises(InputMismatch, match="column 'sex' is not numeric"):
        plan.arrays(data, 0, 10)


def test_fixed_batch_size_is_padded(data):
    model = ExecutableModel.load(_sigmoid_model(batch=4))
    frame = data[["a", "b", "c"]].iloc[:10]  # batches of 4, 4 and 2 (padded to 4)
    predictions = model.predict_frame(frame, batch_rows=1000)
    np.testing.assert_allclose(predictions.y_score, _sigmoid(frame), atol=1e-6)


# --- outputs of hand-built graphs -----------------------------------------------------------


@pytest.mark.parametrize("shape_out", [(None, 1), (None,)])
def test_single_probability_output_is_thresholded(data, shape_out):
    model = ExecutableModel.load(_sigmoid_model(shape_out))
    predictions = model.predict_frame(data[["a", "b", "c"]])

    np.testing.assert_allclose(predictions.y_score, _sigmoid(data), atol=1e-6)
    np.testing.assert_array_equal(predictions.y_pred, predictions.y_score >= 0.5)
    assert predictions.label_output is None and predictions.score_output == "score"


def test_output_outside_0_1_is_refused(data):
    raw = _graph_model(
        [helper.make_node("ReduceSum", ["x", "axes"], ["total"], keepdims=1)],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 3])],
        [helper.make_tensor_value_info("total", TensorProto.FLOAT, [None, 1])],
        [numpy_helper.from_array(np.array([1], np.int64), "axes")],
    )
    with pytest.raises(OutputError, match=r"output 'total' gives 5.0 for row 0; a probability"):
        ExecutableModel.load(raw).predict_frame(data[["a", "b", "c"]].assign(a=5.0, b=0.0, c=0.0))


def test_model_without_a_probability_output():
    signature = {
        "inputs": [{"name": "x", "type": "tensor(float)", "shape": [None, 3]}],
        "outputs": [
            {"name": "label", "type": "tensor(int64)", "shape": [None]},
            {"name": "embedding", "type": "tensor(float)", "shape": [None, 16]},
        ],
    }
    with pytest.raises(OutputError, match="no output giving the probability") as caught:
        select_outputs(signature)
    assert "'embedding' tensor(float) [?, 16]" in str(caught.value)


def test_ambiguous_probability_outputs_can_be_named():
    signature = {
        "outputs": [
            {"name": "p_a", "type": "tensor(float)", "shape": [None, 2]},
            {"name": "p_b", "type": "tensor(float)", "shape": [None, 2]},
        ]
    }
    with pytest.raises(OutputError, match=r"several outputs .* \('p_a', 'p_b'\)"):
        select_outputs(signature)
    plan = select_outputs(signature, score_output="p_b")
    assert (plan.score_output, plan.label_output, plan.zipmap) == ("p_b", None, False)


# --- loading --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"not an onnx model at all \x00\xff" * 10,
        b"\x08\x07",  # a valid protobuf: ir_version 7 and nothing else
        pickle.dumps({"coef": [1.0, 2.0]}),  # a pickled model is refused, never unpickled
    ],
)
def test_garbage_is_not_a_model(raw):
    with pytest.raises(ModelLoadError, match=r"not an ONNX model|empty|cannot load"):
        ExecutableModel.load(raw)


def test_missing_file(tmp_path):
    with pytest.raises(ModelLoadError, match="could not be read"):
        read_signature(tmp_path / "absent.onnx")


def test_unsupported_ir_version_is_a_load_error():
    raw = _sigmoid_model()
    model = onnx.load_model_from_string(raw)
    model.ir_version = 99
    with pytest.raises(ModelLoadError, match="onnxruntime cannot load the model"):
        ExecutableModel.load(model.SerializeToString())


def test_external_data_is_refused(tmp_path):
    model = onnx.load_model_from_string(_sigmoid_model())
    onnx.save_model(
        model, tmp_path / "m.onnx", save_as_external_data=True, location="w.bin", size_threshold=0
    )
    assert (tmp_path / "w.bin").exists()
    with pytest.raises(ModelLoadError, match=r"external data files \(w\)"):
        ExecutableModel.load(tmp_path / "m.onnx")


def test_custom_operators_are_not_available():
    raw = _graph_model(
        [helper.make_node("Exfiltrate", ["x"], ["y"], domain="com.example.custom")],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 1])],
    )
    model = onnx.load_model_from_string(raw)
    model.opset_import.append(helper.make_opsetid("com.example.custom", 1))
    with pytest.raises(ModelLoadError, match="onnxruntime cannot load the model"):
        ExecutableModel.load(model.SerializeToString())


def test_missing_values_reach_the_model_and_show_in_its_output(data, logistic_onnx):
    frame = data[["a", "b", "c"]].copy()
    frame.loc[3, "b"] = np.nan
    with pytest.raises(OutputError, match="gives nan for row 3"):
        ExecutableModel.load(logistic_onnx[False]).predict_frame(frame)


def test_errors_share_one_base():
    for error in (ModelLoadError, InputMismatch, OutputError):
        assert issubclass(error, ExecutionError) and issubclass(error, ValueError)


def test_threads(logistic_onnx):
    assert ExecutableModel.load(logistic_onnx[False], threads=1).threads == 1
    assert ExecutableModel.load(logistic_onnx[False]).threads >= 1
    with pytest.raises(ValueError, match="threads"):
        ExecutableModel.load(logistic_onnx[False], threads=0)


# --- smoke helpers --------------------------------------------------------------------------


def test_latency_of_a_batch(data, logistic_onnx):
    big = pd.concat([data] * 2, ignore_index=True)  # 1,200 rows: the first 1,000 are timed
    latency = measure_latency(
        ExecutableModel.load(logistic_onnx[True]), big, runs=3, exclude=["sex", "color"]
    )
    assert latency.batch_rows == 1_000 and latency.runs == 3
    assert 0 < latency.median_ms <= latency.p95_ms <= latency.max_ms


def test_determinism_of_a_real_model(data, logistic_onnx):
    result = check_determinism(
        ExecutableModel.load(logistic_onnx[False]), data, exclude=["sex", "color"]
    )
    assert result.identical and result.rows == ROWS
    assert result.max_abs_diff == 0.0 and result.pred_mismatches == 0


class _Noisy(ExecutableModel):
    """A model whose scores change from run to run, to show the check notices."""

    def __init__(self):
        self.calls = 0

    def predict_frame(self, frame, **kwargs):
        self.calls += 1
        score = np.full(len(frame), 0.5 - 0.01 * self.calls)
        return Predictions(score, (score >= 0.5).astype(np.int8), None, "p", len(frame))


def test_determinism_check_reports_differences(data):
    result = check_determinism(_Noisy(), data, batch_rows=10)
    assert not result.identical and result.rows == 10
    assert result.max_abs_diff == pytest.approx(0.01) and result.pred_mismatches == 0
