"""Escaping, number formatting, text metrics, colours, the data coercion every chart
shares, and the <svg> frame (title, summary, "No data")."""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping, Sequence
from typing import Literal

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
