"""How report figures are written: percentages, times, hours, plurals."""

from __future__ import annotations

from datetime import datetime


def pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}%"


def fmt_time(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "—"


def hours_text(hours: float | None) -> str:
    if hours is None:
        return "—"
    if hours < 1:
        return f"{hours * 60:.0f} min"
    if hours < 48:
        return f"{hours:.1f} h"
    return f"{hours / 24:.1f} days"


def plural(n: int, word: str, words: str | None = None) -> str:
    return f"{n} {word if n == 1 else (words or word + 's')}"


def verb(n: int, singular: str, plural_form: str) -> str:
    return singular if n == 1 else plural_form
