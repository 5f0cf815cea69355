"""Public statistics: no small count is published, or can be worked out from everything published
about a commune's quarter (its figures and all its hamlets' together).

The property test attacks random tables with a reader written here from scratch: it lists, by
brute force, every table of counts that agrees with all that the commune's and its hamlets'
events publish (each hamlet's groups add up to its total, the hamlets to the commune's groups,
everything to the grand total, no count negative), and looks at what each suppressed count
could be. Nothing of ``disclosure``'s max-flow is reused.
"""

from __future__ import annotations

import itertools
import math
from datetime import UTC, date, datetime

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from binhyen.contracts.events.reporting import PublicStatistics
from binhyen.kit.problems import Invalid
from binhyen.reporting.service.public import (
    GROUPS,
    closed_quarters,
    commune_quarter,
    public_period,
)
from binhyen.reporting.service.units import Unit

NOW = datetime(2026, 12, 2, tzinfo=UTC)
COMMUNE = Unit("c", "Kỳ Nam", "commune", "commune", "active", ("p", "c"), None)


def hamlets(n: int) -> list[Unit]:
    """``n`` hamlets of the commune."""
    return [Unit(f"h{i}", f"Thôn {i}", "hamlet", "hamlet", "active", ("p", "c", f"h{i}"), None)
            for i in range(n)]  # fmt: skip


def tables() -> st.SearchStrategy[list[list[int]]]:
    """One to three hamlets × the six groups, mostly zeros and small counts."""
    value = st.sampled_from([0, 0, 0, 0, 1, 1, 2, 3, 4, 6])
    return st.integers(1, 3).flatmap(
        lambda rows: st.lists(
            st.lists(value, min_size=len(GROUPS), max_size=len(GROUPS)),
            min_size=rows,
            max_size=rows,
        )
    )


def published(events: list[PublicStatistics]) -> dict[tuple[str, ...], int | None]:
    """Every entry the events carry: ("cell", unit, group), ("total", unit)."""
    found: dict[tuple[str, ...], int | None] = {}
    for event in events:
        for cell in event.cells:
            found["cell", event.unit_id, cell.group] = cell.count
        found["total", event.unit_id] = event.total.count
    return found


def possible_values(
    truth: list[list[int]], shown: dict[tuple[str, ...], int | None], units: list[Unit]
) -> dict[tuple[int, int], set[int]]:
    """For each suppressed hamlet cell, every value a reader cannot rule out (brute force)."""
    hidden = [
        (r, c) for r in range(len(truth)) for c in range(len(GROUPS))
        if shown["cell", units[r].id, GROUPS[c]] is None
    ]  # fmt: skip
    ranges = [range(truth[r][c] + 4) for r, c in hidden]
    seen: dict[tuple[int, int], set[int]] = {cell: set() for cell in hidden}
    for assigned in itertools.product(*ranges):
        grid = [row[:] for row in truth]
        for (r, c), v in zip(hidden, assigned, strict=True):
            grid[r][c] = v
        if any(
            (t := shown["total", units[r].id]) is not None and sum(grid[r]) != t
            for r in range(len(grid))
        ):
            continue
        if any(
            (t := shown["cell", COMMUNE.id, GROUPS[c]]) is not None
            and sum(row[c] for row in grid) != t
            for c in range(len(GROUPS))
        ):
            continue
        grand = shown["total", COMMUNE.id]
        if grand is not None and sum(map(sum, grid)) != grand:
            continue
        for cell, v in zip(hidden, assigned, strict=True):
            seen[cell].add(v)
    return seen


@settings(max_examples=150, deadline=None)
@given(tables())
def test_no_small_count_is_published_or_can_be_worked_out_across_the_communes_events(
    truth: list[list[int]],
) -> None:
    units = hamlets(len(truth))
    made = commune_quarter(COMMUNE, units, public_period("2026-Q1"), truth, now=NOW)
    shown = published(made.all())
    assert not {1, 2} & {v for v in shown.values() if v is not None}
    hidden = sum(1 for r in range(len(truth)) for c in range(len(GROUPS))
                 if shown["cell", units[r].id, GROUPS[c]] is None)  # fmt: skip
    assume(math.prod(truth[r][c] + 4 for r in range(len(truth)) for c in range(len(GROUPS))
                     if shown["cell", units[r].id, GROUPS[c]] is None) < 300_000)  # fmt: skip
    for (r, c), values in possible_values(truth, shown, units).items():
        true = truth[r][c]
        assert true in values
        if true in (1, 2):
            # A small count is never pinned, and the reader cannot even tell it from 0 or ≥ 3.
            assert len(values) > 1, (truth, r, c, values)
            assert values & {0} or max(values) >= 3, (truth, r, c, values)
    assert hidden >= sum(1 for row in truth for v in row if v in (1, 2))


def test_published_entries_are_the_true_counts() -> None:
    truth = [[5, 0, 3, 0, 0, 4], [7, 3, 0, 0, 3, 0]]
    units = hamlets(2)
    made = commune_quarter(COMMUNE, units, public_period("2026-Q2"), truth, now=NOW)
    shown = published(made.all())
    assert shown["total", "h0"] == 12 and shown["total", "h1"] == 13
    assert shown["cell", "c", "crime"] == 12 and shown["total", "c"] == 25
    assert made.commune.period.key == "2026-Q2" and made.commune.period.kind == "quarter"
    assert [e.unit_id for e in made.all()] == ["c", "h0", "h1"]


def test_a_small_count_is_hidden_with_what_would_give_it_away() -> None:
    truth = [[1, 5, 0, 0, 0, 0], [4, 5, 0, 0, 0, 0]]
    shown = published(
        commune_quarter(COMMUNE, hamlets(2), public_period("2026-Q2"), truth, now=NOW).all()
    )
    assert shown["cell", "h0", "crime"] is None
    # Its row or its column must lose another entry, or the 1 follows by subtraction.
    row_open = shown["cell", "h0", "social_evil"] is not None and shown["total", "h0"] is not None
    column_open = (
        shown["cell", "h1", "crime"] is not None and shown["cell", "c", "crime"] is not None
    )
    assert not row_open and not column_open


@pytest.mark.parametrize("spec", ["2026-03", "2026", "EY2026", "2026-03-01..2026-03-31", "2026-Q5"])
def test_only_quarters_are_public_periods(spec: str) -> None:
    with pytest.raises(Invalid) as raised:
        public_period(spec)
    assert raised.value.field == "period"


def test_quarters_are_published_once_closed_and_settled() -> None:
    on = datetime(2026, 5, 15, tzinfo=UTC)  # 2026-Q1 ended 45 days ago
    assert [q.spec for q in closed_quarters(on, settle_days=30, count=3)] == [
        "2026-Q1", "2025-Q4", "2025-Q3",
    ]  # fmt: skip
    early = datetime(2026, 4, 20, tzinfo=UTC)  # 2026-Q1 ended 20 days ago: not settled
    assert closed_quarters(early, settle_days=30, count=1)[0].spec == "2025-Q4"
    assert closed_quarters(early, settle_days=0, count=1)[0].last_day == date(2026, 3, 31)
