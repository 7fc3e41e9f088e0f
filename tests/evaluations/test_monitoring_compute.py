"""The window's metrics are the suites' own (the same numbers as evaluations.metrics gives),
and the checks of a batch against the reference's profile."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from evaluations.metrics import DatasetError, binary_metrics, compute_bias, feature_drift, roc_auc
from evaluations.metrics.validation import psi
from evaluations.monitoring import compute, ingest
from tests.evaluations.test_monitoring_helpers import batch_frame, reference_frame


def test_the_metrics_are_those_of_the_suites():
    reference = reference_frame(3000)
    batch = batch_frame(2000, shift=0.5)
    rng = np.random.default_rng(7)
    truth = np.where(rng.random(len(batch)) < 0.5, batch["y_pred"], np.nan)
    batch["y_true"] = truth
    metrics, _notes = compute.window_metrics(
        batch, reference, features=["age", "region", "gender"], sensitive_features=["gender"]
    )
    expected_psi, _ = psi(reference["y_score"].to_numpy(), batch["y_score"].to_numpy())
    assert metrics["scorePsi"] == pytest.approx(expected_psi.psi)
    for column in ("age", "region", "gender"):
        entry = feature_drift(reference[column], batch[column], 0.05)
        assert metrics["featurePsi"][column] == pytest.approx(entry["psi"])
        assert metrics["featurePValue"][column] == pytest.approx(entry["pValue"])
    known = ~np.isnan(truth)
    y_true = truth[known].astype(np.int8)
    y_pred = batch["y_pred"].to_numpy()[known].astype(np.int8)
    assert metrics["outcomeRows"] == int(known.sum())
    assert metrics["accuracy"] == pytest.approx(binary_metrics(y_true, y_pred)["accuracy"])
    assert metrics["rocAuc"] == pytest.approx(
        roc_auc(y_true, batch["y_score"].to_numpy()[known])[0]
    )
    labelled = pd.DataFrame(
        {"gender": batch["gender"][known].to_numpy(), "y_true": y_true, "y_pred": y_pred}
    )
    bias, _ = compute_bias(labelled, ["gender"], validated=True)
    assert metrics["demographicParity"] == pytest.approx(bias["demographicParity"])
    assert metrics["driftDetection"] == min(metrics["featurePValue"].values())
    assert "age" in metrics["driftedFeatures"]


def test_without_y_pred_the_label_is_the_score_rule_and_a_note_says_so():
    reference = reference_frame(500)
    batch = batch_frame(300).drop(columns=["y_pred"])
    batch["y_true"] = (batch["y_score"] >= 0.5).astype(float)
    metrics, notes = compute.window_metrics(batch, reference, features=["age"])
    assert metrics["accuracy"] == 1.0
    assert any("y_score >= 0.5" in note for note in notes)


def test_a_reference_without_scores_gives_no_score_psi():
    reference = reference_frame(500).drop(columns=["y_score"])
    metrics, notes = compute.window_metrics(batch_frame(200), reference, features=["age"])
    assert metrics["scorePsi"] is None
    assert any("scorePsi not computed" in note for note in notes)


def profile():
    return ingest.profile_of(reference_frame(50))


def test_the_profile_is_the_reference_s_features_and_kinds():
    p = profile()
    assert p.features == ("age", "region", "gender")
    assert p.kinds == {"age": "numeric", "region": "text", "gender": "text"}


def test_a_batch_is_normalised_in_the_reference_s_order():
    batch = batch_frame(20)[["recordId", "gender", "y_score", "region", "age", "y_pred"]]
    parsed = ingest.check_batch(batch, profile(), fmt="csv")
    assert list(parsed.frame.columns) == [
        "age",
        "region",
        "gender",
        "y_score",
        "y_pred",
        "recordId",
    ]
    assert parsed.frame["y_pred"].dtype == np.int8
    assert parsed.has_predictions and parsed.has_record_ids


def test_numbers_written_as_text_are_taken_and_other_text_is_refused():
    batch = batch_frame(5, ids=False)
    batch["age"] = batch["age"].astype(str)
    parsed = ingest.check_batch(batch, profile(), fmt="jsonl")
    assert parsed.frame["age"].dtype.kind == "f"
    batch.loc[3, "age"] = "forty"
    with pytest.raises(DatasetError, match=r"'forty' at row 4"):
        ingest.check_batch(batch, profile(), fmt="jsonl")


def test_a_duplicate_column_name_is_refused_by_name():
    content = b"age,region,age,y_score\n1,north,2,0.5\n"
    with pytest.raises(DatasetError, match=r"duplicate column name\(s\): 'age'"):
        ingest.parse(io.BytesIO(content), name="b.csv", max_rows=10)


def test_json_lines_and_parquet_are_read():
    data = batch_frame(10, ids=False)
    lines = data.to_json(orient="records", lines=True).encode()
    frame, fmt = ingest.parse(io.BytesIO(lines), name="traffic.ndjson", max_rows=100)
    assert fmt == "jsonl" and len(frame) == 10
    frame, fmt = ingest.parse(io.BytesIO(ingest.to_parquet(data)), name="x", max_rows=100)
    assert fmt == "parquet" and list(frame.columns) == list(data.columns)
    with pytest.raises(DatasetError, match="too many rows"):
        ingest.parse(io.BytesIO(ingest.to_parquet(data)), name="x", max_rows=5)
