"""Rules of the admin-unit tree, without servers."""

from datetime import date

import pytest

from binhyen.contracts.units import UnitKind
from binhyen.registry.domain.units import LEVEL_NAMES, LEVELS, UnitRuleViolation, register_unit


def test_domain_kinds_match_the_contract_vocabulary() -> None:
    assert set(LEVELS) == {k.value for k in UnitKind}
    assert all(LEVEL_NAMES[LEVELS[k.value]] == k.level.value for k in UnitKind)


def test_chain_from_province_to_hamlet_records_ancestors() -> None:
    day = date(2020, 9, 9)
    province = register_unit(
        unit_id="p", kind="province", name="Hà Tĩnh", valid_from=day, parent=None
    )
    town = register_unit(unit_id="t", kind="town", name="Kỳ Anh", valid_from=day, parent=province)
    commune = register_unit(unit_id="c", kind="commune", name="Kỳ Nam", valid_from=day, parent=town)
    hamlet = register_unit(
        unit_id="h", kind="hamlet", name="Tân Thành", valid_from=day, parent=commune
    )
    assert hamlet.ancestor_ids == ("p", "t", "c")
    assert (hamlet.level, commune.level, town.level) == ("hamlet", "commune", "district")


def test_commune_directly_under_province_is_allowed_after_the_2025_reform() -> None:
    province = register_unit(
        unit_id="p", kind="province", name="Hà Tĩnh", valid_from=date(2025, 7, 1), parent=None
    )
    commune = register_unit(
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
    day = date(2020, 1, 1)
    parent = (
        register_unit(unit_id="x", kind=parent_kind, name="X", valid_from=day, parent=None)
        if parent_kind == "province"
        else None
    )
    if parent_kind == "hamlet":
        p = register_unit(unit_id="p", kind="province", name="P", valid_from=day, parent=None)
        c = register_unit(unit_id="c", kind="commune", name="C", valid_from=day, parent=p)
        parent = register_unit(unit_id="h", kind="hamlet", name="H", valid_from=day, parent=c)
    with pytest.raises(UnitRuleViolation) as err:
        register_unit(unit_id="n", kind=kind, name="N", valid_from=day, parent=parent)
    assert err.value.field == field


def test_unit_cannot_start_before_its_parent() -> None:
    province = register_unit(
        unit_id="p", kind="province", name="Hà Tĩnh", valid_from=date(2020, 1, 1), parent=None
    )
    with pytest.raises(UnitRuleViolation) as err:
        register_unit(
            unit_id="c", kind="commune", name="Kỳ Nam", valid_from=date(2019, 1, 1), parent=province
        )
    assert err.value.field == "valid_from"
    assert "01/01/2020" in str(err.value)
