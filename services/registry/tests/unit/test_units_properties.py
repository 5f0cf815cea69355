"""Property tests on the unit tree: no cycles ever, and history answers "as of a date"."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from binhyen.registry.domain import units
from binhyen.registry.domain.units import Unit, UnitRuleViolation

KINDS = ["province", "commune", "hamlet"]
Snapshot = dict[str, tuple[str, str | None, tuple[str, ...]] | None]


@dataclass
class Tree:
    """An in-memory registry driven only by the domain functions, like the service."""

    units: dict[str, Unit] = field(default_factory=dict)
    day: date = date(2020, 1, 1)
    snapshots: dict[date, Snapshot] = field(default_factory=dict)

    def apply(self, op: tuple[str, int, int, int, int]) -> None:
        kind, a, b, step, name = op
        self.day += timedelta(days=step)
        ids = sorted(self.units)
        try:
            if kind == "register" or not ids:
                level = KINDS[a % len(KINDS)]
                parents = [u for u in self.units.values() if u.status == "active"]
                parent = parents[b % len(parents)] if parents and level != "province" else None
                new = units.register_unit(
                    unit_id=f"u{len(ids)}",
                    kind=level,
                    name=f"n{name}",
                    valid_from=self.day,
                    parent=parent,
                )
                self.units[new.id] = new
            else:
                unit, other = self.units[ids[a % len(ids)]], self.units[ids[b % len(ids)]]
                if kind == "rename":
                    self._put(units.rename(unit, name=f"n{name}", effective_date=self.day))
                elif kind == "move":
                    moved = units.move(unit, new_parent=other, effective_date=self.day)
                    self._put(moved)
                    self._follow(moved)
                elif kind == "merge":
                    merged = units.merge(unit, successor=other, effective_date=self.day)
                    self._put(merged)
                    self._follow(merged, other)
                elif kind == "dissolve":
                    active = sum(
                        1
                        for u in self.units.values()
                        if u.parent_id == unit.id and u.status == "active"
                    )
                    self._put(
                        units.dissolve(
                            unit, effective_date=self.day, active_children=active, active_below={}
                        )
                    )
        except UnitRuleViolation:
            pass  # refused: nothing changed
        self.snapshots[self.day] = {
            uid: (v.name, v.parent_id, v.ancestor_ids)
            if (v := u.current) and u.status == "active"
            else None
            for uid, u in self.units.items()
        }

    def _put(self, unit: Unit) -> None:
        self.units[unit.id] = unit

    def _follow(self, head: Unit, successor: Unit | None = None) -> None:
        below = [u for u in self.units.values() if head.id in u.ancestor_ids]
        for unit in units.follow(head, below, effective_date=self.day, successor=successor):
            self._put(unit)


ops = st.lists(
    st.tuples(
        st.sampled_from(["register", "register", "rename", "move", "merge", "dissolve"]),
        st.integers(0, 50),
        st.integers(0, 50),
        st.integers(0, 90),
        st.integers(0, 5),
    ),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(ops)
def test_moves_and_merges_never_create_cycles(
    sequence: list[tuple[str, int, int, int, int]],
) -> None:
    tree = Tree()
    for op in sequence:
        tree.apply(op)
        for unit in tree.units.values():
            assert unit.id not in unit.ancestor_ids
            seen: set[str] = set()
            current: Unit | None = unit
            while current is not None and current.parent_id is not None:
                assert current.id not in seen, "cycle"
                seen.add(current.id)
                current = tree.units.get(current.parent_id)
            if unit.status == "active" and unit.parent_id is not None:
                parent = tree.units[unit.parent_id]
                assert parent.status == "active"
                assert unit.ancestor_ids == parent.path


@settings(max_examples=300, deadline=None)
@given(ops)
def test_history_answers_as_of_any_date(sequence: list[tuple[str, int, int, int, int]]) -> None:
    tree = Tree()
    for op in sequence:
        tree.apply(op)
    for day, snapshot in tree.snapshots.items():
        for unit_id, unit in tree.units.items():
            expected = snapshot.get(unit_id)
            version = unit.as_of(day)
            actual = (
                None if version is None else (version.name, version.parent_id, version.ancestor_ids)
            )
            assert actual == expected, (day, unit_id)
