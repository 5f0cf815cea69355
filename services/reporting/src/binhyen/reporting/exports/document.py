"""An administrative report as data (Decree 30/2020/NĐ-CP), independent of the file format.

The parts are those of an administrative document in Article 8 and Appendix I of the decree:
issuing body, number and symbol, place and date, kind and title, content, signature, recipients.
The content is sections of paragraphs, tables and bar charts. Every text is NFC-normalised,
stripped of control characters and of runs of white space when the object is built, so what a
renderer draws and what a reader extracts are the same code points.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import TypeAlias

from binhyen.kit.text import nfc, without_controls

CellValue: TypeAlias = str | int | float | Decimal | date | None
"""What a table cell holds; numbers are formatted the Vietnamese way when rendered."""


def clean(text: str) -> str:
    """``text`` in NFC, on one line (breaks and tabs become spaces), without control characters."""
    # The first pass turns line breaks and tabs into spaces before the others are removed.
    return nfc(without_controls(nfc(text)))


def _set(obj: object, name: str, value: object) -> None:
    # Frozen dataclasses normalise their own fields once, in __post_init__.
    object.__setattr__(obj, name, value)


def _required(value: str, what: str) -> str:
    cleaned = clean(value)
    if not cleaned:
        raise ValueError(f"{what} must not be empty")
    return cleaned


def _cell(value: CellValue) -> CellValue:
    return clean(value) if isinstance(value, str) else value


def place_and_date(place: str, day: date) -> str:
    """The place-and-date line: "Kỳ Nam, ngày 05 tháng 02 năm 2026", "…ngày 15 tháng 8 năm 2026".

    Appendix I writes days below 10 and the months 1 and 2 with a leading zero (so that nobody
    can turn "1" into "11" or "12" by hand), the other months without.
    """
    month = f"{day.month:02d}" if day.month < 3 else str(day.month)
    return f"{clean(place)}, ngày {day.day:02d} tháng {month} năm {day.year}"


def number_and_symbol(number: int | None, symbol: str) -> str:
    """The number-and-symbol line: "Số: 05/BC-UBND"; blank number for the clerk to fill in."""
    if number is None:
        # Numbers are given by the registry office when the document is issued.
        return f"Số:        /{clean(symbol)}"
    if number < 1:
        raise ValueError("a document number starts at 1")
    return f"Số: {number:02d}/{clean(symbol)}"


@dataclass(frozen=True)
class IssuingBody:
    """Who issues the document: the body, and the body it reports to (both as printed)."""

    name: str
    """e.g. "BAN CHỈ ĐẠO PHONG TRÀO TOÀN DÂN BẢO VỆ AN NINH TỔ QUỐC" (upper-cased when drawn)."""
    parent: str | None = None
    """e.g. "UBND XÃ KỲ NAM"; None for a body without a managing body."""

    def __post_init__(self) -> None:
        _set(self, "name", _required(self.name, "the issuing body"))
        if self.parent is not None:
            _set(self, "parent", clean(self.parent) or None)


class Align(StrEnum):
    """Horizontal alignment of a table column."""

    LEFT = "LEFT"
    CENTER = "CENTER"
    RIGHT = "RIGHT"


@dataclass(frozen=True)
class Column:
    """A table column: its heading, alignment and share of the table's width."""

    title: str
    align: Align = Align.LEFT
    weight: float = 1.0
    """Relative width: a column of weight 2 is twice as wide as one of weight 1."""

    def __post_init__(self) -> None:
        _set(self, "title", _required(self.title, "a column title"))
        if not self.weight > 0:
            raise ValueError(f"column {self.title!r}: the weight must be positive")


@dataclass(frozen=True)
class Table:
    """A table with a header row, data rows and an optional totals row (drawn in bold)."""

    columns: Sequence[Column]
    rows: Sequence[Sequence[CellValue]]
    totals: Sequence[CellValue] | None = None
    caption: str | None = None
    """A line above the table, e.g. "Bảng 1. Số vụ việc theo thôn"."""

    def __post_init__(self) -> None:
        _set(self, "columns", tuple(self.columns))
        if not self.columns:
            raise ValueError("a table needs at least one column")
        width = len(self.columns)
        rows = tuple(tuple(_cell(v) for v in row) for row in self.rows)
        for index, row in enumerate(rows, start=1):
            if len(row) != width:
                raise ValueError(f"table row {index} has {len(row)} cells for {width} columns")
        _set(self, "rows", rows)
        if self.totals is not None:
            totals = tuple(_cell(v) for v in self.totals)
            if len(totals) != width:
                raise ValueError(f"the totals row has {len(totals)} cells for {width} columns")
            _set(self, "totals", totals)
        if self.caption is not None:
            _set(self, "caption", clean(self.caption) or None)


@dataclass(frozen=True)
class Series:
    """One series of a bar chart, e.g. this year's counts."""

    name: str
    values: Sequence[float]

    def __post_init__(self) -> None:
        _set(self, "name", _required(self.name, "a series name"))
        values = tuple(float(v) for v in self.values)
        if any(not v >= 0 for v in values):  # also refuses NaN
            raise ValueError(f"series {self.name!r}: bar values must be counts (0 or more)")
        _set(self, "values", values)


MAX_SERIES = 2


@dataclass(frozen=True)
class BarChart:
    """Vertical bars per label, one or two series side by side (e.g. this year and last)."""

    title: str
    labels: Sequence[str]
    series: Sequence[Series]
    unit: str | None = None
    """What the values count, written by the axis, e.g. "vụ việc"."""

    def __post_init__(self) -> None:
        _set(self, "title", _required(self.title, "a chart title"))
        _set(self, "labels", tuple(clean(label) for label in self.labels))
        _set(self, "series", tuple(self.series))
        if not self.labels:
            raise ValueError(f"chart {self.title!r} has no labels")
        if not 1 <= len(self.series) <= MAX_SERIES:
            raise ValueError(f"chart {self.title!r}: one or two series, not {len(self.series)}")
        for s in self.series:
            if len(s.values) != len(self.labels):
                raise ValueError(
                    f"chart {self.title!r}: series {s.name!r} has {len(s.values)} values "
                    f"for {len(self.labels)} labels"
                )
        if self.unit is not None:
            _set(self, "unit", clean(self.unit) or None)


@dataclass(frozen=True)
class Paragraph:
    """A paragraph of body text (justified, first line indented)."""

    text: str

    def __post_init__(self) -> None:
        _set(self, "text", _required(self.text, "a paragraph"))


Block: TypeAlias = Paragraph | Table | BarChart


@dataclass(frozen=True)
class Section:
    """A numbered part of the content: its heading as written ("I. TÌNH HÌNH CHUNG"), its blocks."""

    heading: str
    blocks: Sequence[Block] = ()

    def __post_init__(self) -> None:
        _set(self, "heading", _required(self.heading, "a section heading"))
        _set(self, "blocks", tuple(self.blocks))


@dataclass(frozen=True)
class Signature:
    """The signature block: authority ("TM. ỦY BAN NHÂN DÂN"), position, signer's full name."""

    position: str
    """e.g. "CHỦ TỊCH", "TRƯỞNG BAN" (upper-cased when drawn)."""
    signer: str
    authority: str | None = None
    """"TM." (on behalf of a collective), "KT." (deputy), "TL.", "TUQ.", "Q." with the body."""

    def __post_init__(self) -> None:
        _set(self, "position", _required(self.position, "the signer's position"))
        _set(self, "signer", _required(self.signer, "the signer's name"))
        if self.authority is not None:
            _set(self, "authority", clean(self.authority) or None)


@dataclass(frozen=True)
class AdministrativeReport:
    """A report laid out as a Vietnamese administrative document (Decree 30/2020/NĐ-CP)."""

    issuer: IssuingBody
    symbol: str
    """The symbol after the number, e.g. "BC-UBND" or "BC-BCĐ"."""
    number: int | None
    """The document's number in the issuer's register; None leaves it blank for the clerk."""
    place: str
    """The place name of the date line, e.g. "Kỳ Nam"."""
    issued_on: date
    kind: str
    """The kind of document, e.g. "BÁO CÁO" (upper-cased when drawn)."""
    title: str
    """The summary under the kind, e.g. "Kết quả đánh giá thôn An Hòa năm 2026"."""
    sections: Sequence[Section]
    signature: Signature
    recipients: Sequence[str] = field(default=("Lưu: VT",))
    """The "Nơi nhận" list, one recipient a line; punctuation is added when drawn."""

    def __post_init__(self) -> None:
        _set(self, "symbol", _required(self.symbol, "the document symbol"))
        _set(self, "place", _required(self.place, "the place name"))
        _set(self, "kind", _required(self.kind, "the kind of document"))
        _set(self, "title", _required(self.title, "the title"))
        _set(self, "sections", tuple(self.sections))
        _set(self, "recipients", _recipients(self.recipients))
        number_and_symbol(self.number, self.symbol)  # refuses a number below 1

    @property
    def number_line(self) -> str:
        """ "Số: 12/BC-UBND"."""
        return number_and_symbol(self.number, self.symbol)

    @property
    def date_line(self) -> str:
        """ "Kỳ Nam, ngày 01 tháng 12 năm 2026"."""
        return place_and_date(self.place, self.issued_on)


def _recipients(names: Iterable[str]) -> tuple[str, ...]:
    # The renderer adds "- " and ";"/"." itself, so a caller's own punctuation is dropped.
    cleaned = (clean(name).lstrip("-–• ").rstrip(";.,").strip() for name in names)
    return tuple(name for name in cleaned if name)
