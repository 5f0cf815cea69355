"""Bulk import and export of a hamlet's households and residents (XLSX and CSV).

An upload becomes a job. Every row is checked first; if any is bad the job ends
``rejected`` and nothing is written. Otherwise the households and residents are
written in large ``insert_many`` batches, as the same documents with the same outbox
events the API writes. Ids derive from the job id and the row, and the job records
each finished batch, so a job interrupted mid-write is continued (by whichever
replica takes its lease) and every row is written exactly once. Each running job holds a
lease of its own (``import:<job id>``, the kit's :class:`~binhyen.kit.lease.Lease`), renewed
with every progress write; the registry's workflow worker resumes jobs whose lease is free.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from pymongo.errors import PyMongoError

from binhyen.contracts.events.households import HouseholdPledged, HouseholdRegistered
from binhyen.kit.auth import Principal, authorize
from binhyen.kit.lease import Lease
from binhyen.kit.outbox import OUTBOX
from binhyen.kit.problems import DomainError, Invalid, NotFound
from binhyen.registry.domain import imports as layout
from binhyen.registry.domain.households import Household
from binhyen.registry.domain.imports import FORMULA, HouseholdRows, LayoutError
from binhyen.registry.domain.people import Person
from binhyen.registry.domain.units import Unit
from binhyen.registry.service.common import VN, Context, hamlet
from binhyen.registry.service.households import household_event, household_outbox
from binhyen.registry.service.import_files import MAX_BYTES as MAX_BYTES
from binhyen.registry.service.import_files import (
    Checked,
    Table,
    check_file,
    header_of,
    inspect_file,
    read_table,
)
from binhyen.registry.service.residents import new_person_document
from binhyen.registry.store.households import household_document
from binhyen.registry.store.imports import ImportStore, codes_in_use, insert_new

log = logging.getLogger(__name__)

BATCH_HOUSEHOLDS = 500
LEASE_SECONDS = 60.0  # a job renews its lease with every batch and every second of checks
FIRST_ERRORS = 20
_NAMESPACE = uuid.UUID("6f0c2a4e-1d7b-5c1e-9a57-3b1e0c4d2f10")
_TASKS: set[asyncio.Task[None]] = set()  # strong references to running jobs


class TooLarge(DomainError):
    """The upload is larger than an import accepts."""

    status, kind, title = 413, "payload-too-large", "File too large"


class LostLease(Exception):
    """Another replica took over the job (this one was too slow or was paused)."""


@dataclass(frozen=True)
class Upload:
    """An uploaded spreadsheet."""

    filename: str
    data: bytes


def _invalid(error: LayoutError) -> Invalid:
    return Invalid(
        error.message.en,
        field="file",
        extra={
            "detail_vi": error.message.vi,
            "columns": list(error.columns),
        },
    )


# --- starting and reading jobs -------------------------------------------------------------


def _store(ctx: Context) -> ImportStore:
    return ImportStore(ctx.stores.households.collection.database)


async def _unit_in_scope(ctx: Context, unit_id: str, principal: Principal) -> Unit:
    unit = await ctx.stores.units.get(unit_id)
    if unit is None or not principal.allows("units:read", unit.path):
        raise NotFound(f"unit {unit_id} does not exist")
    return unit


async def check_import_allowed(hamlet_id: str, *, principal: Principal, ctx: Context) -> Unit:
    """The hamlet, if the caller may import into it (checked before the upload is read)."""
    await _unit_in_scope(ctx, hamlet_id, principal)
    unit = await hamlet(ctx, hamlet_id, principal, "households:write", field="hamlet_id")
    for permission in ("people:write", "imports:run"):
        authorize(principal, permission, unit.path, what=f"unit {hamlet_id}")
    return unit


async def start_import(
    hamlet_id: str,
    upload: Upload,
    *,
    principal: Principal,
    ctx: Context,
    batch_households: int = BATCH_HOUSEHOLDS,
    run: bool = True,
) -> dict[str, Any]:
    """Check the file's layout, record the job and start it in the background."""
    unit = await check_import_allowed(hamlet_id, principal=principal, ctx=ctx)
    if len(upload.data) > MAX_BYTES:
        raise TooLarge(f"the file is larger than {MAX_BYTES // (1024 * 1024)} MB; split it")
    try:
        # The layout is read in a worker process: the event loop keeps serving meanwhile.
        found = await ctx.import_files.run(inspect_file, upload.data)
    except LayoutError as exc:
        raise _invalid(exc) from exc
    now = datetime.now(UTC)
    job: dict[str, Any] = {
        "_id": str(uuid.uuid4()),
        "unit_id": unit.id,
        "status": "validating",
        "file": {"name": upload.filename[:200], "kind": found.kind, "size": len(upload.data)},
        "created_by": principal.subject,
        "created_at": now,
        "updated_at": now,
        "batch_households": batch_households,
        "rows": {"total": 0, "validated": 0, "written": 0},
        "households": {"total": 0, "written": 0},
        "batches_done": 0,
        "ignored_columns": list(found.header.ignored),
        "errors_total": 0,
        "first_errors": [],
    }
    store = _store(ctx)
    await store.create_indexes()
    await store.insert(job, upload.data)
    log.info(
        "import started",
        extra={"job_id": job["_id"], "unit_id": unit.id, "bytes": len(upload.data)},
    )
    if run:
        lease = job_lease(ctx, job["_id"])
        if await lease.acquire():
            _spawn(run_job(ctx, job["_id"], lease, data=upload.data))
    return job


async def get_job(job_id: str, *, principal: Principal, ctx: Context) -> dict[str, Any]:
    """A job the caller may see (imports:run on its hamlet)."""
    job = await _store(ctx).get(job_id)
    if job is None:
        raise NotFound(f"import {job_id} does not exist")
    path = await ctx.stores.units.path_of(job["unit_id"]) or (job["unit_id"],)
    authorize(principal, "imports:run", path, what=f"import {job_id}")
    return job


async def list_jobs(
    hamlet_id: str, *, principal: Principal, ctx: Context, limit: int = 20
) -> list[dict[str, Any]]:
    """The latest jobs of a hamlet."""
    unit = await _unit_in_scope(ctx, hamlet_id, principal)
    authorize(principal, "imports:run", unit.path, what=f"unit {hamlet_id}")
    return await _store(ctx).of_unit(unit.id, limit)


async def report(
    job_id: str, *, principal: Principal, ctx: Context
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A job and every row error (people:read too: the report shows the clerk's rows)."""
    job = await get_job(job_id, principal=principal, ctx=ctx)
    path = await ctx.stores.units.path_of(job["unit_id"]) or (job["unit_id"],)
    authorize(principal, "people:read", path, what=f"import {job_id}")
    return job, await _store(ctx).errors(job_id)


async def report_xlsx(job_id: str, *, principal: Principal, ctx: Context) -> bytes:
    """The report as an XLSX: the clerk's rows and errors (built in a worker process)."""
    job, errors = await report(job_id, principal=principal, ctx=ctx)
    data = await _store(ctx).file(job_id)
    return await ctx.import_files.run(report_file_xlsx, data, job, errors)


async def report_rows_json(job_id: str, *, principal: Principal, ctx: Context) -> dict[str, Any]:
    """The report as JSON: every error and each bad row's cells (built in a worker process)."""
    job, errors = await report(job_id, principal=principal, ctx=ctx)
    data = await _store(ctx).file(job_id)
    return await ctx.import_files.run(report_file_json, data, job, errors)


def report_file_xlsx(data: bytes, job: dict[str, Any], errors: list[dict[str, Any]]) -> bytes:
    """The XLSX report of a stored file (runs in an import worker process)."""
    return report_workbook(job, errors, read_table(data))


def report_file_json(
    data: bytes, job: dict[str, Any], errors: list[dict[str, Any]]
) -> dict[str, Any]:
    """The JSON report of a stored file (runs in an import worker process)."""
    return report_json(job, errors, read_table(data))


# --- running a job -------------------------------------------------------------------------


def job_lease(ctx: Context, job_id: str) -> Lease:
    """The lease a replica holds while it runs the job."""
    return Lease(ctx.stores.db, f"import:{job_id}", ttl=LEASE_SECONDS)


def _spawn(coro: Any) -> None:
    task = asyncio.get_running_loop().create_task(coro)
    _TASKS.add(task)
    task.add_done_callback(_TASKS.discard)


async def wait_for_jobs() -> None:
    """Wait for the jobs this process runs (tests; a graceful shutdown)."""
    while _TASKS:
        await asyncio.gather(*list(_TASKS), return_exceptions=True)


class RunningJobs:
    """The import jobs this process runs, as a worker: stopping it stops them and the
    worker processes that read their files."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def start(self) -> None:
        return None  # jobs start with their requests (and the workflow worker resumes them)

    async def stop(self) -> None:
        await stop_jobs()
        self.ctx.import_files.close()


async def stop_jobs() -> None:
    """Cancel the jobs this process runs; they release their leases and another replica resumes."""
    tasks = list(_TASKS)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def resume_imports(ctx: Context) -> int:
    """Continue unfinished jobs nobody runs (their process died or stopped); return how many."""
    store = _store(ctx)
    resumed = 0
    for job_id in await store.unfinished():
        lease = job_lease(ctx, job_id)
        if await lease.acquire():
            log.info("import resumed", extra={"job_id": job_id})
            _spawn(run_job(ctx, job_id, lease))
            resumed += 1
    return resumed


async def run_job(
    ctx: Context,
    job_id: str,
    lease: Lease,
    *,
    data: bytes | None = None,
    stop_after_batches: int | None = None,
) -> None:
    """Validate and write a job whose ``lease`` is held (``stop_after_batches``: tests)."""
    store = _store(ctx)
    try:
        job = await store.get(job_id)
        if job is None:
            await lease.release()
            return
        if data is None:
            data = await store.file(job_id)
        checked = await _validate(ctx, store, lease, job, data)
        if job["status"] == "validating" and not await _check_codes(
            ctx, store, lease, job, checked
        ):
            return
        await _write(ctx, store, lease, job, checked, stop_after_batches)
    except LostLease:
        log.warning("import lease lost; another replica continues", extra={"job_id": job_id})
    except PyMongoError as exc:
        # The lease expires and a replica resumes the job once the database answers.
        log.warning("import paused", extra={"job_id": job_id, "error": type(exc).__name__})
    except LayoutError:
        with contextlib.suppress(LostLease, PyMongoError):
            await _end(store, lease, job_id, {"status": "failed"})
    except asyncio.CancelledError:
        # Stopping (a shutdown): give the lease up so another replica resumes the job now.
        with contextlib.suppress(Exception):
            await lease.release()
        raise
    except Exception:
        log.exception("import failed", extra={"job_id": job_id})
        with contextlib.suppress(LostLease, PyMongoError):
            await _end(store, lease, job_id, {"status": "failed"})


async def _progress(store: ImportStore, lease: Lease, job_id: str, changes: dict[str, Any]) -> None:
    """Record progress of an unfinished job, renewing its lease; LostLease if it is lost."""
    if not await lease.renew() or not await store.update(job_id, changes):
        raise LostLease(job_id)


async def _end(
    store: ImportStore,
    lease: Lease,
    job_id: str,
    changes: dict[str, Any],
    *,
    status: str | None = None,
) -> None:
    """Record how a job ended (if it is still ``status``, and still ours), then release it."""
    if not await lease.renew():
        raise LostLease(job_id)
    await store.update(job_id, changes, status=status)
    await lease.release()


async def _validate(
    ctx: Context, store: ImportStore, lease: Lease, job: dict[str, Any], data: bytes
) -> Checked:
    """Check every row in a worker process, renewing the job's lease meanwhile."""
    started: datetime = job.get("validated_at") or job["created_at"]
    if started.tzinfo is None:
        started = started.replace(tzinfo=UTC)
    size = int(job.get("batch_households") or BATCH_HOUSEHOLDS)
    work = asyncio.ensure_future(ctx.import_files.run(check_file, data, started, size))
    try:
        while not work.done():
            await asyncio.wait([work], timeout=1.0)
            if not work.done():
                await _progress(store, lease, job["_id"], {})
    finally:
        work.cancel()  # the job stopped or lost its lease: its result is not wanted
    checked = work.result()
    if job["status"] == "validating":
        job["validated_at"] = started
    return checked


async def _check_codes(
    ctx: Context,
    store: ImportStore,
    lease: Lease,
    job: dict[str, Any],
    checked: Checked,
) -> bool:
    """Add errors for codes registered already; reject the job if any row is bad."""
    errors = list(checked.errors)
    header = checked.header
    in_use = await codes_in_use(
        ctx.stores.households.collection, [code for code, _ in checked.codes]
    )
    for code, first_row in checked.codes:
        unit_id = in_use.get(code)
        if unit_id is None:
            continue
        if unit_id == job["unit_id"]:
            errors.append(layout.code_taken_here(code, first_row, header))
        else:
            errors.append(layout.code_in_other_hamlet(code, first_row, header))
    errors.sort(key=lambda e: (e.row, e.column))
    totals = {
        "rows.total": checked.rows,
        "rows.validated": checked.rows,
        "households.total": checked.households,
        "validated_at": job["validated_at"],
    }
    if errors:
        await store.save_errors(job["_id"], [e.as_dict() for e in errors])
        await _end(
            store,
            lease,
            job["_id"],
            {
                **totals,
                "status": "rejected",
                "errors_total": len(errors),
                "first_errors": [e.as_dict() for e in errors[:FIRST_ERRORS]],
                "finished_at": datetime.now(UTC),
            },
            status="validating",
        )
        log.info(
            "import rejected",
            extra={"job_id": job["_id"], "rows": checked.rows, "errors": len(errors)},
        )
        return False
    await _progress(store, lease, job["_id"], {**totals, "status": "writing"})
    job["status"] = "writing"
    return True


def _local_day(at: datetime) -> date:
    aware = at if at.tzinfo is not None else at.replace(tzinfo=UTC)  # MongoDB gives naive UTC
    return aware.astimezone(VN).date()


def household_id(job_id: str, household: HouseholdRows) -> str:
    """The id the import gives a household (the same on every run of the job)."""
    return str(uuid.uuid5(_NAMESPACE, f"{job_id}:household:{household.first_row}"))


def person_id(job_id: str, row: int) -> str:
    """The id the import gives the resident of a row."""
    return str(uuid.uuid5(_NAMESPACE, f"{job_id}:person:{row}"))


def build_documents(
    ctx: Context,
    job: dict[str, Any],
    batch: Sequence[HouseholdRows],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Household and resident documents of a batch, with their outbox events, ready to insert."""
    created_at = datetime.now(UTC)
    household_docs: list[dict[str, Any]] = []
    person_docs: list[dict[str, Any]] = []
    for rows in batch:
        registered, pledged, residents = layout.build_household(
            rows,
            household_id=household_id(job["_id"], rows),
            unit_id=job["unit_id"],
            person_ids=[person_id(job["_id"], r) for r in rows.rows],
            collected_by=job["created_by"],
            # The day the import was asked for: the same on every retry of the job.
            registered_on=_local_day(job["created_at"]),
        )
        outbox = household_outbox(ctx, household_event(registered, HouseholdRegistered))
        final = registered
        if pledged is not None and rows.pledge is not None:
            outbox += household_outbox(
                ctx, household_event(pledged, HouseholdPledged, year=rows.pledge.year)
            )
            final = pledged
        household_docs.append(
            household_document(final) | {"created_at": created_at, OUTBOX: outbox}
        )
        person_docs.extend(
            new_person_document(ctx, p) | {"created_at": created_at} for p in residents
        )
    return household_docs, person_docs


async def _write(
    ctx: Context,
    store: ImportStore,
    lease: Lease,
    job: dict[str, Any],
    checked: Checked,
    stop_after_batches: int | None,
) -> None:
    size = int(job.get("batch_households") or BATCH_HOUSEHOLDS)
    households = checked.households
    batches = len(checked.batches)
    done = int(job.get("batches_done", 0))
    written_rows = sum(checked.batch_rows[:done])

    def build(index: int) -> asyncio.Future[tuple[list[dict[str, Any]], list[dict[str, Any]]]]:
        # Build the next batch in a thread while the database inserts this one.
        return asyncio.ensure_future(
            asyncio.to_thread(lambda: build_documents(ctx, job, checked.batch(index)))
        )

    upcoming = build(done) if done < batches else None
    for index in range(done, batches):
        if stop_after_batches is not None and index - done >= stop_after_batches:
            if upcoming is not None:
                await upcoming
            return
        assert upcoming is not None
        household_docs, person_docs = await upcoming
        upcoming = build(index + 1) if index + 1 < batches else None
        await insert_new(ctx.stores.people.collection, person_docs)
        await insert_new(ctx.stores.households.collection, household_docs)
        written_rows += len(person_docs)
        await _progress(
            store,
            lease,
            job["_id"],
            {
                "batches_done": index + 1,
                "rows.written": written_rows,
                "households.written": min((index + 1) * size, households),
            },
        )
        ctx.publish_pending()
    await _end(
        store,
        lease,
        job["_id"],
        {
            "status": "done",
            "rows.written": written_rows,
            "households.written": households,
            "finished_at": datetime.now(UTC),
        },
        status="writing",
    )
    log.info("import done", extra={"job_id": job["_id"], "rows": written_rows})


# --- report and export files ---------------------------------------------------------------

_BAD_FILL = PatternFill("solid", fgColor="FFC7CE")
_BAD_FONT = Font(color="9C0006")
_BOLD = Font(bold=True)


def _cell(sheet: Any, value: object) -> Any:
    cell = WriteOnlyCell(sheet, value=None if value is FORMULA else value)
    if isinstance(value, str) and value.startswith("="):
        cell.data_type = "s"  # text a clerk typed, never a formula we write
    return cell


def report_workbook(job: dict[str, Any], errors: Sequence[dict[str, Any]], table: Table) -> bytes:
    """The clerk's rows with a 'Lỗi / Error' column; the cells at fault highlighted."""
    by_row: dict[int, list[dict[str, Any]]] = {}
    for error in errors:
        by_row.setdefault(error["row"], []).append(error)
    header = header_of(table)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Báo cáo lỗi")
    width = max((len(values) for _, values in table.rows), default=0) + table.first_column
    sheet.column_dimensions[layout.column_letter(width)].width = 80
    number = 0
    for row_number, values in table.rows:
        while number + 1 < row_number:
            number += 1
            sheet.append([])
        number = row_number
        padded = [None] * table.first_column + list(values)
        padded += [None] * (width - len(padded))
        bad_letters = {e["column"] for e in by_row.get(row_number, [])}
        cells = []
        for index, value in enumerate(padded):
            cell = _cell(sheet, value)
            if layout.column_letter(index) in bad_letters:
                cell.fill, cell.font = _BAD_FILL, _BAD_FONT
            if row_number == header.row:
                cell.font = _BOLD
            cells.append(cell)
        if row_number == header.row:
            note = _cell(sheet, layout.ERROR_HEADER)
            note.font = _BOLD
        else:
            text = "\n".join(
                (f"{e['column']} ({e['header']}): " if e["column"] else "")
                + f"{e['message_vi']} / {e['message_en']}"
                for e in by_row.get(row_number, [])
            )
            note = _cell(sheet, text or None)
            if text:
                note.fill, note.font = _BAD_FILL, _BAD_FONT
                note.alignment = Alignment(wrap_text=True, vertical="top")
        cells.append(note)
        sheet.append(cells)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def report_json(
    job: dict[str, Any], errors: Sequence[dict[str, Any]], table: Table
) -> dict[str, Any]:
    """The report as JSON: every error, and each bad row's cells under their headers."""
    header = header_of(table)
    by_row: dict[int, list[dict[str, Any]]] = {}
    for error in errors:
        by_row.setdefault(error["row"], []).append(error)
    rows = []
    for number, values in table.rows:
        if number not in by_row:
            continue
        cells = {
            header.names[i] or header.letter(i): _json_value(v)
            for i, v in enumerate(values)
            if i < len(header.names) and v not in (None, "")
        }
        rows.append({"row": number, "values": cells, "errors": by_row[number]})
    return {"job_id": job["_id"], "status": job["status"], "errors": list(errors), "rows": rows}


def _json_value(value: object) -> object:
    if value is FORMULA:
        return "(formula)"
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


async def export_households(hamlet_id: str, *, principal: Principal, ctx: Context) -> bytes:
    """The hamlet's active households and residents as an XLSX in the import layout."""
    unit = await _unit_in_scope(ctx, hamlet_id, principal)
    for permission in ("households:read", "people:read"):
        authorize(principal, permission, unit.path, what=f"unit {hamlet_id}")
    found: list[Household] = []
    after: str | None = None
    while True:
        page = await ctx.stores.households.search(
            unit_ids={unit.id}, text=None, status="active", pledged_in=None, after=after, limit=500
        )
        found.extend(page)
        if len(page) < 500:
            break
        after = page[-1].id
    members: dict[str, list[Person]] = {}
    after = None
    while True:
        residents = await ctx.stores.people.search(
            unit_ids={unit.id},
            household_id=None,
            text=None,
            phone=None,
            status="active",
            after=after,
            limit=500,
        )
        for person in residents:
            members.setdefault(person.household_id, []).append(person)
        if len(residents) < 500:
            break
        after = residents[-1].id
    found.sort(key=lambda h: (h.registration_code or "", h.id))
    # Writing the XLSX is seconds of CPU for a large hamlet: done in an import worker process.
    return await ctx.import_files.run(
        export_workbook, [(h, members.get(h.id, [])) for h in found], unit.name
    )


def export_workbook(found: list[tuple[Household, list[Person]]], name: str) -> bytes:
    """The households and residents as an XLSX in the import layout."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(re.sub(r"[\[\]:*?/\\]", " ", name)[:31] or "Households")
    for number, values in enumerate(layout.export_rows(found)):
        cells = [_cell(sheet, v) for v in values]
        if number == 0:
            for cell in cells:
                cell.font = _BOLD
        sheet.append(cells)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
