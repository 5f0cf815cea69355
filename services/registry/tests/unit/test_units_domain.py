"""Rules of the admin-unit tree and its dated history, without servers."""

from __future__ import annotations

from datetime import date

import pytest

from binhyen.contracts.units import UnitKind
from binhyen.registry.domain import units
from binhyen.registry.domain.units import LEVEL_NAMES, LEVELS, Unit, UnitRuleViolation

D0 = date(2020, 1, 1)


def _chain() -> tuple[Unit, Unit, Unit, Unit]:
    province = units.register_unit(
        unit_id="p", kind="province", name="Hà Tĩnh", valid_from=D0, parent=None
    )
    town = units.register_unit(
        unit_id="t", kind="town", name="Kỳ Anh", valid_from=D0, parent=province
    )
    commune = units.register_unit(
        unit_id="c", kind="commune", name="Kỳ Nam", valid_from=D0, parent=town
    )
    hamlet = units.register_unit(
        unit_id="h", kind="hamlet", name="Tân Thành", valid_from=D0, parent=commune
    )
    return province, town, commune, hamlet


def test_domain_kinds_match_the_contract_vocabulary() -> None:
    assert set(LEVELS) == {k.value for k in UnitKind}
    assert all(LEVEL_NAMES[LEVELS[k.value]] == k.level.value for k in UnitKind)


def test_chain_from_province_to_hamlet_records_ancestors() -> None:
    _, town, commune, hamlet = _chain()
    assert hamlet.ancestor_ids == ("p", "t", "c")
    assert hamlet.path == ("p", "t", "c", "h")
    assert (hamlet.level, commune.level, town.level) == ("hamlet", "commune", "district")


def test_commune_directly_under_province_is_allowed_after_the_2025_reform() -> None:
    province = units.register_unit(
        unit_id="p", kind="province", name="Hà Tĩnh", valid_from=date(2025, 7, 1), parent=None
    )
    commune = units.register_unit(
        unit_id="c", kind="commune", name="Kỳ Nam", valid_from=date(2025, 7, 1), parent=province
    )
    assert commune.ancestor_ids == ("p",)


@pytest.mark.parametrize(
    ("kind", "parent_kind", "field"),
    [
        ("commune", None, "parent_id"),
        ("province", "province", "parent_id"),
        ("commune", "hamlet", "parent_id"),
        ("castle", None, "kind"),
    ],
)
def test_invalid_placement_is_refused_naming_the_field(
    kind: str, parent_kind: str | None, field: str
) -> None:
    parent = {"province": _chain()[0], "hamlet": _chain()[3], None: None}[parent_kind]
    with pytest.raises(UnitRuleViolation) as err:
        units.register_unit(unit_id="n", kind=kind, name="N", valid_from=D0, parent=parent)
    assert err.value.field == field


def test_unit_cannot_start_before_its_parent() -> None:
    province = _chain()[0]
    with pytest.raises(UnitRuleViolation) as err:
        units.register_unit(
            unit_id="c", kind="commune", name="Kỳ Nam", valid_from=date(2019, 1, 1), parent=province
        )
    assert err.value.field == "valid_from"
    assert "01/01/2020" in str(err.value)


def test_rename_keeps_the_old_name_in_history() -> None:
    hamlet = _chain()[3]
    renamed = units.rename(hamlet, name="Tân Thành Mới", effective_date=date(2023, 5, 1))
    assert renamed.name == "Tân Thành Mới"
    assert renamed.version == 2
    version = renamed.as_of(date(2023, 4, 30))
    assert version is not None and version.name == "Tân Thành"
    version = renamed.as_of(date(2023, 5, 1))
    assert version is not None and version.name == "Tân Thành Mới"
    assert renamed.as_of(date(2019, 12, 31)) is None


def test_change_dated_before_the_last_change_is_refused() -> None:
    hamlet = units.rename(_chain()[3], name="A", effective_date=date(2023, 5, 1))
    with pytest.raises(UnitRuleViolation) as err:
        units.rename(hamlet, name="B", effective_date=date(2023, 4, 1))
    assert err.value.field == "effective_date"


def test_move_under_own_descendant_is_refused() -> None:
    _, town, commune, hamlet = _chain()
    other_province = units.register_unit(
        unit_id="p2", kind="province", name="Nghệ An", valid_from=D0, parent=None
    )
    with pytest.raises(UnitRuleViolation):
        units.move(town, new_parent=commune, effective_date=date(2021, 1, 1))
    moved = units.move(town, new_parent=other_province, effective_date=date(2021, 1, 1))
    assert moved.ancestor_ids == ("p2",)
    below = units.follow(moved, [commune, hamlet], effective_date=date(2021, 1, 1))
    assert [u.path for u in below] == [("p2", "t", "c"), ("p2", "t", "c", "h")]
    assert units.follow(moved, below, effective_date=date(2021, 1, 1)) == []


def test_merge_ends_the_unit_and_sends_its_children_to_the_successor() -> None:
    _, town, commune, hamlet = _chain()
    neighbour = units.register_unit(
        unit_id="c2", kind="commune", name="Kỳ Phương", valid_from=D0, parent=town
    )
    merged = units.merge(commune, successor=neighbour, effective_date=date(2025, 7, 1))
    assert (merged.status, merged.successor_id, merged.valid_to) == (
        "merged",
        "c2",
        date(2025, 7, 1),
    )
    assert merged.as_of(date(2025, 6, 30)) is not None
    assert merged.as_of(date(2025, 7, 1)) is None
    (moved,) = units.follow(merged, [hamlet], effective_date=date(2025, 7, 1), successor=neighbour)
    assert moved.parent_id == "c2"
    before = moved.as_of(date(2025, 6, 30))
    assert before is not None and before.parent_id == "c"
    with pytest.raises(UnitRuleViolation) as err:
        units.register_unit(
            unit_id="h2", kind="hamlet", name="X", valid_from=date(2025, 8, 1), parent=merged
        )
    assert "c2" in str(err.value)  # names the successor
    with pytest.raises(UnitRuleViolation):
        units.merge(hamlet, successor=neighbour, effective_date=date(2025, 7, 1))  # wrong tier


def test_dissolve_needs_no_active_children() -> None:
    commune, hamlet = _chain()[2:]
    with pytest.raises(UnitRuleViolation) as err:
        units.dissolve(commune, effective_date=date(2024, 1, 1), active_children=1, active_below={})
    assert err.value.status == 409
    gone = units.dissolve(
        hamlet, effective_date=date(2024, 1, 1), active_children=0, active_below={}
    )
    assert gone.status == "dissolved"
    with pytest.raises(UnitRuleViolation) as err:
        units.rename(gone, name="Y", effective_date=date(2024, 2, 1))
    assert err.value.status == 409


def test_dissolve_needs_no_active_household_resident_or_team() -> None:
    hamlet = _chain()[3]
    left = {"households": 150, "residents": 579, "organisations and teams": 6}
    with pytest.raises(UnitRuleViolation) as err:
        units.dissolve(
            hamlet, effective_date=date(2024, 1, 1), active_children=0, active_below=left
        )
    assert err.value.status == 409
    assert "150 active households" in str(err.value) and "579 active residents" in str(err.value)
    with pytest.raises(UnitRuleViolation):
        units.dissolve(
            hamlet,
            effective_date=date(2024, 1, 1),
            active_children=0,
            active_below={"households": 0, "residents": 0, "organisations and teams": 1},
        )


@pytest.mark.parametrize(
    "day", [date(6390, 1, 1), date(2027, 3, 3), date(1945, 9, 1), date(1, 1, 1)]
)
def test_dates_outside_the_window_are_refused(day: date) -> None:
    with pytest.raises(UnitRuleViolation) as err:
        units.check_date_window(day, today=date(2026, 3, 1), field="effective_date")
    assert err.value.field == "effective_date"
    assert err.value.status == 422


def test_dates_inside_the_window_are_accepted() -> None:
    for day in (date(1945, 9, 2), date(2026, 3, 1), date(2027, 3, 2)):
        units.check_date_window(day, today=date(2026, 3, 1), field="effective_date")
