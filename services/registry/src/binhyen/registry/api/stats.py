"""Statistics per unit, rolled up the tree."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from binhyen.kit.auth import CurrentPrincipal
from binhyen.registry.api.common import PROBLEMS, ContextDep
from binhyen.registry.service import stats as service

router = APIRouter(prefix="/api/v1", tags=["statistics"])


class CountsRead(BaseModel):
    """Counts over a unit's whole subtree."""

    households: int
    households_pledged: int
    pledged_share: float | None = Field(description="Criterion 1 asks for 1.0 (100%).")
    residents: int
    residents_alertable: int = Field(description="Residents who consented to alerts.")
    organisations: int
    teams: int
    team_members: int

    @classmethod
    def of(cls, counts: service.Counts) -> CountsRead:
        """From the service's counts."""
        return cls(
            households=counts.households,
            households_pledged=counts.households_pledged,
            pledged_share=counts.pledged_share,
            residents=counts.residents,
            residents_alertable=counts.residents_alertable,
            organisations=counts.organisations,
            teams=counts.teams,
            team_members=counts.team_members,
        )


class ChildCounts(BaseModel):
    """One child unit and its counts."""

    unit_id: str
    name: str
    kind: str
    counts: CountsRead


class UnitStats(BaseModel):
    """A unit's counts for a programme year, and each child's."""

    unit_id: str
    name: str
    year: int
    totals: CountsRead
    children: list[ChildCounts]


@router.get(
    "/units/{unit_id}/stats",
    response_model=UnitStats,
    responses=PROBLEMS,
    summary="Counts of a unit, rolled up its subtree",
)
async def read_stats(
    unit_id: str,
    ctx: ContextDep,
    principal: CurrentPrincipal,
    year: Annotated[int | None, Query(ge=2000, le=2100, description="Default: this year.")] = None,
) -> UnitStats:
    """Households, % pledged this year, residents, teams and members, per child unit."""
    year = year or service.current_year()
    unit, totals, children = await service.unit_stats(
        unit_id, year=year, principal=principal, ctx=ctx
    )
    return UnitStats(
        unit_id=unit.id,
        name=unit.name,
        year=year,
        totals=CountsRead.of(totals),
        children=[
            ChildCounts(unit_id=c.id, name=c.name, kind=c.kind, counts=CountsRead.of(counts))
            for c, counts in children
        ],
    )
