"""The report model: Decree 30's date and number lines, NFC texts, refusals of malformed parts."""

from __future__ import annotations

import unicodedata
from datetime import date

import pytest

from binhyen.reporting.exports.document import (
    AdministrativeReport,
    BarChart,
    Column,
    IssuingBody,
    Paragraph,
    Section,
    Series,
    Signature,
    Table,
    number_and_symbol,
    place_and_date,
)


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 12, 1), "Kỳ Nam, ngày 01 tháng 12 năm 2026"),
        (date(2026, 1, 5), "Kỳ Nam, ngày 05 tháng 01 năm 2026"),
        (date(2026, 2, 28), "Kỳ Nam, ngày 28 tháng 02 năm 2026"),
        (date(2026, 3, 9), "Kỳ Nam, ngày 09 tháng 3 năm 2026"),
        (date(2026, 8, 15), "Kỳ Nam, ngày 15 tháng 8 năm 2026"),
        (date(2026, 11, 10), "Kỳ Nam, ngày 10 tháng 11 năm 2026"),
    ],
)
def test_date_line_pads_days_below_ten_and_only_january_and_february(
    day: date, expected: str
) -> None:
    assert place_and_date("Kỳ Nam", day) == expected


def test_number_line_pads_numbers_below_ten_and_leaves_a_blank_for_the_clerk() -> None:
    assert number_and_symbol(5, "BC-UBND") == "Số: 05/BC-UBND"
    assert number_and_symbol(112, "BC-UBND") == "Số: 112/BC-UBND"
    blank = number_and_symbol(None, "BC-UBND")
    assert blank.startswith("Số:") and blank.endswith("/BC-UBND") and "  " in blank
    with pytest.raises(ValueError, match="starts at 1"):
        number_and_symbol(0, "BC-UBND")


def _report(**overrides: object) -> AdministrativeReport:
    fields: dict[str, object] = {
        "issuer": IssuingBody(name="Ban Chỉ đạo", parent="UBND xã Kỳ Nam"),
        "symbol": "BC-BCĐ",
        "number": 3,
        "place": "Kỳ Nam",
        "issued_on": date(2026, 2, 3),
        "kind": "Báo cáo",
        "title": "Kết quả",
        "sections": [Section("I. CHUNG", [Paragraph("Nội dung.")])],
        "signature": Signature(position="Trưởng ban", signer="Nguyễn Văn Hảo"),
    }
    fields.update(overrides)
    return AdministrativeReport(**fields)  # type: ignore[arg-type]


def test_texts_are_nfc_on_one_line_without_control_characters() -> None:
    decomposed = unicodedata.normalize("NFD", "Kết quả đánh giá thôn Hòa An")
    report = _report(
        title=f"  {decomposed}\n\x00 năm 2026 ", place=unicodedata.normalize("NFD", "Kỳ Nam")
    )
    assert report.title == "Kết quả đánh giá thôn Hòa An năm 2026"
    assert unicodedata.is_normalized("NFC", report.title)
    assert report.date_line == "Kỳ Nam, ngày 03 tháng 02 năm 2026"
    assert report.number_line == "Số: 03/BC-BCĐ"
    table = Table(
        [Column(unicodedata.normalize("NFD", "Thôn"))], [[unicodedata.normalize("NFD", "Đông Yên")]]
    )
    assert table.columns[0].title == "Thôn" and table.rows[0][0] == "Đông Yên"


def test_recipients_lose_the_callers_punctuation_which_the_renderer_adds() -> None:
    report = _report(recipients=["- UBND huyện;", "Công an huyện,", "  ", "Lưu: VT."])
    assert report.recipients == ("UBND huyện", "Công an huyện", "Lưu: VT")


def test_malformed_parts_are_refused_with_what_is_wrong() -> None:
    with pytest.raises(ValueError, match="row 2 has 1 cells for 2 columns"):
        Table([Column("A"), Column("B")], [[1, 2], [3]])
    with pytest.raises(ValueError, match="totals row has 3 cells"):
        Table([Column("A"), Column("B")], [[1, 2]], totals=[1, 2, 3])
    with pytest.raises(ValueError, match="one or two series"):
        BarChart("T", ["a"], [Series("1", [1]), Series("2", [1]), Series("3", [1])])
    with pytest.raises(ValueError, match="has 1 values for 2 labels"):
        BarChart("T", ["a", "b"], [Series("2026", [1])])
    with pytest.raises(ValueError, match="counts"):
        Series("2026", [1, -1])
    with pytest.raises(ValueError, match="counts"):
        Series("2026", [float("nan")])
    with pytest.raises(ValueError, match="the title must not be empty"):
        _report(title=" \n ")
    with pytest.raises(ValueError, match="weight must be positive"):
        Column("A", weight=0)
