"""The unit tree as the read model knows it, with merged units rolled up to their successors.

A hamlet merged into another keeps its history: its incidents, households and teams count
under the unit it was merged into (followed through every later merge), and so under that
unit's commune. A unit moved to another commune counts under its new parent from then on
(the registry's latest state carries its current ancestors).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from binhyen.kit.problems import NotFound
from binhyen.reporting.projections import UNITS
from binhyen.reporting.store import ReadModel

Document = dict[str, Any]


@dataclass(frozen=True)
class Unit:
    """A unit as last announced."""

    id: str
    name: str
    kind: str
    level: str
    status: str
    path: tuple[str, ...]  # ancestors, root first, then the unit
    successor_id: str | None


class UnitTree:
    """Every known unit; where each one's history counts now."""

    def __init__(self, units: dict[str, Unit]) -> None:
        self.units = units

    @classmethod
    async def load(cls, model: ReadModel) -> UnitTree:
        """Read the whole tree of the read model (a few thousand units for a province)."""
        units: dict[str, Unit] = {}
        async for doc in model[UNITS].find({}):
            units[doc["_id"]] = Unit(
                id=doc["_id"],
                name=doc.get("name", ""),
                kind=doc.get("kind", ""),
                level=doc.get("level", ""),
                status=doc.get("status", "active"),
                path=(*doc.get("ancestor_ids", []), doc["_id"]),
                successor_id=doc.get("successor_id"),
            )
        return cls(units)

    def get(self, unit_id: str) -> Unit:
        """The unit, or a 404 naming the field."""
        unit = self.units.get(unit_id)
        if unit is None:
            raise NotFound("unit_id: no such unit", field="unit_id")
        return unit

    def resolved(self, unit_id: str) -> Unit | None:
        """The unit whose history this one's now belongs to (itself unless merged)."""
        seen: set[str] = set()
        unit = self.units.get(unit_id)
        while unit is not None and unit.successor_id and unit.id not in seen:
            seen.add(unit.id)
            successor = self.units.get(unit.successor_id)
            if successor is None:
                break
            unit = successor
        return unit

    def current_path(self, unit_id: str) -> tuple[str, ...]:
        """The path the unit's history counts under now (its successor's, if merged)."""
        unit = self.resolved(unit_id)
        return unit.path if unit is not None else (unit_id,)

    def subtree(self, unit_id: str) -> list[str]:
        """Ids of every unit whose history counts under ``unit_id`` (merged ones included)."""
        return [u for u in self.units if unit_id in self.current_path(u)]

    def children(self, unit_id: str) -> list[Unit]:
        """The active units directly under ``unit_id``, by name."""
        found = [
            u for u in self.units.values()
            if u.status == "active" and len(u.path) >= 2 and u.path[-2] == unit_id
        ]  # fmt: skip
        return sorted(found, key=lambda u: u.name)

    def hamlets(self, unit_id: str) -> list[Unit]:
        """The active hamlets in the subtree of ``unit_id``, by name."""
        found = [
            u for u in self.units.values()
            if u.status == "active" and u.level == "hamlet" and unit_id in u.path
        ]  # fmt: skip
        return sorted(found, key=lambda u: u.name)
