"""Line chart."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from .bars import _threshold_line
from .legend import _legend, _LegendItem
from .scales import _all_integers, _domain
from .svg import (
    _DASHES,
    _LABEL_SIZE,
    _PAD,
    _TICK_SIZE,
    _TITLE_H,
    AXIS_COLOR,
    GRID_COLOR,
    MUTED_COLOR,
    ValueFormat,
    _as_list,
    _as_mapping,
    _chart_title,
    _clean,
    _esc,
    _f,
    _fixed_length,
    _no_data,
    _num,
    _series_colors,
    _svg,
    _text,
    _text_width,
    _title_text,
    _uid,
    format_value,
)


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
