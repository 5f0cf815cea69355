"""Bulk import of a hamlet's households and residents from XLSX/CSV, and export to XLSX."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request, Response, status
from pydantic import BaseModel
from python_multipart.multipart import MultipartParser, parse_options_header

from binhyen.kit.auth import CurrentPrincipal
from binhyen.kit.edge import BODY_LIMIT
from binhyen.kit.problems import PROBLEM_JSON, Invalid
from binhyen.registry.api.common import PROBLEMS, ContextDep
from binhyen.registry.service import imports as service

router = APIRouter(prefix="/api/v1", tags=["imports"])

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_ENVELOPE = 64 * 1024  # multipart headers and boundaries around the file
_UPLOAD_DOC: dict[str, Any] = {
    BODY_LIMIT: service.MAX_BYTES,  # files are larger than the kit's default body limit
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": ".xlsx, or .csv in UTF-8 (with or without BOM)",
                        }
                    },
                }
            }
        },
    },
}
_IMPORT_PROBLEMS = PROBLEMS | {
    413: {"description": "File over 50 MB", "content": {PROBLEM_JSON: {}}},
}


class Counts(BaseModel):
    """Rows of the file: found, checked, written."""

    total: int
    validated: int
    written: int


class HouseholdCounts(BaseModel):
    """Households of the file: found, written."""

    total: int
    written: int


class RowErrorRead(BaseModel):
    """What is wrong in one cell: Excel row and column, the header, in Vietnamese and English."""

    row: int
    column: str
    header: str
    field: str
    message_vi: str
    message_en: str


class ImportRead(BaseModel):
    """An import job; poll it until ``status`` is rejected, done or failed."""

    id: str
    unit_id: str
    status: str
    file_name: str
    file_kind: str
    rows: Counts
    households: HouseholdCounts
    errors_total: int
    first_errors: list[RowErrorRead]
    ignored_columns: list[str]
    created_at: datetime
    finished_at: datetime | None = None
    report_xlsx: str
    report_json: str

    @classmethod
    def of(cls, job: dict[str, Any]) -> ImportRead:
        """Build the response from the job document."""
        path = f"/api/v1/imports/{job['_id']}"
        return cls(
            id=job["_id"],
            unit_id=job["unit_id"],
            status=job["status"],
            file_name=job["file"]["name"],
            file_kind=job["file"]["kind"],
            rows=Counts(**job["rows"]),
            households=HouseholdCounts(**job["households"]),
            errors_total=job.get("errors_total", 0),
            first_errors=[RowErrorRead(**e) for e in job.get("first_errors", [])],
            ignored_columns=job.get("ignored_columns", []),
            created_at=job["created_at"],
            finished_at=job.get("finished_at"),
            report_xlsx=f"{path}/report.xlsx",
            report_json=f"{path}/report.json",
        )


async def read_upload(request: Request, limit: int = service.MAX_BYTES) -> service.Upload:
    """The ``file`` part of a multipart upload, streamed; 413 as soon as it is too large."""
    length = request.headers.get("content-length")
    too_large = service.TooLarge(f"the file is larger than {limit // (1024 * 1024)} MB; split it")
    if length and length.isdigit() and int(length) > limit + _ENVELOPE:
        raise too_large
    content_type, params = parse_options_header(request.headers.get("content-type", ""))
    if content_type != b"multipart/form-data" or b"boundary" not in params:
        raise Invalid(
            "send the spreadsheet as multipart/form-data in a field named file", field="file"
        )
    part: dict[str, Any] = {}
    found: dict[str, Any] = {}
    header_field = bytearray()
    header_value = bytearray()

    def on_part_begin() -> None:
        part.clear()
        part.update(headers={}, data=bytearray())

    def on_header_field(data: bytes, start: int, end: int) -> None:
        header_field.extend(data[start:end])

    def on_header_value(data: bytes, start: int, end: int) -> None:
        header_value.extend(data[start:end])

    def on_header_end() -> None:
        part["headers"][bytes(header_field).lower()] = bytes(header_value)
        header_field.clear()
        header_value.clear()

    def on_headers_finished() -> None:
        _, options = parse_options_header(part["headers"].get(b"content-disposition", b""))
        part["name"] = options.get(b"name", b"").decode("utf-8", "replace")
        part["filename"] = options.get(b"filename", b"").decode("utf-8", "replace")

    def on_part_data(data: bytes, start: int, end: int) -> None:
        if part.get("name") != "file":
            return
        part["data"].extend(data[start:end])
        if len(part["data"]) > limit:
            raise too_large

    def on_part_end() -> None:
        if part.get("name") == "file" and "file" not in found:
            found["file"] = service.Upload(part.get("filename") or "upload", bytes(part["data"]))

    parser = MultipartParser(
        params[b"boundary"],
        {
            "on_part_begin": on_part_begin,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_headers_finished": on_headers_finished,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
        },
    )
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > limit + _ENVELOPE:
            raise too_large
        parser.write(chunk)
    parser.finalize()
    if "file" not in found:
        raise Invalid("send the spreadsheet in a form field named file", field="file")
    upload: service.Upload = found["file"]
    return upload


@router.post(
    "/units/{hamlet_id}/imports",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ImportRead,
    responses=_IMPORT_PROBLEMS,
    openapi_extra=_UPLOAD_DOC,
    summary="Import households and residents of a hamlet from an XLSX or CSV file",
)
async def start_import(
    hamlet_id: str,
    request: Request,
    response: Response,
    ctx: ContextDep,
    principal: CurrentPrincipal,
) -> ImportRead:
    """Check every row, then write all of them or none; poll the job at ``Location``."""
    await service.check_import_allowed(hamlet_id, principal=principal, ctx=ctx)
    upload = await read_upload(request)
    job = await service.start_import(hamlet_id, upload, principal=principal, ctx=ctx)
    response.headers["Location"] = f"/api/v1/imports/{job['_id']}"
    return ImportRead.of(job)


@router.get("/units/{hamlet_id}/imports", response_model=list[ImportRead], responses=PROBLEMS)
async def list_imports(
    hamlet_id: str, ctx: ContextDep, principal: CurrentPrincipal
) -> list[ImportRead]:
    """The latest imports into a hamlet."""
    jobs = await service.list_jobs(hamlet_id, principal=principal, ctx=ctx)
    return [ImportRead.of(j) for j in jobs]


@router.get("/imports/{import_id}", response_model=ImportRead, responses=PROBLEMS)
async def read_import(import_id: str, ctx: ContextDep, principal: CurrentPrincipal) -> ImportRead:
    """An import job: status (validating, rejected, writing, done, failed) and progress."""
    return ImportRead.of(await service.get_job(import_id, principal=principal, ctx=ctx))


@router.get(
    "/imports/{import_id}/report.xlsx",
    responses=PROBLEMS | {200: {"content": {XLSX: {}}, "description": "The report"}},
    response_class=Response,
)
async def import_report_xlsx(
    import_id: str, ctx: ContextDep, principal: CurrentPrincipal
) -> Response:
    """The clerk's own rows with a 'Lỗi / Error' column and the cells at fault highlighted."""
    body = await service.report_xlsx(import_id, principal=principal, ctx=ctx)
    return Response(
        body,
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="import-{import_id}-report.xlsx"'},
    )


@router.get("/imports/{import_id}/report.json", responses=PROBLEMS)
async def import_report_json(
    import_id: str, ctx: ContextDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    """Every row error, and each bad row's cells under their headers."""
    return await service.report_rows_json(import_id, principal=principal, ctx=ctx)


@router.get(
    "/units/{hamlet_id}/exports/households.xlsx",
    responses=PROBLEMS | {200: {"content": {XLSX: {}}, "description": "The households"}},
    response_class=Response,
)
async def export_households(
    hamlet_id: str, ctx: ContextDep, principal: CurrentPrincipal
) -> Response:
    """The hamlet's households and residents in the import layout (it re-imports as is)."""
    body = await service.export_households(hamlet_id, principal=principal, ctx=ctx)
    return Response(
        body,
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="households-{hamlet_id}.xlsx"'},
    )
