"""Charts of the catalogue's new metrics (robustness, security, explainability, validation):
each renders valid SVG with its title from a synthetic metrics dict; absent keys give no
chart; None/NaN values do not crash."""

import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest

from evaluations.charts import suite_charts
from evaluations.metrics._common import to_jsonable
from evaluations.metrics.validation_suite import compute_validation

SVG = "{http://www.w3.org/2000/svg}"
NAN = float("nan")


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    return root


def titles(charts) -> list[str]:
    return [title for title, _ in charts]


def chart(charts, title) -> ET.Element:
    found = [svg for t, svg in charts if t == title]
    assert len(found) == 1, titles(charts)
    root = parse(found[0])
    assert root.find(f"{SVG}title").text == title
    return root


def text_of(root: ET.Element) -> str:
    return " ".join("".join(el.itertext()) for el in root.iter(f"{SVG}text"))


def by_class(root, name):
    return [el for el in root.iter() if name in (el.get("class") or "").split()]


def validation_metrics():
    rng = np.random.default_rng(0)
    n = 2000
    y = rng.integers(0, 2, n)
    s = np.round(1 / (1 + np.exp(-(1.5 * (y - 0.5) + rng.normal(size=n)))), 3)
    df = pd.DataFrame({"y_true": y, "y_score": s})
    ref = df.assign(y_score=np.clip(s + 0.05, 0, 1))
    champ = {"version": "1.0", "versionId": 3, "y_score": np.clip(s + rng.normal(0, 0.2, n), 0, 1)}
    metrics, _ = compute_validation(df, ref, champion=champ)
    return to_jsonable(metrics)


ROBUSTNESS = {
    "adversarialAccuracy": 0.71,
    "cleanAccuracy": 0.9,
    "perturbationCurve": [
        {"epsilon": 0.0, "adversarialAccuracy": 0.9, "noiseAccuracy": 0.9},
        {"epsilon": 0.05, "adversarialAccuracy": 0.8, "noiseAccuracy": 0.89},
        {"epsilon": 0.1, "adversarialAccuracy": 0.71, "noiseAccuracy": 0.88},
        {"epsilon": 0.2, "adversarialAccuracy": 0.5, "noiseAccuracy": 0.85},
    ],
}
SECURITY = {
    "findingCounts": {"high": 0, "medium": 1},
    "membershipInference": {
        "rocCurve": {"fpr": [0.0, 0.1, 0.5, 1.0], "tpr": [0.0, 0.2, 0.6, 1.0]},
        "auc": 0.55,
    },
    "backdoor": {
        "entropyCut": 0.12,
        "entropyHistogram": {
            "edges": [i / 10 for i in range(11)],
            "dataset": [1, 3, 10, 30, 50, 60, 40, 20, 5, 1],
            "reference": [0, 2, 8, 40, 80, 90, 50, 20, 10, 0],
        },
    },
}
EXPLAINABILITY = {
    "attributions": [
        {"feature": "income", "importance": 0.12},
        {"feature": "age", "importance": 0.31},
        {"feature": "debt <ratio> & co", "importance": 0.05},
    ]
}
THRESHOLDS = {
    "robustnessThresholds": {"adversarialAccuracy": 0.6, "noiseAccuracy": 0.8},
    "validationThresholds": {"psi": 0.2, "ksStatistic": 0.3},
}


def test_robustness_perturbation_curve_with_both_thresholds():
    charts = suite_charts("robustness", ROBUSTNESS, thresholds=THRESHOLDS)
    assert "Clean vs adversarial accuracy" in titles(charts)  # today's chart is kept
    root = chart(charts, "Accuracy against perturbation size")
    text = text_of(root)
    assert "adversarialAccuracy threshold 0.6" in text
    assert "noiseAccuracy threshold 0.8" in text
    assert "standard deviation" in text
    assert len(by_class(root, "curve")) == 2
    assert len(by_class(root, "threshold")) == 2
    # Without thresholds: the curve, no threshold line.
    root = chart(suite_charts("robustness", ROBUSTNESS), "Accuracy against perturbation size")
    assert by_class(root, "threshold") == []


def test_security_membership_and_strip_charts():
    charts = suite_charts("security", SECURITY)
    assert titles(charts) == [
        "Findings by severity",
        "Membership inference attack",
        "STRIP entropy",
    ]
    root = chart(charts, "Membership inference attack")
    assert "AUC = 0.550" in text_of(root)
    assert by_class(root, "reference")  # the diagonal: an attack at chance, no leak
    root = chart(charts, "STRIP entropy")
    assert "entropy cut 0.12" in text_of(root)
    assert len(by_class(root, "marker")) == 1
    assert len(by_class(root, "curve")) == 2
    # The model-level charts need no data findings.
    only = {k: v for k, v in SECURITY.items() if k != "findingCounts"}
    assert titles(suite_charts("security", only)) == [
        "Membership inference attack",
        "STRIP entropy",
    ]


def test_explainability_feature_importance_sorted():
    charts = suite_charts("explainability", EXPLAINABILITY)
    root = chart(charts, "Feature importance")
    text = text_of(root)
    assert text.index("age") < text.index("income") < text.index("debt <ratio> & co")


def test_validation_charts_from_compute_validation():
    metrics = validation_metrics()
    charts = suite_charts("validation", metrics, thresholds=THRESHOLDS)
    assert titles(charts) == [
        "Calibration (reliability)",
        "KS: cumulative score distributions by class",
        "PSI per score bin",
        "PSI contribution per score bin",
        "Champion vs challenger",
    ]
    root = chart(charts, "Calibration (reliability)")
    assert by_class(root, "reference") and "perfect calibration" in text_of(root)
    root = chart(charts, "KS: cumulative score distributions by class")
    assert len(by_class(root, "gap")) == 1
    label = text_of(root)
    assert f"KS = {metrics['ksStatistic']:.3f}" in label and "(threshold 0.3)" in label
    root = chart(charts, "PSI per score bin")
    assert f"PSI = {metrics['psi']:.3g}, threshold 0.2" in text_of(root)
    root = chart(charts, "Champion vs challenger")
    text = text_of(root)
    assert "champion 1.0" in text and "this version (challenger)" in text
    assert len(by_class(root, "curve")) == 2
    assert by_class(root, "reference")


@pytest.mark.parametrize(
    "suite,metrics",
    [
        ("robustness", {"perturbationCurve": None, "adversarialAccuracy": None}),
        ("robustness", {"perturbationCurve": []}),
        ("security", {"membershipInference": None, "backdoor": None, "findingCounts": {}}),
        ("security", {"membershipInference": {"rocCurve": None}, "backdoor": {}}),
        ("explainability", {"attributions": None, "featureImportance": None}),
        ("explainability", {"explanationStability": 0.9}),
        ("validation", {"gini": 0.4, "reliabilityCurve": None, "ksCurve": None}),
        ("validation", {"psiBins": None, "championChallenger": None, "unavailable": {}}),
        ("validation", {"championChallenger": {"aucDifference": 0.0}}),
    ],
)
def test_missing_keys_give_no_chart(suite, metrics):
    assert suite_charts(suite, metrics) == []


def test_none_and_nan_values_do_not_crash():
    nasty = {
        "perturbationCurve": [
            {"epsilon": 0.0, "adversarialAccuracy": None, "noiseAccuracy": NAN},
            {"epsilon": NAN, "adversarialAccuracy": 0.5},
            {"epsilon": 0.1, "adversarialAccuracy": 0.4, "noiseAccuracy": None},
            "not a row",
        ]
    }
    for svg in (svg for _, svg in suite_charts("robustness", nasty, thresholds={"x": 1})):
        parse(svg)
    security = {
        "membershipInference": {"rocCurve": {"fpr": [0, NAN, 1], "tpr": [0, None, 1]}, "auc": NAN},
        "backdoor": {
            "entropyCut": None,
            "entropyHistogram": {"edges": [0, 0.5, 1], "dataset": [None, 3], "reference": [0, 0]},
        },
    }
    charts = suite_charts("security", security)
    assert titles(charts) == ["Membership inference attack", "STRIP entropy"]
    for _, svg in charts:
        parse(svg)
    explain = {"attributions": [{"feature": "a", "importance": NAN}, {"feature": "b"}, None]}
    for _, svg in suite_charts("explainability", explain):
        parse(svg)
    validation = {
        "psi": NAN,
        "reliabilityCurve": {
            "meanPredicted": [None, 0.2, NAN, 0.9],
            "observedRate": [None, 0.1, 0.5, None],
            "counts": [0, 5, 1, 2],
        },
        "ksCurve": {
            "thresholds": [0.1, 0.5, None],
            "cdfPositive": [0.1, None, 1.0],
            "cdfNegative": [0.5, 0.9],
            "at": 0.5,
        },
        "psiBins": [
            {"bin": 0, "lower": None, "upper": 0.2, "expectedShare": NAN, "actualShare": None},
            {"bin": 1, "lower": 0.2, "upper": None, "expectedShare": 0.5, "contribution": NAN},
        ],
        "championChallenger": {
            "championVersion": None,
            "championRocAuc": NAN,
            "rocCurves": {"champion": {"fpr": [0, 1], "tpr": [0, NAN]}, "challenger": None},
        },
    }
    charts = suite_charts("validation", validation, thresholds={"validationThresholds": None})
    assert "Calibration (reliability)" in titles(charts)
    for _, svg in charts:
        parse(svg)


def test_unavailable_validation_metrics_still_chart_what_exists():
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"y_true": rng.integers(0, 2, 300), "y_score": rng.random(300)})
    metrics = to_jsonable(compute_validation(df)[0])  # no reference, no champion
    assert titles(suite_charts("validation", metrics)) == [
        "Calibration (reliability)",
        "KS: cumulative score distributions by class",
    ]
    one_class = pd.DataFrame({"y_true": [1] * 30, "y_score": rng.random(30)})
    metrics = to_jsonable(compute_validation(one_class)[0])
    assert titles(suite_charts("validation", metrics)) == ["Calibration (reliability)"]
