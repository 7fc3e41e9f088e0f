"""Golden outputs of core/charts: every chart kind, rendered from fixed input, must stay
byte-identical. The SVG is embedded in report PDFs and evidence bundles whose SHA-256 is stored
and audited, so a refactoring of the chart code may not move one byte of its output.

The golden files in tests/core/charts_golden/ were written by the code before the module was
split into a package. After an intended change of the output, rewrite them with
``CHARTS_GOLDEN_WRITE=1 pytest tests/core/test_charts_golden.py`` and review the diff.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

_ROOT = Path(__file__).resolve().parents[2]
_PATH = _ROOT / "core" / "charts" / "__init__.py"
_SPEC = importlib.util.spec_from_file_location("core_charts_golden_under_test", _PATH)
assert _SPEC and _SPEC.loader
charts = importlib.util.module_from_spec(_SPEC)
sys.modules[_SPEC.name] = charts
_SPEC.loader.exec_module(charts)

GOLDEN = Path(__file__).resolve().parent / "charts_golden"
NAN = float("nan")
NASTY = '<b>Tom & "Jerry"</b> \x00 ünïcode — a very long category label that must be cut'

CASES = {
    "bar_plain": lambda: charts.bar_chart(["a", "b", "c"], [3, 7, 0], title="Plain bars"),
    "bar_threshold_above": lambda: charts.bar_chart(
        ["alpha", "beta", "gamma", "delta"],
        [0.91, 0.42, None, 0.75],
        title="Accuracy",
        value_format="percent",
        threshold=0.8,
        threshold_label="minimum",
        pass_if="above",
        value_label="Accuracy (%)",
    ),
    "bar_threshold_below_horizontal": lambda: charts.bar_chart(
        [NASTY, "short", "mid length label"],
        [12.5, -3.25, 40],
        title=NASTY,
        threshold=10,
        pass_if="below",
        horizontal=True,
        color="#123456",
        width=520,
    ),
    "bar_negative_no_values": lambda: charts.bar_chart(
        [f"c{i}" for i in range(14)],
        [(-1) ** i * i * 1.5 for i in range(14)],
        title="Many categories",
        show_values=False,
        height=300,
    ),
    "bar_big_numbers": lambda: charts.bar_chart(
        ["x", "y"], [1234567.0, 0.000123], title="Big and small", width=300
    ),
    "bar_empty": lambda: charts.bar_chart([], [], title="Nothing"),
    "bar_all_missing": lambda: charts.bar_chart(["a", "b"], [None, NAN], title="Missing"),
    "grouped": lambda: charts.grouped_bar_chart(
        ["Q1", "Q2", "Q3"],
        {"LOW": [1, 2, 3], "MEDIUM": [4, None, 1], "HIGH": [0, 2, 5]},
        title="Grouped",
        threshold=2.5,
        threshold_label="target",
        colors={"LOW": "#009E73", "HIGH": "#D55E00"},
    ),
    "grouped_horizontal_percent": lambda: charts.grouped_bar_chart(
        ["segment one", "segment two"],
        {"TPR": [0.8, 0.65], "FPR": [0.1, 0.3], "PPV": [0.7, NAN]},
        title="Rates by segment",
        value_format="percent",
        horizontal=True,
        value_label="rate",
    ),
    "stacked": lambda: charts.stacked_bar_chart(
        ["Jan", "Feb", "Mar", "Apr"],
        {"Compliant": [5, 6, 7, 8], "Non-compliant": [2, 1, 0, 3], "Not evaluated": [1, 1, 2, 0]},
        title="Stacked",
        value_label="pairs",
    ),
    "stacked_horizontal_negative": lambda: charts.stacked_bar_chart(
        ["a", "b", "c"],
        {"gain": [3, -2, 1.5], "loss": [-1, -4, None]},
        title="Stacked both ways",
        horizontal=True,
        show_values=False,
        width=460,
    ),
    "line": lambda: charts.line_chart(
        ["2026-01-01", "2026-01-02", "2026-01-03", "2026-01-04"],
        {"Recorded compliance score": [80.0, 75.5, None, 90.25]},
        title="Compliance score",
        y_min=0,
        y_max=100,
        height=260,
    ),
    "line_multi": lambda: charts.line_chart(
        [f"d{i}" for i in range(30)],
        {
            "a": [math_sin(i) for i in range(30)],
            "b": [i / 10 for i in range(30)],
            "c": [None if i % 7 == 0 else 1 - i / 20 for i in range(30)],
        },
        title="Three series",
        value_format="percent",
        threshold=0.5,
        threshold_label="limit",
        y_label="value",
        x_label="day",
        colors={"b": "#CC79A7"},
        show_points=True,
    ),
    "line_single_point": lambda: charts.line_chart(["only"], {"s": [3]}, title="One point"),
    "line_empty": lambda: charts.line_chart([], {}, title="No line"),
    "roc": lambda: charts.roc_curve_chart(
        [0.0, 0.1, 0.25, 0.5, 1.0], [0.0, 0.55, 0.8, 0.93, 1.0], auc=0.8734
    ),
    "roc_no_auc": lambda: charts.roc_curve_chart(
        [0.0, None, 0.4, 1.0], [0.0, 0.3, NAN, 1.0], title=NASTY, width=300
    ),
    "roc_empty": lambda: charts.roc_curve_chart([], []),
    "confusion": lambda: charts.confusion_matrix_chart(880, 20, 35, 65),
    "confusion_labels": lambda: charts.confusion_matrix_chart(
        0, 3, None, 1234567, title="Labels", labels=("Rejected", NASTY), width=360
    ),
    "confusion_zero": lambda: charts.confusion_matrix_chart(0, 0, 0, 0),
    "donut": lambda: charts.donut_chart(
        ["Compliant", "Non-compliant", "Not evaluated"],
        [12, 3, 5],
        title="Compliance",
        colors={"Compliant": "#009E73", "Non-compliant": "#D55E00"},
    ),
    "donut_percent_many": lambda: charts.donut_chart(
        [f"slice {i}" for i in range(10)] + [NASTY],
        [0.3, 0.2, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05, 0.04, 0.03, 0.03],
        title="Many slices",
        value_format="percent",
        center_label="share",
        width=400,
        height=240,
    ),
    "donut_single": lambda: charts.donut_chart(["one"], [7], title="One slice"),
    "donut_empty": lambda: charts.donut_chart(["a", "b"], [0, None], title="Empty donut"),
}


def math_sin(i: int) -> float:
    import math

    return round(0.5 + 0.4 * math.sin(i / 3), 6)


@pytest.mark.parametrize("name", sorted(CASES))
def test_chart_output_is_byte_identical(name):
    markup = CASES[name]().encode()
    golden = GOLDEN / f"{name}.svg"
    if os.environ.get("CHARTS_GOLDEN_WRITE") == "1":
        golden.write_bytes(markup)
    assert markup == golden.read_bytes()


def test_format_value_and_text_width_are_unchanged():
    got = [
        charts.format_value(v, f)
        for v in (0, 0.5, 12.345, -3, None, NAN)
        for f in ("number", "percent")
    ]
    got += [repr(charts._text_width(t, s)) for t in ("", "abc", NASTY) for s in (11, 15)]
    golden = GOLDEN / "format_value.txt"
    text = "\n".join(got) + "\n"
    if os.environ.get("CHARTS_GOLDEN_WRITE") == "1":
        golden.write_text(text)
    assert text == golden.read_text()
