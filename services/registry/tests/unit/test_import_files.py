"""Reading uploaded files: hostile files refused, work done in another process."""

from __future__ import annotations

import concurrent.futures
import io
import multiprocessing
import os
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from openpyxl import Workbook

from binhyen.registry.domain.imports import COLUMNS, LayoutError
from binhyen.registry.service import import_files
from binhyen.registry.service.import_files import FilePool, check_file, inspect_file, read_table

HEADERS = [c.header for c in COLUMNS]
NOW = datetime(2026, 6, 1, tzinfo=UTC)


def _xlsx(rows: int = 2) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(HEADERS)
    for i in range(rows):
        sheet.append([f"H{i}", "Xóm 1", "x", f"Người {i}", 1980, None, "không"])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _rezip(data: bytes, change: Callable[[str, bytes], bytes], **extra: bytes) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info.filename, change(info.filename, source.read(info.filename)))
        for name, content in extra.items():
            target.writestr(name, content)
    return out.getvalue()


def _refused(data: bytes) -> str:
    with pytest.raises(LayoutError) as caught:
        read_table(data)
    assert caught.value.message.vi
    return caught.value.message.en


def test_a_truncated_xlsx_is_refused() -> None:
    good = _xlsx()
    assert "not a spreadsheet" in _refused(good[: len(good) // 2])


def test_an_xlsx_with_a_corrupt_entry_is_refused() -> None:
    good = _xlsx()
    info = zipfile.ZipFile(io.BytesIO(good)).getinfo("xl/worksheets/sheet1.xml")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    bad = bytearray(good)
    bad[start + 5 : start + 25] = bytes(b ^ 0x55 for b in bad[start + 5 : start + 25])
    assert "not a spreadsheet" in _refused(bytes(bad))


@pytest.mark.parametrize(
    "part", ["xl/worksheets/sheet1.xml", "xl/workbook.xml", "[Content_Types].xml"]
)
def test_an_xlsx_with_a_doctype_is_refused(part: str) -> None:
    bomb = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;">]>'

    def change(name: str, content: bytes) -> bytes:
        if name != part:
            return content
        body = content.split(b"?>", 1)[1] if content.startswith(b"<?xml") else content
        return bomb + body

    assert "DOCTYPE" in _refused(_rezip(_xlsx(), change))


def test_an_xlsx_with_a_utf16_part_is_refused() -> None:
    def change(name: str, content: bytes) -> bytes:
        if name != "xl/worksheets/sheet1.xml":
            return content
        return content.decode().encode("utf-16")

    assert "not a spreadsheet" in _refused(_rezip(_xlsx(), change))


def test_a_zip_bomb_is_refused_before_it_is_unpacked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(import_files, "MAX_UNCOMPRESSED", 4 * 1024 * 1024)
    bomb = _rezip(_xlsx(), lambda _, content: content, **{"xl/media/zeros.xml": b"0" * (5 << 20)})
    assert len(bomb) < 64 * 1024
    assert "too large once unpacked" in _refused(bomb)


def test_a_zip_entry_larger_than_it_declares_is_refused() -> None:
    good = _xlsx()
    archive = zipfile.ZipFile(io.BytesIO(good))
    info = archive.getinfo("xl/worksheets/sheet1.xml")
    # Declare a smaller size in the central directory than the entry unpacks to.
    entry = good.index(b"PK\x01\x02")
    while good[entry + 46 : entry + 46 + len(info.filename)] != info.filename.encode():
        entry = good.index(b"PK\x01\x02", entry + 4)
    lying = bytearray(good)
    lying[entry + 24 : entry + 28] = (info.file_size // 2).to_bytes(4, "little")
    assert "not a spreadsheet" in _refused(bytes(lying))


def test_too_many_rows_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(import_files, "MAX_SHEET_ROWS", 50)
    assert "more than" in _refused(_xlsx(60))
    csv = ("Mã hộ,Địa chỉ,Họ và tên\n" + "H1,X,A\n" * 60).encode()
    assert "more than" in _refused(csv)
    assert read_table(_xlsx(40)).rows


def test_too_many_columns_are_refused() -> None:
    csv = (
        ",".join(["Mã hộ", "Địa chỉ", "Họ và tên", *(f"c{i}" for i in range(300))]) + "\n"
    ).encode()
    assert "columns" in _refused(csv)


def test_check_file_returns_households_batch_by_batch() -> None:
    checked = check_file(_xlsx(25), NOW, 10)
    assert (checked.rows, checked.errors, checked.households) == (25, [], 25)
    assert [len(checked.batch(i)) for i in range(len(checked.batches))] == [10, 10, 5]
    assert checked.batch_rows == [10, 10, 5]
    assert [h.code for h in checked.batch(2)] == [f"H{i}" for i in range(20, 25)]
    assert checked.codes[0] == ("H0", 2)


async def test_the_pool_works_in_another_process_and_returns_refusals() -> None:
    pool = FilePool(1)
    try:
        assert await pool.run(os.getpid) != os.getpid()
        layout = await pool.run(inspect_file, _xlsx())
        assert layout.kind == "xlsx" and layout.header.columns["full_name"] == 3
        with pytest.raises(LayoutError, match="DOCTYPE"):
            await pool.run(
                inspect_file,
                _rezip(_xlsx(), lambda n, c: b"<!DOCTYPE x>" + c if n == "xl/workbook.xml" else c),
            )
        # A worker that dies: the file is refused, the next call gets a fresh worker.
        with pytest.raises(LayoutError, match="could not be read"):
            await pool.run(os._exit, 1)
        assert (await pool.run(inspect_file, _xlsx())).kind == "xlsx"
    finally:
        pool.close()


async def test_without_processes_the_pool_falls_back_to_threads_and_says_so(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def no_semaphores(*args: object, **kwargs: object) -> None:
        raise OSError(38, "Function not implemented")  # what a sandbox without /dev/shm says

    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", no_semaphores)
    pool = FilePool(1)
    try:
        assert await pool.run(os.getpid) == os.getpid()
        assert not pool.processes
        assert "worker processes cannot start" in caplog.text
        with pytest.raises(LayoutError, match="empty"):
            await pool.run(inspect_file, b"")
    finally:
        pool.close()


async def test_when_processes_fail_to_start_the_pool_falls_back_to_threads(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def no_processes(*args: object, **kwargs: object) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(multiprocessing.get_context("spawn"), "Process", no_processes)
    pool = FilePool(1)
    try:
        assert await pool.run(os.getpid) == os.getpid()
        assert "worker processes cannot start" in caplog.text
    finally:
        pool.close()
