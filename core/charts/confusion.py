"""Confusion matrix."""

from __future__ import annotations

from collections.abc import Sequence

from .svg import (
    _LABEL_SIZE,
    _PAD,
    _TITLE_H,
    MUTED_COLOR,
    _chart_title,
    _clean,
    _count,
    _esc,
    _f,
    _mix,
    _no_data,
    _num,
    _svg,
    _text,
    _text_on,
    _text_width,
    _title_text,
    format_value,
)


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
