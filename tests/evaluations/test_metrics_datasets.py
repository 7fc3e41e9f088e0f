"""Dataset loading and validation: one test per error message."""

import hashlib
import io

import numpy as np
import pandas as pd
import pytest

from evaluations.metrics import (
    DatasetError,
    load_dataset,
    read_bytes,
    sha256_digest,
    validate_dataset,
    validate_segment_columns,
    validate_sensitive_features,
)

GOOD_CSV = b"y_true,y_pred,y_score,sex,age\n1,1,0.9,F,30\n0,1,0.6,M,41\n0,0,0.1,F,25\n"


def csv(text):
    return text.encode()


def test_loads_csv_and_normalises_dtypes():
    df = load_dataset(GOOD_CSV, fmt="csv", sensitive_features=["sex"])
    assert list(df.columns) == ["y_true", "y_pred", "y_score", "sex", "age"]
    assert df["y_true"].dtype == np.int8 and df["y_pred"].dtype == np.int8
    assert df["y_score"].dtype == np.float64
    assert df["y_true"].tolist() == [1, 0, 0]


def test_loads_from_path_and_file_like(tmp_path):
    path = tmp_path / "data.csv"
    path.write_bytes(GOOD_CSV)
    assert len(load_dataset(path)) == 3
    assert len(load_dataset(str(path))) == 3
    assert len(load_dataset(io.BytesIO(GOOD_CSV))) == 3
    assert len(load_dataset(io.StringIO(GOOD_CSV.decode()))) == 3


def test_loads_parquet():
    frame = pd.DataFrame({"y_true": [0, 1], "y_pred": [1, 1], "y_score": [0.2, 0.7], "x": [1, 2]})
    buffer = io.BytesIO()
    frame.to_parquet(buffer)
    df = load_dataset(buffer.getvalue(), fmt="parquet")
    assert df["y_pred"].tolist() == [1, 1] and df["y_true"].dtype == np.int8


def test_float_and_boolean_labels_accepted():
    df = load_dataset(csv("y_true,y_pred\n1.0,0.0\n0.0,1\n"))
    assert df["y_true"].tolist() == [1, 0]
    df = validate_dataset(pd.DataFrame({"y_true": [True, False], "y_pred": [False, False]}))
    assert df["y_true"].tolist() == [1, 0]


def test_utf8_bom_is_ignored():
    df = load_dataset(b"\xef\xbb\xbf" + GOOD_CSV)
    assert "y_true" in df.columns


def test_sha256_of_bytes_path_and_stream(tmp_path):
    expected = hashlib.sha256(GOOD_CSV).hexdigest()
    path = tmp_path / "d.csv"
    path.write_bytes(GOOD_CSV)
    assert sha256_digest(GOOD_CSV) == expected
    assert sha256_digest(path) == expected
    assert sha256_digest(io.BytesIO(GOOD_CSV)) == expected
    assert sha256_digest(bytearray(GOOD_CSV)) == expected


def test_error_missing_y_true():
    with pytest.raises(DatasetError, match=r"missing required column 'y_true' \(columns found: "):
        load_dataset(csv("label,y_pred\n1,1\n"))


def test_error_missing_y_pred():
    with pytest.raises(DatasetError, match="missing required column 'y_pred'"):
        load_dataset(csv("y_true,pred\n1,1\n"))


def test_error_non_binary_label_names_value_and_row():
    with pytest.raises(DatasetError) as exc:
        load_dataset(csv("y_true,y_pred\n1,1\n0,0\n2,1\n3,0\n"))
    assert str(exc.value) == (
        "non-binary label in y_true: 2 at row 3 (2 rows); labels must be 0 or 1 (positive class 1)"
    )


def test_error_text_labels():
    with pytest.raises(DatasetError, match="non-binary label in y_pred: 'yes' at row 1"):
        load_dataset(csv("y_true,y_pred\n1,yes\n0,no\n"))


def test_error_non_binary_adversarial_predictions():
    with pytest.raises(
        DatasetError, match=r"non-binary label in y_pred_adversarial: 0\.5 at row 2"
    ):
        load_dataset(csv("y_true,y_pred,y_pred_adversarial\n1,1,1\n0,0,0.5\n"))


def test_error_missing_label():
    with pytest.raises(DatasetError, match=r"missing value in y_true at row 2 \(1 rows missing\)"):
        load_dataset(csv("y_true,y_pred\n1,1\n,0\n"))


def test_error_score_outside_unit_interval():
    with pytest.raises(DatasetError, match=r"y_score outside \[0, 1\]: 1.3 at row 2 \(1 rows\)"):
        load_dataset(csv("y_true,y_pred,y_score\n1,1,0.5\n0,0,1.3\n"))


def test_error_negative_score():
    with pytest.raises(DatasetError, match=r"y_score outside \[0, 1\]: -0.1 at row 1"):
        load_dataset(csv("y_true,y_pred,y_score\n1,1,-0.1\n"))


def test_error_non_numeric_score():
    with pytest.raises(DatasetError, match="non-numeric value in y_score: 'high' at row 2"):
        load_dataset(csv("y_true,y_pred,y_score\n1,1,0.5\n0,0,high\n"))


def test_error_missing_score():
    with pytest.raises(DatasetError, match="missing value in y_score at row 1"):
        load_dataset(csv("y_true,y_pred,y_score\n1,1,\n0,0,0.2\n"))


def test_error_empty_file():
    with pytest.raises(DatasetError, match="empty file"):
        load_dataset(b"")
    with pytest.raises(DatasetError, match="empty file"):
        load_dataset(b"  \n\n")


def test_error_header_only():
    with pytest.raises(DatasetError, match="no data rows"):
        load_dataset(csv("y_true,y_pred\n"))


def test_error_unparseable_csv():
    with pytest.raises(DatasetError, match="unparseable CSV: Error tokenizing data"):
        load_dataset(csv("y_true,y_pred\n1,1\n0,0,5,6\n"))


def test_error_not_utf8():
    with pytest.raises(DatasetError, match="unparseable CSV: not valid UTF-8"):
        load_dataset(b"y_true,y_pred,name\n1,1,\xff\xfe\x00bad\n")


def test_error_duplicate_column():
    with pytest.raises(DatasetError, match="duplicate column name 'y_true'"):
        load_dataset(csv("y_true,y_pred,y_true\n1,1,0\n"))


def test_error_too_big_bytes_path_and_stream(tmp_path):
    with pytest.raises(
        DatasetError, match=f"file too big: {len(GOOD_CSV)} bytes, over the limit of 50 bytes"
    ):
        load_dataset(GOOD_CSV, max_bytes=50)
    path = tmp_path / "big.csv"
    path.write_bytes(GOOD_CSV)
    with pytest.raises(DatasetError, match="file too big"):
        load_dataset(path, max_bytes=50)
    with pytest.raises(DatasetError, match="file too big: more than the limit of 50 bytes"):
        load_dataset(io.BytesIO(GOOD_CSV), max_bytes=50)
    with pytest.raises(DatasetError, match="file too big"):
        read_bytes(GOOD_CSV, max_bytes=10)


def test_error_too_many_rows_csv_and_parquet():
    with pytest.raises(DatasetError, match=r"too many rows: more than 2 \(the limit is 2\)"):
        load_dataset(GOOD_CSV, max_rows=2)
    buffer = io.BytesIO()
    pd.DataFrame({"y_true": [0, 1, 1], "y_pred": [0, 1, 0]}).to_parquet(buffer)
    with pytest.raises(DatasetError, match=r"too many rows: 3 \(the limit is 2\)"):
        load_dataset(buffer.getvalue(), fmt="parquet", max_rows=2)


def test_error_unparseable_parquet():
    with pytest.raises(DatasetError, match="unparseable Parquet file"):
        load_dataset(GOOD_CSV, fmt="parquet")


def test_error_unsupported_format():
    with pytest.raises(DatasetError, match="unsupported format 'xlsx'"):
        load_dataset(GOOD_CSV, fmt="xlsx")


def test_error_file_not_found(tmp_path):
    with pytest.raises(DatasetError, match=r"file not found: nope\.csv"):
        load_dataset(tmp_path / "nope.csv")


def test_error_unknown_sensitive_feature():
    with pytest.raises(DatasetError, match=r"unknown sensitive feature column 'race' \(columns"):
        load_dataset(GOOD_CSV, sensitive_features=["race"])


def test_error_reserved_sensitive_feature():
    with pytest.raises(DatasetError, match="'y_true' is a reserved column"):
        validate_sensitive_features(["y_true", "sex"], ["y_true"])


def test_error_sensitive_feature_listed_twice():
    with pytest.raises(DatasetError, match="'sex' is listed twice"):
        validate_sensitive_features(pd.DataFrame(columns=["sex"]), ["sex", "sex"])


def test_error_sensitive_feature_not_a_string():
    with pytest.raises(DatasetError, match="must be non-empty strings"):
        validate_sensitive_features(["sex"], [""])


def test_sensitive_feature_names_validated_and_returned():
    assert validate_sensitive_features(["a", "sex", "race"], ["race", "sex"]) == ["race", "sex"]
    assert validate_sensitive_features(["sex"], "sex") == ["sex"]


def test_error_unknown_segment_column():
    with pytest.raises(DatasetError, match="unknown segment column 'city'"):
        validate_segment_columns(["y_true", "y_pred", "region"], ["city"])


def test_error_reference_dataset_is_named():
    reference = pd.DataFrame({"y_true": [0, 5], "y_pred": [0, 1]})
    with pytest.raises(DatasetError, match=r"^reference dataset: non-binary label in y_true: 5"):
        validate_dataset(reference, name="reference dataset", require_labels=False)


def test_reference_without_labels_is_allowed():
    reference = pd.DataFrame({"x": [1.0, 2.0]})
    assert len(validate_dataset(reference, name="reference dataset", require_labels=False)) == 2


def test_validation_does_not_mutate_input():
    frame = pd.DataFrame({"y_true": ["1", "0"], "y_pred": [1.0, 0.0]})
    out = validate_dataset(frame)
    assert frame["y_true"].tolist() == ["1", "0"]
    assert out["y_true"].tolist() == [1, 0]


def test_validate_false_only_parses():
    df = load_dataset(csv("y_true,y_pred,y_score\n7,1,3.5\n"), validate=False)
    assert df["y_true"].tolist() == [7]


def test_categorical_parquet_columns_are_accepted():
    frame = pd.DataFrame(
        {
            "y_true": pd.Categorical([0, 1, 1]),
            "y_pred": pd.Categorical(["1", "0", "1"]),
            "group": pd.Categorical(["a", "b", "a"]),
        }
    )
    buffer = io.BytesIO()
    frame.to_parquet(buffer)
    df = load_dataset(buffer.getvalue(), fmt="parquet", sensitive_features=["group"])
    assert df["y_true"].tolist() == [0, 1, 1] and df["y_pred"].tolist() == [1, 0, 1]


def test_rows_with_more_fields_than_the_header_are_refused():
    from evaluations.metrics import DatasetError, load_dataset

    with pytest.raises(DatasetError, match="more fields than the header"):
        load_dataset(io.BytesIO(b"y_true,y_pred\n1,0,1\n0,1,0\n"))
