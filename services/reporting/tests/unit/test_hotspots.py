"""Hotspot episodes: examples at the thresholds, and properties against a naive count."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from binhyen.reporting.domain.hotspots import HotspotRule, Occurrence, detect

T0 = datetime(2026, 3, 1, tzinfo=UTC)
RULE = HotspotRule(window=timedelta(days=30), min_count=3)


def occ(n: int, day: float, hamlet: str = "h1", category: str = "theft") -> Occurrence:
    return Occurrence(f"i{n}", hamlet, category, T0 + timedelta(days=day))


def test_three_in_thirty_days_make_one_hotspot_starting_at_the_third() -> None:
    found = detect([occ(1, 0), occ(2, 10), occ(3, 29.9)], RULE)
    assert [(h.hotspot_id, h.incident_ids) for h in found] == [("h1:theft:i3", ("i1", "i2", "i3"))]
    assert found[0].started_at == T0 + timedelta(days=29.9)


def test_the_window_is_strict_three_spread_over_exactly_thirty_days_are_not_a_hotspot() -> None:
    assert detect([occ(1, 0), occ(2, 10), occ(3, 30)], RULE) == []


def test_other_hamlets_and_categories_do_not_count_together() -> None:
    items = [occ(1, 0), occ(2, 1, hamlet="h2"), occ(3, 2, category="drugs"), occ(4, 3)]
    assert detect(items, RULE) == []


def test_an_episode_goes_on_while_the_count_holds_and_a_quiet_spell_ends_it() -> None:
    items = [occ(1, 0), occ(2, 1), occ(3, 2), occ(4, 20), occ(5, 60), occ(6, 61), occ(7, 62)]
    found = detect(items, RULE)
    assert [h.hotspot_id for h in found] == ["h1:theft:i3", "h1:theft:i7"]
    assert found[0].incident_ids == ("i1", "i2", "i3", "i4")
    assert found[0].last_at == T0 + timedelta(days=20)
    assert found[0].active_at(T0 + timedelta(days=49), RULE.window)
    assert not found[0].active_at(T0 + timedelta(days=50), RULE.window)


def test_only_the_rules_categories_are_watched() -> None:
    rule = HotspotRule(window=timedelta(days=30), min_count=3, categories=frozenset({"drugs"}))
    theft = [occ(n, n) for n in range(5)]
    drugs = [occ(10 + n, n, category="drugs") for n in range(3)]
    assert [h.category for h in detect(theft + drugs, rule)] == ["drugs"]


@pytest.mark.parametrize(("window", "count"), [(timedelta(0), 3), (timedelta(days=1), 1)])
def test_a_rule_that_cannot_mean_repetition_is_refused(window: timedelta, count: int) -> None:
    with pytest.raises(ValueError, match="must be"):
        HotspotRule(window=window, min_count=count)


occurrences = st.lists(
    st.builds(
        Occurrence,
        incident_id=st.integers(0, 40).map(lambda n: f"i{n}"),
        hamlet_id=st.sampled_from(["h1", "h2"]),
        category=st.sampled_from(["theft", "drugs"]),
        occurred_at=st.integers(0, 120).map(lambda d: T0 + timedelta(days=d)),
    ),
    max_size=40,
)


def _canonical(items: list[Occurrence]) -> list[Occurrence]:
    """What the projection would count: the first copy of each incident id."""
    seen: dict[str, Occurrence] = {}
    for item in items:
        seen.setdefault(item.incident_id, item)
    return list(seen.values())


@settings(max_examples=200)
@given(occurrences, st.randoms(use_true_random=False))
def test_redelivered_and_reordered_incidents_give_the_same_hotspots(
    items: list[Occurrence], rnd: random.Random
) -> None:
    once = _canonical(items)
    again = once + [rnd.choice(once) for _ in range(len(once) // 2)] if once else []
    rnd.shuffle(again)
    assert detect(again, RULE) == detect(once, RULE)


@settings(max_examples=200)
@given(occurrences)
def test_a_hotspot_exists_exactly_where_some_window_holds_enough_incidents(
    items: list[Occurrence],
) -> None:
    once = _canonical(items)
    found = detect(once, RULE)
    for key in {(o.hamlet_id, o.category) for o in once}:
        times = sorted(o.occurred_at for o in once if (o.hamlet_id, o.category) == key)
        # Naively: some incident has min_count incidents (itself included) less than a
        # window before it.
        crowded = any(
            sum(1 for s in times if s <= t and t - s < RULE.window) >= RULE.min_count for t in times
        )
        assert crowded == any((h.hamlet_id, h.category) == key for h in found)
    for hotspot in found:
        members = [o for o in once if o.incident_id in hotspot.incident_ids]
        assert {(o.hamlet_id, o.category) for o in members} == {
            (hotspot.hamlet_id, hotspot.category)
        }
        before = [o for o in members if o.occurred_at <= hotspot.started_at]
        assert len(before) >= RULE.min_count
        assert hotspot.started_at - min(o.occurred_at for o in before) < RULE.window
