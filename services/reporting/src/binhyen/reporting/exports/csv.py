"""CSV that Excel opens with Vietnamese intact, streamed in chunks.

* **UTF-8 with a byte order mark.** Without it Excel for Windows reads a CSV in the machine's
  ANSI code page (Windows-1258 on a Vietnamese system) and "Nguyễn" comes out as "NguyÃ¡»…n".
* **";" between fields by default.** Opened by a double click, Excel splits fields on the
  *list separator* of Windows' regional settings, not on the comma RFC 4180 names. In the
  Vietnamese format (vi-VN) the decimal symbol is "," (glibc's vi_VN and CLDR agree: 1.234,5),
  and Windows then makes the list separator ";" as it does for every decimal-comma locale;
  a comma-separated file opens there as one column. A ``sep=`` first line would pick the
  separator, but Excel then ignores the byte order mark, which is worse. So the default is ";"
  with decimal commas, and ``delimiter=","`` gives decimal points for machines set to an
  English format. Our own import (the registry's) accepts both.
* **RFC 4180 otherwise**: CRLF after every record, fields quoted when they hold the
  separator, a quote or a line break, quotes doubled.
* **Dates as ISO 8601** (2026-12-01): the one form Excel reads as a date in every locale;
  dd/mm/yyyy would turn into 12 January under an English format. Date-times are written in
  Vietnam's local time.
* **No formula injection**: text that Excel would take for a formula (starting with =, +, - or
  @; tabs and carriage returns are already gone with the other control characters) is prefixed
  with an apostrophe, as OWASP advises: a name or a note typed by a resident never runs in an
  officer's spreadsheet. Numbers are not text and keep their sign.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Generator, Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from binhyen.reporting.domain.periods import LOCAL
from binhyen.reporting.exports.document import CellValue, clean

BOM = "\ufeff"
MEDIA_TYPE = "text/csv; charset=utf-8"
CHUNK_ROWS = 1000
_FORMULA_STARTS = ("=", "+", "-", "@")

Delimiter = Literal[";", ","]


def iter_csv(
    columns: Sequence[str],
    rows: Iterable[Sequence[CellValue | datetime]],
    *,
    delimiter: Delimiter = ";",
) -> Generator[bytes, None, None]:
    """The CSV's bytes in chunks: BOM, header, then the rows as they are read."""
    decimal_mark = "," if delimiter == ";" else "."
    buffer = io.StringIO()
    writer = csv.writer(
        buffer, delimiter=delimiter, quotechar='"', lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL
    )
    buffer.write(BOM)
    writer.writerow([_text(clean(title)) for title in columns])
    width = len(columns)
    for n, row in enumerate(rows, start=1):
        if len(row) != width:
            raise ValueError(f"row {n}: {len(row)} cells for {width} columns")
        writer.writerow([csv_field(value, decimal_mark) for value in row])
        if n % CHUNK_ROWS == 0:
            yield _drain(buffer)
    yield _drain(buffer)


def _drain(buffer: io.StringIO) -> bytes:
    data = buffer.getvalue().encode("utf-8")
    buffer.seek(0)
    buffer.truncate()
    return data


def csv_field(value: CellValue | datetime, decimal_mark: str = ",") -> str:
    """One field as written: numbers with ``decimal_mark`` and no grouping, ISO dates, text."""
    if value is None:
        return ""
    if isinstance(value, str):
        return _text(clean(value))
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float | Decimal):
        text = format(value, "f") if isinstance(value, Decimal) else repr(value)
        return text.replace(".", decimal_mark)
    if isinstance(value, datetime):
        local = value.astimezone(LOCAL) if value.tzinfo else value
        return local.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"a CSV field holds text, a number or a date, not a {type(value).__name__}")


def _text(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA_STARTS) else text
