"""Exports of a unit's period: the report as a PDF administrative document, a workbook, a CSV."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response
from fastapi.responses import StreamingResponse

from binhyen.kit.auth import CurrentPrincipal
from binhyen.kit.text import SafeText
from binhyen.reporting.api.common import (
    PROBLEMS,
    ContextDep,
    PeriodQuery,
    authorize_reports,
    period_of,
)
from binhyen.reporting.api.statistics import Group
from binhyen.reporting.domain.periods import LOCAL, Period
from binhyen.reporting.exports import csv as csv_export
from binhyen.reporting.exports import xlsx as xlsx_export
from binhyen.reporting.exports.pdf import render_pdf
from binhyen.reporting.service import documents, statistics
from binhyen.reporting.service.common import Context
from binhyen.reporting.service.units import Unit, UnitTree

router = APIRouter(tags=["exports"])
PDF = "application/pdf"

UnitQuery = Annotated[SafeText, Query(min_length=1, max_length=64)]
GroupQuery = Annotated[Group | None, Query(description="Only incidents of this group.")]


async def _scope(
    ctx: Context, principal: CurrentPrincipal, unit_id: str, period: str
) -> tuple[UnitTree, Unit, Period]:
    chosen = period_of(period)
    model = await ctx.stores.read_model()
    tree = await UnitTree.load(model)
    unit = tree.get(unit_id)
    authorize_reports(principal, unit.path, what=f"unit {unit_id}")
    return tree, unit, chosen


def _filename(kind: str, unit: Unit, period: Period, ext: str) -> str:
    return f'attachment; filename="{kind}-{unit.id}-{period.spec}.{ext}"'


@router.get(
    "/api/v1/reports/period.pdf",
    responses={**PROBLEMS, 200: {"content": {PDF: {}}, "description": "The report (PDF)."}},
    response_class=Response,
    summary="A unit's period report as a Vietnamese administrative document (PDF)",
)
async def period_pdf(
    ctx: ContextDep,
    principal: CurrentPrincipal,
    unit_id: UnitQuery,
    period: PeriodQuery,
    number: Annotated[
        int | None, Query(ge=1, le=99999, description="Number in the register.")
    ] = None,
    signer: Annotated[SafeText | None, Query(max_length=80, description="Signer's name.")] = None,
) -> Response:
    """Decree 30/2020/NĐ-CP layout: A4, national title and motto, issuing body and number,
    place and date line, tables and a chart, each figure beside the same period a year
    earlier. Without ``number`` the number is left blank for the clerk."""
    tree, unit, chosen = await _scope(ctx, principal, unit_id, period)
    model = await ctx.stores.read_model()
    whole = await statistics.load(model, tree.subtree(unit.id), None)  # read once, used twice
    totals = statistics.compute(whole, chosen)
    hamlets = statistics.by_hamlet(tree, unit.id, chosen, whole)
    parent = tree.units.get(unit.path[-2]) if len(unit.path) > 1 else None
    report = documents.period_report(
        unit, parent, chosen, totals, hamlets,
        issued_on=datetime.now(LOCAL).date(), number=number, signer=signer,
    )  # fmt: skip
    body = await asyncio.to_thread(render_pdf, report)  # CPU-bound: off the event loop
    return Response(
        body,
        media_type=PDF,
        headers={"Content-Disposition": _filename("bao-cao", unit, chosen, "pdf")},
    )


@router.get(
    "/api/v1/statistics.xlsx",
    responses={
        **PROBLEMS,
        200: {"content": {xlsx_export.MEDIA_TYPE: {}}, "description": "The workbook."},
    },
    response_class=StreamingResponse,
    summary="A unit's period as a workbook: by hamlet (with totals), every figure, every incident",
)
async def statistics_xlsx(
    ctx: ContextDep,
    principal: CurrentPrincipal,
    unit_id: UnitQuery,
    period: PeriodQuery,
    group: GroupQuery = None,
) -> StreamingResponse:
    """Three sheets, streamed as they are written (memory stays flat for a province)."""
    tree, unit, chosen = await _scope(ctx, principal, unit_id, period)
    model = await ctx.stores.read_model()
    whole = await statistics.load(model, tree.subtree(unit.id), group)  # read once, used thrice
    totals = statistics.compute(whole, chosen)
    hamlets = statistics.by_hamlet(tree, unit.id, chosen, whole)
    incidents = await statistics.incident_rows(model, tree, whole.incidents, chosen)
    sheets = documents.workbook(unit, chosen, totals, hamlets, incidents)
    return StreamingResponse(
        xlsx_export.iter_xlsx(sheets),
        media_type=xlsx_export.MEDIA_TYPE,
        headers={"Content-Disposition": _filename("thong-ke", unit, chosen, "xlsx")},
    )


@router.get(
    "/api/v1/statistics.csv",
    responses={**PROBLEMS, 200: {"content": {csv_export.MEDIA_TYPE: {}}, "description": "CSV."}},
    response_class=StreamingResponse,
    summary="A unit's period by hamlet as CSV (UTF-8 with BOM, ';', opens in Excel as is)",
)
async def statistics_csv(
    ctx: ContextDep,
    principal: CurrentPrincipal,
    unit_id: UnitQuery,
    period: PeriodQuery,
    group: GroupQuery = None,
) -> StreamingResponse:
    """The by-hamlet table of the workbook, one row per hamlet."""
    tree, unit, chosen = await _scope(ctx, principal, unit_id, period)
    model = await ctx.stores.read_model()
    whole = await statistics.load(model, tree.subtree(unit.id), group)
    hamlets = statistics.by_hamlet(tree, unit.id, chosen, whole)
    columns = [c.title for c in documents.HAMLET_COLUMNS]
    return StreamingResponse(
        csv_export.iter_csv(columns, documents.hamlet_table(hamlets)),
        media_type=csv_export.MEDIA_TYPE,
        headers={"Content-Disposition": _filename("thong-ke", unit, chosen, "csv")},
    )
