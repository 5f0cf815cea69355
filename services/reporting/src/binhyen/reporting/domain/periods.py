"""Reporting periods: what a statistic covers, and the same period a year earlier.

A period is a run of whole local days in Vietnam (Asia/Ho_Chi_Minh). Events carry UTC
instants, so each period also has ``start``/``end``: the UTC instants of local midnight
before its first day and after its last (half-open, ``start <= t < end``). The offset comes
from the time-zone database, not a hard-coded +7: Vietnam's offset did change in the past.

Grammar of a period in a query parameter (letters in any case; surrounding spaces ignored)::

    2026-03                  month         (two-digit month, 01 to 12)
    2026-Q1                  quarter       (Q1 to Q4)
    2026                     calendar year
    EY2026                   evaluation year of residential areas: 01/11/2025 – 31/10/2026
                             (Circular 124/2021/TT-BCA, Art. 8 cl. 2 a)
    2026-03-01..2026-04-15   custom run of days, both days included

Limits, so a mistyped request fails instead of scanning decades: the year a period is named
after, and both days of a custom period, lie in 2000–2100; a custom period is at most five
years long (it ends before the same day five years after it starts). Digits are ASCII only:
``int()`` would read Arabic-Indic or full-width digits, which no form here ever produces.

A year earlier (``previous_year``): a named period maps to the same month, quarter, year or
evaluation year. A custom period moves both days back one year; 29 February becomes
28 February. Hence the lengths of a period ``p`` and its previous year ``q`` differ only by
leap days: ``q.days - p.days = leap(q) - leap(p)``, where ``leap`` counts the 29 Februaries
in a period after its first day.

Communes' evaluation year (16 Nov – 15 Nov, Art. 8 cl. 2 b) is not modelled yet.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal, get_args
from zoneinfo import ZoneInfo

from binhyen.kit.text import CONTROL_MESSAGE, has_controls

LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")

PeriodKind = Literal["month", "quarter", "year", "evaluation_year", "custom"]
BucketKind = Literal["month", "quarter", "year", "evaluation_year"]
"""The kinds that tile time: every instant lies in exactly one period of each."""
BUCKET_KINDS: tuple[BucketKind, ...] = get_args(BucketKind)

MIN_YEAR, MAX_YEAR = 2000, 2100
MAX_CUSTOM_YEARS = 5
EVALUATION_YEAR_FIRST_MONTH = 11  # 1 November of the year before (Art. 8 cl. 2 a)

_ROMAN = ("I", "II", "III", "IV")
_MONTHS_EN = (
    "January", "February", "March", "April", "May", "June", "July",
    "August", "September", "October", "November", "December",
)  # fmt: skip
_EXAMPLES = (
    "write 2026-03 (month), 2026-Q1 (quarter), 2026 (year), "
    "EY2026 (evaluation year 01/11/2025 – 31/10/2026) "
    "or 2026-03-01..2026-04-15 (days, both included)"
)
_MAX_SPEC = len("2026-03-01..2026-04-15") + 8  # room for stray spaces, not for an essay

_YMD = r"([0-9]{4})-([0-9]{2})-([0-9]{2})"
_GRAMMAR: tuple[tuple[PeriodKind, re.Pattern[str]], ...] = (
    ("year", re.compile(r"([0-9]{4})", re.ASCII)),
    ("month", re.compile(r"([0-9]{4})-([0-9]{2})", re.ASCII)),
    ("quarter", re.compile(r"([0-9]{4})-Q([0-9])", re.ASCII | re.IGNORECASE)),
    ("evaluation_year", re.compile(r"EY([0-9]{4})", re.ASCII | re.IGNORECASE)),
    ("custom", re.compile(rf"{_YMD}\.\.{_YMD}", re.ASCII)),
)


class PeriodError(ValueError):
    """A period that cannot be read or is refused; ``detail`` suits a problem+json detail."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


@dataclass(frozen=True)
class Period:
    """Whole local days from ``first_day`` to ``last_day`` (both included), of one kind."""

    kind: PeriodKind
    first_day: date
    last_day: date

    def __post_init__(self) -> None:
        if self.kind == "custom":
            if self.last_day < self.first_day:
                raise PeriodError(
                    f"the period ends ({self.last_day.isoformat()}) before it starts "
                    f"({self.first_day.isoformat()}); write the earlier day first"
                )
        elif self.kind not in BUCKET_KINDS:
            raise ValueError(f"unknown period kind {self.kind!r}")
        elif _bounds(self.kind, self.first_day) != (self.first_day, self.last_day):
            raise ValueError(f"{self.first_day}..{self.last_day} is not one {self.kind}")

    @classmethod
    def month(cls, year: int, month: int) -> Period:
        """A calendar month."""
        if not 1 <= month <= 12:
            raise PeriodError("a month is 01 to 12")
        return cls("month", *_bounds("month", date(year, month, 1)))

    @classmethod
    def quarter(cls, year: int, quarter: int) -> Period:
        """A calendar quarter (1 to 4)."""
        if not 1 <= quarter <= 4:
            raise PeriodError("a quarter is Q1 to Q4")
        return cls("quarter", *_bounds("quarter", date(year, 3 * quarter - 2, 1)))

    @classmethod
    def year(cls, year: int) -> Period:
        """A calendar year."""
        return cls("year", *_bounds("year", date(year, 1, 1)))

    @classmethod
    def evaluation_year(cls, year: int) -> Period:
        """The evaluation year of residential areas named ``year``: 1 Nov year-1 – 31 Oct year."""
        return cls("evaluation_year", *_bounds("evaluation_year", date(year, 1, 1)))

    @classmethod
    def custom(cls, first_day: date, last_day: date) -> Period:
        """Any run of days, both included."""
        return cls("custom", first_day, last_day)

    @property
    def start(self) -> datetime:
        """The UTC instant the period starts (local midnight before its first day)."""
        return _local_midnight(self.first_day)

    @property
    def end(self) -> datetime:
        """The UTC instant just after the period (local midnight after its last day)."""
        return _local_midnight(self.last_day + timedelta(days=1))

    @property
    def days(self) -> int:
        """How many days the period holds."""
        return (self.last_day - self.first_day).days + 1

    @property
    def spec(self) -> str:
        """The period as the query grammar writes it (``parse(p.spec) == p``)."""
        y = self.last_day.year  # an evaluation year is named after the year it ends in
        match self.kind:
            case "month":
                return f"{y:04d}-{self.first_day.month:02d}"
            case "quarter":
                return f"{y:04d}-Q{_quarter_of(self.first_day)}"
            case "year":
                return f"{y:04d}"
            case "evaluation_year":
                return f"EY{y:04d}"
        return f"{self.first_day.isoformat()}..{self.last_day.isoformat()}"

    @property
    def label_vi(self) -> str:
        """The period as Vietnamese reports name it ("Quý I/2026")."""
        y = self.last_day.year
        match self.kind:
            case "month":
                return f"Tháng {self.first_day.month:02d}/{y}"
            case "quarter":
                return f"Quý {_ROMAN[_quarter_of(self.first_day) - 1]}/{y}"
            case "year":
                return f"Năm {y}"
            case "evaluation_year":
                return f"Năm đánh giá {y} ({self._range(display_date)})"
        return self._range(display_date)

    @property
    def label_en(self) -> str:
        """The period in English ("Q1 2026"); days as "1 Mar 2026", never ambiguous."""
        y = self.last_day.year
        match self.kind:
            case "month":
                return f"{_MONTHS_EN[self.first_day.month - 1]} {y}"
            case "quarter":
                return f"Q{_quarter_of(self.first_day)} {y}"
            case "year":
                return f"Year {y}"
            case "evaluation_year":
                return f"Evaluation year {y} ({self._range(_display_date_en)})"
        return self._range(_display_date_en)

    def _range(self, show: Callable[[date], str]) -> str:
        return f"{show(self.first_day)} – {show(self.last_day)}"


def parse(spec: str) -> Period:
    """Read a period from the query grammar (module docstring); refuse with a PeriodError."""
    if has_controls(spec):
        raise PeriodError(CONTROL_MESSAGE)
    if not spec.isascii():
        raise PeriodError(f"only ASCII digits (0-9) and letters are allowed; {_EXAMPLES}")
    if len(spec) > _MAX_SPEC:
        raise PeriodError(f"too long for a period; {_EXAMPLES}")
    text = spec.strip(" ")
    if not text:
        raise PeriodError(f"a period is required; {_EXAMPLES}")
    # From here on the text is short, printable ASCII: safe to quote back to the caller.
    for kind, pattern in _GRAMMAR:
        if found := pattern.fullmatch(text):
            try:
                return _read(kind, [int(part) for part in found.groups()])
            except PeriodError as refused:
                raise PeriodError(f'"{text}": {refused.detail}') from None
    raise PeriodError(f'"{text}" is not a period; {_EXAMPLES}')


def _read(kind: PeriodKind, numbers: list[int]) -> Period:
    if kind == "custom":
        first, last = _day(*numbers[:3]), _day(*numbers[3:])
        for day in (first, last):
            _check_year(day.year)
        period = Period.custom(first, last)
        too_late = _shift_years(first, MAX_CUSTOM_YEARS)
        if last >= too_late:
            latest = (too_late - timedelta(days=1)).isoformat()
            raise PeriodError(
                f"a run of days may span at most {MAX_CUSTOM_YEARS} years "
                f"(from {first.isoformat()}, up to {latest}); "
                "ask for years or evaluation years one by one instead"
            )
        return period
    _check_year(numbers[0])
    match kind:
        case "month":
            return Period.month(*numbers)
        case "quarter":
            return Period.quarter(*numbers)
        case "year":
            return Period.year(*numbers)
    return Period.evaluation_year(*numbers)


def previous_year(period: Period) -> Period:
    """The same period a year earlier (29 February becomes 28 February)."""
    if period.kind == "custom":
        return Period.custom(_shift_years(period.first_day, -1), _shift_years(period.last_day, -1))
    # A named period never starts on 29 February, so its first day moves back exactly.
    return Period(period.kind, *_bounds(period.kind, _shift_years(period.first_day, -1)))


def containing(kind: BucketKind, instant: datetime) -> Period:
    """The period of ``kind`` whose local days hold ``instant`` (to bucket events)."""
    if instant.utcoffset() is None:
        raise ValueError("the instant needs a time zone (UTC)")
    if kind not in BUCKET_KINDS:
        raise ValueError(f"{kind!r} periods do not tile time")
    return Period(kind, *_bounds(kind, instant.astimezone(LOCAL).date()))


def months_of(period: Period) -> tuple[Period, ...]:
    """The months a period touches, in order (a custom period may cover its ends partly)."""
    months: list[Period] = []
    day = period.first_day.replace(day=1)
    while day <= period.last_day:
        months.append(Period("month", *_bounds("month", day)))
        day = months[-1].last_day + timedelta(days=1)
    return tuple(months)


def display_date(day: date) -> str:
    """A day as Vietnamese readers write it: dd/mm/yyyy."""
    return f"{day.day:02d}/{day.month:02d}/{day.year:04d}"


def _display_date_en(day: date) -> str:
    return f"{day.day} {_MONTHS_EN[day.month - 1][:3]} {day.year}"


def _bounds(kind: BucketKind, day: date) -> tuple[date, date]:
    """First and last day of the period of ``kind`` that holds ``day``."""
    y = day.year
    match kind:
        case "month":
            return day.replace(day=1), _month_end(y, day.month)
        case "quarter":
            first_month = 3 * _quarter_of(day) - 2
            return date(y, first_month, 1), _month_end(y, first_month + 2)
        case "year":
            return date(y, 1, 1), date(y, 12, 31)
    named = y + 1 if day.month >= EVALUATION_YEAR_FIRST_MONTH else y
    next_first = date(named, EVALUATION_YEAR_FIRST_MONTH, 1)
    return date(named - 1, EVALUATION_YEAR_FIRST_MONTH, 1), next_first - timedelta(days=1)


def _month_end(year: int, month: int) -> date:
    after = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return after - timedelta(days=1)


def _quarter_of(day: date) -> int:
    return (day.month - 1) // 3 + 1


def _shift_years(day: date, years: int) -> date:
    """The same day ``years`` later (or earlier); 29 February becomes 28 February."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February into a common year
        return day.replace(year=day.year + years, day=28)


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(), LOCAL).astimezone(UTC)


def _day(year: int, month: int, day: int) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise PeriodError(f"there is no day {year:04d}-{month:02d}-{day:02d}") from None


def _check_year(year: int) -> None:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise PeriodError(f"the year {year} is outside {MIN_YEAR} to {MAX_YEAR}")
