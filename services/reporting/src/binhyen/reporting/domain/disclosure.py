"""Disclosure control for public statistics: small counts never appear, directly or by subtraction.

Agencies get aggregates only, and a count of 1 or 2 ("one incident of domestic violence in
hamlet X this quarter") points at a household. So a count from 1 to ``SMALLEST_PUBLISHED - 1`` is
never published (*primary* suppression), whether it is a cell or a total, and further entries
are hidden (*secondary* suppression) until nothing published lets a reader work one out.

**Zeros are published.** A zero says the same thing about every person in the hamlet ("nobody
here reported a theft"), so it singles nobody out; suppressing zeros would hide most of a sparse
table for nothing. A zero may still be hidden as a complement (below), where it costs little.

**The attacker.** A reader knows every published entry, the rule that each row and column
adds up to its total, and that no count is negative. What the reader can then say about a
hidden entry is an interval [lowest, highest] over all tables that agree with the publication.
The table is protected when, for every hidden entry,

* *lowest < highest*: nothing hidden is pinned. Without the non-negativity this is the
  classic criterion — a hidden cell is determined by the linear equations iff its edge is a
  bridge of the bipartite graph of hidden entries — and with it, e.g. hidden cells of a row
  whose published total minus its published cells is 0 are all pinned to 0. (A pinned
  complement would give away no small count, but hiding what anyone can compute is a lie);
* *highest >= SMALLEST_PUBLISHED* for a small count: the reader cannot rule out that it is a
  count we would have published, so "it is 1 or 2" never follows. This covers subtraction from
  totals: if the hidden entries of a line with a published total add up to 1 or 2, each of them
  is at most that, which this forbids.

The lowest value is not protected: a reader may learn that a hidden cell is at least 1, i.e.
that something happened — less than a published 3 says. Nor is the pattern of suppression: who
knows this rule knows that a hidden entry may be small. Both are the usual limits of cell
suppression.

**The model.** A table with its totals is a circulation: the grand total flows from a source to
every row (the row totals), from row to column (the cells), from every column to a sink (the
column totals) and from the sink back to the source. Tables that agree with the publication
differ from the true one by a circulation on the hidden entries that keeps every count >= 0:
it may raise an entry at will, lower it at most to 0. So the most a hidden entry can grow is
the largest flow from its head back to its tail through the other hidden entries, with
unlimited room forwards and room ``count`` backwards — a max-flow problem, integral, small.

**The heuristic.** For each small count in position order, push the flow it needs (up to
``SMALLEST_PUBLISHED``) along augmenting paths; where the hidden entries do not offer one, take
the cheapest path through published entries too (Dijkstra) and hide those. Then each complement
so hidden, in position order, needs one unit of room, up or down, found the same way. Cheapest
means: fewest totals (a hamlet's total is the figure agencies use most, so totals go last),
then the smallest sum of counts hidden, then fewest entries, then position — the same table
always gives the same result. A zero costs nothing to hide but can only serve where the
alternative table would raise it (the corner opposite a small cell in a rectangle), never as
the partner that must shrink when a small cell grows (hiding the 0 beside a 1 would say "these
two add up to 1"); the max-flow sees this by itself. A path always exists: raising an entry
together with its totals keeps every equation. Adding hidden entries only adds room, so an
entry once protected stays protected.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

SMALLEST_PUBLISHED = 3
"""Positive counts below this are suppressed (issue 13: "counts below 3 are suppressed")."""

Position = tuple[int, int]
"""(row, column) in the table extended by its totals: column C holds the row totals, row R the
column totals, (R, C) the grand total — for a table of R rows and C columns."""

Cost = tuple[int, int, int]
"""What hiding entries costs: totals hidden, sum of their counts, entries hidden (in that order)."""

_FREE: Cost = (0, 0, 0)


@dataclass(frozen=True)
class ProtectedTable:
    """A table fit to publish: each cell and total is its count, or None where suppressed."""

    cells: tuple[tuple[int | None, ...], ...]
    row_totals: tuple[int | None, ...]
    column_totals: tuple[int | None, ...]
    grand_total: int | None
    primary: int
    """Entries (cells and totals) suppressed because their count is small."""
    secondary: int
    """Entries suppressed so that no small count can be worked out from the others."""


def protect(cells: Sequence[Sequence[int]]) -> ProtectedTable:
    """Suppress the table's small counts and whatever would give them away.

    ``cells`` has a row per hamlet (say) and a column per category; the totals are computed.
    A list with a total is one row: its column totals then repeat the cells and are suppressed
    alike, so a caller publishing the list alone may ignore them.
    """
    table = _Table(cells)
    primary = {p for p, count in table.counts.items() if 0 < count < SMALLEST_PUBLISHED}
    hidden = set(primary)
    pending = [(False, position) for position in sorted(primary)]  # small counts first
    while pending:
        is_complement, position = heapq.heappop(pending)
        if is_complement:
            more = table.unpin(position, hidden)
        else:
            more = table.shelter(position, SMALLEST_PUBLISHED - table.counts[position], hidden)
        for complement in sorted(more):
            hidden.add(complement)
            heapq.heappush(pending, (True, complement))
    return table.publish(hidden, primary)


class _Table:
    """The counts of a table and its totals, as arcs of the circulation described above."""

    def __init__(self, cells: Sequence[Sequence[int]]) -> None:
        _check(cells)
        rows, columns = len(cells), len(cells[0])
        self.rows, self.columns = rows, columns
        counts: dict[Position, int] = {}
        for i, row in enumerate(cells):
            counts.update(((i, j), count) for j, count in enumerate(row))
            counts[i, columns] = sum(row)
        for j in range(columns):
            counts[rows, j] = sum(row[j] for row in cells)
        counts[rows, columns] = sum(counts[i, columns] for i in range(rows))
        self.counts = counts
        # Nodes: row i is i, column j is rows + j, then the source and the sink.
        source, sink = rows + columns, rows + columns + 1
        self.arcs: dict[Position, tuple[int, int]] = {}
        for i, j in counts:
            if i < rows and j < columns:
                self.arcs[i, j] = (i, rows + j)
            elif i < rows:
                self.arcs[i, j] = (source, i)
            elif j < columns:
                self.arcs[i, j] = (rows + j, sink)
            else:
                self.arcs[i, j] = (sink, source)
        # From each node: (entry, forwards?, the node it leads to), in position order.
        self.steps: defaultdict[int, list[tuple[Position, bool, int]]] = defaultdict(list)
        for position in sorted(self.arcs):
            tail, head = self.arcs[position]
            self.steps[tail].append((position, True, head))
            self.steps[head].append((position, False, tail))

    def shelter(self, position: Position, needed: int, hidden: set[Position]) -> set[Position]:
        """The entries to hide besides ``hidden`` so that ``position`` may be ``needed`` more."""
        sheltering = set(hidden)
        change: defaultdict[Position, int] = defaultdict(int)  # of each entry, in the alternative
        tail, head = self.arcs[position]
        raised = 0
        while raised < needed:
            _, path = self._cheapest_path(head, tail, position, sheltering, change)
            sheltering.update(p for p, _ in path)
            room = min(
                [needed - raised]
                + [self.counts[p] + change[p] for p, forwards in path if not forwards]
            )
            for p, forwards in path:
                change[p] += room if forwards else -room
            raised += room
        return sheltering - hidden

    def unpin(self, position: Position, hidden: set[Position]) -> set[Position]:
        """The entries to hide besides ``hidden`` so that ``position`` could differ, up or down."""
        tail, head = self.arcs[position]
        ways = [self._cheapest_path(head, tail, position, hidden, {})]  # raising it
        if self.counts[position] > 0:
            ways.append(self._cheapest_path(tail, head, position, hidden, {}))  # lowering it
        _, path = min(ways, key=lambda way: way[0])  # the first of equals: raising
        return {p for p, _ in path} - hidden

    def _cheapest_path(
        self,
        start: int,
        goal: int,
        excluded: Position,
        hidden: set[Position],
        change: dict[Position, int],
    ) -> tuple[Cost, list[tuple[Position, bool]]]:
        """The cheapest augmenting path from ``start`` to ``goal``, and what hiding it costs."""
        best: dict[int, Cost] = {start: _FREE}
        came_by: dict[int, tuple[Position, bool, int]] = {}
        queue: list[tuple[Cost, int]] = [(_FREE, start)]
        while queue:
            cost, node = heapq.heappop(queue)
            if node == goal:
                break
            if cost > best[node]:
                continue
            for position, forwards, neighbour in self.steps[node]:
                if position == excluded:
                    continue
                if not forwards and self.counts[position] + change.get(position, 0) <= 0:
                    continue  # a count cannot go below zero
                step = _FREE if position in hidden else self._cost(position)
                reached: Cost = (cost[0] + step[0], cost[1] + step[1], cost[2] + step[2])
                if neighbour not in best or reached < best[neighbour]:
                    best[neighbour] = reached
                    came_by[neighbour] = (position, forwards, node)
                    heapq.heappush(queue, (reached, neighbour))
        # Raising an entry with its totals always closes the circulation, so the goal is reached.
        assert goal in came_by, "no augmenting path: the table is inconsistent"
        path: list[tuple[Position, bool]] = []
        node = goal
        while node != start:
            position, forwards, node = came_by[node]
            path.append((position, forwards))
        return best[goal], path[::-1]

    def _cost(self, position: Position) -> Cost:
        """What hiding one published entry costs."""
        is_total = position[0] == self.rows or position[1] == self.columns
        return (int(is_total), self.counts[position], 1)

    def publish(self, hidden: set[Position], primary: set[Position]) -> ProtectedTable:
        """The table with the hidden entries as None."""

        def shown(i: int, j: int) -> int | None:
            return None if (i, j) in hidden else self.counts[i, j]

        rows, columns = self.rows, self.columns
        return ProtectedTable(
            cells=tuple(tuple(shown(i, j) for j in range(columns)) for i in range(rows)),
            row_totals=tuple(shown(i, columns) for i in range(rows)),
            column_totals=tuple(shown(rows, j) for j in range(columns)),
            grand_total=shown(rows, columns),
            primary=len(primary),
            secondary=len(hidden - primary),
        )


def _check(cells: Sequence[Sequence[int]]) -> None:
    """Refuse what is not a rectangular table of counts."""
    if not cells or not cells[0]:
        raise ValueError("a table needs at least one row and one column")
    width = len(cells[0])
    for i, row in enumerate(cells):
        if len(row) != width:
            raise ValueError(f"row {i} has {len(row)} cells, row 0 has {width}: pad with zeros")
        for j, count in enumerate(row):
            if isinstance(count, bool) or not isinstance(count, int) or count < 0:
                raise ValueError(f"cell ({i}, {j}) is {count!r}: counts are integers >= 0")
