"""The admin-unit aggregate: a node of the administrative tree."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

# Tier of each kind of unit: 1 province, 2 district, 3 commune, 4 hamlet.
LEVELS: dict[str, int] = {
    "province": 1,
    "central_city": 1,
    "district": 2,
    "town": 2,
    "provincial_city": 2,
    "commune": 3,
    "ward": 3,
    "township": 3,
    "special_zone": 3,
    "hamlet": 4,
    "village": 4,
    "residential_group": 4,
}
LEVEL_NAMES = {1: "province", 2: "district", 3: "commune", 4: "hamlet"}


class UnitRuleViolation(Exception):
    """A change would break a rule of the tree."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Unit:
    """An admin unit as it is now."""

    id: str
    kind: str
    name: str
    valid_from: date
    parent_id: str | None = None
    ancestor_ids: tuple[str, ...] = field(default_factory=tuple)
    official_code: str | None = None
    version: int = 1

    @property
    def level(self) -> str:
        """Tier name: province, district, commune or hamlet."""
        return LEVEL_NAMES[LEVELS[self.kind]]


def register_unit(
    *,
    unit_id: str,
    kind: str,
    name: str,
    valid_from: date,
    parent: Unit | None,
    official_code: str | None = None,
) -> Unit:
    """Create a unit under ``parent``, enforcing that tiers go strictly downward."""
    if kind not in LEVELS:
        raise UnitRuleViolation(f"unknown kind of unit: {kind}", field="kind")
    if parent is None:
        if LEVELS[kind] != 1:
            raise UnitRuleViolation(
                f"a {kind} needs a parent unit; only a province has none", field="parent_id"
            )
        return Unit(unit_id, kind, name, valid_from, official_code=official_code)
    if LEVELS[kind] <= LEVELS[parent.kind]:
        raise UnitRuleViolation(
            f"a {kind} cannot be placed under a {parent.kind}: it must be a lower tier",
            field="parent_id",
        )
    if valid_from < parent.valid_from:
        raise UnitRuleViolation(
            f"valid_from is before the parent unit exists ({parent.valid_from:%d/%m/%Y})",
            field="valid_from",
        )
    return Unit(
        unit_id,
        kind,
        name,
        valid_from,
        parent_id=parent.id,
        ancestor_ids=(*parent.ancestor_ids, parent.id),
        official_code=official_code,
    )
