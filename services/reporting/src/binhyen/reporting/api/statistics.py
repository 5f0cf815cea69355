"""Statistics of a unit's subtree over a period, beside the same period a year earlier."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from binhyen.kit.auth import CurrentPrincipal
from binhyen.kit.text import SafeText
from binhyen.reporting.api.common import (
    PROBLEMS,
    ContextDep,
    PeriodQuery,
    authorize_reports,
    period_of,
)
from binhyen.reporting.domain import periods
from binhyen.reporting.service import statistics
from binhyen.reporting.service.units import UnitTree

router = APIRouter(tags=["statistics"])

Group = Literal["crime", "social_evil", "traffic", "dispute", "fire", "other"]


def _period_read(period: periods.Period) -> dict[str, Any]:
    return {
        "key": period.spec,
        "kind": period.kind,
        "first_day": period.first_day.isoformat(),
        "last_day": period.last_day.isoformat(),
        "label_vi": period.label_vi,
        "label_en": period.label_en,
    }


@router.get(
    "/api/v1/statistics",
    responses=PROBLEMS,
    summary="Figures of a unit's subtree over a period, each beside a year earlier",
)
async def read_statistics(
    ctx: ContextDep,
    principal: CurrentPrincipal,
    unit_id: Annotated[SafeText, Query(min_length=1, max_length=64)],
    period: PeriodQuery,
    group: Annotated[Group | None, Query(description="Only incidents of this group.")] = None,
) -> dict[str, Any]:
    """Incidents, times to acknowledge and resolve, mediation, households, teams, alerts.

    Every leaf is ``{"current": …, "previous": …}``: the period asked for and the same
    period a year earlier. Merged hamlets count under the unit they were merged into.
    """
    chosen = period_of(period)
    model = await ctx.stores.read_model()
    tree = await UnitTree.load(model)
    unit = tree.get(unit_id)
    authorize_reports(principal, unit.path, what=f"unit {unit_id}")
    scope = statistics.Scope(tree.subtree(unit_id), chosen, group)
    return {
        "unit": {"id": unit.id, "name": unit.name, "level": unit.level, "path": list(unit.path)},
        "period": _period_read(chosen),
        "previous_period": _period_read(periods.previous_year(chosen)),
        "group": group,
        "generation": model.generation,
        "figures": await statistics.figures(model, scope),
    }
