"""Hotspots under a unit: repeated incidents suggested for a preventive plan task."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from binhyen.contracts.events.reporting import HotspotSuggestion
from binhyen.kit.auth import CurrentPrincipal
from binhyen.kit.text import SafeText
from binhyen.reporting.api.common import PROBLEMS, ContextDep, authorize_reports, period_of
from binhyen.reporting.service import hotspots
from binhyen.reporting.service.units import UnitTree

router = APIRouter(tags=["hotspots"])


class HotspotRead(BaseModel):
    """A standing hotspot as last suggested."""

    model_config = ConfigDict(frozen=True)

    hotspot_id: str = Field(description="'<hamlet id>:<category>:<incident id>'.")
    hamlet_id: str = Field(description="The hamlet (a merged one's hotspots are its successor's).")
    hamlet_name: str
    unit_path: list[str] = Field(description="The hamlet's ancestors, root first, then it.")
    category: str
    group: str
    window_days: int
    min_incidents: int
    first_at: datetime = Field(description="Its earliest incident, UTC.")
    started_at: datetime = Field(description="The incident that made it a hotspot, UTC.")
    last_at: datetime = Field(description="Its latest incident, UTC.")
    count: int
    incident_ids: list[str] = Field(description="Its incidents, oldest first.")
    suggestion: HotspotSuggestion
    version: int = Field(description="+1 each time its incidents changed (one event each).")


class HotspotList(BaseModel):
    """The hotspots under a unit."""

    unit_id: str
    period: str | None = Field(description="The period asked for, as written back (key).")
    hotspots: list[HotspotRead]


@router.get(
    "/api/v1/hotspots",
    responses=PROBLEMS,
    response_model=HotspotList,
    summary="Standing hotspots under a unit, optionally those touching a period",
)
async def list_hotspots(
    ctx: ContextDep,
    principal: CurrentPrincipal,
    unit_id: Annotated[SafeText, Query(min_length=1, max_length=64)],
    period: Annotated[
        SafeText | None,
        Query(max_length=40, description="As /api/v1/statistics; leave out for every one."),
    ] = None,
) -> dict[str, Any]:
    """Hotspots of the unit's hamlets (merged ones under their successor), oldest first.

    With ``period``: those whose episode — from the incident that made it a hotspot to its
    last incident — touches the period.
    """
    chosen = period_of(period) if period is not None else None
    model = await ctx.stores.read_model()
    tree = await UnitTree.load(model)
    unit = tree.get(unit_id)
    authorize_reports(principal, unit.path, what=f"unit {unit_id}")
    found = await hotspots.of_unit(ctx, tree, unit.id, chosen)
    for doc in found:
        hamlet = tree.units.get(doc["hamlet_id"])
        doc["hotspot_id"] = doc["_id"]
        doc["hamlet_name"] = hamlet.name if hamlet else doc["hamlet_id"]
    return {"unit_id": unit.id, "period": chosen.spec if chosen else None, "hotspots": found}
