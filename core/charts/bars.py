"""Bar charts: single, grouped and stacked share one renderer."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

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
