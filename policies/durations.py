"""Exception durations as policies write them: `7d`, `48h`, `2w`."""

from __future__ import annotations

import re
from datetime import timedelta

_PATTERN = re.compile(r"^\s*(\d{1,4})\s*([hdw])\s*$")
_UNITS = {"h": "hours", "d": "days", "w": "weeks"}
MAX_DAYS = 366


def parse_duration(text: str) -> timedelta:
    """Parse `48h`, `7d` or `2w`; raise ValueError naming the problem."""
    match = _PATTERN.match(text or "")
    if match is None:
        raise ValueError(f"{text!r} is not a duration: write a number and h, d or w, e.g. 7d")
    amount, unit = int(match.group(1)), match.group(2)
    if amount == 0:
        raise ValueError("a duration must be longer than zero")
    duration = timedelta(**{_UNITS[unit]: amount})
    if duration > timedelta(days=MAX_DAYS):
        raise ValueError(f"a duration may be at most {MAX_DAYS} days")
    return duration
