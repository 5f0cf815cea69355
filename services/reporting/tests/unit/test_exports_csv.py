"""CSV exports: what Excel needs to show Vietnamese (BOM, separator), RFC 4180, no formulas."""

from __future__ import annotations

import csv
import io
import unicodedata
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from binhyen.reporting.exports.csv import BOM, CHUNK_ROWS, csv_field, iter_csv
from binhyen.reporting.exports.document import CellValue

COLUMNS = ["STT", "Họ và tên chủ hộ", "Thôn", "Ngày", "Tỷ lệ"]
ROWS: list[tuple[CellValue, ...]] = [
    (1, "Nguyễn Thị Ánh", "Thôn Đông Yên", date(2026, 2, 3), 0.5),
    (2, "Trần Văn Ửng; “Út”", "Thôn Phú Mỹ", date(2026, 12, 1), Decimal("12.25")),
    (3, 'Lê "Bé" Hạnh', "Khu dân cư\nNgọc Sơn", None, None),
]


def _read(data: bytes, delimiter: str = ";") -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=delimiter))


def test_starts_with_the_bom_and_round_trips_with_diacritics_intact() -> None:
    data = b"".join(iter_csv(COLUMNS, ROWS))
    assert data.startswith(b"\xef\xbb\xbf")
    assert data.startswith(BOM.encode())
    assert _read(data) == [
        COLUMNS,
        ["1", "Nguyễn Thị Ánh", "Thôn Đông Yên", "2026-02-03", "0,5"],
        ["2", "Trần Văn Ửng; “Út”", "Thôn Phú Mỹ", "2026-12-01", "12,25"],
        ["3", 'Lê "Bé" Hạnh', "Khu dân cư Ngọc Sơn", "", ""],
    ]


def test_records_end_in_crlf_and_fields_are_quoted_only_when_they_must_be() -> None:
    data = b"".join(iter_csv(COLUMNS, ROWS)).decode("utf-8-sig")
    lines = data.split("\r\n")
    assert lines[-1] == "" and "\n" not in data.replace("\r\n", "")
    assert lines[0] == "STT;Họ và tên chủ hộ;Thôn;Ngày;Tỷ lệ"
    assert lines[2] == '2;"Trần Văn Ửng; “Út”";Thôn Phú Mỹ;2026-12-01;12,25'
    assert lines[3] == '3;"Lê ""Bé"" Hạnh";Khu dân cư Ngọc Sơn;;'


def test_comma_separated_files_use_decimal_points() -> None:
    data = b"".join(iter_csv(["Thôn", "Tỷ lệ"], [("Thôn An Hòa, Kỳ Nam", 2.5)], delimiter=","))
    assert data.decode("utf-8-sig") == 'Thôn,Tỷ lệ\r\n"Thôn An Hòa, Kỳ Nam",2.5\r\n'
    assert _read(data, ",")[1] == ["Thôn An Hòa, Kỳ Nam", "2.5"]


def test_text_is_nfc_and_never_taken_for_a_formula() -> None:
    rows = [
        ('=HYPERLINK("http://x")', -3),
        ("+84 912 345 678", 0),
        ("@SUM(A1)", 1),
        ("-", 2),
        (unicodedata.normalize("NFD", "Hòa"), 3),
    ]
    read = _read(b"".join(iter_csv(["Ghi chú", "Số"], rows)))[1:]
    assert read == [
        ['\'=HYPERLINK("http://x")', "-3"],  # numbers keep their sign
        ["'+84 912 345 678", "0"],
        ["'@SUM(A1)", "1"],
        ["'-", "2"],
        ["Hòa", "3"],
    ]


def test_rows_are_streamed_in_chunks() -> None:
    chunks = list(iter_csv(["n"], ((n,) for n in range(CHUNK_ROWS * 3 + 1))))
    assert len(chunks) == 4
    assert chunks[0].startswith(b"\xef\xbb\xbf") and not chunks[1].startswith(b"\xef\xbb\xbf")
    assert _read(b"".join(chunks))[-1] == [str(CHUNK_ROWS * 3)]


def test_fields_are_written_for_any_locale_to_read() -> None:
    assert csv_field(datetime(2026, 3, 1, 17, 30, tzinfo=UTC)) == "2026-03-02 00:30:00"  # Hà Nội
    assert csv_field(date(2026, 1, 5)) == "2026-01-05"
    assert csv_field(1234567) == "1234567"  # no grouping: Excel reads it as a number
    assert csv_field(Decimal("0.10")) == "0,10"
    assert csv_field(Decimal("0.10"), ".") == "0.10"
    with pytest.raises(ValueError, match="row 1: 1 cells for 2 columns"):
        b"".join(iter_csv(["a", "b"], [(1,)]))
