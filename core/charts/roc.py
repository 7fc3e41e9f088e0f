"""ROC curve."""

from __future__ import annotations

from collections.abc import Sequence

from .svg import (
    _LABEL_SIZE,
    _PAD,
    _TICK_SIZE,
    _TITLE_H,
    AXIS_COLOR,
    GRID_COLOR,
    MUTED_COLOR,
    PALETTE,
    _as_list,
    _chart_title,
    _esc,
    _f,
    _no_data,
    _num,
    _sig,
    _svg,
    _text,
    _text_width,
    _title_text,
)


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
