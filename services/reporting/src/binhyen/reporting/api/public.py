"""Public statistics for agencies: aggregates only, small counts suppressed."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from binhyen.contracts.events.reporting import PublicStatistics
from binhyen.kit.auth import CurrentPrincipal, authorize
from binhyen.kit.text import SafeText
from binhyen.reporting.api.common import PROBLEMS, ContextDep, PeriodQuery
from binhyen.reporting.service import public
from binhyen.reporting.service.units import UnitTree

router = APIRouter(tags=["public statistics"])


@router.get(
    "/api/v1/public/statistics",
    responses=PROBLEMS,
    response_model=PublicStatistics,
    summary="Incident counts of a unit's subtree over a period, small counts suppressed",
)
async def read_public_statistics(
    ctx: ContextDep,
    principal: CurrentPrincipal,
    unit_id: Annotated[SafeText, Query(min_length=1, max_length=64)],
    period: PeriodQuery,
) -> PublicStatistics:
    """What ``binhyen.reporting.public.v1`` carries for the unit and period, computed now.

    Counts from 1 to 2, and every count from which one could be worked out by subtraction from
    a group's total or the grand total, are null with ``suppressed: true``; zeros are shown.
    Periods: a month, a quarter, a year or an evaluation year (``sequence`` is null here: the
    topic numbers its events).
    """
    chosen = public.public_period(period)
    model = await ctx.stores.read_model()
    tree = await UnitTree.load(model)
    unit = tree.get(unit_id)
    authorize(principal, "public:read", unit.path, what=f"unit {unit_id}")
    return await public.for_unit(model, tree, unit, chosen)
