"""Disclosure control: small counts never appear in public statistics, directly or by subtraction.

The examples pin the heuristic's choices; the property test attacks random tables with an
attacker written here from scratch — exact linear algebra and an exact simplex over Fractions on
the table's equations — rather than with the module's max-flow, so a wrong model in the module
cannot agree with itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from binhyen.reporting.domain.disclosure import SMALLEST_PUBLISHED, ProtectedTable, protect

Grid = list[list[int | None]]


def test_a_small_cell_hides_a_rectangle_its_row_and_column_agree_on() -> None:
    cells = [[1, 5, 7], [4, 6, 8], [9, 3, 10]]

    result = protect(cells)

    # The cheapest rectangle through (0, 0): 5 in its row, 4 in its column, 6 opposite.
    assert result == ProtectedTable(
        cells=((None, None, 7), (None, None, 8), (9, 3, 10)),
        row_totals=(13, 18, 22),
        column_totals=(14, 14, 25),
        grand_total=53,
        primary=1,
        secondary=3,
    )
    assert_protected(cells, result)


def test_equal_choices_go_to_the_first_position() -> None:
    result = protect([[1, 5, 5], [5, 5, 5], [5, 5, 5]])

    assert result.cells == ((None, None, 5), (None, None, 5), (5, 5, 5))


@pytest.mark.parametrize("as_column", [False, True])
def test_a_list_with_its_total_hides_the_small_count_and_one_more(as_column: bool) -> None:
    counts = [1, 5, 0, 7]
    cells = [[c] for c in counts] if as_column else [counts]

    result = protect(cells)

    listed = [row[0] for row in result.cells] if as_column else list(result.cells[0])
    total = result.column_totals[0] if as_column else result.row_totals[0]
    assert (listed, total) == ([None, None, 0, 7], 13)
    # The other totals of a one-row table repeat its cells, and are hidden alike.
    repeated = result.row_totals if as_column else result.column_totals
    assert list(repeated) == listed
    assert result.grand_total == 13
    assert_protected(cells, result)


def test_a_row_total_of_two_is_hidden() -> None:
    cells = [[2, 0, 0], [3, 4, 5], [6, 3, 4]]

    result = protect(cells)

    assert result.row_totals == (None, None, 13)
    assert result.cells == ((None, 0, 0), (None, 4, 5), (6, 3, 4))
    assert (result.primary, result.secondary) == (2, 2)  # the 2 and its row total; the 3 and 12
    assert_protected(cells, result)


def test_counts_of_three_or_more_are_all_published() -> None:
    result = protect([[3, 0, 12], [4, 7, 3]])

    assert result == ProtectedTable(
        cells=((3, 0, 12), (4, 7, 3)),
        row_totals=(15, 14),
        column_totals=(7, 7, 15),
        grand_total=29,
        primary=0,
        secondary=0,
    )


def test_a_table_of_zeros_is_published_whole() -> None:
    result = protect([[0, 0, 0], [0, 0, 0]])

    assert result == ProtectedTable(
        cells=((0, 0, 0), (0, 0, 0)),
        row_totals=(0, 0),
        column_totals=(0, 0, 0),
        grand_total=0,
        primary=0,
        secondary=0,
    )


def test_a_zero_opposite_a_small_cell_is_a_complement() -> None:
    cells = [[1, 5], [5, 0]]

    result = protect(cells)

    # Other tables agreeing with the totals: the 1 becomes t, the zero t - 1, for t in 1..6.
    assert result.cells == ((None, None), (None, None))
    assert (result.row_totals, result.column_totals, result.grand_total) == ((6, 5), (6, 5), 11)
    assert_protected(cells, result)


def test_a_zero_beside_a_small_cell_is_no_complement() -> None:
    cells = [[1, 0, 5], [5, 5, 5]]

    result = protect(cells)

    # Hiding the 0 beside the 1 would say: these two add up to 1.
    assert result.cells == ((None, 0, None), (None, 5, None))
    assert_protected(cells, result)


def test_a_small_cell_gets_room_to_reach_three_not_just_one() -> None:
    cells = [[1, 0], [1, 5], [1, 3], [7, 5]]

    result = protect(cells)

    # Without (2, 1) hidden, the hidden cells of column 0 add up to 10 - 7 = 3 and the one in
    # row 1 is at least 6 - 5 = 1 (its partner is at most column 1's 13 - 3 - 5), so the 1 at
    # (0, 0) could be shown to be at most 2 — though no hidden entry is then pinned.
    assert result.cells == ((None, 0), (None, None), (None, None), (7, 5))
    assert result.row_totals == (None, 6, None, 12)
    assert_protected(cells, result)


def test_totals_are_hidden_when_no_cell_can_hide_a_small_one() -> None:
    cells = [[1, 0], [0, 5]]

    result = protect(cells)

    assert result == ProtectedTable(
        cells=((None, 0), (0, 5)),
        row_totals=(None, 5),
        column_totals=(None, 5),
        grand_total=None,
        primary=3,
        secondary=1,
    )
    assert_protected(cells, result)


@pytest.mark.parametrize(
    "cells",
    [[], [[]], [[1, 2], [3]], [[1, -1]], [[1.5]], [[True]]],
    ids=["no rows", "no columns", "ragged", "negative", "fraction", "boolean"],
)
def test_what_is_not_a_table_of_counts_is_refused(cells: list[list[int]]) -> None:
    with pytest.raises(ValueError, match=r"table needs|cells, row 0|counts are integers"):
        protect(cells)


counts = st.integers(0, 4) | st.integers(0, 25)
tables = st.integers(1, 6).flatmap(
    lambda width: st.lists(st.lists(counts, min_size=width, max_size=width), min_size=1, max_size=6)
)


@settings(max_examples=150, deadline=None)
@given(tables)
def test_no_small_count_can_be_worked_out_from_a_protected_table(cells: list[list[int]]) -> None:
    result = protect(cells)

    assert_protected(cells, result)
    if all(not 0 < v < SMALLEST_PUBLISHED for row in extended(cells) for v in row):
        assert result.primary == result.secondary == 0


# The attacker. The table extended by its totals, a grid of R + 1 rows and C + 1 columns: each
# row i adds up to its last entry, and so does each column j. Hidden entries are the unknowns.


def assert_protected(cells: Sequence[Sequence[int]], result: ProtectedTable) -> None:
    """Nothing published is small, and nothing hidden can be pinned or shown to be small."""
    truth, shown = extended(cells), published(result)
    hidden = [(i, j) for i, row in enumerate(shown) for j, v in enumerate(row) if v is None]
    for i, row in enumerate(shown):
        for j, v in enumerate(row):
            assert v is None or v == truth[i][j]
            assert v is None or not 0 < v < SMALLEST_PUBLISHED, f"{v} published at {i, j}"
    assert sum(v is None for row in shown for v in row) == result.primary + result.secondary
    assert result.primary == sum(0 < v < SMALLEST_PUBLISHED for row in truth for v in row)

    # A line whose total is published gives away the sum of its hidden entries: 1 or 2 would
    # bound each of them by it, and 0 would pin them all to 0.
    for line in lines(len(truth), len(truth[0])):
        *parts, (ti, tj) = line
        if shown[ti][tj] is not None and any(shown[i][j] is None for i, j in parts):
            assert sum(truth[i][j] for i, j in parts if shown[i][j] is None) >= SMALLEST_PUBLISHED

    matrix, rhs = equations(shown, hidden)
    rank = rank_of(matrix)
    for k, (i, j) in enumerate(hidden):
        unit = [Fraction(int(column == k)) for column in range(len(hidden))]
        assert rank_of([*matrix, unit]) > rank, f"{truth[i][j]} at {i, j} follows from the rest"
        # With counts >= 0 a reader bounds each hidden entry [lowest, highest]: a small count
        # must be able to reach a published one, a hidden zero to grow, no other to be pinned.
        highest = optimum(matrix, rhs, k)
        if truth[i][j] < SMALLEST_PUBLISHED:
            least = SMALLEST_PUBLISHED if truth[i][j] > 0 else 1
            assert highest is None or highest >= least, f"{truth[i][j]} at {i, j} <= {highest}"
        else:
            lowest = -(optimum(matrix, rhs, k, sign=-1) or 0)
            assert highest is None or highest > lowest, f"{truth[i][j]} at {i, j} is pinned"


def extended(cells: Sequence[Sequence[int]]) -> list[list[int]]:
    """The cells with each row's total after it and the column totals below."""
    rows = [[*row, sum(row)] for row in cells]
    return [*rows, [sum(column) for column in zip(*rows, strict=True)]]


def published(result: ProtectedTable) -> Grid:
    """The protected table in the same extended layout."""
    rows: Grid = [[*row, total] for row, total in zip(result.cells, result.row_totals, strict=True)]
    return [*rows, [*result.column_totals, result.grand_total]]


def lines(height: int, width: int) -> list[list[tuple[int, int]]]:
    """Each row and column of the extended grid, its total last."""
    across = [[(i, j) for j in range(width)] for i in range(height)]
    down = [[(i, j) for i in range(height)] for j in range(width)]
    return across + down


def equations(
    shown: Grid, hidden: list[tuple[int, int]]
) -> tuple[list[list[Fraction]], list[Fraction]]:
    """Each line as (coefficients over the hidden entries, right-hand side): parts - total = 0."""
    index = {position: k for k, position in enumerate(hidden)}
    matrix, rhs = [], []
    for line in lines(len(shown), len(shown[0])):
        coefficients = [Fraction(0)] * len(hidden)
        constant = Fraction(0)
        for n, (i, j) in enumerate(line):
            sign = -1 if n == len(line) - 1 else 1
            value = shown[i][j]
            if value is None:
                coefficients[index[i, j]] += sign
            else:
                constant -= sign * value
        if any(coefficients):
            matrix.append(coefficients)
            rhs.append(constant)
        else:
            assert constant == 0
    return matrix, rhs


def rank_of(matrix: list[list[Fraction]]) -> int:
    """The rank, by Gaussian elimination."""
    rows = [list(row) for row in matrix]
    rank = 0
    for column in range(len(rows[0]) if rows else 0):
        pivot = next((r for r in range(rank, len(rows)) if rows[r][column] != 0), None)
        if pivot is None:
            continue
        rows[rank], rows[pivot] = rows[pivot], rows[rank]
        for r in range(len(rows)):
            if r != rank and rows[r][column] != 0:
                factor = rows[r][column] / rows[rank][column]
                rows[r] = [a - factor * b for a, b in zip(rows[r], rows[rank], strict=True)]
        rank += 1
    return rank


def optimum(
    matrix: list[list[Fraction]], rhs: list[Fraction], k: int, *, sign: int = 1
) -> Fraction | None:
    """The largest sign · x[k] over {matrix · x = rhs, x >= 0} (not empty); None if unbounded.

    Two-phase simplex with Bland's rule; rows left with an artificial are redundant and go.
    """
    m, n = len(matrix), len(matrix[0])
    tableau = []
    for r, (row, b) in enumerate(zip(matrix, rhs, strict=True)):
        flip = -1 if b < 0 else 1  # artificial variables need a right-hand side >= 0
        artificial = [Fraction(int(r == a)) for a in range(m)]
        tableau.append([flip * v for v in row] + artificial + [flip * b])
    basis = [n + r for r in range(m)]
    assert simplex(tableau, basis, [Fraction(0)] * n + [Fraction(-1)] * m) == 0
    for r in range(m):
        if basis[r] >= n:
            column = next((j for j in range(n) if tableau[r][j] != 0), None)
            if column is not None:
                pivot(tableau, basis, r, column)
    kept = [r for r in range(m) if basis[r] < n]
    tableau = [tableau[r][:n] + tableau[r][-1:] for r in kept]
    basis = [basis[r] for r in kept]
    return simplex(tableau, basis, [Fraction(sign * int(j == k)) for j in range(n)])


def simplex(tableau: list[list[Fraction]], basis: list[int], c: list[Fraction]) -> Fraction | None:
    """Maximise c · x from the feasible basis; None if unbounded."""
    while True:
        reduced = [
            c[j] - sum(c[basis[r]] * tableau[r][j] for r in range(len(basis)))
            for j in range(len(c))
        ]
        entering = next((j for j in range(len(c)) if reduced[j] > 0), None)
        if entering is None:
            return sum((c[basis[r]] * tableau[r][-1] for r in range(len(basis))), Fraction(0))
        ratios = [
            (tableau[r][-1] / tableau[r][entering], basis[r], r)
            for r in range(len(basis))
            if tableau[r][entering] > 0
        ]
        if not ratios:
            return None
        pivot(tableau, basis, min(ratios)[2], entering)


def pivot(tableau: list[list[Fraction]], basis: list[int], row: int, column: int) -> None:
    """Make ``column`` basic in ``row``."""
    tableau[row] = [v / tableau[row][column] for v in tableau[row]]
    for r in range(len(tableau)):
        if r != row and tableau[r][column] != 0:
            factor = tableau[r][column]
            tableau[r] = [a - factor * b for a, b in zip(tableau[r], tableau[row], strict=True)]
    basis[row] = column
