"""PDF of an administrative report, laid out as Decree 30/2020/NĐ-CP, Appendix I, prescribes.

What the decree fixes and this module draws: A4 portrait; margins top and bottom 20–25 mm, left
30–35 mm, right 15–20 mm; the national title in capitals, bold, 12–13 pt, and the motto in bold
one point larger, a solid line under it as long as it; the issuing body top left in capitals (the
managing body above it, not bold) with a short line under it (1/3 to 1/2 of the text); the
number under the body; the place-and-date line in italics under the motto; the kind of document
in bold capitals and its summary in bold, centred, a short line under the summary; body text
13–14 pt, justified, first lines indented 1–1.27 cm, at least 6 pt between paragraphs, line
spacing from single to 1.5; page numbers from page 2 on, centred in the top margin; the
signature block at the right (authority and position in bold capitals, the signer's name in
bold) and "Nơi nhận" at the left (12 pt bold italic, the list 11 pt, "-" before each line, ";"
after it, "." after the last). The decree names Times New Roman; the vendored Liberation Serif
2.x has its metrics and every Vietnamese letter, and is free to embed (SIL OFL 1.1).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from datetime import date
from decimal import Decimal
from importlib.resources import as_file, files
from typing import cast

from fpdf import FPDF
from fpdf.fonts import FontFace

from binhyen.reporting.exports.document import (
    AdministrativeReport,
    BarChart,
    CellValue,
    Paragraph,
    Section,
    Table,
)

FONT = "LiberationSerif"
FONT_FILES = {
    "": "LiberationSerif-Regular.ttf",
    "B": "LiberationSerif-Bold.ttf",
    "I": "LiberationSerif-Italic.ttf",
    "BI": "LiberationSerif-BoldItalic.ttf",
}

NATIONAL_TITLE = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO = "Độc lập - Tự do - Hạnh phúc"
RECIPIENTS_LABEL = "Nơi nhận:"

# Millimetres, within the decree's ranges.
MARGIN_TOP = 20.0
MARGIN_BOTTOM = 20.0
MARGIN_LEFT = 30.0
MARGIN_RIGHT = 15.0
PAGE_NUMBER_Y = 10.0  # in the top margin
FIRST_LINE_INDENT = 10.0
SIGNATURE_SPACE = 28.0  # room for the handwritten signature and the seal

# Points.
HEADER_SIZE = 12  # national title and issuing body
MOTTO_SIZE = 13  # one point above the national title
NUMBER_SIZE = 13
DATE_SIZE = 13
KIND_SIZE = 14
BODY_SIZE = 13
TABLE_SIZE = 11
CHART_SIZE = 9
PAGE_NUMBER_SIZE = 13
RECIPIENTS_LABEL_SIZE = 12
RECIPIENTS_SIZE = 11
SIGNATURE_SIZE = 13

LINE_SPACING = 1.25  # times the font size: between single (about 1.15) and 1.5 lines
PARAGRAPH_GAP = 6 * 25.4 / 72  # 6 pt in millimetres
THIN = 0.2
RULE = 0.3

# Grey levels print the same on every office printer; series 1 dark, series 2 light.
SERIES_FILLS = (70, 185)
GRID_GREY = 200


def render_pdf(report: AdministrativeReport) -> bytes:
    """The report as a PDF document (A4, Decree 30 layout, Liberation Serif embedded)."""
    with _fonts() as paths:
        pdf = _ReportPdf()
        for style, path in paths.items():
            pdf.add_font(FONT, style, path)
        pdf.set_title(f"{report.kind} {report.title}")
        pdf.set_author(report.issuer.name)
        pdf.set_creator("Bình Yên")
        pdf.set_lang("vi-VN")
        pdf.add_page()
        _heading(pdf, report)
        _kind_and_title(pdf, report)
        for section in report.sections:
            _section(pdf, section)
        _closing(pdf, report)
        return bytes(pdf.output())


@contextmanager
def _fonts() -> Iterator[dict[str, str]]:
    # as_file gives a real path even when the package is imported from a zip.
    folder = files("binhyen.reporting.exports").joinpath("fonts")
    with ExitStack() as stack:
        yield {
            style: str(stack.enter_context(as_file(folder.joinpath(name))))
            for style, name in FONT_FILES.items()
        }


def font_files() -> Iterator[tuple[str, bytes]]:
    """The vendored font files, by name, with their bytes (for checks of glyph coverage)."""
    folder = files("binhyen.reporting.exports").joinpath("fonts")
    for name in FONT_FILES.values():
        yield name, folder.joinpath(name).read_bytes()


class _ReportPdf(FPDF):
    def __init__(self) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.set_margins(MARGIN_LEFT, MARGIN_TOP, MARGIN_RIGHT)
        self.set_auto_page_break(True, MARGIN_BOTTOM)
        self.set_line_width(THIN)

    def header(self) -> None:
        """Page numbers from the second page on, centred in the top margin."""
        if self.page_no() < 2:
            return
        self.set_font(FONT, "", PAGE_NUMBER_SIZE)
        self.set_xy(self.l_margin, PAGE_NUMBER_Y)
        self.cell(self.epw, _line(PAGE_NUMBER_SIZE), str(self.page_no()), align="C")
        self.set_y(self.t_margin)


def _line(size: float) -> float:
    """Height of a line of text of ``size`` points, in millimetres."""
    return size * LINE_SPACING * 25.4 / 72


def _rule(pdf: FPDF, centre: float, y: float, length: float, width: float = RULE) -> None:
    pdf.set_line_width(width)
    pdf.line(centre - length / 2, y, centre + length / 2, y)
    pdf.set_line_width(THIN)


def _widest(pdf: FPDF, lines: Sequence[str]) -> float:
    return max((pdf.get_string_width(line) for line in lines), default=0.0)


def _wrapped(pdf: FPDF, width: float, height: float, text: str) -> list[str]:
    lines = cast("list[str]", pdf.multi_cell(width, height, text, dry_run=True, output="LINES"))
    return [str(line) for line in lines]


def _balanced(pdf: FPDF, width: float, height: float, text: str) -> float:
    """The narrowest width that wraps ``text`` on as few lines as ``width`` does.

    Centred headings then break into lines of similar length instead of leaving one word alone
    on the last line.
    """
    count = len(_wrapped(pdf, width, height, text))
    low, high = width / count, width
    while high - low > 0.5:
        middle = (low + high) / 2
        if len(_wrapped(pdf, middle, height, text)) > count:
            low = middle
        else:
            high = middle
    return high


def _heading(pdf: _ReportPdf, report: AdministrativeReport) -> None:
    """Issuing body and number (left), national title, motto and date line (right)."""
    top = pdf.get_y()
    pdf.set_font(FONT, "B", MOTTO_SIZE)
    motto_width = pdf.get_string_width(MOTTO)
    pdf.set_font(FONT, "B", HEADER_SIZE)
    right_width = max(pdf.get_string_width(NATIONAL_TITLE), motto_width) + 4
    gap = 2.0
    left_width = pdf.epw - right_width - gap
    left_x = pdf.l_margin
    right_x = pdf.l_margin + pdf.epw - right_width
    left_centre = left_x + left_width / 2
    right_centre = right_x + right_width / 2

    # Left: managing body (regular), issuing body (bold), a short line under it.
    y = top
    header_line = _line(HEADER_SIZE)
    if report.issuer.parent:
        pdf.set_font(FONT, "", HEADER_SIZE)
        pdf.set_xy(left_x, y)
        pdf.multi_cell(left_width, header_line, report.issuer.parent.upper(), align="C")
        y = pdf.get_y()
    pdf.set_font(FONT, "B", HEADER_SIZE)
    body = report.issuer.name.upper()
    body_width = _balanced(pdf, left_width, header_line, body)
    body_lines = _wrapped(pdf, body_width, header_line, body)
    pdf.set_xy(left_centre - body_width / 2, y)
    pdf.multi_cell(body_width, header_line, body, align="C")
    y = pdf.get_y() + 1.5
    _rule(pdf, left_centre, y, max(_widest(pdf, body_lines) * 0.4, 15.0))
    left_bottom = y

    # Right: national title, motto, a line under the motto as long as the motto.
    pdf.set_xy(right_x, top)
    pdf.cell(right_width, header_line, NATIONAL_TITLE, align="C")
    pdf.set_font(FONT, "B", MOTTO_SIZE)
    pdf.set_xy(right_x, top + header_line)
    pdf.cell(right_width, _line(MOTTO_SIZE), MOTTO, align="C")
    y = top + header_line + _line(MOTTO_SIZE) + 0.5
    _rule(pdf, right_centre, y, motto_width)
    right_bottom = y

    # Number (left) and place-and-date line (right) on one row under both blocks.
    row = max(left_bottom, right_bottom) + 3
    pdf.set_font(FONT, "", NUMBER_SIZE)
    pdf.set_xy(left_x, row)
    pdf.cell(left_width, _line(NUMBER_SIZE), report.number_line, align="C")
    pdf.set_font(FONT, "I", DATE_SIZE)
    pdf.set_xy(right_x, row)
    pdf.cell(right_width, _line(DATE_SIZE), report.date_line, align="C")
    pdf.set_xy(pdf.l_margin, row + _line(DATE_SIZE) + 8)


def _kind_and_title(pdf: _ReportPdf, report: AdministrativeReport) -> None:
    """Kind in bold capitals, the summary in bold under it, a short line under the summary."""
    height = _line(KIND_SIZE)
    pdf.set_font(FONT, "B", KIND_SIZE)
    pdf.cell(pdf.epw, height, report.kind.upper(), align="C", new_x="LMARGIN", new_y="NEXT")
    width = _balanced(pdf, pdf.epw * 0.9, height, report.title)
    lines = _wrapped(pdf, width, height, report.title)
    pdf.set_x(pdf.l_margin + (pdf.epw - width) / 2)
    pdf.multi_cell(width, height, report.title, align="C", new_x="LMARGIN")
    y = pdf.get_y() + 2
    _rule(pdf, pdf.l_margin + pdf.epw / 2, y, _widest(pdf, lines) / 3)
    pdf.set_y(y + 6)


def _section(pdf: _ReportPdf, section: Section) -> None:
    pdf.set_font(FONT, "B", BODY_SIZE)
    height = _line(BODY_SIZE)
    lines = _wrapped(pdf, pdf.epw, height, section.heading)
    # A heading never ends a page: keep it with the start of what follows (a chart is never
    # split, so with all of it).
    first = section.blocks[0] if section.blocks else None
    start = _chart_height() if isinstance(first, BarChart) else height * 3
    if pdf.will_page_break(height * len(lines) + start):
        pdf.add_page()
    pdf.set_x(pdf.l_margin)
    pdf.multi_cell(pdf.epw, height, section.heading, align="L", new_x="LMARGIN")
    pdf.ln(PARAGRAPH_GAP / 2)
    for block in section.blocks:
        if isinstance(block, Paragraph):
            _paragraph(pdf, block)
        elif isinstance(block, Table):
            _table(pdf, block)
        else:
            _chart(pdf, block)
    pdf.ln(PARAGRAPH_GAP)


def _paragraph(pdf: _ReportPdf, paragraph: Paragraph) -> None:
    pdf.set_font(FONT, "", BODY_SIZE)
    columns = pdf.text_columns(text_align="J", line_height=LINE_SPACING)
    with (
        columns,
        columns.paragraph(first_line_indent=FIRST_LINE_INDENT, bottom_margin=PARAGRAPH_GAP) as par,
    ):
        par.write(paragraph.text)


def format_cell(value: CellValue) -> str:
    """A cell as printed in Vietnamese: 1.234,5 for numbers, dd/mm/yyyy for dates."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    return format_number(value)


def format_number(value: int | float | Decimal) -> str:
    """Vietnamese digit grouping: "." between thousands, "," before decimals (at most two)."""
    if isinstance(value, int) or value == int(value):
        text = f"{int(value):,}"
    else:
        text = f"{value:,.2f}".rstrip("0").rstrip(".")
    return text.translate(str.maketrans(",.", ".,"))


def _table(pdf: _ReportPdf, table: Table) -> None:
    if table.caption:
        pdf.set_font(FONT, "I", TABLE_SIZE + 1)
        pdf.multi_cell(pdf.epw, _line(TABLE_SIZE + 1), table.caption, align="C", new_x="LMARGIN")
        pdf.ln(1)
    pdf.set_font(FONT, "", TABLE_SIZE)
    bold = FontFace(emphasis="BOLD")
    with pdf.table(
        align="LEFT",  # from the left margin (CENTER would centre it on the page)
        width=pdf.epw,
        col_widths=tuple(column.weight for column in table.columns),
        text_align=tuple(column.align.value for column in table.columns),
        line_height=_line(TABLE_SIZE),
        headings_style=bold,
        repeat_headings=1,
        padding=(0.8, 1.2),
        v_align="MIDDLE",
    ) as grid:
        header = grid.row()
        for column in table.columns:
            header.cell(column.title, align="C")
        for values in table.rows:
            row = grid.row()
            for value in values:
                row.cell(format_cell(value))
        if table.totals is not None:
            row = grid.row(style=bold)
            for value in table.totals:
                row.cell(format_cell(value))
    pdf.ln(PARAGRAPH_GAP)


def nice_step(largest: float, ticks: int = 5) -> float:
    """An axis step of 1, 2 or 5 times a power of ten giving about ``ticks`` intervals."""
    if largest <= 0:
        return 1.0
    rough = largest / ticks
    power = 10.0 ** math.floor(math.log10(rough))
    for factor in (1, 2, 5, 10):
        if factor * power >= rough:
            return max(float(factor * power), 1.0)  # counts: never a step below 1
    return 10.0 * power  # pragma: no cover - the loop always returns


def _chart_height() -> float:
    """The height a chart takes, title to legend."""
    return _line(HEADER_SIZE) + 7 + 55.0 + 2 + 2 * _line(CHART_SIZE) + 7.0 + PARAGRAPH_GAP


def _chart(pdf: _ReportPdf, chart: BarChart) -> None:
    title_h = _line(HEADER_SIZE)
    plot_h = 55.0
    label_h = 2 * _line(CHART_SIZE)
    legend_h = 7.0
    total = _chart_height()
    if pdf.will_page_break(total):
        pdf.add_page()
    top = pdf.get_y()
    pdf.set_font(FONT, "B", HEADER_SIZE)
    pdf.set_x(pdf.l_margin)
    pdf.multi_cell(pdf.epw, title_h, chart.title, align="C", new_x="LMARGIN")

    largest = max((v for s in chart.series for v in s.values), default=0.0)
    step = nice_step(largest)
    ceiling = max(math.ceil(largest / step), 1) * step
    pdf.set_font(FONT, "", CHART_SIZE)
    tick_labels = [format_number(step * i) for i in range(round(ceiling / step) + 1)]
    axis_x = pdf.l_margin + _widest(pdf, tick_labels) + 3
    right = pdf.l_margin + pdf.epw - 2
    plot_top = pdf.get_y() + 7
    plot_bottom = plot_top + plot_h

    if chart.unit:
        pdf.set_font(FONT, "I", CHART_SIZE)
        pdf.text(pdf.l_margin, plot_top - 4, f"({chart.unit})")
        pdf.set_font(FONT, "", CHART_SIZE)

    # Grid and tick values.
    for i, label in enumerate(tick_labels):
        y = plot_bottom - plot_h * (step * i) / ceiling
        pdf.set_draw_color(GRID_GREY)
        if i:
            pdf.line(axis_x, y, right, y)
        pdf.set_draw_color(0)
        pdf.line(axis_x - 1, y, axis_x, y)
        pdf.text(axis_x - 2 - pdf.get_string_width(label), y + 1.1, label)

    # Bars, one group per label, the series side by side.
    group = (right - axis_x) / len(chart.labels)
    bar = group * 0.7 / len(chart.series)
    for g, label in enumerate(chart.labels):
        start = axis_x + g * group + group * 0.15
        for s, series in enumerate(chart.series):
            value = series.values[g]
            height = plot_h * value / ceiling
            x = start + s * bar
            pdf.set_fill_color(SERIES_FILLS[s])
            if height > 0:
                pdf.rect(x, plot_bottom - height, bar, height, style="DF")
            text = format_number(value)
            width = pdf.get_string_width(text)
            if width <= bar + 1:
                pdf.text(x + (bar - width) / 2, plot_bottom - height - 1, text)
        # The label under the group, on at most two lines.
        lines = _wrapped(pdf, group, _line(CHART_SIZE), label)
        if len(lines) > 2:  # two lines are what the layout leaves room for
            lines = [lines[0], lines[1].rstrip() + "…"]
        for n, line in enumerate(lines):
            width = pdf.get_string_width(line)
            pdf.text(
                axis_x + g * group + (group - width) / 2,
                plot_bottom + 2 + _line(CHART_SIZE) * (n + 0.8),
                line,
            )

    # Axes over the bars.
    pdf.set_draw_color(0)
    pdf.line(axis_x, plot_top - 2, axis_x, plot_bottom)
    pdf.line(axis_x, plot_bottom, right, plot_bottom)

    # Legend, centred under the labels.
    legend_y = plot_bottom + 2 + label_h + 2
    swatch = 3.5
    entries = [
        (s, series.name, pdf.get_string_width(series.name)) for s, series in enumerate(chart.series)
    ]
    legend_w = sum(swatch + 1.5 + w for _, _, w in entries) + 8 * (len(entries) - 1)
    x = pdf.l_margin + (pdf.epw - legend_w) / 2
    for s, name, width in entries:
        pdf.set_fill_color(SERIES_FILLS[s])
        pdf.rect(x, legend_y, swatch, swatch, style="DF")
        pdf.text(x + swatch + 1.5, legend_y + swatch - 0.4, name)
        x += swatch + 1.5 + width + 8
    pdf.set_fill_color(255)
    pdf.set_xy(pdf.l_margin, max(top + total - PARAGRAPH_GAP, legend_y + legend_h))


def _closing(pdf: _ReportPdf, report: AdministrativeReport) -> None:
    """ "Nơi nhận" at the left and the signature block at the right, on the same page."""
    left_w = pdf.epw * 0.45
    right_w = pdf.epw - left_w
    right_x = pdf.l_margin + left_w
    sig_line = _line(SIGNATURE_SIZE)
    signature = report.signature
    heads = [line for line in (signature.authority, signature.position) if line]
    signature_h = sig_line * (len(heads) + 1) + SIGNATURE_SPACE
    recipients_h = _line(RECIPIENTS_LABEL_SIZE) + _line(RECIPIENTS_SIZE) * (
        len(report.recipients) + 2
    )
    if pdf.will_page_break(max(signature_h, recipients_h) + PARAGRAPH_GAP):
        pdf.add_page()
    top = pdf.get_y() + PARAGRAPH_GAP

    pdf.set_font(FONT, "B", SIGNATURE_SIZE)
    y = top
    for head in heads:
        pdf.set_xy(right_x, y)
        pdf.multi_cell(right_w, sig_line, head.upper(), align="C")
        y = pdf.get_y()
    y += SIGNATURE_SPACE
    pdf.set_xy(right_x, y)
    pdf.multi_cell(right_w, sig_line, signature.signer, align="C")
    signature_bottom = pdf.get_y()

    pdf.set_font(FONT, "BI", RECIPIENTS_LABEL_SIZE)
    pdf.set_xy(pdf.l_margin, top)
    pdf.cell(left_w, _line(RECIPIENTS_LABEL_SIZE), RECIPIENTS_LABEL)
    y = top + _line(RECIPIENTS_LABEL_SIZE)
    pdf.set_font(FONT, "", RECIPIENTS_SIZE)
    last = len(report.recipients) - 1
    for n, name in enumerate(report.recipients):
        pdf.set_xy(pdf.l_margin, y)
        pdf.multi_cell(left_w - 4, _line(RECIPIENTS_SIZE), f"- {name}{'.' if n == last else ';'}")
        y = pdf.get_y()
    pdf.set_xy(pdf.l_margin, max(y, signature_bottom))
