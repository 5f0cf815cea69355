"""Public statistics: small counts never appear, directly or by subtraction from the totals.

The property test attacks random tables with a reader written here from scratch: it lists
every table of counts that agrees with what was published (each group's categories add up to
its total, the groups to the grand total, no count negative) by brute force, and looks at what
each suppressed entry could be. Nothing of the module's max-flow is reused.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from datetime import UTC, date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from binhyen.contracts.events.reporting import StatisticsCell, StatisticsCount
from binhyen.kit.problems import Invalid
from binhyen.reporting.service.public import (
    GROUPS,
    Category,
    Disclosed,
    Hierarchy,
    cells_of,
    disclose,
    periods_at,
    public_period,
    statistics_for,
)
from binhyen.reporting.service.units import Unit

SMALL = (1, 2)


def tables() -> st.SearchStrategy[dict[Category, int]]:
    """One to three groups of one to three categories, counts mostly small."""
    counts = st.sampled_from([0, 0, 1, 1, 2, 3, 4, 5, 7])

    @st.composite
    def build(draw: st.DrawFn) -> dict[Category, int]:
        groups = draw(st.lists(st.sampled_from(GROUPS), min_size=1, max_size=3, unique=True))
        table: dict[Category, int] = {}
        for group in groups:
            for n in range(draw(st.integers(1, 3))):
                table[group, f"{group}_{n}"] = draw(counts)
        return table

    return build()


def readings(
    truth: Mapping[Category, int], shown: Disclosed
) -> dict[tuple[str, ...], tuple[int, set[int]]]:
    """Each suppressed entry's true count and every value a reader cannot rule out.

    Brute force: each suppressed category count ranges over 0..(its count + 3) — enough to
    reach 3 from a small count, or to move by one — and a table is kept when it reproduces
    every published total. Groups are enumerated one by one (they share only the grand total).
    """
    groups = list(shown.groups)
    per_group: dict[str, list[tuple[dict[Category, int], int]]] = {}
    for group in groups:
        mine = [c for c in shown.categories if c[0] == group]
        hidden = [c for c in mine if shown.categories[c] is None]
        fixed = sum(n for c in mine if (n := shown.categories[c]) is not None)
        options = []
        ranges = [range(truth.get(c, 0) + 4) for c in hidden]
        for assigned in itertools.product(*ranges):
            total = fixed + sum(assigned)
            if shown.groups[group] is not None and total != shown.groups[group]:
                continue
            options.append((dict(zip(hidden, assigned, strict=True)), total))
        per_group[group] = options
    seen: dict[tuple[str, ...], set[int]] = {}
    for choice in itertools.product(*(per_group[g] for g in groups)):
        picked: list[tuple[dict[Category, int], int]] = list(choice)
        grand = sum(total for _, total in picked)
        if shown.total is not None and grand != shown.total:
            continue
        for group, (values, total) in zip(groups, picked, strict=True):
            if shown.groups[group] is None:
                seen.setdefault(("G", group), set()).add(total)
            for category, value in values.items():
                seen.setdefault(("C", *category), set()).add(value)
        if shown.total is None:
            seen.setdefault(("T",), set()).add(grand)
    true_of: dict[tuple[str, ...], int] = {("C", *c): n for c, n in truth.items()}
    true_of.update({("G", g): sum(n for c, n in truth.items() if c[0] == g) for g in groups})
    true_of[("T",)] = sum(truth.values())
    return {entry: (true_of.get(entry, 0), values) for entry, values in seen.items()}


def published_values(shown: Disclosed) -> list[int]:
    """Every count published."""
    values = [*shown.groups.values(), *shown.categories.values(), shown.total]
    return [v for v in values if v is not None]


@settings(max_examples=250, deadline=None)
@given(tables())
def test_no_small_count_is_published_or_can_be_worked_out(truth: dict[Category, int]) -> None:
    shown = disclose(truth, list(truth))

    assert not set(published_values(shown)) & set(SMALL)
    for entry, (count, values) in readings(truth, shown).items():
        assert count in values  # the truth agrees with what was published
        assert len(values) > 1, f"{entry} is suppressed but pinned to {values}"
        if count in SMALL:
            assert max(values) >= 3, f"{entry} ({count}) shows as at most {max(values)}"


@settings(max_examples=100, deadline=None)
@given(tables())
def test_published_counts_are_the_true_ones_and_add_up(truth: dict[Category, int]) -> None:
    shown = disclose(truth, list(truth))

    for category, count in shown.categories.items():
        assert count in (None, truth.get(category, 0))
    for group, count in shown.groups.items():
        assert count in (None, sum(n for c, n in truth.items() if c[0] == group))
    assert shown.total in (None, sum(truth.values()))
    # Every group is listed, with its zeros, whether or not anything happened in it.
    assert list(shown.groups) == list(GROUPS)


def test_a_complement_anyone_can_work_out_is_published() -> None:
    # protect() may lean on a zero of another group's row — one every reader knows is 0 —
    # and then hide a count the published totals give away; such a count is shown.
    truth = {("crime", "a"): 1, ("crime", "b"): 8, ("dispute", "c"): 3, ("dispute", "d"): 5}

    shown = disclose(truth, list(truth))

    assert shown.categories["crime", "a"] is None
    for entry, (_, values) in readings(truth, shown).items():
        assert len(values) > 1, entry


def test_a_small_count_with_nothing_to_hide_behind_hides_the_whole_table_but_its_total() -> None:
    truth = {("crime", "theft"): 1, ("crime", "assault"): 5, ("dispute", "land"): 4}
    groups, listed = list(GROUPS), list(truth)
    hierarchy = Hierarchy(groups, listed, truth)

    # Hidden alone, theft is the crime total 6 minus the published 5: exposed.
    assert hierarchy.exposed({("C", "crime", "theft")}) == [("C", "crime", "theft")]
    kept = hierarchy.settle({("C", "crime", "theft")})

    # Only the grand total (10) stays, and what it gives away: the empty groups are 0.
    assert kept == {
        ("C", "crime", "theft"), ("C", "crime", "assault"), ("C", "dispute", "land"),
        ("G", "crime"), ("G", "dispute"),
    }  # fmt: skip
    assert not hierarchy.exposed(kept)


def test_a_small_grand_total_is_hidden_too() -> None:
    truth = {("crime", "theft"): 1, ("fire", "fire"): 1}

    shown = disclose(truth, list(truth))

    assert shown.total is None
    assert shown.categories == {("crime", "theft"): None, ("fire", "fire"): None}


def test_cells_list_each_group_total_then_its_categories() -> None:
    truth = {("crime", "theft"): 4, ("crime", "assault"): 3, ("fire", "fire"): 0}

    cells, total = cells_of(disclose(truth, list(truth)))

    assert total == StatisticsCount(count=7, suppressed=False)
    assert [(c.group, c.category, c.count) for c in cells[:4]] == [
        ("crime", None, 7),
        ("crime", "assault", 3),
        ("crime", "theft", 4),
        ("social_evil", None, 0),
    ]
    assert StatisticsCell(group="fire", category="fire", count=0, suppressed=False) in cells


def test_the_catalogue_is_always_listed_and_counts_follow_the_statistics_rules() -> None:
    unit = Unit("h-1", "Tân Thành", "hamlet", "hamlet", "active", ("c-1", "h-1"), None)
    march = public_period("2026-03")
    incidents = [
        {"group": "crime", "category": "theft", "status": "resolved",
         "occurred_at": datetime(2026, 3, 5, 3, tzinfo=UTC)},
        {"group": "crime", "category": "theft", "status": "reported",
         "occurred_at": datetime(2026, 3, 6, 3, tzinfo=UTC)},
        {"group": "crime", "category": "theft", "status": "in_progress",
         "occurred_at": datetime(2026, 3, 31, 16, 59, tzinfo=UTC)},  # 23:59 local
        {"group": "crime", "category": "theft", "status": "rejected",
         "occurred_at": datetime(2026, 3, 7, tzinfo=UTC)},
        {"group": "crime", "category": "theft", "status": "resolved",
         "occurred_at": datetime(2026, 3, 31, 17, tzinfo=UTC)},  # 1 April local
        {"group": "other", "category": "stray_cattle", "status": "resolved",
         "occurred_at": datetime(2026, 3, 9, tzinfo=UTC)},
    ]  # fmt: skip
    now = datetime(2026, 4, 1, tzinfo=UTC)

    stats = statistics_for(unit, march, incidents, [("other", "stray_cattle")], now=now)

    cell = {(c.group, c.category): c.count for c in stats.cells}
    assert cell["crime", "theft"] == 3
    assert ("crime", "domestic_violence") in cell  # listed even with nothing in it
    assert ("other", "stray_cattle") in cell and cell["other", "stray_cattle"] is None
    assert stats.period.key == "2026-03" and stats.period.ends_on == date(2026, 3, 31)
    assert stats.subject() == "h-1:2026-03"


@pytest.mark.parametrize("spec", ["2026-03-01..2026-03-31", "2026-13", "march", ""])
def test_a_period_public_statistics_do_not_cover_names_the_period(spec: str) -> None:
    with pytest.raises(Invalid) as caught:
        public_period(spec)
    assert caught.value.field == "period"


def test_the_publisher_covers_this_month_the_last_this_quarter_and_this_evaluation_year() -> None:
    # 1 November 2026, 00:30 in Vietnam: a new month, quarter's second month, new year of
    # evaluation.
    now = datetime(2026, 10, 31, 17, 30, tzinfo=UTC)

    assert [p.spec for p in periods_at(now)] == ["2026-11", "2026-10", "2026-Q4", "EY2027"]
