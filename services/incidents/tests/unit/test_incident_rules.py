"""The rules a report must keep (check_report, check_location, report) and Point distances."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from binhyen.incidents.domain.categories import DEFAULT_CATALOGUE, Category
from binhyen.incidents.domain.deadlines import DEFAULT_POLICY, deadlines_for
from binhyen.incidents.domain.incidents import (
    FUTURE_SLACK,
    MAX_DESCRIPTION,
    OLDEST,
    VIETNAM_LAT,
    VIETNAM_LON,
    IncidentRuleViolation,
    Point,
    Reporter,
    check_location,
    check_report,
    report,
    with_reporter_ref,
)

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
ICT = timezone(timedelta(hours=7))
THEFT = next(c for c in DEFAULT_CATALOGUE if c.code == "theft")
HANOI = Point(105.8542, 21.0285)
HO_CHI_MINH_CITY = Point(106.6297, 10.8231)
EARTH_RADIUS = 6_371_000.0


def check(**overrides: Any) -> None:
    args: dict[str, Any] = {
        "category": THEFT,
        "description": "Mất xe máy trước cổng nhà",
        "occurred_at": NOW - timedelta(hours=2),
        "now": NOW,
        "location": HANOI,
    }
    args.update(overrides)
    check_report(**args)


def broken(**overrides: Any) -> IncidentRuleViolation:
    with pytest.raises(IncidentRuleViolation) as raised:
        check(**overrides)
    assert raised.value.status == 422
    return raised.value


def test_a_good_report_passes() -> None:
    check()
    check(location=None)
    check(occurred_at=NOW.astimezone(ICT) - timedelta(minutes=1))


# ---- category ------------------------------------------------------------------------


def test_a_retired_category_is_refused() -> None:
    exc = broken(category=replace(THEFT, active=False))
    assert exc.field == "category"
    assert "theft" in str(exc)
    assert "retired" in str(exc)


def test_the_category_is_checked_first() -> None:
    exc = broken(category=replace(THEFT, active=False), description="", occurred_at=NOW)
    assert exc.field == "category"


# ---- description ------------------------------------------------------------------------


@pytest.mark.parametrize("description", ["", " ", "\n\t  \n"])
def test_an_empty_description_is_refused(description: str) -> None:
    assert broken(description=description).field == "description"


def test_the_description_is_measured_without_surrounding_space() -> None:
    check(description="  " + "x" * MAX_DESCRIPTION + "\n\n")
    exc = broken(description="x" * (MAX_DESCRIPTION + 1))
    assert exc.field == "description"
    assert f"{MAX_DESCRIPTION + 1} characters" in str(exc)
    assert f"at most {MAX_DESCRIPTION}" in str(exc)


# ---- when it happened ---------------------------------------------------------------


def test_a_time_without_zone_is_refused() -> None:
    exc = broken(occurred_at=datetime(2025, 6, 1, 10, 0))
    assert exc.field == "occurred_at"
    assert "time zone" in str(exc)


def test_up_to_five_minutes_ahead_is_tolerated() -> None:
    check(occurred_at=NOW + FUTURE_SLACK)
    check(occurred_at=(NOW + FUTURE_SLACK).astimezone(ICT))
    exc = broken(occurred_at=NOW + FUTURE_SLACK + timedelta(seconds=1))
    assert exc.field == "occurred_at"
    assert "future" in str(exc)
    assert broken(occurred_at=NOW + timedelta(days=1)).field == "occurred_at"


def test_at_most_five_years_ago() -> None:
    assert timedelta(days=5 * 365) == OLDEST
    check(occurred_at=NOW - OLDEST)
    exc = broken(occurred_at=NOW - OLDEST - timedelta(seconds=1))
    assert exc.field == "occurred_at"
    assert "five years" in str(exc)
    assert broken(occurred_at=datetime(2000, 1, 1, tzinfo=UTC)).field == "occurred_at"


@settings(max_examples=300, deadline=None)
@given(
    offset=st.timedeltas(min_value=-2 * OLDEST, max_value=timedelta(days=2)),
    zone_hours=st.integers(-12, 14),
)
def test_occurred_at_is_accepted_exactly_inside_the_window(
    offset: timedelta, zone_hours: int
) -> None:
    occurred_at = (NOW + offset).astimezone(timezone(timedelta(hours=zone_hours)))
    inside = -OLDEST <= offset <= FUTURE_SLACK
    if inside:
        check(occurred_at=occurred_at)
    else:
        assert broken(occurred_at=occurred_at).field == "occurred_at"


# ---- location -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "point",
    [
        HANOI,
        HO_CHI_MINH_CITY,
        Point(103.97, 10.22),  # Phú Quốc
        Point(112.33, 16.5),  # Hoàng Sa
        Point(114.33, 8.64),  # Trường Sa
        Point(105.32, 23.36),  # Lũng Cú, the northern tip
        Point(VIETNAM_LON[0], VIETNAM_LAT[0]),  # the box's corners are inside
        Point(VIETNAM_LON[1], VIETNAM_LAT[1]),
    ],
)
def test_places_in_vietnam_are_accepted(point: Point) -> None:
    check(location=point)
    check_location(point)


@pytest.mark.parametrize(
    "point",
    [
        Point(21.0285, 105.8542),  # [lat, lon] instead of GeoJSON [lon, lat]
        Point(100.5018, 13.7563),  # Bangkok
        Point(139.69, 35.69),  # Tokyo
        Point(0.0, 0.0),
        Point(-105.85, 21.03),
        Point(105.85, -21.03),
        Point(VIETNAM_LON[0] - 1e-9, 15.0),
        Point(VIETNAM_LON[1] + 1e-9, 15.0),
        Point(105.0, VIETNAM_LAT[0] - 1e-9),
        Point(105.0, VIETNAM_LAT[1] + 1e-9),
        Point(math.nan, 15.0),
        Point(105.0, math.nan),
        Point(math.inf, 15.0),
    ],
)
def test_places_outside_vietnam_are_refused(point: Point) -> None:
    exc = broken(location=point)
    assert exc.field == "location"
    assert "longitude, latitude" in str(exc)


def test_check_location_names_the_given_field() -> None:
    with pytest.raises(IncidentRuleViolation) as raised:
        check_location(Point(0, 0), "handoff.location")
    assert raised.value.field == "handoff.location"


@settings(max_examples=300, deadline=None)
@given(
    lon=st.floats(-180, 180, allow_nan=False),
    lat=st.floats(-90, 90, allow_nan=False),
)
def test_a_location_is_accepted_exactly_inside_the_box(lon: float, lat: float) -> None:
    inside = VIETNAM_LAT[0] <= lat <= VIETNAM_LAT[1] and VIETNAM_LON[0] <= lon <= VIETNAM_LON[1]
    if inside:
        check_location(Point(lon, lat))
    else:
        with pytest.raises(IncidentRuleViolation):
            check_location(Point(lon, lat))


# ---- report ---------------------------------------------------------------------------


def new_report(category: Category = THEFT, **overrides: Any) -> Any:
    args: dict[str, Any] = {
        "incident_id": "inc-1",
        "hamlet_id": "h1",
        "unit_path": ("p1", "c1", "h1"),
        "category": category,
        "description": "  Mất xe máy  ",
        "occurred_at": NOW - timedelta(hours=1),
        "now": NOW,
        "reporter": Reporter("user", "u-1"),
        "reporter_ref": "reporter-1",
        "severity": None,
        "location": HANOI,
        "address": "  Thôn 1  ",
        "answers": {"stolen_items": "xe máy"},
        "deadlines": deadlines_for(DEFAULT_POLICY, category.default_severity, NOW),
    }
    args.update(overrides)
    return report(**args)


def test_report_makes_a_new_incident_with_one_timeline_entry() -> None:
    answers = {"stolen_items": "xe máy"}
    incident = new_report(answers=answers)
    assert incident.status == "reported"
    assert incident.version == 1
    assert not incident.closed
    assert incident.description == "Mất xe máy"
    assert incident.address == "Thôn 1"
    assert incident.category == "theft"
    assert incident.category_version == THEFT.version
    assert incident.group == THEFT.group
    assert incident.ba_khong == THEFT.ba_khong
    assert incident.severity == THEFT.default_severity
    assert incident.reported_at == NOW
    assert incident.answers == answers
    assert incident.answers is not answers
    [entry] = incident.timeline
    assert entry.seq == 1
    assert entry.kind == "reported"
    assert entry.actor == "reporter-1"  # the reference, never the account
    assert entry.at == NOW
    assert entry.from_status is None
    assert entry.to_status == "reported"


def test_report_takes_the_given_severity_and_refers_to_anonymous_reporters() -> None:
    incident = new_report(
        severity="critical", reporter=Reporter("anonymous"), reporter_ref="r-7", address=None
    )
    assert incident.severity == "critical"
    assert incident.address is None
    assert incident.timeline[0].actor == "r-7"


def test_a_stored_report_naming_the_account_reads_with_the_reference() -> None:
    stored = replace(
        new_report(),
        timeline=(replace(new_report().timeline[0], actor="u-1"),),
    )
    assert with_reporter_ref(stored, "reporter-1").timeline[0].actor == "reporter-1"
    fresh = new_report()
    assert with_reporter_ref(fresh, "reporter-1") is fresh


@pytest.mark.parametrize("address", ["", "   ", "\n"])
def test_a_blank_address_is_no_address(address: str) -> None:
    """BUG: report() stores an address of only spaces as "" instead of None.

    The service passes the address through (NFC only), so POSTing "address": "   "
    stores and returns "" (description and reason are stripped to "nothing" instead).
    """
    assert new_report(address=address).address is None


def test_report_keeps_the_rules() -> None:
    with pytest.raises(IncidentRuleViolation) as raised:
        new_report(location=Point(0, 0))
    assert raised.value.field == "location"
    with pytest.raises(IncidentRuleViolation) as raised:
        new_report(category=replace(THEFT, active=False))
    assert raised.value.field == "category"


# ---- Point.distance_m -----------------------------------------------------------------


def test_one_degree_of_latitude_is_about_111_km() -> None:
    for lon, lat in [(105.0, 10.0), (0.0, 0.0), (-70.0, -45.0), (105.0, 88.0)]:
        d = Point(lon, lat).distance_m(Point(lon, lat + 1))
        assert d == pytest.approx(111_195, abs=5)


def test_a_degree_of_longitude_shrinks_with_latitude() -> None:
    at_equator = Point(105, 0).distance_m(Point(106, 0))
    at_hanoi = Point(105, 21).distance_m(Point(106, 21))
    assert at_equator == pytest.approx(111_195, abs=5)
    assert at_hanoi == pytest.approx(111_195 * math.cos(math.radians(21)), rel=1e-3)


def test_known_distances() -> None:
    assert HANOI.distance_m(HANOI) == 0
    assert HANOI.distance_m(HO_CHI_MINH_CITY) == pytest.approx(1_138_000, rel=0.01)
    # Half the earth's circumference between antipodes.
    assert Point(0, 0).distance_m(Point(180, 0)) == pytest.approx(math.pi * EARTH_RADIUS)
    assert Point(0, 90).distance_m(Point(0, -90)) == pytest.approx(math.pi * EARTH_RADIUS)
    # Across the antimeridian, the short way round.
    assert Point(179.5, 0).distance_m(Point(-179.5, 0)) == pytest.approx(111_195, abs=5)


points = st.builds(
    Point,
    lon=st.floats(-180, 180, allow_nan=False),
    lat=st.floats(-90, 90, allow_nan=False),
)


@settings(max_examples=500, deadline=None)
@given(points, points, points)
def test_distance_is_a_metric_on_the_sphere(a: Point, b: Point, c: Point) -> None:
    ab, ba = a.distance_m(b), b.distance_m(a)
    assert 0 <= ab <= math.pi * EARTH_RADIUS + 1e-6
    assert ab == pytest.approx(ba, abs=1e-6)
    assert a.distance_m(a) == pytest.approx(0, abs=1e-6)
    # Triangle inequality (with room for rounding near antipodes).
    assert a.distance_m(c) <= ab + b.distance_m(c) + 1.0  # a metre: rounding near antipodes


@settings(max_examples=300, deadline=None)
@given(points)
def test_antipodes_are_half_the_circumference_apart(a: Point) -> None:
    antipode = Point(a.lon - 180 if a.lon > 0 else a.lon + 180, -a.lat)
    assert a.distance_m(antipode) == pytest.approx(math.pi * EARTH_RADIUS, rel=1e-6)
