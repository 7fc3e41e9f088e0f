"""The legend block under a chart (boxes, hatched patterns, line samples)."""

from __future__ import annotations

from collections.abc import Sequence

from .svg import _LABEL_SIZE, _LEGEND_ROW, _f, _text, _text_width, _truncate

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
