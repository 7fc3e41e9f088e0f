"""Bar charts: single, grouped and stacked share one renderer."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from .legend import _legend, _LegendItem
from .scales import _all_integers, _domain
from .svg import (
    _LABEL_SIZE,
    _PAD,
    _TICK_SIZE,
    _TITLE_H,
    AXIS_COLOR,
    FAIL_COLOR,
    GRID_COLOR,
    MUTED_COLOR,
    PALETTE,
    PASS_COLOR,
    THRESHOLD_COLOR,
    PassIf,
    ValueFormat,
    _as_list,
    _as_mapping,
    _chart_title,
    _clean,
    _esc,
    _f,
    _fixed_length,
    _hatch_pattern,
    _no_data,
    _num,
    _rotation_for,
    _safe_color,
    _series_colors,
    _summary,
    _svg,
    _text,
    _text_on,
    _text_width,
    _title_text,
    _uid,
    _wrap2,
    format_value,
)


@dataclass
class _BarValues:
    """What a bar chart draws, before any geometry: the cleaned categories and series, the bar
    (or stack segment) extents, the value axis and whether bars are judged pass/fail."""

    kind: str
    title: str
    width: float
    cats: list[str]
    data: list[tuple[str, list[float | None], str]]
    stacks: list[list[tuple[float, float, float | None]]]  # per series, per category
    totals: list[float | None]
    thr: float | None
    thr_text: str
    vlabel: str
    value_format: ValueFormat
    pass_if: PassIf | None
    stacked: bool
    show_values: bool
    judge: bool
    fail_id: str
    lo: float
    hi: float
    ticks: list[float]
    tick_labels: list[str]

    @property
    def n(self) -> int:
        return len(self.cats)

    @property
    def n_series(self) -> int:
        return len(self.data)

    @property
    def single(self) -> bool:
        """One bar per category band (one series, or stacked segments)."""
        return self.n_series == 1 or self.stacked

    def fails(self, v: float) -> bool:
        if not self.judge or self.thr is None:
            return False
        return v < self.thr if self.pass_if == "above" else v > self.thr


@dataclass
class _BarFrame:
    """Where the plot sits in the chart: its box, the band of one category, and (vertical
    bars) how the category labels fit under it."""

    horizontal: bool
    top: float
    left: float
    plot_w: float
    plot_h: float
    band: float
    total_h: float
    lo: float
    hi: float
    wrapped: list[list[str] | None] = field(default_factory=list)
    rotate: bool = False
    step: int = 1
    angle: float = 0.0
    max_label: float = 0.0
    thr_max: float = 0.0

    def vpos(self, v: float) -> float:
        """The coordinate of value `v` along the value axis."""
        if self.horizontal:
            return self.left + (v - self.lo) / (self.hi - self.lo) * self.plot_w
        return self.top + self.plot_h - (v - self.lo) / (self.hi - self.lo) * self.plot_h


def _bar_values(
    *,
    kind: str,
    categories: object,
    series: list[tuple[str, list[object]]],
    title: object,
    value_format: ValueFormat,
    threshold: object,
    threshold_label: object,
    pass_if: PassIf | None,
    stacked: bool,
    value_label: object,
    colors: list[str],
    show_values: bool,
    width: float,
) -> _BarValues | None:
    """The values step: clean the input, stack it, find the value axis. None: nothing to draw."""
    chart_title = _chart_title(title, "Bar chart")
    cats = [_clean(c) for c in _as_list(categories)]
    n = len(cats)
    data = [
        (name, _fixed_length(vals, n), color)
        for (name, vals), color in zip(series, colors, strict=False)
    ]
    if n == 0 or not any(v is not None for _, vals, _ in data for v in vals):
        return None
    thr = _num(threshold)

    # Extents of what is drawn: bar ends or stack ends.
    stacks: list[list[tuple[float, float, float | None]]] = []
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

    # Pass/fail only makes sense for a single series with a threshold.
    judge = pass_if in ("above", "below") and thr is not None and len(data) == 1 and not stacked
    uid = _uid(kind, cats, [(s[0], s[1]) for s in data], thr, chart_title)
    return _BarValues(
        kind=kind,
        title=chart_title,
        width=width,
        cats=cats,
        data=data,
        stacks=stacks,
        totals=totals,
        thr=thr,
        thr_text=_clean(threshold_label)
        or (f"Threshold {format_value(thr, value_format)}" if thr is not None else ""),
        vlabel=_clean(value_label),
        value_format=value_format,
        pass_if=pass_if,
        stacked=stacked,
        show_values=show_values,
        judge=judge,
        fail_id=f"{uid}-fail",
        lo=lo,
        hi=hi,
        ticks=ticks,
        tick_labels=[format_value(t, value_format) for t in ticks],
    )


def _bar_legend(bars: _BarValues, show_legend: bool) -> tuple[str, float]:
    """The legend step: the series (if shown) and, for judged bars, what pass and fail are."""
    legend_items: list[_LegendItem] = []
    if show_legend:
        legend_items.extend((name, "box", color, "") for name, _, color in bars.data)
    if bars.judge:
        op = "\u2265" if bars.pass_if == "above" else "\u2264"
        bad = "below" if bars.pass_if == "above" else "above"
        thr_text = format_value(bars.thr, bars.value_format)
        legend_items.append((f"Pass ({op} {thr_text})", "box", PASS_COLOR, ""))
        legend_items.append(
            (f"Fail ({bad} threshold, hatched)", "pattern", FAIL_COLOR, bars.fail_id)
        )
    return _legend(legend_items, _PAD, _TITLE_H - 6, bars.width - 2 * _PAD)


def _horizontal_frame(bars: _BarValues, top: float, height: float | None) -> _BarFrame:
    """The layout step of horizontal bars: category labels left, one row per category."""
    width, value_format = bars.width, bars.value_format
    if bars.thr is not None:
        top += 14
    label_w = max(_text_width(c, _LABEL_SIZE) for c in bars.cats)
    left = _PAD + min(label_w, width * 0.38) + 8
    negative = [v for _, vals, _ in bars.data for v in vals if v is not None and v < 0]
    if bars.show_values and not bars.stacked and negative:
        # value labels of negative bars sit left of the bar end
        left += max(_text_width(format_value(v, value_format), 11) for v in negative) + 4
    value_texts = []
    if bars.show_values:
        if bars.stacked:
            value_texts = [format_value(t, value_format) for t in bars.totals if t is not None]
        else:
            value_texts = [
                format_value(v, value_format)
                for _, vals, _ in bars.data
                for v in vals
                if v is not None
            ]
    right = _PAD + max([_text_width(t, 10) for t in value_texts] or [0]) + 6
    right = max(right, _PAD + _text_width(bars.tick_labels[-1], _TICK_SIZE) / 2)
    bottom = _PAD + 16 + (16 if bars.vlabel else 0)
    per_row = 24.0 if bars.single else max(24.0, 11.0 * bars.n_series + 8)
    plot_h = bars.n * per_row
    total_h = top + plot_h + bottom
    if height and height > total_h:
        plot_h = height - top - bottom
        total_h = float(height)
    plot_w = width - left - right
    return _BarFrame(
        horizontal=True,
        top=top,
        left=left,
        plot_w=plot_w,
        plot_h=plot_h,
        band=plot_h / bars.n,
        total_h=total_h,
        lo=bars.lo,
        hi=bars.hi,
    )


def _vertical_frame(bars: _BarValues, top: float, height: float | None) -> _BarFrame:
    """The layout step of vertical bars: the value axis left, category labels under the plot
    (wrapped onto two lines, or rotated, or thinned out when they do not fit)."""
    width = bars.width
    if bars.show_values:
        top += 10  # room for the value label above the tallest bar
    y_label_w = 18 if bars.vlabel else 0
    left = _PAD + y_label_w + max(_text_width(t, _TICK_SIZE) for t in bars.tick_labels) + 8
    right = _PAD
    thr_max = 110.0
    if bars.thr is not None:
        right += min(_text_width(bars.thr_text, 10), thr_max) + 6
    plot_w = width - left - right
    band = plot_w / bars.n
    label_w = max(_text_width(c, _LABEL_SIZE) for c in bars.cats)
    wrapped = [_wrap2(c, _LABEL_SIZE, band - 6) for c in bars.cats]
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
            band = plot_w / bars.n
    else:
        max_label = band - 4
        bottom = _PAD + 18 + (13 if two_lines else 0)
    total_h = float(height or 360.0)
    plot_h = total_h - top - bottom
    if plot_h < 100:
        total_h += 100 - plot_h
        plot_h = 100.0
    return _BarFrame(
        horizontal=False,
        top=top,
        left=left,
        plot_w=plot_w,
        plot_h=plot_h,
        band=band,
        total_h=total_h,
        lo=bars.lo,
        hi=bars.hi,
        wrapped=wrapped,
        rotate=rotate,
        step=step,
        angle=angle,
        max_label=max_label,
        thr_max=thr_max,
    )


def _bar_axis(bars: _BarValues, frame: _BarFrame, body: list[str]) -> None:
    """The axis step: grid lines, tick labels and the value axis label."""
    top, left, plot_w, plot_h = frame.top, frame.left, frame.plot_w, frame.plot_h
    for t, label in zip(bars.ticks, bars.tick_labels, strict=True):
        if frame.horizontal:
            x = frame.vpos(t)
            body.append(
                f'<line x1="{_f(x)}" y1="{_f(top)}" x2="{_f(x)}" y2="{_f(top + plot_h)}" '
                f'stroke="{GRID_COLOR}" stroke-width="1"/>'
            )
            body.append(
                _text(
                    x, top + plot_h + 14, label, size=_TICK_SIZE, anchor="middle", fill=MUTED_COLOR
                )
            )
        else:
            y = frame.vpos(t)
            body.append(
                f'<line x1="{_f(left)}" y1="{_f(y)}" x2="{_f(left + plot_w)}" y2="{_f(y)}" '
                f'stroke="{GRID_COLOR}" stroke-width="1"/>'
            )
            body.append(
                _text(left - 6, y + 4, label, size=_TICK_SIZE, anchor="end", fill=MUTED_COLOR)
            )
    if not bars.vlabel:
        return
    if frame.horizontal:
        body.append(
            _text(
                left + plot_w / 2,
                top + plot_h + 30,
                bars.vlabel,
                anchor="middle",
                fill=MUTED_COLOR,
                max_width=plot_w,
            )
        )
    else:
        body.append(
            _text(
                _PAD + 10,
                top + plot_h / 2,
                bars.vlabel,
                anchor="middle",
                fill=MUTED_COLOR,
                rotate=-90,
                max_width=plot_h,
            )
        )


def _category_labels(bars: _BarValues, frame: _BarFrame, body: list[str]) -> None:
    """The label step: each category's name beside (horizontal) or under (vertical) its band."""
    top, left, band, plot_h = frame.top, frame.left, frame.band, frame.plot_h
    for i, cat in enumerate(bars.cats):
        if frame.horizontal:
            cy = top + band * (i + 0.5)
            body.append(
                _text(
                    left - 6, cy + 4, cat, anchor="end", max_width=left - _PAD - 6, cls="category"
                )
            )
            continue
        if i % frame.step:
            continue
        cx = left + band * (i + 0.5)
        lines = frame.wrapped[i]
        if frame.rotate:
            body.append(
                _text(
                    cx + 3,
                    top + plot_h + 14,
                    cat,
                    anchor="end",
                    rotate=-frame.angle,
                    max_width=frame.max_label,
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
                    max_width=frame.max_label,
                    cls="category",
                )
            )


def _bar_style(bars: _BarValues, v: float, color: str) -> tuple[bool, str, str, str]:
    """(failed, fill, stroke, class) of one bar: failing bars are hatched, never colour only."""
    failed = bars.fails(v)
    fill = f"url(#{bars.fail_id})" if failed else (PASS_COLOR if bars.judge else color)
    stroke = FAIL_COLOR if failed else ("#FFFFFF" if bars.stacked else color)
    cls = "bar fail" if failed else ("bar pass" if bars.judge else "bar")
    return failed, fill, stroke, cls


def _bar_marks(bars: _BarValues, frame: _BarFrame, body: list[str], overlay: list[str]) -> None:
    """The bar step: the bars (or stack segments), "n/a" for a missing value, and the value
    labels (into `overlay`, drawn after the threshold line so it never hides them)."""
    top, left, band = frame.top, frame.left, frame.band
    zero = frame.vpos(0.0)
    limit = 22.0 if frame.horizontal else 56.0
    inner = min(band * 0.72, limit * (1 if bars.single else bars.n_series))
    bar_t = inner if bars.single else inner / bars.n_series
    value_format = bars.value_format
    for s_index, (name, _vals, color) in enumerate(bars.data):
        for i, cat in enumerate(bars.cats):
            a, b, v = bars.stacks[s_index][i]
            start = (top if frame.horizontal else left) + band * i + (band - inner) / 2
            if not bars.stacked and bars.n_series > 1:
                start += s_index * bar_t
            if v is None:
                if bars.n_series == 1:
                    overlay.append(_missing_label(frame, start, bar_t, zero))
                continue
            failed, fill, stroke, cls = _bar_style(bars, v, color)
            tip = _bar_tip(cat, name, v, value_format, bars.n_series, failed, bars.judge)
            text = format_value(v, value_format)
            if frame.horizontal:
                x0, x1 = sorted((frame.vpos(a), frame.vpos(b)))
                body.append(
                    f'<g class="{cls}"><title>{_esc(tip)}</title><rect x="{_f(x0)}" '
                    f'y="{_f(start)}" width="{_f(max(x1 - x0, 0.5))}" height="{_f(bar_t)}" '
                    f'fill="{fill}" stroke="{stroke}" stroke-width="1"/></g>'
                )
                if bars.show_values and bars.stacked:
                    _segment_label(
                        body, (x0 + x1) / 2, start + bar_t / 2 + 4, x1 - x0, bar_t, text, color
                    )
                elif bars.show_values and bar_t >= 9:
                    size = 10 if bar_t < 14 else 11
                    y = start + bar_t / 2 + size * 0.36
                    if v >= 0:
                        overlay.append(_text(x1 + 4, y, text, size=size, cls="value", halo=True))
                    else:
                        overlay.append(
                            _text(x0 - 4, y, text, size=size, anchor="end", cls="value", halo=True)
                        )
            else:
                y0, y1 = sorted((frame.vpos(a), frame.vpos(b)))
                body.append(
                    f'<g class="{cls}"><title>{_esc(tip)}</title><rect x="{_f(start)}" '
                    f'y="{_f(y0)}" width="{_f(bar_t)}" height="{_f(max(y1 - y0, 0.5))}" '
                    f'fill="{fill}" stroke="{stroke}" stroke-width="1"/></g>'
                )
                if bars.show_values and bars.stacked:
                    _segment_label(
                        body, start + bar_t / 2, (y0 + y1) / 2 + 4, bar_t, y1 - y0, text, color
                    )
                elif bars.show_values and _text_width(text, 10) <= bar_t + 6:
                    cx = start + bar_t / 2
                    y = y0 - 4 if v >= 0 else y1 + 12
                    overlay.append(
                        _text(cx, y, text, size=10, anchor="middle", cls="value", halo=True)
                    )
    if bars.stacked and bars.show_values:
        _stack_totals(bars, frame, overlay)


def _missing_label(frame: _BarFrame, start: float, bar_t: float, zero: float) -> str:
    if frame.horizontal:
        return _text(
            zero + 4, start + bar_t / 2 + 4, "n/a", size=10, fill=MUTED_COLOR, cls="missing"
        )
    return _text(
        start + bar_t / 2,
        zero - 4,
        "n/a",
        size=10,
        anchor="middle",
        fill=MUTED_COLOR,
        cls="missing",
    )


def _stack_totals(bars: _BarValues, frame: _BarFrame, overlay: list[str]) -> None:
    """Each stack's total at its positive end (vertical: only where it fits the band)."""
    for i, total in enumerate(bars.totals):
        if total is None:
            continue
        text = format_value(total, bars.value_format)
        if not frame.horizontal and _text_width(text, 10) > frame.band:
            continue
        end = frame.vpos(max(sum(max(vals[i] or 0, 0) for _, vals, _ in bars.data), 0.0))
        centre = frame.band * (i + 0.5)
        if frame.horizontal:
            overlay.append(
                _text(end + 4, frame.top + centre + 4, text, size=10, weight="bold", cls="total")
            )
        else:
            overlay.append(
                _text(
                    frame.left + centre,
                    end - 4,
                    text,
                    size=10,
                    anchor="middle",
                    weight="bold",
                    cls="total",
                )
            )


def _zero_and_threshold(bars: _BarValues, frame: _BarFrame, body: list[str]) -> None:
    """The zero line of the value axis and the threshold line with its label."""
    top, left, plot_w, plot_h, width = frame.top, frame.left, frame.plot_w, frame.plot_h, bars.width
    zero = frame.vpos(0.0)
    if frame.horizontal:
        body.append(
            f'<line x1="{_f(zero)}" y1="{_f(top)}" x2="{_f(zero)}" y2="{_f(top + plot_h)}" '
            f'stroke="{AXIS_COLOR}" stroke-width="1"/>'
        )
    else:
        body.append(
            f'<line x1="{_f(left)}" y1="{_f(zero)}" x2="{_f(left + plot_w)}" y2="{_f(zero)}" '
            f'stroke="{AXIS_COLOR}" stroke-width="1"/>'
        )
    if bars.thr is None:
        return
    if frame.horizontal:
        x = frame.vpos(bars.thr)
        body.append(_threshold_line(x, top - 4, x, top + plot_h))
        shown_w = min(_text_width(bars.thr_text, 10), width - 2 * _PAD)
        anchor_x = min(max(x, _PAD + shown_w / 2), width - _PAD - shown_w / 2)
        body.append(
            _text(
                anchor_x,
                top - 7,
                bars.thr_text,
                size=10,
                anchor="middle",
                max_width=width - 2 * _PAD,
                cls="threshold-label",
            )
        )
    else:
        y = frame.vpos(bars.thr)
        body.append(_threshold_line(left, y, left + plot_w + 4, y))
        body.append(
            _text(
                left + plot_w + 6,
                y + 4,
                bars.thr_text,
                size=10,
                max_width=frame.thr_max,
                cls="threshold-label",
            )
        )


def _bar_description(bars: _BarValues) -> str:
    """The <desc> summary: every value (and, judged, pass or fail) in plain text."""
    kind_name = {
        "bar": "Bar chart",
        "grouped-bar": "Grouped bar chart",
        "stacked-bar": "Stacked bar chart",
    }
    value_format = bars.value_format
    lines = [f"{kind_name.get(bars.kind, 'Bar chart')} with {bars.n} categories."]
    if bars.n_series == 1 and not bars.stacked:
        values = bars.data[0][1]
        pairs = [(c, format_value(v, value_format)) for c, v in zip(bars.cats, values, strict=True)]
        if bars.judge:
            pairs = [
                (c, text if v is None else f"{text} ({'fail' if bars.fails(v) else 'pass'})")
                for (c, text), v in zip(pairs, values, strict=True)
            ]
        lines.append(_summary(pairs) + ".")
    else:
        for name, vals, _ in bars.data:
            pairs = [
                (c, format_value(v, value_format)) for c, v in zip(bars.cats, vals, strict=True)
            ]
            lines.append(f"{name}: " + _summary(pairs) + ".")
    if bars.thr is not None:
        lines.append(f"{bars.thr_text} (threshold at {format_value(bars.thr, value_format)}).")
    return " ".join(lines)


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
    """One renderer for single, grouped and stacked bars, in steps: values, legend, layout,
    axis, category labels, bars, zero and threshold lines, description."""
    width = max(float(width or 640), 240.0)
    bars = _bar_values(
        kind=kind,
        categories=categories,
        series=series,
        title=title,
        value_format=value_format,
        threshold=threshold,
        threshold_label=threshold_label,
        pass_if=pass_if,
        stacked=stacked,
        value_label=value_label,
        colors=colors,
        show_values=show_values,
        width=width,
    )
    if bars is None:
        return _no_data(kind, _chart_title(title, "Bar chart"), width, float(height or 300))
    legend_markup, legend_h = _bar_legend(bars, show_legend)
    top = _TITLE_H + (legend_h + 4 if legend_h else 0) + 8
    frame = (_horizontal_frame if horizontal else _vertical_frame)(bars, top, height)
    body: list[str] = [_title_text(bars.title, width), legend_markup]
    overlay: list[str] = []  # value labels, drawn above the threshold line
    _bar_axis(bars, frame, body)
    _category_labels(bars, frame, body)
    _bar_marks(bars, frame, body, overlay)
    _zero_and_threshold(bars, frame, body)
    body.extend(overlay)
    defs = _hatch_pattern(bars.fail_id, FAIL_COLOR) if bars.judge else ""
    return _svg(
        width,
        frame.total_h,
        title=bars.title,
        desc=_bar_description(bars),
        kind=kind,
        body=body,
        defs=defs,
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
