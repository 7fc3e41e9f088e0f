"""The promotion state machine as a diagram, generated from the transitions in the code."""

from __future__ import annotations

from django_fsm import RETURN_VALUE

from registry.choices import VersionState
from registry.models import ModelVersion


def transitions() -> list[tuple[str, str, str]]:
    """(source, target, method name) for every legal move, sorted for a stable diagram."""
    field = ModelVersion._meta.get_field("state")
    edges = set()
    for transition in field.get_all_transitions(ModelVersion):
        targets = (
            transition.target.allowed_states
            if isinstance(transition.target, RETURN_VALUE)
            else [transition.target]
        )
        sources = [transition.source]
        if transition.source == "*":
            sources = VersionState.values
        for source in sources:
            for target in targets:
                edges.add((source, target, transition.name))
    return sorted(edges, key=lambda e: (VersionState.values.index(e[0]), e[1], e[2]))


def to_dot() -> str:
    lines = [
        "digraph promotion {",
        '  rankdir=LR; node [shape=box, style="rounded,filled", fillcolor="#eef2f7", '
        'fontname="DejaVu Sans"]; edge [fontname="DejaVu Sans", fontsize=10];',
    ]
    for state in VersionState.values:
        lines.append(f'  "{state}";')
    for source, target, name in transitions():
        if target == VersionState.RETIRED and source != VersionState.DRAFT:
            continue  # retire is possible from every state: drawn once, from DRAFT, below
        lines.append(f'  "{source}" -> "{target}" [label="{name}"];')
    lines.append('  "DRAFT" -> "RETIRED" [label="retire (from any state)", style=dashed];')
    lines.append("}")
    return "\n".join(lines) + "\n"


# ---- the diagram drawn for the page: an SVG laid out here, legible at the page's width ---------
#
# The DOT graph above, laid out left to right by graphviz, is 2,300 pt wide: squeezed to the page
# its labels were about 5 px tall. The page draws its own: the way to production top to bottom in
# one column (each step's action beside its arrow), CHANGES_REQUIRED and RETIRED to the left, and
# every move that skips or returns along the column as a lane on the right, each lane its own
# x so that none overlaps another over the rows both span. Every move of `transitions()` is drawn
# (retire once, from any state), so a new transition in the code shows up here.

MAIN_COLUMN = (
    VersionState.DRAFT,
    VersionState.SUBMITTED,
    VersionState.MRC_REVIEW,
    VersionState.SECURITY_REVIEW,
    VersionState.APPROVED_STAGING,
    VersionState.STAGING,
    VersionState.PRODUCTION_REVIEW,
    VersionState.APPROVED_PRODUCTION,
    VersionState.PRODUCTION,
)
SVG_WIDTH = 1200
ROW_GAP = 66
TOP = 24
BOX_W, BOX_H = 230, 36
MAIN_X = 470  # the main column's centre
SIDE_X = 160  # CHANGES_REQUIRED's and RETIRED's centre
# Past the longest action written beside the column's arrows.
LANE_START, LANE_GAP = MAIN_X + 185, 135
FONT, LABEL_FONT = 14, 13
INK, MUTED, ACCENT, BACK = "#1d2433", "#5b6475", "#0b5cad", "#9a6400"


def _label(name: str) -> str:
    return name.replace("_", " ")


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _text(x, y, text, *, size=LABEL_FONT, anchor="start", color=MUTED, weight="400", halo=True):
    halo_attrs = (
        'paint-order="stroke" stroke="#fff" stroke-width="4" stroke-linejoin="round" '
        if halo
        else ""
    )
    return (
        f'<text x="{x}" y="{y}" font-size="{size}" text-anchor="{anchor}" fill="{color}" '
        f'font-weight="{weight}" {halo_attrs}font-family="system-ui, DejaVu Sans, sans-serif">'
        f"{_esc(text)}</text>"
    )


def _box(cx, cy, state, *, fill="#eef2f7", stroke="#c8d1dd"):
    x, y = cx - BOX_W // 2, cy - BOX_H // 2
    return (
        f'<g class="state" data-state="{state}"><rect x="{x}" y="{y}" width="{BOX_W}" '
        f'height="{BOX_H}" rx="8" fill="{fill}" stroke="{stroke}"/>'
        + _text(cx, cy + 5, state, size=FONT, anchor="middle", color=INK, weight="600", halo=False)
        + "</g>"
    )


def _assign_lanes(spans: list[tuple[int, int]]) -> list[int]:
    """A lane per span (rows low..high) such that spans sharing a lane never overlap: greedy by
    start row, the shortest spans nearest the column."""
    order = sorted(range(len(spans)), key=lambda i: (spans[i][1] - spans[i][0], spans[i][0]))
    lanes: list[list[tuple[int, int]]] = []
    assigned = [0] * len(spans)
    for i in order:
        low, high = spans[i]
        for n, taken in enumerate(lanes):
            if all(high < a or low > b for a, b in taken):
                taken.append((low, high))
                assigned[i] = n
                break
        else:
            lanes.append([(low, high)])
            assigned[i] = len(lanes) - 1
    return assigned


def to_svg() -> str:
    """The state machine as one self-contained <svg> (no script, no style block), every state
    and every action written at 13-14 px when the page shows it at its width (about 1,100 px)."""
    row = {state: i for i, state in enumerate(MAIN_COLUMN)}

    def y_of(state):
        return TOP + BOX_H // 2 + row[state] * ROW_GAP

    side_y = {
        VersionState.CHANGES_REQUIRED: y_of(VersionState.MRC_REVIEW),
        VersionState.RETIRED: y_of(VersionState.PRODUCTION),
    }
    height = y_of(MAIN_COLUMN[-1]) + BOX_H // 2 + TOP
    edges = [e for e in transitions() if e[1] != VersionState.RETIRED]
    straight, lanes_wanted, side = [], [], []
    for source, target, name in edges:
        if source in row and target in row and row[target] == row[source] + 1:
            straight.append((source, target, name))
        elif source in row and target in row:
            lanes_wanted.append((source, target, name))
        else:
            side.append((source, target, name))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {SVG_WIDTH} {height}" '
        f'width="100%" role="img" aria-labelledby="workflow-title workflow-desc" '
        f'id="workflow-diagram" preserveAspectRatio="xMinYMin meet">',
        '<title id="workflow-title">The version state machine</title>',
        '<desc id="workflow-desc">'
        + _esc(
            "; ".join(f"{s} to {t} by {_label(n)}" for s, t, n in edges)
            + "; retire from any state to RETIRED"
        )
        + "</desc>",
        '<defs><marker id="wf-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        f'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        f'fill="{ACCENT}"/></marker><marker id="wf-arrow-back" viewBox="0 0 10 10" refX="9" '
        'refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
        f'<path d="M0,0 L10,5 L0,10 z" fill="{BACK}"/></marker></defs>',
    ]
    # The straight steps down the column, the action beside each arrow.
    for source, target, name in straight:
        y0, y1 = y_of(source) + BOX_H // 2, y_of(target) - BOX_H // 2
        parts.append(
            f'<line x1="{MAIN_X}" y1="{y0}" x2="{MAIN_X}" y2="{y1 - 2}" stroke="{ACCENT}" '
            'stroke-width="1.6" marker-end="url(#wf-arrow)"/>'
        )
        parts.append(_text(MAIN_X + 10, (y0 + y1) // 2 + 5, _label(name), color=INK))
    # Skips and returns along the column: lanes on the right.
    spans = [tuple(sorted((row[s], row[t]))) for s, t, _ in lanes_wanted]
    for (source, target, name), lane in zip(lanes_wanted, _assign_lanes(spans), strict=True):
        x = LANE_START + lane * LANE_GAP
        back = row[target] < row[source]
        color, marker = (BACK, "wf-arrow-back") if back else (ACCENT, "wf-arrow")
        # Leave and enter the boxes a little off their middle, so a lane's two ends never meet
        # another lane's at the same point.
        ys, yt = y_of(source) + (6 if back else -6), y_of(target) + (-6 if back else 6)
        right = MAIN_X + BOX_W // 2
        dash = ' stroke-dasharray="6 3"' if back else ""
        parts.append(
            f'<path d="M{right},{ys} H{x} V{yt} H{right + 2}" fill="none" stroke="{color}" '
            f'stroke-width="1.4"{dash} marker-end="url(#{marker})"/>'
        )
        # The label between two rows, where no lane turns; every other lane's a little higher,
        # so that a long label never runs into the next lane's.
        low, high = sorted((row[source], row[target]))
        label_y = y_of(MAIN_COLUMN[low]) + ROW_GAP * ((high - low) // 2) + ROW_GAP // 2 + 5
        label_y -= 16 * (lane % 2)
        parts.append(_text(x + 6, label_y, _label(name), color=color))
    # To and from CHANGES_REQUIRED on the left.
    left = MAIN_X - BOX_W // 2
    side_right = SIDE_X + BOX_W // 2
    for source, target, _name in side:
        to_side = target in side_y
        main_state = source if to_side else target
        side_state = target if to_side else source
        y_main, y_side = y_of(main_state), side_y[side_state]
        offset = 8 if to_side else -8
        x0, y0, x1, y1 = (
            (left, y_main + offset, side_right, y_side + offset)
            if to_side
            else (side_right, y_side + offset, left, y_main + offset)
        )
        color = BACK if to_side else ACCENT
        parts.append(
            f'<line x1="{x0}" y1="{y0}" x2="{x1}" y2="{y1}" stroke="{color}" stroke-width="1.4" '
            f'marker-end="url(#{"wf-arrow-back" if to_side else "wf-arrow"})"/>'
        )
    # Their labels in a column between the two, in the order of the rows they come from.
    labels = sorted(
        side,
        key=lambda e: (row.get(e[0], row[VersionState.SUBMITTED]), e[1] == VersionState.SUBMITTED),
    )
    for n, (source, target, name) in enumerate(labels):
        where = f"{_label(name)}" + (f" (from {source})" if target in side_y else f" (to {target})")
        parts.append(
            _text(
                SIDE_X,
                side_y[VersionState.CHANGES_REQUIRED] - BOX_H - 12 - 18 * (len(labels) - 1 - n),
                where,
                anchor="middle",
                color=BACK if target in side_y else ACCENT,
            )
        )
    # Retire: possible from every state but RETIRED, drawn once.
    y_retired = side_y[VersionState.RETIRED]
    parts.append(
        f'<line x1="{left}" y1="{y_retired}" x2="{side_right + 2}" y2="{y_retired}" '
        f'stroke="{MUTED}" stroke-width="1.4" stroke-dasharray="5 4" marker-end="url(#wf-arrow)"/>'
    )
    parts.append(
        _text(SIDE_X, y_retired - BOX_H // 2 - 10, "retire (from any state)", anchor="middle")
    )
    for state in MAIN_COLUMN:
        parts.append(_box(MAIN_X, y_of(state), state))
    parts.append(
        _box(
            SIDE_X,
            side_y[VersionState.CHANGES_REQUIRED],
            VersionState.CHANGES_REQUIRED,
            fill="#fbe9e7",
            stroke="#f0c0ba",
        )
    )
    parts.append(_box(SIDE_X, y_retired, VersionState.RETIRED, fill="#eee", stroke="#ccc"))
    parts.append("</svg>")
    return "".join(parts)
