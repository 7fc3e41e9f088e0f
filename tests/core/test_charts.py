"""Tests for core/charts/ (server-side SVG charts).

The module is Django-free, so it is loaded straight from its file: these tests
run with ``-p no:django`` and do not depend on what ``governance/__init__.py``
imports.
"""

from __future__ import annotations

import importlib.util
import math
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parents[2] / "core" / "charts" / "__init__.py"
_SPEC = importlib.util.spec_from_file_location("governance_charts_under_test", _PATH)
assert _SPEC and _SPEC.loader
charts = importlib.util.module_from_spec(_SPEC)
sys.modules[_SPEC.name] = charts
_SPEC.loader.exec_module(charts)

SVG = "{http://www.w3.org/2000/svg}"
NASTY = "<script>alert('x')</script> & \"Co\""
NAN = float("nan")


def parse(markup: str) -> ET.Element:
    root = ET.fromstring(markup)
    assert root.tag == f"{SVG}svg"
    return root


def by_class(root: ET.Element, name: str) -> list[ET.Element]:
    return [el for el in root.iter() if name in (el.get("class") or "").split()]


def texts(root: ET.Element) -> list[str]:
    return ["".join(el.itertext()) for el in root.iter(f"{SVG}text")]


def all_text(root: ET.Element) -> str:
    return " ".join(t for el in root.iter() if (t := el.text))


def viewbox(root: ET.Element) -> tuple[float, float]:
    _, _, w, h = (float(x) for x in root.get("viewBox", "").split())
    return w, h


# One realistic example of every chart type.
DAYS = [f"2025-{1 + d // 28:02d}-{1 + d % 28:02d}" for d in range(365)]
EXAMPLES = {
    "bar": lambda: charts.bar_chart(
        ["Data review", "Fairness", "Security", "Legal", "Sign-off"],
        [12, 9, None, 4, 3],
        title="Approvals per stage",
    ),
    "bar_threshold": lambda: charts.bar_chart(
        ["Group A", "Group B", "Group C", "Group D"],
        [0.92, 0.74, 0.81, NAN],
        title="Selection rate ratio",
        value_format="percent",
        threshold=0.8,
        pass_if="above",
    ),
    "bar_horizontal": lambda: charts.bar_chart(
        [f"feature_{i}_with_a_really_quite_long_descriptive_name" for i in range(40)],
        [i / 100 for i in range(40)],
        title="PSI per feature",
        threshold=0.2,
        pass_if="below",
        horizontal=True,
    ),
    "grouped": lambda: charts.grouped_bar_chart(
        ["Review", "Fairness", "Security"],
        {"Approved": [5, 4, 3], "Rejected": [1, None, 2]},
        title="Approvals vs rejections",
    ),
    "grouped_horizontal": lambda: charts.grouped_bar_chart(
        ["Female", "Male"],
        {"TPR": [0.8, 0.85], "FPR": [0.1, 0.12]},
        title="TPR/FPR per group",
        value_format="percent",
        horizontal=True,
    ),
    "stacked": lambda: charts.stacked_bar_chart(
        ["Jan", "Feb"],
        {"LOW": [3, 4], "MEDIUM": [2, None], "HIGH": [1, 2]},
        title="Violations by severity",
    ),
    "stacked_horizontal": lambda: charts.stacked_bar_chart(
        ["Model A", "Model B"],
        {"LOW": [3, 4], "HIGH": [1, 2]},
        title="Violations by severity",
        horizontal=True,
    ),
    "line": lambda: charts.line_chart(
        DAYS,
        {"Score": [70 + 20 * math.sin(i / 20) if i % 50 else None for i in range(365)]},
        title="Compliance score",
        y_min=0,
        y_max=100,
        threshold=75,
    ),
    "line_multi": lambda: charts.line_chart(
        ["Mon", "Tue", "Wed", "Thu"],
        {"A": [0.8, 0.82, None, 0.85], "B": [0.7, NAN, 0.72, 0.71]},
        title="Accuracy",
        value_format="percent",
    ),
    "roc": lambda: charts.roc_curve_chart(
        [0, 0.1, 0.3, 1], [0, 0.6, 0.85, 1], auc=0.873, title="ROC"
    ),
    "confusion": lambda: charts.confusion_matrix_chart(812, 43, 57, 288, title="Confusion"),
    "donut": lambda: charts.donut_chart(
        ["LOW", "MEDIUM", "HIGH"], [24, 11, 5], title="Risk tier distribution"
    ),
}


@pytest.fixture(params=sorted(EXAMPLES))
def example(request: pytest.FixtureRequest) -> tuple[str, str]:
    return request.param, EXAMPLES[request.param]()


# --------------------------------------------------------------------------
# Structure shared by every chart
# --------------------------------------------------------------------------


def test_well_formed_and_accessible(example: tuple[str, str]) -> None:
    _, markup = example
    root = parse(markup)
    assert root.get("role") == "img"
    assert root.get("aria-label")
    children = list(root)
    assert children[0].tag == f"{SVG}title" and children[0].text == root.get("aria-label")
    assert children[1].tag == f"{SVG}desc" and len(children[1].text or "") > 20
    w, h = viewbox(root)
    assert w > 0 and h > 0
    assert root.get("width") == "100%"
    assert root.get("height") is None  # height follows from the viewBox ratio
    assert root.get("preserveAspectRatio") == "xMidYMid meet"
    assert f"max-width:{w:g}px" in (root.get("style") or "")


def test_self_contained_markup(example: tuple[str, str]) -> None:
    _, markup = example
    root = parse(markup)
    tags = {el.tag.removeprefix(SVG) for el in root.iter()}
    assert not tags & {"style", "script", "foreignObject", "image", "a", "use"}
    assert "var(" not in markup and "javascript" not in markup.lower()
    assert "http" not in markup.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert markup.isascii()
    # only the root carries an inline style (sizing); everything else is attributes
    assert [el for el in root.iter() if el.get("style")] == [root]
    for el in root.iter():
        for attr in ("fill", "stroke"):
            value = el.get(attr)
            if value is not None:
                assert re.fullmatch(r"#[0-9A-Fa-f]{6}|none|url\(#[\w-]+\)", value), value


def test_internal_references_resolve(example: tuple[str, str]) -> None:
    _, markup = example
    root = parse(markup)
    ids = {el.get("id") for el in root.iter() if el.get("id")}
    for el in root.iter():
        for attr in ("fill", "stroke", "clip-path"):
            ref = re.fullmatch(r"url\(#([\w-]+)\)", el.get(attr) or "")
            if ref:
                assert ref.group(1) in ids


def test_output_is_deterministic(example: tuple[str, str]) -> None:
    name, markup = example
    assert EXAMPLES[name]() == markup


def test_horizontal_text_stays_inside_viewbox(example: tuple[str, str]) -> None:
    """Rough layout check: nothing is cut off at the left or right edge."""
    _, markup = example
    root = parse(markup)
    width, height = viewbox(root)
    for el in root.iter(f"{SVG}text"):
        if el.get("transform"):
            continue
        x, y = float(el.get("x", 0)), float(el.get("y", 0))
        size = float(el.get("font-size", 11))
        w = charts._text_width(el.text or "", size)
        anchor = el.get("text-anchor", "start")
        start = x - w / 2 if anchor == "middle" else (x - w if anchor == "end" else x)
        assert start >= -0.5 and start + w <= width + 0.5, (el.text, start, w, width)
        assert size * 0.8 <= y <= height + 0.5, (el.text, y, height)


# --------------------------------------------------------------------------
# Escaping
# --------------------------------------------------------------------------


ESCAPE_CASES = {
    "bar": lambda: charts.bar_chart([NASTY, "A & B"], [1, 2], title=NASTY),
    "bar_h": lambda: charts.bar_chart([NASTY], [1], title=NASTY, horizontal=True),
    "grouped": lambda: charts.grouped_bar_chart(["A & B"], {NASTY: [1]}, title=NASTY),
    "stacked": lambda: charts.stacked_bar_chart([NASTY], {"A & B": [1]}, title=NASTY),
    "line": lambda: charts.line_chart(
        [NASTY, "A & B"], {NASTY: [1, 2]}, title=NASTY, y_label=NASTY, x_label="A & B"
    ),
    "roc": lambda: charts.roc_curve_chart([0, 1], [0, 1], auc=0.5, title=NASTY),
    "confusion": lambda: charts.confusion_matrix_chart(
        1, 2, 3, 4, title=NASTY, labels=(NASTY, "A & B")
    ),
    "donut": lambda: charts.donut_chart([NASTY, "A & B"], [1, 2], title=NASTY),
    "threshold_label": lambda: charts.bar_chart(
        ["a"], [1], title="t", threshold=0.5, threshold_label=NASTY
    ),
    "empty": lambda: charts.bar_chart([], [], title=NASTY),
}


@pytest.mark.parametrize("name", sorted(ESCAPE_CASES))
def test_text_is_escaped(name: str) -> None:
    markup = ESCAPE_CASES[name]()
    assert "<script" not in markup
    assert "& " not in markup  # every ampersand starts an entity
    root = parse(markup)
    assert not [el for el in root.iter() if el.tag.endswith("script")]
    text = all_text(root)
    assert "<script>" in text or "A & B" in text
    assert root.get("aria-label") in (NASTY, "t")


def test_control_characters_and_non_ascii_are_safe() -> None:
    markup = charts.bar_chart(["bell\x07 tab\tnew\nline", "Zürich €"], [1, 2], title="x\x00y")
    root = parse(markup)
    assert markup.isascii()
    assert "bell tab new line" in texts(root)
    assert "Zürich €" in texts(root)
    assert root.get("aria-label") == "xy"


# --------------------------------------------------------------------------
# Empty, None and NaN input
# --------------------------------------------------------------------------


EMPTY_CASES = {
    "bar_empty": lambda: charts.bar_chart([], [], title="t"),
    "bar_none_values": lambda: charts.bar_chart(["a", "b"], [None, NAN], title="t"),
    "bar_none_args": lambda: charts.bar_chart(None, None, title="t"),  # type: ignore[arg-type]
    "bar_inf": lambda: charts.bar_chart(["a"], [math.inf], title="t", horizontal=True),
    "grouped_empty": lambda: charts.grouped_bar_chart(["a"], {}, title="t"),
    "grouped_none": lambda: charts.grouped_bar_chart(["a"], {"s": [None]}, title="t"),
    "grouped_not_mapping": lambda: charts.grouped_bar_chart(["a"], [1], title="t"),  # type: ignore[arg-type]
    "stacked_empty": lambda: charts.stacked_bar_chart([], {"LOW": []}, title="t"),
    "line_empty": lambda: charts.line_chart([], {}, title="t"),
    "line_nan": lambda: charts.line_chart(["a", "b"], {"s": [NAN, None]}, title="t"),
    "roc_empty": lambda: charts.roc_curve_chart([], [], auc=None, title="t"),
    "roc_nan": lambda: charts.roc_curve_chart([NAN], [0.5], auc=NAN, title="t"),
    "confusion_none": lambda: charts.confusion_matrix_chart(None, None, None, None),
    "confusion_nan": lambda: charts.confusion_matrix_chart(NAN, NAN, NAN, NAN),
    "donut_zero": lambda: charts.donut_chart(["LOW", "HIGH"], [0, 0], title="t"),
    "donut_none": lambda: charts.donut_chart(["LOW"], [None], title="t"),
    "donut_empty": lambda: charts.donut_chart([], [], title="t"),
}


@pytest.mark.parametrize("name", sorted(EMPTY_CASES))
def test_no_data(name: str) -> None:
    root = parse(EMPTY_CASES[name]())
    assert [el.text for el in by_class(root, "no-data")] == ["No data"]
    assert root.get("role") == "img"
    assert "No data" in (root.find(f"{SVG}desc").text or "")  # type: ignore[union-attr]
    assert not by_class(root, "bar") and not by_class(root, "point")


@pytest.mark.parametrize(
    "call",
    [
        lambda: charts.bar_chart(["a", "b", "c"], [1], title=""),  # too few values
        lambda: charts.bar_chart(["a"], [1, 2, 3], title="t"),  # too many values
        lambda: charts.bar_chart(["a", "b"], ["3.5", "oops"], title="t"),  # strings
        lambda: charts.bar_chart(["a", "b"], [-2, 5], title="t", horizontal=True),
        lambda: charts.bar_chart(["a", "b"], [0, 0], title="t"),
        lambda: charts.bar_chart(["a"], [1e12], title="t", width=10),
        lambda: charts.bar_chart(["a"], [1e-9], title="t", threshold=NAN),
        lambda: charts.grouped_bar_chart(["a", "b"], {"x": [1], "y": None}, title="t"),  # type: ignore[dict-item]
        lambda: charts.stacked_bar_chart(["a"], {"x": [-1], "y": [2]}, title="t"),
        lambda: charts.line_chart(["only"], {"s": [3]}, title="t"),
        lambda: charts.line_chart(["a", "b"], {"s": [1, 2]}, title="t", y_min=5, y_max=1),
        lambda: charts.line_chart(["a", "b"], {"s": [1, 1]}, title="t", threshold=1),
        lambda: charts.roc_curve_chart([0.5, 2, -1], [0.5, 0.9], auc=None, title="t"),
        lambda: charts.confusion_matrix_chart(0, 0, 0, 0),
        lambda: charts.confusion_matrix_chart(5, None, -1, 3),
        lambda: charts.donut_chart(["a", "b", "c"], [5, -1], title="t"),
        lambda: charts.donut_chart(["only"], [7], title="t"),
    ],
)
def test_odd_input_never_raises(call) -> None:  # type: ignore[no-untyped-def]
    root = parse(call())
    assert root.get("role") == "img"


def test_missing_bar_value_is_marked() -> None:
    root = parse(EXAMPLES["bar"]())
    assert len(by_class(root, "bar")) == 4
    assert [el.text for el in by_class(root, "missing")] == ["n/a"]
    assert "Security: n/a" in (root.find(f"{SVG}desc").text or "")  # type: ignore[union-attr]


# --------------------------------------------------------------------------
# Counts of bars and points
# --------------------------------------------------------------------------


def test_bar_counts() -> None:
    root = parse(charts.bar_chart(list("abcdefg"), [1, 2, 3, 4, 5, 6, 7], title="t"))
    assert len(by_class(root, "bar")) == 7
    assert len(by_class(root, "category")) == 7
    assert [el.text for el in by_class(root, "value")] == ["1", "2", "3", "4", "5", "6", "7"]


def test_grouped_and_stacked_counts() -> None:
    grouped = parse(EXAMPLES["grouped"]())
    assert len(by_class(grouped, "bar")) == 5  # 3 + 2 (one None)
    legend = by_class(grouped, "legend")[0]
    assert [t for t in texts(legend)] == ["Approved", "Rejected"]
    stacked = parse(EXAMPLES["stacked"]())
    assert len(by_class(stacked, "bar")) == 5
    assert [el.text for el in by_class(stacked, "total")] == ["6", "6"]


def test_stacked_uses_severity_colours() -> None:
    root = parse(EXAMPLES["stacked"]())
    fills = {el[1].get("fill") for el in by_class(root, "bar")}
    assert fills == {
        charts.SEVERITY_COLORS["LOW"],
        charts.SEVERITY_COLORS["MEDIUM"],
        charts.SEVERITY_COLORS["HIGH"],
    }


def test_line_points_and_gaps() -> None:
    root = parse(EXAMPLES["line_multi"]())
    points = by_class(root, "point")
    assert len(points) == 6  # 8 values, one None and one NaN
    series = by_class(root, "series")
    assert len(series) == 2
    # A: [0.8, 0.82] + [0.85] -> one path, one isolated point; B: [0.7] + [0.72, 0.71]
    assert [len(s.findall(f"{SVG}path")) for s in series] == [1, 1]
    dashes = [s.find(f"{SVG}path").get("stroke-dasharray") for s in series]  # type: ignore[union-attr]
    assert dashes[0] is None and dashes[1]  # told apart by dash pattern, not colour only
    assert len(by_class(by_class(root, "legend")[0], "legend")) == 1


def test_dense_line_hides_markers_and_thins_labels() -> None:
    root = parse(EXAMPLES["line"]())
    assert by_class(root, "point") == []  # 365 points, no isolated ones
    series = by_class(root, "series")[0]
    assert len(series.findall(f"{SVG}path")) == 8  # None every 50 days -> 8 runs
    labels = [el.text for el in by_class(root, "x-label")]
    assert 3 <= len(labels) <= 12
    assert labels[0] == DAYS[0] and labels[-1] == DAYS[-1]
    xs = [float(el.get("x", 0)) for el in by_class(root, "x-label")]
    widths = [charts._text_width(t or "", 11) for t in labels]
    for i in range(len(xs) - 1):
        assert xs[i + 1] - xs[i] >= (widths[i] + widths[i + 1]) / 2, "x labels overlap"


def test_line_y_range_respected() -> None:
    root = parse(EXAMPLES["line"]())
    ticks = [t for t in texts(root) if t.isdigit()]
    assert ticks[0] == "0" and ticks[-1] == "100"


def test_roc_chart() -> None:
    root = parse(EXAMPLES["roc"]())
    assert len(by_class(root, "point")) == 4
    assert len(by_class(root, "reference")) == 1
    legend = " ".join(texts(by_class(root, "legend")[0]))
    assert "AUC = 0.873" in legend
    frame = [
        el
        for el in root.iter(f"{SVG}rect")
        if el.get("fill") == "none" and el.get("stroke") == charts.AXIS_COLOR
    ]
    assert len(frame) == 1 and frame[0].get("width") == frame[0].get("height")  # square
    no_auc = parse(charts.roc_curve_chart([0, 1], [0, 1], auc=None, title="t"))
    assert "AUC = 0." not in " ".join(texts(by_class(no_auc, "legend")[0])).replace(
        "Chance (AUC = 0.5)", ""
    )


def test_confusion_matrix() -> None:
    root = parse(EXAMPLES["confusion"]())
    cells = by_class(root, "cell")
    assert len(cells) == 4
    assert [el.text for el in by_class(root, "count")] == ["812", "43", "57", "288"]
    assert [el.text for el in by_class(root, "row-percent")] == [
        "95% of row",
        "5.03% of row",
        "16.5% of row",
        "83.5% of row",
    ]
    assert {el.text for el in by_class(root, "axis-label")} == {"Actual", "Predicted"}
    fills = [c.find(f"{SVG}rect").get("fill") for c in cells]  # type: ignore[union-attr]
    assert len(set(fills)) == 4  # shaded by value
    assert fills[0] == "#0072B2"  # the largest count gets the full colour
    summary = by_class(root, "summary")[0].text or ""
    assert "n = 1,200" in summary and "91.7%" in summary


def test_donut_chart() -> None:
    root = parse(EXAMPLES["donut"]())
    assert len(by_class(root, "segment")) == 3
    legend = texts(by_class(root, "legend")[0])
    assert legend == ["LOW", "24 (60%)", "MEDIUM", "11 (27.5%)", "HIGH", "5 (12.5%)"]
    assert by_class(root, "donut-total")[0].text == "40"
    single = parse(charts.donut_chart(["HIGH"], [3], title="t"))
    assert len(by_class(single, "segment")) == 1
    assert "NaN" not in ET.tostring(single, encoding="unicode")


# --------------------------------------------------------------------------
# Threshold, pass/fail, truncation
# --------------------------------------------------------------------------


def test_threshold_line_and_pass_fail() -> None:
    root = parse(EXAMPLES["bar_threshold"]())
    assert len(by_class(root, "threshold")) == 1
    fails = by_class(root, "fail")
    passes = by_class(root, "pass")
    assert len(fails) == 1 and len(passes) == 2
    assert "Group B" in (fails[0].find(f"{SVG}title").text or "")  # type: ignore[union-attr]
    # not colour alone: failing bars are hatched and the legend says so
    fail_fill = fails[0].find(f"{SVG}rect").get("fill")  # type: ignore[union-attr]
    assert fail_fill and fail_fill.startswith("url(#")
    pattern = root.find(f".//{SVG}pattern")
    assert pattern is not None and pattern.find(f"{SVG}path") is not None
    legend = " ".join(texts(by_class(root, "legend")[0]))
    assert "Pass" in legend and "Fail" in legend and "80%" in legend
    desc = root.find(f"{SVG}desc").text or ""  # type: ignore[union-attr]
    assert "Group B: 74% (fail)" in desc and "Group A: 92% (pass)" in desc
    assert by_class(root, "threshold-label")[0].text == "Threshold 80%"


def test_threshold_below_and_without_judgement() -> None:
    root = parse(EXAMPLES["bar_horizontal"]())
    assert len(by_class(root, "threshold")) == 1
    assert len(by_class(root, "fail")) == 19  # 0.21 .. 0.39 are above 0.2
    plain = parse(charts.bar_chart(["a", "b"], [1, 3], title="t", threshold=2))
    assert len(by_class(plain, "threshold")) == 1
    assert not by_class(plain, "fail") and not by_class(plain, "legend")
    line = parse(EXAMPLES["line"]())
    assert len(by_class(line, "threshold")) == 1


def test_pattern_ids_differ_between_charts() -> None:
    a = parse(charts.bar_chart(["a"], [1], title="A", threshold=2, pass_if="above"))
    b = parse(charts.bar_chart(["b"], [1], title="B", threshold=2, pass_if="above"))
    ids_a = {el.get("id") for el in a.iter() if el.get("id")}
    ids_b = {el.get("id") for el in b.iter() if el.get("id")}
    assert ids_a and ids_b and not ids_a & ids_b


def test_long_labels_truncated_with_full_title() -> None:
    long_name = "customer_" + "very_long_feature_name_" * 8 + "end"
    root = parse(charts.bar_chart([long_name, "short"], [0.1, 0.3], title="t", horizontal=True))
    truncated = by_class(root, "truncated")
    assert len(truncated) == 1
    assert truncated[0].find(f"{SVG}title").text == long_name  # type: ignore[union-attr]
    shown = truncated[0].find(f"{SVG}text").text or ""  # type: ignore[union-attr]
    assert shown.endswith("\u2026") and len(shown) < len(long_name)
    assert long_name.startswith(shown[:-1])
    assert "short" in texts(root)


def test_vertical_labels_wrap_then_rotate() -> None:
    wrapped = parse(charts.bar_chart(["Legal and compliance", *"bcdef"], [1] * 6, title="t"))
    group = by_class(wrapped, "category")[0]
    assert [t.text for t in group.findall(f"{SVG}text")] == ["Legal and", "compliance"]
    many = parse(charts.bar_chart([f"Model number {i}" for i in range(30)], [1] * 30, title="t"))
    cats = by_class(many, "category")
    assert len(cats) == 30
    assert all("rotate(" in (c.get("transform") or "") for c in cats)


def test_horizontal_chart_grows_with_categories() -> None:
    small = parse(charts.bar_chart(["a", "b"], [1, 2], title="t", horizontal=True))
    big = parse(charts.bar_chart([str(i) for i in range(60)], [1] * 60, title="t", horizontal=True))
    assert viewbox(big)[1] > viewbox(small)[1] + 60 * 15
    assert viewbox(big)[0] == viewbox(small)[0] == 640


# --------------------------------------------------------------------------
# Number formatting
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "fmt", "expected"),
    [
        (0, "number", "0"),
        (1, "number", "1"),
        (12.345, "number", "12.3"),
        (0.05, "number", "0.05"),
        (0.123456, "number", "0.123"),
        (999.6, "number", "1,000"),
        (12345.6, "number", "12,346"),
        (-3.14159, "number", "-3.14"),
        (0.0000123, "number", "1.23e-05"),
        (0.8765, "percent", "87.7%"),
        (1, "percent", "100%"),
        (0.05, "percent", "5%"),
        (None, "number", "n/a"),
        (NAN, "percent", "n/a"),
        (math.inf, "number", "n/a"),
        ("0.5", "percent", "50%"),
        ("abc", "number", "n/a"),
    ],
)
def test_format_value(value: object, fmt: str, expected: str) -> None:
    assert charts.format_value(value, fmt) == expected  # type: ignore[arg-type]


def test_integer_data_gets_integer_ticks() -> None:
    root = parse(charts.bar_chart(["a", "b"], [3, 11], title="t"))
    ticks = [t for t in texts(root) if re.fullmatch(r"[\d.]+", t) and t not in ("3", "11")]
    assert ticks == ["0", "5", "10", "15"]


# --------------------------------------------------------------------------
# WeasyPrint
# --------------------------------------------------------------------------


def test_weasyprint_renders_all_charts() -> None:
    weasyprint = pytest.importorskip("weasyprint")
    parts = [fn() for fn in EXAMPLES.values()]
    parts += [fn() for fn in ESCAPE_CASES.values()]
    parts += [fn() for fn in EMPTY_CASES.values()]
    html = (
        "<!doctype html><html><head><meta charset='utf-8'></head><body>"
        + "".join(f"<div>{p}</div>" for p in parts)
        + "</body></html>"
    )
    pdf = weasyprint.HTML(string=html).write_pdf()
    assert pdf[:5] == b"%PDF-"
    assert len(pdf) > 10_000
