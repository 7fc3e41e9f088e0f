"""The period a report covers: a month (2026-10), a quarter (2026-Q3) or a year (2026).

Each kind takes exactly one shape of period; anything else is refused with a message naming
the expected shape. Periods are in UTC, the start inclusive and the end exclusive.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from audit.models import ReportKind

MIN_YEAR = 2000
MAX_YEAR = 2999
MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)

SHAPES = {
    ReportKind.MONTHLY_COMPLIANCE: (
        re.compile(r"^(\d{4})-(\d{2})$"),
        "a month, YYYY-MM (e.g. 2026-10)",
    ),
    ReportKind.QUARTERLY_RISK: (
        re.compile(r"^(\d{4})-Q(\d)$"),
        "a quarter, YYYY-Qn (e.g. 2026-Q3)",
    ),
    ReportKind.ANNUAL_AUDIT: (re.compile(r"^(\d{4})$"), "a year, YYYY (e.g. 2026)"),
}


class PeriodError(ValueError):
    pass


def month_start(year: int, month: int) -> datetime:
    year += (month - 1) // 12
    month = (month - 1) % 12 + 1
    return datetime(year, month, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Month:
    label: str  # 2026-10
    name: str  # Oct 2026
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Period:
    kind: str
    label: str
    title: str
    start: datetime
    end: datetime

    @property
    def months(self) -> list[Month]:
        months, cursor = [], self.start
        while cursor < self.end:
            following = month_start(cursor.year, cursor.month + 1)
            months.append(
                Month(
                    label=f"{cursor.year}-{cursor.month:02d}",
                    name=f"{MONTH_NAMES[cursor.month - 1][:3]} {cursor.year}",
                    start=cursor,
                    end=following,
                )
            )
            cursor = following
        return months

    def previous(self) -> Period:
        """The period of the same kind just before this one."""
        if self.kind == ReportKind.MONTHLY_COMPLIANCE:
            start = month_start(self.start.year, self.start.month - 1)
            return parse_period(self.kind, f"{start.year}-{start.month:02d}", check_future=False)
        if self.kind == ReportKind.QUARTERLY_RISK:
            start = month_start(self.start.year, self.start.month - 3)
            quarter = (start.month - 1) // 3 + 1
            return parse_period(self.kind, f"{start.year}-Q{quarter}", check_future=False)
        return parse_period(self.kind, str(self.start.year - 1), check_future=False)

    def in_progress(self, now: datetime) -> bool:
        return self.start <= now < self.end

    def data_end(self, now: datetime) -> datetime:
        """Where the data stops: the period's end, or now for a period still running."""
        return min(self.end, now)


def parse_period(kind: str, text: object, *, now: datetime | None = None, check_future=True):
    """The period `text` names for a report of `kind`; PeriodError says what is wrong."""
    if kind not in SHAPES:
        raise PeriodError(f"unknown report kind {kind!r}")
    pattern, shape = SHAPES[kind]
    if not isinstance(text, str):
        raise PeriodError(f"must be a string: {shape}")
    match = pattern.match(text)
    if not match:
        raise PeriodError(f"a {kind} report covers {shape}; got {text[:20]!r}")
    year = int(match.group(1))
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise PeriodError(f"the year must be between {MIN_YEAR} and {MAX_YEAR}")
    if kind == ReportKind.MONTHLY_COMPLIANCE:
        month = int(match.group(2))
        if not 1 <= month <= 12:
            raise PeriodError(f"the month must be 01 to 12; got {match.group(2)}")
        start, end = month_start(year, month), month_start(year, month + 1)
        title = f"{MONTH_NAMES[month - 1]} {year}"
    elif kind == ReportKind.QUARTERLY_RISK:
        quarter = int(match.group(2))
        if not 1 <= quarter <= 4:
            raise PeriodError(f"the quarter must be Q1 to Q4; got Q{quarter}")
        start = month_start(year, 3 * quarter - 2)
        end = month_start(year, 3 * quarter + 1)
        title = f"Q{quarter} {year}"
    else:
        start, end = month_start(year, 1), month_start(year + 1, 1)
        title = str(year)
    if check_future:
        now = now or datetime.now(UTC)
        if start > now:
            raise PeriodError(f"{text} has not started yet: there is no data to report on")
    return Period(kind=kind, label=text, title=title, start=start, end=end)


def last_complete_period(kind: str, now: datetime) -> Period:
    """The most recent period of `kind` that has ended (what a schedule reports on)."""
    if kind == ReportKind.MONTHLY_COMPLIANCE:
        start = month_start(now.year, now.month - 1)
        return parse_period(kind, f"{start.year}-{start.month:02d}", now=now)
    if kind == ReportKind.QUARTERLY_RISK:
        current_quarter_start = month_start(now.year, 3 * ((now.month - 1) // 3) + 1)
        start = month_start(current_quarter_start.year, current_quarter_start.month - 3)
        return parse_period(kind, f"{start.year}-Q{(start.month - 1) // 3 + 1}", now=now)
    return parse_period(kind, str(now.year - 1), now=now)
