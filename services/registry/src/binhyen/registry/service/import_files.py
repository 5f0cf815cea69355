"""Reading and checking an uploaded spreadsheet, off the event loop, hostile files refused.

Reading an XLSX and checking 300,000 rows is seconds of CPU: done on the event loop (or in
a thread, which holds the GIL) every request waits for it. So the work runs in a small
pool of worker *processes* (:class:`FilePool`), through two top-level functions that take
the file's bytes and return plain, picklable data: :func:`inspect_file` (the layout, at
upload) and :func:`check_file` (every row). The validated households come back pickled
batch by batch, so the event loop unpickles one batch at a time while it writes.

An uploaded file is untrusted. Before any parser sees an XLSX, its zip is checked: entry
count and declared sizes bounded (a zip bomb), every entry readable (a corrupt or truncated
zip), no XML part with a DOCTYPE or entity declarations (XML bombs, external entities). A
sheet is read up to :data:`MAX_SHEET_ROWS` rows and :data:`MAX_COLUMNS` columns. Whatever is
wrong is a :class:`~binhyen.registry.domain.imports.LayoutError`: the API answers 422.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import csv
import functools
import io
import logging
import multiprocessing
import pickle
import re
import zipfile
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import Any, TypeVar

from openpyxl import load_workbook
from python_calamine import CalamineWorkbook

from binhyen.registry.domain import imports as layout
from binhyen.registry.domain.imports import (
    FORMULA,
    Header,
    HouseholdRows,
    LayoutError,
    Message,
    RowError,
)

log = logging.getLogger(__name__)

MAX_BYTES = 50 * 1024 * 1024  # an upload
MAX_UNCOMPRESSED = 512 * 1024 * 1024  # the sum of an XLSX's entries, unpacked
MAX_ZIP_ENTRIES = 1_000  # a workbook of one sheet has a dozen
MAX_SHEET_ROWS = layout.MAX_ROWS + layout.HEADER_SEARCH_ROWS  # rows of the sheet, blank ones too
MAX_COLUMNS = 256  # the layout has 12; a clerk's own list a few more
_SCANNED = (".xml", ".rels", ".vml")
_FORMULA_TAG = re.compile(rb"<(?:\w+:)?f[\s>/]")
_DECLARATION = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)
# What reading a broken zip entry raises: bad CRC or header, truncated, corrupt deflate
# stream, encrypted, unknown compression method.
_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError, ValueError)

T = TypeVar("T")


@dataclass
class Table:
    """The cells of the first sheet: rows with their Excel row numbers."""

    kind: str  # xlsx or csv
    rows: list[tuple[int, list[object]]]
    first_row: int  # Excel row number of rows[0]
    first_column: int  # 0-based column index of each row's first value


@dataclass(frozen=True)
class Layout:
    """What the upload needs to know of a file: its kind and header (small, sent back fast)."""

    kind: str
    header: Header


@dataclass(frozen=True)
class Checked:
    """Every row of a file checked: counts, errors, and the households, pickled per batch."""

    header: Header
    rows: int  # non-empty data rows
    errors: list[RowError]
    codes: list[tuple[str, int]]  # household code and first row, for the registered-code check
    batches: list[bytes]  # pickled list[HouseholdRows], ``batch_households`` a batch
    batch_rows: list[int]  # residents (rows) of each batch

    def batch(self, index: int) -> list[HouseholdRows]:
        """The households of one batch."""
        households: list[HouseholdRows] = pickle.loads(self.batches[index])  # noqa: S301 (ours)
        return households

    @property
    def households(self) -> int:
        """How many households the file holds (all valid: else ``errors``)."""
        return len(self.codes)


# --- reading files ------------------------------------------------------------------------


def _not_a_spreadsheet() -> LayoutError:
    return LayoutError(
        Message(
            "tệp không phải bảng tính; hãy gửi tệp .xlsx hoặc .csv (UTF-8)",
            "the file is not a spreadsheet; send an .xlsx or a .csv (UTF-8) file",
        )
    )


def _too_large_unpacked() -> LayoutError:
    return LayoutError(
        Message(
            "tệp quá lớn khi giải nén; hãy chia thành nhiều tệp",
            "the file is too large once unpacked; split it",
        )
    )


def _too_many_rows() -> LayoutError:
    return LayoutError(
        Message(
            f"tệp có quá {layout.MAX_ROWS} dòng; hãy chia thành nhiều tệp",
            f"the file has more than {layout.MAX_ROWS} rows; split it",
        )
    )


def _too_many_columns() -> LayoutError:
    return LayoutError(
        Message(
            f"bảng tính có quá {MAX_COLUMNS} cột; hãy chỉ giữ các cột của mẫu nhập",
            f"the sheet has more than {MAX_COLUMNS} columns; keep the import layout's columns",
        )
    )


def _check_zip(archive: zipfile.ZipFile) -> bool:
    """Refuse a hostile or broken XLSX zip (LayoutError); True if a sheet has formulas."""
    entries = archive.infolist()
    if len(entries) > MAX_ZIP_ENTRIES:
        raise _not_a_spreadsheet()
    if "xl/workbook.xml" not in archive.namelist():
        raise _not_a_spreadsheet()
    # zipfile reads no more than an entry's declared size (and checks its CRC), so bounding
    # the declared sizes bounds what any reader unpacks: a zip bomb is refused here.
    if sum(i.file_size for i in entries) > MAX_UNCOMPRESSED:
        raise _too_large_unpacked()
    formulas = False
    for entry in entries:
        if not entry.filename.endswith(_SCANNED):
            continue
        sheet = entry.filename.startswith("xl/worksheets/")
        tail = b""
        first = True
        try:
            with archive.open(entry) as member:
                while chunk := member.read(1 << 20):
                    if first and _not_utf8_xml(chunk):
                        raise _not_a_spreadsheet()
                    first = False
                    window = tail + chunk
                    if _DECLARATION.search(window):
                        raise LayoutError(
                            Message(
                                "tệp có khai báo DOCTYPE/ENTITY không được chấp nhận; hãy mở "
                                "bằng Excel và lưu lại thành .xlsx",
                                "the file holds DOCTYPE or ENTITY declarations, which are "
                                "refused; open it in Excel and save it again as .xlsx",
                            )
                        )
                    if sheet and not formulas and _FORMULA_TAG.search(window):
                        formulas = True
                    tail = chunk[-16:]
        except _ZIP_ERRORS as exc:
            raise _not_a_spreadsheet() from exc
    return formulas


def _not_utf8_xml(start: bytes) -> bool:
    # Excel writes UTF-8. A UTF-16/32 part would hide a DOCTYPE from the byte scan: refused.
    return start.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in start[:64]


def _read_xlsx(data: bytes) -> Table:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except _ZIP_ERRORS as exc:
        raise _not_a_spreadsheet() from exc
    with archive:
        formulas = _check_zip(archive)
    if formulas:
        return _read_xlsx_slowly(data)  # rare: find exactly which cells hold formulas
    try:
        sheet = CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_index(0)
        if sheet.height > MAX_SHEET_ROWS:
            raise _too_many_rows()
        if sheet.width > MAX_COLUMNS:
            raise _too_many_columns()
        values: list[list[object]] = [
            list(row) for row in islice(sheet.iter_rows(), MAX_SHEET_ROWS + 1)
        ]
        start_row, start_column = sheet.start or (0, 0)
    except LayoutError:
        raise
    except Exception as exc:  # calamine raises its own error types for broken files
        raise _not_a_spreadsheet() from exc
    if len(values) > MAX_SHEET_ROWS:
        raise _too_many_rows()
    first = start_row + 1
    return Table("xlsx", [(first + i, row) for i, row in enumerate(values)], first, start_column)


def _read_xlsx_slowly(data: bytes) -> Table:
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception as exc:
        raise _not_a_spreadsheet() from exc
    rows: list[tuple[int, list[object]]] = []
    try:
        sheet = workbook.worksheets[0]
        for number, cells in enumerate(sheet.iter_rows(), start=1):
            if number > MAX_SHEET_ROWS:
                raise _too_many_rows()
            if len(cells) > MAX_COLUMNS:
                raise _too_many_columns()
            values = [FORMULA if getattr(c, "data_type", None) == "f" else c.value for c in cells]
            rows.append((number, values))
    except LayoutError:
        raise
    except Exception as exc:  # openpyxl: broken XML, bad cell references …
        raise _not_a_spreadsheet() from exc
    finally:
        workbook.close()
    return Table("xlsx", rows, 1, 0)


def _read_csv(data: bytes) -> Table:
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise LayoutError(
            Message(
                "tệp Excel cũ (.xls) chưa được hỗ trợ; hãy lưu thành .xlsx",
                "old Excel files (.xls) are not supported; save it as .xlsx",
            )
        )
    if any(b < 9 for b in data[:4096]) or data.startswith(b"%PDF"):
        raise _not_a_spreadsheet()  # binary: a PDF, an image, a Word file …
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LayoutError(
            Message(
                "tệp CSV phải dùng mã UTF-8; trong Excel chọn Lưu dưới dạng "
                "'CSV UTF-8 (Comma delimited)'",
                "a CSV file must be UTF-8; in Excel use Save As 'CSV UTF-8 (Comma delimited)'",
            )
        ) from exc
    first_line = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first_line.count)
    rows: list[tuple[int, list[object]]] = []
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        for number, values in enumerate(reader, start=1):
            if number > MAX_SHEET_ROWS:
                raise _too_many_rows()
            if len(values) > MAX_COLUMNS:
                raise _too_many_columns()
            rows.append(
                (
                    number,
                    [FORMULA if v.startswith("=") and len(v) > 1 else (v or None) for v in values],
                )
            )
    except csv.Error as exc:
        raise _not_a_spreadsheet() from exc
    return Table("csv", rows, 1, 0)


def read_table(data: bytes) -> Table:
    """The rows of an uploaded .xlsx or .csv file; LayoutError if it is not one."""
    if not data.strip():
        raise LayoutError(Message("tệp rỗng", "the file is empty"))
    if len(data) > MAX_BYTES:
        raise LayoutError(
            Message("tệp quá lớn; hãy chia thành nhiều tệp", "the file is too large; split it")
        )
    table = _read_xlsx(data) if data.startswith(b"PK\x03\x04") else _read_csv(data)
    if not any(any(v not in (None, "") for v in values) for _, values in table.rows):
        raise LayoutError(Message("tệp không có dữ liệu", "the file has no data"))
    return table


def header_of(table: Table) -> Header:
    """The header row of a table (LayoutError naming the columns at fault)."""
    return layout.find_header(
        [values for _, values in table.rows[: layout.HEADER_SEARCH_ROWS]],
        first_row=table.first_row,
        first_column=table.first_column,
    )


def data_rows(table: Table, header: Header) -> Iterator[tuple[int, list[object]]]:
    """The rows below the header."""
    return ((number, values) for number, values in table.rows if number > header.row)


# --- the work a worker process does -------------------------------------------------------


def inspect_file(data: bytes) -> Layout:
    """The kind and header of an uploaded file (LayoutError if it is refused)."""
    table = read_table(data)
    return Layout(table.kind, header_of(table))


def check_file(data: bytes, now: datetime, batch_households: int) -> Checked:
    """Check every row of a file; the valid households pickled ``batch_households`` a batch."""
    table = read_table(data)
    header = header_of(table)
    parsed = layout.parse_rows(data_rows(table, header), header, now=now)
    found = parsed.households
    size = max(1, batch_households)
    batches = [found[i : i + size] for i in range(0, len(found), size)]
    return Checked(
        header=header,
        rows=parsed.rows,
        errors=parsed.errors,
        codes=[(h.code, h.first_row) for h in found],
        batches=[pickle.dumps(b, protocol=pickle.HIGHEST_PROTOCOL) for b in batches],
        batch_rows=[sum(len(h.rows) for h in b) for b in batches],
    )


# --- the pool -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Refused:
    """A LayoutError, as a worker sends it back (the exception itself does not pickle)."""

    message: Message
    columns: tuple[str, ...]


def _in_worker(fn: Callable[..., T], *args: Any) -> T | _Refused:
    try:
        return fn(*args)
    except LayoutError as exc:
        return _Refused(exc.message, exc.columns)
    except MemoryError:
        return _Refused(_too_large_unpacked().message, ())


class FilePool:
    """Worker processes that read and check uploaded files, started at the first upload.

    Falls back to threads where processes cannot be started (a sandbox without
    semaphores); the event loop then shares the GIL with the parsing and slows during it.
    """

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._executor: concurrent.futures.Executor | None = None
        self.processes = True

    def _start(self) -> concurrent.futures.Executor:
        if self._executor is None:
            if self.processes:
                try:
                    # spawn, not fork: the parent runs threads (Kafka, PyMongo) a fork would
                    # copy mid-lock.
                    self._executor = concurrent.futures.ProcessPoolExecutor(
                        self.workers, mp_context=multiprocessing.get_context("spawn")
                    )
                except (OSError, NotImplementedError, ImportError) as exc:
                    self._fall_back(exc)
            if self._executor is None:
                self._executor = concurrent.futures.ThreadPoolExecutor(
                    self.workers, thread_name_prefix="import-files"
                )
        return self._executor

    def _fall_back(self, exc: BaseException) -> None:
        log.warning(
            "import files are read in threads: worker processes cannot start here; "
            "requests slow down while a file is checked",
            extra={"error": type(exc).__name__},
        )
        self.processes = False
        self._executor = None

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` in a worker; LayoutError if the worker died reading the file."""
        loop = asyncio.get_running_loop()
        call = functools.partial(_in_worker, fn, *args)
        executor = self._start()
        try:
            future = loop.run_in_executor(executor, call)  # starts the processes, if not yet
        except (OSError, NotImplementedError) as exc:
            if isinstance(executor, concurrent.futures.ThreadPoolExecutor):
                raise
            executor.shutdown(wait=False, cancel_futures=True)
            self._fall_back(exc)
            executor = self._start()
            future = loop.run_in_executor(executor, call)
        try:
            result = await future
        except BrokenProcessPool as exc:
            # A worker died (out of memory on a hostile file, killed): the next call starts
            # a fresh pool; this file is refused.
            if self._executor is executor:
                self._executor = None
            executor.shutdown(wait=False, cancel_futures=True)
            log.warning("an import worker process died", extra={"error": type(exc).__name__})
            raise LayoutError(
                Message(
                    "không đọc được tệp; hãy mở bằng Excel, lưu lại thành .xlsx rồi gửi lại",
                    "the file could not be read; open it in Excel, save it as .xlsx and "
                    "send it again",
                )
            ) from exc
        if isinstance(result, _Refused):
            raise LayoutError(result.message, columns=result.columns)
        return result

    def close(self) -> None:
        """Stop the workers now (a file being checked is checked again by whoever resumes)."""
        executor, self._executor = self._executor, None
        if executor is None:
            return
        if not isinstance(executor, concurrent.futures.ThreadPoolExecutor):
            # A running check cannot be cancelled: end its process rather than wait for it.
            processes: dict[int, Any] = getattr(executor, "_processes", None) or {}
            for process in list(processes.values()):
                process.terminate()
        executor.shutdown(wait=False, cancel_futures=True)
