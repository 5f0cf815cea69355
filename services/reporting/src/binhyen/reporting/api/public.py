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
    summary="Incident counts of a commune or hamlet over a closed quarter, small counts suppressed",
)
async def read_public_statistics(
    ctx: ContextDep,
    principal: CurrentPrincipal,
    unit_id: Annotated[SafeText, Query(min_length=1, max_length=64)],
    period: PeriodQuery,
) -> PublicStatistics:
    """What ``binhyen.reporting.public.v1`` carried for a commune or hamlet and a quarter.

    Per group and in total; counts of 1 or 2, and every count from which one could be worked
    out by subtraction (within the hamlet, or from the commune's figures and its other
    hamlets), are null with ``suppressed: true``; zeros are shown. Only calendar quarters
    (``2026-Q1``), published once ``PUBLIC_SETTLE_DAYS`` after they end and frozen since; a
    quarter not published yet is a 404 (``sequence`` is null here: the topic numbers events).
    """
    chosen = public.public_period(period)
    model = await ctx.stores.read_model()
    tree = await UnitTree.load(model)
    unit = tree.get(unit_id)
    authorize(principal, "public:read", unit.path, what=f"unit {unit_id}")
    return await public.published_for(ctx, unit, chosen)
