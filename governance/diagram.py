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
