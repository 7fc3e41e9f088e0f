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

import hashlib
import math
import re
from collections.abc import Mapping, Sequence
from typing import Literal

__all__ = [
    "FAIL_COLOR",
    "PALETTE",
    "PASS_COLOR",
    "SEVERITY_COLORS",
    "bar_chart",
    "confusion_matrix_chart",
    "donut_chart",
    "format_value",
    "grouped_bar_chart",
    "line_chart",
    "roc_curve_chart",
    "stacked_bar_chart",
]

ValueFormat = Literal["number", "percent"]
PassIf = Literal["above", "below"]

# Okabe-Ito, ordered so that the first colours are the most distinct ones and
# yellow (weak on white) comes last.
PALETTE: tuple[str, ...] = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#000000",  # black
    "#F0E442",  # yellow
)
PASS_COLOR = "#0072B2"
FAIL_COLOR = "#D55E00"

# Default colours for well-known tier / severity names (case-insensitive).
SEVERITY_COLORS: dict[str, str] = {
    "INFO": "#56B4E9",
    "MINIMAL": "#009E73",
    "LOW": "#009E73",
    "LIMITED": "#E69F00",
    "MEDIUM": "#E69F00",
    "MODERATE": "#E69F00",
    "HIGH": "#D55E00",
    "CRITICAL": "#CC79A7",
    "UNACCEPTABLE": "#CC79A7",
}

FONT_FAMILY = "Helvetica, Arial, 'Liberation Sans', 'DejaVu Sans', sans-serif"
TEXT_COLOR = "#222222"
MUTED_COLOR = "#555555"
AXIS_COLOR = "#888888"
GRID_COLOR = "#E3E3E3"
THRESHOLD_COLOR = "#000000"
MISSING_COLOR = "#BBBBBB"

_PAD = 12
_TITLE_SIZE = 15
_TITLE_H = 34
_LABEL_SIZE = 11
_TICK_SIZE = 11
_LEGEND_ROW = 18
_DASHES = ("", "7 4", "2 3", "10 3 2 3", "4 4", "1 2")
_MAX_DESC_ITEMS = 40

_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


# --------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------


def _clean(value: object) -> str:
    """A label as a single-line string without characters XML cannot hold."""
    if value is None:
        return ""
    text = _INVALID_XML.sub("", str(value))
    return " ".join(text.split())


def _esc(value: object) -> str:
    """XML-escape text for element content and attribute values."""
    return (
        _clean(value)
        .replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&#39;")
    )


def _num(value: object) -> float | None:
    """A finite float, or None for None/NaN/inf/non-numeric input.

    Accepts ints, floats, Decimals, numpy scalars and numeric strings.
    """
    if value is None or isinstance(value, bytes):
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def _f(x: float) -> str:
    """A coordinate with at most two decimals."""
    text = f"{x:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _sig(v: float) -> str:
    if v == 0:
        return "0"
    a = abs(v)
    if a < 0.001:
        return f"{v:.2e}"
    text = f"{v:.3g}"
    if a >= 1000 or "e" in text:
        text = f"{v:,.0f}"
    return "0" if text == "-0" else text


def format_value(value: object, value_format: ValueFormat = "number") -> str:
    """Format a number the way the charts do: 3 significant digits.

    ``"percent"`` treats the value as a fraction (0.5 -> ``50%``). Missing or
    non-finite values give ``"n/a"``.
    """
    v = _num(value)
    if v is None:
        return "n/a"
    if value_format == "percent":
        return _sig(round(v * 100, 9)) + "%"  # round away float noise (0.8765 -> 87.65)
    return _sig(v)


def _count(v: float) -> str:
    """Counts: integers in full with separators, other numbers like format_value."""
    if v == int(v):
        return f"{int(v):,}"
    return _sig(v)


def _text_width(text: str, size: float) -> float:
    """Conservative estimate of rendered text width (DejaVu Sans is widest)."""
    width = 0.0
    for ch in text:
        if ch in "il.,:;|!'`()[]{} ":
            width += 0.34
        elif ch in "fjrt-":
            width += 0.42
        elif ch in "mwMW@%":
            width += 0.92
        elif ch.isupper():
            width += 0.70
        elif ch.isdigit():
            width += 0.64
        else:
            width += 0.60
    return width * size


def _truncate(text: str, size: float, max_width: float | None) -> tuple[str, bool]:
    if max_width is None or _text_width(text, size) <= max_width:
        return text, False
    ellipsis = "\u2026"
    budget = max_width - _text_width(ellipsis, size)
    out = ""
    used = 0.0
    for ch in text:
        w = _text_width(ch, size)
        if used + w > budget:
            break
        out += ch
        used += w
    return out.rstrip() + ellipsis, True


def _text(
    x: float,
    y: float,
    text: object,
    *,
    size: float = _LABEL_SIZE,
    anchor: str = "start",
    fill: str | None = None,
    weight: str | None = None,
    max_width: float | None = None,
    rotate: float | None = None,
    cls: str | None = None,
    halo: bool = False,
) -> str:
    """A ``<text>``; truncated text keeps its full content in a ``<title>``.

    ``halo`` puts a translucent white box behind the text so that it stays
    readable where it crosses a grid or threshold line.
    """
    full = _clean(text)
    shown, truncated = _truncate(full, size, max_width)
    backdrop = ""
    if halo and shown:
        w = _text_width(shown, size) + 2
        x0 = x - w / 2 if anchor == "middle" else (x - w + 1 if anchor == "end" else x - 1)
        backdrop = (
            f'<rect x="{_f(x0)}" y="{_f(y - size * 0.9)}" width="{_f(w)}" '
            f'height="{_f(size * 1.15)}" fill="#FFFFFF" fill-opacity="0.85"/>'
        )
    attrs = [f'x="{_f(x)}"', f'y="{_f(y)}"', f'font-size="{_f(size)}"']
    if anchor != "start":
        attrs.append(f'text-anchor="{anchor}"')
    if fill:
        attrs.append(f'fill="{fill}"')
    if weight:
        attrs.append(f'font-weight="{weight}"')
    if rotate:
        attrs.append(f'transform="rotate({_f(rotate)} {_f(x)} {_f(y)})"')
    if cls and not truncated:
        attrs.append(f'class="{cls}"')
    element = f"{backdrop}<text {' '.join(attrs)}>{_esc(shown)}</text>"
    if truncated:
        group_cls = f"{cls} truncated" if cls else "truncated"
        return f'<g class="{group_cls}"><title>{_esc(full)}</title>{element}</g>'
    return element


def _wrap2(text: str, size: float, max_width: float) -> list[str] | None:
    """Split ``text`` at spaces into at most two lines of ``max_width``, or None."""
    if _text_width(text, size) <= max_width:
        return [text]
    words = text.split(" ")
    for cut in range(len(words) - 1, 0, -1):
        first, second = " ".join(words[:cut]), " ".join(words[cut:])
        if _text_width(first, size) <= max_width and _text_width(second, size) <= max_width:
            return [first, second]
    return None


def _rotation_for(band: float) -> float:
    """Angle for rotated category labels: 40 degrees if they do not collide."""
    for angle in (40.0, 60.0):
        if band * math.sin(math.radians(angle)) >= 13:
            return angle
    return 90.0


def _uid(*parts: object) -> str:
    digest = hashlib.sha256(repr(parts).encode("utf-8", "replace")).hexdigest()
    return "chart-" + digest[:10]


def _hex_rgb(color: str) -> tuple[int, int, int]:
    c = color.lstrip("#")
    if len(c) == 3:
        c = "".join(ch * 2 for ch in c)
    try:
        return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)
    except (ValueError, IndexError):
        return 128, 128, 128


def _luminance(color: str) -> float:
    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = _hex_rgb(color)
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def _text_on(color: str) -> str:
    """White or dark text, whichever contrasts better with ``color``."""
    lum = _luminance(color)
    dark = _luminance(TEXT_COLOR)
    white_contrast = 1.05 / (lum + 0.05)
    dark_contrast = (lum + 0.05) / (dark + 0.05)
    return "#FFFFFF" if white_contrast >= dark_contrast else TEXT_COLOR


def _mix(c1: str, c2: str, t: float) -> str:
    t = min(max(t, 0.0), 1.0)
    a, b = _hex_rgb(c1), _hex_rgb(c2)
    return "#" + "".join(f"{round(x + (y - x) * t):02X}" for x, y in zip(a, b, strict=True))


def _safe_color(color: object, fallback: str) -> str:
    text = str(color or "")
    if re.fullmatch(r"#[0-9A-Fa-f]{3}|#[0-9A-Fa-f]{6}", text):
        return text
    return fallback


def _series_colors(names: Sequence[str], colors: Mapping[str, str] | None) -> list[str]:
    out = []
    for i, name in enumerate(names):
        fallback = SEVERITY_COLORS.get(name.strip().upper(), PALETTE[i % len(PALETTE)])
        chosen = colors.get(name) if colors else None
        out.append(_safe_color(chosen, fallback))
    return out


def _fixed_length(values: Sequence[object] | None, n: int) -> list[float | None]:
    items = list(values or [])[:n]
    nums = [_num(v) for v in items]
    return nums + [None] * (n - len(nums))


def _as_list(values: object) -> list[object]:
    if values is None or isinstance(values, str | bytes):
        return []
    try:
        return list(values)  # type: ignore[call-overload]
    except TypeError:
        return []


def _as_mapping(series: object) -> list[tuple[str, list[object]]]:
    if not isinstance(series, Mapping):
        return []
    return [
        (_clean(name) or f"Series {i + 1}", _as_list(v))
        for i, (name, v) in enumerate(series.items())
    ]


def _nice_step(span: float, target: int, integer: bool = False) -> float:
    raw = span / max(target, 1)
    if raw <= 0:
        return 1.0
    if integer and raw <= 1:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(raw))
    steps = (1, 2, 5, 10) if integer and magnitude < 10 else (1, 2, 2.5, 5, 10)
    for m in steps:
        if m * magnitude >= raw * 0.999:
            return m * magnitude
    return 10 * magnitude


def _all_integers(values: Sequence[float | None]) -> bool:
    return all(v == int(v) for v in values if v is not None)


def _domain(
    values: Sequence[float],
    *,
    include_zero: bool,
    fixed_min: float | None = None,
    fixed_max: float | None = None,
    target_ticks: int = 5,
    integer: bool = False,
) -> tuple[float, float, list[float]]:
    """Axis range and "nice" tick values covering ``values``."""
    data = [v for v in values if v is not None]
    lo = min(data) if data else 0.0
    hi = max(data) if data else 1.0
    if include_zero:
        lo, hi = min(lo, 0.0), max(hi, 0.0)
    if fixed_min is not None:
        lo = fixed_min
    if fixed_max is not None:
        hi = fixed_max
    if hi < lo:
        lo, hi = hi, lo
    if hi == lo:
        pad = abs(hi) * 0.1 or 1.0
        if fixed_max is None:
            hi += pad
        if fixed_min is None and not (include_zero and lo == 0):
            lo -= pad
        if hi == lo:
            hi = lo + 1.0
    step = _nice_step(hi - lo, target_ticks, integer)
    if fixed_min is None:
        lo = math.floor(lo / step + 1e-9) * step
    if fixed_max is None:
        hi = math.ceil(hi / step - 1e-9) * step
    first = math.ceil(lo / step - 1e-9)
    ticks = []
    k = first
    while k * step <= hi + step * 1e-9 and len(ticks) < 50:
        ticks.append(round(k * step, 12) + 0.0)
        k += 1
    return lo, hi, ticks


def _svg(
    width: float,
    height: float,
    *,
    title: str,
    desc: str,
    kind: str,
    body: Sequence[str],
    defs: str = "",
) -> str:
    w, h = _f(width), _f(height)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="100%" '
        f'preserveAspectRatio="xMidYMid meet" style="display:block;max-width:{w}px" '
        f'role="img" aria-label="{_esc(title)}" class="chart chart-{kind}" '
        f'font-family="{FONT_FAMILY}" font-size="{_LABEL_SIZE}" fill="{TEXT_COLOR}">',
        f"<title>{_esc(title)}</title>",
        f"<desc>{_esc(desc)}</desc>",
    ]
    if defs:
        parts.append(f"<defs>{defs}</defs>")
    parts.append(f'<rect x="0" y="0" width="{w}" height="{h}" fill="#FFFFFF"/>')
    parts.extend(body)
    parts.append("</svg>")
    markup = "".join(parts)
    return markup.encode("ascii", "xmlcharrefreplace").decode("ascii")


def _title_text(title: str, width: float) -> str:
    return _text(
        _PAD,
        22,
        title,
        size=_TITLE_SIZE,
        weight="bold",
        max_width=width - 2 * _PAD,
        cls="chart-title",
    )


def _no_data(kind: str, title: str, width: float, height: float, message: str = "No data") -> str:
    body = [
        _title_text(title, width),
        f'<rect x="{_PAD}" y="{_TITLE_H}" width="{_f(width - 2 * _PAD)}" '
        f'height="{_f(height - _TITLE_H - _PAD)}" fill="#F7F7F7" stroke="{GRID_COLOR}"/>',
        _text(
            width / 2,
            (_TITLE_H + height - _PAD) / 2 + 5,
            message,
            size=14,
            anchor="middle",
            fill=MUTED_COLOR,
            cls="no-data",
        ),
    ]
    return _svg(width, height, title=title, desc=f"{title}: {message}.", kind=kind, body=body)


def _chart_title(title: object, default: str) -> str:
    return _clean(title) or default


def _summary(pairs: Sequence[tuple[str, str]]) -> str:
    shown = [f"{k}: {v}" for k, v in pairs[:_MAX_DESC_ITEMS]]
    if len(pairs) > _MAX_DESC_ITEMS:
        shown.append(f"and {len(pairs) - _MAX_DESC_ITEMS} more")
    return "; ".join(shown)


def _hatch_pattern(pattern_id: str, color: str) -> str:
    return (
        f'<pattern id="{pattern_id}" patternUnits="userSpaceOnUse" x="0" y="0" '
        f'width="8" height="8"><rect x="0" y="0" width="8" height="8" fill="{color}"/>'
        '<path d="M-2 2 L2 -2 M0 8 L8 0 M6 10 L10 6" stroke="#FFFFFF" '
        'stroke-width="2"/></pattern>'
    )


# Legend ------------------------------------------------------------------

# (label, kind, color, extra) with kind "box" | "pattern" | "line"
_LegendItem = tuple[str, str, str, str]


def _legend(
    items: Sequence[_LegendItem], x0: float, y0: float, max_width: float
) -> tuple[str, float]:
    """Legend items laid out in rows; returns markup and its height."""
    if not items:
        return "", 0.0
    parts = ['<g class="legend">']
    x, y = x0, y0
    rows = 1
    for label, kind, color, extra in items:
        text_max = min(220.0, max_width - 24)
        shown, _ = _truncate(label, _LABEL_SIZE, text_max)
        item_w = 24 + _text_width(shown, _LABEL_SIZE) + 14
        if x > x0 and x + item_w > x0 + max_width:
            x = x0
            y += _LEGEND_ROW
            rows += 1
        cy = y + _LEGEND_ROW / 2
        if kind == "line":
            dash = f' stroke-dasharray="{extra}"' if extra else ""
            parts.append(
                f'<line x1="{_f(x)}" y1="{_f(cy)}" x2="{_f(x + 18)}" y2="{_f(cy)}" '
                f'stroke="{color}" stroke-width="2.5"{dash}/>'
            )
        else:
            fill = f"url(#{extra})" if kind == "pattern" else color
            parts.append(
                f'<rect x="{_f(x + 2)}" y="{_f(cy - 6)}" width="12" height="12" '
                f'fill="{fill}" stroke="{color}" stroke-width="1"/>'
            )
        parts.append(_text(x + 24, cy + 4, label, max_width=text_max))
        x += item_w
    parts.append("</g>")
    return "".join(parts), rows * _LEGEND_ROW


# --------------------------------------------------------------------------
# Bar charts (single, grouped, stacked share one renderer)
# --------------------------------------------------------------------------


def _bars(
    *,
    kind: str,
    categories: object,
    series: list[tuple[str, list[object]]],
    title: object,
    value_format: ValueFormat,
    threshold: object,
    threshold_label: object,
    pass_if: PassIf | None,
    horizontal: bool,
    stacked: bool,
    value_label: object,
    colors: list[str],
    show_values: bool,
    show_legend: bool,
    width: float,
    height: float | None,
) -> str:
    chart_title = _chart_title(title, "Bar chart")
    width = max(float(width or 640), 240.0)
    cats = [_clean(c) for c in _as_list(categories)]
    n = len(cats)
    data = [
        (name, _fixed_length(vals, n), color)
        for (name, vals), color in zip(series, colors, strict=False)
    ]
    thr = _num(threshold)
    vlabel = _clean(value_label)
    default_h = 360.0 if not horizontal else 0.0
    if n == 0 or not any(v is not None for _, vals, _ in data for v in vals):
        return _no_data(kind, chart_title, width, float(height or 300))

    # Extents of what is drawn: bar ends or stack ends.
    stacks: list[list[tuple[float, float, float | None]]] = []  # per series, per category
    totals: list[float | None] = [None] * n
    if stacked:
        pos = [0.0] * n
        neg = [0.0] * n
        for _, vals, _ in data:
            row = []
            for i, v in enumerate(vals):
                if v is None:
                    row.append((0.0, 0.0, None))
                elif v >= 0:
                    row.append((pos[i], pos[i] + v, v))
                    pos[i] += v
                else:
                    row.append((neg[i], neg[i] + v, v))
                    neg[i] += v
            stacks.append(row)
        for i in range(n):
            present = [vals[i] for _, vals, _ in data if vals[i] is not None]
            totals[i] = sum(present) if present else None  # type: ignore[arg-type]
        extent = pos + neg
    else:
        for _, vals, _ in data:
            stacks.append([(0.0, v, v) if v is not None else (0.0, 0.0, None) for v in vals])
        extent = [v for _, vals, _ in data for v in vals if v is not None]
    if thr is not None:
        extent = [*extent, thr]
    integer = value_format == "number" and _all_integers(extent)
    lo, hi, ticks = _domain(extent, include_zero=True, target_ticks=5, integer=integer)
    tick_labels = [format_value(t, value_format) for t in ticks]

    # Pass/fail only makes sense for a single series with a threshold.
    judge = pass_if in ("above", "below") and thr is not None and len(data) == 1 and not stacked
    uid = _uid(kind, cats, [(s[0], s[1]) for s in data], thr, chart_title)
    fail_id = f"{uid}-fail"

    def fails(v: float) -> bool:
        if not judge or thr is None:
            return False
        return v < thr if pass_if == "above" else v > thr

    # Legend ------------------------------------------------------------
    legend_items: list[_LegendItem] = []
    if show_legend:
        legend_items.extend((name, "box", color, "") for name, _, color in data)
    if judge:
        op = "\u2265" if pass_if == "above" else "\u2264"
        bad = "below" if pass_if == "above" else "above"
        thr_text = format_value(thr, value_format)
        legend_items.append((f"Pass ({op} {thr_text})", "box", PASS_COLOR, ""))
        legend_items.append((f"Fail ({bad} threshold, hatched)", "pattern", FAIL_COLOR, fail_id))
    legend_markup, legend_h = _legend(legend_items, _PAD, _TITLE_H - 6, width - 2 * _PAD)
    top = _TITLE_H + (legend_h + 4 if legend_h else 0) + 8

    thr_text_full = _clean(threshold_label) or (
        f"Threshold {format_value(thr, value_format)}" if thr is not None else ""
    )
    body: list[str] = [_title_text(chart_title, width), legend_markup]
    overlay: list[str] = []  # value labels, drawn above the threshold line
    n_series = len(data)

    if horizontal:
        if thr is not None:
            top += 14
        label_w = max(_text_width(c, _LABEL_SIZE) for c in cats)
        left = _PAD + min(label_w, width * 0.38) + 8
        negative = [v for _, vals, _ in data for v in vals if v is not None and v < 0]
        if show_values and not stacked and negative:
            # value labels of negative bars sit left of the bar end
            left += max(_text_width(format_value(v, value_format), 11) for v in negative) + 4
        value_texts = []
        if show_values:
            if stacked:
                value_texts = [format_value(t, value_format) for t in totals if t is not None]
            else:
                value_texts = [
                    format_value(v, value_format)
                    for _, vals, _ in data
                    for v in vals
                    if v is not None
                ]
        right = _PAD + max([_text_width(t, 10) for t in value_texts] or [0]) + 6
        right = max(right, _PAD + _text_width(tick_labels[-1], _TICK_SIZE) / 2)
        bottom = _PAD + 16 + (16 if vlabel else 0)
        per_row = 24.0 if (n_series == 1 or stacked) else max(24.0, 11.0 * n_series + 8)
        plot_h = n * per_row
        total_h = top + plot_h + bottom
        if height and height > total_h:
            plot_h = height - top - bottom
            total_h = float(height)
        plot_w = width - left - right
        band = plot_h / n

        def vpos(v: float) -> float:
            return left + (v - lo) / (hi - lo) * plot_w

        # grid and ticks
        for t, label in zip(ticks, tick_labels, strict=True):
            x = vpos(t)
            body.append(
                f'<line x1="{_f(x)}" y1="{_f(top)}" x2="{_f(x)}" y2="{_f(top + plot_h)}" '
                f'stroke="{GRID_COLOR}" stroke-width="1"/>'
            )
            body.append(
                _text(
                    x, top + plot_h + 14, label, size=_TICK_SIZE, anchor="middle", fill=MUTED_COLOR
                )
            )
        if vlabel:
            body.append(
                _text(
                    left + plot_w / 2,
                    top + plot_h + 30,
                    vlabel,
                    anchor="middle",
                    fill=MUTED_COLOR,
                    max_width=plot_w,
                )
            )
        zero = vpos(0.0)
        # category labels
        for i, cat in enumerate(cats):
            cy = top + band * (i + 0.5)
            body.append(
                _text(
                    left - 6, cy + 4, cat, anchor="end", max_width=left - _PAD - 6, cls="category"
                )
            )
        # bars
        inner = min(band * 0.72, 22.0 * (1 if (n_series == 1 or stacked) else n_series))
        bar_t = inner if stacked or n_series == 1 else inner / n_series
        for s_index, (name, _vals, color) in enumerate(data):
            for i, cat in enumerate(cats):
                a, b, v = stacks[s_index][i]
                start = top + band * i + (band - inner) / 2
                if not stacked and n_series > 1:
                    start += s_index * bar_t
                if v is None:
                    if n_series == 1:
                        overlay.append(
                            _text(
                                zero + 4,
                                start + bar_t / 2 + 4,
                                "n/a",
                                size=10,
                                fill=MUTED_COLOR,
                                cls="missing",
                            )
                        )
                    continue
                x0, x1 = sorted((vpos(a), vpos(b)))
                failed = fails(v)
                fill = f"url(#{fail_id})" if failed else (PASS_COLOR if judge else color)
                stroke = FAIL_COLOR if failed else ("#FFFFFF" if stacked else color)
                cls = "bar fail" if failed else ("bar pass" if judge else "bar")
                tip = _bar_tip(cat, name, v, value_format, n_series, failed, judge)
                body.append(
                    f'<g class="{cls}"><title>{_esc(tip)}</title><rect x="{_f(x0)}" '
                    f'y="{_f(start)}" width="{_f(max(x1 - x0, 0.5))}" height="{_f(bar_t)}" '
                    f'fill="{fill}" stroke="{stroke}" stroke-width="1"/></g>'
                )
                if show_values and stacked:
                    _segment_label(
                        body,
                        (x0 + x1) / 2,
                        start + bar_t / 2 + 4,
                        x1 - x0,
                        bar_t,
                        format_value(v, value_format),
                        color,
                    )
                elif show_values and bar_t >= 9:
                    size = 10 if bar_t < 14 else 11
                    text = format_value(v, value_format)
                    if v >= 0:
                        overlay.append(
                            _text(
                                x1 + 4,
                                start + bar_t / 2 + size * 0.36,
                                text,
                                size=size,
                                cls="value",
                                halo=True,
                            )
                        )
                    else:
                        overlay.append(
                            _text(
                                x0 - 4,
                                start + bar_t / 2 + size * 0.36,
                                text,
                                size=size,
                                anchor="end",
                                cls="value",
                                halo=True,
                            )
                        )
        if stacked and show_values:
            for i, total in enumerate(totals):
                if total is None:
                    continue
                end = vpos(max(sum(max(vals[i] or 0, 0) for _, vals, _ in data), 0.0))
                cy = top + band * (i + 0.5)
                overlay.append(
                    _text(
                        end + 4,
                        cy + 4,
                        format_value(total, value_format),
                        size=10,
                        weight="bold",
                        cls="total",
                    )
                )
        body.append(
            f'<line x1="{_f(zero)}" y1="{_f(top)}" x2="{_f(zero)}" y2="{_f(top + plot_h)}" '
            f'stroke="{AXIS_COLOR}" stroke-width="1"/>'
        )
        if thr is not None:
            x = vpos(thr)
            body.append(_threshold_line(x, top - 4, x, top + plot_h))
            shown_w = min(_text_width(thr_text_full, 10), width - 2 * _PAD)
            anchor_x = min(max(x, _PAD + shown_w / 2), width - _PAD - shown_w / 2)
            body.append(
                _text(
                    anchor_x,
                    top - 7,
                    thr_text_full,
                    size=10,
                    anchor="middle",
                    max_width=width - 2 * _PAD,
                    cls="threshold-label",
                )
            )
        body.extend(overlay)
        height_out = total_h
    else:
        if show_values:
            top += 10  # room for the value label above the tallest bar
        y_label_w = 18 if vlabel else 0
        left = _PAD + y_label_w + max(_text_width(t, _TICK_SIZE) for t in tick_labels) + 8
        right = _PAD
        thr_max = 110.0
        if thr is not None:
            right += min(_text_width(thr_text_full, 10), thr_max) + 6
        plot_w = width - left - right
        band = plot_w / n
        label_w = max(_text_width(c, _LABEL_SIZE) for c in cats)
        wrapped = [_wrap2(c, _LABEL_SIZE, band - 6) for c in cats]
        rotate = not all(wrapped)
        two_lines = any(w and len(w) > 1 for w in wrapped)
        step = 1
        angle = 0.0
        if rotate:
            max_label = min(label_w, 130.0)
            angle = _rotation_for(band)
            rad = math.radians(angle)
            bottom = _PAD + max_label * math.sin(rad) + _LABEL_SIZE * math.cos(rad) + 12
            # thin out labels only when even vertical text would collide
            step = max(1, math.ceil(13 / (band * math.sin(rad))))
            overhang = max_label * math.cos(rad) - band / 2 - (left - _PAD)
            if overhang > 0:
                left += overhang
                plot_w = width - left - right
                band = plot_w / n
        else:
            max_label = band - 4
            bottom = _PAD + 18 + (13 if two_lines else 0)
        total_h = float(height or default_h)
        plot_h = total_h - top - bottom
        if plot_h < 100:
            total_h += 100 - plot_h
            plot_h = 100.0

        def vpos(v: float) -> float:
            return top + plot_h - (v - lo) / (hi - lo) * plot_h

        for t, label in zip(ticks, tick_labels, strict=True):
            y = vpos(t)
            body.append(
                f'<line x1="{_f(left)}" y1="{_f(y)}" x2="{_f(left + plot_w)}" y2="{_f(y)}" '
                f'stroke="{GRID_COLOR}" stroke-width="1"/>'
            )
            body.append(
                _text(left - 6, y + 4, label, size=_TICK_SIZE, anchor="end", fill=MUTED_COLOR)
            )
        if vlabel:
            cy = top + plot_h / 2
            body.append(
                _text(
                    _PAD + 10,
                    cy,
                    vlabel,
                    anchor="middle",
                    fill=MUTED_COLOR,
                    rotate=-90,
                    max_width=plot_h,
                )
            )
        zero = vpos(0.0)
        for i, cat in enumerate(cats):
            if i % step:
                continue
            cx = left + band * (i + 0.5)
            lines = wrapped[i]
            if rotate:
                y = top + plot_h + 14
                body.append(
                    _text(
                        cx + 3,
                        y,
                        cat,
                        anchor="end",
                        rotate=-angle,
                        max_width=max_label,
                        cls="category",
                    )
                )
            elif lines and len(lines) > 1:
                body.append(
                    '<g class="category">'
                    + "".join(
                        _text(cx, top + plot_h + 16 + 13 * k, line, anchor="middle")
                        for k, line in enumerate(lines)
                    )
                    + "</g>"
                )
            else:
                body.append(
                    _text(
                        cx,
                        top + plot_h + 16,
                        cat,
                        anchor="middle",
                        max_width=max_label,
                        cls="category",
                    )
                )
        inner = min(band * 0.72, 56.0 * (1 if (n_series == 1 or stacked) else n_series))
        bar_t = inner if stacked or n_series == 1 else inner / n_series
        for s_index, (name, _vals, color) in enumerate(data):
            for i, cat in enumerate(cats):
                a, b, v = stacks[s_index][i]
                start = left + band * i + (band - inner) / 2
                if not stacked and n_series > 1:
                    start += s_index * bar_t
                if v is None:
                    if n_series == 1:
                        overlay.append(
                            _text(
                                start + bar_t / 2,
                                zero - 4,
                                "n/a",
                                size=10,
                                anchor="middle",
                                fill=MUTED_COLOR,
                                cls="missing",
                            )
                        )
                    continue
                y0, y1 = sorted((vpos(a), vpos(b)))
                failed = fails(v)
                fill = f"url(#{fail_id})" if failed else (PASS_COLOR if judge else color)
                stroke = FAIL_COLOR if failed else ("#FFFFFF" if stacked else color)
                cls = "bar fail" if failed else ("bar pass" if judge else "bar")
                tip = _bar_tip(cat, name, v, value_format, n_series, failed, judge)
                body.append(
                    f'<g class="{cls}"><title>{_esc(tip)}</title><rect x="{_f(start)}" '
                    f'y="{_f(y0)}" width="{_f(bar_t)}" height="{_f(max(y1 - y0, 0.5))}" '
                    f'fill="{fill}" stroke="{stroke}" stroke-width="1"/></g>'
                )
                text = format_value(v, value_format)
                if show_values and stacked:
                    _segment_label(
                        body, start + bar_t / 2, (y0 + y1) / 2 + 4, bar_t, y1 - y0, text, color
                    )
                elif show_values and _text_width(text, 10) <= bar_t + 6:
                    if v >= 0:
                        overlay.append(
                            _text(
                                start + bar_t / 2,
                                y0 - 4,
                                text,
                                size=10,
                                anchor="middle",
                                cls="value",
                                halo=True,
                            )
                        )
                    else:
                        overlay.append(
                            _text(
                                start + bar_t / 2,
                                y1 + 12,
                                text,
                                size=10,
                                anchor="middle",
                                cls="value",
                                halo=True,
                            )
                        )
        if stacked and show_values:
            for i, total in enumerate(totals):
                if total is None:
                    continue
                text = format_value(total, value_format)
                if _text_width(text, 10) > band:
                    continue
                end = vpos(max(sum(max(vals[i] or 0, 0) for _, vals, _ in data), 0.0))
                overlay.append(
                    _text(
                        left + band * (i + 0.5),
                        end - 4,
                        text,
                        size=10,
                        anchor="middle",
                        weight="bold",
                        cls="total",
                    )
                )
        body.append(
            f'<line x1="{_f(left)}" y1="{_f(zero)}" x2="{_f(left + plot_w)}" y2="{_f(zero)}" '
            f'stroke="{AXIS_COLOR}" stroke-width="1"/>'
        )
        if thr is not None:
            y = vpos(thr)
            body.append(_threshold_line(left, y, left + plot_w + 4, y))
            body.append(
                _text(
                    left + plot_w + 6,
                    y + 4,
                    thr_text_full,
                    size=10,
                    max_width=thr_max,
                    cls="threshold-label",
                )
            )
        body.extend(overlay)
        height_out = total_h

    # Description --------------------------------------------------------
    kind_name = {
        "bar": "Bar chart",
        "grouped-bar": "Grouped bar chart",
        "stacked-bar": "Stacked bar chart",
    }
    lines = [f"{kind_name.get(kind, 'Bar chart')} with {n} categories."]
    if n_series == 1 and not stacked:
        pairs = [(c, format_value(v, value_format)) for c, v in zip(cats, data[0][1], strict=True)]
        if judge:
            pairs = [
                (c, text if v is None else f"{text} ({'fail' if fails(v) else 'pass'})")
                for (c, text), v in zip(pairs, data[0][1], strict=True)
            ]
        lines.append(_summary(pairs) + ".")
    else:
        for name, vals, _ in data:
            pairs = [(c, format_value(v, value_format)) for c, v in zip(cats, vals, strict=True)]
            lines.append(f"{name}: " + _summary(pairs) + ".")
    if thr is not None:
        lines.append(f"{thr_text_full} (threshold at {format_value(thr, value_format)}).")
    defs = _hatch_pattern(fail_id, FAIL_COLOR) if judge else ""
    return _svg(
        width, height_out, title=chart_title, desc=" ".join(lines), kind=kind, body=body, defs=defs
    )


def _threshold_line(x1: float, y1: float, x2: float, y2: float) -> str:
    return (
        f'<line class="threshold" x1="{_f(x1)}" y1="{_f(y1)}" x2="{_f(x2)}" y2="{_f(y2)}" '
        f'stroke="{THRESHOLD_COLOR}" stroke-width="1.5" stroke-dasharray="6 3"/>'
    )


def _bar_tip(
    cat: str,
    name: str,
    v: float,
    value_format: ValueFormat,
    n_series: int,
    failed: bool,
    judge: bool,
) -> str:
    prefix = f"{cat} \u2013 {name}" if n_series > 1 else cat
    tip = f"{prefix}: {format_value(v, value_format)}"
    if judge:
        tip += " (fails threshold)" if failed else " (meets threshold)"
    return tip


def _segment_label(
    body: list[str], cx: float, y: float, room_w: float, room_h: float, text: str, color: str
) -> None:
    if room_h >= 13 and _text_width(text, 10) + 4 <= room_w:
        body.append(_text(cx, y, text, size=10, anchor="middle", fill=_text_on(color), cls="value"))


def bar_chart(
    categories: Sequence[object],
    values: Sequence[float | int | None],
    *,
    title: str,
    value_format: ValueFormat = "number",
    threshold: float | None = None,
    threshold_label: str | None = None,
    pass_if: PassIf | None = None,
    horizontal: bool = False,
    value_label: str | None = None,
    color: str | None = None,
    show_values: bool = True,
    width: int = 640,
    height: int | None = None,
) -> str:
    """One bar per category, e.g. approvals per stage or PSI per feature.

    ``threshold`` draws a dashed reference line. With ``pass_if="above"``
    (value >= threshold passes, e.g. a disparate-impact ratio) or
    ``pass_if="below"`` (value <= threshold passes, e.g. PSI), failing bars are
    drawn hatched in vermillion and the legend explains pass/fail.
    ``horizontal=True`` suits many categories with long names; its height
    grows with the number of categories (``height`` is then a minimum).
    """
    return _bars(
        kind="bar",
        categories=categories,
        series=[("", _as_list(values))],
        title=title,
        value_format=value_format,
        threshold=threshold,
        threshold_label=threshold_label,
        pass_if=pass_if,
        horizontal=horizontal,
        stacked=False,
        value_label=value_label,
        colors=[_safe_color(color, PALETTE[0])],
        show_values=show_values,
        show_legend=False,
        width=width,
        height=height,
    )


def grouped_bar_chart(
    categories: Sequence[object],
    series: Mapping[str, Sequence[float | int | None]],
    *,
    title: str,
    value_format: ValueFormat = "number",
    threshold: float | None = None,
    threshold_label: str | None = None,
    horizontal: bool = False,
    value_label: str | None = None,
    colors: Mapping[str, str] | None = None,
    show_values: bool = True,
    width: int = 640,
    height: int | None = None,
) -> str:
    """Side-by-side bars per category, one per series (e.g. approvals vs rejections
    per stage, TPR/FPR per group). ``series`` maps a legend name to one value per
    category; ``colors`` optionally maps series names to ``#rrggbb`` colours."""
    items = _as_mapping(series)
    names = [name for name, _ in items]
    return _bars(
        kind="grouped-bar",
        categories=categories,
        series=items,
        title=title,
        value_format=value_format,
        threshold=threshold,
        threshold_label=threshold_label,
        pass_if=None,
        horizontal=horizontal,
        stacked=False,
        value_label=value_label,
        colors=_series_colors(names, colors),
        show_values=show_values,
        show_legend=True,
        width=width,
        height=height,
    )


def stacked_bar_chart(
    categories: Sequence[object],
    series: Mapping[str, Sequence[float | int | None]],
    *,
    title: str,
    value_format: ValueFormat = "number",
    horizontal: bool = False,
    value_label: str | None = None,
    colors: Mapping[str, str] | None = None,
    show_values: bool = True,
    width: int = 640,
    height: int | None = None,
) -> str:
    """Stacked bars, e.g. violations by severity per model. Series named like
    risk tiers / severities (LOW, MEDIUM, HIGH, CRITICAL, ...) get matching
    default colours. Segment values are printed where they fit, totals at the
    end of each stack."""
    items = _as_mapping(series)
    names = [name for name, _ in items]
    return _bars(
        kind="stacked-bar",
        categories=categories,
        series=items,
        title=title,
        value_format=value_format,
        threshold=None,
        threshold_label=None,
        pass_if=None,
        horizontal=horizontal,
        stacked=True,
        value_label=value_label,
        colors=_series_colors(names, colors),
        show_values=show_values,
        show_legend=True,
        width=width,
        height=height,
    )


# --------------------------------------------------------------------------
# Line chart
# --------------------------------------------------------------------------


def line_chart(
    x_labels: Sequence[object],
    series: Mapping[str, Sequence[float | int | None]],
    *,
    title: str,
    y_min: float | None = None,
    y_max: float | None = None,
    value_format: ValueFormat = "number",
    threshold: float | None = None,
    threshold_label: str | None = None,
    y_label: str | None = None,
    x_label: str | None = None,
    colors: Mapping[str, str] | None = None,
    show_points: bool | None = None,
    width: int = 640,
    height: int = 320,
) -> str:
    """Lines over evenly spaced x labels (e.g. a daily compliance score).

    ``None``/NaN values leave gaps. X tick labels are thinned automatically so
    they never overlap (30-365 daily points are fine). Points are marked when
    there are at most 60 of them (``show_points`` forces either way); an
    isolated value between gaps is always marked. Series are told apart by
    colour and dash pattern.
    """
    chart_title = _chart_title(title, "Line chart")
    width_f = max(float(width or 640), 240.0)
    height_f = max(float(height or 320), 160.0)
    labels = [_clean(x) for x in _as_list(x_labels)]
    n = len(labels)
    items = _as_mapping(series)
    names = [name for name, _ in items]
    colour_list = _series_colors(names, colors)
    data = [
        (name, _fixed_length(vals, n), c)
        for (name, vals), c in zip(items, colour_list, strict=True)
    ]
    valid = [v for _, vals, _ in data for v in vals if v is not None]
    if n == 0 or not valid:
        return _no_data("line", chart_title, width_f, height_f)
    thr = _num(threshold)
    fixed_lo, fixed_hi = _num(y_min), _num(y_max)
    if fixed_lo is not None and fixed_hi is not None and fixed_hi <= fixed_lo:
        fixed_lo = fixed_hi = None
    extent = valid + ([thr] if thr is not None else [])
    lo, hi, ticks = _domain(
        extent,
        include_zero=False,
        fixed_min=fixed_lo,
        fixed_max=fixed_hi,
        integer=value_format == "number" and _all_integers(extent),
    )
    tick_labels = [format_value(t, value_format) for t in ticks]
    uid = _uid("line", labels, [(d[0], d[1]) for d in data], chart_title, lo, hi)

    legend_items: list[_LegendItem] = []
    if len(data) > 1:
        legend_items = [
            (name, "line", c, _DASHES[i % len(_DASHES)]) for i, (name, _, c) in enumerate(data)
        ]
    legend_markup, legend_h = _legend(legend_items, _PAD, _TITLE_H - 6, width_f - 2 * _PAD)
    top = _TITLE_H + (legend_h + 4 if legend_h else 0) + 10
    ylab = _clean(y_label)
    xlab = _clean(x_label)
    left = _PAD + (18 if ylab else 0) + max(_text_width(t, _TICK_SIZE) for t in tick_labels) + 8
    thr_text_full = _clean(threshold_label) or (
        f"Threshold {format_value(thr, value_format)}" if thr is not None else ""
    )
    thr_max = 110.0
    right = _PAD + max(
        _text_width(labels[-1], _LABEL_SIZE) / 2 if n > 1 else 0,
        (min(_text_width(thr_text_full, 10), thr_max) + 6) if thr is not None else 0,
        4,
    )
    first_half = _text_width(labels[0], _LABEL_SIZE) / 2 if n > 1 else 0
    left = max(left, _PAD + first_half)
    bottom = _PAD + 18 + (16 if xlab else 0)
    plot_w = width_f - left - right
    plot_h = height_f - top - bottom
    if plot_h < 80:
        height_f += 80 - plot_h
        plot_h = 80.0

    def xpos(i: int) -> float:
        return left + plot_w / 2 if n == 1 else left + i * plot_w / (n - 1)

    def ypos(v: float) -> float:
        return top + plot_h - (v - lo) / (hi - lo) * plot_h

    body = [_title_text(chart_title, width_f), legend_markup]
    for t, label in zip(ticks, tick_labels, strict=True):
        y = ypos(t)
        body.append(
            f'<line x1="{_f(left)}" y1="{_f(y)}" x2="{_f(left + plot_w)}" y2="{_f(y)}" '
            f'stroke="{GRID_COLOR}" stroke-width="1"/>'
        )
        body.append(_text(left - 6, y + 4, label, size=_TICK_SIZE, anchor="end", fill=MUTED_COLOR))
    body.append(
        f'<line x1="{_f(left)}" y1="{_f(top + plot_h)}" x2="{_f(left + plot_w)}" '
        f'y2="{_f(top + plot_h)}" stroke="{AXIS_COLOR}" stroke-width="1"/>'
    )
    if ylab:
        body.append(
            _text(
                _PAD + 10,
                top + plot_h / 2,
                ylab,
                anchor="middle",
                fill=MUTED_COLOR,
                rotate=-90,
                max_width=plot_h,
            )
        )
    if xlab:
        body.append(
            _text(
                left + plot_w / 2,
                top + plot_h + 34,
                xlab,
                anchor="middle",
                fill=MUTED_COLOR,
                max_width=plot_w,
            )
        )

    # X tick labels, thinned so that they never overlap.
    label_w = max(_text_width(x, _LABEL_SIZE) for x in labels) + 12
    spacing = plot_w / max(n - 1, 1)
    step = max(1, math.ceil(label_w / spacing)) if n > 1 else 1
    shown = list(range(0, n, step))
    if shown[-1] != n - 1:
        if (n - 1 - shown[-1]) * spacing < label_w:
            shown.pop()
        shown.append(n - 1)
    max_tick_w = max(step * spacing - 8, 24.0)
    for i in shown:
        x = xpos(i)
        body.append(
            f'<line x1="{_f(x)}" y1="{_f(top + plot_h)}" x2="{_f(x)}" y2="{_f(top + plot_h + 4)}" '
            f'stroke="{AXIS_COLOR}" stroke-width="1"/>'
        )
        body.append(
            _text(
                x,
                top + plot_h + 17,
                labels[i],
                anchor="middle",
                max_width=max_tick_w,
                cls="x-label",
            )
        )

    if thr is not None:
        y = ypos(thr)
        if top - 0.5 <= y <= top + plot_h + 0.5:
            body.append(_threshold_line(left, y, left + plot_w + 4, y))
            body.append(
                _text(
                    left + plot_w + 6,
                    y + 4,
                    thr_text_full,
                    size=10,
                    max_width=thr_max,
                    cls="threshold-label",
                )
            )

    clip_id = f"{uid}-clip"
    defs = (
        f'<clipPath id="{clip_id}"><rect x="{_f(left - 4)}" y="{_f(top - 4)}" '
        f'width="{_f(plot_w + 8)}" height="{_f(plot_h + 8)}"/></clipPath>'
    )
    markers = show_points if show_points is not None else n <= 60
    for s_index, (name, vals, c) in enumerate(data):
        dash = _DASHES[s_index % len(_DASHES)]
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        segments: list[list[int]] = []
        current: list[int] = []
        for i, v in enumerate(vals):
            if v is None:
                if current:
                    segments.append(current)
                current = []
            else:
                current.append(i)
        if current:
            segments.append(current)
        group = [f'<g class="series" clip-path="url(#{clip_id})"><title>{_esc(name)}</title>']
        for seg in segments:
            if len(seg) > 1:
                d = " ".join(
                    f"{'M' if k == 0 else 'L'}{_f(xpos(i))} {_f(ypos(vals[i]))}"  # type: ignore[arg-type]
                    for k, i in enumerate(seg)
                )
                group.append(
                    f'<path d="{d}" fill="none" stroke="{c}" stroke-width="2" '
                    f'stroke-linejoin="round" stroke-linecap="round"{dash_attr}/>'
                )
            for i in seg:
                isolated = len(seg) == 1
                if not (markers or isolated):
                    continue
                v = vals[i]
                if v is None:
                    continue
                tip = f"{labels[i]}: {format_value(v, value_format)}"
                if len(data) > 1:
                    tip = f"{name} \u2013 {tip}"
                group.append(
                    f'<circle class="point" cx="{_f(xpos(i))}" cy="{_f(ypos(v))}" '
                    f'r="{"3.5" if isolated else "3"}" fill="{c}" stroke="#FFFFFF" '
                    f'stroke-width="1"><title>{_esc(tip)}</title></circle>'
                )
        group.append("</g>")
        body.append("".join(group))

    desc = [f"Line chart with {len(data)} series over {n} points"]
    desc[0] += f" from {labels[0]} to {labels[-1]}." if n > 1 else f" at {labels[0]}."
    for name, vals, _ in data:
        present = [v for v in vals if v is not None]
        if not present:
            desc.append(f"{name}: no data.")
            continue
        last_i = max(i for i, v in enumerate(vals) if v is not None)
        missing = n - len(present)
        desc.append(
            f"{name}: min {format_value(min(present), value_format)}, "
            f"max {format_value(max(present), value_format)}, "
            f"latest {format_value(vals[last_i], value_format)} ({labels[last_i]})"
            + (f", {missing} missing." if missing else ".")
        )
    if thr is not None:
        desc.append(f"{thr_text_full} at {format_value(thr, value_format)}.")
    return _svg(
        width_f, height_f, title=chart_title, desc=" ".join(desc), kind="line", body=body, defs=defs
    )


# --------------------------------------------------------------------------
# ROC curve
# --------------------------------------------------------------------------


def roc_curve_chart(
    fpr: Sequence[float | None],
    tpr: Sequence[float | None],
    *,
    auc: float | None = None,
    title: str = "ROC curve",
    width: int = 420,
) -> str:
    """ROC curve on a square plot with the chance diagonal; AUC in the legend.

    Points with a missing coordinate are dropped, coordinates are clamped to
    [0, 1] and sorted by FPR. The AUC is shown as given (it is not computed
    here, so ``auc=None`` just omits it).
    """
    chart_title = _chart_title(title, "ROC curve")
    width_f = max(float(width or 420), 240.0)
    left, right, top, bottom = _PAD + 18 + 30, _PAD + 8, _TITLE_H + 8, _PAD + 34
    side = width_f - left - right
    height_f = top + side + bottom
    xs, ys = _as_list(fpr), _as_list(tpr)
    points = []
    for a, b in zip(xs, ys, strict=False):
        x, y = _num(a), _num(b)
        if x is not None and y is not None:
            points.append((min(max(x, 0.0), 1.0), min(max(y, 0.0), 1.0)))
    points.sort()
    auc_v = _num(auc)
    if not points:
        return _no_data("roc", chart_title, width_f, height_f)

    def px(v: float) -> float:
        return left + v * side

    def py(v: float) -> float:
        return top + side - v * side

    body = [_title_text(chart_title, width_f)]
    for t in (0.0, 0.2, 0.4, 0.6, 0.8, 1.0):
        body.append(
            f'<line x1="{_f(px(t))}" y1="{_f(top)}" x2="{_f(px(t))}" y2="{_f(top + side)}" '
            f'stroke="{GRID_COLOR}" stroke-width="1"/>'
            f'<line x1="{_f(left)}" y1="{_f(py(t))}" x2="{_f(left + side)}" y2="{_f(py(t))}" '
            f'stroke="{GRID_COLOR}" stroke-width="1"/>'
        )
        label = _sig(t) if t not in (0.0, 1.0) else str(int(t))
        body.append(
            _text(px(t), top + side + 14, label, size=_TICK_SIZE, anchor="middle", fill=MUTED_COLOR)
        )
        body.append(
            _text(left - 6, py(t) + 4, label, size=_TICK_SIZE, anchor="end", fill=MUTED_COLOR)
        )
    body.append(
        f'<rect x="{_f(left)}" y="{_f(top)}" width="{_f(side)}" height="{_f(side)}" fill="none" '
        f'stroke="{AXIS_COLOR}" stroke-width="1"/>'
    )
    body.append(
        _text(
            left + side / 2,
            top + side + 30,
            "False positive rate",
            anchor="middle",
            fill=MUTED_COLOR,
        )
    )
    body.append(
        _text(
            _PAD + 10,
            top + side / 2,
            "True positive rate",
            anchor="middle",
            fill=MUTED_COLOR,
            rotate=-90,
        )
    )
    body.append(
        f'<line class="reference" x1="{_f(px(0))}" y1="{_f(py(0))}" x2="{_f(px(1))}" '
        f'y2="{_f(py(1))}" stroke="{AXIS_COLOR}" stroke-width="1.5" stroke-dasharray="5 4"/>'
    )
    color = PALETTE[0]
    line = " ".join(
        f"{'M' if i == 0 else 'L'}{_f(px(x))} {_f(py(y))}" for i, (x, y) in enumerate(points)
    )
    if len(points) > 1:
        area = f"{line} L{_f(px(points[-1][0]))} {_f(py(0))} L{_f(px(points[0][0]))} {_f(py(0))} Z"
        body.append(f'<path d="{area}" fill="{color}" fill-opacity="0.12" stroke="none"/>')
        body.append(
            f'<path class="curve" d="{line}" fill="none" stroke="{color}" stroke-width="2.5" '
            'stroke-linejoin="round"/>'
        )
    show_points = len(points) <= 30
    for x, y in points:
        if show_points or len(points) == 1:
            body.append(
                f'<circle class="point" cx="{_f(px(x))}" cy="{_f(py(y))}" r="2.5" fill="{color}">'
                f"<title>FPR {_esc(_sig(x))}, TPR {_esc(_sig(y))}</title></circle>"
            )
    curve_label = "ROC curve" + (f" (AUC = {auc_v:.3f})" if auc_v is not None else "")
    legend_x = left + side - 10
    legend_y = top + side - 48
    box_w = max(
        _text_width(curve_label, _LABEL_SIZE), _text_width("Chance (AUC = 0.5)", _LABEL_SIZE)
    )
    box_w = min(box_w + 40, side - 20)
    body.append(
        f'<g class="legend"><rect x="{_f(legend_x - box_w)}" y="{_f(legend_y)}" '
        f'width="{_f(box_w)}" height="40" fill="#FFFFFF" fill-opacity="0.9" stroke="{GRID_COLOR}"/>'
        f'<line x1="{_f(legend_x - box_w + 8)}" y1="{_f(legend_y + 13)}" '
        f'x2="{_f(legend_x - box_w + 26)}" y2="{_f(legend_y + 13)}" stroke="{color}" '
        'stroke-width="2.5"/>'
        + _text(legend_x - box_w + 32, legend_y + 17, curve_label, max_width=box_w - 36)
        + f'<line x1="{_f(legend_x - box_w + 8)}" y1="{_f(legend_y + 29)}" '
        f'x2="{_f(legend_x - box_w + 26)}" y2="{_f(legend_y + 29)}" stroke="{AXIS_COLOR}" '
        'stroke-width="1.5" stroke-dasharray="5 4"/>'
        + _text(legend_x - box_w + 32, legend_y + 33, "Chance (AUC = 0.5)", max_width=box_w - 36)
        + "</g>"
    )
    desc = f"ROC curve with {len(points)} points"
    desc += f", AUC = {auc_v:.3f}." if auc_v is not None else "."
    desc += " The dashed diagonal shows a random classifier."
    return _svg(width_f, height_f, title=chart_title, desc=desc, kind="roc", body=body)


# --------------------------------------------------------------------------
# Confusion matrix
# --------------------------------------------------------------------------


def confusion_matrix_chart(
    tn: int | float | None,
    fp: int | float | None,
    fn: int | float | None,
    tp: int | float | None,
    *,
    title: str = "Confusion matrix",
    labels: Sequence[str] = ("Negative", "Positive"),
    width: int = 420,
) -> str:
    """2x2 confusion matrix: rows are the actual class, columns the predicted
    class. Each cell shows its count, its share of the actual-class row and
    its name (TN/FP/FN/TP); cells are shaded by count."""
    chart_title = _chart_title(title, "Confusion matrix")
    width_f = max(float(width or 420), 280.0)
    names = [_clean(x) for x in list(labels or [])[:2]]
    while len(names) < 2:
        names.append(("Negative", "Positive")[len(names)])
    counts = [_num(v) for v in (tn, fp, fn, tp)]
    counts = [c if c is not None and c >= 0 else None for c in counts]
    left = _PAD + 20 + min(max(_text_width(n_, _LABEL_SIZE) for n_ in names), 110) + 10
    right = _PAD + 6
    cell = (width_f - left - right) / 2
    top = _TITLE_H + 10
    bottom = _PAD + 40 + 18
    height_f = top + 2 * cell + bottom
    if all(c is None for c in counts):
        return _no_data("confusion-matrix", chart_title, width_f, height_f)

    codes = ("TN", "FP", "FN", "TP")
    long_names = ("True negatives", "False positives", "False negatives", "True positives")
    present = [c for c in counts if c is not None]
    peak = max(present) if present else 0
    low_color, high_color = "#EAF2F8", "#0072B2"
    body = [_title_text(chart_title, width_f)]
    desc_parts = []
    for k in range(4):
        row, col = divmod(k, 2)
        x, y = left + col * cell, top + row * cell
        c = counts[k]
        row_vals = counts[row * 2 : row * 2 + 2]
        row_total = (
            sum(v for v in row_vals if v is not None)
            if all(v is not None for v in row_vals)
            else None
        )
        share = c / row_total if c is not None and row_total else None
        pct_text = (
            "" if share is None else f"{format_value(share, 'percent')} of actual {names[row]}"
        )
        if c is None:
            fill = "#F2F2F2"
            count_text = "n/a"
        else:
            fill = _mix(low_color, high_color, c / peak if peak else 0)
            count_text = _count(c)
        ink = _text_on(fill)
        tip = f"{long_names[k]} ({codes[k]}): {count_text}"
        if pct_text:
            tip += f", {pct_text}"
        desc_parts.append(tip)
        body.append(
            f'<g class="cell"><title>{_esc(tip)}</title><rect x="{_f(x)}" y="{_f(y)}" '
            f'width="{_f(cell)}" height="{_f(cell)}" fill="{fill}" stroke="#FFFFFF" '
            f'stroke-width="2"/></g>'
        )
        body.append(_text(x + 8, y + 16, codes[k], size=10, fill=ink, weight="bold"))
        count_size = 22 if cell >= 110 else 16
        body.append(
            _text(
                x + cell / 2,
                y + cell / 2 + 4,
                count_text,
                size=count_size,
                anchor="middle",
                fill=ink,
                weight="bold",
                max_width=cell - 8,
                cls="count",
            )
        )
        if share is not None:
            body.append(
                _text(
                    x + cell / 2,
                    y + cell / 2 + 24,
                    format_value(share, "percent") + " of row",
                    size=11,
                    anchor="middle",
                    fill=ink,
                    max_width=cell - 8,
                    cls="row-percent",
                )
            )
    # axis labels
    for i, name in enumerate(names):
        body.append(
            _text(
                left - 8,
                top + cell * (i + 0.5) + 4,
                name,
                anchor="end",
                max_width=left - _PAD - 28,
                cls="row-label",
            )
        )
        body.append(
            _text(
                left + cell * (i + 0.5),
                top + 2 * cell + 16,
                name,
                anchor="middle",
                max_width=cell - 8,
                cls="col-label",
            )
        )
    body.append(
        _text(
            _PAD + 10,
            top + cell,
            "Actual",
            anchor="middle",
            weight="bold",
            rotate=-90,
            cls="axis-label",
        )
    )
    body.append(
        _text(
            left + cell,
            top + 2 * cell + 34,
            "Predicted",
            anchor="middle",
            weight="bold",
            cls="axis-label",
        )
    )
    total = sum(present)
    summary = f"n = {_count(total)}"
    correct = [counts[0], counts[3]]
    if all(v is not None for v in counts) and total:
        accuracy = (correct[0] + correct[1]) / total  # type: ignore[operator]
        summary += f" \u00b7 accuracy {format_value(accuracy, 'percent')}"
    body.append(
        _text(
            left + cell,
            top + 2 * cell + 54,
            summary,
            anchor="middle",
            fill=MUTED_COLOR,
            cls="summary",
        )
    )
    desc = (
        f"Confusion matrix, rows are actual classes ({names[0]}, {names[1]}), columns are "
        f"predicted classes. " + "; ".join(desc_parts) + f". {summary}."
    )
    return _svg(width_f, height_f, title=chart_title, desc=desc, kind="confusion-matrix", body=body)


# --------------------------------------------------------------------------
# Donut (distribution)
# --------------------------------------------------------------------------


def donut_chart(
    labels: Sequence[object],
    values: Sequence[float | int | None],
    *,
    title: str,
    colors: Mapping[str, str] | None = None,
    value_format: ValueFormat = "number",
    center_label: str = "total",
    width: int = 480,
    height: int = 280,
) -> str:
    """A distribution as a donut with a legend listing each label, its value
    and its share (e.g. risk tier distribution, violations by severity).

    Segments run clockwise from 12 o'clock in legend order and are separated
    by white gaps; shares of at least 7% are printed on the ring. Names such as
    LOW/MEDIUM/HIGH/CRITICAL get matching default colours; ``colors`` can map
    labels to ``#rrggbb``. Negative and missing values are treated as absent.
    """
    chart_title = _chart_title(title, "Distribution")
    width_f = max(float(width or 480), 280.0)
    height_f = max(float(height or 280), 180.0)
    names = [_clean(x) for x in _as_list(labels)]
    vals = _fixed_length(_as_list(values), len(names))
    vals = [v if v is not None and v >= 0 else None for v in vals]
    total = sum(v for v in vals if v is not None)
    if not names or total <= 0:
        return _no_data("donut", chart_title, width_f, height_f)
    palette = _series_colors(names, colors)

    top = _TITLE_H + 4
    legend_rows = len(names)
    legend_h = legend_rows * 20
    avail_h = height_f - top - _PAD
    if legend_h > avail_h:
        height_f += legend_h - avail_h
        avail_h = legend_h
    value_texts = [
        f"{format_value(v, value_format)} ({format_value(v / total, 'percent')})"
        if v is not None
        else "n/a"
        for v in vals
    ]
    value_w = max(_text_width(t, _LABEL_SIZE) for t in value_texts)
    # Shrink the ring (down to a minimum) before truncating legend labels.
    legend_need = max(_text_width(x, _LABEL_SIZE) for x in names) + 20 + 12 + value_w
    room_for_ring = (width_f - _PAD - legend_need - 24 - 8 - _PAD) / 2
    radius = min(avail_h / 2 - 4, width_f * 0.24, max(room_for_ring, width_f * 0.15))
    inner = radius * 0.58
    cx = _PAD + radius + 8
    cy = top + avail_h / 2
    body = [_title_text(chart_title, width_f)]

    def point(angle: float, r: float) -> tuple[float, float]:
        return cx + r * math.cos(angle), cy + r * math.sin(angle)

    def arc(a0: float, a1: float) -> str:
        large = 1 if a1 - a0 > math.pi else 0
        (x0, y0), (x1, y1) = point(a0, radius), point(a1, radius)
        (x2, y2), (x3, y3) = point(a1, inner), point(a0, inner)
        return (
            f"M{_f(x0)} {_f(y0)} A{_f(radius)} {_f(radius)} 0 {large} 1 {_f(x1)} {_f(y1)} "
            f"L{_f(x2)} {_f(y2)} A{_f(inner)} {_f(inner)} 0 {large} 0 {_f(x3)} {_f(y3)} Z"
        )

    angle = -math.pi / 2
    nonzero = sum(1 for v in vals if v)
    for name, v, c in zip(names, vals, palette, strict=True):
        if not v:
            continue
        frac = v / total
        sweep = frac * 2 * math.pi
        a0, a1 = angle, angle + sweep
        if frac >= 0.9999:
            d = arc(a0, a0 + math.pi) + " " + arc(a0 + math.pi, a0 + 2 * math.pi - 1e-4)
        else:
            d = arc(a0, a1)
        tip = f"{name}: {format_value(v, value_format)} ({format_value(frac, 'percent')})"
        stroke = ' stroke="#FFFFFF" stroke-width="2"' if nonzero > 1 else ""
        body.append(
            f'<g class="segment"><title>{_esc(tip)}</title><path d="{d}" fill="{c}"{stroke}/></g>'
        )
        if frac >= 0.07:
            mx, my = point((a0 + a1) / 2, (radius + inner) / 2)
            body.append(
                _text(
                    mx,
                    my + 4,
                    format_value(frac, "percent"),
                    size=10,
                    anchor="middle",
                    fill=_text_on(c),
                    weight="bold",
                )
            )
        angle = a1
    body.append(
        _text(
            cx,
            cy + 2,
            format_value(total, value_format),
            size=18,
            anchor="middle",
            weight="bold",
            max_width=inner * 1.8,
            cls="donut-total",
        )
    )
    body.append(
        _text(
            cx,
            cy + 17,
            center_label,
            size=10,
            anchor="middle",
            fill=MUTED_COLOR,
            max_width=inner * 1.8,
        )
    )

    # Legend: swatch, label, value (share).
    lx = cx + radius + 24
    label_max = max(width_f - _PAD - value_w - 12 - (lx + 20), 30.0)
    ly = cy - legend_h / 2
    legend = ['<g class="legend">']
    for i, (name, c, text) in enumerate(zip(names, palette, value_texts, strict=True)):
        y = ly + i * 20 + 10
        legend.append(f'<rect x="{_f(lx)}" y="{_f(y - 6)}" width="12" height="12" fill="{c}"/>')
        legend.append(_text(lx + 20, y + 4, name, max_width=label_max))
        legend.append(_text(width_f - _PAD, y + 4, text, anchor="end", fill=MUTED_COLOR))
    legend.append("</g>")
    body.append("".join(legend))
    desc = (
        f"Distribution of {format_value(total, value_format)} across {len(names)} categories: "
        + _summary(list(zip(names, value_texts, strict=True)))
        + "."
    )
    return _svg(width_f, height_f, title=chart_title, desc=desc, kind="donut", body=body)
