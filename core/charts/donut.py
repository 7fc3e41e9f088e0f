"""Donut chart (a distribution)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from .svg import (
    _LABEL_SIZE,
    _PAD,
    _TITLE_H,
    MUTED_COLOR,
    ValueFormat,
    _as_list,
    _chart_title,
    _clean,
    _esc,
    _f,
    _fixed_length,
    _no_data,
    _series_colors,
    _summary,
    _svg,
    _text,
    _text_on,
    _text_width,
    _title_text,
    format_value,
)


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
