"""XLSX workbooks: what openpyxl reads back, sheet names Excel accepts, memory bounded by a row."""

from __future__ import annotations

import io
import os
import tempfile
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from binhyen.reporting.exports.document import CellValue
from binhyen.reporting.exports.xlsx import Sheet, SheetColumn, iter_xlsx, sheet_names

INCIDENTS: list[tuple[CellValue, ...]] = [
    (1, "Thôn An Hòa", date(2026, 1, 5), 12, 2.5),
    (2, "Thôn Phú Mỹ", date(2026, 2, 28), 15, Decimal("1.25")),
    (3, "Thôn Đông Yên", date(2026, 11, 1), 21, None),
    (4, "=SUM(A1:A9)", None, 0, 0.0),  # text that looks like a formula stays text
]
COLUMNS = [
    SheetColumn("STT", width=6),
    SheetColumn("Thôn, khu dân cư", width=30),
    SheetColumn("Ngày"),
    SheetColumn("Số vụ việc", total=True),
    SheetColumn("Tỷ lệ", total=True),
]


def _workbook(sheets: list[Sheet]) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(b"".join(iter_xlsx(sheets))))


def test_sheets_header_values_and_totals_read_back_with_openpyxl() -> None:
    hamlets = Sheet("Thôn", [SheetColumn("Mã"), SheetColumn("Tên")], iter([(7, "Thôn Hưng Thịnh")]))
    book = _workbook(
        [Sheet("Vụ việc", COLUMNS, iter(INCIDENTS), totals_label="Tổng cộng"), hamlets]
    )

    assert book.sheetnames == ["Vụ việc", "Thôn"]
    sheet = book["Vụ việc"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("STT", "Thôn, khu dân cư", "Ngày", "Số vụ việc", "Tỷ lệ")
    assert rows[1] == (1, "Thôn An Hòa", datetime(2026, 1, 5), 12, 2.5)
    assert rows[2][4] == 1.25 and rows[3][4] is None
    assert rows[4] == (4, "=SUM(A1:A9)", None, 0, 0)
    assert sheet.cell(5, 2).data_type == "s"  # a string, not a formula
    # The totals row: numbers (not formulas) equal to the sums of the rows.
    assert rows[5] == ("Tổng cộng", None, None, 12 + 15 + 21 + 0, 2.5 + 1.25 + 0)
    assert len(rows) == 6
    assert sheet.cell(6, 4).data_type == "n"

    assert sheet.cell(2, 3).number_format == "dd/mm/yyyy"
    assert sheet.cell(1, 1).font.b and not sheet.cell(2, 1).font.b
    assert sheet.freeze_panes == "A2"
    assert sheet.column_dimensions["B"].width == pytest.approx(30, abs=1)
    assert list(book["Thôn"].iter_rows(values_only=True)) == [("Mã", "Tên"), (7, "Thôn Hưng Thịnh")]


def test_date_times_are_written_in_vietnams_local_time() -> None:
    reported = datetime(2026, 3, 1, 17, 30, tzinfo=UTC)  # 00:30 on 2 March in Hà Nội
    book = _workbook([Sheet("Giờ", [SheetColumn("Lúc")], [(reported,)])])
    cell = book.active.cell(2, 1)
    assert cell.value == datetime(2026, 3, 2, 0, 30)
    assert cell.number_format == "dd/mm/yyyy hh:mm"


def test_texts_are_nfc_without_control_characters() -> None:
    decomposed = "Tho\u0302n Đo\u0302ng Ye\u0302n\x07"
    book = _workbook([Sheet("A", [SheetColumn("Tên")], [(decomposed,)])])
    assert book.active.cell(2, 1).value == "Thôn Đông Yên"


def test_sheet_names_are_made_acceptable_to_excel_and_unique() -> None:
    names = sheet_names(
        ["Báo cáo [quý 1/2026]: tổng hợp * các thôn?", "Vụ việc", "vụ việc", "", "Vụ việc"]
    )
    assert names[0] == "Báo cáo -quý 1-2026-- tổng hợp"
    for name in names:
        assert len(name) <= 31 and not set(name) & set("[]:*?/\\")
    assert len({n.casefold() for n in names}) == len(names)
    assert names[1:] == ["Vụ việc", "vụ việc (2)", "Sheet4", "Vụ việc (3)"]
    long = sheet_names(["Kết quả đánh giá khu dân cư an toàn"] * 2)
    assert long == ["Kết quả đánh giá khu dân cư an", "Kết quả đánh giá khu dân cư (2)"]
    book = _workbook([Sheet(n, [SheetColumn("A")], []) for n in ["Vụ/việc", "Vụ:việc"]])
    assert book.sheetnames == ["Vụ-việc", "Vụ-việc (2)"]


def test_rows_of_the_wrong_width_or_unknown_cells_are_refused() -> None:
    with pytest.raises(ValueError, match="row 2: 1 cells for 2 columns"):
        b"".join(iter_xlsx([Sheet("A", [SheetColumn("a"), SheetColumn("b")], [(1, 2), (3,)])]))
    with pytest.raises(TypeError, match="cell 1:1 holds a list"):
        b"".join(iter_xlsx([Sheet("A", [SheetColumn("a")], [([1],)])]))  # type: ignore[list-item]


@pytest.fixture
def temporary_dir(tmp_path: Path) -> Iterator[Path]:
    """A folder standing for the system's temporary folder, where the exports' files go."""
    before = tempfile.tempdir
    tempfile.tempdir = str(tmp_path)
    try:
        yield tmp_path
    finally:
        tempfile.tempdir = before


def _numbers(count: int, fail_at: int | None = None) -> Iterator[tuple[int]]:
    for n in range(count):
        if n == fail_at:
            raise RuntimeError("the database went away")
        yield (n,)


def test_no_temporary_file_is_left_when_the_stream_ends(temporary_dir: Path) -> None:
    chunks = list(iter_xlsx([Sheet("A", [SheetColumn("a")], _numbers(20_000))]))
    assert chunks[0].startswith(b"PK")  # a zip, as every XLSX is
    assert len(chunks) > 1
    assert os.listdir(temporary_dir) == []


def test_no_temporary_file_is_left_when_the_client_goes_away(temporary_dir: Path) -> None:
    chunks = iter_xlsx([Sheet("A", [SheetColumn("a")], _numbers(20_000))])
    next(chunks)
    assert os.listdir(temporary_dir) != []  # the workbook is being sent from its file
    chunks.close()
    assert os.listdir(temporary_dir) == []


def test_no_temporary_file_is_left_when_the_rows_fail(temporary_dir: Path) -> None:
    sheets = [Sheet("A", [SheetColumn("a")], _numbers(20_000, fail_at=5_000))]
    with pytest.raises(RuntimeError, match="went away"):
        b"".join(iter_xlsx(sheets))
    assert os.listdir(temporary_dir) == []


ROWS = 200_000
# Writing these rows keeps every cell in memory without constant_memory: about 89 MiB of
# traced peak in a run of this test with iter_xlsx(..., constant_memory=False), against
# 0.5 MiB with it. The bound sits far from both.
PEAK_BOUND = 16 * 2**20


def test_a_province_sized_export_streams_in_bounded_memory() -> None:
    def rows() -> Iterator[tuple[int, str]]:
        for n in range(ROWS):
            yield n, "Thôn An Hòa"

    sheet = Sheet("Vụ việc", [SheetColumn("Số", total=True), SheetColumn("Thôn")], rows(), "Tổng")
    size = 0
    tracemalloc.start()
    try:
        for chunk in iter_xlsx([sheet]):
            size += len(chunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert size > 1_000_000  # the rows are in the file
    assert peak < PEAK_BOUND, f"peak {peak / 2**20:.1f} MiB"
