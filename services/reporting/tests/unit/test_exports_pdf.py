"""PDF reports: what a PDF library reads back from them, their page, their font, long tables."""

from __future__ import annotations

import io
import unicodedata
from datetime import date
from typing import Any

import pytest
from fontTools.ttLib import TTFont  # type: ignore[import-untyped]
from pypdf import PageObject, PdfReader

from binhyen.reporting.exports.document import (
    AdministrativeReport,
    Align,
    BarChart,
    Column,
    IssuingBody,
    Paragraph,
    Section,
    Series,
    Signature,
    Table,
)
from binhyen.reporting.exports.pdf import (
    FONT_FILES,
    MOTTO,
    NATIONAL_TITLE,
    font_files,
    nice_step,
    render_pdf,
)

MM = 72 / 25.4
A4_POINTS = (595.28, 841.89)
# Decree 30/2020/NĐ-CP, Appendix I: the margins' ranges in millimetres.
TOP, BOTTOM, LEFT, RIGHT = (20, 25), (20, 25), (30, 35), (15, 20)

HAMLETS = ("Thôn An Hòa", "Thôn Phú Mỹ", "Thôn Đông Yên", "Khu dân cư Ngọc Sơn")
THIS_YEAR = (12, 15, 21, 27)
LAST_YEAR = (9, 10, 12, 14)


def _report(sections: list[Section] | None = None) -> AdministrativeReport:
    table = Table(
        columns=[
            Column("STT", Align.CENTER, 0.6),
            Column("Thôn, khu dân cư", Align.LEFT, 3),
            Column("Năm 2026", Align.RIGHT),
            Column("Năm 2025", Align.RIGHT),
        ],
        rows=[
            (n, hamlet, now, before)
            for n, (hamlet, now, before) in enumerate(
                zip(HAMLETS, THIS_YEAR, LAST_YEAR, strict=True), 1
            )
        ],
        totals=(None, "Tổng cộng", sum(THIS_YEAR), sum(LAST_YEAR)),
        caption="Bảng 1. Số vụ việc về an ninh, trật tự theo thôn",
    )
    chart = BarChart(
        "Biểu đồ 1. Số vụ việc năm 2026 so với năm 2025",
        labels=HAMLETS,
        series=[Series("Năm 2026", THIS_YEAR), Series("Năm 2025", LAST_YEAR)],
        unit="vụ việc",
    )
    default = [
        Section(
            "I. TÌNH HÌNH CHUNG",
            [
                Paragraph(
                    "Tình hình an ninh, trật tự trên địa bàn xã cơ bản ổn định; không để xảy ra "
                    "tình huống đột xuất, bất ngờ. Các thôn duy trì tốt mô hình tự quản."
                )
            ],
        ),
        Section("II. KẾT QUẢ ĐÁNH GIÁ", [table, chart]),
    ]
    return AdministrativeReport(
        issuer=IssuingBody(
            parent="UBND xã Kỳ Nam",
            name="Ban Chỉ đạo phong trào toàn dân bảo vệ an ninh Tổ quốc",
        ),
        symbol="BC-BCĐ",
        number=12,
        place="Kỳ Nam",
        issued_on=date(2026, 12, 1),
        kind="Báo cáo",
        title="Kết quả đánh giá, phân loại khu dân cư năm 2026",
        sections=default if sections is None else sections,
        signature=Signature(
            authority="TM. Ban Chỉ đạo", position="Trưởng ban", signer="Nguyễn Văn Hảo"
        ),
        recipients=["UBND huyện", "Công an huyện", "Lưu: VT, BCĐ"],
    )


def _pages(pdf: bytes) -> list[str]:
    """Each page's text as a PDF library extracts it, NFC, white space runs as one space."""
    reader = PdfReader(io.BytesIO(pdf))
    return [
        " ".join(unicodedata.normalize("NFC", page.extract_text()).split()) for page in reader.pages
    ]


def _text_positions(page: PageObject) -> list[tuple[str, float, float]]:
    """Each piece of text on the page with where it starts (points from the bottom left)."""
    found: list[tuple[str, float, float]] = []

    def visit(text: str, cm: Any, tm: Any, font: Any, size: Any) -> None:
        if text.strip():
            found.append((text.strip(), float(tm[4]), float(tm[5])))

    page.extract_text(visitor_text=visit)
    return found


@pytest.fixture(scope="module")
def sample() -> bytes:
    return render_pdf(_report())


def test_text_read_back_holds_the_vietnamese_headings_exactly(sample: bytes) -> None:
    text = " ".join(_pages(sample))
    for expected in (
        NATIONAL_TITLE,
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        MOTTO,
        "Độc lập - Tự do - Hạnh phúc",
        "UBND XÃ KỲ NAM",
        "BAN CHỈ ĐẠO PHONG TRÀO TOÀN DÂN BẢO VỆ AN NINH TỔ QUỐC",
        "Số: 12/BC-BCĐ",
        "Kỳ Nam, ngày 01 tháng 12 năm 2026",
        "BÁO CÁO Kết quả đánh giá, phân loại khu dân cư năm 2026",
        "I. TÌNH HÌNH CHUNG",
        "II. KẾT QUẢ ĐÁNH GIÁ",
        "Bảng 1. Số vụ việc về an ninh, trật tự theo thôn",
        "STT Thôn, khu dân cư Năm 2026 Năm 2025",
        "4 Khu dân cư Ngọc Sơn 27 14",
        "Tổng cộng 75 45",
        "TM. BAN CHỈ ĐẠO TRƯỞNG BAN Nguyễn Văn Hảo",
        "Nơi nhận: - UBND huyện; - Công an huyện; - Lưu: VT, BCĐ.",
    ):
        assert expected in text, expected


def test_bar_chart_has_its_axis_values_bar_values_and_legend(sample: bytes) -> None:
    text = " ".join(_pages(sample))
    chart = text[text.index("Biểu đồ 1. Số vụ việc năm 2026 so với năm 2025") :]
    assert "(vụ việc) 0 10 20 30" in chart  # the axis, in steps of 10 up to above the largest bar
    assert "27 14 Khu dân cư Ngọc Sơn" in chart  # both bars of a group, then its label
    assert "Năm 2026 Năm 2025" in chart  # the legend


def test_page_is_a4_portrait_and_the_font_is_liberation_serif_embedded(sample: bytes) -> None:
    reader = PdfReader(io.BytesIO(sample))
    fonts = set()
    for page in reader.pages:
        assert (float(page.mediabox.width), float(page.mediabox.height)) == pytest.approx(A4_POINTS)
        resources: Any = page["/Resources"]
        for reference in resources["/Font"].values():
            font = reference.get_object()
            descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
            assert "/FontFile2" in descriptor  # the TrueType program is in the file
            fonts.add(str(font["/BaseFont"]).split("+")[-1])
    assert fonts == {
        "LiberationSerif",
        "LiberationSerifBold",
        "LiberationSerifItalic",
        "LiberationSerifBoldItalic",
    }


def test_text_stays_within_the_decree_margins_and_page_numbers_start_on_page_two() -> None:
    long = Table(
        [Column("Thôn"), Column("Số vụ", Align.RIGHT)], [(f"Thôn {n}", n) for n in range(80)]
    )
    pdf = render_pdf(_report([Section("I. DANH SÁCH", [long])]))
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) >= 2
    width, height = A4_POINTS
    for number, page in enumerate(reader.pages, start=1):
        found = _text_positions(page)
        body = [(t, x, y) for t, x, y in found if y < height - TOP[0] * MM]
        top = [(t, x, y) for t, x, y in found if y >= height - TOP[0] * MM]
        for text, x, y in body:
            assert x >= LEFT[0] * MM - 0.5, (number, text, x)
            assert x < width - RIGHT[0] * MM, (number, text, x)
            assert y >= BOTTOM[0] * MM, (number, text, y)
        # The left margin is not wider than the decree's either: lines start at most 2 mm in
        # (a table cell's padding) from it.
        assert min(x for _, x, _ in body) <= (LEFT[1] + 2) * MM
        # Nothing but the page number is in the top margin, and page 1 has none.
        assert [t for t, _, _ in top] == ([] if number == 1 else [str(number)])


def test_a_long_table_spans_pages_and_repeats_its_header_row() -> None:
    rows = [(n, f"Hộ gia đình số {n}", n % 5) for n in range(1, 201)]
    table = Table(
        [Column("STT", Align.CENTER), Column("Hộ", weight=3), Column("Số vụ", Align.RIGHT)],
        rows,
        totals=(None, "Tổng cộng", sum(r[2] for r in rows)),
    )
    pages = _pages(render_pdf(_report([Section("I. DANH SÁCH", [table])])))
    with_rows = [p for p in pages if "Hộ gia đình số" in p]
    assert len(with_rows) >= 3
    for page in with_rows:
        assert page.count("STT Hộ Số vụ") == 1  # the header row, once on each page
    text = " ".join(pages)
    for n in (1, 57, 128, 200):
        assert f"{n} Hộ gia đình số {n} {n % 5}" in text
    assert text.count("Hộ gia đình số") == 200
    assert f"Tổng cộng {sum(r[2] for r in rows)}" in with_rows[-1]


def test_vendored_fonts_cover_every_vietnamese_letter() -> None:
    vowels = "aăâeêioôơuưy"
    tones = (
        "",
        "\u0300",
        "\u0301",
        "\u0303",
        "\u0309",
        "\u0323",
    )  # none, huyền, sắc, ngã, hỏi, nặng
    letters = {unicodedata.normalize("NFC", v + t) for v in vowels + vowels.upper() for t in tones}
    letters |= set("đĐ") | set("ạảãấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ")
    assert all(len(letter) == 1 for letter in letters)  # precomposed code points
    assert len(letters) == 12 * 2 * 6 + 2
    files = dict(font_files())
    assert sorted(files) == sorted(FONT_FILES.values())
    for name, data in files.items():
        font = TTFont(io.BytesIO(data))
        assert font["name"].getDebugName(5).startswith("Version 2."), name
        cmap = font.getBestCmap()
        missing = sorted(letter for letter in letters if ord(letter) not in cmap)
        assert missing == [], (name, missing)


@pytest.mark.parametrize(
    ("largest", "step"), [(0, 1), (3, 1), (27, 10), (46, 10), (120, 50), (1999, 500), (0.4, 1)]
)
def test_chart_axis_steps_are_round_numbers(largest: float, step: float) -> None:
    assert nice_step(largest) == step


def test_crowded_and_empty_charts_and_long_paragraphs_still_render() -> None:
    labels = [f"Tổ dân phố {n}" for n in range(1, 26)]
    crowded = BarChart(
        "Biểu đồ 2. Theo tổ", labels, [Series("Năm 2026", [n * 40 for n in range(25)])]
    )
    empty = BarChart("Biểu đồ 3. Không có vụ việc", ["Thôn An Hòa"], [Series("Năm 2026", [0])])
    long = Paragraph("Các thôn duy trì tốt mô hình tự quản về an ninh, trật tự. " * 120)
    report = _report([Section("I. CHUNG", [long, crowded, empty])])
    pages = _pages(render_pdf(report))
    # Without the page numbers, which fall inside the sentences running over a page break.
    text = " ".join(page.removeprefix(f"{n} ") for n, page in enumerate(pages, start=1))
    assert len(pages) >= 3
    assert text.count("Các thôn duy trì tốt mô hình tự quản về an ninh, trật tự.") == 120
    assert "Biểu đồ 2. Theo tổ" in text and "960" in text  # the largest bar's value
    assert "Biểu đồ 3. Không có vụ việc (vụ việc)" not in text  # no unit given, none drawn
    assert "Biểu đồ 3. Không có vụ việc 0 1" in text  # an axis from 0 to 1 for an empty chart
