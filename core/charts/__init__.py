"""Server-side SVG charts for web pages and WeasyPrint PDF reports.

Every public function is pure: it takes plain Python data and returns one
self-contained ``<svg>`` element as a string. The same markup is meant to be
dropped into a Django template (``{{ chart|safe }}``) and into the HTML that
WeasyPrint turns into a PDF, so the charts deliberately stick to what both
renderers understand:

* no JavaScript, no ``<style>`` blocks, no CSS variables, no external fonts,
  images or stylesheets; styling is done with SVG presentation attributes
  (the root element carries one inline ``style`` for ``display:block`` and a
  ``max-width`` so that the chart never grows beyond its design size);
* the size is given by a ``viewBox`` plus ``width="100%"``: the chart scales
  with its container and keeps its aspect ratio, and in a PDF it fills the
  content width (about the design size of 640 px on A4 with 2 cm margins);
* all text is XML-escaped (labels are user data), and the output is pure
  ASCII (other characters become numeric character references), so the
  markup survives any page encoding;
* accessible: ``role="img"``, ``aria-label``, ``<title>`` and a ``<desc>``
  with a plain-text summary of the data; labels that have to be truncated
  keep their full text in a ``<title>`` tooltip;
* colour-blind safe: the Okabe-Ito palette, and pass/fail is never shown by
  colour alone (failing bars are hatched and named in the legend, line
  series use different dash patterns);
* robust: empty data, ``None``, ``NaN``/``inf`` and non-numeric values never
  raise. Missing values become gaps (lines) or "n/a" (bars), and a chart with
  nothing to draw shows a "No data" message.

Numbers are shown with three significant digits (thousands get separators);
``value_format="percent"`` expects fractions (``0.873`` is shown as
``87.3%``).
"""

from __future__ import annotations

from .bars import bar_chart, grouped_bar_chart, stacked_bar_chart
from .confusion import confusion_matrix_chart
from .donut import donut_chart
from .line import line_chart
from .roc import roc_curve_chart
from .svg import (
    AXIS_COLOR,
    FAIL_COLOR,
    FONT_FAMILY,
    GRID_COLOR,
    MISSING_COLOR,
    MUTED_COLOR,
    PALETTE,
    PASS_COLOR,
    SEVERITY_COLORS,
    TEXT_COLOR,
    THRESHOLD_COLOR,
    PassIf,
    ValueFormat,
    _text_width,
    format_value,
)

__all__ = [
    "AXIS_COLOR",
    "FAIL_COLOR",
    "FONT_FAMILY",
    "GRID_COLOR",
    "MISSING_COLOR",
    "MUTED_COLOR",
    "PALETTE",
    "PASS_COLOR",
    "SEVERITY_COLORS",
    "TEXT_COLOR",
    "THRESHOLD_COLOR",
    "PassIf",
    "ValueFormat",
    "_text_width",
    "bar_chart",
    "confusion_matrix_chart",
    "donut_chart",
    "format_value",
    "grouped_bar_chart",
    "line_chart",
    "roc_curve_chart",
    "stacked_bar_chart",
]
