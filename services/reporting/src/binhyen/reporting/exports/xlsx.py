"""XLSX workbooks of several sheets, written row by row and streamed in chunks.

A province-sized export (hundreds of thousands of rows) must not sit in memory: xlsxwriter's
``constant_memory`` mode writes each row to a temporary file as soon as the next one starts, and
the finished workbook is zipped into another temporary file, which is then read back in chunks
for the HTTP response and removed. Memory stays at one row plus the zip buffers, whatever the
number of rows.

Cells: numbers are written as numbers, dates as dates shown dd/mm/yyyy (and date-times in
Vietnam's local time), text as text (never a formula, whatever it starts with). A totals row,
when asked for, holds the sums computed while the rows went by, as values rather than formulas,
so every reader (openpyxl, LibreOffice, a phone's viewer) sees the same figures as Excel.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Generator, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import IO, Any

import xlsxwriter  # type: ignore[import-untyped]

from binhyen.reporting.domain.periods import LOCAL
from binhyen.reporting.exports.document import CellValue, clean

CHUNK_SIZE = 64 * 1024
MAX_SHEET_NAME = 31  # Excel's limit
MAX_CELL_TEXT = 32_767  # Excel's limit
_FORBIDDEN_IN_SHEET_NAME = re.compile(r"[\[\]:*?/\\]")

MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

_TYPE_ERROR = "cell {row}:{column} holds a {kind}; cells hold text, numbers, dates or nothing"


@dataclass(frozen=True)
class SheetColumn:
    """A column of a sheet: its heading, its width and whether the totals row sums it."""

    title: str
    width: float | None = None
    """In Excel's character units; None: wide enough for the heading (at least 10)."""
    total: bool = False
    """The totals row holds the sum of this column's numbers."""


@dataclass(frozen=True)
class Sheet:
    """A sheet: its name, columns, rows (consumed once, in order) and an optional totals row."""

    name: str
    columns: Sequence[SheetColumn]
    rows: Iterable[Sequence[CellValue | datetime]]
    totals_label: str | None = None
    """Written in the first column of a totals row after the data, e.g. "Tổng cộng"."""


def sheet_names(names: Iterable[str]) -> list[str]:
    """Names Excel accepts: no []:*?/\\, at most 31 characters, unique ignoring case."""
    taken: set[str] = set()
    result = []
    for index, raw in enumerate(names, start=1):
        base = _FORBIDDEN_IN_SHEET_NAME.sub("-", clean(raw)).strip("' ") or f"Sheet{index}"
        name = base[:MAX_SHEET_NAME].rstrip()
        n = 1
        while name.casefold() in taken:
            n += 1
            suffix = f" ({n})"
            name = base[: MAX_SHEET_NAME - len(suffix)].rstrip() + suffix
        taken.add(name.casefold())
        result.append(name)
    return result


def iter_xlsx(
    sheets: Sequence[Sheet], *, constant_memory: bool = True
) -> Generator[bytes, None, None]:
    """The workbook's bytes in chunks, written as they are read (memory bounded by one row).

    Nothing is done until the first chunk is asked for. Every temporary file lives in one
    temporary folder, removed when the iteration ends, fails or is abandoned.
    ``constant_memory=False`` keeps every cell in memory (for comparison in tests only).
    """
    with tempfile.TemporaryDirectory(prefix="binhyen-xlsx-") as folder:
        path = os.path.join(folder, "export.xlsx")
        with open(path, "w+b") as output:
            write_xlsx(sheets, output, constant_memory=constant_memory, tmpdir=folder)
            output.seek(0)
            while chunk := output.read(CHUNK_SIZE):
                yield chunk


def write_xlsx(
    sheets: Sequence[Sheet],
    output: IO[bytes],
    *,
    constant_memory: bool = True,
    tmpdir: str | None = None,
) -> None:
    """Write the workbook to ``output`` (a seekable binary file); ``tmpdir`` for row files."""
    if not sheets:
        raise ValueError("a workbook needs at least one sheet")
    workbook = xlsxwriter.Workbook(
        output,
        {"constant_memory": constant_memory, "strings_to_numbers": False, "tmpdir": tmpdir},
    )
    try:
        formats = _Formats(workbook)
        for sheet, name in zip(sheets, sheet_names(s.name for s in sheets), strict=True):
            _write_sheet(workbook.add_worksheet(name), sheet, formats)
    except BaseException:
        # Assembling half a workbook would be wasted work: close the row files and give up.
        for worksheet in workbook.worksheets():
            handle = getattr(worksheet, "row_data_fh", None)
            if handle is not None:
                handle.close()
        raise
    workbook.close()


class _Formats:
    def __init__(self, workbook: Any) -> None:
        self.header = workbook.add_format(
            {"bold": True, "text_wrap": True, "valign": "vcenter", "bottom": 1}
        )
        self.date = workbook.add_format({"num_format": "dd/mm/yyyy"})
        self.datetime = workbook.add_format({"num_format": "dd/mm/yyyy hh:mm"})
        self.total = workbook.add_format({"bold": True, "top": 1})


def _write_sheet(worksheet: Any, sheet: Sheet, formats: _Formats) -> None:
    columns = list(sheet.columns)
    if not columns:
        raise ValueError(f"sheet {sheet.name!r} has no columns")
    for c, column in enumerate(columns):
        width = column.width if column.width is not None else max(10, len(column.title) + 2)
        worksheet.set_column(c, c, width)
        worksheet.write_string(0, c, clean(column.title), formats.header)
    worksheet.freeze_panes(1, 0)

    # Integers add up exactly; anything else as the float the cell holds anyway.
    sums: list[int | float] = [0] * len(columns)
    last = 0
    for r, values in enumerate(sheet.rows, start=1):
        if len(values) != len(columns):
            raise ValueError(
                f"sheet {sheet.name!r}, row {r}: {len(values)} cells for {len(columns)} columns"
            )
        for c, value in enumerate(values):
            _write_cell(worksheet, r, c, value, formats)
            if columns[c].total and not isinstance(value, bool):
                if isinstance(value, int):
                    sums[c] += value
                elif isinstance(value, float | Decimal):
                    sums[c] += float(value)
        last = r
    if last:
        worksheet.autofilter(0, 0, last, len(columns) - 1)

    if sheet.totals_label is not None:
        row = last + 1
        for c, column in enumerate(columns):
            if c == 0 and not column.total:
                worksheet.write_string(row, 0, clean(sheet.totals_label), formats.total)
            elif column.total:
                worksheet.write_number(row, c, float(sums[c]), formats.total)
            else:
                worksheet.write_blank(row, c, None, formats.total)


def _write_cell(worksheet: Any, row: int, col: int, value: object, formats: _Formats) -> None:
    if value is None:
        return
    if isinstance(value, bool):
        worksheet.write_boolean(row, col, value)
    elif isinstance(value, int | float | Decimal):
        worksheet.write_number(row, col, float(value))
    elif isinstance(value, datetime):
        local = value.astimezone(LOCAL).replace(tzinfo=None) if value.tzinfo else value
        worksheet.write_datetime(row, col, local, formats.datetime)
    elif isinstance(value, date):
        worksheet.write_datetime(row, col, value, formats.date)
    elif isinstance(value, str):
        # write_string: text stays text even when it looks like a number or a formula.
        text = clean_cell_text(value)
        if text:
            worksheet.write_string(row, col, text)
    else:
        raise TypeError(_TYPE_ERROR.format(row=row, column=col + 1, kind=type(value).__name__))


def clean_cell_text(value: str) -> str:
    """Text a cell can hold: NFC, no control characters (XLSX refuses them), Excel's length."""
    return clean(value)[:MAX_CELL_TEXT]
