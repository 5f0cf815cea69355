"""The import layout: headers, cell values, grouping rows into households, bilingual errors."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from binhyen.kit.text import fold
from binhyen.registry.domain import imports
from binhyen.registry.domain.households import Household, Pledge
from binhyen.registry.domain.imports import COLUMNS, FORMULA, LayoutError, find_header, parse_rows
from binhyen.registry.domain.people import Person

NOW = datetime(2026, 3, 1, tzinfo=UTC)
HEADERS = [c.header for c in COLUMNS]


def _parse(rows: list[list[Any]], header: list[str] | None = None) -> imports.Parsed:
    head = find_header([header or HEADERS], first_row=1, first_column=0)
    return parse_rows(((n, r) for n, r in enumerate(rows, start=2)), head, now=NOW)


def _row(**cells: Any) -> list[Any]:
    return [cells.get(c.key) for c in COLUMNS]


def test_header_keys_agree_with_kit_fold() -> None:
    for text in ("Mã hộ", "Họ và tên", "ĐỒNG Ý NHẬN CẢNH BÁO", "Số điện thoại"):
        assert imports.key(text) == fold(text)


@pytest.mark.parametrize(
    "names",
    [
        ["ma ho", "DIA CHI", "Ho Va Ten"],
        ["Household code", "Address", "Full name", "Phone"],
        ["STT", "Mã hộ / Household code", "Địa chỉ", "Họ và tên (*)"],
    ],
)
def test_headers_match_without_case_or_diacritics_and_in_english(names: list[str]) -> None:
    header = find_header([names], first_row=1, first_column=0)
    assert {"household_code", "address", "full_name"} <= set(header.columns)


def test_a_title_row_above_the_header_is_skipped() -> None:
    rows = [["DANH SÁCH HỘ GIA ĐÌNH THÔN TÂN THÀNH"], [], HEADERS]
    assert find_header(rows, first_row=1, first_column=0).row == 3


def test_missing_required_columns_are_named_in_both_languages() -> None:
    with pytest.raises(LayoutError) as caught:
        find_header([["Mã hộ", "Năm sinh"]], first_row=1, first_column=0)
    assert caught.value.columns == ("Địa chỉ", "Họ và tên")
    assert "thiếu cột" in caught.value.message.vi and "missing" in caught.value.message.en


def test_rows_group_into_households_with_inherited_code_and_address() -> None:
    parsed = _parse(
        [
            _row(
                household_code="H1",
                address="Xóm 1",
                full_name="Nguyễn Văn Hảo",
                phones="0912345678",
            ),
            _row(head="x", full_name="Trần Thị Lan", birth_year=1978.0),
            _row(
                household_code="H2",
                address="Xóm 2",
                head="x",
                full_name="Lê Văn Nam",
                pledge_signed_on=date(2026, 1, 15),
            ),
        ]
    )
    assert parsed.errors == []
    first, second = parsed.households
    assert (first.code, first.address, first.rows, first.head_index) == ("H1", "Xóm 1", (2, 3), 1)
    assert first.residents[0].phones == ("+84912345678",)
    assert first.residents[1].birth_year == 1978
    assert second.pledge == imports.PledgeRow(2026, date(2026, 1, 15), imports.DEFAULT_COMMITMENTS)


@pytest.mark.parametrize(
    ("cells", "column", "english"),
    [
        ({"phones": "12345"}, "F", "phone number"),
        ({"birth_year": 1800}, "E", "birth year must be between 1900"),
        ({"birth_year": "abc"}, "E", "4-digit year"),
        ({"alert_channels": "sms"}, "G", "consent"),
        ({"alert_consent": "maybe"}, "G", "Alert consent"),
        ({"full_name": FORMULA}, "D", "formulas are not allowed; paste values"),
        ({"pledge_signed_on": "31/02/2026"}, "J", "not a valid date"),
        ({"pledge_signed_on": "15/01/2024", "pledge_year": 2026}, "J", "a pledge for 2026"),
        ({"head": "maybe"}, "C", "write x for the head"),
    ],
)
def test_a_bad_cell_names_its_row_and_column_in_both_languages(
    cells: dict[str, Any], column: str, english: str
) -> None:
    row = _row(household_code="H1", address="Xóm 1", full_name="Nguyễn Văn Hảo")
    for k, v in cells.items():
        row[[c.key for c in COLUMNS].index(k)] = v
    parsed = _parse([_row(household_code="H0", address="X", full_name="A"), row])
    [error] = parsed.errors
    assert (error.row, error.column) == (3, column)
    assert english in error.en
    assert error.vi
    assert error.vi != error.en
    assert [h.code for h in parsed.households] == ["H0"]


def test_a_code_used_again_further_down_is_an_error_naming_the_first_row() -> None:
    parsed = _parse(
        [
            _row(household_code="H1", address="X", full_name="A"),
            _row(household_code="H2", address="Y", full_name="B"),
            _row(household_code="h1", address="X", full_name="C"),
        ]
    )
    [error] = parsed.errors
    assert (error.row, error.column) == (4, "A")
    assert "row 2" in error.en


def test_two_heads_and_a_different_address_in_one_household_are_errors() -> None:
    parsed = _parse(
        [
            _row(household_code="H1", address="Xóm 1", head="x", full_name="A"),
            _row(household_code="H1", address="xom 1", head="x", full_name="B"),
            _row(household_code="H1", address="Xóm 9", full_name="C"),
        ]
    )
    assert [(e.row, e.column) for e in parsed.errors] == [(3, "C"), (4, "B")]
    assert parsed.households == []


def test_a_first_row_without_code_is_an_error() -> None:
    [error] = _parse([_row(address="X", full_name="A")]).errors
    assert (error.row, error.field) == (2, "household_code")


def test_export_rows_re_parse_to_the_same_data() -> None:
    head = Person("p1", "u", "h", "Nguyễn Văn Hảo", 1975, ("+84912345678",), "vi", ("sms",), True)
    other = Person("p2", "u", "h", "Trần Thị Lan", 1978)
    household = Household(
        "h",
        "u",
        "Xóm 3",
        head_person_id="p1",
        registration_code="HK1",
        pledges=(Pledge(2026, date(2026, 1, 20), "clerk", ("no_drugs", "keep_order")),),
    )
    header, *rows = list(imports.export_rows([(household, [other, head])]))
    parsed = _parse(rows, header)  # type: ignore[arg-type]
    assert parsed.errors == []
    [found] = parsed.households
    assert found.code == "HK1" and found.head_index == 0
    assert [p.full_name for p in found.residents] == ["Nguyễn Văn Hảo", "Trần Thị Lan"]
    assert found.residents[0].phones == ("+84912345678",)
    assert found.residents[0].alert_channels == ("sms",)
    assert found.pledge == imports.PledgeRow(2026, date(2026, 1, 20), ("no_drugs", "keep_order"))


def test_column_letters() -> None:
    assert [imports.column_letter(i) for i in (0, 25, 26, 51, 701, 702)] == [
        "A",
        "Z",
        "AA",
        "AZ",
        "ZZ",
        "AAA",
    ]


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("full_name", "Nguyễn\u001b[2J Văn Hảo"),
        ("address", "Xóm 1\u0000, thôn Tân Thành"),
        ("household_code", "H\u00851"),
        ("phones", "0912\u0007345678"),
    ],
)
def test_a_cell_with_control_characters_is_an_error_naming_its_field(key: str, value: str) -> None:
    row = _row(household_code="H1", address="Xóm 1", full_name="Nguyễn Văn Hảo")
    row[[c.key for c in COLUMNS].index(key)] = value
    parsed = _parse([row])
    assert {(e.row, e.field) for e in parsed.errors} == {(2, key)}
    assert any("control characters" in e.en for e in parsed.errors)
    assert parsed.households == []
    assert all(value not in e.en + e.vi for e in parsed.errors)


def test_line_breaks_in_a_cell_become_spaces() -> None:
    parsed = _parse([_row(household_code="H1", address="Xóm 1,\nthôn\tTân", full_name="Lê A")])
    assert parsed.errors == []
    assert parsed.households[0].address == "Xóm 1, thôn Tân"


def test_export_of_data_stored_with_control_characters_is_a_valid_workbook() -> None:
    import io

    from openpyxl import Workbook, load_workbook

    person = Person("p1", "u", "h", "Nguyễn\u001b[2J Văn\u0000 Hảo", 1975)
    household = Household("h", "u", "Xóm 3\u0007, thôn Tân Thành", head_person_id="p1")
    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    for row in imports.export_rows([(household, [person])]):
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    rows = list(load_workbook(out).active.iter_rows(values_only=True))
    assert rows[1][1:4] == ("Xóm 3, thôn Tân Thành", "x", "Nguyễn[2J Văn Hảo")
