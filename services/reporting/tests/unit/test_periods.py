"""Reporting periods: boundaries in Vietnam's local time, the query grammar, a year earlier."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, timedelta, timezone
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from binhyen.reporting.domain.periods import (
    BUCKET_KINDS,
    MAX_YEAR,
    MIN_YEAR,
    BucketKind,
    Period,
    PeriodError,
    containing,
    display_date,
    months_of,
    parse,
    previous_year,
)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, *rest: int) -> datetime:
    """An instant in UTC (``rest``: seconds and microseconds)."""
    second, microsecond = (*rest, 0, 0)[:2]
    return datetime(year, month, day, hour, minute, second, microsecond, tzinfo=UTC)


# --- strategies -------------------------------------------------------------------------------

years = st.integers(MIN_YEAR, MAX_YEAR)
named = st.one_of(
    st.builds(Period.month, years, st.integers(1, 12)),
    st.builds(Period.quarter, years, st.integers(1, 4)),
    st.builds(Period.year, years),
    st.builds(Period.evaluation_year, years),
)


@st.composite
def custom(draw: st.DrawFn) -> Period:
    """A run of days the grammar accepts: inside 2000–2100, shorter than five years."""
    first = draw(st.dates(date(MIN_YEAR, 1, 1), date(MAX_YEAR, 12, 31)))
    # 1,825 days end before the same day five years on, whatever the first day; the edge
    # itself has examples below.
    last = draw(st.dates(first, min(first + timedelta(days=1824), date(MAX_YEAR, 12, 31))))
    return Period.custom(first, last)


periods = st.one_of(named, custom())
instants = st.datetimes(datetime(1900, 1, 1), datetime(2200, 12, 31), timezones=st.just(UTC))
bucket_kinds = st.sampled_from(BUCKET_KINDS)


def leap_days_after_first(period: Period) -> int:
    """How many 29 Februaries a period holds after its first day."""
    return sum(
        period.first_day < date(y, 2, 29) <= period.last_day
        for y in range(period.first_day.year, period.last_day.year + 1)
        if calendar.isleap(y)
    )


# --- boundaries -------------------------------------------------------------------------------


def test_evaluation_year_turns_at_local_midnight_of_1_november() -> None:
    ey2026 = parse("EY2026")
    assert (ey2026.first_day, ey2026.last_day) == (date(2025, 11, 1), date(2026, 10, 31))
    assert (ey2026.start, ey2026.end) == (utc(2025, 10, 31, 17), utc(2026, 10, 31, 17))
    # 23:59:59 on 31 October local is still the old year; 00:30 on 1 November is the new one.
    assert containing("evaluation_year", utc(2025, 10, 31, 16, 59, 59, 999999)).spec == "EY2025"
    assert containing("evaluation_year", utc(2025, 10, 31, 17)).spec == "EY2026"
    assert containing("evaluation_year", utc(2025, 10, 31, 17, 30)).spec == "EY2026"
    # The calendar still says October in UTC: the month and year follow local time too.
    assert containing("month", utc(2025, 10, 31, 17, 30)).spec == "2025-11"


def test_new_year_turns_at_local_midnight_not_utc() -> None:
    last_moment = utc(2025, 12, 31, 16, 59, 59, 999999)
    first_moment = utc(2025, 12, 31, 17)
    assert [containing(k, last_moment).spec for k in BUCKET_KINDS] == [
        "2025-12",
        "2025-Q4",
        "2025",
        "EY2026",
    ]
    assert [containing(k, first_moment).spec for k in BUCKET_KINDS] == [
        "2026-01",
        "2026-Q1",
        "2026",
        "EY2026",
    ]
    assert parse("2026").start == first_moment


def test_an_instant_in_another_zone_is_the_same_instant() -> None:
    in_hanoi = datetime(2026, 1, 1, 0, 0, tzinfo=timezone(timedelta(hours=7)))
    in_paris = datetime(2025, 12, 31, 18, 0, tzinfo=timezone(timedelta(hours=1)))
    assert containing("year", in_hanoi) == containing("year", in_paris) == Period.year(2026)


def test_february_of_a_leap_year_ends_after_the_29th() -> None:
    february = parse("2024-02")
    assert february.days == 29
    assert february.end == utc(2024, 2, 29, 17)
    assert containing("month", utc(2024, 2, 29, 16, 59)) == february
    assert containing("month", utc(2024, 2, 29, 17)) == parse("2024-03")
    assert parse("2024-02-29..2024-02-29").days == 1


def test_start_and_end_follow_the_zone_database_not_a_fixed_offset() -> None:
    # South Vietnam kept UTC+8 from 1960 to 1975; in 1947 the clock jumped at midnight.
    assert Period.year(1959).start == utc(1958, 12, 31, 17)
    assert Period.year(1960).start == utc(1959, 12, 31, 16)
    april_1947 = Period.month(1947, 4)
    assert (april_1947.start, april_1947.end) == (utc(1947, 3, 31, 17), utc(1947, 4, 30, 16))


# --- labels and display -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "label_vi", "label_en"),
    [
        ("2026-03", "Tháng 03/2026", "March 2026"),
        ("2026-Q1", "Quý I/2026", "Q1 2026"),
        ("2026-Q4", "Quý IV/2026", "Q4 2026"),
        ("2026", "Năm 2026", "Year 2026"),
        (
            "EY2026",
            "Năm đánh giá 2026 (01/11/2025 – 31/10/2026)",
            "Evaluation year 2026 (1 Nov 2025 – 31 Oct 2026)",
        ),
        ("2026-03-01..2026-04-15", "01/03/2026 – 15/04/2026", "1 Mar 2026 – 15 Apr 2026"),
    ],
)
def test_labels_name_the_period_as_readers_expect(spec: str, label_vi: str, label_en: str) -> None:
    period = parse(spec)
    assert (period.label_vi, period.label_en) == (label_vi, label_en)


def test_dates_display_as_dd_mm_yyyy() -> None:
    assert display_date(date(2026, 3, 1)) == "01/03/2026"
    assert display_date(date(2000, 12, 31)) == "31/12/2000"


# --- the grammar ---------------------------------------------------------------------------------


def test_letters_in_any_case_and_surrounding_spaces_are_accepted() -> None:
    assert parse("2026-q1") == Period.quarter(2026, 1)
    assert parse(" ey2026 ") == Period.evaluation_year(2026)


def test_a_run_of_days_may_span_five_years_but_not_one_day_more() -> None:
    assert parse("2026-03-01..2031-02-28").days == 5 * 365 + 1  # 29 Feb 2028 inside
    with pytest.raises(PeriodError, match="at most 5 years"):
        parse("2026-03-01..2031-03-01")


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        ("", "a period is required"),
        ("   ", "a period is required"),
        ("2026-13", "a month is 01 to 12"),
        ("2026-00", "a month is 01 to 12"),
        ("2026-Q5", "a quarter is Q1 to Q4"),
        ("2026-Q0", "a quarter is Q1 to Q4"),
        ("1999", "outside 2000 to 2100"),
        ("2101", "outside 2000 to 2100"),
        ("EY2101", "outside 2000 to 2100"),
        ("2101-01", "outside 2000 to 2100"),
        ("1999-12-31..2000-01-05", "outside 2000 to 2100"),
        ("2100-12-01..2101-01-01", "outside 2000 to 2100"),
        ("2026-04-15..2026-03-01", "ends (2026-03-01) before it starts (2026-04-15)"),
        ("2026-01-01..2031-01-01", "at most 5 years (from 2026-01-01, up to 2030-12-31)"),
        ("2025-02-29..2025-03-01", "there is no day 2025-02-29"),
        ("2026-04-31..2026-05-01", "there is no day 2026-04-31"),
        ("2026-3", "is not a period"),
        ("2026/03", "is not a period"),
        ("03/2026", "is not a period"),
        ("Q1-2026", "is not a period"),
        ("2026-03-01", "is not a period"),
        ("2026-03-01..", "is not a period"),
        ("2026-03-01 .. 2026-04-15", "is not a period"),
        ("EY", "is not a period"),
        ("+2026", "is not a period"),
    ],
)
def test_refusals_say_why(spec: str, reason: str) -> None:
    with pytest.raises(PeriodError) as refused:
        parse(spec)
    assert reason in refused.value.detail
    assert str(refused.value) == refused.value.detail


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        ("٢٠٢٦", "only ASCII digits"),  # Arabic-Indic digits: int() would read them as 2026
        ("２０２６-０３", "only ASCII digits"),  # full-width
        ("2026-Q１", "only ASCII digits"),
        ("2026\x00", "control characters"),
        ("2026-03\n", "control characters"),
        ("\x1b[31m2026", "control characters"),
        ("2026\u2028", "control characters"),
        ("2026" * 50, "too long for a period"),
    ],
)
def test_strange_text_is_refused_without_being_echoed(spec: str, reason: str) -> None:
    with pytest.raises(PeriodError) as refused:
        parse(spec)
    assert reason in refused.value.detail
    assert spec.strip() not in refused.value.detail


def test_a_named_period_must_have_its_own_bounds() -> None:
    with pytest.raises(ValueError, match="not one month"):
        Period("month", date(2026, 3, 2), date(2026, 3, 31))


def test_containing_refuses_naive_instants_and_custom_kinds() -> None:
    with pytest.raises(ValueError, match="time zone"):
        containing("month", datetime(2026, 3, 1, 12))
    with pytest.raises(ValueError, match="do not tile time"):
        containing("custom", utc(2026, 3, 1))  # type: ignore[arg-type]


# --- a year earlier -------------------------------------------------------------------------------


def test_a_year_earlier_of_named_periods() -> None:
    assert previous_year(parse("2026-03")) == parse("2025-03")
    assert previous_year(parse("2026-Q1")) == parse("2025-Q1")
    assert previous_year(parse("2026")) == parse("2025")
    assert previous_year(parse("EY2026")) == parse("EY2025")
    assert previous_year(parse("2025-02")).days == 29


@pytest.mark.parametrize(
    ("spec", "earlier"),
    [
        ("2026-03-01..2026-04-15", "2025-03-01..2025-04-15"),
        ("2024-02-29..2024-02-29", "2023-02-28..2023-02-28"),
        ("2024-02-01..2024-02-29", "2023-02-01..2023-02-28"),
        ("2024-02-29..2024-03-10", "2023-02-28..2023-03-10"),
        ("2025-02-28..2025-03-01", "2024-02-28..2024-03-01"),  # now holds 29 Feb 2024
    ],
)
def test_a_year_earlier_of_a_run_of_days(spec: str, earlier: str) -> None:
    assert previous_year(parse(spec)) == parse(earlier)


# --- months -------------------------------------------------------------------------------------


def test_months_of_a_run_of_days_include_partly_covered_ends() -> None:
    spans = months_of(parse("2026-03-15..2026-05-02"))
    assert [m.spec for m in spans] == ["2026-03", "2026-04", "2026-05"]
    assert [m.spec for m in months_of(parse("2026-03-15..2026-03-15"))] == ["2026-03"]


def test_an_evaluation_year_runs_from_november_to_october() -> None:
    spans = months_of(parse("EY2026"))
    assert [spans[0].spec, spans[-1].spec] == ["2025-11", "2026-10"]


# --- properties ---------------------------------------------------------------------------------


@given(kind=bucket_kinds, instant=instants)
def test_the_containing_period_contains_the_instant(kind: BucketKind, instant: datetime) -> None:
    period = containing(kind, instant)
    assert period.kind == kind
    assert period.start <= instant < period.end


@given(kind=bucket_kinds, instant=instants)
def test_buckets_of_a_kind_leave_no_gap_and_do_not_overlap(
    kind: BucketKind, instant: datetime
) -> None:
    period = containing(kind, instant)
    after = containing(kind, period.end)
    before = containing(kind, period.start - timedelta(microseconds=1))
    assert after.start == period.end
    assert before.end == period.start
    assert after.first_day == period.last_day + timedelta(days=1)


@given(period=st.one_of(st.builds(Period.year, years), st.builds(Period.evaluation_year, years)))
def test_consecutive_months_tile_a_year_exactly(period: Period) -> None:
    months = months_of(period)
    assert len(months) == 12
    assert months[0].start == period.start
    assert months[-1].end == period.end
    assert all(a.end == b.start for a, b in pairwise(months))
    assert sum(m.days for m in months) == period.days


@given(period=periods)
def test_months_of_cover_the_period(period: Period) -> None:
    months = months_of(period)
    assert months[0].first_day <= period.first_day <= months[0].last_day
    assert months[-1].first_day <= period.last_day <= months[-1].last_day
    assert all(a.end == b.start for a, b in pairwise(months))


@given(period=periods)
def test_a_year_earlier_differs_in_length_only_by_leap_days(period: Period) -> None:
    earlier = previous_year(period)
    assert earlier.kind == period.kind
    assert earlier.days - period.days == (
        leap_days_after_first(earlier) - leap_days_after_first(period)
    )
    assert earlier.first_day.year == period.first_day.year - 1
    assert earlier.first_day.month == period.first_day.month


@given(period=named)
def test_a_named_period_a_year_earlier_ends_before_it_starts(period: Period) -> None:
    earlier = previous_year(period)
    assert earlier.end <= period.start
    assert earlier.first_day == period.first_day.replace(year=period.first_day.year - 1)
    assert containing(period.kind, earlier.start) == earlier  # type: ignore[arg-type]


@given(period=periods)
def test_the_spec_reads_back_as_the_same_period(period: Period) -> None:
    assert parse(period.spec) == period
    assert parse(period.spec.lower()) == period


@given(period=named, other=named)
def test_distinct_named_periods_have_distinct_labels(period: Period, other: Period) -> None:
    if period != other:
        assert period.label_vi != other.label_vi
        assert period.label_en != other.label_en
