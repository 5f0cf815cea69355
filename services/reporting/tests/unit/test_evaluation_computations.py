"""The computed checks: each flips exactly where its data crosses the rule set's threshold.

Histories are built from the threshold with plain arithmetic (N households of which k/100
pledged, a dispute closed N or N+1 local days after it opened, ...), with noise the check must
ignore (other groups and categories, rejected and duplicate incidents, other years). Local days
are computed here with Vietnam's fixed offset, UTC+7 since 1975, not with the time-zone
database the code uses, so the tests do not restate it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from binhyen.reporting.domain.computations import (
    COMPUTATIONS,
    MAX_EVIDENCE_IDS,
    SEVERITIES,
    EnrolmentRegistered,
    HouseholdRegistrationRatio,
    IncidentHotspot,
    IncidentsComparedWithPreviousYear,
    ProlongedDisputes,
    SeriousIncidents,
    Span,
    TeamActive,
    enrolment_registered,
    household_registration_ratio,
    incident_hotspot,
    incidents_compared_with_previous_year,
    prolonged_disputes,
    serious_incidents,
    team_active,
)
from binhyen.reporting.domain.facts import (
    Activity,
    DaySpan,
    Enrolment,
    Hamlet,
    HamletFacts,
    Incident,
    Membership,
    OpenSpell,
    Team,
    local_day,
)
from binhyen.reporting.domain.periods import Period

YEAR = 2026
FIRST, LAST = date(2025, 11, 1), date(2026, 10, 31)  # evaluation year 2026
PERIOD = Period.evaluation_year(YEAR)
DAYS = (LAST - FIRST).days + 1  # 365
OFFSET = timedelta(hours=7)


def local(day: date, seconds: float = 0) -> datetime:
    """The UTC instant ``seconds`` after local midnight starting ``day`` (UTC+7)."""
    return datetime.combine(day, time(), UTC) - OFFSET + timedelta(seconds=seconds)


AFTER = local(LAST + timedelta(days=20), 3600)  # judged once the year is over
DONE = Span.of(PERIOD, AFTER)
seconds_in_day = st.integers(0, 86_399)
days_in_year = st.integers(0, DAYS - 1).map(lambda n: FIRST + timedelta(days=n))


def facts(**kwargs: Any) -> HamletFacts:
    return HamletFacts(hamlet=Hamlet("h1", ("vn", "p1", "c1", "h1")), year=YEAR, **kwargs)


def incident(
    incident_id: str,
    at: datetime,
    *,
    group: str = "crime",
    category: str = "theft",
    severity: str = "low",
    status: str = "resolved",
    spells: tuple[OpenSpell, ...] = (),
    reopened: tuple[datetime, ...] = (),
) -> Incident:
    return Incident(
        id=incident_id,
        category=category,
        group=group,  # type: ignore[arg-type]
        severity=severity,  # type: ignore[arg-type]
        status=status,  # type: ignore[arg-type]
        occurred_at=at,
        reported_at=at,
        reopened_at=reopened,
        open_spells=spells,
    )


def test_every_catalogue_entry_has_its_function() -> None:
    assert {name: c.compute.__name__ for name, c in COMPUTATIONS.items()} == {
        name: name for name in COMPUTATIONS
    }


def test_the_span_of_a_running_year_ends_today_and_of_a_past_one_on_its_last_day() -> None:
    running = Span.of(PERIOD, local(date(2026, 3, 31), 86_399))
    assert (running.through, running.complete) == (date(2026, 3, 31), False)
    assert (DONE.through, DONE.complete) == (LAST, True)
    assert running.previous() == Period.custom(date(2024, 11, 1), date(2025, 3, 31))
    whole = Period.evaluation_year(YEAR - 1)
    assert (DONE.previous().first_day, DONE.previous().last_day) == (
        whole.first_day,
        whole.last_day,
    )


# -- enrolment_registered ----------------------------------------------------------------------


def month_end(year: int, month: int) -> date:
    return date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)


@settings(max_examples=100)
@given(by_month=st.integers(1, 12), second=st.integers(1, 86_400), late=st.booleans())
def test_an_enrolment_registered_by_the_end_of_the_month_is_met_and_a_second_later_is_not(
    by_month: int, second: int, late: bool
) -> None:
    deadline = month_end(YEAR, by_month)
    midnight = local(deadline + timedelta(days=1))  # local midnight ending the deadline day
    instant = (
        midnight + timedelta(seconds=second - 1) if late else midnight - timedelta(seconds=second)
    )
    registered_on = (instant + OFFSET).date()
    enrolment = Enrolment(f"h1:{YEAR}", YEAR, registered_on, date(YEAR, 1, 5), "registered")
    # An enrolment of another year, registered early in its own year, changes nothing.
    noise = (
        Enrolment("h1:2025", YEAR - 1, date(YEAR - 1, 1, 2), date(YEAR - 1, 1, 1), "registered"),
    )

    result = enrolment_registered(
        EnrolmentRegistered(by_month=by_month), facts(enrolments=(enrolment, *noise)), DONE
    )

    assert result.outcome == ("not_met" if late else "met")
    assert [(e.kind, e.ids) for e in result.evidence] == [("enrolment", (f"h1:{YEAR}",))]


def test_a_withdrawn_enrolment_does_not_count() -> None:
    withdrawn = Enrolment(f"h1:{YEAR}", YEAR, date(YEAR, 1, 10), date(YEAR, 1, 5), "withdrawn")
    result = enrolment_registered(
        EnrolmentRegistered(by_month=3), facts(enrolments=(withdrawn,)), DONE
    )
    assert result.outcome == "not_met"
    assert result.measured.en == "The enrolment was withdrawn"


@settings(max_examples=50)
@given(by_month=st.integers(1, 11), days_after=st.integers(0, 40))
def test_without_an_enrolment_the_check_is_pending_until_the_deadline_has_passed(
    by_month: int, days_after: int
) -> None:
    deadline = month_end(YEAR, by_month)
    today = deadline + timedelta(days=days_after)
    assume(today <= LAST)
    span = Span.of(PERIOD, local(today, 43_200))

    result = enrolment_registered(EnrolmentRegistered(by_month=by_month), facts(), span)

    assert result.outcome == ("pending" if days_after == 0 else "not_met")


# -- household_registration_ratio --------------------------------------------------------------


@settings(max_examples=100)
@given(percent=st.integers(1, 100), hundreds=st.integers(1, 3), short=st.booleans())
def test_the_share_of_pledged_households_meets_the_ratio_exactly_at_it(
    percent: int, hundreds: int, short: bool
) -> None:
    total = 100 * hundreds
    pledged = percent * hundreds - (1 if short else 0)  # at the ratio, or one household short
    active = [f"hh{n}" for n in range(total)]
    # Pledges of households no longer active (moved away, dissolved) do not count.
    gone = {f"gone{n}" for n in range(total)}

    result = household_registration_ratio(
        HouseholdRegistrationRatio(min_ratio=percent / 100),
        facts(
            active_households=frozenset(active),
            pledged_households=frozenset({*active[:pledged], *gone}),
        ),
        DONE,
    )

    assert result.outcome == ("not_met" if short else "met")
    missing = [e for e in result.evidence if e.kind == "households_without_pledge"]
    assert sum(e.count for e in missing) == total - pledged
    if missing:
        assert len(missing[0].ids) == min(total - pledged, MAX_EVIDENCE_IDS)
        assert set(missing[0].ids) <= set(active[pledged:])


def test_the_ratio_is_shown_rounded_down_so_one_missing_household_never_reads_100_percent() -> None:
    active = frozenset(f"hh{n}" for n in range(1000))
    result = household_registration_ratio(
        HouseholdRegistrationRatio(min_ratio=1.0),
        facts(active_households=active, pledged_households=active - {"hh7"}),
        DONE,
    )
    assert result.outcome == "not_met"
    assert result.measured.en == "999 of 1000 households pledged (99.9%)"
    assert result.measured.vi == "999/1000 hộ có bản cam kết (99,9%)"
    assert result.threshold.en == "At least 100% of resident households"
    assert result.evidence[0].ids == ("hh7",)


def test_a_hamlet_without_recorded_households_is_pending_not_failed() -> None:
    result = household_registration_ratio(
        HouseholdRegistrationRatio(min_ratio=1.0), facts(pledged_households={"hh1"}), DONE
    )
    assert result.outcome == "pending"


# -- prolonged_disputes ------------------------------------------------------------------------


def dispute(incident_id: str, opened: datetime, closed: datetime | None, **kwargs: Any) -> Incident:
    return incident(
        incident_id, opened, group="dispute", spells=(OpenSpell(opened, closed),), **kwargs
    )


@settings(max_examples=150)
@given(
    limit=st.integers(1, 366),
    opened_offset=st.integers(-400, DAYS - 1),
    opened_second=seconds_in_day,
    closed_second=seconds_in_day,
    over=st.booleans(),
)
def test_a_dispute_open_one_day_more_than_the_limit_is_prolonged(
    limit: int, opened_offset: int, opened_second: int, closed_second: int, over: bool
) -> None:
    opened_day = FIRST + timedelta(days=opened_offset)
    closed_day = opened_day + timedelta(days=limit + (1 if over else 0))
    assume(FIRST <= closed_day <= LAST)  # it was open in the period, and closed within it
    opened, closed = local(opened_day, opened_second), local(closed_day, closed_second)
    assume(closed > opened)
    noise = (
        # Open far longer, but not a dispute, or rejected, or closed before the period.
        incident("crime", local(FIRST), spells=(OpenSpell(local(FIRST), None),)),
        dispute("rejected", local(FIRST), None, status="rejected"),
        dispute("before", local(FIRST - timedelta(days=900)), local(FIRST)),
    )

    result = prolonged_disputes(
        ProlongedDisputes(max_open_days=limit, reopened_is_prolonged=True),
        facts(incidents=(dispute("d1", opened, closed), *noise)),
        DONE,
    )

    assert result.outcome == ("not_met" if over else "met")
    ids = [e.ids for e in result.evidence if e.kind == "disputes_open_too_long"]
    assert ids == ([("d1",)] if over else [])


@settings(max_examples=100)
@given(limit=st.integers(1, 120), today_offset=st.integers(130, 300), over=st.booleans())
def test_a_dispute_still_open_counts_its_days_up_to_today(
    limit: int, today_offset: int, over: bool
) -> None:
    today = FIRST + timedelta(days=today_offset)
    opened = local(today - timedelta(days=limit + (1 if over else 0)), 86_399)
    span = Span.of(PERIOD, local(today, 60))

    result = prolonged_disputes(
        ProlongedDisputes(max_open_days=limit, reopened_is_prolonged=False),
        facts(incidents=(dispute("d1", opened, None),)),
        span,
    )

    assert result.outcome == ("not_met" if over else "met")


@settings(max_examples=60)
@given(
    reopened_offset=st.integers(-100, DAYS + 100),
    second=seconds_in_day,
    counts=st.booleans(),
)
def test_a_dispute_reopened_in_the_period_is_prolonged_when_the_rule_set_says_so(
    reopened_offset: int, second: int, counts: bool
) -> None:
    reopened = local(FIRST + timedelta(days=reopened_offset), second)
    short = dispute("d1", local(FIRST - timedelta(days=120)), local(FIRST - timedelta(days=115)))
    short = replace(short, reopened_at=(reopened,))

    result = prolonged_disputes(
        ProlongedDisputes(max_open_days=30, reopened_is_prolonged=counts),
        facts(incidents=(short,)),
        DONE,
    )

    in_period = 0 <= reopened_offset < DAYS
    assert result.outcome == ("not_met" if counts and in_period else "met")


def test_a_dispute_closed_after_the_year_counts_only_its_days_up_to_the_years_end() -> None:
    opened = local(LAST - timedelta(days=10), 43_200)
    late = dispute("d1", opened, local(LAST + timedelta(days=100)))
    parameters = ProlongedDisputes(max_open_days=30, reopened_is_prolonged=True)
    result = prolonged_disputes(parameters, facts(incidents=(late,)), DONE)
    assert result.outcome == "met"  # 10 days in this year; the rest is next year's to judge
    assert result.measured.en == "0 open over 30 days, 0 reopened; longest 10 days"


# -- incidents_compared_with_previous_year -----------------------------------------------------


@settings(max_examples=150)
@given(
    previous=st.integers(0, 8),
    step=st.sampled_from([-1, 0, 1]),
    compare=st.sampled_from(["lower_than_previous_year", "not_higher_than_previous_year"]),
    pass_when_none=st.booleans(),
    this_days=st.lists(st.integers(0, DAYS - 1), min_size=9, max_size=9),
    last_days=st.lists(st.integers(0, DAYS - 1), min_size=8, max_size=8),
    second=seconds_in_day,
)
@example(0, 0, "lower_than_previous_year", False, [0] * 9, [0] * 8, 0)  # none in either year
@example(0, 0, "not_higher_than_previous_year", False, [0] * 9, [0] * 8, 0)
@example(0, 0, "lower_than_previous_year", True, [0] * 9, [0] * 8, 0)
@example(0, 1, "not_higher_than_previous_year", True, [0] * 9, [0] * 8, 0)
def test_incidents_this_year_against_last_flip_at_the_previous_count(
    previous: int,
    step: int,
    compare: str,
    pass_when_none: bool,
    this_days: list[int],
    last_days: list[int],
    second: int,
) -> None:
    current = previous + step
    assume(current >= 0)
    last_first = date(YEAR - 2, 11, 1)
    this = [
        incident(f"n{i}", local(FIRST + timedelta(days=d), second), group="social_evil")
        for i, d in enumerate(this_days[:current])
    ]
    last = [
        incident(f"p{i}", local(last_first + timedelta(days=d), second))
        for i, d in enumerate(last_days[:previous])
    ]
    noise = [
        incident("traffic", local(FIRST, second), group="traffic"),
        incident("rejected", local(FIRST, second), status="rejected"),
        incident("duplicate", local(FIRST, second), status="duplicate"),
        incident("older", local(last_first - timedelta(days=1), second)),
    ]
    parameters = IncidentsComparedWithPreviousYear(
        groups=("crime", "social_evil"), compare=compare, pass_when_none=pass_when_none
    )

    result = incidents_compared_with_previous_year(
        parameters, facts(incidents=(*this, *last, *noise)), DONE
    )

    if current == previous == 0:
        expected = pass_when_none
    elif compare == "lower_than_previous_year":
        expected = step == -1
    else:
        expected = step in (-1, 0)
    assert result.outcome == ("met" if expected else "not_met")
    counts = {e.kind: e.count for e in result.evidence}
    assert (counts.get("incidents", 0), counts.get("incidents_previous_year", 0)) == (
        current,
        previous,
    )


def test_a_year_judged_while_it_runs_is_compared_with_the_same_days_a_year_earlier() -> None:
    today = date(2026, 3, 15)
    span = Span.of(PERIOD, local(today, 43_200))
    this = incident("n1", local(date(2026, 1, 2)))
    last_in = incident("p1", local(date(2025, 3, 15), 86_399))
    last_out = incident("p2", local(date(2025, 3, 16)))  # after the same day a year earlier
    parameters = IncidentsComparedWithPreviousYear(
        groups=("crime",), compare="lower_than_previous_year", pass_when_none=True
    )

    result = incidents_compared_with_previous_year(
        parameters, facts(incidents=(this, last_in, last_out)), span
    )

    assert result.outcome == "not_met"  # 1 against 1 in the same days, not 1 against 2
    assert result.measured.en == "1 incident, 1 in the same days of the previous year"


# -- serious_incidents -------------------------------------------------------------------------


@settings(max_examples=100)
@given(
    level=st.integers(1, len(SEVERITIES) - 1),
    at_threshold=st.booleans(),
    day=days_in_year,
    second=seconds_in_day,
)
def test_an_incident_at_the_minimum_severity_is_serious_and_one_just_below_is_not(
    level: int, at_threshold: bool, day: date, second: int
) -> None:
    severity = SEVERITIES[level if at_threshold else level - 1]
    noise = (
        incident("social", local(day, second), group="social_evil", severity="critical"),
        incident("rejected", local(day, second), severity="critical", status="rejected"),
        incident("before", local(FIRST, -1), severity="critical"),
        incident("after", local(LAST + timedelta(days=1)), severity="critical"),
    )

    result = serious_incidents(
        SeriousIncidents(groups=("crime",), min_severity=SEVERITIES[level]),
        facts(incidents=(incident("i1", local(day, second), severity=severity), *noise)),
        DONE,
    )

    assert result.outcome == ("not_met" if at_threshold else "met")
    assert [e.ids for e in result.evidence] == ([("i1",)] if at_threshold else [])


# -- incident_hotspot --------------------------------------------------------------------------


@settings(max_examples=150)
@given(
    count=st.integers(2, 8),
    window=st.integers(1, 120),
    start=st.integers(0, DAYS - 250),
    fractions=st.lists(st.floats(0, 1), min_size=8, max_size=8),
    shape=st.sampled_from(["enough", "one_short", "spread"]),
)
def test_a_hotspot_needs_the_minimum_count_within_the_window(
    count: int, window: int, start: int, fractions: list[float], shape: str
) -> None:
    first = local(FIRST + timedelta(days=start), 3600)
    # "enough" and "one_short" fit in a second less than the window; "spread" spans it exactly.
    width = timedelta(days=window) - (timedelta(seconds=1) if shape != "spread" else timedelta(0))
    n = count - 1 if shape == "one_short" else count
    times = [first, first + width, *(first + width * f for f in fractions[: n - 2])][:n]
    drugs = [
        incident(f"d{i}", t, group="social_evil", category="drugs") for i, t in enumerate(times)
    ]
    noise = [
        incident(f"g{i}", first, group="social_evil", category="gambling") for i in range(count)
    ] + [
        incident(f"r{i}", first, group="social_evil", category="drugs", status="rejected")
        for i in range(count)
    ]

    result = incident_hotspot(
        IncidentHotspot(categories=("drugs",), min_incidents=count, window_days=window),
        facts(incidents=(*drugs, *noise)),
        DONE,
    )

    assert result.outcome == ("not_met" if shape == "enough" else "met")
    if shape == "enough":
        assert [(e.kind, e.ids) for e in result.evidence] == [
            ("hotspot", tuple(sorted(i.id for i in drugs)))
        ]


def test_incidents_of_two_watched_categories_do_not_add_up_to_a_hotspot() -> None:
    at = local(date(2026, 2, 1))
    items = (
        incident("d1", at, category="drugs"),
        incident("d2", at + timedelta(days=1), category="drugs"),
        incident("g1", at + timedelta(days=2), category="gambling"),
    )
    parameters = IncidentHotspot(categories=("drugs", "gambling"), min_incidents=3, window_days=90)
    assert incident_hotspot(parameters, facts(incidents=items), DONE).outcome == "met"


def test_a_hotspot_outside_the_evaluation_year_does_not_count() -> None:
    before = local(FIRST, -3600)  # 23:00 local on 31 October of the year before
    items = tuple(incident(f"d{i}", before - timedelta(days=i), category="drugs") for i in range(3))
    parameters = IncidentHotspot(categories=("drugs",), min_incidents=3, window_days=90)
    assert incident_hotspot(parameters, facts(incidents=items), DONE).outcome == "met"


def test_the_hotspot_check_names_categories_as_the_catalogue_does() -> None:
    """The evaluation PDF is a Vietnamese document: names, not codes."""
    at = local(date(2026, 2, 1))
    items = tuple(incident(f"d{i}", at + timedelta(days=i), category="drugs") for i in range(3))
    parameters = IncidentHotspot(categories=("drugs",), min_incidents=3, window_days=90)
    named = facts(incidents=items, category_names=(("drugs", "Ma túy", "Drugs"),))

    result = incident_hotspot(parameters, named, DONE)

    assert result.threshold.vi == "Không có 3 vụ ma túy trở lên trong 90 ngày"
    assert result.threshold.en == "Never 3 or more incidents of drugs within 90 days"
    [evidence] = result.evidence
    assert evidence.note is not None
    assert evidence.note.vi == "3 vụ ma túy từ 01/02/2026 đến 03/02/2026"
    # A code the catalogue has not announced is named by itself.
    unnamed = incident_hotspot(parameters, facts(incidents=items), DONE)
    assert unnamed.threshold.vi == "Không có 3 vụ drugs trở lên trong 90 ngày"


# -- team_active -------------------------------------------------------------------------------


def team(
    members: int,
    activities: int,
    *,
    kind: str = "people_security",
    team_id: str = "t1",
    active: tuple[DaySpan, ...] = (DaySpan(date(2020, 1, 1)),),
) -> Team:
    return Team(
        id=team_id,
        kind=kind,  # type: ignore[arg-type]
        active=active,
        members=tuple(Membership(f"p{n}", DaySpan(date(2024, 5, 1))) for n in range(members)),
        activities=tuple(
            Activity("shift", f"s{n}", local(FIRST + timedelta(days=n % DAYS)))
            for n in range(activities)
        ),
    )


@settings(max_examples=100)
@given(
    min_members=st.integers(1, 10),
    min_activities=st.integers(0, 10),
    short=st.sampled_from(["none", "members", "activities"]),
)
def test_a_team_needs_the_minimum_members_and_activities(
    min_members: int, min_activities: int, short: str
) -> None:
    assume(short != "activities" or min_activities > 0)
    members = min_members - (1 if short == "members" else 0)
    activities = min_activities - (1 if short == "activities" else 0)
    noise = (
        # Enough of everything, but of another kind.
        team(min_members, min_activities, kind="mediation", team_id="t2"),
    )
    # Activities outside the year, and the same shift recorded twice, do not add up.
    extra = (
        Activity("shift", "old", local(FIRST, -1)),
        Activity("shift", "later", local(LAST + timedelta(days=1))),
    )
    mine = team(members, activities)
    twice = mine.activities[:1]
    mine = Team(mine.id, mine.kind, mine.active, mine.members, (*mine.activities, *twice, *extra))

    result = team_active(
        TeamActive(
            team_kind="people_security", min_members=min_members, min_activities=min_activities
        ),
        facts(teams=(mine, *noise)),
        DONE,
    )

    assert result.outcome == ("met" if short == "none" else "not_met")
    assert [e.ids for e in result.evidence] == [("t1",)]


@pytest.mark.parametrize(
    ("membership_ends", "team_ends", "expected"),
    [
        (None, None, "met"),
        (LAST, LAST, "met"),  # both last until the year's last day
        (LAST - timedelta(days=1), None, "not_met"),  # a member left the day before
        (None, LAST - timedelta(days=1), "not_met"),  # the team was disbanded the day before
    ],
)
def test_members_and_the_team_itself_are_counted_on_the_last_day_judged(
    membership_ends: date | None, team_ends: date | None, expected: str
) -> None:
    base = team(2, 1, active=(DaySpan(date(2020, 1, 1), team_ends),))
    leaving = Membership("p9", DaySpan(date(2024, 1, 1), membership_ends))
    same_person = Membership("p0", DaySpan(date(2025, 1, 1)))  # a second membership of p0
    with_leaver = Team(
        base.id, base.kind, base.active, (*base.members, leaving, same_person), base.activities
    )

    result = team_active(
        TeamActive(team_kind="people_security", min_members=3, min_activities=1),
        facts(teams=(with_leaver,)),
        DONE,
    )

    assert result.outcome == expected


def test_a_hamlet_without_a_team_of_the_kind_does_not_meet_the_check() -> None:
    result = team_active(
        TeamActive(team_kind="mediation", min_members=1, min_activities=0),
        facts(teams=(team(5, 5),)),
        DONE,
    )
    assert result.outcome == "not_met"
    assert result.measured.en == "No mediation team"


# -- facts -------------------------------------------------------------------------------------


@given(day=days_in_year, second=seconds_in_day)
def test_the_local_day_of_an_instant_is_the_day_at_utc_plus_7(day: date, second: int) -> None:
    assert local_day(local(day, second)) == day


def test_facts_refuse_naive_times_and_spans_that_end_before_they_start() -> None:
    with pytest.raises(ValueError, match="time zone"):
        incident("i1", datetime(2026, 1, 1))  # naive: the point of the test
    with pytest.raises(ValueError, match="before"):
        OpenSpell(local(date(2026, 1, 2)), local(date(2026, 1, 1)))
    with pytest.raises(ValueError, match="before"):
        DaySpan(date(2026, 1, 2), date(2026, 1, 1))
