"""Security suite: input-validation findings from the data alone."""

import numpy as np
import pandas as pd
import pytest

from evaluations.metrics import compute_security, load_dataset, run_suite


def clean_frame(n=200, seed=71):
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, 2, size=n)
    return pd.DataFrame(
        {
            "y_true": y_true,
            "y_pred": rng.integers(0, 2, size=n),
            "y_score": rng.random(n),
            "age": rng.integers(18, 90, size=n),
            "city": rng.choice(["paris", "lyon"], size=n),
        }
    )


def findings_by_check(metrics, check, column=None):
    return [
        f
        for f in metrics["findings"]
        if f["check"] == check and (column is None or f["column"] == column)
    ]


def test_clean_dataset_has_no_findings_and_lists_what_is_not_performed():
    result = run_suite("security", clean_frame())
    metrics = result["metrics"]
    assert metrics["findings"] == []
    assert metrics["highSeverityFindings"] == 0
    assert result["thresholdResults"][0] == {
        "metric": "highSeverityFindings",
        "value": 0,
        "threshold": 0,
        "direction": "max",
        "passed": True,
    }
    # Without the model the attacks are not measured: judged by nothing, never passed.
    unjudged = [r["metric"] for r in result["thresholdResults"] if r["passed"] is None]
    assert unjudged == [
        "membershipInferenceAdvantage",
        "attributeInferenceAdvantage",
        "inputValidationFailures",
        "backdoorSuspicion",
    ]
    not_performed = {item["check"] for item in metrics["notPerformed"]}
    assert not_performed == {
        "modelInversion",
        "membershipInference",
        "backdoorDetection",
        "hostileInputs",
    }
    assert all("executing or querying the model" in i["reason"] for i in metrics["notPerformed"])
    assert "not performed" in metrics["scope"]
    assert any("The model is not executed" in n for n in result["notes"])


def test_finding_shape():
    df = clean_frame()
    df.loc[0, "y_score"] = 2.0
    metrics, _ = compute_security(df)
    finding = metrics["findings"][0]
    assert set(finding) == {"check", "severity", "column", "count", "message"}


def test_non_numeric_values_in_numeric_column():
    df = clean_frame()
    df["age"] = df["age"].astype(str)
    df.loc[4, "age"] = "unknown"
    metrics, _ = compute_security(df)
    [finding] = findings_by_check(metrics, "non_numeric_values", "age")
    assert finding["count"] == 1 and finding["severity"] == "medium"
    assert "'unknown' at row 5" in finding["message"]


def test_text_column_is_not_reported_as_non_numeric():
    metrics, _ = compute_security(clean_frame())
    assert findings_by_check(metrics, "non_numeric_values") == []


def test_nan_and_inf_values():
    df = clean_frame()
    df["income"] = np.linspace(1, 2, len(df))
    df.loc[[1, 2, 3], "income"] = np.nan
    df.loc[[10, 11], "income"] = np.inf
    df.loc[12, "income"] = -np.inf
    metrics, _ = compute_security(df)
    [missing] = findings_by_check(metrics, "missing_values", "income")
    assert missing["count"] == 3 and missing["severity"] == "info"
    assert "first at row 2" in missing["message"]
    [infinite] = findings_by_check(metrics, "infinite_values", "income")
    assert infinite["count"] == 3 and infinite["severity"] == "medium"


def test_missing_label_is_high_severity():
    df = clean_frame()
    df["y_true"] = df["y_true"].astype(float)
    df.loc[0, "y_true"] = np.nan
    metrics, _ = compute_security(df)
    [finding] = findings_by_check(metrics, "missing_values", "y_true")
    assert finding["severity"] == "high"


def test_score_outside_unit_interval_fails_the_run():
    df = clean_frame()
    df.loc[[5, 6], "y_score"] = [1.5, -0.2]
    result = run_suite("security", df)
    [finding] = findings_by_check(result["metrics"], "score_out_of_range")
    assert finding["count"] == 2 and finding["severity"] == "high"
    assert "1.5 at row 6" in finding["message"]
    assert result["passed"] is False
    assert result["thresholdResults"][0]["value"] == 1


def test_labels_not_binary():
    df = clean_frame()
    df.loc[[0, 9], "y_pred"] = [2, -1]
    metrics, _ = compute_security(df)
    [finding] = findings_by_check(metrics, "label_values", "y_pred")
    assert finding["count"] == 2 and finding["severity"] == "high"


def test_text_labels():
    df = clean_frame()
    df["y_true"] = np.where(df["y_true"] == 1, "yes", "no")
    metrics, _ = compute_security(df)
    assert findings_by_check(metrics, "label_values", "y_true")


def test_duplicate_rows_share():
    df = clean_frame(n=100)
    df = pd.concat([df, df.iloc[:10]], ignore_index=True)
    metrics, _ = compute_security(df)
    [finding] = findings_by_check(metrics, "duplicate_rows")
    assert finding["count"] == 10 and finding["column"] is None
    assert metrics["duplicateRowShare"] == pytest.approx(10 / 110)
    assert finding["severity"] == "medium"  # > 5 %
    df = pd.concat([clean_frame(n=100), clean_frame(n=100).iloc[:1]], ignore_index=True)
    [finding] = findings_by_check(compute_security(df)[0], "duplicate_rows")
    assert finding["severity"] == "low"


def test_constant_columns():
    df = clean_frame()
    df["country"] = "FR"
    df["y_true"] = 1
    metrics, _ = compute_security(df)
    [country] = findings_by_check(metrics, "constant_column", "country")
    assert country["severity"] == "low"
    [label] = findings_by_check(metrics, "constant_column", "y_true")
    assert label["severity"] == "medium"


def test_formula_injection_prefixes():
    df = clean_frame(n=8)
    df["comment"] = [
        '=HYPERLINK("x")',
        "+cmd|' /C calc'!A0",
        "-2+3",
        "@SUM(A1)",
        "\tx",
        "ok",
        "-5",
        None,
    ]
    metrics, _ = compute_security(df)
    [finding] = findings_by_check(metrics, "formula_injection", "comment")
    assert finding["count"] == 5  # "-5" is a plain number, "ok" and None are fine
    assert finding["severity"] == "medium"
    assert "row 1" in finding["message"]


def test_missing_required_columns():
    metrics, _ = compute_security(pd.DataFrame({"x": [1, 2]}))
    columns = {f["column"] for f in findings_by_check(metrics, "missing_required_column")}
    assert columns == {"y_true", "y_pred"}
    assert metrics["highSeverityFindings"] == 2


def test_findings_sorted_by_severity():
    df = clean_frame()
    df["country"] = "FR"
    df.loc[0, "y_score"] = 7.0
    metrics, _ = compute_security(df)
    order = ["high", "medium", "low", "info"]
    ranks = [order.index(f["severity"]) for f in metrics["findings"]]
    assert ranks == sorted(ranks)
    assert metrics["findingCounts"]["high"] == 1 and metrics["findingCounts"]["low"] == 1


def test_security_on_raw_csv_loaded_without_validation():
    raw = b"y_true,y_pred,y_score,name\n1,1,0.9,=cmd\n3,0,1.7,bob\n1,1,0.9,=cmd\n"
    df = load_dataset(raw, validate=False)
    result = run_suite("security", df)
    checks = {f["check"] for f in result["metrics"]["findings"]}
    assert {"label_values", "score_out_of_range", "formula_injection", "duplicate_rows"} <= checks
    assert result["passed"] is False
