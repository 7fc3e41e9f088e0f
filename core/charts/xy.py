"""XY chart: lines over a numeric x axis (curves such as reliability, KS or ROC curves).

``line_chart`` spaces its x labels evenly, which misdraws curves whose x values are uneven
(scores, false positive rates); ``roc_curve_chart`` draws one curve. This chart places every
point at its x value, draws several curves, and adds the reference marks a curve chart needs:
the y = x diagonal, horizontal threshold lines, vertical marker lines and a labelled vertical
gap between two values (the KS statistic). ``step=True`` draws histograms as step outlines.
Same look and guarantees as the other charts (no JavaScript, escaped ASCII, dash patterns
besides colour, never raises on None/NaN).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .bars import _threshold_line
from .legend import _legend, _LegendItem
from .scales import _all_integers, _domain
from .svg import (
    _DASHES,
    _PAD,
    _TICK_SIZE,
    _TITLE_H,
    AXIS_COLOR,
    GRID_COLOR,
    MUTED_COLOR,
    PALETTE,
    THRESHOLD_COLOR,
    ValueFormat,
    _as_list,
    _chart_title,
    _clean,
    _esc,
    _f,
    _no_data,
    _num,
    _safe_color,
    _svg,
    _text,
    _text_width,
    _title_text,
    _uid,
    format_value,
)

__all__ = ["xy_chart"]

Point = tuple[float, float]
#: Points are marked with circles when a series has at most this many.
MAX_MARKED_POINTS = 30


def _segments(xs: object, ys: object, step: bool) -> list[list[Point]]:
    """Runs of consecutive points with both coordinates finite (a missing value splits).

    With ``step`` the x values are bin edges (one more than the y values) and each run
    becomes a step outline that starts and ends on the baseline 0.
    """
    x_list, y_list = _as_list(xs), _as_list(ys)
    runs: list[list[Point]] = []
    current: list[Point] = []
    if step:
        edges = [_num(x) for x in x_list]
        for i, raw in enumerate(y_list):
            y = _num(raw)
            lo = edges[i] if i < len(edges) else None
            hi = edges[i + 1] if i + 1 < len(edges) else None
            if y is None or lo is None or hi is None:
                if current:
                    current.append((current[-1][0], 0.0))
                    runs.append(current)
                current = []
                continue
            if not current:
                current.append((lo, 0.0))
            current.extend([(lo, y), (hi, y)])
        if current:
            current.append((current[-1][0], 0.0))
            runs.append(current)
        return runs
    for a, b in zip(x_list, y_list, strict=False):
        x, y = _num(a), _num(b)
        if x is None or y is None:
            if current:
                runs.append(current)
            current = []
        else:
            current.append((x, y))
    if current:
        runs.append(current)
    return runs


def _pairs(items: object, size: int) -> list[tuple[float | None, ...]]:
    out = []
    for item in _as_list(items):
        parts = _as_list(item)
        if len(parts) >= size:
            nums = tuple(_num(p) for p in parts[: size - 1])
            out.append((*nums, _clean(parts[size - 1])))
    return out


def xy_chart(
    series: Mapping[str, tuple[Sequence[float | None], Sequence[float | None]]],
    *,
    title: str,
    x_label: str | None = None,
    y_label: str | None = None,
    x_min: float | None = None,
    x_max: float | None = None,
    y_min: float | None = None,
    y_max: float | None = None,
    x_format: ValueFormat = "number",
    y_format: ValueFormat = "number",
    diagonal: str | None = None,
    thresholds: Sequence[tuple[float | None, str]] = (),
    markers: Sequence[tuple[float | None, str]] = (),
    gaps: Sequence[tuple[float | None, float | None, float | None, str]] = (),
    step: bool = False,
    square: bool = False,
    colors: Mapping[str, str] | None = None,
    width: int = 640,
    height: int = 320,
) -> str:
    """Curves ``{name: (xs, ys)}`` on numeric axes.

    ``diagonal``: draw the dashed y = x line, with this legend label (e.g. "perfect
    calibration"); ``thresholds``: ``(y, label)`` dashed horizontal lines; ``markers``:
    ``(x, label)`` dotted vertical lines; ``gaps``: ``(x, y1, y2, label)`` a solid vertical
    segment between two values, labelled (e.g. the KS gap). ``step``: each series' xs are bin
    edges and the ys bin values, drawn as a histogram outline. ``square``: the plot is square
    (``height`` is then derived from ``width``). Axis ranges cover the data and the marks
    unless fixed by ``x_min``/``x_max``/``y_min``/``y_max``.
    """
    chart_title = _chart_title(title, "XY chart")
    width_f = max(float(width or 640), 240.0)
    height_f = max(float(height or 320), 160.0)
    items = list(series.items()) if isinstance(series, Mapping) else []
    data = []
    for i, (name, value) in enumerate(items):
        pair = _as_list(value)
        xs, ys = [*pair, None, None][:2]
        label = _clean(name) or f"Series {i + 1}"
        fallback = PALETTE[i % len(PALETTE)]
        color = _safe_color(colors.get(name) if colors else None, fallback)
        data.append((label, _segments(xs, ys, step), color, _DASHES[i % len(_DASHES)]))
    thr = [(y, label) for y, label in _pairs(thresholds, 2) if y is not None]
    marks = [(x, label) for x, label in _pairs(markers, 2) if x is not None]
    gap_list = [g for g in _pairs(gaps, 4) if None not in g[:3]]
    points = [p for _, runs, _, _ in data for run in runs for p in run]
    kind = "xy"
    if not points:
        if square:
            height_f = width_f
        return _no_data(kind, chart_title, width_f, height_f)

    x_values = [p[0] for p in points] + [x for x, _ in marks] + [g[0] for g in gap_list]
    y_values = [p[1] for p in points] + [y for y, _ in thr]
    y_values += [v for g in gap_list for v in g[1:3]]
    # Integer ticks only when the data are integers (not the diagonal's ends).
    x_integer = x_format == "number" and _all_integers(x_values)
    y_integer = y_format == "number" and _all_integers(y_values)
    if diagonal:
        both = x_values + y_values
        x_values = y_values = [min(both), max(both)]
    x_lo, x_hi, x_ticks = _domain(
        x_values,
        include_zero=False,
        fixed_min=_num(x_min),
        fixed_max=_num(x_max),
        integer=x_integer,
    )
    y_lo, y_hi, y_ticks = _domain(
        y_values,
        include_zero=step,
        fixed_min=_num(y_min),
        fixed_max=_num(y_max),
        integer=y_integer,
    )
    x_tick_labels = [format_value(t, x_format) for t in x_ticks]
    y_tick_labels = [format_value(t, y_format) for t in y_ticks]
    uid = _uid("xy", chart_title, [(d[0], d[1]) for d in data], thr, marks, gap_list)

    legend_items: list[_LegendItem] = [
        (name, "line", color, dash) for name, _, color, dash in data if len(data) > 1
    ]
    if diagonal:
        legend_items.append((_clean(diagonal), "line", AXIS_COLOR, "5 4"))
    legend_markup, legend_h = _legend(legend_items, _PAD, _TITLE_H - 6, width_f - 2 * _PAD)
    top = _TITLE_H + (legend_h + 4 if legend_h else 0) + 10
    ylab, xlab = _clean(y_label), _clean(x_label)
    left = _PAD + (18 if ylab else 0) + max(_text_width(t, _TICK_SIZE) for t in y_tick_labels)
    left += 8
    right = _PAD + _text_width(x_tick_labels[-1], _TICK_SIZE) / 2 + 4
    bottom = _PAD + 18 + (16 if xlab else 0)
    plot_w = width_f - left - right
    if square:
        plot_h = plot_w
        height_f = top + plot_h + bottom
    else:
        plot_h = height_f - top - bottom
        if plot_h < 80:
            height_f += 80 - plot_h
            plot_h = 80.0

    def px(v: float) -> float:
        return left + (v - x_lo) / (x_hi - x_lo) * plot_w

    def py(v: float) -> float:
        return top + plot_h - (v - y_lo) / (y_hi - y_lo) * plot_h

    body = [_title_text(chart_title, width_f), legend_markup]
    for t, label in zip(y_ticks, y_tick_labels, strict=True):
        y = py(t)
        body.append(
            f'<line x1="{_f(left)}" y1="{_f(y)}" x2="{_f(left + plot_w)}" y2="{_f(y)}" '
            f'stroke="{GRID_COLOR}" stroke-width="1"/>'
        )
        body.append(_text(left - 6, y + 4, label, size=_TICK_SIZE, anchor="end", fill=MUTED_COLOR))
    for t, label in zip(x_ticks, x_tick_labels, strict=True):
        x = px(t)
        body.append(
            f'<line x1="{_f(x)}" y1="{_f(top)}" x2="{_f(x)}" y2="{_f(top + plot_h)}" '
            f'stroke="{GRID_COLOR}" stroke-width="1"/>'
        )
        body.append(
            _text(
                x,
                top + plot_h + 16,
                label,
                size=_TICK_SIZE,
                anchor="middle",
                fill=MUTED_COLOR,
                cls="x-label",
            )
        )
    body.append(
        f'<rect x="{_f(left)}" y="{_f(top)}" width="{_f(plot_w)}" height="{_f(plot_h)}" '
        f'fill="none" stroke="{AXIS_COLOR}" stroke-width="1"/>'
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
                top + plot_h + 32,
                xlab,
                anchor="middle",
                fill=MUTED_COLOR,
                max_width=plot_w,
            )
        )

    clip_id = f"{uid}-clip"
    defs = (
        f'<clipPath id="{clip_id}"><rect x="{_f(left - 4)}" y="{_f(top - 4)}" '
        f'width="{_f(plot_w + 8)}" height="{_f(plot_h + 8)}"/></clipPath>'
    )
    if diagonal:
        lo = max(x_lo, y_lo)
        hi = min(x_hi, y_hi)
        if hi > lo:
            body.append(
                f'<line class="reference" x1="{_f(px(lo))}" y1="{_f(py(lo))}" '
                f'x2="{_f(px(hi))}" y2="{_f(py(hi))}" stroke="{AXIS_COLOR}" '
                'stroke-width="1.5" stroke-dasharray="5 4">'
                f"<title>{_esc(diagonal)}</title></line>"
            )

    for name, runs, color, dash in data:
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        group = [f'<g class="series" clip-path="url(#{clip_id})"><title>{_esc(name)}</title>']
        count = sum(len(run) for run in runs)
        for run in runs:
            if len(run) > 1:
                d = " ".join(
                    f"{'M' if k == 0 else 'L'}{_f(px(x))} {_f(py(y))}"
                    for k, (x, y) in enumerate(run)
                )
                group.append(
                    f'<path class="curve" d="{d}" fill="none" stroke="{color}" '
                    f'stroke-width="2" stroke-linejoin="round"{dash_attr}/>'
                )
            if step:
                continue
            for x, y in run:
                if count > MAX_MARKED_POINTS and len(run) > 1:
                    continue
                tip = f"{name}: {format_value(x, x_format)}, {format_value(y, y_format)}"
                group.append(
                    f'<circle class="point" cx="{_f(px(x))}" cy="{_f(py(y))}" r="3" '
                    f'fill="{color}" stroke="#FFFFFF" stroke-width="1">'
                    f"<title>{_esc(tip)}</title></circle>"
                )
        group.append("</g>")
        body.append("".join(group))

    for y_value, label in thr:
        y = py(y_value)
        if top - 0.5 <= y <= top + plot_h + 0.5:
            text = label or f"Threshold {format_value(y_value, y_format)}"
            body.append(_threshold_line(left, y, left + plot_w, y))
            body.append(
                _text(
                    left + plot_w - 4,
                    y - 4,
                    text,
                    size=10,
                    anchor="end",
                    max_width=plot_w - 8,
                    cls="threshold-label",
                    halo=True,
                )
            )
    for i, (x_value, label) in enumerate(marks):
        x = px(x_value)
        if left - 0.5 <= x <= left + plot_w + 0.5:
            body.append(
                f'<line class="marker" x1="{_f(x)}" y1="{_f(top)}" x2="{_f(x)}" '
                f'y2="{_f(top + plot_h)}" stroke="{THRESHOLD_COLOR}" stroke-width="1.5" '
                f'stroke-dasharray="2 3"/>'
            )
            anchor = "start" if x < left + plot_w / 2 else "end"
            offset = 4 if anchor == "start" else -4
            body.append(
                _text(
                    x + offset,
                    top + 14 + 14 * i,
                    label,
                    size=10,
                    anchor=anchor,
                    max_width=plot_w / 2,
                    cls="marker-label",
                    halo=True,
                )
            )
    for x_value, y1, y2, label in gap_list:
        x = px(x_value)  # type: ignore[arg-type]
        a, b = py(y1), py(y2)  # type: ignore[arg-type]
        body.append(
            f'<line class="gap" x1="{_f(x)}" y1="{_f(a)}" x2="{_f(x)}" y2="{_f(b)}" '
            f'stroke="{THRESHOLD_COLOR}" stroke-width="2.5"/>'
            f'<line x1="{_f(x - 4)}" y1="{_f(a)}" x2="{_f(x + 4)}" y2="{_f(a)}" '
            f'stroke="{THRESHOLD_COLOR}" stroke-width="1.5"/>'
            f'<line x1="{_f(x - 4)}" y1="{_f(b)}" x2="{_f(x + 4)}" y2="{_f(b)}" '
            f'stroke="{THRESHOLD_COLOR}" stroke-width="1.5"/>'
        )
        anchor = "start" if x < left + plot_w / 2 else "end"
        body.append(
            _text(
                x + (6 if anchor == "start" else -6),
                (a + b) / 2 + 4,
                label,
                size=10,
                anchor=anchor,
                max_width=plot_w / 2,
                cls="gap-label",
                halo=True,
            )
        )

    desc = [f"Chart of {len(data)} curve{'s' if len(data) != 1 else ''}."]
    for name, runs, _, _ in data:
        pts = [p for run in runs for p in run]
        if not pts:
            desc.append(f"{name}: no data.")
            continue
        xs = [p[0] for p in pts]
        ys = [p[1] for p in pts]
        desc.append(
            f"{name}: {len(pts)} points, x from {format_value(min(xs), x_format)} to "
            f"{format_value(max(xs), x_format)}, y from {format_value(min(ys), y_format)} to "
            f"{format_value(max(ys), y_format)}."
        )
    if diagonal:
        desc.append(f"The dashed diagonal shows {_clean(diagonal)}.")
    for y_value, label in thr:
        desc.append(f"{label or 'Threshold'} at {format_value(y_value, y_format)}.")
    for x_value, label in marks:
        desc.append(f"{label or 'Marker'} at {format_value(x_value, x_format)}.")
    for x_value, y1, y2, label in gap_list:
        desc.append(
            f"{label or 'Gap'} at {format_value(x_value, x_format)} between "
            f"{format_value(y1, y_format)} and {format_value(y2, y_format)}."
        )
    return _svg(
        width_f, height_f, title=chart_title, desc=" ".join(desc), kind=kind, body=body, defs=defs
    )
