"""Tests for core/charts/xy.py (curves on numeric axes).

Loaded from its package file like tests/core/test_charts.py, so it runs without Django.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

_PATH = Path(__file__).resolve().parents[2] / "core" / "charts" / "__init__.py"
_SPEC = importlib.util.spec_from_file_location("core_charts_xy_under_test", _PATH)
assert _SPEC and _SPEC.loader
_PACKAGE = importlib.util.module_from_spec(_SPEC)
sys.modules[_SPEC.name] = _PACKAGE
_SPEC.loader.exec_module(_PACKAGE)
xy_chart = importlib.import_module(f"{_SPEC.name}.xy").xy_chart

SVG = "{http://www.w3.org/2000/svg}"
NAN = float("nan")
NASTY = "<script>alert('x')</script> & \"Co\""


def parse(markup: str) -> ET.Element:
    root = ET.fromstring(markup)
    assert root.tag == f"{SVG}svg"
    return root


def by_class(root: ET.Element, name: str) -> list[ET.Element]:
    return [el for el in root.iter() if name in (el.get("class") or "").split()]


def texts(root: ET.Element) -> str:
    return " ".join("".join(el.itertext()) for el in root.iter(f"{SVG}text"))


def path_points(el: ET.Element) -> list[tuple[float, float]]:
    out = []
    for part in el.get("d").replace("M", "|").replace("L", "|").split("|"):
        if part.strip():
            x, y = part.split()
            out.append((float(x), float(y)))
    return out


def test_points_sit_at_their_x_values():
    markup = xy_chart({"curve": ([0.0, 0.1, 1.0], [0.0, 0.5, 1.0])}, title="Uneven x")
    root = parse(markup)
    assert root.find(f"{SVG}title").text == "Uneven x"
    assert root.get("class") == "chart chart-xy"
    (curve,) = by_class(root, "curve")
    (x0, _), (x1, _), (x2, _) = path_points(curve)
    # 0.1 is a tenth of the way, not half way as evenly spaced labels would put it.
    assert abs((x1 - x0) / (x2 - x0) - 0.1) < 0.01
    assert len(by_class(root, "point")) == 3


def test_marks_and_legend():
    root = parse(
        xy_chart(
            {"a": ([0, 0.5, 1], [0, 0.7, 1]), "b": ([0, 0.5, 1], [0, 0.3, 1])},
            title="Marks",
            diagonal="chance",
            thresholds=[(0.8, "limit 0.8"), (None, "ignored")],
            markers=[(0.25, "cut")],
            gaps=[(0.5, 0.3, 0.7, "gap 0.4")],
            square=True,
            x_label="x axis",
            y_label="y axis",
        )
    )
    text = texts(root)
    for label in ("a", "b", "chance", "limit 0.8", "cut", "gap 0.4", "x axis", "y axis"):
        assert label in text
    assert len(by_class(root, "curve")) == 2
    assert len(by_class(root, "reference")) == 1
    assert len(by_class(root, "threshold")) == 1
    assert len(by_class(root, "marker")) == 1
    assert len(by_class(root, "gap")) == 1
    _, _, w, h = (float(v) for v in root.get("viewBox").split())
    assert h > w * 0.9  # square plot plus title, legend and axis labels
    # The curve with dashes differs from the first by its pattern, not only its colour.
    dashes = [el.get("stroke-dasharray") for el in by_class(root, "curve")]
    assert dashes[0] is None and dashes[1]


def test_step_histogram_outline_starts_and_ends_on_the_baseline():
    root = parse(xy_chart({"h": ([0, 1, 2, 3], [2, 5, 1])}, title="Histogram", step=True))
    (curve,) = by_class(root, "curve")
    pts = path_points(curve)
    assert len(pts) == 8  # baseline, 3 bins x 2 corners, baseline
    assert pts[0][1] == pts[-1][1]  # both on y = 0
    assert by_class(root, "point") == []


def test_missing_values_split_the_curve_and_never_raise():
    root = parse(
        xy_chart(
            {NASTY: ([0, 1, None, 3, 4, "x"], [1, NAN, 2, 3, 4, 5]), "empty": ([], [])},
            title=NASTY,
        )
    )
    assert root.find(f"{SVG}title").text == NASTY
    assert len(by_class(root, "curve")) == 1  # (3, 3)-(4, 4); (0, 1) is an isolated point
    assert len(by_class(root, "point")) == 3
    step = parse(xy_chart({"h": ([0, 1, 2], [None, 3])}, title="t", step=True, markers=[("a", "")]))
    assert len(by_class(step, "curve")) == 1


def test_no_data():
    for series in ({}, {"a": ([None], [None])}, {"a": None}, None):
        root = parse(xy_chart(series, title="Nothing"))  # type: ignore[arg-type]
        assert by_class(root, "no-data")
